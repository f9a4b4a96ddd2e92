/* Mailbox syntax (RFC 5321 4.1.2, RFC 6531 3.3), IDNA through libidn2 (RFC 5891,
   UTS #46) and xtext (RFC 3461 4). */
#include "wire/address.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"
#include "wire/text.h"

/* RFC 5321 4.5.3.1.1 and 4.5.3.1.2. */
#define MAX_LOCAL 64
#define MAX_DOMAIN 255
#define MAX_LABEL 63

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return SMTP_EINVAL;
}

/* Rejects control characters (C0, DEL and C1) and malformed UTF-8. */
static int check_octets(const unsigned char *s, size_t n, const char **why)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c - 0x20u < 0x5fu) { /* printable ASCII: the common case */
			i++;
			continue;
		}
		if (c == '\r' || c == '\n')
			return fail(why, "CR or LF in address");
		if (c < 0x80)
			return fail(why, "control character in address");
		size_t len = smtpi_utf8_len(s + i, n - i);
		if (len == 0)
			return fail(why, "invalid UTF-8 in address");
		if (c == 0xc2 && s[i + 1] < 0xa0)
			return fail(why, "control character in address");
		i += len;
	}
	return 0;
}

/* ASCII octet classes: 1 atext (RFC 5322 3.2.3, the Dot-string of RFC 5321 4.1.2),
   2 let-dig or "-" (RFC 5321 4.1.2 sub-domain). Rows of 16, octets 0 to 127. */
static const unsigned char octet_class[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 3, 0, 1,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 0, 1,
	0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 1,
	1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 0,
};

static int is_atext(unsigned char c)
{
	return c < 128 && (octet_class[c] & 1);
}

static int is_ldh(unsigned char c)
{
	return c < 128 && (octet_class[c] & 2);
}

/* Parses the local part at s[0..n); sets *at to the index of the '@' after it. */
static int check_local(const unsigned char *s, size_t n, size_t *at, unsigned *flags,
		       const char **why)
{
	size_t i = 0;
	if (n > 0 && s[0] == '"') {
		/* Quoted-string: qtextSMTP / quoted-pairSMTP (RFC 5321 4.1.2). */
		*flags |= SMTPI_ADDR_QUOTED;
		for (i = 1; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				if (i + 1 >= n || s[i + 1] < 0x20 || s[i + 1] > 0x7e)
					return fail(why, "bad escape in quoted local part");
				i++;
			} else if (s[i] >= 0x80) {
				*flags |= SMTPI_ADDR_UTF8_LOCAL;
			}
		}
		if (i >= n)
			return fail(why, "unterminated quoted local part");
		i++;
		if (i >= n || s[i] != '@')
			return fail(why, "text after quoted local part");
	} else {
		/* Dot-string = Atom *("." Atom), UTF-8 allowed (RFC 6531 3.3). */
		for (; i < n && s[i] != '@'; i++) {
			if (s[i] == '.') {
				if (i == 0)
					return fail(why, "local part begins with a dot");
				if (s[i - 1] == '.')
					return fail(why, "two dots in a row in local part");
			} else if (s[i] >= 0x80) {
				*flags |= SMTPI_ADDR_UTF8_LOCAL;
			} else if (!is_atext(s[i])) {
				return fail(why, "character not allowed in local part "
						 "(quote it)");
			}
		}
		if (i >= n)
			return fail(why, "missing @");
		if (i == 0)
			return fail(why, "empty local part");
		if (s[i - 1] == '.')
			return fail(why, "local part ends with a dot");
	}
	if (i > MAX_LOCAL)
		return fail(why, "local part longer than 64 octets");
	*at = i;
	return 0;
}

/* address-literal (RFC 5321 4.1.3): [IPv4] or [IPv6:...]; s[0..n) includes the
   brackets. */
static int check_literal(const unsigned char *s, size_t n, const char **why)
{
	char text[64];
	unsigned char addr[16];
	int af = AF_INET;
	size_t skip = 1;
	if (n < 3 || s[n - 1] != ']')
		return fail(why, "malformed address literal");
	if (n - 2 >= 5 && (s[1] == 'I' || s[1] == 'i') && (s[2] == 'P' || s[2] == 'p') &&
	    (s[3] == 'v' || s[3] == 'V') && s[4] == '6' && s[5] == ':') {
		af = AF_INET6;
		skip = 6;
	} else if (memchr(s + 1, ':', n - 2)) {
		return fail(why, "unsupported address literal tag");
	}
	if (n - 1 - skip >= sizeof text)
		return fail(why, "malformed address literal");
	memcpy(text, s + skip, n - 1 - skip);
	text[n - 1 - skip] = '\0';
	if (inet_pton(af, text, addr) != 1)
		return fail(why, af == AF_INET6 ? "invalid IPv6 address literal"
						: "invalid IPv4 address literal");
	return 0;
}

/* Domain = sub-domain *("." sub-domain) (RFC 5321 4.1.2), U-labels allowed
   (RFC 6531 3.3); their IDNA validity is libidn2's to judge in to_ascii. */
static int check_domain(const unsigned char *s, size_t n, unsigned *flags,
			const char **why)
{
	if (n == 0)
		return fail(why, "empty domain");
	if (n > MAX_DOMAIN)
		return fail(why, "domain longer than 255 octets");
	if (s[0] == '[') {
		*flags |= SMTPI_ADDR_LITERAL;
		return check_literal(s, n, why);
	}
	size_t start = 0;
	int utf8 = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (s[i] >= 0x80)
				utf8 = 1;
			else if (!is_ldh(s[i]))
				return fail(why, "character not allowed in domain");
			continue;
		}
		if (i == start)
			return fail(why, "empty domain label");
		if (s[start] == '-' || s[i - 1] == '-')
			return fail(why, "domain label begins or ends with a hyphen");
		if (!utf8 && i - start > MAX_LABEL)
			return fail(why, "domain label longer than 63 octets");
		if (utf8)
			*flags |= SMTPI_ADDR_UTF8_DOMAIN;
		start = i + 1;
		utf8 = 0;
	}
	return 0;
}

int smtpi_domain_check(const char *domain, unsigned *flags, const char **why)
{
	unsigned f = 0;
	const unsigned char *s = (const unsigned char *)domain;
	size_t n = strlen(domain);
	int rc = check_octets(s, n, why);
	if (!rc)
		rc = check_domain(s, n, &f, why);
	if (flags)
		*flags = f;
	return rc;
}

int smtpi_address_check(const char *mailbox, int allow_null, unsigned *flags,
			 size_t *start, size_t *len, const char **why)
{
	unsigned f = 0;
	size_t at, b = 0;
	if (flags)
		*flags = 0;
	if (!mailbox)
		return fail(why, "no address");
	const unsigned char *s = (const unsigned char *)mailbox;
	size_t e = strlen(mailbox);
	int rc = check_octets(s, e, why);
	if (rc)
		return rc;
	/* Optional angle brackets: '<' and '>' cannot end a Domain or begin a Local-part. */
	if (e > 0 && s[0] == '<') {
		if (e < 2 || s[e - 1] != '>')
			return fail(why, "unbalanced angle brackets");
		b = 1;
		e--;
	} else if (e > 0 && s[e - 1] == '>') {
		return fail(why, "unbalanced angle brackets");
	}
	if (e == b) {
		/* The null reverse-path (RFC 5321 4.1.1.2, 3.6.3). */
		if (!allow_null)
			return fail(why, "null path not allowed here");
		f = SMTPI_ADDR_NULL;
	} else {
		/* A client never sends source routes (RFC 5321 3.3, appendix C). */
		if (s[b] == '@' && memchr(s + b, ':', e - b))
			return fail(why, "source routes are not supported");
		rc = check_local(s + b, e - b, &at, &f, why);
		if (rc)
			return rc;
		rc = check_domain(s + b + at + 1, e - b - at - 1, &f, why);
		if (rc)
			return rc;
	}
	if (flags)
		*flags = f;
	if (start)
		*start = b;
	if (len)
		*len = e - b;
	return 0;
}

static int has_non_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Appends the A-label form of domain[0..n) to prefix[0..plen) in a new string. */
static int convert(const char *prefix, size_t plen, const char *domain, size_t n,
		   int no_map, char **out, const char **why)
{
	char *ascii = NULL, *res;
	const char *d = domain;
	*out = NULL;
	if (smtpi_check_text(domain, n) != 0)
		return fail(why, "control character in domain");
	if (n == 0)
		return fail(why, "empty domain");
	if (has_non_ascii(domain, n)) {
		char *copy = malloc(n + 1);
		if (!copy)
			return SMTP_ENOMEM;
		memcpy(copy, domain, n);
		copy[n] = '\0';
		/* RFC 5891 4 with UTS #46 non-transitional mapping, or IDNA2008 alone. */
		int fl = no_map ? IDN2_NO_TR46 : IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL;
		int rc = idn2_to_ascii_8z(copy, &ascii, fl);
		free(copy);
		if (rc == IDN2_MALLOC)
			return SMTP_ENOMEM;
		if (rc != IDN2_OK)
			return fail(why, idn2_strerror(rc));
		d = ascii;
		n = strlen(ascii);
	}
	if (n > MAX_DOMAIN) {
		idn2_free(ascii);
		return fail(why, "domain longer than 255 octets");
	}
	/* UTS #46 maps some characters to ASCII punctuation ("\uff20" to "@"): the
	   result must still be a Domain (RFC 5321 4.1.2). Not done with
	   IDN2_USE_STD3_ASCII_RULES: libidn2 2.3.3 then drops such characters silently
	   ("x\uff20y" becomes "xy"), changing the destination. */
	unsigned f = 0;
	if (ascii && (check_domain((const unsigned char *)d, n, &f, why) != 0 || f != 0)) {
		idn2_free(ascii);
		return fail(why, "domain maps to characters not allowed in a domain");
	}
	res = malloc(plen + n + 1);
	if (!res) {
		idn2_free(ascii);
		return SMTP_ENOMEM;
	}
	memcpy(res, prefix, plen);
	memcpy(res + plen, d, n);
	res[plen + n] = '\0';
	idn2_free(ascii);
	*out = res;
	return 0;
}

int smtpi_address_to_ascii(const char *mailbox, size_t len, int no_map, char **out,
			   const char **why)
{
	*out = NULL;
	if (len == 0) {
		/* The null path has no domain to convert. */
		*out = calloc(1, 1);
		return *out ? 0 : SMTP_ENOMEM;
	}
	/* The domain follows the last '@': a quoted local part may hold others. */
	size_t plen = len;
	while (plen > 0 && mailbox[plen - 1] != '@')
		plen--;
	if (plen == 0)
		return fail(why, "missing @");
	if (smtpi_check_text(mailbox, plen) != 0)
		return fail(why, "control character in address");
	return convert(mailbox, plen, mailbox + plen, len - plen, no_map, out, why);
}

int smtpi_domain_to_ascii(const char *domain, int no_map, char **out, const char **why)
{
	*out = NULL;
	if (!domain)
		return fail(why, "no domain");
	size_t n = strlen(domain);
	if (memchr(domain, ' ', n))
		return fail(why, "space in domain");
	return convert("", 0, domain, n, no_map, out, why);
}

size_t smtpi_xtext_encode(const char *src, size_t len, char *dst, size_t dstcap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	int room = dstcap > 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		/* xchar is "!".."~" except "+" and "="; others are "+" 2HEXCHAR (RFC 3461 4). */
		size_t need = (c < 33 || c > 126 || c == '+' || c == '=') ? 3 : 1;
		if (room && o + need < dstcap) {
			if (need == 1) {
				dst[o] = (char)c;
			} else {
				dst[o] = '+';
				dst[o + 1] = hex[c >> 4];
				dst[o + 2] = hex[c & 15];
			}
		} else if (room) {
			dst[o] = '\0';
			room = 0;
		}
		o += need;
	}
	if (room)
		dst[o] = '\0';
	return o;
}

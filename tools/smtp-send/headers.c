/* The header block of a raw message (RFC 5322 2.2, 3.6). Read: the From mailbox
   (the envelope sender when none is given) and, for -t, the To, Cc and Bcc
   mailboxes. Changed, as msmtp and sendmail do: Bcc fields are removed (the envelope
   carries those recipients; the header must not show them), and Date, Message-ID
   and From are added when missing (RFC 5322 3.6 requires Date and From; 3.6.4 wants
   a Message-ID, made unique here with the time and 96 random bits). Added lines use
   the message's own line ends. Nothing from the caller goes into a header line
   unchecked: the sender's name (-F NAME, or the name in --from) is quoted or RFC
   2047-encoded, a control character refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>

#include "smtp-send.h"

#define NAME_MAX_OCTETS SMTP_NAME_MAX /* -F NAME, the name in --from */

struct field {
	const char *name;
	size_t name_len;
	const char *value; /* after the colon, through the continuation lines */
	size_t value_len;  /* without the final line end */
	size_t start, end; /* the whole field, its final line end included */
};

static int is_field_start(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && *q > ' ' && *q < 0x7f && *q != ':')
		q++;
	if (q == p)
		return 0;
	while (q < end && (*q == ' ' || *q == '\t')) /* obs-optional, RFC 5322 4.5 */
		q++;
	return q < end && *q == ':';
}

static size_t line_end(const char *d, size_t len, size_t i)
{
	const char *nl = memchr(d + i, '\n', len - i);
	return nl ? (size_t)(nl - d) + 1 : len;
}

/* The next field at *pos within the header block [0, hlen); 0 at its end. */
static int next_field(const char *d, size_t hlen, size_t *pos, struct field *f)
{
	size_t i = *pos;
	if (i >= hlen)
		return 0;
	f->start = i;
	f->name = d + i;
	f->name_len = strcspn(f->name, ": \t");
	f->value = (const char *)memchr(d + i, ':', hlen - i) + 1;
	size_t e = line_end(d, hlen, i);
	while (e < hlen && (d[e] == ' ' || d[e] == '\t'))
		e = line_end(d, hlen, e);
	f->end = e;
	size_t vend = e;
	if (vend > i && d[vend - 1] == '\n')
		vend--;
	if (vend > i && d[vend - 1] == '\r')
		vend--;
	f->value_len = (size_t)(d + vend - f->value);
	*pos = e;
	return 1;
}

/* The length of the header block: field lines and their continuations. */
static size_t header_len(const char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		int cont = i > 0 && (d[i] == ' ' || d[i] == '\t');
		if (!cont && !is_field_start(d + i, d + line_end(d, len, i)))
			break;
		i = line_end(d, len, i);
	}
	return i;
}

static int named(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* The field's value unfolded (RFC 5322 2.2.3): its line ends removed. */
static char *unfold(const struct field *f)
{
	char *u = malloc(f->value_len + 1);
	if (!u)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < f->value_len; i++)
		if (f->value[i] != '\r' && f->value[i] != '\n')
			u[n++] = f->value[i];
	u[n] = '\0';
	return u;
}

static int field_mailboxes(const struct field *f, const char *label, char ***list, size_t *n)
{
	char *v = unfold(f);
	if (!v)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int rc = ss_addrlist_parse(label, v, list, n);
	free(v);
	return rc;
}

int ss_headers_scan(struct ss_content *ct, int extract)
{
	size_t hlen = header_len(ct->data, ct->len), pos = 0;
	struct field f;
	while (next_field(ct->data, hlen, &pos, &f)) {
		int rc = 0;
		if (named(&f, "From") && !ct->header_from) {
			char **from = NULL;
			size_t n = 0;
			rc = field_mailboxes(&f, "From", &from, &n);
			if (!rc && n) {
				ct->header_from = from[0];
				from[0] = NULL;
			}
			ss_addrlist_free(from, n);
		} else if (extract && (named(&f, "To") || named(&f, "Cc") || named(&f, "Bcc"))) {
			char label[8];
			snprintf(label, sizeof label, "%.*s", (int)f.name_len, f.name);
			rc = field_mailboxes(&f, label, &ct->header_rcpts, &ct->nheader_rcpts);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* The domain of a mailbox for a Message-ID: a dot-atom of letters, digits, '-' and
   '.', else "localhost" (an address literal or a U-label would need more care). */
static const char *id_domain(const char *mailbox)
{
	const char *at = mailbox ? strrchr(mailbox, '@') : NULL;
	if (!at || !at[1] || at[1] == '.')
		return "localhost";
	for (const char *p = at + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return "localhost";
	return at + 1;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* -F NAME as a display name: a quoted-string when it is ASCII, else RFC 2047
   encoded-words of at most 45 octets each (75 characters), cut between UTF-8
   characters and folded onto continuation lines. */
static int display_name(const char *name, const char *eol, char *out, size_t cap)
{
	size_t len = strlen(name), o = 0;
	int ascii = 1;
	for (size_t i = 0; i < len; i++)
		ascii &= (unsigned char)name[i] < 0x80;
	if (ascii) {
		out[o++] = '"';
		for (size_t i = 0; i < len; i++) {
			if (name[i] == '"' || name[i] == '\\')
				out[o++] = '\\';
			out[o++] = name[i];
		}
		out[o++] = '"';
		out[o] = '\0';
		return 0;
	}
	char sep[4];
	snprintf(sep, sizeof sep, "%s ", eol);
	for (size_t i = 0; i < len;) {
		size_t take = len - i < 45 ? len - i : 45;
		while (take < len - i && ((unsigned char)name[i + take] & 0xc0) == 0x80)
			take--;
		char b64[64];
		base64((const unsigned char *)name + i, take, b64);
		int n = snprintf(out + o, cap - o, "%s=?UTF-8?B?%s?=", i ? sep : "", b64);
		if (n < 0 || (size_t)n >= cap - o)
			return -1;
		o += (size_t)n;
		i += take;
	}
	return 0;
}

static int random_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	if (bytes > sizeof r || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return -1;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* The fields to add, written into add (cap octets). */
static int added_fields(const struct ss_content *ct, const char *from_name,
			const char *envelope_from, const char *eol, int has_date, int has_id,
			char *add, size_t cap)
{
	size_t o = 0;
	add[0] = '\0';
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm))
		return ss_fail(EX_SOFTWARE, "the local time is unknown");
	if (!has_date) {
		char date[64];
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
		o += (size_t)snprintf(add + o, cap - o, "Date: %s%s", date, eol);
	}
	if (!has_id) {
		char stamp[32], hex[25];
		strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
		if (random_hex(hex, 12))
			return ss_fail(EX_SOFTWARE, "no random numbers for a Message-ID");
		/* the From header's domain; the sender's when From has none ("root") */
		const char *domain = id_domain(ct->header_from);
		if (strcmp(domain, "localhost") == 0)
			domain = id_domain(envelope_from);
		o += (size_t)snprintf(add + o, cap - o, "Message-ID: <%s.%s@%s>%s", stamp, hex,
				      domain, eol);
	}
	if (!ct->header_from && envelope_from && envelope_from[0]) {
		char name[NAME_MAX_OCTETS * 4];
		name[0] = '\0';
		if (from_name && from_name[0] && display_name(from_name, eol, name, sizeof name))
			return ss_fail(EX_SOFTWARE, "the sender's name does not fit");
		o += (size_t)snprintf(add + o, cap - o, "From: %s%s<%s>%s", name,
				      name[0] ? " " : "", envelope_from, eol);
	}
	return o < cap ? 0 : ss_fail(EX_SOFTWARE, "added header fields too long");
}

int ss_headers_prepare(struct ss_content *ct, const char *from_name, const char *envelope_from)
{
	const char *d = ct->data;
	size_t hlen = header_len(d, ct->len), pos = 0;
	int has_date = 0, has_id = 0, bcc = 0;
	struct field f;
	while (next_field(d, hlen, &pos, &f)) {
		has_date |= named(&f, "Date");
		has_id |= named(&f, "Message-ID");
		bcc |= named(&f, "Bcc");
	}
	size_t first = line_end(d, ct->len, 0);
	const char *eol = first >= 2 && d[first - 1] == '\n' && d[first - 2] == '\r' ? "\r\n" : "\n";
	char add[2048 + NAME_MAX_OCTETS * 4];
	int rc = added_fields(ct, from_name, envelope_from, eol, has_date, has_id, add, sizeof add);
	if (rc)
		return rc;
	if (!bcc && !add[0])
		return 0;
	int end_line = hlen && d[hlen - 1] != '\n';        /* a header without a line end */
	int separate = hlen < ct->len && d[hlen] != '\n' && d[hlen] != '\r'; /* no empty line */
	char *out = malloc(ct->len + strlen(add) + 2 * strlen(eol) + 1);
	if (!out)
		return ss_fail(EX_SOFTWARE, "out of memory");
	size_t o = 0;
	pos = 0;
	while (next_field(d, hlen, &pos, &f))
		if (!named(&f, "Bcc")) {
			memcpy(out + o, d + f.start, f.end - f.start);
			o += f.end - f.start;
		}
	o += (size_t)sprintf(out + o, "%s%s%s", end_line ? eol : "", add, separate ? eol : "");
	memcpy(out + o, d + hlen, ct->len - hlen);
	o += ct->len - hlen;
	free(ct->data);
	ct->data = out;
	ct->len = o;
	return 0;
}

void ss_content_free(struct ss_content *ct)
{
	free(ct->data);
	ss_addrlist_free(ct->header_rcpts, ct->nheader_rcpts);
	free(ct->header_from);
	memset(ct, 0, sizeof *ct);
}

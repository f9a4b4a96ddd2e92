/* Ready-made messages: their header fields read one at a time (RFC 5322 2.2), the
   header section in CRLF form for signing, and the Date and Message-ID a message
   lacks (RFC 5322 3.6: both SHOULD be there; msmtp and sendmail add them too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/compose.h"
#include "wire/address.h"

/* Skips one line end (CRLF, LF or a lone CR) at i. */
static size_t skip_eol(const unsigned char *p, size_t n, size_t i)
{
	if (i < n && p[i] == '\r') {
		if (++i < n && p[i] == '\n')
			i++;
	} else if (i < n && p[i] == '\n') {
		i++;
	}
	return i;
}

int smtpi_hdr_next(struct smtpi_hdr_iter *it, size_t *start, size_t *flen, size_t *nlen,
		   size_t *body_off)
{
	const unsigned char *p = it->p;
	size_t n = it->len, i = it->off;
	if (i >= n || p[i] == '\r' || p[i] == '\n') {
		if (body_off)
			*body_off = skip_eol(p, n, i);
		return 0;
	}
	*start = i;
	size_t end;
	/* a field goes on while the next line begins with white space (2.2.3) */
	do {
		while (i < n && p[i] != '\r' && p[i] != '\n')
			i++;
		end = i;
		i = skip_eol(p, n, i);
	} while (i < n && (p[i] == ' ' || p[i] == '\t'));
	const unsigned char *colon = memchr(p + *start, ':', end - *start);
	*flen = end - *start;
	*nlen = colon ? (size_t)(colon - (p + *start)) : *flen;
	it->off = i;
	return 1;
}

int smtpi_header_section_crlf(const void *msg, size_t len, struct smtpi_buf *out,
			      size_t *body_off)
{
	struct smtpi_hdr_iter it = {msg, len, 0};
	const unsigned char *p = msg;
	size_t s, fl, nl;
	while (smtpi_hdr_next(&it, &s, &fl, &nl, body_off) == 1) {
		/* every line end inside the field as CRLF, as the library sends it */
		for (size_t i = s; i < s + fl; i++) {
			if (p[i] == '\r' || p[i] == '\n') {
				if (smtpi_buf_append(out, "\r\n", 2) != 0)
					return SMTP_ENOMEM;
				if (p[i] == '\r' && i + 1 < s + fl && p[i + 1] == '\n')
					i++;
			} else if (smtpi_buf_append(out, p + i, 1) != 0) {
				return SMTP_ENOMEM;
			}
		}
		if (smtpi_buf_append(out, "\r\n", 2) != 0)
			return SMTP_ENOMEM;
	}
	return 0;
}

static int field_is(const unsigned char *p, size_t s, size_t nl, const char *name)
{
	size_t n = strlen(name);
	while (nl > 0 && (p[s + nl - 1] == ' ' || p[s + nl - 1] == '\t'))
		nl--;
	return nl == n && strncasecmp((const char *)p + s, name, n) == 0;
}

/* The domain of the address in a From field's value: after the last "@" (inside
   the angle brackets if there are any), up to the first octet no domain holds. */
static int from_domain(const unsigned char *v, size_t n, char **out)
{
	const unsigned char *lt = NULL, *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '<')
			lt = v + i;
	const unsigned char *from = lt ? lt : v;
	for (const unsigned char *q = from; q < v + n && *q != '>'; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return SMTP_EINVAL;
	size_t k = 0;
	const unsigned char *d = at + 1;
	while (d + k < v + n && (d[k] >= 0x80 || d[k] == '.' || d[k] == '-' ||
				 (d[k] >= '0' && d[k] <= '9') || ((d[k] | 32) >= 'a' && (d[k] | 32) <= 'z')))
		k++;
	char *dom = smtpi_strndup((const char *)d, k);
	if (!dom)
		return SMTP_ENOMEM;
	const char *why;
	int rc = smtpi_domain_to_ascii(dom, 0, out, &why);
	free(dom);
	return rc;
}

int smtp_compose_missing_headers(const void *msg, size_t len, const char *domain, char *out,
				 size_t outcap, size_t *outlen)
{
	if ((!msg && len) || !out || !outlen || outcap < SMTP_MISSING_HEADERS_MAX)
		return SMTP_EINVAL;
	struct smtpi_hdr_iter it = {msg, len, 0};
	const unsigned char *p = msg;
	size_t s, fl, nl, from_s = 0, from_l = 0;
	int has_date = 0, has_id = 0, has_from = 0;
	while (smtpi_hdr_next(&it, &s, &fl, &nl, NULL) == 1) {
		has_date |= field_is(p, s, nl, "date");
		has_id |= field_is(p, s, nl, "message-id");
		if (!has_from && field_is(p, s, nl, "from") && nl < fl) {
			has_from = 1;
			from_s = s + nl + 1;
			from_l = fl - nl - 1;
		}
	}
	size_t o = 0;
	out[0] = '\0';
	*outlen = 0;
	if (!has_date) {
		int64_t now;
		int offset;
		smtpi_clock_now(&now, &offset);
		memcpy(out, "Date: ", 6);
		smtpi_date_format(now, offset, out + 6);
		o = strlen(out);
		memcpy(out + o, "\r\n", 3);
		o += 2;
	}
	if (!has_id) {
		char *dom = NULL, id[SMTPI_MSGID_MAX];
		const char *why;
		int rc = domain ? smtpi_domain_to_ascii(domain, 0, &dom, &why)
			 : has_from ? from_domain(p + from_s, from_l, &dom) : SMTP_EINVAL;
		if (!rc)
			rc = smtpi_message_id(NULL, dom, id);
		free(dom);
		if (rc)
			return rc;
		o += (size_t)snprintf(out + o, outcap - o, "Message-ID: %s\r\n", id);
	}
	*outlen = o;
	return 0;
}

/* DKIM canonicalisation (RFC 6376 3.4): header fields one at a time, the body as a
   stream of any split, and the body hashes both forms give. */
#include <string.h>

#include "compose/dkim.h"

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

void smtpi_canon_init(struct smtpi_canon *b, int relaxed, smtpi_sink_fn sink, void *ud)
{
	memset(b, 0, sizeof *b);
	b->relaxed = relaxed;
	b->sink = sink;
	b->ud = ud;
}

static void flush(struct smtpi_canon *b)
{
	if (b->blen)
		b->sink(b->ud, b->buf, b->blen);
	b->blen = 0;
}

static void emit(struct smtpi_canon *b, const char *p, size_t n)
{
	if (b->blen + n > sizeof b->buf)
		flush(b);
	memcpy(b->buf + b->blen, p, n);
	b->blen += n;
}

/* The first visible octet of a line: the empty lines held back were not the end. */
static void line_content(struct smtpi_canon *b)
{
	for (; b->empty_lines > 0; b->empty_lines--)
		emit(b, "\r\n", 2);
}

static void end_line(struct smtpi_canon *b)
{
	/* 3.4.4 (relaxed): white space at the end of a line is deleted */
	b->pending_wsp = 0;
	if (b->line_len > 0) {
		emit(b, "\r\n", 2);
		b->any = 1;
	} else {
		/* 3.4.3, 3.4.4: empty lines at the end of the body are ignored */
		b->empty_lines++;
	}
	b->line_len = 0;
}

static void octet(struct smtpi_canon *b, unsigned char c)
{
	if (b->relaxed && is_wsp(c)) {
		/* 3.4.4: a run of white space becomes one space, if anything follows */
		b->pending_wsp = 1;
		return;
	}
	if (b->line_len == 0)
		line_content(b);
	if (b->pending_wsp)
		emit(b, " ", 1);
	b->pending_wsp = 0;
	emit(b, (const char *)&c, 1);
	b->line_len++;
}

void smtpi_canon_update(struct smtpi_canon *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (b->pending_cr) {
			b->pending_cr = 0;
			end_line(b);
			if (c == '\n')
				continue;
		}
		if (c == '\r')
			b->pending_cr = 1;
		else if (c == '\n')
			end_line(b);
		else
			octet(b, c);
	}
}

void smtpi_canon_final(struct smtpi_canon *b)
{
	if (b->pending_cr) {
		b->pending_cr = 0;
		end_line(b);
	}
	/* a last line without its line end gets one (RFC 6376 errata 1384) */
	if (b->line_len > 0)
		end_line(b);
	/* 3.4.3: an empty body is a single CRLF in simple, nothing in relaxed */
	if (!b->relaxed && !b->any)
		emit(b, "\r\n", 2);
	flush(b);
}

size_t smtpi_canon_header(int relaxed, const unsigned char *f, size_t n, unsigned char *out)
{
	size_t o = 0;
	if (!relaxed) {
		memcpy(out, f, n);
		memcpy(out + n, "\r\n", 2);
		return n + 2;
	}
	/* 3.4.2: lower-case name, no white space around the colon, the value unfolded
	   with each run of white space one space and none at its ends */
	size_t i = 0;
	while (i < n && f[i] != ':')
		i++;
	size_t name_end = i;
	while (name_end > 0 && is_wsp(f[name_end - 1]))
		name_end--;
	for (size_t k = 0; k < name_end; k++)
		out[o++] = (unsigned char)(f[k] >= 'A' && f[k] <= 'Z' ? f[k] + 32 : f[k]);
	if (i == n) {
		/* no colon (the signer refuses such a field): stay within n + 2 */
		out[o++] = '\r';
		out[o++] = '\n';
		return o;
	}
	out[o++] = ':';
	size_t value_start = o;
	int wsp = 0;
	for (i++; i < n; i++) {
		if (f[i] == '\r' || f[i] == '\n')
			continue;
		if (is_wsp(f[i])) {
			wsp = 1;
			continue;
		}
		if (wsp && o > value_start)
			out[o++] = ' ';
		wsp = 0;
		out[o++] = f[i];
	}
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

static void md_sink(void *ud, const unsigned char *p, size_t n)
{
	EVP_DigestUpdate(ud, p, n);
}

int smtpi_body_hash_init(struct smtpi_body_hash *h, unsigned need)
{
	memset(h, 0, sizeof *h);
	for (int k = 0; k < 2; k++) {
		if (!(need & 1u << k))
			continue;
		h->md[k] = EVP_MD_CTX_new();
		if (!h->md[k] || EVP_DigestInit_ex(h->md[k], EVP_sha256(), NULL) != 1)
			return SMTP_ENOMEM;
		smtpi_canon_init(&h->canon[k], k == SMTP_DKIM_RELAXED, md_sink, h->md[k]);
	}
	return 0;
}

void smtpi_body_hash_update(struct smtpi_body_hash *h, const unsigned char *p, size_t n)
{
	for (int k = 0; k < 2; k++)
		if (h->md[k])
			smtpi_canon_update(&h->canon[k], p, n);
}

int smtpi_body_hash_final(struct smtpi_body_hash *h)
{
	for (int k = 0; k < 2; k++) {
		if (!h->md[k])
			continue;
		smtpi_canon_final(&h->canon[k]);
		if (EVP_DigestFinal_ex(h->md[k], h->out[k], NULL) != 1)
			return SMTP_ENOMEM;
	}
	return 0;
}

void smtpi_body_hash_free(struct smtpi_body_hash *h)
{
	for (int k = 0; k < 2; k++)
		EVP_MD_CTX_free(h->md[k]);
	memset(h, 0, sizeof *h);
}

/* Quoted-printable (RFC 2045 6.7) for text bodies, and base64 lines (RFC 2045 6.8)
   streamed for attachments of any size. */
#include "compose/mime.h"
#include "smtp.h"

/* RFC 2045 6.7 (5): encoded lines are at most 76 characters. */
#define QP_LINE 76
#define B64_LINE 76

static const char hex[] = "0123456789ABCDEF";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 2045 6.7 (2): octets 33..60 and 62..126 may stand for themselves. */
static int qp_literal(unsigned char c)
{
	return (c >= 33 && c <= 60) || (c >= 62 && c <= 126);
}

/* One line (without its CRLF) of the input, encoded with soft line breaks. */
static int qp_line(const unsigned char *s, size_t n, struct smtpi_buf *out)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int last = i + 1 == n;
		/* rule (3): white space is literal unless it ends the encoded line */
		int lit = qp_literal(c) || ((c == ' ' || c == '\t') && !last);
		char e[3] = {'=', hex[c >> 4], hex[c & 15]};
		size_t w = lit ? 1 : 3;
		/* the last token may fill the line; others leave room for the "=" */
		if (col + w > (last ? QP_LINE : QP_LINE - 1)) {
			if (smtpi_buf_append(out, "=\r\n", 3) != 0)
				return SMTP_ENOMEM;
			col = 0;
		}
		if (smtpi_buf_append(out, lit ? (const char *)s + i : e, w) != 0)
			return SMTP_ENOMEM;
		col += w;
	}
	return 0;
}

int smtpi_qp_encode(const unsigned char *s, size_t n, struct smtpi_buf *out)
{
	size_t start = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			if (qp_line(s + start, i - start, out) != 0 ||
			    smtpi_buf_append(out, "\r\n", 2) != 0)
				return SMTP_ENOMEM;
			start = i + 2;
			i++;
		}
	}
	return qp_line(s + start, n - start, out);
}

static size_t b64_group(const unsigned char *g, size_t n, unsigned char *out)
{
	uint32_t v = (uint32_t)g[0] << 16 | (n > 1 ? (uint32_t)g[1] << 8 : 0) | (n > 2 ? g[2] : 0);
	out[0] = (unsigned char)b64[v >> 18];
	out[1] = (unsigned char)b64[v >> 12 & 63];
	out[2] = (unsigned char)(n > 1 ? b64[v >> 6 & 63] : '=');
	out[3] = (unsigned char)(n > 2 ? b64[v & 63] : '=');
	return 4;
}

static size_t b64_put(struct smtpi_b64 *b, const unsigned char *g, size_t n, unsigned char *out)
{
	size_t o = b64_group(g, n, out);
	b->col += 4;
	if (b->col == B64_LINE) {
		out[o++] = '\r';
		out[o++] = '\n';
		b->col = 0;
	}
	return o;
}

size_t smtpi_b64_update(struct smtpi_b64 *b, const unsigned char *in, size_t n, unsigned char *out)
{
	size_t o = 0, i = 0;
	while (b->ncarry > 0 && b->ncarry < 3 && i < n)
		b->carry[b->ncarry++] = in[i++];
	if (b->ncarry == 3) {
		o += b64_put(b, b->carry, 3, out + o);
		b->ncarry = 0;
	}
	for (; i + 3 <= n; i += 3)
		o += b64_put(b, in + i, 3, out + o);
	while (i < n)
		b->carry[b->ncarry++] = in[i++];
	return o;
}

size_t smtpi_b64_final(struct smtpi_b64 *b, unsigned char *out)
{
	size_t o = 0;
	if (b->ncarry > 0) {
		o = b64_group(b->carry, b->ncarry, out);
		b->col += 4;
		b->ncarry = 0;
	}
	if (b->col > 0) {
		out[o++] = '\r';
		out[o++] = '\n';
		b->col = 0;
	}
	return o;
}

uint64_t smtpi_b64_size(uint64_t n)
{
	uint64_t rem = n % 57;
	return n / 57 * 78 + (rem ? (rem + 2) / 3 * 4 + 2 : 0);
}

/* Message body encoding for DATA and BDAT (RFC 5321 4.5.2, 4.5.3.1.6; RFC 3030).
   Runs of ordinary octets are found a word at a time and copied with memcpy; only
   line ends and leading dots are handled one at a time. */
#include "wire/body.h"

#include <string.h>

#include "smtp.h"

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when some octet of v is zero (exact as a yes/no answer). */
static uint64_t has_zero(uint64_t v)
{
	return (v - ONES) & ~v & HIGHS;
}

static uint64_t load64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof w);
	return w;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

void smtpi_body_scan(const unsigned char *p, size_t n, int *eight_bit, int *nul)
{
	uint64_t high = 0, zero = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(p + i);
		high |= w;
		zero |= has_zero(w);
	}
	for (; i < n; i++) {
		high |= p[i];
		zero |= p[i] == 0;
	}
	*eight_bit = (high & HIGHS) != 0;
	*nul = zero != 0;
}

/* Records 8-bit and NUL octets in p[0..n). */
static void scan_flags(struct smtpi_body *b, const unsigned char *p, size_t n)
{
	if (b->eight_bit && b->nul)
		return;
	int eight, nul;
	smtpi_body_scan(p, n, &eight, &nul);
	b->eight_bit |= eight;
	b->nul |= nul;
}

/* Length of the run of p[0..n) before the first CR or LF; records the 8-bit and NUL
   octets of that run. */
static size_t scan_run(struct smtpi_body *b, const unsigned char *p, size_t n)
{
	uint64_t high = 0, zero = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(p + i);
		if (has_zero(w ^ (ONES * '\n')) | has_zero(w ^ (ONES * '\r')))
			break;
		high |= w;
		zero |= has_zero(w);
	}
	for (; i < n && p[i] != '\n' && p[i] != '\r'; i++) {
		high |= p[i];
		zero |= p[i] == 0;
	}
	if (high & HIGHS) {
		b->eight_bit = 1;
		b->header_8bit |= b->in_header;
	}
	if (zero)
		b->nul = 1;
	return i;
}

void smtpi_body_init(struct smtpi_body *b, unsigned flags)
{
	/* Binary content cannot travel in DATA (RFC 3030 3): when both are asked for,
	   dot-stuffing wins so the DATA stream can never end early. */
	if (flags & SMTPI_BODY_DOTSTUFF)
		flags &= ~(unsigned)SMTPI_BODY_BINARY;
	memset(b, 0, sizeof *b);
	b->flags = flags;
	b->at_line_start = 1;
	b->in_header = 1;
}

int smtpi_body_encode(struct smtpi_body *b, const unsigned char *src, size_t srclen,
		      size_t *consumed, unsigned char *dst, size_t dstcap, size_t *written)
{
	const int stuff = (b->flags & SMTPI_BODY_DOTSTUFF) != 0;
	const int limit = (b->flags & SMTPI_BODY_LONG_LINES) == 0;
	size_t i = 0, o = 0;
	int rc = 0;

	if (dstcap < SMTPI_BODY_MIN_ROOM) {
		*consumed = 0;
		*written = 0;
		return SMTP_EINVAL;
	}
	if (b->flags & SMTPI_BODY_BINARY) {
		i = o = min_size(srclen, dstcap);
		memcpy(dst, src, i);
		scan_flags(b, src, i);
	}
	while (i < srclen && !(b->flags & SMTPI_BODY_BINARY)) {
		unsigned char c = src[i];
		if (b->pending_cr) {
			/* The CRLF was written when the CR arrived; its LF adds nothing. */
			b->pending_cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			/* A lone CR or LF is a line end too (RFC 5321 2.3.8). */
			if (dstcap - o < 2)
				break;
			dst[o++] = '\r';
			dst[o++] = '\n';
			i++;
			/* RFC 5322 2.1: an empty line ends the header block */
			if (b->at_line_start)
				b->in_header = 0;
			b->pending_cr = c == '\r';
			b->at_line_start = 1;
			b->line_len = 0;
			continue;
		}
		if (limit && b->line_len >= SMTPI_BODY_MAX_LINE) {
			rc = SMTP_EINVAL; /* RFC 5321 4.5.3.1.6 */
			break;
		}
		if (b->at_line_start && stuff && c == '.') {
			/* Transparency (RFC 5321 4.5.2). */
			if (dstcap - o < 2)
				break;
			dst[o++] = '.';
			dst[o++] = '.';
			i++;
			b->at_line_start = 0;
			b->line_len = 1;
			continue;
		}
		size_t n = min_size(srclen - i, dstcap - o);
		if (limit)
			n = min_size(n, SMTPI_BODY_MAX_LINE - b->line_len);
		if (n == 0)
			break;
		n = scan_run(b, src + i, n);
		memcpy(dst + o, src + i, n);
		i += n;
		o += n;
		b->line_len += n;
		b->at_line_start = 0;
	}
	b->in_bytes += i;
	b->out_bytes += o;
	*consumed = i;
	*written = o;
	return rc;
}

int smtpi_body_finish(struct smtpi_body *b, unsigned char *dst, size_t dstcap,
		      size_t *written)
{
	size_t o = 0;
	*written = 0;
	if (dstcap < SMTPI_BODY_MIN_ROOM)
		return SMTP_EINVAL;
	/* The terminator must begin a line (RFC 5321 4.1.1.4). */
	if (!(b->flags & SMTPI_BODY_BINARY) && !b->at_line_start) {
		dst[o++] = '\r';
		dst[o++] = '\n';
	}
	if (b->flags & SMTPI_BODY_DOTSTUFF) {
		memcpy(dst + o, ".\r\n", 3);
		o += 3;
	}
	b->at_line_start = 1;
	b->line_len = 0;
	b->out_bytes += o;
	*written = o;
	return 0;
}

/* Message body encoding for DATA and BDAT (RFC 5321 4.5.2, 4.5.3.1.6; RFC 3030).
   Line ends are found with memchr and runs between them copied whole; octet classes
   (8-bit, NUL) are gathered a block at a time. Only line ends and leading dots are
   handled one at a time. */
#include "wire/body.h"

#include <stdint.h>
#include <string.h>

#include "smtp.h"

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Octet classes 16 at a time: a mask per class, bit k for octet k. SSE2 where the
   compiler offers it (every x86-64), a portable loop elsewhere. */
struct masks {
	unsigned hi, nul, cr, lf;
};

#if defined(__SSE2__)
#include <emmintrin.h>

static struct masks block_masks(const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	struct masks m;
	m.hi = (unsigned)_mm_movemask_epi8(v);
	m.nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
	m.cr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
	m.lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
	return m;
}
#else
static struct masks block_masks(const unsigned char *p)
{
	struct masks m = {0, 0, 0, 0};
	for (unsigned k = 0; k < 16; k++) {
		m.hi |= (unsigned)(p[k] >> 7) << k;
		m.nul |= (unsigned)(p[k] == 0) << k;
		m.cr |= (unsigned)(p[k] == '\r') << k;
		m.lf |= (unsigned)(p[k] == '\n') << k;
	}
	return m;
}
#endif

/* The index of the lowest set bit of a nonzero mask. */
static unsigned lowest(unsigned mask)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctz(mask);
#else
	unsigned k = 0;
	while (!(mask & 1u)) {
		mask >>= 1;
		k++;
	}
	return k;
#endif
}

/* Whether p[0..n) holds an octet >= 0x80, and a NUL. */
static void classes(const unsigned char *p, size_t n, int *eight_bit, int *nul)
{
	unsigned hi = 0, z = 0;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		struct masks m = block_masks(p + i);
		hi |= m.hi;
		z |= m.nul;
	}
	for (; i < n; i++) {
		hi |= p[i] & 0x80;
		z |= p[i] == 0;
	}
	*eight_bit = hi != 0;
	*nul = z != 0;
}

/* The facts' line walk: lines begin at start; a line ends at every LF and at every
   CR not followed by LF (RFC 5321 2.3.8: such a CR, and an LF without CR before it,
   are bare; the encoder makes each a CRLF). */
struct walk {
	const unsigned char *p;
	size_t n, start;
	size_t header_end;
	int in_header;
	struct smtpi_body_facts *f;
};

/* A line ends just before p[stop] (the CR of a CRLF, or the bare CR or LF itself);
   the next begins at next. */
static void line_at(struct walk *w, size_t stop, size_t next)
{
	size_t text = stop - w->start;
	if (text > SMTPI_BODY_MAX_LINE)
		w->f->long_line = 1;
	if (text && w->p[w->start] == '.')
		w->f->dot_line = 1;
	/* RFC 5322 2.1: an empty line ends the header block */
	if (w->in_header && text == 0) {
		w->in_header = 0;
		w->header_end = w->start;
	}
	w->start = next;
}

/* A CR or LF at p[at], octet by octet (the tail after the last whole block). */
static void line_end(struct walk *w, size_t at)
{
	const unsigned char *p = w->p;
	if (p[at] == '\r') {
		if (at + 1 < w->n && p[at + 1] == '\n')
			return; /* its LF ends the line */
		w->f->bare = 1;
	} else if (at == 0 || p[at - 1] != '\r') {
		w->f->bare = 1;
	}
	line_at(w, p[at] == '\n' && at > w->start && p[at - 1] == '\r' ? at - 1 : at, at + 1);
}

void smtpi_body_facts(const unsigned char *p, size_t n, struct smtpi_body_facts *f)
{
	memset(f, 0, sizeof *f);
	struct walk w = {p, n, 0, n, 1, f};
	unsigned hi = 0, z = 0, carry = 0; /* carry: the previous block ended with a CR */
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		struct masks m = block_masks(p + i);
		hi |= m.hi;
		z |= m.nul;
		if (!(m.cr | m.lf | carry))
			continue; /* most blocks: no line end */
		unsigned after_cr = ((m.cr << 1) | carry) & 0xffffu;
		/* a CR whose LF is not next; bit 15 is decided by the next block */
		unsigned lone_cr = m.cr & ~(m.lf >> 1) & 0x7fffu;
		if (carry && !(m.lf & 1u)) {
			f->bare = 1;
			line_at(&w, i - 1, i);
		}
		if ((m.lf & ~after_cr) | lone_cr)
			f->bare = 1;
		carry = m.cr >> 15;
		for (unsigned ends = m.lf | lone_cr; ends; ends &= ends - 1) {
			unsigned k = lowest(ends);
			size_t at = i + k;
			int crlf = ((m.lf >> k) & 1u) && ((after_cr >> k) & 1u) && at > w.start;
			line_at(&w, crlf ? at - 1 : at, at + 1);
		}
	}
	if (carry && (i == n || p[i] != '\n')) {
		f->bare = 1;
		line_at(&w, i - 1, i);
	}
	for (; i < n; i++) {
		hi |= p[i] & 0x80;
		z |= p[i] == 0;
		if (p[i] == '\r' || p[i] == '\n')
			line_end(&w, i);
	}
	/* the last line, without a line end */
	size_t text = n - w.start;
	if (text > SMTPI_BODY_MAX_LINE)
		f->long_line = 1;
	if (text && p[w.start] == '.')
		f->dot_line = 1;
	f->eight_bit = hi != 0;
	f->nul = z != 0;
	if (f->eight_bit) {
		int hnul;
		classes(p, w.header_end, &f->header_8bit, &hnul);
	}
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

/* Copies canonical input (CRLF line ends, lines within the limit, known before):
   whole runs, a leading dot doubled unless no line has one. */
static size_t encode_canonical(struct smtpi_body *b, const unsigned char *src, size_t srclen,
			       size_t *consumed, unsigned char *dst, size_t dstcap)
{
	const int stuff = (b->flags & SMTPI_BODY_DOTSTUFF) && !(b->flags & SMTPI_BODY_DOTFREE);
	size_t i = 0, o = 0;
	while (i < srclen && o < dstcap) {
		if (stuff && b->at_line_start && src[i] == '.') {
			if (dstcap - o < 2)
				break;
			dst[o++] = '.';
			dst[o++] = '.';
			i++;
			b->at_line_start = 0;
			continue;
		}
		size_t n = min_size(srclen - i, dstcap - o);
		if (stuff) {
			/* through the line end, so the next line's first octet is looked at */
			const unsigned char *nl = memchr(src + i, '\n', n);
			if (nl)
				n = (size_t)(nl - (src + i)) + 1;
		}
		memcpy(dst + o, src + i, n);
		i += n;
		o += n;
		b->at_line_start = src[i - 1] == '\n';
	}
	*consumed = i;
	return o;
}

/* Records 8-bit and NUL octets in p[0..n). */
static void track(struct smtpi_body *b, const unsigned char *p, size_t n)
{
	if (b->eight_bit && b->nul)
		return;
	int eight, nul;
	classes(p, n, &eight, &nul);
	if (eight) {
		b->eight_bit = 1;
		b->header_8bit |= b->in_header;
	}
	b->nul |= nul;
}

/* Length of the run of p[0..n) before the first CR or LF. */
static size_t run_length(const unsigned char *p, size_t n)
{
	const unsigned char *lf = memchr(p, '\n', n);
	if (lf)
		n = (size_t)(lf - p);
	const unsigned char *cr = memchr(p, '\r', n);
	return cr ? (size_t)(cr - p) : n;
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
	if (b->flags & SMTPI_BODY_CANONICAL) {
		o = encode_canonical(b, src, srclen, &i, dst, dstcap);
	} else if (b->flags & SMTPI_BODY_BINARY) {
		i = o = min_size(srclen, dstcap);
		memcpy(dst, src, i);
		track(b, src, i);
	}
	while (i < srclen && !(b->flags & (SMTPI_BODY_BINARY | SMTPI_BODY_CANONICAL))) {
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
		n = run_length(src + i, n);
		track(b, src + i, n);
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

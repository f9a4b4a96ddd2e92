/* The walk over a plan's segments: the head and body octets as they are, each
   attachment base64-encoded block by block as its source is read. The stream
   (stream.c) and the DKIM body hash (structure.c) both walk a plan. */
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"

/* 57 octets make one 76-character base64 line: whole lines per block. */
#define IN_BLOCK (57 * 1024)

void smtpi_walk_start(struct smtpi_walk *w, size_t seg)
{
	memset(w, 0, sizeof *w);
	w->seg = seg;
}

void smtpi_walk_free(struct smtpi_walk *w)
{
	free(w->in);
	free(w->out);
	w->in = w->out = NULL;
}

/* Encodes the next block of the part the walk is in, or its end. */
static long next_block(struct smtpi_plan *p, struct smtpi_walk *w, struct smtpi_source *s,
		       int spool)
{
	if (!w->in && (!(w->in = malloc(IN_BLOCK)) || !(w->out = malloc(SMTPI_B64_ROOM(IN_BLOCK)))))
		return SMTP_ENOMEM;
	w->out_off = 0;
	if (w->src_done) {
		w->src_done = 0;
		w->out_len = 0;
		w->pos = 0;
		w->seg++;
		return 0;
	}
	long r = smtpi_source_read(s, w->pos, w->in, IN_BLOCK, spool, p->spool_limit);
	if (r < 0)
		return r;
	if (r == 0) {
		w->out_len = smtpi_b64_final(&w->b64, w->out);
		w->src_done = 1;
		return 0;
	}
	w->pos += (uint64_t)r;
	w->out_len = smtpi_b64_update(&w->b64, w->in, (size_t)r, w->out);
	return 0;
}

long smtpi_walk_read(struct smtpi_plan *p, struct smtpi_walk *w, unsigned char *buf, size_t len,
		     int spool)
{
	const struct smtpi_seg *segs = p->segs.v;
	size_t o = 0;
	while (o < len) {
		if (w->out_off < w->out_len) {
			size_t k = w->out_len - w->out_off < len - o ? w->out_len - w->out_off : len - o;
			memcpy(buf + o, w->out + w->out_off, k);
			w->out_off += k;
			o += k;
			continue;
		}
		if (w->seg >= p->segs.n)
			break;
		const struct smtpi_seg *s = &segs[w->seg];
		if (s->part) {
			long rc = next_block(p, w, &s->part->src, spool);
			if (rc < 0)
				return rc;
			continue;
		}
		const struct smtpi_buf *from = s->in_head ? &p->head : &p->body;
		size_t left = s->len - (size_t)w->pos;
		size_t k = left < len - o ? left : len - o;
		memcpy(buf + o, from->data + s->off + w->pos, k);
		w->pos += k;
		o += k;
		if (w->pos == s->len) {
			w->seg++;
			w->pos = 0;
		}
	}
	return (long)o;
}

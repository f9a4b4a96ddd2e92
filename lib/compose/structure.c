/* The MIME structure and header of a composed message (RFC 5322 3.6, RFC 2045,
   RFC 2046 5.1, RFC 2387): which multiparts nest how, every header field, the
   encoded text bodies, and the segments a message is streamed from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose/compose.h"
#include "compose/dkim.h"
#include "wire/address.h"

#define BOUNDARY_TRIES 16
#define HASH_BLOCK (64 * 1024)

enum { B_MIXED, B_ALT, B_RELATED };

struct build {
	smtp_compose *c;
	struct smtpi_plan *p;
	struct smtpi_field f;
	struct smtpi_buf fields;        /* the message's header fields */
	struct smtpi_buf enc[2];        /* encoded text and HTML */
	const char *cte[2];
	size_t lit_start;               /* where the open body segment began */
	size_t nattach, ninline;
	char bnd[3][31];
	int rc;
};

static void fail(struct build *b, int rc)
{
	if (!b->rc)
		b->rc = rc;
}

static void fold(struct build *b, struct smtpi_buf *out)
{
	int rc = smtpi_field_fold(&b->f, out);
	if (rc)
		fail(b, rc);
}

static void lit(struct build *b, const char *s, size_t n)
{
	if (n && smtpi_buf_append(&b->p->body, s, n) != 0)
		fail(b, SMTP_ENOMEM);
}

static void lit_str(struct build *b, const char *s)
{
	lit(b, s, strlen(s));
}

static void push_seg(struct build *b, const struct smtpi_seg *s)
{
	if (smtpi_list_push(&b->p->segs, sizeof *s, s) != 0)
		fail(b, SMTP_ENOMEM);
}

/* Ends the open body segment; a part (base64, read as it is sent) may follow. */
static void close_lit(struct build *b, struct smtpi_part *part)
{
	struct smtpi_seg s = {0, b->lit_start, b->p->body.len - b->lit_start, NULL};
	if (s.len)
		push_seg(b, &s);
	if (part) {
		struct smtpi_seg ps = {0, 0, 0, part};
		push_seg(b, &ps);
	}
	b->lit_start = b->p->body.len;
}

/* 7bit, 8bit or quoted-printable, decided for the caller (RFC 2045 6). */
static void encode_text(struct build *b, int which, const char *s, size_t n)
{
	size_t line = 0, longest = 0;
	for (size_t i = 0; i < n; i++) {
		line = s[i] == '\r' || s[i] == '\n' ? 0 : line + 1;
		longest = line > longest ? line : longest;
	}
	int eight = smtpi_has_8bit(s, n);
	struct smtpi_buf *out = &b->enc[which];
	if ((!eight && longest <= SMTPI_LINE_SOFT) ||
	    (eight && (b->c->eightbit || b->c->utf8) && longest <= SMTPI_LINE_HARD)) {
		b->cte[which] = eight ? "8bit" : "7bit";
		b->p->eight_bit |= eight;
		if (n && smtpi_buf_append(out, s, n) != 0)
			fail(b, SMTP_ENOMEM);
	} else {
		b->cte[which] = "quoted-printable";
		if (smtpi_qp_encode((const unsigned char *)s, n, out) != 0)
			fail(b, SMTP_ENOMEM);
	}
}

static int occurs(const struct smtpi_buf *t, const char *s)
{
	return t->len && memmem(t->data, t->len, s, strlen(s)) != NULL;
}

/* RFC 2046 5.1.1: a boundary must not occur in the parts it delimits. Only 7bit
   and 8bit text can hold "=_"; the other boundaries are searched too. */
static void boundaries(struct build *b)
{
	for (int k = 0; k < 3 && !b->rc; k++) {
		int tries = 0, clash;
		do {
			int rc = smtpi_boundary(&b->c->rng, b->bnd[k]);
			if (rc || ++tries > BOUNDARY_TRIES) {
				fail(b, rc ? rc : SMTP_EINVAL);
				return;
			}
			clash = occurs(&b->enc[0], b->bnd[k]) || occurs(&b->enc[1], b->bnd[k]);
			for (int j = 0; j < k; j++)
				clash |= strcmp(b->bnd[j], b->bnd[k]) == 0;
		} while (clash);
	}
}

/* "Name: value" for a part header, folded into hdr. */
static void simple_field(struct build *b, struct smtpi_buf *hdr, const char *name,
			 const char *value)
{
	smtpi_field_start(&b->f, name);
	smtpi_field_space(&b->f);
	smtpi_field_str(&b->f, value);
	fold(b, hdr);
}

/* The blank line after a part's header; the message's own comes after DKIM. */
static void end_part_header(struct build *b, int top)
{
	if (!top)
		lit(b, "\r\n", 2);
}

static void leaf_text(struct build *b, struct smtpi_buf *hdr, int top, int html)
{
	simple_field(b, hdr, "Content-Type",
		     html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
	simple_field(b, hdr, "Content-Transfer-Encoding", b->cte[html]);
	end_part_header(b, top);
	const struct smtpi_buf *e = &b->enc[html];
	lit(b, e->data, e->len);
	/* the message ends with a line end, so the SIZE hint counts what is sent */
	if (top && (e->len < 2 || memcmp(e->data + e->len - 2, "\r\n", 2) != 0))
		lit(b, "\r\n", 2);
}

/* An attachment or inline part: its type, RFC 2183 disposition, Content-ID (RFC
   2392), and its octets in base64. */
static void leaf_part(struct build *b, struct smtpi_part *part)
{
	int utf8 = b->c->utf8;
	struct smtpi_buf *hdr = &b->p->body;
	smtpi_field_start(&b->f, "Content-Type");
	smtpi_field_space(&b->f);
	smtpi_field_str(&b->f, part->type);
	if (part->filename)
		smtpi_param(&b->f, "name", part->filename, utf8);
	fold(b, hdr);
	smtpi_field_start(&b->f, "Content-Disposition");
	smtpi_field_space(&b->f);
	smtpi_field_str(&b->f, part->cid ? "inline" : "attachment");
	if (part->filename)
		smtpi_param(&b->f, "filename", part->filename, utf8);
	fold(b, hdr);
	if (part->cid) {
		smtpi_field_start(&b->f, "Content-ID");
		smtpi_field_space(&b->f);
		smtpi_field_text(&b->f, "<", 1);
		smtpi_field_str(&b->f, part->cid);
		smtpi_field_text(&b->f, ">", 1);
		fold(b, hdr);
	}
	int utf8_name = utf8 && part->filename &&
			smtpi_has_8bit(part->filename, strlen(part->filename));
	b->p->eight_bit |= utf8_name;
	b->p->utf8_fields |= utf8_name;
	simple_field(b, hdr, "Content-Transfer-Encoding", "base64");
	end_part_header(b, 0);
	close_lit(b, part);
}

static void open_multi(struct build *b, struct smtpi_buf *hdr, int top, const char *subtype,
		       const char *root, int k)
{
	smtpi_field_start(&b->f, "Content-Type");
	smtpi_field_space(&b->f);
	smtpi_field_str(&b->f, subtype);
	/* RFC 2387 3.1: related names the type of its root part */
	if (root)
		smtpi_param(&b->f, "type", root, 0);
	smtpi_param(&b->f, "boundary", b->bnd[k], 0);
	fold(b, hdr);
	end_part_header(b, top);
}

/* RFC 2046 5.1.1: the CRLF before "--" belongs to the delimiter, not the part. */
static void delimiter(struct build *b, int k, int first)
{
	lit_str(b, first ? "--" : "\r\n--");
	lit_str(b, b->bnd[k]);
	lit(b, "\r\n", 2);
}

static void close_multi(struct build *b, int k)
{
	lit_str(b, "\r\n--");
	lit_str(b, b->bnd[k]);
	lit_str(b, "--\r\n");
}

static void for_parts(struct build *b, int inline_parts, int k, int first)
{
	struct smtpi_part **parts = b->c->parts.v;
	for (size_t i = 0; i < b->c->parts.n; i++) {
		if ((parts[i]->cid != NULL) != inline_parts)
			continue;
		delimiter(b, k, first);
		first = 0;
		leaf_part(b, parts[i]);
	}
}

/* The text or HTML part, in a multipart/related with the inline parts if any. */
static void root(struct build *b, struct smtpi_buf *hdr, int top, int html)
{
	if (b->ninline == 0) {
		leaf_text(b, hdr, top, html);
		return;
	}
	open_multi(b, hdr, top, "multipart/related", html ? "text/html" : "text/plain",
		   B_RELATED);
	delimiter(b, B_RELATED, 1);
	leaf_text(b, &b->p->body, 0, html);
	for_parts(b, 1, B_RELATED, 0);
	close_multi(b, B_RELATED);
}

/* Text and HTML as multipart/alternative (RFC 2046 5.1.4: the plainest first). */
static void body_entity(struct build *b, struct smtpi_buf *hdr, int top)
{
	if (!b->c->text || !b->c->html) {
		root(b, hdr, top, b->c->html != NULL);
		return;
	}
	open_multi(b, hdr, top, "multipart/alternative", NULL, B_ALT);
	delimiter(b, B_ALT, 1);
	leaf_text(b, &b->p->body, 0, 0);
	delimiter(b, B_ALT, 0);
	root(b, &b->p->body, 0, 1);
	close_multi(b, B_ALT);
}

/* The whole body: multipart/mixed when there are attachments (RFC 2046 5.1.3). */
static void top_entity(struct build *b)
{
	const smtp_compose *c = b->c;
	if (b->nattach == 0) {
		body_entity(b, &b->fields, 1);
		return;
	}
	open_multi(b, &b->fields, 1, "multipart/mixed", NULL, B_MIXED);
	int body = c->text || c->html || b->ninline;
	if (body) {
		delimiter(b, B_MIXED, 1);
		body_entity(b, &b->p->body, 0);
	}
	for_parts(b, 0, B_MIXED, !body);
	close_multi(b, B_MIXED);
}

/* DKIM: the body hash needs every octet before the header can be sent, so the body
   is walked once here (files and memory read again later, readers spooled). */
static void sign(struct build *b)
{
	smtp_compose *c = b->c;
	struct smtpi_body_hash bh;
	struct smtpi_walk w;
	unsigned need = 0;
	for (size_t i = 0; i < c->nsigners; i++)
		need |= 1u << c->signers[i]->bcanon;
	unsigned char *buf = malloc(HASH_BLOCK);
	int rc = buf ? smtpi_body_hash_init(&bh, need) : SMTP_ENOMEM;
	smtpi_walk_start(&w, 1);
	long n = 0;
	while (!rc && (n = smtpi_walk_read(b->p, &w, buf, HASH_BLOCK, 1)) > 0)
		smtpi_body_hash_update(&bh, buf, (size_t)n);
	if (!rc && n < 0)
		rc = (int)n;
	if (!rc)
		rc = smtpi_body_hash_final(&bh);
	int64_t now = c->has_clock ? c->clock : (int64_t)time(NULL);
	for (size_t i = 0; !rc && i < c->nsigners; i++) {
		const smtp_dkim *d = c->signers[i];
		rc = smtpi_dkim_field(d, (unsigned char *)b->fields.data, b->fields.len,
				      bh.out[d->bcanon], now, &b->p->head);
	}
	if (buf)
		smtpi_body_hash_free(&bh);
	smtpi_walk_free(&w);
	free(buf);
	if (rc)
		fail(b, rc);
}

static void count_parts(struct build *b)
{
	struct smtpi_part **parts = b->c->parts.v;
	for (size_t i = 0; i < b->c->parts.n; i++) {
		if (parts[i]->cid)
			b->ninline++;
		else
			b->nattach++;
	}
}

/* The message's size when every part's is known (RFC 1870 SIZE). */
static void size(struct smtpi_plan *p)
{
	const struct smtpi_seg *segs = p->segs.v;
	p->size = p->head.len + p->body.len;
	p->size_known = 1;
	for (size_t i = 0; i < p->segs.n; i++) {
		const struct smtpi_source *s = segs[i].part ? &segs[i].part->src : NULL;
		if (!s)
			continue;
		if (s->spooled)
			p->size += smtpi_b64_size(s->mem_len);
		else if (s->size_known)
			p->size += smtpi_b64_size(s->size);
		else
			p->size_known = 0;
	}
}

int smtpi_plan_build(smtp_compose *c, struct smtpi_plan *p)
{
	struct build b = {0};
	b.c = c;
	b.p = p;
	p->spool_limit = c->spool_limit;
	count_parts(&b);
	b.rc = smtpi_message_fields(c, &b.fields, &p->utf8_fields);
	p->eight_bit |= p->utf8_fields;
	/* segment 0 is the head, filled in last */
	struct smtpi_seg head = {1, 0, 0, NULL};
	push_seg(&b, &head);
	if (!b.rc) {
		encode_text(&b, 0, c->text ? c->text : "", c->text_len);
		encode_text(&b, 1, c->html ? c->html : "", c->html_len);
		boundaries(&b);
	}
	if (!b.rc) {
		top_entity(&b);
		close_lit(&b, NULL);
	}
	if (!b.rc && c->nsigners)
		sign(&b);
	if (!b.rc && (smtpi_buf_append(&p->head, b.fields.data, b.fields.len) != 0 ||
		      smtpi_buf_append(&p->head, "\r\n", 2) != 0))
		fail(&b, SMTP_ENOMEM);
	if (!b.rc) {
		((struct smtpi_seg *)p->segs.v)[0].len = p->head.len;
		size(p);
	}
	smtpi_field_free(&b.f);
	smtpi_buf_free(&b.fields);
	smtpi_buf_free(&b.enc[0]);
	smtpi_buf_free(&b.enc[1]);
	return b.rc;
}

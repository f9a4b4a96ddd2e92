/* Bytes into the oracle's transcript. orc_client reads what the client wrote, as a
   server would: command lines, DATA content up to CRLF.CRLF (un-stuffed, RFC 5321
   4.5.2), "BDAT n" and its n octets (RFC 3030 2), and checks the content against
   the message's. orc_replies splits what the client was given into replies: a line
   ends only at CRLF, a bare LF or CR is a protocol error there, NUL octets are
   dropped, codes 200..559, one code per reply (RFC 5321 4.2). Addresses follow the
   pattern the oracle's tests use: sender m<k>@x.test, recipients r<k>.<i>@y.test. */
#ifndef ORACLE_WIRE_H
#define ORACLE_WIRE_H

#include <ctype.h>

#include "oracle.h"

enum orc_mode { ORC_M_CMD, ORC_M_AFTER_DATA, ORC_M_CONTENT, ORC_M_BDAT };

struct orc_client {
	struct orc_transcript *t;
	const char *const *content;   /* each message's content, exactly as sent */
	const size_t *content_len;
	size_t nmsgs;
	char line[2048];
	size_t len;
	int cr, overlong, begun;
	unsigned long pos;            /* octets read so far */
	int mode;
	unsigned long left;           /* BDAT octets still to come */
	unsigned long chunk;
	int last;
	int msg;                      /* the message of the last MAIL, or -1 */
	size_t off;                   /* content compared so far */
	int bad;                      /* the content differs */
};

static inline void orc_client_init(struct orc_client *c, struct orc_transcript *t,
				   const char *const *content, const size_t *content_len,
				   size_t nmsgs)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->content = content;
	c->content_len = content_len;
	c->nmsgs = nmsgs;
	c->msg = -1;
}

static inline int orc_prefix(const char *line, size_t len, const char *verb)
{
	size_t n = strlen(verb);
	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)line[i]) != verb[i])
			return 0;
	return 1;
}

static inline int orc_is(const char *line, size_t len, const char *verb)
{
	return len == strlen(verb) && orc_prefix(line, len, verb);
}

static inline int orc_classify(const char *line, size_t len)
{
	static const struct {
		const char *verb;
		int exact, cmd;
	} verbs[] = {
		{"EHLO ", 0, ORC_EHLO}, {"HELO ", 0, ORC_HELO}, {"LHLO ", 0, ORC_LHLO},
		{"STARTTLS", 1, ORC_STARTTLS}, {"AUTH ", 0, ORC_AUTH},
		{"MAIL FROM:", 0, ORC_MAIL}, {"RCPT TO:", 0, ORC_RCPT}, {"DATA", 1, ORC_DATA},
		{"BDAT ", 0, ORC_BDAT}, {"RSET", 1, ORC_RSET}, {"QUIT", 1, ORC_QUIT},
	};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (verbs[i].exact ? orc_is(line, len, verbs[i].verb)
				   : orc_prefix(line, len, verbs[i].verb))
			return verbs[i].cmd;
	return ORC_OTHER;
}

static inline int orc_number(const char **p, const char *end, unsigned long *out)
{
	unsigned long v = 0;
	const char *s = *p;
	while (*p < end && **p >= '0' && **p <= '9' && v < 100000000)
		v = v * 10 + (unsigned long)(*(*p)++ - '0');
	*out = v;
	return *p > s;
}

/* "<m3@x.test>" (tag 'm') or "<r3.2@y.test>" (tag 'r'): the message and recipient. */
static inline void orc_address(const char *line, size_t len, char tag, int *msg, int *rcpt)
{
	const char *p = memchr(line, '<', len), *end = line + len;
	unsigned long a, b = 0;
	*msg = *rcpt = -1;
	if (!p || ++p >= end || *p++ != tag || !orc_number(&p, end, &a) || a >= ORC_MAX_MSGS)
		return;
	if (tag == 'r' && (p >= end || *p++ != '.' || !orc_number(&p, end, &b) ||
			   b >= ORC_MAX_RCPTS))
		return;
	const char *dom = tag == 'm' ? "@x.test>" : "@y.test>";
	if ((size_t)(end - p) < strlen(dom) || memcmp(p, dom, strlen(dom)) != 0)
		return;
	*msg = (int)a;
	*rcpt = (int)b;
}

/* Compares content octets with the current message's, from c->off on. */
static inline void orc_compare(struct orc_client *c, const char *p, size_t n)
{
	if (c->msg < 0 || (size_t)c->msg >= c->nmsgs) {
		c->bad = 1;
		return;
	}
	size_t total = c->content_len[c->msg];
	if (c->off + n > total || memcmp(c->content[c->msg] + c->off, p, n) != 0)
		c->bad = 1;
	c->off += n;
}

static inline int orc_content_flags(const struct orc_client *c)
{
	int ok = !c->bad && c->msg >= 0 && c->off == c->content_len[c->msg];
	return ok ? 0 : ORC_F_BADDATA;
}

static inline void orc_command(struct orc_client *c, int cmd)
{
	const char *line = c->line;
	size_t len = c->len;
	int msg = -1, rcpt = -1;
	if (c->overlong)
		cmd = ORC_OTHER;
	switch (cmd) {
	case ORC_MAIL:
		orc_address(line, len, 'm', &msg, &rcpt);
		c->msg = msg;
		c->off = 0;
		c->bad = 0;
		break;
	case ORC_RCPT:
		orc_address(line, len, 'r', &msg, &rcpt);
		break;
	case ORC_DATA:
		c->mode = ORC_M_AFTER_DATA;
		c->off = 0;
		c->bad = 0;
		break;
	case ORC_BDAT: {
		const char *p = line + 5, *end = line + len;
		if (!orc_number(&p, end, &c->chunk) ||
		    (p != end && !orc_is(p, (size_t)(end - p), " LAST"))) {
			cmd = ORC_OTHER;
			break;
		}
		c->last = p != end;
		c->left = c->chunk;
		c->mode = ORC_M_BDAT;
		return; /* the command is complete with its chunk */
	}
	default:
		break;
	}
	orc_push(c->t, ORC_CMD, cmd, 0, msg, rcpt, 0, 0);
	c->begun = 0;
}

static inline void orc_bdat_done(struct orc_client *c)
{
	int flags = c->last ? ORC_F_LAST | orc_content_flags(c) : 0;
	orc_push(c->t, ORC_CMD, ORC_BDAT, flags, c->msg, -1, 0, c->chunk);
	c->mode = ORC_M_CMD;
	c->begun = 0;
}

static inline void orc_client_line(struct orc_client *c)
{
	const char *line = c->line;
	size_t len = c->len;
	if (c->mode == ORC_M_AFTER_DATA) {
		if (orc_is(line, len, ".")) {
			orc_push(c->t, ORC_CMD, ORC_DOT, ORC_F_LONE, c->msg, -1, 0, 0);
			c->mode = ORC_M_CMD;
			c->begun = 0;
			return;
		}
		int cmd = orc_classify(line, len);
		if (cmd != ORC_OTHER) {
			c->mode = ORC_M_CMD;
			orc_command(c, cmd);
			return;
		}
		c->mode = ORC_M_CONTENT;
	}
	if (c->mode == ORC_M_CONTENT) {
		if (orc_is(line, len, ".")) {
			orc_push(c->t, ORC_CMD, ORC_DOT, orc_content_flags(c), c->msg, -1, 0, 0);
			c->mode = ORC_M_CMD;
			c->begun = 0;
			return;
		}
		if (c->overlong)
			c->bad = 1;
		size_t skip = len > 0 && line[0] == '.' ? 1u : 0u;
		orc_compare(c, line + skip, len - skip);
		orc_compare(c, "\r\n", 2);
		return;
	}
	orc_command(c, orc_classify(line, len));
}

/* The client wrote these octets. */
static inline void orc_client_feed(struct orc_client *c, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (c->mode == ORC_M_BDAT) {
			size_t take = n - i < c->left ? n - i : (size_t)c->left;
			orc_compare(c, p + i, take);
			c->left -= take;
			c->pos += take;
			i += take;
			if (c->left == 0)
				orc_bdat_done(c);
			continue;
		}
		if (!c->begun) {
			orc_push(c->t, ORC_BEGIN, 0, 0, -1, -1, 0, c->pos);
			c->begun = 1;
		}
		char b = p[i++];
		c->pos++;
		if (c->cr && b == '\n') {
			c->cr = 0;
			orc_client_line(c);
			c->len = 0;
			c->overlong = 0;
			if (c->mode == ORC_M_BDAT && c->left == 0)
				orc_bdat_done(c);
			continue;
		}
		if (c->cr) {
			/* the CR held back is part of the line */
			if (c->len < sizeof c->line)
				c->line[c->len++] = '\r';
			else
				c->overlong = 1;
		}
		c->cr = b == '\r';
		if (c->cr)
			continue;
		if (c->len < sizeof c->line)
			c->line[c->len++] = b;
		else
			c->overlong = 1;
	}
}

/* ---- the server's bytes ---- */

struct orc_replies {
	struct orc_transcript *t;
	int cr, dead;
	char head[40];                /* the current line's first octets */
	size_t hlen;
	int code, lines, caps;
};

static inline void orc_replies_init(struct orc_replies *r, struct orc_transcript *t)
{
	memset(r, 0, sizeof *r);
	r->t = t;
}

static inline void orc_replies_bad(struct orc_replies *r)
{
	orc_push(r->t, ORC_REPLY, 0, ORC_F_BAD, -1, -1, r->code, 0);
	r->dead = 1;
}

static inline void orc_reply_line(struct orc_replies *r)
{
	const char *h = r->head;
	size_t n = r->hlen;
	r->hlen = 0;
	if (n < 3 || h[0] < '2' || h[0] > '5' || h[1] < '0' || h[1] > '5' || h[2] < '0' ||
	    h[2] > '9' || (n > 3 && h[3] != ' ' && h[3] != '-')) {
		orc_replies_bad(r);
		return;
	}
	int code = (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0');
	if (r->lines > 0 && code != r->code) {
		orc_replies_bad(r);
		return;
	}
	r->code = code;
	if (r->lines++ > 0 && n > 4) {
		/* an EHLO keyword (RFC 5321 4.1.1.1): up to a space or the end */
		size_t k = 4;
		while (k < n && h[k] != ' ')
			k++;
		if (orc_is(h + 4, k - 4, "PIPELINING"))
			r->caps |= ORC_F_PIPE;
		if (orc_is(h + 4, k - 4, "CHUNKING"))
			r->caps |= ORC_F_CHUNK;
	}
	if (n == 3 || h[3] == ' ') {
		orc_push(r->t, ORC_REPLY, 0, r->caps, -1, -1, code, 0);
		r->code = r->lines = r->caps = 0;
	}
}

/* The client was given these octets. */
static inline void orc_replies_feed(struct orc_replies *r, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !r->dead; i++) {
		char b = p[i];
		if (r->cr) {
			r->cr = 0;
			if (b != '\n') {
				orc_replies_bad(r);
				return;
			}
			orc_reply_line(r);
			continue;
		}
		if (b == '\r')
			r->cr = 1;
		else if (b == '\n')
			orc_replies_bad(r);
		else if (b != '\0' && r->hlen < sizeof r->head)
			r->head[r->hlen++] = b;
	}
}

#endif

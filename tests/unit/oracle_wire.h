/* Bytes into the oracle's transcript. orc_client reads what the client wrote, as a
   server would: command lines, DATA content up to CRLF.CRLF (un-stuffed, RFC 5321
   4.5.2), "BDAT n" and its n octets (RFC 3030 2), and checks the content against
   the message's. orc_replies splits what the client was given into replies: a line
   ends only at CRLF, a bare LF or CR is a protocol error there, NUL octets in the
   text are dropped, codes 200..559, one code per reply (RFC 5321 4.2); an EHLO reply's
   PIPELINING, CHUNKING, STARTTLS, AUTH and LIMITS. Addresses follow the
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

static inline unsigned orc_content_flags(const struct orc_client *c)
{
	int ok = !c->bad && c->msg >= 0 && c->off == c->content_len[c->msg];
	return ok ? 0 : ORC_F_BADDATA;
}

/* "AUTH PLAIN [initial-response]" (RFC 4954 4): the mechanism and whether an
   initial response follows it. */
static inline unsigned orc_auth_flags(const char *line, size_t len)
{
	const char *p = line + 5, *end = line + len;
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	size_t n = (size_t)((sp ? sp : end) - p);
	unsigned f = orc_is(p, n, "PLAIN") ? ORC_F_PLAIN : orc_is(p, n, "LOGIN") ? ORC_F_LOGIN : 0;
	return f | (sp && sp + 1 < end ? ORC_F_IR : 0);
}

static inline void orc_command(struct orc_client *c, int cmd)
{
	const char *line = c->line;
	size_t len = c->len;
	int msg = -1, rcpt = -1;
	unsigned flags = 0;
	if (c->overlong)
		cmd = ORC_OTHER;
	switch (cmd) {
	case ORC_AUTH:
		flags = orc_auth_flags(line, len);
		break;
	case ORC_OTHER:
		if (orc_is(line, len, "*"))
			flags = ORC_F_CANCEL;
		break;
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
	orc_push(c->t, ORC_CMD, cmd, flags, msg, rcpt, 0, 0);
	c->begun = 0;
}

static inline void orc_bdat_done(struct orc_client *c)
{
	unsigned flags = c->last ? ORC_F_LAST | orc_content_flags(c) : 0;
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
	char head[64];                /* the current line's first octets */
	size_t hlen;
	int code, lines;
	int replies, after220;        /* replies so far; the last was a later 220 */
	int cut;                      /* the line is longer than head */
	int nul;                      /* a NUL was dropped from the line */
	char code_text[3];            /* the code of the reply's first line */
	unsigned caps;
	unsigned long limits;         /* LIMITS RCPTMAX | MAILMAX << 16 */
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

/* Whether the first n (up to 4) octets of a reply line can start one: a code
   200..559, then a space or a hyphen (RFC 5321 4.2). A client sees a break there
   as soon as the octet arrives. */
static inline int orc_reply_start_ok(const char *h, size_t n)
{
	static const char lo[] = "200", hi[] = "559";
	for (size_t i = 0; i < n && i < 3; i++)
		if (h[i] < lo[i] || h[i] > hi[i])
			return 0;
	return n < 4 || h[3] == ' ' || h[3] == '-';
}

/* "RCPTMAX=3" (RFC 9422 3): the limit's value when the word names it, 0 when it
   names another, -1 when its value is malformed (how a client reads that is not
   said). */
static inline long orc_limit(const char *w, size_t n, const char *name)
{
	size_t k = strlen(name);
	unsigned long v;
	const char *p = w + k + 1;
	if (n < k || !orc_prefix(w, n, name) || (n > k && w[k] != '='))
		return 0;
	if (n <= k + 1 || !orc_number(&p, w + n, &v) || p != w + n || v == 0)
		return -1;
	return v < ORC_LIMIT_MAX ? (long)v : (long)ORC_LIMIT_MAX;
}

/* One EHLO keyword line (RFC 5321 4.1.1.1): the keyword up to a space, then its
   parameters, each up to a space. */
static inline void orc_keyword(struct orc_replies *r, const char *h, size_t n)
{
	size_t k = 0;
	while (k < n && h[k] != ' ')
		k++;
	/* RFC 5321 4.1.1.1: no control octets (a NUL dropped included), no 8-bit
	   ones, no empty keyword; a client may read a line with them that names an
	   extension either way (a tab as a space or not) */
	int odd = r->nul || k == 0;
	for (size_t i = 0; i < n; i++)
		odd |= (unsigned char)h[i] < 0x20 || (unsigned char)h[i] >= 0x7f;
	static const char *const names[] = {"PIPELINING", "CHUNKING", "STARTTLS", "AUTH",
					    "LIMITS", "SIZE"};
	for (size_t i = 0; odd && i < sizeof names / sizeof names[0]; i++)
		for (size_t at = 0; at + strlen(names[i]) <= n; at++)
			if (orc_prefix(h + at, n - at, names[i]))
				r->caps |= ORC_F_CAPS_ODD;
	static const struct {
		const char *name;
		unsigned flag;
	} kw[] = {{"PIPELINING", ORC_F_PIPE}, {"CHUNKING", ORC_F_CHUNK},
		  {"STARTTLS", ORC_F_STARTTLS}, {"AUTH", ORC_F_AUTH}, {"LIMITS", 0},
		  {"SIZE", ORC_F_CAPS_ODD}};
	size_t which = 0, at = k;
	while (which < sizeof kw / sizeof kw[0] && !orc_is(h, k, kw[which].name))
		which++;
	if (which == sizeof kw / sizeof kw[0] && k >= 5 && orc_prefix(h, k, "AUTH=")) {
		which = 3; /* the old "AUTH=PLAIN LOGIN" some servers still send */
		at = 5;
	}
	if (which == sizeof kw / sizeof kw[0])
		return;
	if (kw[which].flag == ORC_F_CAPS_ODD) {
		/* no limit, or one far above any message of the oracle's */
		const char *p = h + k + 1;
		unsigned long v;
		if (k < n && !(orc_number(&p, h + n, &v) && p == h + n && v >= 65536))
			r->caps |= ORC_F_CAPS_ODD;
		return;
	}
	r->caps |= kw[which].flag;
	while (at < n) {
		while (at < n && h[at] == ' ')
			at++;
		size_t e = at;
		while (e < n && h[e] != ' ')
			e++;
		const char *w = h + at;
		if (kw[which].flag == ORC_F_AUTH) {
			r->caps |= orc_is(w, e - at, "PLAIN")   ? ORC_F_PLAIN
				   : orc_is(w, e - at, "LOGIN") ? ORC_F_LOGIN
				   : e > at                     ? ORC_F_AUTHOTHER : 0;
		} else if (!kw[which].flag) {
			long v = orc_limit(w, e - at, "RCPTMAX");
			if (v < 0 || (v && (r->limits & ORC_LIMIT_MAX)))
				r->caps |= ORC_F_CAPS_ODD;
			else
				r->limits |= (unsigned long)v;
			v = orc_limit(w, e - at, "MAILMAX");
			if (v < 0 || (v && (r->limits >> 16)))
				r->caps |= ORC_F_CAPS_ODD;
			else
				r->limits |= (unsigned long)v << 16;
		}
		at = e;
	}
}

static inline void orc_reply_line(struct orc_replies *r)
{
	const char *h = r->head;
	size_t n = r->hlen;
	r->hlen = 0;
	if (n < 3 || !orc_reply_start_ok(h, n < 4 ? n : 4)) {
		orc_replies_bad(r);
		return;
	}
	int code = (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0');
	memcpy(r->code_text, h, 3);
	if (r->lines > 0 && code != r->code) {
		orc_replies_bad(r);
		return;
	}
	r->code = code;
	if (r->lines++ > 0 && n > 4)
		orc_keyword(r, h + 4, n - 4);
	if (r->cut && r->lines > 1)
		r->caps |= ORC_F_CAPS_ODD;
	r->cut = r->nul = 0;
	if (n == 3 || h[3] == ' ') {
		orc_push(r->t, ORC_REPLY, 0, r->caps, -1, -1, code, r->limits);
		r->after220 = code == 220 && r->replies++ > 0;
		r->code = r->lines = 0;
		r->caps = 0;
		r->limits = 0;
	}
}

/* The client was given these octets. */
static inline void orc_replies_feed(struct orc_replies *r, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !r->dead; i++) {
		char b = p[i];
		if (r->after220) {
			orc_push(r->t, ORC_INJECT, 0, 0, -1, -1, 0, 0);
			r->after220 = 0;
		}
		if (r->cr) {
			r->cr = 0;
			if (b != '\n') {
				orc_replies_bad(r);
				return;
			}
			orc_reply_line(r);
			continue;
		}
		if (b == '\r' && r->hlen >= 3) {
			r->cr = 1;
		} else if (b == '\r' || b == '\n' || (b == '\0' && r->hlen < 4)) {
			/* a line ends after its code at the earliest; a NUL is dropped
			   from the text, not from the code */
			orc_replies_bad(r);
		} else if (b == '\0') {
			r->nul = 1;
		} else if (r->hlen == sizeof r->head) {
			r->cut = 1;
		} else {
			r->head[r->hlen++] = b;
			if (r->hlen <= 4 && !orc_reply_start_ok(r->head, r->hlen)) {
				orc_replies_bad(r);
				return;
			}
			/* RFC 5321 4.2.1: every line of a reply has the same code */
			if (r->hlen == 3 && r->lines > 0 &&
			    memcmp(r->head, r->code_text, 3) != 0) {
				orc_replies_bad(r);
				return;
			}
		}
	}
}

#endif

/* The oracle's server model: answers every command the client wrote (as
   orc_client parsed it) with a reply drawn from a seeded generator: mostly 2xx, so
   that sessions get deep, else 4xx, 5xx, 421 or (for DATA and the end of data) a
   code the command does not allow; and at most one fault per scenario at a chosen
   reply: a drop (EOF, maybe inside the reply), a stall, an unsolicited extra reply
   after the reply, or a reply with a bare LF or CR. After a fault the server sends
   nothing more. LMTP: one final reply per RCPT it accepted (RFC 2033 4.2), one
   when it accepted none. */
#ifndef ORACLE_SERVER_H
#define ORACLE_SERVER_H

#include <stdint.h>

#include "oracle.h"

struct orc_rng {
	uint64_t s;
};

/* splitmix64 */
static inline uint64_t orc_next(struct orc_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static inline size_t orc_below(struct orc_rng *r, size_t n)
{
	return (size_t)(orc_next(r) % n);
}

static inline int orc_chance(struct orc_rng *r, unsigned per_mille)
{
	return orc_below(r, 1000) < per_mille;
}

enum osrv_fault { OSRV_NONE, OSRV_DROP, OSRV_STALL, OSRV_EXTRA, OSRV_BARELF };

/* what a reply answers */
enum osrv_kind {
	OSRV_GREETING, OSRV_EHLO, OSRV_HELO, OSRV_MAIL, OSRV_RCPT, OSRV_DATA, OSRV_END,
	OSRV_CHUNK, OSRV_RSET, OSRV_QUIT, OSRV_OTHER
};

struct osrv {
	struct orc_rng *rng;
	int lmtp, pipelining, chunking, enhanced;
	unsigned p_temp, p_perm, p_421, p_wrong, p_conn; /* per mille */
	int fault;
	size_t fault_at;          /* the index of the reply it hits (the greeting is 0) */
	size_t replies;
	int faulted;              /* the fault happened */
	int silent;               /* no more replies */
	int eof;                  /* the server closes once the pipe is drained */
	int mail_ok;              /* LMTP: its view of the transaction */
	size_t rcpt_ok;
	int greeting_code;
	unsigned long queued;
	char pipe[1 << 16];       /* replies not yet given to the client */
	size_t len, off;
};

static inline void osrv_put(struct osrv *s, const char *p, size_t n)
{
	if (s->off == s->len)
		s->off = s->len = 0;
	if (s->len + n > sizeof s->pipe)
		n = sizeof s->pipe - s->len;
	memcpy(s->pipe + s->len, p, n);
	s->len += n;
}

/* One reply line; the enhanced code (RFC 3463) when the server offers them; now and
   then a NUL octet in the text (the client drops it). */
static inline void osrv_line(struct osrv *s, int code, char sep, const char *text)
{
	char buf[300], enh[16] = "";
	if (s->enhanced && code != 220 && code != 354)
		snprintf(enh, sizeof enh, "%d.%d.%d ", code / 100, (int)orc_below(s->rng, 8),
			 (int)orc_below(s->rng, 10));
	int n = snprintf(buf, sizeof buf - 1, "%d%c%s%s\r\n", code, sep, enh, text);
	if (n < 7)
		return;
	size_t len = (size_t)n;
	if (orc_chance(s->rng, 20)) {
		memmove(buf + 6, buf + 5, len - 5);
		buf[5] = '\0';
		len++;
	}
	osrv_put(s, buf, len);
}

static inline void osrv_reply(struct osrv *s, int code, const char *text)
{
	if (orc_chance(s->rng, 100))
		osrv_line(s, code, '-', "first of two lines");
	osrv_line(s, code, ' ', text);
}

static inline void osrv_ehlo_ok(struct osrv *s)
{
	const char *caps[5];
	size_t n = 0;
	if (s->pipelining)
		caps[n++] = "PIPELINING";
	if (s->chunking)
		caps[n++] = "CHUNKING";
	caps[n++] = "8BITMIME";
	if (s->enhanced)
		caps[n++] = "ENHANCEDSTATUSCODES";
	osrv_put(s, "250-mx.test\r\n", 13);
	for (size_t i = 0; i < n; i++) {
		char line[64];
		int k = snprintf(line, sizeof line, "250%c%s\r\n", i + 1 < n ? '-' : ' ', caps[i]);
		osrv_put(s, line, (size_t)k);
	}
}

static inline int osrv_pick(struct osrv *s, const int *codes, size_t n)
{
	return codes[orc_below(s->rng, n)];
}

/* The code of the next reply to a command of this kind. */
static inline int osrv_code(struct osrv *s, int kind)
{
	static const int temp[] = {450, 451, 452}, perm[] = {550, 552, 553, 554};
	static const int helo_no[] = {500, 501, 502, 550}, bad_data[] = {250, 334};
	size_t r = orc_below(s->rng, 1000);
	unsigned c = s->p_conn;
	switch (kind) {
	case OSRV_GREETING:
		return r < c / 3 ? 421 : r < 2 * c / 3 ? 451 : r < c ? 554 : 220;
	case OSRV_EHLO:
		return r < c / 2 ? osrv_pick(s, helo_no, 4) : r < 2 * c / 3 ? 451
		       : r < 5 * c / 6 ? 554 : r < c ? 421 : 250;
	case OSRV_HELO:
		return r < c / 6 ? 451 : r < c / 3 ? 554 : r < c / 2 ? 421 : 250;
	case OSRV_QUIT:
		return 221;
	case OSRV_OTHER:
		return 502;
	case OSRV_RSET:
		return r < 10 ? 421 : r < 20 ? 451 : r < 25 ? 554 : 250;
	default:
		break;
	}
	if (r < s->p_421)
		return 421;
	if ((r -= s->p_421) < s->p_temp)
		return osrv_pick(s, temp, 3);
	if ((r -= s->p_temp) < s->p_perm)
		return osrv_pick(s, perm, 4);
	if ((r -= s->p_perm) < s->p_wrong && kind == OSRV_DATA)
		return osrv_pick(s, bad_data, 2);
	if (r < s->p_wrong && (kind == OSRV_END || kind == OSRV_CHUNK))
		return 354;
	return kind == OSRV_DATA ? 354 : kind == OSRV_RCPT && orc_chance(s->rng, 100) ? 251 : 250;
}

static inline void osrv_normal(struct osrv *s, int kind, int code)
{
	char text[64];
	if (kind == OSRV_EHLO && code == 250) {
		osrv_ehlo_ok(s);
		return;
	}
	if (kind == OSRV_END && code == 250)
		snprintf(text, sizeof text, "Ok: queued as Q%lu", ++s->queued);
	else
		snprintf(text, sizeof text, "%s",
			 code == 220 ? "mx.test ESMTP" : code == 354 ? "go ahead"
			 : code == 421 ? "mx.test closing" : code < 300 ? "Ok" : "no");
	osrv_reply(s, code, text);
}

/* A reply that breaks the syntax: a bare LF inside it (defect 10's smuggled line),
   inside its last line, or a bare CR. */
static inline void osrv_barelf(struct osrv *s, int code)
{
	char buf[96];
	int n;
	switch (orc_below(s->rng, 3)) {
	case 0:
		n = snprintf(buf, sizeof buf, "%d Ok\n550 smuggled\r\n", code);
		break;
	case 1:
		n = snprintf(buf, sizeof buf, "%d-Ok\r\n%d more\nof it\r\n", code, code);
		break;
	default:
		n = snprintf(buf, sizeof buf, "%d Ok\rmore\r\n", code);
		break;
	}
	osrv_put(s, buf, (size_t)n);
}

/* Answers one reply of this kind; returns its code, or 0 when none was sent. */
static inline int osrv_answer(struct osrv *s, int kind)
{
	static const int extra[] = {250, 421, 451, 550};
	size_t idx = s->replies++;
	if (s->silent)
		return 0;
	int code = osrv_code(s, kind);
	if (s->fault != OSRV_NONE && idx == s->fault_at) {
		s->faulted = s->silent = 1;
		size_t before = s->len - s->off;
		switch (s->fault) {
		case OSRV_DROP:
			osrv_normal(s, kind, code);
			/* cut inside the reply, or before it */
			s->len = s->off + before + orc_below(s->rng, s->len - s->off - before);
			s->eof = 1;
			return 0;
		case OSRV_STALL:
			return 0;
		case OSRV_BARELF:
			osrv_barelf(s, code);
			return 0;
		default:
			osrv_normal(s, kind, code);
			osrv_reply(s, osrv_pick(s, extra, 4), "unsolicited");
			return code;
		}
	}
	osrv_normal(s, kind, code);
	if (code == 421)
		s->eof = s->silent = 1; /* RFC 5321 3.8: the server closes after 421 */
	return code;
}

static inline void osrv_start(struct osrv *s)
{
	s->greeting_code = osrv_answer(s, OSRV_GREETING);
}

/* The final replies to an end of data. */
static inline void osrv_end(struct osrv *s)
{
	size_t n = s->lmtp && s->mail_ok && s->rcpt_ok > 0 ? s->rcpt_ok : 1;
	for (size_t i = 0; i < n; i++)
		osrv_answer(s, OSRV_END);
	s->mail_ok = 0;
	s->rcpt_ok = 0;
}

/* The server read this command completely. */
static inline void osrv_command(struct osrv *s, const struct orc_event *ev)
{
	int code;
	switch (ev->cmd) {
	case ORC_EHLO:
	case ORC_LHLO:
		osrv_answer(s, OSRV_EHLO);
		return;
	case ORC_HELO:
		osrv_answer(s, OSRV_HELO);
		return;
	case ORC_MAIL:
		code = osrv_answer(s, OSRV_MAIL);
		s->mail_ok = code >= 200 && code < 300;
		s->rcpt_ok = 0;
		return;
	case ORC_RCPT:
		code = osrv_answer(s, OSRV_RCPT);
		if (code >= 200 && code < 300 && s->mail_ok)
			s->rcpt_ok++;
		return;
	case ORC_DATA:
		osrv_answer(s, OSRV_DATA);
		return;
	case ORC_DOT:
		osrv_end(s);
		return;
	case ORC_BDAT:
		if (ev->flags & ORC_F_LAST)
			osrv_end(s);
		else
			osrv_answer(s, OSRV_CHUNK);
		return;
	case ORC_RSET:
		osrv_answer(s, OSRV_RSET);
		s->mail_ok = 0;
		s->rcpt_ok = 0;
		return;
	case ORC_QUIT:
		if (osrv_answer(s, OSRV_QUIT))
			s->eof = 1;
		return;
	default:
		osrv_answer(s, OSRV_OTHER);
		return;
	}
}

#endif

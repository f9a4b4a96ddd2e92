/* The oracle's server model: answers every command the client wrote (as
   orc_client parsed it) with a reply drawn from a seeded generator: mostly 2xx, so
   that sessions get deep, else 4xx, 5xx, 421 or (for DATA and the end of data) a
   code the command does not allow; and at most one fault per scenario at a chosen
   reply: a drop (EOF, maybe inside the reply), a stall, an unsolicited extra reply
   after the reply, or a reply with a bare LF or CR. After a fault the server sends
   nothing more on that connection. LMTP: one final reply per RCPT it accepted
   (RFC 2033 4.2), one when it accepted none. It may offer STARTTLS (RFC 3207), AUTH
   PLAIN and LOGIN (RFC 4954; its SASL exchange: 334 challenges, then 235 or a
   refusal; "*" gets 501) and LIMITS RCPTMAX/MAILMAX (RFC 9422: a RCPT beyond
   RCPTMAX gets 452, a MAIL beyond MAILMAX 451), and answers STARTTLS, AUTH, the
   greeting, EHLO, MAIL and RCPT now and then with a code they cannot have. */
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
	OSRV_CHUNK, OSRV_RSET, OSRV_QUIT, OSRV_OTHER, OSRV_STARTTLS,
	OSRV_CHALLENGE,           /* a SASL step that is due a 334 */
	OSRV_AUTH,                /* the end of a SASL exchange */
	OSRV_CANCEL               /* the client's "*" */
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
	unsigned rcptmax, mailmax; /* LIMITS offered, 0: not */
	int starttls;             /* STARTTLS offered (before TLS) */
	int tls;                  /* this connection runs TLS */
	const char *auth;         /* the AUTH mechanisms offered, or NULL */
	int auth_plain;           /* ... also before TLS */
	unsigned mails, rcpts;    /* MAILs on this connection; RCPTs since the MAIL */
	int sasl;                 /* in a SASL exchange: the client's next line answers */
	int sasl_left;            /* 334 challenges still due */
	int sasl_mech;            /* ORC_F_PLAIN or ORC_F_LOGIN */
	int force;                /* the next reply's code, or 0 */
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
	if (s->enhanced && code != 220 && code != 354 && code != 334)
		snprintf(enh, sizeof enh, "%d.%d.%d ", code / 100, (int)orc_below(s->rng, 8),
			 (int)orc_below(s->rng, 10));
	int n = snprintf(buf, sizeof buf - 1, "%d%c%s%s\r\n", code, sep, enh, text);
	if (n < 6)
		return;
	size_t len = (size_t)n;
	if (n > 7 && code != 334 && orc_chance(s->rng, 20)) {
		memmove(buf + 6, buf + 5, len - 5);
		buf[5] = '\0';
		len++;
	}
	osrv_put(s, buf, len);
}

static inline void osrv_reply(struct osrv *s, int code, const char *text)
{
	if (code != 334 && orc_chance(s->rng, 100))
		osrv_line(s, code, '-', "first of two lines");
	osrv_line(s, code, ' ', text);
}

static inline void osrv_ehlo_ok(struct osrv *s)
{
	const char *caps[8];
	char auth[64], limits[48];
	size_t n = 0;
	if (s->pipelining)
		caps[n++] = "PIPELINING";
	if (s->chunking)
		caps[n++] = "CHUNKING";
	caps[n++] = "8BITMIME";
	if (s->enhanced)
		caps[n++] = "ENHANCEDSTATUSCODES";
	if (s->starttls && !s->tls)
		caps[n++] = "STARTTLS";
	if (s->auth && (s->tls || s->auth_plain)) {
		snprintf(auth, sizeof auth, "AUTH %s", s->auth);
		caps[n++] = auth;
	}
	if (s->rcptmax || s->mailmax) {
		int k = snprintf(limits, sizeof limits, "LIMITS");
		if (s->rcptmax)
			k += snprintf(limits + k, sizeof limits - (size_t)k, " RCPTMAX=%u", s->rcptmax);
		if (s->mailmax)
			snprintf(limits + k, sizeof limits - (size_t)k, " MAILMAX=%u", s->mailmax);
		caps[n++] = limits;
	}
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
	static const int bad_greeting[] = {250, 221, 334}, tls_no[] = {454, 501, 554};
	static const int auth_no[] = {535, 454, 534, 538, 501};
	size_t r = orc_below(s->rng, 1000);
	unsigned c = s->p_conn, w = s->p_wrong;
	if (s->force) {
		int code = s->force;
		s->force = 0;
		return code;
	}
	switch (kind) {
	case OSRV_GREETING:
		return r < c / 3 ? 421 : r < 2 * c / 3 ? 451 : r < c ? 554
		       : r < c + w ? osrv_pick(s, bad_greeting, 3) : 220;
	case OSRV_EHLO:
		return r < c / 2 ? osrv_pick(s, helo_no, 4) : r < 2 * c / 3 ? 451
		       : r < 5 * c / 6 ? 554 : r < c ? 421 : r < c + w / 2 ? 334 : 250;
	case OSRV_STARTTLS:
		return r < c / 2 ? osrv_pick(s, tls_no, 3) : r < c ? 421
		       : r < c + w ? osrv_pick(s, bad_greeting, 3) : 220;
	case OSRV_CHALLENGE:
		return r < c / 3 ? 535 : r < c / 2 ? 421 : 334;
	case OSRV_AUTH:
		return r < 2 * c / 3 ? osrv_pick(s, auth_no, 5) : r < c ? 421
		       : r < c + w + 40 ? 334 : 235;
	case OSRV_CANCEL:
		return r < w * 10 ? 235 : 501;
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
	if (r < s->p_wrong / 4 && (kind == OSRV_MAIL || kind == OSRV_RCPT))
		return 334;
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
	else if (code == 334)
		/* RFC 4954 4: the challenge in base64: none for PLAIN, LOGIN's prompts */
		snprintf(text, sizeof text, "%s", s->sasl_mech != ORC_F_LOGIN ? ""
			 : s->sasl_left > 1 ? "VXNlcm5hbWU6" : "UGFzc3dvcmQ6");
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

/* A new connection (the first, or the session's next): the greeting. */
static inline void osrv_connect(struct osrv *s, int tls)
{
	s->silent = s->eof = 0;
	s->len = s->off = 0;
	s->tls = tls;
	s->mails = s->rcpts = 0;
	s->mail_ok = 0;
	s->rcpt_ok = 0;
	s->sasl = s->force = 0;
	s->greeting_code = osrv_answer(s, OSRV_GREETING);
}

/* STARTTLS's handshake finished: RFC 3207 4.2, the server forgets the dialogue. */
static inline void osrv_tls(struct osrv *s)
{
	s->tls = 1;
	s->mail_ok = 0;
	s->rcpt_ok = 0;
}

/* The SASL exchange (RFC 4954 4): a challenge while one is due, then the verdict;
   "*" cancels. */
static inline void osrv_sasl(struct osrv *s, const struct orc_event *ev)
{
	int code;
	if (ev->flags & ORC_F_CANCEL) {
		s->sasl = 0;
		osrv_answer(s, OSRV_CANCEL);
		return;
	}
	if (s->sasl_left > 0) {
		code = osrv_answer(s, OSRV_CHALLENGE);
		s->sasl = code == 334;
		s->sasl_left -= s->sasl;
		return;
	}
	code = osrv_answer(s, OSRV_AUTH);
	s->sasl = code == 334; /* a challenge nothing answers */
}

static inline void osrv_auth(struct osrv *s, const struct orc_event *ev)
{
	unsigned mech = ev->flags & (ORC_F_PLAIN | ORC_F_LOGIN);
	int offered = s->auth && (s->tls || s->auth_plain) &&
		      strstr(s->auth, mech == ORC_F_PLAIN ? "PLAIN" : "LOGIN");
	if (!mech || !offered) {
		s->force = 504;
		osrv_answer(s, OSRV_AUTH);
		return;
	}
	s->sasl_mech = (int)mech;
	s->sasl_left = (mech == ORC_F_PLAIN ? 1 : 2) - ((ev->flags & ORC_F_IR) ? 1 : 0);
	osrv_sasl(s, ev);
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
	/* the commands answered by one reply of their kind and nothing else */
	static const struct {
		int cmd, kind;
	} plain[] = {{ORC_EHLO, OSRV_EHLO}, {ORC_LHLO, OSRV_EHLO}, {ORC_HELO, OSRV_HELO},
		     {ORC_STARTTLS, OSRV_STARTTLS}, {ORC_DATA, OSRV_DATA}};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (ev->cmd == plain[i].cmd) {
			osrv_answer(s, plain[i].kind);
			return;
		}
	int code;
	switch (ev->cmd) {
	case ORC_AUTH:
		osrv_auth(s, ev);
		return;
	case ORC_MAIL:
		/* RFC 9422 4.1: MAILMAX counts every MAIL of the session */
		if (s->mailmax && ++s->mails > s->mailmax)
			s->force = 451;
		code = osrv_answer(s, OSRV_MAIL);
		s->mail_ok = code >= 200 && code < 300;
		s->rcpt_ok = 0;
		s->rcpts = 0;
		return;
	case ORC_RCPT:
		/* RFC 9422 4.2, RFC 5321 4.5.3.1.10: too many recipients */
		if (s->rcptmax && ++s->rcpts > s->rcptmax)
			s->force = 452;
		code = osrv_answer(s, OSRV_RCPT);
		if (code >= 200 && code < 300 && s->mail_ok)
			s->rcpt_ok++;
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
		if (s->sasl)
			osrv_sasl(s, ev);
		else
			osrv_answer(s, OSRV_OTHER);
		return;
	}
}

#endif

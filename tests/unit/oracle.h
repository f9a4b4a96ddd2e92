/* The engine oracle: a pure function that walks the transcript of one connection
   (what the client completely wrote and what it was given, in order) and computes
   what the reports must say and which of the client's writes broke a rule. It is
   written from the oracle's rules (doc/report-schema.md "Verdicts", RFC 5321,
   RFC 2920, RFC 3030, RFC 2033, RFC 3207, RFC 4954, RFC 9422 and the project's
   clarifications), never from lib/engine, so that the two can disagree. oracle_wire.h turns bytes into the transcript;
   oracle_glue.h runs it beside the engine. */
#ifndef ORACLE_H
#define ORACLE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "smtp.h"

#define ORC_MAX_MSGS 5
#define ORC_MAX_RCPTS 5
#define ORC_MAX_EVENTS 8192
#define ORC_MAX_TX 48
#define ORC_MAX_SNAPS 1024

enum orc_kind {
	ORC_SUBMIT,     /* msg was submitted */
	ORC_QUEUED,     /* the engine had handed out n octets to write so far */
	ORC_BEGIN,      /* the first octet of the next command or content (at offset n
			   of the client's stream) was written */
	ORC_CMD,        /* a command was completely written (BDAT: with its chunk) */
	ORC_REPLY,      /* a complete (or a malformed) reply reached the client */
	ORC_DISPATCHED, /* the engine had dispatched n replies so far */
	ORC_TLS,        /* the TLS handshake after STARTTLS finished */
	ORC_EOF,        /* the server closed the connection */
	ORC_STALL,      /* the server stalled and the deadline passed */
	ORC_LOCAL,      /* the session ended the connection with local error `code`
			   (bytes before the TLS handshake, a failed handshake) */
	ORC_CONNECT,    /* a new connection begins (the session reconnects) */
	ORC_INJECT      /* octets after a 220 that was not the greeting: after
			   STARTTLS's, plain text before the handshake (RFC 3207 5) */
};

enum orc_cmd {
	ORC_GREETING, ORC_EHLO, ORC_HELO, ORC_LHLO, ORC_STARTTLS, ORC_AUTH, ORC_MAIL,
	ORC_RCPT, ORC_DATA, ORC_DOT, ORC_BDAT, ORC_RSET, ORC_QUIT, ORC_OTHER
};

/* event flags */
#define ORC_F_LAST 1    /* BDAT ... LAST */
#define ORC_F_LONE 2    /* the end of data carried no content */
#define ORC_F_BADDATA 4 /* the content differs from the message's */
#define ORC_F_BAD 8     /* a reply that breaks the syntax: a protocol error */
#define ORC_F_PIPE 16   /* the reply lists PIPELINING */
#define ORC_F_CHUNK 32  /* the reply lists CHUNKING */
#define ORC_F_STARTTLS 64 /* the reply lists STARTTLS */
#define ORC_F_AUTH 128  /* the reply lists AUTH */
#define ORC_F_PLAIN 256 /* ... with PLAIN; AUTH PLAIN (the command) */
#define ORC_F_LOGIN 512 /* ... with LOGIN; AUTH LOGIN */
#define ORC_F_IR 1024   /* AUTH with an initial response (RFC 4954 4) */
#define ORC_F_CANCEL 2048 /* the client's "*" (RFC 4954 4) */
#define ORC_F_AUTHOTHER 4096 /* the reply lists AUTH with another mechanism */
#define ORC_F_CAPS_ODD 8192 /* a keyword line the oracle cannot read for sure: a
			       parameter twice, longer than it looks at, or a SIZE
			       limit (RFC 1870) a message might exceed */

/* An EHLO reply's LIMITS (RFC 9422) in the event's n: RCPTMAX | MAILMAX << 16 */
#define ORC_LIMIT_MAX 0xffffu

#define ORC_STAGE_BIT(s) (1u << (s))

struct orc_event {
	unsigned char kind, cmd;
	unsigned short flags;
	signed char msg, rcpt;   /* MAIL, RCPT; SUBMIT */
	int code;                /* REPLY; LOCAL: the error */
	unsigned long n;         /* DISPATCHED: the count; QUEUED, BEGIN: octets;
				    an EHLO reply: its LIMITS */
};

struct orc_transcript {
	struct orc_event ev[ORC_MAX_EVENTS];
	size_t n;
	int overflow;
};

struct orc_setup {
	int lmtp;
	int strict;              /* the whole model applies (scenarios, not fuzz input) */
	size_t nmsgs;
	size_t nrcpts[ORC_MAX_MSGS];
	smtp_tls tls;            /* the session's TLS mode */
	int user;                /* credentials set: AUTH after EHLO (RFC 4954) */
	int mechs;               /* ORC_F_PLAIN | ORC_F_LOGIN: the caller's list; 0: any */
	int mech_first;          /* the caller's first choice, or 0 */
	int auth_optional;       /* go on without AUTH when the server offers none */
};

struct orc_rcpt {
	smtp_verdict verdict;
	smtp_stage stage;
	unsigned alt;            /* other stages the rules allow: bit 1 << stage */
	int code;
	int err;
};

struct orc_msg {
	struct orc_rcpt r[ORC_MAX_RCPTS];
	int maybe_delivered;
	smtp_outcome outcome;
	int error;
	smtp_stage failed_stage;
	unsigned failed_alt;
};

/* How the oracle read one reply: what it answered, or an end. */
struct orc_match {
	int code, cmd, msg, rcpt;   /* cmd -1: no command awaited one; -2: malformed */
};

#define ORC_MAX_MATCH 256

struct orc_result {
	struct orc_msg m[ORC_MAX_MSGS];
	struct orc_match match[ORC_MAX_MATCH];
	size_t nmatch;
	int uncertain;           /* the transcript left the model: later events unchecked */
	int violations;
	char why[2048];          /* the first violations, one a line */
};

static inline void orc_push(struct orc_transcript *t, int kind, int cmd, unsigned flags, int msg,
			    int rcpt, int code, unsigned long n)
{
	if (t->n == ORC_MAX_EVENTS) {
		t->overflow = 1;
		return;
	}
	struct orc_event *e = &t->ev[t->n++];
	e->kind = (unsigned char)kind;
	e->cmd = (unsigned char)cmd;
	e->flags = (unsigned short)flags;
	e->msg = (signed char)msg;
	e->rcpt = (signed char)rcpt;
	e->code = code;
	e->n = n;
}

/* ---- the walker's state ---- */

/* GREETING .. AUTH: the reply or command the connection phase needs next;
   STARTTLS: STARTTLS is due or awaited; AUTH: AUTH is due or under way. */
enum orc_phase {
	ORC_PH_GREETING, ORC_PH_EHLO, ORC_PH_HELO, ORC_PH_STARTTLS, ORC_PH_AUTH, ORC_PH_READY,
	ORC_PH_DEAD
};

/* One transaction: from a MAIL to its end (RFC 5321 3.3). It carries the part of
   its message's recipients from lo up to hi: all of them, or RCPTMAX of them
   (RFC 9422 4.2: the recipients beyond go in further transactions). */
struct orc_tx {
	int msg;
	size_t lo, hi;
	int conn;                           /* the connection it ran on */
	size_t nrcpt, answered;             /* RCPTs written, answered */
	int rcpt[ORC_MAX_RCPTS];
	size_t nprov;                       /* provisionally accepted, in RCPT order */
	int prov[ORC_MAX_RCPTS];
	int mail_answered, mail_refused;
	int data_written, data_code, data_refused;
	int bdat, chunk_refused;
	size_t chunks;                      /* BDAT chunks written */
	int end_written, lone, end_2xx;
	size_t finals;                      /* final replies received */
};

struct orc_owed {
	int cmd, tx, rcpt;
};

/* What the client knew when it had handed out `total` octets to write. A command
   or content is judged by what the client knew when it put the command out: by
   the last such moment before its first octet was out (early: for "after the
   transaction failed") or by the first moment it was (late: for "before the reply
   came"), so that a partial write never counts against it. */
struct orc_snap {
	unsigned long total;
	int phase, tls_wait, pipelining, gone, quit_written, all_decided;
	size_t owed;
	int first_owed, blocking;  /* commands awaiting replies, or -1 */
	int cur;                   /* the transaction of the last MAIL written, or -1 */
	int refused;               /* its MAIL, DATA or a BDAT chunk was refused */
	size_t answered, nprov;    /* its RCPTs answered, answered 2xx */
	int data354;               /* its DATA got 354 */
	int end_2xx;               /* its end of data got 2xx */
};

struct orc_state {
	const struct orc_setup *set;
	struct orc_result *res;
	size_t at;
	int phase, pipelining, chunking, tls_wait;
	int ended, closed, wrote_late;
	int quit_written;
	int conn;                  /* connections so far, this one included */
	int tls_active;            /* STARTTLS's handshake finished on this connection */
	int tls_refused;           /* opportunistic: STARTTLS refused, going on in plain text */
	unsigned caps;             /* ORC_F_* of the last EHLO reply */
	unsigned long rcptmax, mailmax; /* its LIMITS (RFC 9422), 0 when absent */
	size_t mails;              /* MAIL commands on this connection */
	int auth_mech;             /* ORC_F_PLAIN or ORC_F_LOGIN: the AUTH under way */
	int auth_due;              /* 334 challenges the mechanism still answers */
	int auth_answer;           /* a 334 awaits the client's response line */
	int auth_cancelled;        /* the client answered "*" */
	int submitted[ORC_MAX_MSGS];
	int order[ORC_MAX_MSGS];   /* the messages in the order submitted */
	size_t norder;
	struct orc_owed owed[ORC_MAX_EVENTS];
	size_t head, count;
	struct orc_tx tx[ORC_MAX_TX];
	size_t ntx;
	int cur;                 /* the transaction of the last MAIL, or -1 */
	int rset_since_mail;
	unsigned long matched;   /* replies matched to written commands */
	struct orc_snap snaps[ORC_MAX_SNAPS]; /* a ring, one per QUEUED event */
	size_t nsnaps, snap_first;             /* snap_first: this connection's first */
	struct orc_snap early, late;           /* of the command being written */
};

/* Appends one line (a printf format) to a bounded text; what does not fit is
   dropped. */
static inline __attribute__((format(printf, 3, 0))) void
orc_vline(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t used = strlen(buf);
	if (used + 2 >= cap)
		return;
	vsnprintf(buf + used, cap - used - 1, fmt, ap);
	used = strlen(buf);
	buf[used] = '\n';
	buf[used + 1] = '\0';
}

static inline __attribute__((format(printf, 3, 4))) void
orc_line(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	orc_vline(buf, cap, fmt, ap);
	va_end(ap);
}

static inline __attribute__((format(printf, 2, 3))) void
orc_violation(struct orc_state *st, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	st->res->violations++;
	orc_line(st->res->why, sizeof st->res->why, "  event %zu: %s", st->at, text);
}

static inline struct orc_rcpt *orc_rc(struct orc_state *st, int msg, int rcpt)
{
	if (msg < 0 || rcpt < 0 || (size_t)msg >= st->set->nmsgs ||
	    (size_t)rcpt >= st->set->nrcpts[msg])
		return NULL;
	return &st->res->m[msg].r[rcpt];
}

/* The first decision wins (doc/report-schema.md "Verdicts": decided once). */
static inline void orc_decide_alt(struct orc_state *st, int msg, int rcpt, smtp_verdict v,
				  smtp_stage stage, unsigned alt, int code, int err)
{
	struct orc_rcpt *r = orc_rc(st, msg, rcpt);
	if (!r || r->verdict != SMTP_VERDICT_PENDING)
		return;
	r->verdict = v;
	r->stage = stage;
	r->alt = alt;
	r->code = code;
	r->err = err;
}

static inline void orc_decide(struct orc_state *st, int msg, int rcpt, smtp_verdict v,
			      smtp_stage stage, int code, int err)
{
	orc_decide_alt(st, msg, rcpt, v, stage, 0, code, err);
}

static inline smtp_verdict orc_verdict_of(int code)
{
	return code < 300 ? SMTP_VERDICT_ACCEPTED
	       : code < 500 ? SMTP_VERDICT_DEFERRED : SMTP_VERDICT_BOUNCED;
}

/* 4xx/5xx: SMTP_EREJECTED; 421: the server closes, SMTP_ECLOSED. */
static inline int orc_err_of(int code)
{
	return code < 300 ? 0 : code == 421 ? SMTP_ECLOSED : SMTP_EREJECTED;
}

static inline void orc_decide_reply(struct orc_state *st, int msg, int rcpt, smtp_stage stage,
				    int code)
{
	orc_decide(st, msg, rcpt, orc_verdict_of(code), stage, code, orc_err_of(code));
}

/* Every undecided recipient of the transaction's part. */
static inline void orc_decide_tx(struct orc_state *st, const struct orc_tx *tx,
				 smtp_stage stage, int code)
{
	for (size_t i = tx->lo; i < tx->hi; i++)
		orc_decide_reply(st, tx->msg, (int)i, stage, code);
}

/* Every undecided recipient of every submitted message (the connection phase). */
static inline void orc_decide_all(struct orc_state *st, smtp_verdict v, smtp_stage stage,
				  int code, int err)
{
	for (size_t m = 0; m < st->set->nmsgs; m++)
		for (size_t i = 0; st->submitted[m] && i < st->set->nrcpts[m]; i++)
			orc_decide(st, (int)m, (int)i, v, stage, code, err);
}

static inline int orc_msg_decided(const struct orc_state *st, size_t m)
{
	for (size_t i = 0; i < st->set->nrcpts[m]; i++)
		if (st->res->m[m].r[i].verdict == SMTP_VERDICT_PENDING)
			return 0;
	return 1;
}

/* The first recipient of msg that no transaction carried yet. */
static inline size_t orc_next_lo(const struct orc_state *st, int msg)
{
	size_t lo = 0;
	for (size_t i = 0; i < st->ntx; i++)
		if (st->tx[i].msg == msg && st->tx[i].hi > lo)
			lo = st->tx[i].hi;
	return lo;
}

/* Whether msg has recipients waiting for a transaction of their own. */
static inline int orc_msg_waits(const struct orc_state *st, int msg)
{
	return orc_next_lo(st, msg) < st->set->nrcpts[msg] && !orc_msg_decided(st, (size_t)msg);
}

/* The transaction that carries recipient rcpt of msg, or NULL. */
static inline const struct orc_tx *orc_tx_of(const struct orc_state *st, int msg, size_t rcpt)
{
	for (size_t i = st->ntx; i-- > 0;)
		if (st->tx[i].msg == msg && st->tx[i].lo <= rcpt && rcpt < st->tx[i].hi)
			return &st->tx[i];
	return NULL;
}

/* Whether an RSET written for msg is unanswered: the RSET before its MAIL, or,
   before any MAIL followed it, the first submitted message with recipients waiting
   for a transaction. *any: whether any RSET is unanswered. */
static inline int orc_rset_waits(const struct orc_state *st, int msg, int *any)
{
	*any = 0;
	for (size_t i = 0; i < st->count; i++) {
		const struct orc_owed *o = &st->owed[st->head + i];
		if (o->cmd != ORC_RSET)
			continue;
		*any = 1;
		if ((size_t)o->tx < st->ntx) {
			if (st->tx[o->tx].msg == msg)
				return 1;
			continue;
		}
		for (size_t k = 0; k < st->norder; k++)
			if (orc_msg_waits(st, st->order[k]))
				return st->order[k] == msg;
	}
	return 0;
}

/* The stage of the next reply transaction tx (on this connection, its MAIL
   answered) needs. */
static inline smtp_stage orc_tx_stage(const struct orc_state *st, const struct orc_tx *tx)
{
	if (tx->answered < tx->hi - tx->lo)
		return SMTP_STAGE_RCPT;
	if (tx->bdat || tx->data_code == 354 || (st->chunking && !tx->data_written))
		return SMTP_STAGE_BODY;
	return SMTP_STAGE_DATA;
}

/* The stage recipient rcpt of msg waits in when the connection ends under it: the
   stage of the next reply it needs, judged by the replies received, not by what
   happens to be in the output. *alt (ORC_STAGE_BIT) takes what the rules leave
   open: whether a recipient whose transaction has not begun, or one behind an
   unanswered RSET, waits in rset or in mail; whether recipients beyond RCPTMAX
   wait in mail or with their message's transaction under way; whether bytes
   injected before the TLS handshake end it at starttls or at tls. */
static inline smtp_stage orc_waiting_stage(const struct orc_state *st, int msg, size_t rcpt,
					   unsigned *alt)
{
	*alt = 0;
	switch (st->phase) {
	case ORC_PH_GREETING:
		return SMTP_STAGE_GREETING;
	case ORC_PH_STARTTLS:
		if (st->tls_wait)
			*alt = ORC_STAGE_BIT(SMTP_STAGE_TLS);
		return SMTP_STAGE_STARTTLS;
	case ORC_PH_AUTH:
		return SMTP_STAGE_AUTH;
	case ORC_PH_READY:
		break;
	default:
		return SMTP_STAGE_EHLO;
	}
	const struct orc_tx *tx = orc_tx_of(st, msg, rcpt);
	if (tx && tx->conn != st->conn)
		tx = NULL; /* carried on an earlier connection: not under this one */
	if (tx && tx->mail_answered)
		return orc_tx_stage(st, tx);
	int any, mine = orc_rset_waits(st, msg, &any);
	if (any || !tx)
		*alt = ORC_STAGE_BIT(mine ? SMTP_STAGE_MAIL : SMTP_STAGE_RSET);
	for (size_t i = st->ntx; !tx && i-- > 0;) {
		const struct orc_tx *under = &st->tx[i];
		if (under->msg == msg && under->conn == st->conn) {
			if (under->mail_answered && !orc_msg_decided(st, (size_t)msg))
				*alt |= ORC_STAGE_BIT(orc_tx_stage(st, under));
			break;
		}
	}
	return mine ? SMTP_STAGE_RSET : SMTP_STAGE_MAIL;
}

/* The final replies an end of data is owed: SMTP one, LMTP one per provisionally
   accepted recipient in RCPT order (RFC 2033 4.2), or one when there is none. */
static inline size_t orc_finals_owed(const struct orc_state *st, const struct orc_tx *tx)
{
	return st->set->lmtp && tx->nprov > 0 ? tx->nprov : 1;
}

/* The connection ends: every undecided recipient is deferred (code: a 421's, else
   0 for a local error). maybe_delivered (RFC 1047): the end of data with content
   was written, the transaction was not known to have failed (a refused MAIL or
   chunk, every RCPT refused: nothing is taken then, whatever the end of data is
   told), and not every final reply it is owed arrived well-formed (a 421 is one;
   a reply that broke the rules is not). */
static inline void orc_end(struct orc_state *st, int err, int code)
{
	if (st->ended)
		return;
	for (size_t i = 0; i < st->ntx; i++) {
		const struct orc_tx *tx = &st->tx[i];
		int failed = tx->mail_refused || tx->chunk_refused ||
			     (tx->nrcpt > 0 && tx->answered == tx->nrcpt && tx->nprov == 0);
		if (tx->conn == st->conn && tx->end_written && !tx->lone && !failed &&
		    tx->finals < orc_finals_owed(st, tx))
			st->res->m[tx->msg].maybe_delivered = 1;
	}
	smtp_stage stage[ORC_MAX_MSGS][ORC_MAX_RCPTS];
	unsigned alt[ORC_MAX_MSGS][ORC_MAX_RCPTS];
	for (size_t m = 0; m < st->set->nmsgs; m++)
		for (size_t i = 0; i < st->set->nrcpts[m]; i++)
			stage[m][i] = orc_waiting_stage(st, (int)m, i, &alt[m][i]);
	for (size_t m = 0; m < st->set->nmsgs; m++)
		for (size_t i = 0; st->submitted[m] && i < st->set->nrcpts[m]; i++)
			orc_decide_alt(st, (int)m, (int)i, SMTP_VERDICT_DEFERRED, stage[m][i],
				       alt[m][i], code, err);
	st->ended = 1;
}

/* Whether the client knew, at snapshot s, that transaction tx (whose RCPTs are
   all written now) had failed: a refusal, or every RCPT refused. */
static inline int orc_known_failed(const struct orc_snap *s, const struct orc_tx *tx)
{
	return s->refused || (tx->nrcpt > 0 && s->answered == tx->nrcpt && s->nprov == 0);
}

/* Commands nothing may follow before their reply (RFC 2920 3.1: EHLO, DATA, QUIT
   end a group; STARTTLS and AUTH exchanges are lock-step, and so is a SASL
   response, which goes as ORC_OTHER). */
static inline int orc_blocking(int cmd)
{
	return cmd != ORC_MAIL && cmd != ORC_RCPT && cmd != ORC_RSET && cmd != ORC_BDAT &&
	       cmd != ORC_DOT;
}

static inline const char *orc_cmd_name(int cmd)
{
	static const char *const names[] = {"greeting", "EHLO", "HELO", "LHLO", "STARTTLS",
					    "AUTH", "MAIL", "RCPT", "DATA", "end of data",
					    "BDAT", "RSET", "QUIT", "a command"};
	return cmd >= 0 && (size_t)cmd < sizeof names / sizeof names[0] ? names[cmd] : "?";
}

static inline void orc_owe(struct orc_state *st, int cmd, int tx, int rcpt)
{
	struct orc_owed *o = &st->owed[st->head + st->count++];
	o->cmd = cmd;
	o->tx = tx;
	o->rcpt = rcpt;
}

#include "oracle_walk.h"

#endif

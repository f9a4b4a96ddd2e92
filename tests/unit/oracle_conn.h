/* The oracle's walk over the connection phase (included by oracle_walk.h): the
   greeting, EHLO or HELO, STARTTLS and the TLS handshake (RFC 3207), AUTH PLAIN and
   LOGIN (RFC 4954), the LIMITS of the EHLO reply (RFC 9422), and the start of a new
   connection when the session reconnects. */
#ifndef ORACLE_CONN_H
#define ORACLE_CONN_H

/* A refusal before MAIL (doc/report-schema.md "Verdicts"): a 4xx defers every message, a 5xx
   fails it; the connection is of no further use. */
static inline void orc_refused(struct orc_state *st, smtp_stage stage, int code, int err)
{
	orc_decide_all(st, code < 500 ? SMTP_VERDICT_DEFERRED : SMTP_VERDICT_FAILED, stage, code,
		       err);
	st->phase = ORC_PH_DEAD;
}

/* A local decision before MAIL: no server verdict, every message fails. */
static inline void orc_local_fail(struct orc_state *st, smtp_stage stage, unsigned alt,
				  int err)
{
	for (size_t m = 0; m < st->set->nmsgs; m++)
		for (size_t i = 0; st->submitted[m] && i < st->set->nrcpts[m]; i++)
			orc_decide_alt(st, (int)m, (int)i, SMTP_VERDICT_FAILED, stage, alt, 0, err);
	st->phase = ORC_PH_DEAD;
}

/* The mechanisms the client may use: offered, known to the oracle, and on the
   caller's list (every known one without a list). */
static inline unsigned orc_usable_mechs(const struct orc_state *st)
{
	unsigned want = st->set->mechs ? (unsigned)st->set->mechs : ORC_F_PLAIN | ORC_F_LOGIN;
	return st->caps & want;
}

/* What follows a 2xx to EHLO or HELO: STARTTLS when the mode asks for it and the
   server offers it (RFC 3207 4; required and not offered: SMTP_ENOTLS, no silent
   fallback to plain text), then AUTH when credentials are set
   (RFC 4954 4; none usable: SMTP_ENOMECH unless AUTH is optional and not offered),
   else transactions. */
static inline void orc_after_hello(struct orc_state *st)
{
	const struct orc_setup *set = st->set;
	if (!st->tls_active && !st->tls_refused &&
	    (set->tls == SMTP_TLS_STARTTLS || set->tls == SMTP_TLS_OPPORTUNISTIC)) {
		if (st->caps & ORC_F_STARTTLS) {
			st->phase = ORC_PH_STARTTLS;
			return;
		}
		if (set->tls == SMTP_TLS_STARTTLS) {
			/* which stage a missing STARTTLS shows at is not said */
			orc_local_fail(st, SMTP_STAGE_STARTTLS, ORC_STAGE_BIT(SMTP_STAGE_EHLO),
				       SMTP_ENOTLS);
			return;
		}
	}
	if (set->user && (st->caps & ORC_F_AUTH) && !orc_usable_mechs(st) &&
	    (st->caps & ORC_F_AUTHOTHER) && !set->strict) {
		st->res->uncertain = 1; /* a mechanism outside the model may be used */
		return;
	}
	if (set->user && ((st->caps & ORC_F_AUTH) || !set->auth_optional)) {
		if (orc_usable_mechs(st))
			st->phase = ORC_PH_AUTH;
		else
			orc_local_fail(st, SMTP_STAGE_AUTH, ORC_STAGE_BIT(SMTP_STAGE_EHLO),
				       SMTP_ENOMECH);
		return;
	}
	st->phase = ORC_PH_READY;
}

/* The greeting (RFC 5321 4.3.2: 220, or 554; 421 anywhere), EHLO/LHLO and HELO
   (2xx, or a refusal; a refused EHLO falls back to HELO, RFC 5321 4.1.4). A reply
   the command cannot have is a protocol error. Returns 0 or -1 for one. */
static inline int orc_on_hello(struct orc_state *st, const struct orc_owed *o,
			       const struct orc_event *ev)
{
	int code = ev->code;
	smtp_stage stage = o->cmd == ORC_GREETING ? SMTP_STAGE_GREETING : SMTP_STAGE_EHLO;
	if (code < 300) {
		if (o->cmd == ORC_GREETING) {
			if (code != 220)
				return -1;
			st->phase = ORC_PH_EHLO;
			return 0;
		}
		st->caps = o->cmd == ORC_HELO ? 0 : ev->flags;
		if (st->caps & ORC_F_CAPS_ODD)
			st->res->uncertain = 1;
		st->pipelining = (st->caps & ORC_F_PIPE) != 0;
		/* RFC 2033 4.2 defines LMTP's per-recipient final replies for DATA only:
		   an LMTP client sends DATA even when CHUNKING is offered */
		st->chunking = (st->caps & ORC_F_CHUNK) != 0 && !st->set->lmtp;
		st->rcptmax = o->cmd == ORC_HELO ? 0 : ev->n & ORC_LIMIT_MAX;
		st->mailmax = o->cmd == ORC_HELO ? 0 : ev->n >> 16;
		orc_after_hello(st);
		return 0;
	}
	if (code < 400)
		return -1;
	if (o->cmd == ORC_EHLO && (code == 500 || code == 501 || code == 502 || code == 550))
		st->phase = ORC_PH_HELO;
	else
		orc_refused(st, stage, code, SMTP_EREJECTED);
	return 0;
}

/* STARTTLS (RFC 3207 4): 220, or a refusal (454, 501). Required TLS has no
   plain-text fallback; tls=opportunistic is the caller saying in words that plain
   text will do, so a refusal there goes on as if STARTTLS had not been offered
   (the report shows the refusal and no TLS). */
static inline int orc_on_starttls_reply(struct orc_state *st, int code)
{
	if (code == 220) {
		st->tls_wait = 1;
		return 0;
	}
	if (code < 400)
		return -1;
	if (st->set->tls == SMTP_TLS_OPPORTUNISTIC) {
		st->tls_refused = 1;
		orc_after_hello(st);
		return 0;
	}
	orc_refused(st, SMTP_STAGE_STARTTLS, code, SMTP_ENOTLS);
	return 0;
}

/* The AUTH command (RFC 4954 4): a usable mechanism, the caller's first choice when
   the server offers it; PLAIN needs one more response unless it carried the initial
   response, LOGIN two (one after an initial response). */
static inline void orc_on_auth_cmd(struct orc_state *st, const struct orc_snap *s,
				   unsigned flags)
{
	unsigned mech = flags & (ORC_F_PLAIN | ORC_F_LOGIN);
	if (s->phase != ORC_PH_AUTH || st->auth_mech) {
		orc_violation(st, "AUTH out of place");
	} else if (!mech) {
		if (st->set->strict)
			orc_violation(st, "AUTH with a mechanism the scenario does not offer");
		st->res->uncertain = 1;
	} else if (!(mech & orc_usable_mechs(st))) {
		orc_violation(st, "AUTH with a mechanism not offered or not on the caller's list");
	} else if (st->set->mech_first && (orc_usable_mechs(st) & (unsigned)st->set->mech_first) &&
		   mech != (unsigned)st->set->mech_first) {
		orc_violation(st, "AUTH with a mechanism other than the caller's first choice");
	}
	if (st->set->user == 0)
		orc_violation(st, "AUTH without credentials");
	if (st->set->tls == SMTP_TLS_STARTTLS && !st->tls_active)
		orc_violation(st, "credentials sent before TLS");
	st->auth_mech = (int)mech;
	st->auth_due = (mech == ORC_F_PLAIN ? 1 : 2) - ((flags & ORC_F_IR) ? 1 : 0);
	st->auth_answer = 0;
	orc_owe(st, ORC_AUTH, -1, -1);
}

/* A line of the client's that is no command: in an AUTH exchange, the response to
   the challenge awaited, or "*" to cancel (RFC 4954 4). */
static inline void orc_on_sasl_line(struct orc_state *st, unsigned flags)
{
	if (!st->auth_mech || !st->auth_answer) {
		if (st->set->strict)
			orc_violation(st, "%s the scenario never asks for", orc_cmd_name(ORC_OTHER));
		orc_owe(st, ORC_OTHER, -1, -1);
		return;
	}
	st->auth_answer = 0;
	st->auth_cancelled = (flags & ORC_F_CANCEL) != 0;
	orc_owe(st, ORC_AUTH, -1, -1);
}

/* A reply in an AUTH exchange (RFC 4954 4, 6): 334 a challenge the mechanism
   answers, 235 done, 4xx defers and 5xx fails (SMTP_EAUTH). A challenge nothing is
   left to answer breaks the protocol: every message is deferred by it
   (SMTP_EPROTOCOL), and the client may still cancel the exchange with "*", whatever
   the server says to that. A 2xx after "*" (the server MUST answer 501) is a
   protocol error. Returns 0 or -1. */
static inline int orc_on_auth_reply(struct orc_state *st, int code)
{
	if (code == 334 && !st->auth_cancelled) {
		st->auth_answer = 1;
		if (st->auth_due > 0) {
			st->auth_due--;
			return 0;
		}
		orc_decide_all(st, SMTP_VERDICT_DEFERRED, SMTP_STAGE_AUTH, 0, SMTP_EPROTOCOL);
		st->phase = ORC_PH_DEAD;
		return 0;
	}
	if (code < 400 && (code != 235 || st->auth_cancelled))
		return -1;
	st->auth_mech = 0;
	if (code == 235)
		st->phase = ORC_PH_READY;
	else
		orc_refused(st, SMTP_STAGE_AUTH, code, SMTP_EAUTH);
	return 0;
}

/* Forgets the connection's state: the session connects again (after a QUIT at
   LIMITS MAILMAX, RFC 9422 4.1); the verdicts and transactions so far stay. */
static inline void orc_on_connect(struct orc_state *st)
{
	if (!st->ended && !st->closed)
		orc_violation(st, "a new connection while the last one was open");
	st->conn++;
	st->phase = ORC_PH_GREETING;
	st->pipelining = st->chunking = st->tls_wait = st->tls_active = st->tls_refused = 0;
	st->ended = st->closed = st->wrote_late = st->quit_written = 0;
	st->caps = 0;
	st->rcptmax = st->mailmax = 0;
	st->mails = 0;
	st->auth_mech = st->auth_due = st->auth_answer = st->auth_cancelled = 0;
	st->head = st->count = 0;
	st->cur = -1;
	st->rset_since_mail = 0;
	st->snap_first = st->nsnaps;
	if (st->set->tls == SMTP_TLS_IMPLICIT)
		st->tls_active = 1;
	orc_owe(st, ORC_GREETING, -1, -1);
}

/* STARTTLS's handshake finished: RFC 3207 4.2, the client forgets what it knew and
   says EHLO again. */
static inline void orc_on_tls(struct orc_state *st)
{
	if (!st->tls_wait)
		orc_violation(st, "a TLS handshake without STARTTLS's 220");
	st->tls_wait = 0;
	st->tls_active = 1;
	st->phase = ORC_PH_EHLO;
	st->pipelining = st->chunking = 0;
	st->caps = 0;
	st->rcptmax = st->mailmax = 0;
}

/* The session ended the connection with a local error: a failed handshake fails
   every message (doc/report-schema.md "Verdicts": SMTP_ETLS), anything else defers. */
static inline void orc_on_local(struct orc_state *st, int err)
{
	if (st->ended || st->closed)
		return;
	if (err == SMTP_ETLS || err == SMTP_ECERT) {
		orc_local_fail(st, SMTP_STAGE_TLS, 0, err);
		st->ended = 1;
		return;
	}
	orc_end(st, err, 0);
}

#endif

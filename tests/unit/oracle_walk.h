/* The oracle's walk over a transcript (included by oracle.h): what the client may
   write when (on_begin, on_cmd) and what each reply decides (on_reply). */
#ifndef ORACLE_WALK_H
#define ORACLE_WALK_H

#include "oracle_conn.h"

static inline void orc_take_snap(const struct orc_state *st, struct orc_snap *s,
				 unsigned long total)
{
	memset(s, 0, sizeof *s);
	s->total = total;
	s->phase = st->phase;
	s->tls_wait = st->tls_wait;
	s->pipelining = st->pipelining;
	s->gone = st->ended || st->closed;
	s->quit_written = st->quit_written;
	s->all_decided = 1;
	for (size_t m = 0; m < st->set->nmsgs; m++)
		if (st->submitted[m] && !orc_msg_decided(st, m))
			s->all_decided = 0;
	s->owed = st->count;
	s->first_owed = st->count ? st->owed[st->head].cmd : -1;
	s->blocking = -1;
	for (size_t i = 0; i < st->count && s->blocking < 0; i++)
		if (orc_blocking(st->owed[st->head + i].cmd))
			s->blocking = st->owed[st->head + i].cmd;
	s->cur = st->cur;
	if (st->cur < 0)
		return;
	const struct orc_tx *tx = &st->tx[st->cur];
	s->refused = tx->mail_refused || tx->data_refused || tx->chunk_refused;
	s->answered = tx->answered;
	s->nprov = tx->nprov;
	s->data354 = tx->data_code == 354;
	s->end_2xx = tx->end_2xx;
}

static inline void orc_on_queued(struct orc_state *st, unsigned long total)
{
	if (st->nsnaps > 0 && st->snaps[(st->nsnaps - 1) % ORC_MAX_SNAPS].total >= total)
		return;
	orc_take_snap(st, &st->snaps[st->nsnaps % ORC_MAX_SNAPS], total);
	st->nsnaps++;
}

/* The first octet of a command or content, at offset `at` of the client's stream. */
static inline void orc_on_begin(struct orc_state *st, unsigned long at)
{
	size_t first = st->nsnaps > ORC_MAX_SNAPS ? st->nsnaps - ORC_MAX_SNAPS : 0;
	if (first < st->snap_first)
		first = st->snap_first;
	size_t k = first;
	while (k < st->nsnaps && st->snaps[k % ORC_MAX_SNAPS].total <= at)
		k++;
	if (k == st->nsnaps) {
		orc_take_snap(st, &st->late, at + 1);
		st->early = st->late;
	} else {
		st->late = st->snaps[k % ORC_MAX_SNAPS];
		if (k > first)
			st->early = st->snaps[(k - 1) % ORC_MAX_SNAPS];
		else
			st->early = st->late;
	}
	const struct orc_snap *s = &st->late;
	if (s->gone) {
		if (!st->wrote_late++)
			orc_violation(st, "the client wrote after the connection ended");
		return;
	}
	if (s->quit_written)
		orc_violation(st, "the client wrote after QUIT");
	if (s->tls_wait)
		orc_violation(st, "written between STARTTLS's 220 and the TLS handshake "
				  "(RFC 3207 4.2)");
	if (s->owed > 0 && !s->pipelining)
		orc_violation(st, "lock-step: written while a reply to %s was awaited "
				  "(no PIPELINING)", orc_cmd_name(s->first_owed));
	else if (s->blocking >= 0)
		orc_violation(st, "written while the reply to %s was awaited (RFC 2920 3.1)",
			      orc_cmd_name(s->blocking));
}

static inline void orc_on_mail(struct orc_state *st, const struct orc_event *ev)
{
	const struct orc_snap *s = &st->late;
	if (s->phase != ORC_PH_READY)
		orc_violation(st, "MAIL before the connection was ready, or after it failed");
	/* RSET when the server may still hold the previous transaction: it failed
	   before its end of data, or it used BDAT and BDAT LAST had no 2xx when this MAIL
	   went out (RFC 3030 2: RSET after a failed BDAT). After a DATA end of data "."
	   the server has cleared it (RFC 5321 4.1.1.4). */
	if (st->cur >= 0 && !st->rset_since_mail) {
		const struct orc_tx *prev = &st->tx[st->cur];
		int answered = s->cur == st->cur && s->end_2xx;
		if (!prev->end_written || (prev->bdat && !answered))
			orc_violation(st, "MAIL without RSET after transaction %d, which the "
					  "server may still hold", st->cur);
	}
	if (ev->msg < 0 || (size_t)ev->msg >= st->set->nmsgs || !st->submitted[ev->msg]) {
		orc_violation(st, "MAIL for an unknown message");
		st->res->uncertain = 1;
		return;
	}
	size_t lo = orc_next_lo(st, ev->msg), n = st->set->nrcpts[ev->msg];
	if (st->set->strict && (lo >= n || orc_msg_decided(st, (size_t)ev->msg)))
		orc_violation(st, "MAIL again for message %d, all of whose recipients had their "
				  "transaction", ev->msg);
	/* RFC 9422 4.1: MAILMAX counts every MAIL of the connection */
	if (st->mailmax && ++st->mails > st->mailmax)
		orc_violation(st, "MAIL number %zu although LIMITS MAILMAX=%lu (RFC 9422 4.1)",
			      st->mails, st->mailmax);
	if (st->ntx == ORC_MAX_TX) {
		st->res->uncertain = 1;
		return;
	}
	struct orc_tx *tx = &st->tx[st->ntx];
	memset(tx, 0, sizeof *tx);
	tx->msg = ev->msg;
	tx->conn = st->conn;
	/* the recipients in order, RCPTMAX of them to a transaction (RFC 9422 4.2) */
	tx->lo = lo < n ? lo : n;
	tx->hi = st->rcptmax && n - tx->lo > st->rcptmax ? tx->lo + st->rcptmax : n;
	st->cur = (int)st->ntx++;
	st->rset_since_mail = 0;
	orc_owe(st, ORC_MAIL, st->cur, -1);
}

static inline void orc_on_rcpt(struct orc_state *st, const struct orc_event *ev)
{
	struct orc_tx *tx = st->cur >= 0 ? &st->tx[st->cur] : NULL;
	if (!tx || ev->msg != tx->msg || tx->data_written || tx->bdat ||
	    !orc_rc(st, ev->msg, ev->rcpt) || tx->nrcpt == ORC_MAX_RCPTS) {
		orc_violation(st, "RCPT outside its message's envelope");
		st->res->uncertain = 1;
		return;
	}
	if (st->rcptmax && tx->nrcpt >= st->rcptmax)
		orc_violation(st, "more RCPTs in one transaction than LIMITS RCPTMAX=%lu "
				  "(RFC 9422 4.2)", st->rcptmax);
	if ((size_t)ev->rcpt != tx->lo + tx->nrcpt || (size_t)ev->rcpt >= tx->hi) {
		if (st->set->strict)
			orc_violation(st, "RCPT for recipient %d of message %d out of order: the "
					  "transaction carries %zu..%zu", ev->rcpt, ev->msg,
				      tx->lo, tx->hi - 1);
		st->res->uncertain = 1;
		return;
	}
	tx->rcpt[tx->nrcpt++] = ev->rcpt;
	orc_owe(st, ORC_RCPT, st->cur, ev->rcpt);
}

/* The end of DATA's content: content only after 354 to a transaction that had not
   failed, else a lone dot (RFC 2920 3.1). */
static inline void orc_on_dot(struct orc_state *st, struct orc_tx *tx, int flags)
{
	const struct orc_snap *s = &st->late;
	int lone = (flags & ORC_F_LONE) != 0;
	int failed = orc_known_failed(s, tx);
	if (s->cur != st->cur || !s->data354)
		orc_violation(st, "content or a dot written without a 354 reply to DATA");
	else if (lone && !failed)
		orc_violation(st, "a lone dot although the transaction had not failed");
	else if (!lone && failed)
		orc_violation(st, "content written after the transaction failed (RFC 2920 3.1)");
	if (!lone && (flags & ORC_F_BADDATA))
		orc_violation(st, "the content the server received differs from the message");
	tx->end_written = 1;
	tx->lone = lone;
	orc_owe(st, ORC_DOT, st->cur, -1);
}

/* BDAT (RFC 3030 2): a chunk goes only while the transaction stands; a chunk after
   the first only once every RCPT is answered. */
static inline void orc_on_bdat(struct orc_state *st, struct orc_tx *tx, int flags)
{
	if (!st->chunking)
		orc_violation(st, "BDAT although the server did not offer CHUNKING");
	if (st->early.cur == st->cur && orc_known_failed(&st->early, tx))
		orc_violation(st, "a BDAT chunk written after the transaction failed");
	else if (tx->chunks > 0 &&
		 (st->late.cur != st->cur || st->late.answered < tx->nrcpt))
		orc_violation(st, "a BDAT chunk after the first before every RCPT was answered");
	if (tx->data_written)
		orc_violation(st, "BDAT after DATA");
	tx->bdat = 1;
	tx->chunks++;
	if (flags & ORC_F_LAST) {
		if (flags & ORC_F_BADDATA)
			orc_violation(st, "the chunks the server received differ from the message");
		tx->end_written = 1;
		orc_owe(st, ORC_DOT, st->cur, -1);
	} else {
		orc_owe(st, ORC_BDAT, st->cur, -1);
	}
}

static inline void orc_on_cmd(struct orc_state *st, const struct orc_event *ev)
{
	const struct orc_snap *s = &st->late;
	struct orc_tx *tx = st->cur >= 0 ? &st->tx[st->cur] : NULL;
	int cmd = ev->cmd;
	if (st->ended || st->closed)
		return;
	if (cmd != ORC_DOT && tx && tx->data_code == 354 && !tx->end_written)
		orc_violation(st, "%s written after 354 instead of the content",
			      orc_cmd_name(cmd));
	if (cmd != ORC_OTHER && st->auth_answer)
		orc_violation(st, "%s written while a 334 awaited the client's response "
				  "(RFC 4954 4)", orc_cmd_name(cmd));
	switch (cmd) {
	case ORC_EHLO:
	case ORC_LHLO:
		if (s->phase != ORC_PH_EHLO || (cmd == ORC_LHLO) != (st->set->lmtp != 0))
			orc_violation(st, "%s out of place", orc_cmd_name(cmd));
		orc_owe(st, cmd, -1, -1);
		return;
	case ORC_STARTTLS:
		if (s->phase != ORC_PH_STARTTLS || st->tls_wait || st->tls_active)
			orc_violation(st, "STARTTLS out of place");
		orc_owe(st, cmd, -1, -1);
		return;
	case ORC_AUTH:
		orc_on_auth_cmd(st, s, ev->flags);
		return;
	case ORC_HELO:
		if (s->phase != ORC_PH_HELO)
			orc_violation(st, "HELO without a refused EHLO (RFC 5321 4.1.4)");
		orc_owe(st, cmd, -1, -1);
		return;
	case ORC_MAIL:
		orc_on_mail(st, ev);
		return;
	case ORC_RCPT:
		orc_on_rcpt(st, ev);
		return;
	case ORC_RSET:
		st->rset_since_mail = 1;
		orc_owe(st, cmd, (int)st->ntx, -1); /* the transaction it opens the way for */
		return;
	case ORC_QUIT:
		/* RFC 9422 4.1: at MAILMAX the client ends the connection and goes on
		   over a new one */
		if (st->set->strict && !s->all_decided && !(st->mailmax && st->mails >= st->mailmax))
			orc_violation(st, "QUIT while a submitted message was undecided");
		st->quit_written = 1;
		orc_owe(st, cmd, -1, -1);
		return;
	case ORC_DATA:
	case ORC_DOT:
	case ORC_BDAT:
		if (!tx || tx->end_written || (cmd == ORC_DOT && !tx->data_written)) {
			orc_violation(st, "%s outside a transaction", orc_cmd_name(cmd));
			st->res->uncertain = 1;
			return;
		}
		if (cmd == ORC_DATA) {
			if (tx->data_written || tx->bdat)
				orc_violation(st, "DATA twice, or after BDAT");
			tx->data_written = 1;
			orc_owe(st, cmd, st->cur, -1);
		} else if (cmd == ORC_DOT) {
			orc_on_dot(st, tx, ev->flags);
		} else {
			orc_on_bdat(st, tx, ev->flags);
		}
		return;
	default:
		orc_on_sasl_line(st, ev->flags);
		return;
	}
}

/* One final reply to an end of data (see orc_finals_owed). Returns 0, or -1 for a
   protocol error. */
static inline int orc_on_final(struct orc_state *st, struct orc_tx *tx, int code)
{
	if (code >= 300 && code < 400)
		return -1;
	/* a 2xx to the end of a transaction whose MAIL was refused (issue 9, defect 2) */
	if (code < 300 && tx->mail_refused)
		return -1;
	if (st->set->lmtp && tx->nprov > 0) {
		orc_decide_reply(st, tx->msg, tx->prov[tx->finals], SMTP_STAGE_BODY, code);
	} else {
		for (size_t i = 0; i < tx->nprov; i++)
			orc_decide_reply(st, tx->msg, tx->prov[i], SMTP_STAGE_BODY, code);
	}
	if (code < 300)
		tx->end_2xx = 1;
	tx->finals++;
	return 0;
}

/* A reply for a transaction's command. Returns 0, or -1 for a protocol error. */
static inline int orc_on_tx_reply(struct orc_state *st, const struct orc_owed *o, int code)
{
	struct orc_tx *tx = &st->tx[o->tx];
	int refused = code >= 400 && code < 600;
	switch (o->cmd) {
	case ORC_MAIL:
		if (code >= 300 && code < 400)
			return -1;
		tx->mail_answered = 1;
		if (refused) {
			tx->mail_refused = 1;
			orc_decide_tx(st, tx, SMTP_STAGE_MAIL, code);
		}
		return 0;
	case ORC_RCPT:
		if (code >= 300 && code < 400)
			return -1;
		tx->answered++;
		if (code < 300) {
			const struct orc_rcpt *r = orc_rc(st, tx->msg, o->rcpt);
			if (r && r->verdict == SMTP_VERDICT_PENDING)
				tx->prov[tx->nprov++] = o->rcpt;
		} else {
			orc_decide_reply(st, tx->msg, o->rcpt, SMTP_STAGE_RCPT, code);
		}
		return 0;
	case ORC_DATA:
		/* RFC 5321 4.3.2: DATA gets 354, 4xx or 5xx */
		if (code != 354 && !refused)
			return -1;
		tx->data_code = code;
		if (refused) {
			tx->data_refused = 1;
			orc_decide_tx(st, tx, SMTP_STAGE_DATA, code);
		}
		return 0;
	case ORC_BDAT:
		if (code >= 300 && code < 400)
			return -1;
		if (refused) {
			tx->chunk_refused = 1;
			orc_decide_tx(st, tx, SMTP_STAGE_BODY, code);
		}
		return 0;
	default:
		return orc_on_final(st, tx, code);
	}
}

/* A reply: matched to the oldest written command still owed one (RFC 2920 3.1). */
static inline void orc_on_reply(struct orc_state *st, const struct orc_event *ev)
{
	int code = ev->code;
	if (st->ended || st->closed)
		return;
	if (st->tls_wait)
		return; /* before the handshake: discarded (RFC 3207 5) */
	struct orc_match *mt = st->res->nmatch < ORC_MAX_MATCH ? &st->res->match[st->res->nmatch++]
								 : NULL;
	if (mt) {
		mt->code = code;
		mt->cmd = ev->flags & ORC_F_BAD ? -2 : st->count == 0 ? -1 : st->owed[st->head].cmd;
		mt->msg = mt->cmd >= 0 && st->owed[st->head].tx >= 0 && mt->cmd != ORC_RSET
			  ? st->tx[st->owed[st->head].tx].msg : -1;
		mt->rcpt = mt->cmd == ORC_RCPT ? st->owed[st->head].rcpt : -1;
	}
	if (ev->flags & ORC_F_BAD) {
		orc_end(st, SMTP_EPROTOCOL, 0);
		return;
	}
	if (st->count == 0) {
		/* unsolicited: a 421 closes (RFC 5321 3.8), anything else breaks the rule */
		if (code == 421)
			orc_end(st, SMTP_ECLOSED, 421);
		else
			orc_end(st, SMTP_EPROTOCOL, 0);
		return;
	}
	struct orc_owed *o = &st->owed[st->head];
	st->matched++;
	if (code == 421 && o->cmd != ORC_QUIT) {
		if (o->cmd == ORC_RCPT)
			orc_decide_reply(st, st->tx[o->tx].msg, o->rcpt, SMTP_STAGE_RCPT, code);
		if (o->cmd == ORC_DOT)
			orc_on_final(st, &st->tx[o->tx], code);
		orc_end(st, SMTP_ECLOSED, 421);
		return;
	}
	int rc = 0;
	switch (o->cmd) {
	case ORC_GREETING:
	case ORC_EHLO:
	case ORC_LHLO:
	case ORC_HELO:
		rc = orc_on_hello(st, o, ev);
		break;
	case ORC_QUIT:
		st->closed = 1;
		break;
	case ORC_RSET:
		/* the oracle's rules: a refused RSET leaves the state unknown */
		rc = code < 300 ? 0 : -1;
		break;
	case ORC_STARTTLS:
		rc = orc_on_starttls_reply(st, code);
		break;
	case ORC_AUTH:
		rc = orc_on_auth_reply(st, code);
		break;
	case ORC_OTHER:
		break;
	default:
		rc = orc_on_tx_reply(st, o, code);
		break;
	}
	if (rc < 0) {
		orc_end(st, SMTP_EPROTOCOL, 0);
		return;
	}
	if (o->cmd != ORC_DOT || st->tx[o->tx].finals >= orc_finals_owed(st, &st->tx[o->tx])) {
		st->head++;
		st->count--;
	}
}

static inline void orc_outcome(struct orc_msg *m, size_t n)
{
	const struct orc_rcpt *pick = NULL;
	size_t acc = 0;
	m->outcome = SMTP_PENDING;
	m->error = 0;
	m->failed_stage = SMTP_STAGE_NONE;
	m->failed_alt = 0;
	for (size_t i = 0; i < n; i++) {
		if (m->r[i].verdict == SMTP_VERDICT_PENDING)
			return;
		acc += m->r[i].verdict == SMTP_VERDICT_ACCEPTED;
	}
	if (acc == n) {
		m->outcome = SMTP_SENT;
		return;
	}
	static const smtp_verdict order[] = {SMTP_VERDICT_DEFERRED, SMTP_VERDICT_BOUNCED,
					     SMTP_VERDICT_FAILED};
	for (size_t k = 0; !pick && k < 3; k++)
		for (size_t i = 0; !pick && i < n; i++)
			if (acc ? m->r[i].verdict != SMTP_VERDICT_ACCEPTED
				: m->r[i].verdict == order[k])
				pick = &m->r[i];
	m->outcome = acc ? SMTP_SENT_PARTIAL
		     : pick->verdict == SMTP_VERDICT_DEFERRED ? SMTP_DEFERRED
		     : pick->verdict == SMTP_VERDICT_BOUNCED ? SMTP_BOUNCED : SMTP_FAILED;
	m->error = pick->err;
	m->failed_stage = pick->stage;
	m->failed_alt = pick->alt;
}

/* Walks the transcript and fills res: every recipient's verdict, stage, code and
   error, every message's outcome, error, failed stage and maybe_delivered, and the
   rules the client's writes broke. st is the caller's scratch (it is large). */
static inline void orc_walk(const struct orc_transcript *t, const struct orc_setup *set,
			    struct orc_state *st, struct orc_result *res)
{
	memset(res, 0, sizeof *res);
	memset(st, 0, sizeof *st);
	st->set = set;
	st->res = res;
	st->cur = -1;
	st->conn = 1;
	st->tls_active = set->tls == SMTP_TLS_IMPLICIT;
	orc_owe(st, ORC_GREETING, -1, -1);
	for (size_t i = 0; i < t->n && !res->uncertain; i++) {
		const struct orc_event *ev = &t->ev[i];
		st->at = i;
		switch (ev->kind) {
		case ORC_SUBMIT:
			if (ev->msg >= 0 && (size_t)ev->msg < set->nmsgs && !st->submitted[ev->msg]) {
				st->submitted[ev->msg] = 1;
				st->order[st->norder++] = ev->msg;
			}
			break;
		case ORC_QUEUED:
			orc_on_queued(st, ev->n);
			break;
		case ORC_BEGIN:
			orc_on_begin(st, ev->n);
			break;
		case ORC_CMD:
			orc_on_cmd(st, ev);
			break;
		case ORC_REPLY:
			orc_on_reply(st, ev);
			break;
		case ORC_DISPATCHED:
			if (ev->n > st->matched)
				orc_violation(st, "the engine dispatched %lu replies, only %lu "
						  "answered written commands", ev->n, st->matched);
			break;
		case ORC_TLS:
			orc_on_tls(st);
			break;
		case ORC_LOCAL:
			orc_on_local(st, ev->code);
			break;
		case ORC_CONNECT:
			orc_on_connect(st);
			break;
		case ORC_INJECT:
			/* the session does not discard them silently: a protocol error */
			if (st->tls_wait)
				orc_end(st, SMTP_EPROTOCOL, 0);
			break;
		case ORC_EOF:
			/* a server that hangs up after QUIT, with nothing else owed, ended
			   the connection well */
			if (st->quit_written && st->count == 1 && st->owed[st->head].cmd == ORC_QUIT)
				st->closed = 1;
			else if (!st->closed)
				orc_end(st, SMTP_ECLOSED, 0);
			break;
		default:
			if (!st->closed)
				orc_end(st, SMTP_ETIMEDOUT, 0);
			break;
		}
	}
	if (t->overflow)
		res->uncertain = 1;
	if (set->strict && !res->uncertain && !st->ended && !st->closed) {
		st->at = t->n;
		for (size_t m = 0; m < set->nmsgs; m++)
			if (st->submitted[m] && !orc_msg_decided(st, m))
				orc_violation(st, "the engine went idle with message %zu undecided", m);
		if (st->cur >= 0 && st->tx[st->cur].data_code == 354 && !st->tx[st->cur].end_written)
			orc_violation(st, "the engine went idle after 354 without an end of data");
	}
	for (size_t m = 0; m < set->nmsgs; m++)
		orc_outcome(&res->m[m], set->nrcpts[m]);
}

#endif

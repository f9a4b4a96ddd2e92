/* The protocol engine: reply dispatch, the connection phase (greeting, EHLO/HELO,
   STARTTLS, then AUTH in auth.c), QUIT, failures of the connection, and the byte
   interface to the session. Transactions live in transaction.c. No I/O here. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "wire/text.h"

void smtpi_engine_init(struct smtpi_engine *e, const struct smtpi_engine_config *cfg,
		       struct smtp_report *session_report)
{
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->session_report = session_report;
	e->tx_clean = 1;
	smtpi_capa_init(&e->capa);
	smtpi_reply_init(&e->rp);
}


void smtpi_engine_free(struct smtpi_engine *e)
{
	struct smtpi_cause c = {.stage = smtpi_engine_stage(e), .err = SMTP_ESTATE,
				.detail = "the session was freed"};
	smtpi_tx_abort_all(e, &c);
	smtpi_auth_end(e);
	smtpi_capa_clear(&e->capa);
	smtpi_buf_free(&e->out);
	free(e->pend);
	free(e->stage_buf);
	smtpi_connlog_unref(e->log);
	memset(e, 0, sizeof *e);
}

/* ---- where connection steps go ---- */

/* The connection log takes the connection phase's steps until a report refers to it
   (from READY on, or when a failure ends the queued messages); later connection
   steps go to the session report only, so no final report ever changes. */
static void log_step(struct smtpi_engine *e, smtp_stage stage, const struct smtpi_reply *r,
		     int err, const char *text, int64_t elapsed_us)
{
	if (e->log && smtpi_connlog_step(e->log, stage, r, err, text, elapsed_us) != SMTP_ESTATE)
		return;
	smtpi_report_step(e->session_report, stage, NULL, r, err, text, elapsed_us);
}

void smtpi_engine_note(struct smtpi_engine *e, smtp_stage stage, const char *text, int err,
		       int64_t elapsed_us)
{
	log_step(e, stage, NULL, err, text, elapsed_us);
}

static int64_t elapsed_of(const struct smtpi_engine *e, const struct smtpi_pending *p)
{
	return p && p->written_us >= 0 ? e->now_us - p->written_us : -1;
}

/* ---- the connection's end ---- */

/* Decides every submitted message by c and records c as the connection's end. */
static void decide_all(struct smtpi_engine *e, const struct smtpi_cause *c)
{
	if (!e->error)
		e->error = smtpi_error_of(c);
	smtpi_auth_end(e);
	smtpi_report_fail(e->session_report, c);
	smtpi_tx_abort_all(e, c);
}

/* The connection ends at once, without QUIT. */
static void end_connection(struct smtpi_engine *e, const struct smtpi_cause *c)
{
	decide_all(e, c);
	e->phase = SMTPI_PH_CLOSED;
	smtpi_pending_clear(e);
}

void smtpi_engine_fail(struct smtpi_engine *e, int err, const char *detail, int temporary)
{
	smtp_stage stage = smtpi_engine_stage(e);
	struct smtpi_cause c = {.stage = stage, .err = err, .detail = detail,
				.temporary = temporary};
	if (e->phase != SMTPI_PH_CLOSED) {
		log_step(e, stage, NULL, err, detail, -1);
		smtpi_tx_note_all(e, NULL, err, detail);
	}
	end_connection(e, &c);
}

static void send_quit(struct smtpi_engine *e)
{
	e->phase = SMTPI_PH_QUIT;
	if (smtpi_pending_push(e, SMTPI_CMD_QUIT, NULL, 0, NULL, "QUIT", 4))
		e->phase = SMTPI_PH_CLOSED;
}

/* The server refused this client before any transaction, or a check of ours did
   (no TLS, no mechanism): every queued message is decided by it. */
static void refuse(struct smtpi_engine *e, const struct smtpi_cause *c)
{
	/* RFC 5321 4.1.1.10: end politely while the server listens; after 421 it has
	   closed (RFC 5321 3.8). */
	if ((c->reply && c->reply->code == 421) || e->pend_count > 0) {
		end_connection(e, c);
		return;
	}
	decide_all(e, c);
	send_quit(e);
}

/* RFC 5321 3.8: 421 announces that the server closes the channel, in reply to any
   command or unsolicited. Everything in flight or queued is deferred with it. */
static void closing(struct smtpi_engine *e, const struct smtpi_pending *p,
		    const struct smtpi_reply *r)
{
	smtp_stage stage = p ? smtpi_cmd_stage(p->cmd) : smtpi_engine_stage(e);
	struct smtpi_cause c = {.stage = stage, .reply = r};
	/* a 421 to the end of data is that message's (refusing) final reply: the
	   message was not taken (RFC 1047's doubt does not arise) */
	if (p && p->cmd == SMTPI_CMD_END && p->m)
		p->m->tx.end_answered = 1;
	log_step(e, stage, r, 0, NULL, elapsed_of(e, p));
	smtpi_tx_note_all(e, r, 0, NULL);
	end_connection(e, &c);
}

/* ---- the connection phase ---- */

int smtpi_engine_connecting(struct smtpi_engine *e)
{
	struct smtpi_connlog *l = smtpi_connlog_new();
	if (!l)
		return SMTP_ENOMEM;
	smtpi_connlog_unref(e->log);
	e->log = l;
	smtpi_report_reset(e->session_report);
	e->session_report->conn = smtpi_connlog_ref(l);
	e->phase = SMTPI_PH_DOWN;
	e->error = 0;
	e->tls_active = 0;
	e->mails = 0;
	e->reconnect = 0;
	e->tx_clean = 1;
	e->why = NULL;
	smtpi_pending_clear(e);
	smtpi_reply_init(&e->rp);
	smtpi_capa_clear(&e->capa);
	smtpi_auth_end(e);
	memset(&e->cbind, 0, sizeof e->cbind);
	return 0;
}

static int send_ehlo(struct smtpi_engine *e)
{
	/* the name was checked and bounded when set (RFC 5321 4.1.1.1) */
	char line[300];
	size_t n = strlen(e->cfg->helo_name);
	if (n > sizeof line - 6)
		n = sizeof line - 6;
	/* RFC 2033 4.1: LMTP greets with LHLO. */
	memcpy(line, e->cfg->lmtp ? "LHLO " : "EHLO ", 5);
	memcpy(line + 5, e->cfg->helo_name, n);
	e->phase = SMTPI_PH_EHLO;
	return smtpi_pending_push(e, SMTPI_CMD_EHLO, NULL, 0, NULL, line, n + 5);
}

static int send_helo(struct smtpi_engine *e)
{
	char line[300];
	size_t n = strlen(e->cfg->helo_name);
	if (n > sizeof line - 6)
		n = sizeof line - 6;
	memcpy(line, "HELO ", 5);
	memcpy(line + 5, e->cfg->helo_name, n);
	return smtpi_pending_push(e, SMTPI_CMD_HELO, NULL, 0, NULL, line, n + 5);
}

void smtpi_engine_connected(struct smtpi_engine *e, const char *peer,
			    const struct smtpi_tls_info *info, int64_t now_us)
{
	e->now_us = now_us;
	if (e->log)
		smtpi_connlog_set_peer(e->log, peer);
	e->tls_active = info != NULL;
	if (info && e->log)
		smtpi_connlog_set_tls(e->log, info);
	e->phase = SMTPI_PH_GREETING;
	if (smtpi_pending_push(e, SMTPI_CMD_GREETING, NULL, 0, NULL, NULL, 0))
		smtpi_engine_fail(e, SMTP_ENOMEM, "out of memory", 0);
}

void smtpi_engine_tls_ready(struct smtpi_engine *e, const struct smtpi_tls_info *info,
			    const char *cbind_type, const unsigned char *cbind, size_t cbind_len,
			    int64_t elapsed_us, int64_t now_us)
{
	e->now_us = now_us;
	e->tls_active = 1;
	if (e->log)
		smtpi_connlog_set_tls(e->log, info);
	char text[160];
	smtpi_tls_summary(info, text, sizeof text);
	log_step(e, SMTP_STAGE_TLS, NULL, 0, text, elapsed_us);
	if (cbind_type && cbind_len <= sizeof e->cbind_data) {
		memcpy(e->cbind_data, cbind, cbind_len);
		e->cbind.type = cbind_type;
		e->cbind.data = e->cbind_data;
		e->cbind.len = cbind_len;
	}
	/* RFC 3207 4.2: discard all knowledge from before TLS and greet again. */
	smtpi_capa_clear(&e->capa);
	if (send_ehlo(e))
		smtpi_engine_fail(e, SMTP_ENOMEM, "out of memory", 0);
}

static int ready(struct smtpi_engine *e)
{
	e->phase = SMTPI_PH_READY;
	if (e->log)
		e->log->frozen = 1;
	return smtpi_tx_pump(e);
}

static int auth_outcome(struct smtpi_engine *e, enum smtpi_auth_result res,
			const struct smtpi_cause *c, int nomem)
{
	if (nomem)
		return SMTP_ENOMEM;
	switch (res) {
	case SMTPI_AUTH_DONE:
		return ready(e);
	case SMTPI_AUTH_REFUSED:
		if (!c->reply)
			log_step(e, SMTP_STAGE_AUTH, NULL, c->err, c->detail, -1);
		refuse(e, c);
		return 0;
	case SMTPI_AUTH_BROKEN: /* as a reply that breaks the rules: no QUIT */
		smtpi_engine_fail(e, SMTP_EPROTOCOL, c->detail, 0);
		return 0;
	default:
		return 0;
	}
}

static int begin_auth(struct smtpi_engine *e)
{
	struct smtpi_cause c = {0};
	int nomem = 0;
	enum smtpi_auth_result res = smtpi_auth_begin(e, &c, &nomem);
	return auth_outcome(e, res, &c, nomem);
}

/* After EHLO/HELO (and TLS): STARTTLS, AUTH or ready, as the mode requires. */
static int after_hello(struct smtpi_engine *e, int ehlo)
{
	int offered = ehlo && (e->capa.flags & SMTPI_CAPA_STARTTLS);
	smtp_tls mode = e->cfg->tls_mode;
	if (!e->tls_active && (mode == SMTP_TLS_STARTTLS || mode == SMTP_TLS_OPPORTUNISTIC)) {
		if (offered) {
			e->phase = SMTPI_PH_STARTTLS;
			return smtpi_pending_push(e, SMTPI_CMD_STARTTLS, NULL, 0, NULL, "STARTTLS", 8);
		}
		/* RFC 3207 4: a client that requires TLS must not go on without it. */
		if (mode == SMTP_TLS_STARTTLS) {
			struct smtpi_cause c = {.stage = SMTP_STAGE_EHLO, .err = SMTP_ENOTLS,
						.detail = "the server does not offer STARTTLS"};
			log_step(e, SMTP_STAGE_EHLO, NULL, c.err, c.detail, -1);
			refuse(e, &c);
			return 0;
		}
	}
	if (e->cfg->user)
		return begin_auth(e);
	return ready(e);
}

static int on_greeting(struct smtpi_engine *e, const struct smtpi_pending *p,
		       const struct smtpi_reply *r)
{
	log_step(e, SMTP_STAGE_GREETING, r, 0, NULL, elapsed_of(e, p));
	if (r->code == 220)
		return send_ehlo(e);
	/* RFC 5321 3.1: 554 instead of 220 means no service: QUIT and close. */
	struct smtpi_cause c = {.stage = SMTP_STAGE_GREETING, .reply = r};
	refuse(e, &c);
	return 0;
}

/* RFC 5321 4.1.4: a server that does not take EHLO answers 500, 501, 502 or 550,
   and the client falls back to HELO (LMTP has no HELO, RFC 2033 4.1). */
static int helo_fallback(const struct smtpi_engine *e, int code)
{
	return !e->cfg->lmtp && (code == 500 || code == 501 || code == 502 || code == 550);
}

static int on_ehlo(struct smtpi_engine *e, const struct smtpi_pending *p,
		   const struct smtpi_reply *r)
{
	int helo = p->cmd == SMTPI_CMD_HELO;
	log_step(e, SMTP_STAGE_EHLO, r, 0, NULL, elapsed_of(e, p));
	if (r->code / 100 == 2) {
		if (!helo && smtpi_capa_parse(&e->capa, r->text, r->text_len))
			return SMTP_ENOMEM;
		if (e->log)
			e->log->enhanced_advertised =
				(e->capa.flags & SMTPI_CAPA_ENHANCEDSTATUSCODES) != 0;
		return after_hello(e, !helo);
	}
	if (!helo && helo_fallback(e, r->code))
		return send_helo(e);
	struct smtpi_cause c = {.stage = SMTP_STAGE_EHLO, .reply = r};
	refuse(e, &c);
	return 0;
}

static int on_starttls(struct smtpi_engine *e, const struct smtpi_pending *p,
		       const struct smtpi_reply *r)
{
	log_step(e, SMTP_STAGE_STARTTLS, r, 0, NULL, elapsed_of(e, p));
	if (r->code == 220) {
		e->phase = SMTPI_PH_TLS;
		return 0;
	}
	if (e->cfg->tls_mode == SMTP_TLS_OPPORTUNISTIC) {
		if (e->cfg->user)
			return begin_auth(e);
		return ready(e);
	}
	struct smtpi_cause c = {.stage = SMTP_STAGE_STARTTLS, .reply = r, .err = SMTP_ENOTLS,
				.detail = "the server refused STARTTLS"};
	refuse(e, &c);
	return 0;
}

static int on_auth(struct smtpi_engine *e, const struct smtpi_pending *p,
		   const struct smtpi_reply *r)
{
	if (r->code != 334)
		log_step(e, SMTP_STAGE_AUTH, r, 0, NULL, elapsed_of(e, p));
	struct smtpi_cause c = {0};
	int nomem = 0;
	enum smtpi_auth_result res = smtpi_auth_reply(e, r, &c, &nomem);
	return auth_outcome(e, res, &c, nomem);
}

/* ---- dispatch ---- */

static void trace_reply(const struct smtpi_engine *e, const struct smtpi_reply *r)
{
	if (!e->cfg->trace)
		return;
	/* room for a whole line with every octet escaped (RFC 5321 4.5.3.1.5 bounds
	   are the parser's: SMTPI_REPLY_MAX_LINE) */
	char line[4 * SMTPI_REPLY_MAX_LINE + 32];
	char enh[16];
	const char *code = smtpi_reply_enhanced(r, enh, sizeof enh);
	const char *t = r->text;
	for (size_t i = 0; i < r->nlines; i++) {
		const char *nl = strchr(t, '\n');
		size_t n = nl ? (size_t)(nl - t) : strlen(t);
		size_t len = 0;
		line[len++] = (char)('0' + r->code / 100);
		line[len++] = (char)('0' + r->code / 10 % 10);
		line[len++] = (char)('0' + r->code % 10);
		line[len++] = i + 1 < r->nlines ? '-' : ' ';
		if (code) {
			size_t cl = strlen(code);
			memcpy(line + len, code, cl);
			len += cl;
			line[len++] = ' ';
		}
		len += smtpi_escape_text(line + len, sizeof line - len, t, n);
		if (len >= sizeof line)
			len = sizeof line - 1;
		smtpi_engine_trace(e, SMTP_TRACE_RECV, line, len);
		t = nl ? nl + 1 : t + n;
	}
}

/* A reply the command it answers cannot have: recorded with that command (still
   owed, so every report names its stage), then the connection ends without QUIT,
   since the two sides no longer agree on the dialogue. No verdict follows from the
   reply itself; an end of data answered so may have been taken (RFC 1047). */
static void broken_reply(struct smtpi_engine *e, const struct smtpi_pending *h,
			 const struct smtpi_reply *r, const char *why)
{
	smtp_stage stage = smtpi_cmd_stage(h->cmd);
	struct smtpi_cause c = {.stage = stage, .err = SMTP_EPROTOCOL, .detail = why};
	if (h->m) {
		if (h->cmd == SMTPI_CMD_END)
			h->m->tx.end_broken = 1;
		smtpi_tx_note_reply(e, h, r, SMTP_EPROTOCOL, why);
	}
	log_step(e, stage, r, SMTP_EPROTOCOL, why, elapsed_of(e, h));
	end_connection(e, &c);
}

static int dispatch(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	trace_reply(e, r);
	const struct smtpi_pending *h = smtpi_pending_head(e);
	int written = h && h->end <= e->sent_total;
	if (written)
		e->replies++;
	/* RFC 5321 3.8: a 421 may come at any time; only to a QUIT written is it QUIT's
	   own reply */
	if (r->code == 421 && !(written && h->cmd == SMTPI_CMD_QUIT)) {
		closing(e, written ? h : NULL, r);
		return 0;
	}
	/* RFC 2920 3.1: a reply answers the oldest command written and not yet
	   answered; one with no such command would pair every later reply with the
	   wrong command. */
	if (!written) {
		smtpi_engine_fail(e, SMTP_EPROTOCOL,
				  h ? "a reply arrived before its command was sent"
				    : "a reply arrived with no command waiting for it",
				  0);
		return 0;
	}
	const char *why = smtpi_reply_breaks_rules(h->cmd, r->code);
	if (why) {
		broken_reply(e, h, r, why);
		return 0;
	}
	struct smtpi_pending p = *h;
	smtpi_pending_pop(e);
	e->last_stage = smtpi_cmd_stage(p.cmd);
	switch (p.cmd) {
	case SMTPI_CMD_GREETING:
		return on_greeting(e, &p, r);
	case SMTPI_CMD_EHLO:
	case SMTPI_CMD_HELO:
		return on_ehlo(e, &p, r);
	case SMTPI_CMD_STARTTLS:
		return on_starttls(e, &p, r);
	case SMTPI_CMD_AUTH:
		return on_auth(e, &p, r);
	case SMTPI_CMD_QUIT:
		smtpi_report_step(e->session_report, SMTP_STAGE_QUIT, NULL, r, 0, NULL,
				  elapsed_of(e, &p));
		e->phase = SMTPI_PH_CLOSED;
		return 0;
	case SMTPI_CMD_USER:
		smtpi_report_step(e->session_report, SMTP_STAGE_COMMAND, NULL, r, 0, NULL,
				  elapsed_of(e, &p));
		e->user_done = 1;
		e->user_code = r->code;
		return 0;
	default:
		break;
	}
	int rc = smtpi_tx_on_reply(e, &p, r);
	if (rc == SMTP_EPROTOCOL) {
		smtpi_engine_fail(e, SMTP_EPROTOCOL, e->why, 0);
		return 0;
	}
	return rc ? rc : smtpi_tx_pump(e);
}

/* QUIT goes out when asked for and the queue is empty, or when MAILMAX says this
   connection is used up (RFC 9422 4.1; the session then reconnects). */
static int quit_due(const struct smtpi_engine *e)
{
	return e->phase == SMTPI_PH_READY && e->pend_count == 0 && !e->body &&
	       ((e->quit_wanted && !e->q_head) || e->reconnect);
}

int smtpi_engine_recv(struct smtpi_engine *e, const char *buf, size_t len, int64_t now_us)
{
	e->now_us = now_us;
	while (len > 0) {
		if (e->phase == SMTPI_PH_CLOSED || e->phase == SMTPI_PH_DOWN)
			return 0;
		if (e->phase == SMTPI_PH_TLS) {
			/* RFC 3207 5 / CVE-2011-0411: nothing may follow the 220 to STARTTLS
			   in plain text; such bytes are an injection attempt. */
			smtpi_engine_fail(e, SMTP_EPROTOCOL,
					  "the server sent data after its STARTTLS reply", 0);
			return 0;
		}
		size_t used = 0;
		int rc = smtpi_reply_parse(&e->rp, buf, len, &used);
		if (rc < 0) {
			smtpi_engine_fail(e, SMTP_EPROTOCOL, "malformed or oversized reply", 0);
			return 0;
		}
		buf += used;
		len -= used;
		if (rc == SMTPI_REPLY_DONE) {
			rc = dispatch(e, &e->rp.reply);
			smtpi_reply_init(&e->rp);
			if (rc) {
				smtpi_engine_fail(e, rc, "out of memory", 0);
				return 0;
			}
		}
	}
	if (quit_due(e))
		send_quit(e);
	return 0;
}

int smtpi_engine_output(struct smtpi_engine *e, const char **p, size_t *len)
{
	if (quit_due(e))
		send_quit(e);
	if (e->body && smtpi_tx_fill(e))
		smtpi_engine_fail(e, SMTP_ENOMEM, "out of memory", 0);
	*p = e->out.data ? e->out.data + e->out.off : "";
	*len = smtpi_buf_pending(&e->out);
	return 0;
}

void smtpi_engine_sent(struct smtpi_engine *e, size_t n, int64_t now_us)
{
	e->now_us = now_us;
	smtpi_buf_consume(&e->out, n);
	e->sent_total += n;
	smtpi_pending_stamp(e);
	if (!e->body && !e->q_head && smtpi_buf_pending(&e->out) == 0)
		smtpi_buf_trim(&e->out);
}

int smtpi_engine_status(const struct smtpi_engine *e)
{
	int st = 0;
	if (smtpi_buf_pending(&e->out) > 0 || e->body || quit_due(e))
		st |= SMTPI_E_WRITE;
	if (e->pend_count > 0)
		st |= SMTPI_E_READ;
	if (e->phase == SMTPI_PH_TLS)
		st |= SMTPI_E_TLS;
	if (e->phase == SMTPI_PH_CLOSED)
		st |= SMTPI_E_CLOSED;
	return st;
}

smtp_stage smtpi_engine_stage(const struct smtpi_engine *e)
{
	if (e->body)
		return SMTP_STAGE_BODY;
	const struct smtpi_pending *h = smtpi_pending_head(e);
	if (h)
		return smtpi_cmd_stage(h->cmd);
	switch (e->phase) {
	case SMTPI_PH_DOWN:
		return SMTP_STAGE_CONNECT;
	case SMTPI_PH_GREETING:
		return SMTP_STAGE_GREETING;
	case SMTPI_PH_EHLO:
		return SMTP_STAGE_EHLO;
	case SMTPI_PH_STARTTLS:
	case SMTPI_PH_TLS:
		return SMTP_STAGE_TLS;
	case SMTPI_PH_AUTH:
		return SMTP_STAGE_AUTH;
	case SMTPI_PH_QUIT:
		return SMTP_STAGE_QUIT;
	default:
		return e->emit ? smtpi_tx_waiting_stage(e, e->emit) : e->last_stage;
	}
}

void smtpi_engine_quit(struct smtpi_engine *e)
{
	e->quit_wanted = 1;
}

int smtpi_engine_user_command(struct smtpi_engine *e, const char *line)
{
	if (e->phase != SMTPI_PH_READY || e->q_head || e->pend_count)
		return SMTP_ESTATE;
	e->user_done = 0;
	e->user_code = 0;
	return smtpi_pending_push(e, SMTPI_CMD_USER, NULL, 0, NULL, line, strlen(line));
}

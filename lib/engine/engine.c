/* The protocol engine: reply dispatch, the connection phase (greeting, EHLO/HELO,
   STARTTLS, then AUTH in auth.c), QUIT, and the byte interface to the session.
   Transactions live in transaction.c. No I/O happens here. */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smtpi_engine_init(struct smtpi_engine *e, const struct smtpi_engine_config *cfg,
		       struct smtp_report *session_report)
{
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->session_report = session_report;
	smtpi_capa_init(&e->capa);
	smtpi_reply_init(&e->rp);
}

static void end_sasl(struct smtpi_engine *e)
{
	if (e->sasl_active)
		smtpi_sasl_clear(&e->sasl);
	e->sasl_active = 0;
	smtpi_sasl_free_secret(e->auth_ir);
	e->auth_ir = NULL;
}

void smtpi_engine_free(struct smtpi_engine *e)
{
	smtpi_tx_fail_all(e, SMTP_FAILED, SMTP_STAGE_NONE, SMTP_ESTATE,
			  "session freed", NULL);
	end_sasl(e);
	smtpi_capa_clear(&e->capa);
	smtpi_buf_free(&e->out);
	free(e->pend);
	free(e->stage_buf);
	smtpi_connlog_unref(e->log);
	memset(e, 0, sizeof *e);
}

void smtpi_engine_trace(const struct smtpi_engine *e, smtp_trace_dir dir, const char *line,
			size_t len)
{
	if (e->cfg->trace)
		e->cfg->trace(e->cfg->trace_ud, dir, line, len);
}

/* ---- the connection log ---- */

void smtpi_engine_log(struct smtpi_engine *e, smtp_stage stage, const char *arg,
		      const struct smtpi_reply *reply, int err)
{
	struct smtpi_connlog *l = e->log;
	if (!l)
		return;
	/* The log is a report's step array; reuse the report builder on a borrowed view. */
	struct smtp_report view = {.steps = l->steps, .nsteps = l->nsteps, .cap = e->log_cap};
	smtpi_report_add(&view, stage, arg, reply, err);
	l->steps = view.steps;
	l->nsteps = view.nsteps;
	e->log_cap = view.cap;
}

void smtpi_engine_log_local(struct smtpi_engine *e, smtp_stage stage, const char *text,
			    int err)
{
	struct smtpi_reply *r = calloc(1, sizeof *r);
	if (!r) {
		smtpi_engine_log(e, stage, NULL, NULL, err);
		return;
	}
	snprintf(r->text, sizeof r->text, "%s", text ? text : "");
	r->text_len = strlen(r->text);
	smtpi_engine_log(e, stage, NULL, r, err);
	free(r);
}

int smtpi_engine_connecting(struct smtpi_engine *e, const char *peer)
{
	struct smtpi_connlog *l = smtpi_connlog_new();
	if (!l)
		return SMTP_ENOMEM;
	if (peer && !(l->peer = strdup(peer))) {
		smtpi_connlog_unref(l);
		return SMTP_ENOMEM;
	}
	smtpi_connlog_unref(e->log);
	e->log = l;
	e->log_cap = 0;
	smtpi_report_reset(e->session_report);
	e->session_report->conn = smtpi_connlog_ref(l);
	e->phase = SMTPI_PH_DOWN;
	e->error = 0;
	e->tls_active = 0;
	e->mails = 0;
	e->reconnect = 0;
	e->bdat_unsettled = 0;
	e->pend_head = e->pend_count = 0;
	smtpi_buf_consume(&e->out, smtpi_buf_pending(&e->out));
	smtpi_reply_init(&e->rp);
	smtpi_capa_clear(&e->capa);
	end_sasl(e);
	return 0;
}

static void set_tls_info(struct smtpi_engine *e, const struct smtpi_tls_info *info)
{
	if (e->log && info) {
		e->log->tls = 1;
		e->log->tls_info = *info;
	}
}

static int send_ehlo(struct smtpi_engine *e)
{
	char line[600];
	/* RFC 2033 4.1: LMTP greets with LHLO. */
	int n = snprintf(line, sizeof line, "%s %s", e->cfg->lmtp ? "LHLO" : "EHLO",
			 e->cfg->helo_name);
	e->phase = SMTPI_PH_EHLO;
	return smtpi_engine_command(e, SMTPI_P_EHLO, NULL, 0, NULL, line, (size_t)n);
}

void smtpi_engine_connected(struct smtpi_engine *e, int tls, const struct smtpi_tls_info *info)
{
	e->tls_active = tls;
	if (tls)
		set_tls_info(e, info);
	e->phase = SMTPI_PH_GREETING;
	smtpi_engine_command(e, SMTPI_P_GREETING, NULL, 0, NULL, NULL, 0);
}

void smtpi_engine_tls_ready(struct smtpi_engine *e, const struct smtpi_tls_info *info,
			    const char *cbind_type, const unsigned char *cbind, size_t cbind_len)
{
	e->tls_active = 1;
	set_tls_info(e, info);
	char text[160];
	snprintf(text, sizeof text, "%s %s%s", info->version, info->cipher,
		 info->resumed ? " (resumed)" : "");
	smtpi_engine_log_local(e, SMTP_STAGE_TLS, text, 0);
	if (cbind_type && cbind_len <= sizeof e->cbind_data) {
		memcpy(e->cbind_data, cbind, cbind_len);
		e->cbind.type = cbind_type;
		e->cbind.data = e->cbind_data;
		e->cbind.len = cbind_len;
	}
	/* RFC 3207 4.2: discard all knowledge from before TLS and greet again. */
	smtpi_capa_clear(&e->capa);
	send_ehlo(e);
}

/* ---- commands and the pending-reply queue ---- */

static int push_pending(struct smtpi_engine *e, enum smtpi_pending_kind kind,
			smtp_message *m, size_t idx)
{
	if (e->pend_count == e->pend_cap) {
		size_t cap = e->pend_cap ? e->pend_cap * 2 : 16;
		struct smtpi_pending *p = malloc(cap * sizeof *p);
		if (!p)
			return SMTP_ENOMEM;
		for (size_t i = 0; i < e->pend_count; i++)
			p[i] = e->pend[(e->pend_head + i) % e->pend_cap];
		free(e->pend);
		e->pend = p;
		e->pend_cap = cap;
		e->pend_head = 0;
	}
	struct smtpi_pending *p = &e->pend[(e->pend_head + e->pend_count) % e->pend_cap];
	p->kind = kind;
	p->m = m;
	p->idx = idx;
	e->pend_count++;
	return 0;
}

int smtpi_engine_command(struct smtpi_engine *e, enum smtpi_pending_kind kind,
			 smtp_message *m, size_t idx, const char *trace_as,
			 const char *line, size_t len)
{
	if (line) {
		if (smtpi_buf_reserve(&e->out, len + 2))
			return SMTP_ENOMEM;
		memcpy(e->out.data + e->out.len, line, len);
		memcpy(e->out.data + e->out.len + len, "\r\n", 2);
		e->out.len += len + 2;
		if (trace_as)
			smtpi_engine_trace(e, SMTP_TRACE_SEND, trace_as, strlen(trace_as));
		else
			smtpi_engine_trace(e, SMTP_TRACE_SEND, line, len);
	}
	return push_pending(e, kind, m, idx);
}

void smtpi_engine_quit(struct smtpi_engine *e)
{
	e->quit_wanted = 1;
}

/* QUIT goes out when asked for and the queue is empty, or when MAILMAX says this
   connection is used up (RFC 9422 4.1; the session then reconnects). */
static int quit_due(const struct smtpi_engine *e)
{
	return e->phase == SMTPI_PH_READY && e->pend_count == 0 && !e->body &&
	       ((e->quit_wanted && !e->q_head) || e->reconnect);
}

static void send_quit(struct smtpi_engine *e)
{
	e->phase = SMTPI_PH_QUIT;
	smtpi_engine_command(e, SMTPI_P_QUIT, NULL, 0, NULL, "QUIT", 4);
}

static smtp_outcome outcome_of(int code)
{
	return code >= 400 && code < 500 ? SMTP_DEFERRED : SMTP_BOUNCED;
}

void smtpi_engine_refuse(struct smtpi_engine *e, smtp_stage stage,
			 const struct smtpi_reply *reply, int err, const char *detail)
{
	smtp_outcome oc = reply && reply->code >= 400 ? outcome_of(reply->code) : SMTP_FAILED;
	if (!e->error)
		e->error = err;
	end_sasl(e);
	if (!e->session_report->error)
		smtpi_report_fail(e->session_report, oc, stage, err, detail);
	smtpi_tx_fail_all(e, oc, stage, err, detail, reply);
	/* RFC 5321 4.1.1.10: end politely when the server still listens; after 421 it
	   has closed (RFC 5321 3.8). */
	if ((!reply || reply->code != 421) && e->pend_count == 0)
		send_quit(e);
	else
		e->phase = SMTPI_PH_CLOSED;
}

void smtpi_engine_fail(struct smtpi_engine *e, int err, const char *detail)
{
	smtp_stage stage = smtpi_engine_stage(e);
	if (e->phase <= SMTPI_PH_AUTH)
		smtpi_engine_log_local(e, stage, detail, err);
	/* the first failure is the one to report; what follows is its consequence */
	if (!e->error)
		e->error = err;
	end_sasl(e);
	if (!e->session_report->error)
		smtpi_report_fail(e->session_report, SMTP_FAILED, stage, err, detail);
	smtpi_tx_fail_all(e, SMTP_FAILED, stage, err, detail, NULL);
	e->phase = SMTPI_PH_CLOSED;
	e->pend_count = 0;
	smtpi_buf_consume(&e->out, smtpi_buf_pending(&e->out));
}

int smtpi_engine_user_command(struct smtpi_engine *e, const char *line)
{
	if (e->phase != SMTPI_PH_READY || e->q_head || e->pend_count)
		return SMTP_ESTATE;
	e->cmd_done = 0;
	e->cmd_code = 0;
	return smtpi_engine_command(e, SMTPI_P_CMD, NULL, 0, NULL, line, strlen(line));
}

int smtpi_engine_ready(struct smtpi_engine *e)
{
	e->phase = SMTPI_PH_READY;
	return smtpi_tx_pump(e);
}

/* After EHLO/HELO (and TLS): STARTTLS, AUTH or ready, as the mode requires. */
static int after_hello(struct smtpi_engine *e, int ehlo)
{
	int offered = ehlo && (e->capa.flags & SMTPI_CAPA_STARTTLS);
	smtp_tls mode = e->cfg->tls_mode;
	if (!e->tls_active && (mode == SMTP_TLS_STARTTLS || mode == SMTP_TLS_OPPORTUNISTIC)) {
		if (offered) {
			e->phase = SMTPI_PH_STARTTLS;
			return smtpi_engine_command(e, SMTPI_P_STARTTLS, NULL, 0, NULL, "STARTTLS", 8);
		}
		/* RFC 3207 4: a client that requires TLS must not go on without it. */
		if (mode == SMTP_TLS_STARTTLS) {
			smtpi_engine_refuse(e, SMTP_STAGE_EHLO, NULL, SMTP_ENOTLS,
					    "the server does not offer STARTTLS");
			return e->error;
		}
	}
	if (e->cfg->user)
		return smtpi_auth_begin(e);
	return smtpi_engine_ready(e);
}

static int on_greeting(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	smtpi_engine_log(e, SMTP_STAGE_GREETING, NULL, r, 0);
	if (r->code == 220)
		return send_ehlo(e);
	/* RFC 5321 3.1: 554 instead of 220 means no service; QUIT and close. */
	smtpi_engine_refuse(e, SMTP_STAGE_GREETING, r, r->code == 421 ? SMTP_ECLOSED : SMTP_EREJECTED,
			    NULL);
	return e->error;
}

static int on_ehlo(struct smtpi_engine *e, const struct smtpi_reply *r, int helo)
{
	smtpi_engine_log(e, SMTP_STAGE_EHLO, NULL, r, 0);
	if (r->code / 100 == 2) {
		if (!helo && smtpi_capa_parse(&e->capa, r->text, r->text_len))
			return SMTP_ENOMEM;
		if (e->log)
			e->log->enhanced_advertised =
				(e->capa.flags & SMTPI_CAPA_ENHANCEDSTATUSCODES) != 0;
		return after_hello(e, !helo);
	}
	/* RFC 5321 4.1.4: a server that does not know EHLO answers 500/502; fall back
	   to HELO (LMTP has no HELO, RFC 2033 4.1). */
	if (!helo && !e->cfg->lmtp && (r->code == 500 || r->code == 502)) {
		char line[600];
		int n = snprintf(line, sizeof line, "HELO %s", e->cfg->helo_name);
		return smtpi_engine_command(e, SMTPI_P_HELO, NULL, 0, NULL, line, (size_t)n);
	}
	smtpi_engine_refuse(e, SMTP_STAGE_EHLO, r, r->code == 421 ? SMTP_ECLOSED : SMTP_EREJECTED,
			    NULL);
	return e->error;
}

static int on_starttls(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	smtpi_engine_log(e, SMTP_STAGE_STARTTLS, NULL, r, 0);
	if (r->code == 220) {
		e->phase = SMTPI_PH_TLS;
		return 0;
	}
	if (e->cfg->tls_mode == SMTP_TLS_OPPORTUNISTIC && r->code != 421) {
		if (e->cfg->user)
			return smtpi_auth_begin(e);
		return smtpi_engine_ready(e);
	}
	smtpi_engine_refuse(e, SMTP_STAGE_STARTTLS, r,
			    r->code == 421 ? SMTP_ECLOSED : SMTP_ENOTLS,
			    "the server refused STARTTLS");
	return e->error;
}

static int on_quit(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	smtpi_report_add(e->session_report, SMTP_STAGE_QUIT, NULL, r, 0);
	e->phase = SMTPI_PH_CLOSED;
	return 0;
}

static void trace_reply(const struct smtpi_engine *e, const struct smtpi_reply *r)
{
	if (!e->cfg->trace)
		return;
	char line[SMTPI_REPLY_MAX_LINE + 32];
	char enh[16];
	const char *t = r->text;
	for (size_t i = 0; i < r->nlines; i++) {
		const char *nl = strchr(t, '\n');
		size_t n = nl ? (size_t)(nl - t) : strlen(t);
		const char *code = smtpi_reply_enhanced(r, enh, sizeof enh);
		int len = snprintf(line, sizeof line, "%d%c%s%s%.*s", r->code,
				   i + 1 < r->nlines ? '-' : ' ', code ? code : "",
				   code ? " " : "", (int)n, t);
		smtpi_engine_trace(e, SMTP_TRACE_RECV, line,
				   (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
		t = nl ? nl + 1 : t + n;
	}
}

static int dispatch(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	trace_reply(e, r);
	e->replies++;
	if (e->pend_count == 0) {
		/* RFC 5321 3.8: a server may announce 421 at any time, then close. */
		if (r->code == 421) {
			smtpi_engine_log(e, smtpi_engine_stage(e), NULL, r, SMTP_ECLOSED);
			smtpi_engine_refuse(e, smtpi_engine_stage(e), r, SMTP_ECLOSED, NULL);
			return e->error;
		}
		smtpi_engine_fail(e, SMTP_EPROTOCOL, "reply without a command");
		return e->error;
	}
	struct smtpi_pending p = e->pend[e->pend_head];
	e->last_stage = smtpi_pending_stage(p.kind);
	e->pend_head = (e->pend_head + 1) % e->pend_cap;
	e->pend_count--;
	switch (p.kind) {
	case SMTPI_P_GREETING:
		return on_greeting(e, r);
	case SMTPI_P_EHLO:
		return on_ehlo(e, r, 0);
	case SMTPI_P_HELO:
		return on_ehlo(e, r, 1);
	case SMTPI_P_STARTTLS:
		return on_starttls(e, r);
	case SMTPI_P_AUTH:
		return smtpi_auth_reply(e, r);
	case SMTPI_P_QUIT:
		return on_quit(e, r);
	case SMTPI_P_CMD:
		smtpi_report_add(e->session_report, SMTP_STAGE_COMMAND, NULL, r, 0);
		e->cmd_done = 1;
		e->cmd_code = r->code;
		return 0;
	default:
		return smtpi_tx_reply(e, &p, r);
	}
}

int smtpi_engine_recv(struct smtpi_engine *e, const char *buf, size_t len)
{
	while (len > 0) {
		if (e->phase == SMTPI_PH_CLOSED || e->phase == SMTPI_PH_DOWN)
			return 0;
		if (e->phase == SMTPI_PH_TLS) {
			/* RFC 3207 5 / CVE-2011-0411: nothing may follow the 220 to STARTTLS
			   in plain text; such bytes are an injection attempt. */
			smtpi_engine_fail(e, SMTP_EPROTOCOL,
					  "the server sent data after its STARTTLS reply");
			return 0;
		}
		size_t used = 0;
		int rc = smtpi_reply_parse(&e->rp, buf, len, &used);
		if (rc < 0) {
			smtpi_engine_fail(e, SMTP_EPROTOCOL, "malformed or oversized reply");
			return 0;
		}
		buf += used;
		len -= used;
		if (rc == SMTPI_REPLY_DONE) {
			/* a refusal is already recorded and its QUIT queued; only running
			   out of memory stops the dialogue here */
			rc = dispatch(e, &e->rp.reply);
			smtpi_reply_init(&e->rp);
			if (rc == SMTP_ENOMEM)
				return rc;
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
	if (e->body) {
		int rc = smtpi_tx_fill_body(e);
		if (rc)
			return rc;
	}
	*p = e->out.data ? e->out.data + e->out.off : "";
	*len = smtpi_buf_pending(&e->out);
	return 0;
}

void smtpi_engine_sent(struct smtpi_engine *e, size_t n)
{
	smtpi_buf_consume(&e->out, n);
	if (!e->body && !e->q_head && smtpi_buf_pending(&e->out) == 0)
		smtpi_buf_trim(&e->out);
}

int smtpi_engine_status(const struct smtpi_engine *e)
{
	int st = 0;
	if (smtpi_buf_pending(&e->out) > 0 || e->body)
		st |= SMTPI_E_WRITE;
	if (e->pend_count > 0)
		st |= SMTPI_E_READ;
	if (e->phase == SMTPI_PH_TLS)
		st |= SMTPI_E_TLS;
	if (e->phase == SMTPI_PH_CLOSED)
		st |= SMTPI_E_CLOSED;
	if (quit_due(e))
		st |= SMTPI_E_WRITE;
	return st;
}

smtp_stage smtpi_pending_stage(enum smtpi_pending_kind kind)
{
	static const smtp_stage stage_of[] = {
		[SMTPI_P_GREETING] = SMTP_STAGE_GREETING, [SMTPI_P_EHLO] = SMTP_STAGE_EHLO,
		[SMTPI_P_HELO] = SMTP_STAGE_EHLO,         [SMTPI_P_STARTTLS] = SMTP_STAGE_STARTTLS,
		[SMTPI_P_AUTH] = SMTP_STAGE_AUTH,         [SMTPI_P_MAIL] = SMTP_STAGE_MAIL,
		[SMTPI_P_RCPT] = SMTP_STAGE_RCPT,         [SMTPI_P_DATA] = SMTP_STAGE_DATA,
		[SMTPI_P_FINAL] = SMTP_STAGE_BODY,        [SMTPI_P_RSET] = SMTP_STAGE_RSET,
		[SMTPI_P_QUIT] = SMTP_STAGE_QUIT,         [SMTPI_P_BDAT] = SMTP_STAGE_BODY,
		[SMTPI_P_SYNC] = SMTP_STAGE_RSET,         [SMTPI_P_CMD] = SMTP_STAGE_COMMAND,
	};
	return stage_of[kind];
}

smtp_stage smtpi_engine_stage(const struct smtpi_engine *e)
{
	if (e->body)
		return SMTP_STAGE_BODY;
	if (e->pend_count > 0)
		return smtpi_pending_stage(e->pend[e->pend_head].kind);
	switch (e->phase) {
	case SMTPI_PH_DOWN:
		return SMTP_STAGE_CONNECT;
	case SMTPI_PH_TLS:
		return SMTP_STAGE_TLS;
	case SMTPI_PH_QUIT:
		return SMTP_STAGE_QUIT;
	default:
		return e->emit ? smtpi_tx_stage(e->emit) : e->last_stage;
	}
}

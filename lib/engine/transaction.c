/* Mail transactions (RFC 5321 3.3): MAIL, RCPT, DATA or BDAT, the final reply, RSET
   after a failure; grouped per RFC 2920 when the server offers PIPELINING, queued
   messages following each other without waiting (RFC 2920 3.1). The envelope
   parameters (SIZE, BODY, SMTPUTF8, DSN, REQUIRETLS) are in envelope.c, the body
   blocks in body_out.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/envelope.h"

smtp_stage smtpi_tx_stage(const smtp_message *m)
{
	switch (m->cursor) {
	case SMTPI_MSG_RCPT:
		return SMTP_STAGE_RCPT;
	case SMTPI_MSG_DATA:
	case SMTPI_MSG_WAIT_DATA:
		return SMTP_STAGE_DATA;
	case SMTPI_MSG_BODY:
	case SMTPI_MSG_WAIT_FINAL:
		return SMTP_STAGE_BODY;
	case SMTPI_MSG_RSET:
	case SMTPI_MSG_WAIT_RSET:
		return SMTP_STAGE_RSET;
	default:
		return SMTP_STAGE_MAIL;
	}
}

static void unlink_message(struct smtpi_engine *e, smtp_message *m)
{
	smtp_message **pp = &e->q_head;
	smtp_message *prev = NULL;
	while (*pp && *pp != m) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = m->next;
	if (e->q_tail == m)
		e->q_tail = prev;
	if (e->emit == m)
		e->emit = m->next;
	if (e->body == m)
		e->body = NULL;
	m->next = NULL;
}

void smtpi_tx_finish(struct smtpi_engine *e, smtp_message *m)
{
	unlink_message(e, m);
	smtpi_envelope_clear(m);
	m->cursor = SMTPI_MSG_DONE;
	if (e->cfg->message_done)
		e->cfg->message_done(e->cfg->message_done_ud, m);
}

void smtpi_tx_attach_log(struct smtpi_engine *e, smtp_message *m)
{
	if (!m->report.conn)
		m->report.conn = smtpi_connlog_ref(e->log);
}

/* The stage a message is waiting in: that of its oldest unanswered command, else
   where its cursor stands. */
static smtp_stage waiting_stage(const struct smtpi_engine *e, const smtp_message *m)
{
	for (size_t i = 0; i < e->pend_count; i++) {
		const struct smtpi_pending *p = &e->pend[(e->pend_head + i) % e->pend_cap];
		if (p->m == m)
			return smtpi_pending_stage(p->kind);
	}
	return smtpi_tx_stage(m);
}

void smtpi_tx_fail_all(struct smtpi_engine *e, smtp_outcome outcome, smtp_stage stage,
		       int err, const char *detail, const struct smtpi_reply *reply)
{
	while (e->q_head) {
		smtp_message *m = e->q_head;
		smtp_stage st = m->cursor == SMTPI_MSG_QUEUED && stage ? stage : waiting_stage(e, m);
		smtpi_tx_attach_log(e, m);
		if (m->cursor != SMTPI_MSG_QUEUED)
			smtpi_report_add(&m->report, st, NULL, reply, reply ? 0 : err);
		if (m->report.outcome == SMTP_PENDING) {
			for (size_t i = 0; i < m->report.nrcpts; i++)
				m->report.rcpts[i].accepted = 0;
			smtpi_report_fail(&m->report, outcome, st, err, detail);
		}
		smtpi_tx_finish(e, m);
	}
	e->emit = NULL;
	e->body = NULL;
}

/* ---- submitting ---- */

int smtpi_engine_submit(struct smtpi_engine *e, smtp_message *m)
{
	if (m->cursor != SMTPI_MSG_IDLE && m->cursor != SMTPI_MSG_DONE)
		return SMTP_ESTATE;
	if (!m->from || m->nrcpts == 0 || (!m->data && !m->reader))
		return SMTP_EINVAL;
	int rc = smtpi_envelope_scan(m);
	if (rc)
		return rc;
	smtpi_report_reset(&m->report);
	if (smtpi_report_set_rcpts(&m->report, m->rcpts, m->nrcpts)) {
		smtpi_report_reset(&m->report);
		return SMTP_ENOMEM;
	}
	m->cursor = SMTPI_MSG_QUEUED;
	m->next = NULL;
	m->tx_first = m->tx_end = 0;
	m->fail_stage = SMTP_STAGE_NONE;
	m->fail_temp = 0;
	if (e->q_tail)
		e->q_tail->next = m;
	else
		e->q_head = m;
	e->q_tail = m;
	if (!e->emit)
		e->emit = m;
	return smtpi_tx_pump(e);
}

/* ---- the outcome ---- */

/* A refusal that ends the current transaction; the first one names the stage. */
void smtpi_tx_refused(smtp_message *m, smtp_stage stage, int code)
{
	if (m->tx_failed)
		return;
	m->tx_failed = 1;
	m->fail_stage = stage;
	m->fail_temp |= code / 100 == 4;
}

/* The message's outcome once every transaction it needed is over. */
static void settle(smtp_message *m)
{
	if (m->report.outcome != SMTP_PENDING)
		return;
	size_t ok = 0;
	int temp = m->fail_temp;
	for (size_t i = 0; i < m->report.nrcpts; i++) {
		ok += m->report.rcpts[i].accepted ? 1 : 0;
		temp |= m->report.rcpts[i].code / 100 == 4;
	}
	if (ok == m->report.nrcpts)
		smtpi_report_fail(&m->report, SMTP_SENT, SMTP_STAGE_NONE, 0, NULL);
	else if (ok > 0)
		smtpi_report_fail(&m->report, SMTP_SENT_PARTIAL, SMTP_STAGE_NONE, 0, NULL);
	else
		smtpi_report_fail(&m->report, temp ? SMTP_DEFERRED : SMTP_BOUNCED,
				  m->fail_stage ? m->fail_stage : SMTP_STAGE_BODY, SMTP_EREJECTED, NULL);
}

/* A transaction ended: the next one for the remaining recipients (RCPTMAX), or the
   message is done. */
static void transaction_over(struct smtpi_engine *e, smtp_message *m)
{
	if (m->tx_end < m->nrcpts) {
		m->tx_first = m->tx_end;
		m->cursor = SMTPI_MSG_MAIL;
		if (!e->emit || e->emit == m->next)
			e->emit = m;
		return;
	}
	settle(m);
	smtpi_tx_finish(e, m);
}

/* ---- writing commands ---- */

static int send_line(struct smtpi_engine *e, enum smtpi_pending_kind kind, smtp_message *m,
		     size_t idx, const char *line)
{
	return smtpi_engine_command(e, kind, m, idx, NULL, line, strlen(line));
}

static int send_mail(struct smtpi_engine *e, smtp_message *m)
{
	smtpi_tx_attach_log(e, m);
	if (m->cursor == SMTPI_MSG_QUEUED) {
		char why[160];
		int err = smtpi_envelope_check(e, m, why, sizeof why);
		if (err == SMTP_ENOMEM)
			return err;
		if (err) {
			smtpi_report_fail(&m->report, SMTP_FAILED, SMTP_STAGE_MAIL, err, why);
			smtpi_tx_finish(e, m);
			return 0;
		}
	}
	/* RFC 9422 4.2: at most RCPTMAX recipients per transaction */
	size_t left = m->nrcpts - m->tx_first;
	m->tx_end = m->tx_first + (e->capa.rcptmax && left > e->capa.rcptmax ? e->capa.rcptmax : left);
	m->next_rcpt = m->tx_first;
	m->rcpt_replies = m->rcpt_ok = m->final_replies = 0;
	m->tx_failed = 0;
	m->bdat = smtpi_envelope_use_bdat(e, m);
	/* RFC 3030 2: after a pipelined BDAT LAST the server may still hold a failed
	   transaction; a resynchronising RSET costs no round trip. */
	if (e->bdat_unsettled > 0 && send_line(e, SMTPI_P_SYNC, m, 0, "RSET"))
		return SMTP_ENOMEM;
	char *line = smtpi_envelope_mail_line(e, m);
	if (!line)
		return SMTP_ENOMEM;
	e->mails++;
	int rc = send_line(e, SMTPI_P_MAIL, m, 0, line);
	free(line);
	m->cursor = SMTPI_MSG_RCPT;
	return rc;
}

static int send_rcpt(struct smtpi_engine *e, smtp_message *m)
{
	size_t i = m->next_rcpt++;
	char *line = smtpi_envelope_rcpt_line(e, m, i);
	if (!line)
		return SMTP_ENOMEM;
	int rc = send_line(e, SMTPI_P_RCPT, m, i, line);
	free(line);
	if (m->next_rcpt == m->tx_end)
		m->cursor = SMTPI_MSG_DATA;
	return rc;
}

/* RFC 9422 4.1: MAILMAX transactions per connection, then a new connection. */
static int mailmax_reached(struct smtpi_engine *e, const smtp_message *m)
{
	return (m->cursor == SMTPI_MSG_QUEUED || m->cursor == SMTPI_MSG_MAIL) &&
	       e->capa.mailmax && e->mails >= e->capa.mailmax;
}

int smtpi_tx_pump(struct smtpi_engine *e)
{
	int pipelining = (e->capa.flags & SMTPI_CAPA_PIPELINING) != 0;
	while (e->phase == SMTPI_PH_READY && e->emit && !e->body && !e->reconnect) {
		smtp_message *m = e->emit;
		/* RFC 2920 3.1: without PIPELINING, wait for each reply. */
		if (!pipelining && e->pend_count > 0)
			break;
		if (mailmax_reached(e, m)) {
			e->reconnect = 1;
			break;
		}
		int rc = 0;
		switch (m->cursor) {
		case SMTPI_MSG_QUEUED:
		case SMTPI_MSG_MAIL:
			rc = send_mail(e, m);
			break;
		case SMTPI_MSG_RCPT:
			rc = send_rcpt(e, m);
			break;
		case SMTPI_MSG_DATA:
			if (m->bdat) {
				/* RFC 3030 2: chunks follow the RCPTs without a DATA */
				rc = smtpi_body_start(e, m);
				break;
			}
			m->cursor = SMTPI_MSG_WAIT_DATA;
			/* RFC 2920 3.1: DATA ends a group; the body waits for 354. */
			return send_line(e, SMTPI_P_DATA, m, 0, "DATA");
		case SMTPI_MSG_RSET:
			m->cursor = SMTPI_MSG_WAIT_RSET;
			rc = send_line(e, SMTPI_P_RSET, m, 0, "RSET");
			if (m->tx_end >= m->nrcpts)
				e->emit = m->next;
			else
				return rc;
			break;
		case SMTPI_MSG_WAIT_DATA:
			return 0;
		case SMTPI_MSG_WAIT_FINAL:
		case SMTPI_MSG_WAIT_RSET:
			/* the next RCPTMAX part waits for this transaction's end */
			if (m->tx_end < m->nrcpts)
				return 0;
			e->emit = m->next;
			break;
		default:
			e->emit = m->next;
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- replies ---- */

static int on_mail(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_MAIL, m->from, r, 0);
	if (r->code / 100 == 2)
		return 0;
	smtpi_tx_refused(m, SMTP_STAGE_MAIL, r->code);
	if (!(e->capa.flags & SMTPI_CAPA_PIPELINING))
		m->cursor = SMTPI_MSG_RSET;
	return 0;
}

/* A failed transaction sends no further BDAT chunk (RFC 3030 2); RSET follows. */
static void stop_chunks(struct smtpi_engine *e, smtp_message *m)
{
	if (e->body != m)
		return;
	e->body = NULL;
	m->cursor = SMTPI_MSG_RSET;
	e->emit = m;
}

static int on_rcpt(struct smtpi_engine *e, smtp_message *m, size_t i, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_RCPT, m->rcpts[i], r, 0);
	smtpi_report_rcpt_reply(&m->report, i, r);
	m->rcpt_replies++;
	if (r->code / 100 == 2)
		m->rcpt_ok++;
	if (m->rcpt_replies == m->tx_end - m->tx_first && m->rcpt_ok == 0) {
		smtpi_tx_refused(m, SMTP_STAGE_RCPT, r->code);
		if (!(e->capa.flags & SMTPI_CAPA_PIPELINING))
			m->cursor = SMTPI_MSG_RSET;
		stop_chunks(e, m);
	}
	return 0;
}

static int on_data(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_DATA, NULL, r, 0);
	if (r->code == 354 && !m->tx_failed)
		return smtpi_body_start(e, m);
	if (r->code == 354) {
		/* RFC 2920 3.1: DATA accepted although the transaction already failed:
		   end the empty content with a lone dot. */
		m->cursor = SMTPI_MSG_WAIT_FINAL;
		int rc = smtpi_engine_command(e, SMTPI_P_FINAL, m, SIZE_MAX, NULL, ".", 1);
		return rc ? rc : smtpi_tx_pump(e);
	}
	smtpi_tx_refused(m, SMTP_STAGE_DATA, r->code);
	m->cursor = SMTPI_MSG_RSET;
	return smtpi_tx_pump(e);
}

/* A chunk before the last one (RFC 3030 2): a refusal ends the transaction, no
   further chunk goes out, and RSET follows. */
static int on_bdat(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	if (r->code / 100 == 2)
		return 0;
	smtpi_report_add(&m->report, SMTP_STAGE_BODY, NULL, r, 0);
	smtpi_tx_refused(m, SMTP_STAGE_BODY, r->code);
	for (size_t i = m->tx_first; i < m->tx_end; i++)
		m->report.rcpts[i].accepted = 0;
	stop_chunks(e, m);
	return smtpi_tx_pump(e);
}

static int on_final(struct smtpi_engine *e, smtp_message *m, size_t idx,
		    const struct smtpi_reply *r)
{
	if (m->bdat && e->bdat_unsettled > 0 && m->final_replies == 0)
		e->bdat_unsettled--;
	if (idx == SIZE_MAX) {
		/* the reply to the lone dot or last chunk of an already failed transaction */
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, NULL, r, 0);
		transaction_over(e, m);
		return 0;
	}
	if (e->cfg->lmtp) {
		/* RFC 2033 4.2: one reply per accepted recipient, in RCPT order */
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, m->rcpts[idx], r, 0);
		smtpi_report_rcpt_reply(&m->report, idx, r);
		if (++m->final_replies < m->rcpt_ok)
			return 0;
	} else {
		m->final_replies++;
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, NULL, r, 0);
		if (r->code / 100 != 2) {
			smtpi_tx_refused(m, SMTP_STAGE_BODY, r->code);
			for (size_t i = m->tx_first; i < m->tx_end; i++)
				m->report.rcpts[i].accepted = 0;
		} else if (m->tx_failed) {
			for (size_t i = m->tx_first; i < m->tx_end; i++)
				m->report.rcpts[i].accepted = 0;
		}
	}
	if (r->code / 100 == 2)
		smtpi_report_take_queue_id(&m->report, r->text);
	transaction_over(e, m);
	return 0;
}

static int on_rset(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_RSET, NULL, r, 0);
	for (size_t i = m->tx_first; i < m->tx_end; i++)
		m->report.rcpts[i].accepted = 0;
	transaction_over(e, m);
	return 0;
}

int smtpi_tx_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
		   const struct smtpi_reply *r)
{
	smtp_message *m = p->m;
	if (p->kind == SMTPI_P_SYNC)
		return smtpi_tx_pump(e); /* only resynchronises; the trace shows it */
	/* RFC 5321 3.8: 421 means the server is closing; everything pending is deferred. */
	if (r->code == 421) {
		smtp_stage stage = smtpi_pending_stage(p->kind);
		smtpi_report_add(&m->report, stage, NULL, r, 0);
		smtpi_report_fail(&m->report, SMTP_DEFERRED, stage, SMTP_ECLOSED, NULL);
		smtpi_tx_finish(e, m);
		smtpi_engine_refuse(e, stage, r, SMTP_ECLOSED, NULL);
		return e->error;
	}
	int rc = 0;
	switch (p->kind) {
	case SMTPI_P_MAIL:
		rc = on_mail(e, m, r);
		break;
	case SMTPI_P_RCPT:
		rc = on_rcpt(e, m, p->idx, r);
		break;
	case SMTPI_P_DATA:
		return on_data(e, m, r);
	case SMTPI_P_BDAT:
		return on_bdat(e, m, r);
	case SMTPI_P_FINAL:
		rc = on_final(e, m, p->idx, r);
		break;
	case SMTPI_P_RSET:
		rc = on_rset(e, m, r);
		break;
	default:
		break;
	}
	return rc ? rc : smtpi_tx_pump(e);
}

/* Mail transactions (RFC 5321 3.3): MAIL, RCPT, DATA, the body and its final reply,
   RSET after a failure; grouped per RFC 2920 when the server offers PIPELINING, and
   queued messages follow each other without waiting (RFC 2920 3.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "engine.h"

/* Body blocks: enough to keep the socket busy, small enough to stay cheap. */
#define BODY_BLOCK (64 * 1024)

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

static void finish(struct smtpi_engine *e, smtp_message *m)
{
	unlink_message(e, m);
	m->cursor = SMTPI_MSG_DONE;
	if (e->cfg->message_done)
		e->cfg->message_done(e->cfg->message_done_ud, m);
}

static void attach_log(struct smtpi_engine *e, smtp_message *m)
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
		attach_log(e, m);
		if (m->cursor != SMTPI_MSG_QUEUED)
			smtpi_report_add(&m->report, st, NULL, reply, reply ? 0 : err);
		if (m->report.outcome == SMTP_PENDING || m->report.outcome == SMTP_SENT ||
		    m->report.outcome == SMTP_SENT_PARTIAL) {
			for (size_t i = 0; i < m->report.nrcpts; i++)
				m->report.rcpts[i].accepted = 0;
			smtpi_report_fail(&m->report, outcome, st, err, detail);
		}
		finish(e, m);
	}
	e->emit = NULL;
	e->body = NULL;
}

/* ---- submitting ---- */

/* RFC 5321 4.5.3.1.6: prescan in-memory content for lines over 998 octets, so the
   caller hears SMTP_EINVAL before any byte goes out. */
static int long_line(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > SMTPI_BODY_MAX_LINE) {
			/* a lone CR also ends a line */
			size_t run = 0;
			for (size_t i = 0; i < n; i++) {
				run = p[i] == '\r' ? 0 : run + 1;
				if (run > SMTPI_BODY_MAX_LINE)
					return 1;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int smtpi_engine_submit(struct smtpi_engine *e, smtp_message *m)
{
	if (m->cursor != SMTPI_MSG_IDLE && m->cursor != SMTPI_MSG_DONE)
		return SMTP_ESTATE;
	if (!m->from || m->nrcpts == 0 || (!m->data && !m->reader))
		return SMTP_EINVAL;
	if (m->data && !m->long_lines && long_line(m->data, m->data_len))
		return SMTP_EINVAL;
	smtpi_report_reset(&m->report);
	if (smtpi_report_set_rcpts(&m->report, m->rcpts, m->nrcpts)) {
		smtpi_report_reset(&m->report);
		return SMTP_ENOMEM;
	}
	m->cursor = SMTPI_MSG_QUEUED;
	m->next = NULL;
	m->next_rcpt = m->rcpt_replies = m->rcpt_ok = m->final_replies = 0;
	m->tempfail = 0;
	m->data_off = 0;
	m->reader_done = 0;
	if (e->q_tail)
		e->q_tail->next = m;
	else
		e->q_head = m;
	e->q_tail = m;
	if (!e->emit)
		e->emit = m;
	return smtpi_tx_pump(e);
}

/* ---- writing commands ---- */

static int send_mail(struct smtpi_engine *e, smtp_message *m)
{
	/* RFC 6531 3.4: an address with a UTF-8 local part needs SMTPUTF8. */
	if (smtpi_message_needs_utf8(m) && !(e->capa.flags & SMTPI_CAPA_SMTPUTF8)) {
		attach_log(e, m);
		smtpi_report_fail(&m->report, SMTP_LOCAL_ERROR, SMTP_STAGE_MAIL, SMTP_EUTF8,
				  "an address needs SMTPUTF8, which the server does not offer");
		finish(e, m);
		return 0;
	}
	size_t need = strlen(m->from) + 64;
	char *line = malloc(need);
	if (!line)
		return SMTP_ENOMEM;
	int n = snprintf(line, need, "MAIL FROM:<%s>%s", m->from,
			 smtpi_message_needs_utf8(m) ? " SMTPUTF8" : "");
	attach_log(e, m);
	int rc = smtpi_engine_command(e, SMTPI_P_MAIL, m, 0, NULL, line, (size_t)n);
	free(line);
	m->cursor = SMTPI_MSG_RCPT;
	return rc;
}

static int send_rcpt(struct smtpi_engine *e, smtp_message *m)
{
	size_t i = m->next_rcpt++;
	size_t need = strlen(m->rcpts[i]) + 16;
	char *line = malloc(need);
	if (!line)
		return SMTP_ENOMEM;
	int n = snprintf(line, need, "RCPT TO:<%s>", m->rcpts[i]);
	int rc = smtpi_engine_command(e, SMTPI_P_RCPT, m, i, NULL, line, (size_t)n);
	free(line);
	if (m->next_rcpt == m->nrcpts)
		m->cursor = SMTPI_MSG_DATA;
	return rc;
}

int smtpi_tx_pump(struct smtpi_engine *e)
{
	int pipelining = (e->capa.flags & SMTPI_CAPA_PIPELINING) != 0;
	while (e->phase == SMTPI_PH_READY && e->emit && !e->body) {
		smtp_message *m = e->emit;
		/* RFC 2920 3.1: without PIPELINING, wait for each reply. */
		if (!pipelining && e->pend_count > 0)
			break;
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
			m->cursor = SMTPI_MSG_WAIT_DATA;
			/* RFC 2920 3.1: DATA ends a group; the body waits for 354. */
			return smtpi_engine_command(e, SMTPI_P_DATA, m, 0, NULL, "DATA", 4);
		case SMTPI_MSG_RSET:
			m->cursor = SMTPI_MSG_WAIT_RSET;
			e->emit = m->next;
			rc = smtpi_engine_command(e, SMTPI_P_RSET, m, 0, NULL, "RSET", 4);
			break;
		case SMTPI_MSG_WAIT_DATA:
			return 0;
		default:
			e->emit = m->next;
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the body ---- */

static long read_more(struct smtpi_engine *e, smtp_message *m)
{
	if (!e->stage_buf && !(e->stage_buf = malloc(BODY_BLOCK)))
		return SMTP_ENOMEM;
	long n = m->reader(m->reader_ud, e->stage_buf, BODY_BLOCK);
	if (n < 0 || n > BODY_BLOCK)
		return n < 0 ? n : SMTP_EINVAL;
	e->stage_len = (size_t)n;
	e->stage_off = 0;
	if (n == 0)
		m->reader_done = 1;
	return n;
}

static int end_body(struct smtpi_engine *e, smtp_message *m)
{
	size_t w = 0;
	if (smtpi_buf_reserve(&e->out, SMTPI_BODY_MIN_ROOM))
		return SMTP_ENOMEM;
	smtpi_body_finish(&e->enc, (unsigned char *)e->out.data + e->out.len, SMTPI_BODY_MIN_ROOM, &w);
	e->out.len += w;
	e->body = NULL;
	m->cursor = SMTPI_MSG_WAIT_FINAL;
	e->emit = m->next;
	/* RFC 2033 4.2: LMTP answers the final dot once per accepted recipient. */
	size_t replies = e->cfg->lmtp ? m->rcpt_ok : 1;
	for (size_t i = 0; i < replies; i++)
		if (smtpi_engine_command(e, SMTPI_P_FINAL, m, i, NULL, NULL, 0))
			return SMTP_ENOMEM;
	return smtpi_tx_pump(e);
}

/* A body that cannot go on (a reader error, a long line from a reader) leaves the
   DATA stream unterminable: the connection must end (RFC 5321 4.1.1.4 has no abort). */
static int body_error(struct smtpi_engine *e, int err, const char *why)
{
	smtpi_engine_fail(e, err, why);
	return err;
}

int smtpi_tx_fill_body(struct smtpi_engine *e)
{
	smtp_message *m = e->body;
	while (e->body == m && smtpi_buf_pending(&e->out) < BODY_BLOCK) {
		const unsigned char *src;
		size_t srclen;
		if (m->reader) {
			if (e->stage_off == e->stage_len && !m->reader_done) {
				long n = read_more(e, m);
				if (n < 0)
					return body_error(e, (int)n, "the message reader failed");
			}
			src = e->stage_buf + e->stage_off;
			srclen = e->stage_len - e->stage_off;
		} else {
			src = m->data + m->data_off;
			srclen = m->data_len - m->data_off;
		}
		if (srclen == 0)
			return end_body(e, m);
		size_t room = srclen < BODY_BLOCK ? srclen * 2 + SMTPI_BODY_MIN_ROOM
						  : 2 * BODY_BLOCK;
		if (smtpi_buf_reserve(&e->out, room))
			return SMTP_ENOMEM;
		size_t used = 0, w = 0;
		int rc = smtpi_body_encode(&e->enc, src, srclen, &used,
					   (unsigned char *)e->out.data + e->out.len,
					   e->out.cap - e->out.len, &w);
		e->out.len += w;
		if (m->reader)
			e->stage_off += used;
		else
			m->data_off += used;
		if (rc)
			return body_error(e, rc, "a body line is longer than 998 octets");
	}
	return 0;
}

/* ---- replies ---- */

static void decide_failure(smtp_message *m, smtp_stage stage, int code)
{
	smtp_outcome oc = code >= 400 && code < 500 ? SMTP_DEFERRED : SMTP_BOUNCED;
	if (m->report.outcome == SMTP_PENDING)
		smtpi_report_fail(&m->report, oc, stage, SMTP_EREJECTED, NULL);
}

/* No recipient accepted: deferred when any refusal was temporary. */
static void decide_no_rcpt(smtp_message *m)
{
	int temp = 0;
	for (size_t i = 0; i < m->report.nrcpts; i++)
		if (m->report.rcpts[i].code / 100 == 4)
			temp = 1;
	if (m->report.outcome == SMTP_PENDING)
		smtpi_report_fail(&m->report, temp ? SMTP_DEFERRED : SMTP_BOUNCED, SMTP_STAGE_RCPT,
				  SMTP_EREJECTED, NULL);
}

static int on_mail(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_MAIL, m->from, r, 0);
	if (r->code / 100 == 2)
		return 0;
	decide_failure(m, SMTP_STAGE_MAIL, r->code);
	if (!(e->capa.flags & SMTPI_CAPA_PIPELINING))
		m->cursor = SMTPI_MSG_RSET;
	return 0;
}

static int on_rcpt(struct smtpi_engine *e, smtp_message *m, size_t i, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_RCPT, m->rcpts[i], r, 0);
	smtpi_report_rcpt_reply(&m->report, i, r);
	m->rcpt_replies++;
	if (r->code / 100 == 2)
		m->rcpt_ok++;
	if (m->rcpt_replies == m->nrcpts && m->rcpt_ok == 0) {
		decide_no_rcpt(m);
		if (!(e->capa.flags & SMTPI_CAPA_PIPELINING))
			m->cursor = SMTPI_MSG_RSET;
	}
	return 0;
}

static int on_data(struct smtpi_engine *e, smtp_message *m, const struct smtpi_reply *r)
{
	smtpi_report_add(&m->report, SMTP_STAGE_DATA, NULL, r, 0);
	if (r->code == 354 && m->report.outcome == SMTP_PENDING) {
		m->cursor = SMTPI_MSG_BODY;
		e->body = m;
		smtpi_body_init(&e->enc, SMTPI_BODY_DOTSTUFF |
					 (m->long_lines ? SMTPI_BODY_LONG_LINES : 0));
		e->stage_len = e->stage_off = 0;
		return 0;
	}
	if (r->code == 354) {
		/* RFC 2920 3.1: DATA accepted although the transaction already failed:
		   end the empty content with a lone dot. */
		m->cursor = SMTPI_MSG_WAIT_FINAL;
		e->emit = m->next;
		int rc = smtpi_engine_command(e, SMTPI_P_FINAL, m, SIZE_MAX, NULL, ".", 1);
		return rc ? rc : smtpi_tx_pump(e);
	}
	decide_failure(m, SMTP_STAGE_DATA, r->code);
	m->cursor = SMTPI_MSG_RSET;
	return smtpi_tx_pump(e);
}

static void settle_sent(smtp_message *m)
{
	size_t ok = 0;
	for (size_t i = 0; i < m->report.nrcpts; i++)
		ok += m->report.rcpts[i].accepted ? 1 : 0;
	if (ok == m->report.nrcpts)
		smtpi_report_fail(&m->report, SMTP_SENT, SMTP_STAGE_NONE, 0, NULL);
	else if (ok > 0)
		smtpi_report_fail(&m->report, SMTP_SENT_PARTIAL, SMTP_STAGE_NONE, 0, NULL);
}

/* The i-th accepted recipient, for LMTP's per-recipient final replies. */
static size_t accepted_rcpt(const smtp_message *m, size_t nth)
{
	for (size_t i = 0; i < m->report.nrcpts; i++)
		if (m->report.rcpts[i].code / 100 == 2 && nth-- == 0)
			return i;
	return 0;
}

static int on_final(struct smtpi_engine *e, smtp_message *m, size_t idx,
		    const struct smtpi_reply *r)
{
	if (idx == SIZE_MAX) {
		/* the reply to the lone dot of an already failed transaction */
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, NULL, r, 0);
		finish(e, m);
		return 0;
	}
	if (e->cfg->lmtp) {
		size_t i = accepted_rcpt(m, idx);
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, m->rcpts[i], r, 0);
		smtpi_report_rcpt_reply(&m->report, i, r);
		if (++m->final_replies < m->rcpt_ok)
			return 0;
	} else {
		smtpi_report_add(&m->report, SMTP_STAGE_BODY, NULL, r, 0);
		if (r->code / 100 != 2)
			for (size_t i = 0; i < m->report.nrcpts; i++)
				m->report.rcpts[i].accepted = 0;
	}
	if (r->code / 100 == 2)
		smtpi_report_take_queue_id(&m->report, r->text);
	settle_sent(m);
	if (m->report.outcome == SMTP_PENDING)
		decide_failure(m, SMTP_STAGE_BODY, r->code);
	finish(e, m);
	return 0;
}

int smtpi_tx_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
		   const struct smtpi_reply *r)
{
	smtp_message *m = p->m;
	/* RFC 5321 3.8: 421 means the server is closing; everything pending is deferred. */
	if (r->code == 421) {
		smtp_stage stage = smtpi_pending_stage(p->kind);
		smtpi_report_add(&m->report, stage, NULL, r, 0);
		smtpi_report_fail(&m->report, SMTP_DEFERRED, stage, SMTP_ECLOSED, NULL);
		finish(e, m);
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
	case SMTPI_P_FINAL:
		rc = on_final(e, m, p->idx, r);
		break;
	case SMTPI_P_RSET:
		smtpi_report_add(&m->report, SMTP_STAGE_RSET, NULL, r, 0);
		finish(e, m);
		break;
	default:
		break;
	}
	return rc ? rc : smtpi_tx_pump(e);
}

/* Mail transactions (RFC 5321 3.3) as explicit state objects (struct smtpi_tx in
   message.h): the write side (MAIL, RCPT, DATA or BDAT, grouped per RFC 2920 when the
   server offers PIPELINING, queued messages following each other without waiting)
   and the one transition per reply, smtpi_tx_on_reply. Every recipient is decided
   once, by one reply or one local error (doc/report-schema.md); the verdict rules
   themselves are in lib/report/verdict.c. Envelope parameters are in envelope.c, the
   content's encoding in body_out.c. */
#include <stdlib.h>
#include <string.h>

#include "engine/envelope.h"

/* ---- deciding ---- */

/* Every recipient gets its verdict even when a text cannot be copied (the verdict
   is set first): out of memory never turns a server's answer into another one. */
static int decide_part(smtp_message *m, const struct smtpi_cause *c)
{
	int rc = 0;
	for (size_t i = m->tx.first; i < m->tx.end; i++)
		if (smtpi_report_decide(&m->report, i, c))
			rc = SMTP_ENOMEM;
	return rc;
}

static int is_open(const struct smtpi_engine *e, const smtp_message *m)
{
	return e->open_seq == m->tx.seq;
}

static void unlink_message(struct smtpi_engine *e, smtp_message *m)
{
	smtp_message **pp = &e->q_head, *prev = NULL;
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

/* Every recipient is decided: the report becomes final and never changes again. */
static void finish(struct smtpi_engine *e, smtp_message *m)
{
	unlink_message(e, m);
	smtpi_envelope_clear(m);
	smtpi_report_finish(&m->report);
	m->tx.state = SMTPI_TX_IDLE;
	if (e->cfg->message_done)
		e->cfg->message_done(e->cfg->message_done_ud, m);
}

/* A transaction ended (no reply owed): the next one for the remaining recipients
   (RFC 9422 RCPTMAX), or the message is done. */
static void transaction_over(struct smtpi_engine *e, smtp_message *m)
{
	struct smtpi_tx *t = &m->tx;
	if (t->end >= m->nrcpts) {
		finish(e, m);
		return;
	}
	size_t first = t->end;
	uint64_t seq = t->seq;
	memset(t, 0, sizeof *t);
	t->state = SMTPI_TX_QUEUED;
	t->checked = 1;
	t->first = t->end = first;
	t->seq = seq;
	if (!e->emit || e->emit->tx.seq > seq)
		e->emit = m;
}

/* The transaction fails: cause (when given) decides every recipient still undecided;
   nothing more of it is written (RFC 3030 2: no further BDAT chunk). */
static int fail(struct smtpi_engine *e, smtp_message *m, const struct smtpi_cause *cause)
{
	if (cause && decide_part(m, cause))
		return SMTP_ENOMEM;
	m->tx.state = SMTPI_TX_FAILED;
	if (e->body == m)
		e->body = NULL;
	return 0;
}

/* ---- submitting ---- */

int smtpi_engine_check(smtp_message *m)
{
	if (m->tx.state != SMTPI_TX_IDLE)
		return SMTP_ESTATE;
	if (!m->from || m->nrcpts == 0 || (!m->data && !m->reader))
		return SMTP_EINVAL;
	return smtpi_envelope_scan(m);
}

int smtpi_engine_submit(struct smtpi_engine *e, smtp_message *m)
{
	int rc = smtpi_engine_check(m);
	if (rc)
		return rc;
	smtpi_report_reset(&m->report);
	if (smtpi_report_begin(&m->report, m->nrcpts)) {
		smtpi_report_reset(&m->report);
		return SMTP_ENOMEM;
	}
	for (size_t i = 0; i < m->nrcpts; i++)
		m->report.rcpts[i].address = m->rcpt[i].addr;
	memset(&m->tx, 0, sizeof m->tx);
	m->tx.state = SMTPI_TX_QUEUED;
	m->tx.seq = ++e->seq;
	m->next = NULL;
	if (e->q_tail)
		e->q_tail->next = m;
	else
		e->q_head = m;
	e->q_tail = m;
	if (!e->emit)
		e->emit = m;
	return smtpi_tx_pump(e);
}

/* ---- writing ---- */

static int send_line(struct smtpi_engine *e, enum smtpi_cmd cmd, smtp_message *m, size_t idx,
		     const char *line, size_t len)
{
	return smtpi_pending_push(e, cmd, m, idx, NULL, line, len);
}

/* The checks before the first MAIL failed: the message never starts. */
static int refuse_locally(struct smtpi_engine *e, smtp_message *m, int err, const char *why)
{
	struct smtpi_cause c = {.stage = SMTP_STAGE_MAIL, .err = err, .detail = why};
	if (smtpi_report_step(&m->report, SMTP_STAGE_MAIL, NULL, NULL, err, why, -1))
		return SMTP_ENOMEM;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (smtpi_report_decide(&m->report, i, &c))
			return SMTP_ENOMEM;
	finish(e, m);
	return 0;
}

/* MAIL begins a transaction (RFC 5321 3.3), preceded by RSET when the server may
   still hold an earlier one: after a transaction that failed before its end of data,
   and after a BDAT transaction whose LAST chunk is not answered yet (RFC 3030 2: the
   state after a failed BDAT is indeterminate; RSET clears it). */
static int start(struct smtpi_engine *e, smtp_message *m, int pipelining)
{
	struct smtpi_tx *t = &m->tx;
	smtpi_report_attach(&m->report, e->log);
	if (!t->checked) {
		char why[200];
		int err = smtpi_envelope_check(e, m, why, sizeof why);
		if (err == SMTP_ENOMEM)
			return err;
		if (err)
			return refuse_locally(e, m, err, why);
		t->checked = 1;
	}
	if (!e->tx_clean) {
		if (send_line(e, SMTPI_CMD_RSET, m, 0, "RSET", 4))
			return SMTP_ENOMEM;
		e->tx_clean = 1;
		if (!pipelining)
			return 0;
	}
	/* RFC 9422 4.2: at most RCPTMAX recipients per transaction */
	size_t left = m->nrcpts - t->first;
	size_t max = e->capa.rcptmax;
	t->end = t->first + (max && left > max ? max : left);
	t->bdat = smtpi_envelope_use_bdat(e, m);
	char line[SMTPI_ENVELOPE_LINE_MAX];
	int rc = send_line(e, SMTPI_CMD_MAIL, m, 0, line, smtpi_envelope_mail_line(e, m, line));
	e->mails++;
	e->tx_clean = 0;
	e->open_seq = t->seq;
	t->state = SMTPI_TX_ENVELOPE;
	return rc;
}

static int send_rcpt(struct smtpi_engine *e, smtp_message *m)
{
	size_t i = m->tx.first + m->tx.rcpt_written++;
	char line[SMTPI_ENVELOPE_LINE_MAX];
	return send_line(e, SMTPI_CMD_RCPT, m, i, line, smtpi_envelope_rcpt_line(e, m, i, line));
}

/* After the RCPTs: DATA, whose 354 the content waits for, or BDAT chunks, which
   follow without a DATA (RFC 3030 2). */
static int begin_content(struct smtpi_engine *e, smtp_message *m)
{
	struct smtpi_tx *t = &m->tx;
	t->data_written = 1;
	if (t->bdat) {
		t->state = SMTPI_TX_BODY;
		smtpi_body_start(e, m);
		return 0;
	}
	t->data_owed = 1;
	return send_line(e, SMTPI_CMD_DATA, m, 0, "DATA", 4);
}

/* RFC 9422 4.1: MAILMAX transactions per connection, then a new connection. */
static int mailmax_reached(const struct smtpi_engine *e, const smtp_message *m)
{
	return m->tx.state == SMTPI_TX_QUEUED && e->capa.mailmax && e->mails >= e->capa.mailmax;
}

int smtpi_tx_pump(struct smtpi_engine *e)
{
	int pipelining = (e->capa.flags & SMTPI_CAPA_PIPELINING) != 0;
	while (e->phase == SMTPI_PH_READY && e->emit && !e->body && !e->reconnect) {
		smtp_message *m = e->emit;
		struct smtpi_tx *t = &m->tx;
		/* RFC 2920 3.1: without PIPELINING, wait for each reply; with it,
		   nothing follows a DATA before its reply (which is when a part that
		   RCPTMAX held back resumes behind a later message's DATA) */
		if ((!pipelining && e->pend_count > 0) || e->pend_data > 0)
			break;
		if (mailmax_reached(e, m)) {
			e->reconnect = 1;
			break;
		}
		int rc = 0;
		switch (t->state) {
		case SMTPI_TX_QUEUED:
			rc = start(e, m, pipelining);
			break;
		case SMTPI_TX_ENVELOPE:
			if (t->rcpt_written < t->end - t->first) {
				rc = send_rcpt(e, m);
				break;
			}
			if (t->data_written)
				return 0; /* the content waits for 354 */
			rc = begin_content(e, m);
			if (rc || !t->bdat)
				return rc; /* RFC 2920 3.1: DATA ends a group */
			break;
		case SMTPI_TX_FAILED:
			/* a DATA still unanswered may get 354: its lone dot comes first */
			if (t->data_owed)
				return 0;
			e->emit = m->next;
			break;
		case SMTPI_TX_FINAL:
			/* RFC 2920 3.1: the next transaction may follow the end of data */
			e->emit = m->next;
			break;
		default:
			return 0;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the content ---- */

/* The end of the content is queued: the final reply (LMTP: one per recipient
   accepted at RCPT, RFC 2033 4.2) is owed, and the next transaction may follow. */
static int content_end(struct smtpi_engine *e, smtp_message *m)
{
	struct smtpi_tx *t = &m->tx;
	e->body = NULL;
	t->state = SMTPI_TX_FINAL;
	t->end_queued = 1;
	t->end_pos = smtpi_pending_position(e);
	/* RFC 5321 4.1.1.4: the end of data clears the server's buffers, whatever its
	   reply; after BDAT LAST only a 2xx says so */
	if (!t->bdat && is_open(e, m))
		e->tx_clean = 1;
	if (e->cfg->lmtp) {
		for (size_t i = t->first; i < t->end; i++)
			if (smtpi_report_pending(&m->report, i) &&
			    smtpi_pending_push(e, SMTPI_CMD_END, m, i, NULL, NULL, 0))
				return SMTP_ENOMEM;
	} else if (smtpi_pending_push(e, SMTPI_CMD_END, m, 0, NULL, NULL, 0)) {
		return SMTP_ENOMEM;
	}
	return smtpi_tx_pump(e);
}

/* The content cannot go on (a reader error, a line over 998 octets, octets the
   server cannot take): the message fails with err. BDAT: RSET ends the transaction
   (RFC 3030 2); DATA has no abort (RFC 5321 4.1.1.4), so the connection is closed
   before the end of data, which the server discards (RFC 5321 3.3), and the session
   connects again for the messages behind it. */
static int content_failed(struct smtpi_engine *e, smtp_message *m, int err, const char *why)
{
	struct smtpi_cause c = {.stage = SMTP_STAGE_BODY, .err = err, .detail = why};
	if (smtpi_report_step(&m->report, SMTP_STAGE_BODY, NULL, NULL, err, why, -1))
		return SMTP_ENOMEM;
	if (m->tx.bdat)
		return fail(e, m, &c);
	if (smtpi_report_step(e->session_report, SMTP_STAGE_BODY, NULL, NULL, err, why, -1))
		return SMTP_ENOMEM;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (smtpi_report_decide(&m->report, i, &c))
			return SMTP_ENOMEM;
	e->body = NULL;
	finish(e, m);
	e->phase = SMTPI_PH_CLOSED;
	smtpi_pending_clear(e);
	return 0;
}

/* RFC 3030 4: without PIPELINING each chunk waits for the previous reply. With it,
   the first chunk follows the RCPTs at once; the next ones wait until every RCPT is
   answered, so a refused envelope costs one chunk at most. */
static int may_chunk(const struct smtpi_engine *e, const smtp_message *m)
{
	const struct smtpi_tx *t = &m->tx;
	if (t->chunks == 0)
		return 1;
	if (!(e->capa.flags & SMTPI_CAPA_PIPELINING))
		return e->pend_count == 0;
	return t->rcpt_replies == t->end - t->first;
}

int smtpi_tx_fill(struct smtpi_engine *e)
{
	while (e->body && smtpi_buf_pending(&e->out) < SMTPI_BODY_BLOCK) {
		smtp_message *m = e->body;
		if (m->tx.bdat && !may_chunk(e, m))
			return 0;
		const char *why = NULL;
		int rc = smtpi_body_fill(e, m, &why);
		if (rc == SMTPI_BODY_MORE) {
			m->tx.chunks += m->tx.bdat ? 1 : 0;
			continue;
		}
		if (rc == SMTPI_BODY_END)
			rc = content_end(e, m);
		else if (rc != SMTP_ENOMEM)
			rc = content_failed(e, m, rc, why);
		if (rc || e->phase == SMTPI_PH_CLOSED)
			return rc;
		/* queued messages share writes: the next one's commands follow at once */
		if ((rc = smtpi_tx_pump(e)) != 0)
			return rc;
	}
	return 0;
}

/* ---- replies ---- */

static int protocol_break(struct smtpi_engine *e, const char *why)
{
	e->why = why;
	return SMTP_EPROTOCOL;
}

/* A reply while the transaction runs. */
static int advance(struct smtpi_engine *e, smtp_message *m, const struct smtpi_pending *p,
		   const struct smtpi_reply *r)
{
	struct smtpi_tx *t = &m->tx;
	int ok = r->code / 100 == 2;
	struct smtpi_cause c = {.stage = smtpi_cmd_stage(p->cmd), .reply = r};
	switch (p->cmd) {
	case SMTPI_CMD_RSET:
		return ok ? 0 : protocol_break(e, "RSET was refused: the server's state is unknown");
	case SMTPI_CMD_MAIL:
		if (ok)
			return 0;
		t->mail_refused = 1;
		return fail(e, m, &c);
	case SMTPI_CMD_RCPT:
		t->rcpt_replies++;
		if (ok)
			t->rcpt_ok++;
		else if (smtpi_report_decide(&m->report, p->idx, &c))
			return SMTP_ENOMEM;
		/* RFC 2920 3.1: with no recipient left, DATA's reply still has to be read */
		if (t->rcpt_replies == t->end - t->first && t->rcpt_ok == 0)
			return fail(e, m, NULL);
		return 0;
	case SMTPI_CMD_DATA:
		t->data_owed = 0;
		if (r->code == 354) {
			t->state = SMTPI_TX_BODY;
			smtpi_body_start(e, m);
			return 0;
		}
		return fail(e, m, &c);
	case SMTPI_CMD_BDAT:
		return ok ? 0 : fail(e, m, &c);
	case SMTPI_CMD_END:
		if (e->cfg->lmtp) /* RFC 2033 4.2: this recipient's own verdict */
			return smtpi_report_decide(&m->report, p->idx, &c) ? SMTP_ENOMEM : 0;
		if (ok) {
			smtpi_report_take_queue_id(&m->report, r->text);
			if (t->bdat && is_open(e, m))
				e->tx_clean = 1;
		}
		return decide_part(m, &c);
	default:
		return 0;
	}
}

/* A reply after the transaction failed: it changes no verdict, but DATA may still
   be accepted, and then the content must be ended (RFC 2920 3.1: a single dot). */
static int drain(struct smtpi_engine *e, smtp_message *m, const struct smtpi_pending *p,
		 const struct smtpi_reply *r)
{
	struct smtpi_tx *t = &m->tx;
	if (p->cmd == SMTPI_CMD_DATA) {
		t->data_owed = 0;
		if (r->code != 354)
			return 0;
		t->lone_dot = 1;
		if (is_open(e, m))
			e->tx_clean = 1; /* RFC 5321 4.1.1.4 */
		size_t n = e->cfg->lmtp && t->rcpt_ok ? t->rcpt_ok : 1;
		if (smtpi_pending_push(e, SMTPI_CMD_END, m, SIZE_MAX, NULL, ".", 1))
			return SMTP_ENOMEM;
		for (size_t i = 1; i < n; i++)
			if (smtpi_pending_push(e, SMTPI_CMD_END, m, SIZE_MAX, NULL, NULL, 0))
				return SMTP_ENOMEM;
		return 0;
	}
	/* a server that takes a message whose MAIL it refused holds it under some other
	   sender, or none */
	if (p->cmd == SMTPI_CMD_END && t->mail_refused && r->code / 100 == 2)
		return protocol_break(e, "the server accepted a message whose MAIL it had refused");
	return 0;
}

static const char *step_arg(const smtp_message *m, const struct smtpi_pending *p, int lmtp)
{
	switch (p->cmd) {
	case SMTPI_CMD_MAIL:
		return m->from;
	case SMTPI_CMD_RCPT:
		return m->rcpt[p->idx].addr;
	case SMTPI_CMD_END:
		return lmtp && p->idx < m->nrcpts ? m->rcpt[p->idx].addr : NULL;
	default:
		return NULL;
	}
}

int smtpi_tx_note_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
			const struct smtpi_reply *r, int err, const char *detail)
{
	smtp_message *m = p->m;
	int64_t us = p->written_us >= 0 ? e->now_us - p->written_us : -1;
	return smtpi_report_step(&m->report, smtpi_cmd_stage(p->cmd), step_arg(m, p, e->cfg->lmtp),
				 r, err, detail, us);
}

int smtpi_tx_on_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
		      const struct smtpi_reply *r)
{
	smtp_message *m = p->m;
	/* best effort, as every step: a step the report cannot hold is left out, and
	   the reply still decides (a 250 to the dot stays a delivery) */
	(void)smtpi_tx_note_reply(e, p, r, 0, NULL);
	int rc;
	switch (m->tx.state) {
	case SMTPI_TX_FAILED:
		rc = drain(e, m, p, r);
		break;
	case SMTPI_TX_QUEUED:
	case SMTPI_TX_ENVELOPE:
	case SMTPI_TX_BODY:
	case SMTPI_TX_FINAL:
		rc = advance(e, m, p, r);
		break;
	default:
		rc = protocol_break(e, "a reply for a finished transaction");
		break;
	}
	if (rc)
		return rc;
	if (m->tx.owed == 0 && (m->tx.state == SMTPI_TX_FINAL || m->tx.state == SMTPI_TX_FAILED))
		transaction_over(e, m);
	return 0;
}

/* ---- the connection's end ---- */

smtp_stage smtpi_tx_waiting_stage(const struct smtpi_engine *e, const smtp_message *m)
{
	const struct smtpi_pending *p = smtpi_pending_of(e, m);
	if (p)
		return smtpi_cmd_stage(p->cmd);
	switch (m->tx.state) {
	case SMTPI_TX_QUEUED:
		return e->phase >= SMTPI_PH_READY ? SMTP_STAGE_MAIL : SMTP_STAGE_NONE;
	case SMTPI_TX_ENVELOPE:
		return m->tx.rcpt_written < m->tx.end - m->tx.first ? SMTP_STAGE_RCPT
								     : SMTP_STAGE_DATA;
	default:
		return SMTP_STAGE_BODY;
	}
}

void smtpi_tx_note_all(struct smtpi_engine *e, const struct smtpi_reply *r, int err,
		       const char *detail)
{
	for (smtp_message *m = e->q_head; m; m = m->next) {
		if (m->tx.state == SMTPI_TX_QUEUED)
			continue;
		const struct smtpi_pending *p = smtpi_pending_of(e, m);
		int64_t us = p && p->written_us >= 0 ? e->now_us - p->written_us : -1;
		smtpi_report_step(&m->report, smtpi_tx_waiting_stage(e, m),
				  p ? step_arg(m, p, e->cfg->lmtp) : NULL, r, err, detail, us);
	}
}

/* RFC 1047: once the end of data is written, its reply is what says whether the
   message was taken; without one that keeps the rules, it may have been. */
static int maybe_delivered(const struct smtpi_engine *e, const smtp_message *m)
{
	const struct smtpi_tx *t = &m->tx;
	return t->state == SMTPI_TX_FINAL && !t->lone_dot && e->sent_total >= t->end_pos &&
	       (t->end_broken || t->owed > (t->end_answered ? 1u : 0u));
}

void smtpi_tx_abort_all(struct smtpi_engine *e, const struct smtpi_cause *cause)
{
	while (e->q_head) {
		smtp_message *m = e->q_head;
		struct smtpi_cause c = *cause;
		smtp_stage st = smtpi_tx_waiting_stage(e, m);
		if (st != SMTP_STAGE_NONE)
			c.stage = st;
		smtpi_report_attach(&m->report, e->log);
		if (maybe_delivered(e, m))
			m->report.maybe_delivered = 1;
		for (size_t i = 0; i < m->nrcpts; i++)
			smtpi_report_decide(&m->report, i, &c);
		finish(e, m);
	}
	e->emit = NULL;
	e->body = NULL;
}

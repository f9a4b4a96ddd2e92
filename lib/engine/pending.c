/* Commands written and the replies they are owed. A reply belongs to the oldest
   command still owed one, and only once that command's last octet was written (RFC
   2920 3.1): the output position of every command is recorded, and so is the moment
   it was written, which gives each step its elapsed time. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

void smtpi_engine_trace(const struct smtpi_engine *e, smtp_trace_dir dir, const char *line,
			size_t len)
{
	if (e->cfg->trace)
		e->cfg->trace(e->cfg->trace_ud, dir, line, len);
}

uint64_t smtpi_pending_position(const struct smtpi_engine *e)
{
	return e->sent_total + smtpi_buf_pending(&e->out);
}

static struct smtpi_pending *at(const struct smtpi_engine *e, size_t i)
{
	return &e->pend[(e->pend_head + i) % e->pend_cap];
}

static int grow(struct smtpi_engine *e)
{
	size_t cap = e->pend_cap ? e->pend_cap * 2 : 16;
	struct smtpi_pending *p = malloc(cap * sizeof *p);
	if (!p)
		return SMTP_ENOMEM;
	for (size_t i = 0; i < e->pend_count; i++)
		p[i] = *at(e, i);
	free(e->pend);
	e->pend = p;
	e->pend_cap = cap;
	e->pend_head = 0;
	return 0;
}

int smtpi_pending_push(struct smtpi_engine *e, enum smtpi_cmd cmd, smtp_message *m,
		       size_t idx, const char *trace_as, const char *line, size_t len)
{
	if (e->pend_count == e->pend_cap && grow(e))
		return SMTP_ENOMEM;
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
	struct smtpi_pending *p = at(e, e->pend_count);
	p->cmd = cmd;
	p->m = m;
	p->idx = idx;
	p->end = smtpi_pending_position(e);
	p->written_us = -1;
	e->pend_count++;
	e->pend_data += cmd == SMTPI_CMD_DATA;
	smtpi_pending_stamp(e);
	if (m)
		m->tx.owed++;
	return 0;
}

void smtpi_pending_stamp(struct smtpi_engine *e)
{
	while (e->pend_stamped < e->pend_count) {
		struct smtpi_pending *p = at(e, e->pend_stamped);
		if (p->end > e->sent_total)
			break;
		p->written_us = e->now_us;
		e->pend_stamped++;
	}
}

const struct smtpi_pending *smtpi_pending_head(const struct smtpi_engine *e)
{
	return e->pend_count ? at(e, 0) : NULL;
}

void smtpi_pending_pop(struct smtpi_engine *e)
{
	if (!e->pend_count)
		return;
	const struct smtpi_pending *p = at(e, 0);
	if (p->m && p->m->tx.owed)
		p->m->tx.owed--;
	e->pend_data -= p->cmd == SMTPI_CMD_DATA;
	e->pend_head = (e->pend_head + 1) % e->pend_cap;
	e->pend_count--;
	if (e->pend_stamped)
		e->pend_stamped--;
}

void smtpi_pending_clear(struct smtpi_engine *e)
{
	smtpi_buf_consume(&e->out, smtpi_buf_pending(&e->out));
	e->pend_head = e->pend_count = e->pend_stamped = e->pend_data = 0;
}

const struct smtpi_pending *smtpi_pending_of(const struct smtpi_engine *e,
					     const smtp_message *m)
{
	for (size_t i = 0; i < e->pend_count; i++)
		if (at(e, i)->m == m)
			return at(e, i);
	return NULL;
}

smtp_stage smtpi_cmd_stage(enum smtpi_cmd cmd)
{
	static const smtp_stage stage_of[] = {
		[SMTPI_CMD_GREETING] = SMTP_STAGE_GREETING, [SMTPI_CMD_EHLO] = SMTP_STAGE_EHLO,
		[SMTPI_CMD_HELO] = SMTP_STAGE_EHLO,         [SMTPI_CMD_STARTTLS] = SMTP_STAGE_STARTTLS,
		[SMTPI_CMD_AUTH] = SMTP_STAGE_AUTH,         [SMTPI_CMD_RSET] = SMTP_STAGE_RSET,
		[SMTPI_CMD_MAIL] = SMTP_STAGE_MAIL,         [SMTPI_CMD_RCPT] = SMTP_STAGE_RCPT,
		[SMTPI_CMD_DATA] = SMTP_STAGE_DATA,         [SMTPI_CMD_BDAT] = SMTP_STAGE_BODY,
		[SMTPI_CMD_END] = SMTP_STAGE_BODY,          [SMTPI_CMD_QUIT] = SMTP_STAGE_QUIT,
		[SMTPI_CMD_USER] = SMTP_STAGE_COMMAND,
	};
	return stage_of[cmd];
}

const char *smtpi_reply_breaks_rules(enum smtpi_cmd cmd, int code)
{
	int cls = code / 100;
	if (cls == 4 || cls == 5)
		return NULL; /* a refusal fits every command */
	switch (cmd) {
	case SMTPI_CMD_GREETING: /* RFC 5321 3.1, 4.3.2: 220, or 554 (or 421) */
		return code == 220 ? NULL : "the greeting was neither 220 nor a refusal";
	case SMTPI_CMD_STARTTLS: /* RFC 3207 4: 220, 454, 501 */
		return code == 220 ? NULL : "STARTTLS was answered with neither 220 nor a refusal";
	case SMTPI_CMD_AUTH: /* RFC 4954 4, 6: 235, 334, or a refusal */
		return code == 235 || code == 334
			       ? NULL
			       : "AUTH was answered with neither 235, 334 nor a refusal";
	case SMTPI_CMD_DATA: /* RFC 5321 4.3.2: 354, or a refusal */
		return code == 354 ? NULL : "DATA was answered with neither 354 nor a refusal";
	case SMTPI_CMD_END:
		return cls == 2 ? NULL : "the end of data got a reply that is neither 2xx nor a refusal";
	case SMTPI_CMD_QUIT:
	case SMTPI_CMD_USER:
		return NULL; /* QUIT ends anyway; smtp_command's reply is the caller's */
	default: /* EHLO, HELO, MAIL, RCPT, RSET, BDAT: 2xx or a refusal */
		return cls == 2 ? NULL : "a reply that is neither 2xx nor a refusal";
	}
}

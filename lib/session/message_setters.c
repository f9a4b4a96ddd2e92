/* The public message object: envelope and content setters (the struct is the
   engine's, lib/engine/message.h). */
#include "engine/engine.h"
#include "engine/message.h"

#include <stdlib.h>
#include <string.h>

#include "wire/address.h"

/* The first chunk of a message's recipient arena: a handful of recipients. */
#define STRINGS_FIRST 512

smtp_message *smtp_message_new(void)
{
	smtp_message *m = calloc(1, sizeof(smtp_message));
	if (m) {
		smtpi_report_init(&m->report);
		smtpi_arena_init(&m->strings, STRINGS_FIRST);
	}
	return m;
}

void smtp_message_free(smtp_message *m)
{
	if (!m)
		return;
	free(m->from);
	smtpi_arena_free(&m->strings);
	free(m->envid);
	smtpi_report_free(&m->report);
	free(m);
}

static int busy(const smtp_message *m)
{
	return m->tx.state != SMTPI_TX_IDLE;
}

/* Checks a mailbox; *start and *len frame it without angle brackets. */
static int check_mailbox(const char *mailbox, int allow_null, unsigned *flags, size_t *start,
			 size_t *len)
{
	if (!mailbox)
		return SMTP_EINVAL;
	return smtpi_address_check(mailbox, allow_null, flags, start, len, NULL);
}

int smtp_message_set_from(smtp_message *m, const char *mailbox)
{
	if (!m || busy(m))
		return m ? SMTP_ESTATE : SMTP_EINVAL;
	size_t start, len;
	unsigned flags;
	int rc = check_mailbox(mailbox, 1, &flags, &start, &len);
	if (rc)
		return rc;
	char *copy = strndup(mailbox + start, len);
	if (!copy)
		return SMTP_ENOMEM;
	free(m->from);
	m->from = copy;
	m->from_flags = flags;
	return 0;
}

/* Room for one more recipient; the old table stays in the arena (doubling keeps the
   waste below the table's size). */
static int grow_rcpts(smtp_message *m)
{
	if (m->nrcpts < m->rcpt_cap)
		return 0;
	size_t cap = m->rcpt_cap ? m->rcpt_cap * 2 : 4;
	struct smtpi_rcpt *r = smtpi_arena_alloc(&m->strings, cap * sizeof *r);
	if (!r)
		return SMTP_ENOMEM;
	if (m->nrcpts)
		memcpy(r, m->rcpt, m->nrcpts * sizeof *r);
	m->rcpt = r;
	m->rcpt_cap = cap;
	return 0;
}

/* RFC 3461 4.1: NEVER stands alone. */
static int notify_ok(unsigned notify)
{
	unsigned all = SMTP_NOTIFY_NEVER | SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE |
		       SMTP_NOTIFY_DELAY;
	return (notify & ~all) == 0 && !((notify & SMTP_NOTIFY_NEVER) && notify != SMTP_NOTIFY_NEVER);
}

int smtp_message_add_rcpt_dsn(smtp_message *m, const char *mailbox, unsigned notify,
			      const char *orcpt)
{
	if (!m || busy(m))
		return m ? SMTP_ESTATE : SMTP_EINVAL;
	if (!notify_ok(notify))
		return SMTP_EINVAL;
	size_t start, len, ostart = 0, olen = 0;
	unsigned flags, oflags;
	int rc = check_mailbox(mailbox, 0, &flags, &start, &len);
	if (!rc && orcpt)
		rc = check_mailbox(orcpt, 0, &oflags, &ostart, &olen);
	if (rc)
		return rc;
	if (grow_rcpts(m))
		return SMTP_ENOMEM;
	struct smtpi_rcpt *r = &m->rcpt[m->nrcpts];
	memset(r, 0, sizeof *r);
	r->addr = smtpi_arena_strndup(&m->strings, mailbox + start, len);
	r->orcpt = orcpt ? smtpi_arena_strndup(&m->strings, orcpt + ostart, olen) : NULL;
	if (!r->addr || (orcpt && !r->orcpt))
		return SMTP_ENOMEM;
	r->flags = flags;
	r->notify = notify;
	m->nrcpts++;
	return 0;
}

int smtp_message_add_rcpt(smtp_message *m, const char *mailbox)
{
	return smtp_message_add_rcpt_dsn(m, mailbox, 0, NULL);
}

int smtp_message_set_body_type(smtp_message *m, smtp_body_type type)
{
	if (!m || (unsigned)type > SMTP_BODY_BINARYMIME)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->body_type = type;
	return 0;
}

int smtp_message_set_size_hint(smtp_message *m, uint64_t size)
{
	if (!m)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->size_hint = size;
	return 0;
}

int smtp_message_set_dsn(smtp_message *m, smtp_dsn_ret ret, const char *envid, int required)
{
	if (!m || (unsigned)ret > SMTP_DSN_RET_HDRS)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	/* RFC 3461 4.4: ENVID is printable ASCII, at most 100 characters */
	if (envid) {
		size_t n = strlen(envid);
		if (n == 0 || n > 100)
			return SMTP_EINVAL;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)envid[i] < 0x20 || (unsigned char)envid[i] > 0x7e)
				return SMTP_EINVAL;
	}
	char *copy = envid ? strdup(envid) : NULL;
	if (envid && !copy)
		return SMTP_ENOMEM;
	free(m->envid);
	m->envid = copy;
	m->dsn_ret = ret;
	m->dsn_required = required != 0;
	return 0;
}

int smtp_message_set_requiretls(smtp_message *m, int on)
{
	if (!m)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->requiretls = on != 0;
	return 0;
}

int smtp_message_set_smtputf8(smtp_message *m, int on)
{
	if (!m)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->smtputf8 = on != 0;
	return 0;
}

int smtp_message_set_data(smtp_message *m, const void *data, size_t len)
{
	if (!m || (!data && len))
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->data = data;
	m->data_len = len;
	m->reader = NULL;
	m->reader_ud = NULL;
	return 0;
}

int smtp_message_set_reader(smtp_message *m, smtp_read_fn fn, void *ud)
{
	if (!m || !fn)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->reader = fn;
	m->reader_ud = ud;
	m->data = NULL;
	m->data_len = 0;
	return 0;
}

int smtp_message_allow_long_lines(smtp_message *m, int on)
{
	if (!m)
		return SMTP_EINVAL;
	if (busy(m))
		return SMTP_ESTATE;
	m->long_lines = on != 0;
	return 0;
}

const smtp_report *smtp_message_report(const smtp_message *m)
{
	return m ? &m->report : NULL;
}

size_t smtp_message_rcpt_count(const smtp_message *m)
{
	return m ? m->nrcpts : 0;
}

int smtp_message_check(smtp_message *m)
{
	return m ? smtpi_engine_check(m) : SMTP_EINVAL;
}


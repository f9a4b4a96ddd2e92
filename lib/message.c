/* Messages: envelope and content setters. */
#include "message.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"

smtp_message *smtp_message_new(void)
{
	return calloc(1, sizeof(smtp_message));
}

void smtp_message_free(smtp_message *m)
{
	if (!m)
		return;
	free(m->from);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->rcpt_flags);
	smtpi_report_reset(&m->report);
	free(m);
}

static int busy(const smtp_message *m)
{
	return m->cursor != SMTPI_MSG_IDLE && m->cursor != SMTPI_MSG_DONE;
}

/* Checks a mailbox and returns a copy without angle brackets. */
static int copy_mailbox(const char *mailbox, int allow_null, char **out, unsigned *flags)
{
	if (!mailbox)
		return SMTP_EINVAL;
	size_t start, len;
	int rc = smtpi_address_check(mailbox, allow_null, flags, &start, &len, NULL);
	if (rc)
		return rc;
	*out = strndup(mailbox + start, len);
	return *out ? 0 : SMTP_ENOMEM;
}

int smtp_message_set_from(smtp_message *m, const char *mailbox)
{
	if (!m || busy(m))
		return m ? SMTP_ESTATE : SMTP_EINVAL;
	char *copy;
	unsigned flags;
	int rc = copy_mailbox(mailbox, 1, &copy, &flags);
	if (rc)
		return rc;
	free(m->from);
	m->from = copy;
	m->from_flags = flags;
	return 0;
}

int smtp_message_add_rcpt(smtp_message *m, const char *mailbox)
{
	if (!m || busy(m))
		return m ? SMTP_ESTATE : SMTP_EINVAL;
	char *copy;
	unsigned flags;
	int rc = copy_mailbox(mailbox, 0, &copy, &flags);
	if (rc)
		return rc;
	if (m->nrcpts == m->rcpt_cap) {
		size_t cap = m->rcpt_cap ? m->rcpt_cap * 2 : 4;
		char **r = realloc(m->rcpts, cap * sizeof *r);
		if (r)
			m->rcpts = r;
		unsigned *f = r ? realloc(m->rcpt_flags, cap * sizeof *f) : NULL;
		if (f)
			m->rcpt_flags = f;
		if (!r || !f) {
			free(copy);
			return SMTP_ENOMEM;
		}
		m->rcpt_cap = cap;
	}
	m->rcpts[m->nrcpts] = copy;
	m->rcpt_flags[m->nrcpts] = flags;
	m->nrcpts++;
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
	m->long_lines = on != 0;
	return 0;
}

const smtp_report *smtp_message_report(const smtp_message *m)
{
	return m ? &m->report : NULL;
}

int smtpi_message_needs_utf8(const smtp_message *m)
{
	unsigned all = m->from_flags;
	for (size_t i = 0; i < m->nrcpts; i++)
		all |= m->rcpt_flags[i];
	return (all & SMTPI_ADDR_UTF8_LOCAL) != 0;
}

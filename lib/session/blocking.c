/* The caller-facing operations. Blocking mode is a short poll() loop over the
   nonblocking process step, so both modes run the same code (DESIGN.md). */
#include <errno.h>
#include <poll.h>

#include "session/session.h"

int smtpi_block_until(smtp_session *s, int (*cond)(smtp_session *s, void *arg), void *arg)
{
	for (;;) {
		if (cond(s, arg))
			return 0;
		int rc = smtp_session_process(s);
		if (cond(s, arg))
			return 0;
		if (rc != SMTP_EAGAIN)
			return rc ? rc : SMTP_ESTATE;
		if (s->nonblocking)
			return SMTP_EAGAIN;
		struct pollfd pfd = {.fd = smtp_session_fd(s), .events = 0};
		if (s->events & SMTP_WANT_READ)
			pfd.events |= POLLIN;
		if (s->events & SMTP_WANT_WRITE)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, smtp_session_timeout_ms(s)) < 0 && errno != EINTR)
			return SMTP_ECLOSED;
	}
}

static int is_ready(smtp_session *s, void *arg)
{
	(void)arg;
	return s->state == SMTPI_S_ACTIVE && s->engine.phase == SMTPI_PH_READY;
}

int smtp_connect(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	if (s->state == SMTPI_S_IDLE)
		s->connect_wanted = 1;
	int rc = smtpi_block_until(s, is_ready, NULL);
	if (rc == SMTP_ESTATE && s->report.error)
		rc = s->report.error;
	return rc;
}

static int message_done(smtp_session *s, void *arg)
{
	(void)s;
	const smtp_message *m = arg;
	return m->cursor == SMTPI_MSG_DONE;
}

int smtp_send(smtp_session *s, smtp_message *m)
{
	if (!s || !m)
		return SMTP_EINVAL;
	if (m->cursor == SMTPI_MSG_IDLE || m->cursor == SMTPI_MSG_DONE) {
		int rc = smtp_submit(s, m);
		if (rc)
			return rc;
	}
	int rc = smtpi_block_until(s, message_done, m);
	if (rc == SMTP_EAGAIN)
		return rc;
	switch (m->report.outcome) {
	case SMTP_SENT:
		return 0;
	case SMTP_FAILED:
		return m->report.error ? m->report.error : SMTP_ESTATE;
	case SMTP_PENDING:
		return rc ? rc : SMTP_ESTATE;
	default:
		return SMTP_EREJECTED;
	}
}

static int is_down(smtp_session *s, void *arg)
{
	(void)arg;
	return s->state == SMTPI_S_IDLE;
}

int smtp_quit(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	if (s->state != SMTPI_S_ACTIVE && s->state != SMTPI_S_IDLE) {
		smtpi_engine_fail(&s->engine, SMTP_ESTATE, "closed before the connection was up");
		smtpi_session_close(s, 0);
		return 0;
	}
	smtpi_engine_quit(&s->engine);
	int rc = smtpi_block_until(s, is_down, NULL);
	s->engine.quit_wanted = 0;
	return rc == SMTP_EAGAIN ? rc : 0;
}

int smtp_session_abandon(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	smtpi_engine_fail(&s->engine, SMTP_ESTATE, "abandoned");
	smtpi_session_close(s, 0);
	s->connect_wanted = 0;
	return 0;
}

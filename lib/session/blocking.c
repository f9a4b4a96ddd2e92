/* The caller-facing operations. Blocking mode is a short poll() loop over the
   nonblocking process step, so both modes run the same code. */
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
	if (s->in_callback)
		return SMTP_ESTATE;
	if (s->state == SMTPI_S_IDLE)
		s->connect_wanted = 1;
	int rc = smtpi_block_until(s, is_ready, NULL);
	if (rc && rc != SMTP_EAGAIN && s->report.error)
		rc = s->report.error;
	return rc;
}

static int message_final(smtp_session *s, void *arg)
{
	(void)s;
	const smtp_message *m = arg;
	return m->tx.state == SMTPI_TX_IDLE;
}

int smtp_send(smtp_session *s, smtp_message *m)
{
	if (!s || !m)
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	if (m->tx.state == SMTPI_TX_IDLE) {
		int rc = smtp_submit(s, m);
		if (rc)
			return rc;
	}
	int rc = smtpi_block_until(s, message_final, m);
	if (rc == SMTP_EAGAIN)
		return rc;
	/* not final: the wait itself failed (or m is queued on another session) */
	if (!message_final(s, m))
		return rc;
	/* smtp_send returns exactly what the report says (smtp.h) */
	return m->report.error;
}

static int is_down(smtp_session *s, void *arg)
{
	(void)arg;
	return s->state == SMTPI_S_IDLE && !s->engine.q_head;
}

int smtp_quit(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	if (s->state == SMTPI_S_IDLE && !s->engine.q_head) {
		s->engine.quit_wanted = 0;
		return 0;
	}
	/* nothing to wait for while connecting: stop */
	if (!s->engine.quit_wanted && !s->engine.q_head &&
	    (s->state == SMTPI_S_CONNECTING || s->state == SMTPI_S_HANDSHAKE)) {
		smtpi_engine_fail(&s->engine, SMTP_ESTATE, "closed before the connection was up", 0);
		smtpi_session_close(s, 0);
		return 0;
	}
	/* QUIT goes out once the messages in flight are done; the request stays until
	   the connection is down, over as many calls as nonblocking mode takes */
	smtpi_engine_quit(&s->engine);
	int rc = smtpi_block_until(s, is_down, NULL);
	if (rc == SMTP_EAGAIN)
		return rc;
	s->engine.quit_wanted = 0;
	return 0;
}

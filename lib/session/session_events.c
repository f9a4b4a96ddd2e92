/* What a caller's event loop reads: the descriptor, the directions and the time to
   wait, where a session stands; and the per-message completion callback. */
#include "session/session.h"

/* The engine's completion hook carries one pointer: the session, which holds the
   caller's callback and its data. */
static void message_done(void *ud, smtp_message *m)
{
	smtp_session *s = ud;
	if (!s->message_fn)
		return;
	/* the callback may not drive this session (smtp.h): those calls return
	   SMTP_ESTATE while it runs */
	int outer = s->in_callback;
	s->in_callback = 1;
	s->message_fn(s->message_ud, s, m);
	s->in_callback = outer;
}

int smtp_session_set_message_callback(smtp_session *s, smtp_message_fn fn, void *ud)
{
	if (!s)
		return SMTP_EINVAL;
	s->message_fn = fn;
	s->message_ud = fn ? ud : NULL;
	s->cfg.message_done = fn ? message_done : NULL;
	s->cfg.message_done_ud = fn ? s : NULL;
	return 0;
}

smtp_session_state smtp_session_get_state(const smtp_session *s)
{
	if (!s)
		return SMTP_STATE_IDLE;
	const struct smtpi_engine *e = &s->engine;
	switch (s->state) {
	case SMTPI_S_IDLE:
		/* the next smtp_session_process connects */
		return s->connect_wanted || e->q_head ? SMTP_STATE_CONNECTING : SMTP_STATE_IDLE;
	case SMTPI_S_CONNECTING:
	case SMTPI_S_HANDSHAKE:
		return SMTP_STATE_CONNECTING;
	case SMTPI_S_ACTIVE:
		break;
	}
	switch (e->phase) {
	case SMTPI_PH_READY:
		if (e->q_head || e->pend_count > 0)
			return SMTP_STATE_BUSY;
		/* QUIT goes out as soon as nothing else is in flight */
		return e->quit_wanted ? SMTP_STATE_CLOSING : SMTP_STATE_READY;
	case SMTPI_PH_QUIT:
	case SMTPI_PH_CLOSED:
		return SMTP_STATE_CLOSING;
	case SMTPI_PH_DOWN:
		return SMTP_STATE_IDLE;
	default:
		return SMTP_STATE_CONNECTING;
	}
}

size_t smtp_session_queued(const smtp_session *s)
{
	size_t n = 0;
	if (s)
		for (const smtp_message *m = s->engine.q_head; m; m = m->next)
			n++;
	return n;
}

int smtp_session_fd(const smtp_session *s)
{
	return s ? s->conn.fd : -1;
}

int smtp_session_events(const smtp_session *s)
{
	return s ? s->events : 0;
}

int smtp_session_timeout_ms(const smtp_session *s)
{
	if (!s || !s->deadline)
		return -1;
	int64_t left = s->deadline - smtpi_now_ms();
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * libsmtp adapter for libevent 2 (header only).
 *
 * Drives one nonblocking session from an event_base through the public calls
 * smtp_session_fd / smtp_session_events / smtp_session_timeout_ms /
 * smtp_session_process; it never looks inside the session.
 *
 *   smtp_session_set_nonblocking(s, 1);
 *   smtp_submit(s, m);                       // or smtp_connect, smtp_quit
 *   struct smtp_libevent *a = smtp_libevent_new(base, s, on_done, ud);
 *   smtp_libevent_process(a);                // runs now, then from the event loop
 *   event_base_dispatch(base);
 *
 * on_done(ud, s, rc) is called whenever smtp_session_process stops returning
 * SMTP_EAGAIN: rc is 0 when the session is idle (everything queued is finished; the
 * reports say how each message went) or the error that ended the connection. The
 * adapter then waits for nothing until smtp_libevent_process is called again, which
 * the caller does after giving the session more work (smtp_submit, smtp_quit, ...),
 * also from within on_done. on_done may free the adapter (smtp_libevent_free) but
 * not the session before the adapter.
 *
 * A pool (smtp_pool) is driven the same way by smtp_libevent_pool_new, below.
 *
 * Link with -levent (or -levent_core).
 */
#ifndef SMTP_LIBEVENT_H
#define SMTP_LIBEVENT_H

#include <stdlib.h>

#include <event2/event.h>
#include <smtp.h>

typedef void (*smtp_libevent_done_fn)(void *ud, smtp_session *s, int rc);

struct smtp_libevent {
	struct event_base *base;
	struct event *ev;  /* re-assigned to the session's fd and events every time */
	smtp_session *s;
	smtp_libevent_done_fn done;
	void *ud;
	int running;       /* inside smtp_libevent_process */
	int again;         /* smtp_libevent_process was called while running */
	int dead;          /* smtp_libevent_free was called while running */
};

static inline void smtp_libevent_process(struct smtp_libevent *a);

static inline void smtp_libevent_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtp_libevent_process((struct smtp_libevent *)arg);
}

/* Waits for what the session asked for: its socket's directions and its deadline. */
static inline void smtp_libevent_arm(struct smtp_libevent *a)
{
	int fd = smtp_session_fd(a->s);
	int ev = smtp_session_events(a->s);
	int ms = smtp_session_timeout_ms(a->s);
	short what = 0;
	if (fd >= 0 && (ev & SMTP_WANT_READ))
		what = (short)(what | EV_READ);
	if (fd >= 0 && (ev & SMTP_WANT_WRITE))
		what = (short)(what | EV_WRITE);
	if (what == 0 && ms < 0)
		ms = 0; /* SMTP_EAGAIN with nothing to wait for: try again next round */
	/* the fd may have changed (a reconnection): assign afresh each time */
	event_assign(a->ev, a->base, what ? (evutil_socket_t)fd : (evutil_socket_t)-1, what,
		     smtp_libevent_on_event, a);
	struct timeval tv;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(a->ev, ms >= 0 ? &tv : NULL);
}

/* Creates an adapter for session s (which must be nonblocking) on base; done may be
   NULL. Does no I/O and waits for nothing until smtp_libevent_process is called.
   Returns NULL when out of memory. */
static inline struct smtp_libevent *smtp_libevent_new(struct event_base *base,
						      smtp_session *s,
						      smtp_libevent_done_fn done, void *ud)
{
	struct smtp_libevent *a = (struct smtp_libevent *)calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->ev = event_new(base, (evutil_socket_t)-1, 0, smtp_libevent_on_event, a);
	if (!a->ev) {
		free(a);
		return NULL;
	}
	a->base = base;
	a->s = s;
	a->done = done;
	a->ud = ud;
	return a;
}

/* Stops waiting and frees the adapter (not the session). NULL is allowed; may be
   called from within the done callback. */
static inline void smtp_libevent_free(struct smtp_libevent *a)
{
	if (!a)
		return;
	if (a->running) {
		a->dead = 1;
		return;
	}
	event_free(a->ev);
	free(a);
}

/* Advances the session now and waits as it says; calls done when it stops waiting. */
static inline void smtp_libevent_process(struct smtp_libevent *a)
{
	if (a->running) {
		a->again = 1;
		return;
	}
	a->running = 1;
	do {
		a->again = 0;
		event_del(a->ev);
		int rc = smtp_session_process(a->s);
		if (rc == SMTP_EAGAIN) {
			smtp_libevent_arm(a);
		} else if (a->done) {
			a->done(a->ud, a->s, rc);
		}
	} while (a->again && !a->dead);
	a->running = 0;
	if (a->dead)
		smtp_libevent_free(a);
}

/* ---- pools (smtp_pool_fd / smtp_pool_timeout_ms / smtp_pool_process) ----
 *
 *   struct smtp_libevent_pool *a = smtp_libevent_pool_new(base, pool, on_closed, ud);
 *   ... smtp_pool_submit from any thread; smtp_pool_quit(pool) to end ...
 *   event_base_dispatch(base);
 *
 * The pool's descriptor never changes, so one persistent read event and one timer
 * serve it for its whole life. on_closed(ud, pool, rc) is called once
 * smtp_pool_process stops returning SMTP_EAGAIN: rc 0 after smtp_pool_quit finished,
 * or an error; the adapter then waits for nothing. It may free the adapter. */

typedef void (*smtp_libevent_pool_done_fn)(void *ud, smtp_pool *p, int rc);

struct smtp_libevent_pool {
	struct event *ev;    /* the pool's descriptor (persistent) */
	struct event *timer; /* the pool's timeout */
	smtp_pool *p;
	smtp_libevent_pool_done_fn done;
	void *ud;
	int running;         /* inside smtp_libevent_pool_process */
	int dead;            /* smtp_libevent_pool_free was called while running */
};

static inline void smtp_libevent_pool_process(struct smtp_libevent_pool *a);

static inline void smtp_libevent_pool_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtp_libevent_pool_process((struct smtp_libevent_pool *)arg);
}

/* Stops waiting and frees the adapter (not the pool). NULL is allowed; may be
   called from within the done callback. */
static inline void smtp_libevent_pool_free(struct smtp_libevent_pool *a)
{
	if (!a)
		return;
	if (a->running) {
		a->dead = 1;
		return;
	}
	if (a->ev)
		event_free(a->ev);
	if (a->timer)
		event_free(a->timer);
	free(a);
}

/* Creates an adapter that drives pool (which must not have its own thread) from
   base, and starts waiting on the pool's descriptor. done may be NULL. Returns
   NULL when out of memory. */
static inline struct smtp_libevent_pool *smtp_libevent_pool_new(struct event_base *base,
								smtp_pool *p,
								smtp_libevent_pool_done_fn done,
								void *ud)
{
	struct smtp_libevent_pool *a =
		(struct smtp_libevent_pool *)calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->p = p;
	a->done = done;
	a->ud = ud;
	a->ev = event_new(base, (evutil_socket_t)smtp_pool_fd(p), EV_READ | EV_PERSIST,
			  smtp_libevent_pool_on_event, a);
	a->timer = event_new(base, (evutil_socket_t)-1, 0, smtp_libevent_pool_on_event, a);
	if (!a->ev || !a->timer || event_add(a->ev, NULL) != 0) {
		smtp_libevent_pool_free(a);
		return NULL;
	}
	/* the first round runs from the loop, as soon as it runs */
	struct timeval now = {0, 0};
	event_add(a->timer, &now);
	return a;
}

/* Advances the pool now and arms its timeout; calls done when it has ended. */
static inline void smtp_libevent_pool_process(struct smtp_libevent_pool *a)
{
	if (a->running)
		return;
	a->running = 1;
	int rc = smtp_pool_process(a->p);
	if (rc == SMTP_EAGAIN) {
		int ms = smtp_pool_timeout_ms(a->p);
		if (ms >= 0) {
			struct timeval tv;
			tv.tv_sec = ms / 1000;
			tv.tv_usec = (ms % 1000) * 1000;
			event_add(a->timer, &tv);
		} else {
			event_del(a->timer);
		}
	} else {
		event_del(a->ev);
		event_del(a->timer);
		if (a->done)
			a->done(a->ud, a->p, rc);
	}
	a->running = 0;
	if (a->dead)
		smtp_libevent_pool_free(a);
}

#endif

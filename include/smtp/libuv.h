/*
 * libsmtp adapter for libuv (header only).
 *
 * Drives one nonblocking session from a uv_loop_t through the public calls
 * smtp_session_fd / smtp_session_events / smtp_session_timeout_ms /
 * smtp_session_process; it never looks inside the session. A uv_poll_t watches the
 * session's socket and a uv_timer_t its deadline. The socket changes when the
 * session reconnects, and a poll handle is bound to one fd: the adapter closes the
 * old handle and opens one for the new fd.
 *
 *   smtp_session_set_nonblocking(s, 1);
 *   smtp_submit(s, m);                       // or smtp_connect, smtp_quit
 *   struct smtp_libuv *a = smtp_libuv_new(loop, s, on_done, ud);
 *   smtp_libuv_process(a);                   // runs now, then from the loop
 *   uv_run(loop, UV_RUN_DEFAULT);
 *
 * on_done(ud, s, rc) is called whenever smtp_session_process stops returning
 * SMTP_EAGAIN: rc is 0 when the session is idle (everything queued is finished; the
 * reports say how each message went) or the error that ended the connection. The
 * adapter then holds no active handle until smtp_libuv_process is called again, which
 * the caller does after giving the session more work (smtp_submit, smtp_quit, ...),
 * also from within on_done.
 *
 * smtp_libuv_free closes the handles; the memory goes when the loop runs their close
 * callbacks, so run the loop once more before uv_loop_close. Free the adapter before
 * the session: a poll handle must not outlive the socket it watches.
 *
 * A pool (smtp_pool) is driven the same way by smtp_libuv_pool_new, below.
 *
 * Link with -luv. Under strict -std=c11, uv.h needs POSIX declarations: compile with
 * -D_POSIX_C_SOURCE=200809L (or _GNU_SOURCE, or -std=gnu11).
 */
#ifndef SMTP_LIBUV_H
#define SMTP_LIBUV_H

#include <stdlib.h>

#include <smtp.h>
#include <uv.h>

typedef void (*smtp_libuv_done_fn)(void *ud, smtp_session *s, int rc);

struct smtp_libuv {
	uv_loop_t *loop;
	uv_timer_t timer;  /* the session's deadline; its close callback frees the adapter */
	uv_poll_t *poll;   /* watches poll_fd, or NULL */
	int poll_fd;
	smtp_session *s;
	smtp_libuv_done_fn done;
	void *ud;
	int running;       /* inside smtp_libuv_process */
	int again;         /* smtp_libuv_process was called while running */
	int dead;          /* smtp_libuv_free was called while running */
};

static inline void smtp_libuv_process(struct smtp_libuv *a);

static inline void smtp_libuv_on_poll(uv_poll_t *h, int status, int events)
{
	(void)status; /* an error shows in smtp_session_process */
	(void)events;
	smtp_libuv_process((struct smtp_libuv *)h->data);
}

static inline void smtp_libuv_on_timer(uv_timer_t *t)
{
	smtp_libuv_process((struct smtp_libuv *)t->data);
}

static inline void smtp_libuv_free_handle(uv_handle_t *h)
{
	free(h);
}

static inline void smtp_libuv_free_adapter(uv_handle_t *h)
{
	free(h->data);
}

/* Drops the poll handle when the session's socket is no longer the one it watches. */
static inline void smtp_libuv_sync_fd(struct smtp_libuv *a)
{
	if (a->poll && a->poll_fd != smtp_session_fd(a->s)) {
		uv_close((uv_handle_t *)a->poll, smtp_libuv_free_handle);
		a->poll = NULL;
		a->poll_fd = -1;
	}
}

/* Waits for what the session asked for: its socket's directions and its deadline. */
static inline void smtp_libuv_arm(struct smtp_libuv *a)
{
	int fd = smtp_session_fd(a->s);
	int ev = smtp_session_events(a->s);
	int ms = smtp_session_timeout_ms(a->s);
	int what = 0;
	smtp_libuv_sync_fd(a);
	if (fd >= 0 && (ev & SMTP_WANT_READ))
		what |= UV_READABLE;
	if (fd >= 0 && (ev & SMTP_WANT_WRITE))
		what |= UV_WRITABLE;
	if (what && !a->poll) {
		uv_poll_t *p = (uv_poll_t *)malloc(sizeof *p);
		if (p && uv_poll_init(a->loop, p, fd) == 0) {
			p->data = a;
			a->poll = p;
			a->poll_fd = fd;
		} else {
			free(p);
		}
	}
	if (what && a->poll) {
		if (uv_poll_start(a->poll, what, smtp_libuv_on_poll) != 0)
			what = 0;
	} else {
		if (a->poll)
			uv_poll_stop(a->poll);
		what = 0;
	}
	/* SMTP_EAGAIN with nothing to wait for (or no poll handle): try again next round */
	if (what == 0 && ms < 0)
		ms = 0;
	if (ms >= 0)
		uv_timer_start(&a->timer, smtp_libuv_on_timer, (uint64_t)ms, 0);
	else
		uv_timer_stop(&a->timer);
}

/* Creates an adapter for session s (which must be nonblocking) on loop; done may be
   NULL. Does no I/O and waits for nothing until smtp_libuv_process is called.
   Returns NULL when out of memory. */
static inline struct smtp_libuv *smtp_libuv_new(uv_loop_t *loop, smtp_session *s,
						smtp_libuv_done_fn done, void *ud)
{
	struct smtp_libuv *a = (struct smtp_libuv *)calloc(1, sizeof *a);
	if (!a)
		return NULL;
	if (uv_timer_init(loop, &a->timer) != 0) {
		free(a);
		return NULL;
	}
	a->timer.data = a;
	a->loop = loop;
	a->poll_fd = -1;
	a->s = s;
	a->done = done;
	a->ud = ud;
	return a;
}

/* Closes the adapter's handles (not the session); the memory is freed from their
   close callbacks. NULL is allowed; may be called from within the done callback. */
static inline void smtp_libuv_free(struct smtp_libuv *a)
{
	if (!a)
		return;
	if (a->running) {
		a->dead = 1;
		return;
	}
	if (a->poll)
		uv_close((uv_handle_t *)a->poll, smtp_libuv_free_handle);
	a->poll = NULL;
	uv_close((uv_handle_t *)&a->timer, smtp_libuv_free_adapter);
}

/* Advances the session now and waits as it says; calls done when it stops waiting. */
static inline void smtp_libuv_process(struct smtp_libuv *a)
{
	if (a->running) {
		a->again = 1;
		return;
	}
	a->running = 1;
	do {
		a->again = 0;
		int rc = smtp_session_process(a->s);
		if (rc == SMTP_EAGAIN) {
			smtp_libuv_arm(a);
			continue;
		}
		uv_timer_stop(&a->timer);
		smtp_libuv_sync_fd(a);
		if (a->poll)
			uv_poll_stop(a->poll);
		if (a->done)
			a->done(a->ud, a->s, rc);
	} while (a->again && !a->dead);
	a->running = 0;
	if (a->dead)
		smtp_libuv_free(a);
}

/* ---- pools (smtp_pool_fd / smtp_pool_timeout_ms / smtp_pool_process) ----
 *
 *   struct smtp_libuv_pool *a = smtp_libuv_pool_new(loop, pool, on_closed, ud);
 *   ... smtp_pool_submit from any thread; smtp_pool_quit(pool) to end ...
 *   uv_run(loop, UV_RUN_DEFAULT);
 *
 * The pool's descriptor never changes: one uv_poll_t watches it for the pool's
 * life and a uv_timer_t its timeout. on_closed(ud, pool, rc) is called once
 * smtp_pool_process stops returning SMTP_EAGAIN (rc 0 after smtp_pool_quit
 * finished, or an error); the handles are then stopped. smtp_libuv_pool_free closes
 * them and the memory goes with their close callbacks. */

typedef void (*smtp_libuv_pool_done_fn)(void *ud, smtp_pool *p, int rc);

struct smtp_libuv_pool {
	uv_poll_t poll;    /* the pool's descriptor */
	uv_timer_t timer;  /* the pool's timeout */
	int closing;       /* handles whose close callback is still due */
	smtp_pool *p;
	smtp_libuv_pool_done_fn done;
	void *ud;
	int running;       /* inside smtp_libuv_pool_process */
	int dead;          /* smtp_libuv_pool_free was called while running */
};

static inline void smtp_libuv_pool_process(struct smtp_libuv_pool *a);

static inline void smtp_libuv_pool_on_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	smtp_libuv_pool_process((struct smtp_libuv_pool *)h->data);
}

static inline void smtp_libuv_pool_on_timer(uv_timer_t *t)
{
	smtp_libuv_pool_process((struct smtp_libuv_pool *)t->data);
}

static inline void smtp_libuv_pool_closed(uv_handle_t *h)
{
	struct smtp_libuv_pool *a = (struct smtp_libuv_pool *)h->data;
	if (--a->closing == 0)
		free(a);
}

/* Closes the adapter's handles (not the pool); the memory is freed from their
   close callbacks. NULL is allowed; may be called from within the done callback. */
static inline void smtp_libuv_pool_free(struct smtp_libuv_pool *a)
{
	if (!a)
		return;
	if (a->running) {
		a->dead = 1;
		return;
	}
	a->closing = 2;
	uv_close((uv_handle_t *)&a->poll, smtp_libuv_pool_closed);
	uv_close((uv_handle_t *)&a->timer, smtp_libuv_pool_closed);
}

/* Creates an adapter that drives pool (which must not have its own thread) from
   loop and starts watching the pool's descriptor; the first round runs from the
   loop. done may be NULL. Returns NULL when out of memory or when the handles
   cannot be set up. */
static inline struct smtp_libuv_pool *smtp_libuv_pool_new(uv_loop_t *loop, smtp_pool *p,
							  smtp_libuv_pool_done_fn done,
							  void *ud)
{
	struct smtp_libuv_pool *a = (struct smtp_libuv_pool *)calloc(1, sizeof *a);
	if (!a)
		return NULL;
	if (uv_timer_init(loop, &a->timer) != 0) {
		free(a);
		return NULL;
	}
	a->timer.data = a;
	if (uv_poll_init(loop, &a->poll, smtp_pool_fd(p)) != 0) {
		a->closing = 1;
		uv_close((uv_handle_t *)&a->timer, smtp_libuv_pool_closed);
		return NULL;
	}
	a->poll.data = a;
	a->p = p;
	a->done = done;
	a->ud = ud;
	uv_poll_start(&a->poll, UV_READABLE, smtp_libuv_pool_on_poll);
	uv_timer_start(&a->timer, smtp_libuv_pool_on_timer, 0, 0);
	return a;
}

/* Advances the pool now and arms its timeout; calls done when it has ended. */
static inline void smtp_libuv_pool_process(struct smtp_libuv_pool *a)
{
	if (a->running)
		return;
	a->running = 1;
	int rc = smtp_pool_process(a->p);
	if (rc == SMTP_EAGAIN) {
		int ms = smtp_pool_timeout_ms(a->p);
		if (ms >= 0)
			uv_timer_start(&a->timer, smtp_libuv_pool_on_timer, (uint64_t)ms, 0);
		else
			uv_timer_stop(&a->timer);
	} else {
		uv_poll_stop(&a->poll);
		uv_timer_stop(&a->timer);
		if (a->done)
			a->done(a->ud, a->p, rc);
	}
	a->running = 0;
	if (a->dead)
		smtp_libuv_pool_free(a);
}

#endif

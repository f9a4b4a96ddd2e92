/* The pool's event loop: one epoll descriptor holds every session's socket and an
   eventfd that submitting threads write, so a caller's loop waits on one descriptor
   with one timeout (smtp_pool_fd/_timeout_ms/_process, as for a session); or the
   same loop runs in the pool's own thread. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "deliver/pool.h"

int64_t smtpi_pool_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int smtpi_pool_on_loop(smtp_pool *p)
{
	return p->in_loop && pthread_equal(p->loop_owner, pthread_self());
}

void smtpi_pool_wake(smtp_pool *p)
{
	if (p->wake_pending)
		return;
	uint64_t one = 1;
	if (write(p->evfd, &one, sizeof one) == (ssize_t)sizeof one)
		p->wake_pending = 1;
}

int smtp_pool_fd(const smtp_pool *p)
{
	return p ? p->epfd : -1;
}

int smtp_pool_events(const smtp_pool *p)
{
	return p ? SMTP_WANT_READ : 0;
}

int smtp_pool_timeout_ms(const smtp_pool *p)
{
	if (!p)
		return -1;
	int64_t d = atomic_load(&((smtp_pool *)p)->deadline);
	if (d < 0)
		return -1;
	int64_t left = d - smtpi_pool_now();
	return left <= 0 ? 0 : left > 86400000 ? 86400000 : (int)left;
}

/* Reads what epoll has: the eventfd (submissions) and the connections that are
   ready, marked for stepping. An event for a connection that has gone since (its id
   no longer in its slot) is dropped. */
static void collect(smtp_pool *p)
{
	struct epoll_event ev[64];
	int n;
	do {
		n = epoll_wait(p->epfd, ev, 64, 0);
		for (int i = 0; i < n; i++) {
			uint64_t d = ev[i].data.u64;
			if (d == UINT64_MAX) {
				uint64_t v;
				if (read(p->evfd, &v, sizeof v) < 0 && errno != EAGAIN)
					continue;
				pthread_mutex_lock(&p->mu);
				p->wake_pending = 0;
				pthread_mutex_unlock(&p->mu);
				continue;
			}
			size_t slot = (size_t)(d & 0xffff);
			if (slot < p->nslots && p->slots[slot] && p->slots[slot]->id == d >> 16)
				p->slots[slot]->ready = 1;
		}
	} while (n == 64);
}

/* The slot table follows smtp_pool_set_max_connections upwards; a lower limit
   retires connections instead (smtpi_pool_maintain). */
static void fit_slots(smtp_pool *p, unsigned max)
{
	if (max <= p->nslots)
		return;
	struct smtpi_pool_conn **s = realloc(p->slots, max * sizeof *s);
	if (!s)
		return;
	for (size_t i = p->nslots; i < max; i++)
		s[i] = NULL;
	p->slots = s;
	p->nslots = max;
}

/* When the loop is due again: a connection's deadline or idle timeout, and while
   messages wait, the moment a rate limit, a failed setup or a lowered connection
   limit lets the next one go; now when callbacks are due. Submissions and sockets
   wake the loop through the descriptor instead. */
static void set_deadline(smtp_pool *p, int64_t now)
{
	int64_t best = -1;
	pthread_mutex_lock(&p->mu);
	int64_t idle_ms = p->idle_ms;
	if (p->q_head) {
		int64_t t[3] = {p->rate_wake, p->setup_wake, smtpi_throttle_next(&p->throttle)};
		for (size_t i = 0; i < 3; i++)
			if (t[i] > now && (best < 0 || t[i] < best))
				best = t[i];
	}
	pthread_mutex_unlock(&p->mu);
	int64_t c = smtpi_pool_conn_deadline(p, idle_ms, now);
	if (c >= 0 && (best < 0 || c < best))
		best = c;
	if (p->done_head)
		best = now;
	atomic_store(&p->deadline, best);
}

/* One round: connections that are ready or due, then completions, hand-over and
   closing, each of which may finish messages. */
static int round_once(smtp_pool *p)
{
	int64_t now = smtpi_pool_now();
	pthread_mutex_lock(&p->mu);
	unsigned max = p->max_conns;
	pthread_mutex_unlock(&p->mu);
	fit_slots(p, max);
	collect(p);
	for (size_t i = 0; i < p->nslots; i++) {
		struct smtpi_pool_conn *c = p->slots[i];
		if (c && (c->ready || smtp_session_timeout_ms(c->s) == 0))
			smtpi_pool_step(p, c, now);
	}
	smtpi_pool_settle(p, now);
	smtpi_pool_assign(p, now);
	smtpi_pool_settle(p, now);
	smtpi_pool_maintain(p, now);
	smtpi_pool_settle(p, now);
	set_deadline(p, now);
	pthread_mutex_lock(&p->mu);
	int closed = p->closed;
	pthread_mutex_unlock(&p->mu);
	return closed ? 0 : SMTP_EAGAIN;
}

/* Marks the calling thread as the loop's for a call; SMTP_ESTATE when another
   thread owns the loop or this is a callback's nested call. */
static int enter(smtp_pool *p, int own_thread)
{
	pthread_mutex_lock(&p->mu);
	int ok = !p->in_loop && (!p->has_thread || own_thread);
	if (ok) {
		p->in_loop = 1;
		p->loop_owner = pthread_self();
	}
	pthread_mutex_unlock(&p->mu);
	return ok ? 0 : SMTP_ESTATE;
}

static void leave(smtp_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->in_loop = 0;
	pthread_mutex_unlock(&p->mu);
}

static int process(smtp_pool *p, int own_thread)
{
	int rc = enter(p, own_thread);
	if (rc)
		return rc;
	rc = round_once(p);
	leave(p);
	return rc;
}

int smtp_pool_process(smtp_pool *p)
{
	return p ? process(p, 0) : SMTP_EINVAL;
}

/* Waits on the pool's descriptor for at most its timeout (capped by cap_ms). */
static void wait_loop(smtp_pool *p, int cap_ms)
{
	int ms = smtp_pool_timeout_ms(p);
	if (cap_ms >= 0 && (ms < 0 || ms > cap_ms))
		ms = cap_ms;
	struct pollfd pfd = {.fd = p->epfd, .events = POLLIN};
	poll(&pfd, 1, ms);
}

static void *thread_main(void *arg)
{
	smtp_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int stop = p->stop_thread;
		pthread_mutex_unlock(&p->mu);
		if (stop || process(p, 1) == 0)
			break;
		wait_loop(p, -1);
	}
	return NULL;
}

int smtp_pool_start(smtp_pool *p)
{
	if (!p)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	int rc = p->has_thread || p->closed || p->in_loop ? SMTP_ESTATE : 0;
	if (rc == 0) {
		p->has_thread = 1;
		if (pthread_create(&p->thread, NULL, thread_main, p)) {
			p->has_thread = 0;
			rc = SMTP_ENOMEM;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void smtpi_pool_join(smtp_pool *p)
{
	pthread_mutex_lock(&p->mu);
	int has = p->has_thread;
	p->stop_thread = 1;
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	if (has) {
		pthread_join(p->thread, NULL);
		pthread_mutex_lock(&p->mu);
		p->has_thread = 0;
		pthread_mutex_unlock(&p->mu);
	}
}

/* Whether done(p) holds; waits for it on the condition variable when the pool has
   its own thread, else runs the loop here, until the deadline (ms, -1: none). */
static int wait_for(smtp_pool *p, int (*done)(const smtp_pool *p), int64_t deadline)
{
	pthread_mutex_lock(&p->mu);
	if (smtpi_pool_on_loop(p)) {
		pthread_mutex_unlock(&p->mu);
		return SMTP_ESTATE;
	}
	while (p->has_thread && !done(p)) {
		if (deadline < 0) {
			pthread_cond_wait(&p->idle, &p->mu);
			continue;
		}
		int64_t left = deadline - smtpi_pool_now();
		if (left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->idle, &p->mu, &ts);
	}
	int own = p->has_thread;
	int ok = done(p);
	pthread_mutex_unlock(&p->mu);
	while (!own && !ok) {
		int64_t left = deadline < 0 ? -1 : deadline - smtpi_pool_now();
		if (deadline >= 0 && left <= 0)
			break;
		int rc = process(p, 0);
		if (rc != SMTP_EAGAIN && rc != 0)
			return rc;
		pthread_mutex_lock(&p->mu);
		ok = done(p);
		pthread_mutex_unlock(&p->mu);
		if (!ok)
			wait_loop(p, left < 0 ? -1 : (int)(left < 86400000 ? left : 86400000));
	}
	return ok ? 0 : SMTP_ETIMEDOUT;
}

static int drained(const smtp_pool *p)
{
	return p->outstanding == 0;
}

static int is_closed(const smtp_pool *p)
{
	return p->closed;
}

int smtp_pool_drain(smtp_pool *p, int timeout_ms)
{
	if (!p || timeout_ms < -1)
		return SMTP_EINVAL;
	return wait_for(p, drained, timeout_ms < 0 ? -1 : smtpi_pool_now() + timeout_ms);
}

int smtp_pool_quit(smtp_pool *p)
{
	if (!p)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	pthread_cond_broadcast(&p->space);
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_close(smtp_pool *p)
{
	if (!p)
		return SMTP_EINVAL;
	smtp_pool_quit(p);
	int rc = wait_for(p, is_closed, -1);
	if (rc == 0)
		smtpi_pool_join(p);
	return rc;
}

/* The pool's connections: opening a session within the limits, handing it
   messages, noticing when the server closed it, deciding what a completed message
   needs (its callback, or another connection), and closing it. Loop thread only;
   p->mu is taken only around the shared queue, settings and counters. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "deliver/pool.h"
#include "engine/engine.h"

static void stat_add(smtp_pool *p, smtp_pool_stat_kind k, uint64_t n)
{
	p->stats[k] += n;
}

/* ---- epoll registration ---- */

/* Watches what the session waits for; an idle connected session is watched for
   input, which can only be the server closing it. The descriptor may have been
   closed and its number reused by the session's next socket within one call, which
   removed the old registration: MOD then fails with ENOENT and ADD follows. */
static void arm(smtp_pool *p, struct smtpi_pool_conn *c)
{
	int fd = smtp_session_fd(c->s);
	int ev = smtp_session_events(c->s);
	uint32_t want = 0;
	if (ev & SMTP_WANT_READ)
		want |= EPOLLIN;
	if (ev & SMTP_WANT_WRITE)
		want |= EPOLLOUT;
	if (!want && c->ninflight == 0 && c->mode != SMTPI_CONN_QUITTING &&
	    smtp_session_get_state(c->s) == SMTP_STATE_READY)
		want = EPOLLIN | EPOLLRDHUP;
	if (c->reg_fd >= 0 && (c->reg_fd != fd || !want)) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->reg_fd, NULL);
		c->reg_fd = -1;
	}
	if (fd < 0 || !want)
		return;
	struct epoll_event e = {.events = want, .data.u64 = (c->id << 16) | c->slot};
	if (c->reg_fd == fd && epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
		return;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &e) == 0 ||
	    (errno == EEXIST && epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &e) == 0))
		c->reg_fd = fd;
	else
		c->reg_fd = -1;
}

/* ---- completion ---- */

void smtpi_pool_done_push(smtp_pool *p, struct smtpi_pool_item *it)
{
	it->next = NULL;
	if (p->done_tail)
		p->done_tail->next = it;
	else
		p->done_head = it;
	p->done_tail = it;
}

/* The session finished message m: move it to the pool's completed list. */
static void on_message(void *ud, smtp_session *s, smtp_message *m)
{
	(void)s;
	struct smtpi_pool_conn *c = ud;
	struct smtpi_pool_item **pp = &c->inflight;
	while (*pp && (*pp)->m != m)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	struct smtpi_pool_item *it = *pp;
	*pp = it->next;
	c->ninflight--;
	smtpi_pool_done_push(c->pool, it);
}

/* Whether the connection died before the message's final dot or BDAT LAST went out,
   so that the server cannot have it: no reply decided anything (every recipient
   deferred by a connection-level error) and the report does not say
   maybe_delivered (doc/report-schema.md, "Verdicts"). */
static int died_before_dot(const smtp_message *m, const smtp_report *r)
{
	int err = smtp_report_error(r);
	/* a reader stopped midway cannot give its content again from the start */
	if (!smtpi_body_restartable(m) || smtp_report_maybe_delivered(r) ||
	    (err != SMTP_ECLOSED && err != SMTP_ETIMEDOUT && err != SMTP_EPROTOCOL))
		return 0;
	size_t n = smtp_report_rcpt_count(r);
	for (size_t i = 0; i < n; i++)
		if (smtp_rcpt_verdict(smtp_report_rcpt(r, i)) != SMTP_VERDICT_DEFERRED)
			return 0;
	return n > 0;
}

void smtpi_pool_settle(smtp_pool *p, int64_t now)
{
	while (p->done_head) {
		struct smtpi_pool_item *it = p->done_head;
		p->done_head = it->next;
		if (!p->done_head)
			p->done_tail = NULL;
		it->next = NULL;
		const smtp_report *r = smtp_message_report(it->m);
		pthread_mutex_lock(&p->mu);
		if (smtpi_throttle_report(r)) {
			stat_add(p, SMTP_POOL_THROTTLED, 1);
			smtpi_throttle_signal(&p->throttle, (unsigned)p->live, now);
		}
		if (!p->aborting && it->resends < p->resend_max && died_before_dot(it->m, r)) {
			it->resends++;
			stat_add(p, SMTP_POOL_RESENT, 1);
			it->next = p->q_head;
			p->q_head = it;
			if (!p->q_tail)
				p->q_tail = it;
			p->q_len++;
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		smtp_pool_message_fn fn = p->done_fn;
		void *ud = p->done_ud;
		pthread_mutex_unlock(&p->mu);
		if (fn)
			fn(ud, p, it->m, it->ud);
		free(it);
		pthread_mutex_lock(&p->mu);
		stat_add(p, SMTP_POOL_COMPLETED, 1);
		if (--p->outstanding == 0)
			pthread_cond_broadcast(&p->idle);
		pthread_mutex_unlock(&p->mu);
	}
}

/* ---- opening and closing ---- */

static void release(smtp_pool *p, struct smtpi_pool_conn *c)
{
	if (c->reg_fd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->reg_fd, NULL);
	smtp_session_free(c->s);
	p->slots[c->slot] = NULL;
	p->live--;
	pthread_mutex_lock(&p->mu);
	p->stats[SMTP_POOL_CONNECTIONS] = p->live;
	pthread_mutex_unlock(&p->mu);
	free(c);
}

/* A new session with the pool's settings, in a free slot. Called with p->mu held;
   drops it around the caller's setup function. NULL when none could be made. */
static struct smtpi_pool_conn *open_conn(smtp_pool *p, int64_t now)
{
	size_t slot = 0;
	while (slot < p->nslots && p->slots[slot])
		slot++;
	if (slot == p->nslots)
		return NULL;
	struct smtpi_pool_conn *c = calloc(1, sizeof *c);
	smtp_session *s = c ? smtp_session_new() : NULL;
	if (!s || smtp_session_set_nonblocking(s, 1) || smtp_session_set_url(s, p->url) ||
	    smtp_session_set_tls_cache(s, p->tls)) {
		smtp_session_free(s);
		free(c);
		p->setup_wake = now + 1000;
		return NULL;
	}
	smtp_pool_setup_fn setup = p->setup;
	void *setup_ud = p->setup_ud;
	pthread_mutex_unlock(&p->mu);
	int rc = setup ? setup(setup_ud, s) : 0;
	if (rc == 0)
		rc = smtp_session_set_nonblocking(s, 1);
	if (rc == 0)
		rc = smtp_session_set_message_callback(s, on_message, c);
	pthread_mutex_lock(&p->mu);
	if (rc) {
		smtp_session_free(s);
		free(c);
		p->setup_wake = now + 1000;
		return NULL;
	}
	c->s = s;
	c->pool = p;
	c->id = ++p->next_id;
	c->slot = slot;
	c->reg_fd = -1;
	p->slots[slot] = c;
	p->live++;
	p->stats[SMTP_POOL_CONNECTIONS] = p->live;
	if (p->live > p->stats[SMTP_POOL_CONNECTIONS_PEAK])
		p->stats[SMTP_POOL_CONNECTIONS_PEAK] = p->live;
	stat_add(p, SMTP_POOL_CONNECTIONS_OPENED, 1);
	return c;
}

/* After a session call: free the slot once the session is down, else watch it. */
static void after(smtp_pool *p, struct smtpi_pool_conn *c, int rc, int64_t now)
{
	if (rc != SMTP_EAGAIN && smtp_session_get_state(c->s) == SMTP_STATE_IDLE &&
	    smtp_session_queued(c->s) == 0) {
		release(p, c);
		return;
	}
	if (c->ninflight == 0 && !c->idle_since)
		c->idle_since = now;
	arm(p, c);
}

static void start_quit(smtp_pool *p, struct smtpi_pool_conn *c, int64_t now)
{
	c->mode = SMTPI_CONN_QUITTING;
	after(p, c, smtp_quit(c->s), now);
}

void smtpi_pool_step(smtp_pool *p, struct smtpi_pool_conn *c, int64_t now)
{
	int ready = c->ready;
	c->ready = 0;
	c->kick = 0;
	if (ready && c->ninflight == 0 && c->mode != SMTPI_CONN_QUITTING &&
	    smtp_session_get_state(c->s) == SMTP_STATE_READY) {
		/* Nothing was asked, so the server spoke unprompted: a 421 or an EOF, its
		   way of closing (RFC 5321 3.8). No message is affected. */
		smtp_session_abandon(c->s);
		pthread_mutex_lock(&p->mu);
		stat_add(p, SMTP_POOL_IDLE_DROPS, 1);
		pthread_mutex_unlock(&p->mu);
		release(p, c);
		return;
	}
	int rc = c->mode == SMTPI_CONN_QUITTING ? smtp_quit(c->s) : smtp_session_process(c->s);
	after(p, c, rc, now);
}

/* ---- handing messages over ---- */

/* The connection to use next: the least busy one that takes messages. */
static struct smtpi_pool_conn *pick(const smtp_pool *p)
{
	struct smtpi_pool_conn *best = NULL;
	for (size_t i = 0; i < p->nslots; i++) {
		struct smtpi_pool_conn *c = p->slots[i];
		if (c && c->mode == SMTPI_CONN_OPEN && c->ninflight < p->depth &&
		    (!best || c->ninflight < best->ninflight))
			best = c;
	}
	return best;
}

/* Whether the message may go now by the rate hook or the limits; else sets
   p->rate_wake. Called with p->mu held; drops it around the hook. */
static int rate_ok(smtp_pool *p, const struct smtpi_pool_item *it, int64_t now)
{
	if (p->rate_fn) {
		smtp_pool_rate_fn fn = p->rate_fn;
		void *ud = p->rate_ud;
		pthread_mutex_unlock(&p->mu);
		int64_t wait = fn(ud, p, it->m, it->nrcpts);
		pthread_mutex_lock(&p->mu);
		if (wait <= 0)
			return 1;
		p->rate_wake = now + (wait < 86400000 ? wait : 86400000);
		return 0;
	}
	int64_t w1 = smtpi_rate_wait(&p->rate[SMTP_RATE_MESSAGES], 1, now);
	int64_t w2 = smtpi_rate_wait(&p->rate[SMTP_RATE_RECIPIENTS], it->nrcpts, now);
	int64_t wait = w1 > w2 ? w1 : w2;
	if (wait > 0) {
		p->rate_wake = now + wait;
		return 0;
	}
	if (smtpi_rate_take(&p->rate[SMTP_RATE_MESSAGES], 1, now) ||
	    smtpi_rate_take(&p->rate[SMTP_RATE_RECIPIENTS], it->nrcpts, now)) {
		p->rate_wake = now + 1; /* out of memory: try again shortly */
		return 0;
	}
	return 1;
}

/* Whether a new connection may open now: under the limit in force, no failed setup
   to wait out, and the connection rate allows one. Called with p->mu held. */
static int may_open(smtp_pool *p, int64_t now, int64_t *wait)
{
	unsigned cap = smtpi_throttle_cap(&p->throttle, now);
	if (cap > p->max_conns)
		cap = p->max_conns;
	*wait = 0;
	if (p->live >= cap || now < p->setup_wake)
		return 0;
	*wait = smtpi_rate_wait(&p->rate[SMTP_RATE_CONNECTIONS], 1, now);
	return *wait == 0;
}

void smtpi_pool_assign(smtp_pool *p, int64_t now)
{
	pthread_mutex_lock(&p->mu);
	while (p->q_head && now >= p->rate_wake) {
		/* the least busy connection, or a new one when every open one is busy */
		struct smtpi_pool_conn *c = pick(p);
		int64_t wait;
		int open = (!c || c->ninflight > 0) && may_open(p, now, &wait);
		if (!c && !open) {
			if (wait > 0)
				p->rate_wake = now + wait;
			break;
		}
		if (!rate_ok(p, p->q_head, now))
			break;
		if (open) {
			struct smtpi_pool_conn *n = open_conn(p, now);
			if (n) {
				c = n;
				if (smtpi_rate_take(&p->rate[SMTP_RATE_CONNECTIONS], 1, now))
					p->rate_wake = now + 1; /* out of memory: slow down */
			}
			if (!c || !p->q_head)
				break; /* the message's turn was spent; it goes next time */
		}
		struct smtpi_pool_item *it = p->q_head;
		p->q_head = it->next;
		if (!p->q_head)
			p->q_tail = NULL;
		p->q_len--;
		pthread_cond_broadcast(&p->space);
		it->next = c->inflight;
		c->inflight = it;
		c->ninflight++;
		c->idle_since = 0;
		c->assigned++;
		if (p->max_msgs && c->assigned >= p->max_msgs)
			c->mode = SMTPI_CONN_RETIRING;
		pthread_mutex_unlock(&p->mu);
		if (smtp_submit(c->s, it->m)) {
			/* out of memory: it completes with the report it has */
			c->inflight = it->next;
			c->ninflight--;
			smtpi_pool_done_push(p, it);
		} else {
			c->kick = 1;
		}
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i] && p->slots[i]->kick)
			smtpi_pool_step(p, p->slots[i], now);
}

/* ---- closing ---- */

void smtpi_pool_maintain(smtp_pool *p, int64_t now)
{
	pthread_mutex_lock(&p->mu);
	unsigned cap = smtpi_throttle_cap(&p->throttle, now);
	if (cap > p->max_conns)
		cap = p->max_conns;
	int ending = p->closing && p->outstanding == 0;
	int64_t idle_ms = p->idle_ms;
	int queued = p->q_head != NULL;
	pthread_mutex_unlock(&p->mu);
	size_t keep = 0;
	for (size_t i = 0; i < p->nslots; i++) {
		struct smtpi_pool_conn *c = p->slots[i];
		if (!c || c->mode == SMTPI_CONN_QUITTING)
			continue;
		if (c->mode == SMTPI_CONN_OPEN && keep >= cap)
			c->mode = SMTPI_CONN_RETIRING;
		if (c->mode == SMTPI_CONN_OPEN)
			keep++;
		if (c->ninflight)
			continue;
		smtp_session_state st = smtp_session_get_state(c->s);
		if (st == SMTP_STATE_IDLE) {
			/* opened, then its message's turn went by: nothing to close */
			release(p, c);
			continue;
		}
		if (st != SMTP_STATE_READY)
			continue;
		int expired = idle_ms && !queued && c->idle_since && now - c->idle_since >= idle_ms;
		if (ending || expired || c->mode == SMTPI_CONN_RETIRING)
			start_quit(p, c, now);
	}
	if (ending && p->live == 0) {
		pthread_mutex_lock(&p->mu);
		if (!p->closed) {
			p->closed = 1;
			pthread_cond_broadcast(&p->idle);
		}
		pthread_mutex_unlock(&p->mu);
	}
}

int64_t smtpi_pool_conn_deadline(const smtp_pool *p, int64_t idle_ms, int64_t now)
{
	int64_t best = -1;
	for (size_t i = 0; i < p->nslots; i++) {
		const struct smtpi_pool_conn *c = p->slots[i];
		if (!c)
			continue;
		int ms = smtp_session_timeout_ms(c->s);
		int64_t t = ms >= 0 ? now + ms : -1;
		if (c->ninflight == 0 && c->idle_since && idle_ms) {
			int64_t idle = c->idle_since + idle_ms;
			if (t < 0 || idle < t)
				t = idle;
		}
		if (t >= 0 && (best < 0 || t < best))
			best = t;
	}
	return best;
}

void smtpi_pool_abandon_all(smtp_pool *p)
{
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i]) {
			smtp_session_abandon(p->slots[i]->s);
			release(p, p->slots[i]);
		}
}

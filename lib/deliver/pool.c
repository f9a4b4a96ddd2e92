/* The pool's public face: creating and freeing it, its settings (each checked and
   bounded), submission from any thread into the bounded queue, and its counters. */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "deliver/pool.h"

smtp_pool *smtp_pool_new(void)
{
	smtp_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->epfd = p->evfd = -1;
	p->tls = smtp_tls_cache_new();
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	if (!p->tls || p->epfd < 0 || p->evfd < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &e) ||
	    pthread_mutex_init(&p->mu, NULL)) {
		smtp_tls_cache_free(p->tls);
		if (p->epfd >= 0)
			close(p->epfd);
		if (p->evfd >= 0)
			close(p->evfd);
		free(p);
		return NULL;
	}
	pthread_cond_init(&p->space, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->max_conns = 4;
	p->depth = 8;
	p->idle_ms = 30000;
	p->queue_limit = 10000;
	p->block = 1;
	p->resend_max = 3;
	smtpi_throttle_init(&p->throttle, p->max_conns, 30000);
	atomic_init(&p->deadline, -1);
	return p;
}

/* Completes every message the pool still holds, with the report it has. */
static void complete_queued(smtp_pool *p)
{
	pthread_mutex_lock(&p->mu);
	struct smtpi_pool_item *it = p->q_head;
	p->q_head = p->q_tail = NULL;
	p->q_len = 0;
	pthread_mutex_unlock(&p->mu);
	/* each gets a final report as an abandoned session gives it (deferred,
	   SMTP_ESTATE), so no callback sees a pending one; the session never connects */
	smtp_session *s = it ? smtp_session_new() : NULL;
	if (s && smtp_session_set_nonblocking(s, 1) == 0) {
		for (struct smtpi_pool_item *q = it; q; q = q->next)
			(void)smtp_submit(s, q->m); /* checked at smtp_pool_submit */
		smtp_session_abandon(s);
	}
	smtp_session_free(s);
	while (it) {
		struct smtpi_pool_item *next = it->next;
		smtpi_pool_done_push(p, it);
		it = next;
	}
	smtpi_pool_settle(p, smtpi_pool_now());
}

void smtp_pool_free(smtp_pool *p)
{
	if (!p)
		return;
	smtpi_pool_join(p);
	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	p->in_loop = 1;
	p->loop_owner = pthread_self();
	pthread_cond_broadcast(&p->space);
	pthread_mutex_unlock(&p->mu);
	p->aborting = 1;
	smtpi_pool_abandon_all(p);
	smtpi_pool_settle(p, smtpi_pool_now());
	complete_queued(p);
	free(p->slots);
	for (size_t i = 0; i <= SMTP_RATE_CONNECTIONS; i++)
		smtpi_rate_free(&p->rate[i]);
	smtp_tls_cache_free(p->tls);
	close(p->epfd);
	close(p->evfd);
	free(p->url);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int smtp_pool_set_url(smtp_pool *p, const char *url)
{
	if (!p || !url)
		return SMTP_EINVAL;
	/* checked by the parser every session uses, so that a bad URL fails here */
	smtp_session *s = smtp_session_new();
	if (!s)
		return SMTP_ENOMEM;
	int rc = smtp_session_set_url(s, url);
	smtp_session_free(s);
	if (rc)
		return rc;
	char *copy = strdup(url);
	if (!copy)
		return SMTP_ENOMEM;
	pthread_mutex_lock(&p->mu);
	free(p->url);
	p->url = copy;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_session_setup(smtp_pool *p, smtp_pool_setup_fn fn, void *ud)
{
	if (!p)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->setup = fn;
	p->setup_ud = fn ? ud : NULL;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_message_callback(smtp_pool *p, smtp_pool_message_fn fn, void *ud)
{
	if (!p)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->done_fn = fn;
	p->done_ud = fn ? ud : NULL;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_rate_hook(smtp_pool *p, smtp_pool_rate_fn fn, void *ud)
{
	if (!p)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->rate_fn = fn;
	p->rate_ud = fn ? ud : NULL;
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Sets *field to v when lo <= v <= hi, under the lock, and wakes the loop. */
static int set_bounded(smtp_pool *p, unsigned *field, unsigned v, unsigned lo, unsigned hi)
{
	if (!p || v < lo || v > hi)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	*field = v;
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_max_connections(smtp_pool *p, unsigned n)
{
	int rc = set_bounded(p, p ? &p->max_conns : NULL, n, 1, 1000);
	if (rc == 0) {
		pthread_mutex_lock(&p->mu);
		smtpi_throttle_init(&p->throttle, n, p->throttle.recovery);
		pthread_mutex_unlock(&p->mu);
	}
	return rc;
}

int smtp_pool_set_max_messages(smtp_pool *p, unsigned n)
{
	return set_bounded(p, p ? &p->max_msgs : NULL, n, 0, 1000000);
}

int smtp_pool_set_pipeline_depth(smtp_pool *p, unsigned n)
{
	return set_bounded(p, p ? &p->depth : NULL, n, 1, 1000);
}

int smtp_pool_set_resend_attempts(smtp_pool *p, unsigned n)
{
	return set_bounded(p, p ? &p->resend_max : NULL, n, 0, 100);
}

int smtp_pool_set_idle_timeout(smtp_pool *p, int64_t ms)
{
	if (!p || ms < 0 || ms > 86400000)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->idle_ms = ms;
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_throttle_recovery(smtp_pool *p, int64_t ms)
{
	if (!p || ms < 0 || ms > 86400000)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	smtpi_throttle_init(&p->throttle, p->max_conns, ms);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_queue_limit(smtp_pool *p, size_t n, int block)
{
	if (!p || n < 1 || n > 10000000)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->queue_limit = n;
	p->block = block != 0;
	pthread_cond_broadcast(&p->space);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int smtp_pool_set_rate(smtp_pool *p, smtp_rate_kind kind, unsigned count, int64_t window_ms)
{
	if (!p || (unsigned)kind > SMTP_RATE_CONNECTIONS)
		return SMTP_EINVAL;
	pthread_mutex_lock(&p->mu);
	int rc = smtpi_rate_set(&p->rate[kind], count, window_ms);
	smtpi_pool_wake(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int smtp_pool_submit(smtp_pool *p, smtp_message *m, void *msg_ud)
{
	if (!p || !m)
		return SMTP_EINVAL;
	/* a message the pool cannot send is the caller's to know now, not in a callback */
	int rc = smtp_message_check(m);
	if (rc)
		return rc;
	size_t nrcpts = smtp_message_rcpt_count(m);
	struct smtpi_pool_item *it = calloc(1, sizeof *it);
	if (!it)
		return SMTP_ENOMEM;
	it->m = m;
	it->ud = msg_ud;
	it->nrcpts = (unsigned)nrcpts;
	pthread_mutex_lock(&p->mu);
	unsigned rcpt_limit = p->rate[SMTP_RATE_RECIPIENTS].limit;
	if (!p->url || p->closing)
		rc = SMTP_ESTATE;
	else if (rcpt_limit && !p->rate_fn && nrcpts > rcpt_limit)
		rc = SMTP_EINVAL;
	while (rc == 0 && p->q_len >= p->queue_limit) {
		if (!p->block || smtpi_pool_on_loop(p)) {
			rc = SMTP_EBUSY;
			break;
		}
		pthread_cond_wait(&p->space, &p->mu);
		if (p->closing)
			rc = SMTP_ESTATE;
	}
	if (rc == 0) {
		if (p->q_tail)
			p->q_tail->next = it;
		else
			p->q_head = it;
		p->q_tail = it;
		p->q_len++;
		p->outstanding++;
		smtpi_pool_wake(p);
	}
	pthread_mutex_unlock(&p->mu);
	if (rc)
		free(it);
	return rc;
}

uint64_t smtp_pool_stat(const smtp_pool *p, smtp_pool_stat_kind kind)
{
	if (!p || (unsigned)kind > SMTP_POOL_THROTTLED)
		return 0;
	smtp_pool *q = (smtp_pool *)p; /* the lock is not part of the pool's value */
	pthread_mutex_lock(&q->mu);
	uint64_t v;
	switch (kind) {
	case SMTP_POOL_CONNECTION_LIMIT:
		v = smtpi_throttle_cap(&q->throttle, smtpi_pool_now());
		if (v > q->max_conns)
			v = q->max_conns;
		break;
	case SMTP_POOL_QUEUED:
		v = q->q_len;
		break;
	case SMTP_POOL_OUTSTANDING:
		v = q->outstanding;
		break;
	default:
		v = q->stats[kind];
	}
	pthread_mutex_unlock(&q->mu);
	return v;
}

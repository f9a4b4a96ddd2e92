/* The worker's pool (lib/deliver) and its glue: session options as smtp-send names
   them, completions queued for the main thread (which alone talks to Redis for
   jobs), and the shared rate limit through the pool's rate hook. */
#include "deliver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int setup(void *ud, smtp_session *s)
{
	const struct wk_deliver *d = ud;
	const struct wk_options *o = d->o;
	int rc = 0;
	if (o->have_tls)
		rc = smtp_session_set_tls_mode(s, o->tls);
	if (!rc && o->ca_file)
		rc = smtp_session_set_ca_file(s, o->ca_file);
	if (!rc && o->user)
		rc = smtp_session_set_auth(s, o->user, d->secret ? d->secret : "", NULL);
	for (int st = SMTP_STAGE_CONNECT; !rc && o->timeout_s && st <= SMTP_STAGE_COMMAND; st++)
		rc = smtp_session_set_timeout(s, (smtp_stage)st, o->timeout_s * 1000);
	return rc;
}

static void on_done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)p;
	(void)m;
	struct wk_deliver *d = ud;
	struct wk_job *j = msg_ud;
	j->next = NULL;
	pthread_mutex_lock(&d->mu);
	if (d->done_tail)
		d->done_tail->next = j;
	else
		d->done_head = j;
	d->done_tail = j;
	pthread_mutex_unlock(&d->mu);
	uint64_t one = 1;
	if (write(d->evfd, &one, sizeof one) < 0)
		perror("smtp-worker: eventfd"); /* the main loop still polls every 20 ms */
}

/* --shared-rate: one counter per window in Redis, for every worker. Redis down:
   wait a second and ask again, rather than send past the limit. */
static int64_t shared_rate(void *ud, smtp_pool *p, const smtp_message *m, size_t nrcpts)
{
	(void)p;
	(void)m;
	(void)nrcpts;
	struct wk_deliver *d = ud;
	if (!d->rate_redis.c && wk_redis_connect(&d->rate_redis, d->o))
		return 1000;
	int64_t wait = wk_redis_rate(&d->rate_redis, wk_wall_ms());
	if (wait < 0) {
		wk_redis_close(&d->rate_redis);
		return 1000;
	}
	return wait;
}

static char *first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[4096];
	char *s = fgets(buf, sizeof buf, f) ? strdup(buf) : strdup("");
	fclose(f);
	if (s)
		s[strcspn(s, "\r\n")] = '\0';
	memset(buf, 0, sizeof buf);
	return s;
}

int wk_deliver_start(struct wk_deliver *d, const struct wk_options *o)
{
	memset(d, 0, sizeof *d);
	d->o = o;
	pthread_mutex_init(&d->mu, NULL);
	d->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->evfd < 0) {
		perror("smtp-worker: eventfd");
		return -1;
	}
	if (o->password_file && !(d->secret = first_line(o->password_file))) {
		fprintf(stderr, "smtp-worker: --password-file %s: %s\n", o->password_file,
			strerror(errno));
		return -1;
	}
	d->pool = smtp_pool_new();
	if (!d->pool)
		return -1;
	smtp_pool *p = d->pool;
	int rc = smtp_pool_set_url(p, o->url);
	if (rc) {
		fprintf(stderr, "smtp-worker: --url: %s\n", smtp_error_text(rc));
		return -1;
	}
	rc = smtp_pool_set_session_setup(p, setup, d);
	if (!rc && o->max_connections)
		rc = smtp_pool_set_max_connections(p, o->max_connections);
	if (!rc && o->max_messages)
		rc = smtp_pool_set_max_messages(p, o->max_messages);
	if (!rc && o->idle_timeout_ms >= 0)
		rc = smtp_pool_set_idle_timeout(p, o->idle_timeout_ms);
	if (!rc && o->rate_count && !o->shared_rate)
		rc = smtp_pool_set_rate(p, SMTP_RATE_MESSAGES, o->rate_count, o->rate_window_ms);
	if (!rc && o->shared_rate)
		rc = smtp_pool_set_rate_hook(p, shared_rate, d);
	if (!rc)
		rc = smtp_pool_set_message_callback(p, on_done, d);
	if (!rc)
		rc = smtp_pool_start(p);
	if (rc) {
		fprintf(stderr, "smtp-worker: pool: %s\n", smtp_error_text(rc));
		return -1;
	}
	return 0;
}

int wk_deliver_submit(struct wk_deliver *d, struct wk_job *j)
{
	return smtp_pool_submit(d->pool, j->m, j);
}

struct wk_job *wk_deliver_take(struct wk_deliver *d, int wait_ms)
{
	struct pollfd pfd = {.fd = d->evfd, .events = POLLIN};
	uint64_t v;
	if (wait_ms > 0)
		poll(&pfd, 1, wait_ms);
	if (read(d->evfd, &v, sizeof v) < 0 && errno != EAGAIN)
		perror("smtp-worker: eventfd");
	pthread_mutex_lock(&d->mu);
	struct wk_job *list = d->done_head;
	d->done_head = d->done_tail = NULL;
	pthread_mutex_unlock(&d->mu);
	return list;
}

struct wk_job *wk_deliver_stop(struct wk_deliver *d)
{
	if (d->pool) {
		smtp_pool_close(d->pool);
		smtp_pool_free(d->pool);
	}
	d->pool = NULL;
	struct wk_job *left = d->done_head;
	d->done_head = d->done_tail = NULL;
	wk_redis_close(&d->rate_redis);
	if (d->secret) {
		memset(d->secret, 0, strlen(d->secret));
		free(d->secret);
	}
	d->secret = NULL;
	if (d->evfd >= 0)
		close(d->evfd);
	d->evfd = -1;
	pthread_mutex_destroy(&d->mu);
	return left;
}

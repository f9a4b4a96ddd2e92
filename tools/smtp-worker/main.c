/* smtp-worker: takes mail jobs from a Redis stream through a consumer group, sends
   them through a connection pool, writes one result per attempt to NAME:results,
   puts deferred recipients into NAME:delayed until their retry is due, and takes
   over the jobs of workers that died. README "smtp-worker" describes the command
   line, the job format and exactly what can be delivered twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "options.h"
#include "redisq.h"
#include "worker.h"

#define EX_USAGE 64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct worker {
	struct wk_options o;
	struct wk_redis r;
	struct wk_deliver d;
	smtp_retry *sched;
	struct wk_job **flying;  /* handed to the pool, result not yet written */
	size_t nflying, cap;
	struct wk_job *unwritten; /* completed; writing the result failed (Redis down) */
	unsigned long finished;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* After a lost connection: connect again, once a second, until it works or the
   worker stops. Returns 0 when connected. */
static int reconnect(struct worker *w)
{
	wk_redis_close(&w->r);
	for (;;) {
		if (wk_redis_connect(&w->r, &w->o) == 0)
			return 0;
		if (stopping)
			return -1;
		sleep_ms(1000);
	}
}

static int is_flying(const struct worker *w, const char *entry)
{
	for (size_t i = 0; i < w->nflying; i++)
		if (strcmp(w->flying[i]->entry, entry) == 0)
			return 1;
	return 0;
}

static void land(struct worker *w, const struct wk_job *j)
{
	for (size_t i = 0; i < w->nflying; i++)
		if (w->flying[i] == j) {
			w->flying[i] = w->flying[--w->nflying];
			return;
		}
}

/* Writes a job's result and acknowledges it; frees the job when done. Returns 0,
   or -1 when Redis failed (the job is kept for another try). */
static int finish(struct worker *w, struct wk_job *j, struct wk_result *res)
{
	int rc = wk_redis_finish(&w->r, j, res);
	wk_result_free(res);
	if (rc)
		return -1;
	w->finished++;
	land(w, j);
	wk_job_free(j);
	return 0;
}

/* Writes the results of the completed jobs, those left from a Redis failure first;
   what cannot be written now waits for the next round. */
static void write_completed(struct worker *w, struct wk_job *list)
{
	struct wk_job *pending = w->unwritten;
	w->unwritten = NULL;
	/* older ones first */
	struct wk_job **tail = &pending;
	while (*tail)
		tail = &(*tail)->next;
	*tail = list;
	while (pending) {
		struct wk_job *j = pending;
		struct wk_result res;
		if (wk_result_attempt(j, w->sched, w->o.at_most_once, wk_wall_ms(), &res)) {
			w->unwritten = pending; /* out of memory: next round */
			return;
		}
		struct wk_job *next = j->next;
		if (finish(w, j, &res)) {
			w->unwritten = pending;
			reconnect(w);
			return;
		}
		pending = next;
	}
}

/* A job that is not sent: its one final result. */
static void finish_unsent(struct worker *w, struct wk_job *j, int maybe)
{
	struct wk_result res;
	if (wk_result_unsent(j, maybe, &res) || finish(w, j, &res))
		wk_job_free(j); /* not acknowledged: another try finds it again */
}

/* Turns entries into jobs: checks them, asks Redis whether each has a final result
   already or was in flight at a worker that died, and hands the rest to the pool. */
static void take_entries(struct worker *w, struct wk_entry *e, int n, int claimed)
{
	struct wk_job **jobs = calloc((size_t)n, sizeof *jobs);
	int *status = calloc((size_t)n, sizeof *status);
	size_t nj = 0;
	for (int i = 0; jobs && status && i < n; i++) {
		/* XAUTOCLAIM may hand back our own job when a heartbeat came late */
		if (claimed && is_flying(w, e[i].id))
			continue;
		struct wk_job *j = wk_job_from_entry(&e[i], wk_wall_ms());
		if (!j)
			continue;
		if (j->invalid[0] || wk_job_message(j))
			finish_unsent(w, j, 0);
		else
			jobs[nj++] = j;
	}
	if (nj && wk_redis_check(&w->r, jobs, nj, status)) {
		for (size_t i = 0; i < nj; i++)
			wk_job_free(jobs[i]); /* unacknowledged: found again later */
		nj = 0;
		reconnect(w);
	}
	for (size_t i = 0; i < nj; i++) {
		struct wk_job *j = jobs[i];
		if (status[i] == 1) {
			/* a final result exists: acknowledge without sending again */
			wk_redis_ack(&w->r, j->entry);
			wk_job_free(j);
			continue;
		}
		if (status[i] == 2) {
			/* it was in flight at a worker that died: its data may have arrived */
			j->maybe = 1;
			if (w->o.at_most_once) {
				finish_unsent(w, j, 1);
				continue;
			}
		}
		int rc = status[i] < 0 || w->nflying == w->cap ? SMTP_EBUSY
							       : wk_deliver_submit(&w->d, j);
		if (rc == SMTP_EINVAL) {
			/* it passed smtp_message_check (wk_job_message): what the pool
			   still refuses can never change on a retry either */
			snprintf(j->invalid, sizeof j->invalid,
				 "the delivery pool refuses this message (SMTP_EINVAL)");
			finish_unsent(w, j, 0);
			continue;
		}
		if (rc) {
			wk_job_free(j); /* unacknowledged: found again later */
			continue;
		}
		w->flying[w->nflying++] = j;
	}
	free(jobs);
	free(status);
}

static void free_entries(struct wk_entry *e, int n)
{
	for (int i = 0; i < n; i++)
		wk_entry_free(&e[i]);
	free(e);
}

/* Every so often: due retries back into the stream, other workers' stale jobs, and
   our own jobs' idle time reset so that nobody takes them over. */
static void maintain(struct worker *w)
{
	if (wk_redis_move_due(&w->r, wk_wall_ms()) < 0) {
		reconnect(w);
		return;
	}
	char **ids = calloc(w->nflying ? w->nflying : 1, sizeof *ids);
	for (size_t i = 0; ids && i < w->nflying; i++)
		ids[i] = w->flying[i]->entry;
	int rc = ids ? wk_redis_touch(&w->r, ids, w->nflying) : 0;
	free(ids);
	if (rc) {
		reconnect(w);
		return;
	}
	if (w->nflying >= w->cap)
		return;
	struct wk_entry *e;
	int n = wk_redis_claim(&w->r, (int)(w->cap - w->nflying), &e);
	if (n < 0) {
		reconnect(w);
		return;
	}
	take_entries(w, e, n, 1);
	free_entries(e, n);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static smtp_retry *schedule(const struct wk_options *o)
{
	smtp_retry *s = smtp_retry_new();
	if (s && ((o->ndelays && smtp_retry_set_delays(s, o->delays, o->ndelays)) ||
		  (o->jitter >= 0 && smtp_retry_set_jitter(s, o->jitter)) ||
		  (o->give_up_ms && smtp_retry_set_give_up(s, o->give_up_ms)))) {
		smtp_retry_free(s);
		return NULL;
	}
	return s;
}

static int run(struct worker *w)
{
	int64_t every = w->o.claim_idle_ms / 3 < 1000 ? w->o.claim_idle_ms / 3 : 1000;
	int64_t next = 0;
	int idle_round = 0;
	while (!stopping || w->nflying > 0) {
		write_completed(w, wk_deliver_take(&w->d, idle_round ? 20 : 0));
		idle_round = 0;
		if (stopping && !w->r.c)
			break; /* Redis is gone: what is unacknowledged stays for others */
		if (stopping) {
			idle_round = 1;
			continue; /* finish what is in flight, take nothing new */
		}
		if (mono_ms() >= next) {
			maintain(w);
			next = mono_ms() + every;
		}
		if (w->nflying >= w->cap) {
			idle_round = 1;
			continue;
		}
		struct wk_entry *e;
		int n = wk_redis_read(&w->r, (int)(w->cap - w->nflying), w->nflying ? 0 : 200, &e);
		if (n < 0) {
			reconnect(w);
			continue;
		}
		take_entries(w, e, n, 0);
		free_entries(e, n);
		idle_round = n == 0;
	}
	return w->unwritten ? EX_TEMPFAIL : 0;
}

int main(int argc, char **argv)
{
	struct worker w;
	memset(&w, 0, sizeof w);
	int rc = wk_options_parse(argc, argv, &w.o);
	if (rc)
		return rc > 0 ? 0 : EX_USAGE;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a Redis connection that breaks must not kill us */
	w.sched = schedule(&w.o);
	w.cap = (w.o.max_connections ? w.o.max_connections : 4) * 8;
	w.flying = calloc(w.cap, sizeof *w.flying);
	if (!w.sched || !w.flying)
		return EX_SOFTWARE;
	if (wk_redis_connect(&w.r, &w.o) || wk_redis_group(&w.r))
		return EX_UNAVAILABLE;
	if (wk_deliver_start(&w.d, &w.o))
		return EX_SOFTWARE;
	rc = run(&w);
	/* completed after the loop ended: their results were not written */
	for (struct wk_job *j = wk_deliver_stop(&w.d), *next; j; j = next) {
		next = j->next;
		wk_job_free(j);
		rc = EX_TEMPFAIL;
	}
	fprintf(stderr, "smtp-worker %s: %lu results written\n", w.o.consumer, w.finished);
	for (struct wk_job *j = w.unwritten, *next; j; j = next) {
		next = j->next;
		wk_job_free(j);
	}
	wk_redis_close(&w.r);
	smtp_retry_free(w.sched);
	free(w.flying);
	return rc;
}

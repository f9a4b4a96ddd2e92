/* The hard cap: 10,000 messages submitted from 8 threads at once through a pool of 4
   connections (STARTTLS, verified through the setup callback) to Postfix A, which
   counts concurrent connections per client itself (anvil; limit 4, loopback not
   exempt: a fifth connection would be refused and logged). Postfix, not the test,
   says how many were open at once; the sink behind it says every message arrived
   exactly once; the bounded queue (500) makes the submitters block. */
#include <pthread.h>

#include "dl_common.h"

#define THREADS 8
#define PER_THREAD 1250
#define TOTAL (THREADS * PER_THREAD)

static smtp_pool *pool;
static struct dl_tally tally;
static int submit_errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int setup(void *ud, smtp_session *s)
{
	(void)ud;
	int rc = smtp_session_set_ca_file(s, dl_env("DL_CA"));
	return rc ? rc : smtp_session_set_helo_name(s, "pool.test");
}

static void *submitter(void *arg)
{
	int base = (int)(long)arg * PER_THREAD;
	static const char *const rcpts[] = {"rcpt@example.net", NULL};
	for (int i = 0; i < PER_THREAD; i++) {
		struct dl_msg *d = dl_msg_new(base + i, rcpts);
		if (smtp_pool_submit(pool, d->m, d) != 0) {
			pthread_mutex_lock(&mu);
			submit_errors++;
			pthread_mutex_unlock(&mu);
			dl_msg_free(d);
		}
	}
	return NULL;
}

/* The largest N of Postfix's "max connection count N for (...)" lines. */
static int anvil_peak(const char *log)
{
	int peak = -1;
	for (const char *p = log; (p = strstr(p, "max connection count ")) != NULL; p++) {
		int n = atoi(p + strlen("max connection count "));
		if (n > peak)
			peak = n;
	}
	return peak;
}

static void test_cap(void)
{
	const char *logf = dl_env("DL_PFA_LOG");
	long offset = dl_file_size(logf);
	/* STARTTLS required (smtp://), verified against the test CA set up per session */
	pool = dl_pool("DL_PFA_SUB_PORT", "", 4, &tally);
	CHECK_INT(smtp_pool_set_session_setup(pool, setup, NULL), 0);
	CHECK_INT(smtp_pool_set_queue_limit(pool, 500, 1), 0);
	CHECK_INT(smtp_pool_start(pool), 0);
	pthread_t th[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, submitter, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(smtp_pool_drain(pool, 300000), 0);
	CHECK_INT(smtp_pool_close(pool), 0);
	CHECK_INT(submit_errors, 0);
	CHECK_INT(tally.sent, TOTAL);
	CHECK_INT(tally.deferred + tally.other, 0);
	CHECK_INT(smtp_pool_stat(pool, SMTP_POOL_COMPLETED), TOTAL);
	/* the pool reached its cap and never passed it */
	CHECK_INT(smtp_pool_stat(pool, SMTP_POOL_CONNECTIONS_PEAK), 4);
	CHECK_INT(smtp_pool_stat(pool, SMTP_POOL_CONNECTIONS), 0);
	uint64_t opened = smtp_pool_stat(pool, SMTP_POOL_CONNECTIONS_OPENED);
	smtp_pool_free(pool);

	/* Postfix's view: every connection the pool opened, no refused fifth one, and
	   anvil's peak of concurrent connections from 127.0.0.1 (logged each second) */
	char *log = dl_log_after(logf, offset, "max connection count", 1, 10);
	CHECK(log != NULL);
	if (log) {
		CHECK_INT(dl_count(log, "Connection concurrency limit exceeded"), 0);
		CHECK_INT(dl_count(log, ": connect from "), (long long)opened);
		int peak = anvil_peak(log);
		fprintf(stderr, "dl_cap: Postfix's peak of concurrent connections: %d; "
			"the pool opened %llu\n", peak, (unsigned long long)opened);
		CHECK(peak >= 1 && peak <= 4);
		free(log);
	}

	/* the sink behind Postfix: each of the 10,000 exactly once */
	static int counts[TOTAL];
	long files = dl_count_seqs(dl_env("DL_SINK_A_DIR"), NULL, counts, TOTAL);
	CHECK_INT(files, TOTAL);
	CHECK_INT(dl_exactly_once(counts, TOTAL, "dl_cap"), TOTAL);
}

int main(void)
{
	RUN(test_cap);
	return CHECK_DONE("dl_cap");
}

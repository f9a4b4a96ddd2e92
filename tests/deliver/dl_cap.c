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
static int sent, not_sent, submit_errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int setup(void *ud, smtp_session *s)
{
	(void)ud;
	int rc = smtp_session_set_ca_file(s, dl_env("DL_CA"));
	return rc ? rc : smtp_session_set_helo_name(s, "pool.test");
}

static void done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)ud;
	(void)p;
	if (smtp_report_outcome(smtp_message_report(m)) == SMTP_SENT) {
		sent++;
	} else {
		if (not_sent++ < 3) {
			char j[4096];
			smtp_report_json(smtp_message_report(m), j, sizeof j);
			fprintf(stderr, "not sent: %s\n", j);
		}
	}
	dl_msg_free(msg_ud);
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
	char url[128];
	dl_url(url, sizeof url, "DL_PFA_SUB_PORT", "");
	pool = smtp_pool_new();
	CHECK_INT(smtp_pool_set_url(pool, url), 0);
	CHECK_INT(smtp_pool_set_session_setup(pool, setup, NULL), 0);
	CHECK_INT(smtp_pool_set_max_connections(pool, 4), 0);
	CHECK_INT(smtp_pool_set_queue_limit(pool, 500, 1), 0);
	CHECK_INT(smtp_pool_set_message_callback(pool, done, NULL), 0);
	CHECK_INT(smtp_pool_start(pool), 0);
	pthread_t th[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, submitter, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(smtp_pool_drain(pool, 300000), 0);
	CHECK_INT(smtp_pool_close(pool), 0);
	CHECK_INT(submit_errors, 0);
	CHECK_INT(sent, TOTAL);
	CHECK_INT(not_sent, 0);
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

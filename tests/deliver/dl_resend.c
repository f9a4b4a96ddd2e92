/* What the pool sends again and what it never does (doc/report-schema.md, "Verdicts"):
   - the connection dies before the final dot (smtp-sink -q RCPT hangs up after
     RCPT): sent again on another connection, a bounded number of times, then
     deferred without maybe_delivered, never delivered;
   - the connection dies after the final dot, before its reply (smtp-sink -q .):
     never sent again, deferred with maybe_delivered;
   - a fifth and sixth connection refused by Postfix A ("421 4.7.0 too many
     connections" as the greeting): their messages go out on the other connections,
     every one exactly once, and the "too fast" reply lowers the pool's limit. */
#include "dl_common.h"

static void submit(smtp_pool *p, int n)
{
	static const char *const rcpts[] = {"resend@example.net", NULL};
	for (int i = 0; i < n; i++) {
		struct dl_msg *d = dl_msg_new(i, rcpts);
		CHECK_INT(smtp_pool_submit(p, d->m, d), 0);
	}
}

static void test_drop_before_dot(void)
{
	struct dl_tally t = {0};
	smtp_pool *p = dl_pool("DL_SINK_DROPRCPT_PORT", "?tls=none", 2, &t);
	CHECK_INT(smtp_pool_set_resend_attempts(p, 2), 0);
	CHECK_INT(smtp_pool_set_pipeline_depth(p, 1), 0);
	submit(p, 5);
	CHECK_INT(smtp_pool_close(p), 0);
	CHECK_INT(t.deferred, 5);
	CHECK_INT(t.maybe, 0);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_RESENT), 5 * 2);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_OPENED), 5 * 3);
	smtp_pool_free(p);
	/* no message's content arrived (under load smtp-sink was seen to leave a dump
	   file for a transaction it cut off: the contents count, not the files) */
	int counts[5] = {0};
	CHECK(dl_count_seqs(dl_env("DL_SINK_DROPRCPT_DIR"), NULL, counts, 5) >= 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(counts[i], 0);
}

static void test_drop_after_dot(void)
{
	struct dl_tally t = {0};
	smtp_pool *p = dl_pool("DL_SINK_DROPDOT_PORT", "?tls=none", 2, &t);
	CHECK_INT(smtp_pool_set_pipeline_depth(p, 1), 0);
	submit(p, 4);
	CHECK_INT(smtp_pool_close(p), 0);
	CHECK_INT(t.deferred, 4);
	CHECK_INT(t.maybe, 4);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_RESENT), 0);
	smtp_pool_free(p);
	int counts[4] = {0};
	dl_count_seqs(dl_env("DL_SINK_DROPDOT_DIR"), NULL, counts, 4);
	for (int i = 0; i < 4; i++)
		CHECK(counts[i] <= 1);
}

static void test_refused_connections(void)
{
	const char *logf = dl_env("DL_PFA_LOG");
	long offset = dl_file_size(logf);
	struct dl_tally t = {0};
	smtp_pool *p = dl_pool("DL_PFA_PLAIN_PORT", "?tls=none", 6, &t);
	CHECK_INT(smtp_pool_set_pipeline_depth(p, 2), 0);
	/* numbered after dl_cap's and dl_maxmsgs' messages in the same sink */
	static const char *const rcpts[] = {"refused@example.net", NULL};
	enum { N = 300, BASE = 20000 };
	for (int i = 0; i < N; i++) {
		struct dl_msg *d = dl_msg_new(BASE + i, rcpts);
		CHECK_INT(smtp_pool_submit(p, d->m, d), 0);
	}
	CHECK_INT(smtp_pool_drain(p, 120000), 0);
	uint64_t limit = smtp_pool_stat(p, SMTP_POOL_CONNECTION_LIMIT);
	CHECK_INT(smtp_pool_close(p), 0);
	CHECK_INT(t.sent, N);
	uint64_t resent = smtp_pool_stat(p, SMTP_POOL_RESENT);
	uint64_t throttled = smtp_pool_stat(p, SMTP_POOL_THROTTLED);
	fprintf(stderr, "dl_resend: %llu resent after a refused connection, %llu \"too fast\" "
		"replies, limit now %llu, peak %llu\n", (unsigned long long)resent,
		(unsigned long long)throttled, (unsigned long long)limit,
		(unsigned long long)smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_PEAK));
	CHECK(resent >= 1);
	CHECK(throttled >= 1);
	CHECK(limit < 6);
	smtp_pool_free(p);
	char *log = dl_log_after(logf, offset, "Connection concurrency limit exceeded", 1, 10);
	CHECK(log && dl_count(log, "Connection concurrency limit exceeded") >= 1);
	free(log);
	static int counts[BASE + N];
	dl_count_seqs(dl_env("DL_SINK_A_DIR"), NULL, counts, BASE + N);
	CHECK_INT(dl_exactly_once(counts + BASE, N, "dl_resend"), N);
}

int main(void)
{
	RUN(test_drop_before_dot);
	RUN(test_drop_after_dot);
	RUN(test_refused_connections);
	return CHECK_DONE("dl_resend");
}

/* A server that says "too fast": aiosmtpd answers every 7th MAIL with "454 4.7.0
   Throttling failure: Maximum sending rate exceeded" (Amazon SES's words). The pool
   lowers its connection limit; the caller resubmits the throttled messages from the
   callback (which never blocks there); every message arrives exactly once. */
#include "dl_common.h"

#define N 100

static int sent, throttled_msgs, other;

static void done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)ud;
	const smtp_report *r = smtp_message_report(m);
	smtp_outcome o = smtp_report_outcome(r);
	if (o == SMTP_SENT) {
		sent++;
		dl_msg_free(msg_ud);
		return;
	}
	const smtp_rcpt_result *rr = smtp_report_rcpt(r, 0);
	if (o == SMTP_DEFERRED && smtp_report_failed_stage(r) == SMTP_STAGE_MAIL &&
	    smtp_rcpt_verdict(rr) == SMTP_VERDICT_DEFERRED) {
		throttled_msgs++;
		if (smtp_pool_submit(p, m, msg_ud) == 0)
			return;
	}
	other++;
	char j[4096];
	smtp_report_json(r, j, sizeof j);
	fprintf(stderr, "dl_throttle: %s\n", j);
	dl_msg_free(msg_ud);
}

static void test_throttle(void)
{
	/* the records of earlier runs against the same server do not count */
	static int before[N], counts[N];
	dl_count_seqs(dl_env("DL_AIO_THROTTLE_DIR"), ".eml", before, N);
	smtp_pool *p = dl_pool("DL_AIO_THROTTLE_PORT", "?tls=none", 4, NULL);
	CHECK_INT(smtp_pool_set_throttle_recovery(p, 600000), 0);
	CHECK_INT(smtp_pool_set_message_callback(p, done, NULL), 0);
	CHECK_INT(smtp_pool_start(p), 0);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTION_LIMIT), 4);
	static const char *const rcpts[] = {"fast@example.net", NULL};
	for (int i = 0; i < N; i++) {
		struct dl_msg *d = dl_msg_new(i, rcpts);
		CHECK_INT(smtp_pool_submit(p, d->m, d), 0);
	}
	CHECK_INT(smtp_pool_drain(p, 120000), 0);
	uint64_t limit = smtp_pool_stat(p, SMTP_POOL_CONNECTION_LIMIT);
	uint64_t seen = smtp_pool_stat(p, SMTP_POOL_THROTTLED);
	CHECK_INT(smtp_pool_close(p), 0);
	fprintf(stderr, "dl_throttle: %d throttled replies, connection limit now %llu, "
		"peak %llu\n", throttled_msgs, (unsigned long long)limit,
		(unsigned long long)smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_PEAK));
	CHECK_INT(sent, N);
	CHECK_INT(other, 0);
	CHECK(throttled_msgs >= N / 7);
	CHECK_INT(seen, throttled_msgs);
	CHECK(limit < 4 && limit >= 1);
	CHECK(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_PEAK) <= 4);
	smtp_pool_free(p);
	dl_count_seqs(dl_env("DL_AIO_THROTTLE_DIR"), ".eml", counts, N);
	for (int i = 0; i < N; i++)
		counts[i] -= before[i];
	CHECK_INT(dl_exactly_once(counts, N, "dl_throttle"), N);
}

int main(void)
{
	RUN(test_throttle);
	return CHECK_DONE("dl_throttle");
}

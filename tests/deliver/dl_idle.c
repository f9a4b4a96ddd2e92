/* Idle drops: servers that close idle connections after 1 s, by EOF (smtp-sink -t 1)
   and by "421 4.4.2 ... timeout exceeded" (Postfix B, smtpd_timeout = 1s). Messages
   come in bursts with 2 s pauses, so every pause ends with the server closing the
   pool's connections (the pool's own idle timeout is longer); every message must
   still arrive exactly once and none may fail. */
#include "dl_common.h"

#define BURSTS 3
#define PER_BURST 20
#define TOTAL (BURSTS * PER_BURST)

/* Runs the bursts against port_var and returns the pool's idle-drop count. */
static uint64_t bursts(const char *port_var, const char *dir_var)
{
	struct dl_tally t = {0};
	smtp_pool *p = dl_pool(port_var, "?tls=none", 2, &t);
	CHECK_INT(smtp_pool_set_idle_timeout(p, 30000), 0);
	CHECK_INT(smtp_pool_start(p), 0);
	static const char *const rcpts[] = {"idle@example.net", NULL};
	for (int b = 0; b < BURSTS; b++) {
		if (b)
			dl_sleep_ms(2000);
		for (int i = 0; i < PER_BURST; i++) {
			struct dl_msg *d = dl_msg_new(b * PER_BURST + i, rcpts);
			CHECK_INT(smtp_pool_submit(p, d->m, d), 0);
		}
		CHECK_INT(smtp_pool_drain(p, 60000), 0);
	}
	CHECK_INT(smtp_pool_close(p), 0);
	CHECK_INT(t.sent, TOTAL);
	CHECK_INT(t.deferred + t.other, 0);
	CHECK(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_PEAK) <= 2);
	uint64_t drops = smtp_pool_stat(p, SMTP_POOL_IDLE_DROPS);
	fprintf(stderr, "dl_idle %s: %llu idle connections closed by the server, %llu opened, "
		"%llu resent\n", port_var, (unsigned long long)drops,
		(unsigned long long)smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_OPENED),
		(unsigned long long)smtp_pool_stat(p, SMTP_POOL_RESENT));
	smtp_pool_free(p);
	int counts[TOTAL] = {0};
	CHECK_INT(dl_count_seqs(dl_env(dir_var), NULL, counts, TOTAL), TOTAL);
	CHECK_INT(dl_exactly_once(counts, TOTAL, port_var), TOTAL);
	return drops;
}

/* smtp-sink -t 1 hangs up on an idle connection without a word */
static void test_eof(void)
{
	/* two pauses, each long enough for the server to close what was idle */
	CHECK(bursts("DL_SINK_IDLE_PORT", "DL_SINK_IDLE_DIR") >= 2);
}

/* Postfix answers an idle connection with 421 and closes it */
static void test_421(void)
{
	const char *logf = dl_env("DL_PFB_LOG");
	long offset = dl_file_size(logf);
	CHECK(bursts("DL_PFB_PLAIN_PORT", "DL_SINK_B_DIR") >= 2);
	char *log = dl_log_after(logf, offset, "timeout after", 2, 10);
	CHECK(log && dl_count(log, "timeout after") >= 2);
	free(log);
}

int main(void)
{
	RUN(test_eof);
	RUN(test_421);
	return CHECK_DONE("dl_idle");
}

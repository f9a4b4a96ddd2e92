/* Messages per connection: with a limit of M the server sees a new connection every
   M messages. Postfix logs each connection's commands when it ends ("disconnect
   from ... mail=10 ... quit=1"); that count, not the pool's, is checked. */
#include "dl_common.h"

#define M 10

/* Sends n messages through conns connections limited to M messages each; returns
   Postfix's disconnect lines for them. */
static char *run(unsigned conns, int n, int first_seq, uint64_t *opened)
{
	const char *logf = dl_env("DL_PFA_LOG");
	long offset = dl_file_size(logf);
	struct dl_tally t = {0};
	smtp_pool *p = dl_pool("DL_PFA_PLAIN_PORT", "?tls=none", conns, &t);
	CHECK_INT(smtp_pool_set_max_messages(p, M), 0);
	static const char *const rcpts[] = {"max@example.net", NULL};
	for (int i = 0; i < n; i++) {
		struct dl_msg *d = dl_msg_new(first_seq + i, rcpts);
		CHECK_INT(smtp_pool_submit(p, d->m, d), 0);
	}
	/* no thread of its own: drain and close run the loop here */
	CHECK_INT(smtp_pool_drain(p, 60000), 0);
	CHECK_INT(smtp_pool_close(p), 0);
	CHECK_INT(t.sent, n);
	*opened = smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_OPENED);
	smtp_pool_free(p);
	return dl_log_after(logf, offset, "disconnect from", (int)*opened, 10);
}

/* One connection at a time: exactly M messages on each, then QUIT. */
static void test_one_connection(void)
{
	uint64_t opened;
	char *log = run(1, 5 * M, 0, &opened);
	CHECK_INT(opened, 5);
	CHECK(log != NULL);
	if (!log)
		return;
	CHECK_INT(dl_count(log, "disconnect from"), 5);
	/* "ehlo=1 mail=10 rcpt=10 bdat=10 ... quit=1 commands=..." (BDAT: Postfix
	   offers CHUNKING) */
	CHECK_INT(dl_count(log, " mail=10 rcpt=10 "), 5);
	CHECK_INT(dl_count(log, " quit=1 "), 5);
	free(log);
}

/* Two at once: no connection carries more than M, and they carry all of them. */
static void test_two_connections(void)
{
	uint64_t opened;
	char *log = run(2, 7 * M, 100, &opened);
	CHECK(log != NULL);
	if (!log)
		return;
	CHECK_INT(dl_count(log, "disconnect from"), (long long)opened);
	int total = 0, lines = 0;
	for (const char *q = log; (q = strstr(q, "disconnect from")) != NULL; q++) {
		const char *mail = strstr(q, " mail=");
		const char *eol = strchr(q, '\n');
		if (!mail || (eol && mail > eol))
			continue;
		int k = atoi(mail + 6);
		CHECK(k >= 1 && k <= M);
		total += k;
		lines++;
	}
	CHECK_INT(total, 7 * M);
	CHECK(lines >= 7);
	free(log);
}

int main(void)
{
	RUN(test_one_connection);
	RUN(test_two_connections);
	return CHECK_DONE("dl_maxmsgs");
}

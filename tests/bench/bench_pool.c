/* bench_pool: send the same message many times through an smtp_pool, for
 * tests/bench/bench_pool.sh (the counterpart of bench_nodemailer_pool.js).
 *
 *   bench_pool URL CONNECTIONS MAX_MESSAGES MESSAGES FILE
 *
 * One pool of CONNECTIONS connections (MAX_MESSAGES per connection, 0: no limit),
 * driven in this one thread by smtp_pool_drain; MESSAGES fresh smtp_message objects
 * from bench@example.org to sink@example.org referencing FILE's bytes (read once)
 * are submitted first, each freed in the completion callback. Prints "sent N of M"
 * on stderr; exits 0 when every message was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtp.h>

static long sent, done;

static void on_done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)ud;
	(void)p;
	(void)msg_ud;
	sent += smtp_report_outcome(smtp_message_report(m)) == SMTP_SENT;
	done++;
	smtp_message_free(m);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fputs("usage: bench_pool URL CONNECTIONS MAX_MESSAGES MESSAGES FILE\n", stderr);
		return 2;
	}
	long conns = atol(argv[2]), maxmsg = atol(argv[3]), n = atol(argv[4]);
	size_t len;
	char *data = slurp(argv[5], &len);
	smtp_pool *p = smtp_pool_new();
	if (!data || !p || conns < 1 || maxmsg < 0 || n < 1)
		return 2;
	if (smtp_pool_set_url(p, argv[1]) || smtp_pool_set_max_connections(p, (unsigned)conns) ||
	    smtp_pool_set_max_messages(p, (unsigned)maxmsg) ||
	    smtp_pool_set_queue_limit(p, (size_t)n, 1) ||
	    smtp_pool_set_message_callback(p, on_done, NULL)) {
		fputs("bench_pool: bad settings\n", stderr);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		smtp_message *m = smtp_message_new();
		if (!m || smtp_message_set_from(m, "bench@example.org") ||
		    smtp_message_add_rcpt(m, "sink@example.org") ||
		    smtp_message_set_data(m, data, len) || smtp_pool_submit(p, m, NULL)) {
			fputs("bench_pool: cannot submit\n", stderr);
			return 2;
		}
	}
	int rc = smtp_pool_drain(p, 600000);
	smtp_pool_close(p);
	smtp_pool_free(p);
	free(data);
	fprintf(stderr, "sent %ld of %ld\n", sent, n);
	return rc == 0 && sent == n ? 0 : 1;
}

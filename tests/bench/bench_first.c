/* bench_first: time to the first accepted message on a fresh connection with libsmtp,
 * for the STARTTLS + AUTH workload of tests/bench/run.sh.
 *
 *   bench_first URL CAFILE USER PASSWORD FILE [--data]
 *
 * Opens two connections one after the other, each with a new session that shares one
 * smtp_tls_cache: the first runs a full TLS handshake and fills the cache, the second
 * resumes from it. Each connects to URL (smtp://host:port: STARTTLS required, the
 * certificate verified against CAFILE), authenticates with AUTH PLAIN (USER,
 * PASSWORD), sends FILE from bench@example.org to sink@example.org with smtp_send()
 * and then quits. --data: DATA even when the server offers CHUNKING.
 *
 * Prints one line per connection on stdout:
 *   conn=1 ms=T resumed=0|1 tls=VERSION steps=STAGE:MS,...
 * T is the wall time from just before smtp_connect() to smtp_send()'s return (the
 * message accepted; QUIT is not counted); steps are the message report's steps with
 * smtp_step_elapsed_us() (a command's write to its reply; pipelined steps overlap).
 * Exits 0 when both messages were accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smtp.h>

#include "bench_file.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_steps(const smtp_report *r)
{
	const char *sep = "";
	fputs(" steps=", stdout);
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		const smtp_step *st = smtp_report_step(r, i);
		int64_t us = smtp_step_elapsed_us(st);
		if (us < 0)
			continue;
		printf("%s%s:%.1f", sep, smtp_stage_name(smtp_step_stage(st)), (double)us / 1e3);
		sep = ",";
	}
}

/* One connection: connect, authenticate, send, quit. Returns 0 when accepted. */
static int one(int index, char **argv, int data, smtp_tls_cache *cache, const char *body,
	       size_t len)
{
	smtp_session *s = smtp_session_new();
	smtp_message *m = smtp_message_new();
	int rc = SMTP_ENOMEM;
	if (s && m) {
		rc = smtp_session_set_url(s, argv[1]);
		if (!rc)
			rc = smtp_session_set_ca_file(s, argv[2]);
		if (!rc)
			rc = smtp_session_set_auth(s, argv[3], argv[4], "PLAIN");
		if (!rc)
			rc = smtp_session_set_tls_cache(s, cache);
		if (!rc && data)
			rc = smtp_session_set_chunking(s, 0, 0);
		if (!rc)
			rc = smtp_message_set_from(m, "bench@example.org");
		if (!rc)
			rc = smtp_message_add_rcpt(m, "sink@example.org");
		if (!rc)
			rc = smtp_message_set_data(m, body, len);
	}
	double t0 = now_ms();
	if (!rc)
		rc = smtp_connect(s);
	if (!rc)
		rc = smtp_send(s, m);
	double t1 = now_ms();
	if (!rc) {
		const smtp_report *r = smtp_message_report(m);
		const char *v = smtp_report_tls_version(r);
		printf("conn=%d ms=%.1f resumed=%d tls=%s", index, t1 - t0,
		       smtp_report_tls_resumed(r), v ? v : "none");
		print_steps(r);
		putchar('\n');
		smtp_quit(s);
	} else {
		fprintf(stderr, "connection %d: %s\n", index, smtp_error_name(rc));
		if (s) {
			char text[4096];
			smtp_report_text(smtp_session_report(s), text, sizeof text);
			fputs(text, stderr);
		}
	}
	smtp_message_free(m);
	smtp_session_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	int data = argc == 7 && strcmp(argv[6], "--data") == 0;
	if (argc != 6 && !data) {
		fputs("usage: bench_first URL CAFILE USER PASSWORD FILE [--data]\n", stderr);
		return 2;
	}
	size_t len;
	char *body = read_file(argv[5], &len);
	smtp_tls_cache *cache = smtp_tls_cache_new();
	if (!body || !cache)
		return 3;
	int rc = one(1, argv, data, cache, body, len);
	if (!rc)
		rc = one(2, argv, data, cache, body, len);
	smtp_tls_cache_free(cache);
	free(body);
	return rc ? 1 : 0;
}

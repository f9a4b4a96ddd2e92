/* Session setters and calls that need no server: bounds on numeric settings, the
   HELO name's syntax (RFC 5321 4.1.3), smtp_command refusing the commands that
   belong to the engine, and reports of a session that never connected. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "smtp.h"

/* 1. A chunk size outside 1 KiB .. 64 MiB is refused (1 to 7 used to send "BDAT 0"
   forever; SIZE_MAX overflowed the reservation). */
static void test_chunk_bounds(void)
{
	smtp_session *s = smtp_session_new();
	CHECK_INT(smtp_session_set_chunking(s, 1, SIZE_MAX), SMTP_EINVAL);
	for (size_t n = 1; n < 8; n++)
		CHECK_INT(smtp_session_set_chunking(s, 1, n), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_chunking(s, 1, 1023), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_chunking(s, 1, (size_t)64 * 1024 * 1024 + 1), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_chunking(s, 1, 1024), 0);
	CHECK_INT(smtp_session_set_chunking(s, 1, (size_t)64 * 1024 * 1024), 0);
	CHECK_INT(smtp_session_set_chunking(s, 1, 0), 0);
	CHECK_INT(smtp_session_set_chunking(s, 0, 0), 0);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_DATA, -1), SMTP_EINVAL);
	smtp_session_free(s);
}

/* 15. Commands that would desynchronise the engine go through the real API only. */
static void test_command_refuses_engine_verbs(void)
{
	static const char *const verbs[] = {
		"MAIL FROM:<a@b>", "rcpt to:<a@b>", "DATA", "BDAT 3 LAST", "STARTTLS",
		"AUTH PLAIN AHVzZXIAcGFzcw==", "QUIT", "EHLO x", "HELO x", "LHLO x", "Data",
	};
	smtp_session *s = smtp_session_new();
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		CHECK_INT(smtp_command(s, verbs[i]), SMTP_EINVAL);
	/* the others wait for a connection */
	CHECK_INT(smtp_command(s, "NOOP"), SMTP_ESTATE);
	CHECK_INT(smtp_command(s, "XCLIENT NAME=x"), SMTP_ESTATE);
	CHECK_INT(smtp_command(s, "DATAX"), SMTP_ESTATE);
	CHECK_INT(smtp_command(s, "NOOP\r\nQUIT"), SMTP_EINVAL);
	smtp_session_free(s);
}

/* 16. The HELO name is a domain or an address literal, and fits. */
static void test_helo_names(void)
{
	static const char *const good[] = {
		"client.example.org", "localhost", "[192.0.2.1]", "[IPv6:2001:db8::1]",
		"xn--bcher-kva.example", "b\303\274cher.example",
	};
	static const char *const bad[] = {
		"[300.1.1.1]", "[IPv6:zz::1]", "[foo]", "[192.0.2.1", "a b", "a_b.example",
		"-lead.example", "trail-.example", "a..b", "", "[]", "x\r\nMAIL FROM:<>",
	};
	smtp_session *s = smtp_session_new();
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK_INT(smtp_session_set_helo_name(s, good[i]), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(smtp_session_set_helo_name(s, bad[i]), SMTP_EINVAL);
	/* over 255 octets: refused, not cut */
	char name[600];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	for (size_t i = 60; i < sizeof name - 1; i += 61)
		name[i] = '.';
	CHECK_INT(smtp_session_set_helo_name(s, name), SMTP_EINVAL);
	name[250] = '\0';
	CHECK_INT(smtp_session_set_helo_name(s, name), 0);
	smtp_session_free(s);
}

/* A session that never connected: abandon is harmless, its report names nothing. */
static void test_unconnected(void)
{
	smtp_session *s = smtp_session_new();
	CHECK_INT(smtp_session_abandon(NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_abandon(s), 0);
	CHECK_INT(smtp_quit(s), 0);
	CHECK_INT(smtp_session_fd(s), -1);
	CHECK_INT(smtp_session_timeout_ms(s), -1);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_message_set_from(m, "a@example.org"), 0);
	CHECK_INT(smtp_message_add_rcpt(m, "b@example.org"), 0);
	CHECK_INT(smtp_message_set_data(m, "x\r\n", 3), 0);
	/* no server set: the message fails, as the caller's error, before any I/O */
	CHECK_INT(smtp_send(s, m), SMTP_EINVAL);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_FAILED);
	CHECK_INT(smtp_rcpt_verdict(smtp_report_rcpt(r, 0)), SMTP_VERDICT_FAILED);
	CHECK_INT(smtp_report_error(r), SMTP_EINVAL);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* smtp_message_check says what smtp_submit would about the message itself, and
   smtp_message_rcpt_count counts what was added. */
static void test_message_check(void)
{
	CHECK_INT(smtp_message_check(NULL), SMTP_EINVAL);
	CHECK_INT(smtp_message_rcpt_count(NULL), 0);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_message_check(m), SMTP_EINVAL);
	CHECK_INT(smtp_message_set_from(m, "a@example.test"), 0);
	CHECK_INT(smtp_message_check(m), SMTP_EINVAL);
	CHECK_INT(smtp_message_add_rcpt(m, "b@example.test"), 0);
	CHECK_INT(smtp_message_add_rcpt(m, "c@example.test"), 0);
	CHECK_INT(smtp_message_rcpt_count(m), 2);
	CHECK_INT(smtp_message_check(m), SMTP_EINVAL); /* no content */
	static const char nul[] = "Subject: x\r\n\r\nnul \0 here\r\n";
	CHECK_INT(smtp_message_set_data(m, nul, sizeof nul - 1), 0);
	CHECK_INT(smtp_message_check(m), SMTP_EINVAL);
	char line[1200];
	memset(line, 'x', sizeof line);
	memcpy(line, "Subject: x\r\n\r\n", 14);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	CHECK_INT(smtp_message_set_data(m, line, sizeof line), 0);
	CHECK_INT(smtp_message_check(m), SMTP_EINVAL);
	CHECK_INT(smtp_message_allow_long_lines(m, 1), 0);
	CHECK_INT(smtp_message_check(m), 0);
	static const char ok[] = "Subject: x\r\n\r\nok\r\n";
	CHECK_INT(smtp_message_set_data(m, ok, sizeof ok - 1), 0);
	CHECK_INT(smtp_message_check(m), 0);
	/* queued in a session: ESTATE, as a second smtp_submit gets */
	smtp_session *s = smtp_session_new();
	CHECK_INT(smtp_session_set_nonblocking(s, 1), 0);
	CHECK_INT(smtp_submit(s, m), 0);
	CHECK_INT(smtp_message_check(m), SMTP_ESTATE);
	/* nothing the engine reads while sending changes under it */
	CHECK_INT(smtp_message_set_body_type(m, SMTP_BODY_7BIT), SMTP_ESTATE);
	CHECK_INT(smtp_message_set_size_hint(m, 10), SMTP_ESTATE);
	CHECK_INT(smtp_message_set_dsn(m, SMTP_DSN_RET_HDRS, "id", 0), SMTP_ESTATE);
	CHECK_INT(smtp_message_set_requiretls(m, 1), SMTP_ESTATE);
	CHECK_INT(smtp_message_allow_long_lines(m, 0), SMTP_ESTATE);
	CHECK_INT(smtp_message_set_data(m, ok, sizeof ok - 1), SMTP_ESTATE);
	/* smtp_send on another session cannot finish m: an error, never 0 (it
	   returned the pending report's 0) */
	smtp_session *other = smtp_session_new();
	CHECK_INT(smtp_send(other, m), SMTP_ESTATE);
	smtp_session_free(other);
	CHECK_INT(smtp_session_abandon(s), 0);
	CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_DEFERRED);
	CHECK_INT(smtp_message_set_body_type(m, SMTP_BODY_7BIT), 0);
	smtp_session_free(s);
	smtp_message_free(m);
}

int main(void)
{
	RUN(test_chunk_bounds);
	RUN(test_command_refuses_engine_verbs);
	RUN(test_helo_names);
	RUN(test_unconnected);
	RUN(test_message_check);
	return CHECK_DONE("session");
}

/* Fault injection: the client against tests/servers/fake_server.py, a scripted server
   for what no real server does on request (malformed and oversized replies, drops,
   stalls, STARTTLS injection, replies without a command, odd reply timing), plus the
   command-injection checks of the setters, which need no server.

   Each case starts the fake server as a child process for one scenario, waits for the
   port it writes, runs the client, checks the return code and the report (outcome,
   failed stage, error, reply code, enhanced code), and always reaps the child by its
   PID. The fake server records the bytes the client sent in PORTFILE.log. */
#include "it_fake.h"

static const char *const two_rcpts[] = {"one@example.org", "two@example.org", NULL};
static const char *const one_rcpt[] = {"one@example.org", NULL};
static const char body[] = "From: a@example.org\r\nTo: one@example.org\r\n"
			   "Subject: fault\r\n\r\nHello.\r\n";

/* The report's outcome, failed stage and local error, checked at the caller's line. */
#define CHECK_REPORT(r, oc, stage, err)                                                \
	do {                                                                         \
		const smtp_report *check_r_ = (r);                                   \
		CHECK_STR(smtp_outcome_name(smtp_report_outcome(check_r_)),          \
			  smtp_outcome_name(oc));                                    \
		CHECK_STR(smtp_stage_name(smtp_report_failed_stage(check_r_)),       \
			  smtp_stage_name(stage));                                   \
		CHECK_STR(smtp_error_name(smtp_report_error(check_r_)), smtp_error_name(err)); \
	} while (0)

#define CHECK_RC(rc, want) CHECK_STR(smtp_error_name(rc), smtp_error_name(want))

static int has(const char *log, size_t len, const char *s)
{
	return log && memmem(log, len, s, strlen(s)) != NULL;
}

/* A connection-phase fault: connect must fail with err at stage, and the session
   report says the outcome its failure gives (a broken server: deferred). */
static void connect_fault(const char *scenario, smtp_tls mode, int err, smtp_stage stage)
{
	struct fake f;
	if (!fake_start(&f, scenario))
		return;
	smtp_session *s = fake_session(&f, mode);
	CHECK_RC(it_connect(s), err);
	CHECK_REPORT(smtp_session_report(s), SMTP_DEFERRED, stage, err);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	fake_stop(&f);
}

/* ---- malformed and oversized replies ---- */

static void test_garbage_greeting(void)
{
	connect_fault("garbage_greeting", SMTP_TLS_NONE, SMTP_EPROTOCOL, SMTP_STAGE_GREETING);
}

static void test_endless_line(void)
{
	connect_fault("endless_line", SMTP_TLS_NONE, SMTP_EPROTOCOL, SMTP_STAGE_EHLO);
}

static void test_too_many_lines(void)
{
	connect_fault("too_many_lines", SMTP_TLS_NONE, SMTP_EPROTOCOL, SMTP_STAGE_EHLO);
}

static void test_bad_code(void)
{
	connect_fault("bad_code", SMTP_TLS_NONE, SMTP_EPROTOCOL, SMTP_STAGE_GREETING);
}

static void test_mixed_codes(void)
{
	connect_fault("mixed_codes", SMTP_TLS_NONE, SMTP_EPROTOCOL, SMTP_STAGE_EHLO);
}

static void test_reply_without_command(void)
{
	struct fake f;
	if (!fake_start(&f, "reply_without_command"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_RC(it_connect(s), SMTP_EPROTOCOL);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(r)), "deferred");
	CHECK_STR(smtp_error_name(smtp_report_error(r)), "SMTP_EPROTOCOL");
	/* The surprise follows the EHLO reply: no command is pending any more. A report
	   that failed still names a stage. */
	CHECK(smtp_report_failed_stage(r) != SMTP_STAGE_NONE);
	smtp_session_free(s);
	fake_stop(&f);
}

/* ---- drops ---- */

static void test_drop_in_reply(void)
{
	connect_fault("drop_in_reply", SMTP_TLS_NONE, SMTP_ECLOSED, SMTP_STAGE_EHLO);
}

static void test_drop_after_data(void)
{
	struct fake f;
	if (!fake_start(&f, "drop_after_data"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	CHECK_RC(it_send(s, m), SMTP_ECLOSED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_DEFERRED, SMTP_STAGE_BODY, SMTP_ECLOSED);
	CHECK_INT(smtp_report_rcpt_count(r), 1);
	CHECK_INT(smtp_rcpt_verdict(smtp_report_rcpt(r, 0)), SMTP_VERDICT_DEFERRED);
	/* the dot went out and no reply came: the message may have been taken */
	CHECK_INT(smtp_report_maybe_delivered(r), 1);
	/* the connection steps come first in a message's report */
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_GREETING, 0)), 220);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_DATA, 0)), 354);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	fake_stop(&f);
}

static void test_drop_mid_reply_rcpt(void)
{
	struct fake f;
	if (!fake_start(&f, "drop_mid_reply_rcpt"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	CHECK_RC(it_send(s, m), SMTP_ECLOSED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_DEFERRED, SMTP_STAGE_RCPT, SMTP_ECLOSED);
	CHECK_INT(smtp_report_maybe_delivered(r), 0);
	/* MAIL got its whole reply; RCPT only half of one, which is no reply at all */
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_MAIL, 0)), 250);
	CHECK_INT(smtp_report_rcpt_count(r), 1);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 0);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 0);
	CHECK(smtp_report_queue_id(r) == NULL);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* the server offered PIPELINING: the group went out before any reply */
	CHECK(has(log, len, "MAIL FROM:<from@example.org>\r\nRCPT TO:<one@example.org>\r\n"));
	free(log);
}

static void test_shutdown_421(void)
{
	struct fake f;
	if (!fake_start(&f, "shutdown_421"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	int rc = it_send(s, m);
	CHECK(rc != 0);
	CHECK(rc != SMTP_EAGAIN);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_DEFERRED, SMTP_STAGE_RCPT, SMTP_ECLOSED);
	const smtp_step *st = smtp_report_step(r, smtp_report_count(r) - 1);
	CHECK_STR(smtp_stage_name(smtp_step_stage(st)), "rcpt");
	CHECK_INT(smtp_step_code(st), 421);
	CHECK_STR(smtp_step_enhanced(st), "4.3.2");
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 0);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	fake_stop(&f);
}

/* ---- stalls ---- */

static void test_stall_greeting(void)
{
	struct fake f;
	if (!fake_start(&f, "stall_greeting"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_GREETING, 500), 0);
	long long t0 = now_ms();
	CHECK_RC(it_connect(s), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	CHECK_REPORT(smtp_session_report(s), SMTP_DEFERRED, SMTP_STAGE_GREETING,
		     SMTP_ETIMEDOUT);
	if (took < 400 || took > 2500)
		fprintf(stderr, "stall_greeting: the timeout took %lld ms\n", took);
	CHECK(took >= 400);
	CHECK(took <= 2500);
	smtp_session_free(s);
	fake_stop(&f);
}

static void test_stall_data(void)
{
	struct fake f;
	if (!fake_start(&f, "stall_data"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_DATA, 500), 0);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	long long t0 = now_ms();
	CHECK_RC(it_send(s, m), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	CHECK_REPORT(smtp_message_report(m), SMTP_DEFERRED, SMTP_STAGE_DATA, SMTP_ETIMEDOUT);
	CHECK_INT(smtp_report_maybe_delivered(smtp_message_report(m)), 0);
	if (took > 2500)
		fprintf(stderr, "stall_data: the timeout took %lld ms\n", took);
	CHECK(took <= 2500);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	fake_stop(&f);
}

static void test_stall_tls(void)
{
	struct fake f;
	if (!fake_start(&f, "stall_tls"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_TLS, 500), 0);
	long long t0 = now_ms();
	CHECK_RC(it_connect(s), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	const smtp_report *r = smtp_session_report(s);
	CHECK_REPORT(r, SMTP_DEFERRED, SMTP_STAGE_TLS, SMTP_ETIMEDOUT);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_STARTTLS, 0)), 220);
	CHECK(smtp_report_tls_version(r) == NULL);
	if (took < 400 || took > 2500)
		fprintf(stderr, "stall_tls: the timeout took %lld ms\n", took);
	CHECK(took >= 400);
	CHECK(took <= 2500);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* the ClientHello went out after STARTTLS (a TLS handshake record: 0x16 0x03) */
	const char *tail = log ? memmem(log, len, "STARTTLS\r\n", 10) : NULL;
	CHECK(tail != NULL);
	if (tail) {
		size_t rest = len - (size_t)(tail + 10 - log);
		CHECK(rest >= 2 && tail[10] == 0x16 && tail[11] == 0x03);
	}
	free(log);
}

static void test_stall_body_reply(void)
{
	struct fake f;
	if (!fake_start(&f, "stall_body_reply"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_BODY, 500), 0);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	long long t0 = now_ms();
	CHECK_RC(it_send(s, m), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_DEFERRED, SMTP_STAGE_BODY, SMTP_ETIMEDOUT);
	CHECK_INT(smtp_report_maybe_delivered(r), 1);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_DATA, 0)), 354);
	CHECK(smtp_report_queue_id(r) == NULL);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 0);
	if (took < 400 || took > 2500)
		fprintf(stderr, "stall_body_reply: the timeout took %lld ms\n", took);
	CHECK(took >= 400);
	CHECK(took <= 2500);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* the whole body went out, up to its lone dot */
	CHECK(has(log, len, "Hello.\r\n.\r\n"));
	free(log);
}

/* smtp_session_timeout_ms follows the stage: the CONNECT or GREETING deadline right
   after the first call, the GREETING one (800 ms) once the connection is up; the
   poll loop it drives ends in the greeting's timeout. Nonblocking in both modes. */
static void test_timeout_ms_reported(void)
{
	struct fake f;
	if (!fake_start(&f, "stall_greeting"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_nonblocking(s, 1), 0);
	CHECK_INT(smtp_session_set_timeout(s, SMTP_STAGE_GREETING, 800), 0);
	long long t0 = now_ms();
	int rc = smtp_connect(s);
	CHECK_RC(rc, SMTP_EAGAIN);
	int left = smtp_session_timeout_ms(s);
	if (left < 1 || left > 30000)
		fprintf(stderr, "timeout_ms_reported: %d ms after the first call\n", left);
	CHECK(left >= 1);
	CHECK(left <= 30000);
	int up_checks = 0;
	int calls = 0;
	while (rc == SMTP_EAGAIN && calls++ < 1000) {
		if (smtp_report_peer(smtp_session_report(s)) != NULL) {
			/* connected: the greeting's deadline */
			left = smtp_session_timeout_ms(s);
			if (left < 0 || left > 800)
				fprintf(stderr, "timeout_ms_reported: %d ms while waiting for the "
						"greeting\n", left);
			CHECK(left >= 0);
			CHECK(left <= 800);
			up_checks++;
		}
		it_wait(s);
		rc = smtp_connect(s);
	}
	long long took = now_ms() - t0;
	CHECK_RC(rc, SMTP_ETIMEDOUT);
	CHECK(up_checks > 0);
	CHECK_REPORT(smtp_session_report(s), SMTP_DEFERRED, SMTP_STAGE_GREETING,
		     SMTP_ETIMEDOUT);
	CHECK_INT(smtp_session_timeout_ms(s), -1);
	if (took < 700 || took > 2500)
		fprintf(stderr, "timeout_ms_reported: the timeout took %lld ms\n", took);
	CHECK(took >= 700);
	CHECK(took <= 2500);
	smtp_session_free(s);
	fake_stop(&f);
}

/* ---- TLS policy ---- */

static void test_starttls_injection(void)
{
	struct fake f;
	if (!fake_start(&f, "starttls_injection"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_STARTTLS);
	CHECK_RC(it_connect(s), SMTP_EPROTOCOL);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(r)), "deferred");
	CHECK_STR(smtp_error_name(smtp_report_error(r)), "SMTP_EPROTOCOL");
	smtp_stage st = smtp_report_failed_stage(r);
	CHECK(st == SMTP_STAGE_STARTTLS || st == SMTP_STAGE_TLS);
	CHECK(smtp_report_tls_version(r) == NULL);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_STARTTLS, 0)), 220);
	smtp_session_free(s);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* nothing after STARTTLS: no ClientHello, no EHLO, no QUIT */
	CHECK(len >= 10 && memcmp(log + len - 10, "STARTTLS\r\n", 10) == 0);
	if (log && !(len >= 10 && memcmp(log + len - 10, "STARTTLS\r\n", 10) == 0))
		fprintf(stderr, "starttls_injection: the client sent:\n%.*s\n", (int)len, log);
	free(log);
}

static void test_no_starttls(void)
{
	struct fake f;
	if (!fake_start(&f, "no_starttls"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_auth(s, "user@example.org", "secret", NULL), 0);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	CHECK_RC(it_send(s, m), SMTP_ENOTLS);
	CHECK_REPORT(smtp_message_report(m), SMTP_FAILED, SMTP_STAGE_EHLO, SMTP_ENOTLS);
	CHECK_REPORT(smtp_session_report(s), SMTP_FAILED, SMTP_STAGE_EHLO, SMTP_ENOTLS);
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "EHLO "));
	CHECK(!has(log, len, "MAIL"));
	CHECK(!has(log, len, "AUTH"));
	CHECK(!has(log, len, "RCPT"));
	free(log);
}

/* ---- refusals ---- */

static void test_greeting_554(void)
{
	struct fake f;
	if (!fake_start(&f, "greeting_554"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_RC(it_connect(s), SMTP_EREJECTED);
	const smtp_report *r = smtp_session_report(s);
	/* the server refuses this client, not a message: failed, never bounced */
	CHECK_REPORT(r, SMTP_FAILED, SMTP_STAGE_GREETING, SMTP_EREJECTED);
	const smtp_step *st = it_step(r, SMTP_STAGE_GREETING, 0);
	CHECK_INT(smtp_step_code(st), 554);
	CHECK_STR(smtp_step_enhanced(st), "5.3.2");
	CHECK_STR(smtp_step_text(st), "No service");
	/* RFC 5321 3.1: QUIT after 554; its 221 may be read by smtp_connect or smtp_quit */
	CHECK_INT(it_quit(s), 0);
	CHECK_INT(smtp_step_code(it_step(smtp_session_report(s), SMTP_STAGE_QUIT, 0)), 221);
	CHECK_REPORT(smtp_session_report(s), SMTP_FAILED, SMTP_STAGE_GREETING, SMTP_EREJECTED);
	smtp_session_free(s);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "QUIT\r\n"));
	CHECK(!has(log, len, "EHLO"));
	free(log);
}

static void test_helo_fallback(void)
{
	struct fake f;
	if (!fake_start(&f, "helo_fallback"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", one_rcpt, body);
	CHECK_RC(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_EHLO, 0)), 502);
	CHECK_STR(smtp_step_enhanced(it_step(r, SMTP_STAGE_EHLO, 0)), "5.5.1");
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_EHLO, 1)), 250);
	CHECK(it_step(r, SMTP_STAGE_EHLO, 2) == NULL);
	CHECK_STR(smtp_report_queue_id(r), "FAKE42");
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "EHLO localhost\r\nHELO localhost\r\nMAIL FROM:<from@example.org>"));
	free(log);
}

/* ---- pipelining and reply timing ---- */

static void check_sent_two(const smtp_message *m)
{
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_INT(smtp_report_rcpt_count(r), 2);
	for (size_t i = 0; i < 2; i++) {
		CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, i)), 250);
		CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, i)), 1);
	}
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_BODY, 0)), 250);
	CHECK_STR(smtp_report_queue_id(r), "FAKE42");
}

static void test_lockstep(void)
{
	struct fake f;
	if (!fake_start(&f, "lockstep"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", two_rcpts, body);
	CHECK_RC(it_send(s, m), 0);
	check_sent_two(m);
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(!has(log, len, "VIOLATION"));
	CHECK(has(log, len, "RCPT TO:<one@example.org>\r\nRCPT TO:<two@example.org>\r\nDATA\r\n"));
	CHECK(has(log, len, "QUIT\r\n"));
	if (has(log, len, "VIOLATION") || has(log, len, "#ERROR"))
		fprintf(stderr, "lockstep: the server's log:\n%.*s\n", (int)len, log);
	free(log);
}

static void pipelined_two(const char *scenario)
{
	struct fake f;
	if (!fake_start(&f, scenario))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", two_rcpts, body);
	CHECK_RC(it_send(s, m), 0);
	check_sent_two(m);
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "MAIL FROM:<from@example.org>\r\nRCPT TO:<one@example.org>\r\n"
			    "RCPT TO:<two@example.org>\r\nDATA\r\n"));
	CHECK(!has(log, len, "#ERROR"));
	free(log);
}

static void test_pipelining_bytewise(void)
{
	pipelined_two("pipelining_bytewise");
}

static void test_pipelining_burst(void)
{
	pipelined_two("pipelining_burst");
}

static void test_midgroup_4xx(void)
{
	static const char *const three[] = {"one@example.org", "two@example.org",
					    "three@example.org", NULL};
	struct fake f;
	if (!fake_start(&f, "midgroup_4xx"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", three, body);
	CHECK_RC(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT_PARTIAL, SMTP_STAGE_RCPT, SMTP_EREJECTED);
	CHECK_INT(smtp_report_rcpt_count(r), 3);
	const smtp_rcpt_result *busy = smtp_report_rcpt(r, 1);
	CHECK_STR(smtp_rcpt_address(busy), "two@example.org");
	CHECK_INT(smtp_rcpt_code(busy), 450);
	CHECK_INT(smtp_rcpt_verdict(busy), SMTP_VERDICT_DEFERRED);
	CHECK_INT(smtp_rcpt_stage(busy), SMTP_STAGE_RCPT);
	CHECK_STR(smtp_rcpt_enhanced(busy), "4.2.1");
	CHECK_STR(smtp_rcpt_text(busy), "busy");
	CHECK_INT(smtp_rcpt_accepted(busy), 0);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 250);
	CHECK_STR(smtp_rcpt_enhanced(smtp_report_rcpt(r, 0)), "2.0.0"); /* the final reply */
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 1);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 2)), 250);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 2)), 1);
	const smtp_step *st = it_step(r, SMTP_STAGE_RCPT, 1);
	CHECK_STR(smtp_step_arg(st), "two@example.org");
	CHECK_INT(smtp_step_code(st), 450);
	CHECK_STR(smtp_step_enhanced(st), "4.2.1");
	CHECK_STR(smtp_report_queue_id(r), "FAKE42");
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	smtp_message_free(m);
	fake_stop(&f);
}

/* ---- odd but valid replies ---- */

static void test_huge_multiline_then_ok(void)
{
	struct fake f;
	if (!fake_start(&f, "huge_multiline_then_ok"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_RC(it_connect(s), 0);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_stage_name(smtp_report_failed_stage(r)), "none");
	CHECK_INT(smtp_report_error(r), 0);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_EHLO, 0)), 250);
	/* every one of the 119 keywords was kept */
	CHECK_INT(smtp_session_has_extension(s, "XK1", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "XK60", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "XK119", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "XK120", NULL), 0);
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	fake_stop(&f);
}

static void test_nul_in_reply(void)
{
	struct fake f;
	if (!fake_start(&f, "nul_in_reply"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	CHECK_RC(it_connect(s), 0);
	const smtp_step *st = it_step(smtp_session_report(s), SMTP_STAGE_GREETING, 0);
	CHECK_INT(smtp_step_code(st), 220);
	/* the NUL is dropped, not a terminator: the whole text is there */
	CHECK_STR(smtp_step_text(st), "helloworld");
	quit_promptly(s, __LINE__);
	smtp_session_free(s);
	fake_stop(&f);
}

/* ---- command injection through the setters (no server) ---- */

static void test_injection(void)
{
	static const char *const bad_mailbox[] = {
		"a@example.org\r\nRSET", "a\r@example.org", "a\n@example.org",
		"a@example.org\r", "a@example.org\n", "a@exa\r\nmple.org",
	};
	static const char *const bad_name[] = {
		"mx.example.org\r\nMAIL FROM:<x@y>", "mx\r.example.org", "mx\n.example.org",
		"mx.example.org\n", "mx.example.org\r",
	};
	static const char *const bad_user[] = {
		"user\r\nQUIT", "user\r", "user\n", "us\ner",
	};
	static const char *const bad_url[] = {
		"smtp://mx.example.org\r\n:587", "smtp://mx.example.org:587\n",
		"smtp://mx\r.example.org", "smtp://us%0D%0Aer:pw@mx.example.org",
		"smtp://user:p%0Aw@mx.example.org", "smtp://us%00er:pw@mx.example.org",
		"smtp://user:p%00w@mx.example.org", "smtp://mx%00.example.org",
		"smtp://mx%0D%0A.example.org", "smtps://us\r\ner@mx.example.org",
	};
	smtp_message *m = smtp_message_new();
	smtp_session *s = smtp_session_new();
	CHECK(m != NULL && s != NULL);
	if (!m || !s) {
		smtp_message_free(m);
		smtp_session_free(s);
		return;
	}
	for (size_t i = 0; i < sizeof bad_mailbox / sizeof bad_mailbox[0]; i++) {
		CHECK_RC(smtp_message_set_from(m, bad_mailbox[i]), SMTP_EINVAL);
		CHECK_RC(smtp_message_add_rcpt(m, bad_mailbox[i]), SMTP_EINVAL);
	}
	for (size_t i = 0; i < sizeof bad_name / sizeof bad_name[0]; i++) {
		CHECK_RC(smtp_session_set_helo_name(s, bad_name[i]), SMTP_EINVAL);
		CHECK_RC(smtp_session_set_server(s, bad_name[i], 25, SMTP_TLS_NONE), SMTP_EINVAL);
	}
	for (size_t i = 0; i < sizeof bad_user / sizeof bad_user[0]; i++)
		CHECK_RC(smtp_session_set_auth(s, bad_user[i], "secret", NULL), SMTP_EINVAL);
	for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
		int rc = smtp_session_set_url(s, bad_url[i]);
		if (rc != SMTP_EINVAL)
			fprintf(stderr, "set_url(%zu) returned %s\n", i, smtp_error_name(rc));
		CHECK_RC(rc, SMTP_EINVAL);
	}
	/* the same setters accept clean values: the refusals above are the control
	   characters' doing */
	CHECK_RC(smtp_message_set_from(m, "a@example.org"), 0);
	CHECK_RC(smtp_message_add_rcpt(m, "b@example.org"), 0);
	CHECK_RC(smtp_session_set_helo_name(s, "client.example.org"), 0);
	CHECK_RC(smtp_session_set_server(s, "mx.example.org", 25, SMTP_TLS_NONE), 0);
	CHECK_RC(smtp_session_set_auth(s, "user", "secret", NULL), 0);
	CHECK_RC(smtp_session_set_url(s, "smtp://user:p%40ss@mx.example.org:587"), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_faults (%s)", it_mode());
	/* helpers of it_common.h this test has no use for */
	(void)it_port;
	(void)it_find_record;
	/* fail fast on a missing environment, before any child exists */
	it_env("SMTP_IT_PYTHON");
	it_env("SMTP_IT_FAKE");
	it_ca();
	if (fake_begin("it_faults", 55))
		return 2;

	RUN(test_injection);
	RUN(test_garbage_greeting);
	RUN(test_endless_line);
	RUN(test_too_many_lines);
	RUN(test_bad_code);
	RUN(test_mixed_codes);
	RUN(test_reply_without_command);
	RUN(test_drop_in_reply);
	RUN(test_drop_after_data);
	RUN(test_drop_mid_reply_rcpt);
	RUN(test_shutdown_421);
	RUN(test_stall_greeting);
	RUN(test_stall_data);
	RUN(test_stall_tls);
	RUN(test_stall_body_reply);
	RUN(test_timeout_ms_reported);
	RUN(test_starttls_injection);
	RUN(test_no_starttls);
	RUN(test_greeting_554);
	RUN(test_helo_fallback);
	RUN(test_lockstep);
	RUN(test_pipelining_bytewise);
	RUN(test_pipelining_burst);
	RUN(test_midgroup_4xx);
	RUN(test_huge_multiline_then_ok);
	RUN(test_nul_in_reply);

	fake_end();
	return CHECK_DONE(name);
}

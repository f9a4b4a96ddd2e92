/* A drop and a 421 at every stage of the dialogue, against the scripted server
   (tests/servers/fake_server.py fault_<point>_<kind>: no real server drops or sends
   421 on request at a chosen command), with the verdict each of two recipients must
   get (doc/report-schema.md): deferred, at the stage where the connection ended, with
   the 421's own code and words when there was one, and maybe_delivered exactly when
   the final dot went out unanswered. Plus the wire defects: a bare LF smuggling a
   second reply, a stray reply before EHLO was written, DATA answered 250. */
#include "it_fake.h"

static const char *const two_rcpts[] = {"one@example.org", "two@example.org", NULL};
static const char body[] = "From: a@example.org\r\nTo: one@example.org\r\n"
			   "Subject: stages\r\n\r\nHello.\r\n";

struct stage_case {
	const char *point;
	smtp_stage stage;       /* where both recipients are decided */
	int maybe_delivered[2]; /* after a drop, after a 421 */
};

static const struct stage_case cases[] = {
	{"greeting", SMTP_STAGE_GREETING, {0, 0}},
	{"ehlo", SMTP_STAGE_EHLO, {0, 0}},
	{"mail", SMTP_STAGE_MAIL, {0, 0}},
	{"rcpt1", SMTP_STAGE_RCPT, {0, 0}},
	{"rcpt2", SMTP_STAGE_RCPT, {0, 0}},
	{"data", SMTP_STAGE_DATA, {0, 0}},
	/* the dot went out: dropped unanswered it may have been taken; a 421 answered it */
	{"body", SMTP_STAGE_BODY, {1, 0}},
};

static int has(const char *log, size_t len, const char *s)
{
	return log && memmem(log, len, s, strlen(s)) != NULL;
}

static void run_case(const struct stage_case *c, int is_421)
{
	char scenario[64];
	snprintf(scenario, sizeof scenario, "fault_%s_%s", c->point, is_421 ? "421" : "drop");
	struct fake f;
	if (!fake_start(&f, scenario))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", two_rcpts, body);
	int rc = it_send(s, m);
	const smtp_report *r = smtp_message_report(m);
	int failed_here = check_failed_here;
	CHECK_STR(smtp_error_name(rc), "SMTP_ECLOSED");
	CHECK_INT(rc, smtp_report_error(r));
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(r)), "deferred");
	CHECK_STR(smtp_stage_name(smtp_report_failed_stage(r)), smtp_stage_name(c->stage));
	CHECK_INT(smtp_report_maybe_delivered(r), c->maybe_delivered[is_421]);
	for (size_t i = 0; i < 2; i++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(r, i);
		CHECK_STR(smtp_verdict_name(smtp_rcpt_verdict(rr)), "deferred");
		CHECK_STR(smtp_stage_name(smtp_rcpt_stage(rr)), smtp_stage_name(c->stage));
		CHECK_INT(smtp_rcpt_code(rr), is_421 ? 421 : 0);
		CHECK_STR(smtp_error_name(smtp_rcpt_error(rr)), "SMTP_ECLOSED");
		if (is_421) {
			CHECK_STR(smtp_rcpt_enhanced(rr), "4.3.2");
			CHECK_STR(smtp_rcpt_text(rr), "Service shutting down");
		}
	}
	const smtp_report *sr = smtp_session_report(s);
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(sr)), "deferred");
	CHECK_STR(smtp_error_name(smtp_report_error(sr)), "SMTP_ECLOSED");
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* RFC 5321 3.8: after 421 the server has closed; no QUIT follows */
	CHECK(!has(log, len, "QUIT"));
	if (c->stage == SMTP_STAGE_BODY)
		CHECK(has(log, len, "Hello.\r\n.\r\n"));
	if (check_failed_here && !failed_here)
		fprintf(stderr, "  (in %s)\n", scenario);
	free(log);
}

static void test_every_stage(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_case(&cases[i], 0);
		run_case(&cases[i], 1);
	}
}

/* A drop or a 421 in reply to QUIT changes nothing: the message's report is final. */
static void test_quit_faults(void)
{
	static const char *const kinds[] = {"fault_quit_drop", "fault_quit_421"};
	for (size_t k = 0; k < 2; k++) {
		struct fake f;
		if (!fake_start(&f, kinds[k]))
			return;
		smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
		smtp_message *m = it_message("from@example.org", two_rcpts, body);
		CHECK_INT(it_send(s, m), 0);
		const smtp_report *r = smtp_message_report(m);
		char before[8192], after[8192];
		smtp_report_json(r, before, sizeof before);
		size_t nsteps = smtp_report_count(r);
		const smtp_step *last = smtp_report_step(r, nsteps - 1);
		CHECK_INT(it_quit(s), 0);
		smtp_report_json(r, after, sizeof after);
		CHECK_STR(after, before);
		CHECK_INT(smtp_report_count(r), nsteps);
		CHECK(smtp_report_step(r, nsteps - 1) == last);
		CHECK_STR(smtp_outcome_name(smtp_report_outcome(r)), "sent");
		smtp_session_free(s);
		smtp_message_free(m);
		fake_stop(&f);
	}
}

/* A scenario whose server breaks the protocol: the message is deferred with
   SMTP_EPROTOCOL at stage, every recipient with it. Returns what the client sent
   (free it), or NULL when the server did not start. */
static char *protocol_error_case(const char *scenario, const char *stage, size_t *len)
{
	struct fake f;
	if (!fake_start(&f, scenario))
		return NULL;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	smtp_message *m = it_message("from@example.org", two_rcpts, body);
	CHECK_STR(smtp_error_name(it_send(s, m)), "SMTP_EPROTOCOL");
	const smtp_report *r = smtp_message_report(m);
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(r)), "deferred");
	CHECK_STR(smtp_stage_name(smtp_report_failed_stage(r)), stage);
	for (size_t i = 0; i < 2; i++)
		CHECK_STR(smtp_verdict_name(smtp_rcpt_verdict(smtp_report_rcpt(r, i))), "deferred");
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	*len = 0;
	return fake_log(&f, len);
}

/* RFC 5321 2.3.8: "250 Ok\n550 smuggled" is one malformed reply, not two. */
static void test_bare_lf_smuggling(void)
{
	size_t len;
	char *log = protocol_error_case("smuggled_rcpt_reply", "rcpt", &len);
	/* nothing after the broken reply: no DATA, no RSET or QUIT inside a message */
	CHECK(log && !has(log, len, "DATA"));
	CHECK(log && !has(log, len, "RSET"));
	CHECK(log && !has(log, len, "QUIT"));
	free(log);
}

/* RFC 2920 3.1: a reply answers only a command already written. */
static void test_stray_reply(void)
{
	size_t len;
	char *log = protocol_error_case("stray_reply_with_greeting", "ehlo", &len);
	CHECK(log && !has(log, len, "MAIL"));
	free(log);
}

/* RFC 5321 4.3.2: DATA is answered 354, 4xx or 5xx; a 250 is a broken server, so
   deferred, and no byte of the content goes out. */
static void test_data_250(void)
{
	size_t len;
	char *log = protocol_error_case("data_250", "data", &len);
	CHECK(log && !has(log, len, "Subject: stages"));
	free(log);
}

struct resubmit {
	smtp_message *m;
	int calls;
	int rc;
};

static void on_done(void *ud, smtp_session *s, smtp_message *m)
{
	struct resubmit *r = ud;
	r->calls++;
	r->rc = smtp_submit(s, m);
}

/* 14. The message callback may not drive the session: resubmitting from it while a
   421 greeting drains the queue is SMTP_ESTATE, not an endless loop. */
static void test_resubmit_in_callback(void)
{
	struct fake f;
	if (!fake_start(&f, "fault_greeting_421"))
		return;
	smtp_session *s = fake_session(&f, SMTP_TLS_NONE);
	struct resubmit r = {0};
	CHECK_INT(smtp_session_set_message_callback(s, on_done, &r), 0);
	smtp_message *m = it_message("from@example.org", two_rcpts, body);
	r.m = m;
	CHECK_STR(smtp_error_name(it_send(s, m)), "SMTP_ECLOSED");
	CHECK_INT(r.calls, 1);
	CHECK_STR(smtp_error_name(r.rc), "SMTP_ESTATE");
	CHECK_INT(smtp_session_queued(s), 0);
	CHECK_STR(smtp_outcome_name(smtp_report_outcome(smtp_message_report(m))), "deferred");
	smtp_session_free(s);
	smtp_message_free(m);
	fake_stop(&f);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_stages (%s)", it_mode());
	(void)it_port;
	(void)it_find_record;
	it_env("SMTP_IT_PYTHON");
	it_env("SMTP_IT_FAKE");
	it_ca();
	if (fake_begin("it_stages", 55))
		return 2;
	RUN(test_every_stage);
	RUN(test_quit_faults);
	RUN(test_bare_lf_smuggling);
	RUN(test_stray_reply);
	RUN(test_data_250);
	RUN(test_resubmit_in_callback);
	fake_end();
	return CHECK_DONE(name);
}

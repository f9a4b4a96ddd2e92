/* Unit tests for the sans-IO protocol engine (lib/engine): a scripted server feeds
   replies, the client's bytes are compared exactly, and the reports are checked.
   The numbered defects of the truthful-reports work are in test_engine_faults.c, the
   oracle in test_oracle.c. */
#include "engine_harness.h"

/* ---- 1. lock-step without PIPELINING ---- */

static void test_lockstep(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PLAIN);
	smtp_message *m = msg("a@x.test", "a\n.b\nc", "b@y.test", "c@y.test", NULL);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A);
	EXPECT_OUT(&h, "");
	CHECK_INT(smtpi_engine_status(&h.e), SMTPI_E_READ);
	FEED(&h, "250 2.1.0 Ok\r\n");
	EXPECT_OUT(&h, RCPT("b@y.test"));
	EXPECT_OUT(&h, "");
	FEED(&h, "250 2.1.5 Ok\r\n");
	EXPECT_OUT(&h, RCPT("c@y.test"));
	EXPECT_OUT(&h, "");
	FEED(&h, "250 2.1.5 Ok\r\n");
	EXPECT_OUT(&h, "DATA\r\n");
	EXPECT_OUT(&h, "");
	FEED(&h, "354 End data with <CR><LF>.<CR><LF>\r\n");
	EXPECT_OUT(&h, "a\r\n..b\r\nc\r\n.\r\n");
	CHECK_INT(smtp_report_outcome(r), SMTP_PENDING);
	FEED(&h, "250 2.0.0 Ok: queued as ABC123\r\n");
	EXPECT_OUT(&h, "");
	CHECK_OUTCOME(r, SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_INT(smtp_report_error(r), 0);
	CHECK_STR(smtp_report_queue_id(r), "ABC123");
	CHECK_STR(smtp_report_peer(r), "127.0.0.1:25");
	CHECK_RCPT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY, 250, "2.0.0");
	CHECK_RCPT(r, 1, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY, 250, "2.0.0");
	CHECK_STEP(step_of(r, SMTP_STAGE_GREETING, 0), 220, NULL);
	/* each step: from its command's write to its reply, on the fake clock */
	CHECK_INT(smtp_step_elapsed_us(step_of(r, SMTP_STAGE_MAIL, 0)), 1000);
	CHECK_STEP(step_of(r, SMTP_STAGE_MAIL, 0), 250, "2.1.0");
	CHECK_STR(smtp_step_arg(step_of(r, SMTP_STAGE_MAIL, 0)), "a@x.test");
	CHECK_STR(smtp_step_arg(step_of(r, SMTP_STAGE_RCPT, 1)), "c@y.test");
	CHECK_STEP(step_of(r, SMTP_STAGE_DATA, 0), 354, NULL);
	CHECK_STEP(step_of(r, SMTP_STAGE_BODY, 0), 250, "2.0.0");
	CHECK_STR(smtp_step_text(step_of(r, SMTP_STAGE_BODY, 0)), "Ok: queued as ABC123");
	CHECK_INT(smtp_report_count(r), 7);
	CHECK_STR(h.sent, EHLO_LINE MAIL_A RCPT("b@y.test") RCPT("c@y.test")
		  "DATA\r\na\r\n..b\r\nc\r\n.\r\n");

	smtpi_engine_quit(&h.e);
	EXPECT_OUT(&h, "QUIT\r\n");
	FEED(&h, "221 2.0.0 Bye\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(h.e.error, 0);
	CHECK_INT(smtp_report_error(&h.rep), 0);
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_QUIT, 0), 221, "2.0.0");
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 2. PIPELINING, within and across messages (RFC 2920 3.1) ---- */

static void test_pipelining(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	smtp_message *m1 = msg("a@x.test", "Subject: one\r\n\r\nbody one\r\n", "b@y.test",
			       "c@y.test", NULL);
	smtp_message *m2 = msg("d@x.test", "second\n", "e@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m1), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	/* DATA ends the group: the second message waits for the first one's dot */
	CHECK_INT(smtpi_engine_submit(&h.e, m2), 0);
	EXPECT_OUT(&h, "");
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	EXPECT_OUT(&h, "Subject: one\r\n\r\nbody one\r\n.\r\n"
		       "MAIL FROM:<d@x.test>\r\n" RCPT("e@y.test") "DATA\r\n");
	FEED(&h, "250 2.0.0 Ok: queued as Q1\r\n");
	CHECK_OUTCOME(smtp_message_report(m1), SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m1)), "Q1");
	CHECK_INT(smtp_report_outcome(smtp_message_report(m2)), SMTP_PENDING);
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	EXPECT_OUT(&h, "second\r\n.\r\n");
	FEED(&h, "250 2.0.0 Ok: queued as Q2\r\n");
	EXPECT_OUT(&h, "");
	CHECK_OUTCOME(smtp_message_report(m2), SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m2)), "Q2");
	CHECK_INT(smtpi_engine_status(&h.e), 0);
	h_end(&h);
	smtp_message_free(m1);
	smtp_message_free(m2);
}

/* ---- 3. how the server's bytes are split does not matter ---- */

static const char *const split_rounds[] = {
	"220-mx.test ESMTP\r\n220 hello\r\n",
	EHLO_PIPE,
	"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@y.test>: unknown\r\n354 go\r\n",
	"250 2.0.0 Ok: queued as XYZ\r\n",
	"221 2.0.0 Bye\r\n",
};

struct split_result {
	char sent[65536];
	char trace[16384];
	char msg_json[8192];
	char sess_json[8192];
};

/* mode 0: one feed per round; 1: one byte at a time; 2: each round in two feeds split
   in its middle. (A server's bytes never answer a command not yet written: that is a
   protocol error, test_engine_faults.c.) */
static void run_split(int mode, struct split_result *res)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	smtpi_engine_quit(&h.e);
	size_t nrounds = sizeof split_rounds / sizeof split_rounds[0];
	for (size_t i = 0; i < nrounds; i++) {
		const char *s = split_rounds[i];
		const char *p;
		int rc;
		if (mode == 2) {
			size_t half = strlen(s) / 2;
			CHECK_INT(feed_n(&h, s, half), 0);
			s += half;
		}
		if (mode == 1) {
			for (size_t k = 0; s[k]; k++) {
				CHECK_INT(feed_n(&h, s + k, 1), 0);
				size_t n = take(&h, &p, &rc);
				CHECK_INT(rc, 0);
				if (n)
					sent(&h, n);
			}
		} else {
			FEED(&h, s);
			size_t n = take(&h, &p, &rc);
			CHECK_INT(rc, 0);
			if (n)
				sent(&h, n);
		}
	}
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	snprintf(res->sent, sizeof res->sent, "%s", h.sent);
	snprintf(res->trace, sizeof res->trace, "%s", h.trace);
	CHECK(smtp_report_json(smtp_message_report(m), res->msg_json, sizeof res->msg_json) <
	      sizeof res->msg_json);
	CHECK(smtp_report_json(&h.rep, res->sess_json, sizeof res->sess_json) <
	      sizeof res->sess_json);
	CHECK_OUTCOME(smtp_message_report(m), SMTP_SENT_PARTIAL, SMTP_STAGE_RCPT);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m)), "XYZ");
	h_end(&h);
	smtp_message_free(m);
}

/* The JSON without its "us" figures: feeding byte by byte takes longer on the fake
   clock, and everything else must be the same. */
static void strip_us(char *json)
{
	char *p;
	while ((p = strstr(json, ", \"us\": ")) != NULL) {
		char *q = p + 8;
		while (*q && *q != '}' && *q != ',')
			q++;
		memmove(p, q, strlen(q) + 1);
	}
}

static void test_split(void)
{
	static struct split_result res[3];
	for (int mode = 0; mode < 3; mode++)
		run_split(mode, &res[mode]);
	CHECK_STR(res[0].sent, EHLO_LINE MAIL_A RCPT("b@y.test") RCPT("c@y.test")
		  "DATA\r\nhi\r\n.\r\nQUIT\r\n");
	for (int mode = 0; mode < 3; mode++) {
		strip_us(res[mode].msg_json);
		strip_us(res[mode].sess_json);
	}
	for (int mode = 1; mode < 3; mode++) {
		CHECK_STR(res[mode].sent, res[0].sent);
		CHECK_STR(res[mode].trace, res[0].trace);
		CHECK_STR(res[mode].msg_json, res[0].msg_json);
		CHECK_STR(res[mode].sess_json, res[0].sess_json);
	}
	CHECK(strstr(res[0].trace, "< 220-mx.test ESMTP\n< 220 hello\n") != NULL);
	CHECK(strstr(res[0].msg_json, "XYZ") != NULL);
	CHECK(strstr(res[0].msg_json, "\"verdict\": \"bounced\", \"stage\": \"rcpt\"") != NULL);
}

/* ---- 4. recipients refused ---- */

static void test_rcpt_refusals(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);

	/* one of two refused: the message goes to the other */
	smtp_message *m1 = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m1), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		 "550 5.1.1 <c@y.test>: Recipient address rejected: User unknown\r\n"
		 "354 go\r\n");
	EXPECT_OUT(&h, "hi\r\n.\r\n");
	FEED(&h, "250 2.0.0 Ok: queued as P1\r\n");
	const smtp_report *r = smtp_message_report(m1);
	CHECK_OUTCOME(r, SMTP_SENT_PARTIAL, SMTP_STAGE_RCPT);
	CHECK_INT(smtp_report_error(r), SMTP_EREJECTED);
	CHECK_STR(smtp_report_queue_id(r), "P1");
	CHECK_RCPT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY, 250, "2.0.0");
	CHECK_RCPT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT, 550, "5.1.1");
	CHECK_STR(smtp_rcpt_address(smtp_report_rcpt(r, 1)), "c@y.test");
	CHECK_STR(smtp_rcpt_text(smtp_report_rcpt(r, 1)),
		  "<c@y.test>: Recipient address rejected: User unknown");

	/* all refused (5xx): DATA gets 554, BOUNCED at RCPT; RSET waits for the next MAIL */
	smtp_message *m2 = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m2), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n"
		 "554 5.5.1 Error: no valid recipients\r\n");
	EXPECT_OUT(&h, "");
	r = smtp_message_report(m2);
	CHECK_OUTCOME(r, SMTP_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_RCPT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT, 550, "5.1.1");
	CHECK_RCPT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT, 550, "5.1.1");
	CHECK_STEP(step_of(r, SMTP_STAGE_DATA, 0), 554, "5.5.1");
	CHECK(smtp_report_queue_id(r) == NULL);

	/* all refused, one temporarily: DEFERRED; RSET opens the next message's group,
	   and the one queued meanwhile follows it at once */
	smtp_message *m3 = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	smtp_message *m4 = msg("a@x.test", "four\n", "f@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m3), 0);
	EXPECT_OUT(&h, "RSET\r\n" MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	CHECK_INT(smtpi_engine_submit(&h.e, m4), 0);
	EXPECT_OUT(&h, "");
	FEED(&h, "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n450 4.2.0 <b@y.test>: greylisted\r\n"
		 "550 5.1.1 no\r\n554 5.5.1 Error: no valid recipients\r\n");
	EXPECT_OUT(&h, "RSET\r\n" MAIL_A RCPT("f@y.test") "DATA\r\n");
	r = smtp_message_report(m3);
	CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_RCPT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT, 450, "4.2.0");
	CHECK_RCPT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT, 550, "5.1.1");
	CHECK_STEP(step_of(r, SMTP_STAGE_RSET, 0), 250, "2.0.0");
	FEED(&h, "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	EXPECT_OUT(&h, "four\r\n.\r\n");
	FEED(&h, "250 2.0.0 Ok: queued as F4\r\n");
	CHECK_OUTCOME(smtp_message_report(m4), SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m4)), "F4");
	CHECK_INT(h.e.error, 0);
	CHECK_INT(smtpi_engine_status(&h.e), 0);
	h_end(&h);
	smtp_message_free(m1);
	smtp_message_free(m2);
	smtp_message_free(m3);
	smtp_message_free(m4);
}

/* ---- 5. MAIL refused without PIPELINING ---- */

static void test_mail_refused(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PLAIN);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A);
	FEED(&h, "553 5.7.1 <a@x.test>: Sender address rejected\r\n");
	EXPECT_OUT(&h, "");
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_BOUNCED, SMTP_STAGE_MAIL);
	CHECK_STEP(step_of(r, SMTP_STAGE_MAIL, 0), 553, "5.7.1");
	CHECK_STR(smtp_step_text(step_of(r, SMTP_STAGE_MAIL, 0)),
		  "<a@x.test>: Sender address rejected");
	CHECK_INT(count_stage(r, SMTP_STAGE_RCPT), 0);
	CHECK_RCPT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL, 553, "5.7.1");
	CHECK(strstr(h.sent, "RCPT") == NULL);
	CHECK(strstr(h.sent, "DATA") == NULL);
	CHECK_INT(smtpi_engine_status(&h.e), 0);
	/* the next transaction begins with RSET, in lock-step */
	smtp_message *m2 = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m2), 0);
	EXPECT_OUT(&h, "RSET\r\n");
	FEED(&h, "250 2.0.0 Ok\r\n");
	EXPECT_OUT(&h, MAIL_A);
	h_end(&h);
	smtp_message_free(m);
	smtp_message_free(m2);
}

/* ---- 6. HELO fallback, refused greeting, 421 ---- */

static void test_helo_fallback(void)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "502 5.5.2 Error: command not recognized\r\n");
	EXPECT_OUT(&h, "HELO client.test\r\n");
	FEED(&h, "250 mx.test\r\n");
	EXPECT_OUT(&h, "");
	CHECK_INT(h.e.phase, SMTPI_PH_READY);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A); /* HELO: no extensions, so no pipelining */
	CHECK_INT(smtp_report_error(&h.rep), 0);
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_EHLO, 0), 502, "5.5.2");
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_EHLO, 1), 250, NULL);
	h_end(&h);
	smtp_message_free(m);
}

static void test_greeting_refused(void)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, "");
	FEED(&h, "554 5.3.2 No SMTP service here\r\n");
	EXPECT_OUT(&h, "QUIT\r\n");
	/* a 5xx greeting refuses this client, not the message: failed, not bounced */
	CHECK_OUTCOME(&h.rep, SMTP_FAILED, SMTP_STAGE_GREETING);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EREJECTED);
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_GREETING, 0), 554, "5.3.2");
	CHECK_OUTCOME(smtp_message_report(m), SMTP_FAILED, SMTP_STAGE_GREETING);
	CHECK_RCPT(smtp_message_report(m), 0, SMTP_VERDICT_FAILED, SMTP_STAGE_GREETING, 554, "5.3.2");
	FEED(&h, "221 2.0.0 Bye\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK(strstr(h.sent, "EHLO") == NULL);
	h_end(&h);
	smtp_message_free(m);
}

static void test_421_at_rcpt(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PLAIN);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A);
	FEED(&h, "250 2.1.0 Ok\r\n");
	EXPECT_OUT(&h, RCPT("b@y.test"));
	/* engine.h: recv returns 0 or SMTP_ENOMEM; the end shows in status and error */
	CHECK_INT(feed(&h, "421 4.4.2 mx.test Error: timeout exceeded\r\n"), 0);
	EXPECT_OUT(&h, ""); /* the server has closed: no QUIT (RFC 5321 3.8) */
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(h.e.error, SMTP_ECLOSED);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_ECLOSED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_INT(smtp_report_error(r), SMTP_ECLOSED);
	CHECK_STEP(step_of(r, SMTP_STAGE_RCPT, 0), 421, "4.4.2");
	CHECK_STR(smtp_step_arg(step_of(r, SMTP_STAGE_RCPT, 0)), "b@y.test");
	CHECK_RCPT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT, 421, "4.4.2");
	CHECK_INT(smtp_rcpt_error(smtp_report_rcpt(r, 0)), SMTP_ECLOSED);
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 7. 354 after every RCPT failed: a lone dot (RFC 2920 3.1) ---- */

static void test_lone_dot(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	smtp_message *m = msg("a@x.test", "secret body\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go ahead\r\n");
	EXPECT_OUT(&h, ".\r\n");
	FEED(&h, "554 5.5.1 no valid recipients\r\n");
	EXPECT_OUT(&h, "");
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_BOUNCED, SMTP_STAGE_RCPT);
	CHECK(strstr(h.sent, "secret body") == NULL);
	CHECK_INT(smtpi_engine_status(&h.e), 0);
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 8. LMTP: one final reply per accepted recipient (RFC 2033 4.2) ---- */

static void test_lmtp(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.lmtp = 1;
	h_start(&h, 0);
	FEED(&h, "220 lmtp.test LMTP ready\r\n");
	EXPECT_OUT(&h, "LHLO client.test\r\n");
	FEED(&h, "250-lmtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", "d@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") RCPT("d@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n250 2.1.5 Ok\r\n"
		 "354 go\r\n");
	EXPECT_OUT(&h, "hi\r\n.\r\n");
	const smtp_report *r = smtp_message_report(m);
	FEED(&h, "250 2.0.0 <b@y.test> Saved\r\n");
	CHECK_INT(smtp_report_outcome(r), SMTP_PENDING);
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_READ);
	FEED(&h, "452 4.2.2 <d@y.test> Mailbox full\r\n");
	EXPECT_OUT(&h, "");
	CHECK_OUTCOME(r, SMTP_SENT_PARTIAL, SMTP_STAGE_RCPT);
	CHECK_RCPT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY, 250, "2.0.0");
	CHECK_RCPT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT, 550, "5.1.1");
	CHECK_RCPT(r, 2, SMTP_VERDICT_DEFERRED, SMTP_STAGE_BODY, 452, "4.2.2");
	CHECK_STR(smtp_rcpt_text(smtp_report_rcpt(r, 2)), "<d@y.test> Mailbox full");
	CHECK_STR(smtp_step_arg(step_of(r, SMTP_STAGE_BODY, 0)), "b@y.test");
	CHECK_STR(smtp_step_arg(step_of(r, SMTP_STAGE_BODY, 1)), "d@y.test");
	CHECK_STEP(step_of(r, SMTP_STAGE_BODY, 1), 452, "4.2.2");
	CHECK_INT(smtpi_engine_status(&h.e), 0);
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 9. protocol violations ---- */

static void test_protocol_errors(void)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	(void)feed(&h, "2x0 x\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EPROTOCOL);
	CHECK_INT(smtp_report_outcome(&h.rep), SMTP_DEFERRED);
	EXPECT_OUT(&h, "");
	h_end(&h);

	/* a reply nobody asked for */
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	(void)feed(&h, "250 surprise\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EPROTOCOL);
	EXPECT_OUT(&h, "");
	h_end(&h);

	/* a final reply before the body was even sent, a message in flight */
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	(void)feed(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n250 too early\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EPROTOCOL);
	/* a server that broke the protocol: deferred (doc/report-schema.md) */
	CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_DEFERRED);
	CHECK_INT(smtp_report_error(smtp_message_report(m)), SMTP_EPROTOCOL);
	EXPECT_OUT(&h, ""); /* no body after the violation */
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 10. STARTTLS (RFC 3207) ---- */

static void starttls_until_220(struct harness *h)
{
	h_setup(h);
	h->cfg.tls_mode = SMTP_TLS_STARTTLS;
	h_start(h, 0);
	FEED(h, GREETING);
	EXPECT_OUT(h, EHLO_LINE);
	FEED(h, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
	EXPECT_OUT(h, "STARTTLS\r\n");
	CHECK(!(smtpi_engine_status(&h->e) & SMTPI_E_TLS));
}

static void test_starttls(void)
{
	struct harness h;
	starttls_until_220(&h);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, ""); /* nothing before TLS */
	FEED(&h, "220 2.0.0 go\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_TLS);
	CHECK(!(smtpi_engine_status(&h.e) & SMTPI_E_WRITE));
	EXPECT_OUT(&h, "");
	smtpi_engine_tls_ready(&h.e, &tls_info, NULL, NULL, 0, 5000, h.now_us);
	CHECK(!(smtpi_engine_status(&h.e) & SMTPI_E_TLS));
	EXPECT_OUT(&h, EHLO_LINE);
	/* RFC 3207 4.2: what the first EHLO said (PIPELINING) is forgotten */
	FEED(&h, EHLO_PLAIN);
	EXPECT_OUT(&h, MAIL_A);
	CHECK_INT(count_stage(&h.rep, SMTP_STAGE_TLS), 1);
	CHECK_STR(smtp_report_tls_version(&h.rep), "TLSv1.3");
	CHECK_STR(smtp_report_tls_cipher(&h.rep), "TLS_AES_128_GCM_SHA256");
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_STARTTLS, 0), 220, "2.0.0");
	CHECK_INT(count_stage(&h.rep, SMTP_STAGE_EHLO), 2);
	CHECK_STR(h.sent, EHLO_LINE "STARTTLS\r\n" EHLO_LINE MAIL_A);
	h_end(&h);
	smtp_message_free(m);
}

static void test_starttls_injection(void)
{
	/* RFC 3207 5, CVE-2011-0411: plain-text bytes after the 220 */
	struct harness h;
	starttls_until_220(&h);
	CHECK_INT(feed(&h, "220 go\r\n250 injected\r\n"), 0); /* recv reports only SMTP_ENOMEM; the failure is in the status */
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK(!(smtpi_engine_status(&h.e) & SMTPI_E_TLS));
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EPROTOCOL);
	EXPECT_OUT(&h, "");
	h_end(&h);

	/* the same in two reads, before the handshake started */
	starttls_until_220(&h);
	FEED(&h, "220 go\r\n");
	CHECK_INT(feed(&h, "250 injected\r\n"), 0);
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EPROTOCOL);
	h_end(&h);
}

static void test_starttls_missing(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.tls_mode = SMTP_TLS_STARTTLS;
	h_start(&h, 0);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, EHLO_PIPE);
	EXPECT_OUT(&h, "QUIT\r\n"); /* RFC 3207 4: no mail without TLS; polite QUIT */
	CHECK_INT(smtp_report_error(&h.rep), SMTP_ENOTLS);
	CHECK_INT(smtp_report_outcome(&h.rep), SMTP_FAILED);
	CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_FAILED);
	CHECK_INT(smtp_report_error(smtp_message_report(m)), SMTP_ENOTLS);
	CHECK(strstr(h.sent, "MAIL") == NULL);
	h_end(&h);
	smtp_message_free(m);
}

/* ---- 11. AUTH (RFC 4954) ---- */

static void auth_setup(struct harness *h, const char *mechs)
{
	h_setup(h);
	h->cfg.tls_mode = SMTP_TLS_IMPLICIT;
	h->cfg.user = "tim";
	h->cfg.secret = "tanstaaftanstaaf";
	h->cfg.mechanisms = mechs;
	h_start(h, 1);
	FEED(h, GREETING);
	EXPECT_OUT(h, EHLO_LINE);
	FEED(h, "250-mx.test\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 PIPELINING\r\n");
}

static void check_no_secret(const struct harness *h)
{
	CHECK(strstr(h->trace, "tanstaaf") == NULL);
	CHECK(strstr(h->trace, "AHRpbQB0") == NULL);
	CHECK(strstr(h->trace, "dGltIGI5") == NULL);
	CHECK(strstr(h->trace, "b913a602") == NULL);
}

static void test_auth_plain(void)
{
	struct harness h;
	auth_setup(&h, NULL);
	EXPECT_OUT(&h, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
	CHECK(strstr(h.trace, "> AUTH PLAIN <redacted>\n") != NULL);
	CHECK_INT(h.e.phase, SMTPI_PH_AUTH);
	FEED(&h, "235 2.7.0 Authentication successful\r\n");
	EXPECT_OUT(&h, "");
	CHECK_INT(h.e.phase, SMTPI_PH_READY);
	CHECK_STEP(step_of(&h.rep, SMTP_STAGE_AUTH, 0), 235, "2.7.0");
	CHECK_INT(smtp_report_error(&h.rep), 0);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	check_no_secret(&h);
	h_end(&h);
	smtp_message_free(m);
}

static void test_auth_cram_md5(void)
{
	/* RFC 2195 2's example exchange */
	struct harness h;
	auth_setup(&h, "CRAM-MD5");
	EXPECT_OUT(&h, "AUTH CRAM-MD5\r\n");
	FEED(&h, "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
	EXPECT_OUT(&h, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
	CHECK(strstr(h.trace, "> <redacted>\n") != NULL);
	FEED(&h, "535 5.7.8 Error: authentication failed\r\n");
	CHECK_INT(smtp_report_error(&h.rep), SMTP_EAUTH);
	CHECK_INT(smtp_report_failed_stage(&h.rep), SMTP_STAGE_AUTH);
	CHECK_INT(h.e.error, SMTP_EAUTH);
	const smtp_step *st = step_of(&h.rep, SMTP_STAGE_AUTH, 0);
	CHECK_STEP(st, 535, "5.7.8");
	CHECK_STR(smtp_step_text(st), "Error: authentication failed");
	EXPECT_OUT(&h, "QUIT\r\n");
	check_no_secret(&h);
	h_end(&h);
}

static void test_auth_needs_tls(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.user = "tim";
	h.cfg.secret = "tanstaaftanstaaf";
	h_start(&h, 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n");
	/* no credential, no AUTH: only the polite QUIT of a refused session */
	EXPECT_OUT(&h, "QUIT\r\n");
	CHECK_INT(smtp_report_error(&h.rep), SMTP_ENOTLS);
	CHECK_INT(smtp_report_failed_stage(&h.rep), SMTP_STAGE_AUTH);
	CHECK(strstr(h.sent, "AUTH") == NULL);
	CHECK(strstr(h.trace, "> AUTH") == NULL);
	check_no_secret(&h);
	h_end(&h);

	/* allowed in clear when asked for */
	h_setup(&h);
	h.cfg.user = "tim";
	h.cfg.secret = "tanstaaftanstaaf";
	h.cfg.auth_insecure = 1;
	h_start(&h, 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n");
	EXPECT_OUT(&h, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
	check_no_secret(&h);
	h_end(&h);
}

/* ---- 12. body lines over 998 octets (RFC 5321 4.5.3.1.6) ---- */

static char long_body[1200];

static void test_long_lines(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);

	/* 998 octets is the limit and passes */
	memset(long_body, 'x', 998);
	memcpy(long_body + 998, "\r\n", 3);
	smtp_message *ok = msg("a@x.test", long_body, "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, ok), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	const char *p;
	int rc;
	size_t n = take(&h, &p, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(n, 998 + 2 + 3);
	CHECK(n == 1003 && memcmp(p, long_body, 1000) == 0 && memcmp(p + 1000, ".\r\n", 3) == 0);
	sent(&h, n);
	FEED(&h, "250 2.0.0 Ok: queued as L1\r\n");
	CHECK_OUTCOME(smtp_message_report(ok), SMTP_SENT, SMTP_STAGE_NONE);

	/* 999 octets: refused before any byte */
	memcpy(long_body, "Subject: x\r\n\r\n", 14);
	memset(long_body + 14, 'y', 999);
	memcpy(long_body + 14 + 999, "\r\n", 3);
	smtp_message *m = msg("a@x.test", long_body, "b@y.test", NULL);
	size_t before = h.sent_len;
	CHECK_INT(smtpi_engine_submit(&h.e, m), SMTP_EINVAL);
	EXPECT_OUT(&h, "");
	CHECK_INT(h.sent_len, before);
	CHECK_INT(smtpi_engine_status(&h.e), 0);

	/* allowed: it goes as is */
	CHECK_INT(smtp_message_allow_long_lines(m, 1), 0);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	n = take(&h, &p, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(n, 14 + 999 + 2 + 3);
	CHECK(n == 1018 && memcmp(p, long_body, 1015) == 0 && memcmp(p + 1015, ".\r\n", 3) == 0);
	sent(&h, n);
	FEED(&h, "250 2.0.0 Ok: queued as L2\r\n");
	CHECK_OUTCOME(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m)), "L2");
	CHECK_INT(h.e.error, 0);
	h_end(&h);
	smtp_message_free(ok);
	smtp_message_free(m);
}

int main(void)
{
	RUN(test_lockstep);
	RUN(test_pipelining);
	RUN(test_split);
	RUN(test_rcpt_refusals);
	RUN(test_mail_refused);
	RUN(test_helo_fallback);
	RUN(test_greeting_refused);
	RUN(test_421_at_rcpt);
	RUN(test_lone_dot);
	RUN(test_lmtp);
	RUN(test_protocol_errors);
	RUN(test_starttls);
	RUN(test_starttls_injection);
	RUN(test_starttls_missing);
	RUN(test_auth_plain);
	RUN(test_auth_cram_md5);
	RUN(test_auth_needs_tls);
	RUN(test_long_lines);
	return CHECK_DONE("test_engine");
}

/* The numbered defects of the truthful-reports work (issue "Truthful reports under
   every failure"), each as the exact bytes of a scripted server and the report it
   must give. Defects that need a session, a socket or TLS are in the integration
   tests (it_stages.c, it_tls.c, it_basic.c) and test_session.c. */
#include "engine_harness.h"

/* 1. A chunk size sets the chunks, never a reservation of that size for a small
   message; out-of-range sizes are refused by the setter (test_session.c). */
static void test_chunk_room(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.chunk_size = SMTPI_CHUNK_MAX;
	h_ready(&h, EHLO_CHUNK);
	smtp_message *m = msg("a@x.test", "tiny\r\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "BDAT 6 LAST\r\ntiny\r\n");
	CHECK(h.e.out.cap < 64 * 1024);
	h_end(&h);
	smtp_message_free(m);

	/* the smallest chunk size: a 200 KB body in exact chunks */
	h_setup(&h);
	h.cfg.chunk_size = SMTPI_CHUNK_MIN;
	h_ready(&h, EHLO_CHUNK);
	static char big[200 * 1024 + 1];
	memset(big, 'x', sizeof big - 1);
	for (size_t i = 99; i < sizeof big - 1; i += 100)
		big[i] = '\n';
	m = msg("a@x.test", big, "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	size_t chunks = 0, payload = 0, replies = 2;
	const char *p;
	int rc;
	size_t n = take(&h, &p, &rc);
	/* MAIL, RCPT, then whole chunks: "BDAT n[ LAST]\r\n" and n octets each */
	const char *q = strstr(p, "BDAT ");
	CHECK(q != NULL);
	for (int guard = 0; q && guard < 10000; guard++) {
		const char *end = p + n;
		size_t in_take = 0;
		while (q && q < end) {
			size_t len = strtoul(q + 5, NULL, 10);
			CHECK(len > 0);
			CHECK(len <= SMTPI_CHUNK_MIN);
			payload += len;
			chunks++;
			in_take++;
			q = strstr(q, "\r\n") + 2 + len;
		}
		sent(&h, n);
		for (; replies > 0; replies--)
			FEED(&h, "250 2.1.0 Ok\r\n");
		while (in_take--)
			FEED(&h, "250 2.0.0 chunk ok\r\n");
		if (smtp_report_outcome(smtp_message_report(m)))
			break;
		n = take(&h, &p, &rc);
		q = n ? p : NULL;
	}
	/* each LF became CRLF */
	CHECK_INT(payload, sizeof big - 1 + (sizeof big - 1) / 100);
	CHECK(chunks > 200);
	CHECK_OUTCOME(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE);
	h_end(&h);
	smtp_message_free(m);
}

/* 2. After a failed BDAT transaction, RSET before the next MAIL (RFC 3030 2); after
   a refused MAIL no second chunk goes out, and a 2xx to its end is a protocol error. */
static void test_bdat_failure_reset(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_CHUNK);
	smtp_message *m1 = msg("a@x.test", "one\r\n", "b@y.test", NULL);
	smtp_message *m2 = msg("a@x.test", "two\r\n", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m1), 0);
	CHECK_INT(smtpi_engine_submit(&h.e, m2), 0);
	/* pipelined: m2 follows m1's last chunk, behind an RSET since m1 is unsettled */
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "BDAT 5 LAST\r\none\r\n"
		       "RSET\r\n" MAIL_A RCPT("c@y.test") "BDAT 5 LAST\r\ntwo\r\n");
	FEED(&h, "250 2.1.0 Ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n"
		 "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as T2\r\n");
	CHECK_OUTCOME(smtp_message_report(m1), SMTP_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_OUTCOME(smtp_message_report(m2), SMTP_SENT, SMTP_STAGE_NONE);
	CHECK_STR(smtp_report_queue_id(smtp_message_report(m2)), "T2");
	h_end(&h);
	smtp_message_free(m1);
	smtp_message_free(m2);

	/* MAIL refused: the first chunk was pipelined, the rest waits and never goes */
	h_setup(&h);
	h.cfg.chunk_size = SMTPI_CHUNK_MIN;
	h_ready(&h, EHLO_CHUNK);
	static char big[8000];
	memset(big, 'y', sizeof big - 1);
	for (size_t i = 79; i < sizeof big - 1; i += 80)
		big[i] = '\n';
	smtp_message *m = msg("a@x.test", big, "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	const char *p;
	int rc;
	size_t n = take(&h, &p, &rc);
	sent(&h, n);
	CHECK_INT(count_stage(smtp_message_report(m), SMTP_STAGE_BODY), 0);
	FEED(&h, "550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n");
	EXPECT_OUT(&h, "");
	size_t bdats = 0;
	for (const char *q = h.sent; (q = strstr(q, "BDAT ")) != NULL; q += 5)
		bdats++;
	CHECK_INT(bdats, 1);
	FEED(&h, "503 5.5.1 need MAIL\r\n");
	CHECK_OUTCOME(smtp_message_report(m), SMTP_BOUNCED, SMTP_STAGE_MAIL);
	CHECK_RCPT(smtp_message_report(m), 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL, 550, "5.7.1");
	h_end(&h);
	smtp_message_free(m);

	/* a 2xx final reply after a refused MAIL: the server holds a message it should not */
	h_setup(&h);
	h_ready(&h, EHLO_CHUNK);
	m = msg("a@x.test", "x\r\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "BDAT 3 LAST\r\nx\r\n");
	FEED(&h, "451 4.3.0 try later\r\n250 2.1.5 Ok\r\n250 2.0.0 queued\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(h.e.error, SMTP_EPROTOCOL);
	CHECK_OUTCOME(smtp_message_report(m), SMTP_DEFERRED, SMTP_STAGE_MAIL);
	h_end(&h);
	smtp_message_free(m);
}

/* 4. LMTP: a 421 among the per-recipient replies decides its own recipient only
   (RFC 2033 4.2). */
static void test_lmtp_421(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.lmtp = 1;
	h_start(&h, 0);
	FEED(&h, "220 lmtp.test LMTP\r\n");
	EXPECT_OUT(&h, "LHLO client.test\r\n");
	FEED(&h, "250-lmtp.test\r\n250 PIPELINING\r\n");
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") RCPT("c@y.test") "DATA\r\n");
	FEED(&h, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
	EXPECT_OUT(&h, "hi\r\n.\r\n");
	FEED(&h, "250 2.0.0 b delivered\r\n421 4.3.2 shutting down\r\n");
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_SENT_PARTIAL, SMTP_STAGE_BODY);
	CHECK_RCPT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY, 250, "2.0.0");
	CHECK_RCPT(r, 1, SMTP_VERDICT_DEFERRED, SMTP_STAGE_BODY, 421, "4.3.2");
	/* c's reply came: no doubt about c */
	CHECK_INT(smtp_report_maybe_delivered(r), 0);
	h_end(&h);
	smtp_message_free(m);
}

/* 5. A 421 (or a drop) after accepted RCPTs: nobody keeps "accepted". */
static void test_421_after_rcpts(void)
{
	for (int drop = 0; drop < 2; drop++) {
		struct harness h;
		h_setup(&h);
		h_ready(&h, EHLO_PLAIN);
		smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", "c@y.test", NULL);
		CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
		EXPECT_OUT(&h, MAIL_A);
		FEED(&h, "250 Ok\r\n");
		EXPECT_OUT(&h, RCPT("b@y.test"));
		FEED(&h, "250 Ok\r\n");
		EXPECT_OUT(&h, RCPT("c@y.test"));
		FEED(&h, "250 Ok\r\n");
		EXPECT_OUT(&h, "DATA\r\n");
		if (drop)
			smtpi_engine_fail(&h.e, SMTP_ECLOSED, "the server closed the connection", 0);
		else
			FEED(&h, "421 4.3.2 bye\r\n");
		const smtp_report *r = smtp_message_report(m);
		CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_DATA);
		for (size_t i = 0; i < 2; i++)
			CHECK_RCPT(r, i, SMTP_VERDICT_DEFERRED, SMTP_STAGE_DATA, drop ? 0 : 421,
				   drop ? NULL : "4.3.2");
		CHECK_INT(smtp_report_error(r), SMTP_ECLOSED);
		h_end(&h);
		smtp_message_free(m);
	}
}

/* 6. RFC 2920 3.1: MAIL 451 in a group, DATA still 354: a lone dot, and the 250
   that follows is a protocol error; the message is deferred at MAIL, never "sent". */
static void test_lone_dot_after_refused_mail(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	smtp_message *m = msg("a@x.test", "secret\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	FEED(&h, "451 4.3.0 later\r\n250 2.1.5 Ok\r\n354 go\r\n");
	EXPECT_OUT(&h, ".\r\n");
	FEED(&h, "250 2.0.0 Ok\r\n");
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_MAIL);
	CHECK_INT(smtp_report_error(r), SMTP_EREJECTED);
	CHECK_RCPT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_MAIL, 451, "4.3.0");
	CHECK(strstr(h.sent, "secret") == NULL);
	CHECK_INT(h.e.error, SMTP_EPROTOCOL);
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	h_end(&h);
	smtp_message_free(m);
}

/* 7. A refused greeting, EHLO or HELO, or AUTH 535: failed, never bounced; EHLO
   refused with 501 or 550 falls back to HELO too (RFC 5321 4.1.4). */
static void test_client_refused(void)
{
	static const char *const fallback[] = {"500 5.5.1 no\r\n", "501 5.5.4 no\r\n",
					       "502 5.5.2 no\r\n", "550 5.7.1 no\r\n"};
	for (size_t i = 0; i < 4; i++) {
		struct harness h;
		h_setup(&h);
		h_start(&h, 0);
		smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
		CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
		FEED(&h, GREETING);
		EXPECT_OUT(&h, EHLO_LINE);
		FEED(&h, fallback[i]);
		EXPECT_OUT(&h, "HELO client.test\r\n");
		FEED(&h, "554 5.7.1 go away\r\n");
		EXPECT_OUT(&h, "QUIT\r\n");
		const smtp_report *r = smtp_message_report(m);
		CHECK_OUTCOME(r, SMTP_FAILED, SMTP_STAGE_EHLO);
		CHECK_INT(smtp_report_error(r), SMTP_EREJECTED);
		CHECK_RCPT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_EHLO, 554, "5.7.1");
		h_end(&h);
		smtp_message_free(m);
	}
	/* AUTH 535: the caller's credentials, not the recipient */
	struct harness h;
	h_setup(&h);
	h.cfg.tls_mode = SMTP_TLS_IMPLICIT;
	h.cfg.user = "tim";
	h.cfg.secret = "secret";
	h_start(&h, 1);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "250-mx.test\r\n250 AUTH PLAIN\r\n");
	EXPECT_OUT(&h, "AUTH PLAIN AHRpbQBzZWNyZXQ=\r\n");
	FEED(&h, "535 5.7.8 Error: authentication failed\r\n");
	const smtp_report *r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_FAILED, SMTP_STAGE_AUTH);
	CHECK_INT(smtp_report_error(r), SMTP_EAUTH);
	CHECK_RCPT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_AUTH, 535, "5.7.8");
	h_end(&h);
	smtp_message_free(m);
	/* AUTH 454 is temporary: deferred */
	h_setup(&h);
	h.cfg.tls_mode = SMTP_TLS_IMPLICIT;
	h.cfg.user = "tim";
	h.cfg.secret = "secret";
	h_start(&h, 1);
	m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "250-mx.test\r\n250 AUTH PLAIN\r\n");
	EXPECT_OUT(&h, "AUTH PLAIN AHRpbQBzZWNyZXQ=\r\n");
	FEED(&h, "454 4.7.0 Temporary authentication failure\r\n");
	r = smtp_message_report(m);
	CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_AUTH);
	CHECK_INT(smtp_report_error(r), SMTP_EAUTH);
	h_end(&h);
	smtp_message_free(m);
}

/* 11. Replies match only commands already written: a stray 250 in the greeting's
   packet answers no command. */
static void test_stray_reply(void)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	FEED(&h, GREETING "250 stray\r\n");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(h.e.error, SMTP_EPROTOCOL);
	EXPECT_OUT(&h, "");
	CHECK(strstr(h.sent, "MAIL") == NULL);
	CHECK_OUTCOME(smtp_message_report(m), SMTP_DEFERRED, SMTP_STAGE_EHLO);
	CHECK_INT(smtp_report_error(smtp_message_report(m)), SMTP_EPROTOCOL);
	h_end(&h);
	smtp_message_free(m);

	/* mid-session: a second answer to MAIL never shifts RCPT's real one onto DATA */
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	FEED(&h, "250 Ok\r\n250 Ok again\r\n550 5.1.1 no\r\n354 go\r\n");
	/* the client can only see a 250 for RCPT and a 550 for DATA, then one reply too
	   many: the protocol break ends it, and nothing is "accepted" */
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	CHECK_INT(h.e.error, SMTP_EPROTOCOL);
	CHECK(smtp_rcpt_verdict(smtp_report_rcpt(smtp_message_report(m), 0)) !=
	      SMTP_VERDICT_ACCEPTED);
	h_end(&h);
	smtp_message_free(m);
}

/* 12. A 421 to RCPT names its recipient; a 421 to the RSET before a MAIL is not
   swallowed. */
static void test_421_to_rset(void)
{
	struct harness h;
	h_setup(&h);
	h_ready(&h, EHLO_PIPE);
	smtp_message *m1 = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m1), 0);
	EXPECT_OUT(&h, MAIL_A RCPT("b@y.test") "DATA\r\n");
	FEED(&h, "250 Ok\r\n550 no\r\n554 no recipients\r\n");
	smtp_message *m2 = msg("a@x.test", "hi\n", "c@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m2), 0);
	EXPECT_OUT(&h, "RSET\r\n" MAIL_A RCPT("c@y.test") "DATA\r\n");
	FEED(&h, "421 4.3.2 closing\r\n");
	const smtp_report *r = smtp_message_report(m2);
	CHECK_OUTCOME(r, SMTP_DEFERRED, SMTP_STAGE_RSET);
	CHECK_RCPT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RSET, 421, "4.3.2");
	CHECK_STEP(step_of(r, SMTP_STAGE_RSET, 0), 421, "4.3.2");
	CHECK(smtpi_engine_status(&h.e) & SMTPI_E_CLOSED);
	h_end(&h);
	smtp_message_free(m1);
	smtp_message_free(m2);
}

/* 16. Server text with control characters reaches the trace escaped. */
static void test_trace_escaped(void)
{
	struct harness h;
	h_setup(&h);
	h_start(&h, 0);
	FEED(&h, "220 evil\x1b[2J\x07 host\\x\r\n");
	CHECK(strstr(h.trace, "< 220 evil\\x1b[2J\\x07 host\\\\x\n") != NULL);
	CHECK(strchr(h.trace, 0x1b) == NULL);
	char text[1024];
	smtp_report_text(&h.rep, text, sizeof text);
	CHECK(strchr(text, 0x1b) == NULL);
	CHECK(strstr(text, "evil\\x1b[2J\\x07") != NULL);
	h_end(&h);
}

/* 17. REQUIRETLS with verification off is refused (RFC 8689 4.2.1); UTF-8 in the
   header needs SMTPUTF8 (RFC 6531 3.4) and gets it when offered. */
static void test_requiretls_and_utf8_header(void)
{
	struct harness h;
	h_setup(&h);
	h.cfg.tls_unverified = 1;
	h_start(&h, 1);
	FEED(&h, GREETING);
	EXPECT_OUT(&h, EHLO_LINE);
	FEED(&h, "250-mx.test\r\n250 REQUIRETLS\r\n");
	smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
	CHECK_INT(smtp_message_set_requiretls(m, 1), 0);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, "");
	CHECK_OUTCOME(smtp_message_report(m), SMTP_FAILED, SMTP_STAGE_MAIL);
	CHECK_INT(smtp_report_error(smtp_message_report(m)), SMTP_ENOTLS);
	h_end(&h);
	smtp_message_free(m);

	static const char utf8[] = "Subject: gr\xc3\xbc\xc3\x9f\x65\r\n\r\nbody\r\n";
	h_setup(&h);
	h_ready(&h, EHLO_PLAIN);
	m = msg("a@x.test", utf8, "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, "");
	CHECK_OUTCOME(smtp_message_report(m), SMTP_BOUNCED, SMTP_STAGE_MAIL);
	CHECK_INT(smtp_report_error(smtp_message_report(m)), SMTP_EUTF8);
	h_end(&h);
	smtp_message_free(m);

	h_setup(&h);
	h_ready(&h, "250-mx.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
	m = msg("a@x.test", utf8, "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, "MAIL FROM:<a@x.test> BODY=8BITMIME SMTPUTF8\r\n");
	h_end(&h);
	smtp_message_free(m);

	/* the body alone may be 8-bit without SMTPUTF8 */
	h_setup(&h);
	h_ready(&h, EHLO_PLAIN);
	m = msg("a@x.test", "Subject: plain\r\n\r\ngr\xc3\xbc\xc3\x9f\x65\r\n", "b@y.test", NULL);
	CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
	EXPECT_OUT(&h, "MAIL FROM:<a@x.test> BODY=8BITMIME\r\n");
	h_end(&h);
	smtp_message_free(m);
}

/* A reader of `left` octets of short lines, for test_restartable. */
static long lines_reader(void *ud, void *buf, size_t len)
{
	size_t *left = ud;
	size_t n = len < *left ? len : *left;
	for (size_t i = 0; i < n; i++)
		((char *)buf)[i] = i % 40 == 39 ? '\n' : 'r';
	*left -= n;
	return (long)n;
}

/* The pool resends a message whose connection died before its dot only when its
   content can start over: in memory, or a reader not read yet; a reader stopped
   midway would resend the rest of its stream as a whole message. */
static void test_restartable(void)
{
	for (int use_reader = 0; use_reader < 2; use_reader++) {
		for (int at_body = 0; at_body < 2; at_body++) {
			struct harness h;
			h_setup(&h);
			h_ready(&h, EHLO_PLAIN);
			size_t left = 4u << 20;
			smtp_message *m = msg("a@x.test", "hi\n", "b@y.test", NULL);
			if (use_reader)
				CHECK_INT(smtp_message_set_reader(m, lines_reader, &left), 0);
			CHECK_INT(smtpi_engine_submit(&h.e, m), 0);
			/* content not known before it is read: declared 8-bit (RFC 6152) */
			EXPECT_OUT(&h, use_reader ? "MAIL FROM:<a@x.test> BODY=8BITMIME\r\n" : MAIL_A);
			FEED(&h, "250 Ok\r\n");
			EXPECT_OUT(&h, RCPT("b@y.test"));
			if (at_body) {
				FEED(&h, "250 Ok\r\n");
				EXPECT_OUT(&h, "DATA\r\n");
				FEED(&h, "354 go\r\n");
				const char *p;
				int rc;
				CHECK(take(&h, &p, &rc) > 0);
			}
			smtpi_engine_fail(&h.e, SMTP_ECLOSED, "the server closed the connection", 0);
			const smtp_report *r = smtp_message_report(m);
			CHECK_OUTCOME(r, SMTP_DEFERRED, at_body ? SMTP_STAGE_BODY : SMTP_STAGE_RCPT);
			CHECK_INT(smtp_report_maybe_delivered(r), 0);
			CHECK_INT(smtpi_body_restartable(m), !(use_reader && at_body));
			h_end(&h);
			smtp_message_free(m);
		}
	}
}

int main(void)
{
	RUN(test_chunk_room);
	RUN(test_bdat_failure_reset);
	RUN(test_lmtp_421);
	RUN(test_421_after_rcpts);
	RUN(test_lone_dot_after_refused_mail);
	RUN(test_client_refused);
	RUN(test_stray_reply);
	RUN(test_421_to_rset);
	RUN(test_trace_escaped);
	RUN(test_requiretls_and_utf8_header);
	RUN(test_restartable);
	return CHECK_DONE("test_engine_faults");
}

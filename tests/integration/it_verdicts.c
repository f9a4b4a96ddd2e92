/* Each recipient's verdict, the stage that decided it and the server's own words,
   against real servers that refuse on request: Postfix smtpd (check_recipient_access
   in tests/servers/postfix/main.cf.in) behind STARTTLS and Dovecot SASL, and
   Nodemailer's smtp-server (scripted in tests/servers/node_server.js). aiosmtpd and
   smtp-sink are in it_basic.c. */
#include "it_common.h"

static const char *it_user(void)
{
	return it_env("SMTP_IT_USER");
}

static smtp_session *pf_session(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_auth(s, it_user(), it_env("SMTP_IT_PASSWORD"), NULL), 0);
	return s;
}

static smtp_session *node_session(const char *password)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_NODE_PORT"), SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_auth(s, it_user(), password, "PLAIN"), 0);
	return s;
}

#define CHECK_RCPT_WORDS(r, i, code, enh, text_part)                                  \
	do {                                                                          \
		const smtp_rcpt_result *w_rr_ = smtp_report_rcpt((r), (i));           \
		CHECK_INT(smtp_rcpt_code(w_rr_), (code));                             \
		CHECK_STR(smtp_rcpt_enhanced(w_rr_), (enh));                          \
		CHECK(strstr(smtp_rcpt_text(w_rr_), (text_part)) != NULL);            \
	} while (0)

/* One message, three fates: taken, refused for good, refused for now. */
static void test_postfix_mixed(void)
{
	smtp_session *s = pf_session();
	const char *rcpts[] = {"ok@example.net", "unknown@example.net", "later@example.net", NULL};
	smtp_message *m = it_message(it_user(), rcpts, "Subject: verdicts\r\n\r\nmixed\r\n");
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_SENT_PARTIAL);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_RCPT);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 250);
	CHECK_RCPT_VERDICT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_RCPT_WORDS(r, 1, 550, "5.1.1", "User unknown");
	CHECK_RCPT_VERDICT(r, 2, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_RCPT_WORDS(r, 2, 450, "4.2.1", "Greylisted");
	CHECK_INT(smtp_report_maybe_delivered(r), 0);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* Every recipient refused: bounced, and only at stage rcpt do the addresses count. */
static void test_postfix_all_refused(void)
{
	smtp_session *s = pf_session();
	const char *rcpts[] = {"unknown@example.net", NULL};
	smtp_message *m = it_message(it_user(), rcpts, "Subject: verdicts\r\n\r\nnone\r\n");
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_BOUNCED);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT);
	/* the session goes on: the next message (behind an RSET) is taken */
	const char *ok[] = {"ok@example.net", NULL};
	smtp_message *m2 = it_message(it_user(), ok, "Subject: verdicts\r\n\r\nafter\r\n");
	CHECK_INT(it_send(s, m2), 0);
	CHECK_RCPT_VERDICT(smtp_message_report(m2), 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_message_free(m2);
	smtp_session_free(s);
}

/* A wrong password is the caller's configuration, never a bounce of its recipients. */
static void test_postfix_wrong_password(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_auth(s, it_user(), "not-the-password", NULL), 0);
	const char *rcpts[] = {"ok@example.net", NULL};
	smtp_message *m = it_message(it_user(), rcpts, "Subject: verdicts\r\n\r\nx\r\n");
	CHECK_INT(it_send(s, m), SMTP_EAUTH);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_FAILED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_AUTH);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_AUTH);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 535);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

static void test_node_mixed(void)
{
	smtp_session *s = node_session(it_env("SMTP_IT_PASSWORD"));
	const char *rcpts[] = {"ok@example.net", "unknown@example.net", "later@example.net",
			       "full@example.net", NULL};
	smtp_message *m = it_message(it_user(), rcpts, "Subject: verdicts\r\n\r\nmixed\r\n");
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_SENT_PARTIAL);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);
	CHECK_RCPT_VERDICT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_RCPT_WORDS(r, 1, 550, "5.1.1", "User unknown");
	CHECK_RCPT_VERDICT(r, 2, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_RCPT_WORDS(r, 2, 451, "4.3.0", "Try again later");
	CHECK_RCPT_VERDICT(r, 3, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_RCPT_WORDS(r, 3, 452, "4.2.2", "Mailbox full");
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* Refusals of the message itself: at MAIL (the sender) and after the content. */
static void test_node_message_refused(void)
{
	smtp_session *s = node_session(it_env("SMTP_IT_PASSWORD"));
	const char *rcpts[] = {"ok@example.net", "two@example.net", NULL};
	smtp_message *m = it_message("blocked@example.net", rcpts, "Subject: v\r\n\r\nx\r\n");
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_BOUNCED);
	for (size_t i = 0; i < 2; i++) {
		CHECK_RCPT_VERDICT(r, i, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL);
		CHECK_RCPT_WORDS(r, i, 553, "5.1.3", "Sender rejected");
	}
	static const struct {
		const char *header;
		smtp_verdict verdict;
		int code;
	} content[] = {{"X-Test-Reject: 554", SMTP_VERDICT_BOUNCED, 554},
		       {"X-Test-Reject: 451", SMTP_VERDICT_DEFERRED, 451}};
	for (size_t k = 0; k < 2; k++) {
		char body[128];
		snprintf(body, sizeof body, "Subject: v\r\n%s\r\n\r\nx\r\n", content[k].header);
		smtp_message *c = it_message(it_user(), rcpts, body);
		CHECK_INT(it_send(s, c), SMTP_EREJECTED);
		r = smtp_message_report(c);
		for (size_t i = 0; i < 2; i++) {
			CHECK_RCPT_VERDICT(r, i, content[k].verdict, SMTP_STAGE_BODY);
			CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, i)), content[k].code);
		}
		smtp_message_free(c);
	}
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* Credentials refused: failed, at stage auth, with the server's 535. */
static void test_node_auth_refused(void)
{
	smtp_session *s = node_session("wrong");
	const char *rcpts[] = {"ok@example.net", NULL};
	smtp_message *m = it_message(it_user(), rcpts, "Subject: v\r\n\r\nx\r\n");
	CHECK_INT(it_send(s, m), SMTP_EAUTH);
	CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_FAILED);
	CHECK_RCPT_VERDICT(smtp_message_report(m), 0, SMTP_VERDICT_FAILED, SMTP_STAGE_AUTH);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(smtp_message_report(m), 0)), 535);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_verdicts (%s)", it_mode());
	(void)it_find_record;
	RUN(test_postfix_mixed);
	RUN(test_postfix_all_refused);
	RUN(test_postfix_wrong_password);
	RUN(test_node_mixed);
	RUN(test_node_message_refused);
	RUN(test_node_auth_refused);
	return CHECK_DONE(name);
}

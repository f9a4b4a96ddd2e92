/* Plain-text transactions against real servers: aiosmtpd (scripted refusals, exact
   bytes) and Postfix's smtp-sink (many messages over one connection, exact bytes). */
#include "it_common.h"

#include <sys/stat.h>
#include <unistd.h>

static smtp_session *aio_session(void)
{
	return it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE);
}

/* One message to several recipients, some refused: every recipient's reply is kept and
   the accepted ones get the message byte for byte. */
static void test_partial_refusal(void)
{
	smtp_session *s = aio_session();
	const char *rcpts[] = {"ok@example.test", "unknown@example.test", "later@example.test",
			       NULL};
	const char *body = "Subject: partial\r\nX-Marker: it-basic-partial\r\n\r\n"
			   ".leading dot\nbare LF line\r\nlast line without end";
	smtp_message *m = it_message("sender@example.test", rcpts, body);
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_SENT_PARTIAL);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_RCPT);
	CHECK_INT(smtp_report_rcpt_count(r), 3);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);
	CHECK_RCPT_VERDICT(r, 1, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_RCPT_VERDICT(r, 2, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 1);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 1)), 550);
	CHECK_STR(smtp_rcpt_enhanced(smtp_report_rcpt(r, 1)), "5.1.1");
	CHECK_STR(smtp_rcpt_text(smtp_report_rcpt(r, 1)), "User unknown");
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 1)), 0);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 2)), 451);
	CHECK_STR(smtp_rcpt_enhanced(smtp_report_rcpt(r, 2)), "4.7.1");
	const smtp_step *st = it_step(r, SMTP_STAGE_RCPT, 1);
	CHECK(st != NULL);
	CHECK_STR(smtp_step_arg(st), "unknown@example.test");
	CHECK(it_step(r, SMTP_STAGE_GREETING, 0) != NULL);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_BODY, 0)), 250);
	size_t len;
	char *got = it_find_record(it_env("SMTP_IT_AIO_DIR"), "it-basic-partial", &len);
	const char *want = "Subject: partial\r\nX-Marker: it-basic-partial\r\n\r\n"
			   ".leading dot\r\nbare LF line\r\nlast line without end\r\n";
	CHECK(got != NULL);
	if (got)
		CHECK_MEM(got, len, want, strlen(want));
	free(got);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* Each refusal is reported at its stage with the server's code, enhanced code and
   text; the session stays usable for the next message (RSET). */
static void test_refusals_keep_session(void)
{
	smtp_session *s = aio_session();
	CHECK_INT(it_connect(s), 0);

	const char *one[] = {"ok@example.test", NULL};
	smtp_message *m1 = it_message("blocked@example.test", one, "Subject: a\r\n\r\nx\r\n");
	CHECK_INT(it_send(s, m1), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m1);
	CHECK_INT(smtp_report_outcome(r), SMTP_BOUNCED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_MAIL);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_MAIL, 0)), 553);
	CHECK_STR(smtp_step_enhanced(it_step(r, SMTP_STAGE_MAIL, 0)), "5.7.1");
	/* the sender was refused, not the address: bounced at stage mail */
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL);

	const char *temp[] = {"later@example.test", NULL};
	smtp_message *m2 = it_message("sender@example.test", temp, "Subject: b\r\n\r\ny\r\n");
	CHECK_INT(it_send(s, m2), SMTP_EREJECTED);
	r = smtp_message_report(m2);
	CHECK_INT(smtp_report_outcome(r), SMTP_DEFERRED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_RCPT);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_RCPT, 0)), 451);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_RCPT);
	/* the refused transaction before it is cleared by RSET before this MAIL */
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_RSET, 0)), 250);

	smtp_message *m3 = it_message("sender@example.test", one,
				      "Subject: c\r\nX-Test-Reject: 554\r\n\r\nz\r\n");
	CHECK_INT(it_send(s, m3), SMTP_EREJECTED);
	r = smtp_message_report(m3);
	CHECK_INT(smtp_report_outcome(r), SMTP_BOUNCED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_BODY);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_BODY, 0)), 554);
	CHECK_STR(smtp_step_enhanced(it_step(r, SMTP_STAGE_BODY, 0)), "5.6.0");
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_BODY);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 0);

	smtp_message *m4 = it_message("sender@example.test", one,
				      "Subject: d\r\nX-Marker: it-basic-after\r\n\r\nok\r\n");
	CHECK_INT(it_send(s, m4), 0);
	CHECK_INT(smtp_report_outcome(smtp_message_report(m4)), SMTP_SENT);
	CHECK_RCPT_VERDICT(smtp_message_report(m4), 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);

	char json[8192];
	size_t n = smtp_report_json(smtp_message_report(m1), json, sizeof json);
	CHECK(n < sizeof json);
	CHECK(strstr(json, "\"outcome\": \"bounced\"") != NULL);
	CHECK(strstr(json, "\"failed_stage\": \"mail\"") != NULL);
	CHECK(strstr(json, "\"enhanced\": \"5.7.1\"") != NULL);
	CHECK_INT(it_quit(s), 0);
	CHECK_INT(smtp_step_code(it_step(smtp_session_report(s), SMTP_STAGE_QUIT, 0)), 221);
	smtp_message_free(m1);
	smtp_message_free(m2);
	smtp_message_free(m3);
	smtp_message_free(m4);
	smtp_session_free(s);
}

/* Content with awkward line ends and dots, as smtp-sink dumps it: LF line ends, dots
   unstuffed. */
static char *sink_body(unsigned seq, const char *mode, size_t *len)
{
	size_t cap = 1400;
	char *b = malloc(cap);
	int n = snprintf(b, cap,
			 "Subject: sink %u\nX-Seq: %s-%u\n\n"
			 ".\n..\n.starts with a dot\nline\r\nmixed\rending\n", seq, mode, seq);
	while ((size_t)n < 1024)
		n += snprintf(b + n, cap - (size_t)n, "filler %u line of text\n", seq);
	*len = (size_t)n;
	return b;
}

/* As the sink stores it: CR LF and lone CR become LF (the sink writes LF). */
static size_t sink_form(const char *in, size_t len, char *out)
{
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r') {
			out[j++] = '\n';
			if (i + 1 < len && in[i + 1] == '\n')
				i++;
		} else {
			out[j++] = in[i];
		}
	}
	return j;
}

#define SINK_MESSAGES 1000

/* 1,000 messages over one connection (pipelined), each arriving byte-exact. */
static void test_thousand_messages(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_PORT"), SMTP_TLS_NONE);
	CHECK_INT(it_connect(s), 0);
	const char *rcpts[] = {"sink@example.test", NULL};
	int sent = 0;
	for (unsigned i = 0; i < SINK_MESSAGES; i++) {
		size_t len;
		char *body = sink_body(i, it_mode(), &len);
		smtp_message *m = smtp_message_new();
		smtp_message_set_from(m, "from@example.test");
		smtp_message_add_rcpt(m, rcpts[0]);
		smtp_message_set_data(m, body, len);
		if (it_send(s, m) == 0)
			sent++;
		smtp_message_free(m);
		free(body);
	}
	CHECK_INT(sent, SINK_MESSAGES);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);

	/* every dump holds one message; match them by X-Seq */
	const char *dir = it_env("SMTP_IT_SINK_DIR");
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	int exact = 0;
	char prefix[64];
	snprintf(prefix, sizeof prefix, "X-Seq: %s-", it_mode());
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t n;
		char *dump = it_read_file(path, &n);
		char *seq = dump ? strstr(dump, prefix) : NULL;
		if (!seq) {
			free(dump);
			continue;
		}
		unsigned i = (unsigned)atoi(seq + strlen(prefix));
		size_t blen;
		char *body = sink_body(i, it_mode(), &blen);
		char *want = malloc(blen + 2);
		size_t wlen = sink_form(body, blen, want);
		char *start = strstr(dump, "Subject: sink ");
		/* the sink ends its dump with one extra empty line */
		if (start && (size_t)(dump + n - start) == wlen + 1 &&
		    memcmp(start, want, wlen) == 0)
			exact++;
		free(want);
		free(body);
		free(dump);
	}
	closedir(d);
	CHECK_INT(exact, SINK_MESSAGES);
}

/* Caller strings with CR, LF or NUL never reach the wire. */
static void test_injection_refused(void)
{
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_message_set_from(m, "a@example.test\r\nRCPT TO:<x@y>"), SMTP_EINVAL);
	CHECK_INT(smtp_message_add_rcpt(m, "b@example.test\nDATA"), SMTP_EINVAL);
	CHECK_INT(smtp_message_add_rcpt(m, "b@exa\x01mple.test"), SMTP_EINVAL);
	smtp_session *s = smtp_session_new();
	CHECK_INT(smtp_session_set_helo_name(s, "host\r\nMAIL FROM:<x>"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_server(s, "host\nname", 25, SMTP_TLS_NONE), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_auth(s, "user\r\n", "pw", NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_url(s, "smtp://a%0d%0aQUIT@host:25"), SMTP_EINVAL);
	smtp_session_free(s);
	smtp_message_free(m);
}

static smtp_message *sink_message(void)
{
	const char *rcpts[] = {"one@example.test", NULL};
	return it_message("from@example.test", rcpts, "Subject: sink\r\n\r\nbody\r\n");
}

/* smtp-sink told to refuse (-f RCPT, -r MAIL) or to hang up (-q DATA): each reported at
   its stage with the sink's code, enhanced code and text. */
static void test_sink_refusals_and_drop(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_REJECT_PORT"), SMTP_TLS_NONE);
	smtp_message *m = sink_message();
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_BOUNCED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_RCPT);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 550);
	CHECK_STR(smtp_rcpt_enhanced(smtp_report_rcpt(r, 0)), "5.1.1");
	CHECK_STR(smtp_rcpt_text(smtp_report_rcpt(r, 0)), "No such user");
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_RCPT);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);

	s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_DEFER_PORT"), SMTP_TLS_NONE);
	m = sink_message();
	CHECK_INT(it_send(s, m), SMTP_EREJECTED);
	r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_DEFERRED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_MAIL);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_MAIL, 0)), 451);
	CHECK_STR(smtp_step_enhanced(it_step(r, SMTP_STAGE_MAIL, 0)), "4.7.1");
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_MAIL);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);

	s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_DROP_PORT"), SMTP_TLS_NONE);
	m = sink_message();
	CHECK_INT(it_send(s, m), SMTP_ECLOSED);
	r = smtp_message_report(m);
	/* a lost connection: deferred, and the dot never went out */
	CHECK_INT(smtp_report_outcome(r), SMTP_DEFERRED);
	CHECK_INT(smtp_report_error(r), SMTP_ECLOSED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_DATA);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_DEFERRED, SMTP_STAGE_DATA);
	CHECK_INT(smtp_report_maybe_delivered(r), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* 8. Nonblocking smtp_quit with a message in flight: EAGAIN until the message is
   done, then QUIT goes out and the session ends. */
static void test_quit_while_busy(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_PORT"), SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_nonblocking(s, 1), 0);
	smtp_message *m = sink_message();
	CHECK_INT(smtp_submit(s, m), 0);
	int rc, calls = 0;
	while ((rc = smtp_quit(s)) == SMTP_EAGAIN && calls++ < 100000)
		it_wait(s);
	CHECK_INT(rc, 0);
	CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_SENT);
	CHECK_INT(smtp_step_code(it_step(smtp_session_report(s), SMTP_STAGE_QUIT, 0)), 221);
	CHECK_INT(smtp_session_get_state(s), SMTP_STATE_IDLE);
	smtp_message_free(m);
	smtp_session_free(s);
}

struct eagain_reader {
	int calls;
};

/* Gives one block, then says SMTP_EAGAIN as a nonblocking source would. */
static long eagain_read(void *ud, void *buf, size_t len)
{
	struct eagain_reader *r = ud;
	static const char head[] = "Subject: reader\r\n\r\nfirst block\r\n";
	if (r->calls++ > 0)
		return SMTP_EAGAIN;
	size_t n = sizeof head - 1 < len ? sizeof head - 1 : len;
	memcpy(buf, head, n);
	return (long)n;
}

/* 9. A reader's SMTP_EAGAIN ends its own message (SMTP_EINVAL: readers must block),
   never the blocking call's return, and the next message goes on a new connection. */
static void test_reader_eagain(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_PORT"), SMTP_TLS_NONE);
	smtp_message *bad = smtp_message_new();
	struct eagain_reader er = {0};
	CHECK_INT(smtp_message_set_from(bad, "from@example.test"), 0);
	CHECK_INT(smtp_message_add_rcpt(bad, "one@example.test"), 0);
	CHECK_INT(smtp_message_set_reader(bad, eagain_read, &er), 0);
	smtp_message *good = sink_message();
	CHECK_INT(smtp_submit(s, bad), 0);
	CHECK_INT(smtp_submit(s, good), 0);
	CHECK_INT(it_send(s, bad), SMTP_EINVAL);
	const smtp_report *r = smtp_message_report(bad);
	CHECK_INT(smtp_report_outcome(r), SMTP_FAILED);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_BODY);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_BODY);
	CHECK(smtp_report_error_detail(r) && strstr(smtp_report_error_detail(r), "EAGAIN"));
	CHECK_INT(it_send(s, good), 0);
	CHECK_INT(smtp_report_outcome(smtp_message_report(good)), SMTP_SENT);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(bad);
	smtp_message_free(good);
	smtp_session_free(s);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_basic (%s)", it_mode());
	RUN(test_injection_refused);
	RUN(test_partial_refusal);
	RUN(test_refusals_keep_session);
	RUN(test_thousand_messages);
	RUN(test_sink_refusals_and_drop);
	RUN(test_quit_while_busy);
	RUN(test_reader_eagain);
	return CHECK_DONE(name);
}

/* ESMTP extensions against real servers, and against tests/servers/fake_server.py for
   what no real server does on request:
     Postfix submission (STARTTLS + AUTH; SIZE 10240000, 8BITMIME, SMTPUTF8, DSN,
       CHUNKING, ENHANCEDSTATUSCODES): BODY=8BITMIME, DSN parameters, BDAT by default
       and in 1 MiB chunks, DATA when chunking is off, SIZE refused before MAIL,
       SMTPUTF8, NOOP/VRFY/raw commands;
     aiosmtpd (SMTPUTF8, no DSN, no ENHANCEDSTATUSCODES): UTF-8 local parts, enhanced
       codes without the keyword, DSN left out or required;
     aiosmtpd with STARTTLS (no SMTPUTF8): IDNA A-labels, SMTP_EUTF8, REQUIRETLS;
     smtp-sink -8 (no 8BITMIME): 8-bit content refused before MAIL;
     smtp-sink -L (LMTP over TCP and a unix socket): one final reply per recipient;
     scripted: LIMITS RCPTMAX/MAILMAX, BINARYMIME over BDAT, a refused chunk, mixed
       LMTP replies.
   Each case checks the return code, the report and what the server received (sink
   dumps, aiosmtpd .json records, the fake server's log). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_fake.h"

#define CHECK_RC(rc, want) CHECK_STR(smtp_error_name(rc), smtp_error_name(want))

#define CHECK_REPORT(r, oc, stage, err)                                                \
	do {                                                                         \
		const smtp_report *check_r_ = (r);                                   \
		CHECK_STR(smtp_outcome_name(smtp_report_outcome(check_r_)),          \
			  smtp_outcome_name(oc));                                    \
		CHECK_STR(smtp_stage_name(smtp_report_failed_stage(check_r_)),       \
			  smtp_stage_name(stage));                                   \
		CHECK_STR(smtp_error_name(smtp_report_error(check_r_)), smtp_error_name(err)); \
	} while (0)

static unsigned serial;

/* A marker unique to this run, mode and case. */
static const char *marker(const char *label)
{
	static char buf[160];
	snprintf(buf, sizeof buf, "it-ext-%s-%s-%ld-%u", label, it_mode(), (long)getpid(),
		 ++serial);
	return buf;
}

/* ---- trace ---- */

/* The dialogue as "\nC: line" (client), "\nS: line" (server), "\nI: note" lines. */
struct trace {
	char *buf;
	size_t len, cap;
};

static void trace_cb(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	struct trace *t = ud;
	if (t->len + len + 8 > t->cap) {
		size_t cap = (t->cap ? t->cap * 2 : 4096) + len + 8;
		char *b = realloc(t->buf, cap);
		if (!b)
			exit(2);
		t->buf = b;
		t->cap = cap;
	}
	const char *tag = dir == SMTP_TRACE_SEND ? "\nC: " : dir == SMTP_TRACE_RECV ? "\nS: " : "\nI: ";
	memcpy(t->buf + t->len, tag, 4);
	memcpy(t->buf + t->len + 4, line, len);
	t->len += 4 + len;
	t->buf[t->len] = '\0';
}

static void trace_reset(struct trace *t)
{
	t->len = 0;
	if (t->buf)
		t->buf[0] = '\0';
}

static int trace_has(const struct trace *t, const char *s)
{
	return t->buf && memmem(t->buf, t->len, s, strlen(s)) != NULL;
}

/* How many client lines start with prefix. */
static size_t trace_count(const struct trace *t, const char *prefix)
{
	char want[256];
	snprintf(want, sizeof want, "\nC: %s", prefix);
	size_t n = 0, wl = strlen(want);
	const char *p = t->buf, *end = t->buf + t->len;
	while (p && (p = memmem(p, (size_t)(end - p), want, wl)) != NULL) {
		n++;
		p += wl;
	}
	return n;
}

/* The client line that starts with prefix (the nth), copied into out; "" if none. */
static const char *trace_line(const struct trace *t, const char *prefix, size_t nth, char *out,
			      size_t cap)
{
	char want[256];
	snprintf(want, sizeof want, "\nC: %s", prefix);
	size_t wl = strlen(want);
	const char *p = t->buf, *end = t->buf + t->len;
	out[0] = '\0';
	while (p && (p = memmem(p, (size_t)(end - p), want, wl)) != NULL) {
		if (nth-- == 0) {
			const char *s = p + 4;
			const char *e = memchr(s, '\n', (size_t)(end - s));
			size_t n = (size_t)((e ? e : end) - s);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, s, n);
			out[n] = '\0';
			return out;
		}
		p += wl;
	}
	return out;
}

static void dump_trace_on_failure(const struct trace *t, const char *label)
{
	if (check_failed_here && t->buf)
		fprintf(stderr, "---- %s (%s) trace ----%s\n----\n", label, it_mode(), t->buf);
}

/* ---- records ---- */

/* Finds a record, waiting up to 5 s for the server to write it. */
static char *find_record(const char *dir, const char *m, size_t *len)
{
	for (int i = 0; i < 100; i++) {
		char *c = it_find_record(dir, m, len);
		if (c)
			return c;
		sleep_ms(50);
	}
	return NULL;
}

static int has(const char *hay, size_t len, const char *s)
{
	return hay && memmem(hay, len, s, strlen(s)) != NULL;
}

/* The dump line starting with key (e.g. "X-Mail-Args: "), copied into out. */
static const char *dump_line(const char *d, size_t len, const char *key, char *out, size_t cap)
{
	out[0] = '\0';
	if (!d)
		return out;
	size_t kl = strlen(key);
	const char *p = d, *end = d + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n >= kl && memcmp(p, key, kl) == 0) {
			n -= kl;
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p + kl, n);
			out[n] = '\0';
			return out;
		}
		p = nl ? nl + 1 : end;
	}
	return out;
}

/* As smtp-sink stores content: CR LF (and a lone CR) become LF. */
static char *lf_form(const char *in, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	if (!out)
		exit(2);
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
	*outlen = j;
	return out;
}

/* An smtp-sink dump ends with the content (LF form) and one empty line. */
static int sink_has_content(const char *d, size_t dlen, const char *content, size_t clen)
{
	size_t wl;
	char *want = lf_form(content, clen, &wl);
	int ok = d && dlen >= wl + 2 && d[dlen - 1] == '\n' && d[dlen - wl - 2] == '\n' &&
		 memcmp(d + dlen - wl - 1, want, wl) == 0;
	free(want);
	return ok;
}

/* ---- sessions and commands ---- */

static int it_command(smtp_session *s, const char *line)
{
	int rc;
	while ((rc = smtp_command(s, line)) == SMTP_EAGAIN)
		it_wait(s);
	return rc;
}

static smtp_session *pf_session(struct trace *t, int chunking, size_t chunk)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_PF_SUB_PORT"),
				     SMTP_TLS_STARTTLS);
	CHECK_RC(smtp_session_set_auth(s, it_env("SMTP_IT_USER"), it_env("SMTP_IT_PASSWORD"),
				       NULL),
		 0);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, t), 0);
	if (chunking >= 0)
		CHECK_RC(smtp_session_set_chunking(s, chunking, chunk), 0);
	return s;
}

static smtp_message *msg_new(const char *from, const char *rcpt, const char *data, size_t len)
{
	smtp_message *m = smtp_message_new();
	if (!m)
		exit(2);
	CHECK_RC(smtp_message_set_from(m, from), 0);
	if (rcpt)
		CHECK_RC(smtp_message_add_rcpt(m, rcpt), 0);
	CHECK_RC(smtp_message_set_data(m, data, len), 0);
	return m;
}

/* Whether any step of the report has a text containing s. */
static int report_mentions(const smtp_report *r, const char *s)
{
	for (size_t i = 0; i < smtp_report_count(r); i++)
		if (strstr(smtp_step_text(smtp_report_step(r, i)), s))
			return 1;
	return 0;
}

/* A MAIL step that carries a reply (the DSN note is a MAIL step without one). */
static int has_mail_reply(const smtp_report *r)
{
	const smtp_step *st;
	for (size_t i = 0; (st = it_step(r, SMTP_STAGE_MAIL, i)) != NULL; i++)
		if (smtp_step_code(st) != 0)
			return 1;
	return 0;
}

/* A text body of exactly len octets: CRLF lines, some starting with a dot. */
static char *text_body(const char *mark, size_t len)
{
	char *b = malloc(len + 1);
	if (!b)
		exit(2);
	int h = snprintf(b, len, "Subject: big\r\nX-Marker: %s\r\n\r\n", mark);
	size_t n = (size_t)h;
	unsigned line = 0;
	while (n < len) {
		char l[100];
		int k = snprintf(l, sizeof l, "%s%07u the quick brown fox jumps over the lazy dog 0123456789\r\n",
				 line % 17 == 0 ? "." : "", line);
		line++;
		size_t take = (size_t)k;
		if (n + take > len) {
			/* pad the end so the content still ends with CRLF */
			size_t rest = len - n;
			memset(b + n, 'x', rest);
			if (rest >= 2) {
				b[len - 2] = '\r';
				b[len - 1] = '\n';
			} else {
				b[len - 1] = '\n';
			}
			n = len;
			break;
		}
		memcpy(b + n, l, take);
		n += take;
	}
	b[len] = '\0';
	return b;
}

/* ---- Postfix ---- */

static void test_pf_8bit_dsn(void)
{
	struct trace t = {0};
	smtp_session *s = pf_session(&t, -1, 0);
	const char *user = it_env("SMTP_IT_USER");
	CHECK_RC(it_connect(s), 0);
	const smtp_report *sr = smtp_session_report(s);
	CHECK_INT(smtp_report_enhanced_advertised(sr), 1);
	const char *params = NULL;
	CHECK_INT(smtp_session_has_extension(s, "SIZE", &params), 1);
	CHECK_STR(params, "10240000");
	CHECK_INT(smtp_session_has_extension(s, "8BITMIME", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "DSN", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "CHUNKING", NULL), 1);
	CHECK_INT(smtp_session_has_extension(s, "SMTPUTF8", NULL), 1);

	const char *mk = marker("pf-8bit");
	char body[512];
	int bl = snprintf(body, sizeof body,
			  "Subject: 8bit\r\nX-Marker: %s\r\nMIME-Version: 1.0\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: 8bit\r\n\r\n"
			  "Gr\xc3\xbc\xc3\x9f" "e, na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 8-bit\r\n", mk);
	smtp_message *m = msg_new(user, NULL, body, (size_t)bl);
	CHECK_RC(smtp_message_add_rcpt_dsn(m, "dsn-rcpt@example.net",
					   SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE,
					   "orig+1=x@example.net"),
		 0);
	CHECK_RC(smtp_message_set_dsn(m, SMTP_DSN_RET_HDRS, "env id+1", 0), 0);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 1);

	char line[512], want[512];
	snprintf(want, sizeof want,
		 "MAIL FROM:<%s> SIZE=%d BODY=8BITMIME RET=HDRS ENVID=env+20id+2B1", user, bl);
	CHECK_STR(trace_line(&t, "MAIL ", 0, line, sizeof line), want);
	CHECK_STR(trace_line(&t, "RCPT ", 0, line, sizeof line),
		  "RCPT TO:<dsn-rcpt@example.net> NOTIFY=SUCCESS,FAILURE "
		  "ORCPT=rfc822;orig+2B1+3Dx@example.net");
	/* CHUNKING is used by default: one BDAT ... LAST, no DATA */
	char bdat[64];
	snprintf(bdat, sizeof bdat, "BDAT %d LAST", bl);
	CHECK_STR(trace_line(&t, "BDAT ", 0, line, sizeof line), bdat);
	CHECK_INT(trace_count(&t, "DATA"), 0);

	size_t len;
	char *d = find_record(it_env("SMTP_IT_PF_SINK_DIR"), mk, &len);
	CHECK(d != NULL);
	snprintf(want, sizeof want, "<%s> SIZE=%d BODY=8BITMIME RET=HDRS ENVID=env+20id+2B1", user,
		 bl);
	CHECK_STR(dump_line(d, len, "X-Mail-Args: ", line, sizeof line), want);
	CHECK_STR(dump_line(d, len, "X-Rcpt-Args: ", line, sizeof line),
		  "<dsn-rcpt@example.net> NOTIFY=SUCCESS,FAILURE "
		  "ORCPT=rfc822;orig+2B1+3Dx@example.net");
	/* the 8-bit octets arrived as they were */
	CHECK(sink_has_content(d, len, body, (size_t)bl));
	free(d);
	smtp_message_free(m);

	/* NOOP, VRFY, a raw command with CR LF in it */
	int rc;
	while ((rc = smtp_noop(s)) == SMTP_EAGAIN)
		it_wait(s);
	CHECK_RC(rc, 0);
	const smtp_step *st = smtp_session_last_step(s);
	CHECK(st != NULL);
	CHECK_INT(smtp_step_stage(st), SMTP_STAGE_COMMAND);
	CHECK_INT(smtp_step_code(st), 250);
	while ((rc = smtp_vrfy(s, "postmaster")) == SMTP_EAGAIN)
		it_wait(s);
	st = smtp_session_last_step(s);
	CHECK(st != NULL);
	int code = smtp_step_code(st);
	CHECK(code / 100 == 2 || code / 100 == 5);
	CHECK_INT(smtp_step_stage(st), SMTP_STAGE_COMMAND);
	CHECK_RC(rc, code / 100 == 2 ? 0 : SMTP_EREJECTED);
	CHECK(trace_has(&t, "\nC: VRFY postmaster"));
	size_t steps = smtp_report_count(smtp_session_report(s));
	CHECK_RC(smtp_command(s, "NOOP\r\nQUIT"), SMTP_EINVAL);
	CHECK_RC(smtp_command(s, ""), SMTP_EINVAL);
	CHECK_INT(smtp_report_count(smtp_session_report(s)), steps);
	CHECK(!trace_has(&t, "\nC: NOOP\nC: QUIT"));
	/* the session is still usable */
	CHECK_RC(it_command(s, "RSET"), 0);
	CHECK_INT(smtp_step_code(smtp_session_last_step(s)), 250);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "pf_8bit_dsn");
	free(t.buf);
}

static void test_pf_chunks_5mib(void)
{
	struct trace t = {0};
	smtp_session *s = pf_session(&t, 1, 1u << 20);
	const char *mk = marker("pf-5mib");
	size_t n = 5u << 20;
	char *body = text_body(mk, n);
	smtp_message *m = msg_new(it_env("SMTP_IT_USER"), "big@example.net", body, n);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	/* chunks of at most 1 MiB whose sizes add up to the content (no dot-stuffing) */
	size_t chunks = trace_count(&t, "BDAT "), sum = 0, lasts = 0;
	for (size_t i = 0; i < chunks; i++) {
		char line[64];
		trace_line(&t, "BDAT ", i, line, sizeof line);
		unsigned long sz = strtoul(line + 5, NULL, 10);
		CHECK(sz <= (1u << 20));
		sum += sz;
		if (strstr(line, " LAST"))
			lasts++;
	}
	CHECK(chunks >= 5);
	CHECK(chunks <= 7);
	CHECK_INT(sum, n);
	CHECK_INT(lasts, 1);
	char last[64];
	CHECK(strstr(trace_line(&t, "BDAT ", chunks ? chunks - 1 : 0, last, sizeof last), " LAST") !=
	      NULL);
	CHECK_INT(trace_count(&t, "DATA"), 0);
	CHECK_RC(it_quit(s), 0);
	size_t len;
	char *d = find_record(it_env("SMTP_IT_PF_SINK_DIR"), mk, &len);
	CHECK(d != NULL);
	CHECK(sink_has_content(d, len, body, n));
	free(d);
	smtp_message_free(m);
	smtp_session_free(s);
	free(body);
	dump_trace_on_failure(&t, "pf_chunks_5mib");
	free(t.buf);
}

static void test_pf_chunking_off(void)
{
	struct trace t = {0};
	smtp_session *s = pf_session(&t, 0, 0);
	const char *mk = marker("pf-data");
	char body[256];
	int bl = snprintf(body, sizeof body, "Subject: data\r\nX-Marker: %s\r\n\r\n.dot\r\nend\r\n",
			  mk);
	smtp_message *m = msg_new(it_env("SMTP_IT_USER"), "data@example.net", body, (size_t)bl);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK(trace_has(&t, "\nC: DATA"));
	CHECK_INT(trace_count(&t, "BDAT"), 0);
	CHECK_INT(smtp_step_code(it_step(smtp_message_report(m), SMTP_STAGE_DATA, 0)), 354);
	CHECK_RC(it_quit(s), 0);
	size_t len;
	char *d = find_record(it_env("SMTP_IT_PF_SINK_DIR"), mk, &len);
	CHECK(d != NULL);
	CHECK(sink_has_content(d, len, body, (size_t)bl));
	free(d);
	smtp_message_free(m);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "pf_chunking_off");
	free(t.buf);
}

static void test_pf_size_and_utf8(void)
{
	struct trace t = {0};
	smtp_session *s = pf_session(&t, -1, 0);
	CHECK_RC(it_connect(s), 0);

	/* over SIZE: refused before MAIL, the detail names both numbers */
	size_t n = 11000000;
	char *big = text_body("it-ext-too-big", n);
	smtp_message *m = msg_new(it_env("SMTP_IT_USER"), "big@example.net", big, n);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), SMTP_ESIZE);
	const smtp_report *r = smtp_message_report(m);
	/* the message as it is cannot go to this server: bounced (doc/report-schema.md) */
	CHECK_REPORT(r, SMTP_BOUNCED, SMTP_STAGE_MAIL, SMTP_ESIZE);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL);
	CHECK_LOCAL_MAIL_STEP(r, SMTP_ESIZE);
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	const char *detail = smtp_report_error_detail(r);
	CHECK(detail != NULL);
	CHECK(detail && strstr(detail, "11000000") != NULL);
	CHECK(detail && strstr(detail, "10240000") != NULL);
	smtp_message_free(m);
	free(big);

	/* SMTPUTF8: a UTF-8 local part and domain go as they are */
	const char *mk = marker("pf-utf8");
	char body[256];
	int bl = snprintf(body, sizeof body, "Subject: utf8\r\nX-Marker: %s\r\n\r\nhi\r\n", mk);
	const char *to = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95";
	m = msg_new(it_env("SMTP_IT_USER"), to, body, (size_t)bl);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), 0);
	r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_STR(smtp_rcpt_address(smtp_report_rcpt(r, 0)), to);
	char line[512], want[512];
	trace_line(&t, "MAIL ", 0, line, sizeof line);
	CHECK(strstr(line, " SMTPUTF8") != NULL);
	snprintf(want, sizeof want, "RCPT TO:<%s>", to);
	CHECK_STR(trace_line(&t, "RCPT ", 0, line, sizeof line), want);
	size_t len;
	char *d = find_record(it_env("SMTP_IT_PF_SINK_DIR"), mk, &len);
	CHECK(d != NULL);
	/* smtp-sink writes non-ASCII octets of X-Rcpt-Args as '?': one per octet */
	CHECK_STR(dump_line(d, len, "X-Rcpt-Args: ", line, sizeof line),
		  "<??????@??????.??????" ">");
	CHECK(strstr(dump_line(d, len, "X-Mail-Args: ", line, sizeof line), " SMTPUTF8") != NULL);
	/* Postfix's Received: "with UTF8SMTPSA" (SMTPUTF8, TLS, authenticated) and the
	   recipient as it was sent */
	CHECK(has(d, len, "with UTF8SMTPSA"));
	snprintf(want, sizeof want, "for <%s>;", to);
	CHECK(has(d, len, want));
	if (check_failed_here && d)
		fprintf(stderr, "pf utf8 dump:\n%.*s\n", (int)len, d);
	free(d);
	smtp_message_free(m);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "pf_size_and_utf8");
	free(t.buf);
}

/* ---- aiosmtpd ---- */

static void test_aio_utf8_enhanced_dsn(void)
{
	struct trace t = {0};
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_RC(it_connect(s), 0);
	CHECK_INT(smtp_report_enhanced_advertised(smtp_session_report(s)), 0);
	const char *dir = it_env("SMTP_IT_AIO_DIR");

	/* a UTF-8 local part with SMTPUTF8 */
	char to[128], body[256], q[160];
	snprintf(to, sizeof to, "\xe7\x94\xa8\xe6\x88\xb7-%s-%ld-%u@example.test", it_mode(),
		 (long)getpid(), ++serial);
	int bl = snprintf(body, sizeof body, "Subject: utf8\r\nX-Marker: %s\r\n\r\nhi\r\n",
			  marker("aio-utf8"));
	smtp_message *m = msg_new("sender@example.test", to, body, (size_t)bl);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	char line[512];
	CHECK(strstr(trace_line(&t, "MAIL ", 0, line, sizeof line), " SMTPUTF8") != NULL);
	snprintf(q, sizeof q, "\"%s\"", to);
	size_t len;
	char *j = find_record(dir, q, &len);
	CHECK(j != NULL);
	CHECK(has(j, len, "\"smtputf8\": true"));
	free(j);
	smtp_message_free(m);

	/* 550 5.1.1 without ENHANCEDSTATUSCODES: the enhanced code is still reported */
	m = msg_new("sender@example.test", "unknown@example.test", body, (size_t)bl);
	CHECK_RC(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_BOUNCED, SMTP_STAGE_RCPT, SMTP_EREJECTED);
	CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, 0)), 550);
	CHECK_STR(smtp_rcpt_enhanced(smtp_report_rcpt(r, 0)), "5.1.1");
	CHECK_STR(smtp_step_enhanced(it_step(r, SMTP_STAGE_RCPT, 0)), "5.1.1");
	CHECK_INT(smtp_report_enhanced_advertised(r), 0);
	smtp_message_free(m);

	/* DSN not offered, not required: sent without the parameters, with a note */
	const char *mk = marker("aio-dsn");
	bl = snprintf(body, sizeof body, "Subject: dsn\r\nX-Marker: %s\r\n\r\nhi\r\n", mk);
	m = msg_new("sender@example.test", NULL, body, (size_t)bl);
	CHECK_RC(smtp_message_add_rcpt_dsn(m, "dsn@example.test", SMTP_NOTIFY_FAILURE,
					   "dsn@example.test"),
		 0);
	CHECK_RC(smtp_message_set_dsn(m, SMTP_DSN_RET_FULL, "envid-1", 0), 0);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), 0);
	r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK(report_mentions(r, "DSN"));
	trace_line(&t, "MAIL ", 0, line, sizeof line);
	CHECK(strstr(line, "RET=") == NULL && strstr(line, "ENVID=") == NULL);
	CHECK_STR(trace_line(&t, "RCPT ", 0, line, sizeof line), "RCPT TO:<dsn@example.test>");
	j = find_record(dir, mk, &len);
	CHECK(j != NULL);
	free(j);
	smtp_message_free(m);

	/* DSN required: SMTP_EINVAL before MAIL */
	m = msg_new("sender@example.test", NULL, body, (size_t)bl);
	CHECK_RC(smtp_message_add_rcpt_dsn(m, "dsn@example.test", SMTP_NOTIFY_NEVER, NULL), 0);
	CHECK_RC(smtp_message_set_dsn(m, SMTP_DSN_RET_DEFAULT, NULL, 1), 0);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), SMTP_EINVAL);
	r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_FAILED, SMTP_STAGE_MAIL, SMTP_EINVAL);
	CHECK(!has_mail_reply(r));
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	CHECK(smtp_report_error_detail(r) && strstr(smtp_report_error_detail(r), "DSN"));
	smtp_message_free(m);

	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "aio_utf8_enhanced_dsn");
	free(t.buf);
}

static void test_aiotls_idna_utf8_requiretls(void)
{
	struct trace t = {0};
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_AIOTLS_PORT"),
				     SMTP_TLS_STARTTLS);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_RC(it_connect(s), 0);
	CHECK_INT(smtp_session_has_extension(s, "SMTPUTF8", NULL), 0);
	const char *dir = it_env("SMTP_IT_AIOTLS_DIR");
	char to[128], body[256], q[160], line[512];

	/* a U-label domain without SMTPUTF8 goes as A-labels */
	unsigned id = ++serial;
	snprintf(to, sizeof to, "u-%s-%ld-%u@b\xc3\xbc" "cher.example", it_mode(), (long)getpid(),
		 id);
	int bl = snprintf(body, sizeof body, "Subject: idna\r\nX-Marker: %s\r\n\r\nhi\r\n",
			  marker("aiotls-idna"));
	smtp_message *m = msg_new("sender@example.test", to, body, (size_t)bl);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	snprintf(q, sizeof q, "\"u-%s-%ld-%u@xn--bcher-kva.example\"", it_mode(), (long)getpid(),
		 id);
	size_t len;
	char *j = find_record(dir, q, &len);
	CHECK(j != NULL);
	CHECK(has(j, len, "\"smtputf8\": false"));
	snprintf(line, sizeof line, "RCPT TO:<u-%s-%ld-%u@xn--bcher-kva.example>", it_mode(),
		 (long)getpid(), id);
	char got[512];
	CHECK_STR(trace_line(&t, "RCPT ", 0, got, sizeof got), line);
	free(j);
	CHECK(strstr(trace_line(&t, "MAIL ", 0, line, sizeof line), "SMTPUTF8") == NULL);
	smtp_message_free(m);

	/* a UTF-8 local part cannot go without SMTPUTF8 */
	m = msg_new("sender@example.test", "\xe7\x94\xa8\xe6\x88\xb7@example.test", body,
		    (size_t)bl);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), SMTP_EUTF8);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_BOUNCED, SMTP_STAGE_MAIL, SMTP_EUTF8);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_MAIL);
	CHECK_LOCAL_MAIL_STEP(r, SMTP_EUTF8);
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	smtp_message_free(m);

	/* REQUIRETLS over TLS to a server that does not offer it */
	m = msg_new("sender@example.test", "ok@example.test", body, (size_t)bl);
	CHECK_RC(smtp_message_set_requiretls(m, 1), 0);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), SMTP_ENOTLS);
	r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_FAILED, SMTP_STAGE_MAIL, SMTP_ENOTLS);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_MAIL);
	CHECK(smtp_report_tls_version(r) != NULL);
	CHECK_LOCAL_MAIL_STEP(r, SMTP_ENOTLS);
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	smtp_message_free(m);

	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "aiotls_idna_utf8_requiretls");
	free(t.buf);
}

/* ---- smtp-sink -8 ---- */

static void test_sink_no8bit(void)
{
	struct trace t = {0};
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_NO8BIT_PORT"),
				     SMTP_TLS_NONE);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_RC(it_connect(s), 0);
	CHECK_INT(smtp_session_has_extension(s, "8BITMIME", NULL), 0);
	char body[256];
	int bl = snprintf(body, sizeof body, "Subject: 8bit\r\nX-Marker: %s\r\n\r\ncaf\xc3\xa9\r\n",
			  marker("no8bit-8"));
	smtp_message *m = msg_new("a@example.org", "b@example.org", body, (size_t)bl);
	trace_reset(&t);
	CHECK_RC(it_send(s, m), SMTP_EINVAL);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_FAILED, SMTP_STAGE_MAIL, SMTP_EINVAL);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_FAILED, SMTP_STAGE_MAIL);
	CHECK_LOCAL_MAIL_STEP(r, SMTP_EINVAL);
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	smtp_message_free(m);

	/* declared 8BITMIME explicitly: the same */
	m = msg_new("a@example.org", "b@example.org", body, (size_t)bl);
	CHECK_RC(smtp_message_set_body_type(m, SMTP_BODY_8BITMIME), 0);
	CHECK_RC(it_send(s, m), SMTP_EINVAL);
	CHECK_REPORT(smtp_message_report(m), SMTP_FAILED, SMTP_STAGE_MAIL, SMTP_EINVAL);
	CHECK_INT(trace_count(&t, "MAIL"), 0);
	smtp_message_free(m);

	/* the same content in 7 bits goes, without a BODY= parameter */
	const char *mk = marker("no8bit-7");
	bl = snprintf(body, sizeof body, "Subject: 7bit\r\nX-Marker: %s\r\n\r\ncafe\r\n", mk);
	m = msg_new("a@example.org", "b@example.org", body, (size_t)bl);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	size_t len;
	char line[256];
	char *d = find_record(it_env("SMTP_IT_SINK_NO8BIT_DIR"), mk, &len);
	CHECK(d != NULL);
	CHECK_STR(dump_line(d, len, "X-Mail-Args: ", line, sizeof line), "<a@example.org>");
	CHECK(sink_has_content(d, len, body, (size_t)bl));
	free(d);
	smtp_message_free(m);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "sink_no8bit");
	free(t.buf);
}

/* ---- LMTP ---- */

static smtp_session *lmtp_session(const char *url, struct trace *t)
{
	smtp_session *s = smtp_session_new();
	if (!s)
		exit(2);
	CHECK_RC(smtp_session_set_url(s, url), 0);
	CHECK_RC(smtp_session_set_nonblocking(s, it_nonblocking()), 0);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, t), 0);
	return s;
}

static void lmtp_two(const char *url, const char *dir, const char *label)
{
	struct trace t = {0};
	smtp_session *s = lmtp_session(url, &t);
	const char *mk = marker(label);
	char body[256];
	int bl = snprintf(body, sizeof body, "Subject: lmtp\r\nX-Marker: %s\r\n\r\n.dot\r\nhi\r\n",
			  mk);
	smtp_message *m = msg_new("a@example.org", "one@example.org", body, (size_t)bl);
	CHECK_RC(smtp_message_add_rcpt(m, "two@example.org"), 0);
	CHECK_RC(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK(trace_has(&t, "\nC: LHLO "));
	CHECK(!trace_has(&t, "\nC: EHLO "));
	CHECK_INT(trace_count(&t, "BDAT"), 0);
	/* one final reply per recipient, in RCPT order */
	const smtp_step *b0 = it_step(r, SMTP_STAGE_BODY, 0), *b1 = it_step(r, SMTP_STAGE_BODY, 1);
	CHECK(b0 != NULL && b1 != NULL);
	CHECK(it_step(r, SMTP_STAGE_BODY, 2) == NULL);
	CHECK_STR(smtp_step_arg(b0), "one@example.org");
	CHECK_STR(smtp_step_arg(b1), "two@example.org");
	CHECK_INT(smtp_step_code(b0), 250);
	CHECK_INT(smtp_step_code(b1), 250);
	for (size_t i = 0; i < 2; i++) {
		CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, i)), 250);
		CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, i)), 1);
	}
	CHECK_RC(it_quit(s), 0);
	size_t len;
	char line[256];
	char *d = find_record(dir, mk, &len);
	CHECK(d != NULL);
	CHECK_STR(dump_line(d, len, "X-Client-Proto: ", line, sizeof line), "LMTP");
	CHECK(has(d, len, "X-Rcpt-Args: <one@example.org>\nX-Rcpt-Args: <two@example.org>\n"));
	CHECK(sink_has_content(d, len, body, (size_t)bl));
	free(d);
	smtp_message_free(m);
	smtp_session_free(s);
	dump_trace_on_failure(&t, label);
	free(t.buf);
}

static void test_lmtp_tcp(void)
{
	char url[128];
	snprintf(url, sizeof url, "lmtp://127.0.0.1:%d", it_port("SMTP_IT_LMTP_PORT"));
	lmtp_two(url, it_env("SMTP_IT_LMTP_DIR"), "lmtp-tcp");
}

static void test_lmtp_unix(void)
{
	char url[600];
	snprintf(url, sizeof url, "lmtp://%s", it_env("SMTP_IT_LMTP_SOCKET"));
	lmtp_two(url, it_env("SMTP_IT_LMTP_SOCKET_DIR"), "lmtp-unix");
}

/* smtp-sink -L -f .: every recipient refused after the dot, each by its own reply */
static void test_lmtp_refused(void)
{
	struct trace t = {0};
	char url[128];
	snprintf(url, sizeof url, "lmtp://127.0.0.1:%d", it_port("SMTP_IT_LMTP_REJECT_PORT"));
	smtp_session *s = lmtp_session(url, &t);
	smtp_message *m = msg_new("a@example.org", "one@example.org", "Subject: x\r\n\r\nx\r\n",
				  strlen("Subject: x\r\n\r\nx\r\n"));
	CHECK_RC(smtp_message_add_rcpt(m, "two@example.org"), 0);
	CHECK_RC(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_BOUNCED, SMTP_STAGE_BODY, SMTP_EREJECTED);
	for (size_t i = 0; i < 2; i++) {
		const smtp_step *b = it_step(r, SMTP_STAGE_BODY, i);
		CHECK(b != NULL);
		CHECK_INT(smtp_step_code(b), 552);
		CHECK_STR(smtp_step_enhanced(b), "5.2.2");
		CHECK_INT(smtp_rcpt_code(smtp_report_rcpt(r, i)), 552);
		CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, i)), 0);
	}
	CHECK_RC(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
	dump_trace_on_failure(&t, "lmtp_refused");
	free(t.buf);
}

/* ---- scripted (fake_server.py, tests/integration/it_fake.h) ---- */

static smtp_session *traced_fake_session(const struct fake *f, struct trace *t)
{
	smtp_session *s = fake_session_ms(f, SMTP_TLS_NONE, 10000);
	CHECK_RC(smtp_session_set_trace(s, trace_cb, t), 0);
	return s;
}

/* Counts log lines "N> prefix..." of connection conn (0: any). */
static size_t log_count(const char *log, size_t len, int conn, const char *prefix)
{
	size_t n = 0;
	const char *p = log, *end = log + len;
	size_t pl = strlen(prefix);
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *gt = memchr(p, '>', (size_t)((nl ? nl : end) - p));
		if (gt && gt > p && gt[1] == ' ' && (size_t)(end - gt - 2) >= pl &&
		    memcmp(gt + 2, prefix, pl) == 0 && (conn == 0 || atoi(p) == conn))
			n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* LIMITS RCPTMAX=50 MAILMAX=2: 150 recipients of one message go as three transactions
   of 50, the third over a second connection. */
static void test_limits(void)
{
	struct fake f;
	if (!fake_start(&f, "limits"))
		return;
	struct trace t = {0};
	smtp_session *s = traced_fake_session(&f, &t);
	static const char lbody[] = "Subject: limits\r\n\r\nhello\r\n";
	smtp_message *m = msg_new("from@example.org", NULL, lbody, sizeof lbody - 1);
	char addr[64];
	for (int i = 0; i < 150; i++) {
		snprintf(addr, sizeof addr, "r%03d@example.org", i);
		CHECK_RC(smtp_message_add_rcpt(m, addr), 0);
	}
	CHECK_RC(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_INT(smtp_report_rcpt_count(r), 150);
	size_t accepted = 0;
	for (size_t i = 0; i < smtp_report_rcpt_count(r); i++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(r, i);
		accepted += smtp_rcpt_accepted(rr) && smtp_rcpt_code(rr) == 250;
	}
	CHECK_INT(accepted, 150);
	CHECK_INT(trace_count(&t, "MAIL FROM"), 3);
	CHECK_INT(trace_count(&t, "RCPT TO"), 150);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);

	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK_INT(log_count(log, len, 0, "MAIL FROM"), 3);
	CHECK_INT(log_count(log, len, 1, "MAIL FROM"), 2);
	CHECK_INT(log_count(log, len, 2, "MAIL FROM"), 1);
	CHECK_INT(log_count(log, len, 3, "EHLO"), 0);
	CHECK_INT(log_count(log, len, 1, "RCPT TO"), 100);
	CHECK_INT(log_count(log, len, 2, "RCPT TO"), 50);
	CHECK(!has(log, len, "VIOLATION"));
	CHECK(!has(log, len, "#ERROR"));
	/* each MAIL is followed by exactly 50 RCPT, in order: r000..r049, r050.., r100.. */
	const char *p = log, *end = log ? log + len : NULL;
	int mails = 0;
	size_t rcpts_after = 0;
	int ordered = 1, next = 0;
	while (log && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		const char *gt = memchr(p, '>', ll);
		if (gt && gt[1] == ' ') {
			const char *cmd = gt + 2;
			if (strncmp(cmd, "MAIL FROM", 9) == 0) {
				if (mails)
					CHECK_INT(rcpts_after, 50);
				mails++;
				rcpts_after = 0;
			} else if (strncmp(cmd, "RCPT TO:<r", 10) == 0) {
				rcpts_after++;
				if (atoi(cmd + 10) != next++)
					ordered = 0;
			}
		}
		p = nl ? nl + 1 : end;
	}
	CHECK_INT(mails, 3);
	CHECK_INT(rcpts_after, 50);
	CHECK(ordered);
	if (check_failed_here && log)
		fprintf(stderr, "limits: server log (%zu bytes), head:\n%.*s\n", len,
			(int)(len < 3000 ? len : 3000), log);
	free(log);
	dump_trace_on_failure(&t, "limits");
	free(t.buf);
}

/* xorshift64*, fixed seed: the same bytes every run */
static void fill_random(unsigned char *b, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		b[i] = (unsigned char)((x * 0x2545f4914f6cdd1dull) >> 56);
	}
	/* make sure the awkward sequences are there */
	static const char awkward[] = "\r\n.\r\n\0\r\r\n..\n.\n";
	for (size_t i = 0; i + sizeof awkward < n; i += n / 7)
		memcpy(b + i, awkward, sizeof awkward);
}

static void test_bdat_binary(void)
{
	struct fake f;
	if (!fake_start(&f, "bdat_binary"))
		return;
	struct trace t = {0};
	smtp_session *s = traced_fake_session(&f, &t);
	size_t n = 25u << 20;
	unsigned char *data = malloc(n);
	if (!data)
		exit(2);
	fill_random(data, n);
	smtp_message *m = msg_new("from@example.org", "one@example.org", (const char *)data, n);
	CHECK_RC(smtp_message_set_body_type(m, SMTP_BODY_BINARYMIME), 0);
	CHECK_RC(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_STR(smtp_report_queue_id(r), "FAKE42");
	char line[256], want[128];
	snprintf(want, sizeof want, "MAIL FROM:<from@example.org> SIZE=%zu BODY=BINARYMIME", n);
	CHECK_STR(trace_line(&t, "MAIL ", 0, line, sizeof line), want);
	CHECK_INT(trace_count(&t, "DATA"), 0);
	CHECK(trace_count(&t, "BDAT ") >= 25);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0, dlen = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "1> MAIL FROM:<from@example.org> SIZE="));
	CHECK(has(log, len, " BODY=BINARYMIME\r\n"));
	CHECK(!has(log, len, "#ERROR"));
	char *got = it_read_file(f.datafile, &dlen);
	CHECK(got != NULL);
	if (got)
		CHECK_MEM(got, dlen, data, n);
	free(got);
	free(log);
	free(data);
	dump_trace_on_failure(&t, "bdat_binary");
	free(t.buf);
}

/* One chunk far larger than the socket buffers, pipelined behind MAIL and RCPT: the
   client reads those replies while the chunk is still going out, and must keep
   waiting for room to write as well (it once waited for the BDAT reply alone, which
   cannot come before the whole chunk, and timed out). */
static void test_bdat_one_large_chunk(void)
{
	struct fake f;
	if (!fake_start(&f, "bdat_binary"))
		return;
	struct trace t = {0};
	smtp_session *s = traced_fake_session(&f, &t);
	CHECK_RC(smtp_session_set_chunking(s, 1, 64u << 20), 0);
	size_t n = 16u << 20;
	unsigned char *data = malloc(n);
	if (!data)
		exit(2);
	fill_random(data, n);
	smtp_message *m = msg_new("from@example.org", "one@example.org", (const char *)data, n);
	CHECK_RC(smtp_message_set_body_type(m, SMTP_BODY_BINARYMIME), 0);
	CHECK_RC(it_send(s, m), 0);
	CHECK_REPORT(smtp_message_report(m), SMTP_SENT, SMTP_STAGE_NONE, 0);
	CHECK_INT(trace_count(&t, "BDAT "), 1);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t dlen = 0;
	char *got = it_read_file(f.datafile, &dlen);
	CHECK(got != NULL);
	if (got)
		CHECK_MEM(got, dlen, data, n);
	free(got);
	free(data);
	dump_trace_on_failure(&t, "bdat_one_large_chunk");
	free(t.buf);
}

/* A chunk refused with 554 in lock-step (no PIPELINING): no further BDAT, and RSET
   (RFC 3030 2) before the next MAIL, which goes through. */
static void test_bdat_refused(void)
{
	struct fake f;
	if (!fake_start(&f, "bdat_refuse"))
		return;
	struct trace t = {0};
	smtp_session *s = traced_fake_session(&f, &t);
	CHECK_RC(smtp_session_set_chunking(s, 1, 64 * 1024), 0);
	size_t n = 256 * 1024;
	char *body = text_body("it-ext-bdat-refused", n);
	smtp_message *m = msg_new("from@example.org", "one@example.org", body, n);
	CHECK_RC(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_BOUNCED, SMTP_STAGE_BODY, SMTP_EREJECTED);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_BOUNCED, SMTP_STAGE_BODY);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_BODY, 0)), 250); /* the first chunk */
	const smtp_step *b = it_step(r, SMTP_STAGE_BODY, 1);
	CHECK(b != NULL);
	CHECK_INT(smtp_step_code(b), 554);
	CHECK_STR(smtp_step_enhanced(b), "5.6.0");
	CHECK(it_step(r, SMTP_STAGE_BODY, 2) == NULL);
	CHECK_INT(smtp_rcpt_accepted(smtp_report_rcpt(r, 0)), 0);
	CHECK(smtp_report_queue_id(r) == NULL);
	CHECK_INT(trace_count(&t, "BDAT "), 2);
	smtp_message *m2 = msg_new("from@example.org", "one@example.org", "x\r\n", 3);
	CHECK_RC(it_send(s, m2), 0);
	CHECK_INT(smtp_step_code(it_step(smtp_message_report(m2), SMTP_STAGE_RSET, 0)), 250);
	CHECK_INT(trace_count(&t, "RSET"), 1);
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	smtp_message_free(m2);
	free(body);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	/* two chunks of the refused message, then the second message's one */
	CHECK_INT(log_count(log, len, 1, "BDAT "), 3);
	CHECK_INT(log_count(log, len, 1, "RSET"), 1);
	CHECK(has(log, len, "octets\n1> RSET\r\n1> MAIL FROM:<from@example.org>"));
	CHECK(!has(log, len, "VIOLATION"));
	CHECK(!has(log, len, "#ERROR"));
	if (check_failed_here && log)
		fprintf(stderr, "bdat_refused: server log:\n%.*s\n", (int)len, log);
	free(log);
	dump_trace_on_failure(&t, "bdat_refused");
	free(t.buf);
}

/* LMTP: each recipient's result comes from its own reply after the dot. */
static void test_lmtp_mixed(void)
{
	struct fake f;
	if (!fake_start(&f, "lmtp_mixed"))
		return;
	struct trace t = {0};
	char url[64];
	snprintf(url, sizeof url, "lmtp://127.0.0.1:%d", f.port);
	smtp_session *s = lmtp_session(url, &t);
	static const char *const rc3[] = {"one@example.org", "two@example.org",
					  "three@example.org"};
	smtp_message *m = msg_new("a@example.org", NULL, "Subject: x\r\n\r\nx\r\n",
				  strlen("Subject: x\r\n\r\nx\r\n"));
	for (size_t i = 0; i < 3; i++)
		CHECK_RC(smtp_message_add_rcpt(m, rc3[i]), 0);
	CHECK_RC(it_send(s, m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(m);
	CHECK_REPORT(r, SMTP_SENT_PARTIAL, SMTP_STAGE_BODY, SMTP_EREJECTED);
	CHECK_RCPT_VERDICT(r, 0, SMTP_VERDICT_ACCEPTED, SMTP_STAGE_BODY);
	CHECK_RCPT_VERDICT(r, 1, SMTP_VERDICT_DEFERRED, SMTP_STAGE_BODY);
	CHECK_RCPT_VERDICT(r, 2, SMTP_VERDICT_BOUNCED, SMTP_STAGE_BODY);
	static const int codes[] = {250, 452, 552};
	static const char *const enh[] = {"2.1.5", "4.2.2", "5.2.2"};
	for (size_t i = 0; i < 3; i++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(r, i);
		CHECK_STR(smtp_rcpt_address(rr), rc3[i]);
		CHECK_INT(smtp_rcpt_code(rr), codes[i]);
		CHECK_STR(smtp_rcpt_enhanced(rr), enh[i]);
		CHECK_INT(smtp_rcpt_accepted(rr), i == 0);
		const smtp_step *b = it_step(r, SMTP_STAGE_BODY, i);
		CHECK(b != NULL);
		CHECK_STR(smtp_step_arg(b), rc3[i]);
		CHECK_INT(smtp_step_code(b), codes[i]);
	}
	CHECK_RC(it_quit(s), 0);
	smtp_session_free(s);
	smtp_message_free(m);
	size_t len = 0;
	char *log = fake_log(&f, &len);
	CHECK(has(log, len, "LHLO "));
	CHECK(!has(log, len, "#ERROR"));
	free(log);
	dump_trace_on_failure(&t, "lmtp_mixed");
	free(t.buf);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_ext (%s)", it_mode());
	/* fail fast on a missing environment */
	it_env("SMTP_IT_PYTHON");
	it_env("SMTP_IT_FAKE");
	it_env("SMTP_IT_PF_SUB_PORT");
	it_env("SMTP_IT_LMTP_SOCKET");
	it_env("SMTP_IT_SINK_NO8BIT_PORT");
	it_ca();
	if (fake_begin("ext", 110))
		return 2;

	RUN(test_pf_8bit_dsn);
	RUN(test_pf_chunks_5mib);
	RUN(test_pf_chunking_off);
	RUN(test_pf_size_and_utf8);
	RUN(test_aio_utf8_enhanced_dsn);
	RUN(test_aiotls_idna_utf8_requiretls);
	RUN(test_sink_no8bit);
	RUN(test_lmtp_tcp);
	RUN(test_lmtp_unix);
	RUN(test_lmtp_refused);
	RUN(test_lmtp_mixed);
	RUN(test_limits);
	RUN(test_bdat_binary);
	RUN(test_bdat_one_large_chunk);
	RUN(test_bdat_refused);

	fake_end();
	return CHECK_DONE(name);
}

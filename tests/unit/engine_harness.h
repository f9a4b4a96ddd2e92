/* The scripted server for the engine's unit tests: server bytes are fed to the
   engine, the client bytes it produces are taken in one piece and compared exactly,
   and a fake clock advances one millisecond per feed and per write, so elapsed
   times are deterministic. No sockets, no TLS library calls. */
#ifndef ENGINE_HARNESS_H
#define ENGINE_HARNESS_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/engine.h"

#define MAIL_A "MAIL FROM:<a@x.test>\r\n"
#define RCPT(x) "RCPT TO:<" x ">\r\n"
#define EHLO_LINE "EHLO client.test\r\n"
#define GREETING "220 mx.test ESMTP\r\n"
#define EHLO_PIPE "250-mx.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_PLAIN "250-mx.test\r\n250 8BITMIME\r\n"
#define EHLO_CHUNK "250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n"

struct harness {
	struct smtpi_engine_config cfg;
	struct smtp_report rep;
	struct smtpi_engine e;
	int64_t now_us;
	char trace[16384];
	size_t trace_len;
	char sent[65536]; /* every client byte taken so far */
	size_t sent_len;
};

static const struct smtpi_tls_info tls_info = {"TLSv1.3", "TLS_AES_128_GCM_SHA256", 0,
					       "CN=mx.test", "CN=Test CA"};

static inline void trace_cb(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	struct harness *h = ud;
	static const char tag[] = "><*";
	if (h->trace_len + len + 4 >= sizeof h->trace)
		return;
	h->trace[h->trace_len++] = tag[dir];
	h->trace[h->trace_len++] = ' ';
	memcpy(h->trace + h->trace_len, line, len);
	h->trace_len += len;
	h->trace[h->trace_len++] = '\n';
	h->trace[h->trace_len] = '\0';
}

static inline void h_setup(struct harness *h)
{
	memset(h, 0, sizeof *h);
	h->cfg.helo_name = "client.test";
	h->cfg.tls_mode = SMTP_TLS_NONE;
	h->cfg.trace = trace_cb;
	h->cfg.trace_ud = h;
	h->now_us = 1000000;
	smtpi_report_init(&h->rep);
}

/* init, connecting, connected (tls: the stream is TLS from the start) */
static inline void h_start(struct harness *h, int tls)
{
	smtpi_engine_init(&h->e, &h->cfg, &h->rep);
	CHECK_INT(smtpi_engine_connecting(&h->e), 0);
	smtpi_engine_connected(&h->e, "127.0.0.1:25", tls ? &tls_info : NULL, h->now_us);
}

static inline void h_end(struct harness *h)
{
	smtpi_engine_free(&h->e);
	smtpi_report_free(&h->rep);
}

static inline int feed_n(struct harness *h, const char *s, size_t n)
{
	h->now_us += 1000;
	return smtpi_engine_recv(&h->e, s, n, h->now_us);
}

static inline int feed(struct harness *h, const char *s)
{
	return feed_n(h, s, strlen(s));
}

#define FEED(h, s) CHECK_INT(feed((h), (s)), 0)

static inline void print_esc(const char *p, size_t n)
{
	fputc('"', stderr);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, c == '\r' ? "\\r" : c == '\n' ? "\\n" : "\\x%02x", c);
	}
	fputs("\"\n", stderr);
}

/* Takes all pending output in ONE smtpi_engine_output call (not yet marked sent). */
static inline size_t take(struct harness *h, const char **p, int *rc)
{
	size_t n = 0;
	*p = NULL;
	*rc = smtpi_engine_output(&h->e, p, &n);
	if (n > 0 && h->sent_len + n < sizeof h->sent) {
		memcpy(h->sent + h->sent_len, *p, n);
		h->sent_len += n;
		h->sent[h->sent_len] = '\0';
	}
	return n;
}

static inline void sent(struct harness *h, size_t n)
{
	h->now_us += 1000;
	smtpi_engine_sent(&h->e, n, h->now_us);
}

static inline void expect_out_at(struct harness *h, const char *want, int line)
{
	const char *p;
	int rc;
	size_t n = take(h, &p, &rc);
	size_t wn = strlen(want);
	if (rc != 0 || n != wn || (n > 0 && memcmp(p, want, n) != 0)) {
		fprintf(stderr, "%s:%d: client output (rc %d) differs\n  got:  ", __FILE__, line,
			rc);
		print_esc(n ? p : "", n);
		fputs("  want: ", stderr);
		print_esc(want, wn);
		check_failed_here = 1;
	}
	if (n > 0)
		sent(h, n);
}

#define EXPECT_OUT(h, s) expect_out_at((h), (s), __LINE__)

static inline smtp_message *msg(const char *from, const char *data, ...)
{
	smtp_message *m = smtp_message_new();
	va_list ap;
	const char *rcpt;
	CHECK(m != NULL);
	if (!m)
		return NULL;
	CHECK_INT(smtp_message_set_from(m, from), 0);
	va_start(ap, data);
	while ((rcpt = va_arg(ap, const char *)) != NULL)
		CHECK_INT(smtp_message_add_rcpt(m, rcpt), 0);
	va_end(ap);
	CHECK_INT(smtp_message_set_data(m, data, strlen(data)), 0);
	return m;
}

/* The nth step (0-based) of a stage, connection steps included; NULL when absent. */
static inline const smtp_step *step_of(const smtp_report *r, smtp_stage st, size_t nth)
{
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		const smtp_step *s = smtp_report_step(r, i);
		if (smtp_step_stage(s) == st && nth-- == 0)
			return s;
	}
	return NULL;
}

static inline size_t count_stage(const smtp_report *r, smtp_stage st)
{
	size_t n = 0;
	while (step_of(r, st, n))
		n++;
	return n;
}

#define CHECK_OUTCOME(r, oc, stage)                                                   \
	do {                                                                          \
		CHECK_INT(smtp_report_outcome(r), (oc));                              \
		CHECK_INT(smtp_report_failed_stage(r), (stage));                      \
	} while (0)

/* recipient i: verdict, the stage that decided it, its code and enhanced code */
#define CHECK_RCPT(r, i, verdict, stage, code, enh)                                  \
	do {                                                                          \
		const smtp_rcpt_result *rr_ = smtp_report_rcpt((r), (i));             \
		const char *renh_ = (enh);                                            \
		CHECK(rr_ != NULL);                                                   \
		CHECK_INT(smtp_rcpt_verdict(rr_), (verdict));                         \
		CHECK_INT(smtp_rcpt_stage(rr_), (stage));                             \
		CHECK_INT(smtp_rcpt_code(rr_), (code));                               \
		CHECK_INT(smtp_rcpt_accepted(rr_), (verdict) == SMTP_VERDICT_ACCEPTED); \
		if (renh_)                                                            \
			CHECK_STR(smtp_rcpt_enhanced(rr_), renh_);                    \
		else                                                                  \
			CHECK(smtp_rcpt_enhanced(rr_) == NULL);                       \
	} while (0)

#define CHECK_STEP(s, code, enh)                                                      \
	do {                                                                          \
		const smtp_step *st_ = (s);                                           \
		const char *senh_ = (enh);                                            \
		CHECK(st_ != NULL);                                                   \
		CHECK_INT(smtp_step_code(st_), (code));                               \
		if (senh_)                                                            \
			CHECK_STR(smtp_step_enhanced(st_), senh_);                    \
		else                                                                  \
			CHECK(smtp_step_enhanced(st_) == NULL);                       \
	} while (0)

/* Greeting and EHLO with the given reply: the engine is READY. */
static inline void h_ready(struct harness *h, const char *ehlo_reply)
{
	h_start(h, 0);
	EXPECT_OUT(h, "");
	CHECK(smtpi_engine_status(&h->e) & SMTPI_E_READ);
	FEED(h, GREETING);
	EXPECT_OUT(h, EHLO_LINE);
	FEED(h, ehlo_reply);
	EXPECT_OUT(h, "");
	CHECK_INT(h->e.phase, SMTPI_PH_READY);
}

#endif

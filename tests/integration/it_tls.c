/* TLS against real servers: STARTTLS (RFC 3207) and implicit TLS (RFC 8314) with
   Postfix, aiosmtpd and Nodemailer; verification failures named; STARTTLS required
   means no MAIL without it; resumption. */
#include "it_common.h"

static void set_login(smtp_session *s)
{
	CHECK_INT(smtp_session_set_auth(s, it_env("SMTP_IT_USER"), it_env("SMTP_IT_PASSWORD"), NULL), 0);
}

/* Sends one message with a unique marker and finds it in dir, byte for byte
   (compare_lf: the sink stores LF line ends). */
static void send_and_find(smtp_session *s, const char *dir, const char *marker, int lf)
{
	char body[256];
	snprintf(body, sizeof body, "Subject: tls\r\nX-Marker: %s-%s\r\n\r\nover TLS\r\n", marker,
		 it_mode());
	const char *rcpts[] = {"tls@example.test", NULL};
	smtp_message *m = it_message(it_env("SMTP_IT_USER"), rcpts, body);
	CHECK_INT(it_send(s, m), 0);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_SENT);
	const char *v = smtp_report_tls_version(r);
	CHECK(v && (strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0));
	CHECK(smtp_report_tls_cipher(r) && smtp_report_tls_cipher(r)[0]);
	CHECK(smtp_report_tls_peer_subject(r) && strstr(smtp_report_tls_peer_subject(r), "localhost"));
	char mark[96];
	snprintf(mark, sizeof mark, "X-Marker: %s-%s", marker, it_mode());
	size_t len;
	char *got = it_find_record(dir, mark, &len);
	CHECK(got != NULL);
	if (got) {
		const char *want = lf ? "\n\nover TLS\n" : "\r\n\r\nover TLS\r\n";
		char *at = strstr(got, mark);
		CHECK(at && strncmp(at + strlen(mark), want, strlen(want)) == 0);
	}
	free(got);
	smtp_message_free(m);
}

static void test_aiosmtpd_starttls(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_AIOTLS_PORT"), SMTP_TLS_STARTTLS);
	send_and_find(s, it_env("SMTP_IT_AIOTLS_DIR"), "aio-starttls", 0);
	const smtp_report *r = smtp_session_report(s);
	CHECK(it_step(r, SMTP_STAGE_STARTTLS, 0) != NULL);
	CHECK_INT(smtp_step_code(it_step(r, SMTP_STAGE_STARTTLS, 0)), 220);
	/* RFC 3207 4.2: EHLO again after the handshake, with the new capabilities */
	CHECK(it_step(r, SMTP_STAGE_EHLO, 1) != NULL);
	CHECK(strstr(smtp_step_text(it_step(r, SMTP_STAGE_EHLO, 1)), "STARTTLS") == NULL);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
}

static void test_postfix_starttls_and_implicit(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	set_login(s);
	send_and_find(s, it_env("SMTP_IT_PF_SINK_DIR"), "pf-starttls", 1);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);

	s = it_session("127.0.0.1", it_port("SMTP_IT_PF_SMTPS_PORT"), SMTP_TLS_IMPLICIT);
	set_login(s);
	send_and_find(s, it_env("SMTP_IT_PF_SINK_DIR"), "pf-implicit", 1);
	CHECK(it_step(smtp_session_report(s), SMTP_STAGE_STARTTLS, 0) == NULL);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
}

static void test_node_starttls_and_secure(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_NODE_PORT"), SMTP_TLS_STARTTLS);
	set_login(s);
	send_and_find(s, it_env("SMTP_IT_NODE_DIR"), "node-starttls", 0);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);

	s = it_session("localhost", it_port("SMTP_IT_NODE_SECURE_PORT"), SMTP_TLS_IMPLICIT);
	set_login(s);
	send_and_find(s, it_env("SMTP_IT_NODE_SECURE_DIR"), "node-secure", 0);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
}

static void expect_cert_error(const char *port_var, const char *reason)
{
	smtp_session *s = it_session("localhost", it_port(port_var), SMTP_TLS_STARTTLS);
	CHECK_INT(it_connect(s), SMTP_ECERT);
	const smtp_report *r = smtp_session_report(s);
	CHECK_INT(smtp_report_error(r), SMTP_ECERT);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_TLS);
	CHECK(smtp_report_error_detail(r) && strstr(smtp_report_error_detail(r), reason));
	if (!smtp_report_error_detail(r) || !strstr(smtp_report_error_detail(r), reason))
		fprintf(stderr, "  %s: detail \"%s\"\n", port_var, smtp_report_error_detail(r));
	CHECK(it_step(r, SMTP_STAGE_MAIL, 0) == NULL);
	smtp_session_free(s);
}

static void test_certificate_failures(void)
{
	expect_cert_error("SMTP_IT_BAD_WRONGHOST_PORT", "hostname mismatch");
	expect_cert_error("SMTP_IT_BAD_EXPIRED_PORT", "certificate has expired");
	expect_cert_error("SMTP_IT_BAD_UNKNOWNCA_PORT", "unable to get local issuer certificate");
}

/* Verification can be switched off, loudly, and then the unknown CA passes. */
static void test_insecure_option(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_BAD_UNKNOWNCA_PORT"),
				     SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_tls_insecure_skip_verify(s, 1), 0);
	CHECK_INT(it_connect(s), 0);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
}

/* STARTTLS required against a server without it: SMTP_ENOTLS, and no MAIL. */
static void test_starttls_required(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_STARTTLS);
	const char *rcpts[] = {"x@example.test", NULL};
	smtp_message *m = it_message("a@example.test", rcpts, "Subject: no\r\n\r\nno\r\n");
	CHECK_INT(it_send(s, m), SMTP_ENOTLS);
	const smtp_report *r = smtp_message_report(m);
	CHECK_INT(smtp_report_outcome(r), SMTP_FAILED);
	CHECK_INT(smtp_report_error(r), SMTP_ENOTLS);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_EHLO);
	CHECK(it_step(r, SMTP_STAGE_EHLO, 0) != NULL);
	CHECK(it_step(r, SMTP_STAGE_MAIL, 0) == NULL);
	smtp_message_free(m);
	smtp_session_free(s);

	/* opportunistic goes on in plain text and says so */
	s = it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_OPPORTUNISTIC);
	m = it_message("a@example.test", rcpts, "Subject: opp\r\n\r\nplain\r\n");
	CHECK_INT(it_send(s, m), 0);
	CHECK(smtp_report_tls_version(smtp_message_report(m)) == NULL);
	CHECK_INT(it_quit(s), 0);
	smtp_message_free(m);
	smtp_session_free(s);
}

/* A session object that reconnects resumes its TLS session; a shared cache carries
   it to another session object. */
static void test_resumption(void)
{
	smtp_session *s = it_session("localhost", it_port("SMTP_IT_PF_SMTPS_PORT"), SMTP_TLS_IMPLICIT);
	CHECK_INT(it_connect(s), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(s)), 0);
	CHECK_INT(it_quit(s), 0);
	CHECK_INT(it_connect(s), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(s)), 1);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);

	smtp_tls_cache *cache = smtp_tls_cache_new();
	smtp_session *a = it_session("localhost", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	smtp_session *b = it_session("localhost", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_tls_cache(a, cache), 0);
	CHECK_INT(smtp_session_set_tls_cache(b, cache), 0);
	CHECK_INT(it_connect(a), 0);
	CHECK_INT(it_quit(a), 0);
	CHECK_INT(it_connect(b), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(b)), 1);
	CHECK_INT(it_quit(b), 0);
	smtp_session_free(a);
	smtp_session_free(b);
	smtp_tls_cache_free(cache);
}

/* A shared cache never carries a TLS session across a change of client identity or
   of trust: a session without a client certificate does not resume one made with a
   certificate (the server would see the other's certificate), and a session on the
   system store does not resume one verified against a private CA (it would skip its
   own verification). */
static void test_cache_keys(void)
{
	char cert[512], key[512];
	snprintf(cert, sizeof cert, "%s/client.pem", it_env("SMTP_IT_CERTS"));
	snprintf(key, sizeof key, "%s/client.key", it_env("SMTP_IT_CERTS"));
	int port = it_port("SMTP_IT_PF_SMTPS_PORT");
	smtp_tls_cache *cache = smtp_tls_cache_new();

	smtp_session *a = it_session("localhost", port, SMTP_TLS_IMPLICIT);
	CHECK_INT(smtp_session_set_client_cert(a, cert, key), 0);
	CHECK_INT(smtp_session_set_tls_cache(a, cache), 0);
	CHECK_INT(it_connect(a), 0);
	CHECK_INT(it_quit(a), 0);

	smtp_session *b = it_session("localhost", port, SMTP_TLS_IMPLICIT);
	CHECK_INT(smtp_session_set_tls_cache(b, cache), 0);
	CHECK_INT(it_connect(b), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(b)), 0);
	CHECK_INT(it_quit(b), 0);

	/* the system store does not know the test CA: a full handshake, which fails */
	smtp_session *c = smtp_session_new();
	CHECK_INT(smtp_session_set_server(c, "localhost", port, SMTP_TLS_IMPLICIT), 0);
	CHECK_INT(smtp_session_set_nonblocking(c, it_nonblocking()), 0);
	CHECK_INT(smtp_session_set_tls_cache(c, cache), 0);
	CHECK_INT(it_connect(c), SMTP_ECERT);

	/* the same identity and trust resume */
	smtp_session *a2 = it_session("localhost", port, SMTP_TLS_IMPLICIT);
	CHECK_INT(smtp_session_set_client_cert(a2, cert, key), 0);
	CHECK_INT(smtp_session_set_tls_cache(a2, cache), 0);
	CHECK_INT(it_connect(a2), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(a2)), 1);
	CHECK_INT(it_quit(a2), 0);

	/* a session's own saved TLS session is not resumed after its identity changed */
	CHECK_INT(smtp_session_set_client_cert(a2, NULL, NULL), 0);
	CHECK_INT(smtp_session_set_tls_cache(a2, NULL), 0);
	CHECK_INT(it_connect(a2), 0);
	CHECK_INT(smtp_report_tls_resumed(smtp_session_report(a2)), 0);
	CHECK_INT(it_quit(a2), 0);

	smtp_session_free(a);
	smtp_session_free(b);
	smtp_session_free(c);
	smtp_session_free(a2);
	smtp_tls_cache_free(cache);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_tls (%s)", it_mode());
	RUN(test_aiosmtpd_starttls);
	RUN(test_postfix_starttls_and_implicit);
	RUN(test_node_starttls_and_secure);
	RUN(test_certificate_failures);
	RUN(test_insecure_option);
	RUN(test_starttls_required);
	RUN(test_resumption);
	RUN(test_cache_keys);
	return CHECK_DONE(name);
}

/* SMTP AUTH against real servers: every mechanism each server offers, with the right
   and a wrong secret; the default choice; XOAUTH2 with a bearer token; credentials
   never before TLS unless allowed in words; traces that never carry a secret.

   Servers (started by run.sh):
     Postfix submission (STARTTLS) and smtps, Dovecot SASL:
                         PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 after TLS
     Postfix plain port: the same mechanisms offered in clear text
     aiosmtpd (STARTTLS): PLAIN LOGIN, over TLS only
     aiosmtpd SASL (STARTTLS, asks for a client certificate): OAUTHBEARER with
                         SMTP_IT_TOKEN, EXTERNAL with the client certificate (CN
                         client.test), over TLS only
     Nodemailer (STARTTLS): PLAIN LOGIN CRAM-MD5 XOAUTH2; Nodemailer (implicit TLS):
                         PLAIN LOGIN
   Dovecot delays every wrong password by about 2 s: one wrong-password case for it. */
#include "it_common.h"

#include <time.h>
#include <unistd.h>

/* ---- trace capture ---- */

/* The whole dialogue, one line per trace call: "\n> " sent, "\n< " received, "\n* " note,
   so that "\n> AUTH " finds the AUTH command at the start of a line. */
struct trace {
	char *buf;
	size_t len, cap;
};

static void trace_add(struct trace *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (t->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			exit(2);
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void trace_cb(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	struct trace *t = ud;
	const char *tag = dir == SMTP_TRACE_SEND ? "\n> " : dir == SMTP_TRACE_RECV ? "\n< " : "\n* ";
	trace_add(t, tag, 3);
	trace_add(t, line, len);
}

static int trace_has(const struct trace *t, const char *needle, size_t n)
{
	return t->buf && n > 0 && memmem(t->buf, t->len, needle, n) != NULL;
}

/* The AUTH command line the client sent (up to its end), or "" when none was sent. */
static void trace_auth_line(const struct trace *t, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!t->buf)
		return;
	const char *p = memmem(t->buf, t->len, "\n> AUTH", 7);
	if (!p)
		return;
	p += 3;
	const char *end = memchr(p, '\n', t->len - (size_t)(p - t->buf));
	size_t n = end ? (size_t)(end - p) : strlen(p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	if ((n + 2) / 3 * 4 + 1 > outlen)
		exit(2);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* True when the trace holds the base64 of `raw` as part of any longer base64 text:
   raw may start at any offset modulo 3 of the encoded message, so each of the three
   alignments is tried (dropping up to 2 leading octets, the partial last group). */
static int trace_has_b64_of(const struct trace *t, const char *raw, size_t n)
{
	char enc[1024];
	for (size_t skip = 0; skip < 3 && skip < n; skip++) {
		size_t m = (n - skip) / 3 * 3;
		if (m < 12)
			continue;
		b64((const unsigned char *)raw + skip, m, enc, sizeof enc);
		/* the last group may carry padding in a full message: leave it out */
		if (trace_has(t, enc, strlen(enc) - 4))
			return 1;
	}
	return 0;
}

/* Checks that the trace carries none of the forms a secret travels in: the secret
   itself, its base64 (LOGIN), PLAIN's base64("\0user\0secret"), XOAUTH2's
   base64("user=U\1auth=Bearer T\1\1"). */
static void check_no_secret(const struct trace *t, const char *user, const char *secret)
{
	char enc[1024];
	unsigned char raw[700];
	size_t ul = strlen(user), sl = strlen(secret), n;

	CHECK(!trace_has(t, secret, sl));
	b64((const unsigned char *)secret, sl, enc, sizeof enc);
	CHECK(!trace_has(t, enc, strlen(enc)));
	/* PLAIN: authzid empty, then the same with authzid = user */
	if (2 * ul + sl + 2 > sizeof raw)
		exit(2);
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, secret, sl);
	b64(raw, 2 + ul + sl, enc, sizeof enc);
	CHECK(!trace_has(t, enc, strlen(enc)));
	memcpy(raw, user, ul);
	raw[ul] = '\0';
	memcpy(raw + ul + 1, user, ul);
	raw[2 * ul + 1] = '\0';
	memcpy(raw + 2 * ul + 2, secret, sl);
	b64(raw, 2 * ul + 2 + sl, enc, sizeof enc);
	CHECK(!trace_has(t, enc, strlen(enc)));
	/* XOAUTH2 */
	n = (size_t)snprintf((char *)raw, sizeof raw, "user=%s\001auth=Bearer %s\001\001", user,
			     secret);
	if (n < sizeof raw) {
		b64(raw, n, enc, sizeof enc);
		CHECK(!trace_has(t, enc, strlen(enc)));
	}
	/* OAUTHBEARER (and XOAUTH2 again): "auth=Bearer T" anywhere in a base64 message,
	   whatever comes before it (gs2 header, host=, port=) */
	n = (size_t)snprintf((char *)raw, sizeof raw, "auth=Bearer %s\001\001", secret);
	if (n < sizeof raw)
		CHECK(!trace_has_b64_of(t, (const char *)raw, n));
}

/* ---- servers ---- */

enum server {
	PF_SUB,      /* Postfix submission, STARTTLS */
	PF_SMTPS,    /* Postfix implicit TLS */
	PF_PLAIN,    /* Postfix without TLS, AUTH in clear */
	AIO,         /* aiosmtpd STARTTLS */
	NODE,        /* Nodemailer STARTTLS */
	NODE_SECURE, /* Nodemailer implicit TLS */
	AIOSASL      /* aiosmtpd STARTTLS with OAUTHBEARER and EXTERNAL */
};

static smtp_session *server_session(enum server srv, smtp_tls plain_mode)
{
	switch (srv) {
	case PF_SUB:
		return it_session("127.0.0.1", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	case PF_SMTPS:
		return it_session("127.0.0.1", it_port("SMTP_IT_PF_SMTPS_PORT"), SMTP_TLS_IMPLICIT);
	case PF_PLAIN:
		return it_session("127.0.0.1", it_port("SMTP_IT_PF_PLAIN_PORT"), plain_mode);
	case AIO:
		return it_session("127.0.0.1", it_port("SMTP_IT_AIOTLS_PORT"), SMTP_TLS_STARTTLS);
	case NODE:
		return it_session("127.0.0.1", it_port("SMTP_IT_NODE_PORT"), SMTP_TLS_STARTTLS);
	case NODE_SECURE:
		return it_session("127.0.0.1", it_port("SMTP_IT_NODE_SECURE_PORT"),
				  SMTP_TLS_IMPLICIT);
	case AIOSASL:
		return it_session("127.0.0.1", it_port("SMTP_IT_AIOSASL_PORT"), SMTP_TLS_STARTTLS);
	}
	exit(2);
}

static const char *server_dir(enum server srv)
{
	switch (srv) {
	case PF_SUB:
	case PF_SMTPS:
	case PF_PLAIN:
		return it_env("SMTP_IT_PF_SINK_DIR");
	case AIO:
		return it_env("SMTP_IT_AIOTLS_DIR");
	case NODE:
		return it_env("SMTP_IT_NODE_DIR");
	case NODE_SECURE:
		return it_env("SMTP_IT_NODE_SECURE_DIR");
	case AIOSASL:
		return it_env("SMTP_IT_AIOSASL_DIR");
	}
	exit(2);
}

/* Finds a record, waiting up to 5 s for the server to write it. */
static char *find_record(const char *dir, const char *marker, size_t *len)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	for (int i = 0; i < 100; i++) {
		char *c = it_find_record(dir, marker, len);
		if (c)
			return c;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The last AUTH step of the session's report (the final reply of the exchange). */
static const smtp_step *last_auth_step(const smtp_report *r)
{
	const smtp_step *st = NULL, *next;
	for (size_t i = 0; (next = it_step(r, SMTP_STAGE_AUTH, i)) != NULL; i++)
		st = next;
	return st;
}

static unsigned case_counter;

struct auth_case {
	const char *label;      /* unique name of the case */
	enum server srv;
	smtp_tls plain_mode;    /* PF_PLAIN only */
	const char *mechanisms; /* the 4th argument of smtp_session_set_auth */
	const char *expect;     /* the mechanism the AUTH line must name */
	int token;              /* XOAUTH2, OAUTHBEARER: the secret is SMTP_IT_TOKEN */
	int insecure;           /* smtp_session_set_auth_insecure */
	int cert;               /* EXTERNAL: present certs/client.pem, user "", no secret */
};

/* The identity the server records for the client certificate (its CN). */
#define CLIENT_CERT_CN "client.test"

static void set_client_cert(smtp_session *s)
{
	char cert[512], key[512];
	snprintf(cert, sizeof cert, "%s/client.pem", it_env("SMTP_IT_CERTS"));
	snprintf(key, sizeof key, "%s/client.key", it_env("SMTP_IT_CERTS"));
	CHECK_INT(smtp_session_set_client_cert(s, cert, key), 0);
}

static smtp_session *case_session(const struct auth_case *c, const char *secret,
				  struct trace *t)
{
	smtp_session *s = server_session(c->srv, c->plain_mode);
	CHECK_INT(smtp_session_set_trace(s, trace_cb, t), 0);
	if (c->token)
		CHECK_INT(smtp_session_set_auth_token(s, 1), 0);
	if (c->insecure)
		CHECK_INT(smtp_session_set_auth_insecure(s, 1), 0);
	if (c->cert) {
		/* RFC 4422 A: EXTERNAL carries no credential, only an (empty) authzid */
		set_client_cert(s);
		CHECK_INT(smtp_session_set_auth(s, "", NULL, c->mechanisms), 0);
	} else {
		CHECK_INT(smtp_session_set_auth(s, it_env("SMTP_IT_USER"), secret,
						c->mechanisms),
			  0);
	}
	return s;
}

static void check_auth_line(const struct auth_case *c, const struct trace *t)
{
	char line[256], want[128];
	trace_auth_line(t, line, sizeof line);
	snprintf(want, sizeof want, "AUTH %s", c->expect);
	size_t wl = strlen(want);
	if (strncmp(line, want, wl) != 0 || (line[wl] != '\0' && line[wl] != ' ')) {
		fprintf(stderr, "%s (%s): AUTH line \"%s\", expected \"%s ...\"\n", c->label,
			it_mode(), line, want);
		check_failed_here = 1;
	}
	/* an initial response, if any, is redacted */
	if (line[wl] == ' ')
		CHECK_STR(line + wl + 1, "<redacted>");
}

/* Good secret: connect gives 0 with AUTH 235, a message goes and arrives, and the
   trace of the whole session holds no secret. */
static void good_case(const struct auth_case *c)
{
	const char *user = it_env("SMTP_IT_USER");
	const char *secret = c->cert ? NULL
				     : it_env(c->token ? "SMTP_IT_TOKEN" : "SMTP_IT_PASSWORD");
	struct trace t = {0};
	smtp_session *s = case_session(c, secret, &t);

	int rc = it_connect(s);
	CHECK_INT(rc, 0);
	if (rc != 0)
		fprintf(stderr, "%s (%s): connect: %s\n", c->label, it_mode(),
			smtp_error_name(rc));
	const smtp_step *st = last_auth_step(smtp_session_report(s));
	CHECK(st != NULL);
	if (st)
		CHECK_INT(smtp_step_code(st), 235);
	check_auth_line(c, &t);

	char marker[160], rcpt[160], body[512];
	snprintf(marker, sizeof marker, "it-auth-marker-%s-%s-%ld-%u", c->label, it_mode(),
		 (long)getpid(), ++case_counter);
	/* the recipient is unique too: the .json records of aiosmtpd/Nodemailer name it
	   (in quotes), the content names only the fixed To: address */
	snprintf(rcpt, sizeof rcpt, "r-%s-%s-%ld-%u@example.net", c->label, it_mode(),
		 (long)getpid(), case_counter);
	snprintf(body, sizeof body,
		 "From: <%s>\r\nTo: <to@example.net>\r\nSubject: auth %s\r\n\r\n%s\r\n", user,
		 c->label, marker);
	const char *rcpts[] = {rcpt, NULL};
	smtp_message *m = it_message(user, rcpts, body);
	if (rc == 0) {
		CHECK_INT(it_send(s, m), 0);
		CHECK_INT(smtp_report_outcome(smtp_message_report(m)), SMTP_SENT);
		CHECK_INT(it_quit(s), 0);

		size_t len;
		char *got = find_record(server_dir(c->srv), marker, &len);
		CHECK(got != NULL);
		if (got && (c->srv == PF_SUB || c->srv == PF_SMTPS)) {
			/* Postfix's Received: "with ESMTPSA": TLS and authenticated */
			CHECK(memmem(got, len, "with ESMTPSA", 12) != NULL);
		} else if (got && c->srv == PF_PLAIN) {
			CHECK(memmem(got, len, "with ESMTPA", 11) != NULL);
		}
		free(got);
		if (c->srv == AIO || c->srv == AIOSASL || c->srv == NODE ||
		    c->srv == NODE_SECURE) {
			char q[200], want[200];
			snprintf(q, sizeof q, "\"%s\"", rcpt);
			char *json = find_record(server_dir(c->srv), q, &len);
			CHECK(json != NULL);
			if (json) {
				snprintf(want, sizeof want, "\"auth_method\": \"%s\"", c->expect);
				CHECK(memmem(json, len, want, strlen(want)) != NULL);
				snprintf(want, sizeof want, "\"auth_user\": \"%s\"",
					 c->cert ? CLIENT_CERT_CN : user);
				CHECK(memmem(json, len, want, strlen(want)) != NULL);
				CHECK(memmem(json, len, "\"tls\": true", 11) != NULL);
			}
			free(json);
		}
	}
	if (secret)
		check_no_secret(&t, user, secret);
	if (check_failed_here && t.buf)
		fprintf(stderr, "--- trace of %s (%s):%s\n---\n", c->label, it_mode(), t.buf);
	smtp_message_free(m);
	smtp_session_free(s);
	free(t.buf);
}

/* Wrong secret: SMTP_EAUTH, the server's 535 5.7.8 in the report, no secret traced. */
static void bad_case(const struct auth_case *c)
{
	const char *user = it_env("SMTP_IT_USER");
	const char *good = it_env(c->token ? "SMTP_IT_TOKEN" : "SMTP_IT_PASSWORD");
	char wrong[256];
	snprintf(wrong, sizeof wrong, "%s-wrong", good);
	struct trace t = {0};
	smtp_session *s = case_session(c, wrong, &t);

	CHECK_INT(it_connect(s), SMTP_EAUTH);
	const smtp_report *r = smtp_session_report(s);
	const smtp_step *st = last_auth_step(r);
	CHECK(st != NULL);
	if (st) {
		CHECK_INT(smtp_step_code(st), 535);
		CHECK_STR(smtp_step_enhanced(st), "5.7.8");
	}
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_AUTH);
	CHECK_INT(smtp_report_error(r), SMTP_EAUTH);
	if (strcmp(c->expect, "OAUTHBEARER") == 0) {
		/* RFC 7628 3.2.2: the server's error challenge (JSON) is the detail; the
		   client answered it with %x01 before the server's 535 */
		const char *d = smtp_report_error_detail(r);
		CHECK(d != NULL && strstr(d, "invalid_token") != NULL);
		if (!d || !strstr(d, "invalid_token"))
			fprintf(stderr, "%s (%s): error detail \"%s\"\n", c->label, it_mode(),
				d ? d : "(null)");
		CHECK(trace_has(&t, "\n< 334 ", 7));
		CHECK(!trace_has(&t, "\n> *", 4));
	}
	check_auth_line(c, &t);
	check_no_secret(&t, user, wrong);
	check_no_secret(&t, user, good);
	if (check_failed_here && t.buf)
		fprintf(stderr, "--- trace of %s (%s):%s\n---\n", c->label, it_mode(), t.buf);
	smtp_session_free(s);
	free(t.buf);
}

/* ---- the cases ---- */

#define GOOD(name, ...)                                                                \
	static void name(void)                                                         \
	{                                                                              \
		static const struct auth_case c = {#name, __VA_ARGS__};                \
		good_case(&c);                                                         \
	}
#define BAD(name, ...)                                                                 \
	static void name(void)                                                         \
	{                                                                              \
		static const struct auth_case c = {#name, __VA_ARGS__};                \
		bad_case(&c);                                                          \
	}

/* label, server, plain-port mode, mechanisms, expected AUTH line, token, insecure,
   client certificate */
GOOD(pf_plain_mech, PF_SUB, 0, "PLAIN", "PLAIN", 0, 0, 0)
GOOD(pf_login, PF_SUB, 0, "LOGIN", "LOGIN", 0, 0, 0)
GOOD(pf_cram_md5, PF_SUB, 0, "CRAM-MD5", "CRAM-MD5", 0, 0, 0)
GOOD(pf_scram_sha1, PF_SUB, 0, "SCRAM-SHA-1", "SCRAM-SHA-1", 0, 0, 0)
GOOD(pf_scram_sha256, PF_SUB, 0, "SCRAM-SHA-256", "SCRAM-SHA-256", 0, 0, 0)
/* the default choice: the strongest both sides have */
GOOD(pf_default, PF_SUB, 0, NULL, "SCRAM-SHA-256", 0, 0, 0)
/* an ordered list: the first one offered wins */
GOOD(pf_list, PF_SUB, 0, "XOAUTH2 SCRAM-SHA-1 PLAIN", "SCRAM-SHA-1", 0, 0, 0)
GOOD(pfs_default, PF_SMTPS, 0, NULL, "SCRAM-SHA-256", 0, 0, 0)
BAD(pf_wrong_default, PF_SUB, 0, NULL, "SCRAM-SHA-256", 0, 0, 0)

GOOD(aio_plain, AIO, 0, "PLAIN", "PLAIN", 0, 0, 0)
GOOD(aio_login, AIO, 0, "LOGIN", "LOGIN", 0, 0, 0)
GOOD(aio_default, AIO, 0, NULL, "PLAIN", 0, 0, 0)
BAD(aio_wrong_plain, AIO, 0, "PLAIN", "PLAIN", 0, 0, 0)

GOOD(node_plain, NODE, 0, "PLAIN", "PLAIN", 0, 0, 0)
GOOD(node_login, NODE, 0, "LOGIN", "LOGIN", 0, 0, 0)
GOOD(node_cram_md5, NODE, 0, "CRAM-MD5", "CRAM-MD5", 0, 0, 0)
GOOD(node_xoauth2, NODE, 0, "XOAUTH2", "XOAUTH2", 1, 0, 0)
GOOD(node_token_default, NODE, 0, NULL, "XOAUTH2", 1, 0, 0)
BAD(node_wrong_plain, NODE, 0, "PLAIN", "PLAIN", 0, 0, 0)
BAD(node_wrong_cram_md5, NODE, 0, "CRAM-MD5", "CRAM-MD5", 0, 0, 0)
BAD(node_wrong_xoauth2, NODE, 0, "XOAUTH2", "XOAUTH2", 1, 0, 0)

/* OAUTHBEARER (RFC 7628) and EXTERNAL (RFC 4422 A) with the client certificate */
GOOD(aiosasl_oauthbearer, AIOSASL, 0, "OAUTHBEARER", "OAUTHBEARER", 1, 0, 0)
GOOD(aiosasl_token_default, AIOSASL, 0, NULL, "OAUTHBEARER", 1, 0, 0)
BAD(aiosasl_wrong_oauthbearer, AIOSASL, 0, "OAUTHBEARER", "OAUTHBEARER", 1, 0, 0)
GOOD(aiosasl_external, AIOSASL, 0, "EXTERNAL", "EXTERNAL", 0, 0, 1)
/* the default choice with a certificate and no secret */
GOOD(aiosasl_external_default, AIOSASL, 0, NULL, "EXTERNAL", 0, 0, 1)

GOOD(nodes_plain, NODE_SECURE, 0, "PLAIN", "PLAIN", 0, 0, 0)
GOOD(nodes_login, NODE_SECURE, 0, "LOGIN", "LOGIN", 0, 0, 0)

/* Postfix's plain port offers AUTH in clear; allowed only in words */
GOOD(pfplain_insecure_plain, PF_PLAIN, SMTP_TLS_NONE, "PLAIN", "PLAIN", 0, 1, 0)
GOOD(pfplain_insecure_default, PF_PLAIN, SMTP_TLS_NONE, NULL, "SCRAM-SHA-256", 0, 1, 0)

/* Credentials never go out without TLS: SMTP_ENOTLS, no AUTH line, no secret. */
static void notls_case(smtp_tls mode, const char *mechanisms)
{
	const char *user = it_env("SMTP_IT_USER");
	const char *secret = it_env("SMTP_IT_PASSWORD");
	struct trace t = {0};
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_PF_PLAIN_PORT"), mode);
	CHECK_INT(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_INT(smtp_session_set_auth(s, user, secret, mechanisms), 0);

	CHECK_INT(it_connect(s), SMTP_ENOTLS);
	const smtp_report *r = smtp_session_report(s);
	CHECK_INT(smtp_report_error(r), SMTP_ENOTLS);
	CHECK_INT(smtp_report_outcome(r), SMTP_FAILED);
	/* the premise: the server did offer AUTH in clear text */
	CHECK(trace_has(&t, "\n< 250-AUTH ", 12) || trace_has(&t, "\n< 250 AUTH ", 12));
	CHECK(!trace_has(&t, "\n> AUTH", 7));
	CHECK(last_auth_step(r) == NULL || smtp_step_code(last_auth_step(r)) == 0);
	check_no_secret(&t, user, secret);
	if (check_failed_here && t.buf)
		fprintf(stderr, "--- trace (%s):%s\n---\n", it_mode(), t.buf);
	smtp_session_free(s);
	free(t.buf);
}

static void pfplain_none_notls(void)
{
	notls_case(SMTP_TLS_NONE, NULL);
}

static void pfplain_none_notls_plain(void)
{
	notls_case(SMTP_TLS_NONE, "PLAIN");
}

/* opportunistic TLS against a server without STARTTLS: plain text, so no AUTH */
static void pfplain_opportunistic_notls(void)
{
	notls_case(SMTP_TLS_OPPORTUNISTIC, NULL);
}

/* EXTERNAL without a client certificate: the server has no identity to give, so
   535 5.7.8 and SMTP_EAUTH. */
static void aiosasl_external_nocert(void)
{
	struct trace t = {0};
	smtp_session *s = server_session(AIOSASL, 0);
	CHECK_INT(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_INT(smtp_session_set_auth(s, "", NULL, "EXTERNAL"), 0);
	CHECK_INT(it_connect(s), SMTP_EAUTH);
	const smtp_report *r = smtp_session_report(s);
	const smtp_step *st = last_auth_step(r);
	CHECK(st != NULL);
	if (st) {
		CHECK_INT(smtp_step_code(st), 535);
		CHECK_STR(smtp_step_enhanced(st), "5.7.8");
	}
	CHECK_INT(smtp_report_error(r), SMTP_EAUTH);
	CHECK_INT(smtp_report_failed_stage(r), SMTP_STAGE_AUTH);
	CHECK(trace_has(&t, "\n> AUTH EXTERNAL", 16));
	if (check_failed_here && t.buf)
		fprintf(stderr, "--- trace (%s):%s\n---\n", it_mode(), t.buf);
	smtp_session_free(s);
	free(t.buf);
}

/* A mechanism the server does not offer: SMTP_ENOMECH, nothing sent. */
static void aio_unoffered_mech(void)
{
	struct trace t = {0};
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_AIOTLS_PORT"),
				     SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_trace(s, trace_cb, &t), 0);
	CHECK_INT(smtp_session_set_auth(s, it_env("SMTP_IT_USER"), it_env("SMTP_IT_PASSWORD"),
					"SCRAM-SHA-256 CRAM-MD5"),
		  0);
	CHECK_INT(it_connect(s), SMTP_ENOMECH);
	CHECK(!trace_has(&t, "\n> AUTH", 7));
	CHECK_INT(smtp_report_failed_stage(smtp_session_report(s)), SMTP_STAGE_AUTH);
	if (check_failed_here && t.buf)
		fprintf(stderr, "--- trace (%s):%s\n---\n", it_mode(), t.buf);
	smtp_session_free(s);
	free(t.buf);
}

int main(void)
{
	RUN(pf_plain_mech);
	RUN(pf_login);
	RUN(pf_cram_md5);
	RUN(pf_scram_sha1);
	RUN(pf_scram_sha256);
	RUN(pf_default);
	RUN(pf_list);
	RUN(pfs_default);
	RUN(pf_wrong_default);

	RUN(aio_plain);
	RUN(aio_login);
	RUN(aio_default);
	RUN(aio_wrong_plain);
	RUN(aio_unoffered_mech);

	RUN(node_plain);
	RUN(node_login);
	RUN(node_cram_md5);
	RUN(node_xoauth2);
	RUN(node_token_default);
	RUN(node_wrong_plain);
	RUN(node_wrong_cram_md5);
	RUN(node_wrong_xoauth2);
	RUN(nodes_plain);
	RUN(nodes_login);

	RUN(aiosasl_oauthbearer);
	RUN(aiosasl_token_default);
	RUN(aiosasl_wrong_oauthbearer);
	RUN(aiosasl_external);
	RUN(aiosasl_external_default);
	RUN(aiosasl_external_nocert);

	RUN(pfplain_none_notls);
	RUN(pfplain_none_notls_plain);
	RUN(pfplain_opportunistic_notls);
	RUN(pfplain_insecure_plain);
	RUN(pfplain_insecure_default);

	char name[64];
	snprintf(name, sizeof name, "it_auth (%s)", it_mode());
	return CHECK_DONE(name);
}

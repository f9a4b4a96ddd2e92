/* SASL mechanisms, SCRAM, SASLprep and base64, checked against the RFC examples. */
#include <stdlib.h>
#include <string.h>

#include "wire/base64.h"
#include "check.h"
#include "sasl/sasl.h"
#include "sasl/saslprep.h"
#include "smtp.h"
#include "wire/text.h"

/* Decodes base64 text to a NUL-terminated string (NULL when malformed). */
static char *dec(const char *text)
{
	unsigned char *out = NULL;
	size_t len = 0;

	if (!text || smtpi_base64_decode(text, strlen(text), &out, &len) != 0)
		return NULL;
	return (char *)out;
}

/* Feeds a plain-text challenge, base64-encoded as a server would send it. */
static int step_text(struct smtpi_sasl *s, const char *plain, char **resp)
{
	char *b = smtpi_base64_encode(plain, strlen(plain));
	int rc = smtpi_sasl_step(s, b, strlen(b), resp);

	free(b);
	return rc;
}

/* Checks that base64 text decodes to want. */
#define CHECK_B64(text, want)                                                        \
	do {                                                                         \
		char *check_d_ = dec(text);                                          \
		CHECK_STR(check_d_, (want));                                         \
		free(check_d_);                                                      \
	} while (0)

static void test_base64(void)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const bad[] = {"Zg=", "Zh==", "Zm9=", "Z===", "Zm9v\n",
					  "=Zg=", "Zg==Zg==", "Zm 9v", "Zm-v"};
	unsigned char *out = NULL;
	size_t i, len;

	/* RFC 4648 section 10 */
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		char *e = smtpi_base64_encode(plain[i], strlen(plain[i]));

		CHECK_STR(e, enc[i]);
		free(e);
		CHECK_B64(enc[i], plain[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(smtpi_base64_decode(bad[i], strlen(bad[i]), &out, &len), SMTP_EINVAL);
}

static void test_saslprep(void)
{
	/* RFC 4013 section 3 */
	static const char *const in[] = {"I\xC2\xADX", "user", "USER", "\xC2\xAA",
					 "\xE2\x85\xA8", "a\xC2\xA0" "b", "a\xEF\xBB\xBF" "b",
					 "\xD8\xA7\xD8\xA8", ""};
	static const char *const out[] = {"IX", "user", "USER", "a", "IX", "a b", "ab",
					  "\xD8\xA7\xD8\xA8", ""};
	static const char *const bad[] = {"\x07", "\xD8\xA7" "1", "\xD8\xA7" "a\xD8\xA8",
					  "a\xEE\x80\x80", "\xC3\x28", "a\xE2\x80\x8E",
					  "\xF3\xA0\x80\x81", "\xEF\xBF\xBE"};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *r = NULL;

		CHECK_INT(smtpi_saslprep(in[i], &r), 0);
		CHECK_STR(r, out[i]);
		smtpi_free_secret(r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *r = NULL;

		CHECK_INT(smtpi_saslprep(bad[i], &r), SMTP_EINVAL);
		CHECK(r == NULL);
	}
}

static void test_mech_names(void)
{
	CHECK_INT(smtpi_sasl_mech_from_name("scram-sha-256-plus", 18),
		  SMTPI_MECH_SCRAM_SHA256_PLUS);
	CHECK_INT(smtpi_sasl_mech_from_name("PLAINX", 5), SMTPI_MECH_PLAIN);
	CHECK_INT(smtpi_sasl_mech_from_name("PLAIN", 4), 0);
	CHECK_INT(smtpi_sasl_mech_from_name("GSSAPI", 6), 0);
	CHECK_STR(smtpi_sasl_mech_name(SMTPI_MECH_CRAM_MD5), "CRAM-MD5");
	CHECK(smtpi_sasl_mech_name(SMTPI_MECH_PLAIN | SMTPI_MECH_LOGIN) == NULL);
	CHECK_INT(smtpi_sasl_mech_list(" PLAIN  login GSSAPI ", 0),
		  SMTPI_MECH_PLAIN | SMTPI_MECH_LOGIN);
	CHECK_INT(smtpi_sasl_mech_list("PLAIN GSSAPI", 1), 0);
	CHECK_INT(smtpi_sasl_mech_list("PLAIN XOAUTH2", 1), SMTPI_MECH_PLAIN | SMTPI_MECH_XOAUTH2);
	CHECK_INT(smtpi_sasl_mech_list("", 1), 0);
}

static void test_choose(void)
{
	unsigned all = smtpi_sasl_mech_list("PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-1-PLUS "
					    "SCRAM-SHA-256 SCRAM-SHA-256-PLUS XOAUTH2 "
					    "OAUTHBEARER EXTERNAL", 1);
	unsigned weak = SMTPI_MECH_LOGIN | SMTPI_MECH_CRAM_MD5;

	CHECK_INT(smtpi_sasl_choose(all, NULL, 0, 1, 1, 0), SMTPI_MECH_SCRAM_SHA256_PLUS);
	CHECK_INT(smtpi_sasl_choose(all, NULL, 0, 1, 0, 0), SMTPI_MECH_SCRAM_SHA256);
	CHECK_INT(smtpi_sasl_choose(all & ~(unsigned)SMTPI_MECH_SCRAM_SHA256_PLUS, NULL, 0, 1, 1, 0),
		  SMTPI_MECH_SCRAM_SHA1_PLUS);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_SCRAM_SHA1 | SMTPI_MECH_PLAIN, NULL, 0, 1, 0, 0),
		  SMTPI_MECH_SCRAM_SHA1);
	CHECK_INT(smtpi_sasl_choose(weak | SMTPI_MECH_PLAIN, NULL, 0, 1, 0, 0), SMTPI_MECH_PLAIN);
	CHECK_INT(smtpi_sasl_choose(weak, NULL, 0, 1, 0, 0), SMTPI_MECH_LOGIN);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_CRAM_MD5, NULL, 0, 1, 0, 0), SMTPI_MECH_CRAM_MD5);
	CHECK_INT(smtpi_sasl_choose(weak | SMTPI_MECH_PLAIN, "CRAM-MD5 PLAIN", 0, 1, 0, 0),
		  SMTPI_MECH_CRAM_MD5);
	CHECK_INT(smtpi_sasl_choose(all, "scram-sha-256-plus", 0, 1, 0, 0), 0);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_PLAIN, "LOGIN GSSAPI", 0, 1, 0, 0), 0);
	/* a token goes only to the OAuth mechanisms */
	CHECK_INT(smtpi_sasl_choose(all, NULL, 1, 1, 1, 0), SMTPI_MECH_OAUTHBEARER);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_PLAIN | SMTPI_MECH_XOAUTH2, NULL, 1, 1, 0, 0),
		  SMTPI_MECH_XOAUTH2);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_PLAIN, NULL, 1, 1, 0, 0), 0);
	CHECK_INT(smtpi_sasl_choose(all, "PLAIN XOAUTH2", 1, 1, 0, 0), SMTPI_MECH_XOAUTH2);
	CHECK_INT(smtpi_sasl_choose(SMTPI_MECH_XOAUTH2, NULL, 0, 1, 0, 0), 0);
	/* EXTERNAL: named, or a certificate and no secret */
	CHECK_INT(smtpi_sasl_choose(all, NULL, 0, 0, 0, 1), SMTPI_MECH_EXTERNAL);
	CHECK_INT(smtpi_sasl_choose(all, NULL, 0, 1, 0, 1), SMTPI_MECH_SCRAM_SHA256);
	CHECK_INT(smtpi_sasl_choose(all, NULL, 0, 0, 0, 0), 0);
	CHECK_INT(smtpi_sasl_choose(all, "EXTERNAL", 0, 1, 0, 0), SMTPI_MECH_EXTERNAL);
	CHECK_INT(smtpi_sasl_choose(0, NULL, 0, 1, 1, 1), 0);
}

static void test_plain(void)
{
	struct smtpi_sasl_creds c = {.user = "tim", .secret = "tanstaaftanstaaf"};
	struct smtpi_sasl s = {0};
	char *ir = NULL, *resp = NULL;

	/* RFC 4616 section 4 */
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_PLAIN, &c, NULL, &ir), 0);
	CHECK_STR(ir, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	/* nothing follows the initial response: a challenge breaks the exchange */
	CHECK_INT(smtpi_sasl_step(&s, "", 0, &resp), SMTP_EPROTOCOL);
	CHECK_INT(smtpi_sasl_success(&s), 0);
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	c = (struct smtpi_sasl_creds){.user = "Kurt", .authzid = "Ursel", .secret = "xipj3plmq"};
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_PLAIN, &c, NULL, &ir), 0);
	CHECK_STR(ir, "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
}

static void test_login(void)
{
	struct smtpi_sasl_creds c = {.user = "tim", .secret = "tanstaaftanstaaf"};
	struct smtpi_sasl s = {0};
	char *ir = (char *)"x", *resp = NULL;
	/* aiosmtpd writes "Username:\0"; trailing NULs and blanks on the text too */
	static const char user_prompt[] = "VXNlcm5hbWU6AA==\0 \r\n";

	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_LOGIN, &c, NULL, &ir), 0);
	CHECK(ir == NULL);
	CHECK_INT(smtpi_sasl_step(&s, user_prompt, sizeof(user_prompt) - 1, &resp), 0);
	CHECK_STR(resp, "dGlt");
	smtpi_free_secret(resp);
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	CHECK_INT(smtpi_sasl_step(&s, "UGFzc3dvcmQ6AA==", 16, &resp), 0);
	CHECK_STR(resp, "dGFuc3RhYWZ0YW5zdGFhZg==");
	smtpi_free_secret(resp);
	CHECK_INT(smtpi_sasl_success(&s), 0);
	CHECK_INT(smtpi_sasl_step(&s, "UGFzc3dvcmQ6AA==", 16, &resp), SMTP_EPROTOCOL);
	CHECK(resp == NULL);
	smtpi_sasl_clear(&s);
	/* a challenge that is not base64 */
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_LOGIN, &c, NULL, &ir), 0);
	CHECK_INT(smtpi_sasl_step(&s, "Username:", 9, &resp), SMTP_EAUTH);
	smtpi_sasl_clear(&s);
}

static void test_cram_md5(void)
{
	/* RFC 2195 section 2 */
	struct smtpi_sasl_creds c = {.user = "tim", .secret = "tanstaaftanstaaf"};
	struct smtpi_sasl s = {0};
	char *ir = NULL, *resp = NULL;

	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_CRAM_MD5, &c, NULL, &ir), 0);
	CHECK(ir == NULL);
	CHECK_INT(step_text(&s, "<1896.697170952@postoffice.reston.mci.net>", &resp), 0);
	CHECK_B64(resp, "tim b913a602c7eda7a495b4e6e7334d3890");
	smtpi_free_secret(resp);
	CHECK_INT(smtpi_sasl_success(&s), 0);
	CHECK_INT(step_text(&s, "<again>", &resp), SMTP_EPROTOCOL);
	smtpi_sasl_clear(&s);
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_CRAM_MD5, &c, NULL, &ir), 0);
	CHECK_INT(smtpi_sasl_step(&s, "", 0, &resp), SMTP_EAUTH);
	smtpi_sasl_clear(&s);
}

static void test_external(void)
{
	struct smtpi_sasl_creds c = {0};
	struct smtpi_sasl s = {0};
	char *ir = NULL;

	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_EXTERNAL, &c, NULL, &ir), 0);
	CHECK_STR(ir, "=");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	c.authzid = "admin";
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_EXTERNAL, &c, NULL, &ir), 0);
	CHECK_STR(ir, "YWRtaW4=");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
}

static const char oauth_error[] =
	"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNv"
	"bmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1"
	"cmF0aW9uIn0=";
static const char oauth_error_json[] =
	"{\"status\":\"invalid_token\",\"scope\":\"example_scope\",\"openid-configuration\":"
	"\"https://example.com/.well-known/openid-configuration\"}";

static void test_oauthbearer(void)
{
	/* RFC 7628 section 4.1 and 4.3 */
	struct smtpi_sasl_creds c = {.user = "user@example.com",
				     .secret = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
				     .secret_is_token = 1, .host = "server.example.com", .port = 143};
	struct smtpi_sasl s = {0};
	char *ir = NULL, *resp = NULL;

	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_OAUTHBEARER, &c, NULL, &ir), 0);
	CHECK_STR(ir, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzA"
		      "WF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9P"
		      "QEB");
	CHECK_INT(smtpi_sasl_success(&s), 0);
	CHECK_INT(smtpi_sasl_step(&s, oauth_error, strlen(oauth_error), &resp), 0);
	CHECK_STR(resp, "AQ==");
	CHECK_STR(s.error, oauth_error_json);
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	smtpi_free_secret(resp);
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	CHECK(s.error == NULL);
	/* no host, no port, a user name to escape */
	c = (struct smtpi_sasl_creds){.user = "a,b=c", .secret = "tok", .secret_is_token = 1};
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_OAUTHBEARER, &c, NULL, &ir), 0);
	CHECK_B64(ir, "n,a=a=2Cb=3Dc,\001auth=Bearer tok\001\001");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	c.secret = "tok\001en";
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_OAUTHBEARER, &c, NULL, &ir), SMTP_EINVAL);
	smtpi_sasl_clear(&s);
}

static void test_xoauth2(void)
{
	/* Google's published example */
	struct smtpi_sasl_creds c = {.user = "someuser@example.com",
				     .secret = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
				     .secret_is_token = 1};
	struct smtpi_sasl s = {0};
	char *ir = NULL, *resp = NULL;

	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_XOAUTH2, &c, NULL, &ir), 0);
	CHECK_STR(ir, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRj"
		      "Mk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	CHECK_INT(smtpi_sasl_step(&s, oauth_error, strlen(oauth_error), &resp), 0);
	CHECK_STR(resp, "");
	CHECK_STR(s.error, oauth_error_json);
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	smtpi_free_secret(resp);
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	c.user = "bad\001user";
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_XOAUTH2, &c, NULL, &ir), SMTP_EINVAL);
	smtpi_sasl_clear(&s);
}

struct scram_vector {
	unsigned mech;
	const char *nonce, *client_first, *server_first, *client_final, *server_final;
};

/* RFC 5802 section 5 */
static const struct scram_vector rfc5802 = {
	SMTPI_MECH_SCRAM_SHA1, "fyko+d2lbbFgONRv9qkxdawL", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="};

/* RFC 7677 section 3 */
static const struct scram_vector rfc7677 = {
	SMTPI_MECH_SCRAM_SHA256, "rOprNGfwEbeRWgbNEkqO", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9"
	"zjfMHgsqmmiz7AndVQ=",
	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="};

/* Channel binding data made up for the test; the expected messages were computed
   separately from RFC 5802 and RFC 9266 (c= is base64 of gs2 header + data). */
static const unsigned char fake_cb[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					  11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					  22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const struct scram_vector plus256 = {
	SMTPI_MECH_SCRAM_SHA256_PLUS, "rOprNGfwEbeRWgbNEkqO",
	"p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO", "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCA"
	"fuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=cD10bHMtZXhwb3J0ZXIsLAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f,r=rOprNGfwEbeRWgbNEk"
	"qO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=QC6CS20quADQRb3mT99YUH+n3VJxUvzuK0K0E1Vrs2M=",
	"v=2GiAgapEppLVlUXbxUDksL3VgYHzuqiK5tR4mhJGgvs="};

/* Runs a whole exchange and checks every client message byte for byte. */
static void run_scram(const struct scram_vector *v, const struct smtpi_sasl_creds *c,
		      const struct smtpi_sasl_cbind *cb)
{
	struct smtpi_sasl s = {0};
	char *ir = NULL, *resp = NULL;

	memcpy(s.nonce, v->nonce, strlen(v->nonce) + 1);
	CHECK_INT(smtpi_sasl_start(&s, v->mech, c, cb, &ir), 0);
	CHECK_B64(ir, v->client_first);
	CHECK_INT(step_text(&s, v->server_first, &resp), 0);
	CHECK_B64(resp, v->client_final);
	smtpi_free_secret(resp);
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	CHECK_INT(step_text(&s, v->server_final, &resp), 0);
	CHECK_STR(resp, "");
	CHECK_INT(smtpi_sasl_success(&s), 0);
	smtpi_free_secret(resp);
	CHECK_INT(step_text(&s, v->server_final, &resp), SMTP_EAUTH);
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
}

static void test_scram_vectors(void)
{
	struct smtpi_scram_cache cache = {0};
	struct smtpi_sasl_creds c = {.user = "user", .secret = "pencil", .cache = &cache};
	struct smtpi_sasl_cbind cb = {"tls-exporter", fake_cb, sizeof(fake_cb)};

	run_scram(&rfc5802, &c, NULL);
	CHECK_INT(cache.mech, SMTPI_MECH_SCRAM_SHA1);
	CHECK_STR(cache.salt, "QSXCR+Q6sek8bf92");
	CHECK_INT(cache.iter, 4096);
	CHECK_INT(cache.salted_len, 20);
	run_scram(&rfc7677, &c, NULL);
	CHECK_INT(cache.mech, SMTPI_MECH_SCRAM_SHA256);
	CHECK_INT(cache.salted_len, 32);
	/* the cached salted password is used: a wrong password still gives the proof */
	c.secret = "not the password";
	run_scram(&rfc7677, &c, NULL);
	/* the -PLUS twin shares the cache entry */
	run_scram(&plus256, &c, &cb);
	c.secret = "pencil";
	c.cache = NULL;
	run_scram(&plus256, &c, &cb);
}

/* Starts SCRAM-SHA-1 with the RFC 5802 nonce and answers server_first. */
static int scram_first(struct smtpi_sasl *s, const struct smtpi_sasl_creds *c,
		       const char *server_first, char **resp)
{
	char *ir = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	memcpy(s->nonce, rfc5802.nonce, strlen(rfc5802.nonce) + 1);
	rc = smtpi_sasl_start(s, SMTPI_MECH_SCRAM_SHA1, c, NULL, &ir);
	smtpi_free_secret(ir);
	return rc ? rc : step_text(s, server_first, resp);
}

static void test_scram_failures(void)
{
	static const char *const bad_first[] = {
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=100001",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=99999999999999999999",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=0",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=-1",
		"r=XXko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		"r=fyko+d2lbb,s=QSXCR+Q6sek8bf92,i=4096",
		"m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096,s=QSXCR+Q6sek8bf92",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfc NHYJY,s=QSXCR+Q6sek8bf92,i=4096",
		"",
	};
	struct smtpi_scram_cache cache = {0};
	struct smtpi_sasl_creds c = {.user = "user", .secret = "pencil", .cache = &cache};
	struct smtpi_sasl s;
	char *resp = NULL;
	size_t i;

	/* rejected before PBKDF2 runs: the cache stays empty */
	for (i = 0; i < sizeof(bad_first) / sizeof(bad_first[0]); i++) {
		CHECK_INT(scram_first(&s, &c, bad_first[i], &resp), SMTP_EAUTH);
		CHECK(resp == NULL);
		CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
		smtpi_sasl_clear(&s);
	}
	CHECK_INT(cache.mech, 0);
	/* extensions after i= are ignored (RFC 5802 5.1) */
	CHECK_INT(scram_first(&s, &c, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
				      "s=QSXCR+Q6sek8bf92,i=4096,x=ext", &resp), 0);
	smtpi_free_secret(resp);
	/* a wrong server signature */
	CHECK_INT(step_text(&s, "v=AAF9pqV8S7suAoZWja4dJRkFsKQ=", &resp), SMTP_EAUTH);
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	smtpi_sasl_clear(&s);
	CHECK_INT(scram_first(&s, &c, rfc5802.server_first, &resp), 0);
	smtpi_free_secret(resp);
	CHECK_INT(step_text(&s, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ", &resp), SMTP_EAUTH);
	smtpi_sasl_clear(&s);
	CHECK_INT(scram_first(&s, &c, rfc5802.server_first, &resp), 0);
	smtpi_free_secret(resp);
	CHECK_INT(step_text(&s, "e=invalid-proof", &resp), SMTP_EAUTH);
	CHECK_STR(s.error, "invalid-proof");
	CHECK_INT(smtpi_sasl_success(&s), SMTP_EAUTH);
	smtpi_sasl_clear(&s);
}

static void test_scram_start(void)
{
	struct smtpi_sasl_creds c = {.user = "us,er=", .secret = "pencil", .authzid = "ad=min"};
	struct smtpi_sasl_cbind cb = {"tls-unique", fake_cb, 12};
	struct smtpi_sasl s = {0};
	char *ir = NULL, *d;

	/* saslname escaping; random nonce of 24 octets */
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA256, &c, NULL, &ir), 0);
	d = dec(ir);
	CHECK(d && strncmp(d, "n,a=ad=3Dmin,n=us=2Cer=3D,r=", 28) == 0);
	CHECK_INT(strlen(s.nonce), 32);
	CHECK(d && strcmp(d + 28, s.nonce) == 0);
	free(d);
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	/* channel binding available but not offered: "y" (RFC 5802 6) */
	c = (struct smtpi_sasl_creds){.user = "user", .secret = "pencil"};
	memcpy(s.nonce, "abc", 4);
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA1, &c, &cb, &ir), 0);
	CHECK_B64(ir, "y,,n=user,r=abc");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	memcpy(s.nonce, "abc", 4);
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA1_PLUS, &c, &cb, &ir), 0);
	CHECK_B64(ir, "p=tls-unique,,n=user,r=abc");
	smtpi_free_secret(ir);
	smtpi_sasl_clear(&s);
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA256_PLUS, &c, NULL, &ir),
		  SMTP_ENOMECH);
	CHECK(ir == NULL);
	smtpi_sasl_clear(&s);
	/* SASLprep applies: a prohibited character, an empty name */
	c.secret = "pen\007cil";
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA256, &c, NULL, &ir), SMTP_EINVAL);
	smtpi_sasl_clear(&s);
	c = (struct smtpi_sasl_creds){.user = "\xC2\xAD", .secret = "pencil"};
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA256, &c, NULL, &ir), SMTP_EINVAL);
	smtpi_sasl_clear(&s);
	memcpy(s.nonce, "a,b", 4);
	c.user = "user";
	CHECK_INT(smtpi_sasl_start(&s, SMTPI_MECH_SCRAM_SHA256, &c, NULL, &ir), SMTP_EINVAL);
	smtpi_sasl_clear(&s);
}

int main(void)
{
	RUN(test_base64);
	RUN(test_saslprep);
	RUN(test_mech_names);
	RUN(test_choose);
	RUN(test_plain);
	RUN(test_login);
	RUN(test_cram_md5);
	RUN(test_external);
	RUN(test_oauthbearer);
	RUN(test_xoauth2);
	RUN(test_scram_vectors);
	RUN(test_scram_failures);
	RUN(test_scram_start);
	return CHECK_DONE("test_sasl");
}

/* DKIM signing (RFC 6376, RFC 8463): canonicalisation against RFC 6376 3.4.5's
   examples, body hashes against RFC 8463's example, the DKIM-Signature field's
   tags and header list, and which keys are accepted. Keys are made at run time. The
   signatures themselves are verified by dkimpy in tests/integration/it_compose.c. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compose/compose.h"
#include "compose/dkim.h"
#include "wire/base64.h"

static void collect(void *ud, const unsigned char *p, size_t n)
{
	smtpi_buf_append(ud, p, n);
}

/* The canonical body, fed step octets at a time. */
static char *canon_body(int relaxed, const char *in, size_t step)
{
	struct smtpi_buf b = {0};
	struct smtpi_canon c;
	smtpi_canon_init(&c, relaxed, collect, &b);
	size_t n = strlen(in);
	for (size_t i = 0; i < n; i += step)
		smtpi_canon_update(&c, (const unsigned char *)in + i, n - i < step ? n - i : step);
	smtpi_canon_final(&c);
	char *s = smtpi_strndup(b.data ? b.data : "", b.len);
	smtpi_buf_free(&b);
	return s;
}

static char *canon_headers(int relaxed, const char *hdr)
{
	struct smtpi_hdr_iter it = {(const unsigned char *)hdr, strlen(hdr), 0};
	size_t s, fl, nl;
	char *out = calloc(1, strlen(hdr) * 2 + 8);
	size_t o = 0;
	while (smtpi_hdr_next(&it, &s, &fl, &nl, NULL) == 1)
		o += smtpi_canon_header(relaxed, (const unsigned char *)hdr + s, fl,
					(unsigned char *)out + o);
	out[o] = '\0';
	return out;
}

/* RFC 6376 3.4.5, examples 1 and 2. */
static const char *const rfc_header = "A: X\r\nB : Y\t\r\n\tZ  \r\n";
static const char *const rfc_body = " C \r\nD \t E\r\n\r\n\r\n";

static void test_rfc6376_example_headers(void)
{
	char *r = canon_headers(1, rfc_header), *s = canon_headers(0, rfc_header);
	CHECK_STR(r, "a:X\r\nb:Y Z\r\n");
	CHECK_STR(s, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	free(r);
	free(s);
}

static void test_rfc6376_example_body(void)
{
	size_t steps[] = {1, 2, 3, 100};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		char *r = canon_body(1, rfc_body, steps[i]), *s = canon_body(0, rfc_body, steps[i]);
		CHECK_STR(r, " C\r\nD E\r\n");
		CHECK_STR(s, " C \r\nD \t E\r\n");
		free(r);
		free(s);
	}
}

/* 3.4.3 and 3.4.4: an empty body; a last line without its CRLF; LF line ends and
   lone CRs are read as CRLF, as the library sends them. */
static void test_body_edges(void)
{
	static const struct {
		const char *in, *simple, *relaxed;
	} v[] = {
		{"", "\r\n", ""},
		{"\r\n\r\n", "\r\n", ""},
		{"  \r\n", "  \r\n", ""},
		{"no end", "no end\r\n", "no end\r\n"},
		{"trailing \t", "trailing \t\r\n", "trailing\r\n"},
		{"lf\nonly\n\n", "lf\r\nonly\r\n", "lf\r\nonly\r\n"},
		{"lone\rcr\r", "lone\r\ncr\r\n", "lone\r\ncr\r\n"},
		{"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *s = canon_body(0, v[i].in, 1), *r = canon_body(1, v[i].in, 1);
		CHECK_STR(s, v[i].simple);
		CHECK_STR(r, v[i].relaxed);
		free(s);
		free(r);
	}
}

static char *bh64(const char *body, unsigned which)
{
	struct smtpi_body_hash h;
	CHECK_INT(smtpi_body_hash_init(&h, 1u << which), 0);
	smtpi_body_hash_update(&h, (const unsigned char *)body, strlen(body));
	CHECK_INT(smtpi_body_hash_final(&h), 0);
	char *s = smtpi_base64_encode(h.out[which], 32);
	smtpi_body_hash_free(&h);
	return s;
}

/* RFC 8463 A.2's body: bh= of A.3 (relaxed), and the simple one of the same message
   as dkimpy's test data signs it (c=simple/simple). */
static void test_rfc8463_body_hash(void)
{
	const char *body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
	char *r = bh64(body, SMTP_DKIM_RELAXED), *s = bh64(body, SMTP_DKIM_SIMPLE);
	CHECK_STR(r, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	CHECK_STR(s, "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
	free(r);
	free(s);
}

static char *pem_of(EVP_PKEY *k, const EVP_CIPHER *enc)
{
	BIO *b = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PrivateKey(b, k, enc, enc ? (unsigned char *)"pw" : NULL, enc ? 2 : 0,
				       NULL, NULL) == 1);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = smtpi_strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static EVP_PKEY *keygen(int id, int bits)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(id, NULL);
	CHECK(c && EVP_PKEY_keygen_init(c) == 1);
	if (id == EVP_PKEY_RSA)
		CHECK(EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits) == 1);
	if (id == EVP_PKEY_EC)
		CHECK(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1) == 1);
	CHECK(EVP_PKEY_keygen(c, &k) == 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static int load(EVP_PKEY *k, const EVP_CIPHER *enc)
{
	char *pem = pem_of(k, enc);
	smtp_dkim *d = smtp_dkim_new();
	int rc = smtp_dkim_set_key_pem(d, pem, strlen(pem));
	smtp_dkim_free(d);
	free(pem);
	EVP_PKEY_free(k);
	return rc;
}

/* RSA 1024 to 4096 bits (RFC 8301 3.2: at least 1024), Ed25519; nothing else. */
static void test_keys(void)
{
	CHECK_INT(load(keygen(EVP_PKEY_RSA, 1024), NULL), 0);
	CHECK_INT(load(keygen(EVP_PKEY_RSA, 2048), NULL), 0);
	CHECK_INT(load(keygen(EVP_PKEY_ED25519, 0), NULL), 0);
	CHECK_INT(load(keygen(EVP_PKEY_RSA, 768), NULL), SMTP_EINVAL);
	CHECK_INT(load(keygen(EVP_PKEY_EC, 0), NULL), SMTP_EINVAL);
	/* an encrypted key is refused without prompting for a password */
	CHECK_INT(load(keygen(EVP_PKEY_ED25519, 0), EVP_aes_128_cbc()), SMTP_EINVAL);
	smtp_dkim *d = smtp_dkim_new();
	CHECK_INT(smtp_dkim_set_key_pem(d, "not a key", 9), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_key_file(d, "/nonexistent/key.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_canon(d, (smtp_dkim_canon)2, SMTP_DKIM_SIMPLE), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_expiry(d, -1), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_expiry(d, INT64_C(315360001)), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_headers(d, "to:subject"), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_headers(d, "from::to"), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_headers(d, "From:To"), 0);
	CHECK_STR(d->headers, "from:to");
	CHECK_INT(smtp_dkim_set_domain(d, "example.org", "bad selector"), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_set_domain(d, "user@example.org", "s"), SMTP_EINVAL);
	/* RFC 6376 3.5: an IDN signing domain goes as A-labels */
	CHECK_INT(smtp_dkim_set_domain(d, "b\xc3\xbc" "cher.example", "s2024._x"), 0);
	CHECK_STR(d->domain, "xn--bcher-kva.example");
	char out[SMTP_DKIM_SIGNATURE_MAX];
	size_t n;
	CHECK_INT(smtp_dkim_sign(d, "From: a@b\r\n\r\n", 13, out, sizeof out, &n), SMTP_EINVAL);
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_add_dkim(c, d), SMTP_EINVAL); /* no key yet */
	smtp_compose_free(c);
	smtp_dkim_free(d);
}

static smtp_dkim *signer(int id, int bits, smtp_dkim_canon hc, smtp_dkim_canon bc)
{
	EVP_PKEY *k = keygen(id, bits);
	char *pem = pem_of(k, NULL);
	smtp_dkim *d = smtp_dkim_new();
	CHECK_INT(smtp_dkim_set_domain(d, "example.org", "sel"), 0);
	CHECK_INT(smtp_dkim_set_key_pem(d, pem, strlen(pem)), 0);
	CHECK_INT(smtp_dkim_set_canon(d, hc, bc), 0);
	free(pem);
	EVP_PKEY_free(k);
	return d;
}

/* The tag value of name in a signature field, unfolded, or "" when absent. */
static void tag(const char *sig, const char *name, char *out, size_t cap)
{
	char key[16];
	snprintf(key, sizeof key, " %s=", name);
	const char *p = strstr(sig, key);
	size_t o = 0;
	out[0] = '\0';
	if (!p)
		return;
	for (p += strlen(key); *p && *p != ';' && o + 1 < cap; p++)
		if (*p != '\r' && *p != '\n' && *p != ' ' && *p != '\t')
			out[o++] = *p;
	out[o] = '\0';
}

static const char msg[] = "From: Joe <joe@example.org>\r\nTo: a@example.net\r\n"
			  "Subject: hi\r\nX-Unsigned: yes\r\nTo: b@example.net\r\n"
			  "\r\nbody line\r\n";

/* RFC 6376 3.5's tags: v, a, c, d, s, t, optional x, h with From once more than it
   occurs (8.15), bh of the chosen body form, b; never l (8.2). */
static void test_signature_field(void)
{
	smtp_dkim *d = signer(EVP_PKEY_ED25519, 0, SMTP_DKIM_SIMPLE, SMTP_DKIM_RELAXED);
	CHECK_INT(smtp_dkim_set_expiry(d, 3600), 0);
	char out[SMTP_DKIM_SIGNATURE_MAX], v[1024];
	size_t n;
	CHECK_INT(smtp_dkim_sign(d, msg, strlen(msg), out, sizeof out, &n), 0);
	CHECK_INT(n, strlen(out));
	CHECK(strncmp(out, "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/relaxed;", 56) == 0);
	CHECK(n > 2 && strcmp(out + n - 2, "\r\n") == 0);
	tag(out, "d", v, sizeof v);
	CHECK_STR(v, "example.org");
	tag(out, "s", v, sizeof v);
	CHECK_STR(v, "sel");
	tag(out, "h", v, sizeof v);
	CHECK_STR(v, "from:from:to:to:subject");
	tag(out, "bh", v, sizeof v);
	char *want = bh64("body line\r\n", SMTP_DKIM_RELAXED);
	CHECK_STR(v, want);
	free(want);
	char t[32], x[32];
	tag(out, "t", t, sizeof t);
	tag(out, "x", x, sizeof x);
	CHECK(atoll(t) > 1600000000 && atoll(x) == atoll(t) + 3600);
	tag(out, "l", v, sizeof v);
	CHECK_STR(v, "");
	tag(out, "b", v, sizeof v);
	unsigned char *sig = NULL;
	size_t sl = 0;
	CHECK_INT(smtpi_base64_decode(v, strlen(v), &sig, &sl), 0);
	CHECK_INT(sl, 64);
	free(sig);
	for (const char *p = out, *e; (e = strstr(p, "\r\n")); p = e + 2)
		CHECK(e - p <= 78);
	/* LF line ends give the same body hash (the library sends CRLF) */
	char lf[sizeof msg], bh_crlf[64], bh_lf[64], out2[SMTP_DKIM_SIGNATURE_MAX];
	size_t k = 0;
	for (const char *p = msg; *p; p++)
		if (*p != '\r')
			lf[k++] = *p;
	tag(out, "bh", bh_crlf, sizeof bh_crlf);
	CHECK_INT(smtp_dkim_sign(d, lf, k, out2, sizeof out2, &n), 0);
	tag(out2, "bh", bh_lf, sizeof bh_lf);
	CHECK_STR(bh_lf, bh_crlf);
	CHECK_INT(smtp_dkim_sign(d, msg, strlen(msg), out, 100, &n), SMTP_EINVAL);
	CHECK_INT(smtp_dkim_sign(d, "To: x@y\r\n\r\n", 11, out, sizeof out, &n), SMTP_EINVAL);
	/* a line without a colon among the signed fields: refused, never overrun (it
	   wrote one octet past its room in relaxed form, under ASan a heap overflow) */
	char nocolon[700];
	int nl = snprintf(nocolon, sizeof nocolon, "From: a@example.org\r\n%0500d\r\nto\r\n"
			  "Subject: s\r\n\r\nbody\r\n", 0);
	CHECK_INT(smtp_dkim_sign(d, nocolon, (size_t)nl, out, sizeof out, &n), SMTP_EINVAL);
	unsigned char canon[8];
	CHECK_INT(smtpi_canon_header(1, (const unsigned char *)"To ", 3, canon), 4);
	CHECK(memcmp(canon, "to\r\n", 4) == 0);
	CHECK_INT(smtp_dkim_set_headers(d, "from:subject:x-unsigned"), 0);
	CHECK_INT(smtp_dkim_sign(d, msg, strlen(msg), out, sizeof out, &n), 0);
	tag(out, "h", v, sizeof v);
	CHECK_STR(v, "from:subject:x-unsigned");
	smtp_dkim_free(d);

	d = signer(EVP_PKEY_RSA, 1024, SMTP_DKIM_RELAXED, SMTP_DKIM_RELAXED);
	CHECK_INT(smtp_dkim_sign(d, msg, strlen(msg), out, sizeof out, &n), 0);
	CHECK(strstr(out, " a=rsa-sha256; c=relaxed/relaxed;") != NULL);
	tag(out, "x", v, sizeof v);
	CHECK_STR(v, "");
	tag(out, "b", v, sizeof v);
	CHECK_INT(strlen(v), 172); /* 128 octets */
	smtp_dkim_free(d);
}

int main(void)
{
	RUN(test_rfc6376_example_headers);
	RUN(test_rfc6376_example_body);
	RUN(test_body_edges);
	RUN(test_rfc8463_body_hash);
	RUN(test_keys);
	RUN(test_signature_field);
	return CHECK_DONE("test_dkim");
}

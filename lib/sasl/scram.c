/* SCRAM-SHA-1/-256 and -PLUS, client side (RFC 5802, RFC 7677). Channel binding data
   (RFC 5929 tls-unique, RFC 9266 tls-exporter) comes from the TLS layer. */
#include "sasl/scram.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "wire/base64.h"
#include "sasl/saslprep.h"
#include "smtp.h"
#include "wire/text.h"

#define NONCE_OCTETS 24

static int is_plus(int mech)
{
	return mech == SMTPI_MECH_SCRAM_SHA1_PLUS || mech == SMTPI_MECH_SCRAM_SHA256_PLUS;
}

/* The hash family: a -PLUS mechanism salts the password as its plain twin does. */
static int family(int mech)
{
	if (mech == SMTPI_MECH_SCRAM_SHA1 || mech == SMTPI_MECH_SCRAM_SHA1_PLUS)
		return SMTPI_MECH_SCRAM_SHA1;
	return SMTPI_MECH_SCRAM_SHA256;
}

static const EVP_MD *digest(int mech)
{
	return family(mech) == SMTPI_MECH_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

char *smtpi_scram_saslname(const char *name)
{
	size_t i, o = 0, extra = 0;
	char *out;

	for (i = 0; name[i]; i++)
		extra += (name[i] == ',' || name[i] == '=') ? 2 : 0;
	out = malloc(i + extra + 1);
	if (!out)
		return NULL;
	for (i = 0; name[i]; i++) {
		if (name[i] == ',' || name[i] == '=') {
			memcpy(out + o, name[i] == ',' ? "=2C" : "=3D", 3);
			o += 3;
		} else {
			out[o++] = name[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* RFC 5802 7: printable = %x21-2B / %x2D-7E (no comma). */
static int printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return 0;
	return n > 0;
}

/* RFC 5056 7: cb-name = 1*(ALPHA / DIGIT / "." / "-"). */
static int valid_cb_name(const char *t)
{
	size_t i;

	for (i = 0; t[i]; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') || t[i] == '.' || t[i] == '-'))
			return 0;
	return i > 0;
}

static int make_nonce(struct smtpi_sasl *s)
{
	unsigned char raw[NONCE_OCTETS];
	char *b64;
	size_t len = strnlen(s->nonce, sizeof(s->nonce));

	if (len == sizeof(s->nonce))
		return SMTP_EINVAL;
	if (len > 0)
		return printable(s->nonce, len) ? 0 : SMTP_EINVAL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return SMTP_EAUTH;
	b64 = smtpi_base64_encode(raw, sizeof(raw));
	if (!b64)
		return SMTP_ENOMEM;
	memcpy(s->nonce, b64, strlen(b64) + 1);
	free(b64);
	return 0;
}

int smtpi_scram_start(struct smtpi_sasl *s, char **ir)
{
	const struct smtpi_sasl_creds *c = s->creds;
	const struct smtpi_sasl_cbind *cb = &s->cbind;
	char *user = NULL, *pass = NULL, *name = NULL, *authz = NULL;
	int plus = is_plus(s->mech), rc;

	if (plus && (!cb->type || !valid_cb_name(cb->type) || !cb->data || cb->len == 0))
		return SMTP_ENOMECH;
	rc = make_nonce(s);
	/* RFC 5802 5.1: n= and a= are SASLprep'd; the password is prepared again in
	   step 0, here only checked so that a bad one fails before any exchange. */
	if (!rc)
		rc = smtpi_saslprep(c->user, &user);
	if (!rc)
		rc = smtpi_saslprep(c->secret, &pass);
	if (!rc && !*user)
		rc = SMTP_EINVAL;
	if (!rc && c->authzid && *c->authzid) {
		char *prepped = NULL;

		rc = smtpi_saslprep(c->authzid, &prepped);
		if (!rc && !(authz = smtpi_scram_saslname(prepped)))
			rc = SMTP_ENOMEM;
		smtpi_free_secret(prepped);
	}
	if (!rc && !(name = smtpi_scram_saslname(user)))
		rc = SMTP_ENOMEM;
	if (!rc) {
		/* RFC 5802 6: "p=" with -PLUS; "y" when we could bind but the server
		   did not offer -PLUS (the engine passes cbind only then); else "n". */
		const char *flag = plus ? "p=" : (cb->data && cb->len) ? "y" : "n";
		struct smtpi_piece g[] = {
			{flag, strlen(flag)},
			{cb->type, plus ? strlen(cb->type) : 0},
			{",a=", authz ? 3u : 1u},
			{authz, authz ? strlen(authz) : 0},
			{",", 1},
		};
		struct smtpi_piece b[] = {{"n=", 2}, {name, strlen(name)}, {",r=", 3},
					  {s->nonce, strlen(s->nonce)}};

		s->gs2_header = smtpi_sasl_concat(g, 5, NULL);
		s->client_first_bare = smtpi_sasl_concat(b, 4, NULL);
		if (!s->gs2_header || !s->client_first_bare) {
			rc = SMTP_ENOMEM;
		} else {
			struct smtpi_piece m[] = {
				{s->gs2_header, strlen(s->gs2_header)},
				{s->client_first_bare, strlen(s->client_first_bare)}};

			rc = smtpi_sasl_encode_pieces(m, 2, ir);
		}
	}
	smtpi_free_secret(user);
	smtpi_free_secret(pass);
	smtpi_free_secret(name);
	smtpi_free_secret(authz);
	return rc;
}

struct server_first {
	const char *nonce, *salt64;
	size_t nonce_len, salt64_len;
	unsigned char *salt;
	size_t salt_len;
	unsigned iter;
};

/* One attr-val of a SCRAM message (RFC 5802 7): ALPHA "=" value, up to "," or end. */
static int next_attr(const char **p, const char *end, char *name, const char **val,
		     size_t *len)
{
	const char *s = *p, *comma;

	if (end - s < 2 || s[1] != '=' || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	*name = s[0];
	*val = s + 2;
	comma = memchr(s + 2, ',', (size_t)(end - s - 2));
	*len = (size_t)((comma ? comma : end) - *val);
	*p = comma ? comma + 1 : end;
	return 1;
}

static int parse_iter(const char *v, size_t len, unsigned *iter)
{
	unsigned long n = 0;
	size_t i;

	/* RFC 5802 7: posit-number = %x31-39 *DIGIT. */
	if (len == 0 || v[0] < '1' || v[0] > '9')
		return SMTP_EAUTH;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return SMTP_EAUTH;
		n = n * 10 + (unsigned long)(v[i] - '0');
		/* The bound stops a hostile server from buying our CPU: fail before
		   PBKDF2 runs. */
		if (n > SMTPI_SCRAM_MAX_ITER)
			return SMTP_EAUTH;
	}
	*iter = (unsigned)n;
	return 0;
}

static int parse_server_first(const struct smtpi_sasl *s, const char *m, size_t len,
			      struct server_first *f)
{
	const char *p = m, *end = m + len, *v;
	size_t vlen, clen = strlen(s->nonce);
	char name;
	int rc;

	if (memchr(m, '\0', len))
		return SMTP_EAUTH;
	/* RFC 5802 5.1: a leading "m=" is a mandatory extension we do not know. */
	if (!next_attr(&p, end, &name, &v, &vlen) || name != 'r')
		return SMTP_EAUTH;
	/* RFC 5802 5.1: the server's nonce extends ours. */
	if (!printable(v, vlen) || vlen < clen || memcmp(v, s->nonce, clen) != 0)
		return SMTP_EAUTH;
	f->nonce = v;
	f->nonce_len = vlen;
	if (!next_attr(&p, end, &name, &v, &vlen) || name != 's')
		return SMTP_EAUTH;
	f->salt64 = v;
	f->salt64_len = vlen;
	if (!next_attr(&p, end, &name, &v, &vlen) || name != 'i')
		return SMTP_EAUTH;
	rc = parse_iter(v, vlen, &f->iter);
	if (rc)
		return rc;
	/* Optional extensions after i= are ignored (RFC 5802 5.1). */
	rc = smtpi_base64_decode(f->salt64, f->salt64_len, &f->salt, &f->salt_len);
	if (rc)
		return rc == SMTP_ENOMEM ? rc : SMTP_EAUTH;
	return f->salt_len > 0 ? 0 : SMTP_EAUTH;
}

/* SaltedPassword := Hi(Normalize(password), salt, i) (RFC 5802 3), reusing the
   session's cache when salt, count and hash match. */
static int salted_password(const struct smtpi_sasl *s, const struct server_first *f,
			   unsigned char *out, size_t hlen)
{
	struct smtpi_scram_cache *cache = s->creds->cache;
	int fam = family(s->mech), rc, ok;
	size_t plen;
	char *pass = NULL;

	if (cache && cache->mech == fam && cache->iter == f->iter &&
	    cache->salted_len == hlen && f->salt64_len < sizeof(cache->salt) &&
	    memcmp(cache->salt, f->salt64, f->salt64_len) == 0 &&
	    cache->salt[f->salt64_len] == '\0') {
		memcpy(out, cache->salted, hlen);
		return 0;
	}
	rc = smtpi_saslprep(s->creds->secret, &pass);
	if (rc)
		return rc == SMTP_ENOMEM ? rc : SMTP_EAUTH;
	plen = strlen(pass);
	ok = plen <= INT_MAX && f->salt_len <= INT_MAX &&
	     PKCS5_PBKDF2_HMAC(pass, (int)plen, f->salt, (int)f->salt_len, (int)f->iter,
			       digest(s->mech), (int)hlen, out) == 1;
	smtpi_free_secret(pass);
	if (!ok)
		return SMTP_EAUTH;
	if (cache && f->salt64_len < sizeof(cache->salt)) {
		OPENSSL_cleanse(cache, sizeof(*cache));
		cache->mech = fam;
		memcpy(cache->salt, f->salt64, f->salt64_len);
		cache->salt[f->salt64_len] = '\0';
		cache->iter = f->iter;
		memcpy(cache->salted, out, hlen);
		cache->salted_len = hlen;
	}
	return 0;
}

static int hmac(const EVP_MD *md, const unsigned char *key, size_t klen, const void *data,
		size_t len, unsigned char *out)
{
	unsigned outlen = 0;

	return HMAC(md, key, (int)klen, data, len, out, &outlen) != NULL;
}

/* RFC 5802 3: ClientProof and ServerSignature over AuthMessage. */
static int keys(struct smtpi_sasl *s, const unsigned char *salted, size_t hlen,
		const char *auth, size_t auth_len, unsigned char *proof)
{
	const EVP_MD *md = digest(s->mech);
	unsigned char ckey[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
	unsigned char csig[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
	size_t i;
	int ok;

	ok = hmac(md, salted, hlen, "Client Key", 10, ckey) &&
	     EVP_Digest(ckey, hlen, stored, NULL, md, NULL) == 1 &&
	     hmac(md, stored, hlen, auth, auth_len, csig) &&
	     hmac(md, salted, hlen, "Server Key", 10, skey) &&
	     hmac(md, skey, hlen, auth, auth_len, s->server_key_sig);
	for (i = 0; ok && i < hlen; i++)
		proof[i] = ckey[i] ^ csig[i];
	s->sig_len = ok ? hlen : 0;
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(csig, sizeof(csig));
	OPENSSL_cleanse(skey, sizeof(skey));
	return ok ? 0 : SMTP_EAUTH;
}

static int client_final(struct smtpi_sasl *s, const char *m, size_t len,
			const struct server_first *f, char **response)
{
	const struct smtpi_sasl_cbind *cb = &s->cbind;
	size_t hlen = (size_t)EVP_MD_get_size(digest(s->mech)), wlen = 0, alen = 0;
	unsigned char salted[EVP_MAX_MD_SIZE], proof[EVP_MAX_MD_SIZE];
	char *cbind64 = NULL, *without = NULL, *auth = NULL, *proof64 = NULL;
	int rc;

	/* RFC 5802 7: c= is base64(gs2-header [cbind-data]); the data only with "p=". */
	{
		struct smtpi_piece v[] = {{s->gs2_header, strlen(s->gs2_header)},
					  {cb->data, is_plus(s->mech) ? cb->len : 0}};

		rc = smtpi_sasl_encode_pieces(v, 2, &cbind64);
	}
	if (!rc) {
		struct smtpi_piece v[] = {{"c=", 2}, {cbind64, strlen(cbind64)}, {",r=", 3},
					  {f->nonce, f->nonce_len}};

		without = smtpi_sasl_concat(v, 4, &wlen);
		rc = without ? 0 : SMTP_ENOMEM;
	}
	if (!rc) {
		struct smtpi_piece v[] = {{s->client_first_bare, strlen(s->client_first_bare)},
					  {",", 1}, {m, len}, {",", 1}, {without, wlen}};

		auth = smtpi_sasl_concat(v, 5, &alen);
		rc = auth ? 0 : SMTP_ENOMEM;
	}
	if (!rc)
		rc = salted_password(s, f, salted, hlen);
	if (!rc)
		rc = keys(s, salted, hlen, auth, alen, proof);
	if (!rc && !(proof64 = smtpi_base64_encode(proof, hlen)))
		rc = SMTP_ENOMEM;
	if (!rc) {
		struct smtpi_piece v[] = {{without, wlen}, {",p=", 3},
					  {proof64, strlen(proof64)}};

		rc = smtpi_sasl_encode_pieces(v, 3, response);
	}
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(proof, sizeof(proof));
	free(cbind64);
	smtpi_free_secret(without);
	smtpi_free_secret(auth);
	smtpi_free_secret(proof64);
	return rc;
}

static int server_final(struct smtpi_sasl *s, const char *m, size_t len, char **response)
{
	const char *p = m, *v;
	unsigned char *sig = NULL;
	size_t vlen, slen = 0;
	char name;
	int rc;

	if (memchr(m, '\0', len) || !next_attr(&p, m + len, &name, &v, &vlen))
		return SMTP_EAUTH;
	if (name == 'e') {
		/* RFC 5802 7: server-error-value, kept for the report. */
		struct smtpi_piece e[] = {{v, vlen}};

		smtpi_free_secret(s->error);
		s->error = smtpi_sasl_concat(e, 1, NULL);
		return s->error ? SMTP_EAUTH : SMTP_ENOMEM;
	}
	if (name != 'v' || s->sig_len == 0)
		return SMTP_EAUTH;
	rc = smtpi_base64_decode(v, vlen, &sig, &slen);
	if (rc)
		return rc == SMTP_ENOMEM ? rc : SMTP_EAUTH;
	rc = (slen == s->sig_len && CRYPTO_memcmp(sig, s->server_key_sig, slen) == 0)
		     ? 0
		     : SMTP_EAUTH;
	free(sig);
	if (rc)
		return rc;
	/* RFC 4954 4: the server's additional data came as a 334; answer it empty. */
	*response = calloc(1, 1);
	if (!*response)
		return SMTP_ENOMEM;
	s->verified = 1;
	return 0;
}

int smtpi_scram_step(struct smtpi_sasl *s, const char *msg, size_t len, char **response)
{
	struct server_first f;
	int rc;

	if (!s->gs2_header || !s->client_first_bare)
		return SMTP_EAUTH;
	if (s->step == 1)
		return server_final(s, msg, len, response);
	if (s->step != 0)
		return SMTP_EAUTH;
	memset(&f, 0, sizeof(f));
	rc = parse_server_first(s, msg, len, &f);
	if (!rc)
		rc = client_final(s, msg, len, &f, response);
	free(f.salt);
	return rc;
}

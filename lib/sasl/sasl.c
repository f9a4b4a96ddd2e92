/* SASL mechanisms for SMTP AUTH (RFC 4954): selection, PLAIN, LOGIN, CRAM-MD5,
   EXTERNAL, XOAUTH2, OAUTHBEARER. SCRAM lives in scram.c. */
#include "sasl/sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "wire/base64.h"
#include "sasl/pieces.h"
#include "sasl/scram.h"
#include "smtp.h"
#include "wire/text.h"

#define SCRAM_MECHS                                                                  \
	(SMTPI_MECH_SCRAM_SHA1 | SMTPI_MECH_SCRAM_SHA1_PLUS | SMTPI_MECH_SCRAM_SHA256 |  \
	 SMTPI_MECH_SCRAM_SHA256_PLUS)
#define PLUS_MECHS (SMTPI_MECH_SCRAM_SHA1_PLUS | SMTPI_MECH_SCRAM_SHA256_PLUS)
#define TOKEN_MECHS (SMTPI_MECH_XOAUTH2 | SMTPI_MECH_OAUTHBEARER)

static const struct {
	unsigned bit;
	const char *name;
} mechs[] = {
	{SMTPI_MECH_PLAIN, "PLAIN"},
	{SMTPI_MECH_LOGIN, "LOGIN"},
	{SMTPI_MECH_CRAM_MD5, "CRAM-MD5"},
	{SMTPI_MECH_SCRAM_SHA1, "SCRAM-SHA-1"},
	{SMTPI_MECH_SCRAM_SHA1_PLUS, "SCRAM-SHA-1-PLUS"},
	{SMTPI_MECH_SCRAM_SHA256, "SCRAM-SHA-256"},
	{SMTPI_MECH_SCRAM_SHA256_PLUS, "SCRAM-SHA-256-PLUS"},
	{SMTPI_MECH_XOAUTH2, "XOAUTH2"},
	{SMTPI_MECH_OAUTHBEARER, "OAUTHBEARER"},
	{SMTPI_MECH_EXTERNAL, "EXTERNAL"},
};

#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

unsigned smtpi_sasl_mech_from_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (strlen(mechs[i].name) == len && strncasecmp(mechs[i].name, name, len) == 0)
			return mechs[i].bit;
	return 0;
}

const char *smtpi_sasl_mech_name(unsigned mech)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (mechs[i].bit == mech)
			return mechs[i].name;
	return NULL;
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t';
}

/* The next name of a space-separated list: *p advances past it; returns its length
   (0 at the end). */
static size_t next_name(const char **p, const char **name)
{
	const char *s = *p;
	size_t len = 0;

	while (is_sep(*s))
		s++;
	*name = s;
	while (s[len] != '\0' && !is_sep(s[len]))
		len++;
	*p = s + len;
	return len;
}

unsigned smtpi_sasl_mech_list(const char *names, int strict)
{
	unsigned set = 0;
	const char *name;
	size_t len;

	if (!names)
		return 0;
	while ((len = next_name(&names, &name)) > 0) {
		unsigned m = smtpi_sasl_mech_from_name(name, len);

		if (!m && strict)
			return 0;
		set |= m;
	}
	return set;
}

static int usable(unsigned m, int token, int have_secret, int have_cbind, int named)
{
	if (m == SMTPI_MECH_EXTERNAL)
		return named;
	if (!have_secret)
		return 0;
	if (m & TOKEN_MECHS)
		return token;
	if (m & PLUS_MECHS)
		return !token && have_cbind;
	return !token;
}

unsigned smtpi_sasl_choose(unsigned offered, const char *wanted, int secret_is_token,
			   int have_secret, int have_cbind, int have_cert)
{
	/* Strongest first. LOGIN and CRAM-MD5 come last: LOGIN has no standard, and
	   CRAM-MD5 makes the server store the password in the clear. */
	static const unsigned order[] = {
		SMTPI_MECH_SCRAM_SHA256_PLUS, SMTPI_MECH_SCRAM_SHA1_PLUS,
		SMTPI_MECH_SCRAM_SHA256,      SMTPI_MECH_SCRAM_SHA1,
		SMTPI_MECH_PLAIN,             SMTPI_MECH_LOGIN,
		SMTPI_MECH_CRAM_MD5,          SMTPI_MECH_OAUTHBEARER,
		SMTPI_MECH_XOAUTH2,
	};
	const char *name;
	size_t i, len;

	if (wanted) {
		while ((len = next_name(&wanted, &name)) > 0) {
			unsigned m = smtpi_sasl_mech_from_name(name, len);

			if ((m & offered) &&
			    usable(m, secret_is_token, have_secret, have_cbind, 1))
				return m;
		}
		return 0;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((order[i] & offered) &&
		    usable(order[i], secret_is_token, have_secret, have_cbind, 0))
			return order[i];
	if (!have_secret && have_cert && (offered & SMTPI_MECH_EXTERNAL))
		return SMTPI_MECH_EXTERNAL;
	return 0;
}

#define PIECE(s) {(s), strlen(s)}

static char *dup_text(const char *t)
{
	struct smtpi_piece v[] = {PIECE(t)};

	return smtpi_sasl_concat(v, 1, NULL);
}

/* RFC 6750 2.1 b64token, the token syntax RFC 7628 3.1 requires. */
static int is_b64token(const char *t)
{
	size_t i = 0;

	while (t[i] != '\0' && (strchr("-._~+/", t[i]) ||
				(t[i] >= '0' && t[i] <= '9') ||
				((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z')))
		i++;
	if (i == 0)
		return 0;
	while (t[i] == '=')
		i++;
	return t[i] == '\0';
}

static int start_plain(const struct smtpi_sasl_creds *c, char **ir)
{
	/* RFC 4616 2: [authzid] NUL authcid NUL passwd */
	const char *authz = c->authzid ? c->authzid : "";
	struct smtpi_piece v[] = {PIECE(authz), {"", 1}, PIECE(c->user), {"", 1},
				  PIECE(c->secret)};

	return smtpi_sasl_encode_pieces(v, 5, ir);
}

static int start_xoauth2(const struct smtpi_sasl_creds *c, char **ir)
{
	struct smtpi_piece v[] = {{"user=", 5}, PIECE(c->user), {"\001auth=Bearer ", 13},
				  PIECE(c->secret), {"\001\001", 2}};

	if (smtpi_check_text(c->user, strlen(c->user)))
		return SMTP_EINVAL;
	return smtpi_sasl_encode_pieces(v, 5, ir);
}

static int start_oauthbearer(const struct smtpi_sasl_creds *c, char **ir)
{
	/* RFC 7628 3.1: gs2-header kvsep [host=..kvsep] [port=..kvsep] auth=.. kvsep kvsep */
	const char *who = c->authzid && *c->authzid ? c->authzid : c->user;
	const char *host = c->host ? c->host : "";
	char port[16] = "", *name = NULL;
	int n = 0, rc;

	if (who && *who) {
		if (smtpi_check_text(who, strlen(who)))
			return SMTP_EINVAL;
		name = smtpi_scram_saslname(who);
		if (!name)
			return SMTP_ENOMEM;
	}
	if (smtpi_check_text(host, strlen(host))) {
		free(name);
		return SMTP_EINVAL;
	}
	if (c->port > 0)
		n = snprintf(port, sizeof(port), "port=%d\001", c->port);
	{
		struct smtpi_piece v[] = {
			{"n,a=", name ? 4u : 2u}, {name, name ? strlen(name) : 0},
			{",\001", 2},             {"host=", *host ? 5u : 0u},
			PIECE(host),              {"\001", *host ? 1u : 0u},
			{port, n > 0 ? (size_t)n : 0}, {"auth=Bearer ", 12},
			PIECE(c->secret),         {"\001\001", 2},
		};

		rc = smtpi_sasl_encode_pieces(v, sizeof(v) / sizeof(v[0]), ir);
		free(name);
		return rc;
	}
}

int smtpi_sasl_start(struct smtpi_sasl *s, unsigned mech, const struct smtpi_sasl_creds *c,
		     const struct smtpi_sasl_cbind *cbind, char **ir)
{
	*ir = NULL;
	if (!c || !smtpi_sasl_mech_name(mech))
		return SMTP_ENOMECH;
	s->mech = (int)mech;
	s->step = 0;
	s->verified = 0;
	s->creds = c;
	if (cbind)
		s->cbind = *cbind;
	else
		memset(&s->cbind, 0, sizeof(s->cbind));
	if (mech == SMTPI_MECH_EXTERNAL) {
		/* RFC 4422 A.1: the message is the authzid; RFC 4954 4: empty is "=". */
		const char *authz = c->authzid ? c->authzid : "";

		if (smtpi_check_text(authz, strlen(authz)))
			return SMTP_EINVAL;
		*ir = *authz ? smtpi_base64_encode(authz, strlen(authz)) : dup_text("=");
		return *ir ? 0 : SMTP_ENOMEM;
	}
	if (!c->secret || (!c->user && mech != SMTPI_MECH_OAUTHBEARER))
		return SMTP_EINVAL;
	if ((mech & TOKEN_MECHS) && !is_b64token(c->secret))
		return SMTP_EINVAL;
	switch (mech) {
	case SMTPI_MECH_PLAIN:
		return start_plain(c, ir);
	case SMTPI_MECH_XOAUTH2:
		return start_xoauth2(c, ir);
	case SMTPI_MECH_OAUTHBEARER:
		return start_oauthbearer(c, ir);
	case SMTPI_MECH_LOGIN:
	case SMTPI_MECH_CRAM_MD5:
		return 0;
	default:
		return smtpi_scram_start(s, ir);
	}
}

static int step_cram_md5(const struct smtpi_sasl *s, const unsigned char *msg, size_t len,
			 char **response)
{
	/* RFC 2195 2: user SP lower-case hex of HMAC-MD5(password, challenge). */
	const char *secret = s->creds->secret;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	int rc;

	if (len == 0 || strlen(secret) > 0x7fffffff)
		return SMTP_EAUTH;
	if (!HMAC(EVP_md5(), secret, (int)strlen(secret), msg, len, mac, &maclen))
		return SMTP_EAUTH;
	for (i = 0; i < maclen; i++) {
		hex[2 * i] = "0123456789abcdef"[mac[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[mac[i] & 15];
	}
	{
		struct smtpi_piece v[] = {PIECE(s->creds->user), {" ", 1},
					  {hex, 2 * (size_t)maclen}};

		rc = smtpi_sasl_encode_pieces(v, 3, response);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/* RFC 7628 3.2.2: an OAuth error challenge is a JSON object; kept for the report. */
static int keep_error(struct smtpi_sasl *s, const unsigned char *msg, size_t len)
{
	struct smtpi_piece v[] = {{msg, len}};

	smtpi_free_secret(s->error);
	s->error = smtpi_sasl_concat(v, 1, NULL);
	return s->error ? 0 : SMTP_ENOMEM;
}

static int dispatch(struct smtpi_sasl *s, int step, const unsigned char *msg, size_t len,
		    char **response)
{
	const struct smtpi_sasl_creds *c = s->creds;
	int rc;

	switch ((unsigned)s->mech) {
	case SMTPI_MECH_LOGIN:
		/* The prompts ("Username:", "Password:", some with a trailing NUL) are
		   not standardised: answer by position, and only twice. */
		if (step > 1)
			return SMTP_EPROTOCOL;
		*response = smtpi_base64_encode(step == 0 ? c->user : c->secret,
						strlen(step == 0 ? c->user : c->secret));
		return *response ? 0 : SMTP_ENOMEM;
	case SMTPI_MECH_CRAM_MD5:
		return step == 0 ? step_cram_md5(s, msg, len, response) : SMTP_EPROTOCOL;
	case SMTPI_MECH_OAUTHBEARER:
	case SMTPI_MECH_XOAUTH2:
		if (step > 0)
			return SMTP_EPROTOCOL;
		rc = keep_error(s, msg, len);
		if (rc)
			return rc;
		/* RFC 7628 3.2.3: the client answers an error with a single %x01; for
		   XOAUTH2 Google documents an empty response. */
		*response = dup_text(s->mech == SMTPI_MECH_OAUTHBEARER ? "AQ==" : "");
		return *response ? 0 : SMTP_ENOMEM;
	default:
		if ((unsigned)s->mech & SCRAM_MECHS)
			return smtpi_scram_step(s, (const char *)msg, len, response);
		/* PLAIN and EXTERNAL are done after the initial response. */
		return SMTP_EPROTOCOL;
	}
}

int smtpi_sasl_step(struct smtpi_sasl *s, const char *challenge, size_t len,
		    char **response)
{
	unsigned char *msg = NULL;
	size_t mlen = 0;
	int rc;

	*response = NULL;
	if (!s->creds)
		return SMTP_EAUTH;
	while (len > 0 && (challenge[len - 1] == '\0' || is_sep(challenge[len - 1]) ||
			   challenge[len - 1] == '\r' || challenge[len - 1] == '\n'))
		len--;
	/* A bare "=" is read as the empty challenge some servers write that way. */
	if (len == 1 && challenge[0] == '=')
		len = 0;
	rc = smtpi_base64_decode(len ? challenge : "", len, &msg, &mlen);
	if (rc)
		return rc == SMTP_EINVAL ? SMTP_EAUTH : rc;
	rc = dispatch(s, s->step, msg, mlen, response);
	s->step++;
	OPENSSL_cleanse(msg, mlen);
	free(msg);
	return rc;
}

int smtpi_sasl_success(const struct smtpi_sasl *s)
{
	switch ((unsigned)s->mech) {
	case SMTPI_MECH_PLAIN:
	case SMTPI_MECH_EXTERNAL:
		return 0;
	case SMTPI_MECH_LOGIN:
		return s->step == 2 ? 0 : SMTP_EAUTH;
	case SMTPI_MECH_CRAM_MD5:
		return s->step == 1 ? 0 : SMTP_EAUTH;
	case SMTPI_MECH_XOAUTH2:
	case SMTPI_MECH_OAUTHBEARER:
		return s->error ? SMTP_EAUTH : 0;
	default:
		/* RFC 5802 3: the exchange fails unless the server proved itself. */
		return s->verified ? 0 : SMTP_EAUTH;
	}
}

void smtpi_sasl_clear(struct smtpi_sasl *s)
{
	if (!s)
		return;
	smtpi_free_secret(s->client_first_bare);
	smtpi_free_secret(s->gs2_header);
	smtpi_free_secret(s->error);
	OPENSSL_cleanse(s, sizeof(*s));
	memset(s, 0, sizeof(*s));
}

/* SASL mechanisms for SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, CRAM-MD5
   (RFC 2195), SCRAM-SHA-1/-256 with -PLUS (RFC 5802, RFC 7677, RFC 9266), XOAUTH2,
   OAUTHBEARER (RFC 7628), EXTERNAL (RFC 4422 appendix A).
   Pure: no I/O. Challenges and responses are the base64 text of the 334 lines. */
#ifndef SMTPI_SASL_H
#define SMTPI_SASL_H

#include <stddef.h>

enum smtpi_mech {
	SMTPI_MECH_PLAIN = 1u << 0,
	SMTPI_MECH_LOGIN = 1u << 1,
	SMTPI_MECH_CRAM_MD5 = 1u << 2,
	SMTPI_MECH_SCRAM_SHA1 = 1u << 3,
	SMTPI_MECH_SCRAM_SHA1_PLUS = 1u << 4,
	SMTPI_MECH_SCRAM_SHA256 = 1u << 5,
	SMTPI_MECH_SCRAM_SHA256_PLUS = 1u << 6,
	SMTPI_MECH_XOAUTH2 = 1u << 7,
	SMTPI_MECH_OAUTHBEARER = 1u << 8,
	SMTPI_MECH_EXTERNAL = 1u << 9
};

/* Highest SCRAM iteration count accepted: a hostile server cannot make us spend more
   than a few tens of milliseconds of CPU. */
#define SMTPI_SCRAM_MAX_ITER 100000

/* Salted password kept by the session so a reconnect need not redo PBKDF2. */
struct smtpi_scram_cache {
	int mech;                  /* 0 when empty */
	char salt[128];            /* base64 salt as the server sent it */
	unsigned iter;
	unsigned char salted[64];
	size_t salted_len;
};

struct smtpi_sasl_creds {
	const char *user;          /* authentication identity (UTF-8) */
	const char *authzid;       /* authorization identity, or NULL */
	const char *secret;        /* password, or OAuth bearer token */
	int secret_is_token;       /* secret is an OAuth token */
	const char *host;          /* server host, for OAUTHBEARER's host= */
	int port;                  /* server port, for OAUTHBEARER's port= */
	struct smtpi_scram_cache *cache; /* may be NULL */
};

/* TLS channel binding data for the -PLUS mechanisms. */
struct smtpi_sasl_cbind {
	const char *type;          /* "tls-exporter" (TLS 1.3) or "tls-unique" (TLS 1.2) */
	const unsigned char *data;
	size_t len;
};

struct smtpi_sasl {
	int mech;
	int step;
	int verified;              /* SCRAM: server signature checked */
	char *client_first_bare;   /* SCRAM */
	char *gs2_header;          /* SCRAM */
	char nonce[48];            /* SCRAM client nonce (base64 text) */
	unsigned char server_key_sig[64]; /* SCRAM expected ServerSignature */
	size_t sig_len;
	const struct smtpi_sasl_creds *creds;
	struct smtpi_sasl_cbind cbind;
	char *error;               /* OAUTHBEARER/XOAUTH2: the server's decoded JSON error */
};

/* Maps a mechanism name (case-insensitive, len octets) to its bit, or 0 if unknown. */
unsigned smtpi_sasl_mech_from_name(const char *name, size_t len);
/* The IANA name of one mechanism bit ("SCRAM-SHA-256-PLUS"), or NULL. */
const char *smtpi_sasl_mech_name(unsigned mech);
/* Parses a space-separated list of names into a bit set; unknown names are ignored
   unless strict (then returns 0 for the whole list). */
unsigned smtpi_sasl_mech_list(const char *names, int strict);

/* Picks the mechanism to use. offered: the server's AUTH list (bits). wanted: the
   caller's ordered list (space-separated names) or NULL for the default order:
   SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS (only when have_cbind), SCRAM-SHA-256,
   SCRAM-SHA-1, PLAIN, LOGIN, CRAM-MD5 for a password; OAUTHBEARER, XOAUTH2 for a
   token; EXTERNAL only when named or have_cert and no secret. Returns the bit or 0. */
unsigned smtpi_sasl_choose(unsigned offered, const char *wanted, int secret_is_token,
			   int have_secret, int have_cbind, int have_cert);

/* Starts an exchange. *ir receives the initial response as base64 ("=" for an empty
   one, RFC 4954 4) in new memory, or NULL when the mechanism waits for a challenge
   (LOGIN, CRAM-MD5). creds and cbind must outlive the exchange. Returns 0,
   SMTP_EINVAL (user name or secret not allowed, e.g. SASLprep prohibited characters),
   SMTP_ENOMECH (-PLUS without channel binding), SMTP_ENOMEM. */
int smtpi_sasl_start(struct smtpi_sasl *s, unsigned mech, const struct smtpi_sasl_creds *c,
		     const struct smtpi_sasl_cbind *cbind, char **ir);

/* Answers a 334 challenge (base64 text, trailing NULs and spaces tolerated).
   *response receives base64 in new memory ("" for an empty response). Returns 0,
   SMTP_EAUTH (malformed challenge, nonce mismatch, iteration count over the bound,
   wrong server signature; for OAUTHBEARER an error JSON is stored in s->error and the
   response is the required %x01), SMTP_ENOMEM. */
int smtpi_sasl_step(struct smtpi_sasl *s, const char *challenge, size_t len,
		    char **response);

/* On 235: returns 0 when the exchange is complete from our side (SCRAM: the server
   proved it knows the password), else SMTP_EAUTH. */
int smtpi_sasl_success(const struct smtpi_sasl *s);

/* Wipes (OPENSSL_cleanse) and frees everything the exchange holds. */
void smtpi_sasl_clear(struct smtpi_sasl *s);

/* Wipes and frees a malloc'd string (responses carry secrets). NULL allowed. */
void smtpi_sasl_free_secret(char *p);

#endif

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

/* Salted password kept by the session so a reconnect need not redo PBKDF2. The owner
   zeroes it when the password changes: an entry is matched on mech, salt and iter
   only. */
struct smtpi_scram_cache {
	int mech;                  /* SMTPI_MECH_SCRAM_SHA1 or _SHA256 (a -PLUS mechanism
				      shares its twin's entry); 0 when empty */
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
	char nonce[48];            /* SCRAM client nonce (base64 text); normally left empty
				      for smtpi_sasl_start to fill from 24 random octets,
				      set beforehand only by tests to inject an RFC vector */
	unsigned char server_key_sig[64]; /* SCRAM expected ServerSignature */
	size_t sig_len;
	const struct smtpi_sasl_creds *creds;
	struct smtpi_sasl_cbind cbind;
	char *error;               /* OAUTHBEARER/XOAUTH2: the server's decoded JSON error;
				      SCRAM: the server-final e= value */
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

/* Starts an exchange. s must be zeroed (or smtpi_sasl_clear'ed) before, except for
   s->nonce (see above). *ir receives the initial response as base64 ("=" for an empty
   one, RFC 4954 4) in new memory, or NULL when the mechanism waits for a challenge
   (LOGIN, CRAM-MD5); the engine sends it on the AUTH line. creds and cbind->data must
   outlive the exchange (the cbind struct itself is copied). For SCRAM without -PLUS,
   pass cbind only when the server did not offer the -PLUS variant: the gs2 flag is
   then "y" (RFC 5802 6), else "n". Returns 0, SMTP_EINVAL (user name or secret not
   allowed, e.g. SASLprep prohibited characters, control characters in an XOAUTH2 user
   name, a token that is not an RFC 6750 b64token), SMTP_ENOMECH (unknown mechanism,
   -PLUS without channel binding), SMTP_ENOMEM, SMTP_EAUTH (the random generator
   failed). */
int smtpi_sasl_start(struct smtpi_sasl *s, unsigned mech, const struct smtpi_sasl_creds *c,
		     const struct smtpi_sasl_cbind *cbind, char **ir);

/* Answers a 334 challenge (base64 text, trailing NULs and white space tolerated; a
   lone "=" reads as empty). *response receives base64 in new memory ("" for an empty
   response). An OAUTHBEARER or XOAUTH2 challenge is the server's error: its JSON is
   stored in s->error, the response is the required %x01 ("AQ==", RFC 7628 3.2.3) or
   for XOAUTH2 "", and the return is 0 (the server then answers 535). Returns 0,
   SMTP_EPROTOCOL (a challenge after the mechanism's last response: PLAIN or
   EXTERNAL after the initial response, LOGIN after the password, a second
   CRAM-MD5 or OAuth challenge), SMTP_EAUTH (a malformed challenge, nonce mismatch,
   iteration count over the bound, wrong server signature or SCRAM e=), SMTP_ENOMEM. */
int smtpi_sasl_step(struct smtpi_sasl *s, const char *challenge, size_t len,
		    char **response);

/* On 235: returns 0 when the exchange is complete from our side (SCRAM: the server
   proved it knows the password; LOGIN, CRAM-MD5: every step answered; OAuth: no
   error challenge came), else SMTP_EAUTH. */
int smtpi_sasl_success(const struct smtpi_sasl *s);

/* Wipes (OPENSSL_cleanse) and frees everything the exchange holds. */
void smtpi_sasl_clear(struct smtpi_sasl *s);


#endif

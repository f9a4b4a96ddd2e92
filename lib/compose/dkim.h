/* DKIM (RFC 6376) internals: the signer object, canonicalisation (3.4), body hashes,
   and the DKIM-Signature field (3.5, 3.7). */
#ifndef SMTPI_DKIM_H
#define SMTPI_DKIM_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h"
#include "wire/buf.h"

struct smtp_dkim {
	char *domain;     /* A-labels */
	char *selector;
	EVP_PKEY *key;
	int ed25519;      /* else RSA */
	smtp_dkim_canon hcanon, bcanon;
	char *headers;    /* lower-case colon-separated list, NULL: the default */
	int64_t expiry;   /* seconds, 0: none */
};

/* Whether the signer has a domain and a key. */
int smtpi_dkim_ready(const smtp_dkim *d);
/* A copy sharing the key (reference counted by OpenSSL), or NULL. */
smtp_dkim *smtpi_dkim_copy(const smtp_dkim *d);

/* Receives canonical octets. */
typedef void (*smtpi_sink_fn)(void *ud, const unsigned char *p, size_t n);

/* Streaming body canonicalisation (RFC 6376 3.4.3, 3.4.4). Line ends may be CRLF,
   LF or a lone CR, each read as CRLF, as the library sends them. */
struct smtpi_canon {
	int relaxed;
	smtpi_sink_fn sink;
	void *ud;
	int pending_cr;        /* a CR was the last octet */
	int pending_wsp;       /* relaxed: white space waits for a following octet */
	size_t line_len;       /* octets of the current line sent (or held) */
	uint64_t empty_lines;  /* empty lines held back: dropped if at the end */
	int any;               /* some line was sent */
	unsigned char buf[4096];
	size_t blen;
};
void smtpi_canon_init(struct smtpi_canon *b, int relaxed, smtpi_sink_fn sink, void *ud);
void smtpi_canon_update(struct smtpi_canon *b, const unsigned char *p, size_t n);
void smtpi_canon_final(struct smtpi_canon *b);

/* The canonical form of one header field f[0..n) (from its name to the end of its
   last line, without that line's CRLF) into out (room for n + 2), CRLF-terminated.
   Returns the length. */
size_t smtpi_canon_header(int relaxed, const unsigned char *f, size_t n, unsigned char *out);

/* SHA-256 of the body in the canonical forms signers need: bit 1 << SMTP_DKIM_RELAXED
   and 1 << SMTP_DKIM_SIMPLE of need. */
struct smtpi_body_hash {
	EVP_MD_CTX *md[2];            /* [SMTP_DKIM_RELAXED], [SMTP_DKIM_SIMPLE] */
	struct smtpi_canon canon[2];
	unsigned char out[2][32];
};
int smtpi_body_hash_init(struct smtpi_body_hash *h, unsigned need);
void smtpi_body_hash_update(struct smtpi_body_hash *h, const unsigned char *p, size_t n);
int smtpi_body_hash_final(struct smtpi_body_hash *h);
void smtpi_body_hash_free(struct smtpi_body_hash *h);

/* Appends d's DKIM-Signature field (folded, CRLF-terminated) for the header section
   hdr[0..n) (fields with CRLF line ends, no empty line) and the body hash bh in d's
   body canonicalisation, signed at time now. Returns 0, SMTP_EINVAL (no From field),
   SMTP_ENOMEM (also when OpenSSL fails). */
int smtpi_dkim_field(const smtp_dkim *d, const unsigned char *hdr, size_t n,
		     const unsigned char bh[32], int64_t now, struct smtpi_buf *out);

#endif

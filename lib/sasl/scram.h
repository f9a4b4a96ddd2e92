/* SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677, channel
   binding RFC 5929 / RFC 9266), and the helpers sasl.c and scram.c share.
   Internal to the SASL module: the engine uses lib/sasl.h only. */
#ifndef SMTPI_SCRAM_H
#define SMTPI_SCRAM_H

#include <stddef.h>

#include "sasl/sasl.h"

struct smtpi_piece {
	const void *p; /* may be NULL when len is 0 */
	size_t len;
};

/* Concatenates n pieces into new memory, NUL-terminated; *len (may be NULL) receives
   the length without the NUL. Returns NULL when out of memory. */
char *smtpi_sasl_concat(const struct smtpi_piece *v, size_t n, size_t *len);

/* Base64 of the concatenated pieces into *out (new memory); the plain concatenation
   is wiped. Returns 0 or SMTP_ENOMEM. */
int smtpi_sasl_encode_pieces(const struct smtpi_piece *v, size_t n, char **out);

/* A saslname (RFC 5802 5.1): "," written "=2C" and "=" written "=3D", in new memory.
   Returns NULL when out of memory. */
char *smtpi_scram_saslname(const char *name);

/* Builds the client-first-message (s->mech, s->creds, s->cbind already set). Returns
   0, SMTP_EINVAL, SMTP_ENOMECH (-PLUS without channel binding data), SMTP_ENOMEM. */
int smtpi_scram_start(struct smtpi_sasl *s, char **ir);

/* Answers server-first (step 0) or server-final (step 1); msg is the decoded
   challenge. Returns 0, SMTP_EAUTH, SMTP_ENOMEM. */
int smtpi_scram_step(struct smtpi_sasl *s, const char *msg, size_t len, char **response);

#endif

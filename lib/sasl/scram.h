/* SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677, channel
   binding RFC 5929 / RFC 9266).
   Internal to the SASL module: the engine uses lib/sasl.h only. */
#ifndef SMTPI_SCRAM_H
#define SMTPI_SCRAM_H

#include <stddef.h>

#include "sasl/pieces.h"
#include "sasl/sasl.h"

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

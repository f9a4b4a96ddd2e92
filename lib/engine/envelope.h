/* The envelope of a transaction: checks before MAIL and the MAIL and RCPT lines with
   their extension parameters (RFC 1870 SIZE, RFC 6152 / 3030 BODY, RFC 6531 SMTPUTF8,
   RFC 3461 DSN, RFC 8689 REQUIRETLS), and A-label addresses (RFC 5891). */
#ifndef SMTPI_ENVELOPE_H
#define SMTPI_ENVELOPE_H

#include "engine/engine.h"

/* At submit: scans in-memory content once for 8-bit and NUL octets (and 8-bit
   octets in its header block) and over-long lines. Returns 0 or SMTP_EINVAL (a NUL
   octet in text content, a line over 998 octets without allow_long_lines). */
int smtpi_envelope_scan(smtp_message *m);
/* Before the first MAIL: what the server's extensions allow. Returns 0, or the
   local error with its reason in why: SMTP_EUTF8, SMTP_ESIZE, SMTP_ENOTLS (REQUIRETLS
   without a verified TLS connection or not offered),
   SMTP_EINVAL (8-bit or binary content the server cannot take, DSN required but not
   offered, an IDN libidn2 refuses), SMTP_ENOMEM. */
int smtpi_envelope_check(struct smtpi_engine *e, smtp_message *m, char *why, size_t why_len);
/* Whether this transaction sends BDAT chunks. */
int smtpi_envelope_use_bdat(const struct smtpi_engine *e, const smtp_message *m);
/* Room for a MAIL or RCPT line: a 320-octet address, an ORCPT address xtext-encoded
   (3 octets each at most), ENVID's 100 characters likewise, and the keywords. */
#define SMTPI_ENVELOPE_LINE_MAX 2048
/* Writes the MAIL or RCPT command line (without CRLF) at dst (room for
   SMTPI_ENVELOPE_LINE_MAX octets); returns its length. */
size_t smtpi_envelope_mail_line(const struct smtpi_engine *e, const smtp_message *m, char *dst);
size_t smtpi_envelope_rcpt_line(const struct smtpi_engine *e, const smtp_message *m, size_t i,
				char *dst);
/* Frees the A-label copies. */
void smtpi_envelope_clear(smtp_message *m);

#endif

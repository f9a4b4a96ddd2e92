/* SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and
   passwords. */
#ifndef SMTPI_SASLPREP_H
#define SMTPI_SASLPREP_H

/* Prepares the UTF-8 string in: maps non-ASCII spaces (C.1.2) to SPACE and the
   characters of B.1 to nothing, normalises with NFKC, rejects the prohibited output
   of RFC 4013 2.3 and strings failing the bidi rules of RFC 3454 6. Unassigned code
   points are allowed (a "query" string, RFC 3454 7). *out receives the result in new
   memory; free it with smtpi_free_secret(). Returns 0, SMTP_EINVAL (invalid
   UTF-8, prohibited character, bidi violation), SMTP_ENOMEM. */
int smtpi_saslprep(const char *in, char **out);

#endif

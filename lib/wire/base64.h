/* Base64 (RFC 4648 section 4) for SASL payloads: padded encoding, strict decoding. */
#ifndef SMTPI_BASE64_H
#define SMTPI_BASE64_H

#include <stddef.h>

/* Encodes len octets as padded base64 text, NUL-terminated, in new memory ("" for
   len 0). Returns NULL when out of memory. */
char *smtpi_base64_encode(const void *in, size_t len);

/* Decodes len octets of base64 text into new memory, NUL-terminated for convenience
   (*outlen excludes the NUL). Strict: the length is a multiple of 4, only the RFC 4648
   alphabet, "=" only as final padding, unused bits zero (RFC 4648 3.5); no white space.
   Returns 0, SMTP_EINVAL (malformed), SMTP_ENOMEM. */
int smtpi_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif

/* Building SASL messages from pieces (pieces.c); internal to lib/sasl. */
#ifndef SMTPI_PIECES_H
#define SMTPI_PIECES_H

#include <stddef.h>

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

#endif

/* Building SASL messages from pieces: concatenation and base64, the plain text
   wiped after encoding (it carries secrets). Shared by sasl.c and scram.c. */
#include "sasl/pieces.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "smtp.h"
#include "wire/base64.h"

char *smtpi_sasl_concat(const struct smtpi_piece *v, size_t n, size_t *len)
{
	size_t i, total = 0, o = 0;
	char *out;

	for (i = 0; i < n; i++) {
		if (v[i].len > (size_t)-1 - 1 - total)
			return NULL;
		total += v[i].len;
	}
	out = malloc(total + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (v[i].len > 0)
			memcpy(out + o, v[i].p, v[i].len);
		o += v[i].len;
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

int smtpi_sasl_encode_pieces(const struct smtpi_piece *v, size_t n, char **out)
{
	size_t len = 0;
	char *buf = smtpi_sasl_concat(v, n, &len);

	*out = NULL;
	if (!buf)
		return SMTP_ENOMEM;
	*out = smtpi_base64_encode(buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return *out ? 0 : SMTP_ENOMEM;
}

/* Base64 (RFC 4648 section 4). Our own code rather than EVP_DecodeBlock, which
   accepts surrounding white space and reports padding as extra zero octets. */
#include "wire/base64.h"

#include <stdlib.h>

#include "smtp.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *smtpi_base64_encode(const void *in, size_t len)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	char *out;

	if (len > ((size_t)-1 - 1) / 4 * 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 3 <= len; i += 3) {
		unsigned long v =
			(unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)p[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int smtpi_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	size_t i, o = 0, pad = 0;
	unsigned char *buf;

	if (len % 4 != 0)
		return SMTP_EINVAL;
	if (len > 0 && in[len - 1] == '=')
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return SMTP_ENOMEM;
	for (i = 0; i < len; i += 4) {
		int d[4];
		unsigned long v = 0;
		size_t k, valid = (i + 4 == len) ? 4 - pad : 4;

		for (k = 0; k < 4; k++) {
			d[k] = k < valid ? sextet(in[i + k]) : 0;
			if (d[k] < 0)
				goto bad;
			v = v << 6 | (unsigned long)d[k];
		}
		/* RFC 4648 3.5: the bits under the padding must be zero. */
		if ((valid == 2 && (v & 0xffff) != 0) || (valid == 3 && (v & 0xff) != 0))
			goto bad;
		buf[o++] = (unsigned char)(v >> 16);
		if (valid > 2)
			buf[o++] = (unsigned char)(v >> 8 & 0xff);
		if (valid > 3)
			buf[o++] = (unsigned char)(v & 0xff);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return SMTP_EINVAL;
}

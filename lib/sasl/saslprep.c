/* SASLprep (RFC 4013) over stringprep (RFC 3454). The mapping and prohibition tables
   are the RFC 3454 appendix ranges SASLprep names; NFKC and the bidi classes (for
   tables D.1 and D.2) come from libunistring, whose Unicode version is newer than the
   3.2 that RFC 3454 fixes. Table A.1 (unassigned) is not checked: every string is
   prepared as a query string. */
#include "sasl/saslprep.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "smtp.h"

struct range {
	uint32_t lo, hi;
};

/* RFC 3454 C.1.2: non-ASCII space characters. */
static const struct range table_c12[] = {
	{0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200B},
	{0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

/* RFC 3454 B.1: commonly mapped to nothing. */
static const struct range table_b1[] = {
	{0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x1806, 0x1806}, {0x180B, 0x180D},
	{0x200B, 0x200D}, {0x2060, 0x2060}, {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF},
};

/* RFC 4013 2.3: C.1.2, C.2.1, C.2.2, C.3, C.4 (except the per-plane non-characters,
   checked in prohibited()), C.5, C.6, C.7, C.8, C.9. */
static const struct range table_prohibited[] = {
	{0x0000, 0x001F}, {0x007F, 0x009F}, {0x00A0, 0x00A0},   {0x0340, 0x0341},
	{0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x1680, 0x1680},   {0x180E, 0x180E},
	{0x2000, 0x200F}, {0x2028, 0x202F}, {0x205F, 0x2063},   {0x206A, 0x206F},
	{0x2FF0, 0x2FFB}, {0x3000, 0x3000}, {0xD800, 0xF8FF},   {0xFDD0, 0xFDEF},
	{0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFD}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
	{0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
};

static int in_table(const struct range *t, size_t n, uint32_t c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c >= t[i].lo && c <= t[i].hi)
			return 1;
	return 0;
}

#define IN(t, c) in_table((t), sizeof(t) / sizeof((t)[0]), (c))

static int prohibited(uint32_t c)
{
	/* C.4: U+nFFFE and U+nFFFF in every plane. */
	if ((c & 0xFFFE) == 0xFFFE)
		return 1;
	return IN(table_prohibited, c);
}

/* RFC 3454 6: a string with RandALCat characters (D.1: bidi R or AL) has no LCat
   ones (D.2: bidi L) and starts and ends with RandALCat. */
static int bidi_ok(const uint8_t *s, size_t n)
{
	int has_ral = 0, has_l = 0, first_ral = -1, ral = 0;
	size_t i = 0;

	while (i < n) {
		ucs4_t c;
		int cls;

		i += (size_t)u8_mbtouc_unsafe(&c, s + i, n - i);
		cls = uc_bidi_class(c);
		ral = cls == UC_BIDI_R || cls == UC_BIDI_AL;
		if (first_ral < 0)
			first_ral = ral;
		has_ral |= ral;
		has_l |= cls == UC_BIDI_L;
	}
	if (!has_ral)
		return 1;
	return !has_l && first_ral && ral;
}

/* Step 1 of RFC 4013 2: C.1.2 to SPACE (checked first, so U+200B, in both tables,
   becomes SPACE as in other implementations), B.1 to nothing. The output is never
   longer than the input. */
static size_t map(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		ucs4_t c;
		int len = u8_mbtouc_unsafe(&c, in + i, n - i);

		if (IN(table_c12, c))
			out[o++] = ' ';
		else if (!IN(table_b1, c)) {
			memcpy(out + o, in + i, (size_t)len);
			o += (size_t)len;
		}
		i += (size_t)len;
	}
	return o;
}

static int check_output(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		ucs4_t c;

		i += (size_t)u8_mbtouc_unsafe(&c, s + i, n - i);
		if (prohibited(c))
			return SMTP_EINVAL;
	}
	return bidi_ok(s, n) ? 0 : SMTP_EINVAL;
}

static void wipe_free(void *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

int smtpi_saslprep(const char *in, char **out)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t n = strlen(in), i, mlen, nlen = 0;
	uint8_t *mapped = NULL, *norm = NULL;
	char *res;
	int err;

	*out = NULL;
	for (i = 0; i < n && s[i] < 0x80; i++)
		;
	if (i == n) {
		/* ASCII: no mapping applies and NFKC is the identity; only C.2.1 remains. */
		for (i = 0; i < n; i++)
			if (s[i] < 0x20 || s[i] == 0x7F)
				return SMTP_EINVAL;
		res = malloc(n + 1);
		if (!res)
			return SMTP_ENOMEM;
		memcpy(res, in, n + 1);
		*out = res;
		return 0;
	}
	if (u8_check(s, n) != NULL)
		return SMTP_EINVAL;
	mapped = malloc(n);
	if (!mapped)
		return SMTP_ENOMEM;
	mlen = map(s, n, mapped);
	if (mlen > 0) {
		norm = u8_normalize(UNINORM_NFKC, mapped, mlen, NULL, &nlen);
		if (!norm) {
			wipe_free(mapped, n);
			return SMTP_ENOMEM;
		}
	}
	wipe_free(mapped, n);
	err = check_output(norm, nlen);
	res = err ? NULL : malloc(nlen + 1);
	if (!err && !res)
		err = SMTP_ENOMEM;
	if (res) {
		if (nlen > 0)
			memcpy(res, norm, nlen);
		res[nlen] = '\0';
		*out = res;
	}
	wipe_free(norm, nlen);
	return err;
}

/* What a message is identified and dated by: random octets, multipart boundaries,
   Message-IDs (RFC 5322 3.6.4), the Date (RFC 5322 3.3). */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compose/compose.h"
#include "wire/address.h"

#define MSGID_ID_MAX 250

int smtpi_rng_bytes(struct smtpi_rng *r, unsigned char *out, size_t n)
{
	if (!r || !r->seeded)
		return RAND_bytes(out, (int)n) == 1 ? 0 : SMTP_ENOMEM;
	/* splitmix64: reproducible output for the tests' fixed seeds */
	for (size_t i = 0; i < n; i++) {
		uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
		out[i] = (unsigned char)((z ^ (z >> 31)) >> 56);
	}
	return 0;
}

int smtpi_boundary(struct smtpi_rng *r, char *out)
{
	static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char raw[28];
	int rc = smtpi_rng_bytes(r, raw, sizeof raw);
	if (rc)
		return rc;
	/* "=_" cannot start a quoted-printable escape nor appear in base64 (RFC 2045
	   6.7, 6.8), so only 7bit and 8bit bodies need a search for it */
	out[0] = '=';
	out[1] = '_';
	for (size_t i = 0; i < sizeof raw; i++)
		out[2 + i] = set[raw[i] % 62];
	out[2 + sizeof raw] = '\0';
	return 0;
}

int smtpi_message_id(struct smtpi_rng *r, const char *domain, char *out)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[20];
	char left[33];
	if (strlen(domain) > SMTPI_MSGID_MAX - 40)
		return SMTP_EINVAL;
	int rc = smtpi_rng_bytes(r, raw, sizeof raw);
	if (rc)
		return rc;
	/* 160 random bits: unguessable, and unique without any counter or host name */
	for (size_t i = 0; i < 32; i++) {
		size_t bit = i * 5;
		unsigned v = (unsigned)raw[bit / 8] << 8 | (bit / 8 + 1 < sizeof raw ? raw[bit / 8 + 1] : 0);
		left[i] = b32[(v >> (11 - bit % 8)) & 31];
	}
	left[32] = '\0';
	snprintf(out, SMTPI_MSGID_MAX, "<%s@%s>", left, domain);
	return 0;
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void smtpi_date_format(int64_t t, int offset_minutes, char *out)
{
	static const char *const wday[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t local = t + (int64_t)offset_minutes * 60;
	int64_t days = local / 86400, secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
	/* RFC 5322 3.3: day-name "," day month year time zone */
	snprintf(out, 40, "%s, %u %s %lld %02d:%02d:%02d %c%02d%02d",
		 wday[((days % 7) + 7) % 7], d, mon[m - 1], (long long)y, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60), offset_minutes < 0 ? '-' : '+', off / 60,
		 off % 60);
}

void smtpi_clock_now(int64_t *t, int *offset_minutes)
{
	time_t now = time(NULL);
	struct tm tm;
	*t = (int64_t)now;
	*offset_minutes = localtime_r(&now, &tm) ? (int)(tm.tm_gmtoff / 60) : 0;
}

static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5322 3.2.3 dot-atom-text: atoms joined by single dots. */
static int dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(atext((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] != '.')))
			return 0;
	return 1;
}

/* RFC 5322 3.6.4 no-fold-literal: "[" *dtext "]". */
static int literal(const char *s, size_t n)
{
	if (n < 2 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == ']' || s[i] == '\\')
			return 0;
	return 1;
}

int smtpi_msgid_check(const char *id, int need_at, size_t *start, size_t *len)
{
	size_t n = strlen(id), s = 0;
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		s = 1;
		n -= 2;
	}
	if (n == 0 || n > MSGID_ID_MAX)
		return SMTP_EINVAL;
	const char *p = id + s;
	const char *at = memchr(p, '@', n);
	if (at) {
		size_t l = (size_t)(at - p), r = n - l - 1;
		if (!dot_atom(p, l) || !(dot_atom(at + 1, r) || literal(at + 1, r)))
			return SMTP_EINVAL;
	} else if (need_at || !dot_atom(p, n)) {
		return SMTP_EINVAL;
	}
	*start = s;
	*len = n;
	return 0;
}

int smtpi_msgid_domain(const char *addr, char **out)
{
	const char *at = strrchr(addr, '@');
	const char *why;
	if (!at || !at[1])
		return SMTP_EINVAL;
	if (at[1] == '[') {
		*out = smtpi_strndup(at + 1, strlen(at + 1));
		return *out ? 0 : SMTP_ENOMEM;
	}
	/* RFC 5322 3.6.4: id-right is ASCII, so an IDN goes as A-labels */
	return smtpi_domain_to_ascii(at + 1, 0, out, &why);
}

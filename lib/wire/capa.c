/* EHLO keywords -> capability set: see capa.h.

   One allocation holds, one after the other:
     the keyword lines as received (NULs dropped), joined by '\n', NUL-terminated;
     a record per line, "KEYWORD\0params\0", ended by an empty keyword;
     the merged AUTH mechanism list, NUL-terminated. */
#include "wire/capa.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparison of n octets, independent of the locale (RFC 5321
   2.4: keywords are case-insensitive). b may be shorter if NUL-terminated: a holds no
   NUL, so the comparison stops there. */
static int same_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/* s[0..n) (no NUL inside) equals word, ignoring case. */
static int word_eq(const char *s, size_t n, const char *word)
{
	return same_ci(s, word, n) && word[n] == '\0';
}

/* Parses s[0..n) as a decimal number no greater than max; 0 when malformed or over. */
static uint64_t number(const char *s, size_t n, uint64_t max)
{
	uint64_t v = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - (unsigned)'0';
		if (d > 9 || v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

/* The next token of the NUL-terminated s at or after *pos (setting *len and moving
   *pos past it), or NULL. */
static const char *token(const char *s, size_t *pos, size_t *len)
{
	size_t i = *pos, start;

	while (is_space(s[i]))
		i++;
	if (s[i] == '\0')
		return NULL;
	start = i;
	while (s[i] != '\0' && !is_space(s[i]))
		i++;
	*pos = i;
	*len = i - start;
	return s + start;
}

/* Appends the mechanisms of a space-separated list to auth (NUL-terminated, *alen
   octets), skipping those already there. */
static void auth_add(char *auth, size_t *alen, const char *list)
{
	size_t pos = 0, n;
	const char *mech;

	while ((mech = token(list, &pos, &n)) != NULL) {
		size_t apos = 0, an;
		const char *have;
		int dup = 0;

		while (!dup && (have = token(auth, &apos, &an)) != NULL)
			dup = an == n && same_ci(have, mech, n);
		if (dup)
			continue;
		if (*alen > 0)
			auth[(*alen)++] = ' ';
		memcpy(auth + *alen, mech, n);
		*alen += n;
		auth[*alen] = '\0';
	}
}

/* RFC 9422: the LIMITS parameter is limit-name ["=" limit-value] pairs separated by
   SP. Unknown names are ignored; a missing, malformed or oversized value counts as
   absent. */
static void limits(struct smtpi_capa *c, const char *params)
{
	size_t pos = 0, n;
	const char *t;

	while ((t = token(params, &pos, &n)) != NULL) {
		const char *eq = memchr(t, '=', n);
		size_t name_len, val_len;
		unsigned v;

		if (eq == NULL)
			continue;
		name_len = (size_t)(eq - t);
		val_len = n - name_len - 1;
		v = (unsigned)number(eq + 1, val_len, UINT_MAX);
		if (word_eq(t, name_len, "RCPTMAX"))
			c->rcptmax = v;
		else if (word_eq(t, name_len, "MAILMAX"))
			c->mailmax = v;
		else if (word_eq(t, name_len, "RCPTDOMAINMAX"))
			c->rcptdomainmax = v;
	}
}

static const struct {
	const char *keyword;
	unsigned flag;
} plain_keywords[] = {
	{"PIPELINING", SMTPI_CAPA_PIPELINING},
	{"8BITMIME", SMTPI_CAPA_8BITMIME},
	{"SMTPUTF8", SMTPI_CAPA_SMTPUTF8},
	{"DSN", SMTPI_CAPA_DSN},
	{"CHUNKING", SMTPI_CAPA_CHUNKING},
	{"BINARYMIME", SMTPI_CAPA_BINARYMIME},
	{"ENHANCEDSTATUSCODES", SMTPI_CAPA_ENHANCEDSTATUSCODES},
	{"STARTTLS", SMTPI_CAPA_STARTTLS},
	{"REQUIRETLS", SMTPI_CAPA_REQUIRETLS},
};

/* Records what one keyword line says. The first SIZE or LIMITS line counts, as
   smtpi_capa_find returns the first line of a keyword. */
static void apply_keyword(struct smtpi_capa *c, const char *kw, const char *params,
			  char *auth, size_t *alen)
{
	size_t n = strlen(kw), pos = 0, tlen;
	const char *t;

	for (size_t i = 0; i < sizeof plain_keywords / sizeof plain_keywords[0]; i++) {
		if (word_eq(kw, n, plain_keywords[i].keyword)) {
			c->flags |= plain_keywords[i].flag;
			return;
		}
	}
	if (word_eq(kw, n, "SIZE")) {
		/* RFC 1870 section 4: one optional parameter, 1*20DIGIT; 0 means no
		   fixed limit. */
		if (!(c->flags & SMTPI_CAPA_SIZE) && (t = token(params, &pos, &tlen)) != NULL)
			c->size_max = number(t, tlen, UINT64_MAX);
		c->flags |= SMTPI_CAPA_SIZE;
	} else if (word_eq(kw, n, "LIMITS")) {
		if (!(c->flags & SMTPI_CAPA_LIMITS))
			limits(c, params);
		c->flags |= SMTPI_CAPA_LIMITS;
	} else if (word_eq(kw, n, "AUTH")) {
		auth_add(auth, alen, params);
		c->flags |= SMTPI_CAPA_AUTH;
	} else if (n >= 5 && same_ci(kw, "AUTH=", 5)) {
		/* The pre-RFC 4954 form "AUTH=LOGIN PLAIN" still sent by some servers
		   beside (or instead of) the standard line. */
		auth_add(auth, alen, kw + 5);
		auth_add(auth, alen, params);
		c->flags |= SMTPI_CAPA_AUTH;
	}
}

void smtpi_capa_init(struct smtpi_capa *c)
{
	c->flags = 0;
	c->size_max = 0;
	c->rcptmax = 0;
	c->mailmax = 0;
	c->rcptdomainmax = 0;
	c->auth = "";
	c->lines = NULL;
	c->lines_len = 0;
}

void smtpi_capa_clear(struct smtpi_capa *c)
{
	if (c == NULL)
		return;
	free(c->lines);
	smtpi_capa_init(c);
}

int smtpi_capa_parse(struct smtpi_capa *c, const char *text, size_t len)
{
	struct smtpi_capa n;
	const char *nl = len ? memchr(text, '\n', len) : NULL;
	size_t start = nl ? (size_t)(nl - text) + 1 : len, klen = len - start;
	size_t llen = 0, rlen = 0, alen = 0;
	char *buf, *rec, *auth;

	/* Each part fits in klen + 1 octets, the records in twice that: a line of m
	   octets becomes at most m + 2 record octets, plus the final empty keyword. */
	buf = klen < SIZE_MAX / 4 ? malloc(4 * (klen + 1)) : NULL;
	if (buf == NULL)
		return SMTP_ENOMEM;
	for (size_t i = start; i < len; i++)
		if (text[i] != '\0')
			buf[llen++] = text[i];
	buf[llen] = '\0';
	rec = buf + llen + 1;
	auth = rec + 2 * (llen + 1);
	auth[0] = '\0';

	smtpi_capa_init(&n);
	n.lines = buf;
	n.lines_len = llen;
	for (size_t s = 0; s < llen;) {
		const char *e = memchr(buf + s, '\n', llen - s);
		size_t end = e ? (size_t)(e - buf) : llen, next = end + 1, k;
		const char *kw, *params;

		while (s < end && is_space(buf[s]))
			s++;
		while (end > s && is_space(buf[end - 1]))
			end--;
		if (s < end) {
			/* RFC 5321 4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ) */
			kw = rec + rlen;
			for (k = s; k < end && !is_space(buf[k]); k++)
				rec[rlen++] = buf[k];
			rec[rlen++] = '\0';
			while (k < end && is_space(buf[k]))
				k++;
			params = rec + rlen;
			memcpy(rec + rlen, buf + k, end - k);
			rlen += end - k;
			rec[rlen++] = '\0';
			apply_keyword(&n, kw, params, auth, &alen);
		}
		s = next;
	}
	rec[rlen] = '\0';
	n.auth = auth;
	smtpi_capa_clear(c);
	*c = n;
	return 0;
}

int smtpi_capa_find(const struct smtpi_capa *c, const char *keyword, const char **params)
{
	const char *r;

	if (c->lines == NULL || keyword == NULL)
		return 0;
	for (r = c->lines + c->lines_len + 1; *r != '\0';) {
		const char *p = r + strlen(r) + 1;
		if (word_eq(r, (size_t)(p - 1 - r), keyword)) {
			if (params != NULL)
				*params = p;
			return 1;
		}
		r = p + strlen(p) + 1;
	}
	return 0;
}

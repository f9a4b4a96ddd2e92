/* Fuzz target for the EHLO capability parser: the input is a reply text. Checks that
   what the set reports agrees with its own lines; abort() on any contradiction. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/capa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int same_word(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* The merged AUTH list: single spaces between names, no name twice. */
static void check_auth(const char *auth)
{
	size_t n = strlen(auth);

	if (n > 0 && (auth[0] == ' ' || auth[n - 1] == ' ' || strstr(auth, "  ")))
		abort();
	for (const char *a = auth; *a;) {
		size_t alen = strcspn(a, " ");
		for (const char *b = a + alen; *b == ' ';) {
			size_t blen;
			b++;
			blen = strcspn(b, " ");
			if (same_word(a, alen, b, blen))
				abort();
			b += blen;
		}
		a += alen;
		if (*a == ' ')
			a++;
	}
}

static int blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Every keyword line is found by smtpi_capa_find, in whatever case it is asked. */
static void check_find(const struct smtpi_capa *c)
{
	char kw[64];
	const char *line = c->lines;

	while (line != NULL && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line), s = 0, e;
		const char *params = NULL;

		while (s < len && blank(line[s]))
			s++;
		for (e = s; e < len && !blank(line[e]); e++)
			;
		if (e > s && e - s < sizeof kw) {
			for (size_t i = s; i < e; i++)
				kw[i - s] = (char)(i % 2 ? lower((unsigned char)line[i]) : line[i]);
			kw[e - s] = '\0';
			if (!smtpi_capa_find(c, kw, &params) || params == NULL)
				abort();
			if (blank(params[0]))
				abort();
		}
		line = end ? end + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpi_capa c;
	const char *params = NULL;

	smtpi_capa_init(&c);
	if (smtpi_capa_parse(&c, (const char *)data, size) != 0)
		return 0;
	if (strlen(c.lines) != c.lines_len || c.auth == NULL)
		abort();
	check_auth(c.auth);
	check_find(&c);
	if ((c.flags & SMTPI_CAPA_SIZE) && !smtpi_capa_find(&c, "size", &params))
		abort();
	if (!(c.flags & SMTPI_CAPA_SIZE) && c.size_max != 0)
		abort();
	if (!(c.flags & SMTPI_CAPA_LIMITS) && (c.rcptmax || c.mailmax || c.rcptdomainmax))
		abort();
	if (!(c.flags & SMTPI_CAPA_AUTH) && c.auth[0] != '\0')
		abort();
	if ((c.flags & SMTPI_CAPA_PIPELINING) && !smtpi_capa_find(&c, "PIPELINING", NULL))
		abort();
	/* parsing again replaces the set; the old storage is freed */
	if (smtpi_capa_parse(&c, (const char *)data, size / 2) != 0)
		return 0;
	if (strlen(c.lines) != c.lines_len)
		abort();
	check_auth(c.auth);
	smtpi_capa_clear(&c);
	if (c.lines != NULL || c.flags != 0 || smtpi_capa_find(&c, "SIZE", NULL))
		abort();
	return 0;
}

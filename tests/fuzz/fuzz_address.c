/* Fuzz target: mailbox check, IDNA conversion, xtext and the text check on
   arbitrary bytes. Crashes, leaks and broken invariants abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/address.h"
#include "wire/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void check_wire(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_control((unsigned char)s[i]))
			abort();
}

static void check_ascii_domain(const char *s)
{
	const char *at = strrchr(s, '@');
	for (const char *p = at ? at + 1 : s; *p; p++)
		if ((unsigned char)*p >= 0x80)
			abort();
}

static void try_to_ascii(const char *m, size_t len)
{
	for (int no_map = 0; no_map < 2; no_map++) {
		char *out = NULL;
		const char *why = NULL;
		int rc = smtpi_address_to_ascii(m, len, no_map, &out, &why);
		if (rc == 0) {
			check_wire(out, strlen(out));
			check_ascii_domain(out);
			/* The A-label form is itself a valid mailbox. */
			if (smtpi_address_check(out, 1, NULL, NULL, NULL, NULL) != 0)
				abort();
			free(out);
		} else if (out != NULL || why == NULL) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size_t n = strlen(s);

	unsigned flags = 0;
	size_t start = 0, len = 0;
	const char *why = NULL;
	int rc = smtpi_address_check(s, 0, &flags, &start, &len, &why);
	int rc_null = smtpi_address_check(s, 1, NULL, NULL, NULL, NULL);
	if (rc == 0) {
		if (start + len > n || rc_null != 0 || (flags & SMTPI_ADDR_NULL))
			abort();
		check_wire(s + start, len);
		check_wire(s, n);
		try_to_ascii(s + start, len);
	} else if (why == NULL || flags != 0) {
		abort();
	}

	char *out = NULL;
	if (smtpi_domain_to_ascii(s, (int)(size & 1), &out, &why) == 0) {
		check_wire(out, strlen(out));
		check_ascii_domain(out);
		free(out);
	}

	char buf[64];
	size_t need = smtpi_xtext_encode((const char *)data, size, buf, sizeof buf);
	if (need < size || need > 3 * size || strlen(buf) > need || strlen(buf) >= sizeof buf)
		abort();
	for (const char *p = buf; *p; p++)
		if (*p < 33 || *p > 126 || *p == '=')
			abort();

	int bad = 0;
	for (size_t i = 0; i < size; i++)
		bad |= is_control(data[i]);
	if ((smtpi_check_text((const char *)data, size) != 0) != bad)
		abort();
	free(s);
	return 0;
}

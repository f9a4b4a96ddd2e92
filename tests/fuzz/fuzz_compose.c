/* Fuzz target: arbitrary Subject, display name, address, file name, field name and
   value, Content-ID and text go through the composer's setters; whatever they accept
   is composed and parsed back with the test decoders (tests/unit/mime_decode.h).
   Aborts on an injected or unknown header field, a line over 998 octets, a bare CR
   or LF, 8-bit octets in a 7-bit header, or a value that does not decode to what
   was given. Input: the strings separated by NUL octets, then a flags octet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/mime_decode.h"
#include "compose/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SUBJECT, NAME, ADDR, FILENAME, HNAME, HVALUE, CID, TEXT, NFIELDS };

static void check(int ok)
{
	if (!ok)
		abort();
}

/* Lines end CRLF, at most 998 octets, no NUL; the header section 7-bit unless utf8. */
static void check_lines(const char *m, size_t n, int utf8)
{
	size_t line = 0, head_end = n;
	const char *e = memmem(m, n, "\r\n\r\n", 4);
	if (e)
		head_end = (size_t)(e - m);
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '\r' && i + 1 < n && m[i + 1] == '\n') {
			line = 0;
			i++;
			continue;
		}
		check(m[i] != '\r' && m[i] != '\n' && m[i] != '\0' && ++line <= 998);
		check(utf8 || i >= head_end || (unsigned char)m[i] < 0x80);
	}
	check(line == 0);
}

/* Every field of the header section is one the composer writes, each once. */
static void check_fields(const char *m, size_t n, const char *extra)
{
	static const char *const known[] = {"From", "To", "Subject", "Date", "Message-ID",
					    "MIME-Version", "Content-Type",
					    "Content-Transfer-Encoding"};
	int seen[9] = {0};
	for (size_t i = 0; i < n && !(m[i] == '\r' && m[i + 1] == '\n');) {
		if (m[i] != ' ' && m[i] != '\t') {
			const char *colon = memchr(m + i, ':', n - i);
			check(colon != NULL);
			size_t nl = (size_t)(colon - (m + i)), k;
			for (k = 0; k < 8; k++)
				if (strlen(known[k]) == nl && memcmp(m + i, known[k], nl) == 0)
					break;
			if (k == 8)
				check(extra && strlen(extra) == nl && memcmp(m + i, extra, nl) == 0);
			check(++seen[k] == 1);
		}
		const char *eol = memmem(m + i, n - i, "\r\n", 2);
		check(eol != NULL);
		i = (size_t)(eol - m) + 2;
	}
	check(seen[0] && seen[3] && seen[4] && seen[5] && seen[6]);
}

/* An unstructured value decodes to what was given (leading white space aside: a
   reader takes it for the space after the colon). */
static void check_unstructured(const char *m, size_t n, const char *name, const char *want)
{
	char *v = md_field(m, n, name);
	check(v != NULL);
	char *d = md_decode_words(v);
	check(strcmp(d + strspn(d, " \t"), want + strspn(want, " \t")) == 0);
	free(d);
	free(v);
}

/* "phrase <addr>": the phrase decodes (and unquotes) to the display name. */
static void check_name(const char *m, size_t n, const char *addr, const char *want)
{
	char *v = md_field(m, n, "To");
	check(v != NULL);
	size_t vl = strlen(v), al = strlen(addr);
	check(vl > al + 3 && v[vl - 1] == '>' && memcmp(v + vl - 1 - al, addr, al) == 0);
	v[vl - al - 3] = '\0';
	char *d = md_decode_words(v);
	if (v[0] == '"')
		md_unquote(d);
	check(strcmp(d, want) == 0);
	free(d);
	free(v);
}

/* The attachment is the last part of the multipart/mixed. */
static void check_filename(const char *m, size_t n, const char *want)
{
	char *ct = md_field(m, n, "Content-Type");
	char *bnd = ct ? md_param(ct, "boundary") : NULL;
	const char *body = memmem(m, n, "\r\n\r\n", 4);
	size_t st[8], ln[8];
	check(bnd && body);
	body += 4;
	int k = md_split(body, n - (size_t)(body - m), bnd, st, ln, 8);
	check(k >= 1);
	char *cd = md_field(body + st[k - 1], ln[k - 1], "Content-Disposition");
	char *f = cd ? md_param(cd, "filename") : NULL;
	check(f && strcmp(f, want) == 0);
	free(f);
	free(cd);
	free(bnd);
	free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *field[NFIELDS] = {0};
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	size_t k = 0, at = 0;
	for (; k < NFIELDS && at <= size; k++) {
		field[k] = copy + at;
		at += strlen(copy + at) + 1;
	}
	unsigned flags = at < size ? (unsigned char)copy[at] : 0;
	int utf8 = flags & 1;

	smtp_compose *c = smtp_compose_new();
	smtpi_compose_test_hooks(c, flags, 1700000000);
	smtp_compose_set_utf8(c, utf8);
	smtp_compose_allow_8bit(c, (flags & 2) != 0);
	if (smtp_compose_set_from(c, "from@example.org", NULL) != 0)
		abort();
	const char *addr = field[ADDR] && smtp_compose_add_to(c, field[ADDR], field[NAME]) == 0
				   ? field[ADDR]
				   : NULL;
	int named = addr && field[NAME] && field[NAME][0];
	if (!addr && smtp_compose_add_to(c, "to@example.org", NULL) != 0)
		abort();
	int subj = field[SUBJECT] && smtp_compose_set_subject(c, field[SUBJECT]) == 0;
	int hdr = field[HNAME] && field[HVALUE] &&
		  smtp_compose_add_header(c, field[HNAME], field[HVALUE]) == 0;
	int fname = field[FILENAME] &&
		    smtp_compose_add_attachment(c, "x", 1, field[FILENAME], NULL) == 0;
	if (field[CID])
		smtp_compose_add_inline(c, "y", 1, field[CID], "image/png");
	if (field[TEXT])
		smtp_compose_set_text(c, field[TEXT]);

	unsigned char *out = NULL;
	size_t n = 0;
	int rc = smtp_compose_render(c, &out, &n);
	/* only an address that needs SMTPUTF8 (RFC 6532) may keep it from composing */
	check(rc == 0 || (rc == SMTP_EINVAL && !utf8 && addr && smtpi_has_8bit(addr, strlen(addr))));
	if (rc == 0) {
		char *m = malloc(n + 1);
		memcpy(m, out, n);
		m[n] = '\0';
		check_lines(m, n, utf8);
		check_fields(m, n, hdr ? field[HNAME] : NULL);
		if (subj)
			check_unstructured(m, n, "Subject", field[SUBJECT]);
		if (hdr)
			check_unstructured(m, n, field[HNAME], field[HVALUE]);
		if (named && addr[0] != '<' && !smtpi_has_8bit(addr, strlen(addr)))
			check_name(m, n, addr, field[NAME]);
		if (fname)
			check_filename(m, n, field[FILENAME]);
		free(m);
	}
	free(out);
	smtp_compose_free(c);
	free(copy);
	return 0;
}

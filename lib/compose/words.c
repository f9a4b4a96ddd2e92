/* Header text: display names as phrases (RFC 5322 3.2.5), unstructured text, and
   RFC 2047 encoded words for what is not ASCII; UTF-8 checks for caller text. */
#include <string.h>

#include "compose/mime.h"
#include "smtp.h"

/* "=?utf-8?q?" + text + "?=" within 75 octets (RFC 2047 2). */
#define WORD_MAX 75
#define WORD_WRAP 12
/* 45 octets are 60 base64 characters: the most a B word holds. */
#define B_CHUNK 45
/* An ASCII word longer than this cannot share a line with the field name and is
   encoded (and split) rather than left to run past 78 octets. */
#define LONG_WORD 76

static const char hex[] = "0123456789ABCDEF";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int smtpi_utf8_text_check(const char *s, size_t n, int tab_ok)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = smtpi_utf8_len(p + i, n - i);
		if (len == 0)
			return SMTP_EINVAL;
		if (len == 1 && ((p[i] < 0x20 && !(tab_ok && p[i] == '\t')) || p[i] == 0x7f))
			return SMTP_EINVAL;
		/* C1 controls U+0080..U+009F */
		if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return SMTP_EINVAL;
		i += len;
	}
	return 0;
}

int smtpi_has_8bit(const void *s, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return 1;
	return 0;
}

/* RFC 2047 5(3): the octets a Q word in a phrase may carry as themselves. */
static int q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!*+-/", c) != NULL;
}

static size_t q_len(const unsigned char *s, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += q_plain(s[i]) || s[i] == ' ' ? 1 : 3;
	return len;
}

static void q_word(struct smtpi_field *f, const unsigned char *s, size_t n)
{
	smtpi_field_str(f, "=?utf-8?q?");
	for (size_t i = 0; i < n; i++) {
		char e[3] = {'=', hex[s[i] >> 4], hex[s[i] & 15]};
		if (s[i] == ' ')
			smtpi_field_text(f, "_", 1);
		else if (q_plain(s[i]))
			smtpi_field_text(f, s + i, 1);
		else
			smtpi_field_text(f, e, 3);
	}
	smtpi_field_str(f, "?=");
}

static void b_word(struct smtpi_field *f, const unsigned char *s, size_t n)
{
	smtpi_field_str(f, "=?utf-8?b?");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		char e[4] = {b64[v >> 18], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
			     i + 2 < n ? b64[v & 63] : '='};
		smtpi_field_text(f, e, 4);
	}
	smtpi_field_str(f, "?=");
}

void smtpi_words_encode(struct smtpi_field *f, const unsigned char *s, size_t n)
{
	/* RFC 2047 4: Q "when most of the characters to be encoded are in the ASCII
	   character set", else B */
	size_t high = 0;
	for (size_t i = 0; i < n; i++)
		high += s[i] >= 0x80;
	int use_q = high * 2 <= n;
	size_t start = 0, used = 0, i = 0;
	while (i < n) {
		size_t len = smtpi_utf8_len(s + i, n - i);
		if (len == 0)
			len = 1;
		size_t add = use_q ? q_len(s + i, len) : len;
		size_t limit = use_q ? WORD_MAX - WORD_WRAP : B_CHUNK;
		if (used + add > limit && i > start) {
			(use_q ? q_word : b_word)(f, s + start, i - start);
			smtpi_field_space(f);
			start = i;
			used = 0;
		}
		used += add;
		i += len;
	}
	if (n > start)
		(use_q ? q_word : b_word)(f, s + start, n - start);
}

/* RFC 5322 3.2.3 atext. */
static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) || c >= 0x80;
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A word that a reader would take for an encoded word must not go out as itself. */
static int looks_encoded(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '=' && s[i + 1] == '?')
			return 1;
	return 0;
}

void smtpi_words_phrase(struct smtpi_field *f, const char *name, int utf8)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name);
	if ((!utf8 && smtpi_has_8bit(s, n)) || looks_encoded(s, n)) {
		smtpi_words_encode(f, s, n);
		return;
	}
	/* atoms separated by single spaces go as they are, anything else quoted */
	int atoms = n > 0 && s[0] != ' ' && s[n - 1] != ' ';
	for (size_t i = 0; atoms && i < n; i++)
		atoms = atext(s[i]) || (s[i] == ' ' && s[i + 1] != ' ');
	if (atoms) {
		size_t start = 0;
		for (size_t i = 0; i <= n; i++) {
			if (i == n || s[i] == ' ') {
				if (start)
					smtpi_field_space(f);
				smtpi_field_text(f, s + start, i - start);
				start = i + 1;
			}
		}
		return;
	}
	/* RFC 5322 3.2.4: a fold inside a quoted string is invisible once unfolded */
	smtpi_field_text(f, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' && i > 0 && i + 1 < n && s[i + 1] != ' ') {
			smtpi_field_space(f);
			continue;
		}
		if (s[i] == '"' || s[i] == '\\')
			smtpi_field_text(f, "\\", 1);
		smtpi_field_text(f, s + i, 1);
	}
	smtpi_field_text(f, "\"", 1);
}

static int needs_encoding(const unsigned char *w, size_t n, int utf8)
{
	return (!utf8 && smtpi_has_8bit(w, n)) || looks_encoded(w, n) || n > LONG_WORD;
}

/* Skips the white space at i; *w is where the word after it starts. Returns where
   the word ends. */
static size_t next_word(const unsigned char *s, size_t n, size_t i, size_t *w)
{
	while (i < n && is_wsp(s[i]))
		i++;
	*w = i;
	while (i < n && !is_wsp(s[i]))
		i++;
	return i;
}

/* Where the run of words to encode that starts at end stops: it takes the words
   that need encoding and white space too long to fold, with what is between them
   (RFC 2047 6.2: white space between encoded words is dropped when they are read,
   so it must be inside them). */
static size_t encoded_run(const unsigned char *s, size_t n, size_t end, int utf8)
{
	size_t next, k;
	while ((k = next_word(s, n, end, &next)) > end &&
	       (next - end > LONG_WORD || (k > next && needs_encoding(s + next, k - next, utf8))))
		end = k;
	return end;
}

void smtpi_words_unstructured(struct smtpi_field *f, const char *text, int utf8)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0;
	while (i < n) {
		size_t ws = i, w;
		i = next_word(s, n, i, &w);
		if (w - ws > LONG_WORD) {
			/* no fold can split white space: the first octet separates, the
			   rest is encoded with what follows */
			if (ws > 0) {
				size_t at = f->text.len;
				smtpi_field_space(f);
				if (!f->err)
					f->text.data[at] = (char)s[ws++];
			}
			i = encoded_run(s, n, ws, utf8);
			smtpi_words_encode(f, s + ws, i - ws);
			continue;
		}
		if (w > ws && w < n) {
			/* the last white space octet is the fold point, the others stay */
			smtpi_field_text(f, s + ws, w - ws - 1);
			size_t at = f->text.len;
			smtpi_field_space(f);
			if (!f->err)
				f->text.data[at] = (char)s[w - 1];
		} else {
			/* white space at the end is no place to fold */
			smtpi_field_text(f, s + ws, w - ws);
		}
		if (w == i)
			continue;
		if (!needs_encoding(s + w, i - w, utf8)) {
			smtpi_field_text(f, s + w, i - w);
			continue;
		}
		i = encoded_run(s, n, i, utf8);
		smtpi_words_encode(f, s + w, i - w);
	}
}

/* A strict, bounded reader for one JSON shape (an array of strings) and a JSON string
   writer. Small on purpose: the worker must not trust a job's bytes, and needs no
   other JSON. RFC 8259: sections 2 (white space), 5 (arrays), 7 (strings), 8.1
   (UTF-8). */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	const unsigned char *start, *p, *end;
	char *why;
};

static int fail(struct reader *r, const char *what)
{
	snprintf(r->why, 96, "%s at offset %zu", what, (size_t)(r->p - r->start));
	return -1;
}

static void skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(struct reader *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = r->p[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
			     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 16;
		if (d == 16)
			return -1;
		*v = *v << 4 | d;
	}
	r->p += 4;
	return 0;
}

/* Appends code point cp as UTF-8 to out (room checked by the caller). */
static size_t put_utf8(unsigned char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629 4), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (n == 0 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0; /* overlong, surrogate, or above U+10FFFF */
	return n;
}

/* An escape after the backslash; writes its UTF-8 into out. */
static int escape(struct reader *r, unsigned char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (r->p >= r->end)
		return fail(r, "unterminated escape");
	unsigned char c = *r->p++;
	const char *k = c ? strchr(from, c) : NULL;
	if (k) {
		out[0] = (unsigned char)to[k - from];
		*n = 1;
		return 0;
	}
	if (c != 'u')
		return fail(r, "bad escape");
	uint32_t cp, lo;
	if (hex4(r, &cp))
		return fail(r, "bad \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(r, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return fail(r, "lone high surrogate");
		r->p += 2;
		if (hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(r, "bad surrogate pair");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return fail(r, "NUL in a string");
	*n = put_utf8(out, cp);
	return 0;
}

static int string(struct reader *r, char **out)
{
	unsigned char buf[WK_JSON_MAX_STRING + 4];
	size_t n = 0;
	r->p++; /* the opening quote */
	for (;;) {
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		unsigned char c = *r->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, "control character in a string");
		unsigned char piece[4];
		size_t k;
		if (c == '\\') {
			r->p++;
			if (escape(r, piece, &k))
				return -1;
		} else if (c < 0x80) {
			piece[0] = c;
			k = 1;
			r->p++;
		} else {
			k = utf8_len(r->p, r->end);
			if (k == 0)
				return fail(r, "invalid UTF-8");
			memcpy(piece, r->p, k);
			r->p += k;
		}
		if (n + k > WK_JSON_MAX_STRING)
			return fail(r, "string too long");
		memcpy(buf + n, piece, k);
		n += k;
	}
	r->p++;
	*out = malloc(n + 1);
	if (!*out)
		return fail(r, "out of memory");
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	return 0;
}

void wk_json_free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int wk_json_string_array(const char *text, size_t len, char ***out, size_t *n, char *why)
{
	*out = NULL;
	*n = 0;
	struct reader r = {(const unsigned char *)text, (const unsigned char *)text,
			   (const unsigned char *)text + len, why};
	int rc = -1;
	char **v = NULL;
	size_t count = 0;
	if (len > WK_JSON_MAX_INPUT) {
		snprintf(why, 96, "longer than %d bytes", WK_JSON_MAX_INPUT);
		return -1;
	}
	skip_ws(&r);
	if (r.p >= r.end || *r.p != '[') {
		fail(&r, "not a JSON array");
		goto out;
	}
	r.p++;
	skip_ws(&r);
	if (r.p < r.end && *r.p == ']') {
		fail(&r, "empty array");
		goto out;
	}
	v = calloc(WK_JSON_MAX_ITEMS, sizeof *v);
	if (!v) {
		fail(&r, "out of memory");
		goto out;
	}
	for (;;) {
		skip_ws(&r);
		if (r.p >= r.end || *r.p != '"') {
			fail(&r, "an element is not a string");
			goto out;
		}
		if (count == WK_JSON_MAX_ITEMS) {
			fail(&r, "too many elements");
			goto out;
		}
		if (string(&r, &v[count]))
			goto out;
		count++;
		skip_ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (r.p < r.end && *r.p == ']')
			break;
		fail(&r, "expected , or ]");
		goto out;
	}
	r.p++;
	skip_ws(&r);
	if (r.p != r.end) {
		fail(&r, "bytes after the array");
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		wk_json_free_strings(v, count);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

void wk_buf_add(struct wk_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void wk_buf_str(struct wk_buf *b, const char *s)
{
	wk_buf_add(b, s, strlen(s));
}

void wk_buf_json(struct wk_buf *b, const char *s)
{
	wk_buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			wk_buf_add(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			wk_buf_add(b, esc, 6);
		} else {
			wk_buf_add(b, (const char *)p, 1);
		}
	}
	wk_buf_add(b, "\"", 1);
}

void wk_buf_free(struct wk_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

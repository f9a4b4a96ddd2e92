/* Test-only decoders written from the RFCs, independent of lib/compose: unfolding
   (RFC 5322 2.2.3), encoded words (RFC 2047 6), parameters (RFC 2045 5.1, RFC 2231),
   quoted-printable (RFC 2045 6.7), and a multipart splitter (RFC 2046 5.1.1). The
   unit tests check these against the RFCs' own examples first, then decode what
   the composer wrote with them. Results are malloc'd and NUL-terminated. */
#ifndef MIME_DECODE_H
#define MIME_DECODE_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static inline int md_hexval(int c)
{
	static const char h[] = "0123456789abcdef";
	const char *p = c > ' ' ? strchr(h, c | 0x20) : NULL;
	return p ? (int)(p - h) : -1;
}

/* Removes every CRLF that is followed by white space. */
static inline char *md_unfold(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 2 < n && s[i + 1] == '\n' &&
		    (s[i + 2] == ' ' || s[i + 2] == '\t')) {
			i++;
			continue;
		}
		o[k++] = s[i];
	}
	o[k] = '\0';
	return o;
}

/* The unfolded value of the first field called name in the header section of msg
   (up to the first empty line), without the white space after the colon; NULL when
   there is none. */
static inline char *md_field(const char *msg, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0;
	while (i < len && !(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')) {
		size_t e = i;
		while (e + 1 < len && !(msg[e] == '\r' && msg[e + 1] == '\n' &&
					(e + 2 >= len || (msg[e + 2] != ' ' && msg[e + 2] != '\t'))))
			e++;
		if (e - i > nl && msg[i + nl] == ':' && strncasecmp(msg + i, name, nl) == 0) {
			char *u = md_unfold(msg + i + nl + 1, e - i - nl - 1);
			size_t v = strspn(u, " \t");
			memmove(u, u + v, strlen(u + v) + 1);
			return u;
		}
		i = e + 2;
	}
	return NULL;
}

/* Appends ISO-8859-1 (latin1 != 0) or UTF-8 octets as UTF-8. */
static inline size_t md_put(char *o, size_t k, const unsigned char *s, size_t n, int latin1)
{
	for (size_t i = 0; i < n; i++) {
		if (latin1 && s[i] >= 0x80) {
			o[k++] = (char)(0xc0 | s[i] >> 6);
			o[k++] = (char)(0x80 | (s[i] & 0x3f));
		} else {
			o[k++] = (char)s[i];
		}
	}
	return k;
}

/* Decodes the token s[0..n) into o at *k when it is one encoded word (RFC 2047 2:
   =?charset?Q|B?text?=, the text without "?" or space). Returns 1 if it was. */
static inline int md_word(const char *s, size_t n, char *o, size_t *k)
{
	if (n < 8 || s[0] != '=' || s[1] != '?' || s[n - 2] != '?' || s[n - 1] != '=')
		return 0;
	const char *q1 = memchr(s + 2, '?', n - 4);
	if (!q1 || q1 + 3 > s + n - 2 || q1[2] != '?')
		return 0;
	const char *text = q1 + 3, *end = s + n - 2;
	if (memchr(text, '?', (size_t)(end - text)))
		return 0;
	int latin1 = (size_t)(q1 - s - 2) == 10 && strncasecmp(s + 2, "iso-8859-1", 10) == 0;
	char enc = (char)(q1[1] | 32);
	unsigned char buf[256];
	size_t bl = 0;
	if (enc == 'q') {
		for (const char *p = text; p < end && bl < sizeof buf; p++) {
			if (*p == '_') {
				buf[bl++] = ' ';
			} else if (*p == '=' && end - p >= 3 && md_hexval(p[1]) >= 0 &&
				   md_hexval(p[2]) >= 0) {
				buf[bl++] = (unsigned char)(md_hexval(p[1]) << 4 | md_hexval(p[2]));
				p += 2;
			} else {
				buf[bl++] = (unsigned char)*p;
			}
		}
	} else if (enc == 'b') {
		static const char a[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned v = 0, bits = 0;
		for (const char *p = text; p < end && *p != '=' && bl < sizeof buf; p++) {
			const char *x = strchr(a, *p);
			if (!x || !*p)
				return 0;
			v = (v << 6 | (unsigned)(x - a)) & 0xffffu;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				buf[bl++] = (unsigned char)(v >> bits);
			}
		}
	} else {
		return 0;
	}
	*k = md_put(o, *k, buf, bl, latin1);
	return 1;
}

/* Decodes the encoded words of a value: tokens are white space runs, "(", ")" and
   runs of other octets; white space between two encoded words is dropped (RFC 2047
   6.2), everything else is kept. */
static inline char *md_decode_words(const char *s)
{
	size_t n = strlen(s), k = 0, i = 0, ws_start = 0, ws_len = 0;
	char *o = malloc(2 * n + 1), tmp[520];
	int prev_word = 0;
	while (i < n) {
		size_t t = i;
		if (s[i] == ' ' || s[i] == '\t') {
			while (i < n && (s[i] == ' ' || s[i] == '\t'))
				i++;
			ws_start = t;
			ws_len = i - t;
			continue;
		}
		if (s[i] == '(' || s[i] == ')')
			i++;
		else
			while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '(' && s[i] != ')')
				i++;
		size_t tl = 0;
		int word = i - t < 256 && md_word(s + t, i - t, tmp, &tl);
		if (!(word && prev_word)) {
			memcpy(o + k, s + ws_start, ws_len);
			k += ws_len;
		}
		memcpy(o + k, word ? tmp : s + t, word ? tl : i - t);
		k += word ? tl : i - t;
		ws_len = 0;
		prev_word = word;
	}
	memcpy(o + k, s + ws_start, ws_len);
	k += ws_len;
	o[k] = '\0';
	return o;
}

/* The value of parameter attr in a Content-Type or Content-Disposition value:
   plain (token or quoted string), or RFC 2231 (attr*, attr*0, attr*0*, ...)
   reassembled and percent-decoded. NULL when absent. */
static inline char *md_param(const char *v, const char *attr)
{
	size_t al = strlen(attr), n = strlen(v);
	char *o = calloc(1, n + 1);
	size_t k = 0;
	int found = 0;
	for (unsigned section = 0; section < 100; section++) {
		int got = 0;
		for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
			const char *a = p + 1;
			while (*a == ' ' || *a == '\t')
				a++;
			if (strncasecmp(a, attr, al) != 0)
				continue;
			const char *r = a + al;
			int ext = 0, num = -1;
			if (*r == '*' && r[1] >= '0' && r[1] <= '9') {
				num = (int)strtol(r + 1, (char **)&r, 10);
			} else if (*r == '*' && r[1] == '=') {
				ext = 1;
				r++;
			}
			if (num >= 0 && *r == '*') {
				ext = 1;
				r++;
			}
			if (*r != '=' || (num < 0 ? section != 0 : (unsigned)num != section))
				continue;
			r++;
			if (ext && section == 0) {
				const char *q = strchr(r, '\'');
				r = q ? strchr(q + 1, '\'') + 1 : r;
			}
			if (*r == '"') {
				for (r++; *r && *r != '"'; r++) {
					if (*r == '\\' && r[1])
						r++;
					o[k++] = *r;
				}
			} else {
				for (; *r && *r != ';' && *r != ' '; r++) {
					if (ext && *r == '%' && md_hexval(r[1]) >= 0 &&
					    md_hexval(r[2]) >= 0) {
						o[k++] = (char)(md_hexval(r[1]) << 4 | md_hexval(r[2]));
						r += 2;
					} else {
						o[k++] = *r;
					}
				}
			}
			got = found = 1;
			if (num < 0)
				section = 99;
			break;
		}
		if (!got)
			break;
	}
	if (!found) {
		free(o);
		return NULL;
	}
	o[k] = '\0';
	return o;
}

/* Removes the quotes and quoted-pairs of a quoted string (RFC 5322 3.2.4) in place;
   anything else is left as it is. */
static inline void md_unquote(char *d)
{
	size_t n = strlen(d), k = 0;
	if (n < 2 || d[0] != '"' || d[n - 1] != '"')
		return;
	for (size_t j = 1; j + 1 < n; j++) {
		if (d[j] == '\\' && j + 2 < n)
			j++;
		d[k++] = d[j];
	}
	d[k] = '\0';
}

/* Quoted-printable decoding (RFC 2045 6.7): "=XX", soft line breaks "=" CRLF. */
static inline char *md_qp_decode(const char *s, size_t n, size_t *outlen)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=' && i + 2 < n && md_hexval(s[i + 1]) >= 0 &&
			   md_hexval(s[i + 2]) >= 0) {
			o[k++] = (char)(md_hexval(s[i + 1]) << 4 | md_hexval(s[i + 2]));
			i += 2;
		} else {
			o[k++] = s[i];
		}
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

/* The parts of a multipart body (RFC 2046 5.1.1): up to max (start, length) pairs
   between "--boundary" lines; the CRLF before each delimiter is not the part's.
   Returns the count, or -1 when the close delimiter is missing. */
static inline int md_split(const char *body, size_t n, const char *bnd, size_t *start, size_t *len,
		    int max)
{
	size_t bl = strlen(bnd);
	int count = 0;
	size_t open = 0;
	int in_part = 0;
	for (size_t i = 0; i + 2 + bl <= n; i++) {
		if ((i > 0 && !(i >= 2 && body[i - 2] == '\r' && body[i - 1] == '\n')) ||
		    body[i] != '-' || body[i + 1] != '-' || memcmp(body + i + 2, bnd, bl) != 0)
			continue;
		if (in_part && count < max) {
			start[count] = open;
			len[count] = i >= 2 && i - 2 >= open ? i - 2 - open : 0;
			count++;
		}
		size_t after = i + 2 + bl;
		if (after + 2 <= n && body[after] == '-' && body[after + 1] == '-')
			return count;
		while (after < n && body[after] != '\n')
			after++;
		open = after + 1;
		in_part = 1;
	}
	return -1;
}

#endif

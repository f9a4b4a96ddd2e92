/* The worker's JSON needs: reading a job's `to` field (a JSON array of strings,
   strictly per RFC 8259, bounded) and writing strings into the JSON it produces. */
#ifndef WK_JSON_H
#define WK_JSON_H

#include <stddef.h>

#define WK_JSON_MAX_INPUT (256 * 1024) /* bytes of the `to` field */
#define WK_JSON_MAX_ITEMS 1000         /* recipients in one job */
#define WK_JSON_MAX_STRING 998         /* bytes of one decoded string (RFC 5321 line) */

/* Parses text[0..len) as a non-empty array of strings. On success *out holds *n
   malloc'd NUL-terminated UTF-8 strings (free with wk_json_free_strings) and 0 is
   returned; otherwise -1 with *out NULL and a short reason in why (which holds at
   least 96 bytes): not an array, a non-string element, bad escape, invalid UTF-8,
   a control character or NUL in a string, too long, too many, trailing bytes. */
int wk_json_string_array(const char *text, size_t len, char ***out, size_t *n, char *why);
void wk_json_free_strings(char **v, size_t n);

/* A growable output buffer; on allocation failure it stops growing and says so. */
struct wk_buf {
	char *p;
	size_t len, cap;
	int failed;
};
void wk_buf_add(struct wk_buf *b, const char *s, size_t n);
void wk_buf_str(struct wk_buf *b, const char *s);
/* Appends s as a JSON string (quotes included), escaping per RFC 8259 7. */
void wk_buf_json(struct wk_buf *b, const char *s);
void wk_buf_free(struct wk_buf *b);

#endif

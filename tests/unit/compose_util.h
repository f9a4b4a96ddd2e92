/* Helpers for the composer's unit tests: a builder with fixed seeds, composing to
   memory, and describing a message's MIME structure with the test decoders. */
#ifndef COMPOSE_UTIL_H
#define COMPOSE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compose/compose.h"
#include "mime_decode.h"
#include "wire/base64.h"

/* 2023-11-14 22:13:20 UTC */
#define CU_NOW 1700000000

static inline smtp_compose *cu_new(uint64_t seed)
{
	smtp_compose *c = smtp_compose_new();
	if (!c)
		exit(2);
	smtpi_compose_test_hooks(c, seed, CU_NOW);
	return c;
}

/* The composed message as a NUL-terminated string (free it), or NULL with *rc. */
static inline char *cu_bytes(smtp_compose *c, size_t *len, int *rc)
{
	unsigned char *out = NULL;
	size_t n = 0;
	if (len)
		*len = 0;
	*rc = smtp_compose_render(c, &out, &n);
	if (*rc)
		return NULL;
	char *s = malloc(n + 1);
	memcpy(s, out, n);
	s[n] = '\0';
	free(out);
	if (len)
		*len = n;
	return s;
}

/* Where the body of an entity begins (after the empty line). */
static inline size_t cu_body_off(const char *e, size_t n)
{
	const char *p = memmem(e, n, "\r\n\r\n", 4);
	return p ? (size_t)(p - e) + 4 : n;
}

/* Appends the structure of entity e[0..n) to out: "mixed(alternative(plain,html),
   application/pdf)"; leaves as their subtype for text, full type otherwise. */
static inline void cu_describe(const char *e, size_t n, char *out, size_t cap)
{
	char *ct = md_field(e, n, "Content-Type");
	size_t used = strlen(out);
	if (!ct) {
		snprintf(out + used, cap - used, "?");
		return;
	}
	char type[128];
	size_t t = 0;
	while (ct[t] && ct[t] != ';' && ct[t] != ' ' && t < sizeof type - 1) {
		type[t] = ct[t];
		t++;
	}
	type[t] = '\0';
	if (strncmp(type, "multipart/", 10) == 0) {
		char *bnd = md_param(ct, "boundary");
		size_t off = cu_body_off(e, n), st[16], ln[16];
		int k = bnd ? md_split(e + off, n - off, bnd, st, ln, 16) : -1;
		snprintf(out + used, cap - used, "%s(", type + 10);
		for (int i = 0; i < k; i++) {
			if (i)
				strncat(out, ",", cap - strlen(out) - 1);
			cu_describe(e + off + st[i], ln[i], out, cap);
		}
		strncat(out, k < 0 ? "!)" : ")", cap - strlen(out) - 1);
		free(bnd);
	} else {
		snprintf(out + used, cap - used, "%s",
			 strncmp(type, "text/", 5) == 0 ? type + 5 : type);
	}
	free(ct);
}

/* The entity at a path of part indexes ("1.0": second part's first part), as
   start and length inside e. Returns 0 when found. */
static inline int cu_part(const char *e, size_t n, const char *path, size_t *ps, size_t *pn)
{
	size_t s = 0, len = n;
	for (const char *p = path; *p; p += (p[1] == '.') + 1) {
		char *ct = md_field(e + s, len, "Content-Type");
		char *bnd = ct ? md_param(ct, "boundary") : NULL;
		size_t off = cu_body_off(e + s, len), st[16], ln[16];
		int k = bnd ? md_split(e + s + off, len - off, bnd, st, ln, 16) : -1;
		int want = *p - '0';
		free(ct);
		free(bnd);
		if (want >= k)
			return -1;
		s += off + st[want];
		len = ln[want];
	}
	*ps = s;
	*pn = len;
	return 0;
}

/* The decoded body of a leaf entity (base64, quoted-printable or as is). */
static inline char *cu_decoded(const char *e, size_t n, size_t *outlen)
{
	char *cte = md_field(e, n, "Content-Transfer-Encoding");
	size_t off = cu_body_off(e, n);
	char *d;
	if (cte && strcmp(cte, "base64") == 0) {
		char *flat = malloc(n - off + 1);
		size_t k = 0;
		for (size_t i = off; i < n; i++)
			if (e[i] != '\r' && e[i] != '\n')
				flat[k++] = e[i];
		unsigned char *dec = NULL;
		size_t dl = 0;
		if (smtpi_base64_decode(flat, k, &dec, &dl) != 0)
			dl = (size_t)-1;
		free(flat);
		d = (char *)dec;
		*outlen = dl;
	} else if (cte && strcmp(cte, "quoted-printable") == 0) {
		d = md_qp_decode(e + off, n - off, outlen);
	} else {
		d = smtpi_strndup(e + off, n - off);
		*outlen = n - off;
	}
	free(cte);
	return d;
}

/* Every line ends CRLF and is at most max octets; no lone CR or LF. */
static inline int cu_lines_ok(const char *m, size_t n, size_t max)
{
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '\r' && i + 1 < n && m[i + 1] == '\n') {
			line = 0;
			i++;
		} else if (m[i] == '\r' || m[i] == '\n' || m[i] == '\0' || ++line > max) {
			return 0;
		}
	}
	return line == 0;
}

#endif

/* MIME parameters (RFC 2045 5.1) with RFC 2231 extended values for what a quoted
   string cannot carry, and the check of caller-given content types. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compose/mime.h"
#include "smtp.h"

/* A section "attribute*N*=" plus its value stays within one 78-octet line. */
#define SECTION_MAX 60
/* A quoted value longer than this goes in sections instead. */
#define QUOTED_MAX 64
#define TYPE_MAX 255

/* RFC 2045 5.1 tspecials. */
static int tspecial(unsigned char c)
{
	return c != 0 && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !tspecial(c);
}

/* RFC 2231 7 attribute-char: a token character other than "*", "'" and "%". */
static int attribute_char(unsigned char c)
{
	return token_char(c) && c != '*' && c != '\'' && c != '%';
}

static void quoted(struct smtpi_field *f, const char *attribute, const char *v, size_t n)
{
	smtpi_field_str(f, attribute);
	smtpi_field_text(f, "=\"", 2);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			smtpi_field_text(f, "\\", 1);
		smtpi_field_text(f, v + i, 1);
	}
	smtpi_field_text(f, "\"", 1);
}

/* RFC 2231 3 and 4: attribute*0*=utf-8''%XX...; attribute*1*=... */
static void extended(struct smtpi_field *f, const char *attribute, const unsigned char *v,
		     size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t alen = strlen(attribute);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += attribute_char(v[i]) ? 1 : 3;
	int sections = total + 7 + alen + 2 > SECTION_MAX;
	unsigned section = 0;
	size_t i = 0;
	do {
		char head[24];
		int hl = sections ? snprintf(head, sizeof head, "*%u*=", section)
				  : snprintf(head, sizeof head, "*=");
		if (section > 0) {
			smtpi_field_text(f, ";", 1);
			smtpi_field_space(f);
		}
		smtpi_field_str(f, attribute);
		smtpi_field_text(f, head, (size_t)hl);
		size_t used = alen + (size_t)hl;
		if (section == 0) {
			smtpi_field_str(f, "utf-8''");
			used += 7;
		}
		/* a section holds whole characters, so no reader splits one */
		while (i < n) {
			size_t len = smtpi_utf8_len(v + i, n - i);
			if (len == 0)
				len = 1;
			size_t add = 0;
			for (size_t k = 0; k < len; k++)
				add += attribute_char(v[i + k]) ? 1 : 3;
			if (used + add > SECTION_MAX && used > alen + (size_t)hl + 7)
				break;
			for (size_t k = 0; k < len; k++) {
				char e[3] = {'%', hex[v[i + k] >> 4], hex[v[i + k] & 15]};
				if (attribute_char(v[i + k]))
					smtpi_field_text(f, v + i + k, 1);
				else
					smtpi_field_text(f, e, 3);
			}
			used += add;
			i += len;
		}
		section++;
	} while (i < n);
}

void smtpi_param(struct smtpi_field *f, const char *attribute, const char *value, int utf8)
{
	size_t n = strlen(value);
	smtpi_field_text(f, ";", 1);
	smtpi_field_space(f);
	int is_token = n > 0;
	for (size_t i = 0; i < n; i++)
		is_token = is_token && token_char((unsigned char)value[i]);
	if (is_token && n <= QUOTED_MAX) {
		smtpi_field_str(f, attribute);
		smtpi_field_text(f, "=", 1);
		smtpi_field_text(f, value, n);
	} else if ((utf8 || !smtpi_has_8bit(value, n)) && n <= QUOTED_MAX) {
		quoted(f, attribute, value, n);
	} else {
		extended(f, attribute, (const unsigned char *)value, n);
	}
}

static size_t token_len(const char *s)
{
	size_t n = 0;
	while (token_char((unsigned char)s[n]))
		n++;
	return n;
}

int smtpi_content_type_check(const char *type)
{
	size_t n = strlen(type);
	if (n == 0 || n > TYPE_MAX)
		return SMTP_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)type[i] < 0x20 || (unsigned char)type[i] >= 0x7f)
			return SMTP_EINVAL;
	size_t t = token_len(type);
	if (t == 0 || type[t] != '/')
		return SMTP_EINVAL;
	size_t s = token_len(type + t + 1);
	if (s == 0)
		return SMTP_EINVAL;
	/* parameters: *(";" attribute "=" (token / quoted-string)), RFC 2045 5.1 */
	const char *p = type + t + 1 + s;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return SMTP_EINVAL;
		while (*p == ' ')
			p++;
		size_t a = token_len(p);
		if (a == 0 || p[a] != '=')
			return SMTP_EINVAL;
		p += a + 1;
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\0' || (*p == '\\' && *++p == '\0'))
					return SMTP_EINVAL;
			p++;
		} else {
			size_t v = token_len(p);
			if (v == 0)
				return SMTP_EINVAL;
			p += v;
		}
	}
	/* RFC 2046 5.1.1 and 5.2.1: a multipart needs our boundary, a message type an
	   encoding other than base64 */
	if ((t == 9 && strncasecmp(type, "multipart", 9) == 0) ||
	    (t == 7 && strncasecmp(type, "message", 7) == 0))
		return SMTP_EINVAL;
	return 0;
}

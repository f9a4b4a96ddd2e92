/* Option values, as both command lines (options.c, sendmail.c) and the config file
   spell them, and the usage error that names the option and the reason (exit 64). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "smtp-send.h"

int ss_usage_error(const char *option, const char *reason)
{
	return ss_fail(EX_USAGE, "%s: %s (see %s --help)", option, reason, ss_out_prog());
}

struct name_value {
	const char *name;
	unsigned value;
};

/* The entry of table named by s[0, len) (case-insensitive), or NULL. */
static const struct name_value *find_name(const struct name_value *table, size_t n,
					  const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i].name) == len && strncasecmp(s, table[i].name, len) == 0)
			return &table[i];
	return NULL;
}

int ss_parse_tls(const char *option, const char *v, smtp_tls *mode)
{
	static const struct name_value modes[] = {{"none", SMTP_TLS_NONE},
						  {"starttls", SMTP_TLS_STARTTLS},
						  {"implicit", SMTP_TLS_IMPLICIT},
						  {"opportunistic", SMTP_TLS_OPPORTUNISTIC}};
	const struct name_value *m = find_name(modes, 4, v, strlen(v));
	if (!m)
		return ss_fail(EX_USAGE, "%s '%s': expected none, starttls, implicit or "
			       "opportunistic", option, v);
	*mode = (smtp_tls)m->value;
	return 0;
}

int ss_parse_seconds(const char *option, const char *v, int *seconds)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (end == v || *end || v[0] == '-' || v[0] == '+' || v[0] == ' ')
		return ss_fail(EX_USAGE, "%s '%s': not a number of seconds", option, v);
	if (n < 1 || n > 86400)
		return ss_fail(EX_USAGE, "%s %s: out of range (1 to 86400 seconds)", option, v);
	*seconds = (int)n;
	return 0;
}

int ss_parse_notify(const char *option, const char *v, unsigned *out)
{
	static const struct name_value names[] = {{"never", SMTP_NOTIFY_NEVER},
						  {"success", SMTP_NOTIFY_SUCCESS},
						  {"failure", SMTP_NOTIFY_FAILURE},
						  {"delay", SMTP_NOTIFY_DELAY}};
	unsigned bits = 0;
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");
		const struct name_value *name = find_name(names, 4, p, n);
		if (!name)
			return ss_fail(EX_USAGE, "%s '%s': expected never, or a list of success, "
				       "failure and delay", option, v);
		bits |= name->value;
		p += n + (p[n] == ',');
	}
	/* RFC 3461 4.1: NEVER stands alone */
	if (!bits || ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER))
		return ss_fail(EX_USAGE, "%s '%s': never cannot be combined with other values",
			       option, v);
	*out = bits;
	return 0;
}

int ss_parse_ret(const char *option, const char *v, smtp_dsn_ret *ret)
{
	if (strcasecmp(v, "full") == 0)
		*ret = SMTP_DSN_RET_FULL;
	else if (strcasecmp(v, "hdrs") == 0)
		*ret = SMTP_DSN_RET_HDRS;
	else
		return ss_fail(EX_USAGE, "%s '%s': expected full or hdrs", option, v);
	return 0;
}

/* A line break in a value that goes into a header field would add header lines of
   the caller's choosing (header injection): every control character is refused, as
   is text that is not UTF-8. */
int ss_check_text(const char *option, const char *s, size_t max, int tab_ok)
{
	size_t len = strlen(s);
	if (len > max) {
		char why[64];
		snprintf(why, sizeof why, "longer than %zu octets", max);
		return ss_usage_error(option, why);
	}
	for (size_t i = 0; i < len;) {
		unsigned char b = (unsigned char)s[i];
		if ((b < 0x20 && !(tab_ok && b == '\t')) || b == 0x7f)
			return ss_usage_error(option, "holds a line break or another control "
					      "character: refused, nothing sent");
		size_t n = b < 0x80 ? 1 : ss_utf8_len((const unsigned char *)s + i, len - i);
		if (!n)
			return ss_usage_error(option, "not UTF-8 text");
		i += n;
	}
	return 0;
}

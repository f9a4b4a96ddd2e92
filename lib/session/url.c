/* smtp_session_set_url: smtp://, smtps:// and lmtp:// URLs (include/smtp.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/address.h"
#include "wire/text.h"
#include "session/session.h"

int smtpi_session_set_lmtp(smtp_session *s, const char *host, int port, const char *path);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [p, p+n) into a new string; a decoded control character is
   SMTP_EINVAL like any other caller string. */
static int pct_decode(const char *p, size_t n, char **out)
{
	char *d = malloc(n + 1);
	if (!d)
		return SMTP_ENOMEM;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(d);
				return SMTP_EINVAL;
			}
			d[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			d[j++] = p[i];
		}
	}
	d[j] = '\0';
	if (j != strlen(d) || smtpi_check_text(d, j)) {
		smtpi_free_secret(d);
		return SMTP_EINVAL;
	}
	*out = d;
	return 0;
}

static int parse_port(const char *p, size_t n, int *port)
{
	if (n == 0 || n > 5)
		return SMTP_EINVAL;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SMTP_EINVAL;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return SMTP_EINVAL;
	*port = v;
	return 0;
}

static int parse_tls_query(const char *q, smtp_tls *mode)
{
	if (!q)
		return 0;
	if (strcmp(q, "tls=opportunistic") == 0)
		*mode = SMTP_TLS_OPPORTUNISTIC;
	else if (strcmp(q, "tls=none") == 0)
		*mode = SMTP_TLS_NONE;
	else if (strcmp(q, "tls=starttls") == 0)
		*mode = SMTP_TLS_STARTTLS;
	else
		return SMTP_EINVAL;
	return 0;
}

struct url_parts {
	char *user, *password, *host, *path;
	int port;
};

static void parts_free(struct url_parts *u)
{
	smtpi_free_secret(u->user);
	smtpi_free_secret(u->password);
	free(u->host);
	free(u->path);
}

/* authority = [userinfo "@"] host [":" port]; host may be "[IPv6]". */
static int parse_authority(const char *a, size_t n, struct url_parts *u)
{
	const char *at = memchr(a, '@', n);
	for (const char *p = at ? at + 1 : a; at && p < a + n; p++)
		if (*p == '@')
			at = p; /* the last '@' ends the user information */
	if (at) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		size_t ulen = (size_t)((colon ? colon : at) - a);
		int rc = pct_decode(a, ulen, &u->user);
		if (!rc && colon)
			rc = pct_decode(colon + 1, (size_t)(at - colon - 1), &u->password);
		if (rc)
			return rc;
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	const char *hend;
	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close)
			return SMTP_EINVAL;
		u->host = strndup(a + 1, (size_t)(close - a - 1));
		hend = close + 1;
	} else {
		const char *colon = memchr(a, ':', n);
		hend = colon ? colon : a + n;
		/* RFC 3986 3.2.2: a registered name may be percent-encoded */
		int rc = pct_decode(a, (size_t)(hend - a), &u->host);
		if (rc)
			return rc;
	}
	if (!u->host)
		return SMTP_ENOMEM;
	if (hend < a + n) {
		if (*hend != ':')
			return SMTP_EINVAL;
		return parse_port(hend + 1, (size_t)(a + n - hend - 1), &u->port);
	}
	return 0;
}

int smtp_session_set_url(smtp_session *s, const char *url)
{
	if (!s || !url)
		return SMTP_EINVAL;
	if (s->state != SMTPI_S_IDLE)
		return SMTP_ESTATE;
	if (smtpi_check_text(url, strlen(url)))
		return SMTP_EINVAL;
	static const struct {
		const char *prefix;
		smtp_tls mode;
		int lmtp;
	} schemes[] = {
		{"smtp://", SMTP_TLS_STARTTLS, 0},
		{"smtps://", SMTP_TLS_IMPLICIT, 0},
		{"lmtp://", SMTP_TLS_NONE, 1},
	};
	size_t k = 0;
	while (k < 3 && strncasecmp(url, schemes[k].prefix, strlen(schemes[k].prefix)) != 0)
		k++;
	if (k == 3)
		return SMTP_EINVAL;
	const char *a = url + strlen(schemes[k].prefix);
	const char *query = strchr(a, '?');
	const char *slash = strchr(a, '/');
	if (slash && query && slash > query)
		slash = NULL;
	const char *aend = slash ? slash : query ? query : a + strlen(a);
	smtp_tls mode = schemes[k].mode;
	if (parse_tls_query(query ? query + 1 : NULL, &mode) || (query && k != 0))
		return SMTP_EINVAL;
	struct url_parts u = {0};
	int rc = parse_authority(a, (size_t)(aend - a), &u);
	if (!rc && slash && (slash[1] || k == 2)) {
		if (k != 2) {
			rc = SMTP_EINVAL;
		} else {
			u.path = strndup(slash, (size_t)((query ? query : slash + strlen(slash)) - slash));
			rc = u.path ? 0 : SMTP_ENOMEM;
		}
	}
	if (!rc && schemes[k].lmtp) {
		if (u.path && u.host[0] == '\0')
			rc = smtpi_session_set_lmtp(s, NULL, 0, u.path);
		else if (u.host[0] && u.port && !u.path)
			rc = smtpi_session_set_lmtp(s, u.host, u.port, NULL);
		else
			rc = SMTP_EINVAL;
	} else if (!rc) {
		rc = u.host[0] ? smtp_session_set_server(s, u.host, u.port, mode) : SMTP_EINVAL;
	}
	if (!rc && u.user)
		rc = smtp_session_set_auth(s, u.user, u.password ? u.password : "", NULL);
	parts_free(&u);
	return rc;
}

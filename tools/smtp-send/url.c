/* A URL the library refused, explained: the library says only SMTP_EINVAL, and an
   operator needs to know whether the host has a space, the port is 99999 or the
   scheme is misspelt. This follows the grammar of smtp_session_set_url (smtp.h) and
   names the first part that does not fit; it never accepts a URL by itself. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp-send.h"

struct parts {
	const char *scheme, *auth, *path, *query; /* path and query may be NULL */
	size_t scheme_len, auth_len, path_len;
};

static int split(const char *url, struct parts *p)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return -1;
	p->scheme = url;
	p->scheme_len = (size_t)(sep - url);
	p->auth = sep + 3;
	p->query = strchr(p->auth, '?');
	p->path = strchr(p->auth, '/');
	if (p->path && p->query && p->path > p->query)
		p->path = NULL;
	const char *aend = p->path ? p->path : p->query ? p->query : p->auth + strlen(p->auth);
	p->auth_len = (size_t)(aend - p->auth);
	p->path_len = p->path ? (size_t)((p->query ? p->query : p->path + strlen(p->path)) - p->path)
			      : 0;
	return 0;
}

/* The host part of the authority (after the last '@'). */
static const char *host_start(const struct parts *p)
{
	const char *h = p->auth;
	for (const char *q = p->auth; q < p->auth + p->auth_len; q++)
		if (*q == '@')
			h = q + 1;
	return h;
}

void ss_url_userinfo(const char *url, int *has_user, int *has_password)
{
	struct parts p;
	*has_user = *has_password = 0;
	if (split(url, &p))
		return;
	const char *h = host_start(&p);
	if (h == p.auth)
		return;
	size_t ulen = (size_t)(h - 1 - p.auth);
	const char *colon = memchr(p.auth, ':', ulen);
	*has_user = (colon ? (size_t)(colon - p.auth) : ulen) > 0;
	*has_password = colon != NULL;
}

static int hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static const char *check_userinfo(const char *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (u[i] != '%')
			continue;
		if (i + 2 >= n || !hex(u[i + 1]) || !hex(u[i + 2]))
			return "a '%' in the user name or password is not followed by two hex "
			       "digits (write %25 for '%')";
		unsigned v = 0;
		sscanf(u + i + 1, "%2x", &v);
		if (v < 0x20 || v == 0x7f)
			return "the user name or password decodes to a control character";
	}
	return NULL;
}

static const char *check_host(const char *h, size_t n, char *buf, size_t len)
{
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == ' ') {
			snprintf(buf, len, "the host '%.*s' contains a space", (int)n, h);
			return buf;
		}
		if (c == '.') {
			if (label == 0) {
				snprintf(buf, len, "the host '%.*s' has an empty label (\"..\", or a "
					 "dot at its start)", (int)n, h);
				return buf;
			}
			label = 0;
			continue;
		}
		if ((unsigned char)c < 0x80 && !(c == '-' || (c >= '0' && c <= '9') ||
						 (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			snprintf(buf, len, "the host '%.*s' contains '%c', which a host name cannot "
				 "hold (letters, digits, '-' and '.')", (int)n, h, c);
			return buf;
		}
		if (++label > 63) {
			snprintf(buf, len, "a label of the host is longer than 63 octets");
			return buf;
		}
	}
	return NULL;
}

static const char *check_port(const char *p, size_t n, char *buf, size_t len)
{
	if (n == 0)
		return "no port after ':'";
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9') {
			snprintf(buf, len, "the port '%.*s' is not a number", (int)n, p);
			return buf;
		}
	size_t digits = n;
	while (digits > 1 && *p == '0') {
		p++;
		digits--;
	}
	if (digits > 5 || strtol(p, NULL, 10) > 65535 || strtol(p, NULL, 10) < 1) {
		snprintf(buf, len, "the port %.*s is out of range (1 to 65535)", (int)digits, p);
		return buf;
	}
	return NULL;
}

/* Host and port of the authority; *host_len 0 when there is no host. */
static const char *check_authority(const struct parts *p, size_t *host_len, int *has_port,
				   char *buf, size_t len)
{
	const char *h = host_start(p);
	const char *why = h > p->auth ? check_userinfo(p->auth, (size_t)(h - 1 - p->auth)) : NULL;
	if (why)
		return why;
	const char *end = p->auth + p->auth_len, *hend;
	if (h < end && *h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));
		if (!close)
			return "an IPv6 address is written [addr]: the ']' is missing";
		char addr[64];
		unsigned char bin[16];
		snprintf(addr, sizeof addr, "%.*s", (int)(close - h - 1), h + 1);
		if ((size_t)(close - h - 1) >= sizeof addr || inet_pton(AF_INET6, addr, bin) != 1) {
			snprintf(buf, len, "'%.*s' is not an IPv6 address", (int)(close - h + 1), h);
			return buf;
		}
		hend = close + 1;
		if (hend < end && *hend != ':')
			return "text after the ']' of the IPv6 address (only :port may follow)";
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		hend = hend ? hend : end;
		why = check_host(h, (size_t)(hend - h), buf, len);
		if (why)
			return why;
	}
	*host_len = (size_t)(hend - h);
	*has_port = hend < end;
	return *has_port ? check_port(hend + 1, (size_t)(end - hend - 1), buf, len) : NULL;
}

const char *ss_url_explain(const char *url, char *buf, size_t len)
{
	if (!url[0])
		return "it is empty";
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(buf, len, "a control character at position %d", (int)(c - url) + 1);
			return buf;
		}
	struct parts p;
	if (split(url, &p))
		return "no scheme: a URL starts with smtp://, smtps:// or lmtp://";
	static const char *const schemes[] = {"smtp", "smtps", "lmtp"};
	size_t k = 0;
	while (k < 3 && !(strlen(schemes[k]) == p.scheme_len &&
			  strncasecmp(url, schemes[k], p.scheme_len) == 0))
		k++;
	if (k == 3) {
		snprintf(buf, len, "unknown scheme '%.*s' (expected smtp, smtps or lmtp)",
			 (int)p.scheme_len, url);
		return buf;
	}
	if (p.query && k != 0)
		return "a ?tls= query is only for smtp:// (smtps:// is always TLS, lmtp:// never)";
	if (p.query && strcmp(p.query, "?tls=opportunistic") && strcmp(p.query, "?tls=none") &&
	    strcmp(p.query, "?tls=starttls")) {
		snprintf(buf, len, "unknown query '%s' (expected ?tls=opportunistic, ?tls=none or "
			 "?tls=starttls)", p.query);
		return buf;
	}
	size_t host_len = 0;
	int has_port = 0;
	const char *why = check_authority(&p, &host_len, &has_port, buf, len);
	if (why)
		return why;
	int path = p.path && (p.path_len > 1 || k == 2);
	if (k != 2 && path)
		return "a path is only for lmtp:///path/to/socket";
	if (k == 2 && host_len && path)
		return "lmtp:// takes host:port or /path/to/socket, not both";
	if (k == 2 && host_len && !has_port)
		return "lmtp://host needs a port (lmtp://host:port)";
	if (!host_len && !(k == 2 && path))
		return k == 2 ? "lmtp:// needs host:port or /path/to/socket" : "no host";
	const char *h = host_start(&p);
	for (size_t i = 0; i < host_len; i++)
		if ((unsigned char)h[i] >= 0x80) {
			snprintf(buf, len, "the host '%.*s' is not a valid internationalized domain "
				 "name (IDNA2008)", (int)host_len, h);
			return buf;
		}
	return NULL;
}

/* The URL with its password replaced by "****", for messages. */
void ss_url_redact(const char *url, char *buf, size_t len)
{
	struct parts p;
	int user, password;
	ss_url_userinfo(url, &user, &password);
	if (!password || split(url, &p)) {
		snprintf(buf, len, "%s", url);
		return;
	}
	const char *at = host_start(&p) - 1;
	const char *colon = memchr(p.auth, ':', (size_t)(at - p.auth));
	snprintf(buf, len, "%.*s:****%s", (int)(colon - url), url, at);
}

/* The percent-decoded user name of the URL, or NULL. */
char *ss_url_user(const char *url)
{
	struct parts p;
	if (split(url, &p))
		return NULL;
	const char *at = host_start(&p) - 1;
	if (at < p.auth)
		return NULL;
	const char *colon = memchr(p.auth, ':', (size_t)(at - p.auth));
	const char *end = colon ? colon : at;
	char *u = malloc((size_t)(end - p.auth) + 1);
	if (!u)
		return NULL;
	size_t n = 0;
	for (const char *q = p.auth; q < end; q++) {
		unsigned v;
		if (*q == '%' && q + 2 < end && hex(q[1]) && hex(q[2]) &&
		    sscanf(q + 1, "%2x", &v) == 1) {
			u[n++] = (char)v;
			q += 2;
		} else {
			u[n++] = *q;
		}
	}
	u[n] = '\0';
	return u;
}

/* The DKIM signer object: domain, selector, key (loaded with OpenSSL), options. */
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"
#include "compose/dkim.h"
#include "wire/address.h"

#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 4096
#define HEADERS_MAX 512
#define EXPIRY_MAX INT64_C(315360000)
#define LABEL_MAX 63

smtp_dkim *smtp_dkim_new(void)
{
	return calloc(1, sizeof(smtp_dkim));
}

void smtp_dkim_free(smtp_dkim *d)
{
	if (!d)
		return;
	free(d->domain);
	free(d->selector);
	free(d->headers);
	EVP_PKEY_free(d->key);
	free(d);
}

int smtpi_dkim_ready(const smtp_dkim *d)
{
	return d->domain && d->key;
}

smtp_dkim *smtpi_dkim_copy(const smtp_dkim *d)
{
	smtp_dkim *c = smtp_dkim_new();
	if (!c)
		return NULL;
	*c = *d;
	c->domain = smtpi_strndup(d->domain, strlen(d->domain));
	c->selector = smtpi_strndup(d->selector, strlen(d->selector));
	c->headers = d->headers ? smtpi_strndup(d->headers, strlen(d->headers)) : NULL;
	c->key = EVP_PKEY_up_ref(d->key) == 1 ? d->key : NULL;
	if (!c->domain || !c->selector || (d->headers && !c->headers) || !c->key) {
		smtp_dkim_free(c);
		return NULL;
	}
	return c;
}

/* RFC 6376 3.1: selectors are sub-domains (dot-separated ASCII labels). */
static int selector_check(const char *s)
{
	size_t label = 0, n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return SMTP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return SMTP_EINVAL;
			label = 0;
			continue;
		}
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 (c == '-' && label > 0) || c == '_';
		if (!ok || ++label > LABEL_MAX)
			return SMTP_EINVAL;
	}
	return 0;
}

int smtp_dkim_set_domain(smtp_dkim *d, const char *domain, const char *selector)
{
	char *dom, *sel;
	const char *why;
	if (!d || !domain || !selector || selector_check(selector) != 0 ||
	    strchr(domain, '@') || strchr(domain, '['))
		return SMTP_EINVAL;
	/* RFC 6376 3.5 d=: internationalized domains go as A-labels */
	int rc = smtpi_domain_to_ascii(domain, 0, &dom, &why);
	if (rc)
		return rc;
	if (selector_check(dom) != 0) {
		free(dom);
		return SMTP_EINVAL;
	}
	if (!(sel = smtpi_strndup(selector, strlen(selector)))) {
		free(dom);
		return SMTP_ENOMEM;
	}
	free(d->domain);
	free(d->selector);
	d->domain = dom;
	d->selector = sel;
	return 0;
}

/* An encrypted key is refused, never prompted for on a terminal: OpenSSL's default
   callback takes its user data as the password instead of asking (an empty one). */
static EVP_PKEY *read_key(BIO *b)
{
	return PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
}

static int use_key(smtp_dkim *d, EVP_PKEY *k)
{
	int id = EVP_PKEY_get_base_id(k);
	int bits = EVP_PKEY_get_bits(k);
	if (id != EVP_PKEY_ED25519 &&
	    !(id == EVP_PKEY_RSA && bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS)) {
		EVP_PKEY_free(k);
		return SMTP_EINVAL;
	}
	EVP_PKEY_free(d->key);
	d->key = k;
	d->ed25519 = id == EVP_PKEY_ED25519;
	return 0;
}

int smtp_dkim_set_key_pem(smtp_dkim *d, const char *pem, size_t len)
{
	if (!d || !pem || len == 0 || len > INT32_MAX)
		return SMTP_EINVAL;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return SMTP_ENOMEM;
	EVP_PKEY *k = read_key(b);
	BIO_free(b);
	return k ? use_key(d, k) : SMTP_EINVAL;
}

int smtp_dkim_set_key_file(smtp_dkim *d, const char *path)
{
	if (!d || !path)
		return SMTP_EINVAL;
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return SMTP_EINVAL;
	EVP_PKEY *k = read_key(b);
	BIO_free(b);
	return k ? use_key(d, k) : SMTP_EINVAL;
}

int smtp_dkim_set_canon(smtp_dkim *d, smtp_dkim_canon header, smtp_dkim_canon body)
{
	if (!d || (unsigned)header > SMTP_DKIM_SIMPLE || (unsigned)body > SMTP_DKIM_SIMPLE)
		return SMTP_EINVAL;
	d->hcanon = header;
	d->bcanon = body;
	return 0;
}

int smtp_dkim_set_headers(smtp_dkim *d, const char *names)
{
	if (!d)
		return SMTP_EINVAL;
	if (!names) {
		free(d->headers);
		d->headers = NULL;
		return 0;
	}
	size_t n = strlen(names);
	if (n == 0 || n > HEADERS_MAX || names[0] == ':' || names[n - 1] == ':')
		return SMTP_EINVAL;
	char *h = smtpi_strndup(names, n);
	if (!h)
		return SMTP_ENOMEM;
	int from = 0;
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && h[i] != ':') {
			/* RFC 5322 3.6.8 field names; h= compares them case-insensitively */
			if (h[i] < 33 || h[i] > 126)
				break;
			h[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
			continue;
		}
		if (i == start)
			break;
		from |= i - start == 4 && memcmp(h + start, "from", 4) == 0;
		start = i + 1;
		if (i == n) {
			/* RFC 6376 5.4: the From field MUST be signed */
			if (!from)
				break;
			free(d->headers);
			d->headers = h;
			return 0;
		}
	}
	free(h);
	return SMTP_EINVAL;
}

int smtp_dkim_set_expiry(smtp_dkim *d, int64_t seconds)
{
	if (!d || seconds < 0 || seconds > EXPIRY_MAX)
		return SMTP_EINVAL;
	d->expiry = seconds;
	return 0;
}

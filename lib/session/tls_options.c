/* The public TLS setters: they check and copy the caller's values into the session's
   struct smtpi_tls_opts, which lib/tls.c turns into an SSL_CTX at connect time. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "session/session.h"
#include "wire/text.h"

/* Finds the options; *rc says why not. */
static struct smtpi_tls_opts *opts_of(smtp_session *s, int *rc)
{
	struct smtpi_tls_opts *o;

	if (!s) {
		*rc = SMTP_EINVAL;
		return NULL;
	}
	o = smtpi_session_tls_opts(s);
	*rc = o ? 0 : SMTP_ESTATE;
	return o;
}

/* A path or list: non-empty, without control characters (CR, LF, TAB, DEL ...). */
static int plain_text(const char *p)
{
	return *p && smtpi_check_text(p, strlen(p)) == 0;
}

/* Copies v (NULL stays NULL) into *out. Returns 0 or SMTP_ENOMEM. */
static int copy(char **out, const char *v)
{
	*out = NULL;
	if (v && !(*out = strdup(v)))
		return SMTP_ENOMEM;
	return 0;
}

/* Replaces *slot with a copy of v (NULL clears it). Returns 0 or SMTP_ENOMEM. */
static int replace(char **slot, const char *v)
{
	char *c;

	if (copy(&c, v))
		return SMTP_ENOMEM;
	free(*slot);
	*slot = c;
	return 0;
}

int smtp_session_set_ca_file(smtp_session *s, const char *path)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	if (path && !plain_text(path))
		return SMTP_EINVAL;
	return replace(&o->ca_file, path);
}

int smtp_session_set_ca_dir(smtp_session *s, const char *path)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	if (path && !plain_text(path))
		return SMTP_EINVAL;
	return replace(&o->ca_dir, path);
}

int smtp_session_set_tls_insecure_skip_verify(smtp_session *s, int on)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	o->insecure = on != 0;
	return 0;
}

int smtp_session_set_tls_min_version(smtp_session *s, const char *version)
{
	struct smtpi_tls_opts *o;
	int rc, v;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	/* TLS 1.0 and 1.1 are deprecated (RFC 8996): they cannot be asked for. */
	if (!version || strcmp(version, "1.2") == 0)
		v = TLS1_2_VERSION;
	else if (strcmp(version, "1.3") == 0)
		v = TLS1_3_VERSION;
	else
		return SMTP_EINVAL;
	o->min_version = v;
	return 0;
}

enum list_kind { LIST_TLS12, LIST_TLS13, LIST_GROUPS };

/* Whether OpenSSL accepts the list, so a typo is found here rather than at connect.
   Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
static int check_list(enum list_kind kind, const char *list)
{
	SSL_CTX *ctx;
	int ok;

	if (!list)
		return 0;
	if (!plain_text(list))
		return SMTP_EINVAL;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ERR_clear_error();
		return SMTP_ENOMEM;
	}
	if (kind == LIST_TLS12)
		ok = SSL_CTX_set_cipher_list(ctx, list) == 1;
	else if (kind == LIST_TLS13)
		ok = SSL_CTX_set_ciphersuites(ctx, list) == 1;
	else
		ok = SSL_CTX_set1_groups_list(ctx, list) == 1;
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : SMTP_EINVAL;
}

int smtp_session_set_tls_ciphers(smtp_session *s, const char *tls12_list,
				 const char *tls13_suites)
{
	struct smtpi_tls_opts *o;
	char *c12, *c13;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	rc = check_list(LIST_TLS12, tls12_list);
	if (!rc)
		rc = check_list(LIST_TLS13, tls13_suites);
	if (rc)
		return rc;
	if (copy(&c12, tls12_list))
		return SMTP_ENOMEM;
	if (copy(&c13, tls13_suites)) {
		free(c12);
		return SMTP_ENOMEM;
	}
	free(o->ciphers);
	free(o->ciphersuites);
	o->ciphers = c12;
	o->ciphersuites = c13;
	return 0;
}

int smtp_session_set_tls_groups(smtp_session *s, const char *groups)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	rc = check_list(LIST_GROUPS, groups);
	if (rc)
		return rc;
	return replace(&o->groups, groups);
}

/* Replaces the client certificate, whichever form it had, with the given strings
   (already checked). Returns 0 or SMTP_ENOMEM, leaving the options unchanged. */
static int set_cert(struct smtpi_tls_opts *o, const char *cert_file, const char *key_file,
		    const char *cert_pem, const char *key_pem)
{
	char *cf = NULL, *kf = NULL, *cp = NULL, *kp = NULL;

	if (copy(&cf, cert_file) || copy(&kf, key_file) || copy(&cp, cert_pem) ||
	    copy(&kp, key_pem)) {
		free(cf);
		free(kf);
		free(cp);
		smtpi_free_secret(kp);
		return SMTP_ENOMEM;
	}
	free(o->cert_file);
	free(o->key_file);
	free(o->cert_pem);
	smtpi_free_secret(o->key_pem);
	o->cert_file = cf;
	o->key_file = kf;
	o->cert_pem = cp;
	o->key_pem = kp;
	return 0;
}

int smtp_session_set_client_cert(smtp_session *s, const char *cert_file,
				 const char *key_file)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	if (!cert_file)
		return set_cert(o, NULL, NULL, NULL, NULL);
	if (!plain_text(cert_file) || (key_file && !plain_text(key_file)))
		return SMTP_EINVAL;
	return set_cert(o, cert_file, key_file, NULL, NULL);
}

int smtp_session_set_client_cert_pem(smtp_session *s, const char *cert_pem,
				     const char *key_pem)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	if (!cert_pem)
		return set_cert(o, NULL, NULL, NULL, NULL);
	/* PEM is multi-line text: only emptiness can be checked before parsing. */
	if (!*cert_pem || (key_pem && !*key_pem))
		return SMTP_EINVAL;
	return set_cert(o, NULL, NULL, cert_pem, key_pem);
}

int smtp_session_set_key_password_cb(smtp_session *s, smtp_password_fn fn, void *ud)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	o->key_password = fn;
	o->key_password_ud = fn ? ud : NULL;
	return 0;
}

int smtp_session_set_tls_cache(smtp_session *s, smtp_tls_cache *cache)
{
	struct smtpi_tls_opts *o;
	int rc;

	o = opts_of(s, &rc);
	if (!o)
		return rc;
	o->cache = cache;
	return 0;
}

/* --dkim-domain, --dkim-selector, --dkim-key: DKIM signers (RFC 6376 rsa-sha256,
   RFC 8463 ed25519-sha256, relaxed/relaxed), the triple once per signer (dual
   signing: each key has its own selector, as each DNS record holds one key). They
   are given to the builder for a composed message, or sign raw input once its
   header block is final (Bcc removed, Date and Message-ID added), since a field
   changed after signing breaks the signature (RFC 6376 5.4). A key file is checked
   before the library reads it, so that a missing file is "66: cannot read" and not
   a usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

size_t ss_dkim_count(const struct ss_compose_opts *o)
{
	return o ? o->ndkim[0] : 0;
}

int ss_dkim_make(const struct ss_compose_opts *o, size_t i, smtp_dkim **out)
{
	const struct ss_dkim_opts *k = &o->dkim[i];
	*out = NULL;
	if (access(k->key, R_OK) != 0)
		return ss_fail(EX_NOINPUT, "--dkim-key %s: %s", k->key, strerror(errno));
	smtp_dkim *d = smtp_dkim_new();
	if (!d)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int rc = smtp_dkim_set_domain(d, k->domain, k->selector);
	if (rc == SMTP_EINVAL)
		rc = ss_fail(EX_USAGE, "--dkim-domain '%s' --dkim-selector '%s': not a domain "
			     "name and a selector (letters, digits, '-', '.')", k->domain,
			     k->selector);
	else if (!rc && (rc = smtp_dkim_set_key_file(d, k->key)) == SMTP_EINVAL)
		rc = ss_fail(EX_USAGE, "--dkim-key %s: not a private key this program can "
			     "sign with (PEM, unencrypted: RSA of 1024 to 4096 bits, or Ed25519)",
			     k->key);
	if (rc == SMTP_ENOMEM)
		rc = ss_fail(EX_SOFTWARE, "out of memory");
	if (rc) {
		smtp_dkim_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* The DKIM-Signature field of signer i over ct, appended to out at *len. */
static int sign_one(const struct ss_compose_opts *o, size_t i, const struct ss_content *ct,
		    char *out, size_t *len)
{
	smtp_dkim *d;
	int rc = ss_dkim_make(o, i, &d);
	if (rc)
		return rc;
	char *sig = out + *len;
	size_t n = 0;
	rc = smtp_dkim_sign(d, ct->data, ct->len, sig, SMTP_DKIM_SIGNATURE_MAX, &n);
	smtp_dkim_free(d);
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (rc)
		return ss_fail(EX_DATAERR, "--dkim-key %s: the message cannot be signed: %s (it "
			       "needs a From field)", o->dkim[i].key, smtp_error_text(rc));
	/* the field in the message's own line ends (the library sends CRLF either way) */
	const char *nl = memchr(ct->data, '\n', ct->len);
	if (nl && (nl == ct->data || nl[-1] != '\r')) {
		size_t kept = 0;
		for (size_t j = 0; j < n; j++)
			if (sig[j] != '\r')
				sig[kept++] = sig[j];
		n = kept;
	}
	*len += n;
	return 0;
}

int ss_dkim_sign_raw(const struct ss_cmdline *c, struct ss_content *ct)
{
	size_t n = ss_dkim_count(c->compose);
	if (!n)
		return 0;
	/* RFC 6376 5.4, RFC 8463 3: each signature covers the message without the
	   others (h= never lists DKIM-Signature), so every field is made over the
	   message as it stands and all go before it, in the order given, as the
	   builder orders a composed message's */
	char *fields = malloc(n * SMTP_DKIM_SIGNATURE_MAX);
	size_t len = 0;
	int rc = fields ? 0 : ss_fail(EX_SOFTWARE, "out of memory");
	for (size_t i = 0; !rc && i < n; i++)
		rc = sign_one(c->compose, i, ct, fields, &len);
	char *signed_data = rc ? NULL : malloc(len + ct->len);
	if (!rc && !signed_data)
		rc = ss_fail(EX_SOFTWARE, "out of memory");
	if (!rc) {
		memcpy(signed_data, fields, len);
		memcpy(signed_data + len, ct->data, ct->len);
		free(ct->data);
		ct->data = signed_data;
		ct->len += len;
	}
	free(fields);
	return rc;
}

/* --dkim-domain, --dkim-selector, --dkim-key: one DKIM signer (RFC 6376 rsa-sha256,
   RFC 8463 ed25519-sha256, relaxed/relaxed), given to the builder for a composed
   message, or signing raw input once its header block is final (Bcc removed, Date
   and Message-ID added), since a field changed after signing breaks the signature
   (RFC 6376 5.4). The key file is checked before the library reads it, so that a
   missing file is "66: cannot read" and not a usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

int ss_dkim_make(const struct ss_compose_opts *o, smtp_dkim **out)
{
	*out = NULL;
	if (!o || !o->dkim_key)
		return 0;
	if (access(o->dkim_key, R_OK) != 0)
		return ss_fail(EX_NOINPUT, "--dkim-key %s: %s", o->dkim_key, strerror(errno));
	smtp_dkim *d = smtp_dkim_new();
	if (!d)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int rc = smtp_dkim_set_domain(d, o->dkim_domain, o->dkim_selector);
	if (rc == SMTP_EINVAL)
		rc = ss_fail(EX_USAGE, "--dkim-domain '%s' --dkim-selector '%s': not a domain "
			     "name and a selector (letters, digits, '-', '.')", o->dkim_domain,
			     o->dkim_selector);
	else if (!rc && (rc = smtp_dkim_set_key_file(d, o->dkim_key)) == SMTP_EINVAL)
		rc = ss_fail(EX_USAGE, "--dkim-key %s: not a private key this program can "
			     "sign with (PEM, unencrypted: RSA of 1024 to 4096 bits, or Ed25519)",
			     o->dkim_key);
	if (rc == SMTP_ENOMEM)
		rc = ss_fail(EX_SOFTWARE, "out of memory");
	if (rc) {
		smtp_dkim_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int ss_dkim_sign_raw(const struct ss_cmdline *c, struct ss_content *ct)
{
	smtp_dkim *d;
	int rc = ss_dkim_make(c->compose, &d);
	if (rc || !d)
		return rc;
	char sig[SMTP_DKIM_SIGNATURE_MAX];
	size_t len = 0;
	rc = smtp_dkim_sign(d, ct->data, ct->len, sig, sizeof sig, &len);
	smtp_dkim_free(d);
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (rc)
		return ss_fail(EX_DATAERR, "--dkim-key: the message cannot be signed: %s (it "
			       "needs a From field)", smtp_error_text(rc));
	/* the field in the message's own line ends (the library sends CRLF either way) */
	const char *nl = memchr(ct->data, '\n', ct->len);
	if (nl && (nl == ct->data || nl[-1] != '\r')) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++)
			if (sig[i] != '\r')
				sig[o++] = sig[i];
		len = o;
	}
	char *signed_data = malloc(len + ct->len);
	if (!signed_data)
		return ss_fail(EX_SOFTWARE, "out of memory");
	memcpy(signed_data, sig, len);
	memcpy(signed_data + len, ct->data, ct->len);
	free(ct->data);
	ct->data = signed_data;
	ct->len += len;
	return 0;
}

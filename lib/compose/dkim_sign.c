/* The DKIM-Signature field (RFC 6376 3.5, 3.7, 5): header selection, the header
   hash, rsa-sha256 or ed25519-sha256 (RFC 8463), and signing ready-made messages. */
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose/compose.h"
#include "compose/dkim.h"
#include "wire/base64.h"

#define MAX_FIELDS 1000
#define SIG_MAX 512
/* The b= line holds 73 characters after " b=", the next ones 76 after a space. */
#define B_FIRST 73
#define B_LINE 76

/* RFC 6376 5.4.1's recommended fields, in the order h= lists them. */
static const char *const default_names[] = {"from", "to", "cc", "subject", "date",
					    "message-id", "reply-to", "mime-version",
					    "content-type", "in-reply-to", "references"};

struct field {
	size_t start, len, nlen;
	int used;
};

static int name_is(const unsigned char *hdr, const struct field *f, const char *name,
		   size_t n)
{
	size_t l = f->nlen;
	while (l > 0 && (hdr[f->start + l - 1] == ' ' || hdr[f->start + l - 1] == '\t'))
		l--;
	if (l != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = hdr[f->start + i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)name[i])
			return 0;
	}
	return 1;
}

static size_t count(const unsigned char *hdr, const struct field *fs, size_t nf, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < nf; i++)
		k += (size_t)name_is(hdr, &fs[i], name, strlen(name));
	return k;
}

/* h=: the caller's list, or the default fields present, From once more than it
   occurs so that no From can be added (RFC 6376 8.15). */
static int names_list(const smtp_dkim *d, const unsigned char *hdr, const struct field *fs,
		      size_t nf, struct smtpi_buf *h)
{
	if (count(hdr, fs, nf, "from") == 0)
		return SMTP_EINVAL;
	if (d->headers)
		return smtpi_buf_append(h, d->headers, strlen(d->headers));
	for (size_t i = 0; i < sizeof default_names / sizeof default_names[0]; i++) {
		size_t k = count(hdr, fs, nf, default_names[i]) + (i == 0);
		for (; k > 0; k--)
			if ((h->len && smtpi_buf_append(h, ":", 1) != 0) ||
			    smtpi_buf_append(h, default_names[i], strlen(default_names[i])) != 0)
				return SMTP_ENOMEM;
	}
	return 0;
}

/* Canonical fields in h= order, each name taking the last instance not yet taken
   (RFC 6376 5.4.2); a name with none left adds nothing. */
static int hash_fields(const smtp_dkim *d, const unsigned char *hdr, struct field *fs,
		       size_t nf, const char *names, size_t nlen, struct smtpi_buf *data)
{
	for (size_t s = 0, i = 0; i <= nlen; i++) {
		if (i < nlen && names[i] != ':')
			continue;
		for (size_t k = nf; k-- > 0;) {
			if (fs[k].used || !name_is(hdr, &fs[k], names + s, i - s))
				continue;
			fs[k].used = 1;
			if (smtpi_buf_reserve(data, fs[k].len + 2) != 0)
				return SMTP_ENOMEM;
			data->len += smtpi_canon_header(d->hcanon == SMTP_DKIM_RELAXED,
							hdr + fs[k].start, fs[k].len,
							(unsigned char *)data->data + data->len);
			break;
		}
		s = i + 1;
	}
	return 0;
}

static int sign_digest(const smtp_dkim *d, const unsigned char digest[32], unsigned char *sig,
		       size_t *siglen)
{
	int ok;
	*siglen = SIG_MAX;
	if (d->ed25519) {
		/* RFC 8463 3: PureEdDSA over the SHA-256 hash */
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, d->key) == 1 &&
		     EVP_DigestSign(md, sig, siglen, digest, 32) == 1;
		EVP_MD_CTX_free(md);
	} else {
		/* RFC 6376 3.3.1: RSASSA-PKCS1-v1_5 with SHA-256 */
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(d->key, NULL);
		ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, sig, siglen, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok ? 0 : SMTP_ENOMEM;
}

static void tag(struct smtpi_field *f, const char *text)
{
	smtpi_field_space(f);
	smtpi_field_str(f, text);
}

/* "DKIM-Signature: v=1; ... bh=...;" CRLF " b=" into out. */
static int prefix(const smtp_dkim *d, const char *names, const unsigned char bh[32],
		  int64_t now, struct smtpi_buf *out)
{
	char *bh64 = smtpi_base64_encode(bh, 32);
	if (!bh64)
		return SMTP_ENOMEM;
	char t[300];
	struct smtpi_field f = {0};
	smtpi_field_start(&f, "DKIM-Signature");
	tag(&f, "v=1;");
	tag(&f, d->ed25519 ? "a=ed25519-sha256;" : "a=rsa-sha256;");
	snprintf(t, sizeof t, "c=%s/%s;", d->hcanon == SMTP_DKIM_RELAXED ? "relaxed" : "simple",
		 d->bcanon == SMTP_DKIM_RELAXED ? "relaxed" : "simple");
	tag(&f, t);
	snprintf(t, sizeof t, "d=%s;", d->domain);
	tag(&f, t);
	snprintf(t, sizeof t, "s=%s;", d->selector);
	tag(&f, t);
	snprintf(t, sizeof t, "t=%lld;", (long long)now);
	tag(&f, t);
	if (d->expiry) {
		snprintf(t, sizeof t, "x=%lld;", (long long)(now + d->expiry));
		tag(&f, t);
	}
	/* h= may fold after each colon (RFC 6376 3.5: FWS around ":") */
	smtpi_field_space(&f);
	smtpi_field_str(&f, "h=");
	for (const char *p = names, *c; *p; p = c + 1) {
		c = strchr(p, ':');
		if (!c) {
			smtpi_field_str(&f, p);
			break;
		}
		smtpi_field_text(&f, p, (size_t)(c - p + 1));
		smtpi_field_space(&f);
	}
	smtpi_field_str(&f, ";");
	tag(&f, "bh=");
	smtpi_field_str(&f, bh64);
	smtpi_field_str(&f, ";");
	free(bh64);
	int rc = smtpi_field_fold(&f, out);
	smtpi_field_free(&f);
	if (!rc && smtpi_buf_append(out, " b=", 3) != 0)
		rc = SMTP_ENOMEM;
	return rc;
}

int smtpi_dkim_field(const smtp_dkim *d, const unsigned char *hdr, size_t n,
		     const unsigned char bh[32], int64_t now, struct smtpi_buf *out)
{
	struct field *fs = calloc(MAX_FIELDS, sizeof *fs);
	struct smtpi_buf names = {0}, data = {0}, sigf = {0};
	struct smtpi_hdr_iter it = {hdr, n, 0};
	size_t nf = 0;
	int rc = fs ? 0 : SMTP_ENOMEM;
	while (!rc && nf < MAX_FIELDS &&
	       smtpi_hdr_next(&it, &fs[nf].start, &fs[nf].len, &fs[nf].nlen, NULL) == 1) {
		/* RFC 5322 2.2: a field is a name, a colon and a body; nothing else signs */
		if (fs[nf].nlen == fs[nf].len)
			rc = SMTP_EINVAL;
		nf++;
	}
	if (!rc)
		rc = names_list(d, hdr, fs, nf, &names);
	if (!rc && smtpi_buf_append(&names, "", 1) != 0)
		rc = SMTP_ENOMEM;
	if (!rc)
		rc = hash_fields(d, hdr, fs, nf, names.data, names.len - 1, &data);
	if (!rc)
		rc = prefix(d, names.data, bh, now, &sigf);
	unsigned char digest[32], sig[SIG_MAX];
	size_t siglen = 0;
	if (!rc && smtpi_buf_reserve(&data, sigf.len + 2) != 0)
		rc = SMTP_ENOMEM;
	if (!rc) {
		/* 3.7: the signature field itself last, b= empty, without its CRLF */
		data.len += smtpi_canon_header(d->hcanon == SMTP_DKIM_RELAXED,
					       (unsigned char *)sigf.data, sigf.len,
					       (unsigned char *)data.data + data.len) - 2;
		if (EVP_Digest(data.data, data.len, digest, NULL, EVP_sha256(), NULL) != 1)
			rc = SMTP_ENOMEM;
	}
	if (!rc)
		rc = sign_digest(d, digest, sig, &siglen);
	char *b = rc ? NULL : smtpi_base64_encode(sig, siglen);
	if (!rc && !b)
		rc = SMTP_ENOMEM;
	for (size_t i = 0, bl = b ? strlen(b) : 0; !rc && i < bl;) {
		size_t w = i == 0 ? B_FIRST : B_LINE;
		if (w > bl - i)
			w = bl - i;
		if ((i > 0 && smtpi_buf_append(&sigf, "\r\n ", 3) != 0) ||
		    smtpi_buf_append(&sigf, b + i, w) != 0)
			rc = SMTP_ENOMEM;
		i += w;
	}
	if (!rc && (smtpi_buf_append(&sigf, "\r\n", 2) != 0 ||
		    smtpi_buf_append(out, sigf.data, sigf.len) != 0))
		rc = SMTP_ENOMEM;
	free(b);
	free(fs);
	smtpi_buf_free(&names);
	smtpi_buf_free(&data);
	smtpi_buf_free(&sigf);
	return rc;
}

int smtp_dkim_sign(const smtp_dkim *d, const void *msg, size_t len, char *out, size_t outcap,
		   size_t *outlen)
{
	if (!d || !smtpi_dkim_ready(d) || (!msg && len) || !out || !outlen)
		return SMTP_EINVAL;
	struct smtpi_buf hdr = {0}, sigf = {0};
	struct smtpi_body_hash bh = {0};
	size_t body = 0;
	int rc = smtpi_header_section_crlf(msg, len, &hdr, &body);
	if (!rc)
		rc = smtpi_body_hash_init(&bh, 1u << d->bcanon);
	if (!rc) {
		smtpi_body_hash_update(&bh, (const unsigned char *)msg + body, len - body);
		rc = smtpi_body_hash_final(&bh);
	}
	if (!rc)
		rc = smtpi_dkim_field(d, (unsigned char *)hdr.data, hdr.len, bh.out[d->bcanon],
				      (int64_t)time(NULL), &sigf);
	if (!rc && sigf.len >= outcap)
		rc = SMTP_EINVAL;
	if (!rc) {
		memcpy(out, sigf.data, sigf.len);
		out[sigf.len] = '\0';
		*outlen = sigf.len;
	}
	smtpi_body_hash_free(&bh);
	smtpi_buf_free(&hdr);
	smtpi_buf_free(&sigf);
	return rc;
}

/* TLS over a connected nonblocking socket with OpenSSL 3: context, verification, SNI,
   resumption, client certificates, channel binding. */
#include "net/tls.h"
#include "wire/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct smtpi_tls {
	SSL *ssl;
	BIO_METHOD *meth; /* outlives the BIO, freed after SSL_free */
	int fd;
	int sys_errno;    /* errno of the last failed send/recv */
	int want;
	int failed;       /* a fatal error: no SSL_shutdown afterwards */
	int verify;       /* SSL_VERIFY_PEER was requested */
	char detail[256];
};

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Records the oldest error on the queue (the root cause), prefixed by what failed,
   and empties the queue so nothing is left on this thread's error stack. */
static int take_error(char *detail, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[200];

	ERR_clear_error();
	if (e == 0) {
		copy_str(detail, len, what);
		return SMTP_ETLS;
	}
	ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(detail, len, "%s: %s", what, reason);
	return ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? SMTP_ENOMEM : SMTP_ETLS;
}

/* Never ask on a terminal: an embedded library must not prompt. A key that needs a
   password without a callback to supply one fails to load instead. */
static int no_password(char *buf, int size, int rwflag, void *ud)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)ud;
	return -1;
}

static int load_client_pem(SSL_CTX *ctx, const struct smtpi_tls_opts *o, char *detail,
			   size_t detail_len)
{
	pem_password_cb *cb = o->key_password ? o->key_password : no_password;
	const char *key_pem = o->key_pem ? o->key_pem : o->cert_pem;
	BIO *bio;
	X509 *cert, *extra;
	EVP_PKEY *key;
	int ok;

	bio = BIO_new_mem_buf(o->cert_pem, -1);
	if (!bio)
		return take_error(detail, detail_len, "client certificate");
	cert = PEM_read_bio_X509(bio, NULL, no_password, NULL);
	ok = cert && SSL_CTX_use_certificate(ctx, cert) == 1;
	X509_free(cert);
	while (ok && (extra = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			ok = 0;
		}
	}
	BIO_free(bio);
	if (!ok)
		return take_error(detail, detail_len, "client certificate");
	/* The loop ends on "no start line": expected, not an error. */
	ERR_clear_error();

	bio = BIO_new_mem_buf(key_pem, -1);
	if (!bio)
		return take_error(detail, detail_len, "client key");
	key = PEM_read_bio_PrivateKey(bio, NULL, cb, o->key_password_ud);
	BIO_free(bio);
	ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
	EVP_PKEY_free(key);
	if (!ok)
		return take_error(detail, detail_len, "client key");
	return 0;
}

static int load_client_cert(SSL_CTX *ctx, const struct smtpi_tls_opts *o, char *detail,
			    size_t detail_len)
{
	int rc;

	SSL_CTX_set_default_passwd_cb(ctx, o->key_password ? o->key_password : no_password);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, o->key_password_ud);
	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
			return take_error(detail, detail_len, "client certificate");
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file ? o->key_file : o->cert_file,
						SSL_FILETYPE_PEM) != 1)
			return take_error(detail, detail_len, "client key");
	} else {
		rc = load_client_pem(ctx, o, detail, detail_len);
		if (rc)
			return rc;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return take_error(detail, detail_len, "client key does not match certificate");
	return 0;
}

int smtpi_tls_ctx_new(SSL_CTX **out, const struct smtpi_tls_opts *o, char *detail,
		      size_t detail_len)
{
	SSL_CTX *ctx;
	int min = o->min_version > TLS1_2_VERSION ? o->min_version : TLS1_2_VERSION;
	int rc;

	*out = NULL;
	copy_str(detail, detail_len, "");
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return take_error(detail, detail_len, "creating TLS context");

	/* Nothing older than TLS 1.2 (RFC 8996, RFC 8314 4.1). */
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1) {
		rc = take_error(detail, detail_len, "TLS version");
		goto fail;
	}
	/* SMTP frames its own data (the final "." or BDAT LAST, RFC 5321 4.1.1.4), so a
	   missing close_notify cannot truncate a message unnoticed: treat it as a close. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Sessions are kept by the caller's smtp_tls_cache, never inside the context. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
						    SSL_SESS_CACHE_NO_INTERNAL_STORE);

	if (!o->insecure) {
		/* RFC 8314 4.1, RFC 7817 3: the certificate must chain to a trusted root. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (o->ca_file || o->ca_dir) {
			if (SSL_CTX_load_verify_locations(ctx, o->ca_file, o->ca_dir) != 1) {
				rc = take_error(detail, detail_len, "loading CA certificates");
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			rc = take_error(detail, detail_len, "loading the system trust store");
			goto fail;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}

	if (o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
		rc = take_error(detail, detail_len, "TLS 1.2 cipher list");
		goto fail;
	}
	if (o->ciphersuites && SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) != 1) {
		rc = take_error(detail, detail_len, "TLS 1.3 cipher suites");
		goto fail;
	}
	if (o->groups && SSL_CTX_set1_groups_list(ctx, o->groups) != 1) {
		rc = take_error(detail, detail_len, "TLS groups");
		goto fail;
	}
	if (o->cert_file || o->cert_pem) {
		rc = load_client_cert(ctx, o, detail, detail_len);
		if (rc)
			goto fail;
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the peer has
   gone; the library installs no signal handlers, so this BIO sends with MSG_NOSIGNAL. */
static int bio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
	struct smtpi_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		t->sys_errno = errno;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		*written = 0;
		return 0;
	}
	*written = (size_t)n;
	return 1;
}

static int bio_read(BIO *b, char *buf, size_t len, size_t *got)
{
	struct smtpi_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = recv(t->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	*got = n > 0 ? (size_t)n : 0;
	if (n < 0) {
		t->sys_errno = errno;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		return 0;
	}
	return n > 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct smtpi_tls *t = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = t->fd;
		return t->fd;
	default:
		return 0;
	}
}

static int new_bio(struct smtpi_tls *t)
{
	BIO *bio;

	t->meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "smtp socket");
	if (!t->meth || BIO_meth_set_write_ex(t->meth, bio_write) != 1 ||
	    BIO_meth_set_read_ex(t->meth, bio_read) != 1 ||
	    BIO_meth_set_ctrl(t->meth, bio_ctrl) != 1)
		return 0;
	bio = BIO_new(t->meth);
	if (!bio)
		return 0;
	BIO_set_data(bio, t);
	BIO_set_init(bio, 1);
	SSL_set_bio(t->ssl, bio, bio);
	return 1;
}

static int is_ip_literal(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A cached session is offered only if its certificate also names this host, so a
   wrongly keyed cache cannot carry one server's verified session to another. */
static int session_fits(SSL_SESSION *sess, const char *host, int ip)
{
	X509 *peer = SSL_SESSION_get0_peer(sess);

	if (!peer)
		return 0;
	if (ip)
		return X509_check_ip_asc(peer, host, 0) == 1;
	return X509_check_host(peer, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

int smtpi_tls_new(struct smtpi_tls **out, SSL_CTX *ctx, int fd, const char *host,
		  SSL_SESSION *resume)
{
	struct smtpi_tls *t;
	int ip, rc = SMTP_ENOMEM;

	*out = NULL;
	if (!host || !*host)
		return SMTP_ETLS;
	t = calloc(1, sizeof(*t));
	if (!t)
		return SMTP_ENOMEM;
	t->fd = fd;
	t->verify = (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) != 0;
	ERR_clear_error();
	t->ssl = SSL_new(ctx);
	if (!t->ssl || !new_bio(t))
		goto fail;
	SSL_set_connect_state(t->ssl);

	ip = is_ip_literal(host);
	if (ip) {
		/* RFC 6066 3: literal IPv4 and IPv6 addresses are not permitted in SNI.
		   The certificate must carry the address as an iPAddress SAN. */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1)
			goto fail;
	} else {
		/* RFC 6125 6.4.3 as profiled by RFC 7817 3: a wildcard only as the whole
		   left-most label ("*.example.org", never "mx*.example.org"). */
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(t->ssl, host) != 1 || SSL_set_tlsext_host_name(t->ssl, host) != 1)
			goto fail;
	}
	if (resume && session_fits(resume, host, ip) && SSL_set_session(t->ssl, resume) != 1) {
		rc = SMTP_ETLS;
		goto fail;
	}
	ERR_clear_error();
	*out = t;
	return 0;
fail:
	ERR_clear_error();
	smtpi_tls_free(t);
	return rc;
}

/* Maps the result of an SSL call. Returns SMTP_EAGAIN, 0 for a clean close, or an
   error, with the detail recorded. */
static int map_error(struct smtpi_tls *t, int ret, const char *what)
{
	int err = SSL_get_error(t->ssl, ret);
	long vr;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		t->want = SMTP_WANT_READ;
		return SMTP_EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->want = SMTP_WANT_WRITE;
		return SMTP_EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		copy_str(t->detail, sizeof(t->detail), "the server closed the TLS connection");
		return 0;
	case SSL_ERROR_SYSCALL:
		t->failed = 1;
		ERR_clear_error();
		if (t->sys_errno == 0 || t->sys_errno == ECONNRESET || t->sys_errno == EPIPE) {
			copy_str(t->detail, sizeof(t->detail),
				 t->sys_errno ? strerror(t->sys_errno) : "connection closed");
			return 0;
		}
		snprintf(t->detail, sizeof(t->detail), "%s: %s", what, strerror(t->sys_errno));
		return SMTP_ETLS;
	default:
		t->failed = 1;
		vr = SSL_get_verify_result(t->ssl);
		if (t->verify && vr != X509_V_OK) {
			ERR_clear_error();
			copy_str(t->detail, sizeof(t->detail), X509_verify_cert_error_string(vr));
			return SMTP_ECERT;
		}
		return take_error(t->detail, sizeof(t->detail), what);
	}
}

int smtpi_tls_handshake(struct smtpi_tls *t)
{
	int ret, rc;

	t->want = 0;
	t->sys_errno = 0;
	ERR_clear_error();
	ret = SSL_connect(t->ssl);
	if (ret == 1)
		return 0;
	rc = map_error(t, ret, "TLS handshake");
	return rc == 0 ? SMTP_ECLOSED : rc;
}

long smtpi_tls_read(struct smtpi_tls *t, void *buf, size_t len)
{
	size_t n = 0;
	int ret;

	t->want = 0;
	t->sys_errno = 0;
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	ret = SSL_read_ex(t->ssl, buf, len, &n);
	if (ret == 1)
		return (long)n;
	return map_error(t, ret, "TLS read");
}

long smtpi_tls_write(struct smtpi_tls *t, const void *buf, size_t len)
{
	size_t n = 0;
	int ret, rc;

	t->want = 0;
	t->sys_errno = 0;
	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	ret = SSL_write_ex(t->ssl, buf, len, &n);
	if (ret == 1)
		return (long)n;
	rc = map_error(t, ret, "TLS write");
	return rc == 0 ? SMTP_ECLOSED : rc;
}

int smtpi_tls_want(const struct smtpi_tls *t)
{
	return t->want;
}

size_t smtpi_tls_pending(const struct smtpi_tls *t)
{
	int n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

void smtpi_tls_shutdown(struct smtpi_tls *t)
{
	/* SSL_shutdown must not follow a fatal error (SSL_shutdown(3)). */
	if (!t || t->failed || !SSL_is_init_finished(t->ssl))
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

const char *smtpi_tls_detail(const struct smtpi_tls *t)
{
	return t->detail;
}

static void name_line(char *dst, size_t size, const X509_NAME *name)
{
	BIO *bio;
	char *p;
	long n;

	copy_str(dst, size, "");
	if (!name)
		return;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return;
	/* RFC 2253 escaping keeps the text printable ASCII whatever the certificate holds. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		if (n > 0) {
			if ((size_t)n >= size)
				n = (long)size - 1;
			memcpy(dst, p, (size_t)n);
			dst[n] = '\0';
		}
	}
	BIO_free(bio);
}

void smtpi_tls_get_info(const struct smtpi_tls *t, struct smtpi_tls_info *info)
{
	X509 *peer;

	memset(info, 0, sizeof(*info));
	if (!t || !SSL_is_init_finished(t->ssl))
		return;
	ERR_clear_error();
	copy_str(info->version, sizeof(info->version), SSL_get_version(t->ssl));
	copy_str(info->cipher, sizeof(info->cipher), SSL_get_cipher_name(t->ssl));
	info->resumed = SSL_session_reused(t->ssl) == 1;
	peer = SSL_get0_peer_certificate(t->ssl);
	if (peer) {
		name_line(info->subject, sizeof(info->subject), X509_get_subject_name(peer));
		name_line(info->issuer, sizeof(info->issuer), X509_get_issuer_name(peer));
	}
	ERR_clear_error();
}

/* TLS 1.3 delivers its tickets after the handshake (RFC 8446 4.6.1), and OpenSSL
   processes them inside a later SSL_read: call this late, at QUIT or close, after the
   server's first reply has been read. Only verified sessions are returned, so a
   session made with verification off never reaches a cache that a verifying
   session could resume from. */
SSL_SESSION *smtpi_tls_get1_session(const struct smtpi_tls *t)
{
	SSL_SESSION *sess;

	if (!t || !t->verify || t->failed || !SSL_is_init_finished(t->ssl) ||
	    SSL_get_verify_result(t->ssl) != X509_V_OK)
		return NULL;
	sess = SSL_get1_session(t->ssl);
	if (sess && SSL_SESSION_is_resumable(sess) != 1) {
		SSL_SESSION_free(sess);
		sess = NULL;
	}
	return sess;
}

int smtpi_tls_channel_binding(const struct smtpi_tls *t, const char **type,
			      unsigned char *buf, size_t *len)
{
	static const char label[] = "EXPORTER-Channel-Binding";
	size_t n;

	*len = 0;
	*type = NULL;
	if (!t || t->failed || !SSL_is_init_finished(t->ssl))
		return SMTP_ETLS;
	ERR_clear_error();
	if (SSL_version(t->ssl) >= TLS1_3_VERSION) {
		/* RFC 9266 2: label "EXPORTER-Channel-Binding", no context, 32 bytes. */
		if (SSL_export_keying_material(t->ssl, buf, 32, label, sizeof(label) - 1, NULL, 0,
					       0) != 1) {
			ERR_clear_error();
			return SMTP_ETLS;
		}
		*type = "tls-exporter";
		*len = 32;
		return 0;
	}
	/* tls-unique is only safe with the extended master secret (RFC 7627 1, RFC 9266
	   3): without it a triple handshake makes two connections share the value. */
	if (SSL_get_extms_support(t->ssl) != 1)
		return SMTP_ETLS;
	/* RFC 5929 3.1: the first Finished message of the latest handshake. The client
	   sends it first in a full handshake, the server in an abbreviated (resumed) one. */
	if (SSL_session_reused(t->ssl))
		n = SSL_get_peer_finished(t->ssl, buf, 64);
	else
		n = SSL_get_finished(t->ssl, buf, 64);
	if (n == 0 || n > 64)
		return SMTP_ETLS;
	*type = "tls-unique";
	*len = n;
	return 0;
}

void smtpi_tls_free(struct smtpi_tls *t)
{
	if (!t)
		return;
	/* Freed without close_notify, OpenSSL would mark the session unresumable. TLS 1.1
	   and later allow resuming it (RFC 5246 7.2.1) unless the connection ended in a
	   fatal error (7.2.2), which OpenSSL then marks itself. */
	if (t->ssl && !t->failed)
		SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
	SSL_free(t->ssl);
	BIO_meth_free(t->meth);
	free(t);
}

void smtpi_tls_opts_clear(struct smtpi_tls_opts *o)
{
	free(o->ca_file);
	free(o->ca_dir);
	free(o->ciphers);
	free(o->ciphersuites);
	free(o->groups);
	free(o->cert_file);
	free(o->key_file);
	free(o->cert_pem);
	smtpi_free_secret(o->key_pem);
	memset(o, 0, sizeof(*o));
	o->min_version = TLS1_2_VERSION;
}

/* TLS over a connected nonblocking socket with OpenSSL: context, verification, SNI,
   resumption, client certificates (RFC 3207, RFC 8314, RFC 7817 name checks). */
#ifndef SMTPI_TLS_H
#define SMTPI_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "report/report.h"
#include "smtp.h"

/* The caller's TLS settings, owned by the session (strings owned by this struct). */
struct smtpi_tls_opts {
	char *ca_file;             /* NULL: the system store */
	char *ca_dir;
	int insecure;              /* 1: skip certificate and host name verification */
	int min_version;           /* TLS1_2_VERSION unless set */
	char *ciphers;             /* TLS 1.2 cipher list, NULL for OpenSSL's default */
	char *ciphersuites;        /* TLS 1.3 suites, NULL for default */
	char *groups;              /* NULL for default */
	char *cert_file, *key_file;
	char *cert_pem, *key_pem;  /* in-memory PEM alternatives */
	int (*key_password)(char *buf, int size, int rwflag, void *ud);
	void *key_password_ud;
	struct smtp_tls_cache *cache; /* shared resumption cache, or NULL */
};

struct smtpi_tls;

/* Frees the strings (wiping the key text) and restores the defaults. */
void smtpi_tls_opts_clear(struct smtpi_tls_opts *o);

/* Creates an SSL_CTX from the options: verification on (unless insecure), trust from
   ca_file/ca_dir or the system store, min_version, ciphers, client certificate.
   Returns 0, SMTP_ETLS (detail written: OpenSSL's reason), SMTP_ENOMEM. */
int smtpi_tls_ctx_new(SSL_CTX **out, const struct smtpi_tls_opts *o, char *detail,
		      size_t detail_len);

/* Wraps a connected socket. host is the server's name or IP literal as the caller gave
   it: SNI is sent for names only, the certificate is checked against it (name or IP).
   resume may be NULL. Returns 0, SMTP_ENOMEM, SMTP_ETLS. */
int smtpi_tls_new(struct smtpi_tls **out, SSL_CTX *ctx, int fd, const char *host,
		  SSL_SESSION *resume);

/* Drives the handshake. Returns 0 when done, SMTP_EAGAIN (see smtpi_tls_want),
   SMTP_ECERT (verification failed; detail e.g. "certificate has expired"),
   SMTP_ETLS (handshake error), SMTP_ECLOSED (peer closed). */
int smtpi_tls_handshake(struct smtpi_tls *t);

/* Reads up to len bytes: > 0 bytes read, 0 when the peer closed (close_notify or a
   bare EOF), SMTP_EAGAIN, SMTP_ETLS. */
long smtpi_tls_read(struct smtpi_tls *t, void *buf, size_t len);
/* Writes up to len bytes: > 0 bytes written, SMTP_EAGAIN, SMTP_ETLS, SMTP_ECLOSED. */
long smtpi_tls_write(struct smtpi_tls *t, const void *buf, size_t len);
/* After SMTP_EAGAIN: SMTP_WANT_READ or SMTP_WANT_WRITE. */
int smtpi_tls_want(const struct smtpi_tls *t);
/* Bytes already decrypted and buffered inside OpenSSL (poll would not see them). */
size_t smtpi_tls_pending(const struct smtpi_tls *t);
/* Sends close_notify without waiting for the peer's. */
void smtpi_tls_shutdown(struct smtpi_tls *t);
/* The reason of the last failure in words, "" when none. */
const char *smtpi_tls_detail(const struct smtpi_tls *t);
void smtpi_tls_get_info(const struct smtpi_tls *t, struct smtpi_tls_info *info);
/* The session to resume next time (a new reference), or NULL. */
SSL_SESSION *smtpi_tls_get1_session(const struct smtpi_tls *t);
/* Channel binding for SCRAM-*-PLUS: tls-exporter (RFC 9266) on TLS 1.3, tls-unique
   (RFC 5929) on TLS 1.2. *type is static; buf receives up to 64 bytes. Returns 0 or
   SMTP_ETLS when none is available. */
int smtpi_tls_channel_binding(const struct smtpi_tls *t, const char **type,
			      unsigned char *buf, size_t *len);
void smtpi_tls_free(struct smtpi_tls *t);

/* The key a TLS session is stored and resumed under: the server (host, port), the
   client identity (SHA-256 of the certificate in ctx, or none) and the trust
   settings (verification, CA file and directory, or the system store, lowest
   version): a session is never resumed across a change of any of them, so no
   session presents another's client certificate or skips another's verification.
   Returns 0, or SMTP_ENOMEM. */
int smtpi_tls_session_key(SSL_CTX *ctx, const struct smtpi_tls_opts *o, const char *host,
			  int port, char *buf, size_t len);

/* Shared resumption cache (public type smtp_tls_cache), keyed by
   smtpi_tls_session_key. */
SSL_SESSION *smtpi_tls_cache_get(struct smtp_tls_cache *c, const char *key);
void smtpi_tls_cache_put(struct smtp_tls_cache *c, const char *key, SSL_SESSION *sess);

#endif

/* The shared TLS resumption cache: a small table of SSL_SESSION references keyed by
   server, client identity and trust settings (smtpi_tls_session_key), guarded by a
   mutex so sessions in any threads may share it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/tls.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CACHE_SLOTS 64

struct cache_entry {
	char *key;                 /* NULL: the slot is free */
	SSL_SESSION *sess;
	unsigned long used;        /* the clock at the last put or get: LRU order */
};

struct smtp_tls_cache {
	pthread_mutex_t lock;
	unsigned long clock;
	struct cache_entry e[CACHE_SLOTS];
};

smtp_tls_cache *smtp_tls_cache_new(void)
{
	struct smtp_tls_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void drop(struct cache_entry *e)
{
	free(e->key);
	SSL_SESSION_free(e->sess);
	e->key = NULL;
	e->sess = NULL;
	e->used = 0;
}

void smtp_tls_cache_free(smtp_tls_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		drop(&c->e[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct cache_entry *find(struct smtp_tls_cache *c, const char *key)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (c->e[i].key && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

/* A free slot, else the least recently used one. */
static struct cache_entry *slot_for_new(struct smtp_tls_cache *c)
{
	struct cache_entry *lru = &c->e[0];
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		if (!c->e[i].key)
			return &c->e[i];
		if (c->e[i].used < lru->used)
			lru = &c->e[i];
	}
	return lru;
}

static int expired(const SSL_SESSION *sess)
{
	time_t now = time(NULL);
	long start = SSL_SESSION_get_time(sess), life = SSL_SESSION_get_timeout(sess);

	return (long)now - start >= life;
}

/* Returns a new reference, or NULL. Expired sessions and those OpenSSL marked
   unresumable (their connection ended in a fatal alert) are dropped. A TLS 1.3
   session leaves the cache when taken: clients should not reuse a ticket, which would
   let observers link the connections (RFC 8446 C.4). A TLS 1.2 session stays for
   further connections. */
SSL_SESSION *smtpi_tls_cache_get(struct smtp_tls_cache *c, const char *key)
{
	struct cache_entry *e;
	SSL_SESSION *sess = NULL;

	if (!c || !key)
		return NULL;
	pthread_mutex_lock(&c->lock);
	e = find(c, key);
	if (e && (expired(e->sess) || SSL_SESSION_is_resumable(e->sess) != 1)) {
		drop(e);
	} else if (e && SSL_SESSION_get_protocol_version(e->sess) >= TLS1_3_VERSION) {
		sess = e->sess;
		e->sess = NULL;
		drop(e);
	} else if (e && SSL_SESSION_up_ref(e->sess) == 1) {
		sess = e->sess;
		e->used = ++c->clock;
	}
	pthread_mutex_unlock(&c->lock);
	return sess;
}

/* Stores a reference to sess under key, replacing the key's previous session and
   evicting the least recently used entry when full. sess NULL forgets the key (after
   a failed resumption, say). Out of memory, nothing is stored: a cache may forget. */
void smtpi_tls_cache_put(struct smtp_tls_cache *c, const char *key, SSL_SESSION *sess)
{
	struct cache_entry *e;
	char *copy = NULL;

	if (!c || !key)
		return;
	if (sess) {
		copy = strdup(key);
		if (!copy)
			return;
		if (SSL_SESSION_up_ref(sess) != 1) {
			free(copy);
			return;
		}
	}
	pthread_mutex_lock(&c->lock);
	e = find(c, key);
	if (sess && !e)
		e = slot_for_new(c);
	if (e)
		drop(e);
	if (sess) {
		e->key = copy;
		e->sess = sess;
		e->used = ++c->clock;
	}
	pthread_mutex_unlock(&c->lock);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int smtpi_tls_session_key(SSL_CTX *ctx, const struct smtpi_tls_opts *o, const char *host,
			  int port, char *buf, size_t len)
{
	unsigned char id[EVP_MAX_MD_SIZE], trust[EVP_MAX_MD_SIZE];
	unsigned idlen = 0, trustlen = 0;
	X509 *cert = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	if (cert && X509_digest(cert, EVP_sha256(), id, &idlen) != 1)
		return SMTP_ENOMEM;
	/* the trust settings, each field ended by a NUL so no two settings hash alike */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char flags[32];
	int n = snprintf(flags, sizeof flags, "%d:%d", o->insecure, o->min_version);
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, flags, (size_t)n + 1) == 1 &&
		 EVP_DigestUpdate(md, o->ca_file ? o->ca_file : "", o->ca_file ? strlen(o->ca_file) + 1 : 1) == 1 &&
		 EVP_DigestUpdate(md, o->ca_dir ? o->ca_dir : "", o->ca_dir ? strlen(o->ca_dir) + 1 : 1) == 1 &&
		 EVP_DigestFinal_ex(md, trust, &trustlen) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return SMTP_ENOMEM;
	char idhex[2 * EVP_MAX_MD_SIZE + 1], trusthex[2 * EVP_MAX_MD_SIZE + 1];
	hex(id, idlen, idhex);
	hex(trust, trustlen, trusthex);
	snprintf(buf, len, "%s:%d/%s/%s", host ? host : "", port, idlen ? idhex : "none", trusthex);
	return 0;
}

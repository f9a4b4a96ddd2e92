/* lib/tls.c, lib/tls_cache.c and lib/tls_options.c without a network: the client
   (driven only through lib/tls.h) and an OpenSSL server in this process talk over a
   socketpair, both nonblocking, one step each in turn. Certificates come from the
   directory named by SMTP_TEST_CERTS (tests/servers/make-certs.sh). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "check.h"
#include "net/tls.h"

static const char *certdir;

/* NAME in the certificate directory; the result lives until the next call. */
static const char *cert(const char *name)
{
	static char path[4][1024];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", certdir, name);
	return p;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- an OpenSSL server and a client over a socketpair ---- */

static SSL_CTX *server_ctx(const char *name, int max_version, int want_client_cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char file[64];

	if (!ctx)
		return NULL;
	snprintf(file, sizeof(file), "%s.pem", name);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert(file)) != 1)
		goto fail;
	snprintf(file, sizeof(file), "%s.key", name);
	if (SSL_CTX_use_PrivateKey_file(ctx, cert(file), SSL_FILETYPE_PEM) != 1)
		goto fail;
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"test", 4);
	if (want_client_cert) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		if (SSL_CTX_load_verify_locations(ctx, cert("ca.pem"), NULL) != 1)
			goto fail;
	}
	return ctx;
fail:
	fprintf(stderr, "server certificate %s failed to load\n", name);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* Client options trusting the test CA; release with smtpi_tls_opts_clear. */
static void client_opts(struct smtpi_tls_opts *o)
{
	memset(o, 0, sizeof(*o));
	smtpi_tls_opts_clear(o);
	o->ca_file = strdup(cert("ca.pem"));
}

struct pair {
	int cfd, sfd;
	SSL_CTX *cctx;
	struct smtpi_tls *c;
	SSL *s;
	int sdone, sfailed;
};

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Returns smtpi_tls_ctx_new's or smtpi_tls_new's result. */
static int setup(struct pair *p, SSL_CTX *sctx, const struct smtpi_tls_opts *o,
		 const char *host, SSL_SESSION *resume)
{
	char detail[256];
	int fds[2], rc;

	memset(p, 0, sizeof(*p));
	p->cfd = p->sfd = -1;
	if (!sctx || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return 99;
	p->cfd = fds[0];
	p->sfd = fds[1];
	nonblocking(p->cfd);
	nonblocking(p->sfd);
	rc = smtpi_tls_ctx_new(&p->cctx, o, detail, sizeof(detail));
	if (rc)
		return rc;
	rc = smtpi_tls_new(&p->c, p->cctx, p->cfd, host, resume);
	if (rc)
		return rc;
	p->s = SSL_new(sctx);
	if (!p->s || SSL_set_fd(p->s, p->sfd) != 1)
		return 99;
	SSL_set_accept_state(p->s);
	return 0;
}

static void teardown(struct pair *p)
{
	smtpi_tls_free(p->c);
	SSL_free(p->s);
	SSL_CTX_free(p->cctx);
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
	ERR_clear_error();
}

static void server_step(struct pair *p)
{
	int r;

	if (p->sdone || p->sfailed)
		return;
	r = SSL_accept(p->s);
	if (r == 1) {
		p->sdone = 1;
	} else {
		r = SSL_get_error(p->s, r);
		if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE)
			p->sfailed = 1;
	}
	ERR_clear_error();
}

/* Runs both handshakes. Returns the client's result (0, SMTP_ECERT, ...), or 98
   when they stop making progress. The client must leave OpenSSL's queue empty. */
static int handshake(struct pair *p)
{
	int i, rc = SMTP_EAGAIN;

	for (i = 0; i < 1000; i++) {
		if (rc == SMTP_EAGAIN) {
			rc = smtpi_tls_handshake(p->c);
			CHECK_INT(ERR_peek_error(), 0);
			if (rc == SMTP_EAGAIN) {
				int want = smtpi_tls_want(p->c);
				CHECK(want == SMTP_WANT_READ || want == SMTP_WANT_WRITE);
			}
		}
		server_step(p);
		if (rc != SMTP_EAGAIN && (p->sdone || p->sfailed || rc != 0))
			return rc;
	}
	return 98;
}

/* Client sends len bytes, the server reads them into got. Sets *saw_want_write when
   a client write had to wait. Returns 1 when every byte arrived intact. */
static int client_to_server(struct pair *p, const unsigned char *data, size_t len,
			    unsigned char *got, int *saw_want_write)
{
	size_t sent = 0, recvd = 0, r;
	long n;
	long spins;

	for (spins = 0; recvd < len && spins < 1000000; spins++) {
		if (sent < len) {
			n = smtpi_tls_write(p->c, data + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n != SMTP_EAGAIN)
				return 0;
			else if (smtpi_tls_want(p->c) == SMTP_WANT_WRITE)
				*saw_want_write = 1;
		}
		if (SSL_read_ex(p->s, got + recvd, len - recvd, &r) == 1)
			recvd += r;
		else if (SSL_get_error(p->s, 0) != SSL_ERROR_WANT_READ)
			return 0;
		ERR_clear_error();
	}
	return recvd == len && memcmp(data, got, len) == 0;
}

/* Server sends len bytes, the client reads them into got. */
static int server_to_client(struct pair *p, const unsigned char *data, size_t len,
			    unsigned char *got)
{
	size_t sent = 0, recvd = 0, w;
	long n, spins;

	for (spins = 0; recvd < len && spins < 1000000; spins++) {
		if (sent < len) {
			if (SSL_write_ex(p->s, data + sent, len - sent, &w) == 1)
				sent += w;
			else if (SSL_get_error(p->s, 0) != SSL_ERROR_WANT_WRITE)
				return 0;
			ERR_clear_error();
		}
		n = smtpi_tls_read(p->c, got + recvd, len - recvd);
		if (n > 0)
			recvd += (size_t)n;
		else if (n != SMTP_EAGAIN)
			return 0;
	}
	return recvd == len && memcmp(data, got, len) == 0;
}

/* Handshake against server certificate NAME for host; returns the client result
   and leaves the client's detail in detail. */
static int try_cert(const char *name, const char *host, int insecure, char *detail,
		    size_t len)
{
	struct smtpi_tls_opts o;
	struct pair p;
	SSL_CTX *sctx = server_ctx(name, 0, 0);
	int rc;

	client_opts(&o);
	o.insecure = insecure;
	rc = setup(&p, sctx, &o, host, NULL);
	if (rc == 0)
		rc = handshake(&p);
	snprintf(detail, len, "%s", p.c ? smtpi_tls_detail(p.c) : "");
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
	return rc;
}

/* ---- verification ---- */

static void test_good_name(void)
{
	struct smtpi_tls_opts o;
	struct smtpi_tls_info info;
	struct pair p;
	SSL_CTX *sctx = server_ctx("good", 0, 0);
	const char *sni;

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	CHECK(p.sdone);
	smtpi_tls_get_info(p.c, &info);
	CHECK_STR(info.version, "TLSv1.3");
	CHECK(info.cipher[0] != '\0');
	CHECK_INT(info.resumed, 0);
	CHECK(strstr(info.subject, "CN=localhost") != NULL);
	CHECK(strstr(info.issuer, "CN=libsmtp test CA") != NULL);
	CHECK_STR(smtpi_tls_detail(p.c), "");
	/* RFC 6066 3: SNI carries the name. */
	sni = SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name);
	CHECK(sni && strcmp(sni, "localhost") == 0);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static void check_ip(const char *ip)
{
	struct smtpi_tls_opts o;
	struct smtpi_tls_info info;
	struct pair p;
	SSL_CTX *sctx = server_ctx("good", 0, 0);

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, ip, NULL), 0);
	CHECK_INT(handshake(&p), 0);
	smtpi_tls_get_info(p.c, &info);
	CHECK_STR(info.version, "TLSv1.3");
	CHECK(info.cipher[0] != '\0');
	/* RFC 6066 3: no SNI for an address literal. */
	CHECK(SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name) == NULL);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static void test_good_ip(void)
{
	check_ip("127.0.0.1");
	check_ip("::1");
}

static void test_wrong_host(void)
{
	char detail[256];

	CHECK_INT(try_cert("wronghost", "localhost", 0, detail, sizeof(detail)), SMTP_ECERT);
	CHECK(strstr(detail, "hostname mismatch") != NULL);
	CHECK_INT(try_cert("good", "other.example", 0, detail, sizeof(detail)), SMTP_ECERT);
	CHECK(strstr(detail, "hostname mismatch") != NULL);
	CHECK_INT(try_cert("good", "127.0.0.2", 0, detail, sizeof(detail)), SMTP_ECERT);
	CHECK(strstr(detail, "IP address mismatch") != NULL);
	/* the same certificate is fine for the name it carries */
	CHECK_INT(try_cert("wronghost", "wrong.example", 0, detail, sizeof(detail)), 0);
}

static void test_expired(void)
{
	char detail[256];

	CHECK_INT(try_cert("expired", "localhost", 0, detail, sizeof(detail)), SMTP_ECERT);
	CHECK_STR(detail, "certificate has expired");
}

static void test_unknown_ca(void)
{
	char detail[256];

	CHECK_INT(try_cert("unknownca", "localhost", 0, detail, sizeof(detail)), SMTP_ECERT);
	CHECK_STR(detail, "unable to get local issuer certificate");
}

static void test_insecure(void)
{
	struct smtpi_tls_opts o;
	struct pair p;
	SSL_CTX *sctx = server_ctx("unknownca", 0, 0);
	char detail[256];

	CHECK_INT(try_cert("unknownca", "localhost", 1, detail, sizeof(detail)), 0);
	CHECK_INT(try_cert("wronghost", "localhost", 1, detail, sizeof(detail)), 0);
	CHECK_INT(try_cert("expired", "localhost", 1, detail, sizeof(detail)), 0);

	/* an unverified session must not reach a cache */
	client_opts(&o);
	o.insecure = 1;
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	CHECK(smtpi_tls_get1_session(p.c) == NULL);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static void test_min_version(void)
{
	struct smtpi_tls_opts o;
	struct smtpi_tls_info info;
	struct pair p;
	SSL_CTX *sctx = server_ctx("good", TLS1_2_VERSION, 0);

	client_opts(&o);
	o.min_version = TLS1_3_VERSION;
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), SMTP_ETLS);
	CHECK(strstr(smtpi_tls_detail(p.c), "protocol version") != NULL);
	teardown(&p);

	/* the default floor accepts TLS 1.2 */
	o.min_version = 0;
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	smtpi_tls_get_info(p.c, &info);
	CHECK_STR(info.version, "TLSv1.2");
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

/* TLS 1.1 servers are refused: the floor is TLS 1.2 (RFC 8996). */
static void test_no_tls11(void)
{
	struct smtpi_tls_opts o;
	struct pair p;
	SSL_CTX *sctx = server_ctx("good", TLS1_1_VERSION, 0);

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), SMTP_ETLS);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static void test_ctx_errors(void)
{
	static int sentinel;
	struct smtpi_tls_opts o;
	struct smtpi_tls *t = NULL;
	SSL_CTX *ctx = (SSL_CTX *)(void *)&sentinel;
	char detail[256];

	client_opts(&o);
	free(o.ca_file);
	o.ca_file = strdup(cert("no-such-file.pem"));
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK(ctx == NULL);
	CHECK(strstr(detail, "CA") != NULL);
	CHECK_INT(ERR_peek_error(), 0);
	smtpi_tls_opts_clear(&o);

	client_opts(&o);
	o.ciphers = strdup("NO-SUCH-CIPHER");
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK(strstr(detail, "cipher") != NULL);
	CHECK_INT(ERR_peek_error(), 0);
	smtpi_tls_opts_clear(&o);

	client_opts(&o);
	o.groups = strdup("no-such-group");
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	smtpi_tls_opts_clear(&o);

	/* the system store is the default trust */
	memset(&o, 0, sizeof(o));
	smtpi_tls_opts_clear(&o);
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), 0);
	CHECK(SSL_CTX_get_verify_mode(ctx) == SSL_VERIFY_PEER);
	CHECK_INT(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);

	/* a host is required to verify against */
	client_opts(&o);
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), 0);
	CHECK_INT(smtpi_tls_new(&t, ctx, -1, "", NULL), SMTP_ETLS);
	CHECK_INT(smtpi_tls_new(&t, ctx, -1, NULL, NULL), SMTP_ETLS);
	CHECK(t == NULL);
	SSL_CTX_free(ctx);
	smtpi_tls_opts_clear(&o);
}

/* ---- resumption, data, close ---- */

static SSL_SESSION *first_session(SSL_CTX *sctx, const char *host)
{
	struct smtpi_tls_opts o;
	struct pair p;
	SSL_SESSION *sess = NULL;
	unsigned char got[8];

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, host, NULL), 0);
	CHECK_INT(handshake(&p), 0);
	/* TLS 1.3 tickets arrive after the handshake: read a reply first */
	CHECK(server_to_client(&p, (const unsigned char *)"220 ok\r\n", 8, got));
	sess = smtpi_tls_get1_session(p.c);
	CHECK(sess != NULL);
	teardown(&p);
	smtpi_tls_opts_clear(&o);
	return sess;
}

static int resumed_with(SSL_CTX *sctx, const char *host, SSL_SESSION *sess)
{
	struct smtpi_tls_opts o;
	struct smtpi_tls_info info;
	struct pair p;

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, host, sess), 0);
	CHECK_INT(handshake(&p), 0);
	smtpi_tls_get_info(p.c, &info);
	CHECK(info.cipher[0] != '\0');
	CHECK(strstr(info.subject, "CN=") != NULL);
	teardown(&p);
	smtpi_tls_opts_clear(&o);
	return info.resumed;
}

static void test_resumption(void)
{
	SSL_CTX *sctx = server_ctx("good", 0, 0);
	SSL_CTX *wrong = server_ctx("wronghost", 0, 0);
	SSL_SESSION *sess;
	smtp_tls_cache *cache;

	sess = first_session(sctx, "localhost");
	CHECK_INT(SSL_SESSION_get_protocol_version(sess), TLS1_3_VERSION);
	/* a session whose certificate does not name the host is not offered */
	CHECK_INT(resumed_with(wrong, "wrong.example", sess), 0);
	CHECK_INT(SSL_SESSION_is_resumable(sess), 1);
	CHECK_INT(resumed_with(sctx, "localhost", sess), 1);
	/* OpenSSL, too, uses a TLS 1.3 session once */
	CHECK_INT(SSL_SESSION_is_resumable(sess), 0);
	SSL_SESSION_free(sess);

	/* through the cache: a TLS 1.3 session is handed out once (RFC 8446 C.4) */
	sess = first_session(sctx, "localhost");
	cache = smtp_tls_cache_new();
	smtpi_tls_cache_put(cache, "localhost:465", sess);
	SSL_SESSION_free(sess);
	sess = smtpi_tls_cache_get(cache, "localhost:465");
	CHECK(sess != NULL);
	CHECK(smtpi_tls_cache_get(cache, "localhost:465") == NULL);
	CHECK_INT(resumed_with(sctx, "localhost", sess), 1);
	SSL_SESSION_free(sess);
	smtp_tls_cache_free(cache);
	SSL_CTX_free(wrong);
	SSL_CTX_free(sctx);
}

/* TLS 1.2: tls-unique is the first Finished of the latest handshake (RFC 5929 3.1):
   the client's in a full handshake, the server's in an abbreviated one. */
static void test_tls12_unique(void)
{
	SSL_CTX *sctx = server_ctx("good", TLS1_2_VERSION, 0);
	struct smtpi_tls_opts o;
	struct smtpi_tls_info info;
	struct pair p;
	SSL_SESSION *sess;
	unsigned char cb[64], fin[64];
	const char *type;
	size_t len, flen;

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	CHECK_INT(smtpi_tls_channel_binding(p.c, &type, cb, &len), 0);
	CHECK_STR(type, "tls-unique");
	flen = SSL_get_peer_finished(p.s, fin, sizeof(fin));
	CHECK_MEM(cb, len, fin, flen);
	CHECK_INT(len, 12);
	sess = smtpi_tls_get1_session(p.c);
	CHECK(sess != NULL);
	teardown(&p);

	CHECK_INT(setup(&p, sctx, &o, "localhost", sess), 0);
	CHECK_INT(handshake(&p), 0);
	smtpi_tls_get_info(p.c, &info);
	CHECK_INT(info.resumed, 1);
	CHECK_STR(info.version, "TLSv1.2");
	CHECK_INT(smtpi_tls_channel_binding(p.c, &type, cb, &len), 0);
	flen = SSL_get_finished(p.s, fin, sizeof(fin));
	CHECK_MEM(cb, len, fin, flen);
	teardown(&p);
	/* freed without close_notify, yet still resumable (RFC 5246 7.2.1) */
	CHECK_INT(SSL_SESSION_is_resumable(sess), 1);

	SSL_SESSION_free(sess);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static void test_exporter(void)
{
	SSL_CTX *sctx = server_ctx("good", 0, 0);
	struct smtpi_tls_opts o;
	struct pair p;
	unsigned char cb[64], srv[32];
	const char *type = NULL;
	size_t len = 0;

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(smtpi_tls_channel_binding(p.c, &type, cb, &len), SMTP_ETLS);
	CHECK_INT(handshake(&p), 0);
	CHECK_INT(smtpi_tls_channel_binding(p.c, &type, cb, &len), 0);
	CHECK_STR(type, "tls-exporter");
	CHECK_INT(len, 32);
	CHECK(SSL_export_keying_material(p.s, srv, sizeof(srv), "EXPORTER-Channel-Binding", 24,
					 NULL, 0, 0) == 1);
	CHECK_MEM(cb, len, srv, sizeof(srv));
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

static unsigned char big_out[1 << 20], big_in[1 << 20];

static void test_data(void)
{
	SSL_CTX *sctx = server_ctx("good", 0, 0);
	struct smtpi_tls_opts o;
	struct pair p;
	int small = 4096, saw_want_write = 0;
	size_t i;
	unsigned char buf[100];

	for (i = 0; i < sizeof(big_out); i++)
		big_out[i] = (unsigned char)(i * 7 + i / 251);
	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	setsockopt(p.cfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(p.sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	CHECK_INT(handshake(&p), 0);
	CHECK_INT(smtpi_tls_read(p.c, buf, sizeof(buf)), SMTP_EAGAIN);
	CHECK_INT(smtpi_tls_want(p.c), SMTP_WANT_READ);
	CHECK_INT(smtpi_tls_write(p.c, buf, 0), 0);

	CHECK(client_to_server(&p, big_out, sizeof(big_out), big_in, &saw_want_write));
	CHECK(saw_want_write);
	memset(big_in, 0, sizeof(big_in));
	CHECK(server_to_client(&p, big_out, sizeof(big_out), big_in));

	/* decrypted bytes left inside OpenSSL are reported */
	CHECK(SSL_write(p.s, big_out, 100) == 100);
	CHECK_INT(smtpi_tls_read(p.c, buf, 10), 10);
	CHECK_INT(smtpi_tls_pending(p.c), 90);
	CHECK_INT(smtpi_tls_read(p.c, buf, sizeof(buf)), 90);
	CHECK_INT(smtpi_tls_pending(p.c), 0);
	CHECK_MEM(buf, 90, big_out + 10, 90);
	CHECK_INT(ERR_peek_error(), 0);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

/* Peer goes away: a bare EOF and a close_notify both read as 0; a write to a closed
   peer is SMTP_ECLOSED, not SIGPIPE. */
static void test_close(void)
{
	SSL_CTX *sctx = server_ctx("good", 0, 0);
	struct smtpi_tls_opts o;
	struct pair p;
	unsigned char buf[16];
	long n;
	int i;

	client_opts(&o);
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	close(p.sfd);
	p.sfd = -1;
	n = SMTP_EAGAIN;
	for (i = 0; i < 100 && n == SMTP_EAGAIN; i++)
		n = smtpi_tls_read(p.c, buf, sizeof(buf));
	CHECK_INT(n, 0);
	CHECK_INT(ERR_peek_error(), 0);
	n = smtpi_tls_write(p.c, "QUIT\r\n", 6);
	CHECK_INT(n, SMTP_ECLOSED);
	smtpi_tls_shutdown(p.c);
	CHECK_INT(ERR_peek_error(), 0);
	teardown(&p);

	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(handshake(&p), 0);
	CHECK(SSL_shutdown(p.s) == 0);
	n = SMTP_EAGAIN;
	for (i = 0; i < 100 && n == SMTP_EAGAIN; i++)
		n = smtpi_tls_read(p.c, buf, sizeof(buf));
	CHECK_INT(n, 0);
	smtpi_tls_shutdown(p.c);
	CHECK(SSL_shutdown(p.s) == 1);
	teardown(&p);

	/* the server vanishes during the handshake */
	CHECK_INT(setup(&p, sctx, &o, "localhost", NULL), 0);
	CHECK_INT(smtpi_tls_handshake(p.c), SMTP_EAGAIN);
	close(p.sfd);
	p.sfd = -1;
	CHECK_INT(smtpi_tls_handshake(p.c), SMTP_ECLOSED);
	teardown(&p);
	SSL_CTX_free(sctx);
	smtpi_tls_opts_clear(&o);
}

/* ---- client certificates ---- */

static int password_calls;

static int password(char *buf, int size, int rwflag, void *ud)
{
	const char *pw = ud;
	int n = (int)strlen(pw);

	password_calls++;
	if (rwflag != 0 || n > size)
		return -1;
	memcpy(buf, pw, (size_t)n);
	return n;
}

/* Handshake with a server that requires a client certificate. */
static int client_cert_handshake(const struct smtpi_tls_opts *o, SSL_CTX *sctx,
				 char *subject, size_t len)
{
	struct pair p;
	X509 *peer;
	int rc;

	rc = setup(&p, sctx, o, "localhost", NULL);
	if (rc == 0)
		rc = handshake(&p);
	if (rc == 0 && !p.sdone)
		rc = 97;
	subject[0] = '\0';
	peer = p.s ? SSL_get0_peer_certificate(p.s) : NULL;
	if (peer)
		X509_NAME_oneline(X509_get_subject_name(peer), subject, (int)len);
	teardown(&p);
	return rc;
}

static char *encrypted_key(const char *pw)
{
	FILE *f = fopen(cert("client.key"), "r");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (f)
		fclose(f);
	if (key && bio &&
	    PEM_write_bio_PrivateKey(bio, key, EVP_aes_256_cbc(), (const unsigned char *)pw,
				     (int)strlen(pw), NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &p);
		out = malloc((size_t)n + 1);
		if (out) {
			memcpy(out, p, (size_t)n);
			out[n] = '\0';
		}
	}
	EVP_PKEY_free(key);
	BIO_free(bio);
	return out;
}

static void test_client_cert(void)
{
	SSL_CTX *sctx = server_ctx("good", 0, 1);
	struct smtpi_tls_opts o;
	char subject[256], detail[256];
	char *cert_pem = read_file(cert("client.pem"));
	char *key_pem = read_file(cert("client.key"));
	char *both;
	SSL_CTX *ctx;

	CHECK(cert_pem && key_pem);
	if (!cert_pem || !key_pem)
		goto out;

	/* from files */
	client_opts(&o);
	o.cert_file = strdup(cert("client.pem"));
	o.key_file = strdup(cert("client.key"));
	CHECK_INT(client_cert_handshake(&o, sctx, subject, sizeof(subject)), 0);
	CHECK(strstr(subject, "CN=client.test") != NULL);
	smtpi_tls_opts_clear(&o);

	/* without one the server refuses us: the request is real */
	client_opts(&o);
	CHECK(client_cert_handshake(&o, sctx, subject, sizeof(subject)) != 0);
	smtpi_tls_opts_clear(&o);

	/* from memory, key in a separate text and in the certificate's text */
	client_opts(&o);
	o.cert_pem = strdup(cert_pem);
	o.key_pem = strdup(key_pem);
	CHECK_INT(client_cert_handshake(&o, sctx, subject, sizeof(subject)), 0);
	CHECK(strstr(subject, "CN=client.test") != NULL);
	smtpi_tls_opts_clear(&o);

	both = malloc(strlen(cert_pem) + strlen(key_pem) + 1);
	if (both) {
		strcpy(both, cert_pem);
		strcat(both, key_pem);
		client_opts(&o);
		o.cert_pem = both;
		CHECK_INT(client_cert_handshake(&o, sctx, subject, sizeof(subject)), 0);
		CHECK(strstr(subject, "CN=client.test") != NULL);
		smtpi_tls_opts_clear(&o);
	}

	/* an encrypted key: right password, wrong password, no callback (no prompt) */
	client_opts(&o);
	o.cert_pem = strdup(cert_pem);
	o.key_pem = encrypted_key("s3cret");
	CHECK(o.key_pem != NULL);
	o.key_password = password;
	o.key_password_ud = "s3cret";
	password_calls = 0;
	CHECK_INT(client_cert_handshake(&o, sctx, subject, sizeof(subject)), 0);
	CHECK(strstr(subject, "CN=client.test") != NULL);
	CHECK(password_calls > 0);
	o.key_password_ud = "wrong";
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK(strstr(detail, "client key") != NULL);
	o.key_password = NULL;
	o.key_password_ud = NULL;
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK_INT(ERR_peek_error(), 0);
	smtpi_tls_opts_clear(&o);

	/* a key that is not the certificate's */
	client_opts(&o);
	o.cert_file = strdup(cert("client.pem"));
	o.key_file = strdup(cert("good.key"));
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK(strstr(detail, "mismatch") != NULL);
	smtpi_tls_opts_clear(&o);

	/* garbage PEM, missing files */
	client_opts(&o);
	o.cert_pem = strdup("not PEM at all");
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	smtpi_tls_opts_clear(&o);
	client_opts(&o);
	o.cert_file = strdup(cert("no-such-file.pem"));
	CHECK_INT(smtpi_tls_ctx_new(&ctx, &o, detail, sizeof(detail)), SMTP_ETLS);
	CHECK_INT(ERR_peek_error(), 0);
	smtpi_tls_opts_clear(&o);
out:
	free(cert_pem);
	free(key_pem);
	SSL_CTX_free(sctx);
}

/* ---- the shared cache ---- */

/* A session the cache treats as resumable: it has an id. */
static SSL_SESSION *fake_session(int version)
{
	static const unsigned char id[4] = {1, 2, 3, 4};
	SSL_SESSION *s = SSL_SESSION_new();

	if (s) {
		SSL_SESSION_set_protocol_version(s, version);
		SSL_SESSION_set1_id(s, id, sizeof(id));
	}
	return s;
}

static void test_cache(void)
{
	smtp_tls_cache *c = smtp_tls_cache_new();
	SSL_SESSION *s[70], *got, *old;
	char key[32];
	int i;

	CHECK(c != NULL);
	if (!c)
		return;
	smtp_tls_cache_free(NULL);
	CHECK(smtpi_tls_cache_get(c, "none:25") == NULL);
	CHECK(smtpi_tls_cache_get(NULL, "none:25") == NULL);
	for (i = 0; i < 70; i++)
		s[i] = fake_session(TLS1_2_VERSION);

	/* the cache keeps its own reference */
	smtpi_tls_cache_put(c, "a:25", s[0]);
	got = smtpi_tls_cache_get(c, "a:25");
	CHECK(got == s[0]);
	SSL_SESSION_free(got);
	got = smtpi_tls_cache_get(c, "a:25");
	CHECK(got == s[0]); /* TLS 1.2 sessions stay */
	SSL_SESSION_free(got);
	CHECK(smtpi_tls_cache_get(c, "a:587") == NULL);

	/* replace, forget */
	smtpi_tls_cache_put(c, "a:25", s[1]);
	got = smtpi_tls_cache_get(c, "a:25");
	CHECK(got == s[1]);
	SSL_SESSION_free(got);
	smtpi_tls_cache_put(c, "a:25", NULL);
	CHECK(smtpi_tls_cache_get(c, "a:25") == NULL);

	/* 64 entries; the least recently used goes first */
	for (i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "h%d:25", i);
		smtpi_tls_cache_put(c, key, s[i]);
	}
	got = smtpi_tls_cache_get(c, "h0:25");
	CHECK(got == s[0]);
	SSL_SESSION_free(got);
	smtpi_tls_cache_put(c, "h64:25", s[64]);
	CHECK(smtpi_tls_cache_get(c, "h1:25") == NULL);
	for (i = 0; i < 65; i++) {
		if (i == 1)
			continue;
		snprintf(key, sizeof(key), "h%d:25", i);
		got = smtpi_tls_cache_get(c, key);
		CHECK(got == s[i]);
		SSL_SESSION_free(got);
	}

	/* TLS 1.3: taken once */
	old = fake_session(TLS1_3_VERSION);
	smtpi_tls_cache_put(c, "t:465", old);
	got = smtpi_tls_cache_get(c, "t:465");
	CHECK(got == old);
	SSL_SESSION_free(got);
	CHECK(smtpi_tls_cache_get(c, "t:465") == NULL);
	SSL_SESSION_free(old);

	/* expired sessions are not handed out */
	old = fake_session(TLS1_2_VERSION);
	SSL_SESSION_set_time(old, (long)time(NULL) - 1000);
	SSL_SESSION_set_timeout(old, 300);
	smtpi_tls_cache_put(c, "x:25", old);
	CHECK(smtpi_tls_cache_get(c, "x:25") == NULL);
	SSL_SESSION_free(old);

	for (i = 0; i < 70; i++)
		SSL_SESSION_free(s[i]);
	smtp_tls_cache_free(c); /* still holds references: freed here */
}

struct cache_thread {
	smtp_tls_cache *c;
	SSL_SESSION *sess;
	int id;
};

static void *cache_worker(void *arg)
{
	struct cache_thread *w = arg;
	SSL_SESSION *got;
	char key[32];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "h%d:%d", (i + w->id) % 80, 25);
		if (i % 3 == 0)
			smtpi_tls_cache_put(w->c, key, w->sess);
		else if ((got = smtpi_tls_cache_get(w->c, key)) != NULL)
			SSL_SESSION_free(got);
	}
	return NULL;
}

static void test_cache_threads(void)
{
	struct cache_thread w[4];
	pthread_t th[4];
	smtp_tls_cache *c = smtp_tls_cache_new();
	int i;

	CHECK(c != NULL);
	if (!c)
		return;
	for (i = 0; i < 4; i++) {
		w[i].c = c;
		w[i].id = i * 17;
		w[i].sess = fake_session(i % 2 ? TLS1_3_VERSION : TLS1_2_VERSION);
		CHECK(pthread_create(&th[i], NULL, cache_worker, &w[i]) == 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++)
		SSL_SESSION_free(w[i].sess);
	smtp_tls_cache_free(c);
}

/* ---- the public setters ---- */

static int dummy_password(char *buf, int size, int rwflag, void *ud)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)ud;
	return -1;
}

static void test_setters(void)
{
	smtp_session *s = smtp_session_new();
	smtp_tls_cache *c = smtp_tls_cache_new();

	CHECK(s != NULL && c != NULL);
	if (!s || !c)
		goto out;

	CHECK_INT(smtp_session_set_ca_file(NULL, "ca.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_file(s, ""), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_file(s, "ca\n.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_file(s, "ca\x7f.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_file(s, "ca.pem"), 0);
	CHECK_INT(smtp_session_set_ca_file(s, "other.pem"), 0);
	CHECK_INT(smtp_session_set_ca_file(s, NULL), 0);

	CHECK_INT(smtp_session_set_ca_dir(NULL, "/x"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_dir(s, "a\tb"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_dir(s, ""), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_ca_dir(s, "certs"), 0);
	CHECK_INT(smtp_session_set_ca_dir(s, NULL), 0);

	CHECK_INT(smtp_session_set_tls_insecure_skip_verify(NULL, 1), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_insecure_skip_verify(s, 1), 0);
	CHECK_INT(smtp_session_set_tls_insecure_skip_verify(s, 0), 0);

	CHECK_INT(smtp_session_set_tls_min_version(NULL, "1.2"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.1"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.0"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.3\n"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_min_version(s, ""), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.3"), 0);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.2"), 0);
	CHECK_INT(smtp_session_set_tls_min_version(s, NULL), 0);

	CHECK_INT(smtp_session_set_tls_ciphers(NULL, NULL, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_ciphers(s, "NO-SUCH-CIPHER", NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_ciphers(s, NULL, "TLS_NO_SUCH_SUITE"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_ciphers(s, "ECDHE+AESGCM\r\n", NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_ciphers(s, "", NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_ciphers(s, "ECDHE+AESGCM", "TLS_AES_256_GCM_SHA384"), 0);
	CHECK_INT(smtp_session_set_tls_ciphers(s, NULL, "TLS_CHACHA20_POLY1305_SHA256"), 0);
	CHECK_INT(smtp_session_set_tls_ciphers(s, NULL, NULL), 0);

	CHECK_INT(smtp_session_set_tls_groups(NULL, "X25519"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_groups(s, "no-such-group"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_groups(s, "X25519\n"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_groups(s, "X25519:P-256"), 0);
	CHECK_INT(smtp_session_set_tls_groups(s, NULL), 0);

	CHECK_INT(smtp_session_set_client_cert(NULL, "c.pem", "k.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert(s, "", "k.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert(s, "c.pem", ""), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert(s, "c.pem", "k\n.pem"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert(s, "c.pem", "k.pem"), 0);
	CHECK_INT(smtp_session_set_client_cert(s, "both.pem", NULL), 0);
	CHECK_INT(smtp_session_set_client_cert(s, NULL, NULL), 0);

	CHECK_INT(smtp_session_set_client_cert_pem(NULL, "x", "y"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "", "y"), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "x", ""), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "-----BEGIN CERTIFICATE-----\n",
						   "-----BEGIN PRIVATE KEY-----\n"), 0);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "-----BEGIN CERTIFICATE-----\n", NULL), 0);
	/* files replace the PEM texts and back: both forms are freed by the session */
	CHECK_INT(smtp_session_set_client_cert(s, "c.pem", "k.pem"), 0);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "x", "y"), 0);
	CHECK_INT(smtp_session_set_client_cert_pem(s, NULL, NULL), 0);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "x", "y"), 0);

	CHECK_INT(smtp_session_set_key_password_cb(NULL, dummy_password, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_key_password_cb(s, dummy_password, s), 0);
	CHECK_INT(smtp_session_set_key_password_cb(s, NULL, NULL), 0);

	CHECK_INT(smtp_session_set_tls_cache(NULL, c), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_tls_cache(s, c), 0);
	CHECK_INT(smtp_session_set_tls_cache(s, NULL), 0);
	CHECK_INT(smtp_session_set_ca_file(s, "ca.pem"), 0);
	CHECK_INT(ERR_peek_error(), 0);
out:
	smtp_session_free(s);
	smtp_tls_cache_free(c);
}

/* Once the session has work queued its TLS settings are fixed. */
static void test_setters_state(void)
{
	smtp_session *s = smtp_session_new();
	smtp_message *m = smtp_message_new();
	smtp_tls_cache *c = smtp_tls_cache_new();

	CHECK(s && m && c);
	if (!s || !m || !c)
		goto out;
	CHECK_INT(smtp_message_set_from(m, "a@example.test"), 0);
	CHECK_INT(smtp_message_add_rcpt(m, "b@example.test"), 0);
	CHECK_INT(smtp_message_set_data(m, "Subject: x\r\n\r\nx\r\n", 17), 0);
	CHECK_INT(smtp_submit(s, m), 0);

	CHECK_INT(smtp_session_set_ca_file(s, "ca.pem"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_ca_dir(s, "certs"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_tls_insecure_skip_verify(s, 1), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_tls_min_version(s, "1.3"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_tls_ciphers(s, "ECDHE+AESGCM", NULL), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_tls_groups(s, "X25519"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_client_cert(s, "c.pem", "k.pem"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_client_cert_pem(s, "x", "y"), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_key_password_cb(s, dummy_password, NULL), SMTP_ESTATE);
	CHECK_INT(smtp_session_set_tls_cache(s, c), SMTP_ESTATE);
out:
	smtp_session_free(s);
	smtp_message_free(m);
	smtp_tls_cache_free(c);
}

static int certs_present(void)
{
	static const char *const need[] = {"ca.pem",        "good.pem",      "good.key",
					   "wronghost.pem", "wronghost.key", "expired.pem",
					   "expired.key",   "unknownca.pem", "unknownca.key",
					   "client.pem",    "client.key"};
	size_t i;

	certdir = getenv("SMTP_TEST_CERTS");
	if (!certdir || !*certdir) {
		fprintf(stderr, "test_tls: SMTP_TEST_CERTS is not set; create the certificates "
				"with tests/servers/make-certs.sh DIR and set SMTP_TEST_CERTS=DIR\n");
		return 0;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (access(cert(need[i]), R_OK) != 0) {
			fprintf(stderr, "test_tls: %s: %s (run tests/servers/make-certs.sh %s)\n",
				cert(need[i]), strerror(errno), certdir);
			return 0;
		}
	}
	return 1;
}

int main(void)
{
	if (!certs_present()) {
		printf("tls: 0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_good_name);
	RUN(test_good_ip);
	RUN(test_wrong_host);
	RUN(test_expired);
	RUN(test_unknown_ca);
	RUN(test_insecure);
	RUN(test_min_version);
	RUN(test_no_tls11);
	RUN(test_ctx_errors);
	RUN(test_resumption);
	RUN(test_tls12_unique);
	RUN(test_exporter);
	RUN(test_data);
	RUN(test_close);
	RUN(test_client_cert);
	RUN(test_cache);
	RUN(test_cache_threads);
	RUN(test_setters);
	RUN(test_setters_state);
	return CHECK_DONE("tls");
}

/* Sockets: resolution, nonblocking connect across addresses, reads and writes. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "smtp.h"

void smtpi_conn_init(struct smtpi_conn *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

int smtpi_conn_resolve(struct smtpi_conn *c, const char *host, int port)
{
	char service[8];
	snprintf(service, sizeof service, "%d", port);
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (c->addrs)
		freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	int rc = getaddrinfo(host, service, &hints, &c->addrs);
	if (rc != 0) {
		snprintf(c->detail, sizeof c->detail, "%s: %s", host, gai_strerror(rc));
		return rc == EAI_MEMORY ? SMTP_ENOMEM : SMTP_ERESOLVE;
	}
	c->next_addr = c->addrs;
	return 0;
}

static void describe(struct smtpi_conn *c, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		port = ntohs(s6->sin6_port);
		snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip, port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		port = ntohs(s4->sin_port);
		snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
	}
}

static int new_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && family != AF_UNIX) {
		int one = 1;
		/* Commands are written whole; Nagle would only delay them. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return fd;
}

int smtpi_conn_start(struct smtpi_conn *c)
{
	while (c->next_addr) {
		struct addrinfo *ai = c->next_addr;
		c->next_addr = ai->ai_next;
		if (c->fd >= 0)
			close(c->fd);
		describe(c, ai->ai_addr);
		c->fd = new_socket(ai->ai_family);
		if (c->fd < 0) {
			snprintf(c->detail, sizeof c->detail, "%s: %s", c->peer, strerror(errno));
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return 0;
		if (errno == EINPROGRESS) {
			c->want = SMTP_WANT_WRITE;
			return SMTP_EAGAIN;
		}
		snprintf(c->detail, sizeof c->detail, "%s: %s", c->peer, strerror(errno));
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	return SMTP_ECONNECT;
}

int smtpi_conn_finish(struct smtpi_conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return SMTP_EAGAIN;
	if (err == 0)
		return 0;
	snprintf(c->detail, sizeof c->detail, "%s: %s", c->peer, strerror(err));
	return SMTP_ECONNECT;
}

int smtpi_conn_unix(struct smtpi_conn *c, const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(c->detail, sizeof c->detail, "socket path too long");
		return SMTP_ECONNECT;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	snprintf(c->peer, sizeof c->peer, "unix:%.56s", path);
	c->fd = new_socket(AF_UNIX);
	if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		return 0;
	snprintf(c->detail, sizeof c->detail, "%s: %s", path, strerror(errno));
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return SMTP_ECONNECT;
}

/* Maps a TLS read/write result: keeps the direction TLS waits for, or its reason. */
static long tls_result(struct smtpi_conn *c, long n)
{
	if (n == SMTP_EAGAIN)
		c->want = smtpi_tls_want(c->tls);
	else if (n < 0)
		snprintf(c->detail, sizeof c->detail, "%s", smtpi_tls_detail(c->tls));
	return n;
}

/* Maps a recv/send result; returns 1 to retry after EINTR. */
static int sock_retry(struct smtpi_conn *c, ssize_t n, int want, long *out)
{
	if (n >= 0) {
		*out = (long)n;
		return 0;
	}
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->want = want;
		*out = SMTP_EAGAIN;
		return 0;
	}
	snprintf(c->detail, sizeof c->detail, "%s", strerror(errno));
	*out = SMTP_ECLOSED;
	return 0;
}

long smtpi_conn_read(struct smtpi_conn *c, void *buf, size_t len)
{
	if (c->tls)
		return tls_result(c, smtpi_tls_read(c->tls, buf, len));
	long out;
	while (sock_retry(c, recv(c->fd, buf, len, 0), SMTP_WANT_READ, &out))
		;
	return out;
}

long smtpi_conn_write(struct smtpi_conn *c, const void *buf, size_t len)
{
	if (c->tls)
		return tls_result(c, smtpi_tls_write(c->tls, buf, len));
	long out;
	/* MSG_NOSIGNAL: a closed peer is an error code, never SIGPIPE. */
	while (sock_retry(c, send(c->fd, buf, len, MSG_NOSIGNAL), SMTP_WANT_WRITE, &out))
		;
	return out;
}

size_t smtpi_conn_pending(const struct smtpi_conn *c)
{
	return c->tls ? smtpi_tls_pending(c->tls) : 0;
}

int smtpi_conn_has_input(const struct smtpi_conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n > 0;
}

void smtpi_conn_close(struct smtpi_conn *c, int polite)
{
	if (c->tls) {
		if (polite)
			smtpi_tls_shutdown(c->tls);
		smtpi_tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->addrs)
		freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
}

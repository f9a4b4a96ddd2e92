/* Sockets: resolution (lib/resolve.c), Happy Eyeballs connect across addresses
   (RFC 8305), reads and writes. */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/resolve.h"
#include "smtp.h"

void smtpi_conn_init(struct smtpi_conn *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static void describe(char *out, size_t len, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%d", ip, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%d", ip, ntohs(s4->sin_port));
	} else {
		snprintf(out, len, "(address family %d)", sa->sa_family);
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

static void forget_addresses(struct smtpi_conn *c)
{
	free(c->order);
	c->order = NULL;
	c->naddrs = c->next = 0;
	if (c->addrs)
		freeaddrinfo(c->addrs);
	c->addrs = NULL;
}

/* Takes the resolver's answer and orders it for Happy Eyeballs (RFC 8305 4): the
   families alternate, starting with the family of the first address, each family
   in the resolver's (RFC 6724) order. */
static int set_addresses(struct smtpi_conn *c, struct addrinfo *res)
{
	forget_addresses(c);
	c->addrs = res;
	size_t n = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		n++;
	c->order = malloc((n ? n : 1) * sizeof *c->order);
	if (!c->order) {
		snprintf(c->detail, sizeof c->detail, "out of memory");
		return SMTP_ENOMEM;
	}
	int first = res ? res->ai_family : AF_UNSPEC;
	struct addrinfo *same = res, *other = res;
	size_t k = 0;
	int want_same = 1;
	while (k < n) {
		while (same && same->ai_family != first)
			same = same->ai_next;
		while (other && other->ai_family == first)
			other = other->ai_next;
		struct addrinfo **pick = want_same ? &same : &other;
		if (!*pick)
			pick = want_same ? &other : &same;
		c->order[k++] = *pick;
		*pick = (*pick)->ai_next;
		want_same = !want_same;
	}
	c->naddrs = n;
	c->next = 0;
	return 0;
}

int smtpi_conn_begin(struct smtpi_conn *c, const char *host, int port)
{
	smtpi_conn_close(c, 0);
	c->detail[0] = '\0';
	c->peer[0] = '\0';
	struct addrinfo *res = NULL;
	int rc = smtpi_resolve_start(host, port, &c->job, &res, c->detail, sizeof c->detail,
				     &c->temporary);
	if (rc == SMTP_EAGAIN) {
		c->fd = smtpi_resolve_fd(c->job);
		c->want = SMTP_WANT_READ;
		return 0;
	}
	return rc ? rc : set_addresses(c, res);
}

/* Descriptors the caller may still be watching are closed only at the end of a step,
   after the new ones were opened: the descriptor to wait on then never changes
   while keeping its number, which event-loop adapters compare. */
static void retire(struct smtpi_conn *c, int fd)
{
	if (c->nretired < sizeof c->retired / sizeof c->retired[0])
		c->retired[c->nretired++] = fd;
	else
		close(fd);
}

static void close_retired(struct smtpi_conn *c)
{
	for (size_t i = 0; i < c->nretired; i++)
		close(c->retired[i]);
	c->nretired = 0;
	smtpi_resolve_release(c->retired_job);
	c->retired_job = NULL;
}

/* Closes pending attempt i and moves the newer ones down. */
static void drop_attempt(struct smtpi_conn *c, size_t i)
{
	retire(c, c->att[i].fd);
	memmove(&c->att[i], &c->att[i + 1], (c->natt - i - 1) * sizeof c->att[0]);
	c->natt--;
}

/* Attempt i connected: it becomes the stream, the others are closed. */
static void won(struct smtpi_conn *c, size_t i)
{
	c->fd = c->att[i].fd;
	memcpy(c->peer, c->att[i].peer, sizeof c->peer);
	for (size_t k = 0; k < c->natt; k++)
		if (k != i)
			close(c->att[k].fd);
	c->natt = 0;
	c->wake = 0;
	forget_addresses(c);
}

static void attempt_failed(struct smtpi_conn *c, const char *peer, int os_err,
			   smtpi_conn_failed_fn failed, void *ud)
{
	snprintf(c->detail, sizeof c->detail, "%s: %s", peer, strerror(os_err));
	if (failed)
		failed(ud, c->detail, SMTP_ECONNECT);
}

/* Starts a connect to the next address. Returns 1 when it connected at once, else 0
   (pending, or failed and reported). */
static int start_attempt(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed,
			 void *ud)
{
	const struct addrinfo *ai = c->order[c->next++];
	struct smtpi_attempt *a = &c->att[c->natt];
	describe(a->peer, sizeof a->peer, ai->ai_addr);
	a->started = now;
	a->fd = new_socket(ai->ai_family);
	if (a->fd < 0) {
		attempt_failed(c, a->peer, errno, failed, ud);
		return 0;
	}
	if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		c->natt++;
		won(c, c->natt - 1);
		return 1;
	}
	/* interrupted, the connect goes on by itself (POSIX connect()): no retry */
	if (errno == EINPROGRESS || errno == EINTR) {
		c->natt++;
		return 0;
	}
	int err = errno;
	close(a->fd);
	attempt_failed(c, a->peer, err, failed, ud);
	return 0;
}

/* Looks at every pending attempt without waiting. Returns 1 when one connected. */
static int check_attempts(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed,
			  void *ud)
{
	struct pollfd p[SMTPI_CONN_MAX_ATTEMPTS];
	int err[SMTPI_CONN_MAX_ATTEMPTS];
	size_t n = c->natt;
	for (size_t i = 0; i < n; i++) {
		p[i].fd = c->att[i].fd;
		p[i].events = POLLOUT;
		p[i].revents = 0;
	}
	if (poll(p, (nfds_t)n, 0) <= 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		err[i] = -1; /* still pending */
		if (!p[i].revents)
			continue;
		int e = 0;
		socklen_t len = sizeof e;
		if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
			e = errno;
		if (e == 0 && (p[i].revents & (POLLERR | POLLHUP)))
			e = ECONNRESET;
		if (e != EINPROGRESS && e != EALREADY && e != EINTR)
			err[i] = e;
	}
	/* the oldest that connected wins */
	for (size_t i = 0; i < n; i++)
		if (err[i] == 0) {
			won(c, i);
			return 1;
		}
	for (size_t i = 0, k = 0; i < n; i++) {
		if (err[i] < 0) {
			k++;
			continue;
		}
		char peer[sizeof c->att[0].peer];
		memcpy(peer, c->att[k].peer, sizeof peer);
		drop_attempt(c, k);
		attempt_failed(c, peer, err[i], failed, ud);
		/* RFC 8305 5: a failed attempt starts the next address without waiting */
		c->next_start = now;
	}
	return 0;
}

/* The oldest attempt gives way to the next address (all slots are busy). */
static void give_up_oldest(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed,
			   void *ud)
{
	snprintf(c->detail, sizeof c->detail,
		 "%s: no answer within %lld ms, trying the next address", c->att[0].peer,
		 (long long)(now - c->att[0].started));
	drop_attempt(c, 0);
	if (failed)
		failed(ud, c->detail, SMTP_ETIMEDOUT);
}

static int step(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed, void *ud)
{
	if (c->job) {
		struct addrinfo *res = NULL;
		int rc = smtpi_resolve_collect(c->job, &res, c->detail, sizeof c->detail,
					       &c->temporary);
		if (rc == SMTP_EAGAIN) {
			c->want = SMTP_WANT_READ;
			c->wake = 0;
			return rc;
		}
		c->retired_job = c->job;
		c->job = NULL;
		c->fd = -1;
		if (rc)
			return rc;
		if ((rc = set_addresses(c, res)) != 0)
			return rc;
		c->next_start = now;
	}
	if (c->natt && check_attempts(c, now, failed, ud))
		return 0;
	while (c->next < c->naddrs && (c->natt == 0 || now >= c->next_start)) {
		if (c->natt == SMTPI_CONN_MAX_ATTEMPTS)
			give_up_oldest(c, now, failed, ud);
		size_t before = c->natt;
		if (start_attempt(c, now, failed, ud))
			return 0;
		if (c->natt > before)
			c->next_start = now + SMTPI_CONN_ATTEMPT_DELAY_MS;
	}
	if (c->natt == 0) {
		c->fd = -1;
		c->wake = 0;
		if (!c->detail[0])
			snprintf(c->detail, sizeof c->detail, "no address to connect to");
		forget_addresses(c);
		return SMTP_ECONNECT;
	}
	c->fd = c->att[c->natt - 1].fd;
	c->want = SMTP_WANT_WRITE;
	c->wake = c->next < c->naddrs ? c->next_start : 0;
	if (c->natt > 1 && (!c->wake || c->wake > now + SMTPI_CONN_RECHECK_MS))
		c->wake = now + SMTPI_CONN_RECHECK_MS;
	return SMTP_EAGAIN;
}

int smtpi_conn_step(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed, void *ud)
{
	int rc = step(c, now, failed, ud);
	close_retired(c);
	return rc;
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

int smtpi_conn_read_drained(const struct smtpi_conn *c, size_t got, size_t asked)
{
	return !c->tls && got < asked;
}

void smtpi_conn_ack_now(const struct smtpi_conn *c)
{
#ifdef TCP_QUICKACK
	int one = 1;
	if (c->fd >= 0)
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
	(void)c;
#endif
}

int smtpi_conn_has_input(const struct smtpi_conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n > 0;
}

void smtpi_conn_close(struct smtpi_conn *c, int polite)
{
	/* before connecting, c->fd belongs to the lookup or to an attempt */
	int own_fd = !c->job && c->natt == 0;
	close_retired(c);
	smtpi_resolve_release(c->job);
	c->job = NULL;
	for (size_t i = 0; i < c->natt; i++)
		close(c->att[i].fd);
	c->natt = 0;
	c->wake = 0;
	if (c->tls) {
		if (polite)
			smtpi_tls_shutdown(c->tls);
		smtpi_tls_free(c->tls);
		c->tls = NULL;
	}
	if (own_fd && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	forget_addresses(c);
}

/* delay_proxy: a TCP relay on 127.0.0.1 that holds every chunk a fixed time in each
 * direction, for the WAN workloads of tests/bench/run.sh (this kernel has no netem).
 *
 *   delay_proxy [-v] [-a] [-c CONNECT_MS] [-b BYTES] [-m CONNECTIONS] DELAY_MS TARGET_PORT
 *
 * Listens on an ephemeral port of 127.0.0.1, prints that port on stdout (one line)
 * and relays every accepted connection to 127.0.0.1:TARGET_PORT. Each chunk read from
 * one side is written to the other DELAY_MS milliseconds after it was read (a round
 * trip costs 2 x DELAY_MS), in the order read, as fast as the receiver takes it: no
 * bandwidth limit. An end of stream travels the same way (shutdown(SHUT_WR) on the
 * other side once the data before it is written); a reset or an error closes both
 * sides at once. Runs until killed.
 *
 * The handshake: connect() to the proxy completes at once on loopback, so the proxy
 * connects upstream only CONNECT_MS after the accept (default 3 x DELAY_MS). The
 * server's greeting then reaches the client 4 x DELAY_MS after its connect() began,
 * as over a real path: SYN, SYN-ACK, the final ACK, then the server's first bytes.
 *
 * Bounds: at most BYTES (default 16 MiB) are held per direction and connection (the
 * side is not read while its queue is full, so a fast sender waits for TCP's flow
 * control as it would on a real path) and at most CONNECTIONS (default 64) are relayed
 * at a time (more wait in the listen queue).
 *
 * -v logs every chunk on stderr ("conn N +MS up|down BYTES", the time since the
 * accept), to see which round trips a client waits for. -a acknowledges every chunk
 * at once (TCP_QUICKACK after each read), to tell a delayed ACK's wait from the path's.
 *
 * Not emulated, so read the WAN rows with this in mind: the proxy's kernel acknowledges
 * what it receives as the client's kernel would (delayed ACKs included) but without the
 * path's delay, so a sender whose Nagle algorithm waits for an ACK waits for the ACK
 * timer only, not for the ACK's trip back as well; there is no slow start and no loss.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 65536

struct chunk {
	struct chunk *next;
	int64_t due_ns;
	size_t len, off;
	int eof; /* the end of stream, not data */
	char data[];
};

/* One direction of a relayed connection. */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	int read_closed;  /* the source has ended its stream */
	int write_closed; /* the destination got its shutdown */
	int blocked;      /* the destination's last write hit EAGAIN */
};

struct conn {
	long id;             /* for -v: the connection's number, from 1 */
	int64_t accept_ns;
	int cfd, sfd;        /* client side; server side, -1 until connect() */
	int connecting;      /* nonblocking connect() in progress */
	int64_t connect_ns;  /* when to connect upstream */
	struct dir up, down; /* up: client to server */
};

static int64_t g_delay_ns, g_connect_ns;
static size_t g_cap = 16u << 20;
static int g_max = 64;
static struct sockaddr_in g_target;
static int g_verbose, g_quickack;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void dir_free(struct dir *d)
{
	while (d->head) {
		struct chunk *c = d->head;
		d->head = c->next;
		free(c);
	}
	d->tail = NULL;
	d->queued = 0;
}

static void conn_free(struct conn *c)
{
	close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	dir_free(&c->up);
	dir_free(&c->down);
	free(c);
}

static int enqueue(struct dir *d, const char *buf, size_t len, int64_t now)
{
	struct chunk *c = malloc(sizeof *c + len);
	if (!c)
		return -1;
	c->next = NULL;
	c->due_ns = now + g_delay_ns;
	c->len = len;
	c->off = 0;
	c->eof = len == 0;
	memcpy(c->data, buf, len);
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
	return 0;
}

/* Reads one chunk from the source of d into d. Returns -1 when the connection must
   close. */
static int pull(const struct conn *c, struct dir *d, int64_t now)
{
	static char buf[READ_SIZE];
	int up = d == &c->up, fd = up ? c->cfd : c->sfd;
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (g_quickack) {
		/* Linux clears the flag again by itself, so set it after every read */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	}
	if (g_verbose)
		fprintf(stderr, "conn %ld +%.3f %s %zd\n", c->id,
			(double)(now - c->accept_ns) / 1e6, up ? "up" : "down", n);
	if (n == 0)
		d->read_closed = 1;
	return enqueue(d, buf, (size_t)n, now);
}

/* Writes what is due from d to fd. Returns -1 when the connection must close. */
static int push(int fd, struct dir *d, int64_t now)
{
	d->blocked = 0;
	while (d->head && d->head->due_ns <= now) {
		struct chunk *c = d->head;
		if (c->eof) {
			if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
				return -1;
			d->write_closed = 1;
		} else {
			ssize_t n = send(fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
				d->blocked = 1;
				return 0;
			}
			if (n < 0)
				return -1;
			c->off += (size_t)n;
			d->queued -= (size_t)n;
			if (c->off < c->len) {
				d->blocked = 1;
				return 0;
			}
		}
		d->head = c->next;
		if (!d->head)
			d->tail = NULL;
		free(c);
	}
	return 0;
}

static int start_connect(struct conn *c)
{
	c->sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->sfd < 0)
		return -1;
	nodelay(c->sfd);
	if (connect(c->sfd, (const struct sockaddr *)&g_target, sizeof g_target) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	c->connecting = 1;
	return 0;
}

/* The poll events each side of c waits for. */
static void interest(const struct conn *c, struct pollfd *cp, struct pollfd *sp)
{
	cp->fd = c->cfd;
	cp->events = (short)((!c->up.read_closed && c->up.queued < g_cap ? POLLIN : 0) |
			     (c->down.blocked ? POLLOUT : 0));
	sp->fd = c->sfd;
	if (c->connecting)
		sp->events = POLLOUT;
	else
		sp->events = (short)((!c->down.read_closed && c->down.queued < g_cap ? POLLIN : 0) |
				     (c->up.blocked ? POLLOUT : 0));
	/* a side with nothing to wait for is left out: a closed peer's POLLHUP would
	   otherwise wake every poll */
	if (!cp->events)
		cp->fd = -1;
	if (!sp->events)
		sp->fd = -1;
	cp->revents = sp->revents = 0;
}

/* The earliest time c has something to do, or INT64_MAX. */
static int64_t next_due(const struct conn *c)
{
	int64_t t = INT64_MAX;
	if (c->sfd < 0)
		return c->connect_ns;
	if (c->down.head && !c->down.blocked)
		t = c->down.head->due_ns;
	if (!c->connecting && c->up.head && !c->up.blocked && c->up.head->due_ns < t)
		t = c->up.head->due_ns;
	return t;
}

/* Advances c after poll. Returns 1 when c is finished and must be freed. */
static int advance(struct conn *c, short crev, short srev, int64_t now)
{
	if (c->sfd < 0 && now >= c->connect_ns && start_connect(c) < 0)
		return 1;
	if (c->connecting && (srev & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
			return 1;
		c->connecting = 0;
		srev = 0;
	}
	if ((crev & (POLLIN | POLLHUP | POLLERR)) && !c->up.read_closed && pull(c, &c->up, now) < 0)
		return 1;
	if (c->sfd >= 0 && !c->connecting) {
		if ((srev & (POLLIN | POLLHUP | POLLERR)) && !c->down.read_closed &&
		    pull(c, &c->down, now) < 0)
			return 1;
		if (push(c->sfd, &c->up, now) < 0)
			return 1;
	}
	if (push(c->cfd, &c->down, now) < 0)
		return 1;
	return c->up.write_closed && c->down.write_closed;
}

static void accept_all(int lfd, struct conn **conns, int *n, int64_t now)
{
	while (*n < g_max) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			return;
		}
		static long ids;
		nodelay(fd);
		c->id = ++ids;
		c->accept_ns = now;
		c->cfd = fd;
		c->sfd = -1;
		c->connect_ns = now + g_connect_ns;
		conns[(*n)++] = c;
	}
}

static long number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "delay_proxy: bad number '%s' (%ld..%ld)\n", s, lo, hi);
		exit(2);
	}
	return v;
}

static int listen_any(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("delay_proxy: listen");
		exit(1);
	}
	printf("%u\n", (unsigned)ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	long connect_ms = -1;
	int opt;
	while ((opt = getopt(argc, argv, "vac:b:m:")) != -1) {
		if (opt == 'v')
			g_verbose = 1;
		else if (opt == 'a')
			g_quickack = 1;
		else if (opt == 'c')
			connect_ms = number(optarg, 0, 60000);
		else if (opt == 'b')
			g_cap = (size_t)number(optarg, READ_SIZE, 1L << 30);
		else if (opt == 'm')
			g_max = (int)number(optarg, 1, 4096);
		else
			optind = argc + 1;
	}
	if (optind + 2 != argc) {
		fputs("usage: delay_proxy [-v] [-a] [-c CONNECT_MS] [-b BYTES] [-m CONNECTIONS] DELAY_MS"
		      " TARGET_PORT\n",
		      stderr);
		return 2;
	}
	long delay_ms = number(argv[optind], 0, 10000);
	g_delay_ns = delay_ms * 1000000;
	g_connect_ns = (connect_ms < 0 ? 3 * delay_ms : connect_ms) * 1000000;
	g_target.sin_family = AF_INET;
	g_target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_target.sin_port = htons((uint16_t)number(argv[optind + 1], 1, 65535));
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_any();
	struct conn **conns = calloc((size_t)g_max, sizeof *conns);
	/* pfd[0] is the listener, pfd[1 + 2i] and pfd[2 + 2i] the two sides of conns[i] */
	struct pollfd *pfd = calloc(1 + 2 * (size_t)g_max, sizeof *pfd);
	if (!conns || !pfd)
		return 1;
	int n = 0;
	for (;;) {
		int64_t due = INT64_MAX, now = now_ns();
		pfd[0].fd = n < g_max ? lfd : -1;
		pfd[0].events = POLLIN;
		for (int i = 0; i < n; i++) {
			interest(conns[i], &pfd[1 + 2 * i], &pfd[2 + 2 * i]);
			int64_t t = next_due(conns[i]);
			if (t < due)
				due = t;
		}
		struct timespec ts, *tsp = NULL;
		if (due != INT64_MAX) {
			int64_t wait = due > now ? due - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
			tsp = &ts;
		}
		if (ppoll(pfd, 1 + 2 * (nfds_t)n, tsp, NULL) < 0 && errno != EINTR) {
			perror("delay_proxy: ppoll");
			return 1;
		}
		now = now_ns();
		int kept = 0;
		for (int i = 0; i < n; i++) {
			struct conn *c = conns[i];
			if (advance(c, pfd[1 + 2 * i].revents, pfd[2 + 2 * i].revents, now))
				conn_free(c);
			else
				conns[kept++] = c;
		}
		n = kept;
		if (pfd[0].revents & POLLIN)
			accept_all(lfd, conns, &n, now);
	}
}

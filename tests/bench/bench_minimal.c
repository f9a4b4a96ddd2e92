/* bench_minimal: the ceiling for tests/bench/run.sh, a minimal RFC 2920 client.
 *
 *   bench_minimal data|bdat PORT SESSIONS MESSAGES FILE
 *
 * Sends MESSAGES (in total, spread evenly over SESSIONS connections to 127.0.0.1:PORT,
 * all driven by one poll() loop) from bench@example.org to sink@example.org with
 * nothing but the protocol: FILE (an RFC 5322 message with CRLF line ends) is prepared
 * once and every message sends the same bytes, so a message costs its system calls and
 * almost nothing else.
 *
 * data  PIPELINING with DATA. After EHLO one write of MAIL, RCPT, DATA; then per
 *       message one write (writev) of the body, dot-stuffed once at start-up, its
 *       final dot and the next message's MAIL, RCPT, DATA (QUIT after the last), and
 *       one read of the replies: 250 for the dot, then 250 250 354 (or 221). The body
 *       is the first "command" of that group (RFC 2920 3.1), so a message costs one
 *       round trip.
 * bdat  PIPELINING with CHUNKING (RFC 3030). Per message one write of MAIL, RCPT,
 *       "BDAT n LAST" and the body (not stuffed); BDAT needs no 354, so up to WINDOW
 *       messages are written before their replies (250 250 250) are read, and QUIT
 *       goes out with the last message.
 *
 * Every reply is checked for its code (220, 250, 354, 221, in order), and the EHLO
 * reply must list PIPELINING (and CHUNKING for bdat). Prints "sent N of M" on stderr;
 * exits 0 when every message got its 250.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_file.h"

#define ENVELOPE "MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\n"
#define WINDOW 128   /* bdat: messages written ahead of their replies */
#define RING 512     /* expected replies per connection: > 3 * WINDOW + 3 */
#define IN_SIZE 2048 /* reply bytes buffered per connection */

/* What each expected reply answers; want_code[] is the code it must have. */
enum tag { T_GREETING, T_EHLO, T_MAIL, T_RCPT, T_DATA, T_DOT, T_BDAT, T_QUIT };
static const int want_code[] = {220, 250, 250, 250, 354, 250, 250, 221};
static const char *const tag_name[] = {"greeting", "EHLO", "MAIL", "RCPT",
				       "DATA",     "dot",  "BDAT", "QUIT"};

struct conn {
	int fd;
	int index;
	long todo; /* messages whose body is still to be written */
	long open; /* bdat: messages written whose reply is still to come */
	long sent;
	int ready;               /* EHLO done: messages may go out */
	int pipelining, chunking; /* keywords of the EHLO reply */
	struct iovec iov[3];
	int iovcnt; /* the write in progress */
	unsigned char ring[RING];
	unsigned rhead, rcount; /* expected replies, oldest first */
	char in[IN_SIZE];
	size_t inlen;
};

static int g_bdat;
static struct iovec g_body;                   /* data: stuffed; bdat: as read */
static const char *g_tail_next, *g_tail_last; /* data: after the body */
static char g_bdat_head[128];                 /* bdat: envelope and BDAT command */
static const char g_quit[] = "QUIT\r\n";

/* RFC 5321 4.5.2: a line that starts with "." gets one more. */
static char *dot_stuff(const char *p, size_t len, size_t *out_len)
{
	char *out = malloc(2 * len + 2);
	size_t n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '.' && (i == 0 || p[i - 1] == '\n'))
			out[n++] = '.';
		out[n++] = p[i];
	}
	if (n < 2 || out[n - 2] != '\r' || out[n - 1] != '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	*out_len = n;
	return out;
}

static void expect(struct conn *c, enum tag t)
{
	c->ring[(c->rhead + c->rcount++) % RING] = (unsigned char)t;
}

static void queue(struct conn *c, const void *a, size_t alen, const void *b, size_t blen,
		  const char *z)
{
	c->iov[0] = (struct iovec){(void *)(uintptr_t)a, alen};
	c->iov[1] = (struct iovec){(void *)(uintptr_t)b, blen};
	c->iov[2] = (struct iovec){(void *)(uintptr_t)z, z ? strlen(z) : 0};
	c->iovcnt = z ? 3 : b ? 2 : 1;
}

/* bdat: queues the next message (with QUIT after the last) if the window allows. */
static int fill(struct conn *c)
{
	if (!g_bdat || !c->ready || c->todo == 0 || c->open >= WINDOW)
		return 0;
	c->todo--;
	c->open++;
	queue(c, g_bdat_head, strlen(g_bdat_head), g_body.iov_base, g_body.iov_len,
	      c->todo ? NULL : g_quit);
	expect(c, T_MAIL);
	expect(c, T_RCPT);
	expect(c, T_BDAT);
	if (!c->todo)
		expect(c, T_QUIT);
	return 1;
}

/* Writes what is queued. Returns -1 on a write error. */
static int flush(struct conn *c)
{
	while (c->iovcnt || fill(c)) {
		ssize_t n = writev(c->fd, c->iov, c->iovcnt);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		for (int i = 0; i < c->iovcnt; i++) {
			size_t k = (size_t)n < c->iov[i].iov_len ? (size_t)n : c->iov[i].iov_len;
			c->iov[i].iov_base = (char *)c->iov[i].iov_base + k;
			c->iov[i].iov_len -= k;
			n -= (ssize_t)k;
		}
		while (c->iovcnt && c->iov[0].iov_len == 0) {
			memmove(c->iov, c->iov + 1, sizeof c->iov - sizeof c->iov[0]);
			c->iovcnt--;
		}
		if (c->iovcnt)
			return 0; /* partial: wait for POLLOUT */
	}
	return 0;
}

static int keyword(const char *line, size_t len, const char *kw)
{
	size_t k = strlen(kw);
	return len >= 4 + k && strncasecmp(line + 4, kw, k) == 0 &&
	       (len == 4 + k || line[4 + k] == ' ');
}

/* Handles one reply line. Returns 1 after QUIT's reply, -1 on a wrong reply. */
static int on_line(struct conn *c, const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-')) {
		fprintf(stderr, "session %d: malformed reply: %.*s\n", c->index, (int)len, line);
		return -1;
	}
	if (!c->rcount) {
		fprintf(stderr, "session %d: reply with no command: %.*s\n", c->index, (int)len, line);
		return -1;
	}
	enum tag t = (enum tag)c->ring[c->rhead];
	if (t == T_EHLO) {
		c->pipelining |= keyword(line, len, "PIPELINING");
		c->chunking |= keyword(line, len, "CHUNKING");
	}
	if (len > 3 && line[3] == '-')
		return 0;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code != want_code[t]) {
		fprintf(stderr, "session %d: %s: wanted %d, got: %.*s\n", c->index, tag_name[t],
			want_code[t], (int)len, line);
		return -1;
	}
	c->rhead = (c->rhead + 1) % RING;
	c->rcount--;
	if (c->iovcnt && (t == T_GREETING || t == T_EHLO || t == T_DATA)) {
		fprintf(stderr, "session %d: %s reply before the command was written\n", c->index,
			tag_name[t]);
		return -1;
	}
	switch (t) {
	case T_GREETING:
		queue(c, "EHLO localhost\r\n", 16, NULL, 0, NULL);
		expect(c, T_EHLO);
		break;
	case T_EHLO:
		if (!c->pipelining || (g_bdat && !c->chunking)) {
			fprintf(stderr, "session %d: EHLO lacks PIPELINING%s\n", c->index,
				g_bdat ? " or CHUNKING" : "");
			return -1;
		}
		c->ready = 1;
		if (!g_bdat) {
			queue(c, g_tail_next + 3, strlen(g_tail_next + 3), NULL, 0, NULL);
			expect(c, T_MAIL);
			expect(c, T_RCPT);
			expect(c, T_DATA);
		}
		break;
	case T_DATA: /* 354: the body, its dot and the next envelope in one write */
		c->todo--;
		queue(c, g_body.iov_base, g_body.iov_len, c->todo ? g_tail_next : g_tail_last,
		      strlen(c->todo ? g_tail_next : g_tail_last), NULL);
		expect(c, T_DOT);
		if (c->todo) {
			expect(c, T_MAIL);
			expect(c, T_RCPT);
			expect(c, T_DATA);
		} else {
			expect(c, T_QUIT);
		}
		break;
	case T_DOT:
		c->sent++;
		break;
	case T_BDAT:
		c->sent++;
		c->open--;
		break;
	case T_QUIT:
		return 1;
	default:
		break;
	}
	return 0;
}

/* Reads what the server sent. Returns 1 when the session is over, -1 on error. */
static int on_readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		fprintf(stderr, "session %d: connection closed\n", c->index);
		return -1;
	}
	c->inlen += (size_t)n;
	size_t start = 0;
	int rc = 0;
	for (;;) {
		char *eol = memchr(c->in + start, '\n', c->inlen - start);
		if (!eol)
			break;
		size_t len = (size_t)(eol - (c->in + start));
		if (len == 0 || eol[-1] != '\r')
			return -1;
		rc = on_line(c, c->in + start, len - 1);
		start += len + 1;
		if (rc)
			return rc;
	}
	if (start == 0 && c->inlen == sizeof c->in)
		return -1; /* a line longer than the buffer */
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	return 0;
}

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* whole messages per write: Nagle would only add waits */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int prepare(const char *path)
{
	size_t len;
	char *raw = read_file(path, &len);
	if (!raw)
		return -1;
	if (g_bdat) {
		g_body = (struct iovec){raw, len};
		snprintf(g_bdat_head, sizeof g_bdat_head, ENVELOPE "BDAT %zu LAST\r\n", len);
		return 0;
	}
	g_body.iov_base = dot_stuff(raw, len, &g_body.iov_len);
	free(raw);
	g_tail_next = ".\r\n" ENVELOPE "DATA\r\n";
	g_tail_last = ".\r\nQUIT\r\n";
	return g_body.iov_base ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 6 || (strcmp(argv[1], "data") != 0 && strcmp(argv[1], "bdat") != 0)) {
		fputs("usage: bench_minimal data|bdat PORT SESSIONS MESSAGES FILE\n", stderr);
		return 2;
	}
	g_bdat = strcmp(argv[1], "bdat") == 0;
	int port = atoi(argv[2]), nsess = atoi(argv[3]);
	long nmsg = atol(argv[4]);
	if (port <= 0 || port > 65535 || nsess <= 0 || nmsg < nsess || prepare(argv[5]) < 0)
		return 2;
	struct conn *c = calloc((size_t)nsess, sizeof *c);
	struct pollfd *p = calloc((size_t)nsess, sizeof *p);
	if (!c || !p)
		return 3;
	int active = 0;
	for (int i = 0; i < nsess; i++) {
		c[i].index = i;
		c[i].todo = nmsg / nsess + (i < nmsg % nsess);
		c[i].fd = dial(port);
		if (c[i].fd >= 0) {
			expect(&c[i], T_GREETING);
			active++;
		}
	}
	while (active > 0) {
		for (int i = 0; i < nsess; i++) {
			p[i].fd = c[i].fd;
			p[i].events = (short)(POLLIN | (c[i].iovcnt ? POLLOUT : 0));
		}
		if (poll(p, (nfds_t)nsess, 60000) <= 0) {
			perror("poll (or 60 s without a reply)");
			break;
		}
		for (int i = 0; i < nsess; i++) {
			int rc = 0;
			if (c[i].fd < 0 || !p[i].revents)
				continue;
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				rc = on_readable(&c[i]);
			if (rc == 0 && flush(&c[i]) < 0)
				rc = -1;
			if (rc) {
				if (rc < 0)
					fprintf(stderr, "session %d failed\n", i);
				close(c[i].fd);
				c[i].fd = -1;
				active--;
			}
		}
	}
	long sent = 0;
	for (int i = 0; i < nsess; i++)
		sent += c[i].sent;
	fprintf(stderr, "sent %ld of %ld\n", sent, nmsg);
	return sent == nmsg ? 0 : 1;
}

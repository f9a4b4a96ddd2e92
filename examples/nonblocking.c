/* nonblocking: many sessions driven from one thread with poll().
 *
 *   nonblocking URL SESSIONS MESSAGES_PER_SESSION FROM TO < message.eml
 *
 * Every session queues its messages with smtp_submit (they are pipelined when the
 * server allows), then one poll() loop drives all sessions through
 * smtp_session_fd / smtp_session_events / smtp_session_timeout_ms /
 * smtp_session_process. Prints how many messages were sent; exit 0 when all were.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <smtp.h>

static char *slurp(size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf && (n += fread(buf + n, 1, cap - n, stdin)) == cap) {
		char *b = realloc(buf, cap *= 2);
		if (!b)
			free(buf);
		buf = b;
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fputs("usage: nonblocking URL SESSIONS MESSAGES FROM TO < message.eml\n", stderr);
		return 2;
	}
	int nsess = atoi(argv[2]), nmsg = atoi(argv[3]);
	if (nsess <= 0 || nmsg <= 0)
		return 2;
	size_t len;
	char *data = slurp(&len);
	smtp_session **s = calloc((size_t)nsess, sizeof *s);
	smtp_message **m = calloc((size_t)nsess * (size_t)nmsg, sizeof *m);
	struct pollfd *pfd = calloc((size_t)nsess, sizeof *pfd);
	if (!data || !s || !m || !pfd)
		return 3;
	for (int i = 0; i < nsess; i++) {
		s[i] = smtp_session_new();
		if (!s[i] || smtp_session_set_url(s[i], argv[1]) || smtp_session_set_nonblocking(s[i], 1))
			return 2;
		for (int j = 0; j < nmsg; j++) {
			smtp_message *msg = m[i * nmsg + j] = smtp_message_new();
			if (!msg || smtp_message_set_from(msg, argv[4]) || smtp_message_add_rcpt(msg, argv[5]) ||
			    smtp_message_set_data(msg, data, len) || smtp_submit(s[i], msg))
				return 2;
		}
	}
	int active = nsess;
	int *done = calloc((size_t)nsess, sizeof *done);
	while (active > 0) {
		int timeout = -1;
		for (int i = 0; i < nsess; i++) {
			pfd[i].fd = -1;
			if (done[i])
				continue;
			int rc = smtp_session_process(s[i]);
			if (rc != SMTP_EAGAIN) {
				/* idle (all sent) or failed: end politely either way */
				if (rc == 0)
					smtp_quit(s[i]);
				done[i] = 1;
				active--;
				continue;
			}
			int ev = smtp_session_events(s[i]);
			pfd[i].fd = smtp_session_fd(s[i]);
			pfd[i].events = (short)(((ev & SMTP_WANT_READ) ? POLLIN : 0) |
						((ev & SMTP_WANT_WRITE) ? POLLOUT : 0));
			int t = smtp_session_timeout_ms(s[i]);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (active > 0)
			poll(pfd, (nfds_t)nsess, timeout);
	}
	int sent = 0;
	for (int i = 0; i < nsess * nmsg; i++) {
		sent += smtp_report_outcome(smtp_message_report(m[i])) == SMTP_SENT;
		smtp_message_free(m[i]);
	}
	for (int i = 0; i < nsess; i++)
		smtp_session_free(s[i]);
	printf("sent %d of %d messages over %d sessions\n", sent, nsess * nmsg, nsess);
	free(done);
	free(pfd);
	free(m);
	free(s);
	free(data);
	return sent == nsess * nmsg ? 0 : 1;
}

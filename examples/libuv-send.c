/* libuv-send: many sessions driven by libuv through <smtp/libuv.h>.
 *
 *   libuv-send URL SESSIONS MESSAGES_PER_SESSION FROM TO < message.eml
 *
 * Every session queues its messages (pipelined when the server allows); one
 * uv_loop_t drives them all. When a session has finished its messages it sends
 * QUIT. A message callback counts the messages sent as their reports become final.
 * Prints "sent X of Y"; exit 0 when all were sent.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#include <smtp.h>
#include <smtp/libuv.h>

struct conn {
	smtp_session *s;
	struct smtp_libuv *a;
	int quitting;
};

static int sent;

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

static void on_message(void *ud, smtp_session *s, smtp_message *m)
{
	(void)ud;
	(void)s;
	sent += smtp_report_outcome(smtp_message_report(m)) == SMTP_SENT;
}

/* The session stopped waiting: its queue is done (or its connection failed). */
static void on_done(void *ud, smtp_session *s, int rc)
{
	struct conn *c = ud;
	if (rc == 0 && !c->quitting) {
		c->quitting = 1;
		if (smtp_quit(s) == SMTP_EAGAIN)
			smtp_libuv_process(c->a);
	}
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fputs("usage: libuv-send URL SESSIONS MESSAGES FROM TO < message.eml\n", stderr);
		return 2;
	}
	int nsess = atoi(argv[2]), nmsg = atoi(argv[3]);
	if (nsess <= 0 || nmsg <= 0)
		return 2;
	size_t len;
	char *data = slurp(&len);
	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0)
		return 3;
	struct conn *c = calloc((size_t)nsess, sizeof *c);
	smtp_message **m = calloc((size_t)nsess * (size_t)nmsg, sizeof *m);
	if (!data || !c || !m)
		return 3;
	for (int i = 0; i < nsess; i++) {
		smtp_session *s = c[i].s = smtp_session_new();
		if (!s || smtp_session_set_url(s, argv[1]) || smtp_session_set_nonblocking(s, 1) ||
		    smtp_session_set_message_callback(s, on_message, NULL))
			return 2;
		for (int j = 0; j < nmsg; j++) {
			smtp_message *msg = m[i * nmsg + j] = smtp_message_new();
			if (!msg || smtp_message_set_from(msg, argv[4]) || smtp_message_add_rcpt(msg, argv[5]) ||
			    smtp_message_set_data(msg, data, len) || smtp_submit(s, msg))
				return 2;
		}
		if (!(c[i].a = smtp_libuv_new(&loop, s, on_done, &c[i])))
			return 3;
		smtp_libuv_process(c[i].a);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	/* adapters first (a poll handle must not outlive its socket), then run the loop
	   once more for their close callbacks */
	for (int i = 0; i < nsess; i++)
		smtp_libuv_free(c[i].a);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < nsess; i++)
		smtp_session_free(c[i].s);
	for (int i = 0; i < nsess * nmsg; i++)
		smtp_message_free(m[i]);
	printf("sent %d of %d messages over %d sessions\n", sent, nsess * nmsg, nsess);
	uv_loop_close(&loop);
	free(m);
	free(c);
	free(data);
	return sent == nsess * nmsg ? 0 : 1;
}

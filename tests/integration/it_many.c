/* Many sessions from one thread against Postfix's smtp-sink: 200 nonblocking
   sessions driven by one poll() loop over the public calls, the message callback,
   the session state and queue accessors, the libevent and libuv adapter examples,
   and the heap an idle connected session holds. The test multiplexes sessions, so
   it drives them without blocking in both harness modes; the mode only tags its
   markers. SMTP_IT_MANY_SESSIONS lowers the session count (e.g. under valgrind). */
#include "it_common.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANY_MESSAGES 2   /* per session */
#define MANY_DEADLINE 120 /* seconds for any one phase: a hang fails instead */

static int nsessions = 200;
static const char *prog; /* argv[0]: the examples are in its ../examples */

struct slot {
	smtp_session *s;
	smtp_message *m[MANY_MESSAGES];
	char *body[MANY_MESSAGES];
	int fired[MANY_MESSAGES];       /* message callback calls per message */
	size_t queued_at[MANY_MESSAGES]; /* smtp_session_queued seen in the callback */
	int final_at[MANY_MESSAGES];    /* the report was final in the callback */
	int stray;                      /* callback calls for a message not ours */
	int done;                       /* the session stopped waiting */
	int rc;                         /* what smtp_session_process returned then */
	int idx;
};

static void on_message(void *ud, smtp_session *s, smtp_message *m)
{
	struct slot *sl = ud;
	for (int j = 0; j < MANY_MESSAGES; j++) {
		if (sl->m[j] == m && sl->s == s) {
			sl->fired[j]++;
			sl->queued_at[j] = smtp_session_queued(s);
			sl->final_at[j] = smtp_report_outcome(smtp_message_report(m)) != SMTP_PENDING;
			return;
		}
	}
	sl->stray++;
}

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Drives every session not yet done until smtp_session_process stops returning
   SMTP_EAGAIN, processing a session only when poll() says its socket is ready or its
   deadline passed (so wrong events or timeouts would hang, and fail here). Returns
   the number of sessions still waiting at the deadline. */
static int drive(struct slot *sl, int n)
{
	struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
	int *due = calloc((size_t)n, sizeof *due);
	if (!pfd || !due)
		exit(2);
	for (int i = 0; i < n; i++)
		due[i] = !sl[i].done;
	int waiting = n;
	time_t limit = now_s() + MANY_DEADLINE;
	while (waiting > 0 && now_s() < limit) {
		waiting = 0;
		int timeout = -1;
		for (int i = 0; i < n; i++) {
			pfd[i].fd = -1;
			pfd[i].revents = 0;
			if (sl[i].done)
				continue;
			if (due[i]) {
				int rc = smtp_session_process(sl[i].s);
				if (rc != SMTP_EAGAIN) {
					sl[i].done = 1;
					sl[i].rc = rc;
					continue;
				}
			}
			waiting++;
			int ev = smtp_session_events(sl[i].s);
			pfd[i].fd = smtp_session_fd(sl[i].s);
			pfd[i].events = (short)(((ev & SMTP_WANT_READ) ? POLLIN : 0) |
						((ev & SMTP_WANT_WRITE) ? POLLOUT : 0));
			int t = smtp_session_timeout_ms(sl[i].s);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (waiting == 0)
			break;
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			due[i] = !sl[i].done && (pfd[i].revents != 0 ||
						 smtp_session_timeout_ms(sl[i].s) == 0);
	}
	free(pfd);
	free(due);
	return waiting;
}

static smtp_session *many_session(void)
{
	smtp_session *s = smtp_session_new();
	if (!s || smtp_session_set_server(s, "127.0.0.1", it_port("SMTP_IT_SINK_PORT"),
					  SMTP_TLS_NONE) != 0 ||
	    smtp_session_set_nonblocking(s, 1) != 0) {
		fprintf(stderr, "FATAL: cannot configure the session\n");
		exit(2);
	}
	return s;
}

static char marker_prefix[64];

/* 200 sessions x 2 messages, one poll() loop: every message sent, its callback run
   once while its report was final, every marker in the sink exactly once. */
static void test_many_sessions(void)
{
	int n = nsessions;
	struct slot *sl = calloc((size_t)n, sizeof *sl);
	if (!sl)
		exit(2);
	snprintf(marker_prefix, sizeof marker_prefix, "X-Many: it-many-%ld-%s-",
		 (long)getpid(), it_mode());
	int states_ok = 1;
	for (int i = 0; i < n; i++) {
		sl[i].idx = i;
		sl[i].s = many_session();
		states_ok &= smtp_session_get_state(sl[i].s) == SMTP_STATE_IDLE;
		CHECK_INT(smtp_session_set_message_callback(sl[i].s, on_message, &sl[i]), 0);
		for (int j = 0; j < MANY_MESSAGES; j++) {
			char *b = sl[i].body[j] = malloc(256);
			snprintf(b, 256, "Subject: many %d.%d\r\n%s%d.%d.\r\n\r\nbody of %d.%d\r\n",
				 i, j, marker_prefix, i, j, i, j);
			const char *rcpts[] = {"many@example.test", NULL};
			sl[i].m[j] = it_message("from@example.test", rcpts, b);
			CHECK_INT(smtp_submit(sl[i].s, sl[i].m[j]), 0);
		}
		states_ok &= smtp_session_get_state(sl[i].s) == SMTP_STATE_CONNECTING;
		states_ok &= smtp_session_queued(sl[i].s) == MANY_MESSAGES;
	}
	CHECK(states_ok);

	CHECK_INT(drive(sl, n), 0);
	int sent = 0, fired_once = 0, final_in_cb = 0, order_ok = 0, idle_ok = 0, stray = 0;
	for (int i = 0; i < n; i++) {
		if (sl[i].rc != 0)
			fprintf(stderr, "session %d ended with %s\n", i, smtp_error_name(sl[i].rc));
		idle_ok += sl[i].rc == 0 && smtp_session_get_state(sl[i].s) == SMTP_STATE_READY &&
			   smtp_session_queued(sl[i].s) == 0;
		stray += sl[i].stray;
		for (int j = 0; j < MANY_MESSAGES; j++) {
			sent += smtp_report_outcome(smtp_message_report(sl[i].m[j])) == SMTP_SENT;
			fired_once += sl[i].fired[j] == 1;
			final_in_cb += sl[i].final_at[j];
			/* the message left the queue before its callback ran */
			order_ok += sl[i].queued_at[j] == (size_t)(MANY_MESSAGES - 1 - j);
		}
	}
	int total = n * MANY_MESSAGES;
	CHECK_INT(sent, total);
	CHECK_INT(fired_once, total);
	CHECK_INT(final_in_cb, total);
	CHECK_INT(order_ok, total);
	CHECK_INT(idle_ok, n);
	CHECK_INT(stray, 0);

	/* QUIT everywhere: CLOSING while it is under way, IDLE when done */
	int closing = 0;
	for (int i = 0; i < n; i++) {
		sl[i].done = 0;
		int rc = smtp_quit(sl[i].s);
		if (rc == SMTP_EAGAIN) {
			closing += smtp_session_get_state(sl[i].s) == SMTP_STATE_CLOSING;
		} else {
			sl[i].done = 1;
			sl[i].rc = rc;
		}
	}
	CHECK_INT(closing, n);
	CHECK_INT(drive(sl, n), 0);
	int down = 0;
	for (int i = 0; i < n; i++)
		down += sl[i].rc == 0 && smtp_session_get_state(sl[i].s) == SMTP_STATE_IDLE &&
			smtp_session_fd(sl[i].s) == -1;
	CHECK_INT(down, n);

	/* every marker arrived exactly once: read the dumps once and count */
	int *seen = calloc((size_t)total, sizeof *seen);
	int unknown = 0;
	const char *dir = it_env("SMTP_IT_SINK_DIR");
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *dump = it_read_file(path, &len);
		for (char *p = dump; p && (p = strstr(p, marker_prefix)) != NULL;) {
			int i, j;
			p += strlen(marker_prefix);
			if (sscanf(p, "%d.%d.", &i, &j) == 2 && i >= 0 && i < n && j >= 0 &&
			    j < MANY_MESSAGES)
				seen[i * MANY_MESSAGES + j]++;
			else
				unknown++;
		}
		free(dump);
	}
	if (d)
		closedir(d);
	int once = 0;
	for (int k = 0; k < total; k++)
		once += seen[k] == 1;
	CHECK_INT(once, total);
	CHECK_INT(unknown, 0);
	free(seen);

	for (int i = 0; i < n; i++) {
		smtp_session_free(sl[i].s);
		for (int j = 0; j < MANY_MESSAGES; j++) {
			smtp_message_free(sl[i].m[j]);
			free(sl[i].body[j]);
		}
	}
	free(sl);
}

/* smtp_session_free ends a message still queued, through the callback: deferred
   (nothing is wrong with the message; it can be sent again). */
static void test_callback_on_free(void)
{
	struct slot sl = {0};
	sl.s = many_session();
	CHECK_INT(smtp_session_set_message_callback(NULL, on_message, &sl), SMTP_EINVAL);
	CHECK_INT(smtp_session_set_message_callback(sl.s, on_message, &sl), 0);
	const char *rcpts[] = {"many@example.test", NULL};
	sl.m[0] = it_message("from@example.test", rcpts, "Subject: never\r\n\r\nx\r\n");
	CHECK_INT(smtp_submit(sl.s, sl.m[0]), 0);
	CHECK_INT(smtp_session_queued(sl.s), 1);
	smtp_session_free(sl.s);
	CHECK_INT(sl.fired[0], 1);
	CHECK_INT(sl.final_at[0], 1);
	CHECK_INT(smtp_report_outcome(smtp_message_report(sl.m[0])), SMTP_DEFERRED);
	CHECK_INT(smtp_report_error(smtp_message_report(sl.m[0])), SMTP_ESTATE);
	smtp_message_free(sl.m[0]);
	CHECK_INT(smtp_session_get_state(NULL), SMTP_STATE_IDLE);
	CHECK_INT(smtp_session_queued(NULL), 0);
}

/* The callback also runs under smtp_send, in the harness mode (blocking or not), and
   the states follow the session through connect, send and quit. */
static void test_callback_with_send(void)
{
	struct slot sl = {0};
	sl.s = it_session("127.0.0.1", it_port("SMTP_IT_SINK_PORT"), SMTP_TLS_NONE);
	CHECK_INT(smtp_session_set_message_callback(sl.s, on_message, &sl), 0);
	CHECK_INT(it_connect(sl.s), 0);
	CHECK_INT(smtp_session_get_state(sl.s), SMTP_STATE_READY);
	char body[128], marker[64];
	snprintf(marker, sizeof marker, "it-many-send-%ld-%s", (long)getpid(), it_mode());
	snprintf(body, sizeof body, "Subject: send\r\nX-Send: %s\r\n\r\nx\r\n", marker);
	const char *rcpts[] = {"many@example.test", NULL};
	sl.m[0] = it_message("from@example.test", rcpts, body);
	CHECK_INT(it_send(sl.s, sl.m[0]), 0);
	CHECK_INT(sl.fired[0], 1);
	CHECK_INT(sl.final_at[0], 1);
	CHECK_INT(sl.queued_at[0], 0);
	CHECK_INT(smtp_step_code(it_step(smtp_message_report(sl.m[0]), SMTP_STAGE_BODY, 0)), 250);
	CHECK_INT(smtp_session_get_state(sl.s), SMTP_STATE_READY);
	CHECK_INT(it_quit(sl.s), 0);
	CHECK_INT(smtp_session_get_state(sl.s), SMTP_STATE_IDLE);
	CHECK_INT(sl.fired[0], 1);
	size_t len;
	char *got = it_find_record(it_env("SMTP_IT_SINK_DIR"), marker, &len);
	CHECK(got != NULL);
	free(got);
	smtp_message_free(sl.m[0]);
	smtp_session_free(sl.s);
}

/* A message submitted to a connected idle session shows in smtp_session_events at
   once: its pipelined commands are waiting, so a loop that polls on the events
   alone (without calling smtp_session_process first) writes them. */
static void test_submit_wants_write(void)
{
	struct slot sl = {0};
	sl.s = many_session();
	int rc = smtp_connect(sl.s);
	if (rc != SMTP_EAGAIN) {
		sl.done = 1;
		sl.rc = rc;
	}
	CHECK_INT(drive(&sl, 1), 0);
	CHECK_INT(sl.rc, 0);
	CHECK_INT(smtp_session_get_state(sl.s), SMTP_STATE_READY);
	CHECK_INT(smtp_session_events(sl.s), 0);
	const char *rcpts[] = {"many@example.test", NULL};
	sl.m[0] = it_message("from@example.test", rcpts, "Subject: events\r\n\r\nx\r\n");
	CHECK_INT(smtp_submit(sl.s, sl.m[0]), 0);
	CHECK(smtp_session_events(sl.s) & SMTP_WANT_WRITE);
	struct pollfd pfd = {.fd = smtp_session_fd(sl.s), .events = POLLOUT};
	CHECK_INT(poll(&pfd, 1, 1000), 1);
	sl.done = 0;
	CHECK_INT(drive(&sl, 1), 0);
	CHECK_INT(sl.rc, 0);
	CHECK_INT(smtp_report_outcome(smtp_message_report(sl.m[0])), SMTP_SENT);
	CHECK_INT(it_quit(sl.s), 0);
	smtp_message_free(sl.m[0]);
	smtp_session_free(sl.s);
}

/* Runs an adapter example against the sink: SESSIONS x MESSAGES of one message
   carrying a marker; returns its exit status (-1 when it did not exit). */
static int run_example(const char *name, int sessions, int messages, const char *marker)
{
	char path[1024];
	const char *slash = strrchr(prog, '/');
	if (slash)
		snprintf(path, sizeof path, "%.*s/../examples/%s", (int)(slash - prog), prog, name);
	else
		snprintf(path, sizeof path, "%s/examples/%s", it_env("BUILD"), name);
	char url[128], ns[16], nm[16];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d?tls=none", it_port("SMTP_IT_SINK_PORT"));
	snprintf(ns, sizeof ns, "%d", sessions);
	snprintf(nm, sizeof nm, "%d", messages);
	char msg[256];
	snprintf(msg, sizeof msg, "Subject: %s\r\nX-Adapter: %s\r\n\r\nvia %s\r\n", name, marker,
		 name);
	int in[2];
	if (pipe(in) != 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		execl(path, path, url, ns, nm, "from@example.test", "to@example.test", (char *)NULL);
		fprintf(stderr, "cannot run %s\n", path);
		_exit(127);
	}
	close(in[0]);
	ssize_t w = write(in[1], msg, strlen(msg));
	close(in[1]);
	if (w != (ssize_t)strlen(msg))
		return -1;
	int status = 0;
	time_t limit = now_s() + MANY_DEADLINE;
	pid_t got;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_s() < limit)
		usleep(10000);
	if (got == 0) {
		fprintf(stderr, "%s did not finish: killing it\n", name);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return got == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* How many sink dumps contain marker. */
static int count_dumps(const char *marker)
{
	const char *dir = it_env("SMTP_IT_SINK_DIR");
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *dump = it_read_file(path, &len);
		count += dump && memmem(dump, len, marker, strlen(marker)) != NULL;
		free(dump);
	}
	closedir(d);
	return count;
}

/* The libevent and libuv adapters (through their examples): 20 sessions x 5 messages
   each, all sent, all in the sink. */
static void test_adapter_examples(void)
{
	const char *names[] = {"libevent-send", "libuv-send"};
	for (size_t k = 0; k < 2; k++) {
		char marker[96];
		snprintf(marker, sizeof marker, "it-many-%ld-%s-%s", (long)getpid(), it_mode(),
			 names[k]);
		CHECK_INT(run_example(names[k], 20, 5, marker), 0);
		CHECK_INT(count_dumps(marker), 100);
	}
}

/* Heap held by an idle, connected plain-text session (printed for the notes, not
   asserted: it depends on the allocator and the server's EHLO reply). */
static void test_idle_session_heap(void)
{
	int n = nsessions;
	struct slot *sl = calloc((size_t)n, sizeof *sl);
	if (!sl)
		exit(2);
	struct mallinfo2 before = mallinfo2();
	for (int i = 0; i < n; i++) {
		sl[i].s = many_session();
		int rc = smtp_connect(sl[i].s);
		if (rc != SMTP_EAGAIN) {
			sl[i].done = 1;
			sl[i].rc = rc;
		}
	}
	CHECK_INT(drive(sl, n), 0);
	struct mallinfo2 after = mallinfo2();
	int ready = 0;
	for (int i = 0; i < n; i++)
		ready += sl[i].rc == 0 && smtp_session_get_state(sl[i].s) == SMTP_STATE_READY;
	CHECK_INT(ready, n);
	if (after.uordblks > before.uordblks)
		printf("idle session heap: %zu bytes (%d connected plain sessions, %s mode)\n",
		       (after.uordblks - before.uordblks) / (size_t)n, n, it_mode());
	else /* valgrind's allocator keeps no mallinfo2 statistics */
		printf("idle session heap: not measured (no allocator statistics)\n");
	for (int i = 0; i < n; i++) {
		sl[i].done = 0;
		int rc = smtp_quit(sl[i].s);
		if (rc != SMTP_EAGAIN) {
			sl[i].done = 1;
			sl[i].rc = rc;
		}
	}
	CHECK_INT(drive(sl, n), 0);
	for (int i = 0; i < n; i++)
		smtp_session_free(sl[i].s);
	free(sl);
}

int main(int argc, char **argv)
{
	(void)argc;
	prog = argv[0];
	const char *env = getenv("SMTP_IT_MANY_SESSIONS");
	if (env && atoi(env) > 0)
		nsessions = atoi(env);
	char name[64];
	snprintf(name, sizeof name, "it_many (%s)", it_mode());
	RUN(test_callback_on_free);
	RUN(test_callback_with_send);
	RUN(test_submit_wants_write);
	RUN(test_many_sessions);
	RUN(test_adapter_examples);
	RUN(test_idle_session_heap);
	return CHECK_DONE(name);
}

/* bench_libsmtp: send the same message many times with libsmtp, for tests/bench/run.sh.
 *
 *   bench_libsmtp blocking|nonblocking URL SESSIONS MESSAGES FILE [--path] [--data]
 *
 * MESSAGES (in total) are spread evenly over SESSIONS connections. The content is
 * FILE, read once into memory; a message from bench@example.org to
 * sink@example.org references that buffer. Message objects are made once and sent
 * again when their report is final, as an application with a steady stream of mail
 * would: the addresses are checked once per object, not once per send.
 *
 * blocking     one thread per session (one thread in all for SESSIONS=1); each
 *              connects and calls smtp_send() in a loop, then smtp_quit().
 * nonblocking  one thread; every session keeps up to WINDOW messages submitted
 *              (pipelined when the server offers PIPELINING), submitting the next
 *              as one completes, and an epoll loop drives the sessions that are
 *              ready with smtp_session_process().
 * --path       trace the dialogue of the first session and print on stdout
 *              "chunking_offered=0|1 bdat_commands=N data_commands=N", which tells
 *              whether the body went out with BDAT (RFC 3030) or DATA.
 * --data       smtp_session_set_chunking(s, 0, 0): DATA even when CHUNKING is offered.
 *
 * Prints "sent N of M" on stderr; exits 0 when every message was sent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <smtp.h>

#include "bench_file.h"

#define FROM "bench@example.org"
#define TO "sink@example.org"
/* Messages in flight per session in nonblocking mode. */
#define WINDOW 64

static const char *g_url;
static const char *g_data;
static size_t g_len;
static int g_trace_path;
static int g_no_chunking;
static long g_bdat, g_data_cmds;

static void trace(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	(void)ud;
	if (dir != SMTP_TRACE_SEND)
		return;
	if (len >= 5 && strncmp(line, "BDAT ", 5) == 0)
		g_bdat++;
	else if (len == 4 && strncmp(line, "DATA", 4) == 0)
		g_data_cmds++;
}

static smtp_session *new_session(int nonblocking, int traced)
{
	smtp_session *s = smtp_session_new();
	if (!s)
		return NULL;
	if (smtp_session_set_url(s, g_url) || smtp_session_set_nonblocking(s, nonblocking) ||
	    (traced && smtp_session_set_trace(s, trace, NULL)) ||
	    (g_no_chunking && smtp_session_set_chunking(s, 0, 0))) {
		smtp_session_free(s);
		return NULL;
	}
	return s;
}

static smtp_message *new_message(void)
{
	smtp_message *m = smtp_message_new();
	if (m && (smtp_message_set_from(m, FROM) || smtp_message_add_rcpt(m, TO) ||
		  smtp_message_set_data(m, g_data, g_len))) {
		smtp_message_free(m);
		return NULL;
	}
	return m;
}

static void print_path(const smtp_session *s)
{
	if (g_trace_path)
		printf("chunking_offered=%d bdat_commands=%ld data_commands=%ld\n",
		       smtp_session_has_extension(s, "CHUNKING", NULL), g_bdat, g_data_cmds);
}

/* ---- blocking ---- */

struct job {
	int index;
	long count;
	long sent;
	pthread_t tid;
};

static void *blocking_job(void *arg)
{
	struct job *j = arg;
	smtp_session *s = new_session(0, g_trace_path && j->index == 0);
	if (!s)
		return NULL;
	int rc = smtp_connect(s);
	if (rc) {
		fprintf(stderr, "connect: %s\n", smtp_error_name(rc));
		smtp_session_free(s);
		return NULL;
	}
	smtp_message *m = new_message();
	for (long i = 0; m && i < j->count; i++) {
		rc = smtp_send(s, m);
		if (rc) {
			fprintf(stderr, "send: %s\n", smtp_error_name(rc));
			break;
		}
		j->sent++;
	}
	smtp_message_free(m);
	if (j->index == 0)
		print_path(s);
	smtp_quit(s);
	smtp_session_free(s);
	return NULL;
}

static long run_blocking(int nsess, long nmsg)
{
	struct job *jobs = calloc((size_t)nsess, sizeof *jobs);
	if (!jobs)
		return -1;
	for (int i = 0; i < nsess; i++) {
		jobs[i].index = i;
		jobs[i].count = nmsg / nsess + (i < nmsg % nsess);
	}
	if (nsess == 1) {
		blocking_job(&jobs[0]);
	} else {
		for (int i = 0; i < nsess; i++)
			if (pthread_create(&jobs[i].tid, NULL, blocking_job, &jobs[i])) {
				fputs("pthread_create failed\n", stderr);
				exit(3);
			}
		for (int i = 0; i < nsess; i++)
			pthread_join(jobs[i].tid, NULL);
	}
	long sent = 0;
	for (int i = 0; i < nsess; i++)
		sent += jobs[i].sent;
	free(jobs);
	return sent;
}

/* ---- nonblocking ---- */

struct nb {
	smtp_session *s;
	int fd;     /* registered in epoll, or -1 */
	int events; /* registered SMTP_WANT_* */
	int done;
	int quitting;
	smtp_message *m[WINDOW];
	int busy[WINDOW]; /* submitted, report not final yet */
	int nm;     /* message objects of this session */
	long left;  /* sends still to submit */
	long sent;
};

/* Counts the messages whose report became final and submits them again while
   sends are left. Returns the number submitted, or -1 when a submission fails. */
static int refill(struct nb *n)
{
	int submitted = 0;
	for (int i = 0; i < n->nm; i++) {
		if (!n->busy[i])
			continue;
		smtp_outcome oc = smtp_report_outcome(smtp_message_report(n->m[i]));
		if (oc == SMTP_PENDING)
			continue;
		n->sent += oc == SMTP_SENT;
		n->busy[i] = 0;
		if (n->left > 0) {
			if (smtp_submit(n->s, n->m[i]))
				return -1;
			n->left--;
			n->busy[i] = 1;
			submitted++;
		}
	}
	return submitted;
}

static uint32_t to_epoll(int ev)
{
	return ((ev & SMTP_WANT_READ) ? (uint32_t)EPOLLIN : 0u) |
	       ((ev & SMTP_WANT_WRITE) ? (uint32_t)EPOLLOUT : 0u);
}

/* Advances one session and brings its epoll registration up to date.
   Returns 1 when the session has finished. */
static int step(int ep, struct nb *n, int index)
{
	int rc, more;
	do {
		rc = smtp_session_process(n->s);
		more = refill(n);
		if (more < 0) {
			fprintf(stderr, "session %d: submission failed\n", index);
			rc = SMTP_ESTATE;
			break;
		}
		/* what the submissions let it write goes out now, not at the next reply */
	} while (more > 0 && (rc == 0 || (smtp_session_events(n->s) & SMTP_WANT_WRITE)));
	if (rc == 0 && !n->quitting) {
		/* idle: every message has its final reply; QUIT, driven like the rest */
		n->quitting = 1;
		if (index == 0)
			print_path(n->s);
		rc = smtp_quit(n->s);
	}
	if (rc != SMTP_EAGAIN) {
		if (rc != 0)
			fprintf(stderr, "session %d: %s\n", index, smtp_error_name(rc));
		if (n->fd >= 0)
			epoll_ctl(ep, EPOLL_CTL_DEL, n->fd, NULL);
		n->fd = -1;
		n->done = 1;
		return 1;
	}
	int fd = smtp_session_fd(n->s), ev = smtp_session_events(n->s);
	if (fd != n->fd) {
		if (n->fd >= 0)
			epoll_ctl(ep, EPOLL_CTL_DEL, n->fd, NULL); /* may already be closed */
		n->fd = -1;
		if (fd >= 0) {
			struct epoll_event e = {.events = to_epoll(ev), .data.u32 = (uint32_t)index};
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == 0) {
				n->fd = fd;
				n->events = ev;
			}
		}
	} else if (fd >= 0 && ev != n->events) {
		struct epoll_event e = {.events = to_epoll(ev), .data.u32 = (uint32_t)index};
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
		n->events = ev;
	}
	return 0;
}

static long run_nonblocking(int nsess, long nmsg)
{
	struct nb *n = calloc((size_t)nsess, sizeof *n);
	struct epoll_event *evs = calloc((size_t)nsess, sizeof *evs);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!n || !evs || ep < 0)
		return -1;
	for (int i = 0; i < nsess; i++) {
		n[i].fd = -1;
		n[i].s = new_session(1, g_trace_path && i == 0);
		if (!n[i].s)
			return -1;
		n[i].left = nmsg / nsess + (i < nmsg % nsess);
		n[i].nm = n[i].left < WINDOW ? (int)n[i].left : WINDOW;
		for (int j = 0; j < n[i].nm; j++) {
			n[i].m[j] = new_message();
			if (!n[i].m[j] || smtp_submit(n[i].s, n[i].m[j]))
				return -1;
			n[i].busy[j] = 1;
			n[i].left--;
		}
	}
	int active = nsess;
	for (int i = 0; i < nsess; i++)
		active -= step(ep, &n[i], i);
	while (active > 0) {
		/* the deadlines are minutes away; look at them only now and then */
		int got = epoll_wait(ep, evs, nsess, 1000);
		if (got < 0 && errno != EINTR) {
			perror("epoll_wait");
			return -1;
		}
		if (got <= 0) {
			for (int i = 0; i < nsess; i++) {
				if (n[i].done)
					continue;
				int t = smtp_session_timeout_ms(n[i].s);
				if (t == 0 || n[i].fd < 0)
					active -= step(ep, &n[i], i);
			}
			continue;
		}
		for (int e = 0; e < got; e++) {
			int i = (int)evs[e].data.u32;
			if (!n[i].done)
				active -= step(ep, &n[i], i);
		}
	}
	long sent = 0;
	for (int i = 0; i < nsess; i++) {
		refill(&n[i]);
		sent += n[i].sent;
		smtp_session_free(n[i].s);
		for (int j = 0; j < n[i].nm; j++)
			smtp_message_free(n[i].m[j]);
	}
	close(ep);
	free(evs);
	free(n);
	return sent;
}

int main(int argc, char **argv)
{
	for (int i = 6; i < argc; i++) {
		if (strcmp(argv[i], "--path") == 0)
			g_trace_path = 1;
		else if (strcmp(argv[i], "--data") == 0)
			g_no_chunking = 1;
		else
			argc = 0;
	}
	if (argc < 6) {
		fputs("usage: bench_libsmtp blocking|nonblocking URL SESSIONS MESSAGES FILE"
		      " [--path] [--data]\n",
		      stderr);
		return 2;
	}
	int nonblocking;
	if (strcmp(argv[1], "blocking") == 0)
		nonblocking = 0;
	else if (strcmp(argv[1], "nonblocking") == 0)
		nonblocking = 1;
	else
		return 2;
	g_url = argv[2];
	int nsess = atoi(argv[3]);
	long nmsg = atol(argv[4]);
	if (nsess <= 0 || nmsg < nsess)
		return 2;
	char *data = read_file(argv[5], &g_len);
	if (!data)
		return 3;
	g_data = data;
	long sent = nonblocking ? run_nonblocking(nsess, nmsg) : run_blocking(nsess, nmsg);
	free(data);
	fprintf(stderr, "sent %ld of %ld\n", sent, nmsg);
	return sent == nmsg ? 0 : 1;
}

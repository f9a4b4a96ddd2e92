/* bench_curl: send the same message many times with libcurl, for tests/bench/run.sh.
 *
 *   bench_curl easy|multi URL SESSIONS MESSAGES FILE
 *
 * MESSAGES (in total) are spread evenly over SESSIONS easy handles, from
 * bench@example.org to sink@example.org; the content is FILE, read once into memory
 * and handed to libcurl by a CURLOPT_READFUNCTION (CURLOPT_UPLOAD). URL is e.g.
 * smtp://127.0.0.1:2525 (plain text).
 *
 * easy   one thread per handle (one thread for SESSIONS=1); each reuses its easy
 *        handle, and so its connection, for curl_easy_perform() in a loop.
 * multi  one thread, one multi handle with every easy handle added, driven by
 *        curl_multi_socket_action() from an epoll loop (the hiperfifo pattern); a
 *        finished handle is removed and added again for its next message, which
 *        reuses a cached connection.
 *
 * Prints "sent N of M" on stderr; exits 0 when every message was sent.
 *
 *   bench_curl first URL CAFILE USER PASSWORD FILE
 *
 * first  time to the first accepted message on a fresh connection: one easy handle
 *        with STARTTLS required (CURLUSESSL_ALL, the certificate verified against
 *        CAFILE) and AUTH PLAIN with an initial response (CURLOPT_SASL_IR) sends FILE
 *        once. Prints "conn=1 ms=T" on stdout, T the wall time of
 *        curl_easy_perform() (QUIT comes later, at curl_easy_cleanup()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_file.h"

static const char *g_url;
static const char *g_data;
static size_t g_len;
static struct curl_slist *g_rcpt;

struct xfer {
	CURL *e;
	size_t pos;   /* read position in g_data */
	long left;    /* messages still to send after the current one */
	long sent;
	pthread_t tid;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t room = size * nitems, n = g_len - x->pos;
	if (n > room)
		n = room;
	memcpy(buf, g_data + x->pos, n);
	x->pos += n;
	return n;
}

static int setup(struct xfer *x)
{
	x->e = curl_easy_init();
	if (!x->e)
		return -1;
	CURL *e = x->e;
	if (curl_easy_setopt(e, CURLOPT_URL, g_url) ||
	    curl_easy_setopt(e, CURLOPT_MAIL_FROM, "<bench@example.org>") ||
	    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, g_rcpt) ||
	    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb) ||
	    curl_easy_setopt(e, CURLOPT_READDATA, x) ||
	    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)g_len) ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L))
		return -1;
	return 0;
}

/* ---- easy ---- */

static void *easy_job(void *arg)
{
	struct xfer *x = arg;
	for (long i = 0; i <= x->left; i++) {
		x->pos = 0;
		CURLcode rc = curl_easy_perform(x->e);
		if (rc != CURLE_OK) {
			fprintf(stderr, "curl: %s\n", curl_easy_strerror(rc));
			break;
		}
		x->sent++;
	}
	return NULL;
}

/* ---- multi ---- */

static int g_ep = -1;
static long g_timeout = -1; /* ms, from the timer callback; -1: none */
static struct timespec g_set_at;

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)e;
	(void)userp;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(g_ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? (uint32_t)EPOLLIN : 0u) |
					   ((what & CURL_POLL_OUT) ? (uint32_t)EPOLLOUT : 0u),
				 .data.fd = s};
	if (epoll_ctl(g_ep, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
		epoll_ctl(g_ep, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	g_timeout = timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &g_set_at);
	return 0;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

static long run_multi(struct xfer *x, int nsess)
{
	CURLM *m = curl_multi_init();
	g_ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event *evs = calloc((size_t)nsess + 16, sizeof *evs);
	if (!m || g_ep < 0 || !evs)
		return -1;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb);
	for (int i = 0; i < nsess; i++) {
		curl_easy_setopt(x[i].e, CURLOPT_PRIVATE, &x[i]);
		x[i].pos = 0;
		if (curl_multi_add_handle(m, x[i].e))
			return -1;
	}
	int running = 0, active = nsess;
	while (active > 0) {
		int wait = -1;
		if (g_timeout >= 0) {
			long left = g_timeout - ms_since(&g_set_at);
			wait = left > 0 ? (int)left : 0;
		}
		if (wait < 0 || wait > 1000)
			wait = 1000;
		int got = epoll_wait(g_ep, evs, nsess + 16, wait);
		if (got < 0 && errno != EINTR) {
			perror("epoll_wait");
			return -1;
		}
		for (int i = 0; i < got; i++) {
			int mask = 0;
			if (evs[i].events & EPOLLIN)
				mask |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(m, evs[i].data.fd, mask, &running);
		}
		if (got <= 0 || (g_timeout >= 0 && ms_since(&g_set_at) >= g_timeout)) {
			g_timeout = -1;
			curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		CURLMsg *msg;
		int q;
		while ((msg = curl_multi_info_read(m, &q))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *t;
			CURL *e = msg->easy_handle;
			CURLcode res = msg->data.result;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&t);
			curl_multi_remove_handle(m, e);
			if (res != CURLE_OK) {
				fprintf(stderr, "curl: %s\n", curl_easy_strerror(res));
				active--;
				continue;
			}
			t->sent++;
			if (t->left > 0) {
				t->left--;
				t->pos = 0;
				curl_multi_add_handle(m, e);
			} else {
				active--;
			}
		}
	}
	for (int i = 0; i < nsess; i++) {
		curl_easy_cleanup(x[i].e); /* already removed: closes nothing */
		x[i].e = NULL;
	}
	curl_multi_cleanup(m); /* QUIT and close the cached connections */
	close(g_ep);
	free(evs);
	long sent = 0;
	for (int i = 0; i < nsess; i++)
		sent += x[i].sent;
	return sent;
}

/* ---- first ---- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_first(char **argv)
{
	size_t len;
	char *data = read_file(argv[6], &len);
	if (!data || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 3;
	g_url = argv[2];
	g_data = data;
	g_len = len;
	g_rcpt = curl_slist_append(NULL, "<sink@example.org>");
	struct xfer x = {0};
	if (!g_rcpt || setup(&x) || curl_easy_setopt(x.e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) ||
	    curl_easy_setopt(x.e, CURLOPT_CAINFO, argv[3]) ||
	    curl_easy_setopt(x.e, CURLOPT_USERNAME, argv[4]) ||
	    curl_easy_setopt(x.e, CURLOPT_PASSWORD, argv[5]) ||
	    curl_easy_setopt(x.e, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN") ||
	    curl_easy_setopt(x.e, CURLOPT_SASL_IR, 1L)) {
		fputs("curl setup failed\n", stderr);
		return 3;
	}
	double t0 = now_ms();
	CURLcode rc = curl_easy_perform(x.e);
	double t1 = now_ms();
	if (rc == CURLE_OK)
		printf("conn=1 ms=%.1f\n", t1 - t0);
	else
		fprintf(stderr, "curl: %s\n", curl_easy_strerror(rc));
	curl_easy_cleanup(x.e);
	curl_slist_free_all(g_rcpt);
	curl_global_cleanup();
	free(data);
	return rc == CURLE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "first") == 0)
		return run_first(argv);
	if (argc != 6) {
		fputs("usage: bench_curl easy|multi URL SESSIONS MESSAGES FILE\n"
		      "       bench_curl first URL CAFILE USER PASSWORD FILE\n",
		      stderr);
		return 2;
	}
	int multi;
	if (strcmp(argv[1], "easy") == 0)
		multi = 0;
	else if (strcmp(argv[1], "multi") == 0)
		multi = 1;
	else
		return 2;
	g_url = argv[2];
	int nsess = atoi(argv[3]);
	long nmsg = atol(argv[4]);
	if (nsess <= 0 || nmsg < nsess)
		return 2;
	char *data = read_file(argv[5], &g_len);
	if (!data || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 3;
	g_data = data;
	g_rcpt = curl_slist_append(NULL, "<sink@example.org>");
	struct xfer *x = calloc((size_t)nsess, sizeof *x);
	if (!g_rcpt || !x)
		return 3;
	for (int i = 0; i < nsess; i++) {
		/* left counts the messages after the first */
		x[i].left = nmsg / nsess + (i < nmsg % nsess) - 1;
		if (setup(&x[i])) {
			fputs("curl setup failed\n", stderr);
			return 3;
		}
	}
	long sent = 0;
	if (multi) {
		sent = run_multi(x, nsess);
	} else {
		if (nsess == 1) {
			easy_job(&x[0]);
		} else {
			for (int i = 0; i < nsess; i++)
				if (pthread_create(&x[i].tid, NULL, easy_job, &x[i])) {
					fputs("pthread_create failed\n", stderr);
					return 3;
				}
			for (int i = 0; i < nsess; i++)
				pthread_join(x[i].tid, NULL);
		}
		for (int i = 0; i < nsess; i++) {
			sent += x[i].sent;
			curl_easy_cleanup(x[i].e); /* QUIT and close */
		}
	}
	free(x);
	curl_slist_free_all(g_rcpt);
	curl_global_cleanup();
	free(data);
	fprintf(stderr, "sent %ld of %ld\n", sent, nmsg);
	return sent == nmsg ? 0 : 1;
}

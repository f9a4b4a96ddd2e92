/* Connecting: name resolution off the caller's thread and Happy Eyeballs (RFC 8305)
   over IPv6 and IPv4 loopback, against listeners this program opens itself: a tiny
   SMTP server on a thread, a bound socket that does not listen (the address
   refuses), and a listener whose backlog is full (the address stalls: SYNs are
   dropped).

   Dual-stack cases need a name that resolves to ::1 and 127.0.0.1. "localhost" is
   used when it does; many hosts files map it to 127.0.0.1 only, and then this
   program answers for the name DUAL_NAME itself: it defines getaddrinfo() (the
   library is linked statically, so its lookups reach this definition), answers
   DUAL_NAME with ::1 then 127.0.0.1, SLOW_NAME the same after SLOW_MS, MANY_NAME
   with the list a case sets, and passes every other lookup to the C library. The library's own code runs unchanged:
   its lookup thread calls getaddrinfo() as it always does. */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

#define DUAL_NAME "dualstack.smtp-test"
#define SLOW_NAME "slow.smtp-test"
#define MANY_NAME "many.smtp-test"
#define SLOW_MS 300

static atomic_int slow_lookups_done;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the resolver this program answers for ---- */

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
		      struct addrinfo **);

static gai_fn real_getaddrinfo(void)
{
	static gai_fn fn;
	if (!fn) {
		void *sym = dlsym(RTLD_NEXT, "getaddrinfo");
		if (!sym) {
			fprintf(stderr, "FATAL: no getaddrinfo after this program's\n");
			_exit(2);
		}
		memcpy(&fn, &sym, sizeof fn);
	}
	return fn;
}

/* The addresses of addrs[] in order, as the C library would give them. The lists
   are joined: glibc's freeaddrinfo frees node by node. */
static int list_answer(const char *const *addrs, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h;
	memset(&h, 0, sizeof h);
	h.ai_socktype = hints ? hints->ai_socktype : SOCK_STREAM;
	h.ai_flags = AI_NUMERICHOST | (hints ? hints->ai_flags & AI_NUMERICSERV : 0);
	struct addrinfo *head = NULL, **tail = &head;
	for (size_t i = 0; addrs[i]; i++) {
		int rc = real_getaddrinfo()(addrs[i], service, &h, tail);
		if (rc) {
			if (head)
				freeaddrinfo(head);
			return rc;
		}
		while (*tail)
			tail = &(*tail)->ai_next;
	}
	*res = head;
	return head ? 0 : EAI_NONAME;
}

/* RFC 6724 puts ::1 before 127.0.0.1. */
static const char *const dual_addrs[] = {"::1", "127.0.0.1", NULL};
/* What MANY_NAME resolves to (set by a case before it connects). */
static const char *many_addrs[8];

int getaddrinfo(const char *restrict node, const char *restrict service,
		const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
	int numeric_only = hints && (hints->ai_flags & AI_NUMERICHOST);
	if (node && !numeric_only && strcmp(node, DUAL_NAME) == 0)
		return list_answer(dual_addrs, service, hints, res);
	if (node && !numeric_only && strcmp(node, MANY_NAME) == 0)
		return list_answer(many_addrs, service, hints, res);
	if (node && !numeric_only && strcmp(node, SLOW_NAME) == 0) {
		sleep_ms(SLOW_MS);
		int rc = list_answer(dual_addrs, service, hints, res);
		atomic_fetch_add(&slow_lookups_done, 1);
		return rc;
	}
	return real_getaddrinfo()(node, service, hints, res);
}

/* "localhost" when the system resolves it to ::1 first and 127.0.0.1 too, else
   DUAL_NAME (said once, loudly, so nobody thinks the system's name was used). */
static const char *dual_host(void)
{
	static const char *host;
	if (host)
		return host;
	struct addrinfo h, *res = NULL;
	memset(&h, 0, sizeof h);
	h.ai_socktype = SOCK_STREAM;
	int v6_first = 0, v4 = 0;
	if (real_getaddrinfo()("localhost", "25", &h, &res) == 0) {
		v6_first = res->ai_family == AF_INET6;
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
			v4 |= ai->ai_family == AF_INET;
		freeaddrinfo(res);
	}
	host = v6_first && v4 ? "localhost" : DUAL_NAME;
	if (strcmp(host, "localhost") != 0)
		fprintf(stderr, "NOTE: \"localhost\" does not resolve to ::1 and 127.0.0.1 here; "
				"the dual-stack cases use %s, which this program resolves to "
				"::1 then 127.0.0.1\n", DUAL_NAME);
	return host;
}

/* ---- sockets ---- */

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A TCP socket bound to addr:port (0: any free port), listening with backlog when
   backlog >= 0, else bound only (the address then refuses: RST). -1 on failure. */
static int bound_socket(const char *addr, int port, int backlog, int *bound_port)
{
	struct addrinfo h, *ai = NULL;
	memset(&h, 0, sizeof h);
	h.ai_socktype = SOCK_STREAM;
	h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	char service[8];
	snprintf(service, sizeof service, "%d", port);
	if (real_getaddrinfo()(addr, service, &h, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0 && ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
			(backlog >= 0 && listen(fd, backlog) != 0))) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0 && bound_port) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		getsockname(fd, (struct sockaddr *)&ss, &len);
		*bound_port = ss.ss_family == AF_INET6
				      ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
				      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/* n sockets bound to one port on addrs[i] (backlogs[i] as for bound_socket).
   Returns the port, or 0 with a loud message. */
static int port_set(const char *const *addrs, const int *backlogs, int *fds, size_t n)
{
	for (int tries = 0; tries < 50; tries++) {
		int port = 0;
		fds[0] = bound_socket(addrs[0], 0, backlogs[0], &port);
		if (fds[0] < 0) {
			fprintf(stderr, "FATAL: cannot bind a socket on %s (%s)%s\n", addrs[0],
				strerror(errno),
				strchr(addrs[0], ':') ? ": this test needs IPv6 loopback" : "");
			return 0;
		}
		size_t i = 1;
		while (i < n && (fds[i] = bound_socket(addrs[i], port, backlogs[i], NULL)) >= 0)
			i++;
		if (i == n)
			return port;
		close_all(fds, i);
	}
	fprintf(stderr, "FATAL: no port free on every address\n");
	return 0;
}

/* Two sockets bound to the same port on ::1 and 127.0.0.1. */
static int port_pair(int v6_backlog, int v4_backlog, int *v6, int *v4)
{
	const int backlogs[2] = {v6_backlog, v4_backlog};
	int fds[2];
	int port = port_set(dual_addrs, backlogs, fds, 2);
	*v6 = fds[0];
	*v4 = fds[1];
	return port;
}

/* Fills the accept queue of a listener made with backlog 0 and never accepted
   from: later SYNs are dropped, so a connect there stays pending. The filler
   sockets go in fill[2]. */
static void fill_backlog(const char *addr, int port, int fill[2])
{
	struct addrinfo h, *ai = NULL;
	memset(&h, 0, sizeof h);
	h.ai_socktype = SOCK_STREAM;
	h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	char service[8];
	snprintf(service, sizeof service, "%d", port);
	fill[0] = fill[1] = -1;
	if (real_getaddrinfo()(addr, service, &h, &ai) != 0)
		return;
	for (int i = 0; i < 2; i++) {
		fill[i] = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fill[i] >= 0 && connect(fill[i], ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS)
			fprintf(stderr, "fill_backlog %s: %s\n", addr, strerror(errno));
	}
	freeaddrinfo(ai);
	sleep_ms(50); /* the first one lands in the accept queue */
}

/* ---- a tiny SMTP server on a thread: one connection, no TLS ---- */

struct server {
	int lfd;
	pthread_t thread;
	int served;
};

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void *serve(void *arg)
{
	struct server *sv = arg;
	struct pollfd p = {.fd = sv->lfd, .events = POLLIN};
	if (poll(&p, 1, 10000) <= 0)
		return NULL;
	int fd = accept(sv->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	sv->served = 1;
	send_str(fd, "220 it-connect ESMTP\r\n");
	char line[512];
	size_t len = 0;
	for (;;) {
		ssize_t r = recv(fd, line + len, sizeof line - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		char *nl;
		while ((nl = memchr(line, '\n', len)) != NULL) {
			size_t l = (size_t)(nl - line) + 1;
			if (strncasecmp(line, "EHLO", 4) == 0)
				send_str(fd, "250 it-connect\r\n");
			else if (strncasecmp(line, "QUIT", 4) == 0)
				send_str(fd, "221 bye\r\n");
			else
				send_str(fd, "250 ok\r\n");
			memmove(line, line + l, len - l);
			len -= l;
		}
		if (len == sizeof line - 1)
			break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *sv, int lfd)
{
	sv->lfd = lfd;
	sv->served = 0;
	if (pthread_create(&sv->thread, NULL, serve, sv) != 0) {
		fprintf(stderr, "FATAL: pthread_create\n");
		exit(2);
	}
}

static void server_join(struct server *sv)
{
	pthread_join(sv->thread, NULL);
}

/* ---- helpers ---- */

static smtp_session *session(const char *host, int port, int connect_ms)
{
	smtp_session *s = it_session(host, port, SMTP_TLS_NONE);
	for (int st = SMTP_STAGE_CONNECT; st <= SMTP_STAGE_QUIT; st++)
		if (smtp_session_set_timeout(s, (smtp_stage)st, 5000) != 0)
			exit(2);
	if (smtp_session_set_timeout(s, SMTP_STAGE_CONNECT, connect_ms) != 0)
		exit(2);
	return s;
}

/* it_connect, also timing each call (*longest: the slowest) and checking that the
   descriptor to wait on never changes while keeping its number: event-loop
   adapters compare numbers to know when to watch a new descriptor. */
static int connect_timed(smtp_session *s, long long *longest)
{
	int rc;
	*longest = 0;
	int last_fd = -1;
	ino_t last_ino = 0;
	for (;;) {
		long long t0 = now_ms();
		rc = smtp_connect(s);
		long long took = now_ms() - t0;
		if (took > *longest)
			*longest = took;
		int fd = smtp_session_fd(s);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (fd == last_fd && st.st_ino != last_ino)
				fprintf(stderr, "fd %d now names another file\n", fd);
			CHECK(fd != last_fd || st.st_ino == last_ino);
			last_fd = fd;
			last_ino = st.st_ino;
		}
		if (rc != SMTP_EAGAIN)
			return rc;
		it_wait(s);
	}
}

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* How many CONNECT steps with error err name text. */
static int connect_steps(const smtp_report *r, int err, const char *text)
{
	int n = 0;
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		const smtp_step *st = smtp_report_step(r, i);
		if (smtp_step_stage(st) == SMTP_STAGE_CONNECT && smtp_step_error(st) == err &&
		    contains(smtp_step_text(st), text))
			n++;
	}
	return n;
}

#define CHECK_RC(rc, want) CHECK_STR(smtp_error_name(rc), smtp_error_name(want))

/* Connects to host:port where the server listens, checks the peer and the report,
   quits. */
static void connect_and_check(const char *host, int port, const char *want_peer,
			      struct server *sv)
{
	smtp_session *s = session(host, port, 5000);
	long long longest;
	CHECK_RC(connect_timed(s, &longest), 0);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_report_peer(r), want_peer);
	char text[96];
	snprintf(text, sizeof text, "connected to %s", want_peer);
	CHECK_STR(smtp_step_text(it_step(r, SMTP_STAGE_CONNECT,
					 (size_t)connect_steps(r, SMTP_ECONNECT, ""))),
		  text);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(sv);
	CHECK_INT(sv->served, 1);
}

/* ---- (a) one family listens, the other refuses ---- */

static void test_v4_only(void)
{
	int v6, v4;
	int port = port_pair(-1, 16, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	struct server sv;
	server_start(&sv, v4);
	char peer[64];
	snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
	connect_and_check(dual_host(), port, peer, &sv);
	close(v6);
	close(v4);
}

static void test_v6_only(void)
{
	int v6, v4;
	int port = port_pair(16, -1, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	struct server sv;
	server_start(&sv, v6);
	char peer[64];
	snprintf(peer, sizeof peer, "[::1]:%d", port);
	connect_and_check(dual_host(), port, peer, &sv);
	close(v6);
	close(v4);
}

/* The refused ::1 is a CONNECT step of its own with the OS reason; IPv4 starts at
   once, not after the 250 ms attempt delay. */
static void test_refused_first_starts_next_at_once(void)
{
	int v6, v4;
	int port = port_pair(-1, 16, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	struct server sv;
	server_start(&sv, v4);
	smtp_session *s = session(dual_host(), port, 5000);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), 0);
	long long took = now_ms() - t0;
	if (took >= 200)
		fprintf(stderr, "refused_first: connecting took %lld ms\n", took);
	CHECK(took < 200);
	char text[96];
	snprintf(text, sizeof text, "[::1]:%d: %s", port, strerror(ECONNREFUSED));
	CHECK_INT(connect_steps(smtp_session_report(s), SMTP_ECONNECT, text), 1);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(&sv);
	close(v6);
	close(v4);
}

/* An IPv6 literal resolves inline and connects. */
static void test_v6_literal(void)
{
	int port = 0;
	int v6 = bound_socket("::1", 0, 16, &port);
	CHECK(v6 >= 0);
	if (v6 < 0)
		return;
	struct server sv;
	server_start(&sv, v6);
	char peer[64];
	snprintf(peer, sizeof peer, "[::1]:%d", port);
	connect_and_check("::1", port, peer, &sv);
	close(v6);
}

/* ---- (b) the first address stalls: IPv4 wins after the attempt delay ---- */

static void test_stalled_first(void)
{
	int v6, v4;
	int port = port_pair(0, 16, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	int fill[2];
	fill_backlog("::1", port, fill);
	struct server sv;
	server_start(&sv, v4);
	smtp_session *s = session(dual_host(), port, 10000);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), 0);
	long long took = now_ms() - t0;
	char peer[64];
	snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
	CHECK_STR(smtp_report_peer(smtp_session_report(s)), peer);
	/* ~250 ms: the attempt delay, far below the 10 s connect timeout */
	if (took < 200 || took > 2000)
		fprintf(stderr, "stalled_first: connecting took %lld ms\n", took);
	CHECK(took >= 200);
	CHECK(took <= 2000);
	/* the losing ::1 attempt was closed, not reported as a failure */
	CHECK_INT(connect_steps(smtp_session_report(s), SMTP_ECONNECT, ""), 0);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(&sv);
	close_all(fill, 2);
	close(v6);
	close(v4);
}

/* Both addresses stall: the one CONNECT deadline ends it with SMTP_ETIMEDOUT and a
   step for each address still pending. */
static void test_all_stalled(void)
{
	int v6, v4;
	int port = port_pair(0, 0, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	int fill6[2], fill4[2];
	fill_backlog("::1", port, fill6);
	fill_backlog("127.0.0.1", port, fill4);
	smtp_session *s = session(dual_host(), port, 700);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	if (took < 650 || took > 2500)
		fprintf(stderr, "all_stalled: the timeout took %lld ms\n", took);
	CHECK(took >= 650);
	CHECK(took <= 2500);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_error_name(smtp_report_error(r)), "SMTP_ETIMEDOUT");
	CHECK_STR(smtp_stage_name(smtp_report_failed_stage(r)), smtp_stage_name(SMTP_STAGE_CONNECT));
	char v6peer[64], v4peer[64];
	snprintf(v6peer, sizeof v6peer, "[::1]:%d", port);
	snprintf(v4peer, sizeof v4peer, "127.0.0.1:%d", port);
	CHECK_INT(connect_steps(r, SMTP_ETIMEDOUT, v6peer), 1);
	CHECK_INT(connect_steps(r, SMTP_ETIMEDOUT, v4peer), 1);
	CHECK(smtp_session_fd(s) < 0);
	smtp_session_free(s);
	close_all(fill6, 2);
	close_all(fill4, 2);
	close(v6);
	close(v4);
}

/* ---- more addresses: interleaved families, a bounded number of sockets ---- */

/* Three IPv4 addresses that stall, then ::1 that answers: the families alternate
   (RFC 8305 4), so ::1 is the second attempt and wins at ~250 ms, not ~750 ms. */
static void test_families_interleaved(void)
{
	const char *const addrs[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1", NULL};
	const int backlogs[] = {0, 0, 0, 16};
	int fds[4];
	int port = port_set(addrs, backlogs, fds, 4);
	CHECK(port != 0);
	if (!port)
		return;
	memcpy(many_addrs, addrs, sizeof addrs);
	int fill[3][2];
	for (int i = 0; i < 3; i++)
		fill_backlog(addrs[i], port, fill[i]);
	struct server sv;
	server_start(&sv, fds[3]);
	smtp_session *s = session(MANY_NAME, port, 10000);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), 0);
	long long took = now_ms() - t0;
	char peer[64];
	snprintf(peer, sizeof peer, "[::1]:%d", port);
	CHECK_STR(smtp_report_peer(smtp_session_report(s)), peer);
	if (took < 200 || took >= 600)
		fprintf(stderr, "families_interleaved: connecting took %lld ms\n", took);
	CHECK(took >= 200);
	CHECK(took < 600);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(&sv);
	for (int i = 0; i < 3; i++)
		close_all(fill[i], 2);
	close_all(fds, 4);
}

/* Four stalled addresses fill every attempt slot: when the fifth is due the oldest
   gives way (a step of its own), and the fifth answers at ~1000 ms. */
static void test_oldest_gives_way(void)
{
	const char *const addrs[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4",
				     "127.0.0.5", NULL};
	const int backlogs[] = {0, 0, 0, 0, 16};
	int fds[5];
	int port = port_set(addrs, backlogs, fds, 5);
	CHECK(port != 0);
	if (!port)
		return;
	memcpy(many_addrs, addrs, sizeof addrs);
	int fill[4][2];
	for (int i = 0; i < 4; i++)
		fill_backlog(addrs[i], port, fill[i]);
	struct server sv;
	server_start(&sv, fds[4]);
	smtp_session *s = session(MANY_NAME, port, 10000);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), 0);
	long long took = now_ms() - t0;
	char peer[64];
	snprintf(peer, sizeof peer, "127.0.0.5:%d", port);
	CHECK_STR(smtp_report_peer(smtp_session_report(s)), peer);
	if (took < 900 || took > 2500)
		fprintf(stderr, "oldest_gives_way: connecting took %lld ms\n", took);
	CHECK(took >= 900);
	CHECK(took <= 2500);
	char text[96];
	snprintf(text, sizeof text, "127.0.0.1:%d: no answer within", port);
	CHECK_INT(connect_steps(smtp_session_report(s), SMTP_ETIMEDOUT, text), 1);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(&sv);
	for (int i = 0; i < 4; i++)
		close_all(fill[i], 2);
	close_all(fds, 5);
}

/* ---- (c) a name that does not resolve ---- */

static void test_unresolvable(void)
{
	smtp_session *s = session("nonexistent.invalid", 25, 5000);
	long long longest;
	CHECK_RC(connect_timed(s, &longest), SMTP_ERESOLVE);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_error_name(smtp_report_error(r)), "SMTP_ERESOLVE");
	CHECK_STR(smtp_stage_name(smtp_report_failed_stage(r)), smtp_stage_name(SMTP_STAGE_CONNECT));
	const char *detail = smtp_report_error_detail(r);
	if (!contains(detail, "nonexistent.invalid: "))
		fprintf(stderr, "unresolvable: detail \"%s\"\n", detail ? detail : "(null)");
	CHECK(contains(detail, "nonexistent.invalid: "));
	CHECK(smtp_report_peer(r) == NULL);
	smtp_session_free(s);
}

/* ---- (d) a slow lookup never blocks a nonblocking caller ---- */

static void test_slow_lookup(void)
{
	int v6, v4;
	int port = port_pair(-1, 16, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	struct server sv;
	server_start(&sv, v4);
	smtp_session *s = session(SLOW_NAME, port, 5000);
	long long t0 = now_ms(), longest = 0;
	if (it_nonblocking()) {
		/* while the lookup runs the caller waits on a descriptor of the session */
		CHECK_RC(smtp_connect(s), SMTP_EAGAIN);
		long long first = now_ms() - t0;
		if (first >= 50)
			fprintf(stderr, "slow_lookup: the first call took %lld ms\n", first);
		CHECK(first < 50);
		CHECK(smtp_session_fd(s) >= 0);
		CHECK_INT(smtp_session_events(s), SMTP_WANT_READ);
		int left = smtp_session_timeout_ms(s);
		CHECK(left > 4000 && left <= 5000);
	}
	CHECK_RC(connect_timed(s, &longest), 0);
	long long took = now_ms() - t0;
	if (it_nonblocking()) {
		if (longest >= 50)
			fprintf(stderr, "slow_lookup: a nonblocking call took %lld ms\n", longest);
		CHECK(longest < 50);
	}
	CHECK(took >= SLOW_MS - 10);
	char peer[64];
	snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
	CHECK_STR(smtp_report_peer(smtp_session_report(s)), peer);
	CHECK_INT(it_quit(s), 0);
	smtp_session_free(s);
	server_join(&sv);
	close(v6);
	close(v4);
}

/* A session freed while its lookup runs: the lookup thread frees what it found
   (valgrind and ASan runs check that nothing leaks and nothing is used after free). */
static void test_free_while_resolving(void)
{
	int before = atomic_load(&slow_lookups_done);
	smtp_session *s = session(SLOW_NAME, 25, 5000);
	CHECK_INT(smtp_session_set_nonblocking(s, 1), 0);
	long long t0 = now_ms();
	CHECK_RC(smtp_connect(s), SMTP_EAGAIN);
	CHECK(now_ms() - t0 < 50);
	smtp_session_free(s);
	while (atomic_load(&slow_lookups_done) == before && now_ms() - t0 < 5000)
		sleep_ms(10);
	CHECK(atomic_load(&slow_lookups_done) > before);
	sleep_ms(100); /* the thread frees the answer after getaddrinfo returned */
}

/* A lookup slower than the CONNECT deadline: SMTP_ETIMEDOUT, a step saying the
   resolver did not answer, and the thread still cleans up after itself. */
static void test_lookup_timeout(void)
{
	int before = atomic_load(&slow_lookups_done);
	smtp_session *s = session(SLOW_NAME, 25, 100);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), SMTP_ETIMEDOUT);
	long long took = now_ms() - t0;
	if (took < 90 || took >= SLOW_MS)
		fprintf(stderr, "lookup_timeout: the timeout took %lld ms\n", took);
	CHECK(took >= 90);
	CHECK(took < SLOW_MS);
	CHECK_INT(connect_steps(smtp_session_report(s), SMTP_ETIMEDOUT,
				SLOW_NAME ": no answer from the resolver"), 1);
	smtp_session_free(s);
	while (atomic_load(&slow_lookups_done) == before && now_ms() - t0 < 5000)
		sleep_ms(10);
	sleep_ms(100);
}

/* ---- (e) every address refuses ---- */

static void test_all_refused(void)
{
	int v6, v4;
	int port = port_pair(-1, -1, &v6, &v4);
	CHECK(port != 0);
	if (!port)
		return;
	smtp_session *s = session(dual_host(), port, 5000);
	long long t0 = now_ms(), longest;
	CHECK_RC(connect_timed(s, &longest), SMTP_ECONNECT);
	CHECK(now_ms() - t0 < 200);
	const smtp_report *r = smtp_session_report(s);
	CHECK_STR(smtp_error_name(smtp_report_error(r)), "SMTP_ECONNECT");
	char text[96];
	snprintf(text, sizeof text, "[::1]:%d: %s", port, strerror(ECONNREFUSED));
	CHECK_INT(connect_steps(r, SMTP_ECONNECT, text), 1);
	snprintf(text, sizeof text, "127.0.0.1:%d: %s", port, strerror(ECONNREFUSED));
	CHECK(connect_steps(r, SMTP_ECONNECT, text) >= 1);
	/* the last reason is the session's error detail */
	CHECK_STR(smtp_report_error_detail(r), text);
	CHECK(smtp_report_peer(r) == NULL);
	smtp_session_free(s);
	close(v6);
	close(v4);
}

/* An IPv4 literal that refuses: resolved inline, same error and reason. */
static void test_literal_refused(void)
{
	int port = 0;
	int v4 = bound_socket("127.0.0.1", 0, -1, &port);
	CHECK(v4 >= 0);
	if (v4 < 0)
		return;
	smtp_session *s = session("127.0.0.1", port, 5000);
	long long longest;
	CHECK_RC(connect_timed(s, &longest), SMTP_ECONNECT);
	char text[96];
	snprintf(text, sizeof text, "127.0.0.1:%d: %s", port, strerror(ECONNREFUSED));
	CHECK_STR(smtp_report_error_detail(smtp_session_report(s)), text);
	smtp_session_free(s);
	close(v4);
}

static void on_watchdog(int sig)
{
	static const char msg[] = "FATAL: it_connect watchdog expired (a call hung)\n";
	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* nothing more to do */
	}
	_exit(1);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "it_connect (%s)", it_mode());
	/* helpers of it_common.h this test has no use for */
	(void)it_port;
	(void)it_connect;
	(void)it_find_record;
	(void)it_send;
	(void)it_message;
	it_ca();
	signal(SIGALRM, on_watchdog);
	alarm(120);

	RUN(test_v4_only);
	RUN(test_v6_only);
	RUN(test_refused_first_starts_next_at_once);
	RUN(test_v6_literal);
	RUN(test_stalled_first);
	RUN(test_all_stalled);
	RUN(test_families_interleaved);
	RUN(test_oldest_gives_way);
	RUN(test_unresolvable);
	RUN(test_slow_lookup);
	RUN(test_free_while_resolving);
	RUN(test_lookup_timeout);
	RUN(test_all_refused);
	RUN(test_literal_refused);

	alarm(0);
	return CHECK_DONE(name);
}

/* The pool in the caller's event loop, through its one descriptor and one timeout:
   a plain poll() loop while two other threads submit (and block on the bounded
   queue), with a rate hook that makes every third decision wait; then the libevent
   and libuv adapters of <smtp/libevent.h> and <smtp/libuv.h>. Against smtp-sink. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include <event2/event.h>
#include <uv.h>

#include "dl_common.h"
#include <smtp/libevent.h>
#include <smtp/libuv.h>

#define N 400

static struct dl_tally t;
static atomic_int hook_calls, hook_go, submit_errors;

static int finished(void)
{
	return t.sent + t.deferred + t.other;
}

/* go, go, wait 5 ms, go, go, wait 5 ms ...: every message still needs one "go" */
static int64_t hook(void *ud, smtp_pool *p, const smtp_message *m, size_t nrcpts)
{
	(void)ud;
	(void)p;
	(void)m;
	if (nrcpts != 2)
		return 1000000; /* the count is wrong: stall, and the test fails */
	if (atomic_fetch_add(&hook_calls, 1) % 3 == 2)
		return 5;
	atomic_fetch_add(&hook_go, 1);
	return 0;
}

static smtp_pool *new_pool(void)
{
	memset(&t, 0, sizeof t);
	return dl_pool("DL_SINK_PLAIN_PORT", "?tls=none", 3, &t);
}

struct feeder {
	smtp_pool *p;
	int first, n;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	static const char *const rcpts[] = {"loop@example.net", "loop2@example.net", NULL};
	for (int i = 0; i < f->n; i++) {
		struct dl_msg *d = dl_msg_new(f->first + i, rcpts);
		if (smtp_pool_submit(f->p, d->m, d) != 0) {
			dl_msg_free(d);
			atomic_fetch_add(&submit_errors, 1);
		}
	}
	return NULL;
}

static void submit_all(smtp_pool *p, int first)
{
	struct feeder f = {p, first, N};
	feed(&f);
}

static void check_sink(int first)
{
	static int counts[4 * N];
	memset(counts, 0, sizeof counts);
	dl_count_seqs(dl_env("DL_SINK_PLAIN_DIR"), NULL, counts, 4 * N);
	CHECK_INT(dl_exactly_once(counts + first, N, "dl_loop"), N);
}

static void test_poll_loop(void)
{
	smtp_pool *p = new_pool();
	CHECK_INT(smtp_pool_set_queue_limit(p, 50, 1), 0);
	CHECK_INT(smtp_pool_set_rate_hook(p, hook, NULL), 0);
	CHECK_INT(smtp_pool_events(p), SMTP_WANT_READ);
	int fd = smtp_pool_fd(p);
	CHECK(fd >= 0);
	struct feeder f[2] = {{p, 0, N / 2}, {p, N / 2, N / 2}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, feed, &f[i]);
	int quit_sent = 0, rc, rounds = 0;
	while ((rc = smtp_pool_process(p)) == SMTP_EAGAIN) {
		CHECK_INT(smtp_pool_fd(p), fd); /* one descriptor for the pool's life */
		if (!quit_sent && finished() + atomic_load(&submit_errors) == N) {
			for (int i = 0; i < 2; i++)
				pthread_join(th[i], NULL);
			CHECK_INT(smtp_pool_quit(p), 0);
			quit_sent = 1;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		poll(&pfd, 1, smtp_pool_timeout_ms(p));
		if (++rounds > 1000000)
			break;
	}
	CHECK_INT(rc, 0);
	CHECK(quit_sent);
	CHECK_INT(t.sent, N);
	CHECK_INT(atomic_load(&submit_errors), 0);
	CHECK_INT(atomic_load(&hook_go), N);
	CHECK(atomic_load(&hook_calls) > N);
	CHECK_INT(smtp_pool_submit(p, NULL, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS), 0);
	smtp_pool_free(p);
	check_sink(0);
}

static void on_closed_event(void *ud, smtp_pool *p, int rc)
{
	(void)p;
	CHECK_INT(rc, 0);
	event_base_loopbreak(ud);
}

/* quits the pool once every message is done, from a timer in the same loop */
static void check_done_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtp_pool *p = arg;
	if (finished() == N && smtp_pool_stat(p, SMTP_POOL_OUTSTANDING) == 0)
		smtp_pool_quit(p);
}

static void test_libevent(void)
{
	smtp_pool *p = new_pool();
	struct event_base *base = event_base_new();
	struct smtp_libevent_pool *a = smtp_libevent_pool_new(base, p, on_closed_event, base);
	CHECK(a != NULL);
	submit_all(p, N);
	struct event *tick = event_new(base, -1, EV_PERSIST, check_done_event, p);
	struct timeval tv = {0, 20000};
	event_add(tick, &tv);
	event_base_dispatch(base);
	event_free(tick);
	smtp_libevent_pool_free(a);
	event_base_free(base);
	CHECK_INT(t.sent, N);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS), 0);
	smtp_pool_free(p);
	check_sink(N);
}

static void on_closed_uv(void *ud, smtp_pool *p, int rc)
{
	(void)ud;
	(void)p;
	CHECK_INT(rc, 0);
}

static void check_done_uv(uv_timer_t *tick)
{
	smtp_pool *p = tick->data;
	if (finished() == N && smtp_pool_stat(p, SMTP_POOL_OUTSTANDING) == 0) {
		smtp_pool_quit(p);
		uv_timer_stop(tick);
	}
}

static void test_libuv(void)
{
	smtp_pool *p = new_pool();
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct smtp_libuv_pool *a = smtp_libuv_pool_new(&loop, p, on_closed_uv, NULL);
	CHECK(a != NULL);
	submit_all(p, 2 * N);
	uv_timer_t tick;
	uv_timer_init(&loop, &tick);
	tick.data = p;
	uv_timer_start(&tick, check_done_uv, 20, 20);
	/* runs until the pool has closed and the tick stopped: nothing else is active */
	while (uv_run(&loop, UV_RUN_ONCE) && smtp_pool_stat(p, SMTP_POOL_CONNECTIONS) +
						     (uint64_t)uv_is_active((uv_handle_t *)&tick) > 0)
		;
	smtp_libuv_pool_free(a);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
	CHECK_INT(t.sent, N);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS), 0);
	smtp_pool_free(p);
	check_sink(2 * N);
}

int main(void)
{
	RUN(test_poll_loop);
	RUN(test_libevent);
	RUN(test_libuv);
	return CHECK_DONE("dl_loop");
}

/* Unit tests for the pool's public checks that need no server (lib/deliver/pool.c):
   every setter's range, what smtp_pool_submit refuses (no URL, a message it cannot
   send, more recipients than the recipient rate allows, a full queue that must not
   block, a closing pool), and a queued message completing through its callback when
   the pool is freed. No connection is ever made: the loop never runs. */
#include <stdlib.h>

#include "check.h"
#include "smtp.h"

struct done {
	int calls;
	smtp_outcome outcome;
	int error;
};

static void on_done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)p;
	(void)msg_ud;
	struct done *d = ud;
	const smtp_report *r = smtp_message_report(m);
	d->calls++;
	d->outcome = smtp_report_outcome(r);
	d->error = smtp_report_error(r);
}

static smtp_message *message(int nrcpts)
{
	static const char data[] = "Subject: pool\r\n\r\nx\r\n";
	smtp_message *m = smtp_message_new();
	if (!m || smtp_message_set_from(m, "a@example.test") != 0 ||
	    smtp_message_set_data(m, data, sizeof data - 1) != 0)
		exit(2);
	for (int i = 0; i < nrcpts; i++)
		if (smtp_message_add_rcpt(m, "b@example.test") != 0)
			exit(2);
	return m;
}

static void test_setter_ranges(void)
{
	CHECK_INT(smtp_pool_set_url(NULL, "smtp://127.0.0.1"), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_max_connections(NULL, 1), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_session_setup(NULL, NULL, NULL), SMTP_EINVAL);
	smtp_pool *p = smtp_pool_new();
	CHECK(p != NULL);
	CHECK_INT(smtp_pool_set_url(p, "smtp://127.0.0.1\r\nMAIL FROM:<x@y>"), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_url(p, "smpt://127.0.0.1"), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_url(p, "smtp://127.0.0.1:1?tls=none"), 0);
	CHECK_INT(smtp_pool_set_max_connections(p, 0), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_max_connections(p, 1001), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_max_connections(p, 1000), 0);
	CHECK_INT(smtp_pool_set_max_messages(p, 1000001), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_max_messages(p, 0), 0);
	CHECK_INT(smtp_pool_set_pipeline_depth(p, 0), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_pipeline_depth(p, 1001), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_idle_timeout(p, -1), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_idle_timeout(p, 24LL * 3600 * 1000 + 1), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_idle_timeout(p, 0), 0);
	CHECK_INT(smtp_pool_set_queue_limit(p, 0, 1), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_rate(p, SMTP_RATE_MESSAGES, 1000001, 1000), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_rate(p, SMTP_RATE_MESSAGES, 10, 0), SMTP_EINVAL);
	CHECK_INT(smtp_pool_set_rate(p, SMTP_RATE_MESSAGES, 10, 1000), 0);
	CHECK_INT(smtp_pool_set_rate(p, SMTP_RATE_MESSAGES, 0, 1000), 0);
	CHECK_INT(smtp_pool_stat(NULL, SMTP_POOL_QUEUED), 0);
	smtp_pool_free(p);
}

static void test_submit_refusals(void)
{
	struct done d = {0};
	smtp_pool *p = smtp_pool_new();
	CHECK_INT(smtp_pool_set_message_callback(p, on_done, &d), 0);
	smtp_message *m = message(1), *m2 = message(1), *many = message(3);
	CHECK_INT(smtp_pool_submit(NULL, m, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_pool_submit(p, NULL, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_pool_submit(p, m, NULL), SMTP_ESTATE); /* no URL yet */
	CHECK_INT(smtp_pool_set_url(p, "smtp://127.0.0.1:1?tls=none"), 0);
	smtp_message *empty = smtp_message_new();
	CHECK_INT(smtp_pool_submit(p, empty, NULL), SMTP_EINVAL); /* no sender, no content */
	/* more recipients than any window of the recipient rate can take */
	CHECK_INT(smtp_pool_set_rate(p, SMTP_RATE_RECIPIENTS, 2, 1000), 0);
	CHECK_INT(smtp_pool_submit(p, many, NULL), SMTP_EINVAL);
	/* a full queue that must not block */
	CHECK_INT(smtp_pool_set_queue_limit(p, 1, 0), 0);
	CHECK_INT(smtp_pool_submit(p, m, NULL), 0);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_QUEUED), 1);
	CHECK_INT(smtp_pool_submit(p, m2, NULL), SMTP_EBUSY);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_QUEUED), 1);
	CHECK_INT(smtp_pool_stat(p, SMTP_POOL_CONNECTIONS_OPENED), 0);
	/* a closing pool takes nothing more */
	CHECK_INT(smtp_pool_quit(p), 0);
	CHECK_INT(smtp_pool_set_queue_limit(p, 10, 0), 0);
	CHECK_INT(smtp_pool_submit(p, m2, NULL), SMTP_ESTATE);
	CHECK_INT(d.calls, 0);
	/* freeing completes the queued message through its callback, deferred */
	smtp_pool_free(p);
	CHECK_INT(d.calls, 1);
	CHECK_INT(d.outcome, SMTP_DEFERRED);
	CHECK_INT(d.error, SMTP_ESTATE);
	smtp_message_free(m);
	smtp_message_free(m2);
	smtp_message_free(many);
	smtp_message_free(empty);
}

int main(void)
{
	RUN(test_setter_ranges);
	RUN(test_submit_refusals);
	return CHECK_DONE("test_pool");
}

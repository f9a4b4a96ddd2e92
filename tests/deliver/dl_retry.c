/* The retry schedule against aiosmtpd (tests/servers/aiosmtpd_server.py):
   - a plan from a real report: an accepted, a deferred (451 4.7.1) and a bounced
     (550 5.1.1) recipient give "retry the deferred one only", or, past the give-up
     age, "given up" with the server's reply in the reason; the follow-up message
     holds only that recipient and the same content;
   - greylisting (--greylist 1 --greylist-only grey): 451 4.7.1 to the first attempt
     of each (client, sender, recipient) triplet; with the schedule shortened to
     1.5 s every recipient is accepted exactly once (the server's records), each
     greylisted recipient was refused exactly once (the server's log), and no
     accepted or bounced recipient is ever in a follow-up. */
#include <pthread.h>

#include "dl_common.h"

static const char *const from = "sender@example.org";

static smtp_session *session(void)
{
	char url[128];
	dl_url(url, sizeof url, "DL_AIO_GREY_PORT", "?tls=none");
	smtp_session *s = smtp_session_new();
	CHECK_INT(smtp_session_set_url(s, url), 0);
	return s;
}

static int has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static void test_plan(void)
{
	static const char *const rcpts[] = {"ok@example.net", "later@example.net",
					    "unknown@example.net", NULL};
	struct dl_msg *d = dl_msg_new(900, rcpts);
	smtp_session *s = session();
	CHECK_INT(smtp_send(s, d->m), SMTP_EREJECTED);
	const smtp_report *r = smtp_message_report(d->m);
	CHECK_INT(smtp_report_outcome(r), SMTP_SENT_PARTIAL);

	smtp_retry *sched = smtp_retry_new();
	const int64_t delays[] = {1000, 5000};
	CHECK_INT(smtp_retry_set_delays(sched, delays, 2), 0);
	CHECK_INT(smtp_retry_set_jitter(sched, 0), 0);
	CHECK_INT(smtp_retry_set_give_up(sched, 3600000), 0);

	smtp_retry_plan *plan = smtp_retry_plan_new(sched, r, 1, 50000, 60000);
	CHECK(plan != NULL);
	CHECK_INT(smtp_retry_plan_count(plan), 1);
	CHECK_STR(smtp_retry_plan_rcpt(plan, 0), "later@example.net");
	CHECK(smtp_retry_plan_rcpt(plan, 1) == NULL);
	CHECK_INT(smtp_retry_plan_due_ms(plan), 61000);
	CHECK_INT(smtp_retry_plan_attempt(plan), 2);
	CHECK_INT(smtp_retry_plan_given_up_count(plan), 0);
	CHECK_INT(smtp_retry_plan_maybe_delivered(plan), 0);

	/* the follow-up: only the deferred recipient, the same bytes */
	smtp_message *next = NULL;
	CHECK_INT(smtp_retry_plan_message(plan, from, d->data, strlen(d->data), &next), 0);
	CHECK(next != NULL);
	CHECK_INT(smtp_send(s, next), SMTP_EREJECTED); /* later@ is always 451 */
	const smtp_report *r2 = smtp_message_report(next);
	CHECK_INT(smtp_report_rcpt_count(r2), 1);
	CHECK_STR(smtp_rcpt_address(smtp_report_rcpt(r2, 0)), "later@example.net");
	CHECK_INT(smtp_rcpt_verdict(smtp_report_rcpt(r2, 0)), SMTP_VERDICT_DEFERRED);

	/* the third attempt uses the second delay, which repeats */
	smtp_retry_plan *p3 = smtp_retry_plan_new(sched, r2, 5, 50000, 70000);
	CHECK_INT(smtp_retry_plan_due_ms(p3), 75000);
	CHECK_INT(smtp_retry_plan_attempt(p3), 6);
	smtp_retry_plan_free(p3);

	/* first attempt 2 h ago with a give-up age of 1 h: bounced, with the reason */
	smtp_retry_plan *old = smtp_retry_plan_new(sched, r, 3, 0, 7200000);
	CHECK_INT(smtp_retry_plan_count(old), 0);
	CHECK_INT(smtp_retry_plan_due_ms(old), -1);
	CHECK_INT(smtp_retry_plan_given_up_count(old), 1);
	CHECK_STR(smtp_retry_plan_given_up(old, 0), "later@example.net");
	const char *why = smtp_retry_plan_given_up_reason(old, 0);
	CHECK(has(why, "gave up"));
	CHECK(has(why, "2h after the first attempt"));
	CHECK(has(why, "give-up age 1h"));
	CHECK(has(why, "451 4.7.1 Try again later"));
	smtp_message *none = next;
	CHECK_INT(smtp_retry_plan_message(old, from, d->data, strlen(d->data), &none),
		  SMTP_EINVAL);
	CHECK(none == NULL);
	CHECK_INT(smtp_retry_plan_message(plan, "bad\r\nsender", "x", 1, &none), SMTP_EINVAL);

	smtp_retry_plan_free(old);
	smtp_retry_plan_free(plan);
	smtp_retry_free(sched);
	smtp_quit(s);
	smtp_session_free(s);
	smtp_message_free(next);
	dl_msg_free(d);
}

/* ---- greylisting through the pool ---- */

#define N 30

struct chain {
	struct dl_msg *first;      /* owns the content every attempt references */
	smtp_message *current;
	unsigned attempt;
	int64_t first_ms;
	int64_t due;               /* the follow-up waits until then; 0: none waiting */
	int finished;
	int accepted_plain, accepted_grey, bounced_unknown, grey_attempt;
	int bad_followup;          /* a follow-up named a recipient not deferred */
};

static struct chain chains[N];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static smtp_retry *sched;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)ud;
	(void)p;
	struct chain *c = msg_ud;
	const smtp_report *r = smtp_message_report(m);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < smtp_report_rcpt_count(r); i++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(r, i);
		const char *a = smtp_rcpt_address(rr);
		smtp_verdict v = smtp_rcpt_verdict(rr);
		if (strncmp(a, "plain", 5) == 0)
			c->accepted_plain += v == SMTP_VERDICT_ACCEPTED;
		if (strncmp(a, "grey", 4) == 0 && v == SMTP_VERDICT_ACCEPTED) {
			c->accepted_grey++;
			c->grey_attempt = (int)c->attempt;
		}
		if (strncmp(a, "unknown", 7) == 0)
			c->bounced_unknown += v == SMTP_VERDICT_BOUNCED;
	}
	smtp_retry_plan *plan = smtp_retry_plan_new(sched, r, c->attempt, c->first_ms, now_ms());
	smtp_message *next = NULL;
	if (plan && smtp_retry_plan_count(plan) > 0) {
		for (size_t i = 0; i < smtp_retry_plan_count(plan); i++)
			if (strncmp(smtp_retry_plan_rcpt(plan, i), "grey", 4) != 0)
				c->bad_followup = 1;
		CHECK_INT(smtp_retry_plan_message(plan, from, c->first->data,
						  strlen(c->first->data), &next), 0);
		c->attempt = smtp_retry_plan_attempt(plan);
		c->due = smtp_retry_plan_due_ms(plan);
	} else {
		c->finished = 1;
	}
	smtp_retry_plan_free(plan);
	if (m != c->first->m)
		smtp_message_free(m);
	c->current = next;
	pthread_mutex_unlock(&mu);
}

struct needle {
	const char *text;
	int n;
};

static void add_needles(void *ud, const char *content)
{
	struct needle *k = ud;
	k->n += dl_count(content, k->text);
}

/* How often needle stands in the server's envelope records (.json). */
static int count_in_records(const char *dir, const char *needle)
{
	struct needle k = {needle, 0};
	dl_for_records(dir, ".json", add_needles, &k);
	return k.n;
}

static void test_greylist(void)
{
	/* recipients new to the server in every run: its greylist remembers triplets */
	int run = (int)getpid();
	const char *dir = dl_env("DL_AIO_GREY_DIR");
	/* the records of earlier runs against the same server do not count */
	static int before[N][2];
	for (int i = 0; i < N; i++) {
		char needle[80];
		snprintf(needle, sizeof needle, "\"plain-%d-%d@example.net\"", run, i);
		before[i][0] = count_in_records(dir, needle);
		snprintf(needle, sizeof needle, "\"grey-%d-%d@example.net\"", run, i);
		before[i][1] = count_in_records(dir, needle);
	}
	int unknown_before = count_in_records(dir, "\"unknown@example.net\"");
	const char *logf = dl_env("DL_AIO_GREY_LOG");
	long offset = dl_file_size(logf);
	sched = smtp_retry_new();
	const int64_t delays[] = {1500};
	CHECK_INT(smtp_retry_set_delays(sched, delays, 1), 0);
	CHECK_INT(smtp_retry_set_jitter(sched, 0), 0);
	CHECK_INT(smtp_retry_set_give_up(sched, 120000), 0);
	smtp_pool *p = dl_pool("DL_AIO_GREY_PORT", "?tls=none", 3, NULL);
	CHECK_INT(smtp_pool_set_message_callback(p, on_done, NULL), 0);
	CHECK_INT(smtp_pool_start(p), 0);
	for (int i = 0; i < N; i++) {
		char a[3][64];
		snprintf(a[0], sizeof a[0], "plain-%d-%d@example.net", run, i);
		snprintf(a[1], sizeof a[1], "grey-%d-%d@example.net", run, i);
		snprintf(a[2], sizeof a[2], "unknown@example.net");
		const char *const rcpts[] = {a[0], a[1], a[2], NULL};
		chains[i].first = dl_msg_new(1000 + i, rcpts);
		chains[i].current = chains[i].first->m;
		chains[i].attempt = 1;
		chains[i].first_ms = now_ms();
		CHECK_INT(smtp_pool_submit(p, chains[i].current, &chains[i]), 0);
	}
	/* the caller's side of the schedule: submit follow-ups when they are due */
	int64_t give_up = now_ms() + 60000;
	for (;;) {
		int open = 0;
		pthread_mutex_lock(&mu);
		for (int i = 0; i < N; i++) {
			struct chain *c = &chains[i];
			if (!c->finished)
				open++;
			if (c->due && c->due <= now_ms()) {
				c->due = 0;
				CHECK_INT(smtp_pool_submit(p, c->current, c), 0);
			}
		}
		pthread_mutex_unlock(&mu);
		if (!open || now_ms() > give_up)
			break;
		dl_sleep_ms(50);
	}
	CHECK_INT(smtp_pool_close(p), 0);
	smtp_pool_free(p);
	for (int i = 0; i < N; i++) {
		struct chain *c = &chains[i];
		CHECK(c->finished);
		CHECK_INT(c->accepted_plain, 1);
		CHECK_INT(c->accepted_grey, 1);
		CHECK_INT(c->grey_attempt, 2);
		CHECK_INT(c->bounced_unknown, 1);
		CHECK_INT(c->bad_followup, 0);
		dl_msg_free(c->first);
	}
	/* the server's own account */
	char *log = dl_log_after(logf, offset, "greylisted", N, 10);
	for (int i = 0; i < N; i++) {
		char needle[80];
		snprintf(needle, sizeof needle, "\"plain-%d-%d@example.net\"", run, i);
		CHECK_INT(count_in_records(dir, needle) - before[i][0], 1);
		snprintf(needle, sizeof needle, "\"grey-%d-%d@example.net\"", run, i);
		CHECK_INT(count_in_records(dir, needle) - before[i][1], 1);
		snprintf(needle, sizeof needle, "greylisted grey-%d-%d@example.net ", run, i);
		CHECK_INT(dl_count(log ? log : "", needle), 1);
	}
	CHECK_INT(count_in_records(dir, "\"unknown@example.net\"") - unknown_before, 0);
	free(log);
	smtp_retry_free(sched);
}

int main(void)
{
	RUN(test_plan);
	RUN(test_greylist);
	return CHECK_DONE("dl_retry");
}

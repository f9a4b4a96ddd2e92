/* The retry schedule: which recipients of a finished attempt to try again, and when.
   Greylisting-aware defaults: a greylisting server (451 4.7.1 at RCPT or at the end
   of data) accepts a retry only after its own delay, typically one to five minutes,
   so the first retry waits five minutes (Postfix's minimal_backoff_time) and the
   later ones back off; after five days the recipients are given up (RFC 5321
   4.5.4.1: "the give-up time generally needs to be at least 4-5 days"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "smtp.h"

#define MAX_DELAYS 64
#define MAX_DELAY_MS (30LL * 24 * 3600 * 1000)
#define MAX_GIVE_UP_MS (365LL * 24 * 3600 * 1000)
#define MIN 60000LL

struct smtp_retry {
	int64_t delays[MAX_DELAYS];
	size_t ndelays;
	double jitter;
	int64_t give_up;
	double (*random)(void *ud);
	void *random_ud;
};

struct given_up {
	char *address;
	char *reason;
};

struct smtp_retry_plan {
	char **rcpts;
	size_t nrcpts;
	struct given_up *gave_up;
	size_t ngave_up;
	int64_t due;
	unsigned attempt;
	int maybe_delivered;
};

smtp_retry *smtp_retry_new(void)
{
	static const int64_t defaults[] = {5 * MIN, 15 * MIN, 30 * MIN, 60 * MIN,
					   120 * MIN, 240 * MIN};
	smtp_retry *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	memcpy(r->delays, defaults, sizeof defaults);
	r->ndelays = sizeof defaults / sizeof defaults[0];
	r->jitter = 0.1;
	r->give_up = 5 * 24 * 60 * MIN;
	return r;
}

void smtp_retry_free(smtp_retry *r)
{
	free(r);
}

int smtp_retry_set_delays(smtp_retry *r, const int64_t *delays_ms, size_t n)
{
	if (!r || !delays_ms || n == 0 || n > MAX_DELAYS)
		return SMTP_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (delays_ms[i] < 1 || delays_ms[i] > MAX_DELAY_MS)
			return SMTP_EINVAL;
	memcpy(r->delays, delays_ms, n * sizeof *delays_ms);
	r->ndelays = n;
	return 0;
}

int smtp_retry_set_jitter(smtp_retry *r, double fraction)
{
	if (!r || !(fraction >= 0.0 && fraction <= 0.5))
		return SMTP_EINVAL;
	r->jitter = fraction;
	return 0;
}

int smtp_retry_set_give_up(smtp_retry *r, int64_t age_ms)
{
	if (!r || age_ms < 1 || age_ms > MAX_GIVE_UP_MS)
		return SMTP_EINVAL;
	r->give_up = age_ms;
	return 0;
}

int smtp_retry_set_random(smtp_retry *r, double (*fn)(void *ud), void *ud)
{
	if (!r)
		return SMTP_EINVAL;
	r->random = fn;
	r->random_ud = fn ? ud : NULL;
	return 0;
}

/* A uniform number in [0, 1) from the kernel: no state, so one schedule may serve
   many threads. */
static double kernel_random(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		return 0.5; /* no entropy yet: no jitter rather than a failure */
	return (double)v / 4294967296.0;
}

int64_t smtp_retry_delay_ms(const smtp_retry *r, unsigned attempt)
{
	if (!r || attempt == 0)
		return -1;
	size_t i = attempt - 1 < r->ndelays ? attempt - 1 : r->ndelays - 1;
	double u = r->random ? r->random(r->random_ud) : kernel_random();
	if (!(u >= 0.0 && u < 1.0))
		u = 0.5;
	double d = (double)r->delays[i] * (1.0 + r->jitter * (2.0 * u - 1.0));
	return d < 1.0 ? 1 : (int64_t)d;
}

void smtp_retry_plan_free(smtp_retry_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrcpts; i++)
		free(p->rcpts[i]);
	free(p->rcpts);
	for (size_t i = 0; i < p->ngave_up; i++) {
		free(p->gave_up[i].address);
		free(p->gave_up[i].reason);
	}
	free(p->gave_up);
	free(p);
}

/* "5d 2h", "15m", "30s", "250ms": the largest unit, and the next one if it adds. */
static void format_age(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms < units[i].ms)
			continue;
		long long big = (long long)(ms / units[i].ms);
		int64_t rest = ms % units[i].ms;
		if (i + 1 < sizeof units / sizeof units[0] && rest >= units[i + 1].ms)
			snprintf(buf, len, "%lld%s %lld%s", big, units[i].unit,
				 (long long)(rest / units[i + 1].ms), units[i + 1].unit);
		else
			snprintf(buf, len, "%lld%s", big, units[i].unit);
		return;
	}
	snprintf(buf, len, "%lldms", (long long)ms);
}

static char *give_up_reason(const smtp_rcpt_result *rr, int64_t age, int64_t limit)
{
	char a[32], l[32], reply[64];
	format_age(a, sizeof a, age);
	format_age(l, sizeof l, limit);
	int code = smtp_rcpt_code(rr);
	const char *enh = smtp_rcpt_enhanced(rr);
	if (code)
		snprintf(reply, sizeof reply, "%d%s%s", code, enh ? " " : "", enh ? enh : "");
	else
		snprintf(reply, sizeof reply, "%s", smtp_error_name(smtp_rcpt_error(rr)));
	const char *text = smtp_rcpt_text(rr);
	size_t need = strlen(text) + 200;
	char *s = malloc(need);
	if (s)
		snprintf(s, need,
			 "gave up: still deferred %s after the first attempt (give-up age %s); "
			 "last: %s%s%s",
			 a, l, reply, text[0] ? " " : "", text);
	return s;
}

static int add_rcpt(smtp_retry_plan *p, const char *address)
{
	char *copy = strdup(address);
	if (!copy)
		return SMTP_ENOMEM;
	p->rcpts[p->nrcpts++] = copy;
	return 0;
}

static int add_given_up(smtp_retry_plan *p, const smtp_rcpt_result *rr, int64_t age,
			int64_t limit)
{
	struct given_up *g = &p->gave_up[p->ngave_up];
	g->address = strdup(smtp_rcpt_address(rr));
	g->reason = give_up_reason(rr, age, limit);
	if (!g->address || !g->reason) {
		free(g->address);
		free(g->reason);
		return SMTP_ENOMEM;
	}
	p->ngave_up++;
	return 0;
}

smtp_retry_plan *smtp_retry_plan_new(const smtp_retry *r, const smtp_report *report,
				     unsigned attempt, int64_t first_ms, int64_t now_ms)
{
	if (!r || !report || attempt == 0 || now_ms < first_ms ||
	    smtp_report_outcome(report) == SMTP_PENDING)
		return NULL;
	size_t n = smtp_report_rcpt_count(report);
	smtp_retry_plan *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->rcpts = calloc(n ? n : 1, sizeof *p->rcpts);
	p->gave_up = calloc(n ? n : 1, sizeof *p->gave_up);
	if (!p->rcpts || !p->gave_up) {
		smtp_retry_plan_free(p);
		return NULL;
	}
	p->attempt = attempt + 1;
	p->maybe_delivered = smtp_report_maybe_delivered(report);
	int64_t due = now_ms + smtp_retry_delay_ms(r, attempt);
	/* no attempt later than the give-up age: the deferred recipients bounce now */
	int give_up = due - first_ms > r->give_up;
	for (size_t i = 0; i < n; i++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(report, i);
		smtp_verdict v = smtp_rcpt_verdict(rr);
		/* accepted: delivered; bounced: never retried unchanged; failed: the
		   configuration, not the recipient, needs fixing (doc/report-schema.md, "Verdicts") */
		if (v != SMTP_VERDICT_DEFERRED && v != SMTP_VERDICT_PENDING)
			continue;
		int rc = give_up ? add_given_up(p, rr, now_ms - first_ms, r->give_up)
				 : add_rcpt(p, smtp_rcpt_address(rr));
		if (rc) {
			smtp_retry_plan_free(p);
			return NULL;
		}
	}
	p->due = p->nrcpts ? due : -1;
	return p;
}

size_t smtp_retry_plan_count(const smtp_retry_plan *p)
{
	return p ? p->nrcpts : 0;
}

const char *smtp_retry_plan_rcpt(const smtp_retry_plan *p, size_t i)
{
	return p && i < p->nrcpts ? p->rcpts[i] : NULL;
}

int64_t smtp_retry_plan_due_ms(const smtp_retry_plan *p)
{
	return p ? p->due : -1;
}

unsigned smtp_retry_plan_attempt(const smtp_retry_plan *p)
{
	return p ? p->attempt : 0;
}

int smtp_retry_plan_maybe_delivered(const smtp_retry_plan *p)
{
	return p ? p->maybe_delivered : 0;
}

size_t smtp_retry_plan_given_up_count(const smtp_retry_plan *p)
{
	return p ? p->ngave_up : 0;
}

const char *smtp_retry_plan_given_up(const smtp_retry_plan *p, size_t i)
{
	return p && i < p->ngave_up ? p->gave_up[i].address : NULL;
}

const char *smtp_retry_plan_given_up_reason(const smtp_retry_plan *p, size_t i)
{
	return p && i < p->ngave_up ? p->gave_up[i].reason : NULL;
}

int smtp_retry_plan_message(const smtp_retry_plan *p, const char *from, const void *data,
			    size_t len, smtp_message **out)
{
	if (!out)
		return SMTP_EINVAL;
	*out = NULL;
	if (!p || p->nrcpts == 0 || !from || (!data && len))
		return SMTP_EINVAL;
	smtp_message *m = smtp_message_new();
	if (!m)
		return SMTP_ENOMEM;
	int rc = smtp_message_set_from(m, from);
	for (size_t i = 0; rc == 0 && i < p->nrcpts; i++)
		rc = smtp_message_add_rcpt(m, p->rcpts[i]);
	if (rc == 0)
		rc = smtp_message_set_data(m, data, len);
	if (rc) {
		smtp_message_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

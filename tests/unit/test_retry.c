/* Unit tests for the retry schedule's numbers (lib/deliver/retry.c): the default
   greylisting-aware delays, jitter from an injected source, bounds of every
   setting. Plans made from real reports are tested against aiosmtpd in
   tests/deliver/dl_retry.c. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "smtp.h"

#define MIN 60000LL

static double fixed(void *ud)
{
	return *(const double *)ud;
}

static void test_defaults(void)
{
	smtp_retry *r = smtp_retry_new();
	double mid = 0.5; /* factor 1: no jitter */
	CHECK_INT(smtp_retry_set_random(r, fixed, &mid), 0);
	static const int64_t want[] = {5 * MIN, 15 * MIN, 30 * MIN, 60 * MIN, 120 * MIN,
				       240 * MIN, 240 * MIN, 240 * MIN};
	for (unsigned a = 1; a <= 8; a++)
		CHECK_INT(smtp_retry_delay_ms(r, a), want[a - 1]);
	CHECK_INT(smtp_retry_delay_ms(r, 0), -1);
	CHECK_INT(smtp_retry_delay_ms(NULL, 1), -1);
	smtp_retry_free(r);
}

/* The default jitter is +-10%: the extremes of the source give 0.9 and 1.1. */
static void test_jitter(void)
{
	smtp_retry *r = smtp_retry_new();
	double lo = 0.0, hi = 0.999999;
	CHECK_INT(smtp_retry_set_random(r, fixed, &lo), 0);
	CHECK_INT(smtp_retry_delay_ms(r, 1), 270000);
	CHECK_INT(smtp_retry_set_random(r, fixed, &hi), 0);
	int64_t d = smtp_retry_delay_ms(r, 1);
	CHECK(d > 329990 && d < 330000);
	CHECK_INT(smtp_retry_set_jitter(r, 0), 0);
	CHECK_INT(smtp_retry_delay_ms(r, 1), 300000);
	/* the kernel's numbers stay within the band */
	CHECK_INT(smtp_retry_set_random(r, NULL, NULL), 0);
	CHECK_INT(smtp_retry_set_jitter(r, 0.5), 0);
	for (int i = 0; i < 200; i++) {
		d = smtp_retry_delay_ms(r, 2);
		CHECK(d >= 450000 && d < 1350000);
	}
	smtp_retry_free(r);
}

static void test_settings(void)
{
	smtp_retry *r = smtp_retry_new();
	const int64_t delays[] = {100, 200, 300};
	CHECK_INT(smtp_retry_set_delays(r, delays, 3), 0);
	CHECK_INT(smtp_retry_set_jitter(r, 0), 0);
	CHECK_INT(smtp_retry_delay_ms(r, 1), 100);
	CHECK_INT(smtp_retry_delay_ms(r, 3), 300);
	CHECK_INT(smtp_retry_delay_ms(r, 9), 300); /* the last repeats */
	CHECK_INT(smtp_retry_set_delays(r, delays, 0), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_delays(r, NULL, 1), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_delays(r, delays, 65), SMTP_EINVAL);
	const int64_t bad[] = {100, 0};
	CHECK_INT(smtp_retry_set_delays(r, bad, 2), SMTP_EINVAL);
	const int64_t huge[] = {31LL * 24 * 3600 * 1000};
	CHECK_INT(smtp_retry_set_delays(r, huge, 1), SMTP_EINVAL);
	CHECK_INT(smtp_retry_delay_ms(r, 1), 100); /* unchanged by refused settings */
	CHECK_INT(smtp_retry_set_jitter(r, -0.1), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_jitter(r, 0.6), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_jitter(r, NAN), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_give_up(r, 0), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_give_up(r, 366LL * 24 * 3600 * 1000), SMTP_EINVAL);
	CHECK_INT(smtp_retry_set_give_up(r, 1000), 0);
	CHECK_INT(smtp_retry_set_give_up(NULL, 1000), SMTP_EINVAL);
	smtp_retry_free(r);
	smtp_retry_free(NULL);
}

/* Plans refuse what is not a finished attempt; their accessors accept NULL. */
static void test_plan_arguments(void)
{
	smtp_retry *r = smtp_retry_new();
	smtp_message *m = smtp_message_new();
	/* a message never sent has a pending report */
	CHECK(smtp_retry_plan_new(r, smtp_message_report(m), 1, 0, 0) == NULL);
	CHECK(smtp_retry_plan_new(NULL, smtp_message_report(m), 1, 0, 0) == NULL);
	CHECK(smtp_retry_plan_new(r, NULL, 1, 0, 0) == NULL);
	CHECK_INT(smtp_retry_plan_count(NULL), 0);
	CHECK(smtp_retry_plan_rcpt(NULL, 0) == NULL);
	CHECK_INT(smtp_retry_plan_due_ms(NULL), -1);
	CHECK_INT(smtp_retry_plan_given_up_count(NULL), 0);
	smtp_message *out = m;
	CHECK_INT(smtp_retry_plan_message(NULL, "a@example.org", "x", 1, &out), SMTP_EINVAL);
	CHECK(out == NULL);
	smtp_retry_plan_free(NULL);
	smtp_message_free(m);
	smtp_retry_free(r);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_jitter);
	RUN(test_settings);
	RUN(test_plan_arguments);
	return CHECK_DONE("test_retry");
}

/* Unit tests for the pool's sliding-window rate limit (lib/deliver/rate.c) and its
   throttle adaptation (lib/deliver/throttle.c), driven by an injected clock: the
   time is a number the test chooses, so nothing here depends on how fast it runs. */
#include <stdlib.h>

#include "check.h"
#include "deliver/rate.h"
#include "deliver/throttle.h"
#include "smtp.h"

/* Every grant, for checking every window against the limit afterwards. */
struct grant {
	int64_t t;
	unsigned n;
};

/* The most tokens granted in any window [a, a + w): the busiest windows start at a
   grant, so checking the windows that start at each grant covers them all. */
static uint64_t busiest(const struct grant *g, size_t n, int64_t w)
{
	uint64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (size_t j = i; j < n && g[j].t < g[i].t + w; j++)
			sum += g[j].n;
		if (sum > best)
			best = sum;
	}
	return best;
}

/* A burst at time 0 gets exactly the limit, the next token only a window later. */
static void test_first_window(void)
{
	struct smtpi_rate r = {0};
	CHECK_INT(smtpi_rate_set(&r, 10, 1000), 0);
	int granted = 0;
	for (int i = 0; i < 25; i++)
		if (smtpi_rate_wait(&r, 1, 0) == 0 && smtpi_rate_take(&r, 1, 0) == 0)
			granted++;
	CHECK_INT(granted, 10);
	CHECK_INT(smtpi_rate_wait(&r, 1, 0), 1000);
	CHECK_INT(smtpi_rate_wait(&r, 1, 999), 1);
	CHECK_INT(smtpi_rate_wait(&r, 1, 1000), 0);
	smtpi_rate_free(&r);
}

/* Demand far above the limit at random times and sizes, as the pool asks (wait,
   then take when it says 0): no window ever holds more than the limit, and the
   limiter is not stingy either (it grants the limit in each busy window). */
static void test_any_window(void)
{
	static const struct {
		unsigned limit;
		int64_t window;
		unsigned maxn;
	} cases[] = {{1, 10, 1}, {7, 100, 3}, {50, 1000, 5}, {100, 60000, 40}, {3, 1, 2}};
	srand(12345);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct smtpi_rate r = {0};
		CHECK_INT(smtpi_rate_set(&r, cases[c].limit, cases[c].window), 0);
		struct grant *g = calloc(20000, sizeof *g);
		size_t ng = 0;
		uint64_t total = 0;
		int64_t now = 0;
		while (ng < 20000 && now < cases[c].window * 40) {
			unsigned n = 1 + (unsigned)rand() % cases[c].maxn;
			int64_t w = smtpi_rate_wait(&r, n, now);
			CHECK(w >= 0 && w <= cases[c].window);
			if (w == 0) {
				CHECK_INT(smtpi_rate_take(&r, n, now), 0);
				g[ng++] = (struct grant){now, n};
				total += n;
			}
			/* sometimes jump to exactly the moment the limiter named */
			now += w > 0 && rand() % 2 ? w : rand() % (cases[c].window / 4 + 1);
		}
		uint64_t most = busiest(g, ng, cases[c].window);
		CHECK(most <= cases[c].limit);
		CHECK(total >= (uint64_t)cases[c].limit * 10);
		free(g);
		smtpi_rate_free(&r);
	}
}

/* A request larger than the limit waits for an empty window and takes it whole. */
static void test_oversized(void)
{
	struct smtpi_rate r = {0};
	CHECK_INT(smtpi_rate_set(&r, 5, 100), 0);
	CHECK_INT(smtpi_rate_wait(&r, 2, 0), 0);
	CHECK_INT(smtpi_rate_take(&r, 2, 0), 0);
	CHECK_INT(smtpi_rate_wait(&r, 9, 10), 90);
	CHECK_INT(smtpi_rate_wait(&r, 9, 100), 0);
	CHECK_INT(smtpi_rate_take(&r, 9, 100), 0);
	CHECK_INT(smtpi_rate_wait(&r, 1, 150), 50);
	smtpi_rate_free(&r);
}

static void test_bounds(void)
{
	struct smtpi_rate r = {0};
	CHECK_INT(smtpi_rate_set(&r, 0, 0), 0); /* no limit */
	CHECK_INT(smtpi_rate_wait(&r, 1000000, 5), 0);
	CHECK_INT(smtpi_rate_set(&r, 1, 0), SMTP_EINVAL);
	CHECK_INT(smtpi_rate_set(&r, 1, SMTPI_RATE_MAX_WINDOW_MS + 1), SMTP_EINVAL);
	CHECK_INT(smtpi_rate_set(&r, SMTPI_RATE_MAX_LIMIT + 1, 1000), SMTP_EINVAL);
	CHECK_INT(smtpi_rate_set(&r, SMTPI_RATE_MAX_LIMIT, SMTPI_RATE_MAX_WINDOW_MS), 0);
	smtpi_rate_free(&r);
}

/* Grants within one millisecond share an entry; many milliseconds grow the ring. */
static void test_ring_growth(void)
{
	struct smtpi_rate r = {0};
	CHECK_INT(smtpi_rate_set(&r, 1000, 100000), 0);
	for (int64_t t = 0; t < 500; t++) {
		CHECK_INT(smtpi_rate_wait(&r, 2, t), 0);
		CHECK_INT(smtpi_rate_take(&r, 1, t), 0);
		CHECK_INT(smtpi_rate_take(&r, 1, t), 0);
	}
	CHECK_INT(r.len, 500);
	CHECK_INT(r.used, 1000);
	CHECK_INT(smtpi_rate_wait(&r, 1, 600), 100000 - 600);
	CHECK_INT(smtpi_rate_wait(&r, 3, 100001), 0);
	smtpi_rate_free(&r);
}

static void test_says_slow(void)
{
	CHECK(smtpi_throttle_says_slow(SMTP_STAGE_MAIL, 454, NULL,
				       "Throttling failure: Maximum sending rate exceeded."));
	CHECK(smtpi_throttle_says_slow(SMTP_STAGE_GREETING, 421, "4.7.0",
				       "mx Error: too many connections from 127.0.0.1"));
	CHECK(smtpi_throttle_says_slow(SMTP_STAGE_BODY, 421, "4.7.28",
				       "Our system has detected an unusual rate of mail"));
	CHECK(smtpi_throttle_says_slow(SMTP_STAGE_RCPT, 451, "4.7.1",
				       "Rate limit exceeded, slow down"));
	CHECK(smtpi_throttle_says_slow(SMTP_STAGE_MAIL, 450, "4.7.0", "Try again later"));
	/* greylisting and security failures are not throttling */
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_RCPT, 451, "4.7.1",
					"Greylisted, try again later"));
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_STARTTLS, 454, "4.7.0",
					"TLS not available due to local problem"));
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_AUTH, 454, "4.7.0",
					"Temporary authentication failure"));
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_QUIT, 421, "4.4.2",
					"mx Error: timeout exceeded"));
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_MAIL, 554, "5.7.0", "rate limit"));
	CHECK(!smtpi_throttle_says_slow(SMTP_STAGE_RCPT, 452, "4.2.2", "Mailbox full"));
}

/* Fewer connections at each signal (one step per second at most), down to one;
   back up by one per quiet recovery period. */
static void test_adapt(void)
{
	struct smtpi_throttle t;
	smtpi_throttle_init(&t, 5, 30000);
	CHECK_INT(smtpi_throttle_cap(&t, 0), 5);
	CHECK_INT(smtpi_throttle_next(&t), -1);
	smtpi_throttle_signal(&t, 5, 1000);
	CHECK_INT(smtpi_throttle_cap(&t, 1000), 4);
	smtpi_throttle_signal(&t, 4, 1500); /* the same burst */
	CHECK_INT(smtpi_throttle_cap(&t, 1500), 4);
	smtpi_throttle_signal(&t, 2, 2100); /* only two were open: one */
	CHECK_INT(smtpi_throttle_cap(&t, 2100), 1);
	smtpi_throttle_signal(&t, 1, 3200);
	CHECK_INT(smtpi_throttle_cap(&t, 3200), 1);
	CHECK_INT(smtpi_throttle_next(&t), 33200);
	CHECK_INT(smtpi_throttle_cap(&t, 33199), 1);
	CHECK_INT(smtpi_throttle_cap(&t, 33200), 2);
	CHECK_INT(smtpi_throttle_cap(&t, 63200 + 30000 * 2), 5);
	CHECK_INT(smtpi_throttle_next(&t), -1);
	/* recovery 0: never adapts */
	smtpi_throttle_init(&t, 3, 0);
	smtpi_throttle_signal(&t, 3, 10);
	CHECK_INT(smtpi_throttle_cap(&t, 10), 3);
}

int main(void)
{
	RUN(test_first_window);
	RUN(test_any_window);
	RUN(test_oversized);
	RUN(test_bounds);
	RUN(test_ring_growth);
	RUN(test_says_slow);
	RUN(test_adapt);
	return CHECK_DONE("test_rate");
}

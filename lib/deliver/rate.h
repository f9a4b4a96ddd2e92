/* A sliding-window rate limit: at most `limit` tokens in any window of `window` ms.
   Every token taken comes back exactly one window later, so no window (the first
   included) ever holds more than the limit: a plain token bucket lets a full bucket
   plus a window's refill through, up to twice the limit. Pure: the caller passes the
   time, so tests drive it with their own clock. */
#ifndef SMTPI_RATE_H
#define SMTPI_RATE_H

#include <stddef.h>
#include <stdint.h>

/* Largest limit accepted: the grants within a window are kept, one entry per
   millisecond in which tokens were taken, so memory stays below 16 bytes a token. */
#define SMTPI_RATE_MAX_LIMIT 1000000u
/* Longest window accepted: 30 days. */
#define SMTPI_RATE_MAX_WINDOW_MS (30LL * 24 * 3600 * 1000)

struct smtpi_rate_grant {
	int64_t t;       /* when the tokens were taken */
	unsigned n;      /* how many */
};

struct smtpi_rate {
	unsigned limit;  /* tokens per window; 0: no limit */
	int64_t window;  /* ms */
	struct smtpi_rate_grant *ring;
	size_t cap, head, len;
	uint64_t used;   /* tokens of the grants in the ring */
};

/* Sets the limit (0 removes it) and forgets earlier grants. Returns 0, or
   SMTP_EINVAL when limit or window is out of range. */
int smtpi_rate_set(struct smtpi_rate *r, unsigned limit, int64_t window_ms);
/* Milliseconds until n tokens can be taken (0: now). n above the limit is taken as
   the limit: such a request waits for an empty window. */
int64_t smtpi_rate_wait(struct smtpi_rate *r, unsigned n, int64_t now);
/* Takes n tokens at now; call only after smtpi_rate_wait returned 0 for the same n
   and now. Returns 0 or SMTP_ENOMEM (then nothing was taken). */
int smtpi_rate_take(struct smtpi_rate *r, unsigned n, int64_t now);
/* Frees the grants. */
void smtpi_rate_free(struct smtpi_rate *r);

#endif

/* The sliding-window rate limit of rate.h: a ring of the grants still inside the
   window, oldest first. */
#include "deliver/rate.h"

#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int smtpi_rate_set(struct smtpi_rate *r, unsigned limit, int64_t window_ms)
{
	if (limit > SMTPI_RATE_MAX_LIMIT ||
	    (limit && (window_ms < 1 || window_ms > SMTPI_RATE_MAX_WINDOW_MS)))
		return SMTP_EINVAL;
	r->limit = limit;
	r->window = limit ? window_ms : 0;
	r->head = r->len = 0;
	r->used = 0;
	return 0;
}

static struct smtpi_rate_grant *at(const struct smtpi_rate *r, size_t i)
{
	return &r->ring[(r->head + i) % r->cap];
}

/* Forgets the grants whose window has passed: a grant at t counts in [t, t + window). */
static void expire(struct smtpi_rate *r, int64_t now)
{
	while (r->len > 0 && at(r, 0)->t + r->window <= now) {
		r->used -= at(r, 0)->n;
		r->head = (r->head + 1) % r->cap;
		r->len--;
	}
}

static unsigned clamp(const struct smtpi_rate *r, unsigned n)
{
	return n > r->limit ? r->limit : n;
}

int64_t smtpi_rate_wait(struct smtpi_rate *r, unsigned n, int64_t now)
{
	if (!r->limit)
		return 0;
	expire(r, now);
	n = clamp(r, n);
	if (r->used + n <= r->limit)
		return 0;
	/* the oldest grants leave first: find the one whose leaving makes room */
	uint64_t used = r->used;
	for (size_t i = 0; i < r->len; i++) {
		used -= at(r, i)->n;
		if (used + n <= r->limit)
			return at(r, i)->t + r->window - now;
	}
	return r->window; /* not reached: an empty ring has room for up to the limit */
}

static int grow(struct smtpi_rate *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct smtpi_rate_grant *ring = malloc(cap * sizeof *ring);
	if (!ring)
		return SMTP_ENOMEM;
	for (size_t i = 0; i < r->len; i++)
		ring[i] = *at(r, i);
	free(r->ring);
	r->ring = ring;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int smtpi_rate_take(struct smtpi_rate *r, unsigned n, int64_t now)
{
	if (!r->limit || n == 0)
		return 0;
	n = clamp(r, n);
	if (r->len > 0 && at(r, r->len - 1)->t == now) {
		at(r, r->len - 1)->n += n;
		r->used += n;
		return 0;
	}
	if (r->len == r->cap && grow(r))
		return SMTP_ENOMEM;
	*at(r, r->len) = (struct smtpi_rate_grant){.t = now, .n = n};
	r->len++;
	r->used += n;
	return 0;
}

void smtpi_rate_free(struct smtpi_rate *r)
{
	free(r->ring);
	memset(r, 0, sizeof *r);
}

/* Slowing the pool down when the server says the client is too fast, and speeding
   up again after a quiet period. Pure: the caller passes the time. */
#ifndef SMTPI_THROTTLE_H
#define SMTPI_THROTTLE_H

#include <stdint.h>

#include "smtp.h"

/* Whether a reply says "too fast" rather than "not now": 421 or 4xx with enhanced
   code 4.7.0 (outside STARTTLS and AUTH, where 4.7.0 means a security failure),
   4.7.28 (Gmail's unusual rate), 4.7.1 or any 4xx whose text speaks of a rate
   ("rate limit", "sending rate"), throttling, too many connections or messages, or
   going too fast. Greylisting (451 4.7.1 "Greylisted") is not throttling. */
int smtpi_throttle_says_slow(smtp_stage stage, int code, const char *enhanced,
			     const char *text);
/* Whether any step of the report is such a reply. */
int smtpi_throttle_report(const smtp_report *r);

struct smtpi_throttle {
	unsigned max;        /* the configured connection limit */
	unsigned cap;        /* the limit in force */
	int64_t recovery;    /* ms without a signal before the limit goes up by one;
				0: never adapt */
	int64_t changed;     /* when cap last changed */
};

/* Starts at max connections, adapting with recovery_ms (0: not at all). */
void smtpi_throttle_init(struct smtpi_throttle *t, unsigned max, int64_t recovery_ms);
/* The server said "too fast" while open connections were open: one connection
   fewer than that (at least one), at most one step per second so that the replies
   of one burst count once. */
void smtpi_throttle_signal(struct smtpi_throttle *t, unsigned open, int64_t now);
/* The limit in force at now (it goes up by one per quiet recovery period). */
unsigned smtpi_throttle_cap(struct smtpi_throttle *t, int64_t now);
/* When the limit next goes up, or -1 when it is at the maximum. */
int64_t smtpi_throttle_next(const struct smtpi_throttle *t);

#endif

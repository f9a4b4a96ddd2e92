/* The Redis side of the worker: the stream and its consumer group, the delayed set,
   the final and in-flight markers, and the results stream. Every write that must
   happen together is one Lua script, so that a worker killed between two commands
   leaves nothing half-done. */
#ifndef WK_REDISQ_H
#define WK_REDISQ_H

#include <hiredis/hiredis.h>

#include "options.h"
#include "worker.h"

struct wk_redis {
	redisContext *c;
	const struct wk_options *o;
	char claim_cursor[64];
};

/* Connects (and AUTH, SELECT). Returns 0, or -1 with a message on stderr. */
int wk_redis_connect(struct wk_redis *r, const struct wk_options *o);
void wk_redis_close(struct wk_redis *r);
/* XGROUP CREATE ... 0 MKSTREAM, a BUSYGROUP answer being fine. Returns 0 or -1. */
int wk_redis_group(struct wk_redis *r);
/* Up to count new entries (blocking up to block_ms; 0: no wait) into *out.
   Returns the number, or -1 on a connection error. */
int wk_redis_read(struct wk_redis *r, int count, int block_ms, struct wk_entry **out);
/* Up to count entries idle longer than --claim-idle at other workers, now ours
   (XAUTOCLAIM). Returns the number, or -1. */
int wk_redis_claim(struct wk_redis *r, int count, struct wk_entry **out);
/* Resets the idle time of our entries in flight (XCLAIM ... JUSTID). Returns 0/-1. */
int wk_redis_touch(struct wk_redis *r, char *const *ids, size_t n);
/* Moves delayed jobs that are due back into the stream. Returns the number, or -1. */
int wk_redis_move_due(struct wk_redis *r, int64_t now_ms);
/* For each job: 1 when it has a final result already, 2 when it was marked in
   flight (a worker died with it), else 0; marks every job with status 0 or 2 in
   flight now. Returns 0 or -1. */
int wk_redis_check(struct wk_redis *r, struct wk_job *const *jobs, size_t n, int *status);
/* Writes the result (and for a retry the delayed entry), unmarks the job in flight
   and acknowledges its entry, all at once; a job whose final result exists only
   gets acknowledged. Returns 0 or -1. */
int wk_redis_finish(struct wk_redis *r, const struct wk_job *j, const struct wk_result *res);
/* Acknowledges an entry. Returns 0 or -1. */
int wk_redis_ack(struct wk_redis *r, const char *entry);
/* The shared --rate window: counts one message in the window of now; returns 0
   when it is within N, else the ms until the next window, or -1. */
int64_t wk_redis_rate(struct wk_redis *r, int64_t now_ms);

#endif

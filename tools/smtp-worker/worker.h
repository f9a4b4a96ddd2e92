/* smtp-worker's shared types: a job as read from the stream, and the result of one
   attempt as written back. */
#ifndef WK_WORKER_H
#define WK_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <smtp.h>

#define WK_MAX_ID 200                  /* bytes of a job id */
#define WK_MAX_DATA (25u * 1024 * 1024) /* bytes of a job's message */

/* One stream entry: its id and field/value pairs (values may hold any bytes). */
struct wk_entry {
	char *id;
	size_t nfields;
	char **names;
	char **values;
	size_t *lens;
};
void wk_entry_free(struct wk_entry *e);

struct wk_job {
	char *entry;          /* the stream entry id (XACK) */
	char *id;             /* the caller's idempotency key ("" when missing) */
	char *key;            /* what the Redis keys of this job are named by */
	char *from;
	char **rcpts;
	size_t nrcpts;
	char *data;
	size_t len;
	unsigned attempt;     /* 1 for the first */
	int64_t first_ms;     /* wall clock of the first attempt (ms since 1970) */
	int maybe;            /* an earlier attempt may have delivered it */
	char invalid[160];    /* why it cannot be sent as given; "" when it can */
	smtp_message *m;
	struct wk_job *next;
};

/* Makes a job of a stream entry (taking nothing from it). NULL when out of memory;
   a job that cannot be sent has its reason in ->invalid. */
struct wk_job *wk_job_from_entry(const struct wk_entry *e, int64_t now_ms);
/* Builds ->m; on failure fills ->invalid. Returns 0 or -1. */
int wk_job_message(struct wk_job *j);
void wk_job_free(struct wk_job *j);

/* What one attempt's result entry holds, and for a retry the entry to come back. */
struct wk_result {
	char attempt[16];
	int final;
	char *report;         /* JSON */
	int maybe;
	char retry_at[24];    /* "" when final */
	char *gave_up;        /* JSON array, or NULL */
	char *retry_to;       /* JSON array of the recipients to retry, or NULL */
	char next_attempt[16];
	int64_t due_ms;
};
void wk_result_free(struct wk_result *r);

/* The result of a job that was not sent: "failed" (invalid) or "deferred" with
   maybe_delivered (a worker died with it in flight, --at-most-once). */
int wk_result_unsent(const struct wk_job *j, int maybe, struct wk_result *r);
/* The result of a finished attempt, with the retry decision of sched. */
int wk_result_attempt(const struct wk_job *j, const smtp_retry *sched, int at_most_once,
		      int64_t now_ms, struct wk_result *r);

/* Wall clock in ms since 1970 (shared by workers on many machines). */
int64_t wk_wall_ms(void);

#endif

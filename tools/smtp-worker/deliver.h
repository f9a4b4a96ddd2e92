/* The worker's pool: its sessions set up from the command line, completions handed
   to the main thread, and the shared rate limit. */
#ifndef WK_DELIVER_H
#define WK_DELIVER_H

#include <pthread.h>

#include "options.h"
#include "redisq.h"
#include "worker.h"

struct wk_deliver {
	smtp_pool *pool;
	const struct wk_options *o;
	char *secret;                  /* --password-file's first line */
	struct wk_redis rate_redis;    /* --shared-rate: the pool thread's own connection */
	pthread_mutex_t mu;
	int evfd;                      /* readable while completed jobs wait */
	struct wk_job *done_head, *done_tail; /* completed, result not yet written */
};

/* Creates and starts the pool. Returns 0, or -1 with a message on stderr. */
int wk_deliver_start(struct wk_deliver *d, const struct wk_options *o);
/* Hands a job's message to the pool. Returns 0 or an smtp_err. */
int wk_deliver_submit(struct wk_deliver *d, struct wk_job *j);
/* The jobs completed so far (a list, oldest first), waiting up to wait_ms for one. */
struct wk_job *wk_deliver_take(struct wk_deliver *d, int wait_ms);
/* Closes the pool (QUIT, after the messages in flight) and frees it. Returns the
   jobs that completed since the last wk_deliver_take. */
struct wk_job *wk_deliver_stop(struct wk_deliver *d);

#endif

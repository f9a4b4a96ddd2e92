/* The pool's internals, shared by pool.c (settings, submission, ending), pool_loop.c
   (the event loop: one epoll descriptor, timers, the own thread) and pool_conn.c
   (connections: opening, handing messages over, completions, closing). The pool
   drives sessions only through the public API in smtp.h. */
#ifndef SMTPI_POOL_H
#define SMTPI_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "deliver/rate.h"
#include "deliver/throttle.h"
#include "smtp.h"

/* A submitted message while the pool holds it. */
struct smtpi_pool_item {
	smtp_message *m;
	void *ud;
	unsigned nrcpts;
	unsigned resends;          /* times sent again after a connection died early */
	struct smtpi_pool_item *next;
};

enum smtpi_conn_mode {
	SMTPI_CONN_OPEN,           /* takes messages */
	SMTPI_CONN_RETIRING,       /* takes no more; QUIT once its messages are done */
	SMTPI_CONN_QUITTING        /* smtp_quit until the session is down */
};

struct smtpi_pool_conn {
	smtp_session *s;
	struct smtp_pool *pool;
	uint64_t id;               /* unique per pool, checked against epoll events */
	size_t slot;
	enum smtpi_conn_mode mode;
	unsigned assigned;         /* messages handed to this connection */
	struct smtpi_pool_item *inflight; /* handed over, not yet completed */
	size_t ninflight;
	int64_t idle_since;        /* when it last became idle; 0 while busy */
	int reg_fd;                /* the descriptor registered in epoll, or -1 */
	int ready;                 /* epoll reported it since it was last stepped */
	int kick;                  /* got a message this round: step it */
};

struct smtp_pool {
	pthread_mutex_t mu;        /* guards everything up to "loop thread only" */
	pthread_cond_t space;      /* the queue has room, or the pool is closing */
	pthread_cond_t idle;       /* outstanding reached 0, or the pool closed */

	char *url;
	smtp_pool_setup_fn setup;
	void *setup_ud;
	smtp_pool_message_fn done_fn;
	void *done_ud;
	smtp_pool_rate_fn rate_fn;
	void *rate_ud;
	unsigned max_conns, max_msgs, depth, resend_max;
	int64_t idle_ms;
	size_t queue_limit;
	int block;
	struct smtpi_rate rate[SMTP_RATE_CONNECTIONS + 1];
	struct smtpi_throttle throttle;

	struct smtpi_pool_item *q_head, *q_tail;
	size_t q_len;
	size_t outstanding;        /* submitted, callback not yet returned */
	int closing;               /* smtp_pool_quit: no new submissions */
	int closed;                /* ... and everything has ended */
	int wake_pending;          /* the eventfd was written and not yet read */
	int has_thread, stop_thread;
	pthread_t thread;
	int in_loop;               /* a thread runs the loop (or the ending) now */
	pthread_t loop_owner;
	uint64_t stats[SMTP_POOL_THROTTLED + 1];

	/* loop thread only */
	struct smtpi_pool_conn **slots;
	size_t nslots;
	size_t live;               /* sessions that exist */
	uint64_t next_id;
	struct smtpi_pool_item *done_head, *done_tail; /* completed, callback due */
	int aborting;              /* smtp_pool_free: no resending */
	int64_t rate_wake;         /* a rate limit lets the next message go then */
	int64_t setup_wake;        /* a failed setup: no new session before then */
	smtp_tls_cache *tls;
	int epfd, evfd;
	atomic_llong deadline;     /* when smtp_pool_process is due (ms), or -1 */
};

/* Monotonic clock in milliseconds. */
int64_t smtpi_pool_now(void);
/* Whether the calling thread is running the loop now (a callback's thread). */
int smtpi_pool_on_loop(smtp_pool *p);
/* Writes the eventfd unless a wake-up is pending already. Under p->mu. */
void smtpi_pool_wake(smtp_pool *p);

/* Stops and joins the pool's own thread, if it has one. */
void smtpi_pool_join(smtp_pool *p);

/* pool_conn.c, loop thread only */
/* Advances one connection: process (or QUIT), and notices an idle connection the
   server closed. */
void smtpi_pool_step(smtp_pool *p, struct smtpi_pool_conn *c, int64_t now);
/* Hands queued messages to connections, opening new ones within the limits. */
void smtpi_pool_assign(smtp_pool *p, int64_t now);
/* Closes idle, used-up and excess connections; marks the pool closed when it ends. */
void smtpi_pool_maintain(smtp_pool *p, int64_t now);
/* Appends a message the pool is done with to the completed list. */
void smtpi_pool_done_push(smtp_pool *p, struct smtpi_pool_item *it);
/* Runs the callbacks of completed messages, or queues them again. */
void smtpi_pool_settle(smtp_pool *p, int64_t now);
/* The earliest time a connection needs the loop (its session's deadline, or its
   idle timeout of idle_ms), or -1. */
int64_t smtpi_pool_conn_deadline(const smtp_pool *p, int64_t idle_ms, int64_t now);
/* Closes every connection at once (smtp_pool_free). */
void smtpi_pool_abandon_all(smtp_pool *p);

#endif

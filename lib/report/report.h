/* Reports: the steps of a dialogue and each recipient's result. A message's report
   shares the connection steps of its session (a reference-counted, frozen log). */
#ifndef SMTPI_REPORT_H
#define SMTPI_REPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h"
#include "net/tls.h"

struct smtpi_reply;

struct smtp_step {
	smtp_stage stage;
	int code;
	int error;
	char enhanced[12];
	char *arg;
	char *text;
	int64_t elapsed_us;         /* -1: no interval */
};

struct smtp_rcpt_result {
	char *address;
	int code;
	int accepted;
	char enhanced[12];
	char *text;
	smtp_verdict verdict;
	smtp_stage stage;
	int error;
};

/* Connection steps shared by the reports of the messages sent over one connection. */
struct smtpi_connlog {
	atomic_int refs;
	struct smtp_step *steps;
	size_t nsteps;
	int tls;                    /* TLS was in use */
	struct smtpi_tls_info tls_info;
	char *peer;                 /* the address connected to, "[::1]:25" */
	int enhanced_advertised;    /* EHLO listed ENHANCEDSTATUSCODES (RFC 2034) */
};

struct smtp_report {
	struct smtpi_connlog *conn; /* shared connection steps, or NULL */
	struct smtp_step *steps;
	size_t nsteps, cap;
	struct smtp_rcpt_result *rcpts;
	size_t nrcpts;
	smtp_outcome outcome;
	smtp_stage failed_stage;
	int error;
	char *detail;
	char *queue_id;
	int maybe_delivered;
};

/* Empties a report, dropping its reference to the connection log. */
void smtpi_report_reset(struct smtp_report *r);
/* Appends a step for a reply (reply may be NULL for a local error). Returns the step
   or NULL when out of memory. */
struct smtp_step *smtpi_report_add(struct smtp_report *r, smtp_stage stage, const char *arg,
				   const struct smtpi_reply *reply, int error);
/* Sets the outcome, failed stage and local error (+ detail, copied; may be NULL). */
void smtpi_report_fail(struct smtp_report *r, smtp_outcome outcome, smtp_stage stage,
		       int error, const char *detail);
/* Prepares the recipient table (addresses copied). Returns 0 or SMTP_ENOMEM. */
int smtpi_report_set_rcpts(struct smtp_report *r, char *const *addrs, size_t n);
/* Records recipient i's reply. */
void smtpi_report_rcpt_reply(struct smtp_report *r, size_t i, const struct smtpi_reply *reply);
/* Extracts the queue id from a final reply's text ("queued as X", "id=X"). */
void smtpi_report_take_queue_id(struct smtp_report *r, const char *text);

/* The connection log: new (one reference), take/drop a reference, append a step. */
struct smtpi_connlog *smtpi_connlog_new(void);
struct smtpi_connlog *smtpi_connlog_ref(struct smtpi_connlog *l);
void smtpi_connlog_unref(struct smtpi_connlog *l);

#endif

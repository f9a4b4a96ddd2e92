/* Reports: the steps of a dialogue and each recipient's verdict
   (doc/report-schema.md). Written by the engine only, read by the caller. A message's report
   shares the connection steps of its session through a reference-counted log that is
   frozen before any report refers to it; a report is frozen when it is final, so
   nothing a caller holds ever changes or moves. Strings and steps live in one arena
   per report. */
#ifndef SMTPI_REPORT_H
#define SMTPI_REPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h"
#include "wire/arena.h"

struct smtpi_reply;

/* What the report shows about a TLS connection. */
struct smtpi_tls_info {
	char version[16];          /* "TLSv1.3" */
	char cipher[64];
	int resumed;
	char subject[256];         /* peer certificate subject, one line */
	char issuer[256];
};

struct smtp_step {
	smtp_stage stage;
	int code;                  /* 0: no reply (a local note or error) */
	int error;
	char enhanced[12];
	const char *arg;           /* the recipient for RCPT, the sender for MAIL, or NULL */
	const char *text;
	int64_t elapsed_us;        /* -1: no interval */
};

struct smtp_rcpt_result {
	const char *address;
	smtp_verdict verdict;
	smtp_stage stage;          /* of the reply or error that decided the verdict */
	int code;
	int error;
	char enhanced[12];
	const char *text;
	const char *detail;        /* the local error's reason, or NULL */
};

/* A growable array of steps whose strings live in an arena. */
struct smtpi_steps {
	struct smtp_step *v;
	size_t n, cap;
};

/* What decided something: a reply (then err may name the error to record instead of
   SMTP_EREJECTED, e.g. SMTP_EAUTH for a refused AUTH), or a local error. */
struct smtpi_cause {
	smtp_stage stage;
	const struct smtpi_reply *reply; /* NULL for a local error */
	int err;
	const char *detail;              /* the local error's reason, or NULL */
	int temporary;                   /* SMTP_ERESOLVE: the name may resolve later */
};

/* The connection steps (CONNECT, TLS, GREETING, EHLO, STARTTLS, AUTH) shared by the
   reports of the messages sent over one connection. */
struct smtpi_connlog {
	atomic_int refs;
	int frozen;                 /* a report refers to it: nothing is added any more */
	struct smtpi_arena arena;
	struct smtpi_steps steps;
	int tls;                    /* TLS was in use */
	struct smtpi_tls_info tls_info;
	const char *peer;           /* the address connected to, "[::1]:25" */
	int enhanced_advertised;    /* EHLO listed ENHANCEDSTATUSCODES (RFC 2034) */
};

struct smtp_report {
	struct smtpi_connlog *conn; /* shared connection steps, or NULL */
	struct smtpi_arena arena;
	struct smtpi_steps steps;
	struct smtp_rcpt_result *rcpts;
	size_t nrcpts;
	smtp_outcome outcome;
	smtp_stage failed_stage;
	int error;
	const char *detail;
	const char *queue_id;
	int maybe_delivered;
	int final;                  /* frozen: nothing changes any more */
};

/* ---- the verdict rules (verdict.c) ---- */

/* The verdict a cause gives a recipient it decides (doc/report-schema.md). */
smtp_verdict smtpi_verdict_of(const struct smtpi_cause *c);
/* The error a cause records: 0 for a 2xx reply, SMTP_ECLOSED for 421, c->err when
   set, else SMTP_EREJECTED for a reply and c->err for a local error. */
int smtpi_error_of(const struct smtpi_cause *c);
/* The outcome a connection failure gives (a connection report has no recipients). */
smtp_outcome smtpi_outcome_of_verdict(smtp_verdict v);

/* ---- building (report.c) ---- */

/* An empty report (no allocation). */
void smtpi_report_init(struct smtp_report *r);
/* Empties a report for a new use, dropping its reference to the connection log. */
void smtpi_report_reset(struct smtp_report *r);
/* Frees what the report holds. */
void smtpi_report_free(struct smtp_report *r);
/* Prepares the recipient table: n recipients, all pending, whose addresses the
   caller sets (rcpts[i].address: not copied, it must outlive the report, as the
   message's own recipients do). Returns 0 or SMTP_ENOMEM. */
int smtpi_report_begin(struct smtp_report *r, size_t n);
/* Makes the report share the connection log l (once; later calls keep the first),
   which is frozen from now on. */
void smtpi_report_attach(struct smtp_report *r, struct smtpi_connlog *l);
/* Appends a step for a reply (reply NULL: a local note or error, text may say what).
   Returns 0 or SMTP_ENOMEM. A final report is left unchanged. */
int smtpi_report_step(struct smtp_report *r, smtp_stage stage, const char *arg,
		      const struct smtpi_reply *reply, int err, const char *text,
		      int64_t elapsed_us);
/* Decides recipient i by cause unless it is decided already (the first decision
   wins). Returns 0 or SMTP_ENOMEM. */
int smtpi_report_decide(struct smtp_report *r, size_t i, const struct smtpi_cause *c);
/* Whether recipient i is still undecided. */
int smtpi_report_pending(const struct smtp_report *r, size_t i);
/* Extracts the queue id from a final reply's text ("queued as X", "id=X"). */
void smtpi_report_take_queue_id(struct smtp_report *r, const char *text);
/* Every recipient is decided: derives the outcome, the failed stage, the error and
   its detail from the verdicts, and freezes the report. */
void smtpi_report_finish(struct smtp_report *r);
/* A connection report records the failure that ended its connection (the first one
   only) and its outcome. Returns 0 or SMTP_ENOMEM. */
int smtpi_report_fail(struct smtp_report *r, const struct smtpi_cause *c);

/* ---- the connection log (report.c) ---- */

/* A new, empty log with one reference, or NULL. */
struct smtpi_connlog *smtpi_connlog_new(void);
struct smtpi_connlog *smtpi_connlog_ref(struct smtpi_connlog *l);
void smtpi_connlog_unref(struct smtpi_connlog *l);
/* Appends a step (as smtpi_report_step); returns SMTP_ESTATE once frozen. */
int smtpi_connlog_step(struct smtpi_connlog *l, smtp_stage stage, const struct smtpi_reply *reply,
		       int err, const char *text, int64_t elapsed_us);
/* Sets the peer address (copied) and TLS facts. */
int smtpi_connlog_set_peer(struct smtpi_connlog *l, const char *peer);
void smtpi_connlog_set_tls(struct smtpi_connlog *l, const struct smtpi_tls_info *info);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384 (resumed)": the TLS step's text. */
void smtpi_tls_summary(const struct smtpi_tls_info *info, char *buf, size_t len);

#endif

/* The SMTP protocol engine, sans I/O (DESIGN.md layer 2): the session feeds it the
   server's bytes and asks it for the bytes to send; it keeps the reports. */
#ifndef SMTPI_ENGINE_H
#define SMTPI_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/body.h"
#include "wire/buf.h"
#include "wire/capa.h"
#include "engine/message.h"
#include "wire/reply.h"
#include "report/report.h"
#include "sasl/sasl.h"
#include "smtp.h"

/* What the session configured; owned by the session, read by the engine. */
struct smtpi_engine_config {
	const char *helo_name;     /* ASCII (A-labels) */
	int lmtp;                  /* RFC 2033: LHLO and one final reply per recipient */
	smtp_tls tls_mode;
	const char *user;          /* NULL: no AUTH */
	const char *secret;
	const char *mechanisms;    /* caller's ordered list or NULL */
	int secret_is_token;
	int auth_optional;         /* proceed without AUTH when the server offers none */
	int auth_insecure;         /* allow credentials without TLS */
	int have_client_cert;
	const char *host;          /* for OAUTHBEARER */
	int port;
	struct smtpi_scram_cache *scram_cache;
	int chunking_off;          /* keep DATA even when CHUNKING is offered */
	size_t chunk_size;         /* BDAT chunk size */
	int idna_no_map;           /* no UTS #46 mapping before IDNA conversion */
	smtp_trace_fn trace;
	void *trace_ud;
	void (*message_done)(void *ud, smtp_message *m);
	void *message_done_ud;
};

/* Pending replies: one per command written, matched in order (RFC 2920 3.2). */
enum smtpi_pending_kind {
	SMTPI_P_GREETING, SMTPI_P_EHLO, SMTPI_P_HELO, SMTPI_P_STARTTLS, SMTPI_P_AUTH,
	SMTPI_P_MAIL, SMTPI_P_RCPT, SMTPI_P_DATA, SMTPI_P_FINAL, SMTPI_P_RSET, SMTPI_P_QUIT,
	SMTPI_P_BDAT,              /* a BDAT chunk that is not the last */
	SMTPI_P_SYNC,              /* an RSET that only resynchronises (after pipelined BDAT) */
	SMTPI_P_CMD                /* smtp_command */
};

struct smtpi_pending {
	enum smtpi_pending_kind kind;
	size_t idx;                /* the recipient, for RCPT and LMTP final replies */
	smtp_message *m;
};

enum smtpi_phase {
	SMTPI_PH_DOWN,             /* no connection */
	SMTPI_PH_GREETING, SMTPI_PH_EHLO, SMTPI_PH_STARTTLS,
	SMTPI_PH_TLS,              /* the session must run the TLS handshake now */
	SMTPI_PH_AUTH,
	SMTPI_PH_READY,            /* transactions may run */
	SMTPI_PH_QUIT,             /* QUIT written or due; no new transactions */
	SMTPI_PH_CLOSED            /* the dialogue is over; the session closes */
};

/* smtpi_engine_status bits */
#define SMTPI_E_WRITE 1        /* bytes are waiting to be sent */
#define SMTPI_E_READ 2         /* replies are awaited */
#define SMTPI_E_TLS 4          /* start the TLS handshake (output is flushed first) */
#define SMTPI_E_CLOSED 8       /* close the connection */

struct smtpi_engine {
	const struct smtpi_engine_config *cfg;
	enum smtpi_phase phase;
	int tls_active;
	int quit_wanted;
	int error;                 /* the error that ended the connection, or 0 */
	unsigned long replies;     /* replies dispatched so far */
	smtp_stage last_stage;     /* the stage of the last reply */
	unsigned mails;            /* transactions begun on this connection (LIMITS MAILMAX) */
	int reconnect;             /* MAILMAX reached: QUIT, then a new connection */
	size_t bdat_unsettled;     /* BDAT transactions whose last reply is pending */
	int cmd_pending;           /* smtp_command is waiting for its reply */
	int cmd_done;              /* smtp_command's reply arrived */
	int cmd_code;
	struct smtpi_reply_parser rp;
	struct smtpi_capa capa;
	struct smtpi_buf out;
	struct smtpi_pending *pend;
	size_t pend_head, pend_count, pend_cap;
	smtp_message *q_head, *q_tail; /* messages whose report is not final */
	smtp_message *emit;        /* first message with commands still to write */
	smtp_message *body;        /* message whose body is being written */
	struct smtpi_body enc;
	unsigned char *stage_buf;  /* reader staging block */
	size_t stage_len, stage_off;
	struct smtpi_connlog *log; /* steps of the current connection */
	size_t log_cap;
	struct smtp_report *session_report;
	struct smtpi_sasl sasl;
	struct smtpi_sasl_creds creds;
	char *auth_ir;             /* an initial response waiting for its 334 */
	int sasl_active;
	struct smtpi_sasl_cbind cbind;
	unsigned char cbind_data[64];
};

void smtpi_engine_init(struct smtpi_engine *e, const struct smtpi_engine_config *cfg,
		       struct smtp_report *session_report);
void smtpi_engine_free(struct smtpi_engine *e);

/* A new connection attempt begins: fresh connection log and session report. Returns
   0 or SMTP_ENOMEM. */
int smtpi_engine_connecting(struct smtpi_engine *e, const char *peer);
/* The byte stream is up (after TCP, or after implicit TLS): await the greeting.
   tls says whether the stream is already TLS. */
void smtpi_engine_connected(struct smtpi_engine *e, int tls, const struct smtpi_tls_info *info);
/* The STARTTLS handshake finished (RFC 3207 4.2: forget the capabilities, EHLO again). */
void smtpi_engine_tls_ready(struct smtpi_engine *e, const struct smtpi_tls_info *info,
			    const char *cbind_type, const unsigned char *cbind, size_t cbind_len);

/* Feeds the server's bytes. Returns 0 or SMTP_ENOMEM; a dialogue that ends shows
   in smtpi_engine_status (SMTPI_E_CLOSED) and e->error. */
int smtpi_engine_recv(struct smtpi_engine *e, const char *buf, size_t len);
/* The bytes to send now (*len 0 when none); fills the next body block if needed.
   Returns 0, or the error that ended the connection. */
int smtpi_engine_output(struct smtpi_engine *e, const char **p, size_t *len);
/* n bytes of the output were sent. */
void smtpi_engine_sent(struct smtpi_engine *e, size_t n);
/* SMTPI_E_* bits. */
int smtpi_engine_status(const struct smtpi_engine *e);
/* The stage a pending reply belongs to. */
smtp_stage smtpi_pending_stage(enum smtpi_pending_kind kind);
/* The stage whose deadline applies now. */
smtp_stage smtpi_engine_stage(const struct smtpi_engine *e);

/* Ends the connection with a local error at the current stage: every queued message
   is reported failed. */
void smtpi_engine_fail(struct smtpi_engine *e, int err, const char *detail);
/* Records a local step in the connection log (CONNECT, TLS). */
void smtpi_engine_log_local(struct smtpi_engine *e, smtp_stage stage, const char *text,
			    int err);

/* Queues a message. Returns 0, SMTP_EINVAL (no sender, no recipient, no content,
   a line over 998 octets), SMTP_ESTATE (already queued), SMTP_ENOMEM. */
int smtpi_engine_submit(struct smtpi_engine *e, smtp_message *m);
/* Asks for QUIT once the queue is empty. */
void smtpi_engine_quit(struct smtpi_engine *e);

/* ---- shared between engine.c, transaction.c and auth.c ---- */

/* Records a step in the connection log. */
void smtpi_engine_log(struct smtpi_engine *e, smtp_stage stage, const char *arg,
		      const struct smtpi_reply *reply, int err);
/* Writes one command line (without CRLF) expecting a reply of kind; traced as
   trace_as when given (redaction), else as written. Returns 0 or SMTP_ENOMEM. */
int smtpi_engine_command(struct smtpi_engine *e, enum smtpi_pending_kind kind,
			 smtp_message *m, size_t idx, const char *trace_as,
			 const char *line, size_t len);
/* Connection-level failure: report it, fail queued messages, send QUIT if the
   dialogue allows. */
void smtpi_engine_refuse(struct smtpi_engine *e, smtp_stage stage,
			 const struct smtpi_reply *reply, int err, const char *detail);
void smtpi_engine_trace(const struct smtpi_engine *e, smtp_trace_dir dir, const char *line,
			size_t len);
/* Enters READY and starts queued transactions. */
int smtpi_engine_ready(struct smtpi_engine *e);

/* transaction.c */
int smtpi_tx_pump(struct smtpi_engine *e);
int smtpi_tx_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
		   const struct smtpi_reply *r);
int smtpi_tx_fill_body(struct smtpi_engine *e);
void smtpi_tx_fail_all(struct smtpi_engine *e, smtp_outcome outcome, smtp_stage stage,
		       int err, const char *detail, const struct smtpi_reply *reply);
smtp_stage smtpi_tx_stage(const smtp_message *m);

/* Sends a caller's command (smtp_command). Returns 0, SMTP_ESTATE, SMTP_ENOMEM. */
int smtpi_engine_user_command(struct smtpi_engine *e, const char *line);

/* auth.c */
int smtpi_auth_begin(struct smtpi_engine *e);
int smtpi_auth_reply(struct smtpi_engine *e, const struct smtpi_reply *r);

#endif

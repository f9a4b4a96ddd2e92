/* The SMTP protocol engine, sans I/O (the layer below the session): the session
   feeds it the server's bytes and the clock, and asks it for the bytes to send; it writes the
   reports. It never touches a socket. Files: engine.c (reply dispatch, connection
   phase, the byte interface), pending.c (commands written and the replies owed),
   auth.c (AUTH), transaction.c (the transaction state machine), envelope.c (MAIL and
   RCPT parameters, checks before MAIL), body_out.c (DATA blocks and BDAT chunks),
   message.h (the message object; its public setters are in
   lib/session/message_setters.c). Calls go one way: engine -> auth, transaction;
   transaction -> envelope, body_out; all of them -> pending. */
#ifndef SMTPI_ENGINE_H
#define SMTPI_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/message.h"
#include "report/report.h"
#include "sasl/sasl.h"
#include "smtp.h"
#include "wire/body.h"
#include "wire/buf.h"
#include "wire/capa.h"
#include "wire/reply.h"

/* Content is appended while less than this is waiting to be written: enough to keep
   the socket busy, small enough to stay cheap. */
#define SMTPI_BODY_BLOCK (64 * 1024)

/* BDAT chunk sizes the caller may set (RFC 3030 2 puts no bound; these keep a chunk
   meaningful and its buffer sane). */
#define SMTPI_CHUNK_MIN 1024
#define SMTPI_CHUNK_MAX (64u * 1024 * 1024)
#define SMTPI_CHUNK_DEFAULT (1024 * 1024)

/* What the session configured; owned by the session, read by the engine. */
struct smtpi_engine_config {
	const char *helo_name;     /* ASCII (A-labels) or an address literal */
	int lmtp;                  /* RFC 2033: LHLO and one final reply per recipient */
	smtp_tls tls_mode;
	int tls_unverified;        /* certificate verification is off */
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
	size_t chunk_size;         /* BDAT chunk size, SMTPI_CHUNK_MIN..MAX */
	int idna_no_map;           /* no UTS #46 mapping before IDNA conversion */
	smtp_trace_fn trace;
	void *trace_ud;
	void (*message_done)(void *ud, smtp_message *m);
	void *message_done_ud;
};

/* The commands whose replies are awaited (RFC 2920 3.1: in the order written). */
enum smtpi_cmd {
	SMTPI_CMD_GREETING, SMTPI_CMD_EHLO, SMTPI_CMD_HELO, SMTPI_CMD_STARTTLS, SMTPI_CMD_AUTH,
	SMTPI_CMD_RSET, SMTPI_CMD_MAIL, SMTPI_CMD_RCPT, SMTPI_CMD_DATA,
	SMTPI_CMD_BDAT,            /* a BDAT chunk that is not the last */
	SMTPI_CMD_END,             /* the final dot or BDAT LAST (LMTP: one per recipient) */
	SMTPI_CMD_QUIT,
	SMTPI_CMD_USER             /* smtp_command */
};

struct smtpi_pending {
	enum smtpi_cmd cmd;
	size_t idx;                /* the recipient, for RCPT and LMTP's END */
	smtp_message *m;           /* the transaction's message, or NULL */
	uint64_t end;              /* the output position just past the command */
	int64_t written_us;        /* when its last octet was written, or -1 */
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
	int64_t now_us;            /* the clock as the session last gave it */
	unsigned long replies;     /* replies that answered written commands */
	smtp_stage last_stage;     /* the stage of the last reply dispatched */
	unsigned mails;            /* MAIL commands on this connection (LIMITS MAILMAX) */
	int reconnect;             /* MAILMAX reached: QUIT, then a new connection */
	int tx_clean;              /* the server holds no transaction state, as far as we
				      know: else RSET goes before the next MAIL */
	uint64_t seq;              /* messages submitted */
	uint64_t open_seq;         /* the message whose MAIL was written last */
	int user_done;             /* smtp_command's reply arrived */
	int user_code;
	const char *why;           /* the reason of a protocol break found in a reply */
	struct smtpi_reply_parser rp;
	struct smtpi_capa capa;
	struct smtpi_buf out;
	uint64_t sent_total;       /* octets written so far: the output position */
	struct smtpi_pending *pend; /* a ring of the replies owed */
	size_t pend_head, pend_count, pend_cap;
	size_t pend_stamped;       /* pending entries (from the head) already stamped */
	size_t pend_data;          /* DATA commands among them */
	smtp_message *q_head, *q_tail; /* submitted messages whose report is not final */
	smtp_message *emit;        /* first message with commands still to write */
	smtp_message *body;        /* message whose content is being written */
	struct smtpi_body enc;
	unsigned char *stage_buf;  /* reader staging block */
	size_t stage_len, stage_off;
	struct smtpi_connlog *log; /* steps of the current connection */
	struct smtp_report *session_report;
	struct smtpi_sasl sasl;
	struct smtpi_sasl_creds creds;
	char *auth_ir;             /* an initial response waiting for its 334 */
	int sasl_active;
	struct smtpi_sasl_cbind cbind;
	unsigned char cbind_data[64];
	int auth_cancelled;        /* we answered a challenge with "*" (RFC 4954 4) */
	char auth_detail[600];     /* why AUTH failed, for the report */
};

/* ---- the session's interface (engine.c) ---- */

void smtpi_engine_init(struct smtpi_engine *e, const struct smtpi_engine_config *cfg,
		       struct smtp_report *session_report);
/* Ends every submitted message (deferred, "abandoned") and frees what the engine holds. */
void smtpi_engine_free(struct smtpi_engine *e);

/* A new connection attempt begins: a fresh connection log and session report.
   Returns 0 or SMTP_ENOMEM. */
int smtpi_engine_connecting(struct smtpi_engine *e);
/* Records a local step of the connection (CONNECT attempts, TLS) in its log. */
void smtpi_engine_note(struct smtpi_engine *e, smtp_stage stage, const char *text, int err,
		       int64_t elapsed_us);
/* The byte stream is up (after TCP, or after implicit TLS; then info says what TLS
   runs): await the greeting. peer: the address connected to. */
void smtpi_engine_connected(struct smtpi_engine *e, const char *peer,
			    const struct smtpi_tls_info *info, int64_t now_us);
/* The STARTTLS handshake finished (RFC 3207 4.2: forget the capabilities, EHLO again). */
void smtpi_engine_tls_ready(struct smtpi_engine *e, const struct smtpi_tls_info *info,
			    const char *cbind_type, const unsigned char *cbind, size_t cbind_len,
			    int64_t elapsed_us, int64_t now_us);

/* Feeds the server's bytes. Returns 0 or SMTP_ENOMEM; a dialogue that ends shows in
   smtpi_engine_status (SMTPI_E_CLOSED) and e->error. */
int smtpi_engine_recv(struct smtpi_engine *e, const char *buf, size_t len, int64_t now_us);
/* The bytes to send now (*len 0 when none); fills the next body block if needed.
   Returns 0, or SMTP_ENOMEM. */
int smtpi_engine_output(struct smtpi_engine *e, const char **p, size_t *len);
/* n bytes of the output were written at now_us. */
void smtpi_engine_sent(struct smtpi_engine *e, size_t n, int64_t now_us);
/* SMTPI_E_* bits. */
int smtpi_engine_status(const struct smtpi_engine *e);
/* The stage whose deadline applies now. */
smtp_stage smtpi_engine_stage(const struct smtpi_engine *e);

/* Ends the connection with a local error at the current stage (a drop, a stall, a
   TLS or resolver failure, an abandoned session): every submitted message is decided
   by it. temporary: see struct smtpi_cause. */
void smtpi_engine_fail(struct smtpi_engine *e, int err, const char *detail, int temporary);

/* Whether m can be queued: 0, SMTP_EINVAL (no sender, no recipient, no content, a
   NUL octet or an over-long line in text content), SMTP_ESTATE (already submitted).
   Scans in-memory content (its facts are kept in m). */
int smtpi_engine_check(smtp_message *m);
/* Queues a message. Returns what smtpi_engine_check does, or SMTP_ENOMEM. */
int smtpi_engine_submit(struct smtpi_engine *e, smtp_message *m);
/* Asks for QUIT once the queue is empty. */
void smtpi_engine_quit(struct smtpi_engine *e);
/* Sends a caller's command line (smtp_command). Returns 0, SMTP_ESTATE (not ready
   or busy), SMTP_ENOMEM. */
int smtpi_engine_user_command(struct smtpi_engine *e, const char *line);

/* ---- within the engine ---- */

/* pending.c: writes one command line (without CRLF) expecting a reply to cmd; traced
   as trace_as when given (redaction), else as written. line NULL: no bytes (the
   greeting, LMTP's extra final replies). Returns 0 or SMTP_ENOMEM. */
int smtpi_pending_push(struct smtpi_engine *e, enum smtpi_cmd cmd, smtp_message *m,
		       size_t idx, const char *trace_as, const char *line, size_t len);
/* pending.c: the output position after everything queued so far. */
uint64_t smtpi_pending_position(const struct smtpi_engine *e);
/* pending.c: marks the commands whose last octet is now written (at e->now_us). */
void smtpi_pending_stamp(struct smtpi_engine *e);
/* pending.c: the oldest reply owed, or NULL. */
const struct smtpi_pending *smtpi_pending_head(const struct smtpi_engine *e);
/* pending.c: removes the oldest. */
void smtpi_pending_pop(struct smtpi_engine *e);
/* pending.c: forgets every reply owed and the output not yet written (the
   connection is closed). */
void smtpi_pending_clear(struct smtpi_engine *e);
/* pending.c: why a reply with this code cannot answer cmd (RFC 5321 4.3.2 and the
   extensions' RFCs), or NULL when it can. */
const char *smtpi_reply_breaks_rules(enum smtpi_cmd cmd, int code);
/* transaction.c: records the reply (err, detail) to p, a command of p->m, in that
   message's report. Returns 0 or SMTP_ENOMEM. */
int smtpi_tx_note_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
			const struct smtpi_reply *r, int err, const char *detail);
/* pending.c: the stage a command's reply belongs to. */
smtp_stage smtpi_cmd_stage(enum smtpi_cmd cmd);
/* pending.c: the oldest reply owed to m's commands, or NULL. */
const struct smtpi_pending *smtpi_pending_of(const struct smtpi_engine *e,
					     const smtp_message *m);
/* pending.c: traces a line if a trace callback is set. */
void smtpi_engine_trace(const struct smtpi_engine *e, smtp_trace_dir dir, const char *line,
			size_t len);

/* auth.c: what an AUTH step leads to. */
enum smtpi_auth_result {
	SMTPI_AUTH_WAIT,           /* a command went out; its reply is awaited */
	SMTPI_AUTH_DONE,           /* authenticated (or AUTH optional and not offered) */
	SMTPI_AUTH_REFUSED,        /* refused or impossible: *cause says why */
	SMTPI_AUTH_BROKEN          /* a reply AUTH cannot get now: cause->detail */
};
/* Starts AUTH after EHLO (and TLS). */
enum smtpi_auth_result smtpi_auth_begin(struct smtpi_engine *e, struct smtpi_cause *cause,
					int *nomem);
/* Handles a reply to an AUTH command or response. */
enum smtpi_auth_result smtpi_auth_reply(struct smtpi_engine *e, const struct smtpi_reply *r,
					struct smtpi_cause *cause, int *nomem);
/* Wipes the exchange's state. */
void smtpi_auth_end(struct smtpi_engine *e);

/* transaction.c */
/* Writes what the transactions may write now (RFC 2920 groups). Returns 0 or
   SMTP_ENOMEM. */
int smtpi_tx_pump(struct smtpi_engine *e);
/* A reply to a transaction's command. Returns 0, or the error that must end the
   connection: SMTP_EPROTOCOL (e->why says why), SMTP_ENOMEM. */
int smtpi_tx_on_reply(struct smtpi_engine *e, const struct smtpi_pending *p,
		      const struct smtpi_reply *r);
/* The connection ended (or can take no transaction): every submitted message is
   decided by cause where undecided, at the stage it waited in, and finished. */
void smtpi_tx_abort_all(struct smtpi_engine *e, const struct smtpi_cause *cause);
/* Records a connection-level reply or error in the reports of the messages with
   commands in flight. */
void smtpi_tx_note_all(struct smtpi_engine *e, const struct smtpi_reply *r, int err,
		       const char *detail);
/* The stage a message waits in. */
smtp_stage smtpi_tx_waiting_stage(const struct smtpi_engine *e, const smtp_message *m);

/* transaction.c: appends content while the output is low and handles its end or
   failure. Returns 0 or SMTP_ENOMEM. */
int smtpi_tx_fill(struct smtpi_engine *e);

/* body_out.c: the content begins (after 354, or after the RCPTs with BDAT). */
void smtpi_body_start(struct smtpi_engine *e, smtp_message *m);
/* body_out.c: results of smtpi_body_fill besides errors */
#define SMTPI_BODY_MORE 0        /* more to come */
#define SMTPI_BODY_END 1         /* the end (".\r\n" or BDAT LAST's chunk) is queued */
/* body_out.c: appends one DATA block or one BDAT chunk (RFC 3030 2). Returns
   SMTPI_BODY_MORE, SMTPI_BODY_END, SMTP_ENOMEM, or the error that ends this message's
   content (*why says why): the reader's error, SMTP_EINVAL for a line over 998
   octets, a NUL octet or 8-bit octets the server cannot take, SMTP_EUTF8 for 8-bit
   header octets without SMTPUTF8. */
int smtpi_body_fill(struct smtpi_engine *e, smtp_message *m, const char **why);
/* body_out.c: whether m's content can be given again from its start, for a resend
   after its attempt failed: in memory, or a reader not read in that attempt or read
   to its end (a reader starts over after its end); not a reader stopped midway. */
int smtpi_body_restartable(const smtp_message *m);

#endif

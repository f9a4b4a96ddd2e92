/* The message object: envelope, content source, report, and the engine's progress
   through its transaction. */
#ifndef SMTPI_MESSAGE_H
#define SMTPI_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"
#include "wire/arena.h"
#include "wire/body.h"
#include "smtp.h"

/* A transaction (RFC 5321 3.3) as one explicit state object: its state says what
   it waits for; every reply to its commands goes through smtpi_tx_on_reply, which
   switches on it; a failure has one state (FAILED) with one way out: the replies still
   owed are drained, and the session sends RSET before the next MAIL on this
   connection (or closes it). */
enum smtpi_tx_state {
	SMTPI_TX_IDLE = 0,   /* not submitted, or its report is final */
	SMTPI_TX_QUEUED,     /* submitted; no command written yet */
	SMTPI_TX_ENVELOPE,   /* MAIL written: RCPTs and DATA being written and answered */
	SMTPI_TX_BODY,       /* the content is being written (after 354, or BDAT chunks) */
	SMTPI_TX_FINAL,      /* the end of the content is written: awaiting the final
				reply (LMTP: one per accepted recipient, RFC 2033 4.2) */
	SMTPI_TX_FAILED      /* every recipient of the transaction is decided and nothing
				more of it is written; waiting for the replies still owed */
};

struct smtpi_tx {
	enum smtpi_tx_state state;
	size_t first, end;          /* recipients of this transaction (RFC 9422 RCPTMAX) */
	size_t rcpt_written;        /* RCPT commands written */
	size_t rcpt_replies;        /* RCPT replies received */
	size_t rcpt_ok;             /* RCPTs answered 2xx */
	size_t owed;                /* replies owed to commands written */
	int mail_refused;           /* MAIL got 4xx or 5xx */
	int data_written;           /* DATA is written, or BDAT chunks began */
	size_t chunks;              /* BDAT chunks written before the last */
	int bdat;                   /* the content goes in BDAT chunks (RFC 3030) */
	int end_queued;             /* the end of the content is in the output */
	uint64_t end_pos;           /* the output position just past it */
	int end_answered;           /* a 421 answered the end of data (not "maybe") */
	int end_broken;             /* the end of data's reply broke the rules: it
				       says nothing of whether the message was taken */
	int lone_dot;               /* the end carried no content (the transaction had
				       failed when DATA got 354, RFC 2920 3.1) */
	int data_owed;              /* DATA is written and its reply has not come */
	int checked;                /* the checks before the first MAIL passed */
	int reader_read;            /* the reader gave content in this attempt */
	uint64_t seq;               /* submission order, for resuming RCPTMAX parts */
};

/* One recipient. addr and orcpt live in the message's arena. */
struct smtpi_rcpt {
	const char *addr;
	const char *orcpt;          /* RFC 3461 ORCPT address, or NULL */
	char *wire;                 /* the A-label form when the server lacks SMTPUTF8, or
				       NULL (the address goes as given) */
	unsigned flags;             /* SMTPI_ADDR_* */
	unsigned notify;            /* SMTP_NOTIFY_*, 0 = the server's default */
};

struct smtp_message {
	char *from;
	unsigned from_flags;        /* SMTPI_ADDR_* of the reverse path */
	struct smtpi_arena strings; /* the recipients and their addresses: added, never
				       replaced, so one chunk serves a usual message */
	struct smtpi_rcpt *rcpt;
	size_t nrcpts, rcpt_cap;
	const unsigned char *data;
	size_t data_len;
	smtp_read_fn reader;
	void *reader_ud;
	int long_lines;
	smtp_body_type body_type;
	uint64_t size_hint;
	int eight_bit;              /* in-memory content has octets >= 0x80 */
	smtp_dsn_ret dsn_ret;
	char *envid;
	int dsn_required;
	int requiretls;
	char *wire_from;            /* the A-label form when the server lacks SMTPUTF8 */
	struct smtpi_body_facts facts; /* in-memory content, scanned at submit */
	int header_utf8;            /* in-memory content: 8-bit octets in the header block */
	int smtputf8;               /* the caller declared the content needs SMTPUTF8 */
	struct smtp_report report;

	/* engine state, valid while submitted */
	struct smtpi_tx tx;
	struct smtp_message *next;  /* the session's queue */
	size_t data_off;            /* body bytes of data[] consumed */
	int reader_done;
};

/* Whether any address of the message needs SMTPUTF8 (RFC 6531 3.4). */
int smtpi_message_needs_utf8(const smtp_message *m);
/* Whether any address has a non-ASCII domain (U-labels). */
int smtpi_message_has_utf8_domain(const smtp_message *m);
/* Whether the caller asked for any DSN parameter. */
int smtpi_message_wants_dsn(const smtp_message *m);

#endif

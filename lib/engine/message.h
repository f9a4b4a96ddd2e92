/* The message object: envelope, content source, report, and the engine's progress
   through its transaction. */
#ifndef SMTPI_MESSAGE_H
#define SMTPI_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"
#include "smtp.h"

/* Where the engine stands in a message's transaction (RFC 5321 3.3). */
enum smtpi_msg_cursor {
	SMTPI_MSG_IDLE = 0,     /* not queued */
	SMTPI_MSG_QUEUED,       /* waiting for its turn */
	SMTPI_MSG_MAIL,         /* MAIL is next */
	SMTPI_MSG_RCPT,         /* RCPT number next_rcpt is next */
	SMTPI_MSG_DATA,         /* DATA is next */
	SMTPI_MSG_WAIT_DATA,    /* DATA sent, waiting for 354 */
	SMTPI_MSG_BODY,         /* the body is being written */
	SMTPI_MSG_WAIT_FINAL,   /* the final dot went out; waiting for its reply(ies) */
	SMTPI_MSG_RSET,         /* the transaction failed; RSET is next */
	SMTPI_MSG_WAIT_RSET,    /* RSET sent */
	SMTPI_MSG_DONE          /* the report is final */
};

struct smtp_message {
	char *from;
	unsigned from_flags;        /* SMTPI_ADDR_* of the reverse path */
	char **rcpts;
	unsigned *rcpt_flags;
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
	unsigned *notify;           /* per recipient, 0 = default */
	char **orcpt;               /* per recipient, NULL = none */
	int requiretls;
	char *wire_from;            /* A-label forms when the server lacks SMTPUTF8, */
	char **wire_rcpts;          /* else NULL (the addresses go as given) */
	struct smtp_report report;

	/* engine state, valid while queued */
	enum smtpi_msg_cursor cursor;
	struct smtp_message *next;  /* the session's queue */
	size_t tx_first, tx_end;    /* recipients of the current transaction (RCPTMAX) */
	size_t next_rcpt;           /* RCPT commands written */
	size_t rcpt_replies;        /* RCPT replies received in this transaction */
	size_t rcpt_ok;             /* RCPTs accepted in this transaction */
	size_t final_replies;       /* LMTP: replies to the final dot received */
	int tx_failed;              /* this transaction failed; RSET follows */
	int bdat;                   /* this transaction sends BDAT chunks */
	smtp_stage fail_stage;      /* the last refusal's stage */
	int fail_temp;              /* a refusal was temporary (4xx) */
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

/* The message object: envelope, content source, report, and the engine's progress
   through its transaction. */
#ifndef SMTPI_MESSAGE_H
#define SMTPI_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
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
	struct smtp_report report;

	/* engine state, valid while queued */
	enum smtpi_msg_cursor cursor;
	struct smtp_message *next;  /* the session's queue */
	size_t next_rcpt;           /* RCPT commands written */
	size_t rcpt_replies;        /* RCPT replies received */
	size_t rcpt_ok;             /* RCPTs accepted */
	size_t final_replies;       /* LMTP: replies to the final dot received */
	int tempfail;               /* a 4xx decided the outcome so far */
	size_t data_off;            /* body bytes of data[] consumed */
	int reader_done;
};

/* Whether any address of the message needs SMTPUTF8 (RFC 6531 3.4). */
int smtpi_message_needs_utf8(const smtp_message *m);

#endif

/* Incremental SMTP reply parser (RFC 5321 4.2, enhanced codes RFC 2034 / RFC 3463).
   Pure: no I/O, no allocation. Bytes may arrive split at any point. */
#ifndef SMTPI_REPLY_H
#define SMTPI_REPLY_H

#include <stddef.h>

/* Bounds. RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers send
   longer explanatory lines, so we accept up to SMTPI_REPLY_MAX_LINE (with CRLF). */
#define SMTPI_REPLY_MAX_LINE 2048
#define SMTPI_REPLY_MAX_LINES 128
#define SMTPI_REPLY_MAX_TEXT 8192

/* One complete reply. */
struct smtpi_reply {
	int code;             /* 200..559 */
	int enh_class;        /* 2, 4 or 5; 0 when the reply carried no enhanced code */
	int enh_subject;      /* 0..999 */
	int enh_detail;       /* 0..999 */
	char enh_text[12];    /* "C.S.D", or "" (set when the reply is complete) */
	size_t nlines;        /* lines in the reply, >= 1 */
	size_t text_len;      /* strlen(text) */
	char text[SMTPI_REPLY_MAX_TEXT + 1];
	/* text: each line's text after "NNN-" / "NNN ", enhanced code and its following
	   space removed, lines joined by '\n', NUL-terminated. NUL bytes received from the
	   server are dropped. */
};

struct smtpi_reply_parser {
	int state;            /* parser internals */
	size_t line_len;      /* octets of the current line so far */
	size_t line_start;    /* offset in reply.text where the current line's text begins */
	int line_code;        /* code being read on the current line */
	int digits;
	int last;             /* current line is the last line (space separator) */
	struct smtpi_reply reply;
};

enum {
	SMTPI_REPLY_MORE = 0, /* all input consumed, reply incomplete */
	SMTPI_REPLY_DONE = 1  /* a reply is complete in p->reply */
};

/* Resets the parser for a new reply. */
void smtpi_reply_init(struct smtpi_reply_parser *p);

/* Feeds len bytes. Sets *consumed to the bytes used (less than len only when a reply
   completed: the rest belongs to the next reply). Returns SMTPI_REPLY_MORE,
   SMTPI_REPLY_DONE, or SMTP_EPROTOCOL (and the parser must be re-initialised) for:
   a non-digit code, a code outside 200..559 (first digit 2-5, second 0-5),
   a separator other than ' ' or '-', differing codes across lines, a bare CR not
   followed by LF, a line over SMTPI_REPLY_MAX_LINE octets, more than
   SMTPI_REPLY_MAX_LINES lines, more than SMTPI_REPLY_MAX_TEXT octets of text, a bare
   LF (RFC 5321 2.3.8: a line ends only at CRLF, so no server text can smuggle a
   second reply). After SMTPI_REPLY_DONE, p->reply stays valid until
   the next call, which starts a new reply (calling smtpi_reply_init first is optional). */
int smtpi_reply_parse(struct smtpi_reply_parser *p, const char *buf, size_t len,
		      size_t *consumed);

/* Formats the enhanced code as "C.S.D" into buf (at least 12 bytes); returns buf, or
   NULL when the reply has none. */
const char *smtpi_reply_enhanced(const struct smtpi_reply *r, char *buf, size_t len);

#endif

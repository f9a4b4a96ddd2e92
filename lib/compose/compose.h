/* The message builder's internals: what the setters collect (struct smtp_compose),
   the part sources, and the plan a message is streamed from. */
#ifndef SMTPI_COMPOSE_H
#define SMTPI_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "compose/mime.h"
#include "smtp.h"
#include "wire/buf.h"

/* Items per list (recipients, headers, attachments, references, signatures): far
   beyond any real message, small enough to bound memory. */
#define SMTPI_COMPOSE_MAX_ITEMS 10000
#define SMTPI_COMPOSE_MAX_SIGNERS 8
/* Default bound of what one-shot readers may spool for DKIM (64 MiB). */
#define SMTPI_SPOOL_DEFAULT ((uint64_t)64 << 20)

struct smtpi_mailbox {
	char *addr;   /* without angle brackets */
	char *name;   /* NULL: none */
};

struct smtpi_list {
	void *v;
	size_t n, cap;
};

enum smtpi_src_kind { SMTPI_SRC_MEM, SMTPI_SRC_FILE, SMTPI_SRC_READER };

/* Where a part's octets come from. A file is read with pread at any offset, so it can
   be read twice (for the DKIM body hash, then for sending); a reader only once, in
   order, its octets kept in mem (the spool) when they are needed twice. */
struct smtpi_source {
	enum smtpi_src_kind kind;
	unsigned char *mem;   /* MEM: the copy; READER: the spool */
	size_t mem_len, mem_cap;
	int fd;                /* FILE, else -1 */
	uint64_t size;        /* MEM, FILE, and a READER with a declared size */
	int size_known;
	smtp_read_fn fn;
	void *ud;
	uint64_t consumed;    /* READER: octets the reader gave so far */
	int spooled;          /* READER: the whole content is in mem */
	int ended;            /* READER: it returned 0 */
};

struct smtpi_part {
	struct smtpi_source src;
	char *filename;       /* NULL: none */
	char *type;           /* the Content-Type value */
	char *cid;            /* inline parts: the Content-ID without brackets */
};

/* Frees a part, its copy or spool, and closes its file. */
void smtpi_part_free(struct smtpi_part *p);

/* Deterministic generator for the tests (seeded), else OpenSSL's RAND_bytes. */
struct smtpi_rng {
	int seeded;
	uint64_t state;
};

struct smtpi_plan;

struct smtp_compose {
	struct smtpi_list box[SMTP_FIELD_BCC + 1];  /* struct smtpi_mailbox, by field */
	char *env_from;
	struct smtpi_list env_rcpts;                 /* char * */
	char *subject;
	int has_date;
	int64_t date;
	int date_offset;                             /* minutes east of UTC */
	char *msgid, *in_reply_to;                   /* without angle brackets */
	struct smtpi_list references;                /* char * */
	struct smtpi_list hdr_names, hdr_values;     /* char * */
	char *text, *html;                           /* CRLF line ends */
	size_t text_len, html_len;
	struct smtpi_list parts;                     /* struct smtpi_part * */
	int utf8, eightbit;
	uint64_t spool_limit;
	smtp_dkim *signers[SMTPI_COMPOSE_MAX_SIGNERS];
	size_t nsigners;
	struct smtpi_rng rng;
	int has_clock;
	int64_t clock;
	struct smtpi_plan *plans;
};

/* Appends a copy of one item of item_size octets (at most SMTPI_COMPOSE_MAX_ITEMS).
   Returns 0, SMTP_EINVAL (full), SMTP_ENOMEM. */
int smtpi_list_push(struct smtpi_list *l, size_t item_size, const void *item);
/* Copies n octets into a new NUL-terminated string, or NULL. */
char *smtpi_strndup(const char *s, size_t n);

/* One segment of the content: octets of the plan's head or body buffer, or a part
   encoded in base64 as it is read. */
struct smtpi_seg {
	int in_head;
	size_t off, len;
	struct smtpi_part *part;
};

/* A position in a plan's segments and the encoder state there. */
struct smtpi_walk {
	size_t seg;
	uint64_t pos;           /* octets of the segment (or source) consumed */
	struct smtpi_b64 b64;
	unsigned char *in, *out;
	size_t out_off, out_len;
	int src_done;
};

/* What one message is streamed from: built by smtp_compose_to_message, owned by the
   compose, independent of later setter calls. */
struct smtpi_plan {
	struct smtpi_plan *next;
	const smtp_message *m;
	struct smtpi_buf head;  /* DKIM-Signature fields, header fields, the empty line */
	struct smtpi_buf body;  /* body octets between the base64 parts */
	struct smtpi_list segs; /* struct smtpi_seg * */
	uint64_t size;          /* the whole message, when size_known */
	int size_known;
	int eight_bit;          /* 8-bit octets anywhere (BODY=8BITMIME, RFC 6152) */
	int utf8_fields;        /* UTF-8 in header fields (SMTPUTF8, RFC 6531 3.4) */
	uint64_t spool_limit;
	struct smtpi_walk send;
	int send_ended;         /* the reader returned its end: the next read restarts */
};

/* Appends the message's header fields, From to MIME-Version (the Content fields are
   the MIME structure's), to out; sets *eight_bit when they hold UTF-8. Returns 0,
   SMTP_EINVAL (no From, a UTF-8 local part outside an SMTPUTF8 message), SMTP_ENOMEM. */
int smtpi_message_fields(smtp_compose *c, struct smtpi_buf *out, int *eight_bit);

/* Builds a plan from the compose: header fields, MIME structure, encoded bodies,
   DKIM signatures (reading every part once for the body hash). Returns 0,
   SMTP_EINVAL (no From, an address needing SMTPUTF8 without smtp_compose_set_utf8,
   a file that changed or a reader that failed), SMTP_ESIZE (a reader beyond the
   spool limit), SMTP_ENOMEM. */
int smtpi_plan_build(smtp_compose *c, struct smtpi_plan *p);
void smtpi_plan_free(struct smtpi_plan *p);

/* The smtp_read_fn of a message (ud: its plan): reads from the plan's send walk,
   and after returning its end starts over (the engine sends the body again for each
   RCPTMAX part of one message, RFC 9422 4.2). */
long smtpi_plan_read(void *ud, void *buf, size_t len);

/* Starts a walk at segment seg. */
void smtpi_walk_start(struct smtpi_walk *w, size_t seg);
/* Copies up to len octets of the plan from the walk's position into buf. Returns
   the count, 0 at the end, or a negative smtp_err. */
long smtpi_walk_read(struct smtpi_plan *p, struct smtpi_walk *w, unsigned char *buf,
		     size_t len, int spool);
void smtpi_walk_free(struct smtpi_walk *w);

/* Copies up to n octets of the source from pos. A reader is called only in order;
   with spool its octets are also kept (within limit). Returns the count, 0 at the
   end, SMTP_EINVAL (a file that shrank, a reader that broke its declared size),
   SMTP_ESTATE (a reader asked again without a spool), SMTP_ESIZE, SMTP_ENOMEM, or
   the reader's own error. */
long smtpi_source_read(struct smtpi_source *s, uint64_t pos, unsigned char *buf, size_t n,
		       int spool, uint64_t limit);

/* Random octets. Returns 0, or SMTP_ENOMEM when the generator fails. */
int smtpi_rng_bytes(struct smtpi_rng *r, unsigned char *out, size_t n);
/* A multipart boundary (RFC 2046 5.1.1), 30 characters starting "=_", which cannot
   occur in quoted-printable or base64 text. out must hold 31 octets. */
int smtpi_boundary(struct smtpi_rng *r, char *out);
/* "<random@domain>" into out (at least SMTPI_MSGID_MAX octets); domain ASCII. */
#define SMTPI_MSGID_MAX 300
int smtpi_message_id(struct smtpi_rng *r, const char *domain, char *out);
/* The RFC 5322 3.3 date-time "Mon, 2 Jan 2006 15:04:05 -0700" into out (at least
   40 octets). */
void smtpi_date_format(int64_t t, int offset_minutes, char *out);
/* The current time and the local zone's offset from UTC in minutes. */
void smtpi_clock_now(int64_t *t, int *offset_minutes);
/* Checks a msg-id (RFC 5322 3.6.4), with or without angle brackets; with
   need_at 0 the "@" part may be missing (Content-ID). On success *start, *len give
   the id without brackets. Returns 0 or SMTP_EINVAL. */
int smtpi_msgid_check(const char *id, int need_at, size_t *start, size_t *len);

/* The domain of an address for the Message-ID: A-labels, or the literal. New
   memory in *out. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
int smtpi_msgid_domain(const char *addr, char **out);

/* Header fields of a message (RFC 5322 2.2) one at a time, line ends CRLF, LF or
   lone CR. */
struct smtpi_hdr_iter {
	const unsigned char *p;
	size_t len, off;
};
/* The next field: *start and *flen (without its last line end) and *nlen, the
   length of its name; returns 0 at the end of the header section (*body_off, if not
   NULL, is then where the body begins), 1 for a field. */
int smtpi_hdr_next(struct smtpi_hdr_iter *it, size_t *start, size_t *flen, size_t *nlen,
		   size_t *body_off);

/* Copies the header section of msg[0..len) into out, every field ending CRLF (line
   ends inside fields too), without the empty line; *body_off is where the body
   begins. Returns 0 or SMTP_ENOMEM. */
int smtpi_header_section_crlf(const void *msg, size_t len, struct smtpi_buf *out,
			      size_t *body_off);

/* Test hook (not public API): fixes the random generator's seed and the clock, so
   that a composition is reproducible byte for byte. */
void smtpi_compose_test_hooks(smtp_compose *c, uint64_t seed, int64_t now);

#endif

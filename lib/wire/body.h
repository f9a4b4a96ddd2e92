/* Message body encoding for DATA and BDAT (RFC 5321 4.5.2, 4.5.3.1.6; RFC 3030).
   Pure and streaming: fed any split of the input, it produces the same output. */
#ifndef SMTPI_BODY_H
#define SMTPI_BODY_H

#include <stddef.h>
#include <stdint.h>

enum smtpi_body_flag {
	SMTPI_BODY_DOTSTUFF = 1u << 0,   /* DATA: double a leading '.', end with ".\r\n" */
	SMTPI_BODY_LONG_LINES = 1u << 1, /* allow lines over 998 octets */
	SMTPI_BODY_BINARY = 1u << 2,     /* BDAT + BINARYMIME: bytes go out untouched */
	SMTPI_BODY_CANONICAL = 1u << 3,  /* the input is known (smtpi_body_facts) to end its
					    lines with CRLF only and to fit the line limit:
					    runs are copied whole, octets are not tracked */
	SMTPI_BODY_DOTFREE = 1u << 4     /* with CANONICAL: no line begins with '.' */
};

/* What one pass over in-memory content finds, before MAIL. */
struct smtpi_body_facts {
	int eight_bit;      /* an octet >= 0x80 */
	int nul;            /* a NUL octet */
	int header_8bit;    /* an octet >= 0x80 before the first empty line */
	int bare;           /* a bare CR or LF (a line end that is not CRLF) */
	int long_line;      /* a line over SMTPI_BODY_MAX_LINE octets (CRLF excluded) */
	int dot_line;       /* a line begins with '.' */
};

/* Longest line, CRLF excluded (RFC 5321 4.5.3.1.6). */
#define SMTPI_BODY_MAX_LINE 998
/* Room smtpi_body_finish needs, and the least dst space smtpi_body_encode accepts. */
#define SMTPI_BODY_MIN_ROOM 8

struct smtpi_body {
	unsigned flags;
	int at_line_start;  /* the next input byte begins a line */
	int pending_cr;     /* the last input byte was a CR whose LF has not been seen */
	size_t line_len;    /* octets of the current line so far */
	int in_header;      /* no empty line seen yet: the input is in the header block */
	int header_8bit;    /* an octet >= 0x80 was seen in the header block (not tracked
			       for CANONICAL input, whose facts are known) */
	int eight_bit;      /* an octet >= 0x80 was seen (likewise) */
	int nul;            /* a NUL octet was seen (likewise) */
	uint64_t in_bytes;  /* input octets consumed */
	uint64_t out_bytes; /* output octets produced */
};

void smtpi_body_init(struct smtpi_body *b, unsigned flags);

/* Scans p[0..n) once: see struct smtpi_body_facts. Line ends are found with memchr
   and the octet classes a block at a time. */
void smtpi_body_facts(const unsigned char *p, size_t n, struct smtpi_body_facts *f);

/* Encodes src into dst: lone LF and lone CR become CRLF; with DOTSTUFF a '.' that
   begins a line is doubled. Stops when src is used up or dst is nearly full; sets
   *consumed and *written. dstcap must be >= SMTPI_BODY_MIN_ROOM. Returns 0, or
   SMTP_EINVAL when a line exceeds SMTPI_BODY_MAX_LINE octets without LONG_LINES
   (nothing of that line beyond the limit is written). With BINARY the bytes are
   copied untouched (only counted and scanned). */
int smtpi_body_encode(struct smtpi_body *b, const unsigned char *src, size_t srclen,
		      size_t *consumed, unsigned char *dst, size_t dstcap, size_t *written);

/* Ends the body: a CRLF when the content did not end with a line end (not in BINARY
   mode), then ".\r\n" with DOTSTUFF. dstcap >= SMTPI_BODY_MIN_ROOM. Returns 0. */
int smtpi_body_finish(struct smtpi_body *b, unsigned char *dst, size_t dstcap,
		      size_t *written);

#endif

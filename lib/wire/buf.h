/* A growable byte buffer for outgoing commands and body blocks: bytes are appended
   at the end and written from the front. */
#ifndef SMTPI_BUF_H
#define SMTPI_BUF_H

#include <stddef.h>

struct smtpi_buf {
	char *data;
	size_t off;  /* first unsent byte */
	size_t len;  /* end of the bytes held */
	size_t cap;
};

/* Makes room for n more bytes at the end. Returns 0 or SMTP_ENOMEM. */
int smtpi_buf_reserve(struct smtpi_buf *b, size_t n);
/* Appends n bytes. Returns 0 or SMTP_ENOMEM. */
int smtpi_buf_append(struct smtpi_buf *b, const void *p, size_t n);
/* Marks n bytes from the front as sent; an emptied buffer restarts at offset 0. */
void smtpi_buf_consume(struct smtpi_buf *b, size_t n);
/* Gives back the memory of an empty buffer that grew beyond its resting size. */
void smtpi_buf_trim(struct smtpi_buf *b);
/* Bytes waiting to be sent. */
static inline size_t smtpi_buf_pending(const struct smtpi_buf *b)
{
	return b->len - b->off;
}
void smtpi_buf_free(struct smtpi_buf *b);

#endif

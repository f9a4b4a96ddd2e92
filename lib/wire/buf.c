#include "wire/buf.h"

#include <stdlib.h>
#include <string.h>

#include "smtp.h"

/* An idle buffer keeps at most this much memory (a few commands' worth). */
#define BUF_RESTING 4096

int smtpi_buf_reserve(struct smtpi_buf *b, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= n)
		return 0;
	if (b->off > 0 && b->cap - (b->len - b->off) >= n) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		return 0;
	}
	size_t need = b->len + n;
	size_t cap = b->cap ? b->cap : 512;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return SMTP_ENOMEM;
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return SMTP_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int smtpi_buf_append(struct smtpi_buf *b, const void *p, size_t n)
{
	int rc = smtpi_buf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void smtpi_buf_consume(struct smtpi_buf *b, size_t n)
{
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
}

void smtpi_buf_trim(struct smtpi_buf *b)
{
	if (b->off == b->len && b->cap > BUF_RESTING) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
		b->off = b->len = 0;
	}
}

void smtpi_buf_free(struct smtpi_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Header fields written unfolded with marked fold points, then folded (RFC 5322
   2.2.3): a fold is a CRLF inserted before white space, so unfolding gives back the
   field exactly. The writers mark only white space where a fold is harmless. */
#include <stdlib.h>
#include <string.h>

#include "compose/mime.h"
#include "smtp.h"

void smtpi_field_text(struct smtpi_field *f, const void *s, size_t n)
{
	if (!f->err && n && smtpi_buf_append(&f->text, s, n) != 0)
		f->err = SMTP_ENOMEM;
}

void smtpi_field_str(struct smtpi_field *f, const char *s)
{
	smtpi_field_text(f, s, strlen(s));
}

void smtpi_field_start(struct smtpi_field *f, const char *name)
{
	f->text.len = f->text.off = 0;
	f->nfolds = 0;
	f->err = 0;
	smtpi_field_str(f, name);
	smtpi_field_text(f, ":", 1);
}

void smtpi_field_space(struct smtpi_field *f)
{
	if (f->err)
		return;
	if (f->nfolds == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		size_t *v = realloc(f->folds, cap * sizeof *v);
		if (!v) {
			f->err = SMTP_ENOMEM;
			return;
		}
		f->folds = v;
		f->cap = cap;
	}
	f->folds[f->nfolds++] = f->text.len;
	smtpi_field_text(f, " ", 1);
}

/* The line starting at start ends at the last fold point that keeps it within 78
   octets, or (when none does) at the first one after start, or at the end. */
static size_t line_end(const struct smtpi_field *f, size_t *k, size_t start)
{
	size_t len = f->text.len, best = 0;
	if (len - start <= SMTPI_LINE_SOFT)
		return len;
	while (*k < f->nfolds && f->folds[*k] <= start)
		(*k)++;
	for (size_t i = *k; i < f->nfolds && f->folds[i] - start <= SMTPI_LINE_SOFT; i++)
		best = f->folds[i];
	if (best)
		return best;
	return *k < f->nfolds ? f->folds[*k] : len;
}

int smtpi_field_fold(struct smtpi_field *f, struct smtpi_buf *out)
{
	int rc = f->err;
	size_t start = 0, k = 0;
	while (!rc && start < f->text.len) {
		size_t end = line_end(f, &k, start);
		if (end - start > SMTPI_LINE_HARD)
			rc = SMTP_EINVAL;
		else if (smtpi_buf_append(out, f->text.data + start, end - start) != 0 ||
			 smtpi_buf_append(out, "\r\n", 2) != 0)
			rc = SMTP_ENOMEM;
		start = end;
	}
	f->text.len = f->text.off = 0;
	f->nfolds = 0;
	f->err = 0;
	return rc;
}

void smtpi_field_free(struct smtpi_field *f)
{
	smtpi_buf_free(&f->text);
	free(f->folds);
	memset(f, 0, sizeof *f);
}

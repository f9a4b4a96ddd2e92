/* The parts of a message: text and HTML bodies, attachments and inline parts from
   memory, files and readers, and reading their sources. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/compose.h"

#define FILENAME_MAX_OCTETS 1000
/* 2^53: sizes stay exact in every language a binding may use. */
#define READER_SIZE_MAX (INT64_C(1) << 53)

/* A text body in CRLF form (LF, CR and CRLF all become CRLF, as on the wire),
   checked to be UTF-8. */
static int set_body(char **slot, size_t *slot_len, const char *s)
{
	if (!s)
		return SMTP_EINVAL;
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n;) {
		size_t len = smtpi_utf8_len((const unsigned char *)s + i, n - i);
		if (len == 0)
			return SMTP_EINVAL;
		extra += (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ||
			 (s[i] == '\r' && s[i + 1] != '\n');
		i += len;
	}
	if (n > SIZE_MAX - extra - 1)
		return SMTP_ENOMEM;
	char *p = malloc(n + extra + 1);
	if (!p)
		return SMTP_ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			p[o++] = '\r';
		p[o++] = s[i];
		if (s[i] == '\r' && s[i + 1] != '\n')
			p[o++] = '\n';
	}
	p[o] = '\0';
	free(*slot);
	*slot = p;
	*slot_len = o;
	return 0;
}

int smtp_compose_set_text(smtp_compose *c, const char *text)
{
	return c ? set_body(&c->text, &c->text_len, text) : SMTP_EINVAL;
}

int smtp_compose_set_html(smtp_compose *c, const char *html)
{
	return c ? set_body(&c->html, &c->html_len, html) : SMTP_EINVAL;
}

static int filename_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > FILENAME_MAX_OCTETS)
		return SMTP_EINVAL;
	return smtpi_utf8_text_check(name, n, 0);
}

/* A new part with its names and type checked and copied; the source is the
   caller's to fill. */
static int part_new(const char *filename, const char *type, const char *cid,
		    struct smtpi_part **out)
{
	size_t s = 0, n = 0;
	if ((filename && filename_check(filename) != 0) ||
	    (type && smtpi_content_type_check(type) != 0) ||
	    (cid && smtpi_msgid_check(cid, 0, &s, &n) != 0))
		return SMTP_EINVAL;
	if (!type)
		type = smtp_mime_type_guess(filename);
	struct smtpi_part *p = calloc(1, sizeof *p);
	if (!p)
		return SMTP_ENOMEM;
	p->src.fd = -1;
	p->type = smtpi_strndup(type, strlen(type));
	p->filename = filename ? smtpi_strndup(filename, strlen(filename)) : NULL;
	p->cid = cid ? smtpi_strndup(cid + s, n) : NULL;
	if (!p->type || (filename && !p->filename) || (cid && !p->cid)) {
		free(p->type);
		free(p->filename);
		free(p->cid);
		free(p);
		return SMTP_ENOMEM;
	}
	*out = p;
	return 0;
}

void smtpi_part_free(struct smtpi_part *p)
{
	if (p->src.fd >= 0)
		close(p->src.fd);
	free(p->src.mem);
	free(p->type);
	free(p->filename);
	free(p->cid);
	free(p);
}

static int part_push(smtp_compose *c, struct smtpi_part *p)
{
	int rc = smtpi_list_push(&c->parts, sizeof p, &p);
	if (rc)
		smtpi_part_free(p);
	return rc;
}

static int add_memory(smtp_compose *c, const void *data, size_t len, const char *filename,
		      const char *type, const char *cid)
{
	struct smtpi_part *p;
	if (!c || (!data && len))
		return SMTP_EINVAL;
	int rc = part_new(filename, type, cid, &p);
	if (rc)
		return rc;
	p->src.kind = SMTPI_SRC_MEM;
	p->src.size = p->src.mem_len = len;
	p->src.size_known = 1;
	if (len && !(p->src.mem = malloc(len))) {
		smtpi_part_free(p);
		return SMTP_ENOMEM;
	}
	if (len)
		memcpy(p->src.mem, data, len);
	return part_push(c, p);
}

static int add_file(smtp_compose *c, const char *path, const char *filename, const char *type,
		    const char *cid)
{
	struct smtpi_part *p;
	if (!c || !path)
		return SMTP_EINVAL;
	if (!filename) {
		const char *slash = strrchr(path, '/');
		filename = slash ? slash + 1 : path;
	}
	int rc = part_new(filename, type, cid, &p);
	if (rc)
		return rc;
	struct stat st;
	p->src.kind = SMTPI_SRC_FILE;
	p->src.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->src.fd < 0 || fstat(p->src.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		smtpi_part_free(p);
		return SMTP_EINVAL;
	}
	p->src.size = (uint64_t)st.st_size;
	p->src.size_known = 1;
	return part_push(c, p);
}

int smtp_compose_add_attachment(smtp_compose *c, const void *data, size_t len,
				const char *filename, const char *content_type)
{
	return add_memory(c, data, len, filename, content_type, NULL);
}

int smtp_compose_add_attachment_file(smtp_compose *c, const char *path, const char *filename,
				     const char *content_type)
{
	return add_file(c, path, filename, content_type, NULL);
}

int smtp_compose_add_attachment_reader(smtp_compose *c, smtp_read_fn fn, void *ud,
				       int64_t size, const char *filename,
				       const char *content_type)
{
	struct smtpi_part *p;
	if (!c || !fn || size < -1 || size > READER_SIZE_MAX)
		return SMTP_EINVAL;
	int rc = part_new(filename, content_type, NULL, &p);
	if (rc)
		return rc;
	p->src.kind = SMTPI_SRC_READER;
	p->src.fn = fn;
	p->src.ud = ud;
	p->src.size_known = size >= 0;
	p->src.size = size >= 0 ? (uint64_t)size : 0;
	return part_push(c, p);
}

int smtp_compose_add_inline(smtp_compose *c, const void *data, size_t len,
			    const char *content_id, const char *content_type)
{
	return content_id ? add_memory(c, data, len, NULL, content_type, content_id)
			  : SMTP_EINVAL;
}

int smtp_compose_add_inline_file(smtp_compose *c, const char *path, const char *content_id,
				 const char *content_type)
{
	return content_id ? add_file(c, path, NULL, content_type, content_id) : SMTP_EINVAL;
}

static long from_memory(const unsigned char *mem, size_t len, uint64_t pos, unsigned char *buf,
			size_t n)
{
	if (pos >= len)
		return 0;
	size_t k = len - (size_t)pos < n ? len - (size_t)pos : n;
	memcpy(buf, mem + pos, k);
	return (long)k;
}

static int spool_add(struct smtpi_source *s, const unsigned char *p, size_t n, uint64_t limit)
{
	if ((uint64_t)s->mem_len + n > limit)
		return SMTP_ESIZE;
	if (s->mem_len + n > s->mem_cap) {
		size_t cap = s->mem_cap ? s->mem_cap : 65536;
		while (cap < s->mem_len + n)
			cap *= 2;
		if (cap > limit)
			cap = (size_t)limit;
		unsigned char *m = realloc(s->mem, cap);
		if (!m)
			return SMTP_ENOMEM;
		s->mem = m;
		s->mem_cap = cap;
	}
	memcpy(s->mem + s->mem_len, p, n);
	s->mem_len += n;
	return 0;
}

static long from_reader(struct smtpi_source *s, uint64_t pos, unsigned char *buf, size_t n,
			int spool, uint64_t limit)
{
	if (s->spooled)
		return from_memory(s->mem, s->mem_len, pos, buf, n);
	if (pos != s->consumed)
		return SMTP_ESTATE;
	if (s->ended)
		return 0;
	long r = s->fn(s->ud, buf, n);
	if (r < 0)
		return r;
	if ((size_t)r > n)
		return SMTP_EINVAL;
	if (r == 0) {
		s->ended = 1;
		s->spooled = spool;
		return s->size_known && s->consumed != s->size ? SMTP_EINVAL : 0;
	}
	/* a reader that gives more than it declared would break the SIZE hint */
	if (s->size_known && s->consumed + (uint64_t)r > s->size)
		return SMTP_EINVAL;
	if (spool) {
		int rc = spool_add(s, buf, (size_t)r, limit);
		if (rc)
			return rc;
	}
	s->consumed += (uint64_t)r;
	return r;
}

long smtpi_source_read(struct smtpi_source *s, uint64_t pos, unsigned char *buf, size_t n,
		       int spool, uint64_t limit)
{
	if (s->kind == SMTPI_SRC_MEM)
		return from_memory(s->mem, s->mem_len, pos, buf, n);
	if (s->kind == SMTPI_SRC_READER)
		return from_reader(s, pos, buf, n, spool, limit);
	if (pos >= s->size)
		return 0;
	size_t k = s->size - pos < n ? (size_t)(s->size - pos) : n;
	ssize_t r;
	do
		r = pread(s->fd, buf, k, (off_t)pos);
	while (r < 0 && errno == EINTR);
	/* a file that shrank no longer matches the sizes already declared */
	return r > 0 ? (long)r : SMTP_EINVAL;
}

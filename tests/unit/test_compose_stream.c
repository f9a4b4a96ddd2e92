/* Streaming a composed message: any read size gives the same octets, the SIZE hint
   is the exact length, files are read where they are (and refused when they
   change), readers once (spooled for DKIM within the limit), the reader starts over
   after its end, and a composition is reproducible byte for byte. */
#include <openssl/pem.h>
#include <unistd.h>

#include "compose_util.h"

static smtp_compose *with_parts(uint64_t seed)
{
	smtp_compose *c = cu_new(seed);
	CHECK_INT(smtp_compose_set_from(c, "a@example.org", "A"), 0);
	CHECK_INT(smtp_compose_add_to(c, "b@example.org", NULL), 0);
	CHECK_INT(smtp_compose_set_subject(c, "parts"), 0);
	CHECK_INT(smtp_compose_set_text(c, "text\n"), 0);
	CHECK_INT(smtp_compose_set_html(c, "<b>html</b>\n"), 0);
	return c;
}

static char *tmp_file(const unsigned char *data, size_t n)
{
	char *path = malloc(64);
	snprintf(path, 64, "/tmp/compose-test.XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, data, n) == (ssize_t)n);
	close(fd);
	return path;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

/* Reads a whole plan with reads of step octets. */
static unsigned char *walk_all(struct smtpi_plan *p, size_t step, size_t *len, long *err)
{
	struct smtpi_buf b = {0};
	unsigned char *blk = malloc(step);
	long n;
	*err = 0;
	while ((n = smtpi_plan_read(p, blk, step)) > 0)
		smtpi_buf_append(&b, blk, (size_t)n);
	if (n < 0)
		*err = n;
	free(blk);
	*len = b.len;
	return (unsigned char *)b.data;
}

static void test_any_read_size(void)
{
	smtp_compose *c = with_parts(21);
	unsigned char *data = pattern(200000, 1);
	char *path = tmp_file(data, 200000);
	CHECK_INT(smtp_compose_add_attachment_file(c, path, NULL, NULL), 0);
	CHECK_INT(smtp_compose_add_attachment(c, data, 5000, "mem.bin", NULL), 0);
	struct smtpi_plan *p = calloc(1, sizeof *p);
	CHECK_INT(smtpi_plan_build(c, p), 0);
	CHECK(p->size_known);
	size_t steps[] = {65536, 1, 13, 57, 76, 78, 4096};
	size_t len0 = 0;
	long err;
	unsigned char *first = walk_all(p, steps[0], &len0, &err);
	CHECK_INT(err, 0);
	CHECK_INT(len0, p->size);
	for (size_t i = 1; i < sizeof steps / sizeof steps[0]; i++) {
		size_t len;
		unsigned char *again = walk_all(p, steps[i], &len, &err);
		CHECK_INT(err, 0);
		CHECK_MEM(again, len, first, len0);
		free(again);
	}
	/* the file attachment decodes to the file, byte for byte */
	size_t ps, pn, dl;
	CHECK_INT(cu_part((char *)first, len0, "1", &ps, &pn), 0);
	char *d = cu_decoded((char *)first + ps, pn, &dl);
	CHECK_MEM(d, dl, data, 200000);
	char *cd = md_field((char *)first + ps, pn, "Content-Disposition");
	char *fn = md_param(cd, "filename");
	CHECK_STR(fn, strrchr(path, '/') + 1);
	CHECK(cu_lines_ok((char *)first, len0, 78));
	free(fn);
	free(cd);
	free(d);
	free(first);
	smtpi_plan_free(p);
	unlink(path);
	free(path);
	free(data);
	smtp_compose_free(c);
}

/* A file that shrank after it was added fails the message, not a short part. */
static void test_file_changed(void)
{
	smtp_compose *c = with_parts(22);
	unsigned char *data = pattern(10000, 2);
	char *path = tmp_file(data, 10000);
	CHECK_INT(smtp_compose_add_attachment_file(c, path, "f.bin", "application/x-test"), 0);
	CHECK_INT(truncate(path, 100), 0);
	unsigned char *out;
	size_t len;
	CHECK_INT(smtp_compose_render(c, &out, &len), SMTP_EINVAL);
	CHECK(out == NULL && len == 0);
	CHECK_INT(smtp_compose_render(NULL, &out, &len), SMTP_EINVAL);
	CHECK_INT(smtp_compose_render(c, NULL, &len), SMTP_EINVAL);
	CHECK_INT(smtp_compose_add_attachment_file(c, "/nonexistent/file", NULL, NULL), SMTP_EINVAL);
	CHECK_INT(smtp_compose_add_attachment_file(c, "/tmp", NULL, NULL), SMTP_EINVAL);
	unlink(path);
	free(path);
	free(data);
	smtp_compose_free(c);
}

struct feed {
	const unsigned char *data;
	size_t len, off, chunk;
};

static long feed_read(void *ud, void *buf, size_t len)
{
	struct feed *f = ud;
	size_t k = f->len - f->off;
	k = k < len ? k : len;
	k = k < f->chunk ? k : f->chunk;
	memcpy(buf, f->data + f->off, k);
	f->off += k;
	return (long)k;
}

/* A message with a reader attachment of declared size (-1: unknown), planned. */
static struct smtpi_plan *reader_plan(smtp_compose **c, uint64_t seed, struct feed *f,
				      int64_t size)
{
	*c = with_parts(seed);
	CHECK_INT(smtp_compose_add_attachment_reader(*c, feed_read, f, size, "r.bin", NULL), 0);
	struct smtpi_plan *p = calloc(1, sizeof *p);
	CHECK_INT(smtpi_plan_build(*c, p), 0);
	return p;
}

static void test_reader_attachment(void)
{
	unsigned char *data = pattern(100000, 3);
	/* unknown size: no SIZE hint; the part decodes to what the reader gave */
	struct feed f = {data, 100000, 0, 777};
	smtp_compose *c;
	struct smtpi_plan *p = reader_plan(&c, 23, &f, -1);
	CHECK(!p->size_known);
	size_t len, ps, pn, dl;
	long err;
	unsigned char *m = walk_all(p, 65536, &len, &err);
	CHECK_INT(err, 0);
	CHECK_INT(cu_part((char *)m, len, "1", &ps, &pn), 0);
	char *d = cu_decoded((char *)m + ps, pn, &dl);
	CHECK_MEM(d, dl, data, 100000);
	free(d);
	free(m);
	/* a one-shot reader cannot be read a second time */
	m = walk_all(p, 65536, &len, &err);
	CHECK_INT(err, SMTP_ESTATE);
	free(m);
	smtpi_plan_free(p);
	smtp_compose_free(c);

	/* declared size: the SIZE hint is exact; a reader giving more is refused */
	struct feed g = {data, 100000, 0, 4096};
	p = reader_plan(&c, 24, &g, 100000);
	CHECK(p->size_known);
	m = walk_all(p, 65536, &len, &err);
	CHECK_INT(err, 0);
	CHECK_INT(len, p->size);
	free(m);
	smtpi_plan_free(p);
	smtp_compose_free(c);
	struct feed h = {data, 100000, 0, 4096};
	c = with_parts(25);
	CHECK_INT(smtp_compose_add_attachment_reader(c, feed_read, &h, 99999, "r.bin", NULL), 0);
	unsigned char *out;
	CHECK_INT(smtp_compose_render(c, &out, &len), SMTP_EINVAL);
	CHECK_INT(smtp_compose_add_attachment_reader(c, feed_read, &h, -2, "r.bin", NULL),
		  SMTP_EINVAL);
	smtp_compose_free(c);
	free(data);
}

/* A signer with a key made now (no key is kept in the repository). */
static smtp_dkim *ed25519_signer(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	CHECK(kc && EVP_PKEY_keygen_init(kc) == 1 && EVP_PKEY_keygen(kc, &k) == 1);
	EVP_PKEY_CTX_free(kc);
	BIO *b = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
	char *pem;
	long n = BIO_get_mem_data(b, &pem);
	smtp_dkim *d = smtp_dkim_new();
	CHECK_INT(smtp_dkim_set_domain(d, "example.org", "ed"), 0);
	CHECK_INT(smtp_dkim_set_key_pem(d, pem, (size_t)n), 0);
	BIO_free(b);
	EVP_PKEY_free(k);
	return d;
}

/* With DKIM a one-shot reader is spooled (within the limit) and sent from there. */
static void test_reader_spooled_for_dkim(void)
{
	unsigned char *data = pattern(300000, 4);
	smtp_dkim *d = ed25519_signer();
	struct feed f = {data, 300000, 0, 1000};
	smtp_compose *c = with_parts(26);
	CHECK_INT(smtp_compose_add_attachment_reader(c, feed_read, &f, -1, "r.bin", NULL), 0);
	CHECK_INT(smtp_compose_add_dkim(c, d), 0);
	struct smtpi_plan *p = calloc(1, sizeof *p);
	CHECK_INT(smtpi_plan_build(c, p), 0);
	CHECK(p->size_known);
	CHECK_INT(f.off, 300000);
	size_t len;
	long err;
	for (int pass = 0; pass < 2; pass++) {
		unsigned char *m = walk_all(p, 65536, &len, &err);
		CHECK_INT(err, 0);
		CHECK_INT(len, p->size);
		CHECK(memmem(m, len, "DKIM-Signature: v=1; a=ed25519-sha256;", 38) == m);
		free(m);
	}
	smtpi_plan_free(p);
	smtp_compose_free(c);

	struct feed g = {data, 300000, 0, 1000};
	c = with_parts(27);
	CHECK_INT(smtp_compose_set_spool_limit(c, 100000), 0);
	CHECK_INT(smtp_compose_add_attachment_reader(c, feed_read, &g, -1, "r.bin", NULL), 0);
	CHECK_INT(smtp_compose_add_dkim(c, d), 0);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), SMTP_ESIZE);
	smtp_message_free(m);
	smtp_compose_free(c);
	smtp_dkim_free(d);
	free(data);
}

/* After its end the reader starts over (the engine sends the body once per RCPTMAX
   part); smtp_compose_rewind starts it over at any point. */
static void test_reader_restarts(void)
{
	smtp_compose *c = with_parts(28);
	CHECK_INT(smtp_compose_add_attachment(c, "abc", 3, "a.txt", NULL), 0);
	struct smtpi_plan *p = calloc(1, sizeof *p);
	CHECK_INT(smtpi_plan_build(c, p), 0);
	size_t l1, l2;
	long err;
	unsigned char *a = walk_all(p, 100, &l1, &err);
	unsigned char *b = walk_all(p, 100, &l2, &err);
	CHECK_MEM(a, l1, b, l2);
	/* half a message, then the end comes only after a full second walk */
	unsigned char blk[50];
	CHECK_INT(smtpi_plan_read(p, blk, sizeof blk), 50);
	free(b);
	b = walk_all(p, 100, &l2, &err);
	CHECK_INT(l2, l1 - 50);
	free(a);
	free(b);
	smtpi_plan_free(p);

	/* through a message: half of it read, rewound, then read whole */
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	struct smtpi_plan *mp = c->plans;
	CHECK(mp && mp->m == m);
	CHECK_INT(smtpi_plan_read(mp, blk, sizeof blk), 50);
	CHECK_INT(smtp_compose_rewind(c, m), 0);
	a = walk_all(mp, 100, &l1, &err);
	CHECK_INT(l1, mp->size);
	CHECK(memcmp(a, "From: ", 6) == 0);
	free(a);
	smtp_message_free(m);
	smtp_compose_free(c);
}

static char *sign_and_compose(uint64_t seed, const smtp_dkim *d, size_t *n)
{
	smtp_compose *c = with_parts(seed);
	CHECK_INT(smtp_compose_add_attachment(c, "attached", 8, "a.bin", NULL), 0);
	CHECK_INT(smtp_compose_add_inline(c, "img", 3, "i@x", "image/png"), 0);
	CHECK_INT(smtp_compose_add_dkim(c, d), 0);
	int rc;
	char *m = cu_bytes(c, n, &rc);
	CHECK_INT(rc, 0);
	smtp_compose_free(c);
	return m;
}

/* Fixed seed and clock: the same octets, DKIM signature included (Ed25519 is
   deterministic); another seed changes the boundaries and the Message-ID. */
static void test_reproducible(void)
{
	smtp_dkim *d = ed25519_signer();
	size_t n1, n2, n3;
	char *m1 = sign_and_compose(31, d, &n1);
	char *m2 = sign_and_compose(31, d, &n2);
	char *m3 = sign_and_compose(32, d, &n3);
	CHECK_MEM(m1, n1, m2, n2);
	CHECK(n1 != n3 || memcmp(m1, m3, n1) != 0);
	char *id1 = md_field(m1, n1, "Message-ID"), *id3 = md_field(m3, n3, "Message-ID");
	CHECK(strcmp(id1, id3) != 0);
	char *t = strstr(m1, " t=");
	CHECK(t && strncmp(t, " t=1700000000;", 14) == 0);
	free(id1);
	free(id3);
	free(m1);
	free(m2);
	free(m3);
	smtp_dkim_free(d);
}

int main(void)
{
	RUN(test_any_read_size);
	RUN(test_file_changed);
	RUN(test_reader_attachment);
	RUN(test_reader_spooled_for_dkim);
	RUN(test_reader_restarts);
	RUN(test_reproducible);
	return CHECK_DONE("test_compose_stream");
}

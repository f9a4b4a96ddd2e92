/* Body encoder tests: fixed vectors fed at every split point and through every small
   dst capacity, and random inputs compared with a byte-at-a-time reference. */
#include <stdint.h>
#include <stdlib.h>

#include "wire/body.h"
#include "check.h"
#include "smtp.h"

#define DOT SMTPI_BODY_DOTSTUFF
#define LONG SMTPI_BODY_LONG_LINES
#define BIN SMTPI_BODY_BINARY

#define GUARD 16
#define GUARD_BYTE 0xa5

struct result {
	int rc;
	unsigned char *out;
	size_t len;
	int eight_bit, nul;
	uint64_t in_bytes, out_bytes;
};

static void result_free(struct result *r)
{
	free(r->out);
	r->out = NULL;
}

/* The encoding spelled out one byte at a time. */
static struct result reference(unsigned flags, const unsigned char *in, size_t n)
{
	struct result r = {0, malloc(2 * n + 8), 0, 0, 0, 0, 0};
	int at_start = 1, pending_cr = 0;
	size_t line = 0, i;
	if (flags & DOT)
		flags &= ~(unsigned)BIN;
	for (i = 0; i < n; i++) {
		unsigned char c = in[i];
		if (c >= 0x80)
			r.eight_bit = 1;
		if (c == 0)
			r.nul = 1;
		if (flags & BIN) {
			r.out[r.len++] = c;
			continue;
		}
		if (pending_cr && c == '\n') {
			pending_cr = 0;
			continue;
		}
		pending_cr = 0;
		if (c == '\r' || c == '\n') {
			r.out[r.len++] = '\r';
			r.out[r.len++] = '\n';
			at_start = 1;
			line = 0;
			pending_cr = c == '\r';
			continue;
		}
		if (!(flags & LONG) && line == 998) {
			r.rc = SMTP_EINVAL;
			r.eight_bit = r.nul = -1; /* not compared after an error */
			break;
		}
		if (at_start && (flags & DOT) && c == '.')
			r.out[r.len++] = '.';
		r.out[r.len++] = c;
		at_start = 0;
		line++;
	}
	r.in_bytes = i;
	r.out_bytes = r.len;
	if (r.rc == 0) {
		if (!(flags & BIN) && !at_start) {
			r.out[r.len++] = '\r';
			r.out[r.len++] = '\n';
		}
		if (flags & DOT) {
			memcpy(r.out + r.len, ".\r\n", 3);
			r.len += 3;
		}
		r.out_bytes = r.len;
	}
	return r;
}

/* Feeds in[] as chunks ending at cuts[] (the last chunk ends at n) into the encoder
   with the given dst capacity, checking it never writes past dstcap. */
static struct result encode(unsigned flags, const unsigned char *in, size_t n,
			    const size_t *cuts, size_t ncuts, size_t dstcap)
{
	struct result r = {0, malloc(2 * n + 8), 0, 0, 0, 0, 0};
	unsigned char *buf = malloc(dstcap + GUARD);
	struct smtpi_body b;
	size_t pos = 0, written, consumed;
	smtpi_body_init(&b, flags);
	for (size_t k = 0; k <= ncuts && r.rc == 0; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		while (pos < end) {
			memset(buf, GUARD_BYTE, dstcap + GUARD);
			r.rc = smtpi_body_encode(&b, in + pos, end - pos, &consumed, buf,
						 dstcap, &written);
			CHECK(consumed <= end - pos);
			CHECK(written <= dstcap);
			for (size_t g = dstcap; g < dstcap + GUARD; g++)
				CHECK(buf[g] == GUARD_BYTE);
			memcpy(r.out + r.len, buf, written);
			r.len += written;
			pos += consumed;
			if (r.rc != 0)
				break;
			CHECK(consumed > 0 || written > 0);
			if (consumed == 0 && written == 0) {
				r.rc = -100;
				break;
			}
		}
	}
	r.in_bytes = b.in_bytes;
	if (r.rc == 0) {
		memset(buf, GUARD_BYTE, dstcap + GUARD);
		CHECK_INT(smtpi_body_finish(&b, buf, dstcap, &written), 0);
		memcpy(r.out + r.len, buf, written);
		r.len += written;
		r.eight_bit = b.eight_bit;
		r.nul = b.nul;
	} else {
		r.eight_bit = r.nul = -1;
	}
	r.out_bytes = b.out_bytes;
	CHECK_INT(r.out_bytes, r.len);
	free(buf);
	return r;
}

static int same(const struct result *a, const struct result *e)
{
	return a->rc == e->rc && a->len == e->len && memcmp(a->out, e->out, a->len) == 0 &&
	       a->eight_bit == e->eight_bit && a->nul == e->nul &&
	       a->in_bytes == e->in_bytes && a->out_bytes == e->out_bytes;
}

static const size_t caps[] = {SMTPI_BODY_MIN_ROOM, SMTPI_BODY_MIN_ROOM + 1,
			      SMTPI_BODY_MIN_ROOM + 2, 11, 16, 17, 64, 999, 1000, 4096};
#define NCAPS (sizeof caps / sizeof caps[0])

/* Encodes in[] whole, at every single split point, at every pair of split points
   (short inputs) and byte by byte, for every capacity in caps[] (long inputs: the
   smallest, one near a line and the largest); all must equal expect. Returns the
   number of mismatches. */
static int all_splits(unsigned flags, const void *inp, size_t n,
		      const struct result *expect)
{
	const unsigned char *in = inp;
	int bad = 0;
	size_t *cuts = malloc((n + 1) * sizeof *cuts);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	for (size_t c = 0; c < NCAPS; c++) {
		if (n > 256 && c != 0 && c != 7 && c != NCAPS - 1)
			continue;
		struct result r = encode(flags, in, n, NULL, 0, caps[c]);
		bad += !same(&r, expect);
		result_free(&r);
		r = encode(flags, in, n, cuts, n, caps[c]);
		bad += !same(&r, expect);
		result_free(&r);
		for (size_t k = 0; k <= n; k++) {
			r = encode(flags, in, n, &k, 1, caps[c]);
			bad += !same(&r, expect);
			result_free(&r);
			for (size_t j = k; n <= 64 && j <= n; j++) {
				size_t two[2] = {k, j};
				r = encode(flags, in, n, two, 2, caps[c]);
				bad += !same(&r, expect);
				result_free(&r);
			}
		}
	}
	free(cuts);
	if (bad)
		fprintf(stderr, "flags %u input of %zu bytes: %d mismatches\n", flags, n, bad);
	return bad;
}

/* Checks that in[0..n) encodes to out[0..outlen) with rc 0, for every split. */
static void vec(unsigned flags, const char *in, size_t n, const char *out, size_t outlen)
{
	struct result ref = reference(flags, (const unsigned char *)in, n);
	CHECK_INT(ref.rc, 0);
	CHECK_MEM(ref.out, ref.len, out, outlen);
	CHECK_INT(all_splits(flags, in, n, &ref), 0);
	result_free(&ref);
}

#define VEC(flags, in, out) vec((flags), (in), sizeof(in) - 1, (out), sizeof(out) - 1)

static void test_line_ends(void)
{
	VEC(0, "a\nb\n", "a\r\nb\r\n");
	VEC(0, "a\r\nb\r\n", "a\r\nb\r\n");
	VEC(0, "a\rb\r", "a\r\nb\r\n");
	VEC(0, "a\r\rb", "a\r\n\r\nb\r\n");
	VEC(0, "a\n\rb", "a\r\n\r\nb\r\n");
	VEC(0, "a\r\n\nb", "a\r\n\r\nb\r\n");
	VEC(0, "\r\n", "\r\n");
	VEC(0, "\n", "\r\n");
	VEC(0, "\r", "\r\n");
	VEC(0, "\r\r\n\n\r", "\r\n\r\n\r\n\r\n");
	VEC(DOT, "x\r", "x\r\n.\r\n");
	VEC(DOT, "x\r\n", "x\r\n.\r\n");
}

static void test_final_line_end(void)
{
	VEC(0, "no newline", "no newline\r\n");
	VEC(DOT, "no newline", "no newline\r\n.\r\n");
	VEC(DOT, "ends\r\n", "ends\r\n.\r\n");
	VEC(DOT, "ends\n", "ends\r\n.\r\n");
	VEC(0, "", "");
	VEC(DOT, "", ".\r\n");
	VEC(LONG, "", "");
	VEC(DOT | LONG, "", ".\r\n");
}

static void test_dots(void)
{
	VEC(DOT, ".", "..\r\n.\r\n");
	VEC(DOT, ".\r\n", "..\r\n.\r\n");
	VEC(DOT, "..x", "...x\r\n.\r\n");
	VEC(DOT, "a\n.b\n", "a\r\n..b\r\n.\r\n");
	VEC(DOT, "a\r\n.b\r\n", "a\r\n..b\r\n.\r\n");
	VEC(DOT, "a\r.b\r", "a\r\n..b\r\n.\r\n");
	VEC(DOT, "a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
	VEC(DOT, "a.b\n x.\n", "a.b\r\n x.\r\n.\r\n");
	VEC(DOT, "\n.\n.\n", "\r\n..\r\n..\r\n.\r\n");
	VEC(DOT, "\r.\r.", "\r\n..\r\n..\r\n.\r\n");
	/* BDAT: no transparency needed (RFC 3030 2). */
	VEC(0, ".\r\n.x\n", ".\r\n.x\r\n");
	VEC(0, "a\r.\n", "a\r\n.\r\n");
}

static void test_binary(void)
{
	static const char in[] = "\r.\n\0\xff\r\n.\rx";
	VEC(BIN, "\r.\n\0\xff\r\n.\rx", in);
	VEC(BIN, "", "");
	/* DOTSTUFF wins over BINARY: DATA cannot carry binary (RFC 3030 3). */
	VEC(BIN | DOT, ".a\n", "..a\r\n.\r\n");
}

static void line_of(char *buf, size_t n, char fill)
{
	memset(buf, fill, n);
}

static void test_long_lines(void)
{
	char in[2100];
	size_t consumed, written;
	unsigned char out[4200];
	struct smtpi_body b;

	/* 998 octets: the longest line allowed (RFC 5321 4.5.3.1.6). */
	line_of(in, 998, 'a');
	in[998] = '\n';
	line_of(in + 999, 998, 'b');
	struct result ref = reference(0, (unsigned char *)in, 1997);
	CHECK_INT(ref.rc, 0);
	CHECK_INT(ref.len, 2000);
	CHECK_INT(all_splits(0, in, 1997, &ref), 0);
	result_free(&ref);

	/* 999 octets fails, at the 999th, whatever the split. */
	line_of(in, 999, 'a');
	ref = reference(0, (unsigned char *)in, 999);
	CHECK_INT(ref.rc, SMTP_EINVAL);
	CHECK_INT(ref.len, 998);
	CHECK_INT(all_splits(0, in, 999, &ref), 0);
	result_free(&ref);
	ref = reference(DOT, (unsigned char *)in, 999);
	CHECK_INT(ref.rc, SMTP_EINVAL);
	CHECK_INT(all_splits(DOT, in, 999, &ref), 0);
	result_free(&ref);

	/* A second line over the limit after a good one, CR line ends. */
	line_of(in, 998, 'a');
	in[998] = '\r';
	line_of(in + 999, 999, 'c');
	ref = reference(0, (unsigned char *)in, 1998);
	CHECK_INT(ref.rc, SMTP_EINVAL);
	CHECK_INT(ref.len, 2 * 998 + 2);
	CHECK_INT(all_splits(0, in, 1998, &ref), 0);
	result_free(&ref);

	/* The limit counts input octets: a leading dot is one, though sent as two. */
	in[0] = '.';
	line_of(in + 1, 997, 'a');
	ref = reference(DOT, (unsigned char *)in, 998);
	CHECK_INT(ref.rc, 0);
	CHECK_INT(all_splits(DOT, in, 998, &ref), 0);
	result_free(&ref);

	/* LONG_LINES lets them through. */
	line_of(in, 2100, 'x');
	ref = reference(LONG, (unsigned char *)in, 2100);
	CHECK_INT(ref.rc, 0);
	CHECK_INT(ref.len, 2102);
	CHECK_INT(all_splits(LONG, in, 2100, &ref), 0);
	result_free(&ref);
	ref = reference(LONG | DOT, (unsigned char *)in, 2100);
	CHECK_INT(ref.rc, 0);
	CHECK_INT(all_splits(LONG | DOT, in, 2100, &ref), 0);
	result_free(&ref);

	/* After the error the rejected octet stays unconsumed and it keeps failing. */
	smtpi_body_init(&b, 0);
	CHECK_INT(smtpi_body_encode(&b, (unsigned char *)in, 1500, &consumed, out,
				    sizeof out, &written), SMTP_EINVAL);
	CHECK_INT(consumed, 998);
	CHECK_INT(written, 998);
	CHECK_INT(smtpi_body_encode(&b, (unsigned char *)in + 998, 1, &consumed, out,
				    sizeof out, &written), SMTP_EINVAL);
	CHECK_INT(consumed, 0);
	CHECK_INT(written, 0);
}

static void test_scan(void)
{
	struct smtpi_body b;
	unsigned char out[64];
	size_t consumed, written;
	static const unsigned char plain[] = "plain ascii text\r\nmore~\x7f\x01";
	static const unsigned char high[] = "caf\xc3\xa9\n";
	static const unsigned char nul[] = "a\0b";

	smtpi_body_init(&b, DOT);
	CHECK_INT(smtpi_body_encode(&b, plain, sizeof plain - 1, &consumed, out, sizeof out,
				    &written), 0);
	CHECK(!b.eight_bit && !b.nul);
	CHECK_INT(b.in_bytes, sizeof plain - 1);
	CHECK_INT(b.out_bytes, sizeof plain - 1);

	for (unsigned flags = 0; flags < 8; flags++) {
		smtpi_body_init(&b, flags);
		CHECK_INT(smtpi_body_encode(&b, high, sizeof high - 1, &consumed, out,
					    sizeof out, &written), 0);
		CHECK(b.eight_bit && !b.nul);
		smtpi_body_init(&b, flags);
		CHECK_INT(smtpi_body_encode(&b, nul, sizeof nul - 1, &consumed, out,
					    sizeof out, &written), 0);
		CHECK(!b.eight_bit && b.nul);
		CHECK_MEM(out, written, nul, sizeof nul - 1);
	}

	/* Every position of the octet within the word-at-a-time scan. */
	for (size_t pos = 0; pos < 40; pos++) {
		unsigned char in[40];
		memset(in, 'q', sizeof in);
		in[pos] = 0x80;
		smtpi_body_init(&b, 0);
		CHECK_INT(smtpi_body_encode(&b, in, sizeof in, &consumed, out, sizeof out,
					    &written), 0);
		CHECK(b.eight_bit && !b.nul);
		in[pos] = 0;
		smtpi_body_init(&b, BIN);
		CHECK_INT(smtpi_body_encode(&b, in, sizeof in, &consumed, out, sizeof out,
					    &written), 0);
		CHECK(!b.eight_bit && b.nul);
		in[pos] = '\n';
		smtpi_body_init(&b, 0);
		CHECK_INT(smtpi_body_encode(&b, in, sizeof in, &consumed, out, sizeof out,
					    &written), 0);
		CHECK_INT(written, sizeof in + 1);
		CHECK(!b.eight_bit && !b.nul);
	}
}

static void test_small_dst(void)
{
	struct smtpi_body b;
	unsigned char out[16];
	size_t consumed = 1, written = 1;
	smtpi_body_init(&b, DOT);
	CHECK_INT(smtpi_body_encode(&b, (const unsigned char *)"a", 1, &consumed, out,
				    SMTPI_BODY_MIN_ROOM - 1, &written), SMTP_EINVAL);
	CHECK_INT(consumed, 0);
	CHECK_INT(written, 0);
	CHECK_INT(smtpi_body_finish(&b, out, SMTPI_BODY_MIN_ROOM - 1, &written),
		  SMTP_EINVAL);
	/* finish's worst case fits the minimum room. */
	CHECK_INT(smtpi_body_encode(&b, (const unsigned char *)"a", 1, &consumed, out,
				    SMTPI_BODY_MIN_ROOM, &written), 0);
	CHECK_INT(smtpi_body_finish(&b, out, SMTPI_BODY_MIN_ROOM, &written), 0);
	CHECK_MEM(out, written, "\r\n.\r\n", 5);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random(void)
{
	static const unsigned char alphabet[] = "\r\n.\r\n.aZ \0\x80\xff";
	unsigned char in[3000];
	size_t cuts[16];
	int bad = 0;
	for (int iter = 0; iter < 4000; iter++) {
		unsigned flags = (unsigned)(rng() % 8);
		size_t n = (size_t)(rng() % (iter % 10 == 0 ? sizeof in : 64));
		int mode = (int)(rng() % 3);
		for (size_t i = 0; i < n; i++) {
			if (mode == 0)
				in[i] = alphabet[rng() % (sizeof alphabet - 1)];
			else if (mode == 1)
				in[i] = rng() % 50 ? 'x' : alphabet[rng() % 3];
			else
				in[i] = (unsigned char)rng();
		}
		size_t ncuts = (size_t)(rng() % 16);
		for (size_t k = 0; k < ncuts; k++)
			cuts[k] = n ? (size_t)(rng() % (n + 1)) : 0;
		for (size_t k = 1; k < ncuts; k++)
			for (size_t j = k; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];
				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		size_t cap = SMTPI_BODY_MIN_ROOM + (size_t)(rng() % (rng() % 2 ? 8 : 2000));
		struct result ref = reference(flags, in, n);
		struct result r = encode(flags, in, n, cuts, ncuts, cap);
		if (!same(&r, &ref)) {
			fprintf(stderr, "random %d: flags %u n %zu cap %zu differs\n", iter, flags,
				n, cap);
			bad++;
		}
		result_free(&ref);
		result_free(&r);
	}
	CHECK_INT(bad, 0);
}

/* smtpi_body_facts spelled out one octet at a time. */
static void facts_reference(const unsigned char *p, size_t n, struct smtpi_body_facts *f)
{
	memset(f, 0, sizeof *f);
	size_t start = 0, header_end = n, run = 0;
	int in_header = 1;
	for (size_t i = 0; i <= n; i++) {
		int end = i == n;
		unsigned char c = end ? 0 : p[i];
		if (!end) {
			f->eight_bit |= c >= 0x80;
			f->nul |= c == 0;
		}
		if (!end && c != '\r' && c != '\n') {
			run++;
			continue;
		}
		if (!end && c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue; /* the LF ends this line */
		if (!end && (c == '\r' || i == 0 || p[i - 1] != '\r'))
			f->bare = 1;
		f->long_line |= run > SMTPI_BODY_MAX_LINE;
		if (run && p[start] == '.')
			f->dot_line = 1;
		if (!end && in_header && run == 0) {
			in_header = 0;
			header_end = start;
		}
		run = 0;
		start = i + 1;
	}
	for (size_t i = 0; i < header_end; i++)
		f->header_8bit |= p[i] >= 0x80;
}

/* The one pass before MAIL agrees with the octet-at-a-time reference on random
   content rich in line ends, dots, NULs and 8-bit octets, at every length and
   alignment (the block loop and its tail). */
static void test_facts(void)
{
	static const unsigned char alphabet[] = {'a', 'b', '.', '\r', '\n', 0, 0xc3, ' '};
	unsigned char buf[3000];
	size_t canonical = 0, dotted = 0;
	srand(11);
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)rand() % (round < 2000 ? 80 : sizeof buf);
		int mode = rand() % 4;
		for (size_t i = 0; i < n; i++) {
			buf[i] = alphabet[rand() % (mode == 0 ? 2 : mode == 1 ? 5 : 8)];
			if (mode == 3 && rand() % 3)
				buf[i] = 'x'; /* long lines */
		}
		if (mode == 1) /* canonical: every line end CRLF */
			for (size_t i = 0; i < n; i++)
				if (buf[i] == '\r' || buf[i] == '\n')
					buf[i] = i + 1 < n ? '\r' : 'z';
		if (mode == 1)
			for (size_t i = 0; i + 1 < n; i++)
				if (buf[i] == '\r')
					buf[++i] = '\n';
		size_t off = (size_t)round % 7;
		unsigned char *p = malloc(n + off + 1);
		memcpy(p + off, buf, n);
		struct smtpi_body_facts got, want;
		smtpi_body_facts(p + off, n, &got);
		facts_reference(p + off, n, &want);
		CHECK_INT(got.eight_bit, want.eight_bit);
		CHECK_INT(got.nul, want.nul);
		CHECK_INT(got.header_8bit, want.header_8bit);
		CHECK_INT(got.bare, want.bare);
		CHECK_INT(got.long_line, want.long_line);
		CHECK_INT(got.dot_line, want.dot_line);
		/* canonical content copied whole encodes as the reference does */
		if (!want.bare && !want.long_line && !want.nul) {
			canonical++;
			dotted += want.dot_line != 0;
			for (int dot = 0; dot < 2; dot++) {
				unsigned flags = (dot ? DOT : 0) | SMTPI_BODY_CANONICAL |
						 (want.dot_line ? 0 : SMTPI_BODY_DOTFREE);
				struct result ref = reference(dot ? DOT : 0, p + off, n);
				struct smtpi_body b;
				smtpi_body_init(&b, flags);
				unsigned char *out = malloc(2 * n + 16);
				size_t used = 0, w = 0, fw = 0;
				CHECK_INT(smtpi_body_encode(&b, p + off, n, &used, out, 2 * n + 8, &w), 0);
				CHECK_INT(used, n);
				smtpi_body_finish(&b, out + w, 8, &fw);
				CHECK_MEM(out, w + fw, ref.out, ref.len);
				free(out);
				result_free(&ref);
			}
		}
		free(p);
	}
	/* the comparison ran on enough canonical content, with and without dot lines */
	CHECK(canonical > 500);
	CHECK(dotted > 100);
}

int main(void)
{
	RUN(test_line_ends);
	RUN(test_final_line_end);
	RUN(test_dots);
	RUN(test_binary);
	RUN(test_long_lines);
	RUN(test_scan);
	RUN(test_small_dst);
	RUN(test_random);
	RUN(test_facts);
	return CHECK_DONE("body");
}

/* Fuzz target: the body encoder fed the input in random chunks into random dst
   capacities must produce exactly the one-shot encoding; the DATA stream must keep
   its line-end and transparency rules. The first two octets choose flags and splits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	int rc;
	unsigned char *out;
	size_t len;
	struct smtpi_body b;
};

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void one_shot(unsigned flags, const uint8_t *in, size_t n, struct run *r)
{
	size_t consumed = 0, written = 0;
	smtpi_body_init(&r->b, flags);
	r->out = malloc(2 * n + SMTPI_BODY_MIN_ROOM);
	r->len = 0;
	r->rc = smtpi_body_encode(&r->b, in, n, &consumed, r->out, 2 * n + SMTPI_BODY_MIN_ROOM,
				  &written);
	r->len = written;
	if (r->rc == 0 && consumed != n)
		abort();
	if (r->rc == 0) {
		if (smtpi_body_finish(&r->b, r->out + r->len, SMTPI_BODY_MIN_ROOM, &written) != 0)
			abort();
		r->len += written;
	}
}

static void split(unsigned flags, const uint8_t *in, size_t n, uint32_t seed,
		  struct run *r)
{
	unsigned char dst[300];
	size_t pos = 0, consumed, written;
	smtpi_body_init(&r->b, flags);
	r->out = malloc(2 * n + SMTPI_BODY_MIN_ROOM);
	r->len = 0;
	r->rc = 0;
	while (pos < n) {
		size_t chunk = 1 + next(&seed) % (n - pos);
		if (next(&seed) % 2)
			chunk = 1 + chunk % 4;
		size_t end = chunk < n - pos ? pos + chunk : n;
		while (pos < end && r->rc == 0) {
			size_t cap = SMTPI_BODY_MIN_ROOM + next(&seed) % (sizeof dst - SMTPI_BODY_MIN_ROOM);
			r->rc = smtpi_body_encode(&r->b, in + pos, end - pos, &consumed, dst, cap,
						  &written);
			if (written > cap || consumed > end - pos ||
			    (r->rc == 0 && consumed == 0 && written == 0))
				abort();
			memcpy(r->out + r->len, dst, written);
			r->len += written;
			pos += consumed;
		}
		if (r->rc != 0)
			return;
	}
	if (smtpi_body_finish(&r->b, dst, SMTPI_BODY_MIN_ROOM, &written) != 0)
		abort();
	memcpy(r->out + r->len, dst, written);
	r->len += written;
}

/* Every CR is followed by LF and every LF preceded by CR; with DOTSTUFF a line that
   begins with '.' is stuffed, except the final ".\r\n"; without LONG_LINES no line
   holds more than 998 input octets. */
static void check_stream(unsigned flags, const unsigned char *p, size_t n)
{
	size_t line = 0;
	int stuffed = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			abort();
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
		int start = i == 0 || p[i - 1] == '\n';
		if (start) {
			line = 0;
			stuffed = 0;
		}
		if (start && (flags & SMTPI_BODY_DOTSTUFF) && p[i] == '.') {
			int final = i + 3 == n && p[i + 1] == '\r';
			if (!final && (i + 1 >= n || p[i + 1] != '.'))
				abort();
			stuffed = !final;
		}
		if (p[i] != '\r' && p[i] != '\n')
			line++;
		if (!(flags & SMTPI_BODY_LONG_LINES) && line > SMTPI_BODY_MAX_LINE + (size_t)stuffed)
			abort();
	}
	if ((flags & SMTPI_BODY_DOTSTUFF) && (n < 3 || memcmp(p + n - 3, ".\r\n", 3) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned flags = data[0] & 7u;
	uint32_t seed = 0x9e3779b9u ^ data[1];
	const uint8_t *in = data + 2;
	size_t n = size - 2;
	struct run a, b;

	one_shot(flags, in, n, &a);
	split(flags, in, n, seed, &b);
	if (a.rc != b.rc || a.len != b.len || memcmp(a.out, b.out, a.len) != 0 ||
	    a.b.in_bytes != b.b.in_bytes || a.b.out_bytes != b.b.out_bytes)
		abort();
	if (a.rc == 0) {
		int eight = 0, nul = 0;
		for (size_t i = 0; i < n; i++) {
			eight |= in[i] >= 0x80;
			nul |= in[i] == 0;
		}
		if (a.b.eight_bit != eight || a.b.nul != nul || b.b.eight_bit != eight ||
		    b.b.nul != nul || a.b.out_bytes != a.len)
			abort();
		if ((flags & SMTPI_BODY_BINARY) && !(flags & SMTPI_BODY_DOTSTUFF)) {
			if (a.len != n || memcmp(a.out, in, n) != 0)
				abort();
		} else {
			check_stream(flags, a.out, a.len);
		}
	}
	free(a.out);
	free(b.out);
	return 0;
}

/* Fuzz target for the reply parser: the input is a stream of server bytes. It is
   parsed reply after reply three ways (at once, split at a point taken from the data,
   in small pieces); each way must give the same replies, and every reply must keep
   the parser's promises. abort() on any difference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/reply.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpi_reply_parser parser;

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3u;
}

static void check_reply(const struct smtpi_reply *r)
{
	char buf[12];
	size_t newlines = 0;

	if (r->code < 200 || r->code > 559 || r->code % 100 > 59)
		abort();
	if (r->nlines < 1 || r->nlines > SMTPI_REPLY_MAX_LINES)
		abort();
	if (r->text_len > SMTPI_REPLY_MAX_TEXT || strlen(r->text) != r->text_len)
		abort();
	if (memchr(r->text, '\r', r->text_len) != NULL)
		abort();
	for (size_t i = 0; i < r->text_len; i++)
		newlines += r->text[i] == '\n';
	if (newlines != r->nlines - 1)
		abort();
	if (r->enh_class != 0) {
		if (r->enh_class != r->code / 100 || r->enh_subject < 0 ||
		    r->enh_subject > 999 || r->enh_detail < 0 || r->enh_detail > 999)
			abort();
		if (smtpi_reply_enhanced(r, buf, sizeof buf) != buf)
			abort();
	} else if (smtpi_reply_enhanced(r, buf, sizeof buf) != NULL) {
		abort();
	}
}

/* Parses data as consecutive replies, feeding pieces no longer than chunk (0: no
   limit) with one extra cut at `cut`; stops at the first error or at the end. Returns
   a digest of every reply and where it ended, and the final status. */
static uint64_t run(const uint8_t *data, size_t size, size_t chunk, size_t cut)
{
	const char *in = (const char *)data;
	size_t off = 0, begin = 0;
	uint64_t h = 0xcbf29ce484222325u;
	int rc = SMTPI_REPLY_MORE;

	smtpi_reply_init(&parser);
	while (off < size) {
		size_t n = size - off, used = 0;
		if (chunk && n > chunk)
			n = chunk;
		if (cut > off && n > cut - off)
			n = cut - off;
		rc = smtpi_reply_parse(&parser, in + off, n, &used);
		if (used > n || (rc == SMTPI_REPLY_MORE && used != n))
			abort();
		off += used;
		if (rc == SMTPI_REPLY_DONE) {
			const struct smtpi_reply *r = &parser.reply;
			check_reply(r);
			/* RFC 5321 4.2: at least a code and a line end */
			if (off - begin < 4 || (data[off - 1] != '\n'))
				abort();
			h = mix(h, off);
			h = mix(h, (uint64_t)r->code);
			h = mix(h, (uint64_t)(r->enh_class * 1000000 + r->enh_subject * 1000 +
					      r->enh_detail));
			h = mix(h, r->nlines);
			for (size_t i = 0; i < r->text_len; i++)
				h = mix(h, (unsigned char)r->text[i]);
			begin = off;
		} else if (rc != SMTPI_REPLY_MORE) {
			if (rc != SMTP_EPROTOCOL)
				abort();
			break;
		}
	}
	return mix(h, (uint64_t)(rc + 16));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t whole, other;
	size_t cut, chunk;

	if (size == 0)
		return 0;
	whole = run(data, size, 0, 0);
	cut = ((size_t)data[0] * 257u + data[size - 1]) % size;
	other = run(data, size, 0, cut);
	if (other != whole)
		abort();
	chunk = 1 + data[size / 2] % 7u;
	other = run(data, size, chunk, 0);
	if (other != whole)
		abort();
	return 0;
}

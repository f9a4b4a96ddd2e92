/* The content on its way out: dot-stuffed DATA blocks (RFC 5321 4.5.2) or BDAT
   chunks (RFC 3030), encoded straight into the output buffer. Says when the end is
   queued or why the content cannot go on; transaction.c acts on it. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "wire/text.h"

/* Room before a BDAT chunk for its command line: "BDAT 67108864 LAST\r\n". */
#define BDAT_HEADER 40

void smtpi_body_start(struct smtpi_engine *e, smtp_message *m)
{
	unsigned flags = m->long_lines ? SMTPI_BODY_LONG_LINES : 0;
	if (m->tx.bdat)
		flags |= m->body_type == SMTP_BODY_BINARYMIME ? SMTPI_BODY_BINARY : 0;
	else
		flags |= SMTPI_BODY_DOTSTUFF;
	/* in-memory content scanned at submit: CRLF only, lines checked, so its runs
	   go out whole (one copy, no octet by octet) */
	if (m->data && !m->facts.bare) {
		flags |= SMTPI_BODY_CANONICAL;
		if (!m->facts.dot_line)
			flags |= SMTPI_BODY_DOTFREE;
	}
	smtpi_body_init(&e->enc, flags);
	m->data_off = 0;
	m->reader_done = 0;
	e->stage_len = e->stage_off = 0;
	e->body = m;
}

/* A reader's negative value ends its message with that error; SMTP_EAGAIN cannot
   be waited for inside a body (readers must block), and values that are no error
   code become SMTP_EINVAL. */
static int reader_error(long n, const char **why)
{
	if (n == SMTP_EAGAIN) {
		*why = "the message reader returned SMTP_EAGAIN (readers must not)";
		return SMTP_EINVAL;
	}
	*why = "the message reader failed";
	return n < SMTP_EAGAIN && n >= SMTP_ESTATE ? (int)n : SMTP_EINVAL;
}

/* The next input bytes: the rest of in-memory content, or a block from the reader. */
static int next_input(struct smtpi_engine *e, smtp_message *m, const unsigned char **src,
		      size_t *len, const char **why)
{
	if (!m->reader) {
		*src = m->data + m->data_off;
		*len = m->data_len - m->data_off;
		return 0;
	}
	if (e->stage_off == e->stage_len && !m->reader_done) {
		if (!e->stage_buf && !(e->stage_buf = malloc(SMTPI_BODY_BLOCK)))
			return SMTP_ENOMEM;
		long n = m->reader(m->reader_ud, e->stage_buf, SMTPI_BODY_BLOCK);
		m->tx.reader_read = 1;
		if (n < 0)
			return reader_error(n, why);
		if (n > SMTPI_BODY_BLOCK) {
			*why = "the message reader returned more than it was asked for";
			return SMTP_EINVAL;
		}
		e->stage_len = (size_t)n;
		e->stage_off = 0;
		m->reader_done = n == 0;
	}
	*src = e->stage_buf + e->stage_off;
	*len = e->stage_len - e->stage_off;
	return 0;
}

static void consumed(struct smtpi_engine *e, smtp_message *m, size_t used)
{
	if (m->reader)
		e->stage_off += used;
	else
		m->data_off += used;
}

/* What the octets seen so far allow: text never carries NUL (RFC 5322 2.3), 8-bit
   octets need 8BITMIME (RFC 6152), 8-bit header octets need SMTPUTF8 (RFC 6531
   3.4). In-memory content was checked before MAIL; this catches streamed content. */
static int check_octets(const struct smtpi_engine *e, const smtp_message *m, const char **why)
{
	if (m->body_type == SMTP_BODY_BINARYMIME)
		return 0;
	if (e->enc.nul) {
		*why = "text content holds a NUL octet";
		return SMTP_EINVAL;
	}
	if (e->enc.eight_bit && !(e->capa.flags & SMTPI_CAPA_8BITMIME)) {
		*why = "8-bit content needs 8BITMIME, which the server does not offer";
		return SMTP_EINVAL;
	}
	if (e->enc.header_8bit && !m->smtputf8 && !m->header_utf8) {
		*why = "8-bit octets in the header need SMTPUTF8 (smtp_message_set_smtputf8)";
		return SMTP_EUTF8;
	}
	return 0;
}

static int encode(struct smtpi_engine *e, smtp_message *m, const unsigned char *src,
		  size_t srclen, unsigned char *dst, size_t cap, size_t *written,
		  const char **why)
{
	size_t used = 0;
	int rc = smtpi_body_encode(&e->enc, src, srclen, &used, dst, cap, written);
	consumed(e, m, used);
	if (rc) {
		*why = "a content line is longer than 998 octets (RFC 5321 4.5.3.1.6)";
		return rc;
	}
	return check_octets(e, m, why);
}

/* The next input; at its end, the terminator is written at dst (SMTPI_BODY_MIN_ROOM
   octets of room), *w octets, and the result is SMTPI_BODY_END. */
static int input_or_end(struct smtpi_engine *e, smtp_message *m, const unsigned char **src,
			size_t *srclen, unsigned char *dst, size_t *w, const char **why)
{
	int rc = next_input(e, m, src, srclen, why);
	if (rc || *srclen)
		return rc;
	smtpi_body_finish(&e->enc, dst, SMTPI_BODY_MIN_ROOM, w);
	return SMTPI_BODY_END;
}

/* One DATA block: up to SMTPI_BODY_BLOCK octets of input, dot-stuffed. */
static int data_block(struct smtpi_engine *e, smtp_message *m, const char **why)
{
	const unsigned char *src;
	size_t srclen, w = 0;
	if (smtpi_buf_reserve(&e->out, SMTPI_BODY_MIN_ROOM))
		return SMTP_ENOMEM;
	int rc = input_or_end(e, m, &src, &srclen, (unsigned char *)e->out.data + e->out.len, &w,
			      why);
	e->out.len += w;
	if (rc)
		return rc;
	if (srclen > SMTPI_BODY_BLOCK)
		srclen = SMTPI_BODY_BLOCK;
	/* a lone LF becomes CRLF and a leading dot is doubled: at most twice the input */
	size_t room = 2 * srclen + SMTPI_BODY_MIN_ROOM;
	if (smtpi_buf_reserve(&e->out, room))
		return SMTP_ENOMEM;
	rc = encode(e, m, src, srclen, (unsigned char *)e->out.data + e->out.len, room, &w, why);
	e->out.len += w;
	return rc ? rc : SMTPI_BODY_MORE;
}

/* The input still to come, as far as it is known (SIZE= hint for streams). */
static uint64_t input_left(const struct smtpi_engine *e, const smtp_message *m)
{
	if (!m->reader)
		return m->data_len - m->data_off;
	uint64_t done = e->enc.in_bytes;
	return m->size_hint > done ? m->size_hint - done : SMTPI_BODY_BLOCK;
}

/* One chunk: encode up to chunk_size octets after room for the command line, then
   put "BDAT n [LAST]" in front (RFC 3030 2). The room reserved is what this message
   can still need, not the whole chunk size. */
static int bdat_chunk(struct smtpi_engine *e, smtp_message *m, const char **why)
{
	size_t chunk = e->cfg->chunk_size ? e->cfg->chunk_size : SMTPI_CHUNK_DEFAULT;
	uint64_t need = 2 * input_left(e, m) + 2 * SMTPI_BODY_MIN_ROOM;
	if (need < chunk)
		chunk = (size_t)need;
	if (smtpi_buf_reserve(&e->out, BDAT_HEADER + chunk))
		return SMTP_ENOMEM;
	unsigned char *dst = (unsigned char *)e->out.data + e->out.len + BDAT_HEADER;
	size_t n = 0;
	int last = 0;
	while (n + SMTPI_BODY_MIN_ROOM <= chunk) {
		const unsigned char *src;
		size_t srclen, w = 0;
		int rc = input_or_end(e, m, &src, &srclen, dst + n, &w, why);
		n += w;
		if (rc == SMTPI_BODY_END) {
			last = 1;
			break;
		}
		if (rc)
			return rc;
		uint64_t before = e->enc.in_bytes;
		rc = encode(e, m, src, srclen, dst + n, chunk - n, &w, why);
		n += w;
		if (rc)
			return rc;
		if (e->enc.in_bytes == before)
			break; /* the room left is too small for the next line end */
	}
	char header[BDAT_HEADER];
	memcpy(header, "BDAT ", 5);
	size_t h = 5 + smtpi_fmt_u64(header + 5, n);
	if (last) {
		memcpy(header + h, " LAST", 5);
		h += 5;
	}
	smtpi_engine_trace(e, SMTP_TRACE_SEND, header, h);
	memcpy(header + h, "\r\n", 2);
	h += 2;
	/* close the gap the shorter header left by moving the smaller side: the chunk
	   back, or the output still pending (usually little or none) forward */
	size_t gap = BDAT_HEADER - h, pending = smtpi_buf_pending(&e->out);
	if (n <= pending) {
		memmove(e->out.data + e->out.len + h, dst, n);
		memcpy(e->out.data + e->out.len, header, h);
		e->out.len += h + n;
	} else {
		memmove(e->out.data + e->out.off + gap, e->out.data + e->out.off, pending);
		e->out.off += gap;
		memcpy(e->out.data + e->out.len + gap, header, h);
		e->out.len += BDAT_HEADER + n;
	}
	if (last)
		return SMTPI_BODY_END;
	if (smtpi_pending_push(e, SMTPI_CMD_BDAT, m, 0, NULL, NULL, 0))
		return SMTP_ENOMEM;
	return SMTPI_BODY_MORE;
}

int smtpi_body_restartable(const smtp_message *m)
{
	return !m->reader || !m->tx.reader_read || m->reader_done;
}

int smtpi_body_fill(struct smtpi_engine *e, smtp_message *m, const char **why)
{
	return m->tx.bdat ? bdat_chunk(e, m, why) : data_block(e, m, why);
}

/* The body on its way out: dot-stuffed DATA blocks (RFC 5321 4.5.2) or BDAT chunks
   (RFC 3030), encoded straight into the output buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/envelope.h"

/* DATA blocks: enough to keep the socket busy, small enough to stay cheap. */
#define BODY_BLOCK (64 * 1024)
/* Room before a BDAT chunk for its command line. */
#define BDAT_HEADER 40

int smtpi_body_start(struct smtpi_engine *e, smtp_message *m)
{
	unsigned flags = m->long_lines ? SMTPI_BODY_LONG_LINES : 0;
	if (m->bdat)
		flags |= m->body_type == SMTP_BODY_BINARYMIME ? SMTPI_BODY_BINARY : 0;
	else
		flags |= SMTPI_BODY_DOTSTUFF;
	smtpi_body_init(&e->enc, flags);
	m->cursor = SMTPI_MSG_BODY;
	m->data_off = 0;
	m->reader_done = 0;
	e->stage_len = e->stage_off = 0;
	e->body = m;
	return 0;
}

/* The next input bytes: the rest of in-memory content, or a block from the reader. */
static int next_input(struct smtpi_engine *e, smtp_message *m, const unsigned char **src,
		      size_t *len)
{
	if (!m->reader) {
		*src = m->data + m->data_off;
		*len = m->data_len - m->data_off;
		return 0;
	}
	if (e->stage_off == e->stage_len && !m->reader_done) {
		if (!e->stage_buf && !(e->stage_buf = malloc(BODY_BLOCK)))
			return SMTP_ENOMEM;
		long n = m->reader(m->reader_ud, e->stage_buf, BODY_BLOCK);
		if (n < 0 || n > BODY_BLOCK)
			return n < 0 ? (int)n : SMTP_EINVAL;
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

/* The body ended: await the final reply(ies); the next message may follow at once
   (RFC 2920 3.1), the next RCPTMAX part of this one waits for it. */
static int end_body(struct smtpi_engine *e, smtp_message *m, int bdat_last)
{
	e->body = NULL;
	m->cursor = SMTPI_MSG_WAIT_FINAL;
	if (m->tx_end >= m->nrcpts)
		e->emit = m->next;
	if (bdat_last && (e->capa.flags & SMTPI_CAPA_PIPELINING))
		e->bdat_unsettled++;
	if (e->cfg->lmtp) {
		/* RFC 2033 4.2: one reply per accepted recipient, in order */
		for (size_t i = m->tx_first; i < m->tx_end; i++)
			if (m->report.rcpts[i].code / 100 == 2 &&
			    smtpi_engine_command(e, SMTPI_P_FINAL, m, i, NULL, NULL, 0))
				return SMTP_ENOMEM;
	} else if (!bdat_last && smtpi_engine_command(e, SMTPI_P_FINAL, m, 0, NULL, NULL, 0)) {
		return SMTP_ENOMEM;
	}
	return smtpi_tx_pump(e);
}

/* A body that cannot go on (a reader error, a long line or 8-bit octets the server
   cannot take from a reader) leaves the DATA stream unterminable: the connection must
   end (RFC 5321 4.1.1.4 has no abort). */
static int body_error(struct smtpi_engine *e, int err, const char *why)
{
	smtpi_engine_fail(e, err, why);
	return err;
}

static int check_streamed_8bit(struct smtpi_engine *e, const smtp_message *m)
{
	if (m->body_type == SMTP_BODY_BINARYMIME)
		return 0;
	if (e->enc.nul)
		return body_error(e, SMTP_EINVAL, "text content holds a NUL octet");
	if (e->enc.eight_bit && !(e->capa.flags & SMTPI_CAPA_8BITMIME))
		return body_error(e, SMTP_EINVAL,
				  "8-bit content needs 8BITMIME, which the server does not offer");
	return 0;
}

static int fill_data(struct smtpi_engine *e, smtp_message *m)
{
	while (e->body == m && smtpi_buf_pending(&e->out) < BODY_BLOCK) {
		const unsigned char *src;
		size_t srclen;
		int rc = next_input(e, m, &src, &srclen);
		if (rc)
			return body_error(e, rc, "the message reader failed");
		if (srclen == 0) {
			size_t w = 0;
			if (smtpi_buf_reserve(&e->out, SMTPI_BODY_MIN_ROOM))
				return SMTP_ENOMEM;
			smtpi_body_finish(&e->enc, (unsigned char *)e->out.data + e->out.len,
					  SMTPI_BODY_MIN_ROOM, &w);
			e->out.len += w;
			return end_body(e, m, 0);
		}
		size_t room = srclen < BODY_BLOCK ? srclen * 2 + SMTPI_BODY_MIN_ROOM : 2 * BODY_BLOCK;
		if (smtpi_buf_reserve(&e->out, room))
			return SMTP_ENOMEM;
		size_t used = 0, w = 0;
		rc = smtpi_body_encode(&e->enc, src, srclen, &used,
				       (unsigned char *)e->out.data + e->out.len,
				       e->out.cap - e->out.len, &w);
		e->out.len += w;
		consumed(e, m, used);
		if (rc)
			return body_error(e, rc, "a body line is longer than 998 octets");
		if ((rc = check_streamed_8bit(e, m)) != 0)
			return rc;
	}
	return 0;
}

/* One chunk: encode up to chunk_size octets after room for the header, then put
   "BDAT n [LAST]" in front (RFC 3030 2). */
static int bdat_chunk(struct smtpi_engine *e, smtp_message *m)
{
	size_t chunk = e->cfg->chunk_size ? e->cfg->chunk_size : 1024 * 1024;
	if (smtpi_buf_reserve(&e->out, BDAT_HEADER + chunk + SMTPI_BODY_MIN_ROOM))
		return SMTP_ENOMEM;
	unsigned char *dst = (unsigned char *)e->out.data + e->out.len + BDAT_HEADER;
	size_t n = 0;
	int last = 0;
	while (n + SMTPI_BODY_MIN_ROOM <= chunk) {
		const unsigned char *src;
		size_t srclen, used = 0, w = 0;
		int rc = next_input(e, m, &src, &srclen);
		if (rc)
			return body_error(e, rc, "the message reader failed");
		if (srclen == 0) {
			smtpi_body_finish(&e->enc, dst + n, SMTPI_BODY_MIN_ROOM, &w);
			n += w;
			last = 1;
			break;
		}
		rc = smtpi_body_encode(&e->enc, src, srclen, &used, dst + n, chunk - n, &w);
		n += w;
		consumed(e, m, used);
		if (rc)
			return body_error(e, rc, "a body line is longer than 998 octets");
		if ((rc = check_streamed_8bit(e, m)) != 0)
			return rc;
	}
	char header[BDAT_HEADER];
	int h = snprintf(header, sizeof header, "BDAT %zu%s", n, last ? " LAST" : "");
	smtpi_engine_trace(e, SMTP_TRACE_SEND, header, (size_t)h);
	memcpy(header + h, "\r\n", 2);
	h += 2;
	memmove(e->out.data + e->out.len + (size_t)h, dst, n);
	memcpy(e->out.data + e->out.len, header, (size_t)h);
	e->out.len += (size_t)h + n;
	if (smtpi_engine_command(e, last ? SMTPI_P_FINAL : SMTPI_P_BDAT, m, 0, NULL, NULL, 0))
		return SMTP_ENOMEM;
	return last ? end_body(e, m, 1) : 0;
}

int smtpi_tx_fill_body(struct smtpi_engine *e)
{
	smtp_message *m = e->body;
	if (!m->bdat)
		return fill_data(e, m);
	/* RFC 3030 4: without PIPELINING each chunk waits for the previous reply */
	int pipelining = (e->capa.flags & SMTPI_CAPA_PIPELINING) != 0;
	while (e->body == m && smtpi_buf_pending(&e->out) < BODY_BLOCK &&
	       (pipelining || e->pend_count == 0)) {
		int rc = bdat_chunk(e, m);
		if (rc)
			return rc;
	}
	return 0;
}

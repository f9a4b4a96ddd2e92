/* Envelope checks and parameters; see envelope.h. */
#include "engine/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/address.h"
#include "wire/text.h"

int smtpi_envelope_scan(smtp_message *m)
{
	memset(&m->facts, 0, sizeof m->facts);
	m->eight_bit = 0;
	m->header_utf8 = 0;
	if (!m->data)
		return 0;
	smtpi_body_facts(m->data, m->data_len, &m->facts);
	m->eight_bit = m->facts.eight_bit;
	m->header_utf8 = m->facts.header_8bit;
	if (m->body_type == SMTP_BODY_BINARYMIME)
		return 0;
	/* RFC 5322 2.3 / RFC 6152 2: text never carries NUL; only binary content may.
	   RFC 5321 4.5.3.1.6: a line over 998 octets (a bare CR or LF ends one too, as
	   the encoder makes it; such content is checked as it is encoded). */
	if (m->facts.nul)
		return SMTP_EINVAL;
	if (!m->long_lines && m->facts.long_line)
		return SMTP_EINVAL;
	return 0;
}

void smtpi_envelope_clear(smtp_message *m)
{
	free(m->wire_from);
	m->wire_from = NULL;
	for (size_t i = 0; i < m->nrcpts; i++) {
		free(m->rcpt[i].wire);
		m->rcpt[i].wire = NULL;
	}
}

/* RFC 6531 3.2: without SMTPUTF8, a non-ASCII domain goes out as A-labels. */
static int to_wire(const struct smtpi_engine *e, const char *addr, unsigned flags, char **out,
		   const char **why)
{
	*out = NULL;
	if (!(flags & SMTPI_ADDR_UTF8_DOMAIN) || (e->capa.flags & SMTPI_CAPA_SMTPUTF8))
		return 0;
	return smtpi_address_to_ascii(addr, strlen(addr), e->cfg->idna_no_map, out, why);
}

static int convert_addresses(const struct smtpi_engine *e, smtp_message *m, const char **why)
{
	if (!smtpi_message_has_utf8_domain(m) || (e->capa.flags & SMTPI_CAPA_SMTPUTF8))
		return 0;
	int rc = to_wire(e, m->from, m->from_flags, &m->wire_from, why);
	for (size_t i = 0; !rc && i < m->nrcpts; i++)
		rc = to_wire(e, m->rcpt[i].addr, m->rcpt[i].flags, &m->rcpt[i].wire, why);
	if (rc)
		smtpi_envelope_clear(m);
	return rc;
}

static uint64_t known_size(const smtp_message *m)
{
	return m->data ? m->data_len : m->size_hint;
}

/* The BODY= declaration, or NULL for none (RFC 6152 2, RFC 3030 3). */
static const char *body_param(const struct smtpi_engine *e, const smtp_message *m)
{
	int offered = (e->capa.flags & SMTPI_CAPA_8BITMIME) != 0;
	switch (m->body_type) {
	case SMTP_BODY_BINARYMIME:
		return "BINARYMIME";
	case SMTP_BODY_8BITMIME:
		return "8BITMIME";
	case SMTP_BODY_7BIT:
		return offered ? "7BIT" : NULL;
	default:
		return offered && (m->eight_bit || m->reader) ? "8BITMIME" : NULL;
	}
}

/* Sets the reason of a refusal before MAIL. */
static int refuse(char *why, size_t len, int err, const char *text)
{
	snprintf(why, len, "%s", text);
	return err;
}

int smtpi_envelope_check(struct smtpi_engine *e, smtp_message *m, char *why, size_t why_len)
{
	unsigned f = e->capa.flags;
	/* RFC 6531 3.4: a UTF-8 local part or UTF-8 header fields cannot be expressed
	   without SMTPUTF8 */
	if (smtpi_message_needs_utf8(m) && !(f & SMTPI_CAPA_SMTPUTF8)) {
		return refuse(why, why_len, SMTP_EUTF8,
			      m->header_utf8 || m->smtputf8
				      ? "the message's header needs SMTPUTF8, which the server does not offer"
				      : "an address needs SMTPUTF8, which the server does not offer");
	}
	/* RFC 8689 4.1, 4.2.1: REQUIRETLS only over TLS whose certificate was verified,
	   to a server that offers it */
	if (m->requiretls && (!e->tls_active || e->cfg->tls_unverified ||
			      !(f & SMTPI_CAPA_REQUIRETLS))) {
		return refuse(why, why_len, SMTP_ENOTLS,
			      !e->tls_active ? "REQUIRETLS needs a TLS connection"
			      : e->cfg->tls_unverified
				      ? "REQUIRETLS needs a verified certificate; verification is off"
				      : "REQUIRETLS is not offered by the server");
	}
	if (smtpi_message_wants_dsn(m) && !(f & SMTPI_CAPA_DSN)) {
		if (m->dsn_required) {
			return refuse(why, why_len, SMTP_EINVAL,
				      "DSN was required but the server does not offer it");
		}
		if (smtpi_report_step(&m->report, SMTP_STAGE_MAIL, NULL, NULL, 0,
				      "the server does not offer DSN: NOTIFY, ORCPT, RET and "
				      "ENVID left out",
				      -1))
			return SMTP_ENOMEM;
	}
	/* RFC 1870 6: a message over the server's fixed limit would be refused */
	uint64_t size = known_size(m);
	if ((f & SMTPI_CAPA_SIZE) && e->capa.size_max && size > e->capa.size_max) {
		snprintf(why, why_len, "the message has %llu octets; the server accepts at most %llu",
			 (unsigned long long)size, (unsigned long long)e->capa.size_max);
		return SMTP_ESIZE;
	}
	if (m->body_type == SMTP_BODY_BINARYMIME &&
	    (!(f & SMTPI_CAPA_BINARYMIME) || !(f & SMTPI_CAPA_CHUNKING) || e->cfg->lmtp)) {
		return refuse(why, why_len, SMTP_EINVAL,
			      "binary content needs BINARYMIME and CHUNKING, which the server lacks");
	}
	if (!(f & SMTPI_CAPA_8BITMIME) &&
	    (m->body_type == SMTP_BODY_8BITMIME || (m->body_type == SMTP_BODY_AUTO && m->eight_bit))) {
		return refuse(why, why_len, SMTP_EINVAL,
			      "8-bit content needs 8BITMIME, which the server does not offer");
	}
	const char *idn_why = NULL;
	int rc = convert_addresses(e, m, &idn_why);
	if (rc && idn_why)
		snprintf(why, why_len, "%s", idn_why);
	return rc;
}

int smtpi_envelope_use_bdat(const struct smtpi_engine *e, const smtp_message *m)
{
	/* RFC 2033 4.2 defines LMTP's reply per recipient after DATA's dot; RFC 3030
	   says nothing of BDAT there, so LMTP always uses DATA */
	if (e->cfg->lmtp)
		return 0;
	return m->body_type == SMTP_BODY_BINARYMIME ||
	       (!e->cfg->chunking_off && (e->capa.flags & SMTPI_CAPA_CHUNKING));
}

/* A command line under construction, bounded: RFC 5321 4.5.3.1.4 allows 512
   octets and extension parameters a few hundred more (RFC 1869 4.1.2); what the
   checked addresses and parameters can make fits (SMTPI_ENVELOPE_LINE_MAX). */
struct line {
	char *p;
	size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
	memcpy(l->p + l->n, s, n);
	l->n += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Appends " KEY=value" (or " KEY" when value is NULL). */
static void param(struct line *l, const char *key, const char *value)
{
	put(l, " ", 1);
	puts_(l, key);
	if (value) {
		put(l, "=", 1);
		puts_(l, value);
	}
}

/* RFC 3461 4: an xtext parameter value. */
static void param_xtext(struct line *l, const char *key, const char *prefix, const char *v)
{
	put(l, " ", 1);
	puts_(l, key);
	put(l, "=", 1);
	puts_(l, prefix);
	l->n += smtpi_xtext_encode(v, strlen(v), l->p + l->n, SMTPI_ENVELOPE_LINE_MAX - l->n);
}

size_t smtpi_envelope_mail_line(const struct smtpi_engine *e, const smtp_message *m, char *dst)
{
	struct line l = {dst, 0};
	const char *from = m->wire_from ? m->wire_from : m->from;
	unsigned f = e->capa.flags;
	puts_(&l, "MAIL FROM:<");
	puts_(&l, from);
	put(&l, ">", 1);
	if ((f & SMTPI_CAPA_SIZE) && known_size(m)) {
		puts_(&l, " SIZE=");
		l.n += smtpi_fmt_u64(l.p + l.n, known_size(m));
	}
	const char *body = body_param(e, m);
	if (body)
		param(&l, "BODY", body);
	if ((f & SMTPI_CAPA_SMTPUTF8) &&
	    (smtpi_message_needs_utf8(m) || smtpi_message_has_utf8_domain(m)))
		param(&l, "SMTPUTF8", NULL);
	if (f & SMTPI_CAPA_DSN) {
		if (m->dsn_ret)
			param(&l, "RET", m->dsn_ret == SMTP_DSN_RET_FULL ? "FULL" : "HDRS");
		if (m->envid)
			param_xtext(&l, "ENVID", "", m->envid);
	}
	if (m->requiretls)
		param(&l, "REQUIRETLS", NULL);
	return l.n;
}

size_t smtpi_envelope_rcpt_line(const struct smtpi_engine *e, const smtp_message *m, size_t i,
				char *dst)
{
	struct line l = {dst, 0};
	const char *to = m->rcpt[i].wire ? m->rcpt[i].wire : m->rcpt[i].addr;
	puts_(&l, "RCPT TO:<");
	puts_(&l, to);
	put(&l, ">", 1);
	if (!(e->capa.flags & SMTPI_CAPA_DSN))
		return l.n;
	unsigned n = m->rcpt[i].notify;
	if (n) {
		/* RFC 3461 4.1 */
		static const struct {
			unsigned bit;
			const char *name;
		} names[] = {{SMTP_NOTIFY_NEVER, "NEVER"},
			     {SMTP_NOTIFY_SUCCESS, "SUCCESS"},
			     {SMTP_NOTIFY_FAILURE, "FAILURE"},
			     {SMTP_NOTIFY_DELAY, "DELAY"}};
		puts_(&l, " NOTIFY=");
		const char *sep = "";
		for (size_t k = 0; k < 4; k++)
			if (n & names[k].bit) {
				puts_(&l, sep);
				puts_(&l, names[k].name);
				sep = ",";
			}
	}
	/* RFC 3461 4.2: ORCPT=rfc822;xtext */
	if (m->rcpt[i].orcpt)
		param_xtext(&l, "ORCPT", "rfc822;", m->rcpt[i].orcpt);
	return l.n;
}

int smtpi_message_wants_dsn(const smtp_message *m)
{
	if (m->dsn_ret || m->envid)
		return 1;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->rcpt[i].notify || m->rcpt[i].orcpt)
			return 1;
	return 0;
}

int smtpi_message_needs_utf8(const smtp_message *m)
{
	if (m->header_utf8 || m->smtputf8)
		return 1;
	unsigned all = m->from_flags;
	for (size_t i = 0; i < m->nrcpts; i++)
		all |= m->rcpt[i].flags;
	return (all & SMTPI_ADDR_UTF8_LOCAL) != 0;
}

int smtpi_message_has_utf8_domain(const smtp_message *m)
{
	unsigned all = m->from_flags;
	for (size_t i = 0; i < m->nrcpts; i++)
		all |= m->rcpt[i].flags;
	return (all & SMTPI_ADDR_UTF8_DOMAIN) != 0;
}

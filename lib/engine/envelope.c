/* Envelope checks and parameters; see envelope.h. */
#include "engine/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/address.h"

/* RFC 5321 4.5.3.1.6: a line (ended by LF, or a lone CR) over 998 octets. */
static int long_line(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n > SMTPI_BODY_MAX_LINE) {
			size_t run = 0;
			for (size_t i = 0; i < n; i++) {
				run = p[i] == '\r' ? 0 : run + 1;
				if (run > SMTPI_BODY_MAX_LINE)
					return 1;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* The header block: everything before the first empty line (RFC 5322 2.1). */
static size_t header_length(const unsigned char *p, size_t len)
{
	if (len && (p[0] == '\n' || (p[0] == '\r' && len > 1 && p[1] == '\n')))
		return 0;
	const unsigned char *s = p, *end = p + len;
	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		s++;
		if (s < end && (*s == '\n' || (*s == '\r' && s + 1 < end && s[1] == '\n')))
			return (size_t)(s - p);
	}
	return len;
}

int smtpi_envelope_scan(smtp_message *m)
{
	m->eight_bit = 0;
	m->header_utf8 = 0;
	if (!m->data)
		return 0;
	int nul;
	smtpi_body_scan(m->data, m->data_len, &m->eight_bit, &nul);
	if (m->eight_bit) {
		int hnul;
		smtpi_body_scan(m->data, header_length(m->data, m->data_len), &m->header_utf8, &hnul);
	}
	/* RFC 5322 2.3 / RFC 6152 2: text never carries NUL; only binary content may */
	if (nul && m->body_type != SMTP_BODY_BINARYMIME)
		return SMTP_EINVAL;
	if (m->body_type != SMTP_BODY_BINARYMIME && !m->long_lines &&
	    long_line(m->data, m->data_len))
		return SMTP_EINVAL;
	return 0;
}

void smtpi_envelope_clear(smtp_message *m)
{
	free(m->wire_from);
	m->wire_from = NULL;
	if (m->wire_rcpts) {
		for (size_t i = 0; i < m->nrcpts; i++)
			free(m->wire_rcpts[i]);
		free(m->wire_rcpts);
		m->wire_rcpts = NULL;
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
	if (!rc && !(m->wire_rcpts = calloc(m->nrcpts, sizeof *m->wire_rcpts)))
		rc = SMTP_ENOMEM;
	for (size_t i = 0; !rc && i < m->nrcpts; i++)
		rc = to_wire(e, m->rcpts[i], m->rcpt_flags[i], &m->wire_rcpts[i], why);
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
	if (e->cfg->lmtp)
		return 0;
	return m->body_type == SMTP_BODY_BINARYMIME ||
	       (!e->cfg->chunking_off && (e->capa.flags & SMTPI_CAPA_CHUNKING));
}

/* Appends " KEY=value" to the line being built. */
static void param(char *line, size_t cap, const char *key, const char *value)
{
	size_t n = strlen(line);
	snprintf(line + n, cap - n, " %s%s%s", key, value ? "=" : "", value ? value : "");
}

char *smtpi_envelope_mail_line(const struct smtpi_engine *e, const smtp_message *m)
{
	const char *from = m->wire_from ? m->wire_from : m->from;
	size_t cap = strlen(from) + 512;
	char *line = malloc(cap);
	if (!line)
		return NULL;
	unsigned f = e->capa.flags;
	snprintf(line, cap, "MAIL FROM:<%s>", from);
	char num[24];
	if ((f & SMTPI_CAPA_SIZE) && known_size(m)) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)known_size(m));
		param(line, cap, "SIZE", num);
	}
	const char *body = body_param(e, m);
	if (body)
		param(line, cap, "BODY", body);
	if ((f & SMTPI_CAPA_SMTPUTF8) &&
	    (smtpi_message_needs_utf8(m) || smtpi_message_has_utf8_domain(m)))
		param(line, cap, "SMTPUTF8", NULL);
	if (f & SMTPI_CAPA_DSN) {
		if (m->dsn_ret)
			param(line, cap, "RET", m->dsn_ret == SMTP_DSN_RET_FULL ? "FULL" : "HDRS");
		if (m->envid) {
			char x[320];
			smtpi_xtext_encode(m->envid, strlen(m->envid), x, sizeof x);
			param(line, cap, "ENVID", x);
		}
	}
	if (m->requiretls)
		param(line, cap, "REQUIRETLS", NULL);
	return line;
}

char *smtpi_envelope_rcpt_line(const struct smtpi_engine *e, const smtp_message *m, size_t i)
{
	const char *to = m->wire_rcpts && m->wire_rcpts[i] ? m->wire_rcpts[i] : m->rcpts[i];
	const char *orcpt = m->orcpt[i];
	size_t cap = strlen(to) + (orcpt ? 3 * strlen(orcpt) : 0) + 128;
	char *line = malloc(cap);
	if (!line)
		return NULL;
	snprintf(line, cap, "RCPT TO:<%s>", to);
	if (!(e->capa.flags & SMTPI_CAPA_DSN))
		return line;
	unsigned n = m->notify[i];
	if (n) {
		/* RFC 3461 4.1 */
		char v[40] = "";
		static const struct {
			unsigned bit;
			const char *name;
		} names[] = {{SMTP_NOTIFY_NEVER, "NEVER"},
			     {SMTP_NOTIFY_SUCCESS, "SUCCESS"},
			     {SMTP_NOTIFY_FAILURE, "FAILURE"},
			     {SMTP_NOTIFY_DELAY, "DELAY"}};
		for (size_t k = 0; k < 4; k++)
			if (n & names[k].bit) {
				size_t l = strlen(v);
				snprintf(v + l, sizeof v - l, "%s%s", l ? "," : "", names[k].name);
			}
		param(line, cap, "NOTIFY", v);
	}
	if (orcpt) {
		/* RFC 3461 4.2: ORCPT=rfc822;xtext */
		size_t len = strlen(line);
		int w = snprintf(line + len, cap - len, " ORCPT=rfc822;");
		smtpi_xtext_encode(orcpt, strlen(orcpt), line + len + (size_t)w, cap - len - (size_t)w);
	}
	return line;
}

int smtpi_message_wants_dsn(const smtp_message *m)
{
	if (m->dsn_ret || m->envid)
		return 1;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (m->notify[i] || m->orcpt[i])
			return 1;
	return 0;
}

int smtpi_message_needs_utf8(const smtp_message *m)
{
	if (m->header_utf8 || m->smtputf8)
		return 1;
	unsigned all = m->from_flags;
	for (size_t i = 0; i < m->nrcpts; i++)
		all |= m->rcpt_flags[i];
	return (all & SMTPI_ADDR_UTF8_LOCAL) != 0;
}

int smtpi_message_has_utf8_domain(const smtp_message *m)
{
	unsigned all = m->from_flags;
	for (size_t i = 0; i < m->nrcpts; i++)
		all |= m->rcpt_flags[i];
	return (all & SMTPI_ADDR_UTF8_DOMAIN) != 0;
}

/* Reports rendered for people (text) and programs (JSON, doc/report-schema.md), and
   the TLS and peer facts of the connection. */
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "wire/text.h"

/* snprintf-style output: writes what fits, counts everything. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putnum(struct out *o, long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%ld", v);
	put(o, tmp, (size_t)n);
}

/* A JSON string: control characters escaped, invalid UTF-8 as U+FFFD. */
static void json_str(struct out *o, const char *s)
{
	if (!s) {
		puts_(o, "null");
		return;
	}
	put(o, "\"", 1);
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)p, 1);
			p++;
		} else if (*p == '\n') {
			puts_(o, "\\n");
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			puts_(o, esc);
			p++;
		} else {
			size_t n = smtpi_utf8_len(p, (size_t)(end - p));
			if (n == 0) {
				puts_(o, "\\ufffd");
				p++;
			} else {
				put(o, (const char *)p, n);
				p += n;
			}
		}
	}
	put(o, "\"", 1);
}

static const struct smtpi_connlog *connlog(const smtp_report *r)
{
	return r ? r->conn : NULL;
}

const char *smtp_report_tls_version(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l && l->tls ? l->tls_info.version : NULL;
}

const char *smtp_report_tls_cipher(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l && l->tls ? l->tls_info.cipher : NULL;
}

int smtp_report_tls_resumed(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l && l->tls ? l->tls_info.resumed : 0;
}

const char *smtp_report_tls_peer_subject(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l && l->tls && l->tls_info.subject[0] ? l->tls_info.subject : NULL;
}

const char *smtp_report_tls_peer_issuer(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l && l->tls && l->tls_info.issuer[0] ? l->tls_info.issuer : NULL;
}

int smtp_report_enhanced_advertised(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l ? l->enhanced_advertised : 0;
}

const char *smtp_report_peer(const smtp_report *r)
{
	const struct smtpi_connlog *l = connlog(r);
	return l ? l->peer : NULL;
}

static void json_code(struct out *o, int code)
{
	if (code)
		putnum(o, code);
	else
		puts_(o, "null");
}

static void json_step(struct out *o, const smtp_step *st)
{
	puts_(o, "{\"stage\": ");
	json_str(o, smtp_stage_name(st->stage));
	if (st->arg) {
		puts_(o, ", \"arg\": ");
		json_str(o, st->arg);
	}
	puts_(o, ", \"code\": ");
	json_code(o, st->code);
	puts_(o, ", \"enhanced\": ");
	json_str(o, smtp_step_enhanced(st));
	puts_(o, ", \"text\": ");
	json_str(o, smtp_step_text(st));
	if (st->error) {
		puts_(o, ", \"error\": ");
		json_str(o, smtp_error_name(st->error));
	}
	puts_(o, ", \"us\": ");
	if (st->elapsed_us >= 0)
		putnum(o, (long)st->elapsed_us);
	else
		puts_(o, "null");
	puts_(o, "}");
}

static void json_rcpt(struct out *o, const smtp_rcpt_result *rr)
{
	puts_(o, "{\"address\": ");
	json_str(o, rr->address);
	puts_(o, ", \"verdict\": ");
	json_str(o, smtp_verdict_name(rr->verdict));
	puts_(o, ", \"stage\": ");
	json_str(o, rr->stage ? smtp_stage_name(rr->stage) : NULL);
	puts_(o, ", \"code\": ");
	json_code(o, rr->code);
	puts_(o, ", \"enhanced\": ");
	json_str(o, smtp_rcpt_enhanced(rr));
	puts_(o, ", \"text\": ");
	json_str(o, smtp_rcpt_text(rr));
	puts_(o, ", \"error\": ");
	json_str(o, rr->error ? smtp_error_name(rr->error) : NULL);
	puts_(o, smtp_rcpt_accepted(rr) ? ", \"accepted\": true}" : ", \"accepted\": false}");
}

static void terminate(struct out *o)
{
	if (o->cap)
		o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
}

size_t smtp_report_json(const smtp_report *r, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	if (!r) {
		puts_(&o, "null");
		terminate(&o);
		return o.len;
	}
	puts_(&o, "{\"outcome\": ");
	json_str(&o, smtp_outcome_name(r->outcome));
	puts_(&o, ", \"failed_stage\": ");
	json_str(&o, r->failed_stage ? smtp_stage_name(r->failed_stage) : NULL);
	puts_(&o, ", \"error\": ");
	json_str(&o, r->error ? smtp_error_name(r->error) : NULL);
	puts_(&o, ", \"detail\": ");
	json_str(&o, r->detail);
	puts_(&o, r->maybe_delivered ? ", \"maybe_delivered\": true" : ", \"maybe_delivered\": false");
	puts_(&o, ", \"peer\": ");
	json_str(&o, smtp_report_peer(r));
	puts_(&o, smtp_report_enhanced_advertised(r) ? ", \"enhanced_advertised\": true"
						     : ", \"enhanced_advertised\": false");
	puts_(&o, ", \"tls\": ");
	if (smtp_report_tls_version(r)) {
		puts_(&o, "{\"version\": ");
		json_str(&o, smtp_report_tls_version(r));
		puts_(&o, ", \"cipher\": ");
		json_str(&o, smtp_report_tls_cipher(r));
		puts_(&o, smtp_report_tls_resumed(r) ? ", \"resumed\": true" : ", \"resumed\": false");
		puts_(&o, ", \"peer_subject\": ");
		json_str(&o, smtp_report_tls_peer_subject(r));
		puts_(&o, ", \"peer_issuer\": ");
		json_str(&o, smtp_report_tls_peer_issuer(r));
		puts_(&o, "}");
	} else {
		puts_(&o, "null");
	}
	puts_(&o, ",\n \"steps\": [");
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		puts_(&o, i ? ",\n  " : "\n  ");
		json_step(&o, smtp_report_step(r, i));
	}
	puts_(&o, "],\n \"recipients\": [");
	for (size_t i = 0; i < r->nrcpts; i++) {
		puts_(&o, i ? ",\n  " : "\n  ");
		json_rcpt(&o, &r->rcpts[i]);
	}
	puts_(&o, "],\n \"queue_id\": ");
	json_str(&o, r->queue_id);
	puts_(&o, "}\n");
	terminate(&o);
	return o.len;
}

/* Text rendering keeps the server's words but escapes its control characters;
   the lines of a multi-line text are joined by newline. */
static void text_str(struct out *o, const char *s, const char *newline)
{
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char buf[512];
		size_t done = 0;
		while (done < n) {
			/* at most a quarter of the buffer per pass: every octet may take 4 */
			size_t take = n - done < sizeof buf / 4 - 1 ? n - done : sizeof buf / 4 - 1;
			size_t w = smtpi_escape_text(buf, sizeof buf, s + done, take);
			put(o, buf, w);
			done += take;
		}
		if (!nl)
			break;
		puts_(o, newline);
		s = nl + 1;
	}
}

size_t smtp_report_text(const smtp_report *r, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	if (!r) {
		terminate(&o);
		return 0;
	}
	puts_(&o, "outcome: ");
	puts_(&o, smtp_outcome_name(r->outcome));
	if (r->maybe_delivered)
		puts_(&o, ", maybe delivered");
	if (r->failed_stage) {
		puts_(&o, " (failed at ");
		puts_(&o, smtp_stage_name(r->failed_stage));
		puts_(&o, ")");
	}
	puts_(&o, "\n");
	if (r->error) {
		puts_(&o, "error: ");
		puts_(&o, smtp_error_name(r->error));
		puts_(&o, ": ");
		puts_(&o, smtp_error_text(r->error));
		if (r->detail) {
			puts_(&o, ": ");
			text_str(&o, r->detail, " ");
		}
		puts_(&o, "\n");
	}
	if (smtp_report_peer(r)) {
		puts_(&o, "peer: ");
		puts_(&o, smtp_report_peer(r));
		puts_(&o, "\n");
	}
	if (smtp_report_tls_version(r)) {
		puts_(&o, "tls: ");
		puts_(&o, smtp_report_tls_version(r));
		puts_(&o, " ");
		puts_(&o, smtp_report_tls_cipher(r));
		puts_(&o, smtp_report_tls_resumed(r) ? " (resumed)\n" : "\n");
	}
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		const smtp_step *st = smtp_report_step(r, i);
		puts_(&o, "  ");
		puts_(&o, smtp_stage_name(st->stage));
		if (st->arg) {
			puts_(&o, " <");
			text_str(&o, st->arg, " ");
			puts_(&o, ">");
		}
		if (st->code) {
			puts_(&o, ": ");
			putnum(&o, st->code);
			if (st->enhanced[0]) {
				puts_(&o, " ");
				puts_(&o, st->enhanced);
			}
			puts_(&o, " ");
			text_str(&o, st->text, "\n      ");
		} else {
			if (st->error) {
				puts_(&o, ": ");
				puts_(&o, smtp_error_name(st->error));
			}
			if (st->text && st->text[0]) {
				puts_(&o, st->error ? " " : ": ");
				text_str(&o, st->text, " ");
			}
		}
		puts_(&o, "\n");
	}
	for (size_t i = 0; i < r->nrcpts; i++) {
		const smtp_rcpt_result *rr = &r->rcpts[i];
		puts_(&o, "  ");
		puts_(&o, smtp_verdict_name(rr->verdict));
		puts_(&o, " ");
		text_str(&o, rr->address, " ");
		if (rr->stage) {
			puts_(&o, " at ");
			puts_(&o, smtp_stage_name(rr->stage));
		}
		if (rr->code) {
			puts_(&o, ": ");
			putnum(&o, rr->code);
			if (rr->enhanced[0]) {
				puts_(&o, " ");
				puts_(&o, rr->enhanced);
			}
		} else if (rr->error) {
			puts_(&o, ": ");
			puts_(&o, smtp_error_name(rr->error));
		}
		puts_(&o, "\n");
	}
	if (r->queue_id) {
		puts_(&o, "queue id: ");
		text_str(&o, r->queue_id, " ");
		puts_(&o, "\n");
	}
	terminate(&o);
	return o.len;
}

/* The oracle beside the engine: records the transcript of one run of the engine
   (what it wrote, what it was given, how many replies it dispatched), keeps a copy
   of each message report's JSON when the report becomes final, and at the end
   compares the engine's reports with the oracle's. strict: every recipient's
   verdict, stage, code and error and every message's outcome, error, failed stage
   and maybe_delivered (scenarios); otherwise (arbitrary fuzz input) that no
   recipient is accepted without a 2xx final reply the oracle matched to it, and,
   when every reply stayed within the oracle's model, the same comparison for each
   message whose report is final. Used by test_oracle.c and
   tests/fuzz/fuzz_engine.c. */
#ifndef ORACLE_GLUE_H
#define ORACLE_GLUE_H

#include <stdlib.h>

#include "engine/engine.h"
#include "oracle_wire.h"

#define ORC_LOG_MAX (256 * 1024)

struct orc_glue {
	struct orc_transcript t;
	struct orc_client cl;
	struct orc_replies sv;
	struct orc_setup set;
	struct orc_state st;
	struct orc_result res;
	const struct smtpi_engine *e;
	smtp_message *m[ORC_MAX_MSGS];
	int submitted[ORC_MAX_MSGS];
	char *frozen[ORC_MAX_MSGS];   /* the JSON of each report when it became final */
	char log[ORC_LOG_MAX];        /* entries: a tag, a 4-octet length, the octets */
	size_t log_len;
	int log_cut;
	char problems[4096];
	int nproblems;
};

static inline void orc_glue_init(struct orc_glue *g, const struct smtpi_engine *e,
				 const struct orc_setup *set, smtp_message *const *m,
				 const char *const *content, const size_t *content_len)
{
	g->t.n = 0;
	g->t.overflow = 0;
	g->set = *set;
	g->e = e;
	for (size_t i = 0; i < ORC_MAX_MSGS; i++) {
		g->m[i] = i < set->nmsgs ? m[i] : NULL;
		g->submitted[i] = 0;
		g->frozen[i] = NULL;
	}
	orc_client_init(&g->cl, &g->t, content, content_len, set->nmsgs);
	orc_replies_init(&g->sv, &g->t);
	g->log_len = 0;
	g->log_cut = 0;
	g->problems[0] = '\0';
	g->nproblems = 0;
}

static inline void orc_glue_free(struct orc_glue *g)
{
	for (size_t i = 0; i < ORC_MAX_MSGS; i++) {
		free(g->frozen[i]);
		g->frozen[i] = NULL;
	}
}

static inline void orc_glue_log(struct orc_glue *g, char tag, const char *p, size_t n)
{
	if (g->log_len + n + 5 > sizeof g->log) {
		g->log_cut = 1;
		return;
	}
	g->log[g->log_len] = tag;
	for (int k = 0; k < 4; k++)
		g->log[g->log_len + 1 + (size_t)k] = (char)((n >> (8 * k)) & 0xff);
	memcpy(g->log + g->log_len + 5, p, n);
	g->log_len += n + 5;
}

/* A report's JSON in a new allocation, or NULL when out of memory. */
static inline char *orc_json(const smtp_report *r)
{
	char small[4096];
	size_t need = smtp_report_json(r, small, sizeof small);
	char *s = malloc(need + 1);
	if (!s)
		return NULL;
	if (need < sizeof small)
		memcpy(s, small, need + 1);
	else
		smtp_report_json(r, s, need + 1);
	return s;
}

static inline __attribute__((format(printf, 2, 3))) void
orc_problem(struct orc_glue *g, const char *fmt, ...)
{
	va_list ap;
	g->nproblems++;
	va_start(ap, fmt);
	orc_vline(g->problems, sizeof g->problems, fmt, ap);
	va_end(ap);
}

/* Copies the JSON of every report that became final since the last call. */
static inline void orc_glue_freeze(struct orc_glue *g)
{
	for (size_t i = 0; i < g->set.nmsgs; i++) {
		const smtp_report *r = smtp_message_report(g->m[i]);
		if (!g->frozen[i] && smtp_report_outcome(r) != SMTP_PENDING)
			g->frozen[i] = orc_json(r);
	}
}

static inline void orc_glue_submit(struct orc_glue *g, size_t i)
{
	g->submitted[i] = 1;
	orc_push(&g->t, ORC_SUBMIT, 0, 0, (int)i, -1, 0, 0);
}

/* The engine has handed out `total` octets to write so far (those written and
   those it offers now): call whenever its output is looked at. */
static inline void orc_glue_queued(struct orc_glue *g, unsigned long total)
{
	orc_push(&g->t, ORC_QUEUED, 0, 0, -1, -1, 0, total);
}

/* The client wrote n octets. */
static inline void orc_glue_wrote(struct orc_glue *g, const char *p, size_t n)
{
	orc_glue_log(g, 'C', p, n);
	orc_client_feed(&g->cl, p, n);
}

/* The client is given n octets: call before smtpi_engine_recv, and
   orc_glue_after after it. */
static inline void orc_glue_give(struct orc_glue *g, const char *p, size_t n)
{
	orc_glue_log(g, 'S', p, n);
	orc_replies_feed(&g->sv, p, n);
}

static inline void orc_glue_after(struct orc_glue *g)
{
	orc_push(&g->t, ORC_DISPATCHED, 0, 0, -1, -1, 0, g->e->replies);
	orc_glue_freeze(g);
}

/* The session ended the connection with local error err (after the engine was
   told). */
static inline void orc_glue_local(struct orc_glue *g, int err)
{
	char note[64];
	snprintf(note, sizeof note, "[local error %s]", smtp_error_name(err));
	orc_glue_log(g, '*', note, strlen(note));
	orc_push(&g->t, ORC_LOCAL, 0, 0, -1, -1, err, 0);
	orc_glue_after(g);
}

/* The session connects again: a fresh dialogue on both sides. */
static inline void orc_glue_connect(struct orc_glue *g)
{
	orc_glue_log(g, '*', "[new connection]", 16);
	orc_push(&g->t, ORC_CONNECT, 0, 0, -1, -1, 0, 0);
	unsigned long pos = g->cl.pos;
	orc_client_init(&g->cl, &g->t, g->cl.content, g->cl.content_len, g->set.nmsgs);
	g->cl.pos = pos;
	orc_replies_init(&g->sv, &g->t);
}

/* ORC_EOF, ORC_STALL or ORC_TLS happened (after the engine was told). */
static inline void orc_glue_event(struct orc_glue *g, int kind)
{
	static const char *const notes[] = {"[eof]", "[stall: deadline]", "[tls]"};
	const char *note = notes[kind == ORC_EOF ? 0 : kind == ORC_STALL ? 1 : 2];
	orc_glue_log(g, '*', note, strlen(note));
	orc_push(&g->t, kind, 0, 0, -1, -1, 0, 0);
	if (kind == ORC_TLS)
		orc_replies_init(&g->sv, &g->t); /* RFC 3207 4.2: a fresh dialogue */
	orc_glue_after(g);
}

static inline int orc_stage_ok(smtp_stage got, smtp_stage want, unsigned alt)
{
	return got == want || (alt & ORC_STAGE_BIT(got)) != 0;
}

/* "mail", or "mail|rset" when the rules allow either */
static inline const char *orc_stage_text(smtp_stage s, unsigned alt, char *buf, size_t n)
{
	snprintf(buf, n, "%s", smtp_stage_name(s));
	for (int k = 0; k <= SMTP_STAGE_COMMAND; k++)
		if ((alt & ORC_STAGE_BIT(k)) && k != (int)s && strlen(buf) + 12 < n)
			snprintf(buf + strlen(buf), n - strlen(buf), "|%s",
				 smtp_stage_name((smtp_stage)k));
	return buf;
}

static inline void orc_compare_msg(struct orc_glue *g, size_t i)
{
	char st[64];
	const smtp_report *r = smtp_message_report(g->m[i]);
	const struct orc_msg *o = &g->res.m[i];
	if (smtp_report_outcome(r) == SMTP_PENDING) {
		orc_problem(g, "message %zu: the engine's report is not final", i);
		return;
	}
	if (smtp_report_outcome(r) != o->outcome || smtp_report_error(r) != o->error ||
	    !orc_stage_ok(smtp_report_failed_stage(r), o->failed_stage, o->failed_alt) ||
	    smtp_report_maybe_delivered(r) != o->maybe_delivered)
		orc_problem(g, "message %zu: expected %s %s at %s maybe_delivered %d; engine: "
			       "%s %s at %s maybe_delivered %d", i, smtp_outcome_name(o->outcome),
			    smtp_error_name(o->error),
			    orc_stage_text(o->failed_stage, o->failed_alt, st, sizeof st),
			    o->maybe_delivered, smtp_outcome_name(smtp_report_outcome(r)),
			    smtp_error_name(smtp_report_error(r)),
			    smtp_stage_name(smtp_report_failed_stage(r)),
			    smtp_report_maybe_delivered(r));
	for (size_t k = 0; k < g->set.nrcpts[i]; k++) {
		const smtp_rcpt_result *rr = smtp_report_rcpt(r, k);
		const struct orc_rcpt *x = &o->r[k];
		if (smtp_rcpt_verdict(rr) != x->verdict ||
		    !orc_stage_ok(smtp_rcpt_stage(rr), x->stage, x->alt) ||
		    smtp_rcpt_code(rr) != x->code || smtp_rcpt_error(rr) != x->err)
			orc_problem(g, "message %zu recipient %zu: expected %s at %s, %d, %s; "
				       "engine: %s at %s, %d, %s", i, k,
				    smtp_verdict_name(x->verdict),
				    orc_stage_text(x->stage, x->alt, st, sizeof st),
				    x->code, smtp_error_name(x->err),
				    smtp_verdict_name(smtp_rcpt_verdict(rr)),
				    smtp_stage_name(smtp_rcpt_stage(rr)), smtp_rcpt_code(rr),
				    smtp_error_name(smtp_rcpt_error(rr)));
	}
}

/* Runs the oracle over the transcript and compares. Returns the number of
   problems (violations of the client's rules, report mismatches, changed reports). */
static inline int orc_glue_check(struct orc_glue *g)
{
	orc_walk(&g->t, &g->set, &g->st, &g->res);
	if (g->res.violations)
		orc_problem(g, "the client broke %d rule(s):\n%s", g->res.violations,
			    g->res.why);
	if (g->set.strict && g->res.uncertain)
		orc_problem(g, "the scenario left the oracle's model");
	for (size_t i = 0; i < g->set.nmsgs; i++) {
		const smtp_report *r = smtp_message_report(g->m[i]);
		if (!g->submitted[i])
			continue;
		if (g->frozen[i]) {
			char *now = orc_json(r);
			if (now && strcmp(now, g->frozen[i]) != 0)
				orc_problem(g, "message %zu: the final report changed:\n  was %s\n"
					       "  now %s", i, g->frozen[i], now);
			free(now);
		}
		if (g->set.strict) {
			orc_compare_msg(g, i);
			continue;
		}
		int pending = smtp_report_outcome(r) == SMTP_PENDING &&
			      g->res.m[i].outcome == SMTP_PENDING;
		if (!g->res.uncertain && !pending)
			orc_compare_msg(g, i);
		for (size_t k = 0; !g->res.uncertain && k < g->set.nrcpts[i]; k++)
			if (smtp_rcpt_verdict(smtp_report_rcpt(r, k)) == SMTP_VERDICT_ACCEPTED &&
			    g->res.m[i].r[k].verdict != SMTP_VERDICT_ACCEPTED)
				orc_problem(g, "message %zu recipient %zu accepted without a 2xx "
					       "final reply for it", i, k);
	}
	return g->nproblems;
}

static inline void orc_print_escaped(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r')
			fputs("\\r", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

/* The transcript (C: the client wrote, S: the client was given) and the problems. */
static inline void orc_glue_print(const struct orc_glue *g, FILE *f)
{
	for (size_t at = 0; at + 5 <= g->log_len;) {
		size_t n = 0;
		for (int k = 0; k < 4; k++)
			n |= (size_t)(unsigned char)g->log[at + 1 + (size_t)k] << (8 * k);
		fprintf(f, "  %c ", g->log[at]);
		orc_print_escaped(f, g->log + at + 5, n);
		fputc('\n', f);
		at += n + 5;
	}
	if (g->log_cut)
		fputs("  (transcript cut)\n", f);
	fputs("the oracle's reading of the replies:", f);
	for (size_t i = 0; i < g->res.nmatch; i++) {
		const struct orc_match *m = &g->res.match[i];
		fprintf(f, "%s %d", i % 8 ? "," : "\n ", m->code);
		if (m->cmd == -2)
			fputs(" malformed", f);
		else if (m->cmd == -1)
			fputs(" unsolicited", f);
		else
			fprintf(f, " %s", orc_cmd_name(m->cmd));
		if (m->msg >= 0)
			fprintf(f, " m%d", m->msg);
		if (m->rcpt >= 0)
			fprintf(f, ".%d", m->rcpt);
	}
	fputs("\n", f);
	fputs(g->problems, f);
}

#endif

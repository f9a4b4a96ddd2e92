/* Reports: building them for the engine. The accessors are in report_access.c. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/reply.h"

/* A report's first arena chunk: the recipient table, about two steps per recipient
   and their texts, so a typical message needs this one allocation only. */
#define ARENA_BASE 1024
#define ARENA_PER_RCPT 256
#define CONNLOG_ARENA 2048

static int steps_add(struct smtpi_steps *s, struct smtpi_arena *a, smtp_stage stage,
		     const char *arg, const struct smtpi_reply *reply, int err, const char *text,
		     int64_t elapsed_us)
{
	if (s->n == s->cap) {
		/* the old array stays in the arena: a pending report's steps may move,
		   a final report's never do */
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct smtp_step *v = smtpi_arena_alloc(a, cap * sizeof *v);
		if (!v)
			return SMTP_ENOMEM;
		if (s->n)
			memcpy(v, s->v, s->n * sizeof *v);
		s->v = v;
		s->cap = cap;
	}
	struct smtp_step *st = &s->v[s->n];
	memset(st, 0, sizeof *st);
	st->stage = stage;
	st->error = err;
	st->arg = arg;
	st->elapsed_us = elapsed_us;
	const char *t = reply ? reply->text : text ? text : "";
	size_t tlen = reply ? reply->text_len : strlen(t);
	if (!(st->text = smtpi_arena_strndup(a, t, tlen)))
		return SMTP_ENOMEM;
	if (reply) {
		st->code = reply->code;
		smtpi_reply_enhanced(reply, st->enhanced, sizeof st->enhanced);
	}
	s->n++;
	return 0;
}

void smtpi_report_init(struct smtp_report *r)
{
	memset(r, 0, sizeof *r);
	smtpi_arena_init(&r->arena, ARENA_BASE);
}

void smtpi_report_reset(struct smtp_report *r)
{
	smtpi_connlog_unref(r->conn);
	struct smtpi_arena a = r->arena;
	smtpi_arena_reset(&a);
	memset(r, 0, sizeof *r);
	r->arena = a;
}

void smtpi_report_free(struct smtp_report *r)
{
	smtpi_connlog_unref(r->conn);
	smtpi_arena_free(&r->arena);
	memset(r, 0, sizeof *r);
}

int smtpi_report_begin(struct smtp_report *r, size_t n)
{
	if (!r->arena.head)
		r->arena.first_size = ARENA_BASE + n * ARENA_PER_RCPT;
	r->rcpts = smtpi_arena_alloc(&r->arena, (n ? n : 1) * sizeof *r->rcpts);
	if (!r->rcpts)
		return SMTP_ENOMEM;
	memset(r->rcpts, 0, (n ? n : 1) * sizeof *r->rcpts);
	r->nrcpts = n;
	return 0;
}

void smtpi_report_attach(struct smtp_report *r, struct smtpi_connlog *l)
{
	if (r->conn || !l)
		return;
	l->frozen = 1;
	r->conn = smtpi_connlog_ref(l);
}

int smtpi_report_step(struct smtp_report *r, smtp_stage stage, const char *arg,
		      const struct smtpi_reply *reply, int err, const char *text,
		      int64_t elapsed_us)
{
	if (r->final)
		return 0;
	return steps_add(&r->steps, &r->arena, stage, arg, reply, err, text, elapsed_us);
}

int smtpi_report_pending(const struct smtp_report *r, size_t i)
{
	return i < r->nrcpts && r->rcpts[i].verdict == SMTP_VERDICT_PENDING;
}

int smtpi_report_decide(struct smtp_report *r, size_t i, const struct smtpi_cause *c)
{
	if (r->final || !smtpi_report_pending(r, i))
		return 0;
	struct smtp_rcpt_result *rr = &r->rcpts[i];
	rr->verdict = smtpi_verdict_of(c);
	rr->stage = c->stage;
	rr->error = smtpi_error_of(c);
	if (c->reply) {
		rr->code = c->reply->code;
		smtpi_reply_enhanced(c->reply, rr->enhanced, sizeof rr->enhanced);
	}
	const char *t = c->reply ? c->reply->text : c->detail ? c->detail : "";
	size_t tlen = c->reply ? c->reply->text_len : strlen(t);
	if (!(rr->text = smtpi_arena_strndup(&r->arena, t, tlen)))
		return SMTP_ENOMEM;
	if (c->detail && !(rr->detail = smtpi_arena_strndup(&r->arena, c->detail, strlen(c->detail))))
		return SMTP_ENOMEM;
	return 0;
}

/* A queue id is a short run of letters, digits and ".-_@" after a marker. */
static int queue_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_' || c == '@';
}

void smtpi_report_take_queue_id(struct smtp_report *r, const char *text)
{
	static const char *const markers[] = {"queued as ", "id=", "Queued as ", "ID="};
	for (size_t m = 0; m < sizeof markers / sizeof markers[0]; m++) {
		const char *p = strstr(text, markers[m]);
		if (!p)
			continue;
		p += strlen(markers[m]);
		size_t n = 0;
		while (n < 128 && queue_id_char(p[n]))
			n++;
		while (n > 0 && p[n - 1] == '.')
			n--; /* the sentence's full stop is not part of the id */
		if (n == 0 || n >= 128)
			continue;
		r->queue_id = smtpi_arena_strndup(&r->arena, p, n);
		return;
	}
}

/* The verdict that names the outcome's cause: for sent_partial the first recipient
   not accepted, otherwise the first with the outcome's own verdict. */
static const struct smtp_rcpt_result *deciding(const struct smtp_report *r, smtp_verdict want)
{
	for (size_t i = 0; i < r->nrcpts; i++) {
		smtp_verdict v = r->rcpts[i].verdict;
		if (want == SMTP_VERDICT_PENDING ? v != SMTP_VERDICT_ACCEPTED : v == want)
			return &r->rcpts[i];
	}
	return NULL;
}

void smtpi_report_finish(struct smtp_report *r)
{
	if (r->final)
		return;
	size_t count[SMTP_VERDICT_FAILED + 1] = {0};
	for (size_t i = 0; i < r->nrcpts; i++)
		count[r->rcpts[i].verdict]++;
	smtp_verdict want;
	if (count[SMTP_VERDICT_ACCEPTED] == r->nrcpts) {
		r->outcome = SMTP_SENT;
		want = SMTP_VERDICT_ACCEPTED;
	} else if (count[SMTP_VERDICT_ACCEPTED] > 0) {
		r->outcome = SMTP_SENT_PARTIAL;
		want = SMTP_VERDICT_PENDING;
	} else if (count[SMTP_VERDICT_DEFERRED] > 0) {
		r->outcome = SMTP_DEFERRED;
		want = SMTP_VERDICT_DEFERRED;
	} else if (count[SMTP_VERDICT_BOUNCED] > 0) {
		r->outcome = SMTP_BOUNCED;
		want = SMTP_VERDICT_BOUNCED;
	} else {
		r->outcome = SMTP_FAILED;
		want = SMTP_VERDICT_FAILED;
	}
	const struct smtp_rcpt_result *d = r->outcome == SMTP_SENT ? NULL : deciding(r, want);
	r->failed_stage = d ? d->stage : SMTP_STAGE_NONE;
	r->error = d ? d->error : 0;
	r->detail = d ? d->detail : NULL;
	r->final = 1;
}

int smtpi_report_fail(struct smtp_report *r, const struct smtpi_cause *c)
{
	if (r->error)
		return 0;
	r->outcome = smtpi_outcome_of_verdict(smtpi_verdict_of(c));
	r->failed_stage = c->stage;
	r->error = smtpi_error_of(c);
	if (c->detail && !(r->detail = smtpi_arena_strndup(&r->arena, c->detail, strlen(c->detail))))
		return SMTP_ENOMEM;
	return 0;
}

/* ---- the connection log ---- */

struct smtpi_connlog *smtpi_connlog_new(void)
{
	struct smtpi_connlog *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	atomic_init(&l->refs, 1);
	smtpi_arena_init(&l->arena, CONNLOG_ARENA);
	return l;
}

struct smtpi_connlog *smtpi_connlog_ref(struct smtpi_connlog *l)
{
	if (l)
		atomic_fetch_add(&l->refs, 1);
	return l;
}

void smtpi_connlog_unref(struct smtpi_connlog *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	smtpi_arena_free(&l->arena);
	free(l);
}

int smtpi_connlog_step(struct smtpi_connlog *l, smtp_stage stage, const struct smtpi_reply *reply,
		       int err, const char *text, int64_t elapsed_us)
{
	if (l->frozen)
		return SMTP_ESTATE;
	return steps_add(&l->steps, &l->arena, stage, NULL, reply, err, text, elapsed_us);
}

int smtpi_connlog_set_peer(struct smtpi_connlog *l, const char *peer)
{
	if (l->peer || !peer)
		return 0;
	l->peer = smtpi_arena_strndup(&l->arena, peer, strlen(peer));
	return l->peer ? 0 : SMTP_ENOMEM;
}

void smtpi_connlog_set_tls(struct smtpi_connlog *l, const struct smtpi_tls_info *info)
{
	l->tls = 1;
	l->tls_info = *info;
}

void smtpi_tls_summary(const struct smtpi_tls_info *info, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s", info->version, info->cipher,
		 info->resumed ? " (resumed)" : "");
}

/* Reports: building them (for the engine) and reading them (public accessors). */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#include "wire/reply.h"

static void step_free(struct smtp_step *st)
{
	free(st->arg);
	free(st->text);
}

struct smtpi_connlog *smtpi_connlog_new(void)
{
	struct smtpi_connlog *l = calloc(1, sizeof *l);
	if (l)
		atomic_init(&l->refs, 1);
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
	for (size_t i = 0; i < l->nsteps; i++)
		step_free(&l->steps[i]);
	free(l->steps);
	free(l->peer);
	free(l);
}

void smtpi_report_reset(struct smtp_report *r)
{
	smtpi_connlog_unref(r->conn);
	for (size_t i = 0; i < r->nsteps; i++)
		step_free(&r->steps[i]);
	free(r->steps);
	for (size_t i = 0; i < r->nrcpts; i++) {
		free(r->rcpts[i].address);
		free(r->rcpts[i].text);
	}
	free(r->rcpts);
	free(r->detail);
	free(r->queue_id);
	memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct smtp_step *smtpi_report_add(struct smtp_report *r, smtp_stage stage, const char *arg,
				   const struct smtpi_reply *reply, int error)
{
	if (r->nsteps == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct smtp_step *p = realloc(r->steps, cap * sizeof *p);
		if (!p)
			return NULL;
		r->steps = p;
		r->cap = cap;
	}
	struct smtp_step *st = &r->steps[r->nsteps];
	memset(st, 0, sizeof *st);
	st->stage = stage;
	st->error = error;
	st->elapsed_us = -1;
	st->arg = dup_or_null(arg);
	st->text = strdup(reply ? reply->text : "");
	if ((arg && !st->arg) || !st->text) {
		step_free(st);
		return NULL;
	}
	if (reply) {
		st->code = reply->code;
		smtpi_reply_enhanced(reply, st->enhanced, sizeof st->enhanced);
	}
	r->nsteps++;
	return st;
}

void smtpi_report_fail(struct smtp_report *r, smtp_outcome outcome, smtp_stage stage,
		       int error, const char *detail)
{
	r->outcome = outcome;
	r->failed_stage = stage;
	for (size_t i = 0; i < r->nrcpts; i++) {
		struct smtp_rcpt_result *rr = &r->rcpts[i];
		int code = rr->code;
		rr->verdict = rr->accepted ? SMTP_VERDICT_ACCEPTED
			      : code / 100 == 4 ? SMTP_VERDICT_DEFERRED
			      : code / 100 == 5 ? SMTP_VERDICT_BOUNCED
			      : outcome == SMTP_DEFERRED ? SMTP_VERDICT_DEFERRED
			      : outcome == SMTP_BOUNCED ? SMTP_VERDICT_BOUNCED : SMTP_VERDICT_FAILED;
		rr->stage = rr->accepted ? SMTP_STAGE_BODY : code ? SMTP_STAGE_RCPT : stage;
		rr->error = rr->accepted ? 0 : code ? SMTP_EREJECTED : error;
	}
	r->error = error;
	free(r->detail);
	r->detail = dup_or_null(detail);
}

int smtpi_report_set_rcpts(struct smtp_report *r, char *const *addrs, size_t n)
{
	r->rcpts = calloc(n ? n : 1, sizeof *r->rcpts);
	if (!r->rcpts)
		return SMTP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r->rcpts[i].address = strdup(addrs[i]);
		if (!r->rcpts[i].address)
			return SMTP_ENOMEM;
		r->nrcpts = i + 1;
	}
	return 0;
}

void smtpi_report_rcpt_reply(struct smtp_report *r, size_t i, const struct smtpi_reply *reply)
{
	struct smtp_rcpt_result *rr = &r->rcpts[i];
	rr->code = reply->code;
	smtpi_reply_enhanced(reply, rr->enhanced, sizeof rr->enhanced);
	free(rr->text);
	rr->text = strdup(reply->text);
	rr->accepted = reply->code / 100 == 2;
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
		free(r->queue_id);
		r->queue_id = strndup(p, n);
		return;
	}
}

/* ---- public accessors ---- */

smtp_outcome smtp_report_outcome(const smtp_report *r)
{
	return r ? r->outcome : SMTP_PENDING;
}

smtp_stage smtp_report_failed_stage(const smtp_report *r)
{
	return r ? r->failed_stage : SMTP_STAGE_NONE;
}

int smtp_report_error(const smtp_report *r)
{
	return r ? r->error : SMTP_EINVAL;
}

const char *smtp_report_error_detail(const smtp_report *r)
{
	return r ? r->detail : NULL;
}

const char *smtp_report_queue_id(const smtp_report *r)
{
	return r ? r->queue_id : NULL;
}

size_t smtp_report_count(const smtp_report *r)
{
	if (!r)
		return 0;
	return (r->conn ? r->conn->nsteps : 0) + r->nsteps;
}

const smtp_step *smtp_report_step(const smtp_report *r, size_t i)
{
	if (!r)
		return NULL;
	size_t shared = r->conn ? r->conn->nsteps : 0;
	if (i < shared)
		return &r->conn->steps[i];
	i -= shared;
	return i < r->nsteps ? &r->steps[i] : NULL;
}

smtp_stage smtp_step_stage(const smtp_step *st)
{
	return st ? st->stage : SMTP_STAGE_NONE;
}

const char *smtp_step_arg(const smtp_step *st)
{
	return st ? st->arg : NULL;
}

int smtp_step_code(const smtp_step *st)
{
	return st ? st->code : 0;
}

const char *smtp_step_enhanced(const smtp_step *st)
{
	return st && st->enhanced[0] ? st->enhanced : NULL;
}

const char *smtp_step_text(const smtp_step *st)
{
	return st && st->text ? st->text : "";
}

int smtp_step_error(const smtp_step *st)
{
	return st ? st->error : 0;
}

size_t smtp_report_rcpt_count(const smtp_report *r)
{
	return r ? r->nrcpts : 0;
}

const smtp_rcpt_result *smtp_report_rcpt(const smtp_report *r, size_t i)
{
	return r && i < r->nrcpts ? &r->rcpts[i] : NULL;
}

const char *smtp_rcpt_address(const smtp_rcpt_result *rr)
{
	return rr ? rr->address : NULL;
}

int smtp_rcpt_code(const smtp_rcpt_result *rr)
{
	return rr ? rr->code : 0;
}

const char *smtp_rcpt_enhanced(const smtp_rcpt_result *rr)
{
	return rr && rr->enhanced[0] ? rr->enhanced : NULL;
}

const char *smtp_rcpt_text(const smtp_rcpt_result *rr)
{
	return rr && rr->text ? rr->text : "";
}

int smtp_rcpt_accepted(const smtp_rcpt_result *rr)
{
	return rr ? rr->accepted : 0;
}

smtp_verdict smtp_rcpt_verdict(const smtp_rcpt_result *rr)
{
	return rr ? rr->verdict : SMTP_VERDICT_PENDING;
}

smtp_stage smtp_rcpt_stage(const smtp_rcpt_result *rr)
{
	return rr ? rr->stage : SMTP_STAGE_NONE;
}

int smtp_rcpt_error(const smtp_rcpt_result *rr)
{
	return rr ? rr->error : 0;
}

int smtp_report_maybe_delivered(const smtp_report *r)
{
	return r ? r->maybe_delivered : 0;
}

int64_t smtp_step_elapsed_us(const smtp_step *st)
{
	return st ? st->elapsed_us : -1;
}

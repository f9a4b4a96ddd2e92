/* The public accessors of reports, steps and recipient results. */
#include "report/report.h"

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

int smtp_report_maybe_delivered(const smtp_report *r)
{
	return r ? r->maybe_delivered : 0;
}

size_t smtp_report_count(const smtp_report *r)
{
	if (!r)
		return 0;
	return (r->conn ? r->conn->steps.n : 0) + r->steps.n;
}

const smtp_step *smtp_report_step(const smtp_report *r, size_t i)
{
	if (!r)
		return NULL;
	size_t shared = r->conn ? r->conn->steps.n : 0;
	if (i < shared)
		return &r->conn->steps.v[i];
	i -= shared;
	return i < r->steps.n ? &r->steps.v[i] : NULL;
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

int64_t smtp_step_elapsed_us(const smtp_step *st)
{
	return st ? st->elapsed_us : -1;
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
	return rr && rr->verdict == SMTP_VERDICT_ACCEPTED;
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

/* The report and the exit status (doc/smtp-send.1, EXIT STATUS): from the
   outcome first, since the verdicts say what a retry would do; a failed message (no
   server verdict) then by its error, which says what to fix. */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "smtp-send.h"

int ss_report_status(const smtp_report *r)
{
	switch (smtp_report_outcome(r)) {
	case SMTP_SENT:
		return 0;
	case SMTP_SENT_PARTIAL:
		return 1;
	case SMTP_BOUNCED:
		return EX_UNAVAILABLE;
	case SMTP_DEFERRED:
		return EX_TEMPFAIL;
	case SMTP_FAILED:
		break;
	case SMTP_PENDING:
		return EX_SOFTWARE;
	}
	switch (smtp_report_error(r)) {
	case SMTP_EINVAL:
		return EX_DATAERR;
	case SMTP_ERESOLVE:
		return EX_NOHOST;
	case SMTP_EREJECTED: {
		smtp_stage st = smtp_report_failed_stage(r);
		/* a 5xx greeting or EHLO/HELO: the server refuses this client */
		return st == SMTP_STAGE_GREETING || st == SMTP_STAGE_EHLO ? EX_PROTOCOL
									  : EX_SOFTWARE;
	}
	case SMTP_EAUTH:
	case SMTP_ENOMECH:
		return EX_NOPERM;
	case SMTP_ENOTLS:
	case SMTP_ECERT:
	case SMTP_ETLS:
		return EX_CONFIG;
	default:
		return EX_SOFTWARE;
	}
}

void ss_report_print(const smtp_report *r, const struct ss_cmdline *c, int status)
{
	if (c->quiet && status == 0)
		return;
	FILE *out = c->quiet ? stderr : stdout;
	size_t need = c->json ? smtp_report_json(r, NULL, 0) : smtp_report_text(r, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf) {
		ss_fail(EX_SOFTWARE, "out of memory for the report");
		return;
	}
	if (c->json)
		smtp_report_json(r, buf, need + 1);
	else
		smtp_report_text(r, buf, need + 1);
	ss_out_escaped(out, buf, need, '\n');
	free(buf);
}

void ss_report_trace(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	(void)ud;
	static const char *const arrow[] = {"C: ", "S: ", "*  "};
	fputs(arrow[dir <= SMTP_TRACE_INFO ? dir : SMTP_TRACE_INFO], stderr);
	ss_out_escaped(stderr, line, len, 0);
	fputc('\n', stderr);
}

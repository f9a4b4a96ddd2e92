/* The verdict rules of doc/report-schema.md, in one place: which reply or local
   error gives a recipient which verdict, and which error the report records. The
   engine decides when a cause applies; this file decides what it means. */
#include "report/report.h"

#include "wire/reply.h"

/* A 5xx refuses the message or the address only inside a transaction; before it
   (greeting, EHLO, STARTTLS, AUTH) the server refuses this client, which no retry of
   the message changes (RFC 5321 4.2.1, RFC 4954 6). */
static smtp_verdict of_reply(smtp_stage stage, int code)
{
	switch (code / 100) {
	case 2:
		/* only the final reply to the content accepts; a 2xx deciding anything
		   earlier is a reply the command cannot have */
		return stage == SMTP_STAGE_BODY ? SMTP_VERDICT_ACCEPTED : SMTP_VERDICT_DEFERRED;
	case 4:
		return SMTP_VERDICT_DEFERRED; /* RFC 5321 4.2.1: transient; 421 too (3.8) */
	case 5:
		switch (stage) {
		case SMTP_STAGE_MAIL:
		case SMTP_STAGE_RCPT:
		case SMTP_STAGE_DATA:
		case SMTP_STAGE_BODY:
			return SMTP_VERDICT_BOUNCED;
		case SMTP_STAGE_GREETING:
		case SMTP_STAGE_EHLO:
		case SMTP_STAGE_STARTTLS:
		case SMTP_STAGE_AUTH:
			return SMTP_VERDICT_FAILED;
		default:
			return SMTP_VERDICT_DEFERRED; /* a refused RSET: the server lost track */
		}
	default:
		return SMTP_VERDICT_DEFERRED; /* a reply the command cannot have: protocol error */
	}
}

static smtp_verdict of_error(int err, smtp_stage stage, int temporary)
{
	switch (err) {
	case SMTP_EINVAL:
	case SMTP_ENOMEM:
	case SMTP_ENOTLS:
	case SMTP_ECERT:
	case SMTP_EAUTH:
	case SMTP_ENOMECH:
		return SMTP_VERDICT_FAILED;
	case SMTP_ETLS:
		/* a failed handshake is configuration; a TLS record error later is a
		   broken connection */
		return stage == SMTP_STAGE_TLS ? SMTP_VERDICT_FAILED : SMTP_VERDICT_DEFERRED;
	case SMTP_ERESOLVE:
		/* EAI_AGAIN: the name may resolve later; EAI_NONAME: it does not exist */
		return temporary ? SMTP_VERDICT_DEFERRED : SMTP_VERDICT_FAILED;
	case SMTP_ESIZE:
	case SMTP_EUTF8:
		return SMTP_VERDICT_BOUNCED; /* the message as it is cannot go to this server */
	default:
		/* ECONNECT, ETIMEDOUT, ECLOSED, EPROTOCOL, ESTATE (abandoned): retry later */
		return SMTP_VERDICT_DEFERRED;
	}
}

smtp_verdict smtpi_verdict_of(const struct smtpi_cause *c)
{
	if (c->reply)
		return of_reply(c->stage, c->reply->code);
	return of_error(c->err, c->stage, c->temporary);
}

int smtpi_error_of(const struct smtpi_cause *c)
{
	if (!c->reply)
		return c->err;
	if (c->reply->code / 100 == 2)
		return c->stage == SMTP_STAGE_BODY ? 0 : SMTP_EPROTOCOL;
	if (c->reply->code == 421)
		return SMTP_ECLOSED;
	return c->err ? c->err : SMTP_EREJECTED;
}

smtp_outcome smtpi_outcome_of_verdict(smtp_verdict v)
{
	switch (v) {
	case SMTP_VERDICT_ACCEPTED:
		return SMTP_SENT;
	case SMTP_VERDICT_DEFERRED:
		return SMTP_DEFERRED;
	case SMTP_VERDICT_BOUNCED:
		return SMTP_BOUNCED;
	case SMTP_VERDICT_FAILED:
		return SMTP_FAILED;
	default:
		return SMTP_PENDING;
	}
}

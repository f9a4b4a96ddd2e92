/* Names and descriptions of the public enums, and the library version. */
#include "smtp.h"

#define STR2(x) #x
#define STR(x) STR2(x)

const char *smtp_lib_version(void)
{
	return STR(SMTP_VERSION_MAJOR) "." STR(SMTP_VERSION_MINOR) "." STR(SMTP_VERSION_PATCH);
}

static const struct {
	int err;
	const char *name;
	const char *text;
} errors[] = {
	{SMTP_OK, "SMTP_OK", "success"},
	{SMTP_EAGAIN, "SMTP_EAGAIN", "operation in progress; wait for the session's events"},
	{SMTP_EINVAL, "SMTP_EINVAL", "invalid argument"},
	{SMTP_ENOMEM, "SMTP_ENOMEM", "out of memory"},
	{SMTP_ERESOLVE, "SMTP_ERESOLVE", "host name did not resolve"},
	{SMTP_ECONNECT, "SMTP_ECONNECT", "could not connect to the server"},
	{SMTP_ETIMEDOUT, "SMTP_ETIMEDOUT", "the server did not answer in time"},
	{SMTP_ECLOSED, "SMTP_ECLOSED", "the server closed the connection"},
	{SMTP_EPROTOCOL, "SMTP_EPROTOCOL", "the server violated the SMTP protocol"},
	{SMTP_ETLS, "SMTP_ETLS", "TLS failed"},
	{SMTP_ECERT, "SMTP_ECERT", "the server certificate did not verify"},
	{SMTP_ENOTLS, "SMTP_ENOTLS", "TLS is required but not available"},
	{SMTP_EAUTH, "SMTP_EAUTH", "authentication failed"},
	{SMTP_ENOMECH, "SMTP_ENOMECH", "no usable authentication mechanism"},
	{SMTP_EREJECTED, "SMTP_EREJECTED", "the server refused the message"},
	{SMTP_ESIZE, "SMTP_ESIZE", "the message is larger than the server accepts"},
	{SMTP_EUTF8, "SMTP_EUTF8", "an address needs SMTPUTF8, which the server lacks"},
	{SMTP_ESTATE, "SMTP_ESTATE", "not allowed in the session's current state"},
	{SMTP_EBUSY, "SMTP_EBUSY", "the pool's queue is full"},
};

const char *smtp_error_text(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].err == err)
			return errors[i].text;
	return "unknown error";
}

const char *smtp_error_name(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].err == err)
			return errors[i].name;
	return "SMTP_EUNKNOWN";
}

const char *smtp_stage_name(smtp_stage stage)
{
	static const char *const names[] = {
		"none", "connect", "greeting", "ehlo", "starttls", "tls", "auth",
		"mail", "rcpt",    "data",     "body", "rset",     "quit",     "command",
	};
	unsigned i = (unsigned)stage;
	return i < sizeof names / sizeof names[0] ? names[i] : "none";
}

const char *smtp_outcome_name(smtp_outcome outcome)
{
	static const char *const names[] = {
		"pending", "sent", "sent_partial", "deferred", "bounced", "failed",
	};
	unsigned i = (unsigned)outcome;
	return i < sizeof names / sizeof names[0] ? names[i] : "pending";
}

const char *smtp_verdict_name(smtp_verdict verdict)
{
	static const char *const names[] = {
		"pending", "accepted", "deferred", "bounced", "failed",
	};
	unsigned i = (unsigned)verdict;
	return i < sizeof names / sizeof names[0] ? names[i] : "pending";
}

/* Generic commands on an idle connection: NOOP, RSET, VRFY and raw lines for
   extensions the library does not know (RFC 5321 4.1.1.5, 4.1.1.6, 4.1.1.9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/text.h"
#include "session/session.h"

static int reply_done(smtp_session *s, void *arg)
{
	(void)arg;
	return s->engine.user_done || s->state != SMTPI_S_ACTIVE;
}

/* Commands that move the engine's state: sent behind its back they would pair its
   later replies with the wrong commands (and AUTH lines would be traced unredacted). */
static const char *const engine_verbs[] = {
	"MAIL", "RCPT", "DATA", "BDAT", "STARTTLS", "AUTH", "QUIT", "EHLO", "HELO", "LHLO",
};

static int engine_verb(const char *line)
{
	size_t n = strcspn(line, " ");
	for (size_t i = 0; i < sizeof engine_verbs / sizeof engine_verbs[0]; i++)
		if (strlen(engine_verbs[i]) == n && strncasecmp(line, engine_verbs[i], n) == 0)
			return 1;
	return 0;
}

int smtp_command(smtp_session *s, const char *line)
{
	if (!s || !line || !line[0] || smtpi_check_text(line, strlen(line)) || strlen(line) > 1000 ||
	    engine_verb(line))
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	if (!s->user_pending) {
		if (s->state != SMTPI_S_ACTIVE)
			return SMTP_ESTATE;
		int rc = smtpi_engine_user_command(&s->engine, line);
		if (rc)
			return rc;
		s->user_pending = 1;
	}
	int rc = smtpi_block_until(s, reply_done, NULL);
	if (rc == SMTP_EAGAIN)
		return rc;
	s->user_pending = 0;
	if (!s->engine.user_done)
		return rc ? rc : SMTP_ECLOSED;
	return s->engine.user_code < 400 ? 0 : SMTP_EREJECTED;
}

int smtp_noop(smtp_session *s)
{
	return smtp_command(s, "NOOP");
}

int smtp_rset(smtp_session *s)
{
	return smtp_command(s, "RSET");
}

int smtp_vrfy(smtp_session *s, const char *arg)
{
	if (!arg || !arg[0] || strlen(arg) > 1000)
		return SMTP_EINVAL;
	char line[1024];
	snprintf(line, sizeof line, "VRFY %s", arg);
	return smtp_command(s, line);
}

const smtp_step *smtp_session_last_step(const smtp_session *s)
{
	size_t n = s ? smtp_report_count(&s->report) : 0;
	return n ? smtp_report_step(&s->report, n - 1) : NULL;
}

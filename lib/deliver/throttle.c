/* Recognising "you are too fast" replies and adapting the connection limit. */
#include "deliver/throttle.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* Case-insensitive substring search over the reply text. */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; *p; p++) {
		size_t i = 0;
		while (i < n && p[i] && tolower((unsigned char)p[i]) == word[i])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

int smtpi_throttle_says_slow(smtp_stage stage, int code, const char *enhanced,
			     const char *text)
{
	static const char *const words[] = {
		"rate limit", "sending rate", "rate exceeded", "message rate",
		"connection rate", "throttl", "too many connections", "too many messages",
		"too fast", "slow down",
	};
	if (code < 400 || code > 499)
		return 0;
	const char *enh = enhanced ? enhanced : "";
	/* RFC 3463 4.7.0 is "other security or policy status": at STARTTLS, TLS and
	   AUTH it is a security failure, elsewhere providers use it for "too much" */
	if (strcmp(enh, "4.7.0") == 0 && stage != SMTP_STAGE_STARTTLS &&
	    stage != SMTP_STAGE_TLS && stage != SMTP_STAGE_AUTH)
		return 1;
	if (strcmp(enh, "4.7.28") == 0)
		return 1;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (text && has_word(text, words[i]))
			return 1;
	return 0;
}

int smtpi_throttle_report(const smtp_report *r)
{
	size_t n = smtp_report_count(r);
	for (size_t i = 0; i < n; i++) {
		const smtp_step *st = smtp_report_step(r, i);
		if (smtpi_throttle_says_slow(smtp_step_stage(st), smtp_step_code(st),
					     smtp_step_enhanced(st), smtp_step_text(st)))
			return 1;
	}
	return 0;
}

void smtpi_throttle_init(struct smtpi_throttle *t, unsigned max, int64_t recovery_ms)
{
	t->max = max;
	t->cap = max;
	t->recovery = recovery_ms;
	t->changed = 0;
}

void smtpi_throttle_signal(struct smtpi_throttle *t, unsigned open, int64_t now)
{
	if (t->recovery == 0 || (t->cap < t->max && now - t->changed < 1000))
		return;
	unsigned base = open < t->cap ? open : t->cap;
	t->cap = base > 1 ? base - 1 : 1;
	t->changed = now;
}

unsigned smtpi_throttle_cap(struct smtpi_throttle *t, int64_t now)
{
	if (t->cap > t->max)
		t->cap = t->max;
	while (t->cap < t->max && now - t->changed >= t->recovery) {
		t->cap++;
		t->changed += t->recovery;
	}
	return t->cap;
}

int64_t smtpi_throttle_next(const struct smtpi_throttle *t)
{
	return t->cap < t->max ? t->changed + t->recovery : -1;
}

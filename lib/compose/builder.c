/* The builder object: construction and destruction, the Subject, Date and id
   setters, extra header fields, options, and the test hooks. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/compose.h"
#include "compose/dkim.h"

#define UNSTRUCTURED_MAX 16384
#define FIELD_NAME_MAX 76
/* 9999-12-31T23:59:59Z: RFC 5322 3.3 years have four digits. */
#define DATE_MAX INT64_C(253402300799)
#define OFFSET_MAX 1439
#define SPOOL_MAX ((uint64_t)1 << 40)

static void strings_free(struct smtpi_list *l)
{
	char **v = l->v;
	for (size_t i = 0; i < l->n; i++)
		free(v[i]);
	free(l->v);
}

smtp_compose *smtp_compose_new(void)
{
	smtp_compose *c = calloc(1, sizeof *c);
	if (c)
		c->spool_limit = SMTPI_SPOOL_DEFAULT;
	return c;
}

void smtp_compose_free(smtp_compose *c)
{
	if (!c)
		return;
	for (struct smtpi_plan *p = c->plans, *next; p; p = next) {
		next = p->next;
		smtpi_plan_free(p);
	}
	for (size_t f = 0; f <= SMTP_FIELD_BCC; f++) {
		struct smtpi_mailbox *v = c->box[f].v;
		for (size_t i = 0; i < c->box[f].n; i++) {
			free(v[i].addr);
			free(v[i].name);
		}
		free(v);
	}
	struct smtpi_part **parts = c->parts.v;
	for (size_t i = 0; i < c->parts.n; i++)
		smtpi_part_free(parts[i]);
	free(parts);
	for (size_t i = 0; i < c->nsigners; i++)
		smtp_dkim_free(c->signers[i]);
	strings_free(&c->env_rcpts);
	strings_free(&c->references);
	strings_free(&c->hdr_names);
	strings_free(&c->hdr_values);
	free(c->env_from);
	free(c->subject);
	free(c->msgid);
	free(c->in_reply_to);
	free(c->text);
	free(c->html);
	free(c);
}

static int unstructured_check(const char *s)
{
	if (!s)
		return SMTP_EINVAL;
	size_t n = strlen(s);
	return n > UNSTRUCTURED_MAX ? SMTP_EINVAL : smtpi_utf8_text_check(s, n, 1);
}

/* Replaces *slot with a copy of s[0..n). */
static int replace(char **slot, const char *s, size_t n)
{
	char *p = smtpi_strndup(s, n);
	if (!p)
		return SMTP_ENOMEM;
	free(*slot);
	*slot = p;
	return 0;
}

int smtp_compose_set_subject(smtp_compose *c, const char *subject)
{
	if (!c || unstructured_check(subject) != 0)
		return SMTP_EINVAL;
	return replace(&c->subject, subject, strlen(subject));
}

int smtp_compose_set_date(smtp_compose *c, int64_t unix_time, int utc_offset_minutes)
{
	if (!c || unix_time < 0 || unix_time > DATE_MAX || utc_offset_minutes < -OFFSET_MAX ||
	    utc_offset_minutes > OFFSET_MAX)
		return SMTP_EINVAL;
	c->has_date = 1;
	c->date = unix_time;
	c->date_offset = utc_offset_minutes;
	return 0;
}

/* The id without brackets in new memory. */
static int id_copy(const char *id, int need_at, char **out)
{
	size_t s, n;
	if (!id || smtpi_msgid_check(id, need_at, &s, &n) != 0)
		return SMTP_EINVAL;
	*out = smtpi_strndup(id + s, n);
	return *out ? 0 : SMTP_ENOMEM;
}

static int set_id(smtp_compose *c, char **slot, const char *id)
{
	char *p;
	int rc = c ? id_copy(id, 1, &p) : SMTP_EINVAL;
	if (rc)
		return rc;
	free(*slot);
	*slot = p;
	return 0;
}

int smtp_compose_set_message_id(smtp_compose *c, const char *id)
{
	return set_id(c, c ? &c->msgid : NULL, id);
}

int smtp_compose_set_in_reply_to(smtp_compose *c, const char *id)
{
	return set_id(c, c ? &c->in_reply_to : NULL, id);
}

int smtp_compose_add_references(smtp_compose *c, const char *id)
{
	char *p;
	int rc = c ? id_copy(id, 1, &p) : SMTP_EINVAL;
	if (!rc && (rc = smtpi_list_push(&c->references, sizeof p, &p)) != 0)
		free(p);
	return rc;
}

/* The fields the builder writes itself: a caller's copy would duplicate one that
   RFC 5322 3.6 allows once, or contradict the MIME structure. */
static int reserved(const char *name)
{
	static const char *const own[] = {"from", "sender", "reply-to", "to", "cc", "bcc",
					  "subject", "date", "message-id", "in-reply-to",
					  "references", "mime-version", "dkim-signature"};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		if (strcasecmp(name, own[i]) == 0)
			return 1;
	return strncasecmp(name, "content-", 8) == 0;
}

int smtp_compose_add_header(smtp_compose *c, const char *name, const char *value)
{
	if (!c || !name || unstructured_check(value) != 0)
		return SMTP_EINVAL;
	size_t n = strlen(name);
	if (n == 0 || n > FIELD_NAME_MAX || reserved(name))
		return SMTP_EINVAL;
	/* RFC 5322 3.6.8: ftext is printable ASCII except ":" */
	for (size_t i = 0; i < n; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return SMTP_EINVAL;
	char *nc = smtpi_strndup(name, n), *vc = smtpi_strndup(value, strlen(value));
	int rc = nc && vc ? smtpi_list_push(&c->hdr_names, sizeof nc, &nc) : SMTP_ENOMEM;
	if (!rc && (rc = smtpi_list_push(&c->hdr_values, sizeof vc, &vc)) != 0)
		c->hdr_names.n--;
	if (rc) {
		free(nc);
		free(vc);
	}
	return rc;
}

int smtp_compose_set_utf8(smtp_compose *c, int on)
{
	if (!c)
		return SMTP_EINVAL;
	c->utf8 = on != 0;
	return 0;
}

int smtp_compose_allow_8bit(smtp_compose *c, int on)
{
	if (!c)
		return SMTP_EINVAL;
	c->eightbit = on != 0;
	return 0;
}

int smtp_compose_set_spool_limit(smtp_compose *c, uint64_t bytes)
{
	if (!c || bytes > SPOOL_MAX)
		return SMTP_EINVAL;
	c->spool_limit = bytes;
	return 0;
}

int smtp_compose_add_dkim(smtp_compose *c, const smtp_dkim *d)
{
	if (!c || !d || c->nsigners >= SMTPI_COMPOSE_MAX_SIGNERS || !smtpi_dkim_ready(d))
		return SMTP_EINVAL;
	smtp_dkim *copy = smtpi_dkim_copy(d);
	if (!copy)
		return SMTP_ENOMEM;
	c->signers[c->nsigners++] = copy;
	return 0;
}

void smtpi_compose_test_hooks(smtp_compose *c, uint64_t seed, int64_t now)
{
	c->rng.seeded = 1;
	c->rng.state = seed;
	c->has_clock = 1;
	c->clock = now;
}

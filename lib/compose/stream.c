/* Streaming a composed message: the smtp_read_fn the session pulls from (a walk,
   walk.c, over the plan's segments), and smtp_compose_to_message, which fills a
   message's envelope and content. */
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"

/* After its end the reader starts over: the engine sends the body again for each
   RCPTMAX part of one message (RFC 9422 4.2). */
long smtpi_plan_read(void *ud, void *buf, size_t len)
{
	struct smtpi_plan *p = ud;
	if (p->send_ended) {
		p->send_ended = 0;
		smtpi_walk_start(&p->send, 0);
	}
	long n = smtpi_walk_read(p, &p->send, buf, len, 0);
	if (n <= 0) {
		/* an idle message keeps no block buffers */
		smtpi_walk_free(&p->send);
		p->send_ended = 1;
	}
	return n;
}

void smtpi_plan_free(struct smtpi_plan *p)
{
	if (!p)
		return;
	smtpi_buf_free(&p->head);
	smtpi_buf_free(&p->body);
	free(p->segs.v);
	smtpi_walk_free(&p->send);
	free(p);
}

static int add_unique(smtp_message *m, char *const *seen, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(seen[i], addr) == 0)
			return 0;
	return smtp_message_add_rcpt(m, addr);
}

/* RFC 5321 3.3 and RFC 5322 3.6.3: the reverse path is the Sender (else From), the
   recipients To, Cc and Bcc, unless the caller gave an envelope. */
static int envelope(const smtp_compose *c, smtp_message *m)
{
	const struct smtpi_mailbox *from = c->box[SMTP_FIELD_FROM].v;
	const struct smtpi_mailbox *sender = c->box[SMTP_FIELD_SENDER].v;
	const char *rev = c->env_from ? c->env_from
			  : c->box[SMTP_FIELD_SENDER].n ? sender[0].addr : from[0].addr;
	int rc = smtp_message_set_from(m, rev);
	if (rc)
		return rc;
	if (c->env_rcpts.n) {
		char *const *v = c->env_rcpts.v;
		for (size_t i = 0; !rc && i < c->env_rcpts.n; i++)
			rc = add_unique(m, v, i, v[i]);
		return rc;
	}
	size_t total = c->box[SMTP_FIELD_TO].n + c->box[SMTP_FIELD_CC].n + c->box[SMTP_FIELD_BCC].n;
	char **seen = malloc((total ? total : 1) * sizeof *seen);
	size_t n = 0;
	if (!seen)
		return SMTP_ENOMEM;
	for (smtp_field f = SMTP_FIELD_TO; !rc && f <= SMTP_FIELD_BCC; f++) {
		const struct smtpi_mailbox *v = c->box[f].v;
		for (size_t i = 0; !rc && i < c->box[f].n; i++) {
			rc = add_unique(m, seen, n, v[i].addr);
			seen[n++] = v[i].addr;
		}
	}
	free(seen);
	return rc || n ? rc : SMTP_EINVAL;
}

/* The plan filed under m, and the link that points to it. */
static struct smtpi_plan **plan_of(smtp_compose *c, const smtp_message *m)
{
	struct smtpi_plan **pp = &c->plans;
	while (*pp && (*pp)->m != m)
		pp = &(*pp)->next;
	return pp;
}

int smtp_compose_to_message(smtp_compose *c, smtp_message *m)
{
	if (!c || !m || c->box[SMTP_FIELD_FROM].n != 1)
		return SMTP_EINVAL;
	struct smtpi_plan *p = calloc(1, sizeof *p);
	if (!p)
		return SMTP_ENOMEM;
	int rc = smtpi_plan_build(c, p);
	if (!rc)
		rc = envelope(c, m);
	if (!rc && p->size_known)
		rc = smtp_message_set_size_hint(m, p->size);
	if (!rc)
		rc = smtp_message_set_body_type(m, p->eight_bit ? SMTP_BODY_AUTO : SMTP_BODY_7BIT);
	/* streamed content declares its UTF-8 header fields itself (RFC 6531 3.4) */
	if (!rc)
		rc = smtp_message_set_smtputf8(m, p->utf8_fields);
	if (!rc)
		rc = smtp_message_set_reader(m, smtpi_plan_read, p);
	if (rc) {
		smtpi_plan_free(p);
		return rc;
	}
	/* a plan filed under the same pointer belongs to a message freed since (or to
	   this one, which now reads from the new plan): nothing reads it any more */
	struct smtpi_plan **old = plan_of(c, m);
	if (*old) {
		struct smtpi_plan *dead = *old;
		*old = dead->next;
		smtpi_plan_free(dead);
	}
	p->m = m;
	p->next = c->plans;
	c->plans = p;
	return 0;
}

int smtp_compose_rewind(smtp_compose *c, smtp_message *m)
{
	struct smtpi_plan *p = c && m ? *plan_of(c, m) : NULL;
	if (!p)
		return SMTP_EINVAL;
	int rc = smtp_message_set_reader(m, smtpi_plan_read, p);
	if (!rc) {
		smtpi_walk_free(&p->send);
		smtpi_walk_start(&p->send, 0);
		p->send_ended = 0;
	}
	return rc;
}

int smtp_compose_render(smtp_compose *c, unsigned char **out, size_t *len)
{
	if (!c || !out || !len)
		return SMTP_EINVAL;
	*out = NULL;
	*len = 0;
	struct smtpi_plan *p = calloc(1, sizeof *p);
	struct smtpi_buf b = {0};
	int rc = p ? smtpi_plan_build(c, p) : SMTP_ENOMEM;
	long n = 0;
	unsigned char block[8192];
	while (!rc && (n = smtpi_plan_read(p, block, sizeof block)) > 0)
		if (smtpi_buf_append(&b, block, (size_t)n) != 0)
			rc = SMTP_ENOMEM;
	if (!rc && n < 0)
		rc = (int)n;
	smtpi_plan_free(p);
	if (rc) {
		smtpi_buf_free(&b);
		return rc;
	}
	*out = (unsigned char *)b.data;
	*len = b.len;
	return 0;
}

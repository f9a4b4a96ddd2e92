/* Mailboxes of the builder: checked addresses with display names (RFC 5322 3.4),
   the "Name <addr>" text form, and the envelope override. */
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"
#include "wire/address.h"

static int name_check(const char *name)
{
	size_t n = strlen(name);
	if (n > SMTP_NAME_MAX)
		return SMTP_EINVAL;
	/* a lone CR, LF or any other control character would end or bend the field */
	return smtpi_utf8_text_check(name, n, 0);
}

/* The checked address without brackets, in new memory. */
static int addr_copy(const char *addr, int allow_null, char **out)
{
	size_t start, len;
	if (!addr || smtpi_address_check(addr, allow_null, NULL, &start, &len, NULL) != 0)
		return SMTP_EINVAL;
	*out = smtpi_strndup(addr + start, len);
	return *out ? 0 : SMTP_ENOMEM;
}

static void mailbox_free(struct smtpi_mailbox *b)
{
	free(b->addr);
	free(b->name);
}

static int add(smtp_compose *c, smtp_field field, const char *addr, const char *name)
{
	if (!c || (unsigned)field > SMTP_FIELD_BCC || (name && name_check(name) != 0))
		return SMTP_EINVAL;
	struct smtpi_mailbox b = {0};
	int rc = addr_copy(addr, 0, &b.addr);
	if (!rc && name && name[0] && !(b.name = smtpi_strndup(name, strlen(name))))
		rc = SMTP_ENOMEM;
	struct smtpi_list *l = &c->box[field];
	if (!rc && (field == SMTP_FIELD_FROM || field == SMTP_FIELD_SENDER)) {
		/* RFC 5322 3.6.2: one From mailbox here (a list needs a Sender), one Sender */
		struct smtpi_mailbox *v = l->v;
		if (l->n)
			mailbox_free(&v[0]);
		l->n = 0;
	}
	if (!rc)
		rc = smtpi_list_push(l, sizeof b, &b);
	if (rc)
		mailbox_free(&b);
	return rc;
}

/* The typed setters differ only in the field they fill. */
#define MAILBOX_SETTER(fn, field)                                                  \
	int fn(smtp_compose *c, const char *addr, const char *name)                \
	{                                                                          \
		return add(c, field, addr, name);                                  \
	}
MAILBOX_SETTER(smtp_compose_set_from, SMTP_FIELD_FROM)
MAILBOX_SETTER(smtp_compose_set_sender, SMTP_FIELD_SENDER)
MAILBOX_SETTER(smtp_compose_add_reply_to, SMTP_FIELD_REPLY_TO)
MAILBOX_SETTER(smtp_compose_add_to, SMTP_FIELD_TO)
MAILBOX_SETTER(smtp_compose_add_cc, SMTP_FIELD_CC)
MAILBOX_SETTER(smtp_compose_add_bcc, SMTP_FIELD_BCC)

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies s[0..n) into out (cap octets), unquoting a quoted string. */
static int put(char *out, size_t cap, const char *s, size_t n, int unquote)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (unquote && s[i] == '\\' && i + 1 < n)
			i++;
		if (o + 1 >= cap)
			return SMTP_EINVAL;
		out[o++] = s[i];
	}
	if (o >= cap)
		return SMTP_EINVAL;
	out[o] = '\0';
	return 0;
}

int smtp_mailbox_parse(const char *mailbox, char *addr, size_t addr_cap, char *name,
		       size_t name_cap)
{
	if (!mailbox || !addr || !name || addr_cap == 0 || name_cap == 0)
		return SMTP_EINVAL;
	size_t n = strlen(mailbox), s = 0;
	if (smtpi_utf8_text_check(mailbox, n, 1) != 0)
		return SMTP_EINVAL;
	while (s < n && is_wsp(mailbox[s]))
		s++;
	while (n > s && is_wsp(mailbox[n - 1]))
		n--;
	const char *p = mailbox + s;
	size_t len = n - s, lt = len;
	int quoted = 0;
	/* the "<" of name-addr is the first one outside a quoted display name */
	for (size_t i = 0; i < len && lt == len; i++) {
		if (p[i] == '"')
			quoted = !quoted;
		else if (quoted && p[i] == '\\')
			i++;
		else if (!quoted && p[i] == '<')
			lt = i;
	}
	size_t as = 0, al = len, ns = 0, nl = 0;
	if (lt < len) {
		if (p[len - 1] != '>')
			return SMTP_EINVAL;
		as = lt + 1;
		al = len - lt - 2;
		nl = lt;
		while (nl > 0 && is_wsp(p[nl - 1]))
			nl--;
	}
	int unquote = nl >= 2 && p[0] == '"' && p[nl - 1] == '"';
	if (unquote) {
		ns = 1;
		nl -= 2;
	}
	if (put(addr, addr_cap, p + as, al, 0) != 0 || put(name, name_cap, p + ns, nl, unquote) != 0)
		return SMTP_EINVAL;
	if (smtpi_address_check(addr, 0, NULL, NULL, NULL, NULL) != 0 || name_check(name) != 0)
		return SMTP_EINVAL;
	return 0;
}

int smtp_compose_add_mailbox(smtp_compose *c, smtp_field field, const char *mailbox)
{
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	int rc = smtp_mailbox_parse(mailbox, addr, sizeof addr, name, sizeof name);
	return rc ? rc : add(c, field, addr, name);
}

int smtp_compose_set_envelope_from(smtp_compose *c, const char *mailbox)
{
	char *a;
	if (!c)
		return SMTP_EINVAL;
	int rc = addr_copy(mailbox, 1, &a);
	if (rc)
		return rc;
	free(c->env_from);
	c->env_from = a;
	return 0;
}

int smtp_compose_add_envelope_rcpt(smtp_compose *c, const char *mailbox)
{
	char *a;
	if (!c)
		return SMTP_EINVAL;
	int rc = addr_copy(mailbox, 0, &a);
	if (!rc && (rc = smtpi_list_push(&c->env_rcpts, sizeof a, &a)) != 0)
		free(a);
	return rc;
}

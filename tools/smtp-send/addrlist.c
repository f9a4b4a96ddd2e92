/* RFC 5322 3.4 address lists, as in To, Cc, Bcc and From, reduced to their
   mailboxes (addr-spec): display names ("Doe, John" <j@example.org>), comments
   (j@example.org (John)), groups (Friends: a@x, b@y; and the empty
   "undisclosed-recipients:;"), quoted local parts and domain literals, and the
   obsolete route (<@relay:j@example.org>, RFC 5322 4.4). The value has been
   unfolded. What is left is checked as a mailbox by the library. A mailbox of the
   command line (--from, --to) is one name-addr or addr-spec: the library splits it. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

#define ADDRLIST_MAX 10000 /* mailboxes in all the fields of one message */

struct item {
	char *spec;  /* the words outside comments, runs of blanks as one space */
	size_t len;
	char *angle; /* the <...> part, or NULL */
};

/* Index past the quoted string, bracketed literal or comment opening at v[i]
   (comments nest: RFC 5322 3.2.2), or 0 when it is not closed. */
static size_t skip_delimited(const char *v, size_t i)
{
	char open = v[i];
	char close = open == '"' ? '"' : open == '[' ? ']' : ')';
	int depth = 0;
	for (size_t j = i; v[j]; j++) {
		if (v[j] == '\\' && open != '[' && v[j + 1]) {
			j++;
		} else if (v[j] == close && (open != '(' || --depth == 0) && j > i) {
			return j + 1;
		} else if (open == '(' && v[j] == '(') {
			depth++;
		}
	}
	return 0;
}

static int push(char ***list, size_t *n, const char *s, size_t len)
{
	if (*n >= ADDRLIST_MAX)
		return ss_fail(EX_DATAERR, "more than %d addresses in the header", ADDRLIST_MAX);
	char **more = realloc(*list, (*n + 1) * sizeof *more);
	if (!more)
		return ss_fail(EX_SOFTWARE, "out of memory");
	*list = more;
	if (!(more[*n] = strndup(s, len)))
		return ss_fail(EX_SOFTWARE, "out of memory");
	(*n)++;
	return 0;
}

/* The item's mailbox, if it has one, appended to the list. */
static int finish(struct item *it, char ***list, size_t *n)
{
	int rc = 0;
	if (it->angle) {
		const char *a = it->angle;
		if (a[0] == '@' && strchr(a, ':'))
			a = strchr(a, ':') + 1;
		rc = push(list, n, a, strlen(a));
	} else {
		while (it->len && it->spec[it->len - 1] == ' ')
			it->len--;
		size_t lead = it->spec[0] == ' ';
		if (it->len > lead)
			rc = push(list, n, it->spec + lead, it->len - lead);
	}
	free(it->angle);
	it->angle = NULL;
	it->len = 0;
	it->spec[0] = '\0';
	return rc;
}

static void append(struct item *it, const char *s, size_t len)
{
	memcpy(it->spec + it->len, s, len);
	it->len += len;
	it->spec[it->len] = '\0';
}

static int parse(const char *field, const char *v, struct item *it, char ***list, size_t *n)
{
	int in_group = 0;
	size_t i = 0;
	while (v[i]) {
		char ch = v[i];
		size_t end;
		if (ch == '"' || ch == '[' || ch == '(') {
			if (!(end = skip_delimited(v, i)))
				return ss_fail(EX_DATAERR, "%s header: %s not closed", field,
					       ch == '"' ? "quoted string" : ch == '[' ? "[literal"
					       : "(comment");
			if (ch != '(')
				append(it, v + i, end - i);
			i = end;
		} else if (ch == '<') {
			end = i + 1;
			while (v[end] && v[end] != '>')
				end = v[end] == '"' && skip_delimited(v, end) ? skip_delimited(v, end)
									  : end + 1;
			if (!v[end])
				return ss_fail(EX_DATAERR, "%s header: <address> not closed", field);
			free(it->angle);
			if (!(it->angle = strndup(v + i + 1, end - i - 1)))
				return ss_fail(EX_SOFTWARE, "out of memory");
			i = end + 1;
		} else if (ch == ':' && !in_group && !it->angle) {
			/* "display-name:" opens a group; the name is not an address */
			in_group = 1;
			it->len = 0;
			i++;
		} else if (ch == ',' || (ch == ';' && in_group)) {
			if (ch == ';')
				in_group = 0;
			int rc = finish(it, list, n);
			if (rc)
				return rc;
			i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			if (it->len && it->spec[it->len - 1] != ' ')
				append(it, " ", 1);
			i++;
		} else {
			append(it, v + i, 1);
			i++;
		}
	}
	return finish(it, list, n);
}

int ss_addrlist_parse(const char *field, const char *value, char ***list, size_t *n)
{
	struct item it = {.spec = malloc(strlen(value) + 2)};
	if (!it.spec)
		return ss_fail(EX_SOFTWARE, "out of memory");
	it.spec[0] = '\0';
	int rc = parse(field, value, &it, list, n);
	free(it.spec);
	free(it.angle);
	return rc;
}

void ss_addrlist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int ss_mailbox_split(const char *origin, const char *text, char *addr, char *name)
{
	name[0] = '\0';
	if (strcmp(text, "<>") == 0) {
		addr[0] = '\0';
		return 0;
	}
	if (smtp_mailbox_parse(text, addr, SMTP_ADDR_MAX + 1, name, SMTP_NAME_MAX + 1) == 0)
		return 0;
	return ss_fail(EX_DATAERR, "%s '%s': not a valid address (local@domain, or "
		       "Name <local@domain>)", origin, text);
}

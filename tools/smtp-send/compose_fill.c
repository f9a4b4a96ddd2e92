/* The compose builder (include/smtp.h, smtp_compose_*) filled from the composing
   options: From, To, Cc, Reply-To from the command line, Bcc only in the envelope
   (the builder never writes it into the header), Date and Message-ID made by the
   builder, the text parts read from their files or standard input, attachments and
   inline parts opened now. Every string reaches the builder checked (compose.c, and
   here what files hold); the builder checks again and refuses CR, LF and NUL in any
   header, so no option can add a header line. Exit statuses: an address 65, a file
   that cannot be read 66, a file that holds no UTF-8 text 65, a value the builder
   refuses 64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

static int lib_error(int rc, const char *what, const char *value)
{
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	return ss_fail(EX_USAGE, "%s '%s': %s", what, value, smtp_error_text(rc));
}

/* A text part holds UTF-8 without NUL (the builder encodes the rest). */
static int check_text(const char *label, const char *s, size_t len)
{
	size_t line = 1;
	for (size_t i = 0; i < len;) {
		unsigned char b = (unsigned char)s[i];
		size_t n = b < 0x80 ? 1 : ss_utf8_len((const unsigned char *)s + i, len - i);
		if (!b)
			return ss_fail(EX_DATAERR, "%s: line %zu holds a NUL octet: nothing sent",
				       label, line);
		if (!n)
			return ss_fail(EX_DATAERR, "%s: line %zu is not UTF-8 text: nothing sent",
				       label, line);
		line += b == '\n';
		i += n;
	}
	return 0;
}

/* --text or --html: TEXT itself, @FILE's contents or standard input ("-", read as
   the message would be: under the name sendmail a line "." ends it unless -i).
   *owned gets what to free. */
static int body_text(const struct ss_cmdline *c, const char *option, const char *arg,
		     char **owned, const char **text)
{
	*owned = NULL;
	*text = arg;
	if (strcmp(arg, "-") != 0 && arg[0] != '@')
		return check_text(option, arg, strlen(arg));
	char label[512];
	snprintf(label, sizeof label, "%s %.480s", option, arg);
	FILE *f = arg[0] == '@' ? fopen(arg + 1, "r") : stdin;
	if (!f)
		return ss_fail(EX_NOINPUT, "%s: %s", label, strerror(errno));
	size_t len;
	int rc = ss_input_read(f, label, f == stdin && c->dot_ends, owned, &len);
	if (f != stdin)
		fclose(f);
	if (rc)
		return rc;
	(*owned)[len] = '\0'; /* ss_input_read leaves room for it */
	*text = *owned;
	return check_text(label, *owned, len);
}

static int set_body(smtp_compose *cp, const struct ss_cmdline *c, const char *option,
		    const char *arg, int (*set)(smtp_compose *, const char *))
{
	if (!arg)
		return 0;
	char *owned;
	const char *text;
	int rc = body_text(c, option, arg, &owned, &text);
	if (!rc && (rc = set(cp, text)) != 0)
		rc = lib_error(rc, option, arg);
	free(owned);
	return rc;
}

/* A mailbox into field: split (the message names origin), a UTF-8 local part
   only in an SMTPUTF8 message (RFC 6531 3.3). */
static int mailbox(smtp_compose *cp, const struct ss_cmdline *c, smtp_field field,
		   const char *origin, const char *text, const char *fallback_name)
{
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	int rc = ss_mailbox_split(origin, text, addr, name);
	if (rc)
		return rc;
	if (!addr[0])
		return ss_fail(EX_DATAERR, "%s '<>': a composed message needs a From address "
			       "(the null sender is only for the envelope of a raw message)",
			       origin);
	const char *at = strrchr(addr, '@');
	for (const char *p = addr; !c->compose->utf8 && at && p < at; p++)
		if ((unsigned char)*p >= 0x80)
			return ss_fail(EX_DATAERR, "%s '%s': a UTF-8 local part needs --utf8 "
				       "(and a server that offers SMTPUTF8)", origin, text);
	if (field == SMTP_FIELD_FROM)
		rc = smtp_compose_set_from(cp, addr, name[0] ? name : fallback_name);
	else
		rc = smtp_compose_add_mailbox(cp, field, text);
	if (rc == SMTP_EINVAL)
		return ss_fail(EX_DATAERR, "%s '%s': refused by the composer (it takes at "
			       "most 10000 addresses a field)", origin, text);
	return rc ? lib_error(rc, origin, text) : 0;
}

static int mailboxes(smtp_compose *cp, const struct ss_cmdline *c, smtp_field field,
		     const char *origin, const char *const *v, size_t n)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		rc = mailbox(cp, c, field, origin, v[i], NULL);
	return rc;
}

static int add_header(smtp_compose *cp, const char *arg)
{
	const char *colon = strchr(arg, ':'), *value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	char *name = strndup(arg, (size_t)(colon - arg));
	if (!name)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int rc = smtp_compose_add_header(cp, name, value);
	free(name);
	if (rc == SMTP_EINVAL) /* compose.c checked name and value */
		return ss_fail(EX_USAGE, "--header '%s': a field the composer writes itself "
			       "(From, To, Cc, Bcc, Reply-To, Sender, Subject, Date, Message-ID, "
			       "In-Reply-To, References, MIME-Version, Content-*, "
			       "DKIM-Signature): use its option", arg);
	return rc ? lib_error(rc, "--header", arg) : 0;
}

/* Named files are checked before the builder opens them, so that the message says
   why (the builder says only SMTP_EINVAL). */
static int readable_file(const char *option, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || access(path, R_OK) != 0)
		return ss_fail(EX_NOINPUT, "%s %s: %s", option, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ss_fail(EX_NOINPUT, "%s %s: not a regular file", option, path);
	return 0;
}

static int add_part(smtp_compose *cp, const char *option, const struct ss_part *p,
		    int inline_part)
{
	int rc = readable_file(option, p->path);
	if (rc)
		return rc;
	rc = inline_part ? smtp_compose_add_inline_file(cp, p->path, p->cid, p->type)
			 : smtp_compose_add_attachment_file(cp, p->path, p->name, p->type);
	if (rc == SMTP_EINVAL) /* compose.c checked the strings for control characters */
		return ss_fail(EX_USAGE, "%s '%s': refused: %s", option, p->spec,
			       inline_part ? "cid= must be a dot-atom (logo.1) or left@right, "
					     "type= a media type"
					   : "type= must be a media type (type/subtype, not "
					     "multipart/ or message/)");
	return rc ? lib_error(rc, option, p->spec) : 0;
}

static int parts(smtp_compose *cp, const struct ss_compose_opts *o)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < o->nattach; i++)
		rc = add_part(cp, "--attach", &o->attach[i], 0);
	for (size_t i = 0; !rc && i < o->ninline; i++)
		rc = add_part(cp, "--inline", &o->inlines[i], 1);
	return rc;
}

/* One signer per --dkim-* triple, in the order given (at most SS_DKIM_MAX, as
   the builder takes). */
static int dkim(smtp_compose *cp, const struct ss_compose_opts *o)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < ss_dkim_count(o); i++) {
		smtp_dkim *d;
		rc = ss_dkim_make(o, i, &d);
		if (!rc && (rc = smtp_compose_add_dkim(cp, d)) != 0)
			rc = lib_error(rc, "--dkim-key", o->dkim[i].key);
		smtp_dkim_free(d);
	}
	return rc;
}

static int fill(smtp_compose *cp, const struct ss_cmdline *c, const char *from)
{
	const struct ss_compose_opts *o = c->compose;
	int rc = mailbox(cp, c, SMTP_FIELD_FROM, c->from ? "--from" : "the account's from",
			 from, c->full_name);
	if (!rc)
		rc = mailboxes(cp, c, SMTP_FIELD_TO, "recipient", c->rcpts, c->nrcpt);
	if (!rc)
		rc = mailboxes(cp, c, SMTP_FIELD_CC, "--cc", o->cc, o->ncc);
	if (!rc)
		rc = mailboxes(cp, c, SMTP_FIELD_BCC, "--bcc", o->bcc, o->nbcc);
	if (!rc)
		rc = mailboxes(cp, c, SMTP_FIELD_REPLY_TO, "--reply-to", o->reply_to, o->nreply_to);
	if (!rc && o->subject && (rc = smtp_compose_set_subject(cp, o->subject)))
		rc = lib_error(rc, "--subject", o->subject);
	for (size_t i = 0; !rc && i < o->nheader; i++)
		rc = add_header(cp, o->headers[i]);
	if (!rc)
		rc = set_body(cp, c, "--text", o->text, smtp_compose_set_text);
	if (!rc)
		rc = set_body(cp, c, "--html", o->html, smtp_compose_set_html);
	if (!rc)
		rc = parts(cp, o);
	if (!rc)
		smtp_compose_set_utf8(cp, o->utf8);
	return rc ? rc : dkim(cp, o);
}

int ss_compose_fill(const struct ss_cmdline *c, const char *from, smtp_message *m,
		    smtp_compose **out)
{
	if (!from)
		return ss_usage_error("--from", "missing: give --from ADDR (-f), or from in "
				      "the account");
	smtp_compose *cp = *out = smtp_compose_new();
	if (!cp)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int rc = fill(cp, c, from);
	if (rc)
		return rc;
	rc = smtp_compose_to_message(cp, m);
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (rc)
		return ss_fail(EX_DATAERR, "the message cannot be composed: %s (a file that "
			       "changed while it was read?)", smtp_error_text(rc));
	return 0;
}

/* --print: the message as it would be sent, without a server. */
int ss_compose_print(smtp_compose *cp)
{
	unsigned char *bytes;
	size_t len;
	int rc = smtp_compose_render(cp, &bytes, &len);
	if (rc)
		return rc == SMTP_ENOMEM ? ss_fail(EX_SOFTWARE, "out of memory")
			: ss_fail(EX_DATAERR, "the message cannot be composed: %s",
				  smtp_error_text(rc));
	fwrite(bytes, 1, len, stdout);
	free(bytes);
	return 0;
}

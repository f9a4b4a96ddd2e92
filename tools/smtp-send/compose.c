/* The composing options, as options.c hands them over: each value is checked here
   as far as the command line alone allows (a control character in a header value,
   a part specification without its file, an option given twice), and what they
   exclude or need together once the whole line is read. Files are opened, and the
   builder fills, in compose_fill.c. Usage errors name the option (exit 64). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

#define SUBJECT_MAX 16384 /* octets, as the builder allows */
#define FILENAME_MAX_OCTETS 1000

static int no_memory(void)
{
	return ss_fail(EX_SOFTWARE, "out of memory");
}

static int push(const char ***v, size_t *n, const char *arg)
{
	const char **more = realloc(*v, (*n + 1) * sizeof *more);
	if (!more)
		return no_memory();
	*v = more;
	more[(*n)++] = arg;
	return 0;
}

static int once(const char **slot, const char *option, const char *arg)
{
	if (*slot)
		return ss_usage_error(option, "given twice");
	*slot = arg;
	return 0;
}

/* An option of one value that goes into a header field. */
static int once_text(const char **slot, const char *option, const char *arg, size_t max,
		     int tab_ok)
{
	int rc = once(slot, option, arg);
	return rc ? rc : ss_check_text(option, arg, max, tab_ok);
}

static void part_free(struct ss_part *p)
{
	free(p->spec);
	free(p->path);
	free(p->type);
	free(p->name);
	free(p->cid);
}

/* Whether p is ";key=" of one of keys. */
static int is_param(const char *p, const char *const *keys)
{
	for (const char *const *k = keys; *p == ';' && *k; k++)
		if (strncmp(p + 1, *k, strlen(*k)) == 0)
			return 1;
	return 0;
}

/* The start of the next ";key=" of keys in s, or NULL. */
static const char *next_param(const char *s, const char *const *keys)
{
	for (const char *p = strchr(s, ';'); p; p = strchr(p + 1, ';'))
		if (is_param(p, keys))
			return p;
	return NULL;
}

/* A value in double quotes, as a MIME parameter's quoted-string (RFC 2045 5.1,
   RFC 5322 3.2.4): ';' and '=' inside it are the value's, a backslash takes the
   next character as it is (\" a quote, \\ a backslash). *end gets what follows the
   closing quote. */
static int unquote(const char *option, const char *arg, const char *value, char **out,
		   const char **end)
{
	char *s = malloc(strlen(value));
	if (!s)
		return no_memory();
	size_t n = 0;
	const char *p = value + 1;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		s[n++] = *p;
	}
	if (*p != '"') {
		free(s);
		return ss_fail(EX_USAGE, "%s '%s': a quote opened and not closed (write a quote "
			       "inside the value as \\\")", option, arg);
	}
	s[n] = '\0';
	*out = s;
	*end = p + 1;
	return 0;
}

/* FILE;key=value;key=value: the file name runs to the first ";type=", ";name=" or
   ";cid=" (a file name may hold other semicolons), each value to the next one;
   a value in quotes to its closing quote, which ends it or comes before the next. */
static int split_part(const char *option, const char *arg, struct ss_part *p)
{
	static const char *const keys[] = {"type=", "name=", "cid=", NULL};
	const char *cut = next_param(arg, keys);
	size_t len = cut ? (size_t)(cut - arg) : strlen(arg);
	if (!(p->spec = strdup(arg)) || !(p->path = strndup(arg, len)))
		return no_memory();
	if (!len)
		return ss_fail(EX_USAGE, "%s '%s': no file name before the ';'", option, arg);
	while (cut) {
		const char *key = cut + 1, *value = strchr(key, '=') + 1;
		int klen = (int)(value - key - 1);
		char **slot = key[0] == 't' ? &p->type : key[0] == 'n' ? &p->name : &p->cid;
		if (*slot)
			return ss_fail(EX_USAGE, "%s '%s': %.*s given twice", option, arg, klen, key);
		if (*value != '"') {
			cut = next_param(value, keys);
			size_t vlen = cut ? (size_t)(cut - value) : strlen(value);
			if (!(*slot = strndup(value, vlen)))
				return no_memory();
			continue;
		}
		int rc = unquote(option, arg, value, slot, &cut);
		if (rc)
			return rc;
		if (*cut && !is_param(cut, keys))
			return ss_fail(EX_USAGE, "%s '%s': after the quoted %.*s comes '%.20s', not "
				       "the end or ;type=, ;name=, ;cid=", option, arg, klen, key, cut);
		if (!*cut)
			cut = NULL;
	}
	return 0;
}

/* Each value checked as it goes into a header field or a MIME parameter. */
static int check_part(const char *option, const struct ss_part *p, int inline_part)
{
	char label[32];
	int rc = 0;
	if (p->type) {
		snprintf(label, sizeof label, "%s ...;type=", option);
		rc = ss_check_text(label, p->type, 255, 0);
	}
	if (!rc && p->name) {
		snprintf(label, sizeof label, "%s ...;name=", option);
		if (inline_part)
			rc = ss_usage_error(label, "an inline part has no file name: the HTML "
					    "refers to it by cid=");
		else if (!p->name[0])
			rc = ss_usage_error(label, "empty (without name=, the recipient sees "
					    "the file's own name)");
		else
			rc = ss_check_text(label, p->name, FILENAME_MAX_OCTETS, 0);
	}
	if (!rc && p->cid) {
		snprintf(label, sizeof label, "%s ...;cid=", option);
		rc = inline_part ? ss_check_text(label, p->cid, 250, 0)
				 : ss_usage_error(label, "only for --inline (an attachment is "
						  "not referred to by the HTML)");
	}
	if (!rc && inline_part && !p->cid)
		rc = ss_fail(EX_USAGE, "%s '%s': needs ;cid=ID, the name the HTML uses as "
			     "\"cid:ID\"", option, p->spec);
	return rc;
}

static int add_part(const char *option, const char *arg, struct ss_part **v, size_t *n,
		    int inline_part)
{
	struct ss_part *more = realloc(*v, (*n + 1) * sizeof *more);
	if (!more)
		return no_memory();
	*v = more;
	struct ss_part *p = &more[(*n)++];
	memset(p, 0, sizeof *p);
	int rc = split_part(option, arg, p);
	return rc ? rc : check_part(option, p, inline_part);
}

/* "Name: value": the name as RFC 5322 3.6.8 has it (printable ASCII but the colon),
   the value unstructured text, leading blanks dropped. */
static int check_header(const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	if (!colon || !n)
		return ss_fail(EX_USAGE, "--header '%s': expected 'Name: value'", arg);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] <= ' ' || (unsigned char)arg[i] >= 0x7f)
			return ss_fail(EX_USAGE, "--header '%s': the field name holds a space, a "
				       "control character or a non-ASCII octet", arg);
	if (n > 76)
		return ss_fail(EX_USAGE, "--header '%.40s...': the field name is longer than "
			       "76 octets", arg);
	return ss_check_text("--header", colon + 1, SUBJECT_MAX, 1);
}

/* --text and --html: TEXT, @FILE or "-"; what a file or standard input holds is
   checked when it is read. */
static int once_body(const char **slot, const char *option, const char *arg)
{
	int rc = once(slot, option, arg);
	return rc || strcmp(arg, "@") != 0 ? rc : ss_usage_error(option, "'@' needs a file name");
}

static struct ss_compose_opts *opts(struct ss_cmdline *c)
{
	if (!c->compose)
		c->compose = calloc(1, sizeof *c->compose);
	return c->compose;
}

static const char *const dkim_names[] = {"--dkim-domain", "--dkim-selector", "--dkim-key"};

/* The n-th --dkim-domain, --dkim-selector and --dkim-key make the n-th signer;
   they are counted apart, so that check_dkim can say which one is missing. */
static int dkim_option(struct ss_compose_opts *o, int key, const char *arg)
{
	size_t j = (size_t)(key - SS_OPT_DKIM_DOMAIN);
	if (o->ndkim[j] == SS_DKIM_MAX)
		return ss_usage_error(dkim_names[j], "given more than 8 times (at most 8 "
				      "signatures)");
	struct ss_dkim_opts *k = &o->dkim[o->ndkim[j]++];
	const char **slot[] = {&k->domain, &k->selector, &k->key};
	*slot[j] = arg;
	/* RFC 1035 2.3.4: names of at most 253 octets (RFC 6376 3.6.2.1: the selector
	   is part of one); the library checks their syntax */
	return j < 2 ? ss_check_text(dkim_names[j], arg, 253, 0) : 0;
}

/* Each signature needs all three: the first one that lacks any is named, with
   what it has. */
static int check_dkim(const struct ss_compose_opts *o)
{
	size_t i = SS_DKIM_MAX;
	for (size_t j = 0; j < 3; j++)
		i = o->ndkim[j] < i ? o->ndkim[j] : i;
	if (o->ndkim[0] == i && o->ndkim[1] == i && o->ndkim[2] == i)
		return 0;
	const char *have[] = {o->dkim[i].domain, o->dkim[i].selector, o->dkim[i].key};
	const char *given = NULL, *value = NULL;
	char missing[64] = "";
	for (size_t j = 0; j < 3; j++) {
		if (have[j] && !given) {
			given = dkim_names[j];
			value = have[j];
		} else if (!have[j]) {
			if (missing[0])
				strcat(missing, " and ");
			strcat(missing, dkim_names[j]);
		}
	}
	char why[512];
	snprintf(why, sizeof why, "signature %zu ('%.253s') needs %s: give --dkim-domain, "
		 "--dkim-selector and --dkim-key once for each signature (the n-th of each "
		 "belong together)", i + 1, value, missing);
	return ss_usage_error(given, why);
}

int ss_compose_option(struct ss_cmdline *c, int key, const char *arg)
{
	struct ss_compose_opts *o = opts(c);
	if (!o)
		return no_memory();
	/* --utf8 and --dkim-* change how a message is made or signed: alone they
	   compose nothing (--dkim-* sign a message read from standard input) */
	o->composing |= key < SS_OPT_UTF8;
	switch (key) {
	case SS_OPT_SUBJECT: return once_text(&o->subject, "--subject", arg, SUBJECT_MAX, 1);
	case SS_OPT_TEXT: return once_body(&o->text, "--text", arg);
	case SS_OPT_HTML: return once_body(&o->html, "--html", arg);
	case SS_OPT_ATTACH: return add_part("--attach", arg, &o->attach, &o->nattach, 0);
	case SS_OPT_INLINE: return add_part("--inline", arg, &o->inlines, &o->ninline, 1);
	case SS_OPT_HEADER: {
		int rc = check_header(arg);
		return rc ? rc : push(&o->headers, &o->nheader, arg);
	}
	case SS_OPT_CC: return push(&o->cc, &o->ncc, arg);
	case SS_OPT_BCC: return push(&o->bcc, &o->nbcc, arg);
	case SS_OPT_REPLY_TO: return push(&o->reply_to, &o->nreply_to, arg);
	case SS_OPT_UTF8: o->utf8 = 1; return 0;
	case SS_OPT_DKIM_DOMAIN:
	case SS_OPT_DKIM_SELECTOR:
	case SS_OPT_DKIM_KEY: return dkim_option(o, key, arg);
	default: return ss_fail(EX_SOFTWARE, "option %d: not handled", key);
	}
}

int ss_compose_check(const struct ss_cmdline *c)
{
	const struct ss_compose_opts *o = c->compose;
	if (!o)
		return 0;
	int rc = check_dkim(o);
	if (rc)
		return rc;
	if (!o->composing)
		return o->utf8 ? ss_usage_error("--utf8", "only for a composed message "
						"(--subject, --text ...)") : 0;
	/* -t takes the recipients from a message on standard input; a composed
	   message has none there, and its text would be ignored without a word */
	if (c->extract)
		return ss_usage_error("-t", "reads the message and its recipients from "
				      "standard input, but composing options (--subject, "
				      "--text, ...) make the message: give the recipients "
				      "with --to, --cc and --bcc instead, or drop the "
				      "composing options");
	/* the builder writes the envelope from To, Cc and Bcc, without NOTIFY */
	if (c->notify)
		return ss_usage_error("--notify", "not available for a composed message (its "
				      "envelope comes from --to, --cc and --bcc without DSN)");
	if (o->text && o->html && strcmp(o->text, "-") == 0 && strcmp(o->html, "-") == 0)
		return ss_usage_error("--html", "'-': standard input is already --text's");
	if (o->ninline && !o->html)
		return ss_usage_error("--inline", "needs --html (which shows it as cid:ID)");
	return 0;
}

int ss_composing(const struct ss_cmdline *c)
{
	return c->compose && c->compose->composing;
}

size_t ss_compose_rcpts(const struct ss_cmdline *c)
{
	return c->nrcpt + (c->compose ? c->compose->ncc + c->compose->nbcc : 0);
}

void ss_compose_opts_free(struct ss_compose_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nattach; i++)
		part_free(&o->attach[i]);
	for (size_t i = 0; i < o->ninline; i++)
		part_free(&o->inlines[i]);
	free(o->attach);
	free(o->inlines);
	free(o->headers);
	free(o->cc);
	free(o->bcc);
	free(o->reply_to);
	free(o);
}

/* smtp-send: send one message and say what became of it (see smtp-send.h for the
   files, doc/smtp-send.1 for the command). Invoked as "sendmail" it speaks enough of
   sendmail's command line for cron, PHP's mail() and git send-email. Everything that
   can be checked is checked before a connection is made: a refused send leaves
   nothing half done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

/* The content and what its header says: the message on standard input. */
static int load_content(const struct ss_cmdline *c, struct ss_content *ct)
{
	int rc = ss_input_read(stdin, "standard input", c->dot_ends, &ct->data, &ct->len);
	if (!rc)
		rc = ss_input_check(ct->data, ct->len);
	if (!rc)
		rc = ss_headers_scan(ct, c->extract);
	return rc;
}

static int add_rcpt(smtp_message *m, const char *addr, const char *origin, unsigned notify,
		    const char **added, size_t *nadded)
{
	for (size_t i = 0; i < *nadded; i++)
		if (strcmp(added[i], addr) == 0)
			return 0; /* once, as sendmail does */
	int rc = notify ? smtp_message_add_rcpt_dsn(m, addr, notify, NULL)
			: smtp_message_add_rcpt(m, addr);
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (rc)
		return ss_fail(EX_DATAERR, "%s '%s': not a valid address (local@domain)", origin,
			       addr);
	added[(*nadded)++] = addr;
	return 0;
}

/* The recipients of the command line, as addresses ("Name <a@x>" -> "a@x"). */
static int rcpt_addrs(const struct ss_cmdline *c, char **addrs)
{
	char name[SMTP_NAME_MAX + 1];
	for (size_t i = 0; i < c->nrcpt; i++) {
		if (!(addrs[i] = malloc(SMTP_ADDR_MAX + 1)))
			return ss_fail(EX_SOFTWARE, "out of memory");
		int rc = ss_mailbox_split("recipient", c->rcpts[i], addrs[i], name);
		if (!rc && !addrs[i][0])
			rc = ss_fail(EX_DATAERR, "recipient '<>': not a valid address (local@domain)");
		if (rc)
			return rc;
	}
	return 0;
}

/* The envelope of a raw message: sender and recipients with DSN NOTIFY. from gets
   the sender's address, name its display name (or -F) for an added From field. */
static int envelope(smtp_message *m, const struct ss_cmdline *c, const struct ss_settings *st,
		    const struct ss_content *ct, char *from, char *name)
{
	const char *origin = c->from ? "--from" : st->from ? "the account's from" : "From header";
	const char *sender = st->from ? st->from : ct->header_from;
	if (!sender)
		return ss_usage_error("--from", "missing: give --from ADDR (-f), from in the "
				      "account, or a From header in the message");
	int rc = ss_mailbox_split(origin, sender, from, name);
	if (rc)
		return rc;
	if (!name[0] && c->full_name)
		snprintf(name, SMTP_NAME_MAX + 1, "%s", c->full_name);
	rc = smtp_message_set_from(m, from);
	if (rc)
		return rc == SMTP_ENOMEM ? ss_fail(EX_SOFTWARE, "out of memory")
			: ss_fail(EX_DATAERR, "%s '%s': not a valid address (local@domain)", origin,
				  sender);
	char **addrs = calloc(c->nrcpt + 1, sizeof *addrs);
	const char **added = calloc(c->nrcpt + ct->nheader_rcpts + 1, sizeof *added);
	size_t nadded = 0;
	rc = addrs && added ? rcpt_addrs(c, addrs) : ss_fail(EX_SOFTWARE, "out of memory");
	for (size_t i = 0; !rc && i < c->nrcpt; i++)
		rc = add_rcpt(m, addrs[i], "recipient", c->notify, added, &nadded);
	for (size_t i = 0; !rc && i < ct->nheader_rcpts; i++)
		rc = add_rcpt(m, ct->header_rcpts[i], "-t: header address", c->notify, added,
			      &nadded);
	for (size_t i = 0; addrs && i < c->nrcpt; i++)
		free(addrs[i]);
	free(addrs);
	free(added);
	if (!rc && nadded == 0)
		rc = c->extract ? ss_fail(EX_DATAERR, "-t: no recipient in To, Cc or Bcc, nor "
					  "on the command line: nothing sent")
				: ss_usage_error("--to", "missing: give --to ADDR, addresses as "
						 "arguments, or -t");
	return rc;
}

/* A raw message: read, its envelope, its header block completed, signed. */
static int raw_message(smtp_message *m, const struct ss_cmdline *c,
		       const struct ss_settings *st, struct ss_content *ct)
{
	char from[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	int rc = load_content(c, ct);
	if (!rc)
		rc = envelope(m, c, st, ct, from, name);
	if (!rc)
		rc = ss_headers_prepare(ct, name, from);
	if (!rc)
		rc = ss_dkim_sign_raw(c, ct);
	if (!rc)
		smtp_message_set_data(m, ct->data, ct->len);
	return rc;
}

/* What both kinds of message take from the command line: DSN RET and ENVID,
   REQUIRETLS. */
static int message_options(smtp_message *m, const struct ss_cmdline *c)
{
	int rc = c->ret || c->envid ? smtp_message_set_dsn(m, c->ret, c->envid, 0) : 0;
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (rc)
		return ss_fail(EX_USAGE, "--envid '%s': 1 to 100 characters of printable ASCII "
			       "(RFC 3461 4.4)", c->envid ? c->envid : "");
	return smtp_message_set_requiretls(m, c->requiretls) ? ss_fail(EX_SOFTWARE, "REQUIRETLS") : 0;
}

/* --print: the message as it would go out, and nothing sent. */
static int print_message(smtp_compose *cp, const struct ss_content *ct)
{
	if (cp)
		return ss_compose_print(cp);
	fwrite(ct->data, 1, ct->len, stdout);
	return 0;
}

static int send_message(smtp_session *s, smtp_message *m, const struct ss_cmdline *c)
{
	int rc = smtp_send(s, m);
	const smtp_report *r = smtp_message_report(m);
	if (smtp_report_outcome(r) == SMTP_PENDING)
		return ss_fail(rc == SMTP_EINVAL ? EX_DATAERR : EX_SOFTWARE,
			       "the message cannot be sent: %s", smtp_error_text(rc));
	smtp_quit(s);
	int status = ss_report_status(r);
	ss_report_print(r, c, status);
	return status;
}

static int run(const struct ss_cmdline *c)
{
	int composing = ss_composing(c);
	if (!c->extract && (composing ? ss_compose_rcpts(c) : c->nrcpt) == 0)
		return ss_usage_error("--to", composing ? "missing: give --to, --cc or --bcc"
				      : "missing: give --to ADDR, addresses as arguments, or -t");
	struct ss_config cfg = {0};
	struct ss_settings st;
	struct ss_content ct = {0};
	smtp_compose *cp = NULL;
	smtp_message *m = NULL;
	smtp_session *s = NULL;
	int rc = 0;
	if (c->config || c->account || !c->url) {
		int is_explicit;
		char *path = ss_config_path(c, &is_explicit);
		rc = path ? ss_config_load(path, is_explicit, &cfg) : ss_fail(EX_SOFTWARE, "out of memory");
		free(path);
	}
	if (!rc)
		rc = ss_settings_merge(c, &cfg, &st);
	if (!rc && (!(m = smtp_message_new()) || (!c->print && !(s = smtp_session_new()))))
		rc = ss_fail(EX_SOFTWARE, "out of memory");
	if (!rc && !c->print)
		rc = ss_setup_session(s, c, &st);
	if (!rc)
		rc = composing ? ss_compose_fill(c, st.from, m, &cp) : raw_message(m, c, &st, &ct);
	if (!rc)
		rc = message_options(m, c);
	if (!rc && c->print)
		rc = print_message(cp, &ct);
	else if (!rc && !(rc = ss_setup_auth(s, c, &st)))
		rc = send_message(s, m, c);
	smtp_session_free(s);
	smtp_message_free(m);
	smtp_compose_free(cp);
	ss_content_free(&ct);
	ss_config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	name = name ? name + 1 : argc > 0 && argv[0] ? argv[0] : "smtp-send";
	struct ss_cmdline c = {0};
	c.persona = strcmp(name, "sendmail") == 0 ? SS_SENDMAIL : SS_SMTP_SEND;
	ss_out_set_prog(c.persona == SS_SENDMAIL ? "sendmail" : "smtp-send");
	int rc = ss_options_parse(argc, argv, &c);
	if (!rc)
		rc = run(&c);
	ss_options_free(&c);
	/* a write that failed earlier (a full disk under --print or --json) fails too */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc <= 0)
		rc = EX_SOFTWARE;
	return rc < 0 ? 0 : rc;
}

/* The settings of one send: the command line over the account. Which account:
   --account NAME; else, without --url, [default]; with --url and no --account, none,
   so that credentials of the default account never go to a server named on the
   command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

static int account_error(const struct ss_account *a, const char *what)
{
	return ss_fail(EX_CONFIG, "account %s: %s", a->name, what);
}

/* The account's password source: at most one of password, password-file and
   password-cmd. */
static int account_secret(const struct ss_account *a, struct ss_secret *out)
{
	int n = !!a->password + !!a->password_file + !!a->password_cmd;
	if (n > 1)
		return account_error(a, "password, password-file and password-cmd exclude each "
				     "other: keep one");
	if (a->password)
		*out = (struct ss_secret){SS_SECRET_TEXT, a->password, "password"};
	else if (a->password_file)
		*out = (struct ss_secret){SS_SECRET_FILE, a->password_file, "password-file"};
	else if (a->password_cmd)
		*out = (struct ss_secret){SS_SECRET_CMD, a->password_cmd, "password-cmd"};
	return 0;
}

static int pick_account(const struct ss_cmdline *c, const struct ss_config *cfg,
			const struct ss_account **out)
{
	*out = NULL;
	const char *name = c->account ? c->account : c->url ? NULL : "default";
	if (!name)
		return 0;
	*out = ss_config_find(cfg, name);
	if (*out || !c->account)
		return 0;
	if (!cfg->path)
		return ss_usage_error("--account", "there is no configuration file (see "
				      "--config)");
	char why[256];
	snprintf(why, sizeof why, "no account [%.64s] in %.160s", name, cfg->path);
	return ss_usage_error("--account", why);
}

/* With a user and no password source: the URL's password, or SMTP_PASSWORD. */
static int default_secret(struct ss_settings *st, int url_password)
{
	if (url_password)
		return 0;
	const char *env = getenv("SMTP_PASSWORD");
	if (env && env[0]) {
		st->secret = (struct ss_secret){SS_SECRET_TEXT, env, "SMTP_PASSWORD"};
		return 0;
	}
	return ss_usage_error("--user", "needs a password: --password-file, --password-cmd, "
			      "the environment variable SMTP_PASSWORD, or password, "
			      "password-file or password-cmd in the account");
}

int ss_settings_merge(const struct ss_cmdline *c, const struct ss_config *cfg,
		      struct ss_settings *st)
{
	const struct ss_account *a;
	int rc = pick_account(c, cfg, &a);
	if (rc)
		return rc;
	static const struct ss_account none = {0};
	const struct ss_account *acct = a ? a : &none;
	memset(st, 0, sizeof *st);
	st->account = a ? a->name : NULL;
	st->url = c->url ? c->url : acct->url;
	st->user = c->user ? c->user : acct->user;
	st->from = c->from ? c->from : acct->from;
	st->ca_file = c->ca_file ? c->ca_file : acct->ca_file;
	st->tls_set = c->tls_set;
	st->tls = c->tls;
	st->timeout_s = c->timeout_s;
	char label[96];
	if (a && !c->tls_set && a->tls) {
		st->tls_set = 1;
		snprintf(label, sizeof label, "account %.64s: tls", a->name);
		if (ss_parse_tls(label, a->tls, &st->tls))
			return EX_CONFIG;
	}
	snprintf(label, sizeof label, "account %.64s: timeout", acct->name ? acct->name : "");
	if (a && !c->timeout_s && a->timeout && ss_parse_seconds(label, a->timeout, &st->timeout_s))
		return EX_CONFIG;
	int from_cli = c->secret.kind != SS_SECRET_NONE;
	st->secret = c->secret;
	if (!from_cli && (rc = account_secret(acct, &st->secret)))
		return rc;

	if (c->print) /* no server, no password */
		return 0;
	if (!st->url)
		return ss_usage_error("--url", a || c->account ? "missing: the account has no url"
				      : "missing: give --url URL, or url in the [default] "
				      "account of the configuration file");
	int url_user = 0, url_password = 0;
	ss_url_userinfo(st->url, &url_user, &url_password);
	if (st->secret.kind != SS_SECRET_NONE && !st->user && !url_user) {
		if (from_cli)
			return ss_usage_error(st->secret.origin, "needs --user (or user in the "
					      "account, or user@ in the URL)");
		char why[96];
		snprintf(why, sizeof why, "%s needs user", st->secret.origin);
		return account_error(acct, why);
	}
	if (st->secret.kind == SS_SECRET_NONE && url_password && c->user)
		return ss_usage_error("--user", "the URL already holds a user and password");
	if (st->secret.kind == SS_SECRET_NONE && (st->user || url_user))
		return default_secret(st, url_password);
	return 0;
}

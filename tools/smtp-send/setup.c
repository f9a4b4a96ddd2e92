/* The settings applied to the session, in two steps: everything but the password
   before the message is read (a bad URL is a usage error, whatever the input), the
   password once the message has passed its checks (no password command is run for
   a message that is refused anyway). Named files are checked before any
   connection, so that a missing CA file is "66: cannot read" and not a TLS failure
   found at connect time; the library refusing a value becomes a usage error naming
   the option. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

static int readable(const char *option, const char *path, int dir)
{
	if (!path)
		return 0;
	if (access(path, dir ? R_OK | X_OK : R_OK) != 0)
		return ss_fail(EX_NOINPUT, "%s %s: %s", option, path, strerror(errno));
	return 0;
}

static int refused(const char *option, const char *value, int rc)
{
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	if (!value)
		return ss_fail(EX_USAGE, "%s: %s", option, smtp_error_text(rc));
	return ss_fail(EX_USAGE, "%s '%s': %s", option, value, smtp_error_text(rc));
}

static int set_url(smtp_session *s, const struct ss_cmdline *c, const struct ss_settings *st)
{
	int rc = smtp_session_set_url(s, st->url);
	if (!rc)
		return 0;
	if (rc == SMTP_ENOMEM)
		return ss_fail(EX_SOFTWARE, "out of memory");
	char shown[512], buf[256];
	ss_url_redact(st->url, shown, sizeof shown);
	const char *why = ss_url_explain(st->url, buf, sizeof buf);
	if (!why)
		why = smtp_error_text(rc);
	if (!c->url)
		return ss_fail(EX_CONFIG, "account %s: url '%s': %s", st->account, shown, why);
	return ss_fail(EX_USAGE, "--url '%s': %s", shown, why);
}

int ss_setup_auth(smtp_session *s, const struct ss_cmdline *c, const struct ss_settings *st)
{
	if (st->secret.kind == SS_SECRET_NONE) {
		if (c->mech)
			return ss_usage_error("--auth-mech", "needs --user and a password");
		return 0;
	}
	char *url_user = st->user ? NULL : ss_url_user(st->url);
	const char *user = st->user ? st->user : url_user;
	char *secret;
	int rc = ss_password_get(&st->secret, &secret);
	if (!rc) {
		int lib = smtp_session_set_auth(s, user ? user : "", secret, c->mech);
		if (!lib && c->token_file)
			lib = smtp_session_set_auth_token(s, 1);
		if (lib == SMTP_EINVAL && c->mech)
			rc = ss_fail(EX_USAGE, "--auth-mech '%s' or the user name: %s", c->mech,
				     "an unknown mechanism or a control character");
		else if (lib)
			rc = refused("--user", user ? user : "", lib);
	}
	ss_password_free(secret);
	free(url_user);
	return rc;
}

static int set_timeouts(smtp_session *s, int seconds)
{
	if (!seconds)
		return 0;
	for (int stage = SMTP_STAGE_CONNECT; stage <= SMTP_STAGE_COMMAND; stage++) {
		int rc = smtp_session_set_timeout(s, (smtp_stage)stage, seconds * 1000);
		if (rc)
			return refused("--timeout", NULL, rc);
	}
	return 0;
}

int ss_setup_session(smtp_session *s, const struct ss_cmdline *c,
		     const struct ss_settings *st)
{
	int rc = set_url(s, c, st);
	if (!rc && st->tls_set && (rc = smtp_session_set_tls_mode(s, st->tls)))
		rc = refused("--tls", NULL, rc);
	if (!rc)
		rc = readable("--ca-file", st->ca_file, 0);
	if (!rc)
		rc = readable("--ca-dir", c->ca_dir, 1);
	if (!rc)
		rc = readable("--cert", c->cert, 0);
	if (!rc)
		rc = readable("--key", c->key, 0);
	if (!rc && st->ca_file && (rc = smtp_session_set_ca_file(s, st->ca_file)))
		rc = refused("--ca-file", st->ca_file, rc);
	if (!rc && c->ca_dir && (rc = smtp_session_set_ca_dir(s, c->ca_dir)))
		rc = refused("--ca-dir", c->ca_dir, rc);
	if (!rc && c->cert && (rc = smtp_session_set_client_cert(s, c->cert, c->key)))
		rc = refused("--cert", c->cert, rc);
	if (!rc && c->insecure && (rc = smtp_session_set_tls_insecure_skip_verify(s, 1)))
		rc = refused("--insecure", NULL, rc);
	if (!rc && c->no_chunking && (rc = smtp_session_set_chunking(s, 0, 0)))
		rc = refused("--no-chunking", NULL, rc);
	if (!rc && c->helo && (rc = smtp_session_set_helo_name(s, c->helo)))
		rc = ss_fail(EX_USAGE, "--helo '%s': not a domain name or address literal", c->helo);
	if (!rc && c->trace)
		smtp_session_set_trace(s, ss_report_trace, NULL);
	if (!rc)
		rc = set_timeouts(s, st->timeout_s);
	return rc;
}

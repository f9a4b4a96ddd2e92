/* SMTP AUTH in the engine (RFC 4954): choose a mechanism, run the exchange of 334
   challenges, never let a credential travel in clear or into a trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* RFC 4954 4: the AUTH command line, initial response included, fits in 512 octets
   (CRLF included). */
#define AUTH_LINE_MAX 510

static int auth_fail(struct smtpi_engine *e, const struct smtpi_reply *r, int err,
		     const char *why)
{
	if (!r)
		smtpi_engine_log_local(e, SMTP_STAGE_AUTH, why, err);
	smtpi_engine_refuse(e, SMTP_STAGE_AUTH, r, err, why);
	return e->error;
}

/* Writes a line that carries a credential: traced as "<redacted>". */
static int send_secret_line(struct smtpi_engine *e, const char *trace_as, const char *line)
{
	return smtpi_engine_command(e, SMTPI_P_AUTH, NULL, 0, trace_as, line, strlen(line));
}

int smtpi_auth_begin(struct smtpi_engine *e)
{
	const struct smtpi_engine_config *c = e->cfg;
	e->phase = SMTPI_PH_AUTH;
	/* DESIGN.md: credentials never go out before TLS unless the caller says so. */
	if (!e->tls_active && !c->auth_insecure)
		return auth_fail(e, NULL, SMTP_ENOTLS, "credentials are not sent without TLS");
	if (!(e->capa.flags & SMTPI_CAPA_AUTH)) {
		if (c->auth_optional)
			return smtpi_engine_ready(e);
		return auth_fail(e, NULL, SMTP_ENOMECH, "the server does not offer AUTH");
	}
	unsigned offered = smtpi_sasl_mech_list(e->capa.auth, 0);
	unsigned mech = smtpi_sasl_choose(offered, c->mechanisms, c->secret_is_token,
					  c->secret && c->secret[0], e->cbind.len > 0,
					  c->have_client_cert);
	if (!mech) {
		char why[300];
		snprintf(why, sizeof why, "no usable mechanism among those offered: %.250s",
			 e->capa.auth);
		return auth_fail(e, NULL, SMTP_ENOMECH, why);
	}
	e->creds = (struct smtpi_sasl_creds){
		.user = c->user, .secret = c->secret, .secret_is_token = c->secret_is_token,
		.host = c->host, .port = c->port, .cache = c->scram_cache,
	};
	memset(&e->sasl, 0, sizeof e->sasl);
	char *ir = NULL;
	/* RFC 5802 6: binding data goes with -PLUS; with plain SCRAM it would announce
	   "y" (client supports binding), which is right only when the server offers
	   no -PLUS mechanism. */
	unsigned plus = SMTPI_MECH_SCRAM_SHA1_PLUS | SMTPI_MECH_SCRAM_SHA256_PLUS;
	int bind = e->cbind.len && ((mech & plus) || !(offered & plus));
	int rc = smtpi_sasl_start(&e->sasl, mech, &e->creds, bind ? &e->cbind : NULL, &ir);
	if (rc) {
		smtpi_sasl_clear(&e->sasl);
		return auth_fail(e, NULL, rc == SMTP_ENOMEM ? SMTP_ENOMEM : SMTP_EAUTH,
				 "the credentials cannot be used with this mechanism");
	}
	e->sasl_active = 1;
	const char *name = smtpi_sasl_mech_name(mech);
	size_t need = strlen(name) + (ir ? strlen(ir) : 0) + 8;
	char *line = malloc(need < AUTH_LINE_MAX + 8 ? AUTH_LINE_MAX + 8 : need);
	if (!line) {
		smtpi_sasl_free_secret(ir);
		return SMTP_ENOMEM;
	}
	char trace[64];
	if (ir && need - 2 <= AUTH_LINE_MAX) {
		snprintf(trace, sizeof trace, "AUTH %s <redacted>", name);
		snprintf(line, need, "AUTH %s %s", name, ir);
		smtpi_sasl_free_secret(ir);
	} else {
		/* RFC 4954 4: an initial response too long for the command line goes
		   after the server's empty challenge instead. */
		snprintf(trace, sizeof trace, "AUTH %s", name);
		snprintf(line, need, "AUTH %s", name);
		e->auth_ir = ir;
	}
	rc = send_secret_line(e, trace, line);
	smtpi_sasl_free_secret(line);
	return rc;
}

int smtpi_auth_reply(struct smtpi_engine *e, const struct smtpi_reply *r)
{
	if (r->code == 334 && e->auth_ir) {
		int rc = send_secret_line(e, "<redacted>", e->auth_ir);
		smtpi_sasl_free_secret(e->auth_ir);
		e->auth_ir = NULL;
		return rc;
	}
	if (r->code == 334 && e->sasl_active) {
		char *resp = NULL;
		int rc = smtpi_sasl_step(&e->sasl, r->text, r->text_len, &resp);
		if (rc == SMTP_ENOMEM)
			return rc;
		if (rc) {
			/* RFC 4954 4: cancel the exchange with "*"; the server answers 501. */
			smtpi_engine_log(e, SMTP_STAGE_AUTH, NULL, r, SMTP_EAUTH);
			if (e->sasl.error)
				smtpi_report_fail(e->session_report, SMTP_FAILED, SMTP_STAGE_AUTH,
						  SMTP_EAUTH, e->sasl.error);
			smtpi_sasl_clear(&e->sasl);
			e->sasl_active = 0;
			e->error = SMTP_EAUTH;
			return smtpi_engine_command(e, SMTPI_P_AUTH, NULL, 0, NULL, "*", 1);
		}
		rc = send_secret_line(e, "<redacted>", resp);
		smtpi_sasl_free_secret(resp);
		return rc;
	}
	smtpi_engine_log(e, SMTP_STAGE_AUTH, NULL, r, 0);
	if (r->code == 235 && e->sasl_active) {
		int rc = smtpi_sasl_success(&e->sasl);
		smtpi_sasl_clear(&e->sasl);
		e->sasl_active = 0;
		if (rc)
			return auth_fail(e, NULL, SMTP_EAUTH,
					 "the server did not prove it knows the password");
		return smtpi_engine_ready(e);
	}
	if (e->error == SMTP_EAUTH && !e->sasl_active) {
		const char *d = e->session_report->detail;
		char why[600];
		snprintf(why, sizeof why, "%.590s",
			 d ? d : "the server's challenge was not acceptable");
		return auth_fail(e, r, SMTP_EAUTH, why);
	}
	const char *why = e->sasl_active && e->sasl.error ? e->sasl.error : NULL;
	char detail[600];
	if (why)
		snprintf(detail, sizeof detail, "%.590s", why);
	int err = r->code == 421 ? SMTP_ECLOSED : SMTP_EAUTH;
	return auth_fail(e, r, err, why ? detail : NULL);
}

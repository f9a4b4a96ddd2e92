/* SMTP AUTH in the engine (RFC 4954): choose a mechanism, run the exchange of 334
   challenges, never let a credential travel in clear or into a trace. Says what the
   exchange leads to; engine.c acts on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "wire/text.h"

/* RFC 4954 4: the AUTH command line, initial response included, fits in 512 octets
   (CRLF included). */
#define AUTH_LINE_MAX 510

void smtpi_auth_end(struct smtpi_engine *e)
{
	if (e->sasl_active)
		smtpi_sasl_clear(&e->sasl);
	e->sasl_active = 0;
	smtpi_free_secret(e->auth_ir);
	e->auth_ir = NULL;
	e->auth_cancelled = 0;
}

/* A refusal: by the server's reply r (then err names the error to record), or by a
   local reason. */
static enum smtpi_auth_result refused(struct smtpi_engine *e, struct smtpi_cause *c,
				      const struct smtpi_reply *r, int err, const char *text)
{
	if (text && text != e->auth_detail)
		snprintf(e->auth_detail, sizeof e->auth_detail, "%s", text);
	*c = (struct smtpi_cause){.stage = SMTP_STAGE_AUTH, .reply = r, .err = err,
				  .detail = text ? e->auth_detail : NULL};
	return SMTPI_AUTH_REFUSED;
}

/* Writes a line that carries a credential: traced as trace_as. */
static enum smtpi_auth_result send_secret(struct smtpi_engine *e, const char *trace_as,
					  const char *line, int *nomem)
{
	if (smtpi_pending_push(e, SMTPI_CMD_AUTH, NULL, 0, trace_as, line, strlen(line)))
		*nomem = 1;
	return SMTPI_AUTH_WAIT;
}

enum smtpi_auth_result smtpi_auth_begin(struct smtpi_engine *e, struct smtpi_cause *cause,
					int *nomem)
{
	const struct smtpi_engine_config *c = e->cfg;
	e->phase = SMTPI_PH_AUTH;
	/* Credentials never go out before TLS unless the caller says so
	   (smtp_session_set_auth_insecure). */
	if (!e->tls_active && !c->auth_insecure)
		return refused(e, cause, NULL, SMTP_ENOTLS,
			       "credentials are not sent without TLS");
	if (!(e->capa.flags & SMTPI_CAPA_AUTH)) {
		if (c->auth_optional)
			return SMTPI_AUTH_DONE;
		return refused(e, cause, NULL, SMTP_ENOMECH,
			       "the server does not offer AUTH");
	}
	unsigned offered = smtpi_sasl_mech_list(e->capa.auth, 0);
	unsigned mech = smtpi_sasl_choose(offered, c->mechanisms, c->secret_is_token,
					  c->secret && c->secret[0], e->cbind.len > 0,
					  c->have_client_cert);
	if (!mech) {
		char text[300];
		snprintf(text, sizeof text, "no usable mechanism among those offered: %.250s",
			 e->capa.auth);
		return refused(e, cause, NULL, SMTP_ENOMECH, text);
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
		if (rc == SMTP_ENOMEM) {
			*nomem = 1;
			return SMTPI_AUTH_WAIT;
		}
		return refused(e, cause, NULL, SMTP_EAUTH,
			       "the credentials cannot be used with this mechanism");
	}
	e->sasl_active = 1;
	const char *name = smtpi_sasl_mech_name(mech);
	size_t need = strlen(name) + (ir ? strlen(ir) : 0) + 8;
	char *line = malloc(need < AUTH_LINE_MAX + 8 ? AUTH_LINE_MAX + 8 : need);
	if (!line) {
		smtpi_free_secret(ir);
		*nomem = 1;
		return SMTPI_AUTH_WAIT;
	}
	char trace[64];
	if (ir && need - 2 <= AUTH_LINE_MAX) {
		snprintf(trace, sizeof trace, "AUTH %s <redacted>", name);
		snprintf(line, need, "AUTH %s %s", name, ir);
		smtpi_free_secret(ir);
	} else {
		/* RFC 4954 4: an initial response too long for the command line goes
		   after the server's empty challenge instead. */
		snprintf(trace, sizeof trace, "AUTH %s", name);
		snprintf(line, need, "AUTH %s", name);
		e->auth_ir = ir;
	}
	enum smtpi_auth_result res = send_secret(e, trace, line, nomem);
	smtpi_free_secret(line);
	return res;
}

/* A 334 challenge: the next response, or "*" to cancel when the challenge is not
   acceptable (RFC 4954 4: the server then answers 501). */
static enum smtpi_auth_result on_challenge(struct smtpi_engine *e, const struct smtpi_reply *r,
					   int *nomem)
{
	if (e->auth_ir) {
		enum smtpi_auth_result res = send_secret(e, "<redacted>", e->auth_ir, nomem);
		smtpi_free_secret(e->auth_ir);
		e->auth_ir = NULL;
		return res;
	}
	char *resp = NULL;
	int rc = smtpi_sasl_step(&e->sasl, r->text, r->text_len, &resp);
	if (rc == SMTP_ENOMEM) {
		*nomem = 1;
		return SMTPI_AUTH_WAIT;
	}
	if (rc == SMTP_EPROTOCOL) {
		/* a challenge after the mechanism's last response: the server broke the
		   exchange, the credentials were never judged */
		snprintf(e->auth_detail, sizeof e->auth_detail, "%s",
			 "a challenge after the mechanism's last response");
		smtpi_sasl_clear(&e->sasl);
		e->sasl_active = 0;
		return SMTPI_AUTH_BROKEN;
	}
	if (rc) {
		snprintf(e->auth_detail, sizeof e->auth_detail, "%s",
			 e->sasl.error ? e->sasl.error : "the server's challenge was not acceptable");
		smtpi_sasl_clear(&e->sasl);
		e->sasl_active = 0;
		e->auth_cancelled = 1;
		if (smtpi_pending_push(e, SMTPI_CMD_AUTH, NULL, 0, NULL, "*", 1))
			*nomem = 1;
		return SMTPI_AUTH_WAIT;
	}
	enum smtpi_auth_result res = send_secret(e, "<redacted>", resp, nomem);
	smtpi_free_secret(resp);
	return res;
}

enum smtpi_auth_result smtpi_auth_reply(struct smtpi_engine *e, const struct smtpi_reply *r,
					struct smtpi_cause *cause, int *nomem)
{
	if (r->code == 334 && (e->sasl_active || e->auth_ir)) {
		enum smtpi_auth_result res = on_challenge(e, r, nomem);
		if (res == SMTPI_AUTH_BROKEN)
			refused(e, cause, NULL, SMTP_EPROTOCOL, e->auth_detail);
		return res;
	}
	/* RFC 4954 4: a "*" is answered 501; a challenge with no exchange running
	   or a success after the client gave up are not replies AUTH can get */
	if ((r->code == 334 || r->code == 235) && !e->sasl_active) {
		refused(e, cause, NULL, SMTP_EPROTOCOL,
			r->code == 334 ? "a challenge when none was awaited"
				       : "the server accepted an AUTH the client cancelled");
		return SMTPI_AUTH_BROKEN;
	}
	if (r->code == 235) {
		int rc = smtpi_sasl_success(&e->sasl);
		smtpi_sasl_clear(&e->sasl);
		e->sasl_active = 0;
		if (rc)
			return refused(e, cause, NULL, SMTP_EAUTH,
				       "the server did not prove it knows the password");
		return SMTPI_AUTH_DONE;
	}
	if (e->auth_cancelled) {
		/* the reply to our "*": the challenge's fault, said in auth_detail already */
		return refused(e, cause, r, SMTP_EAUTH, e->auth_detail);
	}
	const char *detail = e->sasl_active && e->sasl.error ? e->sasl.error : NULL;
	/* RFC 4954 6: 535 credentials invalid, 534 mechanism too weak, 538 encryption
	   required; a 4xx (454) is temporary. All are SMTP_EAUTH; the verdict table
	   makes 4xx deferred and 5xx failed. */
	return refused(e, cause, r, SMTP_EAUTH, detail);
}

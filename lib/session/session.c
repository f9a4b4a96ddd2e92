/* The session: settings, and the one real code path that drives the connection and
   the engine without blocking (blocking calls loop over it). */
#include "session/session.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "wire/address.h"
#include "wire/text.h"

/* RFC 5321 4.5.3.2 timeouts; CONNECT and TLS are ours. */
static const int default_timeouts[SMTP_STAGE_COMMAND + 1] = {
	[SMTP_STAGE_CONNECT] = 30000,   [SMTP_STAGE_GREETING] = 300000,
	[SMTP_STAGE_EHLO] = 300000,     [SMTP_STAGE_STARTTLS] = 300000,
	[SMTP_STAGE_TLS] = 60000,       [SMTP_STAGE_AUTH] = 300000,
	[SMTP_STAGE_MAIL] = 300000,     [SMTP_STAGE_RCPT] = 300000,
	[SMTP_STAGE_DATA] = 120000,     [SMTP_STAGE_BODY] = 600000,
	[SMTP_STAGE_RSET] = 300000,     [SMTP_STAGE_QUIT] = 30000,
	[SMTP_STAGE_COMMAND] = 300000,
};

static void update_config(smtp_session *s)
{
	s->cfg.helo_name = s->helo_name ? s->helo_name : "localhost";
	s->cfg.lmtp = s->lmtp;
	s->cfg.tls_mode = s->tls_mode;
	s->cfg.user = s->user;
	s->cfg.secret = s->secret;
	s->cfg.mechanisms = s->mechanisms;
	s->cfg.host = s->host;
	s->cfg.port = s->port;
	s->cfg.scram_cache = &s->scram_cache;
}

smtp_session *smtp_session_new(void)
{
	smtp_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->tls_mode = SMTP_TLS_STARTTLS;
	memcpy(s->timeouts, default_timeouts, sizeof s->timeouts);
	smtpi_conn_init(&s->conn);
	update_config(s);
	smtpi_report_init(&s->report);
	smtpi_engine_init(&s->engine, &s->cfg, &s->report);
	return s;
}

void smtp_session_free(smtp_session *s)
{
	if (!s)
		return;
	smtpi_session_close(s, 0);
	smtpi_engine_free(&s->engine);
	smtpi_report_free(&s->report);
	free(s->host);
	free(s->unix_path);
	smtpi_free_secret(s->user);
	smtpi_free_secret(s->secret);
	free(s->mechanisms);
	free(s->helo_name);
	smtpi_tls_opts_clear(&s->tls_opts);
	if (s->ssl_ctx)
		SSL_CTX_free(s->ssl_ctx);
	if (s->resume)
		SSL_SESSION_free(s->resume);
	OPENSSL_cleanse(&s->scram_cache, sizeof s->scram_cache);
	free(s);
}

static int configurable(const smtp_session *s)
{
	return s->state == SMTPI_S_IDLE && !s->engine.q_head;
}

struct smtpi_tls_opts *smtpi_session_tls_opts(smtp_session *s)
{
	if (!s || !configurable(s))
		return NULL;
	/* a new setting needs a new context, and no session of the old one is resumed */
	if (s->ssl_ctx) {
		SSL_CTX_free(s->ssl_ctx);
		s->ssl_ctx = NULL;
	}
	if (s->resume) {
		SSL_SESSION_free(s->resume);
		s->resume = NULL;
	}
	return &s->tls_opts;
}

/* Replaces *dst by a checked copy of src (NULL allowed when nullable). */
static int set_string(char **dst, const char *src, int nullable, int secret)
{
	if (!src && !nullable)
		return SMTP_EINVAL;
	if (src && smtpi_check_text(src, strlen(src)))
		return SMTP_EINVAL;
	char *copy = NULL;
	if (src && !(copy = strdup(src)))
		return SMTP_ENOMEM;
	if (secret)
		smtpi_free_secret(*dst);
	else
		free(*dst);
	*dst = copy;
	return 0;
}

/* A host is an IP literal or a name of letters, digits, '-', '_' and dots once in
   A-labels (RFC 1123 2.1; '_' appears in real host names). */
static int host_ok(const char *h)
{
	unsigned char addr[16];
	if (inet_pton(AF_INET6, h, addr) == 1 || inet_pton(AF_INET, h, addr) == 1)
		return 1;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return 0;
	return h[0] != '\0' && h[0] != '.' && h[0] != '-';
}

int smtp_session_set_server(smtp_session *s, const char *host, int port, smtp_tls mode)
{
	if (!s || !host || !host[0] || port < 0 || port > 65535 || (unsigned)mode > SMTP_TLS_NONE)
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	if (smtpi_check_text(host, strlen(host)))
		return SMTP_EINVAL;
	char *ascii = NULL;
	int rc = smtpi_domain_to_ascii(host, 0, &ascii, NULL);
	if (rc)
		return rc;
	if (!host_ok(ascii)) {
		free(ascii);
		return SMTP_EINVAL;
	}
	free(s->host);
	s->host = ascii;
	free(s->unix_path);
	s->unix_path = NULL;
	s->tls_mode = mode;
	s->port = port ? port : mode == SMTP_TLS_IMPLICIT ? 465 : 587;
	s->lmtp = 0;
	update_config(s);
	return 0;
}

/* For url.c: an LMTP server over TCP or a unix socket. */
int smtpi_session_set_lmtp(smtp_session *s, const char *host, int port, const char *path);

int smtpi_session_set_lmtp(smtp_session *s, const char *host, int port, const char *path)
{
	int rc = 0;
	if (host)
		rc = smtp_session_set_server(s, host, port, SMTP_TLS_NONE);
	if (!rc && path) {
		rc = set_string(&s->unix_path, path, 0, 0);
		s->tls_mode = SMTP_TLS_NONE;
	}
	if (!rc)
		s->lmtp = 1;
	update_config(s);
	return rc;
}

int smtp_session_set_auth(smtp_session *s, const char *user, const char *secret,
			  const char *mechanisms)
{
	if (!s || !user)
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	if (mechanisms && (smtpi_check_text(mechanisms, strlen(mechanisms)) ||
			   !smtpi_sasl_mech_list(mechanisms, 1)))
		return SMTP_EINVAL;
	int rc = set_string(&s->user, user, 0, 1);
	if (!rc)
		rc = set_string(&s->secret, secret, 1, 1);
	/* a salted password belongs to the old credentials */
	OPENSSL_cleanse(&s->scram_cache, sizeof s->scram_cache);
	if (!rc)
		rc = set_string(&s->mechanisms, mechanisms, 1, 0);
	update_config(s);
	return rc;
}

int smtp_session_set_tls_mode(smtp_session *s, smtp_tls mode)
{
	if (!s || (unsigned)mode > SMTP_TLS_NONE || s->lmtp)
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	s->tls_mode = mode;
	update_config(s);
	return 0;
}

static int set_flag(smtp_session *s, int *flag, int on)
{
	if (!s)
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	*flag = on != 0;
	return 0;
}

int smtp_session_set_auth_insecure(smtp_session *s, int allow_insecure)
{
	return set_flag(s, s ? &s->cfg.auth_insecure : NULL, allow_insecure);
}

int smtp_session_set_auth_optional(smtp_session *s, int optional)
{
	return set_flag(s, s ? &s->cfg.auth_optional : NULL, optional);
}

int smtp_session_set_auth_token(smtp_session *s, int token)
{
	return set_flag(s, s ? &s->cfg.secret_is_token : NULL, token);
}

int smtp_session_set_chunking(smtp_session *s, int on, size_t chunk_size)
{
	if (!s || (chunk_size && (chunk_size < SMTPI_CHUNK_MIN || chunk_size > SMTPI_CHUNK_MAX)))
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	s->cfg.chunking_off = !on;
	s->cfg.chunk_size = chunk_size;
	return 0;
}

int smtp_session_set_idna_mapping(smtp_session *s, int on)
{
	if (!s)
		return SMTP_EINVAL;
	s->cfg.idna_no_map = !on;
	return 0;
}

/* RFC 5321 4.1.1.1: EHLO takes a domain or, without a name, an address literal. */
int smtp_session_set_helo_name(smtp_session *s, const char *name)
{
	if (!s || !name)
		return SMTP_EINVAL;
	if (!configurable(s))
		return SMTP_ESTATE;
	unsigned flags;
	if (smtpi_domain_check(name, &flags, NULL))
		return SMTP_EINVAL;
	char *ascii = NULL;
	int rc = flags & SMTPI_ADDR_LITERAL ? ((ascii = strdup(name)) ? 0 : SMTP_ENOMEM)
					    : smtpi_domain_to_ascii(name, 0, &ascii, NULL);
	if (rc)
		return rc;
	if (strlen(ascii) > 255) {
		free(ascii);
		return SMTP_EINVAL;
	}
	free(s->helo_name);
	s->helo_name = ascii;
	update_config(s);
	return 0;
}

int smtp_session_set_timeout(smtp_session *s, smtp_stage stage, int ms)
{
	if (!s || stage <= SMTP_STAGE_NONE || stage > SMTP_STAGE_COMMAND || ms < 0)
		return SMTP_EINVAL;
	s->timeouts[stage] = ms ? ms : default_timeouts[stage];
	return 0;
}

int smtp_session_set_trace(smtp_session *s, smtp_trace_fn fn, void *ud)
{
	if (!s)
		return SMTP_EINVAL;
	s->cfg.trace = fn;
	s->cfg.trace_ud = ud;
	return 0;
}

int smtp_session_set_nonblocking(smtp_session *s, int on)
{
	if (!s)
		return SMTP_EINVAL;
	s->nonblocking = on != 0;
	return 0;
}

const smtp_report *smtp_session_report(const smtp_session *s)
{
	return s ? &s->report : NULL;
}

int smtp_session_has_extension(const smtp_session *s, const char *keyword, const char **params)
{
	if (!s || !keyword)
		return 0;
	return smtpi_capa_find(&s->engine.capa, keyword, params);
}

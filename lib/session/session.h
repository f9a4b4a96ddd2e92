/* The public session object: settings, the engine, the connection and their glue. */
#ifndef SMTPI_SESSION_H
#define SMTPI_SESSION_H

#include <stdint.h>

#include "net/conn.h"
#include "engine/engine.h"
#include "net/tls.h"

enum smtpi_sstate {
	SMTPI_S_IDLE,       /* no connection */
	SMTPI_S_CONNECTING, /* TCP connect in progress */
	SMTPI_S_HANDSHAKE,  /* TLS handshake in progress */
	SMTPI_S_ACTIVE      /* the engine drives the dialogue */
};

struct smtp_session {
	char *host;
	int port;
	char *unix_path;
	smtp_tls tls_mode;
	int lmtp;
	char *user;
	char *secret;
	char *mechanisms;
	char *helo_name;
	int timeouts[SMTP_STAGE_COMMAND + 1];
	int nonblocking;

	struct smtpi_engine_config cfg;
	struct smtpi_engine engine;
	struct smtpi_conn conn;
	struct smtp_report report;
	struct smtpi_tls_opts tls_opts;
	SSL_CTX *ssl_ctx;
	SSL_SESSION *resume;
	struct smtpi_scram_cache scram_cache;

	enum smtpi_sstate state;
	int implicit_handshake;   /* the running handshake is implicit TLS (RFC 8314) */
	int connect_wanted;
	int events;               /* SMTP_WANT_* to wait for */
	int64_t deadline;         /* monotonic ms; 0 when nothing is pending */
	unsigned long replies_seen;
	smtp_message_fn message_fn; /* smtp_session_set_message_callback (session_events.c) */
	void *message_ud;
};

/* For lib/tls_options.c: the TLS settings, or NULL once a connection exists. */
struct smtpi_tls_opts *smtpi_session_tls_opts(smtp_session *s);
/* Closes the connection (TLS close_notify and keeping the TLS session for
   resumption when polite) and returns to IDLE (lib/drive.c). */
void smtpi_session_close(smtp_session *s, int polite);
/* Monotonic clock in milliseconds. */
int64_t smtpi_now_ms(void);
/* Blocks in poll() until cond(s, arg) holds or an error ends the operation
   (lib/blocking.c). */
int smtpi_block_until(smtp_session *s, int (*cond)(smtp_session *s, void *arg), void *arg);

#endif

/* The public session object: settings, the engine, the connection and their glue.
   Files: session.c (settings), tls_options.c (the public TLS setters), url.c
   (smtp_session_set_url), drive.c (the one nonblocking path: where protocol meets
   I/O), blocking.c (the blocking calls, a poll() loop over drive.c), commands.c
   (smtp_command and friends), session_events.c (fd, events, timeout, state, the
   message callback), message_setters.c (the public smtp_message_* setters). Calls go one way: blocking, commands -> drive -> engine, net;
   tls_options, url -> session.c. */
#ifndef SMTPI_SESSION_H
#define SMTPI_SESSION_H

#include <stdint.h>

#include "engine/engine.h"
#include "net/conn.h"
#include "net/tls.h"

enum smtpi_sstate {
	SMTPI_S_IDLE,       /* no connection */
	SMTPI_S_CONNECTING, /* TCP connect in progress */
	SMTPI_S_HANDSHAKE,  /* TLS handshake in progress */
	SMTPI_S_ACTIVE      /* the engine drives the dialogue */
};

/* A TLS session key (smtpi_tls_session_key): host, port and two SHA-256 digests. */
#define SMTPI_TLS_KEY_MAX 400

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
	SSL_SESSION *resume;      /* this session's last TLS session, under resume_key */
	char resume_key[SMTPI_TLS_KEY_MAX];
	char tls_key[SMTPI_TLS_KEY_MAX]; /* the key of the running handshake */
	struct smtpi_scram_cache scram_cache;

	enum smtpi_sstate state;
	int implicit_handshake;   /* the running handshake is implicit TLS (RFC 8314) */
	int ack_at_once;          /* TLS is up, its first reply not read yet (drive.c) */
	int connect_wanted;
	int in_callback;          /* the message callback runs: the driving calls refuse */
	int user_pending;         /* smtp_command's line is out, its reply awaited */
	int events;               /* SMTP_WANT_* to wait for */
	int64_t deadline;         /* monotonic ms; 0 when nothing is pending */
	int64_t began_us;         /* when the running connect or handshake began */
	smtp_message_fn message_fn; /* smtp_session_set_message_callback (session_events.c) */
	void *message_ud;
};

/* session.c: the TLS settings for lib/session/tls_options.c, or NULL once a
   connection exists (a change drops the TLS context and the saved TLS session). */
struct smtpi_tls_opts *smtpi_session_tls_opts(smtp_session *s);

/* drive.c: closes the connection (TLS close_notify and keeping the TLS session for
   resumption when polite) and returns to IDLE. */
void smtpi_session_close(smtp_session *s, int polite);
/* drive.c: the monotonic clock in milliseconds and microseconds. */
int64_t smtpi_now_ms(void);
int64_t smtpi_now_us(void);

/* blocking.c: blocks in poll() until cond(s, arg) holds or an error ends the
   operation; in nonblocking mode returns SMTP_EAGAIN instead of waiting. */
int smtpi_block_until(smtp_session *s, int (*cond)(smtp_session *s, void *arg), void *arg);

#endif

/* Driving a session without blocking: connect, TLS handshakes, and moving bytes
   between the connection and the engine, each step bounded by its stage's deadline.
   This is the only place where protocol meets I/O. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "session/session.h"

int64_t smtpi_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t smtpi_now_ms(void)
{
	return smtpi_now_us() / 1000;
}

static void touch(smtp_session *s, smtp_stage stage)
{
	int ms = s->timeouts[stage ? stage : SMTP_STAGE_QUIT];
	s->deadline = smtpi_now_ms() + ms;
}

void smtpi_session_close(smtp_session *s, int polite)
{
	SSL_SESSION *sess = polite && s->conn.tls ? smtpi_tls_get1_session(s->conn.tls) : NULL;
	if (sess) {
		if (s->tls_opts.cache)
			smtpi_tls_cache_put(s->tls_opts.cache, s->tls_key, sess);
		if (s->resume)
			SSL_SESSION_free(s->resume);
		s->resume = sess;
		memcpy(s->resume_key, s->tls_key, sizeof s->resume_key);
	}
	smtpi_conn_close(&s->conn, polite);
	s->state = SMTPI_S_IDLE;
	s->deadline = 0;
	s->events = 0;
	s->ack_at_once = 0;
	s->engine.phase = SMTPI_PH_DOWN;
}

static int fail(smtp_session *s, int err, const char *detail)
{
	smtpi_engine_fail(&s->engine, err, detail, err == SMTP_ERESOLVE && s->conn.temporary);
	smtpi_session_close(s, 0);
	s->connect_wanted = 0;
	return s->engine.error;
}

static int start_tls(smtp_session *s, int implicit)
{
	if (!s->ssl_ctx) {
		char detail[256];
		int rc = smtpi_tls_ctx_new(&s->ssl_ctx, &s->tls_opts, detail, sizeof detail);
		if (rc)
			return fail(s, rc, detail);
	}
	if (smtpi_tls_session_key(s->ssl_ctx, &s->tls_opts, s->host, s->port, s->tls_key,
				  sizeof s->tls_key))
		return fail(s, SMTP_ENOMEM, "out of memory");
	/* a session is resumed only under the same server, identity and trust */
	SSL_SESSION *shared = s->tls_opts.cache ? smtpi_tls_cache_get(s->tls_opts.cache, s->tls_key)
						: NULL;
	SSL_SESSION *own = s->resume && strcmp(s->resume_key, s->tls_key) == 0 ? s->resume : NULL;
	int rc = smtpi_tls_new(&s->conn.tls, s->ssl_ctx, s->conn.fd, s->host, shared ? shared : own);
	if (shared)
		SSL_SESSION_free(shared);
	if (rc)
		return fail(s, rc, "cannot set up TLS");
	s->implicit_handshake = implicit;
	s->state = SMTPI_S_HANDSHAKE;
	s->engine.phase = SMTPI_PH_TLS;
	s->began_us = smtpi_now_us();
	touch(s, SMTP_STAGE_TLS);
	return 0;
}

static int connected(smtp_session *s)
{
	char text[96];
	int64_t now = smtpi_now_us();
	snprintf(text, sizeof text, "connected to %s", s->conn.peer);
	smtpi_engine_note(&s->engine, SMTP_STAGE_CONNECT, text, 0, now - s->began_us);
	if (s->tls_mode == SMTP_TLS_IMPLICIT)
		return start_tls(s, 1);
	s->state = SMTPI_S_ACTIVE;
	smtpi_engine_connected(&s->engine, s->conn.peer, NULL, now);
	touch(s, SMTP_STAGE_GREETING);
	return 0;
}

/* An address given up while others may still connect: its own CONNECT step. */
static void attempt_failed(void *ud, const char *detail, int err)
{
	smtp_session *s = ud;
	smtpi_engine_note(&s->engine, SMTP_STAGE_CONNECT, detail, err, -1);
}

/* Resolution and the racing connects (RFC 8305) run in conn; the session waits on
   the descriptor conn names and wakes at the next attempt's start, all within the
   one CONNECT deadline. */
static int step_connecting(smtp_session *s)
{
	int rc = smtpi_conn_step(&s->conn, smtpi_now_ms(), attempt_failed, s);
	if (rc == 0)
		return connected(s);
	if (rc != SMTP_EAGAIN)
		return fail(s, rc, s->conn.detail);
	s->events = s->conn.want;
	s->deadline = s->conn.deadline;
	if (s->conn.wake && s->conn.wake < s->deadline)
		s->deadline = s->conn.wake;
	return SMTP_EAGAIN;
}

static int begin_connect(smtp_session *s)
{
	s->connect_wanted = 0;
	if (!s->host && !s->unix_path) {
		smtpi_engine_fail(&s->engine, SMTP_EINVAL, "no server set", 0);
		return SMTP_EINVAL;
	}
	/* the TLS setters (tls_options.c) change only the options: read them now */
	s->cfg.have_client_cert = s->tls_opts.cert_file || s->tls_opts.cert_pem;
	s->cfg.tls_unverified = s->tls_opts.insecure;
	if (smtpi_engine_connecting(&s->engine))
		return fail(s, SMTP_ENOMEM, "out of memory");
	s->began_us = smtpi_now_us();
	if (s->unix_path) {
		int rc = smtpi_conn_unix(&s->conn, s->unix_path);
		return rc ? fail(s, rc, s->conn.detail) : connected(s);
	}
	touch(s, SMTP_STAGE_CONNECT);
	s->conn.deadline = s->deadline;
	/* a name is looked up on a thread: this call never waits for DNS */
	int rc = smtpi_conn_begin(&s->conn, s->host, s->port);
	if (rc)
		return fail(s, rc, s->conn.detail);
	s->state = SMTPI_S_CONNECTING;
	return step_connecting(s);
}

static int step_handshake(smtp_session *s)
{
	int rc = smtpi_tls_handshake(s->conn.tls);
	if (rc == SMTP_EAGAIN) {
		s->events = smtpi_tls_want(s->conn.tls);
		return rc;
	}
	if (rc)
		return fail(s, rc, smtpi_tls_detail(s->conn.tls));
	struct smtpi_tls_info info;
	smtpi_tls_get_info(s->conn.tls, &info);
	s->state = SMTPI_S_ACTIVE;
	s->ack_at_once = 1;
	int64_t now = smtpi_now_us();
	if (s->implicit_handshake) {
		char text[160];
		smtpi_tls_summary(&info, text, sizeof text);
		smtpi_engine_note(&s->engine, SMTP_STAGE_TLS, text, 0, now - s->began_us);
		smtpi_engine_connected(&s->engine, s->conn.peer, &info, now);
		touch(s, SMTP_STAGE_GREETING);
		return 0;
	}
	unsigned char cb[64];
	size_t cblen = sizeof cb;
	const char *cbtype = NULL;
	if (smtpi_tls_channel_binding(s->conn.tls, &cbtype, cb, &cblen))
		cbtype = NULL;
	smtpi_engine_tls_ready(&s->engine, &info, cbtype, cb, cbtype ? cblen : 0,
			       now - s->began_us, now);
	touch(s, SMTP_STAGE_EHLO);
	return 0;
}

/* The engine said the dialogue is over: close, politely when it ended well. */
static int closed(smtp_session *s)
{
	int err = s->engine.error;
	smtpi_session_close(s, err == 0);
	return err;
}

static int on_eof(smtp_session *s)
{
	/* A server that hangs up after QUIT without answering is not an error. */
	if (s->engine.phase == SMTPI_PH_QUIT) {
		s->engine.phase = SMTPI_PH_CLOSED;
		return closed(s);
	}
	return fail(s, SMTP_ECLOSED, "the server closed the connection");
}

static int begin_starttls(smtp_session *s)
{
	/* RFC 3207 5: plaintext already waiting before our ClientHello was injected. */
	if (smtpi_conn_has_input(&s->conn))
		return fail(s, SMTP_EPROTOCOL, "the server sent data after its STARTTLS reply");
	return start_tls(s, 0);
}

/* Moves bytes until the socket would block or the engine has nothing to do. */
static int step_active(smtp_session *s)
{
	struct smtpi_engine *e = &s->engine;
	int drained = 0; /* the last read emptied the socket */
	for (;;) {
		int st = smtpi_engine_status(e);
		if (st & SMTPI_E_CLOSED)
			return closed(s);
		int wrote_all = 0;
		if (st & SMTPI_E_WRITE) {
			const char *p;
			size_t n;
			smtpi_engine_output(e, &p, &n);
			if (smtpi_engine_status(e) & SMTPI_E_CLOSED)
				continue;
			if (n > 0) {
				long w = smtpi_conn_write(&s->conn, p, n);
				if (w > 0) {
					smtpi_engine_sent(e, (size_t)w, smtpi_now_us());
					touch(s, smtpi_engine_stage(e));
					if ((size_t)w < n || (smtpi_engine_status(e) & SMTPI_E_WRITE))
						continue;
					wrote_all = 1;
				} else if (w == SMTP_EAGAIN) {
					s->events = s->conn.want;
					if (!(st & SMTPI_E_READ))
						return SMTP_EAGAIN;
				} else {
					return fail(s, (int)w, s->conn.detail);
				}
			}
		}
		st = smtpi_engine_status(e);
		if (st & SMTPI_E_TLS && smtpi_buf_pending(&e->out) == 0)
			return begin_starttls(s);
		if (!(st & SMTPI_E_READ)) {
			if (!(st & SMTPI_E_WRITE))
				return 0;
			s->events = SMTP_WANT_WRITE;
			return SMTP_EAGAIN;
		}
		/* Replies to what we just wrote cannot be there yet, nor more after a
		   read that emptied the socket: wait instead of spending a read that
		   would only say EAGAIN (one write and one read per pipelined batch). */
		if ((wrote_all || drained) && smtpi_conn_pending(&s->conn) == 0) {
			/* a write that would block still waits for room as well */
			s->events = SMTP_WANT_READ |
				    (smtpi_buf_pending(&e->out) > 0 ? SMTP_WANT_WRITE : 0);
			return SMTP_EAGAIN;
		}
		/* on the stack: an idle session holds no read buffer */
		char rbuf[16384];
		long r = smtpi_conn_read(&s->conn, rbuf, sizeof rbuf);
		/* After the handshake a TLS 1.3 server sends its session tickets, then the
		   reply. A server without TCP_NODELAY holds that reply until the tickets are
		   acknowledged, and a delayed ACK makes that 40 ms: acknowledge at once until
		   the first reply is in. */
		if (s->ack_at_once)
			smtpi_conn_ack_now(&s->conn);
		if (r > 0) {
			drained = smtpi_conn_read_drained(&s->conn, (size_t)r, sizeof rbuf);
			unsigned long before = e->replies;
			smtpi_engine_recv(e, rbuf, (size_t)r, smtpi_now_us());
			if (e->replies != before) {
				s->ack_at_once = 0;
				touch(s, smtpi_engine_stage(e));
			}
			continue;
		}
		if (r == 0)
			return on_eof(s);
		if (r != SMTP_EAGAIN)
			return fail(s, (int)r, s->conn.detail);
		s->events = s->conn.want;
		if (smtpi_buf_pending(&e->out) > 0)
			s->events |= SMTP_WANT_WRITE;
		return SMTP_EAGAIN;
	}
}

static int on_timeout(smtp_session *s)
{
	if (s->state == SMTPI_S_CONNECTING) {
		/* the next attempt's start, or a look at the older attempts: not the end */
		if (smtpi_now_ms() < s->conn.deadline)
			return 0;
		if (s->conn.job) {
			char text[300];
			snprintf(text, sizeof text, "%s: no answer from the resolver", s->host);
			smtpi_engine_note(&s->engine, SMTP_STAGE_CONNECT, text, SMTP_ETIMEDOUT, -1);
		}
		for (size_t i = 0; i < s->conn.natt; i++)
			smtpi_engine_note(&s->engine, SMTP_STAGE_CONNECT, s->conn.att[i].peer,
					  SMTP_ETIMEDOUT, -1);
	}
	char detail[96];
	smtp_stage stage = s->state == SMTPI_S_CONNECTING ? SMTP_STAGE_CONNECT
							 : smtpi_engine_stage(&s->engine);
	snprintf(detail, sizeof detail, "no progress at stage %s within %d ms",
		 smtp_stage_name(stage), s->timeouts[stage ? stage : SMTP_STAGE_QUIT]);
	return fail(s, SMTP_ETIMEDOUT, detail);
}

int smtp_session_process(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	if (s->deadline && smtpi_now_ms() >= s->deadline) {
		int rc = on_timeout(s);
		if (rc != 0)
			return rc;
	}
	for (;;) {
		int rc = 0;
		switch (s->state) {
		case SMTPI_S_IDLE:
			if (!s->connect_wanted && !s->engine.q_head)
				return 0;
			rc = begin_connect(s);
			break;
		case SMTPI_S_CONNECTING:
			rc = step_connecting(s);
			break;
		case SMTPI_S_HANDSHAKE:
			rc = step_handshake(s);
			break;
		case SMTPI_S_ACTIVE:
			rc = step_active(s);
			if (rc == 0 && s->state == SMTPI_S_ACTIVE) {
				s->deadline = 0; /* idle connection: nothing to wait for */
				s->events = 0;
				return 0;
			}
			break;
		}
		if (rc != 0)
			return rc;
	}
}

int smtp_submit(smtp_session *s, smtp_message *m)
{
	if (!s || !m)
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	int rc = smtpi_engine_submit(&s->engine, m);
	if (rc == 0 && s->state == SMTPI_S_ACTIVE) {
		if (!s->deadline)
			touch(s, smtpi_engine_stage(&s->engine));
		/* commands it could pipeline are queued: say so to the caller's loop */
		if (smtpi_engine_status(&s->engine) & SMTPI_E_WRITE)
			s->events |= SMTP_WANT_WRITE;
	}
	return rc;
}

int smtp_session_abandon(smtp_session *s)
{
	if (!s)
		return SMTP_EINVAL;
	if (s->in_callback)
		return SMTP_ESTATE;
	smtpi_engine_fail(&s->engine, SMTP_ESTATE, "the session was abandoned", 0);
	smtpi_session_close(s, 0);
	s->connect_wanted = 0;
	s->engine.quit_wanted = 0;
	s->user_pending = 0; /* an smtp_command in flight is over too */
	return 0;
}

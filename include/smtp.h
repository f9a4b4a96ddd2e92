/*
 * libsmtp: an embeddable SMTP client.
 *
 * A session connects to one server and runs the RFC 5321 dialogue; a message is an
 * envelope plus content; a report says, stage by stage, what the server answered.
 * Functions that act return 0 on success or a negative smtp_err; accessors return
 * the value asked for (each comment says what NULL gives). All strings are
 * NUL-terminated UTF-8 and are copied by the setters (smtp_message_set_data's content
 * is the one thing referenced); the caller keeps ownership of what it passes in. Objects are not shared between threads without the caller's lock;
 * distinct sessions are fully independent.
 */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SMTP_BUILDING) && defined(__GNUC__)
#define SMTP_API __attribute__((visibility("default")))
#else
#define SMTP_API
#endif

#define SMTP_VERSION_MAJOR 0
#define SMTP_VERSION_MINOR 1
#define SMTP_VERSION_PATCH 0
#define SMTP_VERSION_NUM \
	((SMTP_VERSION_MAJOR << 16) | (SMTP_VERSION_MINOR << 8) | SMTP_VERSION_PATCH)

/* Error codes: 0 is success, each error is negative. */
typedef enum smtp_err {
	SMTP_OK = 0,
	SMTP_EAGAIN = -1,    /* nonblocking: wait for smtp_session_events(), call again */
	SMTP_EINVAL = -2,    /* a caller argument is invalid (CR/LF/NUL, bad syntax) */
	SMTP_ENOMEM = -3,    /* an allocation failed */
	SMTP_ERESOLVE = -4,  /* the host name did not resolve */
	SMTP_ECONNECT = -5,  /* no address accepted the connection */
	SMTP_ETIMEDOUT = -6, /* a stage passed its deadline */
	SMTP_ECLOSED = -7,   /* the server closed the connection (or sent 421) */
	SMTP_EPROTOCOL = -8, /* the server broke the protocol (malformed or oversized reply) */
	SMTP_ETLS = -9,      /* the TLS handshake or a TLS read/write failed */
	SMTP_ECERT = -10,    /* the server certificate did not verify */
	SMTP_ENOTLS = -11,   /* TLS was required but is unavailable */
	SMTP_EAUTH = -12,    /* authentication failed */
	SMTP_ENOMECH = -13,  /* no usable authentication mechanism */
	SMTP_EREJECTED = -14,/* the server refused the transaction (see the report) */
	SMTP_ESIZE = -15,    /* the message exceeds the server's SIZE limit */
	SMTP_EUTF8 = -16,    /* an address needs SMTPUTF8 and the server lacks it */
	SMTP_ESTATE = -17,   /* the call is not valid in the session's current state */
	SMTP_EBUSY = -18     /* a pool's queue is full (smtp_pool_set_queue_limit) */
} smtp_err;

/* How the connection is protected. */
typedef enum smtp_tls {
	SMTP_TLS_STARTTLS = 0,      /* STARTTLS required (RFC 3207); the default */
	SMTP_TLS_IMPLICIT = 1,      /* TLS from the first byte (RFC 8314) */
	SMTP_TLS_OPPORTUNISTIC = 2, /* STARTTLS when offered, else plain text */
	SMTP_TLS_NONE = 3           /* plain text, only when asked for */
} smtp_tls;

/* The stages of the dialogue, as named in reports and traces. */
typedef enum smtp_stage {
	SMTP_STAGE_NONE = 0,
	SMTP_STAGE_CONNECT,
	SMTP_STAGE_GREETING,
	SMTP_STAGE_EHLO,
	SMTP_STAGE_STARTTLS,
	SMTP_STAGE_TLS,
	SMTP_STAGE_AUTH,
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA,
	SMTP_STAGE_BODY,
	SMTP_STAGE_RSET,
	SMTP_STAGE_QUIT,
	SMTP_STAGE_COMMAND    /* NOOP, VRFY or a raw command (smtp_command) */
} smtp_stage;

/* What became of one recipient: its verdict, decided by one reply (or one local
   error) whose stage, code, enhanced code and text the recipient's result carries. */
typedef enum smtp_verdict {
	SMTP_VERDICT_PENDING = 0,  /* not decided yet */
	SMTP_VERDICT_ACCEPTED,     /* RCPT got 2xx and the message's final reply (LMTP: this
				      recipient's own final reply) got 2xx: record delivery */
	SMTP_VERDICT_DEFERRED,     /* a temporary failure: a 4xx at RCPT, MAIL, DATA, BDAT or
				      the final reply; 421, a lost or stalled connection at
				      any stage; connect refused; a name that did not resolve
				      for now; a server that broke the protocol: retry later */
	SMTP_VERDICT_BOUNCED,      /* a 5xx decided it (at stage rcpt: the address itself;
				      at mail, data or body: the message), or the server's
				      SIZE limit (SMTP_ESIZE) or a missing SMTPUTF8
				      (SMTP_EUTF8) found before MAIL: never retry unchanged */
	SMTP_VERDICT_FAILED        /* no server verdict on this message: a caller error,
				      TLS or certificate failure, credentials refused, no
				      usable mechanism, a 5xx greeting or EHLO/HELO, a relay
				      name that does not exist, out of memory: fix the
				      configuration; do not count it against the recipient */
} smtp_verdict;

/* What became of a message, derived from its recipients' verdicts: SENT when all
   were accepted, SENT_PARTIAL when some were, else DEFERRED when any was deferred,
   else BOUNCED when any bounced, else FAILED. A connection report (which has no
   recipients) uses the same names for the verdict its failure would give. */
typedef enum smtp_outcome {
	SMTP_PENDING = 0,      /* not finished yet */
	SMTP_SENT,             /* every recipient accepted the message */
	SMTP_SENT_PARTIAL,     /* some recipients accepted it, the others did not */
	SMTP_DEFERRED,         /* none accepted, at least one deferred: retry later */
	SMTP_BOUNCED,          /* none accepted or deferred, at least one bounced */
	SMTP_FAILED            /* no server verdict: see SMTP_VERDICT_FAILED */
} smtp_outcome;

/* Directions a nonblocking session waits for (smtp_session_events). */
#define SMTP_WANT_READ 1
#define SMTP_WANT_WRITE 2

typedef struct smtp_session smtp_session;
typedef struct smtp_message smtp_message;
typedef struct smtp_report smtp_report;
typedef struct smtp_step smtp_step;
typedef struct smtp_rcpt_result smtp_rcpt_result;

/* Trace direction for smtp_trace_fn. */
typedef enum smtp_trace_dir {
	SMTP_TRACE_SEND = 0, /* a line the client sent (AUTH payloads redacted) */
	SMTP_TRACE_RECV = 1, /* a line the server sent */
	SMTP_TRACE_INFO = 2  /* a note from the library (connect, TLS) */
} smtp_trace_dir;

/* Receives the dialogue one line at a time, without its CRLF; never the body.
   The line is only valid during the call. */
typedef void (*smtp_trace_fn)(void *ud, smtp_trace_dir dir, const char *line, size_t len);

/* Streaming message source: copy up to len bytes into buf and return how many;
   return 0 at the end of the message, or a negative smtp_err to abort the message.
   It runs on the thread that drives the session (a pool's loop thread for pool
   messages) and may block, but SMTP_EAGAIN ends the message (SMTP_EINVAL). After
   returning 0 it must start over from the beginning when called again (the content
   is sent once per RCPTMAX part); the library never rewinds it otherwise. */
typedef long (*smtp_read_fn)(void *ud, void *buf, size_t len);

/* ---- library ---- */

/* A short English description of an error code (static storage, never NULL). */
SMTP_API const char *smtp_error_text(int err);
/* The stable identifier of an error code, e.g. "SMTP_ECERT" (static storage). */
SMTP_API const char *smtp_error_name(int err);
/* The library's version as "MAJOR.MINOR.PATCH" (static storage). */
SMTP_API const char *smtp_lib_version(void);
/* The lower-case name of a stage ("rcpt"), or "none" (static storage). */
SMTP_API const char *smtp_stage_name(smtp_stage stage);
/* The identifier of an outcome ("sent_partial") (static storage). */
SMTP_API const char *smtp_outcome_name(smtp_outcome outcome);
/* The identifier of a verdict ("accepted", "deferred", "bounced", "failed", or
   "pending") (static storage). */
SMTP_API const char *smtp_verdict_name(smtp_verdict verdict);

/* ---- session ---- */

/* Creates a session with the defaults: STARTTLS required, verification on, RFC 5321
   4.5.3.2 timeouts, blocking. Returns NULL when out of memory. Free it with
   smtp_session_free(). Does no I/O. */
SMTP_API smtp_session *smtp_session_new(void);

/* Closes the connection without QUIT (call smtp_quit() first for a polite end) and
   frees the session. Messages still queued on it end now, their undecided recipients
   deferred (SMTP_ESTATE, "the session was freed"), and their callbacks run; they stay
   owned by the caller. NULL is allowed. Not from within the message callback. */
SMTP_API void smtp_session_free(smtp_session *s);

/* Sets server, port, TLS mode and credentials from a URL:
     smtp://[user[:password]@]host[:port][?tls=opportunistic|none]   default port 587
     smtps://[user[:password]@]host[:port]                           default port 465
     lmtp://host:port, lmtp:///path/to/socket          LMTP (RFC 2033), plain text
   user and password are percent-decoded; an IPv6 literal is written [::1]; a name
   with non-ASCII letters goes out as A-labels (IDNA2008, libidn2).
   Returns 0, SMTP_EINVAL for a malformed URL or one with CR, LF, NUL or other control
   characters, SMTP_ENOMEM, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_url(smtp_session *s, const char *url);

/* Sets server host (name or IP literal without brackets), port (1..65535, or 0 for
   the mode's default) and TLS mode. Returns 0, SMTP_EINVAL, SMTP_ENOMEM, SMTP_ESTATE
   once connected. No I/O. */
SMTP_API int smtp_session_set_server(smtp_session *s, const char *host, int port,
				     smtp_tls mode);

/* Changes only the TLS mode of the server already set (the port stays). Returns 0,
   SMTP_EINVAL, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_tls_mode(smtp_session *s, smtp_tls mode);

/* Authentication policy switches, all off by default:
   allow_insecure: send credentials even without TLS (named to be noticed);
   optional: go on without AUTH when the server offers none (else SMTP_ENOMECH);
   token: the secret of smtp_session_set_auth is an OAuth 2.0 bearer token
   (OAUTHBEARER, XOAUTH2). Return 0 or SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_auth_insecure(smtp_session *s, int allow_insecure);
SMTP_API int smtp_session_set_auth_optional(smtp_session *s, int optional);
SMTP_API int smtp_session_set_auth_token(smtp_session *s, int token);

/* Sets the credentials for AUTH (RFC 4954). The secret is copied and wiped from the
   library's memory when replaced or freed. mechanisms is NULL for the strongest both
   sides support, or a space-separated ordered list ("SCRAM-SHA-256 PLAIN").
   Returns 0, SMTP_EINVAL (control characters, unknown mechanism), SMTP_ENOMEM,
   SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_auth(smtp_session *s, const char *user, const char *secret,
				   const char *mechanisms);

/* Sets the name sent with EHLO/HELO (default: "localhost", which reveals nothing):
   a domain (U-labels are converted to A-labels) or an address literal "[192.0.2.1]",
   "[IPv6:2001:db8::1]" (RFC 5321 4.1.3), at most 255 octets. Returns 0, SMTP_EINVAL
   (any other syntax, too long), SMTP_ENOMEM, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_helo_name(smtp_session *s, const char *name);

/* Sets the deadline of one stage in milliseconds (0 restores the default); it runs
   again from every byte of progress. Defaults: connect 30 s, greeting 5 min
   (RFC 5321 4.5.3.2), EHLO, STARTTLS, AUTH, MAIL, RCPT and RSET 5 min, TLS handshake
   60 s, DATA 2 min, BODY 10 min (one value for the content and its final reply:
   RFC 5321 4.5.3.2 gives 3 min per data block and 10 min for the final reply), QUIT
   30 s, COMMAND 5 min. Returns 0, or SMTP_EINVAL for a bad stage or negative value. */
SMTP_API int smtp_session_set_timeout(smtp_session *s, smtp_stage stage, int ms);

/* Installs a trace callback (NULL removes it). The callback is called from within
   the session's calls, on the caller's thread; AUTH payloads are redacted and the
   control characters of server text escaped (\xNN). Returns 0. */
SMTP_API int smtp_session_set_trace(smtp_session *s, smtp_trace_fn fn, void *ud);

/* Switches the session between blocking (0, default) and nonblocking (1) driving;
   it may change between any two calls (an operation begun nonblocking can be
   finished by a blocking call). Returns 0, or SMTP_EINVAL for NULL. */
SMTP_API int smtp_session_set_nonblocking(smtp_session *s, int on);

/* Connects: resolve, connect, greeting, EHLO (HELO when EHLO is refused), STARTTLS and
   EHLO again as the TLS mode requires, AUTH when credentials are set.
   Blocking: returns when done. Nonblocking: returns SMTP_EAGAIN until done.
   Returns 0, SMTP_EAGAIN, or the error of the failing stage, which is also
   smtp_report_error(smtp_session_report(s)): SMTP_ERESOLVE, SMTP_ECONNECT,
   SMTP_ETIMEDOUT, SMTP_ECLOSED (a drop or 421), SMTP_EPROTOCOL, SMTP_EREJECTED (a
   refused greeting or EHLO), SMTP_ENOTLS, SMTP_ECERT, SMTP_ETLS, SMTP_EAUTH,
   SMTP_ENOMECH; SMTP_ESTATE inside the message callback. */
SMTP_API int smtp_connect(smtp_session *s);

/* Sends one message over the connected session (connecting first if needed) and
   waits for its final reply. The session stays open for further messages; a refused
   transaction is followed by RSET. The message stays owned by the caller and must
   not be freed while it is in flight. Returns exactly smtp_report_error() of the
   message's final report: 0 when every recipient accepted it, SMTP_EREJECTED when a
   server reply refused it in part or whole (the recipients' verdicts say who and
   why), otherwise the local error that decided it (SMTP_ECLOSED, SMTP_ETIMEDOUT,
   SMTP_EAUTH, SMTP_EINVAL for a body line over 998 octets, ...). Before the message
   is queued: SMTP_EINVAL (no sender, recipient or content), SMTP_ESTATE (queued
   already, or called inside the message callback). SMTP_EAGAIN in nonblocking mode
   until the report is final. */
SMTP_API int smtp_send(smtp_session *s, smtp_message *m);

/* Ends the session at once, without QUIT and without blocking: the connection is
   closed and every message still queued completes now (its callback runs) with
   every undecided recipient deferred (SMTP_ESTATE, "the session was abandoned");
   a message whose final dot was already written says maybe_delivered. The settings
   stay, so the session may connect again. For cancellation (an event loop's task
   cancelled, a shutdown). Returns 0, SMTP_EINVAL for NULL, SMTP_ESTATE inside the message
   callback. */
SMTP_API int smtp_session_abandon(smtp_session *s);

/* Sends QUIT once the messages queued are done, waits for its reply and closes the
   connection. Returns 0 (also when the session was not connected), SMTP_EAGAIN in
   nonblocking mode (call again until 0), SMTP_ESTATE inside the message callback. A
   server that closes without answering QUIT is not an error. */
SMTP_API int smtp_quit(smtp_session *s);

/* The report of the connection: CONNECT, GREETING, EHLO, STARTTLS, TLS, AUTH, the
   connection's later events (QUIT, COMMAND, a 421 or drop while idle), and the
   error that ended it, with the outcome that error gives. Owned by the session;
   valid until the session is freed or reconnects (then it starts afresh). Never
   NULL for a session. */
SMTP_API const smtp_report *smtp_session_report(const smtp_session *s);

/* Whether the server's EHLO reply listed keyword (case-insensitive); *params (may be
   NULL) receives the keyword's parameters or "" (valid until the next EHLO).
   Returns 1 or 0. */
SMTP_API int smtp_session_has_extension(const smtp_session *s, const char *keyword,
					const char **params);

/* ---- TLS options (lib/tls_options.c) ---- */

/* A TLS session cache that sessions in any threads may share, so that a reconnection
   to the same server resumes its TLS session (a shorter handshake) instead of running
   a full one. Holds at most 64 servers, least recently used forgotten first; only
   sessions whose certificate was verified are kept. */
typedef struct smtp_tls_cache smtp_tls_cache;

/* Supplies the password of an encrypted client key, with OpenSSL's pem_password_cb
   contract: copy at most size bytes into buf (not NUL-terminated) and return their
   number, or -1 to refuse; rwflag is 0 (reading). Called on the thread of the
   session's call; ud is passed through. */
typedef int (*smtp_password_fn)(char *buf, int size, int rwflag, void *ud);

/* Creates an empty cache. Returns NULL when out of memory. No I/O. */
SMTP_API smtp_tls_cache *smtp_tls_cache_new(void);
/* Frees the cache and the sessions it holds. Every session using it must have been
   freed first. NULL is allowed. */
SMTP_API void smtp_tls_cache_free(smtp_tls_cache *c);

/* Trusts the CA certificates in the PEM file path instead of the system store
   (NULL: back to the system store unless a CA directory is set). The path is copied
   and read at connect time. Returns 0, SMTP_EINVAL (empty, control characters),
   SMTP_ENOMEM, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_ca_file(smtp_session *s, const char *path);
/* Trusts the CA certificates of an OpenSSL hashed directory (c_rehash) instead of the
   system store; may be combined with a CA file. NULL removes it. Same return codes
   as smtp_session_set_ca_file. No I/O. */
SMTP_API int smtp_session_set_ca_dir(smtp_session *s, const char *path);
/* DANGEROUS: on != 0 accepts any server certificate for any name, which lets anyone
   on the path read and change the mail and the credentials. For tests against
   throwaway servers only; 0 (the default) verifies. Returns 0, SMTP_EINVAL (NULL
   session), SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_tls_insecure_skip_verify(smtp_session *s, int on);
/* Sets the lowest TLS version accepted: "1.2" (the default; NULL restores it) or
   "1.3". Older versions are refused (RFC 8996). Returns 0, SMTP_EINVAL for any other
   string, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_tls_min_version(smtp_session *s, const char *version);
/* Restricts the ciphers: tls12_list in OpenSSL cipher-list syntax for TLS 1.2
   ("ECDHE+AESGCM"), tls13_suites a colon-separated list of TLS 1.3 suites
   ("TLS_AES_256_GCM_SHA384"); NULL keeps OpenSSL's default for that version. The
   strings are copied. Returns 0, SMTP_EINVAL (control characters, or a list OpenSSL
   accepts nothing from), SMTP_ENOMEM, SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_tls_ciphers(smtp_session *s, const char *tls12_list,
					  const char *tls13_suites);
/* Sets the key exchange groups in preference order, colon-separated
   ("X25519:P-256"); NULL restores OpenSSL's default. Same return codes as
   smtp_session_set_tls_ciphers. No I/O. */
SMTP_API int smtp_session_set_tls_groups(smtp_session *s, const char *groups);
/* Presents a client certificate (RFC 8446 4.4.2) from PEM files: cert_file holds the
   certificate, optionally followed by its chain; key_file its private key (NULL: the
   key is in cert_file too). cert_file NULL removes the client certificate. Replaces a
   certificate set with smtp_session_set_client_cert_pem. Paths are copied; the files
   are read at connect time, where a missing or mismatched file is SMTP_ETLS.
   Returns 0, SMTP_EINVAL (empty, control characters), SMTP_ENOMEM, SMTP_ESTATE once
   connected. No I/O. */
SMTP_API int smtp_session_set_client_cert(smtp_session *s, const char *cert_file,
					  const char *key_file);
/* Like smtp_session_set_client_cert, from PEM text in memory: cert_pem the
   certificate (and chain), key_pem the private key (NULL: in cert_pem). The texts are
   copied; the key's copy is wiped when replaced or freed. Malformed PEM is found at
   connect time (SMTP_ETLS). Returns 0, SMTP_EINVAL (an empty text), SMTP_ENOMEM,
   SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_client_cert_pem(smtp_session *s, const char *cert_pem,
					      const char *key_pem);
/* Sets the callback that decrypts an encrypted client key (NULL removes it). Without
   one an encrypted key fails to load (SMTP_ETLS at connect); the library never
   prompts on a terminal. Returns 0, SMTP_EINVAL (NULL session), SMTP_ESTATE once
   connected. No I/O. */
SMTP_API int smtp_session_set_key_password_cb(smtp_session *s, smtp_password_fn fn,
					      void *ud);
/* Makes the session resume and store its TLS sessions in cache (NULL: none, the
   default). The cache is shared, not copied: it must outlive the session. Returns 0,
   SMTP_EINVAL (NULL session), SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_tls_cache(smtp_session *s, smtp_tls_cache *cache);

/* ---- end of TLS options ---- */

/* ---- extensions and generic commands ---- */

/* BDAT (RFC 3030 CHUNKING) is used when the server offers it, in chunks of at most
   chunk_size octets (0: 1 MiB; else 1024 .. 64 MiB). on = 0 keeps DATA. Returns 0,
   SMTP_EINVAL (a chunk size out of range), SMTP_ESTATE once connected. No I/O. */
SMTP_API int smtp_session_set_chunking(smtp_session *s, int on, size_t chunk_size);

/* Non-ASCII domains go out as A-labels (IDNA2008 via libidn2) when the server lacks
   SMTPUTF8; the UTS #46 mapping (lower-casing, width folding) is applied first unless
   switched off here. Returns 0. No I/O. */
SMTP_API int smtp_session_set_idna_mapping(smtp_session *s, int on);

/* Sends one command line (no CRLF) on the connected, idle session and waits for its
   reply, which becomes the last step of smtp_session_report (stage COMMAND). The line
   is checked like every caller string, and may not be a command the library runs
   itself (MAIL, RCPT, DATA, BDAT, STARTTLS, AUTH, QUIT, EHLO, HELO, LHLO: use
   smtp_send, smtp_connect, smtp_quit), which would pair later replies with the wrong
   commands. Returns 0 for a 2xx/3xx reply, SMTP_EREJECTED for 4xx/5xx, SMTP_EINVAL
   (control characters, empty, over 1000 octets, one of those commands), SMTP_ESTATE
   (not connected or busy), a connection error, or SMTP_EAGAIN in nonblocking mode
   (call again until done). smtp_noop, smtp_rset and smtp_vrfy are the same for NOOP,
   RSET, VRFY arg. */
SMTP_API int smtp_command(smtp_session *s, const char *line);
SMTP_API int smtp_noop(smtp_session *s);
SMTP_API int smtp_rset(smtp_session *s);
SMTP_API int smtp_vrfy(smtp_session *s, const char *arg);
/* The last step of the session report (the reply to smtp_command), or NULL. */
SMTP_API const smtp_step *smtp_session_last_step(const smtp_session *s);

/* Whether the server advertised ENHANCEDSTATUSCODES (RFC 2034) on the connection of
   this report: enhanced codes are reported either way when they have the form, and
   this says whether the server promised them. */
SMTP_API int smtp_report_enhanced_advertised(const smtp_report *r);

/* ---- nonblocking driving ---- */

/* ---- nonblocking extras (lib/session_events.c) ---- */

/* Called once per submitted message when its report becomes final (sent, refused,
   or failed locally, also when smtp_session_free ends a message still queued), on
   the caller's thread from within the session call that finished it. The callback
   may read the message and its report and the session's accessors
   (smtp_session_get_state, smtp_session_queued, ...). It must not free the session
   or the message; smtp_submit, smtp_send, smtp_connect, smtp_quit, smtp_command,
   smtp_session_abandon and smtp_session_process on this session return SMTP_ESTATE
   from within it: do that once the call that ran it returns. */
typedef void (*smtp_message_fn)(void *ud, smtp_session *s, smtp_message *m);

/* Installs the message callback (NULL removes it); ud is passed through. Returns 0,
   or SMTP_EINVAL for a NULL session. No I/O. */
SMTP_API int smtp_session_set_message_callback(smtp_session *s, smtp_message_fn fn,
					       void *ud);

/* Where a session stands, for callers that multiplex many sessions. */
typedef enum smtp_session_state {
	SMTP_STATE_IDLE = 0,   /* no connection and nothing to do */
	SMTP_STATE_CONNECTING, /* resolve, connect, TLS, greeting, EHLO or AUTH under way,
				  or messages queued on an unconnected session */
	SMTP_STATE_READY,      /* connected, nothing queued or awaited */
	SMTP_STATE_BUSY,       /* transactions or commands in flight */
	SMTP_STATE_CLOSING     /* QUIT sent or due; the connection is ending */
} smtp_session_state;

/* The session's state (SMTP_STATE_IDLE for NULL). No I/O. */
SMTP_API smtp_session_state smtp_session_get_state(const smtp_session *s);

/* Number of messages submitted to the session whose report is not final yet
   (0 for NULL). No I/O. */
SMTP_API size_t smtp_session_queued(const smtp_session *s);

/* ---- end of nonblocking extras ---- */


/* The descriptor to wait on, or -1 when there is nothing to wait on: before any
   work has started (a new session, or right after smtp_submit, which only queues: the
   first smtp_session_process starts the connection) and when the session is idle. On
   -1 never poll: call smtp_session_process if smtp_session_queued() is not 0 (it
   starts the work, and then there is a descriptor); otherwise there is nothing to do.
   Otherwise it is the resolver's pipe while a name resolves, the newest connect
   attempt while addresses race (RFC 8305), then the connection. It can change
   between calls: read it again after every call. */
SMTP_API int smtp_session_fd(const smtp_session *s);
/* SMTP_WANT_READ and/or SMTP_WANT_WRITE: what to wait for before the next call.
   Wait level-triggered (poll, select, epoll without EPOLLET): a call may return
   SMTP_EAGAIN with an end of stream not read yet. */
SMTP_API int smtp_session_events(const smtp_session *s);
/* Milliseconds until the current stage's deadline, or -1 when nothing is pending. */
SMTP_API int smtp_session_timeout_ms(const smtp_session *s);
/* Advances the session after the fd became ready or the timeout passed. Returns
   SMTP_EAGAIN while work is pending, 0 when idle, the error that ended the
   connection, or SMTP_ESTATE inside the message callback. */
SMTP_API int smtp_session_process(smtp_session *s);
/* Queues a message; queued messages go out in order, pipelined (RFC 2920) when the
   server allows. Nonblocking sessions then drive it with smtp_session_process();
   on a connected session smtp_session_events() includes SMTP_WANT_WRITE when the
   submission left commands to write.
   The message must stay alive until its report is final. Returns 0, SMTP_EINVAL for
   a message without sender, recipients or content (or with a NUL octet or a line
   over 998 octets in its text content), SMTP_ESTATE when already queued or inside
   the message callback. */
SMTP_API int smtp_submit(smtp_session *s, smtp_message *m);

/* ---- messages ---- */

/* Every smtp_message_set_*, _add_* and _allow_* call below returns SMTP_EINVAL for a
   NULL message and SMTP_ESTATE while the message is queued (from smtp_submit until
   its report is final); none does I/O. */

/* Creates an empty message. Returns NULL when out of memory. */
SMTP_API smtp_message *smtp_message_new(void);
/* Frees a message and its report. NULL is allowed. Must not be called while the
   message is queued on a session. */
SMTP_API void smtp_message_free(smtp_message *m);
/* Sets the reverse path: a mailbox ("a@example.org"), or "" for the null path <>.
   Returns 0, SMTP_EINVAL (syntax, control characters), SMTP_ENOMEM. */
SMTP_API int smtp_message_set_from(smtp_message *m, const char *mailbox);
/* Adds a recipient. Returns 0, SMTP_EINVAL (syntax, control characters), SMTP_ENOMEM. */
SMTP_API int smtp_message_add_rcpt(smtp_message *m, const char *mailbox);
/* Sets the content (an RFC 5322 message, headers and body). The bytes are referenced,
   not copied: they must stay unchanged until the message's report is final. Line
   ends may be LF or CRLF; the library sends CRLF and dot-stuffs. A NUL octet is
   refused when the message is sent (SMTP_EINVAL) unless the body type is
   SMTP_BODY_BINARYMIME. Returns 0, SMTP_EINVAL (data NULL with len > 0), SMTP_ESTATE. */
SMTP_API int smtp_message_set_data(smtp_message *m, const void *data, size_t len);
/* Sets a streaming content source instead (see smtp_read_fn); ud must stay valid
   until the report is final. Returns 0, SMTP_EINVAL (fn NULL), SMTP_ESTATE. */
SMTP_API int smtp_message_set_reader(smtp_message *m, smtp_read_fn fn, void *ud);
/* Allows body lines over 998 octets (RFC 5321 4.5.3.1.6), which are otherwise
   SMTP_EINVAL before the body is sent. Returns 0. */
SMTP_API int smtp_message_allow_long_lines(smtp_message *m, int on);
/* How the content is declared (RFC 6152, RFC 3030). AUTO scans in-memory content
   once: 8-bit octets are declared BODY=8BITMIME when the server offers it and are
   SMTP_EINVAL when it does not (no silent corruption); streamed content is declared
   8BITMIME whenever the server offers it. BINARYMIME sends the bytes untouched with
   BDAT and needs CHUNKING and BINARYMIME from the server (else SMTP_EINVAL). */
typedef enum smtp_body_type {
	SMTP_BODY_AUTO = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME
} smtp_body_type;
SMTP_API int smtp_message_set_body_type(smtp_message *m, smtp_body_type type);

/* The size of streamed content, for SIZE= (RFC 1870); in-memory content needs none.
   A message larger than the server's SIZE limit fails before MAIL with SMTP_ESIZE.
   Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_message_set_size_hint(smtp_message *m, uint64_t size);

/* Delivery status notifications (RFC 3461). ret: what a bounce returns; envid: the
   envelope id (copied; NULL for none; sent xtext-encoded). required: fail with
   SMTP_EINVAL before MAIL when the server lacks DSN; otherwise the parameters are
   left out and the report notes it. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
typedef enum smtp_dsn_ret {
	SMTP_DSN_RET_DEFAULT = 0,
	SMTP_DSN_RET_FULL,
	SMTP_DSN_RET_HDRS
} smtp_dsn_ret;
SMTP_API int smtp_message_set_dsn(smtp_message *m, smtp_dsn_ret ret, const char *envid,
				  int required);

/* NOTIFY flags for smtp_message_add_rcpt_dsn: NEVER alone, or any of the others. */
#define SMTP_NOTIFY_NEVER 1u
#define SMTP_NOTIFY_SUCCESS 2u
#define SMTP_NOTIFY_FAILURE 4u
#define SMTP_NOTIFY_DELAY 8u
/* Adds a recipient with DSN NOTIFY flags (0: the server's default) and an ORCPT
   address (NULL: none; sent as rfc822;xtext). Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_message_add_rcpt_dsn(smtp_message *m, const char *mailbox, unsigned notify,
				       const char *orcpt);

/* REQUIRETLS (RFC 8689): the message may only travel over TLS. Sent only over TLS to
   a server that offers it; otherwise the message fails with SMTP_ENOTLS before MAIL.
   Returns 0. */
SMTP_API int smtp_message_set_requiretls(smtp_message *m, int on);

/* Declares that the content needs SMTPUTF8 (RFC 6531 3.4): UTF-8 in its header
   fields. In-memory content is scanned for it; streamed content must say so here, or
   8-bit octets in its header end the message with SMTP_EUTF8 while it is sent. When
   the server lacks SMTPUTF8 such a message fails with SMTP_EUTF8 before MAIL.
   Returns 0, SMTP_EINVAL (NULL), SMTP_ESTATE while the message is queued. */
SMTP_API int smtp_message_set_smtputf8(smtp_message *m, int on);

/* The message's report: its transaction steps and recipients, preceded by the
   connection steps of the session that carried it. Owned by the message; valid until
   the message is freed or submitted again. Once its outcome is not SMTP_PENDING it
   never changes again, and pointers into it (steps, results, strings) stay valid. */
SMTP_API const smtp_report *smtp_message_report(const smtp_message *m);

/* The number of recipients added to m (smtp_message_add_rcpt, _add_rcpt_dsn); 0 for
   NULL. */
SMTP_API size_t smtp_message_rcpt_count(const smtp_message *m);

/* Checks m as smtp_submit does, without a session and without I/O: a sender, a
   recipient and content are set, and in-memory text content has no NUL octet and
   no line over 998 octets (unless smtp_message_allow_long_lines). Checks that depend
   on the server (SIZE, SMTPUTF8, DSN, REQUIRETLS) come later, in the report. Returns
   0, SMTP_EINVAL, SMTP_ESTATE (the message is queued in a session). Not to be called
   while the message is queued. */
SMTP_API int smtp_message_check(smtp_message *m);

/* ---- reports ---- */

/* Steps, recipient results and strings returned by the accessors below belong to
   the report they came from and stay valid as long as it does (see
   smtp_message_report and smtp_session_report); never free them. */

/* The outcome derived from the verdicts (smtp_outcome); SMTP_PENDING until the
   report is final, and for NULL. No I/O. */
SMTP_API smtp_outcome smtp_report_outcome(const smtp_report *r);
/* The stage that failed, or SMTP_STAGE_NONE. */
SMTP_API smtp_stage smtp_report_failed_stage(const smtp_report *r);
/* What smtp_send returned for this message: 0 when every recipient was accepted;
   SMTP_EREJECTED when a server reply refused the message or a recipient (see the
   recipients' results); otherwise the local error that decided the outcome
   (SMTP_ECLOSED for 421 or a lost connection, SMTP_ETIMEDOUT, SMTP_EAUTH, ...). 0
   while pending. For a connection report: the error that ended the connection. */
SMTP_API int smtp_report_error(const smtp_report *r);
/* 1 when the connection was lost or stalled after the message's final dot or BDAT
   LAST was written and before its reply arrived (RFC 1047): the recipients are
   deferred, and a retry may deliver the message twice. */
SMTP_API int smtp_report_maybe_delivered(const smtp_report *r);
/* The OS, OpenSSL or libidn2 reason for the local error, or NULL. */
SMTP_API const char *smtp_report_error_detail(const smtp_report *r);
/* The id the server gave the message in its final reply ("queued as X"), or NULL. */
SMTP_API const char *smtp_report_queue_id(const smtp_report *r);

/* The address the connection went to ("127.0.0.1:587"), or NULL before connecting. */
SMTP_API const char *smtp_report_peer(const smtp_report *r);
/* TLS facts of the connection: protocol ("TLSv1.3") and cipher, or NULL without TLS;
   whether the handshake resumed an earlier session; the peer certificate's subject
   and issuer, or NULL. Strings are owned by the report. */
SMTP_API const char *smtp_report_tls_version(const smtp_report *r);
SMTP_API const char *smtp_report_tls_cipher(const smtp_report *r);
SMTP_API int smtp_report_tls_resumed(const smtp_report *r);
SMTP_API const char *smtp_report_tls_peer_subject(const smtp_report *r);
SMTP_API const char *smtp_report_tls_peer_issuer(const smtp_report *r);

/* Number of steps, and step i (NULL when out of range). Steps are owned by the
   report; while it is pending, a later step may move them. */
SMTP_API size_t smtp_report_count(const smtp_report *r);
SMTP_API const smtp_step *smtp_report_step(const smtp_report *r, size_t i);
SMTP_API smtp_stage smtp_step_stage(const smtp_step *st);
/* The command's argument: the recipient for RCPT, the sender for MAIL, else NULL. */
SMTP_API const char *smtp_step_arg(const smtp_step *st);
/* The reply code, or 0 when no reply arrived (then smtp_step_error() says why). */
SMTP_API int smtp_step_code(const smtp_step *st);
/* The enhanced status code "5.1.1" (RFC 3463), or NULL when the reply had none. */
SMTP_API const char *smtp_step_enhanced(const smtp_step *st);
/* The reply text, lines joined by '\n', enhanced codes removed; "" when none. */
SMTP_API const char *smtp_step_text(const smtp_step *st);
/* The local error of this step, or 0. */
SMTP_API int smtp_step_error(const smtp_step *st);
/* Microseconds from the moment the step's command was written (for the greeting:
   the connection was up; for CONNECT and TLS: the attempt began) to its reply, or -1
   when there is no such interval (a local note). */
SMTP_API int64_t smtp_step_elapsed_us(const smtp_step *st);

/* Number of recipients, and recipient i's result (NULL when out of range). */
SMTP_API size_t smtp_report_rcpt_count(const smtp_report *r);
SMTP_API const smtp_rcpt_result *smtp_report_rcpt(const smtp_report *r, size_t i);
SMTP_API const char *smtp_rcpt_address(const smtp_rcpt_result *rr);
SMTP_API int smtp_rcpt_code(const smtp_rcpt_result *rr);
SMTP_API const char *smtp_rcpt_enhanced(const smtp_rcpt_result *rr);
SMTP_API const char *smtp_rcpt_text(const smtp_rcpt_result *rr);
/* 1 only when the verdict is SMTP_VERDICT_ACCEPTED. */
SMTP_API int smtp_rcpt_accepted(const smtp_rcpt_result *rr);
/* The recipient's verdict (SMTP_VERDICT_PENDING for NULL or while undecided). The
   code, enhanced code, text, stage and error of the result are those of the reply
   or local error that decided it. */
SMTP_API smtp_verdict smtp_rcpt_verdict(const smtp_rcpt_result *rr);
/* The stage of the reply or local error that decided the verdict (SMTP_STAGE_BODY
   for an accepted recipient, SMTP_STAGE_RCPT for an address refused at RCPT). */
SMTP_API smtp_stage smtp_rcpt_stage(const smtp_rcpt_result *rr);
/* 0 when accepted; SMTP_EREJECTED when a 4xx or 5xx reply decided the verdict;
   SMTP_ECLOSED for 421 or a lost connection; otherwise the local error. */
SMTP_API int smtp_rcpt_error(const smtp_rcpt_result *rr);

/* Renders the report as JSON (the schema is doc/report-schema.md) into buf,
   NUL-terminated.
   Returns the length the whole JSON needs (excluding the NUL), like snprintf: a
   result >= len means buf was too small and holds a truncated prefix. */
SMTP_API size_t smtp_report_json(const smtp_report *r, char *buf, size_t len);
/* Renders the report as human-readable text, one step per line, server text with
   its control characters escaped (\xNN); same contract. */
SMTP_API size_t smtp_report_text(const smtp_report *r, char *buf, size_t len);

/* ---- composing messages (lib/compose) ---- */

/* A message builder: addresses, subject, text and HTML, attachments, DKIM keys in;
   RFC 5322 + MIME content and the envelope out, into an smtp_message. Everything it
   needs encoded is encoded (RFC 2047 words, RFC 2231 file names, quoted-printable,
   base64), header lines are folded at 78 octets and never exceed 998, and no setter
   lets CR, LF or NUL into a header: they are SMTP_EINVAL. Strings are UTF-8 and
   copied. Constructors and setters do no I/O except where a file is named. */
typedef struct smtp_compose smtp_compose;
/* A DKIM signing key with its domain, selector and options (RFC 6376). */
typedef struct smtp_dkim smtp_dkim;

/* The address header fields, for smtp_compose_add_mailbox. */
typedef enum smtp_field {
	SMTP_FIELD_FROM = 0, /* one mailbox (RFC 5322 3.6.2); setting it again replaces it */
	SMTP_FIELD_SENDER,   /* one mailbox; replaces */
	SMTP_FIELD_REPLY_TO, /* the rest are lists: each call adds one */
	SMTP_FIELD_TO,
	SMTP_FIELD_CC,
	SMTP_FIELD_BCC       /* envelope only: never written into the header */
} smtp_field;

/* Longest address (64 + "@" + 255, RFC 5321 4.5.3.1) and display name, in octets. */
#define SMTP_ADDR_MAX 320
#define SMTP_NAME_MAX 512

/* Creates an empty builder. Returns NULL when out of memory. No I/O. */
SMTP_API smtp_compose *smtp_compose_new(void);
/* Frees the builder, its copies, open files and plans. NULL is allowed. Every message
   it filled must be done sending (its report final) or freed first. */
SMTP_API void smtp_compose_free(smtp_compose *c);

/* Address setters: addr is a mailbox ("a@example.org", angle brackets allowed),
   name its display name (NULL or "" for none; at most SMTP_NAME_MAX octets, encoded
   as RFC 2047 words when not ASCII). set_* replace, add_* append (at most 10000 per
   list). Returns 0, SMTP_EINVAL (address syntax, a control character such as CR, LF
   or NUL in either string, invalid UTF-8, a full list), SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_from(smtp_compose *c, const char *addr, const char *name);
SMTP_API int smtp_compose_set_sender(smtp_compose *c, const char *addr, const char *name);
SMTP_API int smtp_compose_add_reply_to(smtp_compose *c, const char *addr, const char *name);
SMTP_API int smtp_compose_add_to(smtp_compose *c, const char *addr, const char *name);
SMTP_API int smtp_compose_add_cc(smtp_compose *c, const char *addr, const char *name);
SMTP_API int smtp_compose_add_bcc(smtp_compose *c, const char *addr, const char *name);
/* Adds (or for FROM and SENDER sets) a mailbox written as text: "a@example.org",
   "<a@example.org>", "Name <a@example.org>" or "\"Last, First\" <a@example.org>".
   Returns like the setters above. */
SMTP_API int smtp_compose_add_mailbox(smtp_compose *c, smtp_field field, const char *mailbox);
/* Splits mailbox text (the forms of smtp_compose_add_mailbox) into its address
   (addr, at least SMTP_ADDR_MAX + 1 octets) and display name (name, at least
   SMTP_NAME_MAX + 1 octets; "" when none; a quoted name is unquoted), both
   NUL-terminated. Returns 0, SMTP_EINVAL (syntax, control characters, a buffer too
   small). */
SMTP_API int smtp_mailbox_parse(const char *mailbox, char *addr, size_t addr_cap, char *name,
				size_t name_cap);
/* Overrides the envelope. Without these, smtp_compose_to_message takes the reverse
   path from Sender (else From) and the recipients from To, Cc and Bcc. mailbox as
   for smtp_message_set_from ("" for the null reverse path) and
   smtp_message_add_rcpt. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_envelope_from(smtp_compose *c, const char *mailbox);
SMTP_API int smtp_compose_add_envelope_rcpt(smtp_compose *c, const char *mailbox);

/* Sets the Subject (at most 16384 octets; TAB allowed; other control characters and
   invalid UTF-8 are SMTP_EINVAL). Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_subject(smtp_compose *c, const char *subject);
/* Sets the Date: seconds since 1970 (0 .. 253402300799, the end of year 9999) and the
   zone's offset east of UTC in minutes (-1439 .. 1439). Without it the Date is the
   time of smtp_compose_to_message in the local zone. Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_compose_set_date(smtp_compose *c, int64_t unix_time, int utc_offset_minutes);
/* Sets the Message-ID, "left@right" with or without angle brackets (RFC 5322 3.6.4,
   ASCII, at most 250 octets). Without it a random, unguessable one with the From
   domain is made. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_message_id(smtp_compose *c, const char *id);
/* Sets In-Reply-To, and adds one id to References (call once per id, oldest first);
   ids as for smtp_compose_set_message_id. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_in_reply_to(smtp_compose *c, const char *id);
SMTP_API int smtp_compose_add_references(smtp_compose *c, const char *id);
/* Adds any other header field. name: RFC 5322 3.6.8 field-name (printable ASCII but
   ":", at most 76 octets), not one the builder writes itself (From, Sender, Reply-To,
   To, Cc, Bcc, Subject, Date, Message-ID, In-Reply-To, References, MIME-Version,
   Content-*, DKIM-Signature: use their setters). value: unstructured text, as for
   the Subject. Fields keep their order. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_add_header(smtp_compose *c, const char *name, const char *value);

/* Sets the text/plain and the text/html part (both: multipart/alternative). UTF-8;
   LF, CR or CRLF line ends (sent as CRLF); NUL and invalid UTF-8 are SMTP_EINVAL.
   Sent as 7bit when ASCII with lines of at most 78 octets, else quoted-printable (or
   8bit, see smtp_compose_allow_8bit). Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_compose_set_text(smtp_compose *c, const char *text);
SMTP_API int smtp_compose_set_html(smtp_compose *c, const char *html);

/* Attachments (multipart/mixed), sent in base64. filename: shown to the recipient
   (UTF-8, at most 1000 octets, no control characters; RFC 2231-encoded when not
   ASCII); content_type: e.g. "application/pdf" (NULL: guessed from the file name
   with smtp_mime_type_guess; multipart and message types are SMTP_EINVAL).
   From memory: the octets are copied. From a file: path is opened now and kept open
   (it must be a regular file; filename NULL: its base name); its octets are read
   while the message is sent, and once more by smtp_compose_to_message when DKIM
   signs, so it must not change meanwhile. From a reader: fn(ud, ...) is called
   while the message is sent (or, with DKIM, during smtp_compose_to_message, which
   then keeps its octets in memory up to the spool limit); size is the exact number
   of octets it gives, or -1 when unknown (then no SIZE hint); a reader that gives
   another number fails the message with SMTP_EINVAL.
   Returns 0, SMTP_EINVAL (bad strings, a path that cannot be opened as a regular
   file, size out of range, a full list), SMTP_ENOMEM. */
SMTP_API int smtp_compose_add_attachment(smtp_compose *c, const void *data, size_t len,
					 const char *filename, const char *content_type);
SMTP_API int smtp_compose_add_attachment_file(smtp_compose *c, const char *path,
					      const char *filename, const char *content_type);
SMTP_API int smtp_compose_add_attachment_reader(smtp_compose *c, smtp_read_fn fn, void *ud,
						int64_t size, const char *filename,
						const char *content_type);
/* Inline parts (multipart/related with the HTML part) that the HTML refers to as
   "cid:" + content_id; content_id as a Message-ID, or a dot-atom without "@".
   content_type NULL: guessed from the file name (memory: application/octet-stream).
   Returns like the attachment setters. */
SMTP_API int smtp_compose_add_inline(smtp_compose *c, const void *data, size_t len,
				     const char *content_id, const char *content_type);
SMTP_API int smtp_compose_add_inline_file(smtp_compose *c, const char *path,
					  const char *content_id, const char *content_type);
/* The media type for a file name's extension ("report.PDF" -> "application/pdf"),
   "application/octet-stream" when unknown (static storage, never NULL). */
SMTP_API const char *smtp_mime_type_guess(const char *filename);

/* on != 0 makes an SMTPUTF8 message (RFC 6532): display names, Subject, header
   values and file names go as raw UTF-8 instead of encoded words, addresses may have
   UTF-8 local parts, and bodies may be 8bit. The server must offer SMTPUTF8 and
   8BITMIME. Returns 0 or SMTP_EINVAL (NULL). */
SMTP_API int smtp_compose_set_utf8(smtp_compose *c, int on);
/* on != 0 lets text bodies that are not ASCII go as 8bit (RFC 6152) instead of
   quoted-printable; the server must offer 8BITMIME. Returns 0 or SMTP_EINVAL (NULL). */
SMTP_API int smtp_compose_allow_8bit(smtp_compose *c, int on);
/* The most octets one reader attachment may hold in memory when DKIM needs its
   octets twice (default 64 MiB; 0 .. 2^40). Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_compose_set_spool_limit(smtp_compose *c, uint64_t bytes);
/* Signs the message with d (a copy is kept; d may be freed after). Call once per key
   for dual signing (e.g. ed25519-sha256 and rsa-sha256, at most 8). Returns 0,
   SMTP_EINVAL (d has no domain or key, too many), SMTP_ENOMEM. */
SMTP_API int smtp_compose_add_dkim(smtp_compose *c, const smtp_dkim *d);

/* Composes the message into m: its envelope (see smtp_compose_set_envelope_from; Bcc
   recipients only there), a streaming reader for its content
   (smtp_message_set_reader) and, when every part's size is known, the SIZE hint.
   Date and Message-ID are made now when not set. With DKIM, every part is read once
   here for the body hash (this blocks on file I/O). m should be new: the recipients
   are added to what it has. c must outlive m's sending; later setter calls do not
   change what m sends, so c can compose the next message meanwhile. When the server
   takes the body once per RCPTMAX part, the content is given again each time, except
   a reader attachment without DKIM: its reader is read once, so a second part fails
   with SMTP_ESTATE (add it with DKIM, or from memory or a file, for such servers).
   Returns 0, SMTP_EINVAL (no From or no recipient; a UTF-8 local part without
   smtp_compose_set_utf8; a file that changed; a reader that failed), SMTP_ESIZE (a
   reader attachment beyond the spool limit), SMTP_ESTATE (m is being sent),
   SMTP_ENOMEM, or what smtp_message_set_from/add_rcpt return (then m may hold part
   of the envelope). */
SMTP_API int smtp_compose_to_message(smtp_compose *c, smtp_message *m);
/* Starts m's content again from its first octet, to send m again after a failed
   attempt (m filled by smtp_compose_to_message from c). A message with a reader
   attachment that was not spooled cannot be sent again: its reading fails with
   SMTP_ESTATE. Returns 0, SMTP_EINVAL (c never filled m), SMTP_ESTATE (m is being
   sent). */
SMTP_API int smtp_compose_rewind(smtp_compose *c, smtp_message *m);
/* Composes the message into new memory instead of a message: the octets
   smtp_compose_to_message would send (CRLF line ends, DKIM-signed when signers are
   set, Date and Message-ID made now when not set), for a preview, an archived copy
   or a queue that takes whole messages (tools/smtp-worker's jobs). The envelope is
   not part of it. *out (the caller's; release it with free()) and *len are set on
   success, NULL and 0 otherwise. Reads every part (blocks on file I/O). Returns 0,
   SMTP_EINVAL (NULL arguments, no From, a UTF-8 local part without
   smtp_compose_set_utf8, a file that changed, a reader that failed), SMTP_ESIZE (a
   reader attachment beyond the spool limit), SMTP_ENOMEM. */
SMTP_API int smtp_compose_render(smtp_compose *c, unsigned char **out, size_t *len);

/* For a ready-made message: writes into out the Date and Message-ID fields (CRLF
   ends) that msg[0..len) lacks, to be put before it: Date now in the local zone, a
   random Message-ID with domain (NULL: the domain of msg's From address). out must
   hold SMTP_MISSING_HEADERS_MAX octets; *outlen gets the length (0 when nothing is
   missing; out is NUL-terminated). Returns 0, SMTP_EINVAL (no usable domain, buffer
   too small), SMTP_ENOMEM. */
#define SMTP_MISSING_HEADERS_MAX 512
SMTP_API int smtp_compose_missing_headers(const void *msg, size_t len, const char *domain,
					  char *out, size_t outcap, size_t *outlen);

/* ---- DKIM signing (RFC 6376; RFC 8463) ---- */

typedef enum smtp_dkim_canon {
	SMTP_DKIM_RELAXED = 0, /* the default, for header and body */
	SMTP_DKIM_SIMPLE
} smtp_dkim_canon;

/* Creates a signer without key. Returns NULL when out of memory. No I/O. */
SMTP_API smtp_dkim *smtp_dkim_new(void);
/* Frees the signer and its key (compose objects keep their own copies). NULL is
   allowed. */
SMTP_API void smtp_dkim_free(smtp_dkim *d);
/* Sets the signing domain (d=, A-labels are made of an IDN) and selector (s=): the
   public key is at selector._domainkey.domain. Returns 0, SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_dkim_set_domain(smtp_dkim *d, const char *domain, const char *selector);
/* Loads the private key from a PEM file, or from PEM text in memory (len octets),
   with OpenSSL: RSA of 1024 to 4096 bits signs rsa-sha256 (2048 recommended), Ed25519
   signs ed25519-sha256 (RFC 8463). Encrypted keys are not supported. Reads the file
   (blocking). Returns 0, SMTP_EINVAL (unreadable, not a key, another type or size),
   SMTP_ENOMEM. */
SMTP_API int smtp_dkim_set_key_file(smtp_dkim *d, const char *path);
SMTP_API int smtp_dkim_set_key_pem(smtp_dkim *d, const char *pem, size_t len);
/* Canonicalisation of header and body (RFC 6376 3.4). Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_dkim_set_canon(smtp_dkim *d, smtp_dkim_canon header, smtp_dkim_canon body);
/* The signed header fields (h=), colon-separated ("from:to:subject"); a name listed
   more often than the field occurs also signs its absence. It must list "from".
   NULL restores the default: those of from, to, cc, subject, date, message-id,
   reply-to, mime-version, content-type, in-reply-to, references that are present,
   with From signed once more than it occurs. At most 512 octets. Returns 0,
   SMTP_EINVAL, SMTP_ENOMEM. */
SMTP_API int smtp_dkim_set_headers(smtp_dkim *d, const char *names);
/* Signatures expire (x=) seconds after signing (1 .. 315360000), 0: never (the
   default). Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_dkim_set_expiry(smtp_dkim *d, int64_t seconds);
/* Signs a ready-made message msg[0..len) (line ends LF or CRLF, as the library sends
   them: CRLF) and writes its DKIM-Signature field, CRLF-terminated and
   NUL-terminated, into out, to be put before the message. out must hold
   SMTP_DKIM_SIGNATURE_MAX octets; *outlen gets the length. No body length (l=) is
   ever signed. Returns 0, SMTP_EINVAL (no key or domain, no From field, out too
   small), SMTP_ENOMEM. */
#define SMTP_DKIM_SIGNATURE_MAX 4096
SMTP_API int smtp_dkim_sign(const smtp_dkim *d, const void *msg, size_t len, char *out,
			    size_t outcap, size_t *outlen);

/* ---- end of composing messages ---- */

/* ---- delivery at scale: pool, rate limits, retries (lib/deliver) ---- */

/* A pool of sessions to one relay, shared by any number of threads. Messages wait
   in a bounded queue and are spread over at most max_connections connections (a
   hard cap: never more sessions exist at once, whatever the number of submitting
   threads), pipelined on each. The pool runs either in a thread of its own
   (smtp_pool_start) or in the caller's event loop through one descriptor and one
   timeout for the whole pool (smtp_pool_fd, _events, _timeout_ms, _process, like a
   session's). Failures are handled by what the report says (doc/report-schema.md,
   "Verdicts"):
   - a connection the server closed while idle (EOF, or 421 and close) is dropped
     and replaced when needed; no message is affected;
   - a message whose connection died before its final dot or BDAT LAST went out
     (every recipient deferred, maybe_delivered 0, SMTP_ECLOSED, SMTP_ETIMEDOUT or
     SMTP_EPROTOCOL) is sent again on another connection, up to
     smtp_pool_set_resend_attempts times, unless its content comes from a reader
     that had given part of it (a reader cannot start over midway): that one
     completes deferred, to be submitted again after rewinding (smtp_compose_rewind);
   - a message whose final dot went out and whose reply never came is never sent
     again by the pool: it completes deferred with maybe_delivered.
   A reply that says the client is too fast (421 or 4xx with 4.7.0 outside
   STARTTLS/AUTH, 4.7.28, or a text about a rate, throttling or too many
   connections) lowers the connection limit by one (down to one); it goes back up
   by one per quiet period (smtp_pool_set_throttle_recovery). */
typedef struct smtp_pool smtp_pool;

/* Called for every session the pool creates, after its URL, nonblocking mode, the
   pool's TLS session cache and message callback are set: apply TLS, AUTH and other
   session options here. It must not connect, submit, change the message callback
   nor switch the session to blocking. Return 0, or an error to discard the session:
   the pool then opens no connection for 1 s and tries again (the messages wait).
   Called on the pool's loop thread. */
typedef int (*smtp_pool_setup_fn)(void *ud, smtp_session *s);

/* Called once per submitted message when the pool is done with it: its report is
   final (smtp_message_report). msg_ud is what smtp_pool_submit was given. Called on
   the pool's loop thread (its own thread, or the thread in smtp_pool_process,
   smtp_pool_drain, smtp_pool_close or smtp_pool_free), never with a lock held: the
   callback may free the message, or submit it (or a follow-up) again; such a
   submission never blocks (SMTP_EBUSY when the queue is full). It must not call
   smtp_pool_process, _drain, _close or _free. */
typedef void (*smtp_pool_message_fn)(void *ud, smtp_pool *p, smtp_message *m,
				     void *msg_ud);

/* Decides instead of the pool's message and recipient limits whether message m
   (nrcpts recipients) may go now: return 0 to send it, or the milliseconds to wait
   (at most one day) before the pool asks again. Called on the loop thread right
   before the message is handed to a connection; a slow hook stalls the pool. A
   limiter shared by many processes (a counter in Redis) sits behind it. */
typedef int64_t (*smtp_pool_rate_fn)(void *ud, smtp_pool *p, const smtp_message *m,
				     size_t nrcpts);

/* What a rate limit counts (smtp_pool_set_rate). */
typedef enum smtp_rate_kind {
	SMTP_RATE_MESSAGES = 0,  /* messages handed to connections */
	SMTP_RATE_RECIPIENTS,    /* their recipients */
	SMTP_RATE_CONNECTIONS    /* connections opened */
} smtp_rate_kind;

/* Counters and gauges of a pool (smtp_pool_stat). */
typedef enum smtp_pool_stat_kind {
	SMTP_POOL_CONNECTIONS = 0,    /* sessions that exist now (never above the cap) */
	SMTP_POOL_CONNECTIONS_PEAK,   /* the most that ever existed at once */
	SMTP_POOL_CONNECTIONS_OPENED, /* sessions created so far */
	SMTP_POOL_CONNECTION_LIMIT,   /* the limit in force (lower while throttled) */
	SMTP_POOL_QUEUED,             /* messages waiting for a connection */
	SMTP_POOL_OUTSTANDING,        /* submitted, callback not yet returned */
	SMTP_POOL_COMPLETED,          /* callbacks run */
	SMTP_POOL_RESENT,             /* messages sent again after a connection died
					 before their final dot */
	SMTP_POOL_IDLE_DROPS,         /* idle connections the server closed */
	SMTP_POOL_THROTTLED           /* "too fast" replies seen */
} smtp_pool_stat_kind;

/* Creates a pool with the defaults: 4 connections, no message limit per
   connection, pipelining depth 8, idle timeout 30 s, a queue of 10,000 that blocks
   when full, 3 resend attempts, throttle recovery 30 s, no rate limit. Returns NULL
   when out of memory. Does no I/O and starts no thread. */
SMTP_API smtp_pool *smtp_pool_new(void);

/* Stops the pool's thread, closes every connection without QUIT (use smtp_pool_close
   first for a polite end) and frees the pool. Every message not yet completed
   completes now, on the calling thread, with its callback: those in flight as
   smtp_session_abandon says (deferred; maybe_delivered where the dot went out),
   those still queued with a final deferred report (error SMTP_ESTATE, "the session
   was abandoned"), never sent. NULL is allowed. Must not be called from a callback. */
SMTP_API void smtp_pool_free(smtp_pool *p);

/* Sets the relay, as smtp_session_set_url takes it (checked on a session here).
   Connections opened later use it. Returns 0, SMTP_EINVAL (a malformed URL),
   SMTP_ENOMEM. No I/O. */
SMTP_API int smtp_pool_set_url(smtp_pool *p, const char *url);

/* Installs the session setup function (NULL removes it). Returns 0, or SMTP_EINVAL
   for a NULL pool. No I/O. */
SMTP_API int smtp_pool_set_session_setup(smtp_pool *p, smtp_pool_setup_fn fn, void *ud);

/* The most sessions that may exist at once, connecting, busy, idle or quitting
   (1..1000). Lowering it retires the excess as they become idle. Returns 0 or
   SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_max_connections(smtp_pool *p, unsigned n);

/* Messages per connection (0: no limit; at most 1,000,000): after n the connection
   takes no more, sends QUIT once they are done, and a fresh one takes over.
   Returns 0 or SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_max_messages(smtp_pool *p, unsigned n);

/* How many messages may be queued on one connection at once (1..1000), pipelined
   (RFC 2920) when the server offers it. Returns 0 or SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_pipeline_depth(smtp_pool *p, unsigned n);

/* Milliseconds after which an idle connection is closed with QUIT (0: never; at
   most 24 h). Returns 0 or SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_idle_timeout(smtp_pool *p, int64_t ms);

/* The most messages that may wait for a connection (1..10,000,000), and what
   smtp_pool_submit does when that many wait: block until there is room (block 1,
   the default) or return SMTP_EBUSY (block 0). Room is made by the pool's loop:
   a caller whose only thread both submits and runs smtp_pool_process chooses
   block 0. Returns 0 or SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_queue_limit(smtp_pool *p, size_t n, int block);

/* At most count messages, recipients or new connections in any window of
   window_ms milliseconds, the first window included (count 0 removes the limit;
   count at most 1,000,000; window 1 ms..30 days). Shared by all connections of the
   pool. Returns 0 or SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_rate(smtp_pool *p, smtp_rate_kind kind, unsigned count,
				int64_t window_ms);

/* Installs the rate hook (NULL removes it); while installed it replaces the message
   and recipient limits of smtp_pool_set_rate (the connection limit stays).
   Returns 0, or SMTP_EINVAL for a NULL pool. No I/O. */
SMTP_API int smtp_pool_set_rate_hook(smtp_pool *p, smtp_pool_rate_fn fn, void *ud);

/* How many times a message whose connection died before its final dot is sent
   again on another connection (0..100; default 3). Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_pool_set_resend_attempts(smtp_pool *p, unsigned n);

/* Milliseconds without a "too fast" reply after which a lowered connection limit
   goes up by one again (0: never lower it; at most 24 h). Returns 0 or
   SMTP_EINVAL. No I/O. */
SMTP_API int smtp_pool_set_throttle_recovery(smtp_pool *p, int64_t ms);

/* Installs the completion callback (NULL removes it). Returns 0, or SMTP_EINVAL for
   a NULL pool. No I/O. */
SMTP_API int smtp_pool_set_message_callback(smtp_pool *p, smtp_pool_message_fn fn,
					    void *ud);

/* Queues a message; safe from any thread. The message is checked first as
   smtp_submit checks it. It stays owned by the caller and must stay alive and
   unchanged (with the content it references) until its callback ran; it must not
   be submitted again before that. Blocks while the queue is full unless the queue
   limit says not to, or the call comes from a callback. Returns 0, SMTP_EINVAL (a
   NULL argument, a message without sender, recipient or content, a line over 998
   octets, more recipients than the recipient rate limit allows in a window),
   SMTP_ESTATE (no URL set, the pool is closing, the message is queued on a
   session), SMTP_EBUSY (the queue is full), SMTP_ENOMEM. */
SMTP_API int smtp_pool_submit(smtp_pool *p, smtp_message *m, void *msg_ud);

/* Runs the pool in a thread of its own; callbacks then run on that thread. Returns
   0, SMTP_ESTATE (already started, or closed), SMTP_ENOMEM (no thread). */
SMTP_API int smtp_pool_start(smtp_pool *p);

/* For the caller's event loop (not with smtp_pool_start): the one descriptor to
   wait on (an epoll descriptor, stable for the pool's life), SMTP_WANT_READ, and
   the milliseconds until smtp_pool_process is due anyway (-1: none). After every
   call to smtp_pool_process, read the timeout again. */
SMTP_API int smtp_pool_fd(const smtp_pool *p);
SMTP_API int smtp_pool_events(const smtp_pool *p);
SMTP_API int smtp_pool_timeout_ms(const smtp_pool *p);
/* Advances every connection that is ready or due, hands queued messages to
   connections and runs the callbacks. Never blocks. Returns SMTP_EAGAIN while the
   pool is open (submissions may come from any thread), 0 once smtp_pool_quit or
   smtp_pool_close finished (every message done, every connection closed),
   SMTP_EINVAL (NULL), SMTP_ESTATE (the pool has its own thread, or the call comes
   from a callback). */
SMTP_API int smtp_pool_process(smtp_pool *p);

/* Blocks until every message submitted so far has completed (its callback
   returned), or timeout_ms passed (-1: no limit). Without smtp_pool_start it runs
   the pool's loop in the calling thread meanwhile. Returns 0, SMTP_ETIMEDOUT,
   SMTP_EINVAL, SMTP_ESTATE (from a callback). */
SMTP_API int smtp_pool_drain(smtp_pool *p, int timeout_ms);

/* Ends the pool politely without blocking: submissions fail with SMTP_ESTATE from
   now on, blocked ones return it, messages already submitted are still delivered,
   then every connection sends QUIT; smtp_pool_process returns 0 when all is done.
   Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_pool_quit(smtp_pool *p);

/* smtp_pool_quit, then blocks until it finished (running the loop in the calling
   thread without smtp_pool_start; joining the pool's thread with it). The pool
   then only answers smtp_pool_stat and smtp_pool_free. Returns 0, SMTP_EINVAL,
   SMTP_ESTATE (from a callback). */
SMTP_API int smtp_pool_close(smtp_pool *p);

/* A counter or gauge (0 for a NULL pool). Safe from any thread. No I/O. */
SMTP_API uint64_t smtp_pool_stat(const smtp_pool *p, smtp_pool_stat_kind kind);

/* ---- retry schedule ---- */

/* A retry schedule: after an attempt, which recipients to try again (never those
   accepted; never those bounced or failed, which a retry would not change) and
   when; and when to stop (the give-up age, after which deferred recipients become
   bounced with a reason). Defaults, greylisting-aware: the delay before attempt 2
   is 5 min (a greylisting server accepts only after its own delay, typically 1 to
   5 min; Postfix's minimal_backoff_time is 300 s), then 15 min, 30 min, 1 h, 2 h,
   4 h, and 4 h from then on; each delay varied by +-10% (jitter) so retries of
   many messages spread out; give-up age 5 days (RFC 5321 4.5.4.1). A schedule is
   read-only once set up and may be shared by threads. */
typedef struct smtp_retry smtp_retry;
/* A decision for one finished attempt; owns copies of the addresses it names. */
typedef struct smtp_retry_plan smtp_retry_plan;

/* Creates a schedule with the defaults; NULL when out of memory. */
SMTP_API smtp_retry *smtp_retry_new(void);
/* Frees a schedule. NULL is allowed. */
SMTP_API void smtp_retry_free(smtp_retry *r);
/* The delays before attempts 2, 3, ... in ms (1 ms..30 days each, 1..64 of them;
   the last repeats). Copied. Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_retry_set_delays(smtp_retry *r, const int64_t *delays_ms, size_t n);
/* Each delay is multiplied by a uniform factor in [1 - fraction, 1 + fraction)
   (0..0.5; 0 turns jitter off). Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_retry_set_jitter(smtp_retry *r, double fraction);
/* No attempt is planned later than age_ms after the first (1 ms..365 days).
   Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_retry_set_give_up(smtp_retry *r, int64_t age_ms);
/* The jitter's source of uniform numbers in [0, 1) (NULL: the kernel's random
   numbers); for reproducible tests. Returns 0 or SMTP_EINVAL. */
SMTP_API int smtp_retry_set_random(smtp_retry *r, double (*fn)(void *ud), void *ud);
/* The delay before attempt number attempt + 1, with jitter, in ms; -1 for a NULL
   schedule or attempt 0. */
SMTP_API int64_t smtp_retry_delay_ms(const smtp_retry *r, unsigned attempt);

/* Decides after attempt number attempt (1 for the first) whose final report is
   report; first_ms is when the first attempt began and now_ms is now, both in ms on
   any one clock of the caller's. The recipients to retry are those deferred; when
   the next attempt would fall later than the give-up age after the first, they are
   given up instead. Returns NULL when out of memory or for invalid arguments (NULL,
   attempt 0, now_ms before first_ms, a report not final). Free with
   smtp_retry_plan_free. */
SMTP_API smtp_retry_plan *smtp_retry_plan_new(const smtp_retry *r, const smtp_report *report,
					      unsigned attempt, int64_t first_ms,
					      int64_t now_ms);
/* Frees a plan. NULL is allowed. */
SMTP_API void smtp_retry_plan_free(smtp_retry_plan *p);
/* Recipients to retry, and recipient i (NULL when out of range; owned by the plan). */
SMTP_API size_t smtp_retry_plan_count(const smtp_retry_plan *p);
SMTP_API const char *smtp_retry_plan_rcpt(const smtp_retry_plan *p, size_t i);
/* When to retry, on the caller's clock (ms), or -1 when nothing is to be retried. */
SMTP_API int64_t smtp_retry_plan_due_ms(const smtp_retry_plan *p);
/* The number of the next attempt (attempt + 1). */
SMTP_API unsigned smtp_retry_plan_attempt(const smtp_retry_plan *p);
/* Whether the attempt may have delivered the message already (the report's
   maybe_delivered): a retry may then deliver it twice. */
SMTP_API int smtp_retry_plan_maybe_delivered(const smtp_retry_plan *p);
/* Recipients given up (now bounced), recipient i, and its reason ("gave up: still
   deferred 5d 0h after the first attempt (give-up age 5d); last: 451 4.7.1 ...").
   Strings owned by the plan; NULL when out of range. */
SMTP_API size_t smtp_retry_plan_given_up_count(const smtp_retry_plan *p);
SMTP_API const char *smtp_retry_plan_given_up(const smtp_retry_plan *p, size_t i);
SMTP_API const char *smtp_retry_plan_given_up_reason(const smtp_retry_plan *p, size_t i);
/* Builds the follow-up message in *out: sender from, the plan's recipients, the
   content data/len referenced as smtp_message_set_data does (the same bytes the
   first attempt referenced: they must stay unchanged until this message is freed
   or its report final). DSN, body type and other message settings are not copied:
   set them on *out again. Returns 0, SMTP_EINVAL (NULL arguments, nothing to
   retry, an invalid sender), SMTP_ENOMEM; *out is NULL on error. */
SMTP_API int smtp_retry_plan_message(const smtp_retry_plan *p, const char *from,
				     const void *data, size_t len, smtp_message **out);

/* ---- end of delivery at scale ---- */

#ifdef __cplusplus
}
#endif
#endif

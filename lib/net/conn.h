/* The byte stream under a session (layer 3 of the design: below the session, beside the engine): name resolution, nonblocking
   connect over every address, plain or TLS reads and writes. Knows nothing of SMTP. */
#ifndef SMTPI_CONN_H
#define SMTPI_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "net/tls.h"

struct addrinfo;
struct smtpi_resolve;

/* RFC 8305 5: the Connection Attempt Delay between starting one address and the next. */
#define SMTPI_CONN_ATTEMPT_DELAY_MS 250
/* Sockets connecting at once; when all are pending and the next start is due, the
   oldest is given up, so a host whose first addresses are black holes still reaches
   its later ones. */
#define SMTPI_CONN_MAX_ATTEMPTS 4
/* While several attempts are pending the caller waits on the newest one only: it
   wakes at least this often so the others are looked at too. */
#define SMTPI_CONN_RECHECK_MS 50

struct smtpi_attempt {
	int fd;
	int64_t started;            /* monotonic ms */
	char peer[64];
};

struct smtpi_conn {
	int fd;                     /* the stream once connected; before that the descriptor
				       to wait on (owned elsewhere): the resolver's pipe, then
				       the newest pending attempt */
	struct smtpi_resolve *job;  /* the name lookup while it runs */
	struct addrinfo *addrs;     /* resolved addresses */
	struct addrinfo **order;    /* addrs, families interleaved (RFC 8305 4) */
	size_t naddrs, next;        /* next: the next one to try */
	struct smtpi_attempt att[SMTPI_CONN_MAX_ATTEMPTS]; /* pending, oldest first */
	size_t natt;
	int64_t next_start;         /* when the next attempt may start */
	int64_t wake;               /* when smtpi_conn_step wants to run even without an
				       event, or 0 */
	int64_t deadline;           /* the whole connect's deadline (kept by the session) */
	int retired[2 * SMTPI_CONN_MAX_ATTEMPTS]; /* closed at the end of a step */
	size_t nretired;
	struct smtpi_resolve *retired_job;
	struct smtpi_tls *tls;
	int want;                   /* SMTP_WANT_* after SMTP_EAGAIN */
	char peer[64];              /* "[::1]:587" / "127.0.0.1:587" */
	char detail[256];           /* the OS or resolver reason of the last failure */
	int temporary;              /* SMTP_ERESOLVE: the name may resolve later */
};

/* Called for each address given up: detail names it and the reason, err is
   SMTP_ECONNECT (the OS refused it) or SMTP_ETIMEDOUT (no answer in time). */
typedef void (*smtpi_conn_failed_fn)(void *ud, const char *detail, int err);

void smtpi_conn_init(struct smtpi_conn *c);
/* Starts connecting to host:port: an IP literal is resolved at once, a name on a
   thread (c->fd then is a pipe that turns readable, c->want SMTP_WANT_READ). Returns
   0 (call smtpi_conn_step now), SMTP_ERESOLVE, SMTP_ENOMEM (detail set). */
int smtpi_conn_begin(struct smtpi_conn *c, const char *host, int port);
/* Advances the lookup and the connection attempts (RFC 8305 Happy Eyeballs): the
   first address starts at once, the next one SMTPI_CONN_ATTEMPT_DELAY_MS later or as
   soon as one fails, and the first connect to complete wins while the others are
   closed. now is the monotonic clock in ms. Returns 0 (connected: c->fd, c->peer),
   SMTP_EAGAIN (wait for c->want on c->fd, or until c->wake when not 0),
   SMTP_ERESOLVE, SMTP_ENOMEM, or SMTP_ECONNECT when every address failed (detail:
   the last reason). */
int smtpi_conn_step(struct smtpi_conn *c, int64_t now, smtpi_conn_failed_fn failed, void *ud);
/* Connects to a unix-domain socket path (LMTP). Returns 0 or SMTP_ECONNECT. */
int smtpi_conn_unix(struct smtpi_conn *c, const char *path);
/* Reads: > 0 bytes, 0 at end of stream, SMTP_EAGAIN, SMTP_ECLOSED (reset), SMTP_ETLS. */
long smtpi_conn_read(struct smtpi_conn *c, void *buf, size_t len);
/* Writes: > 0 bytes, SMTP_EAGAIN, SMTP_ECLOSED, SMTP_ETLS. Never raises SIGPIPE. */
long smtpi_conn_write(struct smtpi_conn *c, const void *buf, size_t len);
/* Bytes decrypted and waiting inside TLS. */
size_t smtpi_conn_pending(const struct smtpi_conn *c);
/* Whether a read that returned GOT of the ASKED bytes emptied the socket: a plain
   stream socket returns less than asked only then (an end of stream may follow);
   TLS returns one record at a time, so never. */
int smtpi_conn_read_drained(const struct smtpi_conn *c, size_t got, size_t asked);
/* Acknowledges what was read at once instead of after the delayed-ACK timer
   (TCP_QUICKACK, Linux; elsewhere nothing). */
void smtpi_conn_ack_now(const struct smtpi_conn *c);
/* Whether the peer already sent bytes we have not read (used before a STARTTLS
   handshake to catch injected plaintext). */
int smtpi_conn_has_input(const struct smtpi_conn *c);
/* Closes the socket (TLS close_notify first when polite), every pending attempt, and
   forgets the addresses; a running lookup finishes on its own. */
void smtpi_conn_close(struct smtpi_conn *c, int polite);

#endif

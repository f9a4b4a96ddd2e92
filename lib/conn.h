/* The byte stream under a session (DESIGN.md layer 3): name resolution, nonblocking
   connect over every address, plain or TLS reads and writes. Knows nothing of SMTP. */
#ifndef SMTPI_CONN_H
#define SMTPI_CONN_H

#include <stddef.h>

#include "tls.h"

struct addrinfo;

struct smtpi_conn {
	int fd;
	struct addrinfo *addrs;     /* resolved addresses */
	struct addrinfo *next_addr; /* the next one to try */
	struct smtpi_tls *tls;
	int want;                   /* SMTP_WANT_* after SMTP_EAGAIN */
	char peer[64];              /* "[::1]:587" / "127.0.0.1:587" */
	char detail[256];           /* the OS or resolver reason of the last failure */
};

void smtpi_conn_init(struct smtpi_conn *c);
/* Resolves host:port (blocking getaddrinfo, numeric service). Returns 0,
   SMTP_ERESOLVE (detail: gai_strerror), SMTP_ENOMEM. */
int smtpi_conn_resolve(struct smtpi_conn *c, const char *host, int port);
/* Starts connecting to the next address. Returns 0 (connected), SMTP_EAGAIN (wait
   for writability then call smtpi_conn_finish), SMTP_ECONNECT (no address left). */
int smtpi_conn_start(struct smtpi_conn *c);
/* Completes a pending connect. Returns 0, SMTP_EAGAIN, or SMTP_ECONNECT for this
   address (detail set; smtpi_conn_start tries the next). */
int smtpi_conn_finish(struct smtpi_conn *c);
/* Connects to a unix-domain socket path (LMTP). Returns 0 or SMTP_ECONNECT. */
int smtpi_conn_unix(struct smtpi_conn *c, const char *path);
/* Reads: > 0 bytes, 0 at end of stream, SMTP_EAGAIN, SMTP_ECLOSED (reset), SMTP_ETLS. */
long smtpi_conn_read(struct smtpi_conn *c, void *buf, size_t len);
/* Writes: > 0 bytes, SMTP_EAGAIN, SMTP_ECLOSED, SMTP_ETLS. Never raises SIGPIPE. */
long smtpi_conn_write(struct smtpi_conn *c, const void *buf, size_t len);
/* Bytes decrypted and waiting inside TLS. */
size_t smtpi_conn_pending(const struct smtpi_conn *c);
/* Whether the peer already sent bytes we have not read (used before a STARTTLS
   handshake to catch injected plaintext). */
int smtpi_conn_has_input(const struct smtpi_conn *c);
/* Closes the socket (TLS close_notify first when polite) and forgets addresses. */
void smtpi_conn_close(struct smtpi_conn *c, int polite);

#endif

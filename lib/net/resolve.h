/* Name resolution that never blocks the caller: an IP literal resolves at once, a
   name on a thread of its own whose answer is collected once a pipe turns readable,
   so a nonblocking session can wait for it in the caller's poll(). */
#ifndef SMTPI_RESOLVE_H
#define SMTPI_RESOLVE_H

#include <stddef.h>

struct addrinfo;
struct smtpi_resolve;

/* Resolves host:port for TCP. An IP literal (AI_NUMERICHOST) resolves here: returns 0
   with *out set (free it with freeaddrinfo) and *job NULL. A name starts a lookup
   thread: returns SMTP_EAGAIN with *job set; wait until smtpi_resolve_fd(*job) is
   readable, then call smtpi_resolve_collect. Returns SMTP_ERESOLVE or SMTP_ENOMEM
   with the reason in detail otherwise; *temporary says whether the failure may pass
   (EAI_AGAIN) rather than the name not existing. */
int smtpi_resolve_start(const char *host, int port, struct smtpi_resolve **job,
			struct addrinfo **out, char *detail, size_t detail_len, int *temporary);
/* The descriptor that becomes readable when the answer is there. Owned by the job:
   valid until smtpi_resolve_release. */
int smtpi_resolve_fd(const struct smtpi_resolve *job);
/* Takes the answer: returns SMTP_EAGAIN while the lookup runs, 0 with *out set (the
   caller frees it with freeaddrinfo), or SMTP_ERESOLVE / SMTP_ENOMEM with the
   resolver's reason in detail. The job still needs smtpi_resolve_release. */
int smtpi_resolve_collect(struct smtpi_resolve *job, struct addrinfo **out, char *detail,
			  size_t detail_len, int *temporary);
/* Drops the caller's hold on the job. A lookup still running goes on by itself and
   frees its answer and the job when it ends. NULL is allowed. */
void smtpi_resolve_release(struct smtpi_resolve *job);

#endif

/* Name resolution off the caller's thread. getaddrinfo() has no asynchronous form in
   POSIX, so each lookup of a name runs getaddrinfo() on a detached thread of its
   own; the job it shares with the session is reference counted, so whichever of
   the two lets go last frees it, and a session freed mid-lookup leaks nothing. */
#include "net/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp.h"

struct smtpi_resolve {
	pthread_mutex_t lock;
	int refs;               /* the session and the lookup thread */
	int done;
	int gai;                /* getaddrinfo's result */
	int sys_errno;          /* errno, for EAI_SYSTEM */
	struct addrinfo *res;   /* the answer until collected */
	int wake[2];            /* a byte is written to wake[1] when done */
	char service[8];
	char host[];
};

static void hints_for(struct addrinfo *hints, int flags)
{
	memset(hints, 0, sizeof *hints);
	hints->ai_family = AF_UNSPEC;
	hints->ai_socktype = SOCK_STREAM;
	hints->ai_flags = AI_NUMERICSERV | flags;
}

/* EAI_AGAIN (and a failing system call) may pass; EAI_NONAME and the like say the
   name does not exist. */
static int resolve_error(const char *host, int gai, int sys_errno, char *detail, size_t len,
			 int *temporary)
{
	*temporary = gai == EAI_AGAIN || gai == EAI_SYSTEM;
	if (gai == EAI_SYSTEM)
		snprintf(detail, len, "%s: %s", host, strerror(sys_errno));
	else
		snprintf(detail, len, "%s: %s", host, gai_strerror(gai));
	return gai == EAI_MEMORY ? SMTP_ENOMEM : SMTP_ERESOLVE;
}

static void job_free(struct smtpi_resolve *j)
{
	if (j->res)
		freeaddrinfo(j->res);
	close(j->wake[0]);
	close(j->wake[1]);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* Drops one reference; the last one frees the job. */
static void job_unref(struct smtpi_resolve *j)
{
	pthread_mutex_lock(&j->lock);
	int last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (last)
		job_free(j);
}

static void *lookup(void *arg)
{
	struct smtpi_resolve *j = arg;
	struct addrinfo hints;
	hints_for(&hints, 0);
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(j->host, j->service, &hints, &res);
	int sys_errno = errno;
	pthread_mutex_lock(&j->lock);
	j->res = res;
	j->gai = gai;
	j->sys_errno = sys_errno;
	j->done = 1;
	/* Written under the lock, while the session still holds the read end open: it
	   cannot be closed under us, and a pipe never full with one byte cannot block. */
	ssize_t w;
	do
		w = write(j->wake[1], "", 1);
	while (w < 0 && errno == EINTR);
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
	return NULL;
}

/* Starts the detached lookup thread with every signal blocked: the caller's signal
   handlers must never run on a thread of ours. Returns 0 or an errno value. */
static int start_thread(struct smtpi_resolve *j)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc)
		return rc;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	rc = pthread_create(&t, &attr, lookup, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

int smtpi_resolve_start(const char *host, int port, struct smtpi_resolve **job,
			struct addrinfo **out, char *detail, size_t detail_len, int *temporary)
{
	*temporary = 0;
	char service[8];
	snprintf(service, sizeof service, "%d", port);
	*job = NULL;
	*out = NULL;

	/* An IP literal needs no resolver: no thread, no wait. */
	struct addrinfo hints;
	hints_for(&hints, AI_NUMERICHOST);
	int gai = getaddrinfo(host, service, &hints, out);
	if (gai == 0)
		return 0;
	if (gai != EAI_NONAME)
		return resolve_error(host, gai, errno, detail, detail_len, temporary);

	size_t hlen = strlen(host);
	struct smtpi_resolve *j = calloc(1, sizeof *j + hlen + 1);
	if (!j) {
		snprintf(detail, detail_len, "out of memory");
		return SMTP_ENOMEM;
	}
	memcpy(j->host, host, hlen + 1);
	memcpy(j->service, service, sizeof service);
	if (pipe2(j->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(detail, detail_len, "%s: cannot create the resolver's pipe: %s", host,
			 strerror(errno));
		free(j);
		return SMTP_ERESOLVE;
	}
	if (pthread_mutex_init(&j->lock, NULL) != 0) {
		close(j->wake[0]);
		close(j->wake[1]);
		free(j);
		snprintf(detail, detail_len, "out of memory");
		return SMTP_ENOMEM;
	}
	j->refs = 2;
	int rc = start_thread(j);
	if (rc) {
		j->refs = 1;
		job_free(j);
		snprintf(detail, detail_len, "%s: cannot start a resolver thread: %s", host,
			 strerror(rc));
		return rc == EAGAIN || rc == ENOMEM ? SMTP_ENOMEM : SMTP_ERESOLVE;
	}
	*job = j;
	return SMTP_EAGAIN;
}

int smtpi_resolve_fd(const struct smtpi_resolve *job)
{
	return job->wake[0];
}

int smtpi_resolve_collect(struct smtpi_resolve *job, struct addrinfo **out, char *detail,
			  size_t detail_len, int *temporary)
{
	*temporary = 0;
	*out = NULL;
	pthread_mutex_lock(&job->lock);
	int done = job->done, gai = job->gai, sys_errno = job->sys_errno;
	if (done && gai == 0) {
		*out = job->res;
		job->res = NULL;
	}
	pthread_mutex_unlock(&job->lock);
	if (!done)
		return SMTP_EAGAIN;
	if (gai != 0)
		return resolve_error(job->host, gai, sys_errno, detail, detail_len, temporary);
	return 0;
}

void smtpi_resolve_release(struct smtpi_resolve *job)
{
	if (job)
		job_unref(job);
}

/* Passwords: given as text (the account's password, SMTP_PASSWORD), the first line of
   a file, or the first line a command prints (msmtp's passwordeval: the command runs
   through /bin/sh, so "pass show mail" or "gpg -dq ~/.pw.gpg" work). The command gets
   /dev/null as standard input, which holds the message here, and keeps the terminal
   on standard error (pinentry and the like use /dev/tty). Every copy is wiped. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

#define SECRET_MAX 4096 /* octets read: the first line of a file or a command's output */

void ss_password_free(char *p)
{
	if (!p)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}

/* Reads up to SECRET_MAX octets from fd into buf (SECRET_MAX + 1 octets); returns
   the count or -1. */
static ssize_t read_some(int fd, char *buf)
{
	size_t n = 0;
	while (n < SECRET_MAX) {
		ssize_t got = read(fd, buf + n, SECRET_MAX - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The first line of buf (n octets), as a new string; NULL when it is empty or holds
   a NUL or control character. */
static char *first_line(char *buf, size_t n, const char **why)
{
	size_t len = strcspn(buf, "\r\n");
	if (len > n)
		len = n;
	if (len == 0) {
		*why = "its first line is empty";
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
			*why = "its first line holds a control character";
			return NULL;
		}
	char *s = strndup(buf, len);
	if (!s)
		*why = "out of memory";
	return s;
}

static int from_file(const struct ss_secret *src, char **out)
{
	int fd = open(src->value, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ss_fail(EX_NOINPUT, "%s %s: %s", src->origin, src->value, strerror(errno));
	char buf[SECRET_MAX + 1];
	ssize_t n = read_some(fd, buf);
	int err = errno;
	close(fd);
	if (n < 0)
		return ss_fail(EX_NOINPUT, "%s %s: %s", src->origin, src->value, strerror(err));
	const char *why = NULL;
	*out = first_line(buf, (size_t)n, &why);
	explicit_bzero(buf, sizeof buf);
	return *out ? 0 : ss_fail(EX_CONFIG, "%s %s: %s", src->origin, src->value, why);
}

static void run_child(const char *cmd, int out_fd)
{
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static int from_command(const struct ss_secret *src, char **out)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return ss_fail(EX_SOFTWARE, "%s: pipe: %s", src->origin, strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return ss_fail(EX_SOFTWARE, "%s: fork: %s", src->origin, strerror(errno));
	}
	if (pid == 0)
		run_child(src->value, fds[1]);
	close(fds[1]);
	char buf[SECRET_MAX + 1];
	ssize_t n = read_some(fds[0], buf);
	/* the command need not print more than its first line: what is left is dropped */
	close(fds[0]);
	int status = 0;
	pid_t waited;
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	int rc = 0;
	const char *why = NULL;
	if (n < 0)
		why = "its output could not be read";
	else if (waited < 0)
		why = "it could not be waited for";
	else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGPIPE)
		why = "it was killed by a signal";
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		rc = ss_fail(EX_CONFIG, "%s '%s': exited with status %d", src->origin, src->value,
			     WEXITSTATUS(status));
	else
		*out = first_line(buf, (size_t)n, &why);
	explicit_bzero(buf, sizeof buf);
	if (!rc && why)
		rc = ss_fail(EX_CONFIG, "%s '%s': %s", src->origin, src->value, why);
	return rc;
}

int ss_password_get(const struct ss_secret *src, char **out)
{
	*out = NULL;
	switch (src->kind) {
	case SS_SECRET_TEXT:
		*out = strdup(src->value);
		return *out ? 0 : ss_fail(EX_SOFTWARE, "out of memory");
	case SS_SECRET_FILE:
		return from_file(src, out);
	case SS_SECRET_CMD:
		return from_command(src, out);
	case SS_SECRET_NONE:
		break;
	}
	return 0;
}

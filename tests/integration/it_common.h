/* Helpers for the integration tests: the servers were started by
   tests/integration/run.sh, which passes their ports and record directories in the
   environment. Each test runs in blocking or nonblocking mode (SMTP_IT_NONBLOCKING);
   in nonblocking mode the test drives the session with its own poll() loop over the
   public nonblocking calls. A missing variable fails the test loudly. */
#ifndef IT_COMMON_H
#define IT_COMMON_H

#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtp.h>

#include "check.h"

static inline const char *it_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !v[0]) {
		fprintf(stderr, "FATAL: %s is not set: run this through tests/integration/run.sh\n",
			name);
		exit(2);
	}
	return v;
}

static inline int it_port(const char *name)
{
	return atoi(it_env(name));
}

static inline int it_nonblocking(void)
{
	return atoi(it_env("SMTP_IT_NONBLOCKING"));
}

/* The CA of the test certificates. */
static inline const char *it_ca(void)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/ca.pem", it_env("SMTP_IT_CERTS"));
	return path;
}

static inline smtp_session *it_session(const char *host, int port, smtp_tls mode)
{
	smtp_session *s = smtp_session_new();
	if (!s)
		exit(2);
	if (smtp_session_set_server(s, host, port, mode) != 0 ||
	    smtp_session_set_ca_file(s, it_ca()) != 0 ||
	    smtp_session_set_nonblocking(s, it_nonblocking()) != 0) {
		fprintf(stderr, "FATAL: cannot configure the session\n");
		exit(2);
	}
	return s;
}

/* Waits for the session's socket as smtp_session_events/timeout_ms say. */
static inline void it_wait(smtp_session *s)
{
	struct pollfd p = {.fd = smtp_session_fd(s), .events = 0};
	int ev = smtp_session_events(s);
	if (ev & SMTP_WANT_READ)
		p.events |= POLLIN;
	if (ev & SMTP_WANT_WRITE)
		p.events |= POLLOUT;
	poll(&p, 1, smtp_session_timeout_ms(s));
}

static inline int it_connect(smtp_session *s)
{
	int rc;
	while ((rc = smtp_connect(s)) == SMTP_EAGAIN)
		it_wait(s);
	return rc;
}

static inline int it_send(smtp_session *s, smtp_message *m)
{
	int rc;
	while ((rc = smtp_send(s, m)) == SMTP_EAGAIN)
		it_wait(s);
	return rc;
}

static inline int it_quit(smtp_session *s)
{
	int rc;
	while ((rc = smtp_quit(s)) == SMTP_EAGAIN)
		it_wait(s);
	return rc;
}

/* A message from `from` to the NULL-terminated recipients, with body bytes. */
static inline smtp_message *it_message(const char *from, const char *const *rcpts, const char *body)
{
	smtp_message *m = smtp_message_new();
	if (!m || smtp_message_set_from(m, from) != 0)
		exit(2);
	for (size_t i = 0; rcpts[i]; i++)
		if (smtp_message_add_rcpt(m, rcpts[i]) != 0) {
			fprintf(stderr, "FATAL: bad recipient %s\n", rcpts[i]);
			exit(2);
		}
	smtp_message_set_data(m, body, strlen(body));
	return m;
}

static inline char *it_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* The contents of the one file in dir (recursively one level) that contains marker,
   or NULL. */
static inline char *it_find_record(const char *dir, const char *marker, size_t *len)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	struct dirent *e;
	char *found = NULL;
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t n;
		char *c = it_read_file(path, &n);
		if (c && memmem(c, n, marker, strlen(marker))) {
			found = c;
			*len = n;
		} else {
			free(c);
		}
	}
	closedir(d);
	return found;
}

/* Finds the step of a stage (the n-th of that stage) in a report. */
static inline const smtp_step *it_step(const smtp_report *r, smtp_stage stage, size_t nth)
{
	for (size_t i = 0; i < smtp_report_count(r); i++) {
		const smtp_step *st = smtp_report_step(r, i);
		if (smtp_step_stage(st) == stage && nth-- == 0)
			return st;
	}
	return NULL;
}

/* Recipient i's verdict and the stage that decided it. */
#define CHECK_RCPT_VERDICT(r, i, verdict, stage)                                       \
	do {                                                                          \
		const smtp_rcpt_result *v_rr_ = smtp_report_rcpt((r), (i));           \
		CHECK_STR(smtp_verdict_name(smtp_rcpt_verdict(v_rr_)), smtp_verdict_name(verdict)); \
		CHECK_STR(smtp_stage_name(smtp_rcpt_stage(v_rr_)), smtp_stage_name(stage)); \
	} while (0)

/* A check before MAIL refused the message: its MAIL step is a local note with the
   error, no reply (the command was never sent). */
#define CHECK_LOCAL_MAIL_STEP(r, err)                                                  \
	do {                                                                          \
		const smtp_step *l_st_ = it_step((r), SMTP_STAGE_MAIL, 0);            \
		CHECK(l_st_ != NULL);                                                 \
		CHECK_INT(smtp_step_code(l_st_), 0);                                  \
		CHECK_STR(smtp_error_name(smtp_step_error(l_st_)), smtp_error_name(err)); \
	} while (0)

static inline const char *it_mode(void)
{
	return it_nonblocking() ? "nonblocking" : "blocking";
}

#endif

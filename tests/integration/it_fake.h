/* The scripted server of the fault tests: tests/servers/fake_server.py, for what no
   real server does on request. Each case starts it as a child process for one
   scenario, waits for the port it writes, runs the client and always reaps the child
   by its PID. The fake server records the bytes the client sent in PORTFILE.log. */
#ifndef IT_FAKE_H
#define IT_FAKE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

/* Every stage gets this deadline unless a case sets a shorter one: a library that
   waits where it should not fails the case in seconds, not minutes. */
#define FAULT_STAGE_MS 5000
/* QUIT's, shorter: a QUIT that waits for its deadline costs each case this much. */
#define FAULT_QUIT_MS 2000

static char fault_dir[64];
static volatile pid_t fault_child = -1;

struct fake {
	pid_t pid;
	int port;
	char portfile[256];
	char logfile[300];
	char datafile[300];  /* what a scenario that takes content stored of it */
};

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The whole program's watchdog: a hang in the library must not hang the suite. */
static void on_watchdog(int sig)
{
	static const char msg[] = "FATAL: the test's watchdog expired (a call hung)\n";
	(void)sig;
	if (fault_child > 0)
		kill(fault_child, SIGTERM);
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* nothing more to do */
	}
	_exit(1);
}

/* Reaps the child: waits up to wait_ms for it to exit by itself, then SIGTERM. */
static inline void fake_stop_after(struct fake *f, long wait_ms)
{
	if (f->pid <= 0)
		return;
	long long end = now_ms() + wait_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(f->pid, &status, WNOHANG);
		if (r == f->pid || (r < 0 && errno != EINTR))
			break;
		if (now_ms() >= end) {
			kill(f->pid, SIGTERM);
			while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sleep_ms(10);
	}
	f->pid = -1;
	fault_child = -1;
}

static inline void fake_stop(struct fake *f)
{
	fake_stop_after(f, 0);
}

/* Starts the fake server for scenario; returns 1 with f->port set, or 0 (the case
   has failed and the child, if any, is reaped). */
static inline int fake_start(struct fake *f, const char *scenario)
{
	const char *python = it_env("SMTP_IT_PYTHON");
	const char *script = it_env("SMTP_IT_FAKE");
	memset(f, 0, sizeof *f);
	f->pid = -1;
	snprintf(f->portfile, sizeof f->portfile, "%s/%s.port", fault_dir, scenario);
	snprintf(f->logfile, sizeof f->logfile, "%s.log", f->portfile);
	snprintf(f->datafile, sizeof f->datafile, "%s.data", f->portfile);
	unlink(f->portfile);
	unlink(f->logfile);
	unlink(f->datafile);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		CHECK(pid >= 0);
		return 0;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (null > 2)
				close(null);
		}
		execl(python, python, script, scenario, f->portfile, (char *)NULL);
		_exit(127);
	}
	f->pid = pid;
	fault_child = pid;
	const int fake_server_started = 0; /* named for the failure message */
	long long end = now_ms() + 5000;
	while (now_ms() < end) {
		FILE *pf = fopen(f->portfile, "r");
		if (pf) {
			int port = 0;
			int ok = fscanf(pf, "%d", &port) == 1;
			fclose(pf);
			if (ok && port > 0 && port < 65536) {
				f->port = port;
				return 1;
			}
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			f->pid = -1;
			fault_child = -1;
			fprintf(stderr, "fake_server.py %s exited before writing its port\n",
				scenario);
			CHECK(fake_server_started);
			return 0;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "fake_server.py %s wrote no port within 5 s\n", scenario);
	CHECK(fake_server_started);
	fake_stop(f);
	return 0;
}

/* What the client sent, once the server has ended (it exits after the client
   closed); NULL when unreadable. */
static inline char *fake_log(struct fake *f, size_t *len)
{
	fake_stop_after(f, 8000);
	char *log = it_read_file(f->logfile, len);
	CHECK(log != NULL);
	return log;
}

/* A session to the fake server: every stage's deadline stage_ms, QUIT's
   FAULT_QUIT_MS. */
static inline smtp_session *fake_session_ms(const struct fake *f, smtp_tls mode, int stage_ms)
{
	smtp_session *s = it_session("127.0.0.1", f->port, mode);
	for (int st = SMTP_STAGE_CONNECT; st <= SMTP_STAGE_QUIT; st++)
		if (smtp_session_set_timeout(s, (smtp_stage)st, stage_ms) != 0) {
			fprintf(stderr, "FATAL: cannot set a timeout\n");
			exit(2);
		}
	if (smtp_session_set_timeout(s, SMTP_STAGE_QUIT, FAULT_QUIT_MS) != 0)
		exit(2);
	return s;
}

static inline smtp_session *fake_session(const struct fake *f, smtp_tls mode)
{
	return fake_session_ms(f, mode, FAULT_STAGE_MS);
}

/* Ends a connected session: the server answers QUIT at once with 221, so the call
   returns at once (not at the QUIT deadline) and the session report has the 221. */
static inline void quit_promptly(smtp_session *s, int line)
{
	long long t0 = now_ms();
	CHECK_INT(it_quit(s), 0);
	long long took = now_ms() - t0;
	if (took > FAULT_QUIT_MS / 2)
		fprintf(stderr, "%s:%d: smtp_quit took %lld ms\n", __FILE__, line, took);
	CHECK(took <= FAULT_QUIT_MS / 2);
	const smtp_step *st = it_step(smtp_session_report(s), SMTP_STAGE_QUIT, 0);
	if (smtp_step_code(st) != 221)
		fprintf(stderr, "%s:%d: no 221 reply to QUIT in the session report\n", __FILE__,
			line);
	CHECK_INT(smtp_step_code(st), 221);
}



static inline void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char path[512];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}


/* The temporary directory and the whole program's watchdog (seconds). Returns 0, or
   2 when the directory cannot be made. */
static inline int fake_begin(const char *program, unsigned watchdog_s)
{
	snprintf(fault_dir, sizeof fault_dir, "/tmp/smtp-%s.XXXXXX", program);
	if (!mkdtemp(fault_dir)) {
		fprintf(stderr, "FATAL: mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	signal(SIGALRM, on_watchdog);
	alarm(watchdog_s);
	return 0;
}

static inline void fake_end(void)
{
	alarm(0);
	remove_dir(fault_dir);
}

#endif

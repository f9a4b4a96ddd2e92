/* measure: run a command, print what it cost.
 *
 *   measure OUTFILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND (its stdin, stdout and stderr are left as they are), waits
 * for it with wait4() and writes one line to OUTFILE ("-": stdout):
 *
 *   wall=SECONDS user_us=N sys_us=N maxrss_kb=N status=EXIT
 *
 * wall is CLOCK_MONOTONIC from just before fork to just after wait4; user/sys/maxrss
 * are the child's struct rusage (ru_maxrss in KiB on Linux). status is the exit code,
 * or 128+signal. Exits with the child's status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000LL + (long long)tv.tv_usec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: measure OUTFILE COMMAND [ARG...]\n", stderr);
		return 2;
	}
	FILE *out = strcmp(argv[1], "-") == 0 ? stdout : fopen(argv[1], "we");
	if (!out) {
		perror(argv[1]);
		return 2;
	}
	fflush(stdout);
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	pid_t r;
	do
		r = wait4(pid, &st, 0, &ru);
	while (r < 0 && errno == EINTR);
	double t1 = now();
	if (r < 0) {
		perror("wait4");
		return 2;
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	fprintf(out, "wall=%.6f user_us=%lld sys_us=%lld maxrss_kb=%ld status=%d\n", t1 - t0,
		tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss, code);
	if (out != stdout)
		fclose(out);
	else
		fflush(out);
	return code;
}

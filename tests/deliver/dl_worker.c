/* tools/smtp-worker against redis-server and aiosmtpd (greylisting recipients whose
   local part starts with "grey"), both on loopback (tests/deliver/run.sh):
   - 2,000 jobs (and 6 that cannot be sent as given), three workers, one killed
     with SIGKILL mid-run: afterwards every job has exactly one final result, the
     server holds exactly what was reported accepted (more only for jobs reported
     maybe_delivered), greylisted jobs went through NAME:delayed and came back as
     attempt 2, nothing is left pending, delayed or in flight;
   - --at-most-once: 300 jobs, one worker killed, one stopped with SIGTERM mid-run,
     a third finishing: nothing is delivered twice, the jobs the killed worker had in
     flight end deferred with maybe_delivered, and the SIGTERM'd worker exits 0
     leaving nothing pending;
   - --shared-rate: two workers keep to one limit counted in Redis. */
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>

#include "dl_common.h"

#define RUN_JOBS 2000
#define BAD_JOBS 6
#define ONCE_JOBS 300

static redisContext *rc;
static int run_tag;

static redisReply *cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r) {
		fprintf(stderr, "FATAL: redis: %s\n", rc->errstr);
		exit(2);
	}
	return r;
}

/* The integer of a reply, which it frees. */
static long long integer(redisReply *r)
{
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

/* ---- jobs ---- */

static void job_id(char *buf, size_t len, const char *stream, int i)
{
	snprintf(buf, len, "%s-job-%d", stream, i);
}

/* Job i: every tenth greylisted, every tenth (other) with two recipients. */
static void add_job(const char *stream, int i)
{
	char id[96], to[256], data[512];
	job_id(id, sizeof id, stream, i);
	if (i % 10 == 0)
		snprintf(to, sizeof to, "[\"grey-%s-%d@example.net\"]", stream, i);
	else if (i % 10 == 1)
		snprintf(to, sizeof to, "[\"a-%s-%d@example.net\", \"b-%s-%d@example.net\"]",
			 stream, i, stream, i);
	else
		snprintf(to, sizeof to, "[\"rcpt-%s-%d@example.net\"]", stream, i);
	snprintf(data, sizeof data,
		 "From: sender@example.org\r\nSubject: job %d\r\nX-Job-Id: %s\r\n\r\n"
		 "Job %d.\r\n", i, id, i);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to %s data %s", stream, id,
			    to, data));
}

/* Jobs that cannot be sent as given: one final failed result each, nothing sent. */
static void add_bad_jobs(const char *stream)
{
	char id[96];
	job_id(id, sizeof id, stream, 100001);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to [\"x@example.net\"]",
			    stream, id)); /* no data */
	job_id(id, sizeof id, stream, 100002);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to [1] data x", stream, id));
	job_id(id, sizeof id, stream, 100003);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to %s data x", stream, id,
			    "[\"not an address\"]"));
	job_id(id, sizeof id, stream, 100004);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to %s data x", stream, id,
			    "[\"a@example.net\\r\\nRCPT TO:<b@example.net>\"]"));
	job_id(id, sizeof id, stream, 100005);
	freeReplyObject(cmd("XADD %s * id %s from %s to [\"a@example.net\"] data x", stream, id,
			    "bad sender"));
	/* a 1,200-octet line: RFC 5321 4.5.3.1.6 allows 998 */
	char data[1300] = "Subject: long\r\n\r\n";
	size_t n = strlen(data);
	memset(data + n, 'x', 1200);
	memcpy(data + n + 1200, "\r\n", 3);
	job_id(id, sizeof id, stream, 100006);
	freeReplyObject(cmd("XADD %s * id %s from sender@example.org to [\"a@example.net\"] "
			    "data %s", stream, id, data));
}

/* ---- workers ---- */

/* A worker on stream; extra (NULL-terminated, may be NULL) adds options. */
static pid_t spawn_with(const char *stream, const char *consumer, const char *const *extra)
{
	char redis[64], url[96];
	snprintf(redis, sizeof redis, "redis://127.0.0.1:%s/0", dl_env("DL_REDIS_PORT"));
	dl_url(url, sizeof url, "DL_AIO_WORKER_PORT", "?tls=none");
	const char *argv[] = {dl_env("DL_WORKER"), "--redis", redis, "--stream", stream,
			      "--group", "senders", "--consumer", consumer, "--url", url,
			      "--max-connections", "2", "--retry-schedule", "1500ms",
			      "--retry-jitter", "0", "--give-up", "10m", "--claim-idle", "2s",
			      NULL, NULL, NULL, NULL, NULL};
	size_t k = 0;
	while (argv[k])
		k++;
	for (size_t i = 0; extra && extra[i] && k + 1 < sizeof argv / sizeof argv[0]; i++)
		argv[k++] = extra[i];
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static pid_t spawn(const char *stream, const char *consumer, int at_most_once)
{
	static const char *const once[] = {"--at-most-once", NULL};
	return spawn_with(stream, consumer, at_most_once ? once : NULL);
}

static int exit_status(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- results ---- */

struct result {
	int job;          /* index from the id */
	int attempt, final, maybe, retry;
	int accepted;     /* recipients with verdict accepted in the report */
	int failed_all;   /* outcome failed, every recipient failed, error and detail */
	int deferred;     /* outcome deferred */
};

static const char *fieldv(const redisReply *f, const char *name)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (strcmp(f->element[i]->str, name) == 0)
			return f->element[i + 1]->str;
	return NULL;
}

/* Every result entry of the stream, parsed; returns how many. */
static size_t read_results(const char *stream, struct result **out)
{
	redisReply *r = cmd("XRANGE %s:results - +", stream);
	size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	struct result *v = calloc(n ? n : 1, sizeof *v);
	char prefix[96];
	snprintf(prefix, sizeof prefix, "%s-job-", stream);
	for (size_t i = 0; i < n; i++) {
		const redisReply *f = r->element[i]->element[1];
		const char *id = fieldv(f, "id"), *report = fieldv(f, "report");
		v[i].job = id && strncmp(id, prefix, strlen(prefix)) == 0 ? atoi(id + strlen(prefix)) : -1;
		v[i].attempt = atoi(fieldv(f, "attempt") ? fieldv(f, "attempt") : "0");
		v[i].final = fieldv(f, "final") && strcmp(fieldv(f, "final"), "1") == 0;
		v[i].maybe = fieldv(f, "maybe_delivered") != NULL;
		v[i].retry = fieldv(f, "retry_at") != NULL;
		report = report ? report : "";
		v[i].accepted = dl_count(report, "\"verdict\": \"accepted\"");
		v[i].deferred = strncmp(report, "{\"outcome\": \"deferred\"", 22) == 0;
		v[i].failed_all = strncmp(report, "{\"outcome\": \"failed\"", 20) == 0 &&
				  dl_count(report, "\"verdict\": \"failed\"") ==
					  dl_count(report, "\"verdict\": ") &&
				  strstr(report, "\"error\": \"SMTP_EINVAL\"") &&
				  strstr(report, "\"detail\": \"");
	}
	freeReplyObject(r);
	*out = v;
	return n;
}

static size_t count_final(const char *stream)
{
	struct result *v;
	size_t n = read_results(stream, &v), f = 0;
	for (size_t i = 0; i < n; i++)
		f += (size_t)v[i].final;
	free(v);
	return f;
}

/* Waits (at most secs) until want final results exist. */
static size_t wait_final(const char *stream, size_t want, int secs)
{
	size_t f = 0;
	for (int t = 0; t < secs * 10 && (f = count_final(stream)) < want; t++)
		dl_sleep_ms(100);
	return f;
}

struct copies {
	char needle[96];
	int *count;
	int n;
};

static void add_copy(void *ud, const char *content)
{
	struct copies *c = ud;
	const char *p = strstr(content, c->needle);
	int i = p ? atoi(p + strlen(c->needle)) : -1;
	if (i >= 0 && i < c->n)
		c->count[i]++;
}

/* How many copies of each job the server holds (its .eml records, by X-Job-Id). */
static void server_copies(const char *stream, int *copies, int n)
{
	struct copies c = {.count = copies, .n = n};
	snprintf(c.needle, sizeof c.needle, "X-Job-Id: %s-job-", stream);
	dl_for_records(dl_env("DL_AIO_WORKER_DIR"), ".eml", add_copy, &c);
}

static int rcpts_of(int i)
{
	return i % 10 == 1 ? 2 : 1;
}

/* Nothing pending, delayed or marked in flight is left of the stream's jobs. */
static void check_nothing_left(const char *stream)
{
	redisReply *r = cmd("XPENDING %s senders", stream);
	CHECK(r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0);
	freeReplyObject(r);
	CHECK_INT(integer(cmd("ZCARD %s:delayed", stream)), 0);
	r = cmd("KEYS %s:inflight:*", stream);
	CHECK_INT(r->elements, 0);
	freeReplyObject(r);
	r = cmd("KEYS %s:retry:*", stream);
	CHECK_INT(r->elements, 0);
	freeReplyObject(r);
}

static void test_kill(void)
{
	char stream[64];
	snprintf(stream, sizeof stream, "mail%d", run_tag);
	for (int i = 0; i < RUN_JOBS; i++)
		add_job(stream, i);
	add_bad_jobs(stream);
	pid_t w[3];
	for (int i = 0; i < 3; i++) {
		char c[16];
		snprintf(c, sizeof c, "w%d", i + 1);
		w[i] = spawn(stream, c, 0);
	}
	/* kill the first worker while everything is busy */
	for (int t = 0; t < 1200 && integer(cmd("XLEN %s:results", stream)) < 500; t++)
		dl_sleep_ms(50);
	long long pending_w1 = -1;
	redisReply *r = cmd("XPENDING %s senders - + 1000 w1", stream);
	pending_w1 = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
	freeReplyObject(r);
	kill(w[0], SIGKILL);
	CHECK_INT(exit_status(w[0]), 128 + SIGKILL);
	size_t finals = wait_final(stream, RUN_JOBS + BAD_JOBS, 180);
	/* the others end on SIGTERM, cleanly */
	kill(w[1], SIGTERM);
	kill(w[2], SIGTERM);
	CHECK_INT(exit_status(w[1]), 0);
	CHECK_INT(exit_status(w[2]), 0);
	CHECK_INT(finals, RUN_JOBS + BAD_JOBS);

	struct result *v;
	size_t n = read_results(stream, &v);
	static int final_of[RUN_JOBS], maybe[RUN_JOBS], accepted[RUN_JOBS];
	static int grey_deferred[RUN_JOBS], grey_second[RUN_JOBS], copies[RUN_JOBS];
	int bad_final = 0, bad_failed = 0, maybe_jobs = 0;
	for (size_t i = 0; i < n; i++) {
		int j = v[i].job;
		if (j > 100000 && j <= 100000 + BAD_JOBS) {
			bad_final += v[i].final;
			bad_failed += v[i].final && v[i].failed_all && v[i].attempt == 1;
			continue;
		}
		CHECK(j >= 0 && j < RUN_JOBS);
		if (j < 0 || j >= RUN_JOBS)
			continue;
		final_of[j] += v[i].final;
		maybe[j] |= v[i].maybe;
		accepted[j] += v[i].accepted;
		if (j % 10 == 0 && v[i].attempt == 1 && !v[i].final && v[i].retry)
			grey_deferred[j]++;
		if (j % 10 == 0 && v[i].attempt == 2 && v[i].final && v[i].accepted == 1)
			grey_second[j]++;
	}
	free(v);
	server_copies(stream, copies, RUN_JOBS);
	int once = 0, accepted_total = 0, server_total = 0, dups = 0, dups_unflagged = 0;
	int via_delayed = 0, grey_after_kill = 0;
	for (int j = 0; j < RUN_JOBS; j++) {
		once += final_of[j] == 1;
		accepted_total += accepted[j];
		server_total += copies[j] * rcpts_of(j);
		maybe_jobs += maybe[j];
		if (copies[j] > 1) {
			dups++;
			dups_unflagged += !maybe[j];
		}
		if (!maybe[j] && copies[j] * rcpts_of(j) != accepted[j] && dups_unflagged < 5)
			fprintf(stderr, "job %d: server has %d copies, %d recipients accepted\n", j,
				copies[j], accepted[j]);
		CHECK(copies[j] >= 1);
		CHECK(maybe[j] || copies[j] * rcpts_of(j) == accepted[j]);
		/* greylisted: deferred at attempt 1, accepted at attempt 2; unless the
		   killed worker had it in flight and the resend came after the server's
		   greylisting delay */
		if (j % 10 == 0 && !maybe[j]) {
			CHECK_INT(grey_deferred[j], 1);
			CHECK_INT(grey_second[j], 1);
		}
		if (j % 10 == 0) {
			via_delayed += grey_deferred[j];
			grey_after_kill += maybe[j];
		}
	}
	fprintf(stderr, "dl_worker: %d jobs with one final result each (+%d invalid), w1 had %lld "
		"pending when killed; accepted %d recipients, the server holds %d; %d jobs "
		"delivered twice, %d without maybe_delivered (%d reported it); %d greylisted "
		"jobs came back from the delayed set\n",
		once, bad_final, pending_w1, accepted_total, server_total, dups, dups_unflagged,
		maybe_jobs, via_delayed);
	CHECK_INT(once, RUN_JOBS);
	CHECK_INT(bad_final, BAD_JOBS);
	CHECK_INT(bad_failed, BAD_JOBS);
	CHECK_INT(dups_unflagged, 0);
	CHECK(pending_w1 > 0);
	CHECK(maybe_jobs >= 1); /* the killed worker's in-flight jobs were found again */
	/* greylisted jobs came back from NAME:delayed as attempt 2 entries */
	r = cmd("XRANGE %s - +", stream);
	int second = 0;
	for (size_t i = 0; i < r->elements; i++) {
		const char *a = fieldv(r->element[i]->element[1], "attempt");
		second += a && strcmp(a, "2") == 0;
	}
	freeReplyObject(r);
	CHECK_INT(second, via_delayed);
	CHECK(via_delayed >= RUN_JOBS / 10 - grey_after_kill);
	check_nothing_left(stream);
}

static void test_at_most_once(void)
{
	char stream[64];
	snprintf(stream, sizeof stream, "once%d", run_tag);
	for (int i = 0; i < ONCE_JOBS; i++)
		add_job(stream, i);
	pid_t a = spawn(stream, "a", 1), b = spawn(stream, "b", 1);
	for (int t = 0; t < 1200 && integer(cmd("XLEN %s:results", stream)) < 60; t++)
		dl_sleep_ms(50);
	kill(a, SIGKILL);
	kill(b, SIGTERM);
	CHECK_INT(exit_status(a), 128 + SIGKILL);
	CHECK_INT(exit_status(b), 0);
	/* b finished what it had: nothing of it is left pending */
	redisReply *r = cmd("XPENDING %s senders - + 1000 b", stream);
	CHECK_INT(r->elements, 0);
	freeReplyObject(r);
	pid_t c = spawn(stream, "c", 1);
	size_t finals = wait_final(stream, ONCE_JOBS, 120);
	kill(c, SIGTERM);
	CHECK_INT(exit_status(c), 0);
	CHECK_INT(finals, ONCE_JOBS);
	struct result *v;
	size_t n = read_results(stream, &v);
	static int final_of[ONCE_JOBS], unsent[ONCE_JOBS], copies[ONCE_JOBS];
	for (size_t i = 0; i < n; i++) {
		int j = v[i].job;
		if (j < 0 || j >= ONCE_JOBS)
			continue;
		final_of[j] += v[i].final;
		unsent[j] += v[i].final && v[i].maybe && v[i].deferred && v[i].accepted == 0;
	}
	free(v);
	server_copies(stream, copies, ONCE_JOBS);
	int once = 0, twice = 0, maybe_unsent = 0, lost = 0;
	for (int j = 0; j < ONCE_JOBS; j++) {
		once += final_of[j] == 1;
		twice += copies[j] > 1;
		maybe_unsent += unsent[j] > 0;
		/* a job is missing at the server only if it was reported maybe_delivered */
		lost += copies[j] == 0 && !unsent[j];
	}
	fprintf(stderr, "dl_worker --at-most-once: %d jobs with one final result, %d ended "
		"deferred maybe_delivered unsent, %d delivered twice\n", once, maybe_unsent, twice);
	CHECK_INT(once, ONCE_JOBS);
	CHECK_INT(twice, 0);
	CHECK_INT(lost, 0);
	CHECK(maybe_unsent >= 1);
	check_nothing_left(stream);
}

/* The highest value seen of each --shared-rate window counter. */
struct windows {
	char names[64][96];
	long long most[64];
	int n;
};

static void sample_windows(const char *stream, struct windows *w)
{
	redisReply *keys = cmd("KEYS %s:rate:*", stream);
	for (size_t i = 0; i < keys->elements; i++) {
		const char *name = keys->element[i]->str;
		redisReply *g = cmd("GET %s", name);
		long long v = g->type == REDIS_REPLY_STRING ? atoll(g->str) : 0;
		freeReplyObject(g);
		int k = 0;
		while (k < w->n && strcmp(w->names[k], name) != 0)
			k++;
		if (k == w->n && w->n < 64) {
			snprintf(w->names[w->n], sizeof w->names[w->n], "%s", name);
			w->most[w->n++] = 0;
		}
		if (k < w->n && v > w->most[k])
			w->most[k] = v;
	}
	freeReplyObject(keys);
}

/* --shared-rate: two workers share "10 messages per 2 s" through one counter per
   window in Redis. Every message needs one "go" (a counter value within 10), so
   the counters' "go"s add up to the messages sent, and 30 messages need at least
   three windows. The counters expire two windows after theirs ends, so they are
   read while the workers run. */
static void test_shared_rate(void)
{
	enum { JOBS = 30, LIMIT = 10 };
	char stream[64];
	snprintf(stream, sizeof stream, "rate%d", run_tag);
	int added = 0;
	for (int i = 1; added < JOBS; i++)
		if (i % 10 != 0) { /* none greylisted: one message per job */
			add_job(stream, i);
			added++;
		}
	static const char *const rate[] = {"--rate", "10/2s", "--shared-rate", NULL};
	pid_t a = spawn_with(stream, "r1", rate), b = spawn_with(stream, "r2", rate);
	struct windows w = {.n = 0};
	size_t finals = 0;
	for (int t = 0; t < 600 && (finals = count_final(stream)) < JOBS; t++) {
		sample_windows(stream, &w);
		dl_sleep_ms(100);
	}
	sample_windows(stream, &w); /* the last window's counter lives on for 4 s */
	kill(a, SIGTERM);
	kill(b, SIGTERM);
	CHECK_INT(exit_status(a), 0);
	CHECK_INT(exit_status(b), 0);
	CHECK_INT(finals, JOBS);
	long long gos = 0;
	int used = 0;
	for (int k = 0; k < w.n; k++) {
		gos += w.most[k] < LIMIT ? w.most[k] : LIMIT;
		used += w.most[k] > 0;
	}
	fprintf(stderr, "dl_worker --shared-rate: %d messages, %lld \"go\"s over %d windows "
		"of 2 s\n", JOBS, gos, used);
	CHECK_INT(gos, JOBS);
	CHECK(used >= JOBS / LIMIT);
	check_nothing_left(stream);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	run_tag = (int)getpid();
	rc = redisConnect("127.0.0.1", atoi(dl_env("DL_REDIS_PORT")));
	if (!rc || rc->err) {
		fprintf(stderr, "FATAL: cannot connect to redis-server\n");
		return 2;
	}
	RUN(test_kill);
	RUN(test_at_most_once);
	RUN(test_shared_rate);
	redisFree(rc);
	return CHECK_DONE("dl_worker");
}

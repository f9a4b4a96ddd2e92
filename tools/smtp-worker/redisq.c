/* Redis commands and scripts of the worker (redisq.h). Keys, for stream NAME:
     NAME                      the jobs (a stream, consumer group --group)
     NAME:results              one entry per attempt
     NAME:delayed              sorted set: retry hash key -> due time (ms since 1970)
     NAME:retry:ID:N           hash: the fields of attempt N of job ID, until due
     NAME:final:ID             set (NX) with the final result, before the XACK
     NAME:done:ID:N            set (NX) with the result of attempt N (not final)
     NAME:inflight:ID:N        set before attempt N's message is handed to the pool
     NAME:rate:W               the shared --rate counter of window number W
   ID is the job's id (its stream entry id when the job has none). */
#include "redisq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S (24LL * 3600)

/* The final and in-flight markers of a job live while its retries may still come:
   the give-up age and two days more. */
static long long marker_ttl(const struct wk_options *o)
{
	int64_t give_up = o->give_up_ms ? o->give_up_ms / 1000 : 5 * DAY_S;
	return (long long)give_up + 2 * DAY_S;
}

static const char check_script[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
	"local was = redis.call('EXISTS', KEYS[2])\n"
	"redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])\n"
	"if was == 1 then return 2 end\n"
	"return 0\n";

static const char finish_script[] =
	"local n = tonumber(ARGV[5])\n"
	"local wrote = 0\n"
	"if redis.call('EXISTS', KEYS[2]) == 0 and\n"
	"   redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3]) then\n"
	"  local res = {}\n"
	"  for i = 1, 2 * n do res[i] = ARGV[5 + i] end\n"
	"  redis.call('XADD', KEYS[3], '*', unpack(res))\n"
	"  if ARGV[4] ~= '' then\n"
	"    local h = {}\n"
	"    for i = 6 + 2 * n, #ARGV do h[#h + 1] = ARGV[i] end\n"
	"    redis.call('HSET', KEYS[7], unpack(h))\n"
	"    redis.call('EXPIRE', KEYS[7], ARGV[3])\n"
	"    redis.call('ZADD', KEYS[6], ARGV[4], KEYS[7])\n"
	"  end\n"
	"  wrote = 1\n"
	"end\n"
	"redis.call('DEL', KEYS[4])\n"
	"redis.call('XACK', KEYS[5], ARGV[1], ARGV[2])\n"
	"return wrote\n";

static const char move_script[] =
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, "
	"tonumber(ARGV[2]))\n"
	"for _, k in ipairs(due) do\n"
	"  local f = redis.call('HGETALL', k)\n"
	"  if #f > 0 then redis.call('XADD', KEYS[2], '*', unpack(f)) end\n"
	"  redis.call('DEL', k)\n"
	"  redis.call('ZREM', KEYS[1], k)\n"
	"end\n"
	"return #due\n";

static const char rate_script[] =
	"local v = redis.call('INCR', KEYS[1])\n"
	"if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
	"return v\n";

static char *key(const struct wk_options *o, const char *kind, const char *id,
		 const char *attempt)
{
	size_t n = strlen(o->stream) + strlen(kind) + strlen(id) +
		   (attempt ? strlen(attempt) : 0) + 4;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s:%s:%s%s%s", o->stream, kind, id, attempt ? ":" : "",
			 attempt ? attempt : "");
	return k;
}

static char *subkey(const struct wk_options *o, const char *kind)
{
	size_t n = strlen(o->stream) + strlen(kind) + 2;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s:%s", o->stream, kind);
	return k;
}

/* A reply that is an error: printed; -1 for a lost connection, else -2. */
static int reply_error(struct wk_redis *r, redisReply *rep, const char *what)
{
	if (!rep) {
		fprintf(stderr, "smtp-worker: redis %s: %s\n", what,
			r->c->errstr[0] ? r->c->errstr : "connection lost");
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "smtp-worker: redis %s: %s\n", what, rep->str);
		freeReplyObject(rep);
		return -2;
	}
	return 0;
}

static char *read_first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[1024];
	char *line = fgets(buf, sizeof buf, f) ? strdup(buf) : NULL;
	fclose(f);
	if (line)
		line[strcspn(line, "\r\n")] = '\0';
	return line;
}

int wk_redis_connect(struct wk_redis *r, const struct wk_options *o)
{
	r->o = o;
	snprintf(r->claim_cursor, sizeof r->claim_cursor, "0-0");
	struct timeval tv = {5, 0};
	r->c = redisConnectWithTimeout(o->redis_host, o->redis_port, tv);
	if (!r->c || r->c->err) {
		fprintf(stderr, "smtp-worker: cannot connect to %s: %s\n", o->redis,
			r->c ? r->c->errstr : "out of memory");
		wk_redis_close(r);
		return -1;
	}
	/* a reply that takes longer than this means the connection is gone */
	struct timeval rw = {30, 0};
	redisSetTimeout(r->c, rw);
	if (o->redis_password_file) {
		char *pw = read_first_line(o->redis_password_file);
		if (!pw) {
			perror(o->redis_password_file);
			wk_redis_close(r);
			return -1;
		}
		redisReply *rep = redisCommand(r->c, "AUTH %s", pw);
		memset(pw, 0, strlen(pw));
		free(pw);
		if (reply_error(r, rep, "AUTH")) {
			wk_redis_close(r);
			return -1;
		}
		freeReplyObject(rep);
	}
	redisReply *rep = redisCommand(r->c, "SELECT %d", o->redis_db);
	if (reply_error(r, rep, "SELECT")) {
		wk_redis_close(r);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

void wk_redis_close(struct wk_redis *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

int wk_redis_group(struct wk_redis *r)
{
	/* from the start of the stream: jobs queued before the first worker count too */
	redisReply *rep = redisCommand(r->c, "XGROUP CREATE %s %s 0 MKSTREAM", r->o->stream,
				       r->o->group);
	if (!rep)
		return reply_error(r, rep, "XGROUP CREATE");
	int ok = rep->type != REDIS_REPLY_ERROR || strncmp(rep->str, "BUSYGROUP", 9) == 0;
	if (!ok)
		fprintf(stderr, "smtp-worker: redis XGROUP CREATE: %s\n", rep->str);
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

void wk_entry_free(struct wk_entry *e)
{
	if (!e)
		return;
	free(e->id);
	for (size_t i = 0; i < e->nfields; i++) {
		free(e->names[i]);
		free(e->values[i]);
	}
	free(e->names);
	free(e->values);
	free(e->lens);
	e->id = NULL;
	e->nfields = 0;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* One [id, [field, value, ...]] element; 0, or -1 when it is not one (a deleted
   entry's fields are nil: it gets no fields). */
static int take_entry(const redisReply *x, struct wk_entry *e)
{
	memset(e, 0, sizeof *e);
	if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
	    x->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	e->id = dup_bytes(x->element[0]->str, x->element[0]->len);
	const redisReply *f = x->element[1];
	if (!e->id)
		return -1;
	if (f->type != REDIS_REPLY_ARRAY)
		return 0;
	size_t n = f->elements / 2;
	e->names = calloc(n ? n : 1, sizeof *e->names);
	e->values = calloc(n ? n : 1, sizeof *e->values);
	e->lens = calloc(n ? n : 1, sizeof *e->lens);
	if (!e->names || !e->values || !e->lens)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const redisReply *k = f->element[2 * i], *v = f->element[2 * i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		e->names[e->nfields] = dup_bytes(k->str, k->len);
		e->values[e->nfields] = dup_bytes(v->str, v->len);
		e->lens[e->nfields] = v->len;
		if (!e->names[e->nfields] || !e->values[e->nfields])
			return -1;
		e->nfields++;
	}
	return 0;
}

/* Entries of an array reply into a new array *out. */
static int take_entries(const redisReply *list, struct wk_entry **out)
{
	*out = NULL;
	if (!list || list->type != REDIS_REPLY_ARRAY || list->elements == 0)
		return 0;
	struct wk_entry *v = calloc(list->elements, sizeof *v);
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < list->elements; i++) {
		if (take_entry(list->element[i], &v[n]) == 0)
			n++;
		else
			wk_entry_free(&v[n]);
	}
	*out = v;
	return (int)n;
}

int wk_redis_read(struct wk_redis *r, int count, int block_ms, struct wk_entry **out)
{
	*out = NULL;
	char c[16], b[16];
	snprintf(c, sizeof c, "%d", count);
	snprintf(b, sizeof b, "%d", block_ms);
	const char *argv[] = {"XREADGROUP", "GROUP", r->o->group, r->o->consumer, "COUNT", c,
			      "BLOCK", b, "STREAMS", r->o->stream, ">"};
	int argc = sizeof argv / sizeof argv[0];
	if (block_ms <= 0) {
		/* no BLOCK at all: answer at once */
		argv[6] = "STREAMS";
		argv[7] = r->o->stream;
		argv[8] = ">";
		argc -= 2;
	}
	redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
	int rc = reply_error(r, rep, "XREADGROUP");
	if (rc == -2 && wk_redis_group(r) == 0)
		return 0; /* NOGROUP: the stream was deleted; made again */
	if (rc)
		return -1;
	int n = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
		n = take_entries(rep->element[0]->element[1], out);
	freeReplyObject(rep);
	return n;
}

int wk_redis_claim(struct wk_redis *r, int count, struct wk_entry **out)
{
	*out = NULL;
	redisReply *rep = redisCommand(r->c, "XAUTOCLAIM %s %s %s %lld %s COUNT %d",
				       r->o->stream, r->o->group, r->o->consumer,
				       (long long)r->o->claim_idle_ms, r->claim_cursor, count);
	if (reply_error(r, rep, "XAUTOCLAIM"))
		return -1;
	int n = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 &&
	    rep->element[0]->type == REDIS_REPLY_STRING) {
		snprintf(r->claim_cursor, sizeof r->claim_cursor, "%s", rep->element[0]->str);
		n = take_entries(rep->element[1], out);
	}
	freeReplyObject(rep);
	return n;
}

int wk_redis_touch(struct wk_redis *r, char *const *ids, size_t n)
{
	if (n == 0)
		return 0;
	const char **argv = calloc(n + 7, sizeof *argv);
	if (!argv)
		return -1;
	size_t k = 0;
	argv[k++] = "XCLAIM";
	argv[k++] = r->o->stream;
	argv[k++] = r->o->group;
	argv[k++] = r->o->consumer;
	argv[k++] = "0";
	for (size_t i = 0; i < n; i++)
		argv[k++] = ids[i];
	argv[k++] = "JUSTID";
	redisReply *rep = redisCommandArgv(r->c, (int)k, argv, NULL);
	free(argv);
	if (reply_error(r, rep, "XCLAIM"))
		return -1;
	freeReplyObject(rep);
	return 0;
}

int wk_redis_move_due(struct wk_redis *r, int64_t now_ms)
{
	char *delayed = subkey(r->o, "delayed");
	if (!delayed)
		return -1;
	redisReply *rep = redisCommand(r->c, "EVAL %s 2 %s %s %lld 100", move_script, delayed,
				       r->o->stream, (long long)now_ms);
	free(delayed);
	if (reply_error(r, rep, "EVAL move"))
		return -1;
	int n = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : 0;
	freeReplyObject(rep);
	return n;
}

int wk_redis_check(struct wk_redis *r, struct wk_job *const *jobs, size_t n, int *status)
{
	char ttl[24], attempt[16];
	snprintf(ttl, sizeof ttl, "%lld", marker_ttl(r->o));
	for (size_t i = 0; i < n; i++) {
		snprintf(attempt, sizeof attempt, "%u", jobs[i]->attempt);
		char *fin = key(r->o, "final", jobs[i]->key, NULL);
		char *inf = key(r->o, "inflight", jobs[i]->key, attempt);
		const char *argv[] = {"EVAL", check_script, "2", fin, inf, r->o->consumer, ttl};
		int rc = fin && inf ? redisAppendCommandArgv(r->c, 7, argv, NULL) : REDIS_ERR;
		free(fin);
		free(inf);
		if (rc != REDIS_OK)
			return -1;
	}
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = NULL;
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep)
			return reply_error(r, NULL, "EVAL check");
		status[i] = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;
		if (rep->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "smtp-worker: redis EVAL check: %s\n", rep->str);
			err = -1;
		}
		freeReplyObject(rep);
	}
	return err;
}

/* The arguments of one command, any bytes, with their lengths. */
struct args {
	const char *v[48];
	size_t len[48];
	size_t n;
};

static void arg(struct args *a, const char *v, size_t len)
{
	if (a->n < sizeof a->v / sizeof a->v[0]) {
		a->v[a->n] = v;
		a->len[a->n++] = len;
	}
}

static void arg_str(struct args *a, const char *v)
{
	arg(a, v, strlen(v));
}

static void pair(struct args *a, const char *name, const char *v, size_t len)
{
	arg_str(a, name);
	arg(a, v, len);
}

int wk_redis_finish(struct wk_redis *r, const struct wk_job *j, const struct wk_result *res)
{
	char ttl[24], due[24] = "", first[24], nres[8];
	snprintf(ttl, sizeof ttl, "%lld", marker_ttl(r->o));
	if (!res->final)
		snprintf(due, sizeof due, "%lld", (long long)res->due_ms);
	snprintf(first, sizeof first, "%lld", (long long)j->first_ms);
	snprintf(nres, sizeof nres, "%d", 4 + !!res->maybe + !res->final + !!res->gave_up);
	char *fin = key(r->o, "final", j->key, NULL);
	char *marker = res->final ? NULL : key(r->o, "done", j->key, res->attempt);
	char *results = subkey(r->o, "results");
	char *inflight = key(r->o, "inflight", j->key, res->attempt);
	char *delayed = subkey(r->o, "delayed");
	char *retry = key(r->o, "retry", j->key, res->final ? "0" : res->next_attempt);
	int rc = -1;
	if (fin && (res->final || marker) && results && inflight && delayed && retry) {
		struct args a = {.n = 0};
		const char *head[] = {"EVAL", finish_script, "7", marker ? marker : fin, fin,
				      results, inflight, r->o->stream, delayed, retry,
				      r->o->group, j->entry, ttl, due, nres};
		for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
			arg_str(&a, head[i]);
		/* the result entry's fields */
		pair(&a, "id", j->id, strlen(j->id));
		pair(&a, "attempt", res->attempt, strlen(res->attempt));
		pair(&a, "final", res->final ? "1" : "0", 1);
		pair(&a, "report", res->report, strlen(res->report));
		if (res->maybe)
			pair(&a, "maybe_delivered", "1", 1);
		if (!res->final)
			pair(&a, "retry_at", res->retry_at, strlen(res->retry_at));
		if (res->gave_up)
			pair(&a, "gave_up", res->gave_up, strlen(res->gave_up));
		/* for a retry, the job's next attempt as it will come back */
		if (!res->final) {
			pair(&a, "id", j->id, strlen(j->id));
			pair(&a, "from", j->from, strlen(j->from));
			pair(&a, "to", res->retry_to, strlen(res->retry_to));
			pair(&a, "data", j->data, j->len);
			pair(&a, "attempt", res->next_attempt, strlen(res->next_attempt));
			pair(&a, "first", first, strlen(first));
			pair(&a, "maybe", j->maybe || res->maybe ? "1" : "0", 1);
		}
		redisReply *rep = redisCommandArgv(r->c, (int)a.n, a.v, a.len);
		rc = reply_error(r, rep, "EVAL finish");
		if (rc == 0)
			freeReplyObject(rep);
		else
			rc = -1;
	}
	free(fin);
	free(marker);
	free(results);
	free(inflight);
	free(delayed);
	free(retry);
	return rc;
}

int wk_redis_ack(struct wk_redis *r, const char *entry)
{
	redisReply *rep = redisCommand(r->c, "XACK %s %s %s", r->o->stream, r->o->group, entry);
	if (reply_error(r, rep, "XACK"))
		return -1;
	freeReplyObject(rep);
	return 0;
}

int64_t wk_redis_rate(struct wk_redis *r, int64_t now_ms)
{
	const struct wk_options *o = r->o;
	long long window = now_ms / o->rate_window_ms;
	char name[32];
	snprintf(name, sizeof name, "%lld", window);
	char *k = key(o, "rate", name, NULL);
	if (!k)
		return -1;
	redisReply *rep = redisCommand(r->c, "EVAL %s 1 %s %lld", rate_script, k,
				       (long long)o->rate_window_ms * 2);
	free(k);
	if (reply_error(r, rep, "EVAL rate"))
		return -1;
	long long v = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	if (v >= 1 && v <= (long long)o->rate_count)
		return 0;
	return (window + 1) * o->rate_window_ms - now_ms;
}

/* Helpers for the pool tests: the servers were started by tests/deliver/run.sh, which
   passes their ports, record directories and logs in the environment (a missing
   variable fails the test loudly). Messages carry "X-Seq: N" so that the records
   the servers keep can be counted per message. */
#ifndef DL_COMMON_H
#define DL_COMMON_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <smtp.h>

#include "check.h"

static inline const char *dl_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !v[0]) {
		fprintf(stderr, "FATAL: %s is not set: run this through tests/deliver/run.sh\n",
			name);
		exit(2);
	}
	return v;
}

static inline void dl_url(char *buf, size_t len, const char *port_var, const char *query)
{
	snprintf(buf, len, "smtp://127.0.0.1:%s%s", dl_env(port_var), query);
}

/* A message and the content it references, freed together. */
struct dl_msg {
	smtp_message *m;
	int seq;
	char data[256];
};

/* Message number seq from sender@example.org to the NULL-terminated recipients. */
static inline struct dl_msg *dl_msg_new(int seq, const char *const *rcpts)
{
	struct dl_msg *d = calloc(1, sizeof *d);
	if (!d || !(d->m = smtp_message_new()))
		exit(2);
	d->seq = seq;
	int n = snprintf(d->data, sizeof d->data,
			 "From: sender@example.org\r\nSubject: pool test %d\r\nX-Seq: %d\r\n"
			 "\r\nMessage %d.\r\n", seq, seq, seq);
	int rc = smtp_message_set_from(d->m, "sender@example.org");
	for (size_t i = 0; rc == 0 && rcpts[i]; i++)
		rc = smtp_message_add_rcpt(d->m, rcpts[i]);
	if (rc || smtp_message_set_data(d->m, d->data, (size_t)n)) {
		fprintf(stderr, "FATAL: cannot build message %d\n", seq);
		exit(2);
	}
	return d;
}

static inline void dl_msg_free(struct dl_msg *d)
{
	if (d) {
		smtp_message_free(d->m);
		free(d);
	}
}

static inline char *dl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *b = realloc(buf, cap * 2 + 1);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

/* Calls fn(ud, content) for every record file in dir (names not starting with '.',
   and ending in suffix when suffix is not NULL). Returns the number of files read,
   or -1 if dir cannot be read. */
static inline long dl_for_records(const char *dir, const char *suffix,
				  void (*fn)(void *ud, const char *content), void *ud)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long files = 0;
	struct dirent *e;
	size_t sl = suffix ? strlen(suffix) : 0;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (e->d_name[0] == '.' ||
		    (suffix && (nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0)))
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *c = dl_read_file(path, NULL);
		if (!c)
			continue;
		files++;
		fn(ud, c);
		free(c);
	}
	closedir(d);
	return files;
}

struct dl_seqs {
	int *counts;
	int n;
};

static inline void dl_add_seqs(void *ud, const char *content)
{
	const struct dl_seqs *s = ud;
	for (const char *p = content; (p = strstr(p, "X-Seq: ")) != NULL; p += 7) {
		int seq = atoi(p + 7);
		if (seq >= 0 && seq < s->n)
			s->counts[seq]++;
	}
}

/* Adds one to counts[N] per "X-Seq: N" in the record files of dir (0 <= N < n).
   Returns the number of record files, or -1. */
static inline long dl_count_seqs(const char *dir, const char *suffix, int *counts, int n)
{
	struct dl_seqs s = {counts, n};
	return dl_for_records(dir, suffix, dl_add_seqs, &s);
}

/* How many of counts[0..n) are exactly 1; the others are reported on stderr. */
static inline int dl_exactly_once(const int *counts, int n, const char *what)
{
	int once = 0, shown = 0;
	for (int i = 0; i < n; i++) {
		if (counts[i] == 1)
			once++;
		else if (shown++ < 5)
			fprintf(stderr, "%s: message %d arrived %d times\n", what, i, counts[i]);
	}
	return once;
}

static inline long dl_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The log text after offset, once it holds at least want occurrences of needle or
   after secs seconds (the servers log asynchronously). Caller frees. */
static inline char *dl_log_after(const char *path, long offset, const char *needle,
				 int want, int secs)
{
	for (int tries = 0;; tries++) {
		size_t len;
		char *all = dl_read_file(path, &len);
		if (!all)
			return NULL;
		char *tail = strdup((size_t)offset <= len ? all + offset : "");
		free(all);
		int n = 0;
		for (const char *p = tail; (p = strstr(p, needle)) != NULL; p += strlen(needle))
			n++;
		if (n >= want || tries >= secs * 10)
			return tail;
		free(tail);
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
}

static inline int dl_count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* What the messages of a pool came to, counted by dl_tally_done. */
struct dl_tally {
	int sent, deferred, other, maybe, shown;
};

/* A pool callback whose data is a struct dl_tally: counts the outcome, prints the
   report of the first two messages not sent, frees the struct dl_msg. */
static inline void dl_tally_done(void *ud, smtp_pool *p, smtp_message *m, void *msg_ud)
{
	(void)p;
	struct dl_tally *t = ud;
	const smtp_report *r = smtp_message_report(m);
	smtp_outcome o = smtp_report_outcome(r);
	if (o == SMTP_SENT)
		t->sent++;
	else if (o == SMTP_DEFERRED)
		t->deferred++;
	else
		t->other++;
	t->maybe += smtp_report_maybe_delivered(r);
	if (o != SMTP_SENT && t->shown++ < 2) {
		char j[4096];
		smtp_report_json(r, j, sizeof j);
		fprintf(stderr, "not sent: %s\n", j);
	}
	dl_msg_free(msg_ud);
}

/* A pool to the server whose port is in port_var (URL query as given), conns
   connections, counting into t with dl_tally_done (t NULL: no callback yet). */
static inline smtp_pool *dl_pool(const char *port_var, const char *query, unsigned conns,
				 struct dl_tally *t)
{
	char url[128];
	dl_url(url, sizeof url, port_var, query);
	smtp_pool *p = smtp_pool_new();
	if (!p || smtp_pool_set_url(p, url) || smtp_pool_set_max_connections(p, conns) ||
	    (t && smtp_pool_set_message_callback(p, dl_tally_done, t))) {
		fprintf(stderr, "FATAL: cannot set up a pool for %s\n", url);
		exit(2);
	}
	return p;
}

static inline void dl_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

#endif

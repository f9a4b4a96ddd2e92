/* Jobs and results: reading a stream entry into a job (checked: a job that cannot be
   sent as given is refused with its reason, never half sent), building its message,
   and writing what one attempt did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "worker.h"

int64_t wk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *field(const struct wk_entry *e, const char *name, size_t *len)
{
	for (size_t i = 0; i < e->nfields; i++)
		if (strcmp(e->names[i], name) == 0) {
			if (len)
				*len = e->lens[i];
			return e->values[i];
		}
	return NULL;
}

/* A job id becomes part of Redis key names: printable ASCII without spaces. */
static int id_ok(const char *id, size_t len)
{
	if (len == 0 || len > WK_MAX_ID || strlen(id) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
			return 0;
	return 1;
}

/* The fields the worker itself writes into a retried job: attempt, first, maybe. */
static int retry_fields(struct wk_job *j, const struct wk_entry *e, int64_t now_ms)
{
	const char *a = field(e, "attempt", NULL), *f = field(e, "first", NULL);
	const char *m = field(e, "maybe", NULL);
	char *end;
	j->attempt = 1;
	j->first_ms = now_ms;
	if (a) {
		unsigned long v = strtoul(a, &end, 10);
		if (*end || v < 1 || v > 100000)
			return -1;
		j->attempt = (unsigned)v;
	}
	if (f) {
		long long v = strtoll(f, &end, 10);
		if (*end || v < 0 || v > now_ms)
			return -1;
		j->first_ms = v;
	}
	j->maybe = m && strcmp(m, "1") == 0;
	return 0;
}

static void refuse(struct wk_job *j, const char *why)
{
	if (!j->invalid[0])
		snprintf(j->invalid, sizeof j->invalid, "%s", why);
}

struct wk_job *wk_job_from_entry(const struct wk_entry *e, int64_t now_ms)
{
	struct wk_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	size_t idlen = 0, tolen = 0, dlen = 0;
	const char *id = field(e, "id", &idlen), *from = field(e, "from", NULL);
	const char *to = field(e, "to", &tolen), *data = field(e, "data", &dlen);
	j->entry = strdup(e->id);
	j->id = strdup(id ? id : "");
	/* keys of a job without a usable id are named by its entry */
	j->key = strdup(id && id_ok(id, idlen) ? id : e->id);
	j->from = strdup(from ? from : "");
	if (!j->entry || !j->id || !j->key || !j->from) {
		wk_job_free(j);
		return NULL;
	}
	j->attempt = 1;
	j->first_ms = now_ms;
	if (!id)
		refuse(j, "missing field: id");
	else if (!id_ok(id, idlen))
		refuse(j, "field id: 1 to 200 printable ASCII characters without spaces");
	if (retry_fields(j, e, now_ms))
		refuse(j, "fields attempt/first/maybe: malformed");
	if (!from)
		refuse(j, "missing field: from");
	if (!to) {
		refuse(j, "missing field: to");
	} else {
		char why[96];
		if (wk_json_string_array(to, tolen, &j->rcpts, &j->nrcpts, why)) {
			char msg[128];
			snprintf(msg, sizeof msg, "field to: %s", why);
			refuse(j, msg);
		}
	}
	if (!data)
		refuse(j, "missing field: data");
	else if (dlen > WK_MAX_DATA)
		refuse(j, "field data: larger than 25 MiB");
	else if (!(j->data = malloc(dlen ? dlen : 1)))
		refuse(j, "out of memory");
	else {
		memcpy(j->data, data, dlen);
		j->len = dlen;
	}
	return j;
}

int wk_job_message(struct wk_job *j)
{
	if (j->invalid[0])
		return -1;
	j->m = smtp_message_new();
	if (!j->m) {
		refuse(j, "out of memory");
		return -1;
	}
	int rc = smtp_message_set_from(j->m, j->from);
	if (rc) {
		refuse(j, rc == SMTP_EINVAL ? "field from: not a valid address" : "out of memory");
		return -1;
	}
	for (size_t i = 0; i < j->nrcpts; i++) {
		rc = smtp_message_add_rcpt(j->m, j->rcpts[i]);
		if (rc) {
			char msg[160];
			snprintf(msg, sizeof msg, "field to: element %zu is not a valid address", i);
			refuse(j, rc == SMTP_EINVAL ? msg : "out of memory");
			return -1;
		}
	}
	/* what smtp_submit would refuse, said here with its reason */
	if (smtp_message_set_data(j->m, j->data, j->len) || smtp_message_check(j->m)) {
		refuse(j, "field data: cannot be sent as given (a line over 998 octets, or a NUL)");
		return -1;
	}
	return 0;
}

void wk_job_free(struct wk_job *j)
{
	if (!j)
		return;
	free(j->entry);
	free(j->id);
	free(j->key);
	free(j->from);
	wk_json_free_strings(j->rcpts, j->nrcpts);
	free(j->data);
	smtp_message_free(j->m);
	free(j);
}

void wk_result_free(struct wk_result *r)
{
	free(r->report);
	free(r->gave_up);
	free(r->retry_to);
	memset(r, 0, sizeof *r);
}

/* A report in doc/report-schema.md's schema for a job no server saw: every recipient has
   verdict (failed or deferred), nothing was sent. */
static char *unsent_report(const struct wk_job *j, const char *verdict, const char *error,
			   const char *detail, int maybe)
{
	struct wk_buf b = {0};
	wk_buf_str(&b, "{\"outcome\": ");
	wk_buf_json(&b, verdict);
	wk_buf_str(&b, ", \"failed_stage\": \"none\", \"error\": ");
	wk_buf_json(&b, error);
	wk_buf_str(&b, ", \"detail\": ");
	wk_buf_json(&b, detail);
	wk_buf_str(&b, maybe ? ", \"maybe_delivered\": true" : ", \"maybe_delivered\": false");
	wk_buf_str(&b, ", \"steps\": [], \"recipients\": [");
	for (size_t i = 0; i < j->nrcpts; i++) {
		wk_buf_str(&b, i ? ", {\"address\": " : "{\"address\": ");
		wk_buf_json(&b, j->rcpts[i]);
		wk_buf_str(&b, ", \"verdict\": ");
		wk_buf_json(&b, verdict);
		wk_buf_str(&b, ", \"stage\": \"none\", \"code\": null, \"enhanced\": null, "
			       "\"text\": \"\", \"accepted\": false}");
	}
	wk_buf_str(&b, "], \"queue_id\": null}");
	if (b.failed)
		wk_buf_free(&b);
	return b.p;
}

int wk_result_unsent(const struct wk_job *j, int maybe, struct wk_result *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->attempt, sizeof r->attempt, "%u", j->attempt);
	r->final = 1;
	r->maybe = maybe;
	if (maybe)
		r->report = unsent_report(j, "deferred", "SMTP_ESTATE",
					  "a worker stopped with this job in flight, so its "
					  "message may have arrived; --at-most-once: not sent again",
					  1);
	else
		r->report = unsent_report(j, "failed", "SMTP_EINVAL", j->invalid, 0);
	return r->report ? 0 : -1;
}

static char *report_json(const smtp_report *rep)
{
	size_t need = smtp_report_json(rep, NULL, 0);
	char *s = malloc(need + 1);
	if (s)
		smtp_report_json(rep, s, need + 1);
	return s;
}

static char *string_array(size_t n, const char *(*get)(const smtp_retry_plan *, size_t),
			  const smtp_retry_plan *p)
{
	struct wk_buf b = {0};
	wk_buf_str(&b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			wk_buf_str(&b, ", ");
		wk_buf_json(&b, get(p, i));
	}
	wk_buf_str(&b, "]");
	if (b.failed)
		wk_buf_free(&b);
	return b.p;
}

static char *gave_up_json(const smtp_retry_plan *p)
{
	struct wk_buf b = {0};
	wk_buf_str(&b, "[");
	for (size_t i = 0; i < smtp_retry_plan_given_up_count(p); i++) {
		wk_buf_str(&b, i ? ", {\"address\": " : "{\"address\": ");
		wk_buf_json(&b, smtp_retry_plan_given_up(p, i));
		wk_buf_str(&b, ", \"verdict\": \"bounced\", \"reason\": ");
		wk_buf_json(&b, smtp_retry_plan_given_up_reason(p, i));
		wk_buf_str(&b, "}");
	}
	wk_buf_str(&b, "]");
	if (b.failed)
		wk_buf_free(&b);
	return b.p;
}

int wk_result_attempt(const struct wk_job *j, const smtp_retry *sched, int at_most_once,
		      int64_t now_ms, struct wk_result *r)
{
	memset(r, 0, sizeof *r);
	const smtp_report *rep = smtp_message_report(j->m);
	snprintf(r->attempt, sizeof r->attempt, "%u", j->attempt);
	r->maybe = j->maybe || smtp_report_maybe_delivered(rep);
	r->report = report_json(rep);
	smtp_retry_plan *p = smtp_retry_plan_new(sched, rep, j->attempt, j->first_ms, now_ms);
	if (!r->report || !p) {
		smtp_retry_plan_free(p);
		wk_result_free(r);
		return -1;
	}
	/* --at-most-once: what may have arrived is not sent again */
	int retry = smtp_retry_plan_count(p) > 0 &&
		    !(at_most_once && smtp_report_maybe_delivered(rep));
	r->final = !retry;
	if (retry) {
		r->due_ms = smtp_retry_plan_due_ms(p);
		snprintf(r->retry_at, sizeof r->retry_at, "%lld", (long long)r->due_ms);
		snprintf(r->next_attempt, sizeof r->next_attempt, "%u", smtp_retry_plan_attempt(p));
		r->retry_to = string_array(smtp_retry_plan_count(p), smtp_retry_plan_rcpt, p);
	}
	if (smtp_retry_plan_given_up_count(p) > 0)
		r->gave_up = gave_up_json(p);
	int bad = (retry && !r->retry_to) || (smtp_retry_plan_given_up_count(p) && !r->gave_up);
	smtp_retry_plan_free(p);
	if (bad) {
		wk_result_free(r);
		return -1;
	}
	return 0;
}

/* The worker's command line (README "smtp-worker"): every value is checked and
   bounded here, and a mistake names the option and the reason. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

/* A decimal number of at most 12 digits at *s, advancing past it. */
static int number(const char **s, int64_t *v)
{
	const char *p = *s;
	int64_t n = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p) && digits < 13) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 12)
		return -1;
	*v = n;
	*s = p;
	return 0;
}

int wk_parse_duration(const char *s, int64_t min, int64_t max, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", DAY_MS}};
	int64_t n;
	if (!s || number(&s, &n))
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(s, units[i].unit) == 0) {
			if (n > max / units[i].ms)
				return -1;
			n *= units[i].ms;
			if (n < min || n > max)
				return -1;
			*ms = n;
			return 0;
		}
	return -1;
}

int wk_parse_rate(const char *s, unsigned *count, int64_t *window_ms)
{
	int64_t n;
	if (!s || number(&s, &n) || *s != '/' || n < 1 || n > 1000000)
		return -1;
	if (wk_parse_duration(s + 1, 1, 30 * DAY_MS, window_ms))
		return -1;
	*count = (unsigned)n;
	return 0;
}

int wk_parse_delays(const char *s, int64_t *delays, size_t *n)
{
	char buf[1024];
	if (!s || strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	size_t k = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (k == WK_MAX_DELAYS || wk_parse_duration(t, 1, 30 * DAY_MS, &delays[k]))
			return -1;
		k++;
	}
	/* "5m,,1h" and a trailing comma are mistakes, not empty delays */
	if (k == 0 || strstr(s, ",,") || s[0] == ',' || s[strlen(s) - 1] == ',')
		return -1;
	*n = k;
	return 0;
}

int wk_parse_redis_url(const char *s, char *host, size_t hostlen, int *port, int *db)
{
	static const char scheme[] = "redis://";
	if (!s || strncmp(s, scheme, sizeof scheme - 1) != 0)
		return -1;
	const char *h = s + sizeof scheme - 1;
	size_t n = strcspn(h, ":/");
	if (n == 0 || n >= hostlen)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
			return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	const char *p = h + n;
	int64_t v = 6379;
	if (*p == ':') {
		p++;
		if (number(&p, &v) || v < 1 || v > 65535)
			return -1;
	}
	*port = (int)v;
	v = 0;
	if (*p == '/') {
		p++;
		if (*p && (number(&p, &v) || v > 15))
			return -1;
	}
	if (*p)
		return -1;
	*db = (int)v;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: smtp-worker --redis redis://HOST[:PORT][/DB] --stream NAME --group G\n"
	      "                   --consumer C --url URL [options]\n"
	      "  --max-connections N     connections to the relay (1..1000; default 4)\n"
	      "  --max-messages N        messages per connection, then a fresh one\n"
	      "  --idle-timeout D        close idle connections after D (default 30s)\n"
	      "  --retry-schedule D,...  delays before attempt 2, 3, ... (the last repeats;\n"
	      "                          default 5m,15m,30m,1h,2h,4h)\n"
	      "  --retry-jitter F        vary each delay by +-F (0..0.5; default 0.1)\n"
	      "  --give-up D             bounce what is still deferred D after the first\n"
	      "                          attempt (default 5d)\n"
	      "  --claim-idle D          take over another worker's jobs idle for D (60s)\n"
	      "  --rate N/D              at most N messages per D\n"
	      "  --shared-rate           count --rate in Redis, across all workers\n"
	      "  --at-most-once          never send a job again that may have arrived\n"
	      "  --redis-password-file F   AUTH to Redis with the first line of F\n"
	      "  --tls none|starttls|implicit|opportunistic   --ca-file F\n"
	      "  --user U --password-file F   --timeout SECONDS (every stage)\n"
	      "durations: 500ms, 3s, 5m, 1h, 5d\n", f);
}

enum {
	O_REDIS = 256, O_STREAM, O_GROUP, O_CONSUMER, O_URL, O_MAXCONN, O_MAXMSG, O_IDLE,
	O_SCHEDULE, O_JITTER, O_GIVEUP, O_CLAIM, O_RATE, O_SHARED, O_ONCE, O_CA, O_USER,
	O_PASSFILE, O_TLS, O_TIMEOUT, O_REDISPASS, O_HELP, O_VERSION
};

static int bad(const char *opt, const char *why)
{
	fprintf(stderr, "smtp-worker: %s: %s\n", opt, why);
	return -1;
}

static int whole(const char *s, long lo, long hi, long *v)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

/* A whole number option in lo..hi into *out. */
static int take_whole(const char *opt, const char *v, long lo, long hi, long *out)
{
	if (whole(v, lo, hi, out) == 0)
		return 0;
	fprintf(stderr, "smtp-worker: %s: a whole number from %ld to %ld\n", opt, lo, hi);
	return -1;
}

/* Checks one option's value into o. */
static int take(int c, const char *v, struct wk_options *o)
{
	long n;
	char *end;
	switch (c) {
	case O_REDIS:
		o->redis = v;
		return wk_parse_redis_url(v, o->redis_host, sizeof o->redis_host, &o->redis_port,
					  &o->redis_db)
			       ? bad("--redis", "not redis://HOST[:PORT][/DB] (db 0..15)") : 0;
	case O_STREAM: o->stream = v; return 0;
	case O_GROUP: o->group = v; return 0;
	case O_CONSUMER: o->consumer = v; return 0;
	case O_URL: o->url = v; return 0;
	case O_REDISPASS: o->redis_password_file = v; return 0;
	case O_CA: o->ca_file = v; return 0;
	case O_USER: o->user = v; return 0;
	case O_PASSFILE: o->password_file = v; return 0;
	case O_SHARED: o->shared_rate = 1; return 0;
	case O_ONCE: o->at_most_once = 1; return 0;
	case O_MAXCONN:
		if (take_whole("--max-connections", v, 1, 1000, &n))
			return -1;
		o->max_connections = (unsigned)n;
		return 0;
	case O_MAXMSG:
		if (take_whole("--max-messages", v, 1, 1000000, &n))
			return -1;
		o->max_messages = (unsigned)n;
		return 0;
	case O_TIMEOUT:
		if (take_whole("--timeout", v, 1, 3600, &n))
			return -1;
		o->timeout_s = (int)n;
		return 0;
	case O_IDLE:
		return wk_parse_duration(v, 0, DAY_MS, &o->idle_timeout_ms)
			       ? bad("--idle-timeout", "a duration up to 1d (0s: never)") : 0;
	case O_SCHEDULE:
		return wk_parse_delays(v, o->delays, &o->ndelays)
			       ? bad("--retry-schedule", "1 to 64 durations of 1ms to 30d, "
							 "comma-separated") : 0;
	case O_JITTER:
		o->jitter = strtod(v, &end);
		return end == v || *end || !(o->jitter >= 0 && o->jitter <= 0.5)
			       ? bad("--retry-jitter", "a fraction from 0 to 0.5") : 0;
	case O_GIVEUP:
		return wk_parse_duration(v, 1, 365 * DAY_MS, &o->give_up_ms)
			       ? bad("--give-up", "a duration from 1ms to 365d") : 0;
	case O_CLAIM:
		return wk_parse_duration(v, 100, DAY_MS, &o->claim_idle_ms)
			       ? bad("--claim-idle", "a duration from 100ms to 1d") : 0;
	case O_RATE:
		return wk_parse_rate(v, &o->rate_count, &o->rate_window_ms)
			       ? bad("--rate", "N/D: 1 to 1000000 messages per duration") : 0;
	case O_TLS:
		o->have_tls = 1;
		if (strcmp(v, "none") == 0)
			o->tls = SMTP_TLS_NONE;
		else if (strcmp(v, "starttls") == 0)
			o->tls = SMTP_TLS_STARTTLS;
		else if (strcmp(v, "implicit") == 0)
			o->tls = SMTP_TLS_IMPLICIT;
		else if (strcmp(v, "opportunistic") == 0)
			o->tls = SMTP_TLS_OPPORTUNISTIC;
		else
			return bad("--tls", "none, starttls, implicit or opportunistic");
		return 0;
	default:
		return -1;
	}
}

/* Stream, group and consumer names become Redis keys and arguments: printable,
   no spaces, bounded. */
static int name_ok(const char *opt, const char *v)
{
	if (!v)
		return bad(opt, "required");
	size_t n = strlen(v);
	if (n == 0 || n > 200)
		return bad(opt, "1 to 200 characters");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return bad(opt, "no spaces or control characters");
	return 0;
}

int wk_options_parse(int argc, char **argv, struct wk_options *o)
{
	static const struct option longopts[] = {
		{"redis", required_argument, NULL, O_REDIS},
		{"stream", required_argument, NULL, O_STREAM},
		{"group", required_argument, NULL, O_GROUP},
		{"consumer", required_argument, NULL, O_CONSUMER},
		{"url", required_argument, NULL, O_URL},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"max-messages", required_argument, NULL, O_MAXMSG},
		{"idle-timeout", required_argument, NULL, O_IDLE},
		{"retry-schedule", required_argument, NULL, O_SCHEDULE},
		{"retry-jitter", required_argument, NULL, O_JITTER},
		{"give-up", required_argument, NULL, O_GIVEUP},
		{"claim-idle", required_argument, NULL, O_CLAIM},
		{"rate", required_argument, NULL, O_RATE},
		{"shared-rate", no_argument, NULL, O_SHARED},
		{"at-most-once", no_argument, NULL, O_ONCE},
		{"redis-password-file", required_argument, NULL, O_REDISPASS},
		{"ca-file", required_argument, NULL, O_CA},
		{"user", required_argument, NULL, O_USER},
		{"password-file", required_argument, NULL, O_PASSFILE},
		{"tls", required_argument, NULL, O_TLS},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof *o);
	o->idle_timeout_ms = -1;
	o->jitter = -1;
	o->claim_idle_ms = 60000;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			return 1;
		}
		if (c == O_VERSION) {
			printf("smtp-worker (libsmtp %s)\n", smtp_lib_version());
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "smtp-worker: %s: unknown option or missing value\n",
				argv[optind - 1]);
			usage(stderr);
			return -1;
		}
		if (take(c, optarg, o))
			return -1;
	}
	if (optind != argc)
		return bad(argv[optind], "unexpected argument");
	if (!o->redis)
		return bad("--redis", "required");
	if (name_ok("--stream", o->stream) || name_ok("--group", o->group) ||
	    name_ok("--consumer", o->consumer))
		return -1;
	if (!o->url)
		return bad("--url", "required");
	if (o->shared_rate && !o->rate_count)
		return bad("--shared-rate", "needs --rate N/D");
	if (o->password_file && !o->user)
		return bad("--password-file", "needs --user");
	return 0;
}

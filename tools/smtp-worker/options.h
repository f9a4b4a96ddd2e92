/* The worker's command line: what it names and how each value is checked. */
#ifndef WK_OPTIONS_H
#define WK_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <smtp.h>

#define WK_MAX_DELAYS 64

struct wk_options {
	const char *redis;           /* redis://HOST[:PORT][/DB] */
	char redis_host[256];
	int redis_port, redis_db;
	const char *redis_password_file;
	const char *stream, *group, *consumer, *url;
	unsigned max_connections, max_messages;
	int64_t idle_timeout_ms;     /* -1: the pool's default */
	int64_t delays[WK_MAX_DELAYS];
	size_t ndelays;              /* 0: the schedule's defaults */
	double jitter;               /* < 0: the schedule's default */
	int64_t give_up_ms;          /* 0: the schedule's default */
	int64_t claim_idle_ms;
	unsigned rate_count;         /* 0: no rate limit */
	int64_t rate_window_ms;
	int shared_rate, at_most_once;
	const char *ca_file, *user, *password_file;
	int have_tls;
	smtp_tls tls;
	int timeout_s;               /* 0: the session's defaults */
};

/* "500ms", "3s", "5m", "1h", "5d" -> ms in [min, max]. Returns 0 or -1. */
int wk_parse_duration(const char *s, int64_t min, int64_t max, int64_t *ms);
/* "N/D": N messages (1..1,000,000) per duration D. Returns 0 or -1. */
int wk_parse_rate(const char *s, unsigned *count, int64_t *window_ms);
/* "D,D,...": 1..64 durations of 1 ms..30 days. Returns 0 or -1. */
int wk_parse_delays(const char *s, int64_t *delays, size_t *n);
/* redis://HOST[:PORT][/DB] (port 6379, db 0 by default). Returns 0 or -1. */
int wk_parse_redis_url(const char *s, char *host, size_t hostlen, int *port, int *db);

/* Parses argv into o; on a mistake prints one line naming the option and why.
   Returns 0, 1 for --help or --version (already printed), or -1 (usage error). */
int wk_options_parse(int argc, char **argv, struct wk_options *o);

#endif

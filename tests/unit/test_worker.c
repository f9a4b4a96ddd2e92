/* Unit tests for tools/smtp-worker's strict JSON reader and writer (json.c) and its
   command-line values (options.c): durations, rates, retry schedules, Redis URLs,
   and the usage errors that name the option. */
#include <getopt.h>
#include <stdlib.h>

#include "check.h"
#include "json.h"
#include "options.h"

static int parse(const char *text, char ***v, size_t *n, char *why)
{
	return wk_json_string_array(text, strlen(text), v, n, why);
}

static void test_arrays(void)
{
	char **v;
	size_t n;
	char why[96];
	CHECK_INT(parse(" [ \"a@example.org\" ,\"b@example.org\"]\n", &v, &n, why), 0);
	CHECK_INT(n, 2);
	CHECK_STR(v[0], "a@example.org");
	CHECK_STR(v[1], "b@example.org");
	wk_json_free_strings(v, n);
	/* escapes, including a surrogate pair, become UTF-8 */
	CHECK_INT(parse("[\"\\u00e9l\\u00e8ve@exa\\/mple.org\", \"\\ud83d\\ude00\\\"\\\\\"]", &v,
			&n, why), 0);
	CHECK_STR(v[0], "\xc3\xa9l\xc3\xa8ve@exa/mple.org");
	CHECK_STR(v[1], "\xf0\x9f\x98\x80\"\\");
	wk_json_free_strings(v, n);
	CHECK_INT(parse("[\"r\xc3\xa9sum\xc3\xa9@example.org\"]", &v, &n, why), 0);
	wk_json_free_strings(v, n);
}

static void test_refused(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "not a JSON array"},
		{"\"a@b\"", "not a JSON array"},
		{"[]", "empty array"},
		{"[\"a\",]", "an element is not a string"},
		{"[\"a\" \"b\"]", "expected , or ]"},
		{"[1]", "an element is not a string"},
		{"[null]", "an element is not a string"},
		{"[[\"a\"]]", "an element is not a string"},
		{"[\"a\"] x", "bytes after the array"},
		{"[\"a\"", "expected , or ]"},
		{"[\"a", "unterminated string"},
		{"[\"a\tb\"]", "control character in a string"},
		{"[\"a\r\nRCPT TO:<x>\"]", "control character in a string"},
		{"[\"a\\u0000b\"]", "NUL in a string"},
		{"[\"a\\x\"]", "bad escape"},
		{"[\"a\\u12\"]", "bad \\u escape"},
		{"[\"\\ud800\"]", "lone high surrogate"},
		{"[\"\\udc00\"]", "lone low surrogate"},
		{"[\"\\ud800\\u0041\"]", "bad surrogate pair"},
		{"[\"\xc3\"]", "invalid UTF-8"},
		{"[\"\xc0\xaf\"]", "invalid UTF-8"},         /* overlong */
		{"[\"\xed\xa0\x80\"]", "invalid UTF-8"},     /* a surrogate in UTF-8 */
		{"[\"\xf4\x90\x80\x80\"]", "invalid UTF-8"}, /* above U+10FFFF */
		{"[\"\xff\"]", "invalid UTF-8"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char **v = (char **)1;
		size_t n = 7;
		char why[96] = "";
		CHECK_INT(parse(bad[i].text, &v, &n, why), -1);
		CHECK(v == NULL && n == 0);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)) != 0)
			fprintf(stderr, "case %zu: %s\n", i, why);
		CHECK(strncmp(why, bad[i].why, strlen(bad[i].why)) == 0);
		CHECK(strstr(why, " at offset ") != NULL);
	}
}

/* The bounds: one string of 998 bytes passes, 999 does not; 1000 elements pass,
   1001 do not; input over 256 KiB is refused before it is read. */
static void test_bounds(void)
{
	char *text = malloc(WK_JSON_MAX_INPUT + 16);
	char **v;
	size_t n;
	char why[96];
	memset(text, 'a', 1100);
	text[0] = '[';
	text[1] = '"';
	text[2 + 998] = '"';
	text[3 + 998] = ']';
	CHECK_INT(wk_json_string_array(text, 4 + 998, &v, &n, why), 0);
	CHECK_INT(strlen(v[0]), 998);
	wk_json_free_strings(v, n);
	text[2 + 998] = 'a';
	text[2 + 999] = '"';
	text[3 + 999] = ']';
	CHECK_INT(wk_json_string_array(text, 4 + 999, &v, &n, why), -1);
	CHECK(strncmp(why, "string too long", 15) == 0);
	size_t len = 0;
	text[len++] = '[';
	for (int i = 0; i < 1001; i++)
		len += (size_t)sprintf(text + len, "%s\"x\"", i ? "," : "");
	text[len++] = ']';
	CHECK_INT(wk_json_string_array(text, len, &v, &n, why), -1);
	CHECK(strncmp(why, "too many elements", 17) == 0);
	/* 1000 of them: drop the last ,"x" */
	memmove(text + len - 5, "]", 1);
	CHECK_INT(wk_json_string_array(text, len - 4, &v, &n, why), 0);
	CHECK_INT(n, 1000);
	wk_json_free_strings(v, n);
	CHECK_INT(wk_json_string_array(text, WK_JSON_MAX_INPUT + 1, &v, &n, why), -1);
	free(text);
}

static void test_writer(void)
{
	struct wk_buf b = {0};
	wk_buf_json(&b, "a\"b\\c\r\n\x01\x7f\xc3\xa9");
	CHECK_STR(b.p, "\"a\\\"b\\\\c\\u000d\\u000a\\u0001\\u007f\xc3\xa9\"");
	wk_buf_free(&b);
}

static void test_durations(void)
{
	int64_t ms = 0;
	CHECK_INT(wk_parse_duration("500ms", 0, 1000000, &ms), 0);
	CHECK_INT(ms, 500);
	CHECK_INT(wk_parse_duration("3s", 0, 1000000, &ms), 0);
	CHECK_INT(ms, 3000);
	CHECK_INT(wk_parse_duration("5m", 0, 1000000, &ms), 0);
	CHECK_INT(ms, 300000);
	CHECK_INT(wk_parse_duration("1h", 0, 100000000, &ms), 0);
	CHECK_INT(ms, 3600000);
	CHECK_INT(wk_parse_duration("5d", 0, 1000000000, &ms), 0);
	CHECK_INT(ms, 432000000);
	static const char *const bad[] = {"", "5", "s", "5 s", "5S", "-5s", "5sec", "1.5s",
					  "5s ", "9999999999999s", "3m2s"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(wk_parse_duration(bad[i], 0, 1000000000, &ms), -1);
	CHECK_INT(wk_parse_duration("2s", 0, 1999, &ms), -1);
	CHECK_INT(wk_parse_duration("50ms", 100, 1000, &ms), -1);
}

static void test_rates_and_schedules(void)
{
	unsigned n = 0;
	int64_t w = 0;
	CHECK_INT(wk_parse_rate("100/1s", &n, &w), 0);
	CHECK_INT(n, 100);
	CHECK_INT(w, 1000);
	CHECK_INT(wk_parse_rate("14/500ms", &n, &w), 0);
	CHECK_INT(wk_parse_rate("0/1s", &n, &w), -1);
	CHECK_INT(wk_parse_rate("100", &n, &w), -1);
	CHECK_INT(wk_parse_rate("100/s", &n, &w), -1);
	CHECK_INT(wk_parse_rate("1000001/1s", &n, &w), -1);
	int64_t d[WK_MAX_DELAYS];
	size_t k = 0;
	CHECK_INT(wk_parse_delays("5m,15m,30m,1h", d, &k), 0);
	CHECK_INT(k, 4);
	CHECK_INT(d[3], 3600000);
	CHECK_INT(wk_parse_delays("2s", d, &k), 0);
	CHECK_INT(k, 1);
	CHECK_INT(wk_parse_delays("5m,,1h", d, &k), -1);
	CHECK_INT(wk_parse_delays(",5m", d, &k), -1);
	CHECK_INT(wk_parse_delays("5m,", d, &k), -1);
	CHECK_INT(wk_parse_delays("0s", d, &k), -1);
	CHECK_INT(wk_parse_delays("31d", d, &k), -1);
}

static void test_redis_urls(void)
{
	char host[64];
	int port = 0, db = -1;
	CHECK_INT(wk_parse_redis_url("redis://127.0.0.1:6380/2", host, sizeof host, &port, &db), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 6380);
	CHECK_INT(db, 2);
	CHECK_INT(wk_parse_redis_url("redis://queue.example.org", host, sizeof host, &port, &db), 0);
	CHECK_INT(port, 6379);
	CHECK_INT(db, 0);
	static const char *const bad[] = {"http://h", "redis://", "redis://h:0", "redis://h:70000",
					  "redis://h/16", "redis://h/x", "redis://h a",
					  "redis://u:p@h", "redis://h:1/1/"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(wk_parse_redis_url(bad[i], host, sizeof host, &port, &db), -1);
}

static int run_args(const char *const *args)
{
	char *argv[32];
	int argc = 0;
	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	struct wk_options o;
	optind = 1;
	return wk_options_parse(argc, argv, &o);
}

static void test_command_lines(void)
{
	const char *good[] = {"smtp-worker", "--redis", "redis://127.0.0.1:6379/0", "--stream",
			      "mail", "--group", "senders", "--consumer", "w1", "--url",
			      "smtp://relay.example.org", "--rate", "10/1s", "--shared-rate",
			      "--retry-schedule", "1s,2s", "--give-up", "1h", "--claim-idle",
			      "5s", "--at-most-once", NULL};
	CHECK_INT(run_args(good), 0);
	const char *no_url[] = {"smtp-worker", "--redis", "redis://h", "--stream", "s",
				"--group", "g", "--consumer", "c", NULL};
	CHECK_INT(run_args(no_url), -1);
	const char *shared_alone[] = {"smtp-worker", "--redis", "redis://h", "--stream", "s",
				      "--group", "g", "--consumer", "c", "--url", "smtp://h",
				      "--shared-rate", NULL};
	CHECK_INT(run_args(shared_alone), -1);
	const char *bad_name[] = {"smtp-worker", "--redis", "redis://h", "--stream", "a b",
				  "--group", "g", "--consumer", "c", "--url", "smtp://h", NULL};
	CHECK_INT(run_args(bad_name), -1);
	const char *bad_jitter[] = {"smtp-worker", "--redis", "redis://h", "--stream", "s",
				    "--group", "g", "--consumer", "c", "--url", "smtp://h",
				    "--retry-jitter", "0.9", NULL};
	CHECK_INT(run_args(bad_jitter), -1);
	const char *unknown[] = {"smtp-worker", "--frobnicate", NULL};
	CHECK_INT(run_args(unknown), -1);
}

int main(void)
{
	RUN(test_arrays);
	RUN(test_refused);
	RUN(test_bounds);
	RUN(test_writer);
	RUN(test_durations);
	RUN(test_rates_and_schedules);
	RUN(test_redis_urls);
	RUN(test_command_lines);
	return CHECK_DONE("test_worker");
}

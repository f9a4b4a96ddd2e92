/* smtp-send's parsers, without a server: address lists, the header block (Bcc
   removed, Date/Message-ID/From added), input checks, URL explanations, the
   configuration file and its permission check, settings, the command line and its
   composing options (split, checked, what they exclude), "Name <addr>". The
   program itself is tested against real servers by tests/tools/run.sh. */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "smtp-send.h"

/* Error messages are expected here: keep them off the test's output. */
static int saved_stderr = -1;

static void quiet(int on)
{
	fflush(stderr);
	if (on) {
		saved_stderr = dup(2);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		close(null);
	} else {
		dup2(saved_stderr, 2);
		close(saved_stderr);
	}
}

/* The mailboxes of value, joined by " | ", or "ERROR <status>". */
static char *mailboxes(const char *value)
{
	static char out[1024];
	char **list = NULL;
	size_t n = 0;
	quiet(1);
	int rc = ss_addrlist_parse("To", value, &list, &n);
	quiet(0);
	if (rc) {
		snprintf(out, sizeof out, "ERROR %d", rc);
	} else {
		out[0] = '\0';
		for (size_t i = 0; i < n; i++)
			snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " | " : "",
				 list[i]);
	}
	ss_addrlist_free(list, n);
	return out;
}

static void test_addrlist(void)
{
	static const struct {
		const char *value, *mailboxes;
	} cases[] = {
		{"a@example.org", "a@example.org"},
		{" a@example.org , b@example.org ", "a@example.org | b@example.org"},
		{"\"Doe, John\" <j@example.org>, x@example.org", "j@example.org | x@example.org"},
		{"John Doe <j@example.org>", "j@example.org"},
		{"j@example.org (Doe, John)", "j@example.org"},
		{"(a (nested) comment) j@example.org", "j@example.org"},
		{"undisclosed-recipients:;", ""},
		{"Friends: a@example.org, \"B, b\" <b@example.org>; c@example.org",
		 "a@example.org | b@example.org | c@example.org"},
		{"<@relay.example:j@example.org>", "j@example.org"},
		{"\"a b\"@example.org", "\"a b\"@example.org"},
		{"j@[192.0.2.1]", "j@[192.0.2.1]"},
		{"\"quoted <not@this>\" <real@example.org>", "real@example.org"},
		{"a@example.org,,b@example.org,", "a@example.org | b@example.org"},
		/* an unquoted comma splits: the name alone is left for the library to refuse */
		{"Doe, John <j@example.org>", "Doe | j@example.org"},
		{"\"unterminated <a@example.org>", "ERROR 65"},
		{"<a@example.org", "ERROR 65"},
		{"a@example.org (open", "ERROR 65"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK_STR(mailboxes(cases[i].value), cases[i].mailboxes);
}

static void content(struct ss_content *ct, const char *text)
{
	memset(ct, 0, sizeof *ct);
	ct->len = strlen(text);
	ct->data = malloc(ct->len + 1);
	memcpy(ct->data, text, ct->len + 1);
}

static int has(const struct ss_content *ct, const char *needle)
{
	char *copy = strndup(ct->data, ct->len);
	int found = copy && strstr(copy, needle) != NULL;
	free(copy);
	return found;
}

static void test_scan(void)
{
	struct ss_content ct;
	content(&ct, "From: \"Doe, Jane\" <jane@example.org>\n"
		     "To: a@example.org,\n  \"B, Bee\" <b@example.org>\n"
		     "cc: undisclosed-recipients:;\n"
		     "BCC: hidden@example.org\n"
		     "Subject: To: not@this.example\n"
		     "\n"
		     "To: body@example.org\n");
	CHECK_INT(ss_headers_scan(&ct, 1), 0);
	CHECK_STR(ct.header_from, "jane@example.org");
	CHECK_INT(ct.nheader_rcpts, 3);
	if (ct.nheader_rcpts == 3) {
		CHECK_STR(ct.header_rcpts[0], "a@example.org");
		CHECK_STR(ct.header_rcpts[1], "b@example.org");
		CHECK_STR(ct.header_rcpts[2], "hidden@example.org");
	}
	ss_content_free(&ct);

	content(&ct, "To: a@example.org\n\nbody\n");
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ct.nheader_rcpts, 0);
	CHECK(ct.header_from == NULL);
	ss_content_free(&ct);

	/* a message without a header block */
	content(&ct, "just a body line\nTo: x@example.org\n");
	CHECK_INT(ss_headers_scan(&ct, 1), 0);
	CHECK_INT(ct.nheader_rcpts, 0);
	ss_content_free(&ct);
}

static void test_prepare(void)
{
	struct ss_cmdline c = {0};
	struct ss_content ct;

	/* Bcc (folded too) removed; Date and Message-ID added before the empty line */
	content(&ct, "From: a@example.org\r\nBcc: x@example.org,\r\n\ty@example.org\r\n"
		     "To: b@example.org\r\n\r\nBcc: in the body stays\r\n");
	CHECK_INT(ss_headers_scan(&ct, 1), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "a@example.org"), 0);
	CHECK(!has(&ct, "y@example.org"));
	CHECK(!has(&ct, "Bcc: x"));
	CHECK(has(&ct, "\r\nBcc: in the body stays\r\n"));
	CHECK(has(&ct, "To: b@example.org\r\nDate: "));
	CHECK(has(&ct, "@example.org>\r\n\r\nBcc: in the body"));
	CHECK(has(&ct, "\r\nMessage-ID: <"));
	CHECK(!has(&ct, "\r\nFrom: <"));
	ss_content_free(&ct);

	/* nothing to change: the bytes stay as they are */
	const char *complete = "From: a@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
			       "Message-ID: <x@example.org>\n\nbody\n";
	content(&ct, complete);
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "a@example.org"), 0);
	CHECK_MEM(ct.data, ct.len, complete, strlen(complete));
	ss_content_free(&ct);

	/* no header at all: From (with -F quoted), Date, Message-ID and an empty line */
	c.full_name = "Cron \"Daemon\"";
	content(&ct, "hello\n");
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "cron@host.example"), 0);
	CHECK(has(&ct, "From: \"Cron \\\"Daemon\\\"\" <cron@host.example>\n\nhello\n"));
	CHECK(has(&ct, "@host.example>\n"));
	ss_content_free(&ct);

	/* a non-ASCII name becomes RFC 2047 encoded-words */
	c.full_name = "J\xc3\xbcrgen";
	content(&ct, "Subject: x\n\nhi\n");
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "j@example.org"), 0);
	CHECK(has(&ct, "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\n"));
	ss_content_free(&ct);

	/* the Message-ID takes the From header's domain */
	c.full_name = NULL;
	content(&ct, "From: Someone <s@mail.example.net>\n\nhi\n");
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "other@example.org"), 0);
	CHECK(has(&ct, "@mail.example.net>\n"));
	ss_content_free(&ct);

	/* a header block that ends without an empty line gets one */
	content(&ct, "Subject: x\nnot a header line\n");
	CHECK_INT(ss_headers_scan(&ct, 0), 0);
	CHECK_INT(ss_headers_prepare(&ct, c.full_name, "a@example.org"), 0);
	CHECK(has(&ct, "<a@example.org>\n\nnot a header line\n"));
	ss_content_free(&ct);
}

static void test_input(void)
{
	quiet(1);
	CHECK_INT(ss_input_check("", 0), EX_DATAERR);
	CHECK_INT(ss_input_check("\n", 1), EX_DATAERR);
	CHECK_INT(ss_input_check(" \r\n\t\n", 5), EX_DATAERR);
	CHECK_INT(ss_input_check("a\0b\n", 4), EX_DATAERR);
	char line[1200];
	memset(line, 'x', sizeof line);
	line[998] = '\n';
	CHECK_INT(ss_input_check(line, 999), 0);
	line[998] = '\r';
	line[999] = '\n';
	CHECK_INT(ss_input_check(line, 1000), 0);
	line[998] = 'x';
	line[999] = '\n';
	CHECK_INT(ss_input_check(line, 1000), EX_DATAERR);
	quiet(0);
	CHECK_INT(ss_input_check("Subject: x\n\nbody", 16), 0);

	const char *text = "a\n.\nafter\n";
	for (int dot = 0; dot <= 1; dot++) {
		FILE *f = fmemopen((void *)text, strlen(text), "r");
		char *data = NULL;
		size_t len = 0;
		CHECK_INT(ss_input_read(f, "the test text", dot, &data, &len), 0);
		CHECK_MEM(data, len, text, dot ? 2 : strlen(text));
		free(data);
		fclose(f);
	}
}

static const char *explain(const char *url)
{
	static char buf[256];
	return ss_url_explain(url, buf, sizeof buf);
}

static void test_url(void)
{
	static const struct {
		const char *url, *why;
	} cases[] = {
		{"smpt://mail.example.org", "unknown scheme 'smpt' (expected smtp, smtps or lmtp)"},
		{"smtp://mail example.org", "the host 'mail example.org' contains a space"},
		{"smtp://mail.example.org:99999", "the port 99999 is out of range (1 to 65535)"},
		{"smtp://mail.example.org:0", "the port 0 is out of range (1 to 65535)"},
		{"smtp://mail.example.org:2x", "the port '2x' is not a number"},
		{"mail.example.org", "no scheme: a URL starts with smtp://, smtps:// or lmtp://"},
		{"smtp://mail.example.org?tls=maybe",
		 "unknown query '?tls=maybe' (expected ?tls=opportunistic, ?tls=none or ?tls=starttls)"},
		{"smtps://h.example?tls=none",
		 "a ?tls= query is only for smtp:// (smtps:// is always TLS, lmtp:// never)"},
		{"lmtp://h.example", "lmtp://host needs a port (lmtp://host:port)"},
		{"smtp://[::zz]", "'[::zz]' is not an IPv6 address"},
		{"smtp://a..b", "the host 'a..b' has an empty label (\"..\", or a dot at its start)"},
		{"smtp://u%zz@h.example", "a '%' in the user name or password is not followed by two "
					  "hex digits (write %25 for '%')"},
		{"smtp://h_x.example", "the host 'h_x.example' contains '_', which a host name cannot "
				       "hold (letters, digits, '-' and '.')"},
		{"smtp://", "no host"},
		{"smtp://h.example/x", "a path is only for lmtp:///path/to/socket"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK_STR(explain(cases[i].url), cases[i].why);
	CHECK(explain("smtp://user:pw@mail.example.org:587") == NULL);
	CHECK(explain("lmtp:///run/lmtp.sock") == NULL);

	int user, password;
	ss_url_userinfo("smtp://me%40x:se@cret@h.example", &user, &password);
	CHECK(user && password);
	ss_url_userinfo("smtp://me@h.example", &user, &password);
	CHECK(user && !password);
	ss_url_userinfo("smtp://h.example", &user, &password);
	CHECK(!user && !password);
	char shown[128];
	ss_url_redact("smtp://me:secret@h.example:25", shown, sizeof shown);
	CHECK_STR(shown, "smtp://me:****@h.example:25");
	char *u = ss_url_user("smtp://me%40x.example:pw@h.example");
	CHECK_STR(u, "me@x.example");
	free(u);
}

/* Writes text to a new file of the given mode in dir; returns its path. */
static char *write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return path;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static int load(const char *path, struct ss_config *cfg)
{
	quiet(1);
	int rc = ss_config_load(path, 1, cfg);
	quiet(0);
	return rc;
}

static void test_config(void)
{
	char dir[] = "/tmp/test_smtp_send.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	if (check_failed_here)
		return;
	struct ss_config cfg;
	char *p = write_file(dir, "good", "# accounts\n[default]\nurl = smtp://mail.example.org\n"
				       "  user=me@example.org  \n; other comment\n"
				       "password = \" two words \"\n\n[work]\nfrom = w@example.net\n"
				       "timeout = 30\n", 0600);
	CHECK_INT(load(p, &cfg), 0);
	CHECK_INT(cfg.count, 2);
	const struct ss_account *a = ss_config_find(&cfg, "default");
	CHECK(a != NULL);
	if (a) {
		CHECK_STR(a->url, "smtp://mail.example.org");
		CHECK_STR(a->user, "me@example.org");
		CHECK_STR(a->password, " two words ");
	}
	a = ss_config_find(&cfg, "work");
	CHECK(a && a->from && strcmp(a->from, "w@example.net") == 0);
	CHECK(ss_config_find(&cfg, "none") == NULL);
	ss_config_free(&cfg);

	/* a password readable by others is refused; without one the file may be read */
	chmod(p, 0644);
	CHECK_INT(load(p, &cfg), EX_CONFIG);
	ss_config_free(&cfg);
	p = write_file(dir, "urlpw", "[default]\nurl = smtp://u:pw@h.example\n", 0640);
	CHECK_INT(load(p, &cfg), EX_CONFIG);
	ss_config_free(&cfg);
	p = write_file(dir, "nopw", "[default]\nurl = smtp://h.example\npassword-cmd = true\n", 0644);
	CHECK_INT(load(p, &cfg), 0);
	ss_config_free(&cfg);
	/* writable by others: refused even without a password (it names a command) */
	chmod(p, 0666);
	CHECK_INT(load(p, &cfg), EX_CONFIG);
	ss_config_free(&cfg);

	static const char *const bad[] = {
		"url = x\n",                          /* before any [NAME] */
		"[a]\ncolour = blue\n",               /* unknown key */
		"[a]\nurl = x\nurl = y\n",            /* twice */
		"[a]\n[a]\n",                         /* account twice */
		"[a b]\n",                            /* name */
		"[a]\nuser = \"open\n",               /* quote */
		"[a]\nuser =\n",                      /* empty */
		"[a]\njust words\n",                  /* no '=' */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p = write_file(dir, "bad", bad[i], 0600);
		CHECK_INT(load(p, &cfg), EX_CONFIG);
		ss_config_free(&cfg);
	}
	snprintf(p, 512, "%s/missing", dir);
	CHECK_INT(load(p, &cfg), EX_NOINPUT);
	CHECK_INT(ss_config_load(p, 0, &cfg), 0); /* the default path may be missing */
	CHECK(cfg.path == NULL);
	ss_config_free(&cfg);

	static const char *const names[] = {"good", "urlpw", "nopw", "bad"};
	for (size_t i = 0; i < 4; i++)
		unlink(write_file(dir, names[i], "", 0600));
	rmdir(dir);
}

static int merge(const struct ss_cmdline *c, const struct ss_config *cfg, struct ss_settings *st)
{
	quiet(1);
	int rc = ss_settings_merge(c, cfg, st);
	quiet(0);
	return rc;
}

static void test_settings(void)
{
	struct ss_account accounts[2] = {
		{.name = "default", .url = "smtp://d.example", .user = "d@example.org",
		 .password_cmd = "echo pw", .from = "d@example.org"},
		{.name = "nouser", .url = "smtp://n.example", .password_file = "/dev/null"},
	};
	struct ss_config cfg = {.path = "config", .accounts = accounts, .count = 2};
	struct ss_settings st;
	struct ss_cmdline c = {0};

	CHECK_INT(merge(&c, &cfg, &st), 0); /* [default] without --url */
	CHECK_STR(st.url, "smtp://d.example");
	CHECK_INT(st.secret.kind, SS_SECRET_CMD);
	CHECK_STR(st.from, "d@example.org");

	c.url = "smtp://other.example"; /* --url alone: no account, its password stays */
	CHECK_INT(merge(&c, &cfg, &st), 0);
	CHECK_INT(st.secret.kind, SS_SECRET_NONE);
	CHECK(st.from == NULL);

	c.secret = (struct ss_secret){SS_SECRET_FILE, "/dev/null", "--password-file"};
	CHECK_INT(merge(&c, &cfg, &st), EX_USAGE); /* --password-file without --user */
	c.user = "u@example.org";
	CHECK_INT(merge(&c, &cfg, &st), 0);
	c.url = "smtp://me@other.example"; /* the user may come from the URL */
	c.user = NULL;
	CHECK_INT(merge(&c, &cfg, &st), 0);

	c = (struct ss_cmdline){.account = "nouser"};
	CHECK_INT(merge(&c, &cfg, &st), EX_CONFIG); /* password-file without user */
	c.account = "missing";
	CHECK_INT(merge(&c, &cfg, &st), EX_USAGE);
	c = (struct ss_cmdline){.url = "smtp://h.example", .user = "u@example.org"};
	unsetenv("SMTP_PASSWORD");
	CHECK_INT(merge(&c, &cfg, &st), EX_USAGE); /* a user and no password */
	setenv("SMTP_PASSWORD", "from-env", 1);
	CHECK_INT(merge(&c, &cfg, &st), 0);
	CHECK_INT(st.secret.kind, SS_SECRET_TEXT);
	CHECK_STR(st.secret.value, "from-env");
	unsetenv("SMTP_PASSWORD");

	struct ss_config empty = {0};
	c = (struct ss_cmdline){0};
	CHECK_INT(merge(&c, &empty, &st), EX_USAGE); /* no --url and no account */
}

/* Parses args into *c (free it with ss_options_free), messages kept quiet. */
static int parse_into(enum ss_persona persona, const char *const *args, struct ss_cmdline *c)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)(persona == SS_SENDMAIL ? "sendmail" : "smtp-send");
	while (args[argc - 1] && argc < 63) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	*c = (struct ss_cmdline){.persona = persona};
	optind = 0;
	quiet(1);
	int rc = ss_options_parse(argc, argv, c);
	quiet(0);
	return rc;
}

static int parse(enum ss_persona persona, const char *const *args)
{
	struct ss_cmdline c;
	int rc = parse_into(persona, args, &c);
	ss_options_free(&c);
	return rc;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_options(void)
{
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--url", "smtp://h", "--to", "a@b.example")), 0);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--tls", "bogus")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--timeout", "0")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--timeout", "5s")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--timeout", "86401")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--timeout", "86400")), 0);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--url")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--frobnicate")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--password-file", "f", "--password-cmd", "c")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--notify", "never,success")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--key", "k.pem")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("-F", "Eve\r\nBcc: victim@example.org")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("-F", "bad \xff utf-8")), EX_USAGE);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("-t", "-i", "-f", "a@b.example", "-F", "A B")), 0);
	/* sendmail's flags only under its name */
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("-oem")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-FCronDaemon", "-i", "-B8BITMIME", "-oem", "u@x.example")), 0);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-odi", "-oem", "-oi", "-bm", "-t", "-U", "--", "a@x.example")), 0);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-bs")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-bd")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-bp")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-q")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-q30m")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-oQ/var/spool")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-BBINARY")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-X", "log")), EX_USAGE);
}

/* The composing options: values split and checked, what they exclude together. */
static void test_compose_options(void)
{
	struct ss_cmdline c;
	CHECK_INT(parse_into(SS_SMTP_SEND, ARGS("--to", "a@x.example", "--subject", "Hi\tthere",
				"--attach", "dir;v2/f.pdf;type=application/pdf;name=a;b.pdf",
				"--attach", "plain.bin", "--html", "@page.html",
				"--inline", "logo.png;cid=logo.1;type=image/png",
				"--header", "X-A: 1", "--cc", "C <c@x.example>", "--bcc", "b@x.example",
				"--print"), &c), 0);
	CHECK(ss_composing(&c));
	CHECK_INT(c.print, 1);
	CHECK_INT(ss_compose_rcpts(&c), 3);
	CHECK(c.compose && c.compose->nattach == 2 && c.compose->ninline == 1);
	if (c.compose && c.compose->nattach == 2 && c.compose->ninline == 1) {
		const struct ss_part *a = c.compose->attach, *i = c.compose->inlines;
		CHECK_STR(a[0].path, "dir;v2/f.pdf"); /* a ';' of the file name stays */
		CHECK_STR(a[0].type, "application/pdf");
		CHECK_STR(a[0].name, "a;b.pdf");
		CHECK_STR(a[1].path, "plain.bin");
		CHECK(a[1].type == NULL && a[1].name == NULL);
		CHECK_STR(i[0].path, "logo.png");
		CHECK_STR(i[0].cid, "logo.1");
		CHECK_STR(i[0].type, "image/png");
		CHECK_STR(c.compose->subject, "Hi\tthere");
		CHECK_INT(c.compose->nheader, 1);
	}
	ss_options_free(&c);

	/* --dkim-* alone sign a message read from standard input: nothing composed */
	CHECK_INT(parse_into(SS_SMTP_SEND, ARGS("--dkim-domain", "example.org", "--dkim-selector",
				"s1", "--dkim-key", "k.pem"), &c), 0);
	CHECK(c.compose && !ss_composing(&c));
	ss_options_free(&c);

	const char *const *const usage[] = {
		/* a line break in what goes into a header: refused, never a new field */
		ARGS("--subject", "Hi\r\nBcc: victim@x.example"),
		ARGS("--subject", "Hi\nthere"),
		ARGS("--subject", "bad \xff utf-8"),
		ARGS("--subject", "a", "--subject", "b"),
		ARGS("--header", "X-A: 1\r\nBcc: victim@x.example"),
		ARGS("--header", "X-A 1"),
		ARGS("--header", ": 1"),
		ARGS("--header", "X A: 1"),
		ARGS("--header", "X-\xc3\x84: 1"),
		ARGS("--header", "X-A\r\nBcc: v@x.example: 1"),
		ARGS("--attach", "f;name=a\r\nX-Evil: 1"),
		ARGS("--attach", "f;type=text/plain\nX: y"),
		ARGS("--attach", ";type=text/plain"),
		ARGS("--attach", "f;type=a/b;type=c/d"),
		ARGS("--attach", "f;cid=x"),
		ARGS("--html", "x", "--inline", "f"),
		ARGS("--html", "x", "--inline", "f;cid=a\nb"),
		ARGS("--html", "x", "--inline", "f;cid=a;name=b"),
		ARGS("--inline", "f;cid=a"),
		ARGS("--text", "@"),
		ARGS("--text", "-", "--html", "-"),
		ARGS("--text", "a", "--text", "b"),
		ARGS("--dkim-domain", "example.org"),
		ARGS("--dkim-domain", "example.org", "--dkim-key", "k.pem"),
		ARGS("--dkim-domain", "example.org\r\nX: y", "--dkim-selector", "s", "--dkim-key", "k"),
		ARGS("--dkim-domain", "d", "--dkim-selector", "s\n", "--dkim-key", "k"),
		ARGS("--utf8"),
		ARGS("-t", "--subject", "x"),
		ARGS("--notify", "success", "--text", "x"),
		ARGS("-F", "Eve\nBcc: victim@x.example", "--text", "x"),
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		int rc = parse(SS_SMTP_SEND, usage[i]);
		if (rc != EX_USAGE)
			fprintf(stderr, "usage case %zu (%s %s): %d\n", i, usage[i][0], usage[i][1], rc);
		CHECK_INT(rc, EX_USAGE);
	}
	/* sendmail -t reads the message; composing options with it are refused too */
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-t", "-i", "--text", "x")), EX_USAGE);
	CHECK_INT(parse(SS_SENDMAIL, ARGS("-i", "--text", "x", "a@x.example")), 0);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--utf8", "--subject", "Gr\xc3\xbc\xc3\x9f" "e")), 0);
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--header", "X-Tab:\tv\tw", "--text", "-")), 0);
	char long_subject[16386];
	memset(long_subject, 'x', sizeof long_subject - 1);
	long_subject[sizeof long_subject - 1] = '\0';
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--subject", long_subject)), EX_USAGE);
	long_subject[16384] = '\0';
	CHECK_INT(parse(SS_SMTP_SEND, ARGS("--subject", long_subject)), 0);
}

/* --attach's values in double quotes: ';' and '=' are the value's, \" a quote. */
static void test_part_quoting(void)
{
	static const struct {
		const char *spec, *path, *type, *name;
	} cases[] = {
		{"f.pdf;name=\"Q1; final=draft.pdf\";type=application/pdf", "f.pdf",
		 "application/pdf", "Q1; final=draft.pdf"},
		{"f;type=text/plain;name=\"a;type=b;cid=c\"", "f", "text/plain", "a;type=b;cid=c"},
		{"f;name=\"say \\\"hi\\\".txt\"", "f", NULL, "say \"hi\".txt"},
		{"f;name=\"back\\\\slash\"", "f", NULL, "back\\slash"},
		{"f;type=\"text/plain; charset=utf-8\"", "f", "text/plain; charset=utf-8", NULL},
		/* without quotes as before: a value runs to the next ;key= */
		{"f;name=a \"b\".txt", "f", NULL, "a \"b\".txt"},
		{"f;name=a;b.pdf;type=a/b", "f", "a/b", "a;b.pdf"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ss_cmdline c;
		CHECK_INT(parse_into(SS_SMTP_SEND, ARGS("--attach", cases[i].spec), &c), 0);
		CHECK(c.compose && c.compose->nattach == 1);
		if (c.compose && c.compose->nattach == 1) {
			const struct ss_part *a = c.compose->attach;
			CHECK_STR(a->path, cases[i].path);
			CHECK(cases[i].type ? a->type && strcmp(a->type, cases[i].type) == 0 : !a->type);
			CHECK(cases[i].name ? a->name && strcmp(a->name, cases[i].name) == 0 : !a->name);
		}
		ss_options_free(&c);
	}
	static const char *const bad[] = {
		"f;name=\"unterminated",
		"f;name=\"ends in an escaped quote\\\"",
		"f;name=\"ends in a backslash\\",
		"f;name=\"a\"b",
		"f;name=\"a\";x=y",
		"f;name=\"a\";name=b",
		"f;name=\"line\r\nX-Evil: 1\"",
		"f;name=\"\";type=a/b",
		"f;name=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(SS_SMTP_SEND, ARGS("--attach", bad[i]));
		if (rc != EX_USAGE)
			fprintf(stderr, "quoting case %zu (%s): %d\n", i, bad[i], rc);
		CHECK_INT(rc, EX_USAGE);
	}
}

/* --dkim-*: the triple repeated, the n-th of each together, at most 8. */
static void test_dkim_options(void)
{
	struct ss_cmdline c;
	CHECK_INT(parse_into(SS_SMTP_SEND, ARGS("--dkim-domain", "a.example", "--dkim-domain",
				"b.example", "--dkim-selector", "ed", "--dkim-key", "ed.pem",
				"--dkim-selector", "rsa", "--dkim-key", "rsa.pem"), &c), 0);
	CHECK_INT(ss_dkim_count(c.compose), 2);
	if (ss_dkim_count(c.compose) == 2) {
		const struct ss_dkim_opts *k = c.compose->dkim;
		CHECK_STR(k[0].domain, "a.example");
		CHECK_STR(k[0].selector, "ed");
		CHECK_STR(k[0].key, "ed.pem");
		CHECK_STR(k[1].domain, "b.example");
		CHECK_STR(k[1].selector, "rsa");
		CHECK_STR(k[1].key, "rsa.pem");
	}
	CHECK(!ss_composing(&c));
	ss_options_free(&c);
	CHECK_INT(ss_dkim_count(NULL), 0);

	const char *triples[64];
	size_t n = 0;
	for (int i = 0; i < 9; i++) {
		triples[n++] = "--dkim-domain";
		triples[n++] = "example.org";
		triples[n++] = "--dkim-selector";
		triples[n++] = "s";
		triples[n++] = "--dkim-key";
		triples[n++] = "k.pem";
	}
	triples[8 * 6] = NULL;
	CHECK_INT(parse_into(SS_SMTP_SEND, triples, &c), 0);
	CHECK_INT(ss_dkim_count(c.compose), 8);
	ss_options_free(&c);
	triples[8 * 6] = "--dkim-domain";
	triples[8 * 6 + 2] = NULL; /* a 9th domain */
	CHECK_INT(parse(SS_SMTP_SEND, triples), EX_USAGE);
	triples[8 * 6] = "--dkim-key";
	CHECK_INT(parse(SS_SMTP_SEND, triples), EX_USAGE); /* a 9th key */

	const char *const *const usage[] = {
		ARGS("--dkim-domain", "a", "--dkim-selector", "s", "--dkim-key", "k",
		     "--dkim-domain", "b", "--dkim-selector", "t"),
		ARGS("--dkim-domain", "a", "--dkim-selector", "s", "--dkim-key", "k",
		     "--dkim-key", "k2"),
		ARGS("--dkim-domain", "a", "--dkim-domain", "b", "--dkim-selector", "s",
		     "--dkim-selector", "t", "--dkim-key", "k"),
		ARGS("--dkim-selector", "s", "--dkim-key", "k"),
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
		CHECK_INT(parse(SS_SMTP_SEND, usage[i]), EX_USAGE);
}

/* One mailbox of the command line: address and display name. */
static void test_mailbox_split(void)
{
	static const struct {
		const char *text, *addr, *name;
	} cases[] = {
		{"a@x.example", "a@x.example", ""},
		{"<a@x.example>", "a@x.example", ""},
		{"Ann Example <a@x.example>", "a@x.example", "Ann Example"},
		{"\"Doe, Jane\" <j@x.example>", "j@x.example", "Doe, Jane"},
		{"J\xc3\xb6rg <j@x.example>", "j@x.example", "J\xc3\xb6rg"},
		{"<>", "", ""},
	};
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(ss_mailbox_split("--to", cases[i].text, addr, name), 0);
		CHECK_STR(addr, cases[i].addr);
		CHECK_STR(name, cases[i].name);
	}
	static const char *const bad[] = {
		"not an address", "Eve <e@x.example>\r\nBcc: v@x.example",
		"Eve\r\nBcc: v@x.example <e@x.example>", "<a@x.example", "a@x.example\n",
	};
	quiet(1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(ss_mailbox_split("--to", bad[i], addr, name), EX_DATAERR);
	quiet(0);
}

static void test_check_text(void)
{
	quiet(1);
	CHECK_INT(ss_check_text("--subject", "caf\xc3\xa9", 5, 0), 0);
	CHECK_INT(ss_check_text("--subject", "caf\xc3\xa9!", 5, 0), EX_USAGE); /* 6 octets */
	CHECK_INT(ss_check_text("--subject", "a\tb", 10, 0), EX_USAGE);
	CHECK_INT(ss_check_text("--subject", "a\tb", 10, 1), 0);
	CHECK_INT(ss_check_text("--subject", "a\x7f", 10, 1), EX_USAGE);
	CHECK_INT(ss_check_text("--subject", "\xc3", 10, 1), EX_USAGE);       /* cut short */
	CHECK_INT(ss_check_text("--subject", "\xed\xa0\x80", 10, 1), EX_USAGE); /* a surrogate */
	quiet(0);
}

int main(void)
{
	RUN(test_addrlist);
	RUN(test_scan);
	RUN(test_prepare);
	RUN(test_input);
	RUN(test_url);
	RUN(test_config);
	RUN(test_settings);
	RUN(test_options);
	RUN(test_compose_options);
	RUN(test_part_quoting);
	RUN(test_dkim_options);
	RUN(test_mailbox_split);
	RUN(test_check_text);
	return CHECK_DONE("test_smtp_send");
}

/* Composed messages through real servers, read back by an independent parser and
   verifier: Python's email package (policy=default) and dkimpy, run by
   tests/integration/compose_check.py on what the server stored.

   Servers (started by run.sh):
     aiosmtpd (plain, SMTPUTF8)    stores each message (.eml) and its envelope (.json)
     aiosmtpd without size limit   the 25 MiB attachment
     Postfix submission            STARTTLS and AUTH (Dovecot SASL), relaying to
                                   smtp-sink, whose dumps the checker reads
   DKIM keys are made with openssl at the start, in a temporary directory that is
   removed at the end; no key is kept in the repository. */
#include "it_common.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char rsa_key[128], ed_key[128], rsa1024_key[128], rsa4096_key[128];

static void path_in(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void random_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");
	unsigned char blk[65536];
	if (!f)
		exit(2);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof blk ? n - done : sizeof blk;
		if (RAND_bytes(blk, (int)k) != 1 || fwrite(blk, 1, k, f) != k)
			exit(2);
		done += k;
	}
	fclose(f);
}

/* Writes JSON: %s is a string (escaped, NULL is null), %d an int, %r raw text. */
static void jprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			fputc(*p, f);
			continue;
		}
		p++;
		if (*p == 'd') {
			fprintf(f, "%d", va_arg(ap, int));
		} else if (*p == 'r') {
			fputs(va_arg(ap, const char *), f);
		} else {
			const unsigned char *s = va_arg(ap, const unsigned char *);
			if (!s) {
				fputs("null", f);
				continue;
			}
			fputc('"', f);
			for (; *s; s++) {
				if (*s == '"' || *s == '\\')
					fprintf(f, "\\%c", *s);
				else if (*s < 0x20)
					fprintf(f, "\\u%04x", *s);
				else
					fputc(*s, f);
			}
			fputc('"', f);
		}
	}
	va_end(ap);
}

/* The record file in d whose first 64 KiB hold marker (aiosmtpd: only finished
   .eml files), waiting up to 10 s for the server to write it. */
static int find_record(const char *d, const char *marker, int eml_only, char *path, size_t cap)
{
	for (int tries = 0; tries < 200; tries++) {
		DIR *dd = opendir(d);
		struct dirent *e;
		int found = 0;
		while (dd && !found && (e = readdir(dd)) != NULL) {
			size_t nl = strlen(e->d_name);
			if (e->d_name[0] == '.' || (eml_only && (nl < 4 || strcmp(e->d_name + nl - 4, ".eml"))))
				continue;
			snprintf(path, cap, "%s/%s", d, e->d_name);
			FILE *f = fopen(path, "rb");
			char head[65536];
			size_t n = f ? fread(head, 1, sizeof head, f) : 0;
			if (f)
				fclose(f);
			found = memmem(head, n, marker, strlen(marker)) != NULL;
		}
		if (dd)
			closedir(dd);
		if (found)
			return 0;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "no record with %s in %s\n", marker, d);
	return -1;
}

/* The envelope aiosmtpd recorded beside an .eml (its .json), or NULL. */
static char *envelope_of(const char *eml)
{
	char json[600];
	size_t n = strlen(eml), len;
	snprintf(json, sizeof json, "%.*s.json", (int)(n - 4), eml);
	return it_read_file(json, &len);
}

/* The SIZE= the client declared, from aiosmtpd's envelope record. */
static int declared_size(const char *env)
{
	const char *p = env ? strstr(env, "\"SIZE=") : NULL;
	return p ? atoi(p + 6) : -1;
}

static int run_check(const char *expect, const char *record, int sink)
{
	int rc = shell("%s %s %s %s%s", it_env("SMTP_IT_PYTHON"), it_env("SMTP_IT_COMPOSE_CHECK"),
		       expect, record, sink ? " --sink" : "");
	if (rc != 0)
		fprintf(stderr, "compose_check failed for %s\n", record);
	return rc;
}

static smtp_dkim *signer(const char *key, const char *selector, smtp_dkim_canon hc,
			 smtp_dkim_canon bc)
{
	smtp_dkim *d = smtp_dkim_new();
	CHECK_INT(smtp_dkim_set_domain(d, "example.org", selector), 0);
	CHECK_INT(smtp_dkim_set_key_file(d, key), 0);
	CHECK_INT(smtp_dkim_set_canon(d, hc, bc), 0);
	return d;
}

static void add_signer(smtp_compose *c, const char *key, const char *sel, smtp_dkim_canon hc,
		       smtp_dkim_canon bc)
{
	smtp_dkim *d = signer(key, sel, hc, bc);
	CHECK_INT(smtp_compose_add_dkim(c, d), 0);
	smtp_dkim_free(d);
}

static void marker(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "it-compose-%s-%s-%ld", name, it_mode(), (long)getpid());
}

/* Sends m over s (a report on failure), then QUIT and frees s. */
static int send_to(smtp_session *s, smtp_message *m)
{
	int rc = it_send(s, m);
	if (rc != 0) {
		char text[8192];
		smtp_report_text(smtp_message_report(m), text, sizeof text);
		fprintf(stderr, "send failed: %s\n%s", smtp_error_name(rc), text);
	}
	it_quit(s);
	smtp_session_free(s);
	return rc;
}

static const char text_body[] =
	"Hallo J\xc3\xb6rg,\n\nthis line is long enough to need quoted-printable soft line breaks, "
	"as it runs well past seventy-eight octets.\nA trailing space \n.a leading dot\nEnd.\n";
static const char html_body[] =
	"<html><body><p>Hallo J&ouml;rg</p><img src=\"cid:logo@example.org\"></body></html>\n";
static const char subject[] = "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln: a subject long enough to be "
			      "folded, with \xc3\xbcmlauts and \xe2\x82\xac signs";

/* A message from sender@example.org with the marker, the subject and both bodies. */
static smtp_compose *with_bodies(const char *mk, const char *from_name)
{
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_set_from(c, "sender@example.org", from_name), 0);
	CHECK_INT(smtp_compose_set_subject(c, subject), 0);
	CHECK_INT(smtp_compose_add_header(c, "X-Marker", mk), 0);
	CHECK_INT(smtp_compose_set_text(c, text_body), 0);
	CHECK_INT(smtp_compose_set_html(c, html_body), 0);
	return c;
}

/* Every kind of part, both DKIM algorithms, through aiosmtpd: structure, decoded
   headers and bodies, attachments byte for byte (0 B, 1 B, 57 B, 1 MiB; ASCII,
   UTF-8 and quoted names), Bcc only in the envelope, the SIZE hint exact. */
static void test_full_message(void)
{
	char mk[128], f1[128], f57[128], fbig[128], flogo[128], fempty[128], exp[128], rec[512];
	marker(mk, sizeof mk, "full");
	path_in(fempty, sizeof fempty, "empty.bin");
	path_in(f1, sizeof f1, "one.bin");
	path_in(f57, sizeof f57, "p57.bin");
	path_in(fbig, sizeof fbig, "mib.bin");
	path_in(flogo, sizeof flogo, "logo.png");
	random_file(fempty, 0);
	random_file(f1, 1);
	random_file(f57, 57);
	random_file(fbig, 1 << 20);
	random_file(flogo, 300);
	size_t n57;
	char *d57 = it_read_file(f57, &n57);

	smtp_compose *c = with_bodies(mk, "J\xc3\xb6rg M\xc3\xbcller");
	CHECK_INT(smtp_compose_add_to(c, "suzie@example.net", "Suzie Q"), 0);
	CHECK_INT(smtp_compose_add_to(c, "to2@example.net", NULL), 0);
	CHECK_INT(smtp_compose_add_cc(c, "cc@example.net", "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9, Cc"),
		  0);
	CHECK_INT(smtp_compose_add_bcc(c, "hidden@example.net", "Hidden"), 0);
	CHECK_INT(smtp_compose_add_reply_to(c, "replies@example.org", NULL), 0);
	CHECK_INT(smtp_compose_add_attachment(c, "", 0, "empty.bin", NULL), 0);
	CHECK_INT(smtp_compose_add_attachment_file(c, f1, "one.bin", NULL), 0);
	CHECK_INT(smtp_compose_add_attachment(c, d57, n57,
					      "Pr\xc3\xbc" "fbericht \xe2\x9c\x93 \"final\".bin", NULL),
		  0);
	CHECK_INT(smtp_compose_add_attachment_file(c, fbig, "say \"cheese\"; it's 1 MiB.dat", NULL),
		  0);
	CHECK_INT(smtp_compose_add_inline_file(c, flogo, "logo@example.org", NULL), 0);
	add_signer(c, rsa_key, "rsa", SMTP_DKIM_RELAXED, SMTP_DKIM_RELAXED);
	add_signer(c, ed_key, "ed", SMTP_DKIM_SIMPLE, SMTP_DKIM_SIMPLE);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(send_to(it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE), m), 0);

	CHECK_INT(find_record(it_env("SMTP_IT_AIO_DIR"), mk, 1, rec, sizeof rec), 0);
	char *env = envelope_of(rec);
	CHECK(env && strstr(env, "\"mail_from\": \"sender@example.org\""));
	CHECK(env && strstr(env, "\"hidden@example.net\"") && strstr(env, "\"cc@example.net\"") &&
	      strstr(env, "\"to2@example.net\"") && strstr(env, "\"suzie@example.net\""));
	path_in(exp, sizeof exp, "full.json");
	FILE *f = fopen(exp, "w");
	jprintf(f, "{\"structure\": %s, \"headers\": {\"Subject\": %s, \"X-Marker\": %s},"
		   " \"absent\": [\"Bcc\"], \"text\": %s, \"html\": %s, \"size\": %d,",
		"multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,"
		"image/png)),application/octet-stream,application/octet-stream,"
		"application/octet-stream,application/octet-stream)",
		subject, mk, text_body, html_body, declared_size(env));
	jprintf(f, " \"addresses\": {\"From\": [[%s, \"sender@example.org\"]],"
		   " \"To\": [[\"Suzie Q\", \"suzie@example.net\"], [\"\", \"to2@example.net\"]],"
		   " \"Cc\": [[%s, \"cc@example.net\"]], \"Reply-To\": [[\"\", \"replies@example.org\"]]},",
		"J\xc3\xb6rg M\xc3\xbcller", "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9, Cc");
	jprintf(f, " \"parts\": [{\"path\": \"0.1.1\", \"cid\": \"<logo@example.org>\","
		   " \"content_type\": \"image/png\", \"disposition\": \"inline\", \"file\": %s},",
		flogo);
	jprintf(f, " {\"path\": \"1\", \"filename\": \"empty.bin\", \"disposition\": \"attachment\","
		   " \"file\": %s}, {\"path\": \"2\", \"filename\": \"one.bin\", \"file\": %s},",
		fempty, f1);
	jprintf(f, " {\"path\": \"3\", \"filename\": %s, \"file\": %s},"
		   " {\"path\": \"4\", \"filename\": %s, \"file\": %s}],",
		"Pr\xc3\xbc" "fbericht \xe2\x9c\x93 \"final\".bin", f57, "say \"cheese\"; it's 1 MiB.dat",
		fbig);
	jprintf(f, " \"dkim\": [{\"domain\": \"example.org\", \"selector\": \"rsa\", \"key\": %s},"
		   " {\"domain\": \"example.org\", \"selector\": \"ed\", \"key\": %s}]}",
		rsa_key, ed_key);
	fclose(f);
	CHECK_INT(run_check(exp, rec, 0), 0);
	free(env);
	free(d57);
	smtp_message_free(m);
	smtp_compose_free(c);
}

struct signing {
	const char *name;
	const char *keys[2], *sels[2];
	smtp_dkim_canon hc[2], bc[2];
};

/* rsa-sha256, ed25519-sha256 and both, relaxed and simple, and RSA at 1024 and
   4096 bits: each verified by dkimpy after aiosmtpd stored it, then altered. */
static void test_dkim_matrix(void)
{
	const smtp_dkim_canon R = SMTP_DKIM_RELAXED, S = SMTP_DKIM_SIMPLE;
	const struct signing v[] = {
		{"rsa-relaxed", {rsa_key}, {"rsa"}, {R}, {R}},
		{"rsa-simple", {rsa_key}, {"rsa"}, {S}, {S}},
		{"ed-relaxed", {ed_key}, {"ed"}, {R}, {R}},
		{"ed-simple", {ed_key}, {"ed"}, {S}, {S}},
		{"both-relaxed", {rsa_key, ed_key}, {"rsa", "ed"}, {R, R}, {R, R}},
		{"both-simple", {rsa_key, ed_key}, {"rsa", "ed"}, {S, S}, {S, S}},
		{"both-mixed", {ed_key, rsa_key}, {"ed", "rsa"}, {R, S}, {S, R}},
		{"rsa-1024-4096", {rsa1024_key, rsa4096_key}, {"r1024", "r4096"}, {R, S}, {R, S}},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char mk[128], exp[128], rec[512], att[128], keys[1024] = "";
		marker(mk, sizeof mk, v[i].name);
		path_in(att, sizeof att, "matrix.bin");
		random_file(att, 3000);
		smtp_compose *c = smtp_compose_new();
		CHECK_INT(smtp_compose_set_from(c, "dkim@example.org", "DKIM Test"), 0);
		CHECK_INT(smtp_compose_add_to(c, "rcpt@example.net", NULL), 0);
		CHECK_INT(smtp_compose_set_subject(c, v[i].name), 0);
		CHECK_INT(smtp_compose_add_header(c, "X-Marker", mk), 0);
		CHECK_INT(smtp_compose_set_text(c, "  spaced   text \t\n\n\n"), 0);
		CHECK_INT(smtp_compose_set_html(c, "<p>html</p>"), 0);
		CHECK_INT(smtp_compose_add_attachment_file(c, att, NULL, NULL), 0);
		for (int k = 0; k < 2 && v[i].keys[k]; k++) {
			add_signer(c, v[i].keys[k], v[i].sels[k], v[i].hc[k], v[i].bc[k]);
			char one[400];
			snprintf(one, sizeof one,
				 "%s{\"domain\": \"example.org\", \"selector\": \"%s\", \"key\": \"%s\"}",
				 k ? ", " : "", v[i].sels[k], v[i].keys[k]);
			strcat(keys, one);
		}
		smtp_message *m = smtp_message_new();
		CHECK_INT(smtp_compose_to_message(c, m), 0);
		CHECK_INT(send_to(it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE),
				  m),
			  0);
		CHECK_INT(find_record(it_env("SMTP_IT_AIO_DIR"), mk, 1, rec, sizeof rec), 0);
		path_in(exp, sizeof exp, "matrix.json");
		FILE *f = fopen(exp, "w");
		jprintf(f, "{\"headers\": {\"Subject\": %s}, \"text\": \"  spaced   text \\t\\n\\n\\n\","
			   " \"parts\": [{\"path\": \"1\", \"file\": %s}], \"dkim\": [%r]}",
			v[i].name, att, keys);
		fclose(f);
		CHECK_INT(run_check(exp, rec, 0), 0);
		smtp_message_free(m);
		smtp_compose_free(c);
	}
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 25 MiB file attachment, DKIM-signed: read from the file as it is sent (twice,
   the first time for the body hash), never held in memory, arriving intact. */
static void test_25_mib_attachment(void)
{
	char mk[128], big[128], exp[128], rec[512];
	marker(mk, sizeof mk, "25mib");
	path_in(big, sizeof big, "25mib.bin");
	random_file(big, (size_t)25 << 20);
	long rss_before = max_rss_kib();
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_set_from(c, "big@example.org", NULL), 0);
	CHECK_INT(smtp_compose_add_to(c, "rcpt@example.net", NULL), 0);
	CHECK_INT(smtp_compose_set_subject(c, "25 MiB"), 0);
	CHECK_INT(smtp_compose_add_header(c, "X-Marker", mk), 0);
	CHECK_INT(smtp_compose_set_text(c, "attached\n"), 0);
	CHECK_INT(smtp_compose_add_attachment_file(c, big, "big.bin", NULL), 0);
	add_signer(c, rsa_key, "rsa", SMTP_DKIM_RELAXED, SMTP_DKIM_RELAXED);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(send_to(it_session("127.0.0.1", it_port("SMTP_IT_AIOBIG_PORT"), SMTP_TLS_NONE), m),
		  0);
	long grown = max_rss_kib() - rss_before;
	if (grown >= 16 * 1024)
		fprintf(stderr, "the process grew by %ld KiB while sending 25 MiB\n", grown);
	CHECK(grown < 16 * 1024);
	CHECK_INT(find_record(it_env("SMTP_IT_AIOBIG_DIR"), mk, 1, rec, sizeof rec), 0);
	char *env = envelope_of(rec);
	path_in(exp, sizeof exp, "big.json");
	FILE *f = fopen(exp, "w");
	/* this aiosmtpd has no limit, so it offers no SIZE and gets no SIZE= */
	CHECK_INT(declared_size(env), -1);
	jprintf(f, "{\"structure\": \"multipart/mixed(text/plain,application/octet-stream)\","
		   " \"parts\": [{\"path\": \"1\", \"filename\": \"big.bin\", \"file\": %s}],"
		   " \"dkim\": [{\"domain\": \"example.org\", \"selector\": \"rsa\", \"key\": %s}]}",
		big, rsa_key);
	fclose(f);
	CHECK_INT(run_check(exp, rec, 0), 0);
	unlink(big);
	unlink(rec);
	free(env);
	smtp_message_free(m);
	smtp_compose_free(c);
}

struct feed {
	const unsigned char *p;
	size_t len, off;
};

static long feed(void *ud, void *buf, size_t len)
{
	struct feed *f = ud;
	size_t k = f->len - f->off < len ? f->len - f->off : len;
	k = k > 10000 ? 10000 : k;
	memcpy(buf, f->p + f->off, k);
	f->off += k;
	return (long)k;
}

/* An SMTPUTF8 message (RFC 6532: raw UTF-8 in addresses, names, subject and file
   name) with a one-shot reader attachment, spooled for its Ed25519 signature. */
static void test_utf8_message_with_reader(void)
{
	char mk[128], exp[128], rec[512], att[128];
	marker(mk, sizeof mk, "utf8");
	path_in(att, sizeof att, "reader.bin");
	random_file(att, 200000);
	size_t n;
	char *data = it_read_file(att, &n);
	struct feed fd = {(const unsigned char *)data, n, 0};
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_set_utf8(c, 1), 0);
	CHECK_INT(smtp_compose_set_from(c, "j\xc3\xb6rg@example.org", "J\xc3\xb6rg"), 0);
	CHECK_INT(smtp_compose_add_to(c, "zo\xc3\xab@example.net", "Zo\xc3\xab"), 0);
	CHECK_INT(smtp_compose_set_subject(c, "Gr\xc3\xbc\xc3\x9f" "e"), 0);
	CHECK_INT(smtp_compose_add_header(c, "X-Marker", mk), 0);
	CHECK_INT(smtp_compose_set_text(c, "K\xc3\xb6ln\n"), 0);
	CHECK_INT(smtp_compose_add_attachment_reader(c, feed, &fd, -1, "d\xc3\xa4ten.bin", NULL), 0);
	add_signer(c, ed_key, "ed", SMTP_DKIM_RELAXED, SMTP_DKIM_RELAXED);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(fd.off, n); /* spooled for the body hash */
	CHECK_INT(send_to(it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE), m), 0);
	CHECK_INT(find_record(it_env("SMTP_IT_AIO_DIR"), mk, 1, rec, sizeof rec), 0);
	char *env = envelope_of(rec);
	CHECK(env && strstr(env, "\"smtputf8\": true"));
	path_in(exp, sizeof exp, "utf8.json");
	FILE *f = fopen(exp, "w");
	jprintf(f, "{\"utf8\": true, \"headers\": {\"Subject\": %s}, \"text\": %s, \"size\": %d,"
		   " \"addresses\": {\"From\": [[%s, %s]], \"To\": [[%s, %s]]},"
		   " \"parts\": [{\"path\": \"1\", \"filename\": %s, \"file\": %s}],"
		   " \"dkim\": [{\"domain\": \"example.org\", \"selector\": \"ed\", \"key\": %s}]}",
		"Gr\xc3\xbc\xc3\x9f" "e", "K\xc3\xb6ln\n", declared_size(env), "J\xc3\xb6rg",
		"j\xc3\xb6rg@example.org", "Zo\xc3\xab", "zo\xc3\xab@example.net", "d\xc3\xa4ten.bin",
		att, ed_key);
	fclose(f);
	CHECK_INT(run_check(exp, rec, 0), 0);
	free(env);
	free(data);
	smtp_message_free(m);
	smtp_compose_free(c);
}

/* UTF-8 only in header fields, ASCII addresses: the streamed message declares
   SMTPUTF8 itself (RFC 6531 3.4), and the server is told so at MAIL. */
static void test_utf8_fields_ascii_addresses(void)
{
	char mk[128], rec[512];
	marker(mk, sizeof mk, "utf8-fields");
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_set_utf8(c, 1), 0);
	CHECK_INT(smtp_compose_set_from(c, "jorg@example.org", "J\xc3\xb6rg"), 0);
	CHECK_INT(smtp_compose_add_to(c, "zoe@example.net", NULL), 0);
	CHECK_INT(smtp_compose_set_subject(c, "Gr\xc3\xbc\xc3\x9f" "e"), 0);
	CHECK_INT(smtp_compose_add_header(c, "X-Marker", mk), 0);
	CHECK_INT(smtp_compose_set_text(c, "plain\n"), 0);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(send_to(it_session("127.0.0.1", it_port("SMTP_IT_AIO_PORT"), SMTP_TLS_NONE), m), 0);
	CHECK_INT(find_record(it_env("SMTP_IT_AIO_DIR"), mk, 1, rec, sizeof rec), 0);
	char *env = envelope_of(rec);
	CHECK(env && strstr(env, "\"smtputf8\": true"));
	size_t n;
	char *eml = it_read_file(rec, &n);
	CHECK(eml && strstr(eml, "Subject: Gr\xc3\xbc\xc3\x9f" "e"));
	free(eml);
	free(env);
	smtp_message_free(m);
	smtp_compose_free(c);
}

static smtp_session *submission(void)
{
	smtp_session *s = it_session("127.0.0.1", it_port("SMTP_IT_PF_SUB_PORT"), SMTP_TLS_STARTTLS);
	CHECK_INT(smtp_session_set_auth(s, it_env("SMTP_IT_USER"), it_env("SMTP_IT_PASSWORD"), NULL),
		  0);
	return s;
}

/* Through Postfix's submission port (STARTTLS, AUTH) to smtp-sink: what Postfix
   relayed still parses the same and both signatures verify. */
static void test_postfix_submission(void)
{
	char mk[128], exp[128], rec[512], fbig[128], flogo[128];
	marker(mk, sizeof mk, "postfix");
	path_in(fbig, sizeof fbig, "pf-mib.bin");
	path_in(flogo, sizeof flogo, "pf-logo.png");
	random_file(fbig, 1 << 20);
	random_file(flogo, 500);
	smtp_compose *c = with_bodies(mk, "J\xc3\xb6rg");
	CHECK_INT(smtp_compose_add_to(c, "rcpt@example.net", "R"), 0);
	CHECK_INT(smtp_compose_add_bcc(c, "pf-hidden@example.net", NULL), 0);
	CHECK_INT(smtp_compose_add_attachment_file(c, fbig, "Pr\xc3\xbc" "fung.dat", NULL), 0);
	CHECK_INT(smtp_compose_add_inline_file(c, flogo, "logo@example.org", "image/png"), 0);
	add_signer(c, rsa_key, "rsa", SMTP_DKIM_SIMPLE, SMTP_DKIM_RELAXED);
	add_signer(c, ed_key, "ed", SMTP_DKIM_RELAXED, SMTP_DKIM_SIMPLE);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(send_to(submission(), m), 0);
	CHECK_INT(find_record(it_env("SMTP_IT_PF_SINK_DIR"), mk, 0, rec, sizeof rec), 0);
	size_t len;
	char *dump = it_read_file(rec, &len);
	CHECK(dump && memmem(dump, len, "X-Rcpt-Args: <pf-hidden@example.net>", 36));
	free(dump);
	path_in(exp, sizeof exp, "postfix.json");
	FILE *f = fopen(exp, "w");
	jprintf(f, "{\"structure\": %s, \"headers\": {\"Subject\": %s}, \"absent\": [\"Bcc\"],"
		   " \"text\": %s, \"html\": %s,",
		"multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,"
		"image/png)),application/octet-stream)",
		subject, text_body, html_body);
	jprintf(f, " \"parts\": [{\"path\": \"0.1.1\", \"file\": %s},"
		   " {\"path\": \"1\", \"filename\": %s, \"file\": %s}],"
		   " \"dkim\": [{\"domain\": \"example.org\", \"selector\": \"rsa\", \"key\": %s},"
		   " {\"domain\": \"example.org\", \"selector\": \"ed\", \"key\": %s}]}",
		flogo, "Pr\xc3\xbc" "fung.dat", fbig, rsa_key, ed_key);
	fclose(f);
	CHECK_INT(run_check(exp, rec, 1), 0);
	smtp_message_free(m);
	smtp_compose_free(c);
}

/* examples/password-reset as a newcomer runs it: smtp://user:pass@host, STARTTLS,
   AUTH, DKIM; Postfix relays it and the checker reads what arrived. */
static const char *argv0;

static void test_password_reset_example(void)
{
	char example[600], pdf[128], rcpt[128], exp[128], rec[512], out[128], url[512];
	const char *slash = strrchr(argv0, '/');
	snprintf(example, sizeof example, "%.*s/../examples/password-reset",
		 slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
	path_in(pdf, sizeof pdf, "invoice.pdf");
	path_in(out, sizeof out, "password-reset.out");
	random_file(pdf, 40000);
	snprintf(rcpt, sizeof rcpt, "reset-%s-%ld@example.net", it_mode(), (long)getpid());
	/* user tester@example.org: "@" percent-encoded in the URL's user part */
	const char *user = it_env("SMTP_IT_USER"), *at = strchr(user, '@');
	snprintf(url, sizeof url, "smtp://%.*s%%40%s:%s@localhost:%d", (int)(at - user), user, at + 1,
		 it_env("SMTP_IT_PASSWORD"), it_port("SMTP_IT_PF_SUB_PORT"));
	int rc = shell("SSL_CERT_FILE=%s %s '%s' noreply@example.org %s %s %s rsa >%s 2>&1", it_ca(),
		       example, url, rcpt, pdf, rsa_key, out);
	if (rc != 0)
		shell("cat %s >&2", out);
	CHECK_INT(rc, 0);
	CHECK_INT(find_record(it_env("SMTP_IT_PF_SINK_DIR"), rcpt, 0, rec, sizeof rec), 0);
	path_in(exp, sizeof exp, "reset.json");
	FILE *f = fopen(exp, "w");
	jprintf(f, "{\"structure\": \"multipart/mixed(multipart/alternative(text/plain,text/html),"
		   "application/pdf)\", \"headers\": {\"Subject\": \"Reset your password\"},"
		   " \"addresses\": {\"From\": [[\"Example Support\", \"noreply@example.org\"]],"
		   " \"To\": [[\"\", %s]]}, \"text\": \"Choose a new password: https://example.org/r/42\\n\","
		   " \"parts\": [{\"path\": \"1\", \"filename\": \"invoice.pdf\","
		   " \"content_type\": \"application/pdf\", \"file\": %s}],"
		   " \"dkim\": [{\"domain\": \"example.org\", \"selector\": \"rsa\", \"key\": %s}]}",
		rcpt, pdf, rsa_key);
	fclose(f);
	CHECK_INT(run_check(exp, rec, 1), 0);
}

static void make_keys(void)
{
	strcpy(dir, "/tmp/it-compose.XXXXXX");
	if (!mkdtemp(dir))
		exit(2);
	path_in(rsa_key, sizeof rsa_key, "rsa.pem");
	path_in(ed_key, sizeof ed_key, "ed.pem");
	path_in(rsa1024_key, sizeof rsa1024_key, "rsa1024.pem");
	path_in(rsa4096_key, sizeof rsa4096_key, "rsa4096.pem");
	int bits[] = {2048, 1024, 4096};
	const char *keys[] = {rsa_key, rsa1024_key, rsa4096_key};
	for (int i = 0; i < 3; i++)
		if (shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d -out %s 2>/dev/null",
			  bits[i], keys[i]) != 0)
			exit(2);
	if (shell("openssl genpkey -algorithm ED25519 -out %s", ed_key) != 0)
		exit(2);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	make_keys();
	RUN(test_full_message);
	RUN(test_dkim_matrix);
	RUN(test_25_mib_attachment);
	RUN(test_utf8_message_with_reader);
	RUN(test_utf8_fields_ascii_addresses);
	RUN(test_postfix_submission);
	RUN(test_password_reset_example);
	shell("rm -rf %s", dir);
	char name[64];
	snprintf(name, sizeof name, "it_compose (%s)", it_mode());
	return CHECK_DONE(name);
}

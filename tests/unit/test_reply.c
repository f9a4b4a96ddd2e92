/* Unit tests for the incremental reply parser (lib/reply.c). */
#include <stdlib.h>

#include "check.h"
#include "wire/reply.h"
#include "smtp.h"

/* What one parse of an input produced. */
struct outcome {
	int rc;
	size_t used; /* offset just past the reply (or the error) in the whole input */
	int code;
	char enh[16]; /* "" when none */
	size_t nlines;
	size_t text_len;
	char text[SMTPI_REPLY_MAX_TEXT + 1];
};

static struct smtpi_reply_parser parser;
static struct outcome got, want;

static void record(struct outcome *o, const struct smtpi_reply_parser *p, int rc, size_t used)
{
	char buf[16];
	const char *e = smtpi_reply_enhanced(&p->reply, buf, sizeof buf);

	o->rc = rc;
	o->used = used;
	o->code = rc == SMTPI_REPLY_DONE ? p->reply.code : 0;
	o->nlines = rc == SMTPI_REPLY_DONE ? p->reply.nlines : 0;
	snprintf(o->enh, sizeof o->enh, "%s", rc == SMTPI_REPLY_DONE && e ? e : "");
	o->text_len = rc == SMTPI_REPLY_DONE ? p->reply.text_len : 0;
	memcpy(o->text, p->reply.text, o->text_len);
	o->text[o->text_len] = '\0';
}

/* Feeds in[0..len) in pieces of `chunk` bytes (0: all at once), with an extra cut at
   `cut` (0: none), until a reply completes or fails. */
static void feed(struct outcome *o, const char *in, size_t len, size_t chunk, size_t cut)
{
	size_t off = 0;
	int rc = SMTPI_REPLY_MORE;

	smtpi_reply_init(&parser);
	while (off < len) {
		size_t n = len - off, used = 0;
		if (chunk && n > chunk)
			n = chunk;
		if (cut > off && n > cut - off)
			n = cut - off;
		rc = smtpi_reply_parse(&parser, in + off, n, &used);
		if (used > n) {
			rc = 99; /* impossible: flagged as a mismatch below */
			break;
		}
		if (rc == SMTPI_REPLY_MORE && used != n)
			rc = 98; /* MORE must consume everything */
		off += used;
		if (rc != SMTPI_REPLY_MORE)
			break;
	}
	record(o, &parser, rc, off);
}

static int same(const struct outcome *a, const struct outcome *b)
{
	if (a->rc != b->rc)
		return 0;
	if (a->rc != SMTPI_REPLY_DONE)
		return 1; /* where an error is noticed may depend on the split */
	return a->used == b->used && a->code == b->code && a->nlines == b->nlines &&
	       strcmp(a->enh, b->enh) == 0 && a->text_len == b->text_len &&
	       memcmp(a->text, b->text, a->text_len) == 0;
}

/* Parses in at once, one byte at a time, in several chunk sizes and (when all_cuts)
   split in two at every point: all must agree. Leaves the one-shot result in want. */
static void parse_every_way(const char *in, size_t len, int all_cuts)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64, 1000};
	int bad = 0;

	feed(&want, in, len, 0, 0);
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		feed(&got, in, len, chunks[i], 0);
		if (!same(&got, &want)) {
			fprintf(stderr, "chunk %zu: rc %d vs %d\n", chunks[i], got.rc, want.rc);
			bad = 1;
		}
	}
	for (size_t k = 1; all_cuts && k < len; k++) {
		feed(&got, in, len, 0, k);
		if (!same(&got, &want)) {
			fprintf(stderr, "cut at %zu: rc %d vs %d\n", k, got.rc, want.rc);
			bad = 1;
		}
	}
	CHECK(!bad);
}

static void expect_reply(const char *in, size_t len, int code, const char *enh,
			 size_t nlines, const char *text, size_t text_len)
{
	parse_every_way(in, len, len <= 4096);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.code, code);
	CHECK_STR(want.enh, enh ? enh : "");
	CHECK_INT(want.nlines, nlines);
	CHECK_MEM(want.text, want.text_len, text, text_len);
	CHECK_INT(strlen(want.text), want.text_len);
	CHECK_INT(want.used, len);
}

#define EXPECT(in, code, enh, nlines, text) \
	expect_reply(in, sizeof in - 1, code, enh, nlines, text, sizeof text - 1)

static void expect_error(const char *in, size_t len)
{
	parse_every_way(in, len, 1);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
}

#define EXPECT_ERROR(in) expect_error(in, sizeof in - 1)

static void test_single_line(void)
{
	EXPECT("250 OK\r\n", 250, NULL, 1, "OK");
	EXPECT("220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n", 220, NULL, 1,
	       "mx.example.test ESMTP Postfix (Debian/GNU)");
	EXPECT("354 End data with <CR><LF>.<CR><LF>\r\n", 354, NULL, 1,
	       "End data with <CR><LF>.<CR><LF>");
	EXPECT("421 \r\n", 421, NULL, 1, "");
	EXPECT("559 x\r\n", 559, NULL, 1, "x");
	EXPECT("200 x\r\n", 200, NULL, 1, "x");
	EXPECT("250 tab\there  and  spaces \r\n", 250, NULL, 1, "tab\there  and  spaces ");
	EXPECT("250 caf\xc3\xa9\r\n", 250, NULL, 1, "caf\xc3\xa9");
}

static void test_no_text(void)
{
	EXPECT("250\r\n", 250, NULL, 1, "");
	EXPECT("250-first\r\n250\r\n", 250, NULL, 2, "first\n");
	EXPECT("250-\r\n250-\r\n250 end\r\n", 250, NULL, 3, "\n\nend");
}

static void test_multi_line(void)
{
	EXPECT("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
	       "250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN SCRAM-SHA-256\r\n"
	       "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
	       "250 CHUNKING\r\n",
	       250, NULL, 12,
	       "mx.example\nPIPELINING\nSIZE 10240000\nVRFY\nETRN\nSTARTTLS\n"
	       "AUTH PLAIN LOGIN SCRAM-SHA-256\nENHANCEDSTATUSCODES\n8BITMIME\nDSN\n"
	       "SMTPUTF8\nCHUNKING");
	EXPECT("550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
	       "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
	       "550 5.1.1 unnecessary spaces. https://support.example/mail/?p=NoSuchUser x1si\r\n",
	       550, "5.1.1", 3,
	       "The email account that you tried to reach does not exist. Please try\n"
	       "double-checking the recipient's email address for typos or\n"
	       "unnecessary spaces. https://support.example/mail/?p=NoSuchUser x1si");
	EXPECT("451-4.7.1 Greylisted\r\n451 4.7.1 try later\r\n", 451, "4.7.1", 2,
	       "Greylisted\ntry later");
}

static void test_enhanced(void)
{
	EXPECT("250 2.0.0 Ok: queued as 4Xyz1234\r\n", 250, "2.0.0", 1, "Ok: queued as 4Xyz1234");
	EXPECT("250 2.1.5 Ok\r\n", 250, "2.1.5", 1, "Ok");
	EXPECT("451 4.123.456 x\r\n", 451, "4.123.456", 1, "x");
	EXPECT("250 2.01.005 leading zeros\r\n", 250, "2.1.5", 1, "leading zeros");
	EXPECT("250 2.0.0\r\n", 250, "2.0.0", 1, "");

	EXPECT("250 2.0.0  two spaces\r\n", 250, "2.0.0", 1, " two spaces");
	/* class must equal the code's first digit */
	EXPECT("550 2.1.1 odd\r\n", 550, NULL, 1, "2.1.1 odd");
	EXPECT("250-5.0.0 a\r\n250 5.0.0 b\r\n", 250, NULL, 2, "5.0.0 a\n5.0.0 b");
	/* not enhanced codes */
	EXPECT("451 4.1234.5 x\r\n", 451, NULL, 1, "4.1234.5 x");
	EXPECT("451 4.1.5678 x\r\n", 451, NULL, 1, "4.1.5678 x");
	EXPECT("451 4..5 x\r\n", 451, NULL, 1, "4..5 x");
	EXPECT("451 4.1. x\r\n", 451, NULL, 1, "4.1. x");
	EXPECT("451 4.1.\r\n", 451, NULL, 1, "4.1.");
	EXPECT("451 4.1\r\n", 451, NULL, 1, "4.1");
	EXPECT("451 4.\r\n", 451, NULL, 1, "4.");
	EXPECT("451 4\r\n", 451, NULL, 1, "4");
	EXPECT("451 4x\r\n", 451, NULL, 1, "4x");
	EXPECT("250 2.1.5x\r\n", 250, NULL, 1, "2.1.5x");
	EXPECT("250 2.1.5.6 x\r\n", 250, NULL, 1, "2.1.5.6 x");
	EXPECT("250 2.1.5\tx\r\n", 250, NULL, 1, "2.1.5\tx");
	EXPECT("250 x 2.1.5 x\r\n", 250, NULL, 1, "x 2.1.5 x");
	/* the first line decides the reported code; every line's code is removed */
	EXPECT("250-hello\r\n250 2.0.0 ok\r\n", 250, NULL, 2, "hello\nok");
	EXPECT("250-2.0.0 hello\r\n250 2.1.0 ok\r\n", 250, "2.0.0", 2, "hello\nok");
	EXPECT("250-2.0.0 hello\r\n250 ok\r\n", 250, "2.0.0", 2, "hello\nok");
}

static void test_enhanced_text(void)
{
	char buf[12];
	struct smtpi_reply_parser p;
	size_t used;

	smtpi_reply_init(&p);
	CHECK_INT(smtpi_reply_parse(&p, "250 ok\r\n", 8, &used), SMTPI_REPLY_DONE);
	CHECK(smtpi_reply_enhanced(&p.reply, buf, sizeof buf) == NULL);
	smtpi_reply_init(&p);
	CHECK_INT(smtpi_reply_parse(&p, "550 5.1.1 x\r\n", 13, &used), SMTPI_REPLY_DONE);
	CHECK_STR(smtpi_reply_enhanced(&p.reply, buf, sizeof buf), "5.1.1");
	CHECK(smtpi_reply_enhanced(&p.reply, buf, sizeof buf) == buf);
	CHECK(smtpi_reply_enhanced(&p.reply, NULL, 12) == NULL);
	CHECK(smtpi_reply_enhanced(&p.reply, buf, 5) == NULL);
	CHECK_STR(smtpi_reply_enhanced(&p.reply, buf, 6), "5.1.1");
	smtpi_reply_init(&p);
	CHECK_INT(smtpi_reply_parse(&p, "450 4.999.999 x\r\n", 17, &used), SMTPI_REPLY_DONE);
	CHECK_STR(smtpi_reply_enhanced(&p.reply, buf, sizeof buf), "4.999.999");
	/* leading zeros are not kept: the numbers are what counts */
	smtpi_reply_init(&p);
	CHECK_INT(smtpi_reply_parse(&p, "250 2.01.005 x\r\n", 16, &used), SMTPI_REPLY_DONE);
	CHECK_STR(smtpi_reply_enhanced(&p.reply, buf, sizeof buf), "2.1.5");
}

/* RFC 5321 2.3.8: a bare LF is not a line end; taken as one, "250 Ok\n550 x" would
   be two replies (a smuggled one) */
static void test_bare_lf(void)
{
	EXPECT_ERROR("250-a\n250 b\r\n");
	EXPECT_ERROR("250-a\r\n250-b\n250 c\r\n");
	EXPECT_ERROR("550 5.1.1 gone\n");
	EXPECT_ERROR("250 Ok\n550 smuggled\r\n");
	EXPECT_ERROR("250\n");
	EXPECT_ERROR("250 2.1.5\n");
}

static void test_nul_dropped(void)
{
	/* aiosmtpd's AUTH LOGIN prompt */
	EXPECT("334 VXNlcm5hbWU6\0\r\n", 334, NULL, 1, "VXNlcm5hbWU6");
	EXPECT("334 \0\0a\0b\0\r\n", 334, NULL, 1, "ab");
	EXPECT("250-\0\r\n250 \0\r\n", 250, NULL, 2, "\n");
	/* a NUL inside a would-be enhanced code breaks it */
	EXPECT("250 2.\0" "1.5 x\r\n", 250, NULL, 1, "2.1.5 x");
	EXPECT("250 2.1.5\0 x\r\n", 250, NULL, 1, "2.1.5 x");
	EXPECT("250 2.1.5 \0x\r\n", 250, "2.1.5", 1, "x");
}

static void test_errors(void)
{
	EXPECT_ERROR("25x OK\r\n");
	EXPECT_ERROR("x50 OK\r\n");
	EXPECT_ERROR("2\r\n");
	EXPECT_ERROR("25\r\n");
	EXPECT_ERROR("150 low\r\n");
	EXPECT_ERROR("050 low\r\n");
	EXPECT_ERROR("600 high\r\n");
	EXPECT_ERROR("260 second digit\r\n");
	EXPECT_ERROR("590 second digit\r\n");
	EXPECT_ERROR("250_OK\r\n");
	EXPECT_ERROR("250\tOK\r\n");
	EXPECT_ERROR("250\0OK\r\n");
	EXPECT_ERROR("2500 OK\r\n");
	EXPECT_ERROR(" 250 OK\r\n");
	EXPECT_ERROR("\r\n");
	EXPECT_ERROR("\n");
	EXPECT_ERROR("250-a\r\n\r\n");
	EXPECT_ERROR("250-a\r\n251 b\r\n");
	EXPECT_ERROR("250-a\r\n550 b\r\n");
	EXPECT_ERROR("250-a\r\n25 b\r\n");
	/* bare CR */
	EXPECT_ERROR("250 a\rb\r\n");
	EXPECT_ERROR("250 a\r\r\n");
	EXPECT_ERROR("250\r250\r\n");
	EXPECT_ERROR("250 2.0.0\rx\n");
	EXPECT_ERROR("250-a\r 250 b\r\n");
}

static void test_error_position(void)
{
	size_t used = 0;

	/* the CR ends one buffer; the next buffer does not start with LF */
	smtpi_reply_init(&parser);
	CHECK_INT(smtpi_reply_parse(&parser, "250 a\r", 6, &used), SMTPI_REPLY_MORE);
	CHECK_INT(used, 6);
	CHECK_INT(smtpi_reply_parse(&parser, "x\n", 2, &used), SMTP_EPROTOCOL);
	/* re-initialised, the parser works again */
	smtpi_reply_init(&parser);
	CHECK_INT(smtpi_reply_parse(&parser, "250 ok\r\n", 8, &used), SMTPI_REPLY_DONE);
	CHECK_INT(used, 8);
	CHECK_STR(parser.reply.text, "ok");
}

static void test_two_replies(void)
{
	const char in[] = "250 2.1.0 Sender ok\r\n550 5.1.1 No such user\r\n354 go ahead\r\n";
	size_t len = sizeof in - 1, used = 0, off = 0;

	smtpi_reply_init(&parser);
	CHECK_INT(smtpi_reply_parse(&parser, in, len, &used), SMTPI_REPLY_DONE);
	CHECK_INT(used, 21);
	CHECK_INT(parser.reply.code, 250);
	CHECK_STR(parser.reply.text, "Sender ok");
	off += used;
	/* no init: the next call starts the next reply */
	CHECK_INT(smtpi_reply_parse(&parser, in + off, len - off, &used), SMTPI_REPLY_DONE);
	CHECK_INT(used, 24);
	CHECK_INT(parser.reply.code, 550);
	CHECK_INT(parser.reply.enh_class, 5);
	CHECK_STR(parser.reply.text, "No such user");
	off += used;
	smtpi_reply_init(&parser);
	CHECK_INT(smtpi_reply_parse(&parser, in + off, len - off, &used), SMTPI_REPLY_DONE);
	CHECK_INT(used, len - off);
	CHECK_INT(parser.reply.code, 354);
	CHECK_INT(parser.reply.enh_class, 0);
	CHECK_STR(parser.reply.text, "go ahead");
	/* nothing left: an empty call is MORE */
	CHECK_INT(smtpi_reply_parse(&parser, in, 0, &used), SMTPI_REPLY_MORE);
	CHECK_INT(used, 0);
	/* split anywhere, the first reply still ends at the same octet */
	parse_every_way("250-a\r\n250 b\r\n354 c\r\n", 21, 1);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.used, 14);
	CHECK_STR(want.text, "a\nb");
}

/* A pipelined stream of replies fed in odd-sized pieces gives every reply in order. */
static void test_stream(void)
{
	static const char *const replies[] = {
		"250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
		"250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n",
		"550 5.1.1 <nobody@example.test>: Recipient address rejected\r\n",
		"354 End data with <CR><LF>.<CR><LF>\r\n",
		"250 2.0.0 Ok: queued as 4Xyz1234\r\n",
		"221 2.0.0 Bye\r\n",
	};
	static const int codes[] = {250, 250, 250, 550, 354, 250, 221};
	static const char *const texts[] = {
		"mx.example\nPIPELINING\nCHUNKING", "Ok", "Ok",
		"<nobody@example.test>: Recipient address rejected",
		"End data with <CR><LF>.<CR><LF>", "Ok: queued as 4Xyz1234", "Bye"};
	enum { N = sizeof codes / sizeof codes[0] };
	char in[1024];
	size_t len = 0;

	for (size_t i = 0; i < N; i++) {
		size_t n = strlen(replies[i]);
		memcpy(in + len, replies[i], n);
		len += n;
	}
	for (size_t chunk = 1; chunk <= 17; chunk++) {
		size_t off = 0, seen = 0, piece = 0;
		int bad = 0;

		smtpi_reply_init(&parser);
		while (off < len && !bad) {
			size_t n = chunk + piece % 3, used = 0;
			int rc;
			if (n > len - off)
				n = len - off;
			rc = smtpi_reply_parse(&parser, in + off, n, &used);
			off += used;
			if (rc == SMTPI_REPLY_MORE)
				piece++;
			if (rc == SMTPI_REPLY_DONE) {
				if (seen >= N || parser.reply.code != codes[seen] ||
				    strcmp(parser.reply.text, texts[seen]) != 0)
					bad = 1;
				seen++;
			} else if (rc != SMTPI_REPLY_MORE) {
				bad = 1;
			}
		}
		CHECK(!bad);
		CHECK_INT(seen, N);
	}
}

/* Builds "CODE" SEP + n octets of fill + line end into b; returns the length. */
static size_t make_line(char *b, const char *head, size_t n, const char *end)
{
	size_t h = strlen(head), e = strlen(end);

	memcpy(b, head, h);
	memset(b + h, 'a', n);
	memcpy(b + h + n, end, e);
	return h + n + e;
}

static void test_line_bound(void)
{
	static char in[SMTPI_REPLY_MAX_LINE + 16];
	size_t len;

	/* exactly SMTPI_REPLY_MAX_LINE octets with CRLF */
	len = make_line(in, "250 ", SMTPI_REPLY_MAX_LINE - 6, "\r\n");
	CHECK_INT(len, SMTPI_REPLY_MAX_LINE);
	parse_every_way(in, len, 1);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, SMTPI_REPLY_MAX_LINE - 6);
	len = make_line(in, "250 ", SMTPI_REPLY_MAX_LINE - 5, "\r\n");
	parse_every_way(in, len, 1);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	/* the enhanced code counts toward the line */
	len = make_line(in, "250 2.0.0 ", SMTPI_REPLY_MAX_LINE - 12, "\r\n");
	CHECK_INT(len, SMTPI_REPLY_MAX_LINE);
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_STR(want.enh, "2.0.0");
	CHECK_INT(want.text_len, SMTPI_REPLY_MAX_LINE - 12);
	len = make_line(in, "250 2.0.0 ", SMTPI_REPLY_MAX_LINE - 11, "\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	/* dropped NULs count too: they are octets of the line */
	len = make_line(in, "250 ", SMTPI_REPLY_MAX_LINE - 6, "\r\n");
	in[10] = '\0';
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, SMTPI_REPLY_MAX_LINE - 7);
	/* a continuation line, then a long line without any end */
	len = make_line(in, "250-", SMTPI_REPLY_MAX_LINE - 6, "\r\n");
	len += make_line(in + len, "250 ", 9, "");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_MORE);
	memset(in, 'a', SMTPI_REPLY_MAX_LINE + 16);
	memcpy(in, "250 ", 4);
	parse_every_way(in, SMTPI_REPLY_MAX_LINE + 16, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	CHECK(want.used <= SMTPI_REPLY_MAX_LINE + 1);
}

static void test_lines_bound(void)
{
	static char in[SMTPI_REPLY_MAX_LINES * 8 + 16];
	size_t len = 0;

	for (size_t i = 0; i + 1 < SMTPI_REPLY_MAX_LINES; i++)
		len += make_line(in + len, "250-", 1, "\r\n");
	len += make_line(in + len, "250 ", 1, "\r\n");
	parse_every_way(in, len, 1);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.nlines, SMTPI_REPLY_MAX_LINES);
	CHECK_INT(want.text_len, 2 * SMTPI_REPLY_MAX_LINES - 1);

	len = 0;
	for (size_t i = 0; i < SMTPI_REPLY_MAX_LINES; i++)
		len += make_line(in + len, "250-", 1, "\r\n");
	len += make_line(in + len, "250 ", 1, "\r\n");
	parse_every_way(in, len, 1);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
}

/* Fills in with full-length "250-" lines whose text totals `total` octets including
   the '\n' joiners, then appends `last`. Returns the length. */
static size_t make_text(char *in, size_t total, const char *last)
{
	const size_t max_fill = SMTPI_REPLY_MAX_LINE - 6;
	size_t len = 0, text = 0;

	while (text < total) {
		size_t n = total - text - (text > 0);
		if (n > max_fill)
			n = max_fill;
		len += make_line(in + len, "250-", n, "\r\n");
		text += n + (text > 0);
	}
	memcpy(in + len, last, strlen(last));
	return len + strlen(last);
}

static void test_text_bound(void)
{
	static char in[2 * SMTPI_REPLY_MAX_TEXT];
	const size_t T = SMTPI_REPLY_MAX_TEXT;
	size_t len;

	/* text of exactly SMTPI_REPLY_MAX_TEXT octets, ended by a one-octet line */
	len = make_text(in, T - 2, "250 z\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T);
	CHECK_INT(want.text[T - 1], 'z');
	len = make_text(in, T - 2, "250 zz\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	/* the joiner alone can be the octet too many */
	len = make_text(in, T - 1, "250\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T);
	len = make_text(in, T, "250\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	/* an enhanced code that does not fit is removed, so the text still fits */
	len = make_text(in, T - 3, "250 2.0.0 ab\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T);
	CHECK(memcmp(want.text + T - 3, "\nab", 3) == 0);
	len = make_text(in, T - 1, "250 2.100.100\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T);
	/* ... but one that turns out to be text does not */
	len = make_text(in, T - 3, "250 2.0.0x\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	len = make_text(in, T - 3, "250 2.100.1000 \r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	len = make_text(in, T - 3, "250 2.100.\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	len = make_text(in, T - 3, "250 2.100");
	memcpy(in + len, "\0\r\n", 3);
	len += 3;
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	len = make_text(in, T - 3, "550 2.0.0 ab\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTP_EPROTOCOL);
	/* text that fits exactly, its last octets a would-be code */
	len = make_text(in, T - 6, "250 2.0.0\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T - 5);
	len = make_text(in, T - 5, "250 2.0.\r\n");
	parse_every_way(in, len, 0);
	CHECK_INT(want.rc, SMTPI_REPLY_DONE);
	CHECK_INT(want.text_len, T);
	CHECK(memcmp(want.text + T - 4, "2.0.", 4) == 0);
}

/* Every 2-way split and every single-byte feed of a long multi-line reply with
   enhanced codes, NULs and mixed line ends. */
static void test_mixed_splits(void)
{
	EXPECT("421-4.3.2 Service\0 shutting down\r\n421-4.3.2\r\n421-\r\n"
	       "421-4.3 not a code\r\n421 4.3.2 closing\r\n",
	       421, "4.3.2", 5, "Service shutting down\n\n\n4.3 not a code\nclosing");
}

int main(void)
{
	RUN(test_single_line);
	RUN(test_no_text);
	RUN(test_multi_line);
	RUN(test_enhanced);
	RUN(test_enhanced_text);
	RUN(test_bare_lf);
	RUN(test_nul_dropped);
	RUN(test_errors);
	RUN(test_error_position);
	RUN(test_two_replies);
	RUN(test_stream);
	RUN(test_line_bound);
	RUN(test_lines_bound);
	RUN(test_text_bound);
	RUN(test_mixed_splits);
	return CHECK_DONE("reply");
}

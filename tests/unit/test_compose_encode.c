/* The composer's encoders against the RFCs' own examples: quoted-printable (RFC 2045
   6.7), base64 lines (RFC 2045 6.8, RFC 4648 10), encoded words (RFC 2047 8),
   parameters (RFC 2231), folding (RFC 5322 2.1.1, 2.2.3), dates (RFC 5322 3.3) and
   ids (3.6.4). The test decoders of mime_decode.h are first checked against the
   same examples, then decode what the encoders wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compose/compose.h"
#include "mime_decode.h"
#include "wire/base64.h"

static char *buf_str(struct smtpi_buf *b)
{
	char *s = smtpi_strndup(b->data ? b->data : "", b->len);
	smtpi_buf_free(b);
	return s;
}

static char *qp(const char *in)
{
	struct smtpi_buf b = {0};
	CHECK_INT(smtpi_qp_encode((const unsigned char *)in, strlen(in), &b), 0);
	return buf_str(&b);
}

/* Every line within 76 octets, no white space before a line end (RFC 2045 6.7 (3),
   (5)), only printable ASCII, and decoding gives back the input. */
static void check_qp_rules(const char *in)
{
	char *e = qp(in);
	size_t line = 0, n = strlen(e), dl;
	for (size_t i = 0; i < n; i++) {
		if (e[i] == '\r') {
			CHECK(e[i + 1] == '\n');
			CHECK(i == 0 || (e[i - 1] != ' ' && e[i - 1] != '\t'));
			line = 0;
			i++;
			continue;
		}
		CHECK((e[i] >= 33 && e[i] <= 126) || e[i] == ' ' || e[i] == '\t');
		CHECK(++line <= 76);
	}
	CHECK(n == 0 || (e[n - 1] != ' ' && e[n - 1] != '\t'));
	char *d = md_qp_decode(e, n, &dl);
	CHECK_MEM(d, dl, in, strlen(in));
	free(d);
	free(e);
}

/* RFC 2045 6.7's example of soft line breaks, through the test decoder. */
static void test_qp_decoder_rfc_example(void)
{
	const char *enc = "Now's the time =\r\nfor all folk to come=\r\n to the aid of their country.";
	size_t n;
	char *d = md_qp_decode(enc, strlen(enc), &n);
	CHECK_STR(d, "Now's the time for all folk to come to the aid of their country.");
	free(d);
}

/* Rules (1) to (5) one by one. */
static void test_qp_rules(void)
{
	static const char *const v[][2] = {
		/* (1): "=" itself and octets outside printable ASCII as =XX, upper case */
		{"a=b", "a=3Db"},
		{"caf\xc3\xa9", "caf=C3=A9"},
		{"\x01\x7f", "=01=7F"},
		/* (2): the literal range 33..60, 62..126 */
		{"!<>~", "!<>~"},
		/* (3): white space is literal inside a line, encoded at its end */
		{"a b\tc", "a b\tc"},
		{"end \r\nnext\t\r\nlast ", "end=20\r\nnext=09\r\nlast=20"},
		/* (4): line breaks stay line breaks */
		{"one\r\ntwo\r\n", "one\r\ntwo\r\n"},
	};
	char *e;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		CHECK_STR(e = qp(v[i][0]), v[i][1]);
		free(e);
	}
	/* (5): 76 octets fit; 77 get a soft break after 75 + "=" */
	char l76[80], l77[80];
	memset(l76, 'x', 76);
	l76[76] = '\0';
	memset(l77, 'x', 77);
	l77[77] = '\0';
	CHECK_STR(e = qp(l76), l76);
	free(e);
	e = qp(l77);
	CHECK(strncmp(e, l77, 75) == 0 && strcmp(e + 75, "=\r\nxx") == 0);
	free(e);
	/* an escape is never split by a soft break */
	char esc[80];
	memset(esc, 'y', 74);
	strcpy(esc + 74, "\xc3\xa9");
	e = qp(esc);
	CHECK(strstr(e, "=\r\n=C3=A9") != NULL);
	free(e);
	/* a space that ends up before a soft break is not at a line end */
	char sp[80];
	memset(sp, 'z', 74);
	strcpy(sp + 74, " zz");
	check_qp_rules(sp);
}

static void test_qp_round_trips(void)
{
	check_qp_rules("");
	check_qp_rules("=\r\n= =\t\r\n\r\n \r\n");
	char big[3000];
	unsigned v = 12345;
	for (size_t i = 0; i < sizeof big - 1; i++) {
		v = v * 1103515245u + 12345u;
		unsigned char c = (unsigned char)(v >> 16);
		big[i] = c == 0 ? ' ' : (char)c;
	}
	big[sizeof big - 1] = '\0';
	/* lone CR and LF do not reach the encoder: bodies are CRLF by then */
	for (size_t i = 0; i + 1 < sizeof big - 1; i++)
		if (big[i] == '\r' || big[i] == '\n') {
			big[i] = '\r';
			big[++i] = '\n';
		}
	if (big[sizeof big - 2] == '\r')
		big[sizeof big - 2] = '.';
	check_qp_rules(big);
}

static char *b64(const unsigned char *in, size_t n, size_t step)
{
	struct smtpi_b64 st = {0};
	unsigned char *out = malloc(SMTPI_B64_ROOM(n) + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += step)
		o += smtpi_b64_update(&st, in + i, n - i < step ? n - i : step, out + o);
	o += smtpi_b64_final(&st, out + o);
	out[o] = '\0';
	CHECK_INT(o, smtpi_b64_size(n));
	return (char *)out;
}

/* RFC 4648 10 test vectors, each as one line of the body encoding. */
static void test_base64_rfc4648_vectors(void)
{
	static const char *const v[][2] = {{"", ""},
					   {"f", "Zg==\r\n"},
					   {"fo", "Zm8=\r\n"},
					   {"foo", "Zm9v\r\n"},
					   {"foob", "Zm9vYg==\r\n"},
					   {"fooba", "Zm9vYmE=\r\n"},
					   {"foobar", "Zm9vYmFy\r\n"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *e = b64((const unsigned char *)v[i][0], strlen(v[i][0]), 1);
		CHECK_STR(e, v[i][1]);
		free(e);
	}
}

/* RFC 2045 6.8: lines of 76 characters (57 octets); any split gives the same. */
static void test_base64_lines(void)
{
	unsigned char data[1000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	size_t sizes[] = {0, 1, 56, 57, 58, 114, 1000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		char *one = b64(data, sizes[s], sizes[s] ? sizes[s] : 1);
		char *split = b64(data, sizes[s], 5);
		CHECK_STR(split, one);
		size_t line = 0, chars = 0;
		char *flat = malloc(strlen(one) + 1);
		for (const char *p = one; *p; p++) {
			if (*p == '\r') {
				CHECK(p[1] == '\n' && line > 0 && line <= 76);
				CHECK(line == 76 || p[2] == '\0');
				line = 0;
				p++;
				continue;
			}
			flat[chars++] = *p;
			line++;
		}
		flat[chars] = '\0';
		unsigned char *dec = NULL;
		size_t dl = 0;
		CHECK_INT(smtpi_base64_decode(flat, chars, &dec, &dl), 0);
		CHECK_MEM(dec, dl, data, sizes[s]);
		free(dec);
		free(flat);
		free(one);
		free(split);
	}
	CHECK_INT(smtpi_b64_size(57), 78);
	CHECK_INT(smtpi_b64_size(58), 84);
}

/* Folds one field and returns it as a string. */
static char *render(const char *name, void (*writer)(struct smtpi_field *, const char *, int),
		    const char *value, int utf8, int *rc)
{
	struct smtpi_field f = {0};
	struct smtpi_buf out = {0};
	smtpi_field_start(&f, name);
	smtpi_field_space(&f);
	writer(&f, value, utf8);
	*rc = smtpi_field_fold(&f, &out);
	smtpi_field_free(&f);
	return buf_str(&out);
}

static char *unstructured(const char *v, int utf8)
{
	int rc;
	char *s = render("Subject", smtpi_words_unstructured, v, utf8, &rc);
	CHECK_INT(rc, 0);
	return s;
}

static char *phrase(const char *v)
{
	int rc;
	char *s = render("To", smtpi_words_phrase, v, 0, &rc);
	CHECK_INT(rc, 0);
	return s;
}

/* The RFC 2047 section 8 table, through the test decoder. */
static void test_words_decoder_rfc2047_examples(void)
{
	static const char *const v[][2] = {
		{"(=?ISO-8859-1?Q?a?=)", "(a)"},
		{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
		{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld J\xc3\xb8rn Simonsen"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard"},
		{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
		 " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
		 "If you can read this you understand the example."},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *u = md_unfold(v[i][0], strlen(v[i][0]));
		char *d = md_decode_words(u);
		CHECK_STR(d, v[i][1]);
		free(u);
		free(d);
	}
}

/* The same names and subjects encoded by us: RFC 2047 8's encodings, charset UTF-8. */
static void test_words_rfc2047_examples_encoded(void)
{
	char *s;
	CHECK_STR(s = phrase("Keld J\xc3\xb8rn Simonsen"),
		  "To: =?utf-8?q?Keld_J=C3=B8rn_Simonsen?=\r\n");
	free(s);
	CHECK_STR(s = phrase("Olle J\xc3\xa4rnefors"), "To: =?utf-8?q?Olle_J=C3=A4rnefors?=\r\n");
	free(s);
	CHECK_STR(s = phrase("Patrik F\xc3\xa4ltstr\xc3\xb6m"),
		  "To: =?utf-8?q?Patrik_F=C3=A4ltstr=C3=B6m?=\r\n");
	free(s);
	CHECK_STR(s = unstructured("Andr\xc3\xa9 Pirard", 0),
		  "Subject: =?utf-8?q?Andr=C3=A9?= Pirard\r\n");
	free(s);
	/* "(ab)": words to encode that are separated by white space become one
	   encoded run, so the space survives decoding */
	CHECK_STR(s = unstructured("\xc3\xa4 \xc3\xb6", 0), "Subject: =?utf-8?b?w6Qgw7Y=?=\r\n");
	free(s);
	/* RFC 2047 4: Q when most octets are ASCII, else B */
	CHECK_STR(s = unstructured("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0),
		  "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\r\n");
	free(s);
}

static void check_words_round_trip(const char *name, const char *text, int is_phrase)
{
	char *s = is_phrase ? phrase(text) : unstructured(text, 0);
	size_t nl = strlen(name);
	CHECK(strncmp(s, name, nl) == 0);
	/* RFC 2047 2: words of at most 75, lines of at most 76 with encoded words */
	for (const char *p = s, *e; *p; p = e + 2) {
		e = strstr(p, "\r\n");
		CHECK(e != NULL && e - p <= 78);
		if (!e)
			break;
	}
	for (const char *w = strstr(s, "=?"); w; w = strstr(w + 2, "=?")) {
		const char *end = strstr(w + 2, "?=");
		CHECK(end && end - w + 2 <= 75);
		w = end ? end : w;
	}
	CHECK(!smtpi_has_8bit(s, strlen(s)));
	/* unfolded, after "Name:" and the one space the writer puts there */
	char *u = md_unfold(s, strlen(s) - 2);
	char *d = md_decode_words(u + nl + 2);
	if (is_phrase && u[nl + 2] == '"')
		md_unquote(d);
	CHECK_STR(d, text);
	free(u);
	free(d);
	free(s);
}

static void test_words_round_trips(void)
{
	check_words_round_trip("Subject", "plain ASCII subject", 0);
	check_words_round_trip("Subject", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, ein l\xc3\xa4ngerer "
			       "Betreff mit \xe2\x82\xac und \xf0\x9f\x98\x80 und vielen W\xc3\xb6rtern "
			       "damit er gefaltet werden muss", 0);
	check_words_round_trip("Subject", "=?utf-8?q?not_a_word?= looks like one", 0);
	check_words_round_trip("Subject", "double  space\tand tab", 0);
	char longword[200];
	memset(longword, 'w', 150);
	longword[150] = '\0';
	check_words_round_trip("Subject", longword, 0);
	char cjk[400] = "";
	for (int i = 0; i < 40; i++)
		strcat(cjk, "\xe6\x97\xa5\xe6\x9c\xac");
	check_words_round_trip("Subject", cjk, 0);
	/* white space too long for any fold goes into encoded words */
	char spaces[1200];
	memset(spaces, ' ', 1100);
	spaces[1100] = '\0';
	check_words_round_trip("Subject", spaces, 0);
	spaces[0] = 'a';
	spaces[1099] = 'b';
	check_words_round_trip("Subject", spaces, 0);
	memcpy(spaces, "\xc3\xa9", 2);
	check_words_round_trip("Subject", spaces, 0);
	spaces[1099] = ' ';
	check_words_round_trip("Subject", spaces, 0);
	check_words_round_trip("Subject", "trailing   ", 0);
	check_words_round_trip("To", "Last, First", 1);
	check_words_round_trip("To", "say \"hi\" \\ bye", 1);
	check_words_round_trip("To", "Zo\xc3\xab \"Q\" M\xc3\xbcller", 1);
	check_words_round_trip("To", "=?x?q?y?=", 1);
}

/* UTF-8 mode (RFC 6532 3.2): raw UTF-8, no encoded words. */
static void test_words_utf8_mode(void)
{
	char *s = unstructured("Gr\xc3\xbc\xc3\x9f" "e", 1);
	CHECK_STR(s, "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n");
	free(s);
	int rc;
	s = render("From", smtpi_words_phrase, "J\xc3\xb6rg", 1, &rc);
	CHECK_STR(s, "From: J\xc3\xb6rg\r\n");
	free(s);
}

static char *param(const char *attr, const char *value, int utf8)
{
	struct smtpi_field f = {0};
	struct smtpi_buf out = {0};
	smtpi_field_start(&f, "Content-Disposition");
	smtpi_field_space(&f);
	smtpi_field_str(&f, "attachment");
	smtpi_param(&f, attr, value, utf8);
	CHECK_INT(smtpi_field_fold(&f, &out), 0);
	smtpi_field_free(&f);
	return buf_str(&out);
}

/* RFC 2231 3 and 4's examples, through the test decoder. */
static void test_param_decoder_rfc2231_examples(void)
{
	char *d;
	const char *folded = "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n"
			     " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"";
	char *u = md_unfold(folded, strlen(folded));
	d = md_param(u, "URL");
	CHECK_STR(d, "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
	free(d);
	free(u);
	d = md_param("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
		     "title");
	CHECK_STR(d, "This is ***fun***");
	free(d);
	d = md_param("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;"
		     " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"", "title");
	CHECK_STR(d, "This is even more ***fun*** isn't it!");
	free(d);
}

static void check_param(const char *value, int utf8, const char *must_have)
{
	char *s = param("filename", value, utf8);
	for (const char *p = s, *e; *p; p = e + 2) {
		e = strstr(p, "\r\n");
		CHECK(e && e - p <= 78);
		if (!e)
			break;
	}
	if (!utf8)
		CHECK(!smtpi_has_8bit(s, strlen(s)));
	if (must_have && !strstr(s, must_have)) {
		fprintf(stderr, "no %s in %s\n", must_have, s);
		CHECK(0);
	}
	char *u = md_unfold(s, strlen(s) - 2);
	char *d = md_param(u, "filename");
	CHECK_STR(d, value);
	free(u);
	free(d);
	free(s);
}

static void test_params(void)
{
	check_param("report.pdf", 0, "filename=report.pdf");
	check_param("my report.pdf", 0, "filename=\"my report.pdf\"");
	check_param("say \"cheese\".jpg", 0, "filename=\"say \\\"cheese\\\".jpg\"");
	/* RFC 2231 with our percent-encoding of "*", "'" and space as in its example */
	check_param("This is even more ***fun*** isn't it! Long enough for sections, surely?", 0,
		    "filename*0*=utf-8''This%20is%20even%20more%20%2A%2A%2Afun%2A;");
	check_param("Rechnung M\xc3\xa4rz.pdf", 0, "filename*=utf-8''Rechnung%20M%C3%A4rz.pdf");
	char longname[400] = "";
	for (int i = 0; i < 30; i++)
		strcat(longname, "\xe2\x82\xac-");
	strcat(longname, ".txt");
	check_param(longname, 0, "filename*1*=");
	check_param("na\xc3\xafve.txt", 1, "filename=\"na\xc3\xafve.txt\"");
}

/* RFC 5322 2.1.1 and 2.2.3: folded at white space within 78 octets; an unbreakable
   line past 998 is refused; unfolding gives back the field. */
static void test_folding(void)
{
	struct smtpi_field f = {0};
	struct smtpi_buf out = {0};
	smtpi_field_start(&f, "X-List");
	for (int i = 0; i < 40; i++) {
		smtpi_field_space(&f);
		smtpi_field_str(&f, "item,");
	}
	CHECK_INT(smtpi_field_fold(&f, &out), 0);
	char *s = buf_str(&out);
	size_t lines = 0;
	for (const char *p = s, *e; (e = strstr(p, "\r\n")); p = e + 2) {
		CHECK(e - p <= 78);
		CHECK(p == s || *p == ' ');
		lines++;
	}
	CHECK(lines == 4);
	char *u = md_unfold(s, strlen(s));
	CHECK_INT(strlen(u), strlen("X-List:") + 40 * 6 + 2);
	free(u);
	free(s);

	/* a token of 900 octets gets a line of its own; one of 1000 cannot be written */
	char tok[1001];
	memset(tok, 't', 1000);
	tok[1000] = '\0';
	smtpi_field_start(&f, "X-Long");
	smtpi_field_space(&f);
	smtpi_field_text(&f, tok, 900);
	CHECK_INT(smtpi_field_fold(&f, &out), 0);
	CHECK_INT(out.len, strlen("X-Long:\r\n ") + 900 + 2);
	smtpi_buf_free(&out);
	smtpi_field_start(&f, "X-Long");
	smtpi_field_space(&f);
	smtpi_field_str(&f, tok);
	CHECK_INT(smtpi_field_fold(&f, &out), SMTP_EINVAL);
	smtpi_buf_free(&out);
	smtpi_field_free(&f);
}

static void test_utf8_check(void)
{
	CHECK_INT(smtpi_utf8_text_check("ok \xc3\xa9 \xf0\x9f\x98\x80", 10, 0), 0);
	CHECK_INT(smtpi_utf8_text_check("\xc0\xaf", 2, 0), SMTP_EINVAL);      /* overlong */
	CHECK_INT(smtpi_utf8_text_check("\xed\xa0\x80", 3, 0), SMTP_EINVAL);  /* surrogate */
	CHECK_INT(smtpi_utf8_text_check("\xf4\x90\x80\x80", 4, 0), SMTP_EINVAL);
	CHECK_INT(smtpi_utf8_text_check("\xc3", 1, 0), SMTP_EINVAL);          /* truncated */
	CHECK_INT(smtpi_utf8_text_check("a\tb", 3, 0), SMTP_EINVAL);
	CHECK_INT(smtpi_utf8_text_check("a\tb", 3, 1), 0);
	CHECK_INT(smtpi_utf8_text_check("a\rb", 3, 1), SMTP_EINVAL);
	CHECK_INT(smtpi_utf8_text_check("\xc2\x85", 2, 1), SMTP_EINVAL);      /* C1 NEL */
}

static void test_content_types(void)
{
	CHECK_INT(smtpi_content_type_check("application/pdf"), 0);
	CHECK_INT(smtpi_content_type_check("text/calendar; method=REQUEST; charset=\"utf-8\""), 0);
	CHECK_INT(smtpi_content_type_check("text/plain; charset=\"unterminated"), SMTP_EINVAL);
	CHECK_INT(smtpi_content_type_check("text"), SMTP_EINVAL);
	CHECK_INT(smtpi_content_type_check("text/plain\r\nBcc: x@y"), SMTP_EINVAL);
	CHECK_INT(smtpi_content_type_check("multipart/mixed; boundary=x"), SMTP_EINVAL);
	CHECK_INT(smtpi_content_type_check("Message/rfc822"), SMTP_EINVAL);
	CHECK_INT(smtpi_content_type_check("image/png; name"), SMTP_EINVAL);
	CHECK_STR(smtp_mime_type_guess("Invoice.PDF"), "application/pdf");
	CHECK_STR(smtp_mime_type_guess("a.tar.gz"), "application/gzip");
	CHECK_STR(smtp_mime_type_guess("noext"), "application/octet-stream");
	CHECK_STR(smtp_mime_type_guess("dir.d/file"), "application/octet-stream");
	CHECK_STR(smtp_mime_type_guess(NULL), "application/octet-stream");
}

/* RFC 5322 3.3: day-name, day month year, time, zone. */
static void test_dates(void)
{
	char d[40];
	smtpi_date_format(0, 0, d);
	CHECK_STR(d, "Thu, 1 Jan 1970 00:00:00 +0000");
	smtpi_date_format(1700000000, 60, d);
	CHECK_STR(d, "Tue, 14 Nov 2023 23:13:20 +0100");
	/* RFC 5322 A.1.1's date, from its zone -0600 */
	smtpi_date_format(880127706, -360, d);
	CHECK_STR(d, "Fri, 21 Nov 1997 09:55:06 -0600");
	smtpi_date_format(951782400, 0, d);
	CHECK_STR(d, "Tue, 29 Feb 2000 00:00:00 +0000");
	smtpi_date_format(0, -330, d);
	CHECK_STR(d, "Wed, 31 Dec 1969 18:30:00 -0530");
	smtpi_date_format(INT64_C(253402300799), 0, d);
	CHECK_STR(d, "Fri, 31 Dec 9999 23:59:59 +0000");
}

static void test_message_ids(void)
{
	size_t s, n;
	CHECK_INT(smtpi_msgid_check("<1234@local.machine.example>", 1, &s, &n), 0);
	CHECK_INT(s, 1);
	CHECK_INT(n, strlen("1234@local.machine.example"));
	CHECK_INT(smtpi_msgid_check("abcd.1234@[10.0.0.1]", 1, &s, &n), 0);
	CHECK_INT(smtpi_msgid_check("no-at-sign", 1, &s, &n), SMTP_EINVAL);
	CHECK_INT(smtpi_msgid_check("logo.png", 0, &s, &n), 0);
	CHECK_INT(smtpi_msgid_check("a..b@c", 1, &s, &n), SMTP_EINVAL);
	CHECK_INT(smtpi_msgid_check("a b@c", 1, &s, &n), SMTP_EINVAL);
	CHECK_INT(smtpi_msgid_check("<a@b>\r\nBcc: x", 1, &s, &n), SMTP_EINVAL);
	struct smtpi_rng r = {1, 7};
	char id1[SMTPI_MSGID_MAX], id2[SMTPI_MSGID_MAX];
	CHECK_INT(smtpi_message_id(&r, "example.org", id1), 0);
	CHECK_INT(smtpi_message_id(&r, "example.org", id2), 0);
	CHECK(strcmp(id1, id2) != 0);
	CHECK_INT(strlen(id1), 1 + 32 + 1 + strlen("example.org") + 1);
	CHECK_INT(smtpi_msgid_check(id1, 1, &s, &n), 0);
	char *dom = NULL;
	CHECK_INT(smtpi_msgid_domain("a@b\xc3\xbc" "cher.example", &dom), 0);
	CHECK_STR(dom, "xn--bcher-kva.example");
	free(dom);
}

static void test_boundary_shape(void)
{
	struct smtpi_rng r = {1, 99};
	char a[31], b[31];
	CHECK_INT(smtpi_boundary(&r, a), 0);
	CHECK_INT(smtpi_boundary(&r, b), 0);
	CHECK_INT(strlen(a), 30);
	CHECK(strncmp(a, "=_", 2) == 0);
	CHECK(strcmp(a, b) != 0);
	struct smtpi_rng again = {1, 99};
	CHECK_INT(smtpi_boundary(&again, b), 0);
	CHECK_STR(b, a);
	/* unseeded: OpenSSL's generator */
	CHECK_INT(smtpi_boundary(NULL, b), 0);
	CHECK(strcmp(a, b) != 0);
}

int main(void)
{
	RUN(test_qp_decoder_rfc_example);
	RUN(test_qp_rules);
	RUN(test_qp_round_trips);
	RUN(test_base64_rfc4648_vectors);
	RUN(test_base64_lines);
	RUN(test_words_decoder_rfc2047_examples);
	RUN(test_words_rfc2047_examples_encoded);
	RUN(test_words_round_trips);
	RUN(test_words_utf8_mode);
	RUN(test_param_decoder_rfc2231_examples);
	RUN(test_params);
	RUN(test_folding);
	RUN(test_utf8_check);
	RUN(test_content_types);
	RUN(test_dates);
	RUN(test_message_ids);
	RUN(test_boundary_shape);
	return CHECK_DONE("test_compose_encode");
}

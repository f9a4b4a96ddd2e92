/* The message builder: the exact form of a simple message, the MIME structure for
   each mix of parts, body encodings, boundary choice, header injection through every
   setter, mailbox text, envelope rules, and headers for ready-made messages. */
#include <unistd.h>

#include "compose_util.h"

static smtp_compose *basic(uint64_t seed)
{
	smtp_compose *c = cu_new(seed);
	CHECK_INT(smtp_compose_set_from(c, "joe@football.example.com", "Joe SixPack"), 0);
	CHECK_INT(smtp_compose_add_to(c, "suzie@shopping.example.net", "Suzie Q"), 0);
	CHECK_INT(smtp_compose_set_subject(c, "Is dinner ready?"), 0);
	CHECK_INT(smtp_compose_set_date(c, 1057982437, -420), 0);
	CHECK_INT(smtp_compose_set_message_id(c, "20030712040037.46341.5F8J@football.example.com"),
		  0);
	return c;
}

/* RFC 8463 A.2's message, composed: every octet as the RFCs prescribe. */
static void test_exact_simple_message(void)
{
	smtp_compose *c = basic(1);
	CHECK_INT(smtp_compose_set_text(c, "Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n"),
		  0);
	int rc;
	char *m = cu_bytes(c, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(m, "From: Joe SixPack <joe@football.example.com>\r\n"
		     "To: Suzie Q <suzie@shopping.example.net>\r\n"
		     "Subject: Is dinner ready?\r\n"
		     "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
		     "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
		     "MIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: 7bit\r\n"
		     "\r\n"
		     "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n");
	free(m);
	smtp_compose_free(c);
}

static void check_structure(smtp_compose *c, const char *want)
{
	int rc;
	size_t n;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	char got[512] = "";
	if (m) {
		cu_describe(m, n, got, sizeof got);
		CHECK(cu_lines_ok(m, n, 78));
	}
	CHECK_STR(got, want);
	free(m);
}

/* RFC 2046 5.1.3/5.1.4 and RFC 2387: mixed > alternative > related. */
static void test_structures(void)
{
	smtp_compose *c = basic(2);
	check_structure(c, "plain");
	CHECK_INT(smtp_compose_set_html(c, "<p>hi</p>"), 0);
	check_structure(c, "html");
	CHECK_INT(smtp_compose_set_text(c, "hi"), 0);
	check_structure(c, "alternative(plain,html)");
	CHECK_INT(smtp_compose_add_attachment(c, "%PDF", 4, "a.pdf", NULL), 0);
	check_structure(c, "mixed(alternative(plain,html),application/pdf)");
	CHECK_INT(smtp_compose_add_inline(c, "\x89PNG", 4, "logo@example", "image/png"), 0);
	check_structure(c, "mixed(alternative(plain,related(html,image/png)),application/pdf)");
	CHECK_INT(smtp_compose_add_attachment(c, "", 0, "empty.bin", NULL), 0);
	check_structure(c, "mixed(alternative(plain,related(html,image/png)),application/pdf,"
			   "application/octet-stream)");
	smtp_compose_free(c);

	c = basic(3);
	CHECK_INT(smtp_compose_add_attachment(c, "x", 1, "only.zip", NULL), 0);
	check_structure(c, "mixed(application/zip)");
	smtp_compose_free(c);
	c = basic(4);
	CHECK_INT(smtp_compose_set_text(c, "see the picture"), 0);
	CHECK_INT(smtp_compose_add_inline(c, "GIF8", 4, "pic", "image/gif"), 0);
	check_structure(c, "related(plain,image/gif)");
	smtp_compose_free(c);
}

/* The attachment's headers: RFC 2183 disposition, file name, Content-ID, base64. */
static void test_part_headers(void)
{
	smtp_compose *c = basic(5);
	CHECK_INT(smtp_compose_set_html(c, "<img src=\"cid:logo@x\">"), 0);
	CHECK_INT(smtp_compose_add_attachment(c, "data", 4, "Re\xcc\x81sume\xcc\x81 \"v2\".pdf", NULL),
		  0);
	CHECK_INT(smtp_compose_add_inline(c, "img", 3, "<logo@x>", NULL), 0);
	int rc;
	size_t n, ps, pn, dl;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(cu_part(m, n, "1", &ps, &pn), 0);
	char *cd = md_field(m + ps, pn, "Content-Disposition");
	char *fn = md_param(cd, "filename");
	CHECK(strncmp(cd, "attachment;", 11) == 0);
	CHECK_STR(fn, "Re\xcc\x81sume\xcc\x81 \"v2\".pdf");
	char *d = cu_decoded(m + ps, pn, &dl);
	CHECK_MEM(d, dl, "data", 4);
	free(d);
	free(fn);
	free(cd);
	CHECK_INT(cu_part(m, n, "0.1", &ps, &pn), 0);
	char *cid = md_field(m + ps, pn, "Content-ID");
	CHECK_STR(cid, "<logo@x>");
	cd = md_field(m + ps, pn, "Content-Disposition");
	CHECK_STR(cd, "inline");
	char *ct = md_field(m + ps, pn, "Content-Type");
	CHECK_STR(ct, "application/octet-stream");
	free(ct);
	free(cd);
	free(cid);
	free(m);
	smtp_compose_free(c);
}

static char *text_part(smtp_compose *c, char **cte)
{
	int rc;
	size_t n, dl;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	*cte = md_field(m, n, "Content-Transfer-Encoding");
	char *d = cu_decoded(m, n, &dl);
	free(m);
	return d;
}

/* RFC 2045 6: the encoding follows the text; the text always decodes back. */
static void test_text_encodings(void)
{
	static const struct {
		const char *in, *want, *cte;
		int eightbit;
	} v[] = {
		{"short\nlines\n", "short\r\nlines\r\n", "7bit", 0},
		{"mixed\r\nends\rlone\n", "mixed\r\nends\r\nlone\r\n", "7bit", 0},
		{"caf\xc3\xa9\n", "caf\xc3\xa9\r\n", "quoted-printable", 0},
		{"caf\xc3\xa9\n", "caf\xc3\xa9\r\n", "8bit", 1},
		{"trailing space \nand = sign\n", "trailing space \r\nand = sign\r\n", "7bit", 0},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		smtp_compose *c = basic(6);
		CHECK_INT(smtp_compose_allow_8bit(c, v[i].eightbit), 0);
		CHECK_INT(smtp_compose_set_text(c, v[i].in), 0);
		char *cte, *d = text_part(c, &cte);
		CHECK_STR(cte, v[i].cte);
		CHECK_STR(d, v[i].want);
		free(cte);
		free(d);
		smtp_compose_free(c);
	}
	/* a line over 78 octets goes quoted-printable; one over 998 even with 8bit */
	char longline[1200];
	memset(longline, 'a', 1100);
	longline[1100] = '\0';
	for (int eight = 0; eight < 2; eight++) {
		smtp_compose *c = basic(7);
		smtp_compose_allow_8bit(c, eight);
		CHECK_INT(smtp_compose_set_text(c, longline + 1000), 0);
		char *cte, *d = text_part(c, &cte);
		CHECK_STR(cte, "quoted-printable");
		CHECK_INT(strlen(d), 100 + 2);
		free(cte);
		free(d);
		CHECK_INT(smtp_compose_set_text(c, longline), 0);
		d = text_part(c, &cte);
		CHECK_STR(cte, "quoted-printable");
		free(cte);
		free(d);
		smtp_compose_free(c);
	}
	smtp_compose *c = basic(8);
	CHECK_INT(smtp_compose_set_text(c, "bad \xff utf-8"), SMTP_EINVAL);
	CHECK_INT(smtp_compose_set_html(c, "\xc3"), SMTP_EINVAL);
	smtp_compose_free(c);
}

/* RFC 2046 5.1.1: a boundary that occurs in a 7bit part is not used. */
static void test_boundary_avoids_content(void)
{
	struct smtpi_rng r = {1, 77};
	char first[31], text[200];
	CHECK_INT(smtpi_boundary(&r, first), 0);
	snprintf(text, sizeof text, "line\n--%s\nafter\n--%s--\n", first, first);
	smtp_compose *c = basic(77);
	CHECK_INT(smtp_compose_set_text(c, text), 0);
	CHECK_INT(smtp_compose_add_attachment(c, "x", 1, "x.bin", NULL), 0);
	int rc;
	size_t n, ps, pn, dl;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	char *ct = md_field(m, n, "Content-Type");
	char *bnd = md_param(ct, "boundary");
	CHECK(bnd && strcmp(bnd, first) != 0);
	CHECK_INT(cu_part(m, n, "0", &ps, &pn), 0);
	char *cte = md_field(m + ps, pn, "Content-Transfer-Encoding");
	CHECK_STR(cte, "7bit");
	char *d = cu_decoded(m + ps, pn, &dl);
	char want[200];
	snprintf(want, sizeof want, "line\r\n--%s\r\nafter\r\n--%s--\r\n", first, first);
	CHECK_STR(d, want);
	free(d);
	free(cte);
	free(bnd);
	free(ct);
	free(m);
	smtp_compose_free(c);
}

static long empty_reader(void *ud, void *buf, size_t len)
{
	(void)ud;
	(void)buf;
	(void)len;
	return 0;
}

/* A regular file under a fresh directory, named name; the path goes to path. */
static void regular_file(char *dir, char *path, size_t cap, const char *name)
{
	if (!mkdtemp(dir))
		exit(2);
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fputs("x", f) < 0 || fclose(f) != 0)
		exit(2);
}

/* Every setter refuses what would end a header line or start another: CR, LF, a
   lone CR in a display name, a colon in a field name. */
static void test_injection(void)
{
	char dir[] = "/tmp/test_compose.XXXXXX", path[128];
	regular_file(dir, path, sizeof path, "x\nBcc: evil@example.net");
	/* the file's base name is the default file name: it must not inject either */
	smtp_compose *fc = basic(8);
	CHECK_INT(smtp_compose_add_attachment_file(fc, path, NULL, "text/plain"), SMTP_EINVAL);
	smtp_compose_free(fc);
	CHECK_INT(unlink(path), 0);
	snprintf(path, sizeof path, "%s/plain.txt", dir);
	FILE *pf = fopen(path, "wb");
	CHECK(pf != NULL && fclose(pf) == 0);
	/* the file itself is fine: what the loop refuses is the name given with it */
	fc = basic(8);
	CHECK_INT(smtp_compose_add_attachment_file(fc, path, NULL, NULL), 0);
	smtp_compose_free(fc);
	static const char *const bad[] = {"a\rb", "a\nb", "a\r\nBcc: evil@example.net",
					  "x\r\n", "\r\nX-Injected: 1", "a\tb\x7f"};
	smtp_compose *c = basic(9);
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *b = bad[i];
		char mb[64];
		snprintf(mb, sizeof mb, "%s <a@example.org>", b);
		CHECK_INT(smtp_compose_set_from(c, "a@example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_set_from(c, b, NULL), SMTP_EINVAL);
		CHECK_INT(smtp_compose_set_sender(c, "a@example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_reply_to(c, "a@example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_to(c, "a@example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_to(c, b, "Name"), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_cc(c, "a@example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_bcc(c, b, NULL), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_mailbox(c, SMTP_FIELD_TO, mb), SMTP_EINVAL);
		CHECK_INT(smtp_mailbox_parse(mb, addr, sizeof addr, name, sizeof name), SMTP_EINVAL);
		CHECK_INT(smtp_compose_set_envelope_from(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_envelope_rcpt(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_set_message_id(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_set_in_reply_to(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_references(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_header(c, b, "v"), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_attachment(c, "x", 1, b, NULL), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_attachment(c, "x", 1, "f.txt", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_attachment_reader(c, empty_reader, NULL, 0, b, NULL),
			  SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_inline(c, "x", 1, b, NULL), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_inline(c, "x", 1, "cid", b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_attachment_file(c, path, b, NULL), SMTP_EINVAL);
		smtp_dkim *d = smtp_dkim_new();
		CHECK_INT(smtp_dkim_set_domain(d, b, "sel"), SMTP_EINVAL);
		CHECK_INT(smtp_dkim_set_domain(d, "example.org", b), SMTP_EINVAL);
		CHECK_INT(smtp_dkim_set_headers(d, b), SMTP_EINVAL);
		smtp_dkim_free(d);
		/* TAB is white space in unstructured text; CR, LF and DEL are not */
		CHECK_INT(smtp_compose_set_subject(c, b), SMTP_EINVAL);
		CHECK_INT(smtp_compose_add_header(c, "X-Ok", b), SMTP_EINVAL);
	}
	/* RFC 5322 3.6.8: a field name is printable ASCII without ":" or space */
	static const char *const names[] = {"X-A:B", "X A", "", "X-\xc3\xa9", "Bcc", "content-type",
					    "DKIM-Signature", "Subject"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		CHECK_INT(smtp_compose_add_header(c, names[i], "v"), SMTP_EINVAL);
	char toolong[100];
	memset(toolong, 'X', 77);
	toolong[77] = '\0';
	CHECK_INT(smtp_compose_add_header(c, toolong, "v"), SMTP_EINVAL);
	CHECK_INT(smtp_compose_add_header(c, "X-Fine", "value with\ttab"), 0);
	/* a NUL ends a C string: what follows it is never seen */
	CHECK_INT(smtp_compose_set_subject(c, "ok\0\r\nBcc: evil@example.net"), 0);
	CHECK_INT(smtp_compose_add_bcc(c, "hidden@example.net", NULL), 0);
	int rc;
	size_t n;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	CHECK(strstr(m, "evil") == NULL);
	CHECK(strstr(m, "hidden") == NULL);
	CHECK(strstr(m, "X-Injected") == NULL);
	CHECK(strstr(m, "\r\nBcc") == NULL);
	CHECK(strstr(m, "Subject: ok\r\n") != NULL);
	CHECK(strstr(m, "X-Fine: value with\ttab\r\n") != NULL);
	CHECK(cu_lines_ok(m, n, 78));
	free(m);
	smtp_compose_free(c);
	CHECK_INT(unlink(path), 0);
	CHECK_INT(rmdir(dir), 0);
}

/* Display names of every kind come back from the header as they went in. */
static void test_display_names(void)
{
	static const char *const v[] = {"Joe", "O'Brien, Pat", "\"Quoted\" \\ back", "Zo\xc3\xab",
					"=?utf-8?q?fake?=", "a@b.example", "  spaced  "};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		smtp_compose *c = basic(10);
		CHECK_INT(smtp_compose_add_cc(c, "cc@example.org", v[i]), 0);
		int rc;
		size_t n;
		char *m = cu_bytes(c, &n, &rc);
		char *cc = md_field(m, n, "Cc");
		/* phrase = the part before " <"; unquote a quoted string */
		char *lt = strstr(cc, " <cc@example.org>");
		CHECK(lt != NULL && lt[17] == '\0');
		if (lt)
			*lt = '\0';
		char *d = md_decode_words(cc);
		if (cc[0] == '"')
			md_unquote(d);
		CHECK_STR(d, v[i]);
		free(d);
		free(cc);
		free(m);
		smtp_compose_free(c);
	}
}

static void check_parse(const char *in, const char *want_addr, const char *want_name)
{
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	CHECK_INT(smtp_mailbox_parse(in, addr, sizeof addr, name, sizeof name), 0);
	CHECK_STR(addr, want_addr);
	CHECK_STR(name, want_name);
}

static void test_mailbox_parse(void)
{
	check_parse("a@example.org", "a@example.org", "");
	check_parse("<a@example.org>", "a@example.org", "");
	check_parse("  Joe Bloggs <joe@example.org>  ", "joe@example.org", "Joe Bloggs");
	check_parse("\"Bloggs, Joe\" <joe@example.org>", "joe@example.org", "Bloggs, Joe");
	check_parse("\"say \\\"hi\\\" <x>\" <joe@example.org>", "joe@example.org", "say \"hi\" <x>");
	check_parse("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>", "j\xc3\xb6rg@b\xc3\xbc" "cher.example",
		    "J\xc3\xb6rg");
	char addr[SMTP_ADDR_MAX + 1], name[SMTP_NAME_MAX + 1];
	CHECK_INT(smtp_mailbox_parse("Joe <joe@example.org", addr, sizeof addr, name, sizeof name),
		  SMTP_EINVAL);
	CHECK_INT(smtp_mailbox_parse("Joe joe@example.org", addr, sizeof addr, name, sizeof name),
		  SMTP_EINVAL);
	CHECK_INT(smtp_mailbox_parse("joe@example.org (Joe)", addr, sizeof addr, name, sizeof name),
		  SMTP_EINVAL);
	CHECK_INT(smtp_mailbox_parse("Joe <joe@example.org>", addr, 5, name, sizeof name),
		  SMTP_EINVAL);
	smtp_compose *c = cu_new(11);
	CHECK_INT(smtp_compose_add_mailbox(c, SMTP_FIELD_FROM, "Joe <joe@example.org>"), 0);
	CHECK_INT(smtp_compose_add_mailbox(c, SMTP_FIELD_BCC, "b@example.org"), 0);
	CHECK_INT(smtp_compose_add_mailbox(c, (smtp_field)99, "b@example.org"), SMTP_EINVAL);
	int rc;
	size_t n;
	char *m = cu_bytes(c, &n, &rc);
	char *from = md_field(m, n, "From");
	CHECK_STR(from, "Joe <joe@example.org>");
	free(from);
	free(m);
	smtp_compose_free(c);
}

/* What the message needs before it can be composed, and SMTPUTF8 addresses. */
static void test_to_message_rules(void)
{
	smtp_compose *c = cu_new(12);
	smtp_message *m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), SMTP_EINVAL); /* no From */
	CHECK_INT(smtp_compose_set_from(c, "a@example.org", NULL), 0);
	CHECK_INT(smtp_compose_to_message(c, m), SMTP_EINVAL); /* no recipient */
	CHECK_INT(smtp_compose_add_to(c, "\xc3\xbcser@example.org", NULL), 0);
	CHECK_INT(smtp_compose_to_message(c, m), SMTP_EINVAL); /* RFC 6532 needs SMTPUTF8 */
	CHECK_INT(smtp_compose_set_utf8(c, 1), 0);
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	CHECK_INT(smtp_compose_rewind(c, m), 0);
	CHECK_INT(smtp_compose_to_message(NULL, m), SMTP_EINVAL);
	smtp_message *other = smtp_message_new();
	CHECK_INT(smtp_compose_rewind(c, other), SMTP_EINVAL); /* never filled by c */
	CHECK_INT(smtp_compose_rewind(NULL, m), SMTP_EINVAL);
	smtp_message_free(other);
	smtp_message_free(m);
	/* composing into the same message again (or into a new one at a freed one's
	   address) makes a new message, which replaces the plan filed there */
	m = smtp_message_new();
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	char *id1 = md_field(c->plans->head.data, c->plans->head.len, "Message-ID");
	CHECK_INT(smtp_compose_to_message(c, m), 0);
	char *id2 = md_field(c->plans->head.data, c->plans->head.len, "Message-ID");
	CHECK(id1 && id2 && strcmp(id1, id2) != 0);
	size_t plans = 0;
	for (struct smtpi_plan *p = c->plans; p; p = p->next)
		plans += p->m == m;
	CHECK_INT(plans, 1);
	free(id1);
	free(id2);
	smtp_message_free(m);
	smtp_compose_free(c);

	/* IDN domains go as A-labels unless SMTPUTF8 */
	c = cu_new(13);
	CHECK_INT(smtp_compose_set_from(c, "a@b\xc3\xbc" "cher.example", NULL), 0);
	CHECK_INT(smtp_compose_add_to(c, "x@example.org", NULL), 0);
	int rc;
	size_t n;
	char *msg = cu_bytes(c, &n, &rc);
	char *from = md_field(msg, n, "From");
	char *id = md_field(msg, n, "Message-ID");
	CHECK_STR(from, "a@xn--bcher-kva.example");
	CHECK(id && strstr(id, "@xn--bcher-kva.example>") != NULL);
	free(from);
	free(id);
	free(msg);
	smtp_compose_free(c);
}

/* Bcc never reaches the header; dates and ids are there even when not given. */
static void test_generated_fields(void)
{
	smtp_compose *c = smtp_compose_new();
	CHECK_INT(smtp_compose_set_from(c, "a@Example.ORG", NULL), 0);
	CHECK_INT(smtp_compose_add_bcc(c, "secret@example.net", "Secret"), 0);
	CHECK_INT(smtp_compose_add_references(c, "<r1@x>"), 0);
	CHECK_INT(smtp_compose_add_references(c, "r2@x"), 0);
	CHECK_INT(smtp_compose_set_in_reply_to(c, "r2@x"), 0);
	int rc;
	size_t n;
	char *m = cu_bytes(c, &n, &rc);
	CHECK_INT(rc, 0);
	CHECK(strstr(m, "secret") == NULL && strstr(m, "Secret") == NULL);
	char *date = md_field(m, n, "Date"), *id = md_field(m, n, "Message-ID");
	char *refs = md_field(m, n, "References"), *irt = md_field(m, n, "In-Reply-To");
	CHECK(date && strlen(date) >= 30);
	CHECK(id && strlen(id) == strlen("<@Example.ORG>") + 32);
	CHECK_STR(refs, "<r1@x> <r2@x>");
	CHECK_STR(irt, "<r2@x>");
	char *m2 = cu_bytes(c, &n, &rc);
	char *id2 = md_field(m2, n, "Message-ID");
	CHECK(strcmp(id, id2) != 0);
	free(id2);
	free(m2);
	free(date);
	free(id);
	free(refs);
	free(irt);
	free(m);
	CHECK_INT(smtp_compose_set_date(c, -1, 0), SMTP_EINVAL);
	CHECK_INT(smtp_compose_set_date(c, INT64_C(253402300800), 0), SMTP_EINVAL);
	CHECK_INT(smtp_compose_set_date(c, 0, 1440), SMTP_EINVAL);
	CHECK_INT(smtp_compose_set_spool_limit(c, (uint64_t)1 << 41), SMTP_EINVAL);
	smtp_compose_free(c);
}

static void test_missing_headers(void)
{
	char out[SMTP_MISSING_HEADERS_MAX];
	size_t n;
	const char *full = "From: a@b.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
			   "Message-ID: <x@y>\n\nbody\n";
	CHECK_INT(smtp_compose_missing_headers(full, strlen(full), NULL, out, sizeof out, &n), 0);
	CHECK_INT(n, 0);
	CHECK_STR(out, "");
	const char *bare = "Subject: hi\r\nFrom: \"Joe, Jr\" <joe@Mail.Example.ORG>\r\n"
			   "message-id : <already@x>\r\n\r\nbody\r\n";
	CHECK_INT(smtp_compose_missing_headers(bare, strlen(bare), NULL, out, sizeof out, &n), 0);
	CHECK(strncmp(out, "Date: ", 6) == 0 && strstr(out, "Message-ID") == NULL);
	CHECK_INT(n, strlen(out));
	const char *noid = "From: Joe <joe@Mail.Example.ORG>\r\nDate: x\r\n\r\n";
	CHECK_INT(smtp_compose_missing_headers(noid, strlen(noid), NULL, out, sizeof out, &n), 0);
	CHECK(strncmp(out, "Message-ID: <", 13) == 0);
	CHECK(strstr(out, "@Mail.Example.ORG>\r\n") != NULL);
	const char *nofrom = "Subject: x\r\n\r\n";
	CHECK_INT(smtp_compose_missing_headers(nofrom, strlen(nofrom), NULL, out, sizeof out, &n),
		  SMTP_EINVAL);
	CHECK_INT(smtp_compose_missing_headers(nofrom, strlen(nofrom), "host.example", out,
					       sizeof out, &n),
		  0);
	CHECK(strstr(out, "@host.example>\r\n") != NULL);
	CHECK_INT(smtp_compose_missing_headers(nofrom, strlen(nofrom), "bad\r\nx", out, sizeof out,
					       &n),
		  SMTP_EINVAL);
	CHECK_INT(smtp_compose_missing_headers(nofrom, strlen(nofrom), "h.example", out, 10, &n),
		  SMTP_EINVAL);
}

int main(void)
{
	RUN(test_exact_simple_message);
	RUN(test_structures);
	RUN(test_part_headers);
	RUN(test_text_encodings);
	RUN(test_boundary_avoids_content);
	RUN(test_injection);
	RUN(test_display_names);
	RUN(test_mailbox_parse);
	RUN(test_to_message_rules);
	RUN(test_generated_fields);
	RUN(test_missing_headers);
	return CHECK_DONE("test_compose");
}

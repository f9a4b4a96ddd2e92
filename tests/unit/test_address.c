/* Mailbox syntax, IDNA, xtext and the control-character check. */
#include <stdlib.h>

#include "wire/address.h"
#include "wire/text.h"
#include "check.h"
#include "smtp.h"

#define NUL_OK 1

/* Checks that mailbox is accepted with the given flags and inner span. */
static void good(const char *mailbox, unsigned want_flags, size_t want_start,
		 size_t want_len)
{
	unsigned flags = 99;
	size_t start = 99, len = 99;
	const char *why = NULL;
	int rc = smtpi_address_check(mailbox, NUL_OK, &flags, &start, &len, &why);
	if (rc != 0)
		fprintf(stderr, "rejected \"%s\": %s\n", mailbox, why ? why : "(null)");
	CHECK_INT(rc, 0);
	CHECK_INT(flags, want_flags);
	CHECK_INT(start, want_start);
	CHECK_INT(len, want_len);
	/* The NULL out-pointers are optional. */
	CHECK_INT(smtpi_address_check(mailbox, NUL_OK, NULL, NULL, NULL, NULL), 0);
}

#define GOOD(m, f) good((m), (f), 0, strlen(m))

/* Checks that mailbox is refused with a reason. */
static void bad(const char *mailbox)
{
	unsigned flags = 99;
	const char *why = NULL;
	int rc = smtpi_address_check(mailbox, NUL_OK, &flags, NULL, NULL, &why);
	if (rc != SMTP_EINVAL)
		fprintf(stderr, "accepted \"%s\"\n", mailbox);
	CHECK_INT(rc, SMTP_EINVAL);
	CHECK(why != NULL && why[0] != '\0');
	CHECK_INT(flags, 0);
	CHECK_INT(smtpi_address_check(mailbox, NUL_OK, NULL, NULL, NULL, NULL), SMTP_EINVAL);
}

static void test_plain(void)
{
	GOOD("user@example.org", 0);
	GOOD("a@b", 0);
	GOOD("first.last@example.org", 0);
	GOOD("a.b.c.d@example.org", 0);
	GOOD("!#$%&'*+-/=?^_`{|}~@example.org", 0);
	GOOD("user+tag@sub.example-host.org", 0);
	GOOD("USER@EXAMPLE.ORG", 0);
	GOOD("user@localhost", 0);
	GOOD("user@123.example", 0);
	GOOD("user@xn--bcher-kva.example", 0);
	good("<user@example.org>", 0, 1, 16);
	bad("user");
	bad("@example.org");
	bad("user@");
	bad("user@@example.org");
	bad("us@er@example.org");
	bad("user example@example.org");
	bad(" user@example.org");
	bad("user@example.org ");
	bad("user(comment)@example.org");
	bad("us\"er@example.org");
	bad("user,other@example.org");
	bad("<user@example.org");
	bad("user@example.org>");
	bad("<<user@example.org>>");
	bad("<@relay.example:user@example.org>");
	bad("@relay.example,@b.example:user@example.org");
	bad("\"Name\" <user@example.org>");
}

static void test_dots(void)
{
	bad(".user@example.org");
	bad("user.@example.org");
	bad("us..er@example.org");
	bad(".@example.org");
	bad("user@.example.org");
	bad("user@example.org.");
	bad("user@example..org");
	bad("user@.");
	bad("user@-example.org");
	bad("user@example-.org");
	bad("user@exa_mple.org");
	GOOD("user@e-x-a.org", 0);
	/* Dots inside quotes are text. */
	GOOD("\".user.\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"us..er\"@example.org", SMTPI_ADDR_QUOTED);
}

static void test_quoted(void)
{
	GOOD("\"john smith\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"a@b\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"a\\\"b\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"a\\\\b\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"\\ \"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"(),:;<>[]\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"\"@example.org", SMTPI_ADDR_QUOTED);
	GOOD("\"j\xc3\xb6rg\"@example.org", SMTPI_ADDR_QUOTED | SMTPI_ADDR_UTF8_LOCAL);
	good("<\"a b\"@example.org>", SMTPI_ADDR_QUOTED, 1, 17);
	bad("\"unterminated@example.org");
	bad("\"a\"b@example.org");
	bad("\"a\".b@example.org");
	bad("a.\"b\"@example.org");
	bad("\"a\\\"@example.org");
	bad("\"a\\\xc3\xb6\"@example.org");
	bad("\"a\"");
}

static void test_literals(void)
{
	GOOD("user@[192.0.2.1]", SMTPI_ADDR_LITERAL);
	GOOD("user@[255.255.255.255]", SMTPI_ADDR_LITERAL);
	GOOD("user@[0.0.0.0]", SMTPI_ADDR_LITERAL);
	GOOD("user@[IPv6:2001:db8::1]", SMTPI_ADDR_LITERAL);
	GOOD("user@[ipv6:2001:db8::1]", SMTPI_ADDR_LITERAL);
	GOOD("user@[IPv6:::1]", SMTPI_ADDR_LITERAL);
	GOOD("user@[IPv6:2001:db8:0:0:0:0:0:1]", SMTPI_ADDR_LITERAL);
	GOOD("user@[IPv6:::ffff:192.0.2.1]", SMTPI_ADDR_LITERAL);
	good("<postmaster@[192.0.2.1]>", SMTPI_ADDR_LITERAL, 1, 22);
	bad("user@[256.0.0.1]");
	bad("user@[192.0.2]");
	bad("user@[192.0.2.1.5]");
	bad("user@[192.0.2.01]");
	bad("user@[ 192.0.2.1]");
	bad("user@[192.0.2.1");
	bad("user@192.0.2.1]");
	bad("user@[192.0.2.1]x");
	bad("user@[]");
	bad("user@[IPv6:]");
	bad("user@[2001:db8::1]");
	bad("user@[IPv6:2001:db8::1::2]");
	bad("user@[IPv6:2001:db8::g]");
	bad("user@[IPv6:192.0.2.1]");
	bad("user@[IPv6:fe80::1%eth0]");
	bad("user@[x-tag:content]");
	bad("user@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]");
}

static void test_null(void)
{
	unsigned flags = 0;
	size_t start = 9, len = 9;
	const char *why = NULL;
	good("", SMTPI_ADDR_NULL, 0, 0);
	good("<>", SMTPI_ADDR_NULL, 1, 0);
	CHECK_INT(smtpi_address_check("", 0, &flags, &start, &len, &why), SMTP_EINVAL);
	CHECK(why != NULL);
	CHECK_INT(smtpi_address_check("<>", 0, &flags, &start, &len, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_address_check(NULL, 1, &flags, &start, &len, &why), SMTP_EINVAL);
	bad("<");
	bad(">");
	bad("< >");
	bad("<<>>");
}

static void test_utf8(void)
{
	GOOD("\xe7\x94\xa8\xe6\x88\xb7@example.org", SMTPI_ADDR_UTF8_LOCAL);
	GOOD("j\xc3\xb6rg@b\xc3\xbc" "cher.example",
	     SMTPI_ADDR_UTF8_LOCAL | SMTPI_ADDR_UTF8_DOMAIN);
	GOOD("user@b\xc3\xbc" "cher.example", SMTPI_ADDR_UTF8_DOMAIN);
	GOOD("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95",
	     SMTPI_ADDR_UTF8_LOCAL | SMTPI_ADDR_UTF8_DOMAIN);
	GOOD("\xf0\x9f\x98\x80@example.org", SMTPI_ADDR_UTF8_LOCAL);
	GOOD("\xf4\x8f\xbf\xbd@example.org", SMTPI_ADDR_UTF8_LOCAL);
	GOOD("\xc2\xa0x@example.org", SMTPI_ADDR_UTF8_LOCAL);
	/* Overlong forms. */
	bad("\xc0\xaf@example.org");
	bad("\xc1\xbf@example.org");
	bad("\xe0\x80\xaf@example.org");
	bad("\xe0\x9f\xbf@example.org");
	bad("\xf0\x80\x80\xaf@example.org");
	bad("\xf0\x8f\xbf\xbf@example.org");
	/* Surrogates, beyond U+10FFFF, stray and truncated sequences. */
	bad("\xed\xa0\x80@example.org");
	bad("\xed\xbf\xbf@example.org");
	bad("\xf4\x90\x80\x80@example.org");
	bad("\xf5\x80\x80\x80@example.org");
	bad("\xff@example.org");
	bad("\xfe@example.org");
	bad("\x80@example.org");
	bad("a\xbf@example.org");
	bad("\xc3@example.org");
	bad("\xe4\xbe@example.org");
	bad("user@example.or\xc3");
	bad("user@\xe4\xbe.example");
	bad("user@b\xc3\x28.example");
	/* C1 controls are control characters too. */
	bad("a\xc2\x80@example.org");
	bad("a\xc2\x9f@example.org");
	bad("user@ex\xc2\x85.org");
}

static void test_controls(void)
{
	/* '#' marks where the control character goes. */
	static const char *const where[] = {"#user@example.org", "us#er@example.org",
					    "user#@example.org", "user@#example.org",
					    "user@exam#ple.org", "user@example.org#",
					    "\"us#er\"@example.org", "user@[192.0.2.1#]",
					    "<user@example.org#>", "\"\\#\"@example.org"};
	char buf[64];
	for (int c = 1; c < 0x80; c++) {
		if (c >= 0x20 && c != 0x7f)
			continue;
		for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
			const char *why = NULL;
			strcpy(buf, where[w]);
			*strchr(buf, '#') = (char)c;
			CHECK_INT(smtpi_address_check(buf, 1, NULL, NULL, NULL, &why), SMTP_EINVAL);
			CHECK(why != NULL && (strstr(why, "control") || strstr(why, "CR or LF")));
		}
	}
	bad("user@example.org\r\nRCPT TO:<evil@example.org>");
	bad("user@example.org\nDATA");
	bad("\t@example.org");
	bad("\"a\tb\"@example.org");
}

static void test_lengths(void)
{
	char buf[400], *p;
	const char *why = NULL;
	/* Local part: 64 octets at most (RFC 5321 4.5.3.1.1). */
	memset(buf, 'l', 64);
	strcpy(buf + 64, "@example.org");
	GOOD(buf, 0);
	memset(buf, 'l', 65);
	strcpy(buf + 65, "@example.org");
	bad(buf);
	buf[0] = '"';
	memset(buf + 1, 'q', 62);
	strcpy(buf + 63, "\"@example.org");
	GOOD(buf, SMTPI_ADDR_QUOTED);
	buf[0] = '"';
	memset(buf + 1, 'q', 63);
	strcpy(buf + 64, "\"@example.org");
	bad(buf);
	/* 64 octets of UTF-8: 32 two-octet characters. */
	for (int i = 0; i < 32; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	strcpy(buf + 64, "@example.org");
	GOOD(buf, SMTPI_ADDR_UTF8_LOCAL);
	memmove(buf + 1, buf, strlen(buf) + 1);
	buf[0] = 'x';
	bad(buf);

	/* Domain: 255 octets at most (RFC 5321 4.5.3.1.2), labels 63. */
	strcpy(buf, "u@");
	p = buf + 2;
	for (int i = 0; i < 4; i++) {
		memset(p, 'a' + i, 63);
		p[63] = '.';
		p += 64;
	}
	/* Four 63-octet labels with dots make 255 octets. */
	p[-1] = '\0';
	CHECK_INT(strlen(buf + 2), 255);
	GOOD(buf, 0);
	/* 256 octets in short labels. */
	strcpy(buf, "u@b");
	for (int i = 0; i < 127; i++)
		strcat(buf, "a.");
	strcat(buf, "a");
	CHECK_INT(strlen(buf + 2), 256);
	bad(buf);
	CHECK_INT(smtpi_address_check(buf, 1, NULL, NULL, NULL, &why), SMTP_EINVAL);
	CHECK_STR(why, "domain longer than 255 octets");
	memmove(buf + 2, buf + 3, strlen(buf + 3) + 1);
	GOOD(buf, 0);
	strcpy(buf, "u@");
	memset(buf + 2, 'a', 63);
	strcpy(buf + 65, ".example");
	GOOD(buf, 0);
	memset(buf + 2, 'a', 64);
	strcpy(buf + 66, ".example");
	bad(buf);
}

/* Checks the A-label form of a checked mailbox. */
static void ascii(const char *mailbox, int no_map, const char *want)
{
	size_t start = 0, len = 0;
	char *out = (char *)"unset";
	const char *why = NULL;
	CHECK_INT(smtpi_address_check(mailbox, 1, NULL, &start, &len, &why), 0);
	int rc = smtpi_address_to_ascii(mailbox + start, len, no_map, &out, &why);
	if (rc != 0)
		fprintf(stderr, "to_ascii \"%s\": %s\n", mailbox, why ? why : "(null)");
	CHECK_INT(rc, 0);
	CHECK_STR(out, want);
	free(out);
}

static void ascii_bad(const char *mailbox, int no_map)
{
	size_t start = 0, len = 0;
	char *out = (char *)"unset";
	const char *why = NULL;
	CHECK_INT(smtpi_address_check(mailbox, 1, NULL, &start, &len, &why), 0);
	CHECK_INT(smtpi_address_to_ascii(mailbox + start, len, no_map, &out, &why),
		  SMTP_EINVAL);
	CHECK(out == NULL);
	CHECK(why != NULL && why[0] != '\0');
}

static void test_idna(void)
{
	ascii("user@b\xc3\xbc" "cher.example", 0, "user@xn--bcher-kva.example");
	ascii("user@b\xc3\xbc" "cher.example", 1, "user@xn--bcher-kva.example");
	ascii("<user@b\xc3\xbc" "cher.example>", 0, "user@xn--bcher-kva.example");
	/* The local part is left alone: it needs SMTPUTF8 (RFC 6531), not IDNA. */
	ascii("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", 0,
	      "\xe7\x94\xa8\xe6\x88\xb7@xn--fsqu00a.xn--0zwm56d");
	ascii("\"a@b\"@b\xc3\xbc" "cher.example", 0, "\"a@b\"@xn--bcher-kva.example");
	/* UTS #46 maps upper case; non-transitional keeps sharp s (RFC 5891, UTS #46 4). */
	ascii("user@B\xc3\x9c" "CHER.example", 0, "user@xn--bcher-kva.example");
	ascii("user@stra\xc3\x9f" "e.example", 0, "user@xn--strae-oqa.example");
	/* ASCII domains and literals go out as given. */
	ascii("User@Example.ORG", 0, "User@Example.ORG");
	ascii("user@[IPv6:2001:db8::1]", 0, "user@[IPv6:2001:db8::1]");
	ascii("", 0, "");
	ascii("<>", 0, "");
	/* Without mapping, upper case is not a valid U-label (RFC 5892). */
	ascii_bad("user@B\xc3\x9c" "CHER.example", 1);
	/* Disallowed code points, bidi violations, leading combining marks. */
	ascii_bad("user@\xe2\x98\x83\xe2\x80\x8b.example", 1);
	ascii_bad("user@\xd7\x90" "a.example", 0);
	ascii_bad("user@\xcc\x81" "a.example", 0);
	ascii_bad("user@ab--\xc3\xa9.example", 0);
	/* Mapping to ASCII punctuation must not smuggle "@", ">" or "_" into the domain,
	   nor drop it: fullwidth "@", fullwidth ">" with an ideographic space, "_". */
	ascii_bad("user@x\xef\xbc\xa0y.example", 0);
	ascii_bad("user@x\xef\xbc\x9e\xe3\x80\x80\xef\xbc\xb2.example", 0);
	ascii_bad("user@\xef\xbc\xbfx.example", 0);
	ascii_bad("user@x\xe3\x80\x82", 0);
	ascii_bad("user@\xef\xbc\xbb" "192.0.2.1\xef\xbc\xbd", 0);
	/* The ideographic full stop is a label separator (UTS #46). */
	ascii("user@b\xc3\xbc" "cher\xe3\x80\x82" "example", 0, "user@xn--bcher-kva.example");

	char *out = NULL;
	const char *why = NULL;
	CHECK_INT(smtpi_address_to_ascii("nodomain", 8, 0, &out, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_address_to_ascii("a@b\r\n", 5, 0, &out, &why), SMTP_EINVAL);
	CHECK(out == NULL);

	CHECK_INT(smtpi_domain_to_ascii("m\xc3\xbcnchen.example", 0, &out, &why), 0);
	CHECK_STR(out, "xn--mnchen-3ya.example");
	free(out);
	CHECK_INT(smtpi_domain_to_ascii("\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", 0,
					&out, &why), 0);
	CHECK_STR(out, "xn--fsqu00a.xn--0zwm56d");
	free(out);
	CHECK_INT(smtpi_domain_to_ascii("mail.example.org", 0, &out, &why), 0);
	CHECK_STR(out, "mail.example.org");
	free(out);
	why = NULL;
	CHECK_INT(smtpi_domain_to_ascii("\xe2\x98\x83\xe2\x80\x8b.example", 1, &out, &why),
		  SMTP_EINVAL);
	CHECK(why != NULL && why[0] != '\0');
	CHECK(out == NULL);
	CHECK_INT(smtpi_domain_to_ascii("", 0, &out, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_domain_to_ascii(NULL, 0, &out, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_domain_to_ascii("a b", 0, &out, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_domain_to_ascii("a\nb", 0, &out, &why), SMTP_EINVAL);
	CHECK_INT(smtpi_domain_to_ascii("a\xc3.example", 0, &out, &why), SMTP_EINVAL);
}

static void xtext(const char *in, size_t n, const char *want)
{
	char buf[128];
	memset(buf, 'Z', sizeof buf);
	CHECK_INT(smtpi_xtext_encode(in, n, buf, sizeof buf), strlen(want));
	CHECK_STR(buf, want);
	CHECK_INT(smtpi_xtext_encode(in, n, NULL, 0), strlen(want));
}

static void test_xtext(void)
{
	char buf[8];
	xtext("", 0, "");
	xtext("user@example.org", 16, "user@example.org");
	xtext("a+b=c", 5, "a+2Bb+3Dc");
	xtext("a b", 3, "a+20b");
	xtext("!~", 2, "!~");
	xtext("\x7f\x01\r\n", 4, "+7F+01+0D+0A");
	xtext("\xc3\xa9", 2, "+C3+A9");
	xtext("a\0b", 3, "a+00b");
	xtext("<\"x\\y\">", 7, "<\"x\\y\">");
	/* Truncation keeps whole units and a terminator, like snprintf's contract. */
	memset(buf, 'Z', sizeof buf);
	CHECK_INT(smtpi_xtext_encode("ab+cd", 5, buf, 4), 7);
	CHECK_STR(buf, "ab");
	CHECK_INT(smtpi_xtext_encode("ab+cd", 5, buf, 5), 7);
	CHECK_STR(buf, "ab");
	CHECK_INT(smtpi_xtext_encode("ab+cd", 5, buf, 6), 7);
	CHECK_STR(buf, "ab+2B");
	CHECK_INT(smtpi_xtext_encode("ab+cd", 5, buf, 8), 7);
	CHECK_STR(buf, "ab+2Bcd");
	CHECK_INT(smtpi_xtext_encode("ab+cd", 5, buf, 1), 7);
	CHECK_STR(buf, "");
	CHECK_INT(smtpi_xtext_encode("ab", 2, buf, 3), 2);
	CHECK_STR(buf, "ab");
	CHECK_INT(smtpi_xtext_encode("ab", 2, buf, 2), 2);
	CHECK_STR(buf, "a");
}

static void test_check_text(void)
{
	char s[4] = "a_b";
	CHECK_INT(smtpi_check_text("hello world", 11), 0);
	CHECK_INT(smtpi_check_text("", 0), 0);
	CHECK_INT(smtpi_check_text(NULL, 0), 0);
	CHECK_INT(smtpi_check_text(NULL, 1), SMTP_EINVAL);
	CHECK_INT(smtpi_check_text("caf\xc3\xa9 ~", 7), 0);
	CHECK_INT(smtpi_check_text("a\0b", 3), SMTP_EINVAL);
	/* Only len octets are examined. */
	CHECK_INT(smtpi_check_text("ab\r\n", 2), 0);
	for (int c = 0; c < 256; c++) {
		s[1] = (char)c;
		CHECK_INT(smtpi_check_text(s, 3), (c < 0x20 || c == 0x7f) ? SMTP_EINVAL : 0);
	}
}

int main(void)
{
	RUN(test_plain);
	RUN(test_dots);
	RUN(test_quoted);
	RUN(test_literals);
	RUN(test_null);
	RUN(test_utf8);
	RUN(test_controls);
	RUN(test_lengths);
	RUN(test_idna);
	RUN(test_xtext);
	RUN(test_check_text);
	return CHECK_DONE("address");
}

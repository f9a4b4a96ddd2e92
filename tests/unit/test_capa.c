/* Unit tests for the EHLO capability parser (lib/capa.c). */
#include "wire/capa.h"
#include "check.h"

static struct smtpi_capa capa;

static int parse(const char *text, size_t len)
{
	return smtpi_capa_parse(&capa, text, len);
}

#define PARSE(text) parse(text, sizeof text - 1)

/* smtpi_capa_find's params for keyword, or NULL when absent. */
static const char *find(const char *keyword)
{
	const char *params = "not set";

	return smtpi_capa_find(&capa, keyword, &params) ? params : NULL;
}

static void test_postfix(void)
{
	const char text[] = "mx.example\nPIPELINING\nSIZE 10240000\nVRFY\nETRN\nSTARTTLS\n"
			    "AUTH PLAIN LOGIN SCRAM-SHA-256\nENHANCEDSTATUSCODES\n8BITMIME\n"
			    "DSN\nSMTPUTF8\nCHUNKING";

	smtpi_capa_init(&capa);
	CHECK_INT(PARSE(text), 0);
	CHECK_INT(capa.flags,
		  SMTPI_CAPA_PIPELINING | SMTPI_CAPA_SIZE | SMTPI_CAPA_STARTTLS |
			  SMTPI_CAPA_AUTH | SMTPI_CAPA_ENHANCEDSTATUSCODES |
			  SMTPI_CAPA_8BITMIME | SMTPI_CAPA_DSN | SMTPI_CAPA_SMTPUTF8 |
			  SMTPI_CAPA_CHUNKING);
	CHECK_INT(capa.size_max, 10240000);
	CHECK_STR(capa.auth, "PLAIN LOGIN SCRAM-SHA-256");
	CHECK_INT(capa.rcptmax, 0);
	CHECK_STR(find("VRFY"), "");
	CHECK_STR(find("etrn"), "");
	CHECK_STR(find("SIZE"), "10240000");
	CHECK_STR(find("auth"), "PLAIN LOGIN SCRAM-SHA-256");
	CHECK_STR(find("Pipelining"), "");
	CHECK(find("mx.example") == NULL);
	CHECK(find("HELP") == NULL);
	CHECK_STR(capa.lines, text + 11);
	CHECK_INT(capa.lines_len, sizeof text - 1 - 11);
	smtpi_capa_clear(&capa);
	CHECK(capa.lines == NULL);
	CHECK_INT(capa.flags, 0);
	CHECK_STR(capa.auth, "");
}

static void test_aiosmtpd(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("mail.example.test\nSIZE 33554432\n8BITMIME\nSMTPUTF8\nSTARTTLS\n"
			"AUTH LOGIN PLAIN\nHELP"),
		  0);
	CHECK_INT(capa.flags, SMTPI_CAPA_SIZE | SMTPI_CAPA_8BITMIME | SMTPI_CAPA_SMTPUTF8 |
				      SMTPI_CAPA_STARTTLS | SMTPI_CAPA_AUTH);
	CHECK_INT(capa.size_max, 33554432);
	CHECK_STR(capa.auth, "LOGIN PLAIN");
	CHECK_STR(find("HELP"), "");
	CHECK(find("PIPELINING") == NULL);
	smtpi_capa_clear(&capa);
}

static void test_nodemailer(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("mx.example.test Nice to meet you, [127.0.0.1]\nPIPELINING\n"
			"8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nAUTH LOGIN PLAIN\n"
			"CHUNKING\nSTARTTLS\nSIZE"),
		  0);
	CHECK_INT(capa.flags, SMTPI_CAPA_PIPELINING | SMTPI_CAPA_8BITMIME |
				      SMTPI_CAPA_SMTPUTF8 | SMTPI_CAPA_ENHANCEDSTATUSCODES |
				      SMTPI_CAPA_AUTH | SMTPI_CAPA_CHUNKING |
				      SMTPI_CAPA_STARTTLS | SMTPI_CAPA_SIZE);
	CHECK_INT(capa.size_max, 0);
	CHECK_STR(find("SIZE"), "");
	CHECK_STR(capa.auth, "LOGIN PLAIN");
	smtpi_capa_clear(&capa);
}

static void test_gmail(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("smtp.gmail.com at your service, [203.0.113.5]\nSIZE 35882577\n"
			"8BITMIME\nAUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\n"
			"ENHANCEDSTATUSCODES\nPIPELINING\nCHUNKING\nSMTPUTF8"),
		  0);
	CHECK_INT(capa.flags, SMTPI_CAPA_SIZE | SMTPI_CAPA_8BITMIME | SMTPI_CAPA_AUTH |
				      SMTPI_CAPA_ENHANCEDSTATUSCODES | SMTPI_CAPA_PIPELINING |
				      SMTPI_CAPA_CHUNKING | SMTPI_CAPA_SMTPUTF8);
	CHECK_INT(capa.size_max, 35882577);
	CHECK_STR(capa.auth, "LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH");
	smtpi_capa_clear(&capa);
}

static void test_every_flag(void)
{
	static const struct {
		const char *text;
		unsigned flag;
	} cases[] = {
		{"g\nPIPELINING", SMTPI_CAPA_PIPELINING},
		{"g\nSIZE 1", SMTPI_CAPA_SIZE},
		{"g\n8BITMIME", SMTPI_CAPA_8BITMIME},
		{"g\nSMTPUTF8", SMTPI_CAPA_SMTPUTF8},
		{"g\nDSN", SMTPI_CAPA_DSN},
		{"g\nCHUNKING", SMTPI_CAPA_CHUNKING},
		{"g\nBINARYMIME", SMTPI_CAPA_BINARYMIME},
		{"g\nENHANCEDSTATUSCODES", SMTPI_CAPA_ENHANCEDSTATUSCODES},
		{"g\nSTARTTLS", SMTPI_CAPA_STARTTLS},
		{"g\nAUTH PLAIN", SMTPI_CAPA_AUTH},
		{"g\nLIMITS RCPTMAX=5", SMTPI_CAPA_LIMITS},
		{"g\nREQUIRETLS", SMTPI_CAPA_REQUIRETLS},
		{"g\nrequiretls", SMTPI_CAPA_REQUIRETLS},
		{"g\nStartTls", SMTPI_CAPA_STARTTLS},
		{"g\nBinaryMime", SMTPI_CAPA_BINARYMIME},
		{"g\nSTARTTLS ignored-param", SMTPI_CAPA_STARTTLS},
		{"g\nPIPELININGX", 0},
		{"g\nPIPE", 0},
		{"g\nXSTARTTLS", 0},
		{"g\nSTART TLS", 0},
		{"PIPELINING", 0},
		{"PIPELINING\nX", 0},
	};

	smtpi_capa_init(&capa);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(parse(cases[i].text, strlen(cases[i].text)), 0);
		if (capa.flags != cases[i].flag)
			fprintf(stderr, "case \"%s\"\n", cases[i].text);
		CHECK_INT(capa.flags, cases[i].flag);
	}
	smtpi_capa_clear(&capa);
}

static void test_size(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("g\nSIZE 0"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_SIZE);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(PARSE("g\nsize 100"), 0);
	CHECK_INT(capa.size_max, 100);
	CHECK_INT(PARSE("g\nSIZE   52428800   "), 0);
	CHECK_INT(capa.size_max, 52428800);
	CHECK_STR(find("SIZE"), "52428800");
	CHECK_INT(PARSE("g\nSIZE\t7"), 0);
	CHECK_INT(capa.size_max, 7);
	CHECK_INT(PARSE("g\nSIZE 18446744073709551615"), 0);
	CHECK(capa.size_max == UINT64_MAX);
	CHECK_INT(PARSE("g\nSIZE 18446744073709551616"), 0);
	CHECK(capa.size_max == 0);
	CHECK_INT(PARSE("g\nSIZE 99999999999999999999999"), 0);
	CHECK(capa.size_max == 0);
	CHECK_INT(PARSE("g\nSIZE 00000000000000000000000042"), 0);
	CHECK_INT(capa.size_max, 42);
	CHECK_INT(PARSE("g\nSIZE abc"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_SIZE);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(PARSE("g\nSIZE 12a"), 0);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(PARSE("g\nSIZE -1"), 0);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(PARSE("g\nSIZE +1"), 0);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(PARSE("g\nSIZE 100 200"), 0);
	CHECK_INT(capa.size_max, 100);
	/* the first SIZE line counts, as find returns the first */
	CHECK_INT(PARSE("g\nSIZE 100\nSIZE 200"), 0);
	CHECK_INT(capa.size_max, 100);
	CHECK_STR(find("size"), "100");
	smtpi_capa_clear(&capa);
}

static void test_limits(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("g\nLIMITS RCPTMAX=100 MAILMAX=1000 RCPTDOMAINMAX=10"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_LIMITS);
	CHECK_INT(capa.rcptmax, 100);
	CHECK_INT(capa.mailmax, 1000);
	CHECK_INT(capa.rcptdomainmax, 10);
	CHECK_STR(find("LIMITS"), "RCPTMAX=100 MAILMAX=1000 RCPTDOMAINMAX=10");
	CHECK_INT(PARSE("g\nlimits mailmax=5 FUTURE=9 rcptmax=7"), 0);
	CHECK_INT(capa.rcptmax, 7);
	CHECK_INT(capa.mailmax, 5);
	CHECK_INT(capa.rcptdomainmax, 0);
	CHECK_INT(PARSE("g\nLIMITS"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_LIMITS);
	CHECK_INT(capa.rcptmax + capa.mailmax + capa.rcptdomainmax, 0);
	CHECK_INT(PARSE("g\nLIMITS RCPTMAX=4294967295 MAILMAX=4294967296"), 0);
	CHECK_INT(capa.rcptmax, 4294967295u);
	CHECK_INT(capa.mailmax, 0);
	CHECK_INT(PARSE("g\nLIMITS RCPTMAX= MAILMAX RCPTDOMAINMAX=x1 =5 RCPTMAX5"), 0);
	CHECK_INT(capa.rcptmax + capa.mailmax + capa.rcptdomainmax, 0);
	CHECK_INT(PARSE("g\nLIMITS RCPTMAXX=3 XRCPTMAX=4 RCPTMAX=1=2"), 0);
	CHECK_INT(capa.rcptmax, 0);
	CHECK_INT(PARSE("g\nLIMITS RCPTMAX=3\nLIMITS RCPTMAX=4"), 0);
	CHECK_INT(capa.rcptmax, 3);
	CHECK_INT(PARSE("g\nRCPTMAX=3"), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_INT(capa.rcptmax, 0);
	smtpi_capa_clear(&capa);
}

static void test_auth(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("g\nAUTH LOGIN PLAIN\nAUTH=LOGIN PLAIN"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_AUTH);
	CHECK_STR(capa.auth, "LOGIN PLAIN");
	CHECK_STR(find("AUTH"), "LOGIN PLAIN");
	CHECK_STR(find("AUTH=LOGIN"), "PLAIN");
	CHECK_INT(PARSE("g\nAUTH=LOGIN"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_AUTH);
	CHECK_STR(capa.auth, "LOGIN");
	CHECK(find("AUTH") == NULL);
	CHECK_INT(PARSE("g\nauth=LOGIN CRAM-MD5\nAUTH PLAIN login  cram-md5 XOAUTH2"), 0);
	CHECK_STR(capa.auth, "LOGIN CRAM-MD5 PLAIN XOAUTH2");
	CHECK_INT(PARSE("g\nAUTH PLAIN PLAIN PLAIN"), 0);
	CHECK_STR(capa.auth, "PLAIN");
	CHECK_INT(PARSE("g\nAUTH PLAINX PLAIN PLAI"), 0);
	CHECK_STR(capa.auth, "PLAINX PLAIN PLAI");
	CHECK_INT(PARSE("g\nAUTH"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_AUTH);
	CHECK_STR(capa.auth, "");
	CHECK_INT(PARSE("g\nAUTH="), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_AUTH);
	CHECK_STR(capa.auth, "");
	CHECK_INT(PARSE("g\nAUTHX PLAIN\nAUTH_LOGIN"), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_STR(capa.auth, "");
	CHECK_INT(PARSE("g\nSIZE 5"), 0);
	CHECK_STR(capa.auth, "");
	smtpi_capa_clear(&capa);
}

static void test_unknown_and_find(void)
{
	const char *params = NULL;

	smtpi_capa_init(&capa);
	CHECK_INT(smtpi_capa_find(&capa, "SIZE", &params), 0);
	CHECK_INT(PARSE("g\nX-EXPS GSSAPI NTLM\nXCLIENT NAME ADDR PROTO\nX-LINK2STATE\n"
			"MT-PRIORITY MIXER\nDELIVERBY 240\nDELIVERBY 300"),
		  0);
	CHECK_INT(capa.flags, 0);
	CHECK_STR(find("x-exps"), "GSSAPI NTLM");
	CHECK_STR(find("XCLIENT"), "NAME ADDR PROTO");
	CHECK_STR(find("X-LINK2STATE"), "");
	CHECK_STR(find("mt-priority"), "MIXER");
	CHECK_STR(find("DELIVERBY"), "240");
	CHECK(find("X-EXP") == NULL);
	CHECK(find("X-EXPSS") == NULL);
	CHECK(find("") == NULL);
	CHECK(find("GSSAPI") == NULL);
	CHECK(find("X-EXPS GSSAPI") == NULL);
	CHECK(find("g") == NULL);
	CHECK_INT(smtpi_capa_find(&capa, "XCLIENT", NULL), 1);
	CHECK_INT(smtpi_capa_find(&capa, NULL, &params), 0);
	smtpi_capa_clear(&capa);
	CHECK_INT(smtpi_capa_find(&capa, "XCLIENT", NULL), 0);
}

static void test_garbage(void)
{
	static const char nul_text[] = "g\nSIZ\0E 100\n\0\nPIPE\0LINING\0";
	static const char binary[] = "\xff\xfe\n\x01\x02 \x03\n=\n==AUTH\n\xc3\xa9t\xc3\xa9 \xc3\xa9";

	smtpi_capa_init(&capa);
	CHECK_INT(parse(NULL, 0), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_STR(capa.auth, "");
	CHECK(find("g") == NULL);
	CHECK_INT(PARSE(""), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_INT(PARSE("only a greeting"), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_INT(capa.lines_len, 0);
	CHECK(find("only") == NULL);
	CHECK_INT(PARSE("g\n"), 0);
	CHECK_INT(capa.lines_len, 0);
	CHECK_INT(PARSE("\n\n\n"), 0);
	CHECK_INT(capa.flags, 0);
	CHECK(find("") == NULL);
	CHECK_INT(PARSE("g\n   \n\t\n \r\n"), 0);
	CHECK_INT(capa.flags, 0);
	CHECK(find("") == NULL);
	/* surrounding white space and CRLF are tolerated */
	CHECK_INT(PARSE("g\r\n  PIPELINING  \r\nSIZE 100\r\nAUTH PLAIN\r\n"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_PIPELINING | SMTPI_CAPA_SIZE | SMTPI_CAPA_AUTH);
	CHECK_INT(capa.size_max, 100);
	CHECK_STR(capa.auth, "PLAIN");
	CHECK_STR(find("size"), "100");
	/* NULs are dropped, as the reply parser drops them */
	CHECK_INT(parse(nul_text, sizeof nul_text - 1), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_SIZE | SMTPI_CAPA_PIPELINING);
	CHECK_INT(capa.size_max, 100);
	CHECK_STR(capa.lines, "SIZE 100\n\nPIPELINING");
	CHECK_INT(capa.lines_len, strlen(capa.lines));
	CHECK_INT(parse(binary, sizeof binary - 1), 0);
	CHECK_INT(capa.flags, 0);
	CHECK_STR(find("\x01\x02"), "\x03");
	CHECK_STR(find("="), "");
	CHECK_STR(find("==auth"), "");
	CHECK_STR(find("\xc3\xa9t\xc3\xa9"), "\xc3\xa9");
	/* a text without a final line end is read to its given length only */
	CHECK_INT(parse("g\nSIZE 1234", 9), 0);
	CHECK_INT(capa.size_max, 12);
	smtpi_capa_clear(&capa);
}

static void test_replace_and_clear(void)
{
	smtpi_capa_init(&capa);
	CHECK_INT(PARSE("g\nPIPELINING\nSIZE 9\nAUTH PLAIN\nLIMITS RCPTMAX=3\nX-FOO bar"), 0);
	CHECK_INT(capa.rcptmax, 3);
	CHECK_INT(PARSE("g\nCHUNKING"), 0);
	CHECK_INT(capa.flags, SMTPI_CAPA_CHUNKING);
	CHECK_INT(capa.size_max, 0);
	CHECK_INT(capa.rcptmax, 0);
	CHECK_STR(capa.auth, "");
	CHECK(find("X-FOO") == NULL);
	CHECK_STR(capa.lines, "CHUNKING");
	smtpi_capa_clear(&capa);
	smtpi_capa_clear(&capa);
	smtpi_capa_clear(NULL);
	CHECK(capa.lines == NULL);
	CHECK(find("CHUNKING") == NULL);
}

int main(void)
{
	RUN(test_postfix);
	RUN(test_aiosmtpd);
	RUN(test_nodemailer);
	RUN(test_gmail);
	RUN(test_every_flag);
	RUN(test_size);
	RUN(test_limits);
	RUN(test_auth);
	RUN(test_unknown_and_find);
	RUN(test_garbage);
	RUN(test_replace_and_clear);
	return CHECK_DONE("capa");
}

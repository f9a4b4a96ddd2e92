/* The command line. Long options are the same under both names; the short ones are
   sendmail's (-t -f -i -F, and under the name "sendmail" the compatibility flags of
   sendmail.c). Every usage error names the option and the reason (exit 64). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "smtp-send.h"

enum {
	OPT_URL = 256, OPT_FROM, OPT_TO, OPT_USER, OPT_PASSWORD_FILE, OPT_PASSWORD_CMD,
	OPT_TOKEN_FILE, OPT_AUTH_MECH, OPT_TLS, OPT_CA_FILE, OPT_CA_DIR, OPT_CERT, OPT_KEY,
	OPT_INSECURE, OPT_HELO, OPT_TIMEOUT, OPT_CONFIG, OPT_ACCOUNT, OPT_JSON, OPT_TRACE,
	OPT_QUIET, OPT_NOTIFY, OPT_RET, OPT_ENVID, OPT_REQUIRETLS, OPT_NO_CHUNKING,
	OPT_PRINT, OPT_VERSION
};

static const struct option longopts[] = {
	{"url", required_argument, NULL, OPT_URL},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"user", required_argument, NULL, OPT_USER},
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	{"password-cmd", required_argument, NULL, OPT_PASSWORD_CMD},
	{"oauth-token-file", required_argument, NULL, OPT_TOKEN_FILE},
	{"auth-mech", required_argument, NULL, OPT_AUTH_MECH},
	{"tls", required_argument, NULL, OPT_TLS},
	{"ca-file", required_argument, NULL, OPT_CA_FILE},
	{"ca-dir", required_argument, NULL, OPT_CA_DIR},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"helo", required_argument, NULL, OPT_HELO},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"account", required_argument, NULL, OPT_ACCOUNT},
	{"json", no_argument, NULL, OPT_JSON},
	{"trace", no_argument, NULL, OPT_TRACE},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"notify", required_argument, NULL, OPT_NOTIFY},
	{"ret", required_argument, NULL, OPT_RET},
	{"envid", required_argument, NULL, OPT_ENVID},
	{"requiretls", no_argument, NULL, OPT_REQUIRETLS},
	{"no-chunking", no_argument, NULL, OPT_NO_CHUNKING},
	{"print", no_argument, NULL, OPT_PRINT},
	{"subject", required_argument, NULL, SS_OPT_SUBJECT},
	{"text", required_argument, NULL, SS_OPT_TEXT},
	{"html", required_argument, NULL, SS_OPT_HTML},
	{"attach", required_argument, NULL, SS_OPT_ATTACH},
	{"inline", required_argument, NULL, SS_OPT_INLINE},
	{"header", required_argument, NULL, SS_OPT_HEADER},
	{"cc", required_argument, NULL, SS_OPT_CC},
	{"bcc", required_argument, NULL, SS_OPT_BCC},
	{"reply-to", required_argument, NULL, SS_OPT_REPLY_TO},
	{"utf8", no_argument, NULL, SS_OPT_UTF8},
	{"dkim-domain", required_argument, NULL, SS_OPT_DKIM_DOMAIN},
	{"dkim-selector", required_argument, NULL, SS_OPT_DKIM_SELECTOR},
	{"dkim-key", required_argument, NULL, SS_OPT_DKIM_KEY},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static const char help_text[] =
	"Sends one RFC 5322 message read from standard input, or one composed from the\n"
	"options below, and prints the report.\n"
	"\n"
	"Server and account:\n"
	"  --url URL              smtp://[user[:password]@]host[:port][?tls=opportunistic|none]\n"
	"                         (STARTTLS required, port 587), smtps://host[:port] (465),\n"
	"                         lmtp://host:port, lmtp:///path/to/socket\n"
	"  --account NAME         the [NAME] account of the configuration file; without\n"
	"                         --url and --account: [default]\n"
	"  --config FILE          instead of $XDG_CONFIG_HOME/smtp-send/config\n"
	"                         (~/.config/smtp-send/config)\n"
	"  --tls none|starttls|implicit|opportunistic\n"
	"  --ca-file FILE, --ca-dir DIR   trust these CAs instead of the system store\n"
	"  --cert FILE [--key FILE]       client certificate (PEM)\n"
	"  --insecure             DANGEROUS: accept any server certificate\n"
	"  --helo NAME            the EHLO name (default: localhost)\n"
	"  --timeout SECONDS      the deadline of every stage (1..86400)\n"
	"Authentication:\n"
	"  --user USER            with one password source:\n"
	"  --password-file FILE   its first line\n"
	"  --password-cmd CMD     the first line CMD prints (run by /bin/sh)\n"
	"                         or the environment variable SMTP_PASSWORD\n"
	"  --oauth-token-file FILE  an OAuth 2.0 bearer token instead of a password\n"
	"  --auth-mech LIST       mechanisms to try, in order (\"SCRAM-SHA-256 PLAIN\")\n"
	"Envelope:\n"
	"  --from ADDR, -f ADDR   the sender (default: the account's from, else the\n"
	"                         message's From header); ADDR may be \"Name <addr>\"\n"
	"  --to ADDR, ADDR        a recipient (repeat for more)\n"
	"  -t                     also the recipients of To, Cc and Bcc\n"
	"  -F NAME                the sender's name, for a From header the message lacks\n"
	"  -i                     accepted (the message always ends at the end of input)\n"
	"  --notify never|success,failure,delay  --ret full|hdrs  --envid ID  (DSN)\n"
	"  --requiretls           the message may travel over TLS only (RFC 8689)\n"
	"  --no-chunking          DATA instead of BDAT\n"
	"Composing (instead of reading standard input):\n"
	"  --subject TEXT         the Subject (RFC 2047-encoded when not ASCII)\n"
	"  --text TEXT|@FILE|-    the text/plain part: TEXT, FILE's contents or stdin (-)\n"
	"  --html TEXT|@FILE|-    the text/html part (with --text: multipart/alternative)\n"
	"  --attach FILE[;type=T][;name=N]  an attachment (repeat for more); a value in\n"
	"                         quotes (name=\"a;b.pdf\") may hold ';', and \\\" a quote\n"
	"  --inline FILE;cid=ID[;type=T]    a part the HTML shows as cid:ID\n"
	"  --header 'Name: value' another header field (repeat for more)\n"
	"  --cc ADDR, --reply-to ADDR  header addresses; --bcc ADDR: envelope only\n"
	"  --utf8                 raw UTF-8 in addresses and header fields (RFC 6532)\n"
	"  --dkim-domain D --dkim-selector S --dkim-key FILE  DKIM-sign (all three; also\n"
	"                         a message read from standard input); the three again\n"
	"                         for each further signature (at most 8), e.g. an\n"
	"                         ed25519-sha256 and an rsa-sha256 key\n"
	"Output:\n"
	"  --print                write the message as it would go out; send nothing\n"
	"  --json                 the report as JSON\n"
	"  --quiet                nothing on success; the report on failure, to stderr\n"
	"  --trace                the dialogue on stderr\n"
	"  -h, --help             this text     --version   the version\n"
	"\n"
	"A message without Date or Message-ID gets them; Bcc is never sent.\n"
	"Exit status: 0 sent, 1 sent to some recipients, 64 usage, 65 bad message or\n"
	"address, 66 unreadable file, 68 unknown host, 69 bounced, 70 internal error,\n"
	"75 deferred (retry later), 76 server refused this client, 77 authentication,\n"
	"78 TLS or configuration.\n"
	"Under the name sendmail: quiet, a line \".\" ends the message unless -i or -oi,\n"
	"-odi -oem -bm -B... -U -G accepted, -v traces; -bs -bd -bp -q refused.\n";

static int set_secret(struct ss_cmdline *c, enum ss_secret_kind kind, const char *value,
		      const char *option)
{
	if (c->secret.kind != SS_SECRET_NONE) {
		char why[128];
		snprintf(why, sizeof why, "conflicts with %s: give one password source",
			 c->secret.origin);
		return ss_usage_error(option, why);
	}
	c->secret = (struct ss_secret){kind, value, option};
	return 0;
}

static int add_rcpt(struct ss_cmdline *c, const char *addr)
{
	c->rcpts[c->nrcpt++] = addr;
	return 0;
}

/* The name of the option getopt_long stopped at. */
static void bad_option_name(char **argv, char *buf, size_t len)
{
	if (optopt > 0 && optopt < 256) {
		snprintf(buf, len, "-%c", optopt);
		return;
	}
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == optopt && optopt) {
			snprintf(buf, len, "--%s", o->name);
			return;
		}
	const char *arg = argv[optind - 1];
	snprintf(buf, len, "%.*s", (int)strcspn(arg, "="), arg);
}

static void print_help(void)
{
	const char *p = ss_out_prog();
	printf("usage: %s [--url URL | --account NAME] [--from ADDR] --to ADDR [--to ADDR ...]\n"
	       "       %*s [options] < message.eml\n"
	       "       %s -t [-f ADDR] [-F NAME] [-i] [ADDR ...] < message.eml\n"
	       "       %s --from ADDR --to ADDR --subject TEXT --text TEXT|@FILE [options]\n\n",
	       p, (int)strlen(p), "", p, p);
	fputs(help_text, stdout);
}

static int long_option(struct ss_cmdline *c, int key, const char *arg)
{
	switch (key) {
	case OPT_URL: c->url = arg; break;
	case OPT_FROM: c->from = arg; break;
	case OPT_TO: return add_rcpt(c, arg);
	case OPT_USER: c->user = arg; break;
	case OPT_PASSWORD_FILE: return set_secret(c, SS_SECRET_FILE, arg, "--password-file");
	case OPT_PASSWORD_CMD: return set_secret(c, SS_SECRET_CMD, arg, "--password-cmd");
	case OPT_TOKEN_FILE:
		c->token_file = arg;
		return set_secret(c, SS_SECRET_FILE, arg, "--oauth-token-file");
	case OPT_AUTH_MECH: c->mech = arg; break;
	case OPT_TLS:
		c->tls_set = 1;
		return ss_parse_tls("--tls", arg, &c->tls);
	case OPT_CA_FILE: c->ca_file = arg; break;
	case OPT_CA_DIR: c->ca_dir = arg; break;
	case OPT_CERT: c->cert = arg; break;
	case OPT_KEY: c->key = arg; break;
	case OPT_INSECURE: c->insecure = 1; break;
	case OPT_HELO: c->helo = arg; break;
	case OPT_TIMEOUT: return ss_parse_seconds("--timeout", arg, &c->timeout_s);
	case OPT_CONFIG: c->config = arg; break;
	case OPT_ACCOUNT: c->account = arg; break;
	case OPT_JSON: c->json = 1; break;
	case OPT_TRACE: c->trace = 1; break;
	case OPT_QUIET: c->quiet = 1; break;
	case OPT_NOTIFY: return ss_parse_notify("--notify", arg, &c->notify);
	case OPT_RET: return ss_parse_ret("--ret", arg, &c->ret);
	case OPT_ENVID: c->envid = arg; break;
	case OPT_REQUIRETLS: c->requiretls = 1; break;
	case OPT_NO_CHUNKING: c->no_chunking = 1; break;
	case OPT_PRINT: c->print = 1; break;
	default:
		return key >= SS_OPT_SUBJECT ? ss_compose_option(c, key, arg)
					     : ss_sendmail_flag(c, key, arg);
	}
	return 0;
}

/* Returns 0 to go on, -1 after --help or --version (exit 0), or an exit status. */
int ss_options_parse(int argc, char **argv, struct ss_cmdline *c)
{
	c->rcpts = calloc((size_t)argc + 1, sizeof *c->rcpts);
	if (!c->rcpts)
		return ss_fail(EX_SOFTWARE, "out of memory");
	c->dot_ends = c->persona == SS_SENDMAIL;
	c->quiet = c->persona == SS_SENDMAIL;
	char shortopts[64] = ":ht" "f:" "i" "F:";
	if (c->persona == SS_SENDMAIL)
		strncat(shortopts, ss_sendmail_shortopts, sizeof shortopts - strlen(shortopts) - 1);
	opterr = 0;
	int key;
	while ((key = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		char name[64];
		int rc = 0;
		switch (key) {
		case 'h':
			print_help();
			return -1;
		case OPT_VERSION:
			printf("%s (libsmtp) %s\n", ss_out_prog(), smtp_lib_version());
			return -1;
		case 't': c->extract = 1; break;
		case 'f': c->from = optarg; break;
		case 'i': c->dot_ends = 0; break;
		case 'F': c->full_name = optarg; break;
		case ':':
			bad_option_name(argv, name, sizeof name);
			return ss_usage_error(name, "needs an argument");
		case '?':
			bad_option_name(argv, name, sizeof name);
			return ss_usage_error(name, optopt ? "unknown option" : "unknown or ambiguous option");
		default:
			rc = long_option(c, key, optarg);
		}
		if (rc)
			return rc;
	}
	for (int i = optind; i < argc; i++)
		add_rcpt(c, argv[i]);
	int rc;
	if (c->key && !c->cert)
		return ss_usage_error("--key", "needs --cert");
	if (c->full_name && (rc = ss_check_text("-F", c->full_name, 256, 0)))
		return rc;
	return ss_compose_check(c);
}

void ss_options_free(struct ss_cmdline *c)
{
	free(c->rcpts);
	c->rcpts = NULL;
	ss_compose_opts_free(c->compose);
	c->compose = NULL;
}

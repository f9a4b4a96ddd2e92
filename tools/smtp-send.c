/* smtp-send: send one RFC 5322 message from standard input and print the report.
 *
 *   smtp-send --url URL --from ADDR --to ADDR [--to ADDR ...]
 *             [--user U --password-file F | --oauth-token-file F] [--auth-mech LIST]
 *             [--tls none|starttls|implicit|opportunistic] [--ca-file F] [--ca-dir D]
 *             [--cert F --key F] [--insecure] [--helo NAME] [--json] [--trace]
 *             [--notify never|success,failure,delay] [--ret full|hdrs] [--envid ID]
 *             [--requiretls] [--no-chunking] < message.eml
 *
 * Exit status: 0 sent, 1 sent to some recipients, 75 deferred, 69 bounced,
 * 2 usage, 3 local error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtp.h>

enum { EX_SENT = 0, EX_PARTIAL = 1, EX_USAGE_ = 2, EX_LOCAL = 3, EX_BOUNCED = 69,
       EX_DEFERRED = 75 };

static void usage(void)
{
	fputs("usage: smtp-send --url URL --from ADDR --to ADDR [--to ADDR ...]\n"
	      "         [--user U --password-file F | --oauth-token-file F] [--auth-mech LIST]\n"
	      "         [--tls none|starttls|implicit|opportunistic] [--ca-file F] [--ca-dir D]\n"
	      "         [--cert F --key F] [--insecure] [--helo NAME] [--json] [--trace]\n"
	      "         [--notify never|success,failure,delay] [--ret full|hdrs] [--envid ID]\n"
	      "         [--requiretls] [--no-chunking] < message.eml\n",
	      stderr);
}

static void trace(void *ud, smtp_trace_dir dir, const char *line, size_t len)
{
	(void)ud;
	static const char *const arrow[] = {"C: ", "S: ", "*  "};
	fprintf(stderr, "%s%.*s\n", arrow[dir], (int)len, line);
}

/* Reads a whole stream into memory. */
static char *slurp(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger)
			free(buf);
		buf = bigger;
		cap *= 2;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	*len = n;
	return buf;
}

/* The first line of a file (a password or token), without its line end. */
static char *read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return NULL;
	}
	size_t len;
	char *s = slurp(f, &len);
	fclose(f);
	if (!s)
		return NULL;
	s[strcspn(s, "\r\n") < len ? strcspn(s, "\r\n") : len] = '\0';
	return s;
}

/* RFC 3461 NOTIFY values, comma-separated. */
static int parse_notify(const char *v, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"never", SMTP_NOTIFY_NEVER},
		     {"success", SMTP_NOTIFY_SUCCESS},
		     {"failure", SMTP_NOTIFY_FAILURE},
		     {"delay", SMTP_NOTIFY_DELAY}};
	*out = 0;
	while (*v) {
		size_t n = strcspn(v, ",");
		size_t k = 0;
		while (k < 4 && !(strlen(names[k].name) == n && strncmp(v, names[k].name, n) == 0))
			k++;
		if (k == 4)
			return -1;
		*out |= names[k].bit;
		v += n + (v[n] == ',');
	}
	return *out ? 0 : -1;
}

static int parse_tls(const char *v, smtp_tls *mode)
{
	static const struct {
		const char *name;
		smtp_tls mode;
	} modes[] = {{"none", SMTP_TLS_NONE},
		     {"starttls", SMTP_TLS_STARTTLS},
		     {"implicit", SMTP_TLS_IMPLICIT},
		     {"opportunistic", SMTP_TLS_OPPORTUNISTIC}};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(v, modes[i].name) == 0) {
			*mode = modes[i].mode;
			return 0;
		}
	return -1;
}

static int exit_status(const smtp_report *r)
{
	switch (smtp_report_outcome(r)) {
	case SMTP_SENT:
		return EX_SENT;
	case SMTP_SENT_PARTIAL:
		return EX_PARTIAL;
	case SMTP_DEFERRED:
		return EX_DEFERRED;
	case SMTP_BOUNCED:
		return EX_BOUNCED;
	default:
		return EX_LOCAL;
	}
}

static void print_report(const smtp_report *r, int json)
{
	size_t need = json ? smtp_report_json(r, NULL, 0) : smtp_report_text(r, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf)
		return;
	if (json)
		smtp_report_json(r, buf, need + 1);
	else
		smtp_report_text(r, buf, need + 1);
	fputs(buf, stdout);
	free(buf);
}

struct options {
	const char *url, *from, *user, *password_file, *token_file, *mech, *ca_file, *ca_dir;
	const char *cert, *key, *helo;
	const char *envid;
	int json, trace, insecure, have_tls, requiretls, no_chunking;
	unsigned notify;
	smtp_dsn_ret ret;
	smtp_tls tls;
};

/* Applies the options to the session; prints what is wrong. */
static int configure(smtp_session *s, const struct options *o)
{
	int rc = smtp_session_set_url(s, o->url);
	if (rc) {
		fprintf(stderr, "smtp-send: bad --url: %s\n", smtp_error_text(rc));
		return rc;
	}
	if (!rc && o->have_tls)
		rc = smtp_session_set_tls_mode(s, o->tls);
	if (!rc && o->ca_file)
		rc = smtp_session_set_ca_file(s, o->ca_file);
	if (!rc && o->ca_dir)
		rc = smtp_session_set_ca_dir(s, o->ca_dir);
	if (!rc && (o->cert || o->key))
		rc = smtp_session_set_client_cert(s, o->cert, o->key ? o->key : o->cert);
	if (!rc && o->insecure)
		rc = smtp_session_set_tls_insecure_skip_verify(s, 1);
	if (!rc && o->no_chunking)
		rc = smtp_session_set_chunking(s, 0, 0);
	if (!rc && o->helo)
		rc = smtp_session_set_helo_name(s, o->helo);
	if (!rc && o->trace)
		rc = smtp_session_set_trace(s, trace, NULL);
	const char *secret_file = o->token_file ? o->token_file : o->password_file;
	if (!rc && o->user) {
		char *secret = secret_file ? read_secret(secret_file) : NULL;
		if (secret_file && !secret)
			return SMTP_EINVAL;
		rc = smtp_session_set_auth(s, o->user, secret ? secret : "", o->mech);
		if (secret) {
			memset(secret, 0, strlen(secret));
			free(secret);
		}
		if (!rc && o->token_file)
			rc = smtp_session_set_auth_token(s, 1);
	}
	if (rc)
		fprintf(stderr, "smtp-send: bad option: %s\n", smtp_error_text(rc));
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},      {"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},       {"user", required_argument, NULL, 'U'},
		{"password-file", required_argument, NULL, 'p'},
		{"oauth-token-file", required_argument, NULL, 'o'},
		{"auth-mech", required_argument, NULL, 'm'}, {"tls", required_argument, NULL, 'T'},
		{"ca-file", required_argument, NULL, 'c'},  {"ca-dir", required_argument, NULL, 'C'},
		{"cert", required_argument, NULL, 'e'},     {"key", required_argument, NULL, 'k'},
		{"insecure", no_argument, NULL, 'i'},       {"helo", required_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},           {"trace", no_argument, NULL, 'v'},
		{"notify", required_argument, NULL, 'N'},   {"ret", required_argument, NULL, 'R'},
		{"envid", required_argument, NULL, 'E'},    {"requiretls", no_argument, NULL, 'Q'},
		{"no-chunking", no_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	struct options o = {0};
	smtp_message *m = smtp_message_new();
	smtp_session *s = smtp_session_new();
	const char **to = calloc((size_t)argc, sizeof *to);
	if (!m || !s || !to)
		return EX_LOCAL;
	int c, bad = 0, nrcpt = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o.url = optarg; break;
		case 'f': o.from = optarg; break;
		case 't':
			to[nrcpt++] = optarg; /* added once the DSN options are known */
			break;
		case 'U': o.user = optarg; break;
		case 'p': o.password_file = optarg; break;
		case 'o': o.token_file = optarg; break;
		case 'm': o.mech = optarg; break;
		case 'T':
			o.have_tls = 1;
			bad |= parse_tls(optarg, &o.tls) != 0;
			break;
		case 'c': o.ca_file = optarg; break;
		case 'C': o.ca_dir = optarg; break;
		case 'e': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'i': o.insecure = 1; break;
		case 'h': o.helo = optarg; break;
		case 'j': o.json = 1; break;
		case 'v': o.trace = 1; break;
		case 'N': bad |= parse_notify(optarg, &o.notify) != 0; break;
		case 'R':
			o.ret = strcmp(optarg, "full") == 0 ? SMTP_DSN_RET_FULL
				: strcmp(optarg, "hdrs") == 0 ? SMTP_DSN_RET_HDRS : SMTP_DSN_RET_DEFAULT;
			bad |= o.ret == SMTP_DSN_RET_DEFAULT;
			break;
		case 'E': o.envid = optarg; break;
		case 'Q': o.requiretls = 1; break;
		case 'K': o.no_chunking = 1; break;
		default: bad = 1;
		}
	}
	if (bad || optind != argc || !o.url || !o.from || nrcpt == 0) {
		usage();
		return EX_USAGE_;
	}
	if (smtp_message_set_from(m, o.from)) {
		fprintf(stderr, "smtp-send: bad sender: %s\n", o.from);
		return EX_USAGE_;
	}
	for (int i = 0; i < nrcpt; i++)
		if (smtp_message_add_rcpt_dsn(m, to[i], o.notify, NULL)) {
			fprintf(stderr, "smtp-send: bad recipient: %s\n", to[i]);
			return EX_USAGE_;
		}
	if ((o.ret || o.envid) && smtp_message_set_dsn(m, o.ret, o.envid, 0)) {
		fprintf(stderr, "smtp-send: bad --envid\n");
		return EX_USAGE_;
	}
	smtp_message_set_requiretls(m, o.requiretls);
	if (configure(s, &o))
		return EX_USAGE_;
	size_t len;
	char *data = slurp(stdin, &len);
	if (!data) {
		perror("smtp-send: reading the message");
		return EX_LOCAL;
	}
	smtp_message_set_data(m, data, len);
	int rc = smtp_send(s, m);
	if (rc == SMTP_EINVAL && smtp_report_outcome(smtp_message_report(m)) == SMTP_PENDING) {
		fprintf(stderr, "smtp-send: the message cannot be sent: %s\n", smtp_error_text(rc));
		return EX_LOCAL;
	}
	smtp_quit(s);
	print_report(smtp_message_report(m), o.json);
	int status = exit_status(smtp_message_report(m));
	smtp_message_free(m);
	smtp_session_free(s);
	free(data);
	free(to);
	return status;
}

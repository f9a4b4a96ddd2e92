/* smtp-send: what the files of the command share. Each file is one concern:
     main.c      the flow: options, account, content, session, report, exit status
     options.c   the command line of both personalities (smtp-send and sendmail)
     sendmail.c  sendmail's compatibility flags (-o.., -b.., -q, -B, -N ...)
     values.c    option values (TLS mode, seconds, NOTIFY, RET) and the usage error
     config.c    accounts in the INI configuration file, its permission check
     settings.c  the command line over the account
     password.c  password sources: file, command (as msmtp's passwordeval), environment
     input.c     reading the message from standard input and checking its lines
     headers.c   the header block: Bcc removed; Date, Message-ID, From added when missing
     addrlist.c  RFC 5322 address lists (To, Cc, Bcc, From) -> mailboxes; one mailbox
                 of the command line ("Name <addr>") split into address and name
     compose.c   the composing options (--subject, --text, --html, --attach, --inline,
                 --header, --cc, --bcc, --reply-to, --utf8, --dkim-*): parsed, checked
     compose_fill.c  the compose builder filled from them: the message and its
                 envelope; --print of a composed message
     dkim.c      the --dkim-* signers, for a composed message and for raw input
     url.c       what is wrong with a URL the library refused; user and password in it
     setup.c     the settings applied to the session
     report.c    the report printed, its exit status (doc/smtp-send.1's table), the trace
     out.c       messages to the terminal, control characters escaped
   Two content sources: raw input (input.c + headers.c, signed by dkim.c when --dkim-*
   is given) and the composed message (compose.c + compose_fill.c over the compose
   API), chosen in main.c's run() when a composing option was given. The
   composing options' entries join options.c's table and go to ss_compose_option()
   (as sendmail.c's flags go to ss_sendmail_flag); their state is one pointer in
   ss_cmdline. Functions return 0 or a sysexits.h status after printing why. */
#ifndef SMTP_SEND_H
#define SMTP_SEND_H

#include <stddef.h>
#include <stdio.h>

#include <smtp.h>

/* The name the program was invoked under decides the personality. */
enum ss_persona { SS_SMTP_SEND, SS_SENDMAIL };

/* Where a password comes from. */
enum ss_secret_kind { SS_SECRET_NONE, SS_SECRET_TEXT, SS_SECRET_FILE, SS_SECRET_CMD };

struct ss_secret {
	enum ss_secret_kind kind;
	const char *value;  /* the password, the file or the command */
	const char *origin; /* for messages: "--password-file", "account work" ... */
};

/* The keys of the composing options in options.c's table, past its own; those
   before SS_OPT_UTF8 make the message, the others change how it is made or signed. */
enum ss_compose_key {
	SS_OPT_SUBJECT = 512, SS_OPT_TEXT, SS_OPT_HTML, SS_OPT_ATTACH, SS_OPT_INLINE,
	SS_OPT_HEADER, SS_OPT_CC, SS_OPT_BCC, SS_OPT_REPLY_TO, SS_OPT_UTF8,
	SS_OPT_DKIM_DOMAIN, SS_OPT_DKIM_SELECTOR, SS_OPT_DKIM_KEY
};

/* --attach FILE[;type=T][;name=N] or --inline FILE;cid=ID[;type=T], split (owned);
   a value may be quoted ("N"), then it may hold ';' (and \" for a quote). */
struct ss_part {
	char *spec; /* the option's value, for messages */
	char *path, *type, *name, *cid;
};

/* Signatures of one message: as many as smtp_compose_add_dkim takes. */
#define SS_DKIM_MAX 8

/* The composing options as given: strings point into argv, the arrays are owned. */
struct ss_compose_opts {
	int composing; /* an option that makes the message was given (not only --dkim-*) */
	const char *subject;
	const char *text, *html; /* TEXT, @FILE or - (standard input) */
	struct ss_part *attach, *inlines;
	size_t nattach, ninline;
	const char **headers, **cc, **bcc, **reply_to;
	size_t nheader, ncc, nbcc, nreply_to;
	int utf8;
	/* the n-th --dkim-domain, --dkim-selector and --dkim-key make the n-th signer;
	   ss_compose_check makes sure there are as many of each */
	struct ss_dkim_opts {
		const char *domain, *selector, *key;
	} dkim[SS_DKIM_MAX];
	size_t ndkim[3]; /* how many --dkim-domain, --dkim-selector, --dkim-key */
};

/* The command line, as given (strings point into argv). */
struct ss_cmdline {
	enum ss_persona persona;
	const char *url, *user, *mech, *token_file;
	struct ss_secret secret;
	const char *ca_file, *ca_dir, *cert, *key, *helo;
	const char *config, *account;
	int tls_set;
	smtp_tls tls;
	int timeout_s; /* 0: not given */
	int insecure, no_chunking, requiretls;
	const char *from;      /* --from, -f, -r */
	const char *full_name; /* -F */
	const char **rcpts;    /* --to and address arguments */
	size_t nrcpt;
	int extract;  /* -t */
	int dot_ends; /* sendmail without -i: a line "." ends the message */
	unsigned notify;
	smtp_dsn_ret ret;
	const char *envid;
	int json, trace, quiet;
	int print; /* --print: the message to standard output, nothing sent */
	struct ss_compose_opts *compose; /* NULL when no composing option was given */
};

/* An account of the configuration file; NULL where the file did not say. */
struct ss_account {
	char *name;
	char *url, *user, *password, *password_file, *password_cmd, *from, *ca_file, *tls,
		*timeout;
	int line; /* of its [NAME] */
};

struct ss_config {
	char *path; /* the file read, or NULL when there was none */
	struct ss_account *accounts;
	size_t count;
};

/* What the session is given: the command line over the account. */
struct ss_settings {
	const char *url, *user, *from, *ca_file;
	struct ss_secret secret;
	int tls_set;
	smtp_tls tls;
	int timeout_s;
	const char *account; /* its name, or NULL */
};

/* The content to send and what the header block said. */
struct ss_content {
	char *data; /* owned */
	size_t len;
	char **header_rcpts; /* -t: To, Cc and Bcc mailboxes (owned) */
	size_t nheader_rcpts;
	char *header_from; /* the first mailbox of From, or NULL (owned) */
};

/* out.c */
void ss_out_set_prog(const char *name);
const char *ss_out_prog(void);
/* Prints "prog: MESSAGE" on standard error, control characters escaped; returns
   status. */
int ss_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes len bytes to f with control characters (except keep, e.g. '\n') and bytes
   that are not UTF-8 escaped as \xNN; C1 controls as \u00NN. */
void ss_out_escaped(FILE *f, const char *s, size_t len, int keep);
/* Length of the UTF-8 sequence at s (at most n octets), or 0 when it is not one. */
size_t ss_utf8_len(const unsigned char *s, size_t n);

/* options.c */
int ss_options_parse(int argc, char **argv, struct ss_cmdline *c);
void ss_options_free(struct ss_cmdline *c);

/* values.c */
/* sysexits.h status for a usage error: prints "prog: OPTION: REASON". */
int ss_usage_error(const char *option, const char *reason);
int ss_parse_tls(const char *option, const char *v, smtp_tls *mode);
int ss_parse_seconds(const char *option, const char *v, int *seconds);
int ss_parse_notify(const char *option, const char *v, unsigned *out);
int ss_parse_ret(const char *option, const char *v, smtp_dsn_ret *ret);
/* Text for a header field: at most max octets of UTF-8 without control characters
   (TAB allowed when tab_ok). Otherwise a usage error naming option. */
int ss_check_text(const char *option, const char *s, size_t max, int tab_ok);

/* sendmail.c: the sendmail flags, for options.c. */
extern const char ss_sendmail_shortopts[];
int ss_sendmail_flag(struct ss_cmdline *c, int flag, const char *arg);

/* config.c */
/* The file to read: --config, $XDG_CONFIG_HOME/smtp-send/config or
   ~/.config/smtp-send/config; *explicit = whether the command line named it. */
char *ss_config_path(const struct ss_cmdline *c, int *is_explicit);
int ss_config_load(const char *path, int is_explicit, struct ss_config *cfg);
const struct ss_account *ss_config_find(const struct ss_config *cfg, const char *name);
void ss_config_free(struct ss_config *cfg);
int ss_settings_merge(const struct ss_cmdline *c, const struct ss_config *cfg,
		      struct ss_settings *st);

/* password.c: the password of a source, to be wiped with ss_password_free. */
int ss_password_get(const struct ss_secret *src, char **out);
void ss_password_free(char *p);

/* input.c */
/* Reads f whole (bounded) into *data (malloc'd, with room for a NUL after *len
   octets); what names it in messages ("standard input"). */
int ss_input_read(FILE *f, const char *what, int dot_ends, char **data, size_t *len);
int ss_input_check(const char *data, size_t len);

/* headers.c */
/* from_name: the display name of an added From field (NULL or "": none). */
int ss_headers_prepare(struct ss_content *ct, const char *from_name, const char *envelope_from);
int ss_headers_scan(struct ss_content *ct, int extract);
void ss_content_free(struct ss_content *ct);

/* addrlist.c: mailboxes of an unfolded address-list value, appended to *list. */
int ss_addrlist_parse(const char *field, const char *value, char ***list, size_t *n);
void ss_addrlist_free(char **list, size_t n);
/* One mailbox of the command line ("a@example.org", "Name <a@example.org>", "\"Doe,
   J\" <j@example.org>", "<>" for the null path) split into addr (SMTP_ADDR_MAX + 1
   octets; "" for "<>") and name (SMTP_NAME_MAX + 1; "" when none). EX_DATAERR,
   naming origin, when it is not one. */
int ss_mailbox_split(const char *origin, const char *text, char *addr, char *name);

/* compose.c */
int ss_compose_option(struct ss_cmdline *c, int key, const char *arg);
/* After the whole command line: what the composing options exclude or need. */
int ss_compose_check(const struct ss_cmdline *c);
/* Whether the message is composed from the options instead of read. */
int ss_composing(const struct ss_cmdline *c);
/* The recipients the composed message has: --to and address arguments, --cc, --bcc. */
size_t ss_compose_rcpts(const struct ss_cmdline *c);
void ss_compose_opts_free(struct ss_compose_opts *o);

/* compose_fill.c */
/* Composes the message into m, its content and envelope, sent by from ("Name
   <addr>" allowed); *out gets the builder, to free after m (it feeds m's content). */
int ss_compose_fill(const struct ss_cmdline *c, const char *from, smtp_message *m,
		    smtp_compose **out);
/* Writes the composed message to standard output (--print). */
int ss_compose_print(smtp_compose *cp);

/* dkim.c */
/* The number of signers --dkim-* give (0 without them, or when o is NULL). */
size_t ss_dkim_count(const struct ss_compose_opts *o);
/* Signer i (< ss_dkim_count) of --dkim-*, to free with smtp_dkim_free (*out NULL
   on failure). */
int ss_dkim_make(const struct ss_compose_opts *o, size_t i, smtp_dkim **out);
/* Puts the DKIM-Signature fields of --dkim-* before raw content, in the order
   given; nothing without them. */
int ss_dkim_sign_raw(const struct ss_cmdline *c, struct ss_content *ct);

/* url.c */
/* Why url is not a valid URL (a static or *buf string), or NULL when no reason is
   found. */
const char *ss_url_explain(const char *url, char *buf, size_t len);
/* Whether the URL carries a user name and a password. */
void ss_url_userinfo(const char *url, int *has_user, int *has_password);
/* The URL with its password replaced by "****", for messages. */
void ss_url_redact(const char *url, char *buf, size_t len);
/* The percent-decoded user name of the URL (malloc'd), or NULL. */
char *ss_url_user(const char *url);

/* setup.c */
int ss_setup_session(smtp_session *s, const struct ss_cmdline *c,
		     const struct ss_settings *st);
int ss_setup_auth(smtp_session *s, const struct ss_cmdline *c, const struct ss_settings *st);

/* report.c */
int ss_report_status(const smtp_report *r);
void ss_report_print(const smtp_report *r, const struct ss_cmdline *c, int status);
void ss_report_trace(void *ud, smtp_trace_dir dir, const char *line, size_t len);

#endif

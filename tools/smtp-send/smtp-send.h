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
     addrlist.c  RFC 5322 address lists (To, Cc, Bcc, From) -> mailboxes
     url.c       what is wrong with a URL the library refused; user and password in it
     setup.c     the settings applied to the session
     report.c    the report printed, its exit status (doc/smtp-send.1's table), the trace
     out.c       messages to the terminal, control characters escaped
   A content source is one more file: raw input (input.c + headers.c) today. The
   composing options (--subject, --text, --html, --attach, --inline, --header,
   --dkim-*) come as compose.c over the compose API: their entries join options.c's
   table and go to one ss_compose_option() (as sendmail.c's flags go to
   ss_sendmail_flag), their state is one pointer in ss_cmdline, and main.c's
   load_content() fills the message from it instead of standard input when any was
   given. Functions return 0 or a sysexits.h status after printing why. */
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
int ss_input_read(FILE *f, int dot_ends, char **data, size_t *len);
int ss_input_check(const char *data, size_t len);

/* headers.c */
int ss_headers_prepare(struct ss_content *ct, const struct ss_cmdline *c,
		       const char *envelope_from);
int ss_headers_scan(struct ss_content *ct, int extract);
void ss_content_free(struct ss_content *ct);

/* addrlist.c: mailboxes of an unfolded address-list value, appended to *list. */
int ss_addrlist_parse(const char *field, const char *value, char ***list, size_t *n);
void ss_addrlist_free(char **list, size_t n);

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

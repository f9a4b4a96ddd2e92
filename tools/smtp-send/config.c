/* Accounts in an INI-style file:

     # comment
     [default]
     url = smtp://mail.example.org
     user = me@example.org
     password-cmd = pass show mail/me
     from = me@example.org

   Keys: url, user, password, password-file, password-cmd, from, ca-file, tls,
   timeout. A value may be written "in quotes" (\" and \\ inside) to keep spaces at
   its ends. The file is refused, as msmtp refuses its own, when it holds a password
   (a password key, or a password in a url) and group or others may read it; and in
   any case when group or others may write it or someone else owns it, since it names
   the server that gets the password and a command that is run. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtp-send.h"

#define CONFIG_MAX (64 * 1024) /* octets: a file of accounts is small */
#define CONFIG_ACCOUNTS_MAX 256

char *ss_config_path(const struct ss_cmdline *c, int *is_explicit)
{
	*is_explicit = c->config != NULL;
	if (c->config)
		return strdup(c->config);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	const char *sub = "/smtp-send/config";
	if (!xdg || xdg[0] != '/') {
		xdg = NULL;
		if (!home || home[0] != '/') {
			const struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : "/";
		}
		sub = "/.config/smtp-send/config";
	}
	const char *base = xdg ? xdg : home;
	size_t n = strlen(base) + strlen(sub) + 1;
	char *path = malloc(n);
	if (path)
		snprintf(path, n, "%s%s", base, sub);
	return path;
}

static int config_error(const char *path, int line, const char *what)
{
	return ss_fail(EX_CONFIG, "%s:%d: %s", path, line, what);
}

/* The field of the account named by key, or NULL for an unknown key. */
static char **field(struct ss_account *a, const char *key)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{"url", offsetof(struct ss_account, url)},
		{"user", offsetof(struct ss_account, user)},
		{"password", offsetof(struct ss_account, password)},
		{"password-file", offsetof(struct ss_account, password_file)},
		{"password-cmd", offsetof(struct ss_account, password_cmd)},
		{"from", offsetof(struct ss_account, from)},
		{"ca-file", offsetof(struct ss_account, ca_file)},
		{"tls", offsetof(struct ss_account, tls)},
		{"timeout", offsetof(struct ss_account, timeout)},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(key, keys[i].key) == 0)
			return (char **)(void *)((char *)a + keys[i].offset);
	return NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* A value as written: bare, or in quotes with \" and \\. */
static int unquote(char *v, const char **why)
{
	if (v[0] != '"')
		return 0;
	char *w = v;
	const char *r = v + 1;
	while (*r && *r != '"') {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r++;
	}
	if (*r != '"' || r[1]) {
		*why = *r ? "text after the closing quote" : "no closing quote";
		return -1;
	}
	*w = '\0';
	return 0;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int new_account(struct ss_config *cfg, const char *path, int lineno, char *line)
{
	size_t n = strlen(line);
	if (n < 3 || line[n - 1] != ']')
		return config_error(path, lineno, "a section is written [NAME]");
	line[n - 1] = '\0';
	char *name = trim(line + 1);
	if (!name[0])
		return config_error(path, lineno, "empty account name");
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.@", *p))
			return config_error(path, lineno, "an account name has letters, digits "
					    "and - _ . @ only");
	if (ss_config_find(cfg, name))
		return config_error(path, lineno, "this account was already defined");
	if (cfg->count == CONFIG_ACCOUNTS_MAX)
		return config_error(path, lineno, "too many accounts");
	struct ss_account *more = realloc(cfg->accounts, (cfg->count + 1) * sizeof *more);
	if (!more)
		return ss_fail(EX_SOFTWARE, "out of memory");
	cfg->accounts = more;
	struct ss_account *a = &cfg->accounts[cfg->count];
	memset(a, 0, sizeof *a);
	a->line = lineno;
	a->name = strdup(name);
	if (!a->name)
		return ss_fail(EX_SOFTWARE, "out of memory");
	cfg->count++;
	return 0;
}

static int set_key(struct ss_config *cfg, const char *path, int lineno, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return config_error(path, lineno, "expected [NAME] or key = value");
	*eq = '\0';
	char *key = trim(line);
	char *value = trim(eq + 1);
	if (!cfg->count)
		return config_error(path, lineno, "key = value before the first [NAME]");
	struct ss_account *a = &cfg->accounts[cfg->count - 1];
	char **slot = field(a, key);
	if (!slot) {
		char why[192];
		snprintf(why, sizeof why, "unknown key '%.40s' (keys: url, user, password, "
			 "password-file, password-cmd, from, ca-file, tls, timeout)", key);
		return config_error(path, lineno, why);
	}
	if (*slot)
		return config_error(path, lineno, "this key was already set in this account");
	const char *why = NULL;
	if (unquote(value, &why))
		return config_error(path, lineno, why);
	if (!value[0])
		return config_error(path, lineno, "empty value");
	if (has_control(value))
		return config_error(path, lineno, "control character in the value");
	*slot = strdup(value);
	return *slot ? 0 : ss_fail(EX_SOFTWARE, "out of memory");
}

static int parse(struct ss_config *cfg, const char *path, char *text)
{
	int lineno = 0;
	char *next = text;
	while (next && *next) {
		char *line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		line = trim(line);
		int rc = 0;
		if (!line[0] || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[')
			rc = new_account(cfg, path, lineno, line);
		else
			rc = set_key(cfg, path, lineno, line);
		if (rc)
			return rc;
	}
	return 0;
}

static int holds_password(const struct ss_config *cfg)
{
	for (size_t i = 0; i < cfg->count; i++) {
		const struct ss_account *a = &cfg->accounts[i];
		int user = 0, password = 0;
		if (a->url)
			ss_url_userinfo(a->url, &user, &password);
		if (a->password || password)
			return 1;
	}
	return 0;
}

static int check_mode(const struct ss_config *cfg, const struct stat *st)
{
	unsigned mode = (unsigned)st->st_mode & 07777u;
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return ss_fail(EX_CONFIG, "%s: refused: owned by another user (uid %u)", cfg->path,
			       (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return ss_fail(EX_CONFIG, "%s: refused: group or others may change it (mode %04o); "
			       "chmod go-w %s", cfg->path, mode, cfg->path);
	if ((st->st_mode & (S_IRGRP | S_IROTH)) && holds_password(cfg))
		return ss_fail(EX_CONFIG, "%s: refused: it holds a password and group or others "
			       "may read it (mode %04o); chmod 600 %s, or use password-file "
			       "or password-cmd", cfg->path, mode, cfg->path);
	return 0;
}

int ss_config_load(const char *path, int is_explicit, struct ss_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && !is_explicit)
			return 0;
		return ss_fail(EX_NOINPUT, "%s%s: %s", is_explicit ? "--config " : "", path,
			       strerror(errno));
	}
	struct stat st;
	char *text = malloc(CONFIG_MAX + 1);
	int rc = 0;
	if (!text)
		rc = ss_fail(EX_SOFTWARE, "out of memory");
	else if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode))
		rc = ss_fail(EX_NOINPUT, "%s: not a regular file", path);
	size_t n = rc ? 0 : fread(text, 1, CONFIG_MAX + 1, f);
	if (!rc && ferror(f))
		rc = ss_fail(EX_NOINPUT, "%s: %s", path, strerror(errno));
	else if (!rc && n > CONFIG_MAX)
		rc = ss_fail(EX_CONFIG, "%s: larger than %d octets", path, CONFIG_MAX);
	fclose(f);
	if (!rc && memchr(text, '\0', n))
		rc = ss_fail(EX_CONFIG, "%s: holds a NUL octet", path);
	if (!rc) {
		text[n] = '\0';
		cfg->path = strdup(path);
		rc = cfg->path ? parse(cfg, path, text) : ss_fail(EX_SOFTWARE, "out of memory");
	}
	if (!rc)
		rc = check_mode(cfg, &st);
	free(text);
	return rc;
}

const struct ss_account *ss_config_find(const struct ss_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->count; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}

void ss_config_free(struct ss_config *cfg)
{
	for (size_t i = 0; i < cfg->count; i++) {
		struct ss_account *a = &cfg->accounts[i];
		free(a->name);
		free(a->url);
		free(a->user);
		ss_password_free(a->password);
		free(a->password_file);
		free(a->password_cmd);
		free(a->from);
		free(a->ca_file);
		free(a->tls);
		free(a->timeout);
	}
	free(cfg->accounts);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}

/* EHLO reply -> capability set (RFC 5321 4.1.1.1 and the extensions' RFCs).
   Pure: no I/O; owns one copy of the keyword lines. */
#ifndef SMTPI_CAPA_H
#define SMTPI_CAPA_H

#include <stddef.h>
#include <stdint.h>

enum smtpi_capa_flag {
	SMTPI_CAPA_PIPELINING = 1u << 0,          /* RFC 2920 */
	SMTPI_CAPA_SIZE = 1u << 1,                /* RFC 1870 */
	SMTPI_CAPA_8BITMIME = 1u << 2,            /* RFC 6152 */
	SMTPI_CAPA_SMTPUTF8 = 1u << 3,            /* RFC 6531 */
	SMTPI_CAPA_DSN = 1u << 4,                 /* RFC 3461 */
	SMTPI_CAPA_CHUNKING = 1u << 5,            /* RFC 3030 */
	SMTPI_CAPA_BINARYMIME = 1u << 6,          /* RFC 3030 */
	SMTPI_CAPA_ENHANCEDSTATUSCODES = 1u << 7, /* RFC 2034 */
	SMTPI_CAPA_STARTTLS = 1u << 8,            /* RFC 3207 */
	SMTPI_CAPA_AUTH = 1u << 9,                /* RFC 4954 */
	SMTPI_CAPA_LIMITS = 1u << 10,             /* RFC 9422 */
	SMTPI_CAPA_REQUIRETLS = 1u << 11          /* RFC 8689 */
};

struct smtpi_capa {
	unsigned flags;
	uint64_t size_max;      /* SIZE parameter; 0 when absent or 0 (no fixed limit) */
	unsigned rcptmax;       /* LIMITS RCPTMAX=, 0 when absent */
	unsigned mailmax;       /* LIMITS MAILMAX=, 0 when absent */
	unsigned rcptdomainmax; /* LIMITS RCPTDOMAINMAX=, 0 when absent */
	const char *auth;       /* AUTH parameters (space-separated mechanism names, merged
				   from "AUTH x y" and the old "AUTH=x y" form), "" if none;
				   points into storage owned by this struct */
	char *lines;            /* owned copy of the keyword lines, one per '\n' */
	size_t lines_len;
};

/* Initialises an empty set (no allocation). */
void smtpi_capa_init(struct smtpi_capa *c);
/* Frees what the set owns and empties it. */
void smtpi_capa_clear(struct smtpi_capa *c);

/* Replaces the set with the one described by an EHLO reply text as produced by the
   reply parser (lines joined by '\n'; the first line is the server's greeting and is
   not a keyword). Keywords are case-insensitive; unknown keywords are kept for
   smtpi_capa_find. Malformed parameters of a known keyword (SIZE abc) leave that value
   at 0 but do not fail. Returns 0 or SMTP_ENOMEM. */
int smtpi_capa_parse(struct smtpi_capa *c, const char *text, size_t len);

/* Looks up a keyword (case-insensitive, exact keyword match). Returns 1 and sets
   *params (if not NULL) to the parameters, "" when none (valid until clear/parse), or 0. */
int smtpi_capa_find(const struct smtpi_capa *c, const char *keyword, const char **params);

#endif

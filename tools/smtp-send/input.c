/* The message on standard input (or a text part's file): read whole (bounded), then
   checked before any connection is made, so that a message the server must refuse
   is never half sent and cron's empty </dev/null never becomes an empty mail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

#define INPUT_MAX ((size_t)256 << 20) /* octets: far above any server's SIZE limit */
#define LINE_MAX_OCTETS 998          /* RFC 5322 2.1.1, RFC 5321 4.5.3.1.6 */

int ss_input_read(FILE *f, const char *what, int dot_ends, char **data, size_t *len)
{
	size_t cap = 1 << 16, n = 0, line_start = 0;
	char *buf = malloc(cap);
	if (!buf)
		return ss_fail(EX_SOFTWARE, "out of memory");
	int ch;
	while ((ch = getc_unlocked(f)) != EOF) {
		if (n + 1 >= cap) {
			if (cap >= INPUT_MAX) {
				free(buf);
				return ss_fail(EX_DATAERR, "%s: larger than %zu MiB", what,
					       INPUT_MAX >> 20);
			}
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return ss_fail(EX_SOFTWARE, "out of memory");
			}
			buf = bigger;
			cap *= 2;
		}
		buf[n++] = (char)ch;
		if (ch != '\n')
			continue;
		/* sendmail without -i: a line of one dot ends the message (RFC 5321 4.1.1.4
		   is how the server sees it; here it is sendmail's convention) */
		size_t line = n - line_start;
		if (dot_ends && buf[line_start] == '.' &&
		    (line == 2 || (line == 3 && buf[line_start + 1] == '\r'))) {
			n = line_start;
			break;
		}
		line_start = n;
	}
	if (ferror(f)) {
		int err = errno;
		free(buf);
		return ss_fail(EX_NOINPUT, "reading %s: %s", what, strerror(err));
	}
	*data = buf;
	*len = n;
	return 0;
}

int ss_input_check(const char *data, size_t len)
{
	size_t blank = 0;
	while (blank < len && strchr(" \t\r\n", data[blank]) && data[blank])
		blank++;
	if (blank == len)
		return ss_fail(EX_DATAERR, "the message on standard input is empty%s: nothing sent",
			       len ? " (only blank lines)" : "");
	const char *nul = memchr(data, '\0', len);
	size_t line = 1, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && data[i] != '\n')
			continue;
		size_t octets = i - start - (i > start && data[i - 1] == '\r');
		if (nul && nul >= data + start && nul < data + i)
			return ss_fail(EX_DATAERR, "line %zu holds a NUL octet: nothing sent", line);
		if (octets > LINE_MAX_OCTETS)
			return ss_fail(EX_DATAERR, "line %zu is %zu octets long, over the %d that "
				       "RFC 5322 2.1.1 allows: nothing sent", line, octets,
				       LINE_MAX_OCTETS);
		start = i + 1;
		line++;
	}
	return 0;
}

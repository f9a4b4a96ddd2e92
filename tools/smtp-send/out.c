/* Messages to the terminal. Anything printed may hold text from the message, the
   server or the command line, so control characters are escaped: an ESC sequence in
   a header or a reply must not reach the terminal (terminal escape injection). */
#include <stdarg.h>
#include <stdio.h>

#include "smtp-send.h"

static const char *prog = "smtp-send";

void ss_out_set_prog(const char *name)
{
	prog = name;
}

const char *ss_out_prog(void)
{
	return prog;
}

size_t ss_utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned min;
	unsigned cp;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0) {
		need = 2;
		min = 0x80;
		cp = s[0] & 0x1fu;
	} else if (s[0] < 0xf0) {
		need = 3;
		min = 0x800;
		cp = s[0] & 0x0fu;
	} else {
		need = 4;
		min = 0x10000;
		cp = s[0] & 0x07u;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

void ss_out_escaped(FILE *f, const char *str, size_t len, int keep)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char b = s[i];
		if (b >= 0x20 && b < 0x7f) {
			fputc(b, f);
			i++;
		} else if (b < 0x80) {
			if (b == keep)
				fputc(b, f);
			else
				fprintf(f, "\\x%02x", b);
			i++;
		} else {
			size_t n = ss_utf8_len(s + i, len - i);
			/* U+0080..U+009F are the C1 controls (CSI is U+009B) */
			if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
				fprintf(f, "\\u%04x", s[i + 1]);
			else if (n)
				fwrite(s + i, 1, n, f);
			else
				fprintf(f, "\\x%02x", b);
			i += n ? n : 1;
		}
	}
}

int ss_fail(int status, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	fprintf(stderr, "%s: ", prog);
	ss_out_escaped(stderr, buf, len, '\n');
	fputc('\n', stderr);
	return status;
}

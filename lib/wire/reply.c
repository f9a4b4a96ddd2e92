/* Incremental SMTP reply parser: see reply.h. */
#include "wire/reply.h"

#include <string.h>

#include "smtp.h"

enum {
	ST_CODE,      /* the three digits of the reply code */
	ST_SEP,       /* after the code: ' ', '-' or the line end */
	ST_ENH_CLASS, /* the text may open with an enhanced code: its class digit */
	ST_ENH_DOT,   /* the '.' after the class */
	ST_ENH_SUBJ,  /* subject digits; p->digits counts them */
	ST_ENH_DET,   /* detail digits; p->digits counts them */
	ST_TEXT,
	ST_CR,        /* a CR was seen: only LF may follow */
	ST_DONE       /* p->reply is complete; the next call starts a new reply */
};

void smtpi_reply_init(struct smtpi_reply_parser *p)
{
	p->state = ST_CODE;
	p->line_len = 0;
	p->line_start = 0;
	p->line_code = 0;
	p->digits = 0;
	p->last = 0;
	p->reply.code = 0;
	p->reply.enh_class = 0;
	p->reply.enh_subject = 0;
	p->reply.enh_detail = 0;
	p->reply.enh_text[0] = '\0';
	p->reply.nlines = 0;
	p->reply.text_len = 0;
	p->reply.text[0] = '\0';
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A byte of a possible enhanced code. It is stored only while there is room; text_len
   keeps counting, so a prefix that turns out to be plain text and does not fit is
   caught by leave_enh(). */
static void enh_put(struct smtpi_reply_parser *p, unsigned char c)
{
	if (p->reply.text_len < SMTPI_REPLY_MAX_TEXT)
		p->reply.text[p->reply.text_len] = (char)c;
	p->reply.text_len++;
}

/* v (0 to 999) in decimal at dst; returns the digits written. */
static size_t small_digits(char *dst, int v)
{
	size_t n = 0;
	if (v >= 100)
		dst[n++] = (char)('0' + v / 100);
	if (v >= 10)
		dst[n++] = (char)('0' + v / 10 % 10);
	dst[n++] = (char)('0' + v % 10);
	return n;
}

/* "C.S.D" (RFC 3463 2: class 2, 4 or 5, subject and detail 1 to 3 digits). */
static void enhanced_text(struct smtpi_reply *r)
{
	size_t n = 0;
	if (r->enh_class) {
		n = small_digits(r->enh_text, r->enh_class);
		r->enh_text[n++] = '.';
		n += small_digits(r->enh_text + n, r->enh_subject);
		r->enh_text[n++] = '.';
		n += small_digits(r->enh_text + n, r->enh_detail);
	}
	r->enh_text[n] = '\0';
}

static int end_line(struct smtpi_reply_parser *p)
{
	p->reply.nlines++;
	if (p->last) {
		p->reply.text[p->reply.text_len] = '\0';
		enhanced_text(&p->reply);
		p->state = ST_DONE;
		return SMTPI_REPLY_DONE;
	}
	if (p->reply.nlines >= SMTPI_REPLY_MAX_LINES)
		return SMTP_EPROTOCOL;
	p->state = ST_CODE;
	p->line_len = 0;
	p->line_code = 0;
	p->digits = 0;
	return SMTPI_REPLY_MORE;
}

static int text_byte(struct smtpi_reply_parser *p, unsigned char c)
{
	switch (c) {
	case '\r':
		p->state = ST_CR;
		return SMTPI_REPLY_MORE;
	case '\n':
		/* RFC 5321 2.3.8, 4.1.1.4: a line ends only at CRLF; a bare LF taken as a
		   line end would let server text smuggle a second reply */
		return SMTP_EPROTOCOL;
	case '\0':
		/* aiosmtpd ends its AUTH LOGIN prompts with a NUL; drop it. */
		return SMTPI_REPLY_MORE;
	default:
		if (p->reply.text_len >= SMTPI_REPLY_MAX_TEXT)
			return SMTP_EPROTOCOL;
		p->reply.text[p->reply.text_len++] = (char)c;
		return SMTPI_REPLY_MORE;
	}
}

/* The bytes since the line's text began are not an enhanced code after all: they
   stay as text, and c is read as text. */
static int leave_enh(struct smtpi_reply_parser *p, unsigned char c)
{
	if (p->reply.text_len > SMTPI_REPLY_MAX_TEXT)
		return SMTP_EPROTOCOL;
	p->state = ST_TEXT;
	return text_byte(p, c);
}

/* The line's text opens with a complete enhanced code: remove it. The first line's
   code is the reply's (RFC 2034 section 4 repeats it on every line). */
static void take_enh(struct smtpi_reply_parser *p)
{
	if (p->reply.nlines == 0) {
		const char *s = p->reply.text + p->line_start;
		int v = 0;
		p->reply.enh_class = s[0] - '0';
		for (s += 2; *s != '.'; s++)
			v = v * 10 + (*s - '0');
		p->reply.enh_subject = v;
		v = 0;
		for (s++; s < p->reply.text + p->reply.text_len; s++)
			v = v * 10 + (*s - '0');
		p->reply.enh_detail = v;
	}
	p->reply.text_len = p->line_start;
	p->state = ST_TEXT;
}

/* The code and separator are read; the line's text starts here. */
static int open_text(struct smtpi_reply_parser *p)
{
	if (p->reply.nlines > 0) {
		if (p->reply.text_len >= SMTPI_REPLY_MAX_TEXT)
			return SMTP_EPROTOCOL;
		p->reply.text[p->reply.text_len++] = '\n';
	}
	p->line_start = p->reply.text_len;
	return SMTPI_REPLY_MORE;
}

static int code_digit(struct smtpi_reply_parser *p, unsigned char c)
{
	int d;

	if (!is_digit(c))
		return SMTP_EPROTOCOL;
	d = c - '0';
	/* RFC 5321 4.2: first digit 2-5, second 0-5. */
	if ((p->digits == 0 && (d < 2 || d > 5)) || (p->digits == 1 && d > 5))
		return SMTP_EPROTOCOL;
	p->line_code = p->line_code * 10 + d;
	if (++p->digits < 3)
		return SMTPI_REPLY_MORE;
	if (p->reply.nlines == 0)
		p->reply.code = p->line_code;
	else if (p->line_code != p->reply.code)
		return SMTP_EPROTOCOL; /* RFC 5321 4.2.1: every line has the same code */
	p->state = ST_SEP;
	return SMTPI_REPLY_MORE;
}

static int separator(struct smtpi_reply_parser *p, unsigned char c)
{
	int rc;

	switch (c) {
	case ' ':
	case '-':
		p->last = c == ' ';
		p->state = ST_ENH_CLASS;
		return open_text(p);
	case '\r':
		/* "250" CRLF: a last line without text (RFC 5321 4.2, the SP and
		   textstring are optional). */
		p->last = 1;
		rc = open_text(p);
		if (rc != SMTPI_REPLY_MORE)
			return rc;
		p->state = ST_TEXT;
		return text_byte(p, c);
	default:
		return SMTP_EPROTOCOL;
	}
}

/* One byte of the line, outside the fast path for plain text. */
static int step(struct smtpi_reply_parser *p, unsigned char c)
{
	switch (p->state) {
	case ST_CODE:
		return code_digit(p, c);
	case ST_SEP:
		return separator(p, c);
	case ST_ENH_CLASS:
		/* RFC 3463 section 2: the class matches the reply code's first digit. */
		if (c != '0' + p->reply.code / 100)
			return leave_enh(p, c);
		enh_put(p, c);
		p->state = ST_ENH_DOT;
		return SMTPI_REPLY_MORE;
	case ST_ENH_DOT:
		if (c != '.')
			return leave_enh(p, c);
		enh_put(p, c);
		p->state = ST_ENH_SUBJ;
		p->digits = 0;
		return SMTPI_REPLY_MORE;
	case ST_ENH_SUBJ:
		/* RFC 3463 section 2: subject and detail are 1*3digit. */
		if (is_digit(c) && p->digits < 3) {
			enh_put(p, c);
			p->digits++;
			return SMTPI_REPLY_MORE;
		}
		if (c != '.' || p->digits == 0)
			return leave_enh(p, c);
		enh_put(p, c);
		p->state = ST_ENH_DET;
		p->digits = 0;
		return SMTPI_REPLY_MORE;
	case ST_ENH_DET:
		if (is_digit(c) && p->digits < 3) {
			enh_put(p, c);
			p->digits++;
			return SMTPI_REPLY_MORE;
		}
		/* RFC 2034 section 4: the code is followed by a space (or ends the line). */
		if (p->digits == 0 || (c != ' ' && c != '\r'))
			return leave_enh(p, c);
		take_enh(p);
		return c == ' ' ? SMTPI_REPLY_MORE : text_byte(p, c);
	case ST_CR:
		/* A bare CR is not a line end (RFC 5321 2.3.8). */
		return c == '\n' ? end_line(p) : SMTP_EPROTOCOL;
	default:
		return text_byte(p, c);
	}
}

/* Length of the run of plain text bytes (no CR, LF or NUL) at the start of s. */
static size_t plain_run(const char *s, size_t n)
{
	const char *e;

	if ((e = memchr(s, '\n', n)) != NULL)
		n = (size_t)(e - s);
	if ((e = memchr(s, '\r', n)) != NULL)
		n = (size_t)(e - s);
	if ((e = memchr(s, '\0', n)) != NULL)
		n = (size_t)(e - s);
	return n;
}

/* Digits s[0..n), n 1 to 3: their value, or -1. */
static int small_number(const char *s, size_t n)
{
	int v = 0;
	if (n < 1 || n > 3)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit((unsigned char)s[k]))
			return -1;
		v = v * 10 + (s[k] - '0');
	}
	return v;
}

/* The length of an enhanced code at the start of text t[0..n) for a reply of class
   cls (RFC 3463 2, RFC 2034 4: class.subject.detail, then a space or the line's end),
   its parts in *subject and *detail, or 0 when the text does not open with one. */
static size_t enhanced_prefix(const char *t, size_t n, int cls, int *subject, int *detail)
{
	if (n < 5 || t[0] != '0' + cls || t[1] != '.')
		return 0;
	const char *d1 = memchr(t + 2, '.', n - 2 < 4 ? n - 2 : 4);
	if (!d1)
		return 0;
	size_t at = (size_t)(d1 - t) + 1, end = at;
	while (end < n && end - at < 4 && is_digit((unsigned char)t[end]))
		end++;
	if ((end < n && t[end] != ' ') || (*subject = small_number(t + 2, (size_t)(d1 - t) - 2)) < 0 ||
	    (*detail = small_number(t + at, end - at)) < 0)
		return 0;
	return end;
}

/* One whole line at the start of a line, when it holds nothing unusual: CRLF at its
   end and nowhere else, no NUL. Returns 1 when it was taken (rc set), 0 to leave it to
   the octet-by-octet machine, which also reports every error at its octet. */
static int whole_line(struct smtpi_reply_parser *p, const char *line, size_t n, int *rc)
{
	if (n < 5 || n > SMTPI_REPLY_MAX_LINE || line[n - 2] != '\r' || !is_digit((unsigned char)line[0]) ||
	    !is_digit((unsigned char)line[1]) || !is_digit((unsigned char)line[2]))
		return 0;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	char sep = line[3];
	if (code < 200 || code > 559 || line[1] > '5' || (p->reply.nlines && code != p->reply.code))
		return 0;
	const char *t = line + 4;
	size_t tn = n - 6; /* between the separator and CRLF */
	if (sep == '\r') {
		if (n != 5)
			return 0;
		t = line + 3;
		tn = 0;
	} else if ((sep != ' ' && sep != '-') || memchr(t, '\r', tn) || memchr(t, '\0', tn)) {
		return 0;
	}
	int subject = 0, detail = 0;
	size_t enh = enhanced_prefix(t, tn, code / 100, &subject, &detail);
	if (enh) {
		if (p->reply.nlines == 0) {
			p->reply.enh_class = code / 100;
			p->reply.enh_subject = subject;
			p->reply.enh_detail = detail;
		}
		enh += enh < tn; /* the space after the code */
		t += enh;
		tn -= enh;
	}
	size_t need = tn + (p->reply.nlines > 0);
	if (need > SMTPI_REPLY_MAX_TEXT - p->reply.text_len)
		return 0;
	if (p->reply.nlines == 0)
		p->reply.code = code;
	else
		p->reply.text[p->reply.text_len++] = '\n';
	memcpy(p->reply.text + p->reply.text_len, t, tn);
	p->reply.text_len += tn;
	p->last = sep != '-';
	*rc = end_line(p);
	return 1;
}

int smtpi_reply_parse(struct smtpi_reply_parser *p, const char *buf, size_t len,
		      size_t *consumed)
{
	size_t i = 0;
	int rc;

	if (p->state == ST_DONE)
		smtpi_reply_init(p);
	while (i < len) {
		if (p->state == ST_CODE && p->line_len == 0) {
			const char *lf = memchr(buf + i, '\n', len - i);
			size_t n = lf ? (size_t)(lf - (buf + i)) + 1 : 0;
			if (n && whole_line(p, buf + i, n, &rc)) {
				i += n;
				if (rc != SMTPI_REPLY_MORE) {
					*consumed = i;
					return rc;
				}
				continue;
			}
		}
		if (p->state == ST_TEXT) {
			/* Scan no further than one octet past the line bound. */
			size_t room = SMTPI_REPLY_MAX_LINE + 1 - p->line_len;
			size_t n = plain_run(buf + i, len - i < room ? len - i : room);

			p->line_len += n;
			if (p->line_len > SMTPI_REPLY_MAX_LINE ||
			    n > SMTPI_REPLY_MAX_TEXT - p->reply.text_len) {
				*consumed = i + n;
				return SMTP_EPROTOCOL;
			}
			memcpy(p->reply.text + p->reply.text_len, buf + i, n);
			p->reply.text_len += n;
			i += n;
			if (i == len)
				break;
		}
		if (++p->line_len > SMTPI_REPLY_MAX_LINE)
			rc = SMTP_EPROTOCOL;
		else
			rc = step(p, (unsigned char)buf[i]);
		i++;
		if (rc != SMTPI_REPLY_MORE) {
			*consumed = i;
			return rc;
		}
	}
	*consumed = len;
	return SMTPI_REPLY_MORE;
}

const char *smtpi_reply_enhanced(const struct smtpi_reply *r, char *buf, size_t len)
{
	size_t n = strlen(r->enh_text);
	if (r->enh_class == 0 || buf == NULL || n >= len)
		return NULL;
	memcpy(buf, r->enh_text, n + 1);
	return buf;
}

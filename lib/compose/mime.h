/* The encoders of the message composer, pure functions over memory: header fields
   with their fold points (RFC 5322 2.2.3), encoded words (RFC 2047), parameters
   (RFC 2045 5.1, RFC 2231), quoted-printable (RFC 2045 6.7), base64 lines (RFC 2045
   6.8), and UTF-8 checks. */
#ifndef SMTPI_MIME_H
#define SMTPI_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "wire/buf.h"
#include "wire/text.h"

/* RFC 5322 2.1.1: lines SHOULD stay within 78 octets and MUST within 998. */
#define SMTPI_LINE_SOFT 78
#define SMTPI_LINE_HARD 998

/* One header field being written unfolded, with the offsets of the white space
   where it may be folded. Errors are sticky: the first SMTP_ENOMEM is kept in err
   and later calls do nothing. */
struct smtpi_field {
	struct smtpi_buf text;
	size_t *folds;
	size_t nfolds, cap;
	int err;
};

/* Starts a field "Name:" (the field must be zeroed or freed before). */
void smtpi_field_start(struct smtpi_field *f, const char *name);
/* Appends n octets where no fold may go. */
void smtpi_field_text(struct smtpi_field *f, const void *s, size_t n);
/* Appends a NUL-terminated string where no fold may go. */
void smtpi_field_str(struct smtpi_field *f, const char *s);
/* Appends one space where the field may be folded. */
void smtpi_field_space(struct smtpi_field *f);
/* Appends the field to out folded at the fold points (lines of at most 78 octets
   where the points allow), ending with CRLF. Returns 0, SMTP_EINVAL when a line would
   exceed 998 octets, SMTP_ENOMEM. The field is reset for reuse. */
int smtpi_field_fold(struct smtpi_field *f, struct smtpi_buf *out);
void smtpi_field_free(struct smtpi_field *f);

/* Returns 0 when s[0..n) is well-formed UTF-8 without control characters (C0 other
   than TAB when tab_ok, DEL, C1), else SMTP_EINVAL. */
int smtpi_utf8_text_check(const char *s, size_t n, int tab_ok);
/* Whether s[0..n) has an octet >= 0x80. */
int smtpi_has_8bit(const void *s, size_t n);

/* A display name as a phrase (RFC 5322 3.2.5): atoms, a quoted string, or (when it is
   not ASCII and utf8 is 0) RFC 2047 encoded words. */
void smtpi_words_phrase(struct smtpi_field *f, const char *name, int utf8);
/* Unstructured text (RFC 5322 3.2.5, Subject and extension fields): words that are
   not ASCII (unless utf8), look like encoded words, or cannot fit on a line become
   encoded words; the white space between the others stays as given. */
void smtpi_words_unstructured(struct smtpi_field *f, const char *text, int utf8);
/* RFC 2047 encoded words (charset utf-8, Q or B whichever is shorter), each of at
   most 75 octets, separated by fold points; never splits a UTF-8 character. */
void smtpi_words_encode(struct smtpi_field *f, const unsigned char *s, size_t n);

/* Appends "; attribute=value" (RFC 2045 5.1): a token or quoted string when it fits
   on a line and is ASCII (or utf8), else RFC 2231 extended values (charset utf-8,
   percent-encoded, split into numbered sections of at most one line each). */
void smtpi_param(struct smtpi_field *f, const char *attribute, const char *value, int utf8);

/* Appends the quoted-printable form of s[0..n) (CRLF line ends) to out: lines of
   at most 76 octets with soft line breaks, "=" and non-printable octets as =XX, white
   space at a line end encoded. Returns 0 or SMTP_ENOMEM. */
int smtpi_qp_encode(const unsigned char *s, size_t n, struct smtpi_buf *out);

/* Streaming base64 body (RFC 2045 6.8): lines of 76 characters, each ending CRLF. */
struct smtpi_b64 {
	unsigned char carry[3];
	size_t ncarry;
	size_t col;
};
/* Room smtpi_b64_update needs in out for n input octets (final included). */
#define SMTPI_B64_ROOM(n) ((n) / 57 * 78 + 84)
/* Encodes in[0..n) into out, keeping up to two octets for the next call. Returns the
   octets written. */
size_t smtpi_b64_update(struct smtpi_b64 *b, const unsigned char *in, size_t n, unsigned char *out);
/* Writes the last group (padded) and the last line end. Returns the octets written. */
size_t smtpi_b64_final(struct smtpi_b64 *b, unsigned char *out);
/* The encoded length of n octets. */
uint64_t smtpi_b64_size(uint64_t n);

/* Content types: "type/subtype" tokens and optional printable ASCII parameters, at
   most 255 octets, not multipart/ or message/ (those need an encoding we do not
   choose). Returns 0 or SMTP_EINVAL. */
int smtpi_content_type_check(const char *type);

#endif

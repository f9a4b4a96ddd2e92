/* Text checks shared by every layer: well-formed UTF-8 (RFC 3629), the control
   character check every caller string passes before it reaches the wire, and the
   escaping of server text before it reaches a trace, a text report or a terminal;
   and the one way secrets are freed. */
#ifndef SMTPI_TEXT_H
#define SMTPI_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629 4: no overlong
   forms, no surrogates, nothing above U+10FFFF), or 0 when it is malformed. n >= 1. */
size_t smtpi_utf8_len(const unsigned char *p, size_t n);

/* Returns SMTP_EINVAL when s (len octets) holds CR, LF, NUL or another control
   character below 0x20 (TAB too) or 0x7f, else 0. The injection check for every
   caller string that reaches the wire. */
int smtpi_check_text(const char *s, size_t len);

/* Writes src[0..len) into dst with every control character (below 0x20, 0x7f) and
   the backslash escaped as \xNN and \\, so no server text can move a terminal's
   cursor or forge a line. NUL-terminates when cap > 0. Returns the length the whole
   escaped text needs (excluding the NUL), like snprintf. */
size_t smtpi_escape_text(char *dst, size_t cap, const char *src, size_t len);

/* Writes v in decimal at dst (room for 20 digits), without a NUL; returns the
   number of digits. The formatting of command lines, without snprintf. */
size_t smtpi_fmt_u64(char *dst, uint64_t v);

/* Wipes (OPENSSL_cleanse) and frees a NUL-terminated string that held a secret.
   NULL allowed. */
void smtpi_free_secret(char *p);

#endif

/* Mailbox syntax (RFC 5321 4.1.2, RFC 6531 3.3), IDNA (RFC 5891 via libidn2),
   and xtext (RFC 3461 4). */
#ifndef SMTPI_ADDRESS_H
#define SMTPI_ADDRESS_H

#include <stddef.h>

enum smtpi_addr_flag {
	SMTPI_ADDR_NULL = 1u << 0,         /* the null reverse path "" / "<>" */
	SMTPI_ADDR_UTF8_LOCAL = 1u << 1,   /* the local part has non-ASCII octets */
	SMTPI_ADDR_UTF8_DOMAIN = 1u << 2,  /* the domain has non-ASCII octets (U-labels) */
	SMTPI_ADDR_LITERAL = 1u << 3,      /* the domain is an address literal [..] */
	SMTPI_ADDR_QUOTED = 1u << 4        /* the local part is a quoted string */
};

/* Checks a caller's mailbox. Accepts "local@domain" or "<local@domain>" (the brackets
   are not part of the result); allow_null accepts "" and "<>" as the null path.
   Any octet below 0x20, 0x7f, or invalid UTF-8 is SMTP_EINVAL. Local part: dot-string
   or quoted-string (RFC 5321 4.1.2), UTF-8 allowed (RFC 6531); at most 64 octets.
   Domain: dot-separated labels of letters, digits, hyphens (UTF-8 allowed), or an
   address literal [IPv4] / [IPv6:...] checked with inet_pton; at most 255 octets.
   On success returns 0, sets *flags, and *start, *len (may be NULL) to the mailbox
   without brackets inside the input. On failure returns SMTP_EINVAL and sets *why (may
   be NULL) to a static English reason. */
int smtpi_address_check(const char *mailbox, int allow_null, unsigned *flags,
			 size_t *start, size_t *len, const char **why);

/* Checks a domain or address literal as it may follow EHLO or "@" (RFC 5321 4.1.2,
   4.1.3): labels of letters, digits and hyphens (U-labels allowed; *flags gets
   SMTPI_ADDR_UTF8_DOMAIN), at most 255 octets; or [IPv4] / [IPv6:...] checked with
   inet_pton (*flags gets SMTPI_ADDR_LITERAL). Returns 0 or SMTP_EINVAL with *why. */
int smtpi_domain_check(const char *domain, unsigned *flags, const char **why);

/* Converts the domain of a checked mailbox (without brackets) to A-labels with
   libidn2 (IDNA2008 non-transitional, UTS #46 mapping unless no_map). *out is a new
   malloc'd "local@xn--..." string. Returns 0, SMTP_EINVAL (*why = libidn2's reason,
   static), SMTP_ENOMEM. */
int smtpi_address_to_ascii(const char *mailbox, size_t len, int no_map, char **out,
			   const char **why);

/* Converts a host name (EHLO name or server name) to A-labels the same way. */
int smtpi_domain_to_ascii(const char *domain, int no_map, char **out, const char **why);

/* Writes the xtext encoding (RFC 3461 4) of src into dst (NUL-terminated). Returns
   the length the encoding needs, like snprintf. */
size_t smtpi_xtext_encode(const char *src, size_t len, char *dst, size_t dstcap);


#endif

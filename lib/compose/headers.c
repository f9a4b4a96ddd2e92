/* The header fields of a composed message (RFC 5322 3.6): addresses, Subject, Date,
   Message-ID, In-Reply-To, References, the caller's fields and MIME-Version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"
#include "wire/address.h"

struct hdr {
	const smtp_compose *c;
	struct smtpi_rng *rng;
	struct smtpi_field f;
	struct smtpi_buf *out;
	int eight_bit;
	int rc;
};

static void fail(struct hdr *h, int rc)
{
	if (!h->rc)
		h->rc = rc;
}

static void fold(struct hdr *h)
{
	int rc = smtpi_field_fold(&h->f, h->out);
	if (rc)
		fail(h, rc);
}

/* An address for the header: A-label domains unless the message is SMTPUTF8. */
static void addr_spec(struct hdr *h, const char *addr)
{
	unsigned flags = 0;
	char *ascii = NULL;
	const char *why;
	smtpi_address_check(addr, 0, &flags, NULL, NULL, NULL);
	if ((flags & SMTPI_ADDR_UTF8_LOCAL) && !h->c->utf8) {
		/* RFC 6532 3.2: a UTF-8 local part exists only in an SMTPUTF8 message */
		fail(h, SMTP_EINVAL);
		return;
	}
	if ((flags & SMTPI_ADDR_UTF8_DOMAIN) && !h->c->utf8) {
		int rc = smtpi_address_to_ascii(addr, strlen(addr), 0, &ascii, &why);
		if (rc) {
			fail(h, rc);
			return;
		}
		addr = ascii;
	}
	h->eight_bit |= smtpi_has_8bit(addr, strlen(addr));
	smtpi_field_str(&h->f, addr);
	free(ascii);
}

static void mailbox_field(struct hdr *h, const char *name, smtp_field which)
{
	const struct smtpi_list *l = &h->c->box[which];
	const struct smtpi_mailbox *v = l->v;
	if (l->n == 0)
		return;
	smtpi_field_start(&h->f, name);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			smtpi_field_text(&h->f, ",", 1);
		smtpi_field_space(&h->f);
		if (v[i].name) {
			smtpi_words_phrase(&h->f, v[i].name, h->c->utf8);
			h->eight_bit |= h->c->utf8 && smtpi_has_8bit(v[i].name, strlen(v[i].name));
			smtpi_field_space(&h->f);
			smtpi_field_text(&h->f, "<", 1);
		}
		addr_spec(h, v[i].addr);
		if (v[i].name)
			smtpi_field_text(&h->f, ">", 1);
	}
	fold(h);
}

/* A field whose value is unstructured text (words != 0) or a ready token. */
static void text_field(struct hdr *h, const char *name, const char *value, int words)
{
	smtpi_field_start(&h->f, name);
	smtpi_field_space(&h->f);
	if (words) {
		smtpi_words_unstructured(&h->f, value, h->c->utf8);
		h->eight_bit |= h->c->utf8 && smtpi_has_8bit(value, strlen(value));
	} else {
		smtpi_field_str(&h->f, value);
	}
	fold(h);
}

static void ids_field(struct hdr *h, const char *name, char *const *ids, size_t n)
{
	if (n == 0)
		return;
	smtpi_field_start(&h->f, name);
	for (size_t i = 0; i < n; i++) {
		smtpi_field_space(&h->f);
		smtpi_field_text(&h->f, "<", 1);
		smtpi_field_str(&h->f, ids[i]);
		smtpi_field_text(&h->f, ">", 1);
	}
	fold(h);
}

static void date_and_id(struct hdr *h)
{
	const smtp_compose *c = h->c;
	char date[40], id[SMTPI_MSGID_MAX];
	int64_t t = c->date;
	int off = c->date_offset;
	if (!c->has_date && c->has_clock) {
		t = c->clock;
		off = 0;
	} else if (!c->has_date) {
		smtpi_clock_now(&t, &off);
	}
	smtpi_date_format(t, off, date);
	text_field(h, "Date", date, 0);
	if (c->msgid) {
		snprintf(id, sizeof id, "<%s>", c->msgid);
	} else {
		/* RFC 5322 3.6.4: unique worldwide; the From domain is the sender's own */
		const struct smtpi_mailbox *from = c->box[SMTP_FIELD_FROM].v;
		char *dom = NULL;
		int rc = smtpi_msgid_domain(from[0].addr, &dom);
		if (!rc)
			rc = smtpi_message_id(h->rng, dom, id);
		free(dom);
		if (rc) {
			fail(h, rc);
			return;
		}
	}
	text_field(h, "Message-ID", id, 0);
}

int smtpi_message_fields(smtp_compose *c, struct smtpi_buf *out, int *eight_bit)
{
	/* RFC 5322 3.6: From is the one field every message has */
	if (c->box[SMTP_FIELD_FROM].n != 1)
		return SMTP_EINVAL;
	struct hdr h = {.c = c, .rng = &c->rng, .out = out};
	mailbox_field(&h, "From", SMTP_FIELD_FROM);
	mailbox_field(&h, "Sender", SMTP_FIELD_SENDER);
	mailbox_field(&h, "Reply-To", SMTP_FIELD_REPLY_TO);
	mailbox_field(&h, "To", SMTP_FIELD_TO);
	mailbox_field(&h, "Cc", SMTP_FIELD_CC);
	if (c->subject)
		text_field(&h, "Subject", c->subject, 1);
	date_and_id(&h);
	if (c->in_reply_to)
		ids_field(&h, "In-Reply-To", &c->in_reply_to, 1);
	ids_field(&h, "References", c->references.v, c->references.n);
	char **names = c->hdr_names.v, **values = c->hdr_values.v;
	for (size_t i = 0; i < c->hdr_names.n; i++)
		text_field(&h, names[i], values[i], 1);
	text_field(&h, "MIME-Version", "1.0", 0);
	smtpi_field_free(&h.f);
	*eight_bit |= h.eight_bit;
	return h.rc;
}

/* Fuzz target: the engine fed arbitrary server bytes while it runs a connection
   phase (with AUTH over pretend TLS) and two queued messages. The first input byte
   picks the configuration (bit 1 LMTP, 2 STARTTLS required, 4 credentials, 8 TLS
   from the start; 2 and 8 together: opportunistic STARTTLS) and the split of the
   rest into reads; the end of the input is the server closing. Never crashes, never
   leaks, its output stays within bounds, and the oracle's invariants hold on every
   run (tests/unit/oracle_glue.h): no recipient accepted without a 2xx final reply
   the oracle matched to it, no content after a DATA reply other than 354 or after a
   failed transaction, RSET (or the end) between a failed transaction and the next
   MAIL, no more replies dispatched than commands written, no final report that
   changes, and, when every reply stayed within the oracle's model, every final
   report as the oracle computes it. A violation prints the transcript and aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/oracle_glue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct orc_glue glue;
static size_t written;

static void drain(struct smtpi_engine *e)
{
	const char *p;
	size_t n;
	for (int i = 0; i < 64; i++) {
		if (smtpi_engine_output(e, &p, &n))
			return;
		orc_glue_queued(&glue, (unsigned long)(written + n));
		if (n == 0)
			return;
		orc_glue_wrote(&glue, p, n);
		written += n;
		smtpi_engine_sent(e, n, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	int implicit = (mode & 10) == 8;
	smtp_tls tls = (mode & 10) == 10 ? SMTP_TLS_OPPORTUNISTIC
		       : (mode & 2)      ? SMTP_TLS_STARTTLS : SMTP_TLS_NONE;
	struct smtpi_engine_config cfg = {
		.helo_name = "fuzz.test",
		.lmtp = mode & 1,
		.tls_mode = tls,
		.user = (mode & 4) ? "user" : NULL,
		.secret = "pencil",
		.auth_insecure = 1,
	};
	struct smtpi_scram_cache cache = {0};
	cfg.scram_cache = &cache;
	struct smtp_report session;
	smtpi_report_init(&session);
	struct smtpi_engine e;
	smtpi_engine_init(&e, &cfg, &session);
	static const struct smtpi_tls_info tls_info = {.version = "TLSv1.3", .cipher = "FUZZ"};
	smtpi_engine_connecting(&e);
	smtpi_engine_connected(&e, "fuzz", implicit ? &tls_info : NULL, 0);

	/* the addresses follow oracle_wire.h's pattern; the content goes out as sent[] */
	static const char body[] = "Subject: fuzz\n\n.dot\nline\r\n";
	static const char canon[] = "Subject: fuzz\r\n\r\n.dot\r\nline\r\n";
	static const char *const sent[] = {canon, canon};
	static const size_t sent_len[] = {sizeof canon - 1, sizeof canon - 1};
	struct orc_setup set = {.lmtp = cfg.lmtp, .nmsgs = 2, .nrcpts = {2, 2},
				.tls = implicit ? SMTP_TLS_IMPLICIT : tls, .user = cfg.user != NULL};
	smtp_message *m[2];
	for (int i = 0; i < 2; i++) {
		char addr[32];
		m[i] = smtp_message_new();
		snprintf(addr, sizeof addr, "m%d@x.test", i);
		smtp_message_set_from(m[i], addr);
		for (int k = 0; k < 2; k++) {
			snprintf(addr, sizeof addr, "r%d.%d@y.test", i, k);
			smtp_message_add_rcpt(m[i], addr);
		}
		smtp_message_set_data(m[i], body, sizeof body - 1);
	}
	orc_glue_init(&glue, &e, &set, m, sent, sent_len);
	written = 0;
	for (size_t i = 0; i < 2; i++)
		if (smtpi_engine_submit(&e, m[i]) == 0)
			orc_glue_submit(&glue, i);
	size_t chunk = (size_t)(mode >> 4) + 1;
	size_t off = 0;
	while (off < size && !(smtpi_engine_status(&e) & SMTPI_E_CLOSED)) {
		drain(&e);
		if (smtpi_engine_status(&e) & SMTPI_E_TLS) {
			struct smtpi_tls_info info = {.version = "TLSv1.3", .cipher = "FUZZ"};
			smtpi_engine_tls_ready(&e, &info, NULL, NULL, 0, 0, 0);
			orc_glue_event(&glue, ORC_TLS);
		}
		size_t n = size - off < chunk ? size - off : chunk;
		orc_glue_give(&glue, (const char *)data + off, n);
		int rc = smtpi_engine_recv(&e, (const char *)data + off, n, 0);
		orc_glue_after(&glue);
		if (rc)
			break;
		off += n;
	}
	drain(&e);
	if (smtpi_buf_pending(&e.out) > (1u << 20))
		abort();
	if (!(smtpi_engine_status(&e) & SMTPI_E_CLOSED)) {
		/* as the session: a server that hangs up after QUIT ends it well */
		if (e.phase == SMTPI_PH_QUIT)
			e.phase = SMTPI_PH_CLOSED;
		else
			smtpi_engine_fail(&e, SMTP_ECLOSED, "end of input", 0);
		orc_glue_event(&glue, ORC_EOF);
	}
	if (orc_glue_check(&glue)) {
		orc_glue_print(&glue, stderr);
		abort();
	}
	orc_glue_free(&glue);
	smtpi_engine_free(&e);
	smtpi_report_free(&session);
	for (int i = 0; i < 2; i++)
		smtp_message_free(m[i]);
	return 0;
}

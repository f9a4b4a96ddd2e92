/* Fuzz target: the engine fed arbitrary server bytes while it runs a connection
   phase (with AUTH over pretend TLS) and two queued messages. The first input byte
   picks the configuration and the split of the rest into reads. Never crashes, never
   leaks, and its output stays within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct smtpi_engine *e)
{
	const char *p;
	size_t n;
	for (int i = 0; i < 64; i++) {
		if (smtpi_engine_output(e, &p, &n) || n == 0)
			return;
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
	struct smtpi_engine_config cfg = {
		.helo_name = "fuzz.test",
		.lmtp = mode & 1,
		.tls_mode = (mode & 2) ? SMTP_TLS_STARTTLS : SMTP_TLS_NONE,
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
	static const struct smtpi_tls_info tls = {.version = "TLSv1.3", .cipher = "FUZZ"};
	smtpi_engine_connecting(&e);
	smtpi_engine_connected(&e, "fuzz", (mode & 8) ? &tls : NULL, 0);

	smtp_message *m[2];
	static const char body[] = "Subject: fuzz\n\n.dot\nline\r\n";
	for (int i = 0; i < 2; i++) {
		m[i] = smtp_message_new();
		smtp_message_set_from(m[i], "a@example.test");
		smtp_message_add_rcpt(m[i], "b@example.test");
		smtp_message_add_rcpt(m[i], "c@example.test");
		smtp_message_set_data(m[i], body, sizeof body - 1);
		smtpi_engine_submit(&e, m[i]);
	}
	size_t chunk = (size_t)(mode >> 4) + 1;
	size_t off = 0;
	while (off < size && !(smtpi_engine_status(&e) & SMTPI_E_CLOSED)) {
		drain(&e);
		if (smtpi_engine_status(&e) & SMTPI_E_TLS) {
			struct smtpi_tls_info info = {.version = "TLSv1.3", .cipher = "FUZZ"};
			smtpi_engine_tls_ready(&e, &info, NULL, NULL, 0, 0, 0);
		}
		size_t n = size - off < chunk ? size - off : chunk;
		if (smtpi_engine_recv(&e, (const char *)data + off, n, 0))
			break;
		off += n;
	}
	drain(&e);
	if (smtpi_buf_pending(&e.out) > (1u << 20))
		abort();
	smtpi_engine_free(&e);
	smtpi_report_free(&session);
	for (int i = 0; i < 2; i++)
		smtp_message_free(m[i]);
	return 0;
}

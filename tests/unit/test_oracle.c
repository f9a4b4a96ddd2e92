/* The engine against the oracle (oracle.h) over random scenarios: 1 to 5 messages
   of 1 to 5 recipients queued before or right after the greeting, SMTP or LMTP,
   PIPELINING and CHUNKING on or off, LIMITS RCPTMAX and MAILMAX, STARTTLS (a
   pretend handshake, which now and then fails) and AUTH PLAIN or LOGIN, contents
   with dots at line starts, the server model's replies (oracle_server.h) given in
   random splits, sometimes only after the client's next write. As the session
   would: a stall ends with the deadline's error, a drop with SMTP_ECLOSED (after
   QUIT: a clean end), bytes waiting before the TLS handshake with SMTP_EPROTOCOL,
   and a connection that closed with messages still undecided (MAILMAX) is followed
   by a new one. Every scenario's reports, and the bytes the client wrote, must
   agree with the oracle.
   ORACLE_SCENARIOS (default 20000) scenarios run, with the seeds ORACLE_SEED
   (default 1) and up; ORACLE_VERBOSE=1 prints every transcript. A failing
   scenario prints its seed: ORACLE_SEED=<seed> ORACLE_SCENARIOS=1 replays it. */
#include <inttypes.h>
#include <stdlib.h>

#include "oracle_glue.h"
#include "oracle_server.h"

#define CONTENT_MAX 4096
#define MAX_CONNS 40   /* MAILMAX=1 and RCPTMAX=1 take up to 25 */

struct scenario {
	uint64_t seed;
	struct orc_rng rng;
	struct smtpi_engine_config cfg;
	struct orc_setup set;
	int late[ORC_MAX_MSGS];      /* submitted right after the greeting */
	int quit_mode;               /* 0: never, 1: asked at once, 2: when idle */
	int tls_fail;                /* per mille: the pretend TLS handshake fails */
	int conns;                   /* connections so far */
	char content[ORC_MAX_MSGS][CONTENT_MAX];
	size_t clen[ORC_MAX_MSGS];
	const char *cptr[ORC_MAX_MSGS];
	smtp_message *m[ORC_MAX_MSGS];
	struct osrv srv;
	struct smtpi_scram_cache scram;
	struct orc_glue g;
	struct smtp_report session;
	struct smtpi_engine e;
	int64_t now;
	size_t written;              /* client octets written */
};

static struct scenario sc;

/* Lines with dots at their starts (RFC 5321 4.5.2); text lines begin with a digit so
   that none reads as a command. */
static size_t gen_content(struct orc_rng *r, char *buf, size_t cap)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789 :-";
	size_t lines = orc_chance(r, 300) ? 30 + orc_below(r, 40) : 1 + orc_below(r, 10);
	size_t n = 0;
	for (size_t i = 0; i < lines; i++) {
		char line[96];
		size_t len = 0;
		switch (orc_below(r, 10)) {
		case 0:
			line[len++] = '.';
			break;
		case 1:
			line[len++] = '.';
			line[len++] = '.';
			break;
		case 2:
			line[len++] = '.';
			line[len++] = 'x';
			break;
		case 3:
			break;
		default:
			line[len++] = (char)('0' + orc_below(r, 10));
			for (size_t k = orc_below(r, 70); k > 0; k--)
				line[len++] = alpha[orc_below(r, sizeof alpha - 1)];
			break;
		}
		if (n + len + 2 >= cap)
			break;
		memcpy(buf + n, line, len);
		memcpy(buf + n + len, "\r\n", 2);
		n += len + 2;
	}
	if (n == 0) {
		memcpy(buf, "0\r\n", 3);
		n = 3;
	}
	return n;
}

/* TLS (none, STARTTLS required or opportunistic, implicit), credentials, and what
   the server offers of them. */
static void gen_connection_phase(struct scenario *s)
{
	static const char *const lists[] = {NULL, NULL, "PLAIN", "LOGIN", "LOGIN PLAIN"};
	static const int firsts[] = {0, 0, ORC_F_PLAIN, ORC_F_LOGIN, ORC_F_LOGIN};
	static const int masks[] = {0, 0, ORC_F_PLAIN, ORC_F_LOGIN, ORC_F_PLAIN | ORC_F_LOGIN};
	static const char *const offers[] = {"PLAIN LOGIN", "PLAIN LOGIN", "LOGIN", "PLAIN",
					     "X-ORACLE", "LOGIN X-ORACLE"};
	struct orc_rng *r = &s->rng;
	struct osrv *v = &s->srv;
	size_t t = orc_below(r, 100);
	s->cfg.tls_mode = t < 70 ? SMTP_TLS_NONE : t < 82 ? SMTP_TLS_STARTTLS
			  : t < 94 ? SMTP_TLS_OPPORTUNISTIC : SMTP_TLS_IMPLICIT;
	s->set.tls = s->cfg.tls_mode;
	v->starttls = s->cfg.tls_mode != SMTP_TLS_IMPLICIT && orc_chance(r, 850);
	s->tls_fail = orc_chance(r, 100) ? 300 : 0;
	s->cfg.user = NULL;
	s->cfg.secret = NULL;
	s->cfg.mechanisms = NULL;
	s->cfg.auth_optional = orc_chance(r, 300);
	s->set.auth_optional = s->cfg.auth_optional;
	/* credentials in plain text only where the caller allows it */
	s->cfg.auth_insecure = s->cfg.tls_mode != SMTP_TLS_STARTTLS;
	s->cfg.scram_cache = &s->scram;
	if (orc_chance(r, 250)) {
		size_t k = orc_below(r, 5);
		s->cfg.user = "user";
		s->cfg.secret = "pencil";
		s->cfg.mechanisms = lists[k];
		s->set.user = 1;
		s->set.mechs = masks[k];
		s->set.mech_first = firsts[k];
	}
	v->auth = orc_chance(r, s->cfg.user ? 850 : 100) ? offers[orc_below(r, 6)] : NULL;
	v->auth_plain = orc_chance(r, s->cfg.tls_mode == SMTP_TLS_NONE ? 900 : 500);
}

static void gen_scenario(uint64_t seed)
{
	static const unsigned harsh[] = {0, 15, 50, 150}, rare[] = {0, 5, 20};
	struct scenario *s = &sc;
	struct orc_rng *r = &s->rng;
	s->seed = seed;
	r->s = seed;
	memset(&s->cfg, 0, sizeof s->cfg);
	memset(&s->set, 0, sizeof s->set);
	memset(&s->srv, 0, sizeof s->srv);
	memset(&s->scram, 0, sizeof s->scram);
	s->cfg.helo_name = "client.test";
	s->cfg.lmtp = orc_chance(r, 250);
	s->cfg.chunk_size = SMTPI_CHUNK_MIN + orc_below(r, SMTPI_CHUNK_MIN + 1);
	s->set.lmtp = s->cfg.lmtp;
	s->set.strict = 1;
	s->set.nmsgs = 1 + orc_below(r, ORC_MAX_MSGS);
	size_t replies = 2;
	for (size_t i = 0; i < s->set.nmsgs; i++) {
		s->set.nrcpts[i] = 1 + orc_below(r, ORC_MAX_RCPTS);
		s->late[i] = orc_chance(r, 300);
		s->clen[i] = gen_content(r, s->content[i], sizeof s->content[i]);
		s->cptr[i] = s->content[i];
		replies += s->set.nrcpts[i] + 4 + s->clen[i] / SMTPI_CHUNK_MIN;
	}
	s->quit_mode = (int)orc_below(r, 3);
	struct osrv *v = &s->srv;
	gen_connection_phase(s);
	replies += s->cfg.tls_mode == SMTP_TLS_NONE ? 0 : 3;
	replies += s->cfg.user ? 3 : 0;
	v->rng = r;
	v->lmtp = s->cfg.lmtp;
	v->pipelining = orc_chance(r, 600);
	v->chunking = orc_chance(r, 400);
	v->enhanced = orc_chance(r, 500);
	v->p_temp = harsh[orc_below(r, 4)];
	v->p_perm = harsh[orc_below(r, 4)];
	v->p_421 = rare[orc_below(r, 3)];
	v->p_wrong = rare[orc_below(r, 3)];
	v->p_conn = orc_chance(r, 300) ? 40 : 0;
	if (orc_chance(r, 250))
		v->rcptmax = 1 + (unsigned)orc_below(r, 3);
	if (orc_chance(r, 200))
		v->mailmax = 1 + (unsigned)orc_below(r, 3);
	if (orc_chance(r, 450)) {
		v->fault = 1 + (int)orc_below(r, 4);
		v->fault_at = orc_below(r, replies);
	} else if (v->starttls && orc_chance(r, 50)) {
		v->fault = OSRV_EXTRA; /* plain text after STARTTLS's 220 (RFC 3207 5) */
		v->fault_at = 2;
	}
}

static const struct smtpi_tls_info pretend_tls = {.version = "TLSv1.3", .cipher = "ORACLE"};

static const char *fault_name(int f)
{
	static const char *const names[] = {"none", "drop", "stall", "extra", "bare-lf"};
	return names[f];
}

static smtp_message *make_message(size_t i)
{
	char addr[32];
	smtp_message *m = smtp_message_new();
	if (!m)
		return NULL;
	snprintf(addr, sizeof addr, "m%zu@x.test", i);
	int rc = smtp_message_set_from(m, addr);
	for (size_t k = 0; rc == 0 && k < sc.set.nrcpts[i]; k++) {
		snprintf(addr, sizeof addr, "r%zu.%zu@y.test", i, k);
		rc = smtp_message_add_rcpt(m, addr);
	}
	if (rc == 0)
		rc = smtp_message_set_data(m, sc.content[i], sc.clen[i]);
	if (rc != 0) {
		smtp_message_free(m);
		return NULL;
	}
	return m;
}

static void submit(size_t i)
{
	int rc = smtpi_engine_submit(&sc.e, sc.m[i]);
	if (rc != 0)
		orc_problem(&sc.g, "submitting message %zu returned %d", i, rc);
	orc_glue_submit(&sc.g, i);
}

static int transcript_has_reply(void)
{
	for (size_t i = 0; i < sc.g.t.n; i++)
		if (sc.g.t.ev[i].kind == ORC_REPLY)
			return 1;
	return 0;
}

/* The client writes some of its output; the server reads it and answers. */
static void client_writes(const char *p, size_t n)
{
	size_t k = orc_chance(&sc.rng, 600) ? n : 1 + orc_below(&sc.rng, n);
	size_t before = sc.g.t.n;
	orc_glue_wrote(&sc.g, p, k);
	sc.written += k;
	sc.now += 1000;
	smtpi_engine_sent(&sc.e, k, sc.now);
	for (size_t i = before; i < sc.g.t.n; i++)
		if (sc.g.t.ev[i].kind == ORC_CMD)
			osrv_command(&sc.srv, &sc.g.t.ev[i]);
	orc_glue_freeze(&sc.g);
}

/* The client is given a prefix of what the server sent. */
static void client_reads(void)
{
	struct osrv *v = &sc.srv;
	size_t avail = v->len - v->off;
	size_t k = orc_chance(&sc.rng, 500) ? avail : 1 + orc_below(&sc.rng, avail);
	orc_glue_give(&sc.g, v->pipe + v->off, k);
	sc.now += 1000;
	int rc = smtpi_engine_recv(&sc.e, v->pipe + v->off, k, sc.now);
	if (rc != 0)
		orc_problem(&sc.g, "smtpi_engine_recv returned %d", rc);
	v->off += k;
	orc_glue_after(&sc.g);
}

/* The engine ends the connection as the session would; it must close. kind:
   ORC_EOF, ORC_STALL, or ORC_LOCAL for another local error. */
static int local_end(int err, const char *why, int kind)
{
	smtpi_engine_fail(&sc.e, err, why, 0);
	if (kind == ORC_LOCAL)
		orc_glue_local(&sc.g, err);
	else
		orc_glue_event(&sc.g, kind);
	if (smtpi_engine_status(&sc.e) & SMTPI_E_CLOSED)
		return 0;
	orc_problem(&sc.g, "the engine did not close after smtpi_engine_fail(%s)",
		    smtp_error_name(err));
	return -1;
}

/* The server closed: after QUIT a clean end (the session's rule: a server that
   hangs up after QUIT without answering is not an error), else SMTP_ECLOSED. */
static int server_closed(void)
{
	if (sc.e.phase != SMTPI_PH_QUIT)
		return local_end(SMTP_ECLOSED, "eof", ORC_EOF);
	sc.e.phase = SMTPI_PH_CLOSED;
	orc_glue_event(&sc.g, ORC_EOF);
	return 0;
}

/* The output is flushed and the engine asks for TLS: as the session does, bytes
   already waiting are an injection (RFC 3207 5); else the pretend handshake. */
static int start_tls(void)
{
	if (sc.srv.len > sc.srv.off)
		return local_end(SMTP_EPROTOCOL, "data before the TLS handshake", ORC_LOCAL);
	if (orc_chance(&sc.rng, (unsigned)sc.tls_fail))
		return local_end(SMTP_ETLS, "pretend handshake failure", ORC_LOCAL);
	sc.now += 1000;
	smtpi_engine_tls_ready(&sc.e, &pretend_tls, NULL, NULL, 0, 1000, sc.now);
	orc_glue_event(&sc.g, ORC_TLS);
	osrv_tls(&sc.srv);
	return 0;
}

static int messages_pending(void)
{
	for (size_t i = 0; i < sc.set.nmsgs; i++)
		if (sc.g.submitted[i] && smtp_report_outcome(smtp_message_report(sc.m[i])) ==
						 SMTP_PENDING)
			return 1;
	return 0;
}

/* A new connection, as the session opens one while messages are queued. */
static int reconnect(void)
{
	if (++sc.conns > MAX_CONNS) {
		orc_problem(&sc.g, "more than %d connections", MAX_CONNS);
		return -1;
	}
	if (smtpi_engine_connecting(&sc.e) != 0) {
		orc_problem(&sc.g, "smtpi_engine_connecting failed");
		return -1;
	}
	orc_glue_connect(&sc.g);
	sc.now += 1000;
	int implicit = sc.cfg.tls_mode == SMTP_TLS_IMPLICIT;
	smtpi_engine_connected(&sc.e, "127.0.0.1:25", implicit ? &pretend_tls : NULL, sc.now);
	osrv_connect(&sc.srv, implicit);
	return 0;
}

/* Runs the engine against the server model until it closes or is idle with
   nothing queued. */
static void drive(void)
{
	int greeted = 0, quit_asked = sc.quit_mode == 1;
	for (int steps = 0;; steps++) {
		int st = smtpi_engine_status(&sc.e);
		if (st & SMTPI_E_CLOSED) {
			if (messages_pending() && reconnect() == 0)
				continue;
			return;
		}
		if (steps == 100000) {
			orc_problem(&sc.g, "the scenario did not end");
			return;
		}
		const char *p = NULL;
		size_t n = 0;
		if (smtpi_engine_output(&sc.e, &p, &n) != 0)
			orc_problem(&sc.g, "smtpi_engine_output failed");
		orc_glue_queued(&sc.g, (unsigned long)(sc.written + n));
		if (n == 0 && (st & SMTPI_E_TLS)) {
			if (start_tls())
				return;
			continue;
		}
		size_t avail = sc.srv.len - sc.srv.off;
		if (sc.srv.eof && avail == 0 && (n == 0 || orc_chance(&sc.rng, 300))) {
			if (server_closed())
				return;
			continue;
		}
		if (n == 0 && avail == 0) {
			if (st & SMTPI_E_READ) {
				if (!sc.srv.silent)
					orc_problem(&sc.g, "deadlock: the engine awaits a reply the "
							   "server does not owe");
				if (local_end(SMTP_ETIMEDOUT, "stall", ORC_STALL))
					return;
				continue;
			}
			if (!quit_asked && sc.quit_mode == 2) {
				quit_asked = 1;
				smtpi_engine_quit(&sc.e);
				continue;
			}
			return;
		}
		if (n > 0 && (avail == 0 || orc_chance(&sc.rng, 500)))
			client_writes(p, n);
		else
			client_reads();
		if (!greeted && transcript_has_reply()) {
			greeted = 1;
			int closed = smtpi_engine_status(&sc.e) & SMTPI_E_CLOSED;
			for (size_t i = 0; i < sc.set.nmsgs; i++)
				if (sc.late[i] && sc.srv.greeting_code == 220 && !closed)
					submit(i);
		}
	}
}

static void print_scenario(FILE *f)
{
	static const char *const tls[] = {"starttls", "implicit", "opportunistic", "none"};
	fprintf(f, "seed %" PRIu64 ": %s, pipelining %d, chunking %d (chunk %zu), quit %d, "
		   "fault %s at reply %zu, tls %s (offered %d, fails %d), user %s (mechanisms "
		   "%s, optional %d), server AUTH %s (before TLS %d), RCPTMAX %u, MAILMAX %u, "
		   "%d connection(s), %zu message(s):", sc.seed, sc.cfg.lmtp ? "LMTP" : "SMTP",
		sc.srv.pipelining, sc.srv.chunking, sc.cfg.chunk_size, sc.quit_mode,
		fault_name(sc.srv.fault), sc.srv.fault_at, tls[sc.cfg.tls_mode], sc.srv.starttls,
		sc.tls_fail, sc.cfg.user ? sc.cfg.user : "-",
		sc.cfg.mechanisms ? sc.cfg.mechanisms : "any", sc.cfg.auth_optional,
		sc.srv.auth ? sc.srv.auth : "-", sc.srv.auth_plain, sc.srv.rcptmax, sc.srv.mailmax,
		sc.conns, sc.set.nmsgs);
	for (size_t i = 0; i < sc.set.nmsgs; i++)
		fprintf(f, " %zu rcpt%s%s", sc.set.nrcpts[i], sc.late[i] ? " late" : "",
			i + 1 < sc.set.nmsgs ? "," : "\n");
}

/* What the scenarios exercised: each must occur, or the generator lost a case. */
enum {
	COV_DROP, COV_STALL, COV_EXTRA, COV_BARELF, COV_HELO, COV_LMTP_MULTI, COV_LONE_DOT,
	COV_CHUNKS, COV_RSET, COV_421, COV_MAYBE, COV_SENT, COV_PARTIAL, COV_DEFERRED,
	COV_BOUNCED, COV_FAILED, COV_TLS, COV_INJECT, COV_AUTH, COV_SASL_BROKEN, COV_NOMECH,
	COV_SPLIT, COV_RECONNECT, COV_N
};
static const char *const cov_names[COV_N] = {
	"drop", "stall", "extra reply", "bare LF/CR", "HELO fallback", "LMTP, 2+ final replies",
	"lone dot", "BDAT, 2+ chunks", "RSET", "421", "maybe_delivered", "sent", "sent_partial",
	"deferred", "bounced", "failed", "STARTTLS", "bytes before TLS", "AUTH 235",
	"AUTH exchange broken", "no mechanism", "RCPTMAX split", "MAILMAX reconnect"};
static uint64_t cov[COV_N];

static void count_coverage(void)
{
	const struct orc_transcript *t = &sc.g.t;
	int seen[COV_N] = {0};
	size_t chunks = 0;
	if (sc.srv.faulted)
		seen[COV_DROP + sc.srv.fault - OSRV_DROP] = 1;
	for (size_t i = 0; i < t->n; i++) {
		const struct orc_event *ev = &t->ev[i];
		if (ev->kind == ORC_REPLY && ev->code == 421)
			seen[COV_421] = 1;
		seen[COV_TLS] |= ev->kind == ORC_TLS;
		seen[COV_RECONNECT] |= ev->kind == ORC_CONNECT;
		seen[COV_INJECT] |= ev->kind == ORC_INJECT ||
				    (ev->kind == ORC_LOCAL && ev->code == SMTP_EPROTOCOL);
		if (ev->kind != ORC_CMD)
			continue;
		seen[COV_HELO] |= ev->cmd == ORC_HELO;
		seen[COV_RSET] |= ev->cmd == ORC_RSET;
		seen[COV_LONE_DOT] |= ev->cmd == ORC_DOT && (ev->flags & ORC_F_LONE);
		if (ev->cmd == ORC_BDAT)
			chunks = ev->flags & ORC_F_LAST ? 0 : chunks + 1;
		seen[COV_CHUNKS] |= chunks > 0;
	}
	for (size_t i = 0; i < sc.g.st.ntx; i++)
		seen[COV_SPLIT] |= sc.g.st.tx[i].lo > 0;
	for (size_t i = 0; i < sc.g.res.nmatch; i++)
		seen[COV_AUTH] |= sc.g.res.match[i].cmd == ORC_AUTH && sc.g.res.match[i].code == 235;
	for (size_t i = 0; i < sc.set.nmsgs; i++) {
		const struct orc_msg *m = &sc.g.res.m[i];
		seen[COV_NOMECH] |= m->error == SMTP_ENOMECH;
		/* an undue challenge, a 235 after "*" */
		seen[COV_SASL_BROKEN] |= m->error == SMTP_EPROTOCOL && m->failed_stage == SMTP_STAGE_AUTH;
		seen[COV_MAYBE] |= m->maybe_delivered;
		if (m->outcome >= SMTP_SENT)
			seen[COV_SENT + m->outcome - SMTP_SENT] = 1;
	}
	for (size_t i = 0; sc.cfg.lmtp && i < sc.g.res.nmatch; i++)
		if (i > 0 && sc.g.res.match[i].cmd == ORC_DOT && sc.g.res.match[i - 1].cmd == ORC_DOT)
			seen[COV_LMTP_MULTI] = 1;
	for (int k = 0; k < COV_N; k++)
		cov[k] += (uint64_t)seen[k];
}

static int full_prints = 3;   /* failures printed with their transcript */
static int seed_lines = 100;  /* then one line each, this many */
static int every_problem;     /* ORACLE_SUMMARY: every problem, one line each */

static void print_problem_lines(int all)
{
	for (const char *p = sc.g.problems; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		const char *next = nl ? nl + 1 : p + len;
		if (!all && len > 0 && p[len - 1] == ':' && *next) {
			/* "the client broke n rule(s):" and the first of them */
			const char *nl2 = strchr(next, '\n');
			int len2 = nl2 ? (int)(nl2 - next) : (int)strlen(next);
			fprintf(stderr, "FAILED seed %" PRIu64 ": %.*s%.*s\n", sc.seed, len, p, len2,
				next);
			return;
		}
		if (len > 0)
			fprintf(stderr, "FAILED seed %" PRIu64 ": %.*s\n", sc.seed, len, p);
		if (!all)
			return;
		p = next;
	}
}

static void print_failure(void)
{
	if (full_prints > 0) {
		full_prints--;
		print_scenario(stderr);
		orc_glue_print(&sc.g, stderr);
	} else if (every_problem) {
		print_problem_lines(1);
	} else if (seed_lines > 0 && seed_lines--) {
		print_problem_lines(0);
	}
}

/* Returns the number of problems found. */
static int run_scenario(uint64_t seed, int verbose)
{
	gen_scenario(seed);
	sc.now = 1000000;
	sc.written = 0;
	sc.conns = 1;
	smtpi_report_init(&sc.session);
	smtpi_engine_init(&sc.e, &sc.cfg, &sc.session);
	for (size_t i = 0; i < sc.set.nmsgs; i++)
		sc.m[i] = make_message(i);
	orc_glue_init(&sc.g, &sc.e, &sc.set, sc.m, sc.cptr, sc.clen);
	int ok = smtpi_engine_connecting(&sc.e) == 0;
	for (size_t i = 0; i < sc.set.nmsgs; i++)
		ok = ok && sc.m[i];
	if (!ok) {
		orc_problem(&sc.g, "setting the scenario up failed");
	} else {
		int implicit = sc.cfg.tls_mode == SMTP_TLS_IMPLICIT;
		smtpi_engine_connected(&sc.e, "127.0.0.1:25", implicit ? &pretend_tls : NULL, sc.now);
		osrv_connect(&sc.srv, implicit);
		/* without a 220 greeting the late messages go before it instead */
		for (size_t i = 0; i < sc.set.nmsgs; i++)
			if (!sc.late[i] || sc.srv.greeting_code != 220)
				submit(i);
		if (sc.quit_mode == 1)
			smtpi_engine_quit(&sc.e);
		drive();
		orc_glue_check(&sc.g);
		count_coverage();
	}
	int problems = sc.g.nproblems;
	if (verbose) {
		print_scenario(stderr);
		orc_glue_print(&sc.g, stderr);
	} else if (problems) {
		print_failure();
	}
	smtpi_engine_free(&sc.e);
	smtpi_report_free(&sc.session);
	for (size_t i = 0; i < sc.set.nmsgs; i++)
		smtp_message_free(sc.m[i]);
	orc_glue_free(&sc.g);
	return problems;
}

static uint64_t env_number(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 10) : dflt;
}

int main(void)
{
	uint64_t count = env_number("ORACLE_SCENARIOS", 20000);
	uint64_t seed0 = env_number("ORACLE_SEED", 1);
	int verbose = env_number("ORACLE_VERBOSE", 0) != 0;
	uint64_t failed = 0;
	if (env_number("ORACLE_SUMMARY", 0)) {
		full_prints = 0;
		every_problem = 1;
	}
	for (uint64_t i = 0; i < count; i++)
		if (run_scenario(seed0 + i, verbose))
			failed++;
	printf("test_oracle: %" PRIu64 " scenarios from seed %" PRIu64 ", %" PRIu64 " failed\n",
	       count, seed0, failed);
	int missing = 0;
	fputs("scenarios with:", stdout);
	for (int k = 0; k < COV_N; k++) {
		printf("%s %s %" PRIu64, k % 6 ? "," : "\n ", cov_names[k], cov[k]);
		/* a few thousand scenarios reach every case */
		if (count >= 2000 && cov[k] == 0)
			missing++;
	}
	fputs("\n", stdout);
	if (missing)
		printf("test_oracle: %d case(s) never happened\n", missing);
	return failed || missing ? 1 : 0;
}

#!/usr/bin/python3
"""A scripted SMTP server for the fault-injection tests (tests/integration/it_faults.c).

Only for what no real server does on request: malformed or oversized replies, a drop
in the middle of a reply, a stall, STARTTLS injection, replies without a command,
byte-by-byte or bunched replies. Python 3 standard library only.

Usage: fake_server.py SCENARIO PORTFILE

Binds 127.0.0.1 on a free port, writes the port number to PORTFILE (atomically:
PORTFILE.tmp then rename), serves exactly one connection following SCENARIO, appends
every byte the client sent to PORTFILE.log (raw; notes of the server itself are lines
starting with "#", e.g. "#VIOLATION ..."), and exits by itself: after the client
closed, or after at most HARD_TIMEOUT seconds in any case.

The extension scenarios in CONN_SETUP (limits, bdat_binary, bdat_refuse; for
tests/integration/it_ext.c) instead log each client line prefixed with its connection
number ("2> MAIL FROM:<...>"), with "#CONNECTION N" before each connection, store BDAT
payloads to PORTFILE.data instead of logging them, and serve up to N connections one
after another (limits: 3).
"""
import os
import select
import signal
import socket
import sys
import time

HARD_TIMEOUT = 20      # seconds: the process never outlives this
ACCEPT_TIMEOUT = 15    # seconds to wait for the one connection
READ_TIMEOUT = 10      # seconds of client silence treated as the end

HOSTNAME = "fake.test"
GREETING = b"220 fake.test ESMTP fake_server\r\n"


class Conn:
    """The one client connection, with line reading and the reply styles."""

    def __init__(self, sock, logpath):
        self.sock = sock
        self.buf = b""
        self.eof = False
        self.log = open(logpath, "ab", buffering=0)
        self.lockstep = False  # check that the client waits for each reply
        self.bytewise = False  # send replies one byte at a time
        self.held = b""        # replies held back (pipelining_burst)
        self.rcpts = 0

    def note(self, text):
        self.log.write(b"\n#" + text.encode() + b"\n")

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.log.write(data)
        self.buf += data
        return True

    def readline(self):
        """One line with its line end, or None at the end of the connection."""
        while b"\n" not in self.buf:
            if self.eof or not self._fill():
                return None
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def send(self, data):
        """Sends data in one go (one send call)."""
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def _waiting_input(self):
        if self.buf:
            return True
        # select first: with a socket timeout set, recv would wait for data
        try:
            ready, _, _ = select.select([self.sock], [], [], 0)
            if not ready:
                return False
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
        return bool(data)

    def reply(self, data):
        """Sends a reply in the scenario's style."""
        if self.lockstep:
            # RFC 2920 3.1 / RFC 5321: without PIPELINING the client waits for each
            # reply. Give it time to misbehave, then look for bytes it sent early.
            time.sleep(0.05)
            if self._waiting_input():
                self.note("VIOLATION: the client sent before the reply to its previous "
                          "command (about to send %r)" % data[:40])
        if self.bytewise:
            for i in range(len(data)):
                self.send(data[i:i + 1])
                time.sleep(0.001)
            return
        self.send(data)

    def read_body(self):
        """Reads the DATA content up to the lone dot; False when the client left."""
        while True:
            line = self.readline()
            if line is None:
                return False
            if line == b".\r\n":
                return True

    def drain(self):
        """Reads (and logs) until the client closes or stays silent too long."""
        while not self.eof and self._fill():
            pass

    def finish(self):
        """Ends the connection: FIN first, then what the client still sends, then close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.drain()
        try:
            self.sock.close()
        except OSError:
            pass
        self.log.close()


def ehlo_reply(caps):
    lines = [HOSTNAME + " greets you"] + list(caps)
    out = b""
    for i, text in enumerate(lines):
        sep = "-" if i + 1 < len(lines) else " "
        out += ("250" + sep + text + "\r\n").encode()
    return out


STOP = "stop"


def h_ehlo(caps):
    return lambda c, line: c.reply(ehlo_reply(caps))


def h_helo(c, line):
    c.reply(b"250 " + HOSTNAME.encode() + b"\r\n")


def h_mail(c, line):
    c.reply(b"250 2.1.0 Ok\r\n")


def h_rcpt(c, line):
    c.rcpts += 1
    c.reply(b"250 2.1.5 Ok\r\n")


def h_data(c, line):
    c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
    if not c.read_body():
        return STOP
    c.reply(b"250 2.0.0 Ok: queued as FAKE42\r\n")
    return None


def h_rset(c, line):
    c.reply(b"250 2.0.0 Ok\r\n")


def h_noop(c, line):
    c.reply(b"250 2.0.0 Ok\r\n")


def h_auth(c, line):
    c.reply(b"235 2.7.0 Authentication successful\r\n")


def h_quit(c, line):
    c.reply(b"221 2.0.0 Bye\r\n")
    return STOP


def serve(c, caps=("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"), greeting=GREETING,
          **over):
    """A plausible server; over maps a verb ("RCPT") to a handler(c, line) that
    replaces the default and may return STOP to end the dialogue."""
    handlers = {
        "EHLO": h_ehlo(caps), "HELO": h_helo, "MAIL": h_mail, "RCPT": h_rcpt,
        "DATA": h_data, "RSET": h_rset, "NOOP": h_noop, "AUTH": h_auth, "QUIT": h_quit,
    }
    handlers.update(over)
    if greeting:
        c.reply(greeting)
    while True:
        line = c.readline()
        if line is None:
            return
        verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
        h = handlers.get(verb)
        if h is None:
            c.reply(b"502 5.5.2 Error: command not recognized\r\n")
            continue
        if h(c, line) == STOP:
            return


def wait_line(c):
    return c.readline()


# ---- scenarios ----

def garbage_greeting(c):
    c.send(b"HTTP/1.1 400 Bad Request\r\n")
    c.drain()


def endless_line(c):
    c.send(GREETING)
    wait_line(c)
    c.send(b"250-" + b"x" * (100 * 1024))
    c.drain()


def too_many_lines(c):
    c.send(GREETING)
    wait_line(c)
    c.send(b"250-" + HOSTNAME.encode() + b"\r\n" + b"250-X\r\n" * 10000 + b"250 end\r\n")
    c.drain()


def bad_code(c):
    c.send(b"2x0 hi\r\n")
    c.drain()


def mixed_codes(c):
    c.send(GREETING)
    wait_line(c)
    c.send(b"250-a\r\n251 b\r\n")
    c.drain()


def drop_in_reply(c):
    c.send(GREETING)
    wait_line(c)
    c.send(b"250-" + HOSTNAME.encode() + b"\r\n250-PIPEL")
    # finish(): FIN now, so the client sees the end in the middle of the reply


def drop_after_data(c):
    def data(c, line):
        c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        c.read_body()
        return STOP
    serve(c, caps=("ENHANCEDSTATUSCODES",), DATA=data)


def stall_greeting(c):
    c.drain()


def stall_data(c):
    def data(c, line):
        c.drain()
        return STOP
    serve(c, caps=("ENHANCEDSTATUSCODES",), DATA=data)


def starttls_injection(c):
    def starttls(c, line):
        c.send(b"220 go ahead\r\n250 injected\r\n")
        c.drain()
        return STOP
    serve(c, caps=("PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"), STARTTLS=starttls)


def no_starttls(c):
    serve(c, caps=("PIPELINING", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES"))


def greeting_554(c):
    c.send(b"554 5.3.2 No service\r\n")
    while True:
        line = c.readline()
        if line is None:
            return
        if line.upper().startswith(b"QUIT"):
            c.send(b"221 2.0.0 Bye\r\n")
            return
        c.send(b"503 5.5.1 No service here\r\n")


def shutdown_421(c):
    def rcpt(c, line):
        c.reply(b"421 4.3.2 Shutting down\r\n")
        return STOP
    serve(c, caps=("ENHANCEDSTATUSCODES", "8BITMIME"), RCPT=rcpt)


def reply_without_command(c):
    def ehlo(c, line):
        c.send(ehlo_reply(("ENHANCEDSTATUSCODES",)) + b"250 surprise\r\n")
    serve(c, EHLO=ehlo)


def helo_fallback(c):
    def ehlo(c, line):
        c.reply(b"502 5.5.1 Unrecognized command\r\n")
    serve(c, EHLO=ehlo)


def lockstep(c):
    c.lockstep = True
    serve(c, caps=("8BITMIME", "SIZE 10240000", "ENHANCEDSTATUSCODES"))


def pipelining_bytewise(c):
    c.bytewise = True
    serve(c, caps=("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"))


def pipelining_burst(c):
    def hold(reply):
        def h(c, line):
            c.held += reply
        return h

    def data(c, line):
        # the whole MAIL/RCPT/.../DATA group arrived: all its replies in one send
        c.send(c.held + b"354 End data with <CR><LF>.<CR><LF>\r\n")
        c.held = b""
        if not c.read_body():
            return STOP
        c.reply(b"250 2.0.0 Ok: queued as FAKE42\r\n")
        return None
    serve(c, MAIL=hold(b"250 2.1.0 Ok\r\n"), RCPT=hold(b"250 2.1.5 Ok\r\n"), DATA=data)


def midgroup_4xx(c):
    def rcpt(c, line):
        c.rcpts += 1
        if c.rcpts == 2:
            c.reply(b"450 4.2.1 busy\r\n")
        else:
            c.reply(b"250 2.1.5 Ok\r\n")
    serve(c, RCPT=rcpt)


def stall_tls(c):
    def starttls(c, line):
        c.reply(b"220 Ready\r\n")
        c.drain()  # reads (and logs) the ClientHello, never answers it
        return STOP
    serve(c, caps=("PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"), STARTTLS=starttls)


def stall_body_reply(c):
    def data(c, line):
        c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        if c.read_body():
            c.drain()  # the body is in; its final reply never comes
        return STOP
    serve(c, caps=("ENHANCEDSTATUSCODES", "8BITMIME"), DATA=data)


def drop_mid_reply_rcpt(c):
    def rcpt(c, line):
        c.send(b"250 2.1")
        return STOP  # finish(): FIN in the middle of the RCPT reply
    serve(c, RCPT=rcpt)


def huge_multiline_then_ok(c):
    # 120 lines in all (the client's bound is 128): the greeting line and 119
    # short keywords, the last one "XK119"
    def ehlo(c, line):
        c.reply(ehlo_reply(["XK%d" % i for i in range(1, 120)]))
    serve(c, EHLO=ehlo)


def nul_in_reply(c):
    serve(c, greeting=b"220 hello\0world\r\n")


# ---- a drop or a 421 at any point of the dialogue: fault_<point>_<kind> ----
# point: greeting, ehlo, mail, rcpt1, rcpt2, data, body (instead of the final reply),
# quit; kind: drop (FIN without a reply) or 421. Lock-step server (no PIPELINING),
# so each point is one command; a body fault waits for the whole content first.

FAULT_POINTS = ("greeting", "ehlo", "mail", "rcpt1", "rcpt2", "data", "body", "quit")
REPLY_421 = b"421 4.3.2 Service shutting down\r\n"


def fault_at(point, kind):
    def fault(c):
        if kind == "421":
            c.send(REPLY_421)
        return STOP

    def at(name, normal):
        return lambda c, line: fault(c) if point == name else normal(c, line)

    def rcpt(c, line):
        if point == "rcpt%d" % (c.rcpts + 1):
            return fault(c)
        return h_rcpt(c, line)

    def data(c, line):
        if point == "data":
            return fault(c)
        c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        if not c.read_body():
            return STOP
        if point == "body":
            return fault(c)
        c.reply(b"250 2.0.0 Ok: queued as FAKE42\r\n")
        return None

    def scenario(c):
        if point == "greeting":
            fault(c)
            return
        serve(c, caps=("ENHANCEDSTATUSCODES", "8BITMIME"),
              EHLO=at("ehlo", h_ehlo(("ENHANCEDSTATUSCODES", "8BITMIME"))),
              MAIL=at("mail", h_mail), RCPT=rcpt, DATA=data, QUIT=at("quit", h_quit))
    scenario.__name__ = "fault_%s_%s" % (point, kind)
    return scenario


FAULTS = [fault_at(p, k) for p in FAULT_POINTS for k in ("drop", "421")]


def smuggled_rcpt_reply(c):
    """A bare LF inside a reply: "250 Ok\\n550 smuggled" must not become two replies."""
    def rcpt(c, line):
        c.send(b"250 2.1.5 Ok\n550 5.1.1 smuggled\r\n")
    serve(c, caps=("ENHANCEDSTATUSCODES", "8BITMIME"), RCPT=rcpt)


def stray_reply_with_greeting(c):
    """A stray 250 in the greeting's packet: it answers no command written."""
    c.send(GREETING + b"250 stray\r\n")
    serve(c, greeting=None)


def data_250(c):
    """DATA answered 250 instead of 354 (RFC 5321 4.3.2 allows 354, 4xx, 5xx)."""
    serve(c, caps=("ENHANCEDSTATUSCODES", "8BITMIME"),
          DATA=lambda c, line: c.reply(b"250 2.0.0 Ok\r\n"))


# ---- ESMTP extension scenarios (tests/integration/it_ext.c) ----
# These log line by line, each client line prefixed with its connection number
# ("1> MAIL FROM:<...>"), BDAT payloads not logged but stored to PORTFILE.data.

class LineConn(Conn):
    """A Conn that logs whole client lines with the connection number instead of
    raw bytes, and reads BDAT payloads without logging them."""

    number = 1
    datapath = None

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self):
        line = Conn.readline(self)
        if line is not None:
            self.log.write(b"%d> " % self.number + line)
        return line

    def read_exact(self, n, out):
        """Reads n payload octets into the file out; False when the client left."""
        while n > 0:
            if not self.buf and (self.eof or not self._fill()):
                return False
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            out.write(take)
            n -= len(take)
        return True


def limits(c):
    """RFC 9422 LIMITS: RCPTMAX=50 MAILMAX=2; accepts everything, notes violations."""
    c.mails = 0

    def mail(c, line):
        c.mails += 1
        c.rcpts = 0
        if c.mails > 2:
            c.note("VIOLATION: MAIL number %d on connection %d (MAILMAX=2)"
                   % (c.mails, c.number))
        c.reply(b"250 2.1.0 Ok\r\n")

    def rcpt(c, line):
        c.rcpts += 1
        if c.rcpts > 50:
            c.note("VIOLATION: RCPT number %d in one transaction (RCPTMAX=50)" % c.rcpts)
        c.reply(b"250 2.1.5 Ok\r\n")
    serve(c, caps=("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME",
                   "LIMITS RCPTMAX=50 MAILMAX=2"), MAIL=mail, RCPT=rcpt)


def bdat_server(c, caps, refuse_chunk=0):
    """CHUNKING (RFC 3030): stores each transaction's payload to PORTFILE.data;
    refuse_chunk N > 0 answers the N-th chunk with 554."""
    state = {"out": None, "chunks": 0, "failed": False}

    def reset():
        if state["out"]:
            state["out"].close()
        state["out"] = open(c.datapath, "wb")
        state["chunks"] = 0
        state["failed"] = False

    def mail(c, line):
        reset()
        c.reply(b"250 2.1.0 Ok\r\n")

    def bdat(c, line):
        parts = line.split()
        try:
            size = int(parts[1])
        except (IndexError, ValueError):
            c.reply(b"501 5.5.4 Syntax: BDAT size [LAST]\r\n")
            return None
        last = len(parts) > 2 and parts[2].upper() == b"LAST"
        if state["out"] is None:
            reset()
        if not c.read_exact(size, state["out"]):
            return STOP
        state["chunks"] += 1
        c.log.write(b"#payload %d octets\n" % size)
        if state["failed"]:
            c.reply(b"503 5.5.1 Error: transaction already failed\r\n")
        elif refuse_chunk and state["chunks"] == refuse_chunk:
            state["failed"] = True
            c.reply(b"554 5.6.0 Chunk refused\r\n")
        elif last:
            state["out"].flush()
            c.reply(b"250 2.0.0 Ok: queued as FAKE42\r\n")
        else:
            c.reply(b"250 2.0.0 %d octets received\r\n" % size)
        return None

    def rset(c, line):
        state["failed"] = False
        c.reply(b"250 2.0.0 Ok\r\n")
    try:
        serve(c, caps=caps, MAIL=mail, BDAT=bdat, RSET=rset)
    finally:
        if state["out"]:
            state["out"].close()


def bdat_binary(c):
    bdat_server(c, ("PIPELINING", "CHUNKING", "BINARYMIME", "8BITMIME", "SIZE 52428800",
                    "ENHANCEDSTATUSCODES"))


def bdat_refuse(c):
    # no PIPELINING: the client must wait for each chunk's reply (RFC 3030 4)
    c.lockstep = True
    bdat_server(c, ("CHUNKING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES"),
                refuse_chunk=2)


def lmtp_mixed(c):
    """LMTP (RFC 2033): after the dot, one reply per accepted recipient: 250, 452, 552."""
    def data(c, line):
        c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        if not c.read_body():
            return STOP
        c.reply(b"250 2.1.5 <one@example.org> delivered\r\n"
                b"452 4.2.2 <two@example.org> mailbox full, try later\r\n"
                b"552 5.2.2 <three@example.org> over quota\r\n")
        return None
    serve(c, caps=("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"),
          LHLO=h_ehlo(("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME")), DATA=data)


# scenario -> (connections served one after another, connection class)
CONN_SETUP = {
    "limits": (3, LineConn),
    "bdat_binary": (1, LineConn),
    "bdat_refuse": (1, LineConn),
}
NEXT_ACCEPT_TIMEOUT = 3  # seconds to wait for a further connection


SCENARIOS = {f.__name__: f for f in (
    garbage_greeting, endless_line, too_many_lines, bad_code, mixed_codes,
    drop_in_reply, drop_after_data, stall_greeting, stall_data, starttls_injection,
    no_starttls, greeting_554, shutdown_421, reply_without_command, helo_fallback,
    lockstep, pipelining_bytewise, pipelining_burst, midgroup_4xx, stall_tls,
    stall_body_reply, drop_mid_reply_rcpt, huge_multiline_then_ok, nul_in_reply,
    limits, bdat_binary, bdat_refuse, lmtp_mixed, smuggled_rcpt_reply,
    stray_reply_with_greeting, data_250)}
SCENARIOS.update({f.__name__: f for f in FAULTS})


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.stderr.write("usage: fake_server.py SCENARIO PORTFILE\nscenarios: %s\n"
                         % " ".join(sorted(SCENARIOS)))
        return 2
    scenario, portfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGALRM, lambda *a: os._exit(3))
    signal.alarm(HARD_TIMEOUT)

    logpath = portfile + ".log"
    open(logpath, "wb").close()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, portfile)

    if scenario in CONN_SETUP:
        return serve_several(srv, scenario, portfile, logpath)
    srv.settimeout(ACCEPT_TIMEOUT)
    try:
        sock, _ = srv.accept()
    except OSError:
        return 1
    srv.close()
    sock.settimeout(READ_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(sock, logpath)
    try:
        SCENARIOS[scenario](c)
    except Exception as ex:  # noqa: BLE001 - a test helper reports, never crashes
        c.note("ERROR %r" % (ex,))
    finally:
        c.finish()
    return 0


def serve_several(srv, scenario, portfile, logpath):
    """CONN_SETUP scenarios: up to N connections one after another, each numbered."""
    count, cls = CONN_SETUP[scenario]
    srv.settimeout(ACCEPT_TIMEOUT)
    for number in range(1, count + 1):
        try:
            sock, _ = srv.accept()
        except OSError:
            break
        sock.settimeout(READ_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = cls(sock, logpath)
        c.number = number
        c.datapath = portfile + ".data"
        c.note("CONNECTION %d" % number)
        try:
            SCENARIOS[scenario](c)
        except Exception as ex:  # noqa: BLE001 - a test helper reports, never crashes
            c.note("ERROR %r" % (ex,))
        finally:
            c.finish()
        srv.settimeout(NEXT_ACCEPT_TIMEOUT)
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

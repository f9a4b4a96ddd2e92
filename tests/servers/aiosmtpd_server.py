#!/usr/bin/python3
"""aiosmtpd test server for the libsmtp integration tests.

Run it through aiosmtpd.sh (which picks the run directory and waits for it); run by
hand: /usr/bin/python3 aiosmtpd_server.py --rundir DIR [options]. Debian's python3 has
aiosmtpd (package python3-aiosmtpd); another interpreter on PATH may not.

It binds 127.0.0.1 (or ::1 with --ipv6) on --port (0: any free port), then writes the
port it got to RUNDIR/aiosmtpd.port. Every accepted message is saved as
RUNDIR/aiosmtpd/NNNN.json (envelope) and RUNDIR/aiosmtpd/NNNN.eml (content bytes as
received, CRLF, dot-unstuffed), the .eml renamed into place last.

Scripted rejections (by local part, case-insensitive):
  MAIL FROM blocked@...  -> 553 5.7.1 Sender rejected
  RCPT TO   unknown@...  -> 550 5.1.1 User unknown
  RCPT TO   later@...    -> 451 4.7.1 Try again later
  RCPT TO   full@...     -> 452 4.2.2 Mailbox full
  header "X-Test-Reject: 554" in the message header -> 554 5.6.0 Content rejected
  header "X-Test-Reject: 451" in the message header -> 451 4.3.0 Temporary failure

Greylisting and throttling (for the pool and worker tests):
  --greylist SECONDS         RCPT of a (client address, sender, recipient) triplet
                             first seen less than SECONDS ago -> 451 4.7.1
                             Greylisted; accepted once SECONDS have passed
  --greylist-only PREFIX     greylist only recipients whose local part starts
                             with PREFIX (case-insensitive)
  --throttle-every N         every Nth MAIL (counted over all connections) ->
                             454 4.7.0 Throttling failure: Maximum sending rate
                             exceeded (Amazon SES's wording)
  Each such reply is logged as "greylisted ..." or "throttled ...".

Extra SASL mechanisms (aiosmtpd has PLAIN and LOGIN built in):
  --auth-oauthbearer TOKEN   OAUTHBEARER (RFC 7628) for --auth-user with this bearer
                             token; a wrong token gets the RFC 7628 3.2.2 error
                             challenge (JSON, status "invalid_token"), then, after the
                             client's %x01, 535 5.7.8
  --auth-external            EXTERNAL (RFC 4422 appendix A) with the TLS client
                             certificate: needs --tls-client-ca (the CA that verifies
                             it); the identity is the certificate's CN, and an
                             authorization identity sent by the client must equal it
"""

import argparse
import asyncio
import base64
import binascii
import json
import logging
import os
import re
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

log = logging.getLogger("aiosmtpd_server")

RCPT_REJECT = {
    "unknown": "550 5.1.1 User unknown",
    "later": "451 4.7.1 Try again later",
    "full": "452 4.2.2 Mailbox full",
}
CONTENT_REJECT = {
    "554": "554 5.6.0 Content rejected",
    "451": "451 4.3.0 Temporary failure",
}
REJECT_HEADER = re.compile(rb"^x-test-reject:[ \t]*([0-9]{3})[ \t]*\r?$", re.I | re.M)


def local_part(address):
    address = address or ""
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address.rpartition("@")[0].lower() if "@" in address else address.lower()


def header_section(content):
    """The message header: everything before the first empty line."""
    m = re.search(rb"\r?\n\r?\n", content)
    return content[: m.start() + 1] if m else content


def decode_initial_response(arg):
    """The base64 initial response of an AUTH line ("=" is empty), or None if invalid."""
    if arg == "=":
        return b""
    try:
        return base64.b64decode(arg, validate=True)
    except binascii.Error:
        return None


def saslname_decode(name):
    """RFC 5801 4 saslname: "=2C" is ",", "=3D" is "="; None if malformed."""
    if re.search(r"=(?!2C|3D)", name) or "," in name:
        return None
    return name.replace("=2C", ",").replace("=3D", "=")


def parse_oauthbearer(msg):
    """RFC 7628 3.1 client response -> (authzid or None, {key: value}), or None."""
    try:
        text = msg.decode("utf-8")
    except UnicodeDecodeError:
        return None
    gs2, sep, rest = text.partition("\x01")
    if not sep or not rest.endswith("\x01\x01"):
        return None
    parts = gs2.split(",")
    if len(parts) != 3 or parts[0] not in ("n", "y") or parts[2] != "":
        return None
    authzid = None
    if parts[1]:
        if not parts[1].startswith("a="):
            return None
        authzid = saslname_decode(parts[1][2:])
        if not authzid:
            return None
    kv = {}
    for pair in rest[:-2].split("\x01"):
        key, eq, value = pair.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z]+", key):
            return None
        kv[key] = value
    return authzid, kv


def cert_cn(cert):
    """The commonName of a certificate dict as ssl.getpeercert() returns it."""
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class Handler:
    def __init__(self, outdir, offer_auth, auth_user=None, oauth_token=None,
                 greylist=None, greylist_only="", throttle_every=0):
        self.outdir = outdir
        self.greylist = greylist            # seconds, or None
        self.greylist_only = greylist_only.lower()
        self.grey_seen = {}                 # (client, sender, rcpt) -> first seen
        self.throttle_every = throttle_every
        self.mail_count = 0
        self.offer_auth = offer_auth
        # no attribute may start with "auth_": aiosmtpd would offer it as a mechanism
        self.login_user = auth_user
        self.bearer_token = oauth_token
        os.makedirs(outdir, exist_ok=True)
        # continue after the records of an earlier run in the same RUNDIR
        self.count = max([int(m.group(1)) for m in
                          (re.match(r"^(\d+)\.(eml|json)$", f) for f in os.listdir(outdir))
                          if m] or [0])

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # this hook's contract: the hook sets it
        if not self.offer_auth:
            # without credentials there is no mechanism: drop aiosmtpd's bare "AUTH"
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    # Extra mechanisms: aiosmtpd offers every auth_NAME method of the handler (main()
    # excludes those not configured) and calls it as auth_NAME(server, args) with
    # args = ["NAME"] or ["NAME", initial-response].

    async def auth_OAUTHBEARER(self, server, args):
        if len(args) > 1:
            msg = decode_initial_response(args[1])
            if msg is None:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            msg = await server.challenge_auth("")
            if msg is MISSING:
                return AuthResult(success=False, handled=True)
        parsed = parse_oauthbearer(msg)
        if parsed is None:
            log.info("AUTH OAUTHBEARER: malformed client response")
            await server.push("501 5.5.2 Malformed OAUTHBEARER client response")
            return AuthResult(success=False, handled=True)
        authzid, kv = parsed
        auth = kv.get("auth", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else None
        user = authzid or self.login_user
        ok = token is not None and token == self.bearer_token and user == self.login_user
        log.info("AUTH OAUTHBEARER %s (host=%s port=%s): %s", user, kv.get("host"),
                 kv.get("port"), "ok" if ok else "failed")
        if ok:
            server.session.test_auth_mechanism = "OAUTHBEARER"
            server.session.test_auth_user = user
            return AuthResult(success=True, auth_data=user)
        # RFC 7628 3.2.2: the error is a challenge; the client answers it with a
        # single %x01 (3.2.3), and only then does the server fail the exchange.
        error = json.dumps({
            "status": "invalid_token",
            "scope": "mail",
            "openid-configuration":
                "https://auth.example.test/.well-known/openid-configuration",
        })
        answer = await server.challenge_auth(error)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        if answer != b"\x01":
            log.info("AUTH OAUTHBEARER: the client answered the error with %r", answer)
            await server.push("501 5.5.2 Expected %x01 after the error challenge")
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False)  # 535 5.7.8

    async def auth_EXTERNAL(self, server, args):
        if len(args) > 1:
            authzid = decode_initial_response(args[1])
            if authzid is None:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            authzid = await server.challenge_auth("")
            if authzid is MISSING:
                return AuthResult(success=False, handled=True)
        ssl_info = server.session.ssl or {}
        # with CERT_OPTIONAL, a certificate is present only when it verified
        cert = ssl_info.get("peercert") or None
        cn = cert_cn(cert) if cert else None
        try:
            authzid = authzid.decode("utf-8")
        except UnicodeDecodeError:
            authzid = None
        ok = bool(cn) and authzid is not None and authzid in ("", cn)
        log.info("AUTH EXTERNAL cert CN %s authzid %r: %s", cn, authzid,
                 "ok" if ok else "failed")
        if ok:
            server.session.test_auth_mechanism = "EXTERNAL"
            server.session.test_auth_user = cn
            return AuthResult(success=True, auth_data=cn)
        return AuthResult(success=False, handled=False)  # 535 5.7.8

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if local_part(address) == "blocked":
            return "553 5.7.1 Sender rejected"
        self.mail_count += 1
        if self.throttle_every and self.mail_count % self.throttle_every == 0:
            log.info("throttled MAIL %d from %s", self.mail_count, address)
            return "454 4.7.0 Throttling failure: Maximum sending rate exceeded"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.test_rcpt_options = []
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = RCPT_REJECT.get(local_part(address))
        if reply:
            return reply
        if self.greylist is not None and local_part(address).startswith(self.greylist_only):
            key = (session.peer[0], (envelope.mail_from or "").lower(), address.lower())
            now = time.monotonic()
            first = self.grey_seen.setdefault(key, now)
            if now - first < self.greylist:
                log.info("greylisted %s from %s (%s)", address, envelope.mail_from,
                         session.peer[0])
                return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        if not hasattr(envelope, "test_rcpt_options"):
            envelope.test_rcpt_options = []
        envelope.test_rcpt_options.append(list(rcpt_options))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if not isinstance(content, (bytes, bytearray)):
            content = envelope.content.encode("utf-8", "surrogateescape")
        content = bytes(content)
        m = REJECT_HEADER.search(header_section(content))
        if m:
            reply = CONTENT_REJECT.get(m.group(1).decode())
            if reply:
                return reply
        self.count += 1
        base = os.path.join(self.outdir, "%04d" % self.count)
        auth = session.auth_data
        record = {
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": getattr(envelope, "test_rcpt_options", []),
            "auth_user": auth.login.decode("utf-8", "replace")
            if isinstance(auth, LoginPassword)
            else getattr(session, "test_auth_user", None) if session.authenticated else None,
            "auth_method": getattr(session, "test_auth_mechanism", None)
            if session.authenticated else None,
            "tls": session.ssl is not None,
            "smtputf8": bool(envelope.smtp_utf8),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, ensure_ascii=False)
            f.write("\n")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.replace(base + ".json.tmp", base + ".json")
        os.replace(base + ".eml.tmp", base + ".eml")
        log.info("saved %s.eml from %s to %s", base, envelope.mail_from, envelope.rcpt_tos)
        return "250 2.0.0 OK queued as %04d" % self.count


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        log.info("AUTH %s %s: %s", mechanism,
                 getattr(auth_data, "login", b"?").decode("utf-8", "replace"),
                 "ok" if ok else "failed")
        if ok:
            session.test_auth_mechanism = mechanism
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: let aiosmtpd send "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rundir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ipv6", action="store_true", help="bind ::1 instead of 127.0.0.1")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--auth-oauthbearer", metavar="TOKEN",
                   help="offer OAUTHBEARER for --auth-user with this bearer token")
    p.add_argument("--auth-external", action="store_true",
                   help="offer EXTERNAL with the TLS client certificate (--tls-client-ca)")
    p.add_argument("--tls-client-ca", metavar="F",
                   help="request a client certificate on STARTTLS, verified against F")
    p.add_argument("--auth-require-tls", action="store_true",
                   help="offer AUTH only after STARTTLS (aiosmtpd's own default; "
                        "without this flag AUTH is offered in clear text too)")
    p.add_argument("--auth-required", action="store_true",
                   help="refuse MAIL/RCPT/DATA before AUTH (530)")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--size", type=int, default=None,
                   help="data_size_limit; 0 = no limit (default: aiosmtpd's 32 MiB)")
    p.add_argument("--hostname", default="aiosmtpd.test")
    p.add_argument("--greylist", type=float, metavar="SECONDS",
                   help="451 4.7.1 to a triplet first seen less than SECONDS ago")
    p.add_argument("--greylist-only", default="", metavar="PREFIX",
                   help="greylist only recipients whose local part starts with PREFIX")
    p.add_argument("--throttle-every", type=int, default=0, metavar="N",
                   help="454 4.7.0 Throttling failure to every Nth MAIL")
    args = p.parse_args()

    logging.basicConfig(level=logging.DEBUG if os.environ.get("AIOSMTPD_DEBUG") else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)

    tls_context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            p.error("--tls-cert and --tls-key go together")
        if args.tls_client_ca:
            # not create_default_context(CLIENT_AUTH): that would trust the system's
            # CAs for client certificates too
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_verify_locations(cafile=args.tls_client_ca)
            tls_context.verify_mode = ssl.CERT_OPTIONAL
        else:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.require_starttls and not tls_context:
        p.error("--require-starttls needs --tls-cert/--tls-key")
    if args.tls_client_ca and not tls_context:
        p.error("--tls-client-ca needs --tls-cert/--tls-key")
    if args.auth_external and not args.tls_client_ca:
        p.error("--auth-external needs --tls-client-ca")
    if args.auth_password is not None and not args.auth_user:
        p.error("--auth-password needs --auth-user")
    if args.auth_oauthbearer is not None and not args.auth_user:
        p.error("--auth-oauthbearer needs --auth-user")
    if args.auth_user and args.auth_password is None and args.auth_oauthbearer is None:
        p.error("--auth-user needs --auth-password or --auth-oauthbearer")

    mechanisms = []  # offered beyond aiosmtpd's built-in PLAIN and LOGIN
    if args.auth_oauthbearer is not None:
        mechanisms.append("OAUTHBEARER")
    if args.auth_external:
        mechanisms.append("EXTERNAL")
    offer_auth = args.auth_password is not None or bool(mechanisms)
    handler = Handler(os.path.join(args.rundir, "aiosmtpd"), offer_auth,
                      auth_user=args.auth_user, oauth_token=args.auth_oauthbearer,
                      greylist=args.greylist, greylist_only=args.greylist_only,
                      throttle_every=args.throttle_every)
    kwargs = dict(
        decode_data=False,  # keep the content as bytes, exactly as received
        enable_SMTPUTF8=args.smtputf8,
        hostname=args.hostname,
        tls_context=tls_context,
        require_starttls=args.require_starttls,
        auth_require_tls=args.auth_require_tls,
        auth_required=args.auth_required,
    )
    if args.size is not None:
        kwargs["data_size_limit"] = args.size or None
    excluded = [m for m in ("OAUTHBEARER", "EXTERNAL") if m not in mechanisms]
    if args.auth_password is not None:
        kwargs["authenticator"] = make_authenticator(args.auth_user, args.auth_password)
    else:
        # no password: no PLAIN/LOGIN (and without any mechanism, no AUTH at all)
        excluded += ["PLAIN", "LOGIN"]
    kwargs["auth_exclude_mechanism"] = excluded

    host = "::1" if args.ipv6 else "127.0.0.1"

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, **kwargs),
                                          host=host, port=args.port, reuse_address=True)
        port = server.sockets[0].getsockname()[1]
        tmp = os.path.join(args.rundir, "aiosmtpd.port.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, os.path.join(args.rundir, "aiosmtpd.port"))
        log.info("listening on [%s]:%d tls=%s auth=%s client-ca=%s", host, port,
                 bool(tls_context), offer_auth, bool(args.tls_client_ca))
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
        server.close()
        await server.wait_closed()

    asyncio.run(run())


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Independent check of a composed message as a server stored it (it_compose.c).

    compose_check.py EXPECT.json MESSAGE [--sink]

MESSAGE is an aiosmtpd .eml (CRLF) or, with --sink, an smtp-sink dump (LF line
ends, which the composer never sends alone: every LF becomes CRLF again; the
sink's own header lines and trailing empty line stay, as any relay's would).

Python's email package (policy=default) parses the message; EXPECT.json says what
it must find:
  "structure":   "multipart/mixed(multipart/alternative(text/plain,text/html),...)"
  "headers":     {"Subject": "decoded value", ...}  (str() of the parsed header)
  "absent":      ["Bcc", ...]                     fields that must not be there
  "addresses":   {"To": [["display name", "addr"], ...]}
  "text", "html": the decoded bodies (line ends compared as LF)
  "parts":       [{"path": "1", "filename": ..., "content_type": ..., "cid": ...,
                   "disposition": "attachment", "file": "bytes to compare"}]
  "dkim":        [{"domain": d, "selector": s, "key": private key PEM file}]
                 every DKIM-Signature must verify with dkimpy, its DNS lookup
                 answered from the public keys of these (no network); then the
                 message is altered (a signed header, then the body) and every
                 signature must fail
  "size":        the SIZE= the client declared, compared with the message length
  "utf8":        true for an SMTPUTF8 message (RFC 6532): parsed from its UTF-8 text
Python 3 from Debian (/usr/bin/python3) with python3-dkim and python3-nacl.
Prints what differs and exits 1, or exits 0.
"""

import base64
import email
import email.policy
import json
import subprocess
import sys

import dkim

failures = []


def fail(what):
    failures.append(what)
    print("compose_check: " + what, file=sys.stderr)


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def at_path(msg, path):
    part = msg
    for i in path.split(".") if path else []:
        part = list(part.iter_parts())[int(i)]
    return part


def dns_record(key_file):
    der = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    kind = subprocess.run(["openssl", "pkey", "-in", key_file, "-noout", "-text"],
                          check=True, capture_output=True).stdout
    if kind.startswith(b"ED25519"):
        # RFC 8463 4.2: p= is the raw 32-octet public key, not SubjectPublicKeyInfo
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:])
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def verify_all(raw, records, quiet=False):
    def dnsfunc(name, timeout=5):
        return records.get(name)

    def verify(i):
        try:
            return d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.ValidationError as e:
            if not quiet:
                print("compose_check: signature %d: %s" % (i, e), file=sys.stderr)
            return False
    d = dkim.DKIM(raw)
    n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    return n, [verify(i) for i in range(n)]


def check_dkim(raw, signers):
    records = {}
    for s in signers:
        name = "%s._domainkey.%s." % (s["selector"], s["domain"])
        records[name.encode()] = dns_record(s["key"])
    n, results = verify_all(raw, records)
    if n != len(signers):
        fail("%d DKIM signatures, expected %d" % (n, len(signers)))
    if not all(results):
        fail("DKIM verification: %r" % results)
    head, sep, body = raw.partition(b"\r\n\r\n")
    # the check must be able to fail: a signed header changed, then the body
    altered_head = head.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
    if altered_head == head:
        fail("no Subject to alter")
    for altered in (altered_head + sep + body, head + sep + b"X" + body):
        _, results = verify_all(altered, records, quiet=True)
        if any(results):
            fail("an altered message still verifies: %r" % results)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        want = json.load(f)
    with open(sys.argv[2], "rb") as f:
        raw = f.read()
    if "--sink" in sys.argv[3:]:
        raw = raw.replace(b"\n", b"\r\n")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    # RFC 6532 header fields: the bytes parser reads them as ASCII, the text parser
    # as UTF-8 (the bodies are read from the bytes)
    fields = msg
    if want.get("utf8"):
        fields = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)

    for part in msg.walk():
        if part.defects:
            fail("parser defects in %s: %r" % (part.get_content_type(), part.defects))
    if "structure" in want and structure(msg) != want["structure"]:
        fail("structure %s, expected %s" % (structure(msg), want["structure"]))
    for name, value in want.get("headers", {}).items():
        if str(fields.get(name)) != value:
            fail("%s: %r, expected %r" % (name, str(fields.get(name)), value))
    for name in want.get("absent", []):
        if name in fields:
            fail("%s is present: %r" % (name, str(fields[name])))
    for name, boxes in want.get("addresses", {}).items():
        got = ([[a.display_name, a.addr_spec] for a in fields[name].addresses]
               if name in fields else [])
        if got != boxes:
            fail("%s addresses %r, expected %r" % (name, got, boxes))
    for kind in ("text", "html"):
        if kind in want:
            body = msg.get_body(preferencelist=("plain",) if kind == "text" else ("html",))
            got = body.get_content().replace("\r\n", "\n") if body else None
            if got != want[kind].replace("\r\n", "\n"):
                fail("%s body %r, expected %r" % (kind, got and got[:200], want[kind][:200]))
    for p in want.get("parts", []):
        part = at_path(msg, p["path"])
        for key, got in (("filename", part.get_filename()),
                         ("content_type", part.get_content_type()),
                         ("cid", part.get("Content-ID")),
                         ("disposition", part.get_content_disposition())):
            if key in p and got != p[key]:
                fail("part %s %s %r, expected %r" % (p["path"], key, got, p[key]))
        if "file" in p:
            with open(p["file"], "rb") as f:
                expected = f.read()
            got = part.get_payload(decode=True)
            if got != expected:
                fail("part %s: %d octets differ from the %d expected" %
                     (p["path"], len(got or b""), len(expected)))
    if "dkim" in want:
        check_dkim(raw, want["dkim"])
    if "size" in want and want["size"] != len(raw):
        fail("SIZE=%d declared, %d octets arrived" % (want["size"], len(raw)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

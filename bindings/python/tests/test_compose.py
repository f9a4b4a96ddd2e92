"""libsmtp.compose through real servers (aiosmtpd; Postfix smtpd + Dovecot SASL,
relaying to smtp-sink), read back from what the server stored by an independent
parser and verifier: Python's email package (policy=default) and dkimpy, whose
DNS lookups tests/integration/compose_check.py answers from the test's own keys."""

import asyncio
import email
import email.headerregistry
import email.policy
import email.utils
import io
import os
import sys
import threading
from typing import Dict, List

import pytest

import libsmtp
from conftest import env, free_port, private_key, url

SUBJECT = ("Grüße aus Köln: a subject long enough to be folded, with ümlauts, € signs "
           "and a second line's worth of words")
TEXT = ("Hallo Jörg,\n\nthis line is long enough to need quoted-printable soft line breaks, "
        "as it runs well past seventy-eight octets.\nA trailing space \n.a leading dot\n"
        "From the start of a line\nEnd.\n")
HTML = '<html><body><p>Hallo J&ouml;rg</p><img src="cid:logo@example.org"></body></html>\n'
STRUCTURE = ("multipart/mixed(multipart/alternative(text/plain,multipart/related("
             "text/html,image/png)),application/pdf,text/csv,application/octet-stream)")


def structure(part) -> str:
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(),
                           ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


@pytest.fixture(scope="module")
def checker():
    """tests/integration/compose_check.py, the C tests' checker, as a module."""
    sys.path.insert(0, os.path.join(env("SMTP_PY_TOP"), "tests", "integration"))
    try:
        import compose_check
    finally:
        sys.path.pop(0)
    return compose_check


@pytest.fixture(scope="module")
def keys(tmp_path_factory, checker) -> Dict[str, object]:
    """An RSA 2048 and an Ed25519 key made now (none is kept in the repository),
    and the DNS TXT records dkimpy gets for them."""
    d = tmp_path_factory.mktemp("dkim")
    paths = {"rsa": private_key(str(d / "rsa.pem"), "RSA"),
             "ed": private_key(str(d / "ed.pem"), "ED25519")}
    # compose_check runs openssl too
    saved = os.environ.pop("LD_PRELOAD", None)
    try:
        records = {f"{sel}._domainkey.example.org.".encode(): checker.dns_record(p)
                   for sel, p in paths.items()}
    finally:
        if saved is not None:
            os.environ["LD_PRELOAD"] = saved
    return {"paths": paths, "records": records}


def signers(keys) -> List[libsmtp.DKIM]:
    with open(keys["paths"]["ed"]) as f:
        ed_pem = f.read()
    return [libsmtp.DKIM("example.org", "ed", key_pem=ed_pem, canon="relaxed/simple"),
            libsmtp.DKIM("example.org", "rsa", key_file=keys["paths"]["rsa"],
                         canon=("simple", "relaxed"))]


def assert_dkim(checker, keys, raw: bytes, count: int = 2) -> None:
    """Every signature verifies; altering a signed header, then the body, breaks
    every one (so the check can fail)."""
    n, results = checker.verify_all(raw, keys["records"])
    assert (n, results) == (count, [True] * count)
    head, sep, body = raw.partition(b"\r\n\r\n")
    altered_head = head.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1)
    assert altered_head != head
    for altered in (altered_head + sep + body, head + sep + b"X" + body):
        assert checker.verify_all(altered, keys["records"], quiet=True)[1] == [False] * count


@pytest.fixture
def files(tmp_path) -> Dict[str, bytes]:
    out = {"pdf": os.urandom(150_000), "csv": os.urandom(70_001), "blob": os.urandom(3),
           "png": b"\x89PNG\r\n\x1a\n" + os.urandom(2000)}
    (tmp_path / "Prüfbericht 2024.pdf").write_bytes(out["pdf"])
    return out


def full_message(tmp_path, files, **extra) -> libsmtp.ComposedMessage:
    csv = io.BytesIO(files["csv"])
    csv.name = os.path.join(str(tmp_path), "daten.csv")
    return libsmtp.compose(
        ("Jörg Müller", "joerg@example.org"),
        [("Bob, the Builder", "bob@example.org"), "carol@example.org"], SUBJECT,
        text=TEXT, html=HTML,
        cc="Dan <dan@example.org>", bcc=["hidden@example.org"],
        reply_to=email.headerregistry.Address("Help Desk", "help", "example.org"),
        headers=[("X-Campaign", "spring, 2024"), ("X-Priority", "3")],
        attachments=[tmp_path / "Prüfbericht 2024.pdf", csv,
                     libsmtp.Attachment(files["blob"], "blob.dat", "application/octet-stream")],
        inline=[libsmtp.Inline(files["png"], "logo@example.org", "image/png")], **extra)


def assert_full(raw: bytes, msg: libsmtp.ComposedMessage, files: Dict[str, bytes]) -> None:
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.defects for p in m.walk() if p.defects] == []
    assert structure(m) == STRUCTURE
    assert str(m["Subject"]) == SUBJECT
    boxes = {name: [(a.display_name, a.addr_spec) for a in m[name].addresses]
             for name in ("From", "To", "Cc", "Reply-To")}
    assert boxes == {"From": [("Jörg Müller", "joerg@example.org")],
                     "To": [("Bob, the Builder", "bob@example.org"), ("", "carol@example.org")],
                     "Cc": [("Dan", "dan@example.org")],
                     "Reply-To": [("Help Desk", "help@example.org")]}
    assert "Bcc" not in m and b"hidden@example.org" not in raw
    assert m["X-Campaign"] == "spring, 2024" and m["X-Priority"] == "3"
    assert m["Message-ID"] == msg.message_id
    assert email.utils.parsedate_to_datetime(m["Date"]) == msg.date.replace(microsecond=0)
    assert m.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert m.get_body(("html",)).get_content().replace("\r\n", "\n") == HTML
    parts = list(m.iter_attachments())
    got = [(p.get_filename(), p.get_content_type(), p.get_content_disposition(),
            p.get_payload(decode=True)) for p in parts]
    assert got == [("Prüfbericht 2024.pdf", "application/pdf", "attachment", files["pdf"]),
                   ("daten.csv", "text/csv", "attachment", files["csv"]),
                   ("blob.dat", "application/octet-stream", "attachment", files["blob"])]
    related = m.get_body(("related",))
    png = list(related.iter_parts())[1]
    assert (png["Content-ID"], png.get_content_disposition(),
            png.get_payload(decode=True)) == ("<logo@example.org>", "inline", files["png"])


ENVELOPE = ["bob@example.org", "carol@example.org", "dan@example.org", "hidden@example.org"]


def aio_record(aio, marker: str) -> Dict[str, object]:
    """The aiosmtpd record whose content holds marker (the Message-ID)."""
    for i in range(aio.count()):
        rec = aio.record(i)
        if marker.encode() in rec["content"]:
            return rec
    pytest.fail(f"aiosmtpd stored no message with {marker}")


def sink_record(sink, marker: str) -> bytes:
    """The smtp-sink dump holding marker, its LF line ends made CRLF again (the
    composer sends no lone LF)."""
    for dump in sink.dumps():
        if marker.encode() in dump:
            return dump.replace(b"\n", b"\r\n")
    pytest.fail(f"smtp-sink stored no message with {marker}")


def sink_content(dump: bytes) -> bytes:
    """The message in a dump of the sink behind Postfix: after the sink's X- lines
    and its Received field, and Postfix's Received field; before the sink's
    added empty line (tests/servers/postfix.sh)."""
    lines = dump.split(b"\r\n")
    i = 0
    while lines[i].startswith(b"X-"):
        i += 1
    for _ in range(2):
        assert lines[i].startswith(b"Received: "), lines[i]
        i += 1
        while lines[i].startswith(b"\t"):
            i += 1
    content = b"\r\n".join(lines[i:])
    assert content.endswith(b"\r\n\r\n")
    return content[:-2]


def test_composed_message_sync_through_aiosmtpd(aio, tmp_path, files):
    msg = full_message(tmp_path, files)
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(msg)
    assert report.sent, report
    assert [r.address for r in report.recipients] == ENVELOPE
    rec = aio_record(aio, msg.message_id)
    assert rec["mail_from"] == "joerg@example.org"
    assert rec["rcpt_tos"] == ENVELOPE  # Bcc: in the envelope only
    # the composer gives the SIZE hint when every part's size is known
    size = [o for o in rec["mail_options"] if o.startswith("SIZE=")]
    assert size == [f"SIZE={len(rec['content'])}"]
    assert_full(rec["content"], msg, files)


def test_composed_messages_async_through_aiosmtpd(aio, tmp_path, files):
    msgs = [full_message(tmp_path, files) for _ in range(3)]

    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            return await asyncio.gather(*(s.send(m) for m in msgs))

    reports = asyncio.run(main())
    assert [r.outcome for r in reports] == ["sent"] * 3
    assert len({m.message_id for m in msgs}) == 3
    for msg in msgs:
        rec = aio_record(aio, msg.message_id)
        assert rec["rcpt_tos"] == ENVELOPE
        assert_full(rec["content"], msg, files)


def test_dkim_rsa_and_ed25519_through_postfix(pf_sink, tmp_path, files, keys, checker,
                                              ca_file, creds):
    msg = full_message(tmp_path, files, dkim=signers(keys))
    with libsmtp.Session(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file, **creds) as s:
        report = s.send(msg)
    assert report.sent, report
    raw = sink_record(pf_sink, msg.message_id)
    rcpts = [line.split(b" ")[1] for line in raw.split(b"\r\n")
             if line.startswith(b"X-Rcpt-Args: ")]
    assert rcpts == [f"<{a}>".encode() for a in ENVELOPE]
    assert_dkim(checker, keys, raw)
    assert_full(sink_content(raw), msg, files)


def test_dkim_async_through_aiosmtpd_and_resent(aio, tmp_path, files, keys, checker):
    """With DKIM the file object is read once, for the body hash, and kept: the
    same message goes again with the same Message-ID and the same octets of
    every part, newly signed."""
    msg = full_message(tmp_path, files, dkim=signers(keys))

    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            first = await s.send(msg)
            second = await s.send(msg)
            return first, second

    assert [r.outcome for r in asyncio.run(main())] == ["sent", "sent"]
    stored = [aio.record(i)["content"] for i in range(aio.count())]
    mine = [c for c in stored if msg.message_id.encode() in c]
    assert len(mine) == 2
    for raw in mine:
        assert_dkim(checker, keys, raw)
        assert_full(raw, msg, files)


def without_signatures(raw: bytes):
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(k, v) for k, v in m.items() if k.lower() != "dkim-signature"], m.get_payload()


def test_rendered_bytes_are_the_sent_message(aio, keys, checker):
    msg = libsmtp.compose("a@example.org", "b@example.org", "rendered", text="Same.\n",
                          dkim=signers(keys)[:1])
    rendered = bytes(msg)
    assert_dkim(checker, keys, rendered, count=1)
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.send(msg).sent
    sent = aio_record(aio, msg.message_id)["content"]
    # Date and Message-ID were fixed by compose(): only the signature (t=) differs
    assert without_signatures(rendered) == without_signatures(sent)
    assert without_signatures(sent)[1] == "Same.\r\n"
    assert ("Message-ID", msg.message_id) in without_signatures(sent)[0]


def test_file_object_without_dkim_is_sent_once(aio):
    data = os.urandom(5000)
    msg = libsmtp.compose("a@example.org", "b@example.org", "once",
                          text="x\n", attachments=[libsmtp.Attachment(io.BytesIO(data), "d.bin")])
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.send(msg).sent
        with pytest.raises(RuntimeError, match="read already"):
            s.send(msg)
        with pytest.raises(RuntimeError, match="read already"):
            bytes(msg)
    m = email.message_from_bytes(aio_record(aio, msg.message_id)["content"],
                                 policy=email.policy.default)
    assert [p.get_payload(decode=True) for p in m.iter_attachments()] == [data]


def test_file_object_retried_after_a_send_that_did_not_read_it(aio):
    msg = libsmtp.compose("a@example.org", "b@example.org", "retry", text="x\n",
                          attachments=[libsmtp.Attachment(io.BytesIO(b"payload"), "p.txt")])
    with libsmtp.Session(f"smtp://127.0.0.1:{free_port()}?tls=none") as s:
        assert s.send(msg).outcome == "deferred"  # connection refused: nothing read
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.send(msg).sent
    assert b"cGF5bG9hZA==" in aio_record(aio, msg.message_id)["content"]


class Broken(io.RawIOBase):
    """A binary file object whose read() fails after its first block."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise OSError(5, "Input/output error")
        return b"x" * n


def test_read_error_raised_by_send_sync(aio):
    before = aio.count()
    msg = libsmtp.compose("a@example.org", "b@example.org", "broken", text="x\n",
                          attachments=[libsmtp.Attachment(Broken(), "broken.bin")])
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        with pytest.raises(OSError, match="Input/output error") as ei:
            s.send(msg)
        if sys.version_info >= (3, 11):
            assert any("attachments[0]" in n for n in ei.value.__notes__)
        # the session goes on: DATA has no abort, the library closed and reconnects
        assert s.send(libsmtp.compose("a@example.org", "b@example.org", "after", text="y\n")).sent
    assert aio.count() == before + 1
    assert b"Subject: after" in aio.record(-1)["content"]


def test_read_error_raised_by_send_async(aio):
    before = aio.count()

    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            bad = libsmtp.compose("a@example.org", "b@example.org", "broken", text="x\n",
                                  attachments=[Broken()])
            good = libsmtp.compose("a@example.org", "b@example.org", "fine", text="y\n")
            return await asyncio.gather(s.send(bad), s.send(good), return_exceptions=True)

    bad, good = asyncio.run(main())
    assert isinstance(bad, OSError) and "Input/output error" in str(bad)
    assert isinstance(good, libsmtp.Report) and good.sent
    assert aio.count() == before + 1


def test_read_error_while_signing_raised_before_sending(aio, keys):
    before = aio.count()
    msg = libsmtp.compose("a@example.org", "b@example.org", "broken signed", text="x\n",
                          attachments=[Broken()], dkim=signers(keys))
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        with pytest.raises(OSError, match="Input/output error"):
            s.send(msg)
        with pytest.raises(RuntimeError, match="read already"):
            s.send(msg)
    assert aio.count() == before


def test_one_message_sent_from_threads_at_once(aio, tmp_path, files):
    msg = libsmtp.compose("a@example.org", "b@example.org", "threads", text="x\n",
                          attachments=[tmp_path / "Prüfbericht 2024.pdf", files["blob"]])
    reports = []

    def send():
        with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            reports.append(s.send(msg))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.outcome for r in reports] == ["sent"] * 4
    stored = [aio.record(i)["content"] for i in range(aio.count())]
    mine = [c for c in stored if msg.message_id.encode() in c]
    assert len(mine) == 4
    for raw in mine:
        m = email.message_from_bytes(raw, policy=email.policy.default)
        assert [p.get_payload(decode=True) for p in m.iter_attachments()] == [
            files["pdf"], files["blob"]]


def test_dkim_signs_raw_bytes(aio, keys, checker):
    raw = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: raw signed\r\n"
           b"Message-ID: <raw-signed@example.org>\r\n\r\nSigned raw body.\r\n")
    signed = signers(keys)[1].sign(raw) + raw
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.send(signed, from_="a@example.org", to="b@example.org").sent
    assert_dkim(checker, keys, aio_record(aio, "raw-signed@example.org")["content"], count=1)


def test_smtputf8_message_through_aiosmtpd(aio):
    msg = libsmtp.compose(("Jörg", "jörg@example.org"), "bücher@example.org", "Ünïcode",
                          text="Grüße\n", utf8=True, allow_8bit=True)
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(msg)
    assert report.sent, report
    rec = aio_record(aio, msg.message_id)
    assert rec["smtputf8"] is True and rec["rcpt_tos"] == ["bücher@example.org"]
    m = email.message_from_string(rec["content"].decode("utf-8"), policy=email.policy.default)
    assert str(m["Subject"]) == "Ünïcode" and m["To"].addresses[0].addr_spec == "bücher@example.org"
    assert rec["content"].endswith("Grüße\r\n".encode())


def test_envelope_override(aio):
    msg = libsmtp.compose("a@example.org", "list@example.org", "override", text="x\n",
                          envelope_from="", envelope_to=["member1@example.org",
                                                         "member2@example.org"])
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.send(msg).sent
        with pytest.raises(ValueError, match="envelope_from"):
            s.send(msg, from_="x@example.org")
        with pytest.raises(ValueError, match="dsn_notify"):
            s.send(msg, dsn_notify="failure")
    rec = aio_record(aio, msg.message_id)
    assert rec["mail_from"] == "" and rec["rcpt_tos"] == ["member1@example.org",
                                                          "member2@example.org"]
    assert b"To: list@example.org\r\n" in rec["content"]

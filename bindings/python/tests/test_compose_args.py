"""libsmtp.compose and libsmtp.DKIM arguments: bad input raises ValueError or
TypeError at once, with the library's reason, and no message is made. No server
is needed."""

import datetime
import email.headerregistry
import email.policy
import gc
import io

import pytest

import libsmtp
from libsmtp._composer import CCompose
from conftest import private_key


def live_composers() -> int:
    gc.collect()
    return len([o for o in gc.get_objects() if isinstance(o, CCompose) and o.ptr is not None])


def ok(**kw):
    args = {"from_": "a@example.org", "to": "b@example.org", "subject": "s", "text": "t\n"}
    args.update(kw)
    return libsmtp.compose(**args)


# (keyword arguments, the argument the message names): each is an injection or
# a value the library refuses (SMTP_EINVAL)
REFUSED = [
    ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
    ({"subject": "Hi\nX-Evil: 1"}, "subject"),
    ({"subject": "Hi\rthere"}, "subject"),
    ({"subject": "x" * 16385}, "subject"),
    ({"headers": {"X-Note": "a\r\nBcc: victim@example.org"}}, "header"),
    ({"headers": {"X-Note\r\nBcc": "victim@example.org"}}, "header"),
    ({"headers": {"X Note": "value"}}, "header"),
    ({"headers": {"X-Note:": "value"}}, "header"),
    ({"headers": [("Bcc", "victim@example.org")]}, "header"),
    ({"headers": [("Content-Type", "text/html")]}, "header"),
    ({"headers": [("DKIM-Signature", "v=1")]}, "header"),
    ({"from_": "a@example.org>\r\nRCPT TO:<victim@example.org"}, "from"),
    ({"from_": ("Alice\r\nBcc: victim@example.org", "a@example.org")}, "from"),
    ({"from_": "not an address"}, "from"),
    ({"to": ["b@example.org", "c@"]}, "to"),
    ({"to": ("Bob", "bob@example.org")}, "to 'Bob'"),  # a tuple is a list of addresses
    ({"cc": "c" * 65 + "@example.org"}, "cc"),
    ({"bcc": "d@example.org\nRCPT TO:<victim@example.org>"}, "bcc"),
    ({"reply_to": [("Help\n", "help@example.org")]}, "reply_to"),
    ({"sender": "s@exa mple.org"}, "sender"),
    ({"message_id": "<id@example.org>\r\nBcc: v@example.org"}, "message_id"),
    ({"message_id": "no-at-sign"}, "message_id"),
    ({"in_reply_to": "x@y\nz"}, "in_reply_to"),
    ({"references": ["<a@example.org>", "b@example.org\r\n"]}, "references"),
    ({"envelope_from": "a@example.org\r\nRSET"}, "envelope_from"),
    ({"envelope_to": ["e@example.org\r\nDATA"]}, "envelope_to"),
    ({"attachments": [libsmtp.Attachment(b"x", "a\r\nContent-Type: text/html")]},
     "attachments[0]"),
    ({"attachments": [libsmtp.Attachment(b"x", "a.txt", "text/plain\r\nX-Evil: 1")]},
     "attachments[0]"),
    ({"attachments": [libsmtp.Attachment(b"x", "a.txt", "multipart/mixed")]}, "attachments[0]"),
    ({"attachments": ["/nonexistent/file.pdf"]}, "attachments[0]"),
    ({"inline": [libsmtp.Inline(b"x", "logo\r\n@example.org", "image/png")]}, "inline[0]"),
    ({"date": datetime.datetime(1969, 12, 31, tzinfo=datetime.timezone.utc)}, "date"),
]


@pytest.mark.parametrize("kw,what", REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_refused_at_once_and_nothing_made(kw, what):
    before = live_composers()
    with pytest.raises(ValueError) as ei:
        ok(**kw)
    text = str(ei.value)
    assert text.startswith(what), text
    assert "SMTP_EINVAL" in text and "invalid argument" in text, text
    assert live_composers() == before


@pytest.mark.parametrize("kw", [
    {"subject": "a\0b"}, {"text": "body\0"}, {"headers": {"X-A": "\0"}},
    {"from_": "a@example.org\0b"}, {"subject": "\udcff"},
])
def test_what_a_c_string_cannot_carry(kw):
    with pytest.raises(ValueError, match="NUL|not valid Unicode"):
        ok(**kw)


@pytest.mark.parametrize("kw", [
    {"to": 42}, {"to": b"b@example.org"}, {"from_": ["a@example.org"]},
    {"subject": b"bytes"}, {"attachments": [3.14]}, {"inline": [b"bytes without cid"]},
    {"attachments": [io.StringIO("text mode")]}, {"headers": ["X-A: b"]},
    {"dkim": ["not a signer"]}, {"date": "2024-01-01"}, {"utf8": 1},
])
def test_wrong_types(kw):
    with pytest.raises(TypeError):
        ok(**kw)


def test_no_recipients():
    with pytest.raises(ValueError, match="no recipients"):
        libsmtp.compose("a@example.org", [], "s", text="t")


def test_tab_in_a_subject_is_allowed_and_folded():
    raw = bytes(ok(subject="a\tb " + "word " * 40))
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(m["Subject"]).startswith("a\tb word")


def test_date_and_message_id_fixed_by_compose():
    when = datetime.datetime(2024, 2, 29, 13, 30, 5,
                             tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
    msg = ok(date=when, message_id="fixed@example.org")
    assert msg.message_id == "<fixed@example.org>" and msg.date == when
    first, second = bytes(msg), bytes(msg)
    for raw in (first, second):
        assert b"\r\nDate: Thu, 29 Feb 2024 13:30:05 +0530\r\n" in raw
        assert b"\r\nMessage-ID: <fixed@example.org>\r\n" in raw
    made = ok()
    assert made.message_id.endswith("@example.org>") and made.date.tzinfo is not None
    ids = {email.message_from_bytes(bytes(made))["Message-ID"] for _ in range(3)}
    assert ids == {made.message_id}
    assert ok().message_id != made.message_id
    with pytest.raises(ValueError, match="whole minutes"):
        ok(date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(
            datetime.timedelta(seconds=30))))


def test_message_id_of_an_idn_and_of_an_address_literal():
    assert ok(from_="a@bücher.example").message_id.endswith("@xn--bcher-kva.example>")
    literal = ok(from_="a@[192.0.2.1]")
    assert literal.message_id.endswith("@[192.0.2.1]>")
    assert f"\r\nMessage-ID: {literal.message_id}\r\n".encode() in bytes(literal)


def test_addresses_in_every_form():
    raw = bytes(libsmtp.compose(
        "Alice <a@example.org>",
        ["b@example.org", ("Bob, Jr.", "bob@example.org"), "<c@example.org>",
         email.headerregistry.Address("Dörte", "d", "example.org")], "s", text="t"))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert [(a.display_name, a.addr_spec) for a in m["To"].addresses] == [
        ("", "b@example.org"), ("Bob, Jr.", "bob@example.org"), ("", "c@example.org"),
        ("Dörte", "d@example.org")]
    assert m["From"].addresses[0].display_name == "Alice"


def test_attachment_sources_and_guessed_types(tmp_path):
    (tmp_path / "report.PDF").write_bytes(b"%PDF-1.4")
    with open(tmp_path / "report.PDF", "rb") as f:
        raw = bytes(ok(attachments=[tmp_path / "report.PDF", str(tmp_path / "report.PDF"), f,
                                    libsmtp.Attachment(b"a,b\n", "t.csv"), b"\x00\x01",
                                    libsmtp.Attachment(io.BytesIO(b"png"), "x.bin", "image/png")]))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
            for p in m.iter_attachments()] == [
        ("report.PDF", "application/pdf", b"%PDF-1.4"),
        ("report.PDF", "application/pdf", b"%PDF-1.4"),
        ("report.PDF", "application/pdf", b"%PDF-1.4"),
        ("t.csv", "text/csv", b"a,b\n"),
        (None, "application/octet-stream", b"\x00\x01"),
        ("x.bin", "image/png", b"png")]


def test_inline_sources(tmp_path):
    (tmp_path / "logo.png").write_bytes(b"PNGDATA")
    with open(tmp_path / "logo.png", "rb") as f:
        raw = bytes(ok(html='<img src="cid:a@x"><img src="cid:b@x"><img src="cid:c">',
                       inline=[libsmtp.Inline(tmp_path / "logo.png", "a@x"),
                               libsmtp.Inline(f, "<b@x>"),
                               libsmtp.Inline(b"GIF89a", "c", "image/gif")]))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    parts = list(m.get_body(("related",)).iter_parts())[1:]
    assert [(p["Content-ID"], p.get_content_type(), p.get_payload(decode=True))
            for p in parts] == [("<a@x>", "image/png", b"PNGDATA"),
                                ("<b@x>", "image/png", b"PNGDATA"),
                                ("<c>", "image/gif", b"GIF89a")]


def test_dkim_arguments(tmp_path):
    with pytest.raises(TypeError, match="exactly one"):
        libsmtp.DKIM("example.org", "s")
    with pytest.raises(TypeError, match="exactly one"):
        libsmtp.DKIM("example.org", "s", key_pem="x", key_file="y")
    with pytest.raises(ValueError, match="key_pem: invalid argument"):
        libsmtp.DKIM("example.org", "s", key_pem="-----BEGIN PRIVATE KEY-----\nnope\n")
    with pytest.raises(ValueError, match="key_file"):
        libsmtp.DKIM("example.org", "s", key_file=tmp_path / "missing.pem")
    with pytest.raises(ValueError, match="domain"):
        libsmtp.DKIM("example.org\r\nX: y", "s", key_pem="x")
    with pytest.raises(ValueError, match="selector"):
        libsmtp.DKIM("example.org", "s\n", key_pem="x")
    for bad in ("relaxed/strict", ("simple",), "a/b/c"):
        with pytest.raises(ValueError, match="canon"):
            libsmtp.DKIM("example.org", "s", key_pem="x", canon=bad)
    for bad in (0, 315360001):
        with pytest.raises(ValueError, match="expiry"):
            libsmtp.DKIM("example.org", "s", key_pem="x", expiry=bad)
    with pytest.raises(ValueError, match="headers"):
        libsmtp.DKIM("example.org", "s", key_pem="x", headers=["from:to"])


def test_dkim_headers_must_name_from(tmp_path):
    key = private_key(str(tmp_path / "rsa.pem"), "RSA1024")
    with pytest.raises(ValueError, match="From among them"):
        libsmtp.DKIM("example.org", "s", key_file=key, headers="to:subject")
    d = libsmtp.DKIM("example.org", "s", key_file=key, headers=["From", "Subject"],
                     expiry=datetime.timedelta(days=7))
    raw = bytes(ok(dkim=d))
    sig = "".join(email.message_from_bytes(raw)["DKIM-Signature"].split())
    tags = dict(t.split("=", 1) for t in sig.split(";") if t)
    assert tags["h"].lower() == "from:subject"
    assert int(tags["x"]) - int(tags["t"]) == 7 * 86400
    with pytest.raises(ValueError, match="From field"):
        d.sign(b"Subject: no from\r\n\r\nbody\r\n")
    with pytest.raises(ValueError, match="at most 8"):
        ok(dkim=[d] * 9)

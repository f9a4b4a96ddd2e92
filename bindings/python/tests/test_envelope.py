"""The envelope taken from an EmailMessage's headers (smtplib.send_message's rules)
and the bytes sent for it (CRLF, no Bcc). Pure Python: no library, no server."""

import email.message
import email.policy

import pytest

from libsmtp._message import envelope_from_headers, message_options, prepare, serialise
from conftest import make_message


def test_from_to_cc_bcc():
    m = make_message(to="Bob <bob@example.org>, carol@example.org",
                     cc="Dave <dave@example.org>", bcc="eve@example.org")
    sender, rcpts = envelope_from_headers(m)
    assert sender == "alice@example.org"
    assert rcpts == ["bob@example.org", "carol@example.org", "eve@example.org", "dave@example.org"]


def test_sender_header_wins_over_from():
    m = make_message()
    m["Sender"] = "list-bounces@example.org"
    assert envelope_from_headers(m)[0] == "list-bounces@example.org"


def test_every_occurrence_of_to_counts():
    m = email.message.Message()  # compat32: the default policy allows one To only
    m["From"] = "alice@example.org"
    m["To"] = "bob@example.org"
    m["To"] = "second@example.org"
    assert envelope_from_headers(m)[1] == ["bob@example.org", "second@example.org"]


def test_one_resent_block_is_used():
    m = make_message(to="bob@example.org", bcc="old-bcc@example.org")
    m["Resent-Date"] = "Mon, 1 Jan 2024 00:00:00 +0000"
    m["Resent-From"] = "forwarder@example.org"
    m["Resent-To"] = "new@example.org"
    m["Resent-Bcc"] = "hidden@example.org"
    sender, rcpts = envelope_from_headers(m)
    assert sender == "forwarder@example.org"
    assert rcpts == ["new@example.org", "hidden@example.org"]
    data = serialise(m)
    assert b"Resent-Bcc" not in data and b"hidden@example.org" not in data
    assert b"\nBcc:" not in data


def test_two_resent_blocks_are_refused():
    m = make_message()
    m["Resent-Date"] = "Mon, 1 Jan 2024 00:00:00 +0000"
    m["Resent-Date"] = "Tue, 2 Jan 2024 00:00:00 +0000"
    with pytest.raises(ValueError, match="Resent"):
        envelope_from_headers(m)


def test_bcc_removed_and_crlf():
    m = make_message(bcc="secret@example.org")
    data = serialise(m)
    assert b"secret@example.org" not in data
    assert b"Bcc" not in data
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    # the caller's message is not changed
    assert m["Bcc"] == "secret@example.org"


def test_bcc_removed_also_with_explicit_envelope():
    m = make_message(bcc="secret@example.org")
    p = prepare(m, "a@example.org", ["x@example.org"], message_options())
    assert b"secret@example.org" not in p.data
    assert p.recipients == (b"x@example.org",)
    assert p.sender == b"a@example.org"


def test_duplicates_go_once_in_order():
    m = make_message(to="bob@example.org, carol@example.org", cc="bob@example.org")
    p = prepare(m, None, None, message_options())
    assert p.recipients == (b"bob@example.org", b"carol@example.org")


def test_null_sender_and_single_to():
    p = prepare(b"Subject: x\r\n\r\nx\r\n", "", "b@example.org", message_options())
    assert p.sender == b"" and p.recipients == (b"b@example.org",)


def test_compat32_message():
    m = email.message.Message()
    m["From"] = "a@example.org"
    m["To"] = "b@example.org"
    m["Bcc"] = "c@example.org"
    m.set_payload("body\n")
    p = prepare(m, None, None, message_options())
    assert p.recipients == (b"b@example.org", b"c@example.org")
    assert b"c@example.org" not in p.data and p.data.endswith(b"body\r\n")


def test_policy_smtp_folds_with_crlf():
    m = make_message(subject="word " * 40)
    data = serialise(m)
    assert data == m.as_bytes(policy=email.policy.SMTP)
    assert b"\r\n " in data.split(b"\r\n\r\n")[0]  # the long Subject was folded


def test_bytearray_is_copied():
    buf = bytearray(b"Subject: x\r\n\r\noriginal\r\n")
    p = prepare(buf, "a@example.org", "b@example.org", message_options())
    buf[:] = b"changed"
    assert p.data == b"Subject: x\r\n\r\noriginal\r\n"

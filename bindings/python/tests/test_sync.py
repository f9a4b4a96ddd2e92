"""libsmtp.Session against real servers: aiosmtpd, Postfix smtpd + Dovecot SASL,
smtp-sink (refusing, greylisting, stalling)."""

import builtins
import signal

import pytest

import libsmtp
from conftest import RAW, env, free_port, make_message, url


def test_email_message_through_aiosmtpd(aio):
    before = aio.count()
    m = make_message(to="Bob <bob@example.org>", cc="carol@example.org", bcc="hidden@example.org")
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(m)
    assert report.outcome == "sent" and report.sent
    assert report.error is None and report.failed_stage is None
    assert [(r.address, r.verdict, r.stage, r.code, r.accepted) for r in report.recipients] == [
        ("bob@example.org", "accepted", "body", 250, True),
        ("hidden@example.org", "accepted", "body", 250, True),
        ("carol@example.org", "accepted", "body", 250, True),
    ]
    report.raise_for_outcome()
    assert aio.count() == before + 1
    rec = aio.record(-1)
    # aiosmtpd_server.py answers "queued as NNNN", its record's number
    assert report.queue_id == f"{before + 1:04d}"
    assert rec["mail_from"] == "alice@example.org"
    assert rec["rcpt_tos"] == ["bob@example.org", "hidden@example.org", "carol@example.org"]
    assert b"hidden@example.org" not in rec["content"] and b"Bcc" not in rec["content"]
    assert b"Subject: hello\r\n" in rec["content"]
    assert rec["content"].endswith(b"Hello from the libsmtp binding.\r\n")


def test_raw_bytes_through_aiosmtpd(aio):
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(RAW, from_="", to=["bob@example.org"])
    assert report.sent
    rec = aio.record(-1)
    assert rec["mail_from"] == "" and rec["rcpt_tos"] == ["bob@example.org"]
    assert rec["content"] == RAW  # dot-stuffed on the wire, unstuffed by the server


def test_starttls_auth_through_aiosmtpd(aio_tls, ca_file, creds):
    with libsmtp.Session(url("SMTP_PY_AIOTLS_PORT"), ca_file=ca_file, **creds) as s:
        conn = s.connect()
        report = s.send(make_message())
    assert conn.error is None and conn.failed_stage is None and conn.tls is not None
    assert report.sent
    assert report.tls is not None and report.tls.version.startswith("TLSv1.")
    stages = [st.stage for st in report.steps]
    assert "starttls" in stages and "auth" in stages
    assert [st.code for st in report.steps if st.stage == "auth"][-1] == 235
    rec = aio_tls.record(-1)
    assert rec["tls"] is True and rec["auth_user"] == creds["user"]


def test_starttls_auth_through_postfix_and_dovecot(pf_sink, ca_file, creds):
    before = pf_sink.count()
    with libsmtp.Session(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file, **creds) as s:
        report = s.send(make_message(subject="via postfix"))
    assert report.sent, report
    assert report.tls is not None
    auth = [st for st in report.steps if st.stage == "auth"]
    assert auth and auth[-1].code == 235
    assert pf_sink.count() == before + 1
    assert any(b"Subject: via postfix" in d for d in pf_sink.dumps())


def test_implicit_tls_through_postfix(pf_sink, ca_file, creds):
    before = pf_sink.count()
    u = f"smtps://127.0.0.1:{env('SMTP_PY_PF_SMTPS_PORT')}"
    with libsmtp.Session(u, ca_file=ca_file, auth_mechanisms=["PLAIN"], **creds) as s:
        report = s.send(make_message(subject="via smtps"))
    assert report.sent
    assert [st.text for st in report.steps if st.stage == "auth"]
    assert pf_sink.count() == before + 1


def test_chunking_switch_through_postfix(ca_file, creds):
    for chunking, verb in ((True, "BDAT"), (False, "DATA")):
        lines = []
        with libsmtp.Session(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file, chunking=chunking,
                             trace=lambda d, line: lines.append((d, line)), **creds) as s:
            assert s.send(make_message()).sent
        sent = [line.split(" ")[0] for d, line in lines if d == "send"]
        assert verb in sent, (chunking, sent)


def wrong_password_report(ca_file, creds):
    with libsmtp.Session(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file,
                         user=creds["user"], password="wrong") as s:
        with pytest.raises(libsmtp.Error) as ei:
            s.connect()
        return ei.value, s.send(make_message())


def test_wrong_password_through_postfix(ca_file, creds):
    exc, report = wrong_password_report(ca_file, creds)
    assert exc.error == "SMTP_EAUTH" and exc.stage == "auth"
    assert [st.code for st in exc.report.steps if st.stage == "auth"][-1] == 535
    assert report.error == "SMTP_EAUTH" and report.failed_stage == "auth"


def test_wrong_password_verdict_is_failed(ca_file, creds):
    """doc/report-schema.md: credentials refused (SMTP_EAUTH: 535) is "failed"."""
    exc, report = wrong_password_report(ca_file, creds)
    assert isinstance(exc, libsmtp.AuthError) and isinstance(exc, libsmtp.FailedError)
    assert report.outcome == "failed"
    assert all(r.verdict == "failed" for r in report.recipients)


def test_refused_recipient_smtp_sink():
    with libsmtp.Session(url("SMTP_PY_SINK_REJECT_PORT", "?tls=none")) as s:
        report = s.send(make_message(to="nobody@example.org"))
    assert report.outcome == "bounced"
    assert report.error == "SMTP_EREJECTED"
    (r,) = report.recipients
    assert (r.address, r.verdict, r.stage, r.code, r.enhanced) == (
        "nobody@example.org", "bounced", "rcpt", 550, "5.1.1")
    assert r.text == "No such user" and not r.accepted
    with pytest.raises(libsmtp.BouncedError, match="nobody@example.org"):
        report.raise_for_outcome()


def partly_refused_report():
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        return s.send(make_message(to="bob@example.org, unknown@example.org"))


def test_partly_refused_aiosmtpd():
    report = partly_refused_report()
    assert report.outcome == "sent_partial"
    assert report.recipient("bob@example.org").verdict == "accepted"
    bad = report.recipient("unknown@example.org")
    assert (bad.verdict, bad.stage, bad.code, bad.enhanced) == ("bounced", "rcpt", 550, "5.1.1")
    assert bad.error == "SMTP_EREJECTED"
    with pytest.raises(libsmtp.PartialDeliveryError):
        report.raise_for_outcome()


def test_partly_refused_error_is_rejected():
    """smtp_report_error (include/smtp.h): SMTP_EREJECTED when a server reply
    refused a recipient."""
    assert partly_refused_report().error == "SMTP_EREJECTED"


def greylisted_at_mail_report():
    with libsmtp.Session(url("SMTP_PY_SINK_DEFER_PORT", "?tls=none")) as s:
        return s.send(make_message())


def test_greylisted_at_mail_smtp_sink():
    report = greylisted_at_mail_report()
    assert report.outcome == "deferred" and report.failed_stage == "mail"
    (r,) = report.recipients
    assert (r.verdict, r.stage) == ("deferred", "mail")
    mail = [st for st in report.steps if st.stage == "mail"][-1]
    assert (mail.code, mail.enhanced) == (451, "4.7.1") and "Greylisted" in mail.text
    with pytest.raises(libsmtp.DeferredError):
        report.raise_for_outcome()


def test_greylisted_at_mail_recipient_carries_the_reply():
    """doc/report-schema.md: a recipient's result carries the code, enhanced code and text of
    the reply that decided its verdict (here the 451 to MAIL)."""
    (r,) = greylisted_at_mail_report().recipients
    assert (r.code, r.enhanced) == (451, "4.7.1") and "Greylisted" in r.text


def test_greylisted_recipient_aiosmtpd():
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(make_message(to="later@example.org"))
    assert report.outcome == "deferred"
    (r,) = report.recipients
    assert (r.verdict, r.stage, r.code, r.enhanced) == ("deferred", "rcpt", 451, "4.7.1")
    with pytest.raises(libsmtp.DeferredError):
        report.raise_for_outcome()


def refused_connection():
    with libsmtp.Session(f"smtp://127.0.0.1:{free_port()}?tls=none") as s:
        report = s.send(make_message())
        with pytest.raises(libsmtp.Error) as ei:
            s.connect()
    return report, ei.value


def test_connection_refused_is_a_report():
    report, exc = refused_connection()
    assert report.failed_stage == "connect" and report.error == "SMTP_ECONNECT"
    assert "refused" in report.steps[-1].text.lower()
    assert report.recipients[0].verdict != "accepted"
    assert exc.report.failed_stage == "connect" and exc.error == "SMTP_ECONNECT"


def test_connection_refused_verdict_is_deferred():
    """doc/report-schema.md: connect refused or unreachable is "deferred"."""
    report, exc = refused_connection()
    assert report.outcome == "deferred" and report.recipients[0].verdict == "deferred"
    assert isinstance(exc, libsmtp.ConnectError) and isinstance(exc, libsmtp.DeferredError)
    with pytest.raises(libsmtp.ConnectError):
        report.raise_for_outcome()


def test_unknown_ca_certificate():
    with libsmtp.Session(url("SMTP_PY_UNKNOWNCA_PORT")) as s:
        with pytest.raises(libsmtp.CertificateError) as ei:
            s.connect()
        assert isinstance(ei.value, libsmtp.TLSError) and ei.value.error == "SMTP_ECERT"
        report = s.send(make_message())
    assert report.outcome == "failed" and report.error == "SMTP_ECERT"
    assert report.detail


def test_tls_required_but_not_offered():
    with libsmtp.Session(url("SMTP_PY_AIO_PORT")) as s:  # smtp:// means STARTTLS required
        report = s.send(make_message())
    assert report.outcome == "failed" and report.error == "SMTP_ENOTLS"
    with pytest.raises(libsmtp.TLSUnavailableError):
        report.raise_for_outcome()


def stalled_report():
    # the sink holds back its replies to the pipelined MAIL, RCPT and DATA
    with libsmtp.Session(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), timeout=1) as s:
        return s.send(make_message())


def test_stage_timeout():
    report = stalled_report()
    assert report.error == "SMTP_ETIMEDOUT" and report.failed_stage in ("mail", "rcpt", "data")
    assert report.recipients[0].verdict != "accepted"


def test_stage_timeout_verdict_is_deferred():
    """doc/report-schema.md: a stalled connection at any stage is "deferred"."""
    report = stalled_report()
    assert report.outcome == "deferred" and report.recipients[0].verdict == "deferred"
    with pytest.raises(libsmtp.TimeoutError) as ei:
        report.raise_for_outcome()
    assert isinstance(ei.value, builtins.TimeoutError)


class Interrupted(Exception):
    pass


def test_signal_interrupts_a_send_and_the_session_goes_on():
    def on_alarm(_sig, _frame):
        raise Interrupted()

    lines = []
    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with libsmtp.Session(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), timeout=1,
                             trace=lambda d, line: lines.append((d, line))) as s:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(Interrupted):
                s.send(make_message())
            # abandoned: the next message goes over a new connection
            report = s.send(make_message())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert report.error == "SMTP_ETIMEDOUT"
    assert sum(1 for d, line in lines if d == "recv" and line.startswith("220 ")) == 2


def test_trace_sees_the_dialogue():
    lines = []
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none"),
                         trace=lambda d, line: lines.append((d, line))) as s:
        assert s.send(make_message()).sent
    assert lines[0][0] == "recv" and lines[0][1].startswith("220 ")
    assert ("send", "EHLO localhost") in lines
    assert any(d == "send" and line.startswith("MAIL FROM:<alice@example.org>") for d, line in lines)
    assert ("send", "QUIT") in lines
    assert {d for d, _ in lines} <= {"send", "recv", "info"}


def test_helo_name_and_several_messages_on_one_connection(sink):
    before = sink.count()
    lines = []
    with libsmtp.Session(url("SMTP_PY_SINK_PORT", "?tls=none"), helo_name="client.example.org",
                         trace=lambda d, line: lines.append((d, line))) as s:
        reports = [s.send(make_message(subject=f"n{i}")) for i in range(3)]
    assert all(r.sent for r in reports)
    assert sum(1 for d, line in lines if d == "recv" and line.startswith("220 ")) == 1
    assert sink.count() == before + 3
    assert all(b"X-Helo-Args: client.example.org" in d for d in sink.dumps()[-3:])


def test_extension_and_connection_report():
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        assert s.extension("SIZE") is None  # not connected yet
        first = s.connect()
        assert s.extension("size") == "33554432"
        assert s.extension("8BITMIME") == ""
        assert s.extension("NO-SUCH-EXTENSION") is None
        with pytest.raises(ValueError):
            s.extension("SIZE\r\n")
        s.quit()
        second = s.connect()
    # the first connection's report is a snapshot: it outlived the reconnect
    assert [st.stage for st in first.steps][:3] == ["connect", "greeting", "ehlo"]
    assert first.steps[1].code == 220 and second.steps[1].code == 220
    assert first.peer == second.peer

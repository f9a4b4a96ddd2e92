"""libsmtp.AsyncSession on asyncio against real servers: aiosmtpd, Postfix +
Dovecot, smtp-sink (counting, refusing, greylisting, stalling)."""

import asyncio

import pytest

import libsmtp
from conftest import RAW, free_port, make_message, url


def run(coro):
    return asyncio.run(coro)


def test_send_through_aiosmtpd(aio):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            return await s.send(make_message(bcc="hidden@example.org"))

    before = aio.count()
    report = run(main())
    assert report.sent
    assert [r.verdict for r in report.recipients] == ["accepted", "accepted"]
    assert aio.count() == before + 1
    rec = aio.record(-1)
    assert rec["rcpt_tos"] == ["bob@example.org", "hidden@example.org"]
    assert b"hidden" not in rec["content"]


def test_starttls_auth_through_postfix_and_dovecot(pf_sink, ca_file, creds):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file, **creds) as s:
            conn = await s.connect()
            reports = await asyncio.gather(*(s.send(make_message(subject=f"async {i}"))
                                             for i in range(5)))
            return conn, reports

    before = pf_sink.count()
    conn, reports = run(main())
    assert conn.error is None and conn.tls is not None and any(st.stage == "auth" and st.code == 235 for st in conn.steps)
    assert [r.outcome for r in reports] == ["sent"] * 5
    assert all(r.tls is not None for r in reports)
    assert pf_sink.count() == before + 5


def test_starttls_auth_through_aiosmtpd(aio_tls, ca_file, creds):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIOTLS_PORT"), ca_file=ca_file, **creds) as s:
            return await s.send(RAW, from_="alice@example.org", to="bob@example.org")

    assert run(main()).sent
    rec = aio_tls.record(-1)
    assert rec["tls"] is True and rec["auth_user"] is not None and rec["content"] == RAW


def test_thousand_messages_pipelined_over_one_connection(sink):
    n = 1000
    lines = []

    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_SINK_PORT", "?tls=none"),
                                        trace=lambda d, line: lines.append((d, line))) as s:
            sends = [s.send(b"Subject: pipelined %d\r\n\r\nbody %d\r\n" % (i, i),
                            from_="alice@example.org", to=f"rcpt{i}@example.org")
                     for i in range(n)]
            return await asyncio.gather(*sends)

    before = sink.count()
    reports = run(main())
    assert len(reports) == n and all(r.outcome == "sent" for r in reports)
    assert [r.recipients[0].address for r in reports] == [f"rcpt{i}@example.org" for i in range(n)]
    assert sink.count() == before + n
    # one connection: one greeting, one EHLO, one QUIT
    assert sum(1 for d, line in lines if d == "recv" and line.startswith("220 ")) == 1
    assert sum(1 for d, line in lines if d == "send" and line.startswith("EHLO")) == 1
    assert sum(1 for d, line in lines if d == "send" and line == "QUIT") == 1
    # pipelined (RFC 2920): MAIL, RCPT and DATA written before any reply, and a
    # message's MAIL written before the previous message's final reply arrived
    groups = sum(1 for i in range(len(lines) - 2)
                 if [x[0] for x in lines[i:i + 3]] == ["send"] * 3
                 and lines[i][1].startswith("MAIL") and lines[i + 2][1] == "DATA")
    assert groups == n
    waiting_final = 0
    ahead = 0
    for d, line in lines:
        if d == "recv" and line.startswith("354"):
            waiting_final += 1
        elif d == "recv" and line.startswith("250 2.0.0"):
            waiting_final -= 1
        elif d == "send" and line.startswith("MAIL") and waiting_final > 0:
            ahead += 1
    assert ahead > 0


def test_refused_and_greylisted():
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_SINK_REJECT_PORT", "?tls=none")) as s:
            bounced = await s.send(make_message(to="nobody@example.org"))
        async with libsmtp.AsyncSession(url("SMTP_PY_SINK_DEFER_PORT", "?tls=none")) as s:
            deferred = await s.send(make_message())
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            partial = await s.send(make_message(to="bob@example.org, later@example.org"))
        return bounced, deferred, partial

    bounced, deferred, partial = run(main())
    r = bounced.recipients[0]
    assert bounced.outcome == "bounced" and (r.verdict, r.stage, r.code, r.enhanced) == (
        "bounced", "rcpt", 550, "5.1.1")
    r = deferred.recipients[0]
    assert deferred.outcome == "deferred" and (r.verdict, r.stage) == ("deferred", "mail")
    mail = [st for st in deferred.steps if st.stage == "mail"][-1]
    assert (mail.code, mail.enhanced) == (451, "4.7.1")
    assert partial.outcome == "sent_partial"
    assert partial.recipient("later@example.org").verdict == "deferred"
    with pytest.raises(libsmtp.BouncedError):
        bounced.raise_for_outcome()
    with pytest.raises(libsmtp.DeferredError):
        deferred.raise_for_outcome()
    with pytest.raises(libsmtp.PartialDeliveryError):
        partial.raise_for_outcome()


def refused_connection():
    async def main():
        async with libsmtp.AsyncSession(f"smtp://127.0.0.1:{free_port()}?tls=none") as s:
            report = await s.send(make_message())
            with pytest.raises(libsmtp.Error) as ei:
                await s.connect()
            return report, ei.value

    return run(main())


def test_connection_refused():
    report, exc = refused_connection()
    assert report.error == "SMTP_ECONNECT" and report.failed_stage == "connect"
    assert exc.error == "SMTP_ECONNECT" and exc.report.failed_stage == "connect"


def test_connection_refused_verdict_is_deferred():
    """doc/report-schema.md: connect refused is "deferred"."""
    report, exc = refused_connection()
    assert report.outcome == "deferred" and isinstance(exc, libsmtp.ConnectError)


def test_certificate_error_on_connect():
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_UNKNOWNCA_PORT")) as s:
            await s.connect()

    with pytest.raises(libsmtp.CertificateError):
        run(main())


def stalled_report():
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"),
                                        timeout=1) as s:
            return await s.send(make_message())

    return run(main())


def test_stage_timeout_through_the_timer():
    report = stalled_report()
    assert report.error == "SMTP_ETIMEDOUT"
    assert report.failed_stage in ("mail", "rcpt", "data")


def test_stage_timeout_verdict_is_deferred():
    """doc/report-schema.md: a stalled connection is "deferred"."""
    report = stalled_report()
    assert report.outcome == "deferred"
    with pytest.raises(libsmtp.TimeoutError):
        report.raise_for_outcome()


async def until(pred, what):
    for _ in range(1000):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def cancel_one_of_two(lines):
    async def main():
        s = libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"),
                                 trace=lambda d, line: lines.append((d, line)))
        first = asyncio.ensure_future(s.send(make_message(subject="first")))
        second = asyncio.ensure_future(s.send(make_message(subject="second")))
        await until(lambda: ("send", "DATA") in lines, "DATA sent")
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        other = await second
        assert s.queued == 0
        assert s._core.lib.session_fd(s._core.ptr) == -1  # closed at once
        await s.close()
        assert not s._core.alive
        return other

    return run(main())


def test_cancelling_a_send_abandons_the_session():
    lines = []
    other = cancel_one_of_two(lines)
    assert other.error == "SMTP_ESTATE" and other.detail == "the session was abandoned"
    assert other.recipients[0].verdict != "accepted"
    assert "QUIT" not in [line for _, line in lines]


def test_abandoned_verdict_is_deferred():
    """include/smtp.h smtp_session_abandon: every undecided recipient deferred."""
    other = cancel_one_of_two([])
    assert other.outcome == "deferred" and other.recipients[0].verdict == "deferred"
    with pytest.raises(libsmtp.AbandonedError):
        other.raise_for_outcome()


def test_cancelled_task_leaves_async_with_abandoned():
    holder = {}

    async def user():
        async with libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none")) as s:
            holder["s"] = s
            await s.send(make_message())

    async def main():
        task = asyncio.ensure_future(user())
        await until(lambda: "s" in holder and holder["s"].queued == 1, "message queued")
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert not holder["s"]._core.alive


def test_send_cancelled_before_it_started_sends_nothing(aio):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            dropped = asyncio.ensure_future(s.send(make_message(subject="dropped")))
            kept = asyncio.ensure_future(s.send(make_message(subject="kept")))
            dropped.cancel()  # before its first step: the message never reaches the library
            with pytest.raises(asyncio.CancelledError):
                await dropped
            return await kept

    before = aio.count()
    assert run(main()).sent
    assert aio.count() == before + 1
    assert b"Subject: kept" in aio.record(-1)["content"]


def test_close_waits_for_messages_in_flight(sink):
    lines = []

    async def main():
        s = libsmtp.AsyncSession(url("SMTP_PY_SINK_PORT", "?tls=none"),
                                 trace=lambda d, line: lines.append((d, line)))
        tasks = [asyncio.ensure_future(s.send(make_message(subject=f"c{i}"))) for i in range(10)]
        await asyncio.sleep(0)
        await s.close()
        return [t.result() for t in tasks if t.done()]

    before = sink.count()
    reports = run(main())
    assert len(reports) == 10 and all(r.sent for r in reports)
    assert sink.count() == before + 10
    assert lines[-2] == ("send", "QUIT")


def test_reconnects_after_abandon_with_a_new_descriptor(aio):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            a = await s.send(make_message(subject="one"))
            s.abandon()
            b = await s.send(make_message(subject="two"))
            c = await s.connect()
            return a, b, c

    before = aio.count()
    a, b, c = run(main())
    assert a.sent and b.sent and c.error is None
    assert aio.count() == before + 2


def test_one_loop_only():
    s = libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none"))

    async def send():
        return await s.send(make_message())

    assert run(send()).sent
    with pytest.raises(RuntimeError, match="loop"):
        run(send())
    s._shutdown()

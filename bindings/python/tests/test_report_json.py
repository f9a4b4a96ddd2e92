"""Report.to_dict() against the library's own JSON (smtp_report_json) of the same
report, for reports of every kind: the same keys, the same values."""

import asyncio
import json

import pytest

import libsmtp
from conftest import free_port, make_message, url

STEP_OPTIONAL = {"arg", "error"}   # the library's JSON leaves them out when null
RCPT_EXTRA: set[str] = set()      # the C JSON has every recipient key


def check(report):
    want = json.loads(report.json)
    got = report.to_dict()
    assert set(want) == set(got), set(want) ^ set(got)
    for key in want:
        if key in ("steps", "recipients"):
            continue
        assert got[key] == want[key], key
    assert len(got["steps"]) == len(want["steps"]) > 0
    for g, w in zip(got["steps"], want["steps"]):
        assert set(w) <= set(g) and set(g) - set(w) <= STEP_OPTIONAL
        for k in set(g) - set(w):
            assert g[k] is None
        assert {k: g[k] for k in w} == w
    assert len(got["recipients"]) == len(want["recipients"])
    for g, w in zip(got["recipients"], want["recipients"]):
        assert set(g) - set(w) == RCPT_EXTRA
        assert {k: g[k] for k in w} == w
    return want


def test_sent_over_tls_with_auth(ca_file, creds):
    with libsmtp.Session(url("SMTP_PY_PF_SUB_PORT"), ca_file=ca_file, **creds) as s:
        r = s.send(make_message())
    want = check(r)
    assert want["tls"] is not None


def test_partial_and_bounced_and_deferred():
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        want = check(s.send(make_message(to="bob@example.org, unknown@example.org, later@example.org")))
    assert want["outcome"] == "sent_partial"
    assert [r["verdict"] for r in want["recipients"]] == ["accepted", "bounced", "deferred"]
    with libsmtp.Session(url("SMTP_PY_SINK_REJECT_PORT", "?tls=none")) as s:
        assert check(s.send(make_message()))["outcome"] == "bounced"
    with libsmtp.Session(url("SMTP_PY_SINK_DEFER_PORT", "?tls=none")) as s:
        assert check(s.send(make_message()))["outcome"] == "deferred"


def test_connection_failures():
    with libsmtp.Session(f"smtp://127.0.0.1:{free_port()}?tls=none") as s:
        want = check(s.send(make_message()))
        assert want["error"] == "SMTP_ECONNECT"
        with pytest.raises(libsmtp.Error) as ei:
            s.connect()
        check(ei.value.report)
    with libsmtp.Session(url("SMTP_PY_UNKNOWNCA_PORT")) as s:
        want = check(s.send(make_message()))
        assert want["error"] == "SMTP_ECERT" and want["detail"]


def test_async_reports():
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            return await asyncio.gather(s.connect(), s.send(make_message()),
                                        s.send(make_message(to="unknown@example.org")))

    got = [check(r)["outcome"] for r in asyncio.run(main())]
    # the connection's own report stays open while the session is connected
    assert got == ["pending", "sent", "bounced"]


def test_every_step_has_its_time():
    """doc/report-schema.md: every step records the microseconds from its command's write to
    its reply (the header: -1 only for a local note)."""
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        r = s.send(make_message())
    replies = [st for st in r.steps if st.code is not None]
    assert replies and all(isinstance(st.us, int) and st.us >= 0 for st in replies), [
        (st.stage, st.us) for st in replies]

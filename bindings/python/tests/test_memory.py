"""Memory safety across the boundary: the binding owns what the C side references
(content bytes, callbacks, queued messages, the TLS cache) for exactly as long as it
is referenced, whatever order the Python objects go in. Run under the library's
ASan build (make check-asan) these tests also prove that nothing is used after it
was freed."""

import asyncio
import gc
import itertools
import os
import weakref

import pytest

import libsmtp
from libsmtp._composer import CCompose
from libsmtp._core import CMessage, CSession
from libsmtp._message import message_options, prepare
from conftest import drop_in_order, env, make_message, openssl, until_traced, url


def test_sync_objects_freed_in_every_order(ca_file, creds):
    names = ("session", "report", "message", "trace", "cache")
    seen = []
    for order in itertools.permutations(names):
        objs = {"cache": libsmtp.TLSCache(), "message": make_message(),
                "trace": lambda d, line, seen=seen: seen.append(line)}
        objs["session"] = libsmtp.Session(url("SMTP_PY_AIOTLS_PORT"), ca_file=ca_file,
                                          tls_cache=objs["cache"], trace=objs["trace"], **creds)
        objs["report"] = objs["session"].send(objs["message"])
        assert objs["report"].sent
        report = objs["report"]
        for name in order:
            del objs[name]
            gc.collect()
        # a report is a snapshot: still whole after the session went
        assert report.steps[1].code == 220 and report.tls is not None
    assert len(seen) > 120
    # the shared cache resumed TLS sessions (each permutation reconnected)
    assert report.tls.version.startswith("TLSv1.")


def test_async_objects_freed_in_every_order():
    names = ("session", "tasks", "data", "trace")

    async def one(order):
        lines = []
        objs = {"trace": lambda d, line: lines.append((d, line)),
                "data": bytearray(b"Subject: in flight\r\n\r\nbody\r\n")}
        objs["session"] = libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"),
                                               trace=objs["trace"])
        objs["tasks"] = [asyncio.ensure_future(objs["session"].send(
            objs["data"], from_="a@example.org", to=f"r{i}@example.org")) for i in range(3)]
        await until_traced(lines, ("send", "DATA"))

        def overwrite(name):
            if name == "data":
                objs["data"][:] = b"overwritten"

        reports = await drop_in_order(objs, order, overwrite)
        # the first was cancelled; the session was abandoned; the others ended so
        assert [r.error for r in reports] == ["SMTP_ESTATE", "SMTP_ESTATE"]

    for order in itertools.permutations(names):
        with pytest.warns(ResourceWarning, match="unclosed"):
            asyncio.run(one(order))
            gc.collect()


def test_loop_ends_with_messages_in_flight():
    async def main():
        s = libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"))
        for i in range(3):
            asyncio.ensure_future(s.send(make_message(subject=f"left {i}")))
        await asyncio.sleep(0.2)  # returns: asyncio.run cancels the sends

    with pytest.warns(ResourceWarning, match="unclosed"):
        asyncio.run(main())
        gc.collect()


def test_queued_messages_and_session_freed_in_every_order():
    lib = libsmtp._native.native()
    for order in itertools.permutations(("session", "m1", "m2")):
        core = CSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), {})
        msgs = {}
        for name in ("m1", "m2"):
            msgs[name] = CMessage(lib, prepare(b"Subject: q\r\n\r\nq\r\n", "a@example.org",
                                               "b@example.org", message_options()))
            core.submit(msgs[name])  # queued; nothing sent until process
        assert lib.session_queued(core.ptr) == 2
        for name in order:
            if name == "session":
                core.shutdown()
            else:
                msgs[name].free()
        assert not core.alive and all(m.ptr is None for m in msgs.values())


def test_queued_cycle_collected_by_gc():
    lib = libsmtp._native.native()
    core = CSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), {})
    for _ in range(3):
        m = CMessage(lib, prepare(b"Subject: q\r\n\r\nq\r\n", "a@example.org",
                                  "b@example.org", message_options()))
        core.submit(m)  # the message holds the session, the session the message
    core.keep["cycle"] = core
    gone = weakref.ref(core)
    del core, m
    gc.collect()
    assert gone() is None  # the cycle was collected (and its C side freed)


def test_callback_kept_alive_without_other_references():
    got = []
    s = libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none"),
                        trace=(lambda sink: lambda d, line: sink.append(line))(got))
    gc.collect()
    assert s.send(make_message()).sent
    s.close()
    assert got and got[0].startswith("220 ")


def test_content_bytes_live_until_the_report_is_final(aio):
    async def main():
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            buf = bytearray(b"Subject: original\r\n\r\noriginal body\r\n")
            sending = asyncio.ensure_future(s.send(buf, from_="a@example.org", to="b@example.org"))
            buf[:] = b"Subject: changed\r\n\r\nchanged\r\n"
            temp = asyncio.ensure_future(s.send(bytes(b"Subject: temp\r\n\r\ntemporary\r\n"),
                                                from_="a@example.org", to="b@example.org"))
            gc.collect()
            return await sending, await temp

    a, b = asyncio.run(main())
    assert a.sent and b.sent
    contents = [aio.record(i)["content"] for i in (-2, -1)]
    assert contents == [b"Subject: original\r\n\r\noriginal body\r\n",
                        b"Subject: temp\r\n\r\ntemporary\r\n"]


def encrypted_key(tmp_path, password):
    certs = env("SMTP_PY_CERTS")
    out = tmp_path / "client-enc.key"
    openssl("pkey", "-in", os.path.join(certs, "client.key"), "-aes256",
            "-passout", f"pass:{password}", "-out", str(out))
    return os.path.join(certs, "client.pem"), str(out)


def test_key_password_callback(tmp_path, ca_file):
    cert, key = encrypted_key(tmp_path, "k3y-pass")
    calls = []

    def password():
        calls.append(1)
        return "k3y-pass"

    with libsmtp.Session(url("SMTP_PY_AIOTLS_PORT"), ca_file=ca_file, client_cert=cert,
                         client_key=key, key_password=password) as s:
        gc.collect()
        assert s.connect().tls is not None
    assert calls
    with libsmtp.Session(url("SMTP_PY_AIOTLS_PORT"), ca_file=ca_file, client_cert=cert,
                         client_key=key, key_password=b"wrong") as s:
        with pytest.raises(libsmtp.TLSError):
            s.connect()


def test_no_c_object_outlives_its_python_owner():
    gc.collect()
    live = [o for o in gc.get_objects()
            if isinstance(o, (CSession, CMessage, CCompose)) and o.ptr is not None]
    assert live == []

"""Memory safety of composed messages: the composer (smtp_compose) outlives every
message it filled, its reader callbacks and file objects live as long as it, and
the objects go in every order, while a message is being sent and after. Run under
the library's ASan build (make check-asan) these tests also prove that nothing is
used after it was freed and that smtp_compose_render's memory is released."""

import asyncio
import email
import email.policy
import gc
import io
import itertools
import os

import pytest

import libsmtp
from libsmtp._composer import CCompose
from libsmtp._core import CMessage, CSession
from libsmtp._message import message_options, prepare
from conftest import drop_in_order, private_key, until_traced, url


@pytest.fixture(scope="module")
def ed_pem(tmp_path_factory) -> str:
    key = tmp_path_factory.mktemp("dkim-mem") / "ed.pem"
    private_key(str(key), "ED25519")
    return key.read_text()


def live() -> list:
    gc.collect()
    return [o for o in gc.get_objects()
            if isinstance(o, (CCompose, CSession, CMessage)) and o.ptr is not None]


class Dropping(io.RawIOBase):
    """A file object that, on its first read(), drops every other reference the
    test holds (the composed message, the signer, itself) and collects: the
    library is reading from the composer at that moment."""

    def __init__(self, data: bytes, holder: dict) -> None:
        self.data = io.BytesIO(data)
        self.holder = holder
        self.dropped = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if not self.dropped:
            self.dropped = True
            self.holder.clear()
            gc.collect()
        return self.data.read(n)


def composed(holder: dict, data: bytes, dkim=None) -> libsmtp.ComposedMessage:
    holder["file"] = Dropping(data, holder)
    holder["dkim"] = dkim
    return libsmtp.compose("a@example.org", "b@example.org", "dropping", text="x\n",
                           attachments=[libsmtp.Attachment(holder["file"], "d.bin")],
                           dkim=dkim or ())


def attachment_of(raw: bytes) -> bytes:
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return [p.get_payload(decode=True) for p in m.iter_attachments()][0]


def test_references_dropped_while_the_library_reads_sync(aio):
    data = os.urandom(200_000)
    holder: dict = {}
    holder["message"] = composed(holder, data)
    with libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
        report = s.send(holder["message"])
    assert report.sent and holder == {}
    assert attachment_of(aio.record(-1)["content"]) == data
    assert live() == []


def test_references_dropped_while_the_library_reads_async(aio, ed_pem):
    data = os.urandom(100_000)

    async def main(dkim):
        holder: dict = {}
        holder["message"] = composed(holder, data, dkim)
        async with libsmtp.AsyncSession(url("SMTP_PY_AIO_PORT", "?tls=none")) as s:
            task = asyncio.ensure_future(s.send(holder["message"]))
            holder.pop("message", None)  # with DKIM send() read (and dropped) already
            report = await task
        return report, holder

    for dkim in (None, libsmtp.DKIM("example.org", "ed", key_pem=ed_pem)):
        report, holder = asyncio.run(main(dkim))
        assert report.sent and holder == {}
        assert attachment_of(aio.record(-1)["content"]) == data
    assert live() == []


def test_composed_objects_freed_in_every_order_after_sending(aio, ed_pem):
    names = ("session", "message", "file", "dkim")
    for i, order in enumerate(itertools.permutations(names)):
        data = os.urandom(1000 + i)
        objs = {"file": io.BytesIO(data),
                "dkim": libsmtp.DKIM("example.org", "ed", key_pem=ed_pem)}
        objs["message"] = libsmtp.compose(
            "a@example.org", "b@example.org", f"order {i}", text="x\n",
            attachments=[objs["file"]], dkim=objs["dkim"] if i % 2 else ())
        objs["session"] = libsmtp.Session(url("SMTP_PY_AIO_PORT", "?tls=none"))
        report = objs["session"].send(objs["message"])
        for name in order:
            del objs[name]
            gc.collect()
        assert report.sent and report.recipients[0].address == "b@example.org"
        assert attachment_of(aio.record(-1)["content"]) == data
    assert live() == []


def test_composed_objects_freed_in_every_order_while_in_flight(ed_pem):
    """The sink answers DATA after 60 s: the messages stay in flight, holding the
    composer, while the test drops the objects in every order."""
    names = ("session", "tasks", "message", "file")

    async def one(order, signed):
        lines = []
        objs = {"file": io.BytesIO(b"in flight" * 100)}
        dkim = libsmtp.DKIM("example.org", "ed", key_pem=ed_pem) if signed else ()
        objs["message"] = libsmtp.compose("a@example.org", ["r1@example.org", "r2@example.org"],
                                          "in flight", text="x\n", attachments=[objs["file"]],
                                          dkim=dkim)
        objs["session"] = libsmtp.AsyncSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"),
                                               trace=lambda d, line: lines.append((d, line)))
        objs["tasks"] = [asyncio.ensure_future(objs["session"].send(objs["message"]))]
        if signed:  # spooled: the same message may be in flight twice
            objs["tasks"].append(asyncio.ensure_future(objs["session"].send(objs["message"])))
        await until_traced(lines, ("send", "DATA"))
        reports = await drop_in_order(objs, order)
        # the first was cancelled, which abandoned the session and the second
        assert [r.error for r in reports] == (["SMTP_ESTATE"] if signed else [])

    for i, order in enumerate(itertools.permutations(names)):
        with pytest.warns(ResourceWarning, match="unclosed"):
            asyncio.run(one(order, signed=bool(i % 2)))
            gc.collect()
    assert live() == []


def test_composer_message_and_session_freed_in_every_order():
    lib = libsmtp._native.native()
    for order in itertools.permutations(("session", "m1", "m2", "composer")):
        msg = libsmtp.compose("a@example.org", "b@example.org", "q", text="q\n",
                              attachments=[b"bytes", io.BytesIO(b"reader")])
        composer = msg._composer
        del msg
        core = CSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), {})
        msgs = {}
        for name in ("m1", "m2"):
            msgs[name] = CMessage(lib, prepare(libsmtp.compose(
                "a@example.org", "b@example.org", name, text="q\n"), None, None,
                message_options()))
            core.submit(msgs[name])
        # the one with a reader can fill one message at a time
        reader_msg = CMessage(lib, prepare(libsmtp.ComposedMessage(composer, None, None),
                                           None, None, message_options()))
        with pytest.raises(RuntimeError, match="being sent already"):
            CMessage(lib, prepare(libsmtp.ComposedMessage(composer, None, None), None, None,
                                  message_options()))
        core.submit(reader_msg)
        assert lib.session_queued(core.ptr) == 3
        for name in order:
            if name == "session":
                core.shutdown()
            elif name == "composer":
                composer.free()  # frees the message it filled first, and its session
                assert reader_msg.ptr is None and not core.alive
            else:
                msgs[name].free()
        assert not core.alive and composer.ptr is None
        assert all(m.ptr is None for m in (*msgs.values(), reader_msg))
    assert live() == []


def test_composed_cycle_collected_by_gc():
    """A cycle through the session, the queued message, the composer, its reader
    and the file object: the collector finalises it in any order."""
    lib = libsmtp._native.native()
    for _ in range(3):
        core = CSession(url("SMTP_PY_SINK_STALL_PORT", "?tls=none"), {})
        f = io.BytesIO(b"cycle")
        msg = libsmtp.compose("a@example.org", "b@example.org", "cycle", text="c\n",
                              attachments=[f])
        m = CMessage(lib, prepare(msg, None, None, message_options()))
        core.submit(m)
        f.session = core  # the file object holds the session, which holds the message
        core.keep["cycle"] = core
        del core, f, msg, m
        gc.collect()
    assert live() == []


def test_render_memory_released():
    msg = libsmtp.compose("a@example.org", "b@example.org", "render", text="r\n" * 1000,
                          attachments=[os.urandom(100_000)])
    sizes = {len(bytes(msg)) for _ in range(50)}
    assert len(sizes) == 1 and sizes.pop() > 130_000
    del msg
    assert live() == []

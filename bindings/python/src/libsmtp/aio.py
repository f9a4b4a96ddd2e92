"""The asyncio session: ``async with libsmtp.AsyncSession(url) as s: await s.send(m)``.

The library's nonblocking API is driven from the event loop: smtp_submit queues
every message given to send() (queued messages go out pipelined over the one
connection, RFC 2920), smtp_session_process advances the session, and the loop
waits with add_reader/add_writer on smtp_session_fd and a timer on
smtp_session_timeout_ms. The descriptor changes as the session resolves, races its
connects and reconnects (and is -1 before the first process call), so the watchers
are removed before every call into the library and set again from the fresh fd,
events and deadline after it: the loop never watches a descriptor that the library
may have closed and reused.
"""

from __future__ import annotations

import asyncio
import types
import warnings
from typing import Any, Callable, Coroutine, Dict, List, Optional, Type

from ._core import CMessage, CSession
from ._message import MessageArg, RecipientsArg, message_options, prepare
from .errors import error_for_report
from .report import Report
from .session import _IDLE_POLL_MS

__all__ = ["AsyncSession"]


class _Op:
    """A call driven until it stops returning SMTP_EAGAIN (smtp_connect, smtp_quit)."""

    def __init__(self, call: Callable[[int], int], future: "asyncio.Future[int]") -> None:
        self.call = call
        self.future = future


class AsyncSession:
    """A connection to one mail server driven by the running asyncio loop.

    Takes the url and options of libsmtp.Session. Many send() calls at once share
    the one connection, their messages pipelined in the order given. The session
    belongs to the loop that first uses it.

    Cancelling a send() whose message is already with the library abandons the
    session (smtp_session_abandon): the connection closes at once without QUIT,
    every message in flight ends with a deferred report (error SMTP_ESTATE,
    "abandoned"; maybe_delivered when its final dot had gone out), and the next
    send() connects again. Wrap a send in asyncio.shield() to let it finish
    instead. Leaving ``async with`` by cancellation abandons the session too; by
    a normal exit or an exception, close() waits for the messages in flight and
    sends QUIT.
    """

    def __init__(self, url: str, **options: Any) -> None:
        self._core = CSession(url, options)
        # filled from within the C call that finished a message, emptied after it;
        # the callback holds the list, not the session (no reference cycle)
        self._finished: List[CMessage] = []
        self._core.on_message_done(self._finished.append)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._pending: List[CMessage] = []
        self._jobs: Dict[CMessage, "asyncio.Future[Report]"] = {}
        self._op: Optional[_Op] = None
        self._reader = -1
        self._writer = -1
        self._timer: Optional[asyncio.TimerHandle] = None
        self._soon: Optional[asyncio.Handle] = None
        self._closing = False

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[types.TracebackType]) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.abandon()
            self._shutdown()
        else:
            await self.close()

    # ---- public calls ----

    @property
    def queued(self) -> int:
        """Messages given to send() whose report is not final yet."""
        return len(self._jobs)

    def send(self, message: MessageArg, from_: Optional[str] = None,
             to: Optional[RecipientsArg] = None, **options: Any) -> Coroutine[Any, Any, Report]:
        """Checks the arguments now (ValueError, TypeError, like Session.send) and
        returns a coroutine that queues the message and returns its Report for
        every outcome. A libsmtp.ComposedMessage is handed to the library here:
        with DKIM signers its parts are read now, in the loop's thread."""
        prepared = prepare(message, from_, to, message_options(**options))
        if self._closing or not self._core.alive:
            raise RuntimeError("the session is closed")
        return self._send(CMessage(self._core.lib, prepared))

    async def connect(self) -> Report:
        """Connects unless connected and returns the connection report; raises the
        libsmtp.Error subclass of the failure, like Session.connect."""
        lib = self._core.lib
        rc = await self._run(lib.connect)
        report = self._core.connection_report()
        if rc:
            exc = error_for_report(report)
            if exc is None:
                raise RuntimeError(f"smtp_connect: {lib.error_label(rc)}")
            raise exc
        return report

    async def close(self) -> None:
        """Waits for the messages in flight, sends QUIT, frees the session.
        Idempotent. Cancelled, it abandons the session and frees it."""
        if self._closing:
            return
        self._closing = True
        try:
            if self._loop is not None and self._core.alive:
                for msg in list(self._pending):
                    self._submit(msg)
                self._pending.clear()
                if self._jobs:
                    await asyncio.wait(list(self._jobs.values()))
                await self._run(self._core.lib.quit)
        except BaseException:
            self.abandon()
            raise
        finally:
            self._shutdown()

    def abandon(self) -> None:
        """Closes the connection at once without QUIT; every message in flight
        completes now with a deferred report. The session may send again."""
        self._unwatch()
        if not self._core.alive:
            return
        # queued first, so that their reports too say abandoned
        for msg in self._pending:
            self._submit(msg)
        self._pending.clear()
        self._core.abandon()
        if self._op is not None:
            op, self._op = self._op, None
            if not op.future.done():
                op.future.set_result(self._core.lib.err("SMTP_ESTATE"))
        self._settle()

    # ---- driving ----

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("an AsyncSession is used from the loop that first used it")
        return loop

    async def _send(self, msg: CMessage) -> Report:
        loop = self._bind()
        fut: "asyncio.Future[Report]" = loop.create_future()
        self._jobs[msg] = fut
        self._pending.append(msg)
        self._kick()
        try:
            return await fut
        except asyncio.CancelledError:
            if msg in self._pending:
                self._pending.remove(msg)
                self._jobs.pop(msg, None)
                msg.free()
            elif msg.session is not None:
                self.abandon()
            raise

    async def _run(self, call: Callable[[int], int]) -> int:
        loop = self._bind()
        if self._op is not None:
            raise RuntimeError("connect() or close() is already under way")
        if not self._core.alive:
            raise RuntimeError("the session is closed")
        fut: "asyncio.Future[int]" = loop.create_future()
        self._op = _Op(call, fut)
        self._kick()
        try:
            return await fut
        except asyncio.CancelledError:
            self.abandon()
            raise

    def _kick(self) -> None:
        if self._soon is None and self._loop is not None:
            self._soon = self._loop.call_soon(self._step)

    def _unwatch(self) -> None:
        loop = self._loop
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if loop is None or loop.is_closed():
            self._reader = self._writer = -1
            return
        if self._reader >= 0:
            loop.remove_reader(self._reader)
            self._reader = -1
        if self._writer >= 0:
            loop.remove_writer(self._writer)
            self._writer = -1

    def _watch(self) -> None:
        loop = self._loop
        lib, s = self._core.lib, self._core.ptr
        assert loop is not None and s
        fd, events, ms = lib.session_fd(s), lib.session_events(s), lib.session_timeout_ms(s)
        if fd >= 0 and events & 1:
            loop.add_reader(fd, self._step)
            self._reader = fd
        if fd >= 0 and events & 2:
            loop.add_writer(fd, self._step)
            self._writer = fd
        if ms < 0 and self._reader < 0 and self._writer < 0:
            ms = _IDLE_POLL_MS
        if ms >= 0:
            self._timer = loop.call_later(ms / 1000, self._step)

    def _submit(self, msg: CMessage) -> None:
        try:
            self._core.submit(msg)
        except ValueError as e:
            fut = self._jobs.pop(msg, None)
            msg.free()
            if fut is not None and not fut.done():
                fut.set_exception(e)

    def _step(self) -> None:
        self._unwatch()
        core = self._core
        if not core.alive:
            return
        try:
            lib, s = core.lib, core.ptr
            assert s is not None
            for msg in self._pending:
                self._submit(msg)
            self._pending.clear()
            op = self._op
            rc = op.call(s) if op is not None else lib.session_process(s)
            eagain = lib.err("SMTP_EAGAIN")
            progress = bool(self._finished)
            self._settle()
            if op is not None and rc != eagain:
                self._op = None
                if not op.future.done():
                    op.future.set_result(rc)
            if rc == eagain:
                self._watch()
            elif self._op is not None or self._pending:
                self._kick()
            elif core.queued:
                # messages left after connect returned, or after the connection
                # ended (the next process reconnects for them); a call that
                # finished nothing and left them queued would spin: abandon
                if progress or (op is not None and rc == 0):
                    self._kick()
                else:
                    self.abandon()
        except BaseException as e:
            self._fail_all(e)
            raise

    def _settle(self) -> None:
        """Resolves the futures of the messages whose reports became final, then
        frees those messages (never inside the C call that finished them)."""
        done = list(self._finished)
        self._finished.clear()
        for msg in done:
            fut = self._jobs.pop(msg, None)
            report = msg.report() if msg.ptr else None
            error = msg.take_error()
            msg.free()
            if fut is None or fut.done():
                continue
            if error is not None:
                fut.set_exception(error)
            elif report is not None:
                fut.set_result(report)

    def _fail_all(self, exc: BaseException) -> None:
        self._core.shutdown()
        for fut in self._jobs.values():
            if not fut.done():
                fut.set_exception(exc)
        self._jobs.clear()
        self._pending.clear()
        self._finished.clear()
        if self._op is not None and not self._op.future.done():
            self._op.future.set_exception(exc)
        self._op = None

    def _shutdown(self) -> None:
        self._closing = True
        self._unwatch()
        self._core.shutdown()
        self._finished.clear()
        for msg, fut in self._jobs.items():
            msg.free()
            if not fut.done():
                fut.cancel()
        self._jobs.clear()

    def __del__(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None and core.alive:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self)
            self._shutdown()

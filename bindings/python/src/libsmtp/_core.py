"""The C objects and who owns them.

The library references, without copying: a message's content bytes (until its report
is final), a queued message (until its report is final), the trace, message and key
password callbacks and the TLS cache (for the session's life). So:

- a CMessage holds its content bytes (or, composed, the CCompose it reads from:
  libsmtp._composer), and is freed only when its report is final and it is no
  longer queued;
- a CSession holds its callbacks, its TLS cache, and every CMessage queued on it;
  a queued CMessage holds its CSession;
- whichever of the two is finalised first (the garbage collector may take a cycle in
  any order) shuts the session down first: the message callback is removed, the
  session abandoned (every queued message's report becomes final) and freed; only
  then are the messages freed.

Reports are copied into Python objects (report.snapshot) before anything is freed, so
no Python object ever points into C memory that can go away.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional

from ._message import Prepared
from ._native import MESSAGE_FN, Native, native
from .options import Settings
from .report import Report, snapshot


class CMessage:
    """One smtp_message with the bytes it references."""

    def __init__(self, lib: Native, prepared: Prepared) -> None:
        self.lib = lib
        self.session: Optional["CSession"] = None
        self.composer: Optional[Any] = None  # set by CCompose.fill
        self.data: Optional[bytes] = prepared.data
        self.ptr: Optional[int] = lib.message_new()
        if not self.ptr:
            raise MemoryError("smtp_message_new")
        try:
            self._build(prepared)
        except BaseException:
            self.free()
            raise

    def _check(self, what: str, rc: int) -> None:
        if rc == self.lib.err("SMTP_ENOMEM"):
            raise MemoryError(what)
        if rc:
            raise ValueError(f"{what}: {self.lib.error_message(rc)}")

    def _build(self, p: Prepared) -> None:
        lib, m, o = self.lib, self.ptr, p.options
        if p.composed is not None:
            # envelope, content reader and SIZE hint from the composer
            p.composed.fill(self)
        else:
            self._envelope(p)
            # referenced, not copied: self.data lives until free()
            self._check("message", lib.message_set_data(m, self.data, len(p.data)))
        if o.body_type:
            self._check("body_type", lib.message_set_body_type(m, o.body_type))
        if o.allow_long_lines:
            self._check("allow_long_lines", lib.message_allow_long_lines(m, 1))
        if o.requiretls:
            self._check("requiretls", lib.message_set_requiretls(m, 1))
        if o.dsn:
            self._check("dsn", lib.message_set_dsn(m, o.dsn_ret, o.dsn_envid, o.dsn_required))

    def _envelope(self, p: Prepared) -> None:
        lib, m, o = self.lib, self.ptr, p.options
        self._check(f"from_ {p.sender.decode()!r}", lib.message_set_from(m, p.sender))
        for rcpt in p.recipients:
            if o.dsn_notify:
                rc = lib.message_add_rcpt_dsn(m, rcpt, o.dsn_notify, None)
            else:
                rc = lib.message_add_rcpt(m, rcpt)
            self._check(f"to {rcpt.decode()!r}", rc)

    def take_error(self) -> Optional[BaseException]:
        """The exception a composed message's file object raised while the library
        read it (once), or None."""
        return self.composer.take_error() if self.composer is not None else None

    def pending(self) -> bool:
        """Whether the report is not final yet (SMTP_PENDING)."""
        assert self.ptr
        return bool(self.lib.report_outcome(self.lib.message_report(self.ptr)) == 0)

    def report(self) -> Report:
        """A snapshot of the message's report."""
        assert self.ptr
        return snapshot(self.lib, self.lib.message_report(self.ptr))

    def free(self) -> None:
        """Frees the C message (never while it is queued), then lets go of its
        bytes or its composer."""
        if self.session is not None:
            self.session.shutdown()
        ptr, self.ptr = self.ptr, None
        if ptr:
            self.lib.message_free(ptr)
        self.data = None
        composer, self.composer = self.composer, None
        if composer is not None and ptr:
            composer.release(ptr)

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.free()


class CSession:
    """One nonblocking smtp_session with what it references."""

    def __init__(self, url: Any, options: Mapping[str, Any]) -> None:
        lib = self.lib = native()
        settings = Settings(lib, url, options)
        self.keep: Dict[str, Any] = settings.keep
        self.queued: Dict[int, CMessage] = {}
        self._on_done: Optional[Callable[[CMessage], None]] = None
        self._message_fn: Any = None
        self.ptr: Optional[int] = lib.session_new()
        if not self.ptr:
            raise MemoryError("smtp_session_new")
        try:
            settings.apply(lib, self.ptr)
            lib.session_set_nonblocking(self.ptr, 1)
        except BaseException:
            self.shutdown()
            raise

    @property
    def alive(self) -> bool:
        return self.ptr is not None

    def on_message_done(self, fn: Callable[[CMessage], None]) -> None:
        """Calls fn(message) from within the C call that made a queued message's
        report final. fn must not call into the session."""

        queued = self.queued  # not self: the callback must not keep the session alive

        def done(_ud: Any, _s: Any, m: int) -> None:
            msg = queued.pop(m, None)
            if msg is not None:
                msg.session = None
                fn(msg)

        self._message_fn = MESSAGE_FN(done)
        self.lib.session_set_message_callback(self.ptr, self._message_fn, None)

    def submit(self, msg: CMessage) -> None:
        """Queues msg (smtp_submit); it stays referenced until its report is final."""
        assert self.ptr and msg.ptr
        rc = self.lib.submit(self.ptr, msg.ptr)
        if rc:
            raise ValueError(f"smtp_submit: {self.lib.error_message(rc)}")
        self.queued[msg.ptr] = msg
        msg.session = self

    def settled(self, msg: CMessage) -> None:
        """Marks msg unqueued once its report is final (sessions without a message
        callback, which learn it from smtp_send's return)."""
        if msg.ptr is not None and self.queued.pop(msg.ptr, None) is not None:
            msg.session = None

    def abandon(self) -> None:
        """smtp_session_abandon: closes at once; every queued message completes."""
        if self.ptr:
            self.lib.session_abandon(self.ptr)

    def connection_report(self) -> Report:
        """A snapshot of the session's connection report."""
        assert self.ptr
        return snapshot(self.lib, self.lib.session_report(self.ptr))

    def shutdown(self) -> None:
        """Ends the session without QUIT and frees it; queued messages end first
        (their reports say abandoned) and are then free to be freed."""
        ptr = self.ptr
        if not ptr:
            return
        if self._message_fn is not None:
            self.lib.session_set_message_callback(ptr, MESSAGE_FN(0), None)
        self.lib.session_abandon(ptr)
        self.ptr = None
        self.lib.session_free(ptr)
        for msg in list(self.queued.values()):
            msg.session = None
        self.queued.clear()
        self._message_fn = None
        self.keep = {}

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.shutdown()

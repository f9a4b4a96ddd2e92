"""The blocking session: ``with libsmtp.Session(url) as s: s.send(msg)``."""

from __future__ import annotations

import select
import threading
import types
from ctypes import byref, c_char_p
from typing import Any, Callable, Optional, Type

from ._core import CMessage, CSession
from ._message import MessageArg, RecipientsArg, message_options, prepare
from .errors import error_for_report
from .options import check_text
from .report import Report

__all__ = ["Session"]

# How long to wait when the library has nothing to wait on but is not done
# (SMTP_EAGAIN with no descriptor and no deadline): look again soon.
_IDLE_POLL_MS = 50


def wait_ready(lib: Any, s: int) -> None:
    """Waits until the session's descriptor is ready as it asked, or its deadline."""
    fd = lib.session_fd(s)
    events = lib.session_events(s)
    timeout = lib.session_timeout_ms(s)
    poller = select.poll()
    mask = (select.POLLIN if events & 1 else 0) | (select.POLLOUT if events & 2 else 0)
    if fd >= 0 and mask:
        poller.register(fd, mask)
    elif timeout < 0:
        timeout = _IDLE_POLL_MS
    poller.poll(timeout)


class Session:
    """A connection to one mail server, used by one thread at a time (calls from
    several threads are serialised).

    ``url`` is smtp://[user[:password]@]host[:port] (STARTTLS required, port 587),
    smtp://host?tls=opportunistic or ?tls=none, smtps://host (implicit TLS, 465),
    lmtp://host:port or lmtp:///path/to/socket. The keyword options are those of
    libsmtp.options (ca_file, timeouts, user, trace, ...); a bad value raises
    ValueError or TypeError here, before any connection.

    Nothing connects until connect() or the first send(). The library's
    nonblocking calls are driven from a poll loop in Python, so a signal
    (KeyboardInterrupt) interrupts a call at once; the session is then abandoned
    (closed without QUIT) and may be used again.
    """

    def __init__(self, url: str, **options: Any) -> None:
        self._core = CSession(url, options)
        self._lock = threading.Lock()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[types.TracebackType]) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.abandon()
        self.close()

    def _drive(self, call: Callable[[int], int]) -> int:
        """Calls call(session) until it stops returning SMTP_EAGAIN."""
        core = self._core
        if not core.alive:
            raise RuntimeError("the session is closed")
        lib, s = core.lib, core.ptr
        assert s is not None
        eagain = lib.err("SMTP_EAGAIN")
        rc = call(s)
        try:
            while rc == eagain:
                wait_ready(lib, s)
                rc = call(s)
        except BaseException:
            core.abandon()
            raise
        return rc

    def connect(self) -> Report:
        """Connects (resolve, connect, greeting, EHLO, STARTTLS, AUTH) unless
        connected, and returns the connection report. Raises the libsmtp.Error
        subclass of the failure (ConnectError, CertificateError, AuthError, ...),
        with the report attached."""
        with self._lock:
            lib = self._core.lib
            rc = self._drive(lib.connect)
            report = self._core.connection_report()
        if rc:
            exc = error_for_report(report)
            if exc is None:  # a report that says sent beside a failed call
                raise RuntimeError(f"smtp_connect: {lib.error_label(rc)}")
            raise exc
        return report

    def send(self, message: MessageArg, from_: Optional[str] = None,
             to: Optional[RecipientsArg] = None, **options: Any) -> Report:
        """Sends one message (connecting first if needed) and returns its Report
        for every outcome: a refused recipient, a refused connection or a lost one
        is a report, not an exception (report.raise_for_outcome() turns it into
        one).

        message: bytes, an email.message.EmailMessage (serialised with CRLF by
        its policy, email.policy.SMTP for the default one, without Bcc), or a
        libsmtp.ComposedMessage (libsmtp.compose: its envelope is the
        composer's). from_ and to: the envelope; taken from the EmailMessage's
        headers when None (smtplib.send_message's rules); not for a composed
        message. options: body_type, allow_long_lines, requiretls, dsn_ret,
        dsn_envid, dsn_notify (not for a composed message), dsn_required.
        Raises ValueError or TypeError for invalid arguments, before sending.
        An exception raised by the read() of a composed message's file object
        is raised here, after the library ended that message (its report:
        failed at stage body).
        """
        prepared = prepare(message, from_, to, message_options(**options))
        with self._lock:
            core = self._core
            if not core.alive:
                raise RuntimeError("the session is closed")
            lib = core.lib
            msg = CMessage(lib, prepared)
            try:
                core.submit(msg)
                m = msg.ptr
                try:
                    self._drive(lambda s: int(lib.send(s, m)))
                finally:
                    if msg.pending():
                        # the call ended without finishing the message: end it now
                        core.abandon()
                    core.settled(msg)
                report, error = msg.report(), msg.take_error()
            finally:
                msg.free()
        if error is not None:
            raise error
        return report

    def extension(self, keyword: str) -> Optional[str]:
        """The parameters the server's EHLO reply gave keyword ("" when none), or
        None when it did not list it (or the session is not connected)."""
        kw = check_text("keyword", keyword)
        with self._lock:
            if not self._core.alive:
                return None
            params = c_char_p()
            if not self._core.lib.session_has_extension(self._core.ptr, kw, byref(params)):
                return None
            return (params.value or b"").decode("utf-8", "replace")

    @property
    def connection_report(self) -> Report:
        """A snapshot of the current connection's report (its steps so far)."""
        with self._lock:
            if not self._core.alive:
                raise RuntimeError("the session is closed")
            return self._core.connection_report()

    def quit(self) -> None:
        """Sends QUIT and closes the connection; the session may connect again."""
        with self._lock:
            if self._core.alive:
                self._drive(self._core.lib.quit)

    def abandon(self) -> None:
        """Closes the connection at once, without QUIT (smtp_session_abandon)."""
        with self._lock:
            self._core.abandon()

    def close(self) -> None:
        """QUIT, then frees the session. Idempotent."""
        with self._lock:
            if self._core.alive:
                try:
                    self._drive(self._core.lib.quit)
                finally:
                    self._core.shutdown()

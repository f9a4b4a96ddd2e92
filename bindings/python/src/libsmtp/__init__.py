"""libsmtp: send mail through the libsmtp C library (ctypes over libsmtp.so.0).

    import libsmtp
    with libsmtp.Session("smtp://user:secret@mail.example.org") as s:
        report = s.send(email_message)          # an EmailMessage, or bytes + envelope
        report.raise_for_outcome()              # or read report.recipients

    async with libsmtp.AsyncSession("smtp://mail.example.org") as s:
        reports = await asyncio.gather(*(s.send(m) for m in messages))  # pipelined

Sessions (libsmtp.Session, libsmtp.AsyncSession), their options
(libsmtp.options), reports (libsmtp.Report with Step, Recipient, TLSInfo) and the
exceptions (libsmtp.errors). The library file is found as libsmtp._native says
(LIBSMTP_PATH, the system's loader, an install prefix); it is loaded by the first
session, not by this import.

The message composer (lib/compose) is not wrapped yet: libsmtp.compose(...) will
wrap it once that C API lands, and send() will take what it builds beside bytes
and EmailMessage (libsmtp._message.prepare is the one place that changes).
"""

from ._native import LibraryNotFoundError, native
from .aio import AsyncSession
from .errors import (
    AbandonedError,
    AuthError,
    BouncedError,
    CertificateError,
    ClientRefusedError,
    ConnectError,
    ConnectionLostError,
    DeferredError,
    Error,
    FailedError,
    HostNotFoundError,
    InvalidMessageError,
    MessageTooLargeError,
    NoMechanismError,
    OutOfMemoryError,
    PartialDeliveryError,
    ProtocolError,
    ResolveError,
    SMTPUTF8Error,
    TLSError,
    TLSUnavailableError,
    TemporaryResolveError,
    TimeoutError,
)
from .options import TLSCache
from .report import Recipient, Report, Step, TLSInfo
from .session import Session

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded C library's version ("0.1.0"); loads the library."""
    return native().version


def library_path() -> str:
    """The file or name the C library was loaded from; loads the library."""
    return native().path


__all__ = [
    "Session",
    "AsyncSession",
    "TLSCache",
    "Report",
    "Step",
    "Recipient",
    "TLSInfo",
    "LibraryNotFoundError",
    "library_version",
    "library_path",
    "Error",
    "DeferredError",
    "ConnectError",
    "TimeoutError",
    "ConnectionLostError",
    "ProtocolError",
    "AbandonedError",
    "BouncedError",
    "MessageTooLargeError",
    "SMTPUTF8Error",
    "PartialDeliveryError",
    "FailedError",
    "TLSError",
    "CertificateError",
    "TLSUnavailableError",
    "AuthError",
    "NoMechanismError",
    "ClientRefusedError",
    "InvalidMessageError",
    "OutOfMemoryError",
    "ResolveError",
    "TemporaryResolveError",
    "HostNotFoundError",
]

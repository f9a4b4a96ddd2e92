"""libsmtp: send mail through the libsmtp C library (ctypes over libsmtp.so.0).

    import libsmtp
    with libsmtp.Session("smtp://user:secret@mail.example.org") as s:
        report = s.send(email_message)          # an EmailMessage, or bytes + envelope
        report.raise_for_outcome()              # or read report.recipients

    async with libsmtp.AsyncSession("smtp://mail.example.org") as s:
        reports = await asyncio.gather(*(s.send(m) for m in messages))  # pipelined

    msg = libsmtp.compose("Alice <alice@example.org>", "bob@example.org", "Hello",
                          text="Hi Bob.", attachments=[pathlib.Path("report.pdf")],
                          dkim=[libsmtp.DKIM("example.org", "s1", key_file="dkim.pem")])
    report = s.send(msg)                        # envelope from the composer

Sessions (libsmtp.Session, libsmtp.AsyncSession), their options
(libsmtp.options), reports (libsmtp.Report with Step, Recipient, TLSInfo), the
exceptions (libsmtp.errors), and the library's message composer
(libsmtp.compose with Attachment, Inline and ComposedMessage; libsmtp.DKIM). The
library file is found as libsmtp._native says (LIBSMTP_PATH, the system's loader,
an install prefix); it is loaded by the first session, compose() or DKIM, not by
this import.
"""

from ._native import LibraryNotFoundError, native
from .aio import AsyncSession
from .compose import Attachment, ComposedMessage, Inline, compose
from .dkim import DKIM
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
    "compose",
    "ComposedMessage",
    "Attachment",
    "Inline",
    "DKIM",
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

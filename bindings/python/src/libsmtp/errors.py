"""Exceptions raised by ``Report.raise_for_outcome()`` and ``Session.connect()``.

The first level says what to do, following the report's outcome (the library's
doc/report-schema.md); the classes below it say why, following the smtp_err of the report::

    Error
    ├── DeferredError           outcome "deferred": retry later
    │   ├── ConnectError            SMTP_ECONNECT: refused or unreachable
    │   ├── TimeoutError            SMTP_ETIMEDOUT: a stage passed its deadline
    │   ├── ConnectionLostError     SMTP_ECLOSED: 421, or the connection dropped
    │   ├── ProtocolError           SMTP_EPROTOCOL: the server broke the protocol
    │   ├── AbandonedError          SMTP_ESTATE: the session was abandoned (cancelled)
    │   └── TemporaryResolveError   SMTP_ERESOLVE, for now (also a ResolveError)
    ├── BouncedError            outcome "bounced": never retry unchanged
    │   ├── MessageTooLargeError    SMTP_ESIZE: over the server's SIZE limit
    │   └── SMTPUTF8Error           SMTP_EUTF8: an address needs SMTPUTF8
    ├── PartialDeliveryError    outcome "sent_partial": some recipients refused
    ├── FailedError             outcome "failed": fix the configuration
    │   ├── TLSError                SMTP_ETLS: the handshake failed
    │   │   ├── CertificateError        SMTP_ECERT: the certificate did not verify
    │   │   └── TLSUnavailableError     SMTP_ENOTLS: TLS required, not offered
    │   ├── AuthError               SMTP_EAUTH: credentials refused
    │   │   └── NoMechanismError        SMTP_ENOMECH: no usable mechanism
    │   ├── ClientRefusedError      SMTP_EREJECTED: a 5xx greeting or EHLO
    │   ├── InvalidMessageError     SMTP_EINVAL found while sending (also ValueError)
    │   ├── OutOfMemoryError        SMTP_ENOMEM (also MemoryError)
    │   └── HostNotFoundError       SMTP_ERESOLVE: no such name (also a ResolveError)
    └── ResolveError            SMTP_ERESOLVE, either kind

So ``except libsmtp.DeferredError`` catches exactly the reports whose outcome is
"deferred". A cause class is raised only when it agrees with the outcome; when the
library pairs an error with another outcome, the outcome's class is raised, and
``exc.error`` still names the error. ``libsmtp.TimeoutError`` is also the built-in
``TimeoutError``.

Invalid arguments never come here: they raise ValueError or TypeError at once.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Dict, List, Optional, Type

if TYPE_CHECKING:
    from .report import Report


class Error(Exception):
    """A report whose outcome is not "sent". ``report`` is the Report (None when the
    exception was made by hand); ``outcome``, ``error`` (the smtp_err identifier),
    ``error_code`` and ``stage`` (the failed stage) are copied from it."""

    def __init__(self, message: str, report: Optional["Report"] = None) -> None:
        super().__init__(message)
        self.report = report
        self.outcome: Optional[str] = report.outcome if report else None
        self.error: Optional[str] = report.error if report else None
        self.error_code: int = report.error_code if report else 0
        self.stage: Optional[str] = report.failed_stage if report else None


class DeferredError(Error):
    """Outcome "deferred": a temporary failure decided it; retry later."""


class ConnectError(DeferredError):
    """SMTP_ECONNECT: no address of the server accepted the connection."""


class TimeoutError(DeferredError, builtins.TimeoutError):
    """SMTP_ETIMEDOUT: a stage passed its deadline (see the ``timeouts`` option)."""


class ConnectionLostError(DeferredError):
    """SMTP_ECLOSED: the server sent 421 or the connection was lost."""


class ProtocolError(DeferredError):
    """SMTP_EPROTOCOL: the server sent a malformed or unexpected reply."""


class AbandonedError(DeferredError):
    """SMTP_ESTATE with outcome "deferred": the session was abandoned (a cancelled
    AsyncSession send, an interrupted Session) before the server decided."""


class BouncedError(Error):
    """Outcome "bounced": a 5xx reply decided it; never retry unchanged. Only a
    recipient bounced at stage "rcpt" says that its address is bad."""


class MessageTooLargeError(BouncedError):
    """SMTP_ESIZE: the message exceeds the server's SIZE limit."""


class SMTPUTF8Error(BouncedError):
    """SMTP_EUTF8: an address needs SMTPUTF8, which the server lacks."""


class PartialDeliveryError(Error):
    """Outcome "sent_partial": some recipients accepted the message; the report's
    recipients say which did not, and why."""


class FailedError(Error):
    """Outcome "failed": no server verdict on this message; fix the configuration
    and do not count it against the recipients."""


class TLSError(FailedError):
    """SMTP_ETLS: the TLS handshake failed (or a client certificate did not load)."""


class CertificateError(TLSError):
    """SMTP_ECERT: the server certificate did not verify (see ``ca_file``)."""


class TLSUnavailableError(TLSError):
    """SMTP_ENOTLS: TLS is required (the default) and the server does not offer it."""


class AuthError(FailedError):
    """SMTP_EAUTH: the server refused the credentials."""


class NoMechanismError(AuthError):
    """SMTP_ENOMECH: no authentication mechanism both sides support (or AUTH
    required and not offered)."""


class ClientRefusedError(FailedError):
    """SMTP_EREJECTED with outcome "failed": the server refused this client (a 5xx
    greeting or EHLO)."""


class InvalidMessageError(FailedError, ValueError):
    """SMTP_EINVAL found while sending: a body line over 998 octets, a NUL octet,
    8-bit content the server cannot take."""


class OutOfMemoryError(FailedError, MemoryError):
    """SMTP_ENOMEM inside the library."""


class ResolveError(Error):
    """SMTP_ERESOLVE: the server's name did not resolve (either subclass)."""


class TemporaryResolveError(ResolveError, DeferredError):
    """SMTP_ERESOLVE, temporary (the resolver could not answer for now)."""


class HostNotFoundError(ResolveError, FailedError):
    """SMTP_ERESOLVE: the name does not exist."""


_BY_OUTCOME: Dict[str, Type[Error]] = {
    "deferred": DeferredError,
    "bounced": BouncedError,
    "sent_partial": PartialDeliveryError,
    "failed": FailedError,
}

_BY_ERROR: Dict[str, List[Type[Error]]] = {
    "SMTP_ECONNECT": [ConnectError],
    "SMTP_ETIMEDOUT": [TimeoutError],
    "SMTP_ECLOSED": [ConnectionLostError],
    "SMTP_EPROTOCOL": [ProtocolError],
    "SMTP_ESTATE": [AbandonedError],
    "SMTP_ESIZE": [MessageTooLargeError],
    "SMTP_EUTF8": [SMTPUTF8Error],
    "SMTP_ETLS": [TLSError],
    "SMTP_ECERT": [CertificateError],
    "SMTP_ENOTLS": [TLSUnavailableError],
    "SMTP_EAUTH": [AuthError],
    "SMTP_ENOMECH": [NoMechanismError],
    "SMTP_EREJECTED": [ClientRefusedError],
    "SMTP_EINVAL": [InvalidMessageError],
    "SMTP_ENOMEM": [OutOfMemoryError],
    "SMTP_ERESOLVE": [TemporaryResolveError, HostNotFoundError],
}


def error_class(outcome: str, error: Optional[str]) -> Optional[Type[Error]]:
    """The class raise_for_outcome raises for this outcome and error, or None for
    "sent"."""
    if outcome == "sent":
        return None
    base = _BY_OUTCOME.get(outcome, Error)
    for cls in _BY_ERROR.get(error or "", []):
        if issubclass(cls, base):
            return cls
    return base


def _reply(code: Optional[int], enhanced: Optional[str], text: str) -> str:
    return " ".join(str(x) for x in (code, enhanced, text) if x)


def _describe(report: "Report") -> str:
    head = report.outcome
    if report.error:
        head += f" ({report.error}"
        head += f" at {report.failed_stage})" if report.failed_stage else ")"
    refused = [r for r in report.recipients if not r.accepted]
    if refused:
        parts = [f"{r.address}: {r.verdict} at {r.stage}: {_reply(r.code, r.enhanced, r.text)}"
                 for r in refused]
        return head + ": " + "; ".join(parts)
    failed = [s for s in report.steps if s.error or (s.code and s.code >= 400)]
    if failed:
        s = failed[-1]
        return f"{head}: {s.stage}: {_reply(s.code, s.enhanced, s.text)}"
    if report.detail:
        return f"{head}: {report.detail}"
    return head


def error_for_report(report: "Report") -> Optional[Error]:
    """The exception for a report (None when its outcome is "sent")."""
    cls = error_class(report.outcome, report.error)
    return cls(_describe(report), report) if cls else None

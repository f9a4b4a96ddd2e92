"""Reports: what the server answered, stage by stage, and each recipient's verdict.

A report is a plain Python snapshot taken the moment the C report became final: it
holds no pointer into the library, so it stays valid after the session reconnects
or is freed. Field names are those of the library's JSON (doc/report-schema.md);
``to_dict()`` returns that JSON's structure, and ``json`` is the library's own
rendering of the same report.
"""

from __future__ import annotations

import ctypes
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from ._native import Native

__all__ = ["Report", "Step", "Recipient", "TLSInfo"]


@dataclass(frozen=True)
class Step:
    """One command and its reply (or a local note: connect, TLS, a local error).

    stage: lower-case stage name ("rcpt"); arg: the recipient for RCPT, the sender
    for MAIL, else None; code: the reply code, None when no reply arrived; enhanced:
    "5.1.1" or None; text: the reply text, lines joined by "\\n"; error: the local
    error's identifier ("SMTP_ETIMEDOUT") or None; us: microseconds from the
    command's write to its reply, None for a local note.
    """

    stage: str
    arg: Optional[str]
    code: Optional[int]
    enhanced: Optional[str]
    text: str
    error: Optional[str]
    us: Optional[int]

    def to_dict(self) -> Dict[str, Any]:
        """The step as in the library's JSON ("arg" and "error" always present)."""
        return asdict(self)


@dataclass(frozen=True)
class Recipient:
    """One recipient's result, decided by one reply or one local error.

    verdict: "accepted", "deferred", "bounced", "failed" (doc/report-schema.md);
    stage, code, enhanced, text, error: those of the deciding reply or error.
    """

    address: str
    verdict: str
    stage: Optional[str]
    code: Optional[int]
    enhanced: Optional[str]
    text: str
    error: Optional[str]
    accepted: bool

    def to_dict(self) -> Dict[str, Any]:
        """The recipient as in the library's JSON, plus "error"."""
        return asdict(self)


@dataclass(frozen=True)
class TLSInfo:
    """TLS facts of the connection: protocol, cipher, resumption, peer certificate."""

    version: str
    cipher: str
    resumed: bool
    peer_subject: Optional[str]
    peer_issuer: Optional[str]

    def to_dict(self) -> Dict[str, Any]:
        """The "tls" object of the library's JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """What became of a message (or, from ``Session.connect``, of a connection).

    outcome: "sent", "sent_partial", "deferred", "bounced" or "failed";
    failed_stage: the stage that failed, or None; error: the smtp_err identifier
    ("SMTP_EREJECTED", "SMTP_ECERT") or None, error_code its value; detail: the OS,
    OpenSSL or libidn2 reason; maybe_delivered: the connection was lost after the
    final dot went out (a retry may deliver twice); peer: "127.0.0.1:587"; tls: a
    TLSInfo or None; steps and recipients: tuples of Step and Recipient; queue_id:
    the id the server gave the message; json: the library's JSON of this report.
    """

    outcome: str
    failed_stage: Optional[str]
    error: Optional[str]
    error_code: int
    detail: Optional[str]
    maybe_delivered: bool
    peer: Optional[str]
    enhanced_advertised: bool
    tls: Optional[TLSInfo]
    steps: Tuple[Step, ...]
    recipients: Tuple[Recipient, ...]
    queue_id: Optional[str]
    json: str = field(repr=False, compare=False)

    @property
    def sent(self) -> bool:
        """True when every recipient accepted the message."""
        return self.outcome == "sent"

    def recipient(self, address: str) -> Recipient:
        """The result of the recipient with this address (KeyError if none)."""
        for r in self.recipients:
            if r.address == address:
                return r
        raise KeyError(address)

    def to_dict(self) -> Dict[str, Any]:
        """Every key of the library's JSON (steps always carry "arg" and "error";
        recipients also carry "error")."""
        return {
            "outcome": self.outcome,
            "failed_stage": self.failed_stage,
            "error": self.error,
            "detail": self.detail,
            "maybe_delivered": self.maybe_delivered,
            "peer": self.peer,
            "enhanced_advertised": self.enhanced_advertised,
            "tls": self.tls.to_dict() if self.tls else None,
            "steps": [s.to_dict() for s in self.steps],
            "recipients": [r.to_dict() for r in self.recipients],
            "queue_id": self.queue_id,
        }

    def raise_for_outcome(self) -> None:
        """Returns when the outcome is "sent"; otherwise raises the libsmtp.Error
        subclass for the outcome and error (see libsmtp.errors), carrying this
        report."""
        from .errors import error_for_report

        exc = error_for_report(self)
        if exc is not None:
            raise exc


def _text(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


def _nonzero(v: int) -> Optional[int]:
    return v if v else None


def _stage(lib: "Native", v: int) -> Optional[str]:
    return lib.stage_name(v).decode() if v else None


def _error(lib: "Native", v: int) -> Optional[str]:
    return lib.error_label(v) if v else None


def _json(lib: "Native", r: int) -> str:
    size = 8192
    while True:
        buf = ctypes.create_string_buffer(size)
        need = lib.report_json(r, buf, size)
        if need < size:
            return buf.value.decode("utf-8", "replace")
        size = need + 1


def _steps(lib: "Native", r: int) -> Tuple[Step, ...]:
    out: List[Step] = []
    for i in range(lib.report_count(r)):
        st = lib.report_step(r, i)
        us = lib.step_elapsed_us(st)
        out.append(
            Step(
                stage=lib.stage_name(lib.step_stage(st)).decode(),
                arg=_text(lib.step_arg(st)),
                code=_nonzero(lib.step_code(st)),
                enhanced=_text(lib.step_enhanced(st)),
                text=_text(lib.step_text(st)) or "",
                error=_error(lib, lib.step_error(st)),
                us=us if us >= 0 else None,
            )
        )
    return tuple(out)


def _recipients(lib: "Native", r: int) -> Tuple[Recipient, ...]:
    out: List[Recipient] = []
    for i in range(lib.report_rcpt_count(r)):
        rr = lib.report_rcpt(r, i)
        out.append(
            Recipient(
                address=_text(lib.rcpt_address(rr)) or "",
                verdict=lib.verdict_name(lib.rcpt_verdict(rr)).decode(),
                stage=_stage(lib, lib.rcpt_stage(rr)),
                code=_nonzero(lib.rcpt_code(rr)),
                enhanced=_text(lib.rcpt_enhanced(rr)),
                text=_text(lib.rcpt_text(rr)) or "",
                error=_error(lib, lib.rcpt_error(rr)),
                accepted=bool(lib.rcpt_accepted(rr)),
            )
        )
    return tuple(out)


def snapshot(lib: "Native", r: int) -> Report:
    """A Python copy of the C report at address r (which must be valid now)."""
    version = _text(lib.report_tls_version(r))
    tls = None
    if version is not None:
        tls = TLSInfo(
            version=version,
            cipher=_text(lib.report_tls_cipher(r)) or "",
            resumed=bool(lib.report_tls_resumed(r)),
            peer_subject=_text(lib.report_tls_peer_subject(r)),
            peer_issuer=_text(lib.report_tls_peer_issuer(r)),
        )
    code = lib.report_error(r)
    return Report(
        outcome=lib.outcome_name(lib.report_outcome(r)).decode(),
        failed_stage=_stage(lib, lib.report_failed_stage(r)),
        error=_error(lib, code),
        error_code=code,
        detail=_text(lib.report_error_detail(r)),
        maybe_delivered=bool(lib.report_maybe_delivered(r)),
        peer=_text(lib.report_peer(r)),
        enhanced_advertised=bool(lib.report_enhanced_advertised(r)),
        tls=tls,
        steps=_steps(lib, r),
        recipients=_recipients(lib, r),
        queue_id=_text(lib.report_queue_id(r)),
        json=_json(lib, r),
    )

"""What send() is given, turned into content bytes and an envelope (pure Python).

An ``email.message.Message`` (``EmailMessage`` included) is serialised with its own
policy's rules and CRLF line ends (``email.policy.SMTP`` for the default policy),
with Bcc and Resent-Bcc removed; when no envelope is given, it comes from the
headers as ``smtplib.SMTP.send_message`` takes it: with one Resent- block (one
Resent-Date) the Resent- headers, else the plain ones; the sender from Sender, else
From; the recipients from To, Cc and Bcc (every occurrence; each address once).
Raw bytes are sent as they are and need ``from_`` and ``to``. A
``libsmtp.ComposedMessage`` brings its content and its envelope (Bcc recipients
only there) from the library's composer.
"""

from __future__ import annotations

import copy
import email.message
import email.policy
import email.utils
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple, Union

from .compose import ComposedMessage
from .options import check_flag, check_text

MessageArg = Union[bytes, bytearray, memoryview, email.message.Message, ComposedMessage]
RecipientsArg = Union[str, Iterable[str]]

BODY_TYPES = {"auto": 0, "7bit": 1, "8bitmime": 2, "binarymime": 3}
DSN_RET = {None: 0, "full": 1, "hdrs": 2}
NOTIFY = {"never": 1, "success": 2, "failure": 4, "delay": 8}


@dataclass(frozen=True)
class MessageOptions:
    """Per-message settings (keyword arguments of send()): body_type ("auto",
    "7bit", "8bitmime", "binarymime"), allow_long_lines, requiretls (RFC 8689),
    dsn_ret ("full", "hdrs"), dsn_envid, dsn_notify ("never", or a list of
    "success", "failure", "delay"), dsn_required."""

    body_type: int = 0
    allow_long_lines: int = 0
    requiretls: int = 0
    dsn_ret: int = 0
    dsn_envid: Optional[bytes] = None
    dsn_notify: int = 0
    dsn_required: int = 0

    @property
    def dsn(self) -> bool:
        return bool(self.dsn_ret or self.dsn_envid is not None or self.dsn_required)


@dataclass(frozen=True)
class Prepared:
    """Content and envelope, checked and encoded for the library; or the
    composer (a libsmtp._composer.CCompose) that gives both."""

    data: bytes
    sender: bytes
    recipients: Tuple[bytes, ...]
    options: MessageOptions
    composed: Optional[Any] = None


def message_options(
    body_type: str = "auto",
    allow_long_lines: bool = False,
    requiretls: bool = False,
    dsn_ret: Optional[str] = None,
    dsn_envid: Optional[str] = None,
    dsn_notify: Union[None, str, Iterable[str]] = None,
    dsn_required: bool = False,
) -> MessageOptions:
    """Checks send()'s keyword arguments (ValueError, TypeError)."""
    if body_type not in BODY_TYPES:
        raise ValueError(f"body_type must be one of {', '.join(BODY_TYPES)}, not {body_type!r}")
    if dsn_ret not in DSN_RET:
        raise ValueError(f"dsn_ret must be 'full', 'hdrs' or None, not {dsn_ret!r}")
    notify = 0
    if dsn_notify is not None:
        words = [dsn_notify] if isinstance(dsn_notify, str) else list(dsn_notify)
        for w in words:
            if w not in NOTIFY:
                raise ValueError(f"dsn_notify: {w!r} is not one of {', '.join(NOTIFY)}")
            notify |= NOTIFY[w]
        if not words or (notify & NOTIFY["never"] and notify != NOTIFY["never"]):
            raise ValueError("dsn_notify: 'never' alone, or any of success, failure, delay")
    return MessageOptions(
        body_type=BODY_TYPES[body_type],
        allow_long_lines=check_flag("allow_long_lines", allow_long_lines),
        requiretls=check_flag("requiretls", requiretls),
        dsn_ret=DSN_RET[dsn_ret],
        dsn_envid=check_text("dsn_envid", dsn_envid) if dsn_envid is not None else None,
        dsn_notify=notify,
        dsn_required=check_flag("dsn_required", dsn_required),
    )


def _addresses(values: List[Any]) -> List[str]:
    return [addr for _name, addr in email.utils.getaddresses([str(v) for v in values]) if addr]


def envelope_from_headers(msg: email.message.Message) -> Tuple[str, List[str]]:
    """Sender and recipients from the headers, by smtplib.send_message's rules."""
    resent = msg.get_all("Resent-Date")
    if resent is None:
        prefix = ""
    elif len(resent) == 1:
        prefix = "Resent-"
    else:
        raise ValueError("the message has more than one Resent- header block")
    sender_field = prefix + "Sender" if (prefix + "Sender") in msg else prefix + "From"
    senders = _addresses(msg.get_all(sender_field) or [])
    rcpts: List[str] = []
    for name in ("To", "Bcc", "Cc"):
        rcpts += _addresses(msg.get_all(prefix + name) or [])
    return (senders[0] if senders else ""), rcpts


def serialise(msg: email.message.Message) -> bytes:
    """The message's bytes with CRLF line ends, without Bcc and Resent-Bcc."""
    out = copy.copy(msg)
    del out["Bcc"]
    del out["Resent-Bcc"]
    policy = msg.policy
    if isinstance(policy, email.policy.EmailPolicy):
        policy = policy.clone(linesep="\r\n")
    else:
        policy = email.policy.SMTP
    return out.as_bytes(policy=policy)


def _recipients(to: Any) -> List[str]:
    if isinstance(to, str):
        return [to]
    if isinstance(to, (bytes, bytearray)):
        raise TypeError("to must be a str or a list of str, not bytes")
    try:
        return list(to)
    except TypeError:
        raise TypeError(f"to must be a str or a list of str, not {type(to).__name__}") from None


def prepare(message: Any, from_: Optional[str], to: Optional[RecipientsArg],
            options: MessageOptions) -> Prepared:
    """Content and envelope for send() (ValueError, TypeError at once)."""
    if isinstance(message, ComposedMessage):
        if from_ is not None or to is not None:
            raise ValueError("a composed message brings its envelope: give envelope_from= "
                             "and envelope_to= to libsmtp.compose() instead of from_ and to")
        if options.dsn_notify:
            raise ValueError("dsn_notify is per recipient, and a composed message's "
                             "recipients come from the composer: not available for it")
        return Prepared(data=b"", sender=b"", recipients=(), options=options,
                        composed=message._composer)
    if isinstance(message, email.message.Message):
        data = serialise(message)
        if from_ is None or to is None:
            hdr_from, hdr_to = envelope_from_headers(message)
            if from_ is None:
                if not hdr_from:
                    raise ValueError("the message has no From or Sender address; pass from_=")
                from_ = hdr_from
            if to is None:
                to = hdr_to
    elif isinstance(message, (bytes, bytearray, memoryview)):
        data = bytes(message)
        if from_ is None or to is None:
            raise ValueError("raw bytes need from_= and to=; an email.message.EmailMessage "
                             "gives its envelope from its headers")
    elif isinstance(message, str):
        raise TypeError("message must be bytes, an email.message.EmailMessage or a "
                        "libsmtp.ComposedMessage, not str (encode it, or compose one)")
    else:
        raise TypeError(f"message must be bytes, an email.message.EmailMessage or a "
                        f"libsmtp.ComposedMessage, not {type(message).__name__}")
    if not data:
        raise ValueError("the message is empty")
    sender = check_text("from_", from_, empty=True)
    rcpts: List[bytes] = []
    for addr in _recipients(to):
        raw = check_text("to", addr)
        if raw not in rcpts:
            rcpts.append(raw)
    if not rcpts:
        raise ValueError("no recipients: the message has no To, Cc or Bcc; pass to=")
    return Prepared(data=data, sender=sender, recipients=tuple(rcpts), options=options)

"""Composing messages with the library's composer (lib/compose).

    msg = libsmtp.compose(("Example Support", "support@example.org"), "bob@example.org",
                          "Reset your password", text="Choose a new password: ...",
                          html="<p>Choose a new password: ...</p>",
                          attachments=[pathlib.Path("invoice.pdf")],
                          dkim=[libsmtp.DKIM("example.org", "s1", key_file="dkim.pem")])
    with libsmtp.Session("smtp://user:secret@mail.example.org") as s:
        s.send(msg).raise_for_outcome()
    archived = bytes(msg)                   # the octets, as smtp_compose_render makes them

compose() checks everything at once: a CR or LF in a subject, a header or a name,
a bad address, a file that cannot be opened raise ValueError (TypeError for a
wrong type) with the library's reason, and no message is made. What it returns,
a ComposedMessage, is sent by Session.send() and AsyncSession.send() with the
composer's envelope: the reverse path from Sender (else From), the recipients
To, Cc and Bcc (each once); Bcc recipients are only in the envelope.
"""

from __future__ import annotations

import ctypes
import datetime
import email.headerregistry
import io
import math
import os
from dataclasses import dataclass
from typing import IO, Any, Iterable, List, Mapping, Optional, Tuple, Union

from ._cargs import c_text, shown
from ._composer import CCompose
from ._native import SMTP_ADDR_MAX, SMTP_MISSING_HEADERS_MAX, SMTP_NAME_MAX, Native, native
from .dkim import DKIM
from .options import check_flag, check_path

__all__ = ["compose", "ComposedMessage", "Attachment", "Inline"]

Address = email.headerregistry.Address
AddressArg = Union[str, Tuple[Optional[str], str], Address]
AddressesArg = Union[str, Address, Iterable[AddressArg]]
ContentArg = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]
HeadersArg = Union[Mapping[str, str], Iterable[Tuple[str, str]]]

# smtp_field of include/smtp.h, and each field's (address, name) setter
_FIELDS = {
    "from_": (0, "compose_set_from"),
    "sender": (1, "compose_set_sender"),
    "reply_to": (2, "compose_add_reply_to"),
    "to": (3, "compose_add_to"),
    "cc": (4, "compose_add_cc"),
    "bcc": (5, "compose_add_bcc"),
}

# What the library requires, said with its refusals (include/smtp.h).
_ADDRESS_RULE = ("a mailbox: 'addr', 'Name <addr>' or ('Name', 'addr'); the address at most "
                 f"{SMTP_ADDR_MAX} octets, the name {SMTP_NAME_MAX}, no control characters "
                 "(CR, LF) in either, at most 10000 per list")
_UNSTRUCTURED_RULE = ("text of at most 16384 octets; TAB is allowed, other control characters "
                      "(CR, LF) are not")
_HEADER_RULE = ("a field name of printable ASCII without ':' (at most 76 octets) that the "
                "composer does not write itself (From, Sender, Reply-To, To, Cc, Bcc, Subject, "
                "Date, Message-ID, In-Reply-To, References, MIME-Version, Content-*, "
                "DKIM-Signature have their own arguments), and a value of " + _UNSTRUCTURED_RULE)
_ID_RULE = "a msg-id 'left@right' (angle brackets allowed), ASCII, at most 250 octets"
_PART_RULE = ("a file name of at most 1000 octets without control characters, a media type "
              "'type/subtype' that is not multipart/* or message/*")
_FILE_RULE = _PART_RULE + ", a path that opens as a regular file"
_CID_RULE = ("a Content-ID: a msg-id, or a dot-atom without '@'; " + _PART_RULE)
_DATE_RULE = "from 1970 to the end of 9999, a UTC offset within 23:59"


@dataclass(frozen=True)
class Attachment:
    """A file attached to the message (multipart/mixed, base64).

    content: bytes (copied), a path (str or os.PathLike: opened by compose() and
    kept open, read when the message is sent or rendered; it must not change
    meanwhile), or a binary file object (read with read() when the message is
    sent or rendered, so it must stay open until then; it can be read once: see
    ComposedMessage). filename: shown to the recipient (None: a path's or a file
    object's base name). content_type: e.g. "application/pdf" (None: guessed
    from the file name, application/octet-stream when unknown)."""

    content: ContentArg
    filename: Optional[str] = None
    content_type: Optional[str] = None


@dataclass(frozen=True)
class Inline:
    """A part the HTML refers to as ``cid:`` + cid (multipart/related), e.g.
    ``Inline(png, "logo@example.org", "image/png")`` for ``<img src="cid:logo@example.org">``.

    content: bytes, a path, or a binary file object (read whole by compose()).
    content_type: None guesses it from a path's or a file object's name (bytes:
    application/octet-stream)."""

    content: ContentArg
    cid: str
    content_type: Optional[str] = None


class ComposedMessage:
    """A message made by libsmtp.compose(): its content and its envelope. Give it
    to Session.send() or AsyncSession.send(); bytes(msg) (or msg.as_bytes()) is
    its RFC 5322 text, CRLF line ends, DKIM-signed when signers were given.

    The Date and Message-ID are fixed by compose(), so every rendering and every
    sending of one ComposedMessage is the same message (a retry keeps its
    Message-ID); the MIME boundaries and DKIM timestamps are made anew each time.

    A message with a file-object attachment and no DKIM signer is read while it
    is sent (or rendered): it can be sent once (a send that failed before reading
    the file may be retried), and one send at a time. With DKIM signers every
    part is read when the message is handed to send() (for the body hash) and
    kept in memory (at most 64 MiB per file object), and it can be sent again.
    A message can be sent by several sessions and threads at once.

    The composer keeps the attached files open and the file objects referenced
    until the ComposedMessage and every send of it are gone.
    """

    def __init__(self, composer: CCompose, message_id: Optional[str],
                 date: datetime.datetime) -> None:
        self._composer = composer
        self._message_id = message_id
        self._date = date

    @property
    def message_id(self) -> Optional[str]:
        """The Message-ID, "<left@right>" (None when the From address's domain is
        an address literal: the library then makes one at each sending)."""
        return self._message_id

    @property
    def date(self) -> datetime.datetime:
        """The Date, an aware datetime."""
        return self._date

    def as_bytes(self) -> bytes:
        """The message's octets (smtp_compose_render). Reads every attachment;
        an exception of a file object's read() is raised here."""
        return self._composer.render()

    __bytes__ = as_bytes

    def __repr__(self) -> str:
        return f"<libsmtp.ComposedMessage {self._message_id}>"


def _address(what: str, value: Any) -> Tuple[Optional[bytes], bytes, Optional[bytes]]:
    """(mailbox text, b"", None) for smtp_compose_add_mailbox, or (None, address,
    display name or None) for the field's own setter."""
    if isinstance(value, str):
        return c_text(what, value), b"", None
    if isinstance(value, Address):
        return None, c_text(what, value.addr_spec), c_text(what, value.display_name) or None
    if isinstance(value, tuple) and len(value) == 2:
        name, addr = value
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{what}: the display name of ('Name', 'addr') must be a str")
        return None, c_text(what, addr), c_text(what, name) if name else None
    raise TypeError(f"{what}: an address is 'addr', 'Name <addr>', ('Name', 'addr') or an "
                    f"email.headerregistry.Address, not {shown(value)}")


def _address_list(what: str, value: Any) -> List[Any]:
    """One address or a list of them; a tuple is a list (('Name', 'addr') only
    inside one)."""
    if value is None:
        return []
    if isinstance(value, (str, Address)):
        return [value]
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{what} must be str addresses, not bytes")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{what} must be an address or a list of addresses, "
                        f"not {type(value).__name__}") from None


def _add_address(c: CCompose, field: str, value: Any) -> bytes:
    """Adds one address to field; returns its address part (for the Message-ID)."""
    what = f"{field.rstrip('_')} {shown(value)}"
    code, setter = _FIELDS[field]
    text, addr, name = _address(what, value)
    if text is not None:
        c.call(what, "compose_add_mailbox", code, text, rule=_ADDRESS_RULE)
        return text
    c.call(what, setter, addr, name, rule=_ADDRESS_RULE)
    return addr


def _message_id(lib: Native, from_text: bytes) -> Optional[str]:
    """A random Message-ID for the From address's domain, made by the library
    (smtp_compose_missing_headers); None for a domain it makes none for."""
    addr = ctypes.create_string_buffer(SMTP_ADDR_MAX + 1)
    name = ctypes.create_string_buffer(SMTP_NAME_MAX + 1)
    if lib.mailbox_parse(from_text, addr, len(addr), name, len(name)) != 0 or \
            b"@" not in addr.value:
        return None
    domain = addr.value.rsplit(b"@", 1)[1]
    stub = b"Date: -\r\n\r\n"  # has a Date, so only the Message-ID is written
    out = ctypes.create_string_buffer(SMTP_MISSING_HEADERS_MAX)
    n = ctypes.c_size_t()
    if lib.compose_missing_headers(stub, len(stub), domain, out, len(out), ctypes.byref(n)):
        return None
    field = out.raw[:n.value].decode("ascii")
    return field.split(":", 1)[1].strip()


def _date(value: Any) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"date must be a datetime.datetime, not {shown(value)}")
    # a naive datetime is local time, as datetime.astimezone() takes it
    dt = value if value.utcoffset() is not None else value.astimezone()
    offset = dt.utcoffset()
    assert offset is not None
    if offset.total_seconds() % 60:
        raise ValueError(f"date: the UTC offset must be whole minutes, not {offset}")
    return dt


def _headers(value: Any) -> List[Tuple[Any, Any]]:
    items = list(value.items()) if isinstance(value, Mapping) else list(value)
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"headers: a mapping or (name, value) pairs, not {shown(item)}")
    return items


def _remaining(f: Any) -> int:
    """The octets left in a seekable file object (its exact size for the SIZE
    hint), or -1 when unknown."""
    try:
        if not f.seekable():
            return -1
        pos = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(pos)
    except (AttributeError, OSError, ValueError):
        return -1
    if not (isinstance(end, int) and isinstance(pos, int) and end >= pos):
        return -1
    return end - pos


def _file_name(f: Any) -> Optional[str]:
    name = getattr(f, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else None


def _is_file(value: Any) -> bool:
    if isinstance(value, io.TextIOBase):
        raise TypeError("a file object must be opened in binary mode ('rb')")
    return callable(getattr(value, "read", None))


def _add_attachment(c: CCompose, label: str, item: Any) -> None:
    att = item if isinstance(item, Attachment) else Attachment(item)
    src = att.content
    filename = att.filename
    if filename is None and _is_file(src):
        filename = _file_name(src)
    name = c_text(f"{label} filename", filename) if filename is not None else None
    ctype = c_text(f"{label} content_type", att.content_type) if att.content_type else None
    what = f"{label} {shown(filename or src)}"
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        c.call(what, "compose_add_attachment", data, len(data), name, ctype, rule=_PART_RULE)
    elif isinstance(src, (str, os.PathLike)):
        c.call(what, "compose_add_attachment_file", check_path(label, src), name, ctype,
               rule=_FILE_RULE)
    elif _is_file(src):
        c.add_reader(src, _remaining(src), what, name, ctype, _PART_RULE)
    else:
        raise TypeError(f"{label}: bytes, a path or a binary file object, not "
                        f"{type(src).__name__}")


def _add_inline(c: CCompose, label: str, item: Any) -> None:
    if not isinstance(item, Inline):
        raise TypeError(f"{label}: a libsmtp.Inline(content, cid, content_type=None), "
                        f"not {shown(item)}")
    src, ctype_text = item.content, item.content_type
    cid = c_text(f"{label} cid", item.cid)
    what = f"{label} {shown(item.cid)}"
    if not isinstance(src, (bytes, bytearray, memoryview, str, os.PathLike)) and _is_file(src):
        name = _file_name(src)
        if ctype_text is None and name:
            ctype_text = c.lib.mime_type_guess(name.encode("utf-8")).decode()
        src = src.read()
        if not isinstance(src, (bytes, bytearray, memoryview)):
            raise TypeError(f"{label}: read() returned {type(src).__name__}, not bytes")
    ctype = c_text(f"{label} content_type", ctype_text) if ctype_text else None
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        c.call(what, "compose_add_inline", data, len(data), cid, ctype, rule=_CID_RULE)
    elif isinstance(src, (str, os.PathLike)):
        c.call(what, "compose_add_inline_file", check_path(label, src), cid, ctype,
               rule=_CID_RULE + ", a path that opens as a regular file")
    else:
        raise TypeError(f"{label}: bytes, a path or a binary file object, not "
                        f"{type(src).__name__}")


def _signers(value: Any) -> List[DKIM]:
    signers = [value] if isinstance(value, DKIM) else list(value)
    for d in signers:
        if not isinstance(d, DKIM):
            raise TypeError(f"dkim: libsmtp.DKIM signers, not {shown(d)}")
    return signers


def compose(from_: AddressArg, to: AddressesArg, subject: Optional[str] = None,
            text: Optional[str] = None, html: Optional[str] = None, *,
            cc: AddressesArg = (), bcc: AddressesArg = (), reply_to: AddressesArg = (),
            sender: Optional[AddressArg] = None, headers: HeadersArg = (),
            attachments: Iterable[Union[Attachment, ContentArg]] = (),
            inline: Iterable[Inline] = (), date: Optional[datetime.datetime] = None,
            message_id: Optional[str] = None, in_reply_to: Optional[str] = None,
            references: Union[str, Iterable[str]] = (), utf8: bool = False,
            allow_8bit: bool = False, dkim: Union[DKIM, Iterable[DKIM]] = (),
            envelope_from: Optional[str] = None,
            envelope_to: Union[None, str, Iterable[str]] = None) -> ComposedMessage:
    """Composes an RFC 5322 + MIME message with the library's composer.

    Addresses (from_, sender: one; to, cc, bcc, reply_to: one or a list) are
    written "addr", "Name <addr>", ("Name", "addr") or as an
    email.headerregistry.Address; a tuple given for a list is a list of
    addresses, so write [("Name", "addr")]. Bcc recipients are in the envelope
    only. Display names and the subject may be any Unicode (RFC 2047-encoded).

    subject, text (text/plain), html (text/html; both: multipart/alternative);
    headers: other fields, a mapping or (name, value) pairs, in order.
    attachments: Attachment objects, or bytes, paths and binary file objects
    (then named after the file). inline: Inline parts the HTML shows by cid.
    date: a datetime (naive: local time), message_id ("left@right"), both made
    now when None; in_reply_to (an id), references (one id or a list, oldest
    first). utf8: an SMTPUTF8 message (RFC 6532: UTF-8 addresses and raw UTF-8
    header fields; the server must offer SMTPUTF8). allow_8bit: text bodies that
    are not ASCII go as 8bit instead of quoted-printable (the server must offer
    8BITMIME). dkim: a libsmtp.DKIM or a list (at most 8, e.g. ed25519 and rsa).
    envelope_from ("" for the null reverse path) and envelope_to replace the
    envelope taken from the headers.

    Raises ValueError (with the library's reason) or TypeError for any bad
    argument, and no message is made. Paths are opened here (blocking).
    """
    lib = native()
    c = CCompose(lib)
    try:
        from_addr = _add_addresses(c, from_, sender, {
            "to": _address_list("to", to), "cc": _address_list("cc", cc),
            "bcc": _address_list("bcc", bcc), "reply_to": _address_list("reply_to", reply_to)})
        _add_envelope(c, envelope_from, envelope_to, to, cc, bcc)
        dt, msg_id = _add_fields(c, lib, from_addr, subject, headers, date, message_id,
                                 in_reply_to, references)
        _add_parts(c, text, html, attachments, inline)
        c.call("utf8", "compose_set_utf8", check_flag("utf8", utf8))
        c.call("allow_8bit", "compose_allow_8bit", check_flag("allow_8bit", allow_8bit))
        for i, d in enumerate(_signers(dkim)):
            c.call(f"dkim[{i}]", "compose_add_dkim", d.ptr, rule="at most 8 signers")
            c.signed = True
    except BaseException:
        c.free()
        raise
    return ComposedMessage(c, msg_id, dt)


def _add_addresses(c: CCompose, from_: Any, sender: Any, lists: Mapping[str, List[Any]]) -> bytes:
    """The address fields; returns the From address (for the Message-ID)."""
    from_addr = _add_address(c, "from_", from_)
    if sender is not None:
        _add_address(c, "sender", sender)
    for field, values in lists.items():
        for value in values:
            _add_address(c, field, value)
    return from_addr


def _add_envelope(c: CCompose, envelope_from: Any, envelope_to: Any, to: Any, cc: Any,
                  bcc: Any) -> None:
    if envelope_from is not None:
        c.call(f"envelope_from {shown(envelope_from)}", "compose_set_envelope_from",
               c_text("envelope_from", envelope_from), rule="a mailbox, or '' for <>")
    rcpts = [] if envelope_to is None else _address_list("envelope_to", envelope_to)
    for rcpt in rcpts:
        c.call(f"envelope_to {shown(rcpt)}", "compose_add_envelope_rcpt",
               c_text("envelope_to", rcpt), rule="a mailbox 'addr'")
    if not (rcpts or any(_address_list("recipients", v) for v in (to, cc, bcc))):
        raise ValueError("no recipients: give to, cc, bcc or envelope_to")


def _add_fields(c: CCompose, lib: Native, from_addr: bytes, subject: Any, headers: Any,
                date: Any, message_id: Any, in_reply_to: Any,
                references: Any) -> Tuple[datetime.datetime, Optional[str]]:
    """Subject, other fields, Date, ids; returns the Date and the Message-ID."""
    if subject is not None:
        c.call(f"subject {shown(subject)}", "compose_set_subject", c_text("subject", subject),
               rule=_UNSTRUCTURED_RULE)
    for name, value in _headers(headers):
        c.call(f"header {shown(name)}: {shown(value)}", "compose_add_header",
               c_text("header name", name), c_text(f"header {name!r}", value), rule=_HEADER_RULE)
    dt = _date(date) if date is not None else datetime.datetime.now().astimezone()
    offset = dt.utcoffset()
    assert offset is not None
    c.call(f"date {dt.isoformat()}", "compose_set_date", math.floor(dt.timestamp()),
           int(offset.total_seconds()) // 60, rule=_DATE_RULE)
    if message_id is None:
        message_id = _message_id(lib, from_addr)
    if message_id is not None:
        c.call(f"message_id {shown(message_id)}", "compose_set_message_id",
               c_text("message_id", message_id), rule=_ID_RULE)
        message_id = "<" + message_id.strip("<>") + ">"
    if in_reply_to is not None:
        c.call(f"in_reply_to {shown(in_reply_to)}", "compose_set_in_reply_to",
               c_text("in_reply_to", in_reply_to), rule=_ID_RULE)
    for ref in [references] if isinstance(references, str) else list(references):
        c.call(f"references {shown(ref)}", "compose_add_references",
               c_text("references", ref), rule=_ID_RULE)
    return dt, message_id


def _add_parts(c: CCompose, text: Any, html: Any, attachments: Any, inline: Any) -> None:
    for what, body, setter in (("text", text, "compose_set_text"),
                               ("html", html, "compose_set_html")):
        if body is not None:
            c.call(what, setter, c_text(what, body), rule="UTF-8 text")
    for i, item in enumerate(attachments):
        _add_attachment(c, f"attachments[{i}]", item)
    for i, item in enumerate(inline):
        _add_inline(c, f"inline[{i}]", item)

"""The C composer (smtp_compose) and what it references, for libsmtp.compose.

The library copies every string and in-memory part, keeps the files it was given
open, and references without copying: the reader callbacks of file-object
attachments (called while a message it filled is sent or rendered) and its plans
(what each filled smtp_message reads from). So:

- a CCompose holds its reader callbacks and their file objects until the C
  composer is freed;
- a CMessage it filled holds the CCompose until that message is freed, and the
  CCompose holds the CMessage meanwhile (CCompose.users);
- whichever of the two is finalised first (the garbage collector may take the
  cycle in any order) frees the message first (its session shut down first when
  it is queued), then the composer: smtp_compose_free never runs while a message
  it filled exists.

A reader can be read once, in order. Without DKIM it is read while the message
is sent (or rendered), so such a composer fills one message at a time and is
spent once a reader was read; with DKIM smtp_compose_to_message reads every part
at once for the body hash and keeps the readers' octets in memory, so the
message can be sent again.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Dict, List, Optional

from ._cargs import check_rc
from ._native import READ_FN, Native


class Reader:
    """A binary file object as an smtp_read_fn; the first exception its read()
    raised is kept for the call that made the library read it."""

    def __init__(self, lib: Native, fileobj: Any, label: str) -> None:
        self.fileobj = fileobj
        self.label = label
        self.calls = 0
        self.error: Optional[BaseException] = None
        self._einval = lib.err("SMTP_EINVAL")
        self.fn = READ_FN(self._read)

    def _read(self, _ud: Any, buf: int, size: int) -> int:
        self.calls += 1
        try:
            data = self.fileobj.read(size)
            if data is None:
                raise BlockingIOError(f"{self.label}: read() returned None (a non-blocking "
                                      "file object with no data ready)")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"{self.label}: read() returned {type(data).__name__}, "
                                "not bytes (a file opened in text mode?)")
            data = bytes(data)
            if len(data) > size:
                raise ValueError(f"{self.label}: read({size}) returned {len(data)} octets")
            if data:
                ctypes.memmove(buf, data, len(data))
            return len(data)
        except BaseException as e:  # a callback cannot raise through C
            if self.error is None:
                self.error = e
            return self._einval


class CCompose:
    """One smtp_compose, its readers, and the messages it filled."""

    def __init__(self, lib: Native) -> None:
        self.lib = lib
        self.readers: List[Reader] = []
        self.users: Dict[int, Any] = {}  # CMessage by its smtp_message pointer
        self.signed = False
        self._claimed = False   # a message without DKIM is reading the readers
        self._calls_at_claim = 0
        self._spent = False     # a reader was read and cannot be read again
        self._lock = threading.RLock()
        self.ptr: Optional[int] = lib.compose_new()
        if not self.ptr:
            raise MemoryError("smtp_compose_new")

    def call(self, what: str, name: str, *args: Any, rule: str = "") -> None:
        """Calls smtp_<name>(compose, *args); a refusal raises ValueError."""
        check_rc(self.lib, what, getattr(self.lib, name)(self.ptr, *args), rule)

    def add_reader(self, fileobj: Any, size: int, label: str, filename: Optional[bytes],
                   content_type: Optional[bytes], rule: str) -> None:
        reader = Reader(self.lib, fileobj, label)
        self.call(label, "compose_add_attachment_reader", reader.fn, None, size, filename,
                  content_type, rule=rule)
        self.readers.append(reader)

    def _read_calls(self) -> int:
        return sum(r.calls for r in self.readers)

    def _claim(self) -> int:
        """Before the library may read the readers (to_message, render); returns
        the count of reads so far."""
        if self._spent:
            raise RuntimeError("this message's attachment from a file object was read "
                               "already and cannot be read again: compose the message anew "
                               "(with DKIM signers its attachments are kept in memory and "
                               "it can be sent again)")
        if self.readers and not self.signed:
            if self._claimed:
                raise RuntimeError("this message is being sent already, and its attachment "
                                   "from a file object can be read once")
            self._claimed = True
            self._calls_at_claim = self._read_calls()
        return self._read_calls()

    def _spooled(self, before: int, failed: bool) -> None:
        """After a call that read the readers to keep their octets (DKIM)."""
        if failed and self.signed and self._read_calls() != before:
            self._spent = True  # a reader failed or overflowed while being spooled

    def _unclaim(self) -> None:
        """After the library read (or did not read) the readers of a claim."""
        if self._claimed:
            self._claimed = False
            if self._read_calls() != self._calls_at_claim:
                self._spent = True

    def take_error(self) -> Optional[BaseException]:
        """The exception a reader's read() raised (once), or None."""
        for r in self.readers:
            if r.error is not None:
                e, r.error = r.error, None
                if hasattr(e, "add_note"):
                    e.add_note(f"raised by the read() of the file object of {r.label}")
                return e
        return None

    def fill(self, msg: Any) -> None:
        """smtp_compose_to_message into msg (a CMessage), which then holds this
        composer until it is freed."""
        with self._lock:
            if not self.ptr:
                raise RuntimeError("the composed message was freed")
            before = self._claim()
            rc = self.lib.compose_to_message(self.ptr, msg.ptr)
            if rc:
                self._spooled(before, failed=True)
                self._unclaim()
                err = self.take_error()
                if err is not None:
                    raise err
                check_rc(self.lib, "compose", rc, "From and at least one recipient are "
                         "needed; a UTF-8 local part needs utf8=True; attached files must "
                         "not change")
            self.users[msg.ptr] = msg
            msg.composer = self

    def release(self, ptr: int) -> None:
        """The message filled from here whose smtp_message was ptr is freed."""
        with self._lock:
            if self.users.pop(ptr, None) is not None:
                self._unclaim()

    def render(self) -> bytes:
        """smtp_compose_render: the message's octets."""
        with self._lock:
            if not self.ptr:
                raise RuntimeError("the composed message was freed")
            before = self._claim()
            out, n = ctypes.c_void_p(), ctypes.c_size_t()
            rc = self.lib.compose_render(self.ptr, ctypes.byref(out), ctypes.byref(n))
            self._spooled(before, failed=bool(rc))
            self._unclaim()
            err = self.take_error()
            try:
                data = ctypes.string_at(out.value, n.value) if out.value else b""
            finally:
                if out.value:
                    self.lib.libc_free(out.value)
            if err is not None:
                raise err
            check_rc(self.lib, "render", rc, "a UTF-8 local part needs utf8=True; attached "
                     "files must not change")
            return data

    def free(self) -> None:
        """Frees the messages filled from here (a queued one's session first),
        then the C composer, then the callbacks."""
        for msg in list(self.users.values()):
            msg.free()
        self.users.clear()
        ptr, self.ptr = self.ptr, None
        if ptr:
            self.lib.compose_free(ptr)
        self.readers = []

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.free()

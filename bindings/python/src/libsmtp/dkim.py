"""DKIM signing keys (RFC 6376 rsa-sha256, RFC 8463 ed25519-sha256) for
``libsmtp.compose(..., dkim=[...])``, over the library's smtp_dkim_* signer.

    rsa = libsmtp.DKIM("example.org", "s2024", key_file="rsa.pem")
    ed = libsmtp.DKIM("example.org", "ed2024", key_pem=ed25519_pem)
    msg = libsmtp.compose(..., dkim=[ed, rsa])        # dual signing

A signer is checked when it is made (the key is loaded then: ValueError at once);
compose() keeps its own copy, so a DKIM object may go before the messages it
signed.
"""

from __future__ import annotations

import ctypes
import datetime
from typing import Any, Iterable, Optional, Tuple, Union

from ._cargs import c_text, check_rc, shown
from ._native import SMTP_DKIM_SIGNATURE_MAX, native
from .options import PathArg, check_path

__all__ = ["DKIM", "CANONICALIZATIONS"]

CANONICALIZATIONS = {"relaxed": 0, "simple": 1}
# smtp_dkim_set_expiry's bounds: one second to ten years
_EXPIRY_MAX = 315360000

CanonArg = Union[str, Tuple[str, str]]


def _canon(value: Any) -> Tuple[int, int]:
    if isinstance(value, str):
        parts = value.split("/")
        pair = (parts[0], parts[1] if len(parts) > 1 else "simple") if len(parts) <= 2 else ()
    elif isinstance(value, tuple):
        pair = value
    else:
        raise TypeError(f"canon must be 'header/body' or a (header, body) tuple, not {value!r}")
    if len(pair) != 2 or any(c not in CANONICALIZATIONS for c in pair):
        raise ValueError(f"canon: each of header and body is 'relaxed' or 'simple', "
                         f"not {value!r}")
    return CANONICALIZATIONS[pair[0]], CANONICALIZATIONS[pair[1]]


def _expiry(value: Any) -> int:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expiry must be seconds or a datetime.timedelta, not {value!r}")
    if not 1 <= value <= _EXPIRY_MAX:
        raise ValueError(f"expiry must be from 1 second to {_EXPIRY_MAX} (ten years), "
                         f"not {value!r}")
    return int(value)


def _headers(value: Any) -> bytes:
    if isinstance(value, str):
        return c_text("headers", value)
    try:
        names = list(value)
    except TypeError:
        raise TypeError("headers must be 'from:to:subject' or a list of field names") from None
    for n in names:
        c_text("headers", n)
        if ":" in n:
            raise ValueError(f"headers: one field name per item, not {n!r}")
    return c_text("headers", ":".join(names))


class DKIM:
    """A DKIM signing key with its domain (d=) and selector (s=): the public key
    is published at ``selector._domainkey.domain``.

    key_pem (str or bytes of PEM text) or key_file (a path) gives the private
    key, unencrypted: RSA of 1024 to 4096 bits signs rsa-sha256 (2048
    recommended), Ed25519 signs ed25519-sha256. canon: the header and body
    canonicalisation, ``("relaxed", "relaxed")`` (the default) or "simple", also
    written "relaxed/simple". headers: the signed fields (h=), "from:to:subject"
    or a list; it must name From; None signs those of From, To, Cc, Subject, Date,
    Message-ID, Reply-To, MIME-Version, Content-Type, In-Reply-To and References
    that are present. expiry: signatures expire (x=) that many seconds (or that
    datetime.timedelta) after signing; None: never.

    Bad values raise ValueError or TypeError here (reading key_file blocks).
    """

    def __init__(self, domain: str, selector: str, *, key_pem: Union[None, str, bytes] = None,
                 key_file: Optional[PathArg] = None, canon: CanonArg = ("relaxed", "relaxed"),
                 headers: Union[None, str, Iterable[str]] = None,
                 expiry: Union[None, int, float, datetime.timedelta] = None) -> None:
        if (key_pem is None) == (key_file is None):
            raise TypeError("DKIM needs exactly one of key_pem= and key_file=")
        self.domain, self.selector = domain, selector
        raw_domain, raw_selector = c_text("domain", domain), c_text("selector", selector)
        pem: Optional[bytes] = None
        if key_pem is not None:
            if isinstance(key_pem, str):
                key_pem = key_pem.encode("utf-8")
            if not isinstance(key_pem, bytes):
                raise TypeError("key_pem must be PEM text (str or bytes)")
            pem = key_pem
        path = check_path("key_file", key_file) if key_file is not None else None
        header_canon, body_canon = _canon(canon)
        names = _headers(headers) if headers is not None else None
        seconds = _expiry(expiry) if expiry is not None else 0
        lib = self._lib = native()
        self._ptr: Optional[int] = lib.dkim_new()
        if not self._ptr:
            raise MemoryError("smtp_dkim_new")
        try:
            check_rc(lib, f"domain {shown(domain)} / selector {shown(selector)}",
                     lib.dkim_set_domain(self._ptr, raw_domain, raw_selector),
                     "a domain name (an IDN is converted) and a selector, without "
                     "control characters")
            if pem is not None:
                rc = lib.dkim_set_key_pem(self._ptr, pem, len(pem))
            else:
                rc = lib.dkim_set_key_file(self._ptr, path)
            check_rc(lib, "key_pem" if pem is not None else f"key_file {shown(key_file)}", rc,
                     "an unencrypted PEM private key: RSA of 1024 to 4096 bits, or Ed25519")
            check_rc(lib, "canon", lib.dkim_set_canon(self._ptr, header_canon, body_canon))
            if names is not None:
                check_rc(lib, f"headers {shown(headers)}", lib.dkim_set_headers(self._ptr, names),
                         "field names separated by ':', From among them, at most 512 octets")
            if seconds:
                check_rc(lib, "expiry", lib.dkim_set_expiry(self._ptr, seconds))
        except BaseException:
            self._free()
            raise

    @property
    def ptr(self) -> int:
        """The smtp_dkim (for compose(); valid while this object lives)."""
        assert self._ptr
        return self._ptr

    def sign(self, message: Union[bytes, bytearray, memoryview]) -> bytes:
        """The DKIM-Signature field (CRLF-terminated) for a ready-made message, to
        be put before it: ``signed = key.sign(raw) + raw``. Line ends LF or CRLF
        (the signature is over CRLF, as the library sends them). ValueError when
        the message has no From field."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise TypeError(f"message must be bytes, not {type(message).__name__}")
        data = bytes(message)
        out = ctypes.create_string_buffer(SMTP_DKIM_SIGNATURE_MAX)
        n = ctypes.c_size_t()
        check_rc(self._lib, "message", self._lib.dkim_sign(self.ptr, data, len(data), out,
                                                           len(out), ctypes.byref(n)),
                 "a message with a From field")
        return out.raw[:n.value]

    def __repr__(self) -> str:
        return f"libsmtp.DKIM({self.domain!r}, {self.selector!r})"

    def _free(self) -> None:
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            self._lib.dkim_free(ptr)

    def __del__(self) -> None:
        self._free()

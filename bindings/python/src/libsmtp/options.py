"""Session options: checked in Python at once (ValueError, TypeError), then applied
with the library's typed setters.

Every option is a keyword argument of ``Session`` and ``AsyncSession``:

=========================================  =============================================
tls="starttls"                             "starttls" (required, the default for
                                           smtp://), "implicit" (smtps://),
                                           "opportunistic", "none" (plain text)
ca_file=, ca_dir=                          trust these CAs instead of the system store
client_cert=, client_key=                  client certificate and key (PEM files)
client_cert_pem=, client_key_pem=          the same from PEM text
key_password=                              str, bytes, or a callable returning one,
                                           for an encrypted client key
tls_min_version="1.2"                      or "1.3"
tls_ciphers=, tls13_ciphersuites=          OpenSSL cipher list (TLS 1.2), TLS 1.3 suites
tls_groups=                                key exchange groups, "X25519:P-256"
tls_cache=                                 a TLSCache shared by sessions (resumption)
dangerously_skip_certificate_verification  True accepts any certificate for any name:
                                           for throwaway test servers only
user=, password=                           AUTH credentials (override the URL's)
oauth_token=                               an OAuth 2.0 bearer token instead of a
                                           password (OAUTHBEARER, XOAUTH2)
auth_mechanisms=                           "SCRAM-SHA-256 PLAIN" or a list, in order
auth_optional=False                        go on without AUTH when none is offered
dangerously_allow_auth_without_tls=False   send credentials over plain text
helo_name=                                 the EHLO name (default "localhost")
timeout=                                   seconds, for every stage
timeouts=                                  {"connect": 10, "body": 60, ...} per stage
chunking=True, chunk_size=                 BDAT when offered (RFC 3030); octets a chunk
idna_mapping=True                          UTS #46 mapping of non-ASCII domains
trace=                                     callable(direction, line): "send", "recv"
                                           or "info", and the line without CRLF (AUTH
                                           payloads redacted)
=========================================  =============================================
"""

from __future__ import annotations

import ctypes
import os
import sys
import types
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Tuple, Union

from ._native import PASSWORD_FN, TRACE_FN, native

if TYPE_CHECKING:
    from ._native import Native

__all__ = ["TLSCache", "TLS_MODES", "TRACE_DIRECTIONS"]

TLS_MODES = {"starttls": 0, "implicit": 1, "opportunistic": 2, "none": 3}
TRACE_DIRECTIONS = ("send", "recv", "info")
_MAX_MS = 2**31 - 1

PathArg = Union[str, "os.PathLike[str]"]
TraceFn = Callable[[str, str], Any]


class TLSCache:
    """A TLS session cache that sessions share, so that a reconnection to the same
    server resumes its TLS session. Each session using it keeps it alive; the C
    cache is freed when the last reference goes."""

    def __init__(self) -> None:
        self._lib = native()
        self._ptr = self._lib.tls_cache_new()
        if not self._ptr:
            raise MemoryError("smtp_tls_cache_new")

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._ptr = None
            self._lib.tls_cache_free(ptr)


def check_text(option: str, value: Any, *, empty: bool = False) -> bytes:
    """value as UTF-8 bytes: a str with no CR, LF or NUL (ValueError, TypeError)."""
    if not isinstance(value, str):
        raise TypeError(f"{option} must be a str, not {type(value).__name__}")
    if not empty and not value:
        raise ValueError(f"{option} must not be empty")
    for ch, name in (("\r", "CR"), ("\n", "LF"), ("\0", "NUL")):
        if ch in value:
            raise ValueError(f"{option} must not contain {name}: {value!r}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{option} is not valid Unicode: {e}") from None


def check_path(option: str, value: Any) -> bytes:
    """A file system path (str or os.PathLike) as bytes, without CR, LF or NUL."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{option} must be a path, not {type(value).__name__}")
    raw = os.fsencode(value)
    if not raw:
        raise ValueError(f"{option} must not be empty")
    if any(c in raw for c in b"\r\n\0"):
        raise ValueError(f"{option} must not contain CR, LF or NUL: {value!r}")
    return raw


def check_flag(option: str, value: Any) -> int:
    """A bool as 0 or 1; anything else is a TypeError (1 is not True here)."""
    if not isinstance(value, bool):
        raise TypeError(f"{option} must be True or False, not {value!r}")
    return int(value)


def check_seconds(option: str, value: Any) -> int:
    """Seconds (int or float, > 0) as milliseconds within the library's bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{option} must be a number of seconds, not {value!r}")
    if not value > 0:
        raise ValueError(f"{option} must be more than 0 seconds, not {value!r}")
    ms = int(value * 1000)
    if ms > _MAX_MS:
        raise ValueError(f"{option} must be at most {_MAX_MS // 1000} seconds")
    return max(ms, 1)


def check_url(url: Any) -> Tuple[bytes, urllib.parse.SplitResult]:
    """The URL as bytes and split, with the reasons the library would not name."""
    raw = check_text("url", url)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("smtp", "smtps", "lmtp"):
        raise ValueError(f"url: unknown scheme {parts.scheme!r} (smtp, smtps or lmtp)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"url: the port must be a number from 1 to 65535: {url!r}") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"url: the port must be a number from 1 to 65535: {url!r}")
    host = parts.hostname or ""
    if " " in host or "\t" in host:
        raise ValueError(f"url: the host name has white space: {url!r}")
    return raw, parts


def _timeout_setter(stage: str, ms: int) -> "Setter":
    return lambda lib, s: lib.session_set_timeout(s, lib.stage_codes[stage], ms)


def _mechanisms(value: Any) -> bytes:
    if isinstance(value, str):
        return check_text("auth_mechanisms", value)
    if isinstance(value, (list, tuple)):
        words = [check_text("auth_mechanisms", v) for v in value]
        if not words or any(b" " in w for w in words):
            raise ValueError(f"auth_mechanisms: one mechanism name per item: {value!r}")
        return b" ".join(words)
    raise TypeError("auth_mechanisms must be a str or a list of str")


def _pem(option: str, value: Any) -> bytes:
    """PEM text: lines are allowed, NUL is not."""
    if not isinstance(value, str):
        raise TypeError(f"{option} must be a str of PEM text")
    if not value.strip() or "\0" in value:
        raise ValueError(f"{option} must be PEM text without NUL")
    return value.encode("ascii", "strict")


def _secret(option: str, value: Any) -> bytes:
    if isinstance(value, bytes):
        if any(c in value for c in b"\r\n\0"):
            raise ValueError(f"{option} must not contain CR, LF or NUL")
        return value
    return check_text(option, value, empty=True)


def _trace_callback(fn: TraceFn) -> Any:
    if not callable(fn):
        raise TypeError("trace must be callable(direction, line)")

    def on_trace(_ud: Any, direction: int, line: Any, length: int) -> None:
        try:
            text = ctypes.string_at(line, length).decode("utf-8", "backslashreplace")
            name = TRACE_DIRECTIONS[direction] if 0 <= direction < 3 else "info"
            fn(name, text)
        except BaseException:  # a callback cannot raise through C
            sys.unraisablehook(_unraisable("trace callback", fn))

    return TRACE_FN(on_trace)


def _password_callback(value: Any) -> Any:
    if not callable(value):
        fixed = _secret("key_password", value)
        value = lambda: fixed  # noqa: E731

    def on_password(buf: Any, size: int, _rwflag: int, _ud: Any) -> int:
        try:
            pw = value()
            pw = pw.encode("utf-8") if isinstance(pw, str) else bytes(pw)
            if len(pw) > size:
                return -1
            ctypes.memmove(buf, pw, len(pw))
            return len(pw)
        except BaseException:
            sys.unraisablehook(_unraisable("key_password callback", value))
            return -1

    return PASSWORD_FN(on_password)


def _unraisable(what: str, obj: Any) -> Any:
    """The argument sys.unraisablehook takes, for the exception being handled."""
    exc_type, exc_value, exc_tb = sys.exc_info()
    return types.SimpleNamespace(exc_type=exc_type, exc_value=exc_value, exc_traceback=exc_tb,
                                 err_msg=f"Exception ignored in libsmtp {what}", object=obj)


# a setter call: (library, session) -> the smtp_err it returned
Setter = Callable[["Native", int], Any]


def _call(setter: str, *args: Any) -> Setter:
    return lambda lib, s: getattr(lib, setter)(s, *args)


def _tls_mode(option: str, value: Any) -> int:
    if value not in TLS_MODES:
        raise ValueError(f"{option} must be one of {', '.join(TLS_MODES)}, not {value!r}")
    return TLS_MODES[value]


def _tls_version(option: str, value: Any) -> bytes:
    if value not in ("1.2", "1.3"):
        raise ValueError(f"{option} must be '1.2' or '1.3', not {value!r}")
    return str(value).encode()


# Options whose setter takes the session and one checked value, in the order they
# are applied (tls after the URL, which sets a mode too).
_SIMPLE: Tuple[Tuple[str, Callable[[str, Any], Any], str], ...] = (
    ("tls", _tls_mode, "session_set_tls_mode"),
    ("ca_file", check_path, "session_set_ca_file"),
    ("ca_dir", check_path, "session_set_ca_dir"),
    ("tls_min_version", _tls_version, "session_set_tls_min_version"),
    ("tls_groups", check_text, "session_set_tls_groups"),
    ("dangerously_skip_certificate_verification", check_flag,
     "session_set_tls_insecure_skip_verify"),
    ("auth_optional", check_flag, "session_set_auth_optional"),
    ("dangerously_allow_auth_without_tls", check_flag, "session_set_auth_insecure"),
    ("helo_name", check_text, "session_set_helo_name"),
    ("idna_mapping", check_flag, "session_set_idna_mapping"),
)


class Settings:
    """Checked options, ready to apply to a new C session. Holds what the C session
    will reference (callbacks, the TLS cache) for as long as the session lives.
    An option given as None is left at the library's default."""

    def __init__(self, lib: "Native", url: Any, options: Mapping[str, Any]) -> None:
        raw_url, parts = check_url(url)
        self.url = url
        self.ops: List[Tuple[str, Setter]] = [("url", _call("session_set_url", raw_url))]
        self.keep: Dict[str, Any] = {}
        o = {k: v for k, v in options.items() if v is not None}
        for name, check, setter in _SIMPLE:
            if name in o:
                self.ops.append((name, _call(setter, check(name, o.pop(name)))))
        self._client_cert(o)
        self._callbacks(o)
        self._auth(o, parts)
        self._timeouts(o, tuple(lib.stages[1:]))
        self._chunking(o)
        c12, c13 = o.pop("tls_ciphers", None), o.pop("tls13_ciphersuites", None)
        if c12 is not None or c13 is not None:
            self.ops.append(("tls_ciphers", _call(
                "session_set_tls_ciphers",
                check_text("tls_ciphers", c12) if c12 is not None else None,
                check_text("tls13_ciphersuites", c13) if c13 is not None else None)))
        if o:
            raise TypeError(f"unknown option(s): {', '.join(sorted(o))}")

    def _client_cert(self, o: Dict[str, Any]) -> None:
        cert, key = o.pop("client_cert", None), o.pop("client_key", None)
        cert_pem, key_pem = o.pop("client_cert_pem", None), o.pop("client_key_pem", None)
        if (cert or key) and (cert_pem or key_pem):
            raise ValueError("client_cert/client_key and client_cert_pem/client_key_pem "
                             "exclude each other")
        if key is not None and cert is None:
            raise ValueError("client_key needs client_cert")
        if key_pem is not None and cert_pem is None:
            raise ValueError("client_key_pem needs client_cert_pem")
        if cert is not None:
            self.ops.append(("client_cert", _call(
                "session_set_client_cert", check_path("client_cert", cert),
                check_path("client_key", key) if key is not None else None)))
        if cert_pem is not None:
            self.ops.append(("client_cert_pem", _call(
                "session_set_client_cert_pem", _pem("client_cert_pem", cert_pem),
                _pem("client_key_pem", key_pem) if key_pem is not None else None)))

    def _callbacks(self, o: Dict[str, Any]) -> None:
        """What the C session references: kept in self.keep for its life."""
        if "key_password" in o:
            cb = self.keep["key_password"] = _password_callback(o.pop("key_password"))
            self.ops.append(("key_password", _call("session_set_key_password_cb", cb, None)))
        if "trace" in o:
            tr = self.keep["trace"] = _trace_callback(o.pop("trace"))
            self.ops.append(("trace", _call("session_set_trace", tr, None)))
        if "tls_cache" in o:
            cache = o.pop("tls_cache")
            if not isinstance(cache, TLSCache):
                raise TypeError("tls_cache must be a libsmtp.TLSCache")
            self.keep["tls_cache"] = cache
            self.ops.append(("tls_cache", _call("session_set_tls_cache", cache._ptr)))

    def _auth(self, o: Dict[str, Any], url: urllib.parse.SplitResult) -> None:
        user, password = o.pop("user", None), o.pop("password", None)
        token, mechs = o.pop("oauth_token", None), o.pop("auth_mechanisms", None)
        if password is not None and token is not None:
            raise ValueError("password and oauth_token exclude each other")
        if user is None and (password is not None or token is not None or mechs is not None):
            if password is None and token is None and url.username is not None:
                # auth_mechanisms alone refines the URL's credentials
                user = urllib.parse.unquote(url.username)
                if url.password is not None:
                    password = urllib.parse.unquote(url.password)
            else:
                raise ValueError("password, oauth_token and auth_mechanisms need user")
        if user is None:
            return
        secret = None
        if token is not None:
            secret = _secret("oauth_token", token)
        elif password is not None:
            secret = _secret("password", password)
        self.ops.append(("user/password/auth_mechanisms", _call(
            "session_set_auth", check_text("user", user), secret,
            _mechanisms(mechs) if mechs is not None else None)))
        self.ops.append(("oauth_token", _call("session_set_auth_token", int(token is not None))))

    def _timeouts(self, o: Dict[str, Any], stages: Tuple[str, ...]) -> None:
        per_stage: Dict[str, int] = {}
        if "timeout" in o:
            ms = check_seconds("timeout", o.pop("timeout"))
            per_stage = {name: ms for name in stages}
        timeouts = o.pop("timeouts", {})
        if not isinstance(timeouts, Mapping):
            raise TypeError("timeouts must be a mapping of stage name to seconds")
        for stage, secs in timeouts.items():
            if stage not in stages:
                raise ValueError(f"timeouts: unknown stage {stage!r} ({', '.join(stages)})")
            per_stage[stage] = check_seconds(f"timeouts[{stage!r}]", secs)
        for stage, ms in per_stage.items():
            self.ops.append((f"timeouts[{stage!r}]", _timeout_setter(stage, ms)))

    def _chunking(self, o: Dict[str, Any]) -> None:
        chunking, size = o.pop("chunking", None), o.pop("chunk_size", None)
        if chunking is None and size is None:
            return
        on = check_flag("chunking", chunking) if chunking is not None else 1
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise TypeError("chunk_size must be an int")
        if size is not None and not 1 <= size <= 2**31:
            raise ValueError(f"chunk_size must be from 1 to {2**31} octets, not {size}")
        self.ops.append(("chunking", _call("session_set_chunking", on, size or 0)))

    def apply(self, lib: "Native", s: int) -> None:
        """Runs the setters on the C session s; a refusal is a ValueError naming the
        option (MemoryError for SMTP_ENOMEM)."""
        for name, fn in self.ops:
            rc = fn(lib, s)
            if rc == lib.err("SMTP_ENOMEM"):
                raise MemoryError(f"{name}: {lib.error_message(rc)}")
            if rc:
                value = self.url if name == "url" else None
                shown = f" {value!r}" if value is not None else ""
                raise ValueError(f"{name}{shown}: {lib.error_message(rc)} ({lib.error_label(rc)})")


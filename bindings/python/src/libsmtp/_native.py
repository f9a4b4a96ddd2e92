"""Loading libsmtp.so.0 and declaring the C functions the package calls.

The library is looked for, in order:

1. ``LIBSMTP_PATH``: the library file itself (a missing file is an error, never a
   silent fall-back to another copy);
2. the system's dynamic loader: ``libsmtp.so.0`` through ``LD_LIBRARY_PATH`` and the
   ld.so cache (a distribution package, or ``make install`` followed by ``ldconfig``);
3. install prefixes that the loader does not search because the library has no rpath:
   ``sys.prefix/lib`` (``make install PREFIX=$VIRTUAL_ENV``), the ``libdir`` of the
   ``smtp`` pkg-config module (``make install PREFIX=/opt/x`` with ``PKG_CONFIG_PATH``
   set, as for building C programs against it), and ``/usr/local/lib`` (``make
   install`` without ``ldconfig``).

Nothing here is loaded until the first session is created, so ``import libsmtp``
works without the library (the exceptions, the report types).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_long,
    c_size_t,
    c_uint,
    c_void_p,
)
from typing import TYPE_CHECKING, Any, Dict, List, Optional

SONAME = "libsmtp.so.0"
SONAME_MAJOR = 0

# Callback types of include/smtp.h; every one takes the caller's `void *ud` first
# except the key password callback, which follows OpenSSL's pem_password_cb.
TRACE_FN = CFUNCTYPE(None, c_void_p, c_int, POINTER(c_char), c_size_t)
MESSAGE_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
PASSWORD_FN = CFUNCTYPE(c_int, POINTER(c_char), c_int, c_int, c_void_p)
READ_FN = CFUNCTYPE(c_long, c_void_p, c_void_p, c_size_t)

# (name, restype, argtypes) of every function the package uses.
_P = c_void_p
_S = c_char_p
_PROTOTYPES = [
    ("smtp_error_text", _S, [c_int]),
    ("smtp_error_name", _S, [c_int]),
    ("smtp_lib_version", _S, []),
    ("smtp_stage_name", _S, [c_int]),
    ("smtp_outcome_name", _S, [c_int]),
    ("smtp_verdict_name", _S, [c_int]),
    # session
    ("smtp_session_new", _P, []),
    ("smtp_session_free", None, [_P]),
    ("smtp_session_set_url", c_int, [_P, _S]),
    ("smtp_session_set_tls_mode", c_int, [_P, c_int]),
    ("smtp_session_set_auth_insecure", c_int, [_P, c_int]),
    ("smtp_session_set_auth_optional", c_int, [_P, c_int]),
    ("smtp_session_set_auth_token", c_int, [_P, c_int]),
    ("smtp_session_set_auth", c_int, [_P, _S, _S, _S]),
    ("smtp_session_set_helo_name", c_int, [_P, _S]),
    ("smtp_session_set_timeout", c_int, [_P, c_int, c_int]),
    ("smtp_session_set_trace", c_int, [_P, TRACE_FN, _P]),
    ("smtp_session_set_nonblocking", c_int, [_P, c_int]),
    ("smtp_connect", c_int, [_P]),
    ("smtp_send", c_int, [_P, _P]),
    ("smtp_session_abandon", c_int, [_P]),
    ("smtp_quit", c_int, [_P]),
    ("smtp_session_report", _P, [_P]),
    ("smtp_session_has_extension", c_int, [_P, _S, POINTER(c_char_p)]),
    # TLS options
    ("smtp_tls_cache_new", _P, []),
    ("smtp_tls_cache_free", None, [_P]),
    ("smtp_session_set_ca_file", c_int, [_P, _S]),
    ("smtp_session_set_ca_dir", c_int, [_P, _S]),
    ("smtp_session_set_tls_insecure_skip_verify", c_int, [_P, c_int]),
    ("smtp_session_set_tls_min_version", c_int, [_P, _S]),
    ("smtp_session_set_tls_ciphers", c_int, [_P, _S, _S]),
    ("smtp_session_set_tls_groups", c_int, [_P, _S]),
    ("smtp_session_set_client_cert", c_int, [_P, _S, _S]),
    ("smtp_session_set_client_cert_pem", c_int, [_P, _S, _S]),
    ("smtp_session_set_key_password_cb", c_int, [_P, PASSWORD_FN, _P]),
    ("smtp_session_set_tls_cache", c_int, [_P, _P]),
    # extensions
    ("smtp_session_set_chunking", c_int, [_P, c_int, c_size_t]),
    ("smtp_session_set_idna_mapping", c_int, [_P, c_int]),
    # nonblocking driving
    ("smtp_session_set_message_callback", c_int, [_P, MESSAGE_FN, _P]),
    ("smtp_session_queued", c_size_t, [_P]),
    ("smtp_session_fd", c_int, [_P]),
    ("smtp_session_events", c_int, [_P]),
    ("smtp_session_timeout_ms", c_int, [_P]),
    ("smtp_session_process", c_int, [_P]),
    ("smtp_submit", c_int, [_P, _P]),
    # messages
    ("smtp_message_new", _P, []),
    ("smtp_message_free", None, [_P]),
    ("smtp_message_set_from", c_int, [_P, _S]),
    ("smtp_message_add_rcpt", c_int, [_P, _S]),
    ("smtp_message_add_rcpt_dsn", c_int, [_P, _S, c_uint, _S]),
    ("smtp_message_set_data", c_int, [_P, _P, c_size_t]),
    ("smtp_message_allow_long_lines", c_int, [_P, c_int]),
    ("smtp_message_set_body_type", c_int, [_P, c_int]),
    ("smtp_message_set_dsn", c_int, [_P, c_int, _S, c_int]),
    ("smtp_message_set_requiretls", c_int, [_P, c_int]),
    ("smtp_message_report", _P, [_P]),
    # reports
    ("smtp_report_outcome", c_int, [_P]),
    ("smtp_report_failed_stage", c_int, [_P]),
    ("smtp_report_error", c_int, [_P]),
    ("smtp_report_maybe_delivered", c_int, [_P]),
    ("smtp_report_error_detail", _S, [_P]),
    ("smtp_report_queue_id", _S, [_P]),
    ("smtp_report_peer", _S, [_P]),
    ("smtp_report_enhanced_advertised", c_int, [_P]),
    ("smtp_report_tls_version", _S, [_P]),
    ("smtp_report_tls_cipher", _S, [_P]),
    ("smtp_report_tls_resumed", c_int, [_P]),
    ("smtp_report_tls_peer_subject", _S, [_P]),
    ("smtp_report_tls_peer_issuer", _S, [_P]),
    ("smtp_report_count", c_size_t, [_P]),
    ("smtp_report_step", _P, [_P, c_size_t]),
    ("smtp_step_stage", c_int, [_P]),
    ("smtp_step_arg", _S, [_P]),
    ("smtp_step_code", c_int, [_P]),
    ("smtp_step_enhanced", _S, [_P]),
    ("smtp_step_text", _S, [_P]),
    ("smtp_step_error", c_int, [_P]),
    ("smtp_step_elapsed_us", c_int64, [_P]),
    ("smtp_report_rcpt_count", c_size_t, [_P]),
    ("smtp_report_rcpt", _P, [_P, c_size_t]),
    ("smtp_rcpt_address", _S, [_P]),
    ("smtp_rcpt_code", c_int, [_P]),
    ("smtp_rcpt_enhanced", _S, [_P]),
    ("smtp_rcpt_text", _S, [_P]),
    ("smtp_rcpt_accepted", c_int, [_P]),
    ("smtp_rcpt_verdict", c_int, [_P]),
    ("smtp_rcpt_stage", c_int, [_P]),
    ("smtp_rcpt_error", c_int, [_P]),
    ("smtp_report_json", c_size_t, [_P, c_void_p, c_size_t]),
    # composing (lib/compose)
    ("smtp_compose_new", _P, []),
    ("smtp_compose_free", None, [_P]),
    ("smtp_compose_set_from", c_int, [_P, _S, _S]),
    ("smtp_compose_set_sender", c_int, [_P, _S, _S]),
    ("smtp_compose_add_reply_to", c_int, [_P, _S, _S]),
    ("smtp_compose_add_to", c_int, [_P, _S, _S]),
    ("smtp_compose_add_cc", c_int, [_P, _S, _S]),
    ("smtp_compose_add_bcc", c_int, [_P, _S, _S]),
    ("smtp_compose_add_mailbox", c_int, [_P, c_int, _S]),
    ("smtp_compose_set_envelope_from", c_int, [_P, _S]),
    ("smtp_compose_add_envelope_rcpt", c_int, [_P, _S]),
    ("smtp_compose_set_subject", c_int, [_P, _S]),
    ("smtp_compose_set_date", c_int, [_P, c_int64, c_int]),
    ("smtp_compose_set_message_id", c_int, [_P, _S]),
    ("smtp_compose_set_in_reply_to", c_int, [_P, _S]),
    ("smtp_compose_add_references", c_int, [_P, _S]),
    ("smtp_compose_add_header", c_int, [_P, _S, _S]),
    ("smtp_compose_set_text", c_int, [_P, _S]),
    ("smtp_compose_set_html", c_int, [_P, _S]),
    ("smtp_compose_add_attachment", c_int, [_P, _P, c_size_t, _S, _S]),
    ("smtp_compose_add_attachment_file", c_int, [_P, _S, _S, _S]),
    ("smtp_compose_add_attachment_reader", c_int, [_P, READ_FN, _P, c_int64, _S, _S]),
    ("smtp_compose_add_inline", c_int, [_P, _P, c_size_t, _S, _S]),
    ("smtp_compose_add_inline_file", c_int, [_P, _S, _S, _S]),
    ("smtp_mime_type_guess", _S, [_S]),
    ("smtp_compose_set_utf8", c_int, [_P, c_int]),
    ("smtp_compose_allow_8bit", c_int, [_P, c_int]),
    ("smtp_compose_add_dkim", c_int, [_P, _P]),
    ("smtp_compose_to_message", c_int, [_P, _P]),
    ("smtp_compose_render", c_int, [_P, POINTER(c_void_p), POINTER(c_size_t)]),
    ("smtp_compose_missing_headers", c_int, [_P, c_size_t, _S, _P, c_size_t, POINTER(c_size_t)]),
    ("smtp_mailbox_parse", c_int, [_S, _P, c_size_t, _P, c_size_t]),
    # DKIM signing
    ("smtp_dkim_new", _P, []),
    ("smtp_dkim_free", None, [_P]),
    ("smtp_dkim_set_domain", c_int, [_P, _S, _S]),
    ("smtp_dkim_set_key_file", c_int, [_P, _S]),
    ("smtp_dkim_set_key_pem", c_int, [_P, _P, c_size_t]),
    ("smtp_dkim_set_canon", c_int, [_P, c_int, c_int]),
    ("smtp_dkim_set_headers", c_int, [_P, _S]),
    ("smtp_dkim_set_expiry", c_int, [_P, c_int64]),
    ("smtp_dkim_sign", c_int, [_P, _P, c_size_t, _P, c_size_t, POINTER(c_size_t)]),
]

# Sizes from include/smtp.h for the buffers the package passes.
SMTP_ADDR_MAX = 320
SMTP_NAME_MAX = 512
SMTP_MISSING_HEADERS_MAX = 512
SMTP_DKIM_SIGNATURE_MAX = 4096


class LibraryNotFoundError(ImportError):
    """libsmtp.so.0 could not be loaded; the message lists every place tried."""


class Native:
    """The loaded library: its functions as attributes, and the name tables read
    from the library itself (so they cannot drift from include/smtp.h)."""

    if TYPE_CHECKING:
        # the C functions, set from _PROTOTYPES under their names less "smtp_"
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.path = path
        self.cdll = cdll
        for name, restype, argtypes in _PROTOTYPES:
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                raise LibraryNotFoundError(
                    f"{path} has no {name}: the library is older than this package"
                ) from None
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name[len("smtp_"):], fn)
        # smtp_compose_render's memory is the caller's, released with the C free()
        # (the process's, so also the sanitizer runtime's when one is preloaded)
        self.libc_free = ctypes.CDLL(None).free
        self.libc_free.restype = None
        self.libc_free.argtypes = [c_void_p]
        self.version: str = self.lib_version().decode()
        major = self.version.split(".")[0]
        if major != str(SONAME_MAJOR):
            raise LibraryNotFoundError(
                f"{path} is libsmtp {self.version}; this package needs "
                f"{SONAME_MAJOR}.x ({SONAME})"
            )
        self.stages: List[str] = ["none"]
        while True:
            name = self.stage_name(len(self.stages)).decode()
            if name == "none":
                break
            self.stages.append(name)
        self.stage_codes: Dict[str, int] = {n: i for i, n in enumerate(self.stages)}
        self.error_names: Dict[int, str] = {}
        for code in range(0, -64, -1):
            name = self.error_name(code).decode()
            if name != "SMTP_EUNKNOWN":
                self.error_names[code] = name
        self.error_codes: Dict[str, int] = {n: c for c, n in self.error_names.items()}

    def err(self, name: str) -> int:
        """The value of the smtp_err named name ("SMTP_EINVAL")."""
        return self.error_codes[name]

    def error_label(self, code: int) -> str:
        """The identifier of an smtp_err value ("SMTP_ECERT")."""
        return self.error_names.get(code, f"SMTP_EUNKNOWN({code})")

    def error_message(self, code: int) -> str:
        """The library's English description of an smtp_err value."""
        return str(self.error_text(code).decode())


def _pkg_config_libdir() -> Optional[str]:
    pkg_config = shutil.which("pkg-config")
    if not pkg_config:
        return None
    try:
        out = subprocess.run([pkg_config, "--variable=libdir", "smtp"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _prefix_candidates() -> List[str]:
    dirs = [os.path.join(sys.prefix, "lib"), _pkg_config_libdir(), "/usr/local/lib"]
    out: List[str] = []
    for d in dirs:
        if d and os.path.join(d, SONAME) not in out:
            out.append(os.path.join(d, SONAME))
    return out


def _open() -> Native:
    explicit = os.environ.get("LIBSMTP_PATH")
    if explicit:
        if not os.path.isfile(explicit):
            raise LibraryNotFoundError(f"LIBSMTP_PATH={explicit}: no such file")
        try:
            return Native(ctypes.CDLL(explicit), explicit)
        except OSError as e:
            raise LibraryNotFoundError(f"LIBSMTP_PATH={explicit}: {e}") from None
    tried = []
    try:
        return Native(ctypes.CDLL(SONAME), SONAME)
    except OSError as e:
        tried.append(f"{SONAME} through the dynamic loader: {e}")
    for path in _prefix_candidates():
        if not os.path.exists(path):
            tried.append(f"{path}: no such file")
            continue
        try:
            return Native(ctypes.CDLL(path), path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise LibraryNotFoundError(
        "cannot load libsmtp; set LIBSMTP_PATH to the library file. Tried:\n  "
        + "\n  ".join(tried)
    )


_lock = threading.Lock()
_native: Optional[Native] = None


def native() -> Native:
    """The loaded library (loaded on the first call; thread-safe)."""
    global _native
    with _lock:
        if _native is None:
            _native = _open()
        return _native

"""Arguments for the library's C functions: strings in, smtp_err codes out."""

from __future__ import annotations

from typing import Any

from ._native import Native


def c_text(what: str, value: Any) -> bytes:
    """A str as UTF-8 for a C string argument. NUL cannot cross (a C string would
    end there), so it is refused here; every other rule is the library's."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL: {value!r}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what} is not valid Unicode: {e}") from None


def check_rc(lib: Native, what: str, rc: int, rule: str = "") -> None:
    """Raises for an smtp_err: MemoryError for SMTP_ENOMEM, else ValueError naming
    the argument, the library's reason and the rule the library applies."""
    if rc == 0:
        return
    if rc == lib.err("SMTP_ENOMEM"):
        raise MemoryError(f"{what}: {lib.error_message(rc)}")
    reason = f"{what}: {lib.error_message(rc)} ({lib.error_label(rc)})"
    raise ValueError(f"{reason}: {rule}" if rule else reason)


def shown(value: Any) -> str:
    """A value for an error message, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

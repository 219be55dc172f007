"""Secret redaction: one place that knows every secret of this process.

Whatever reaches the terminal, the machine-readable stream or a log file
goes through :func:`redact`. Secrets are added as soon as they are known:
sensitive template variables when a template is loaded, config fields marked
``secret`` when a config is built.
"""
from __future__ import annotations

import threading

__all__ = ["add_secret", "redact", "clear", "MASK"]

MASK = "<sensitive>"
_lock = threading.Lock()
_secrets: list[str] = []


def add_secret(value: object) -> None:
    """Remember ``value`` (if a non-empty string) so it is masked from now on."""
    if not isinstance(value, str) or not value.strip():
        return
    with _lock:
        if value not in _secrets:
            _secrets.append(value)
            _secrets.sort(key=len, reverse=True)  # longest first: no partial leaks


def redact(text: str) -> str:
    """Return ``text`` with every known secret replaced by :data:`MASK`."""
    if not _secrets or not text:
        return text
    for secret in list(_secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def clear() -> None:
    """Forget every secret (for tests)."""
    with _lock:
        _secrets.clear()

"""The debug log: ``HATCHWAY_LOG=1`` (stderr) or ``HATCHWAY_LOG_PATH=file``, secrets redacted.

``HATCHWAY_TRACE_PLUGINS=1`` turns it on too (every hook call is logged).

Also the relay observer that logs every communicator call with its duration.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Generator, Optional

from . import redact
from .hookspecs import hookimpl

__all__ = ["setup_logging", "redact_tracebacks", "RedactingFormatter", "CallLogger"]


class RedactingFormatter(logging.Formatter):
    """Formats, tracebacks included, then masks every known secret."""

    def format(self, record: logging.LogRecord) -> str:
        return redact.redact(super().format(record))


def setup_logging(debug: bool = False, environ: Optional[dict] = None) -> Optional[logging.Handler]:
    """Send Hatchway's log where the environment says; return the handler (or ``None``)."""
    env = os.environ if environ is None else environ
    path = env.get("HATCHWAY_LOG_PATH")
    enabled = (path or env.get("HATCHWAY_LOG", "") not in ("", "0") or debug  # tracing writes to this log too
               or env.get("HATCHWAY_TRACE_PLUGINS", "") not in ("", "0"))
    if not enabled:
        return None
    # backslashreplace: a name that is not UTF-8 (a remote file's) is logged escaped, not a logging error
    handler: logging.Handler = (logging.FileHandler(path, encoding="utf-8", errors="backslashreplace") if path
                                else logging.StreamHandler())
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root = logging.getLogger("hatchway")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("hatchway_ssh", "hatchway_docker", "hatchway_winrm", "hatchway_local", "paramiko", "winrm", "docker"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
    return handler


def redact_tracebacks() -> None:
    """Tracebacks Python prints itself (an exception no one caught, in any thread) are masked too."""
    import sys
    import threading
    import traceback

    def show(kind: Any, value: Any, tb: Any, where: str = "") -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redact.redact(where + text))
        sys.stderr.flush()

    sys.excepthook = show

    def show_thread(args: Any) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        show(args.exc_type, args.exc_value, args.exc_traceback, f"Exception in thread {name}:\n")

    threading.excepthook = show_thread


class CallLogger:
    """Relay observer: logs each communicator call, its duration and its outcome."""

    def __init__(self, build_name: str) -> None:
        self.log = logging.getLogger(f"hatchway.build.{build_name}")

    def _timed(self, what: str) -> Generator[None, Any, Any]:
        start = time.monotonic()
        self.log.debug("%s: start", what)
        try:
            result = yield
        except BaseException as exc:
            self.log.debug("%s: failed after %.3fs: %s", what, time.monotonic() - start, exc)
            raise
        self.log.debug("%s: done in %.3fs -> %r", what, time.monotonic() - start, result)
        return result

    @hookimpl(wrapper=True)
    def connect(self) -> Generator[None, Any, Any]:
        return (yield from self._timed("connect"))

    @hookimpl(wrapper=True)
    def execute(self, command: str) -> Generator[None, Any, Any]:
        return (yield from self._timed(f"execute {command!r}"))

    @hookimpl(wrapper=True)
    def upload(self, source: Any, destination: str) -> Generator[None, Any, Any]:
        return (yield from self._timed(f"upload {getattr(source, 'name', source)} -> {destination!r}"))

    @hookimpl(wrapper=True)
    def download(self, source: str, destination: Any) -> Generator[None, Any, Any]:
        return (yield from self._timed(f"download {source!r} -> {getattr(destination, 'name', destination)}"))

    @hookimpl(wrapper=True)
    def cleanup(self) -> Generator[None, Any, Any]:
        return (yield from self._timed("cleanup"))

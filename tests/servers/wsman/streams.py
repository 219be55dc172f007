"""The pipes between a WS-Man command and its process: stdin fed by Send, output drained by Receive.

Both are bounded, like a real pipe: a writer blocks while the reader lags (never longer than the
command lives), so neither side holds a whole transfer in memory.
"""
from __future__ import annotations

import io
import threading
import time
from collections import deque
from typing import Deque, List, Optional, Tuple


class Cancelled(BrokenPipeError):
    """The command was signalled or its shell deleted: the pipe is gone."""


class StdinPipe(io.RawIOBase):
    """A blocking reader fed by WS-Man Send; EOF after the Send with ``End="true"``."""

    def __init__(self, limit: int = 8 << 20) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._chunks: Deque[bytes] = deque()
        self._pending = 0
        self._eof = False
        self._cancelled = False
        self._limit = limit

    # writer side (the HTTP thread answering Send)
    def feed(self, data: bytes, end: bool = False) -> None:
        with self._cond:
            while self._pending >= self._limit and not self._cancelled:
                self._cond.wait(0.5)
            if self._cancelled:
                return
            if data:
                self._chunks.append(data)
                self._pending += len(data)
            if end:
                self._eof = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._eof = True
            self._chunks.clear()
            self._pending = 0
            self._cond.notify_all()

    @property
    def ended(self) -> bool:
        return self._eof

    # reader side (the stand-in or the feeder of a /bin/sh process)
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self._cond:
            while not self._chunks and not self._eof:
                self._cond.wait(0.5)
            if not self._chunks:
                return 0
            chunk = self._chunks[0]
            n = min(len(buffer), len(chunk))
            buffer[:n] = chunk[:n]
            if n == len(chunk):
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[n:]
            self._pending -= n
            self._cond.notify_all()
            return n


class OutputPipe:
    """stdout/stderr chunks in order, plus the exit code once the process is done."""

    def __init__(self, limit: int = 4 << 20) -> None:
        self._cond = threading.Condition()
        self._chunks: Deque[Tuple[str, bytes]] = deque()
        self._pending = 0
        self._limit = limit
        self._cancelled = False
        self.exit_code: Optional[int] = None

    def write(self, stream: str, data: bytes) -> None:
        """Append output; blocks while the client lags; raises Cancelled once the command is gone."""
        if not data:
            return
        with self._cond:
            while self._pending >= self._limit and not self._cancelled:
                self._cond.wait(0.5)
            if self._cancelled:
                raise Cancelled("the command was terminated")
            self._chunks.append((stream, bytes(data)))
            self._pending += len(data)
            self._cond.notify_all()

    def finish(self, exit_code: int) -> None:
        with self._cond:
            if self.exit_code is None:
                self.exit_code = exit_code
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._chunks.clear()
            self._pending = 0
            self._cond.notify_all()

    @property
    def done(self) -> bool:
        return self.exit_code is not None and not self._chunks

    def take(
        self, max_bytes: int, timeout: float, coalesce: float, stop: threading.Event
    ) -> Optional[Tuple[List[Tuple[str, bytes]], bool]]:
        """Wait up to ``timeout`` for output or the end; return ``(chunks, done)`` or None on timeout.

        Once some output is there, waits up to ``coalesce`` seconds more for the buffer to reach
        ``max_bytes`` so a chatty process does not cost one Receive per line.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._chunks and self.exit_code is None and not self._cancelled:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop.is_set():
                    return None
                self._cond.wait(min(remaining, 0.25))
            settle = time.monotonic() + coalesce
            while self._pending < max_bytes and self.exit_code is None and not self._cancelled:
                remaining = settle - time.monotonic()
                if remaining <= 0 or stop.is_set():
                    break
                self._cond.wait(remaining)
            runs: List[Tuple[str, List[bytes]]] = []  # consecutive chunks of one stream, joined once
            budget = max_bytes
            while self._chunks and budget > 0:
                stream, data = self._chunks[0]
                part = data[:budget]
                if len(part) == len(data):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = (stream, data[len(part):])
                budget -= len(part)
                self._pending -= len(part)
                if runs and runs[-1][0] == stream:
                    runs[-1][1].append(part)
                else:
                    runs.append((stream, [part]))
            self._cond.notify_all()
            taken = [(stream, b"".join(parts)) for stream, parts in runs]
            return taken, self.exit_code is not None and not self._chunks

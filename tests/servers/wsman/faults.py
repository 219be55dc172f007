"""Injected faults: one-shot counters, optionally limited to one action, thread-safe."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict, List, Optional


@dataclass
class Injection:
    kind: str  # drop, drop_after, busy, timeout, delay
    action: Optional[str]
    remaining: int
    seconds: float = 0.0


class FaultInjector:
    """What the next requests suffer. ``action`` is a short name (``Receive``, ``Send``, ``Command``,
    ``Create``, ``Signal``, ``Delete``, ``Get``) or None for any request.

    - ``drop_next``: close the TCP connection without answering; the request is not carried out
      (``after=True``: it is carried out, only the answer is lost).
    - ``busy_next``: answer the ERROR_BUSY (170) fault; not carried out.
    - ``timeout_next``: answer nothing until the client gives up (its read timeout), then drop.
    - ``delay_next``: carry it out and answer normally, ``seconds`` late (a slow host).
    """

    KINDS = ("drop", "drop_after", "busy", "timeout", "delay")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: List[Injection] = []
        self.fired: Dict[str, int] = {kind: 0 for kind in self.KINDS}

    def drop_next(self, n: int = 1, action: Optional[str] = None, *, after: bool = False) -> None:
        self._add(Injection("drop_after" if after else "drop", action, n))

    def busy_next(self, n: int = 1, action: Optional[str] = None) -> None:
        self._add(Injection("busy", action, n))

    def timeout_next(self, n: int = 1, action: Optional[str] = None) -> None:
        self._add(Injection("timeout", action, n))

    def delay_next(self, n: int = 1, action: Optional[str] = None, *, seconds: float = 1.0) -> None:
        self._add(Injection("delay", action, n, seconds))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def pending(self) -> int:
        """How many injected faults have not fired yet."""
        with self._lock:
            return sum(entry.remaining for entry in self._pending)

    def _add(self, injection: Injection) -> None:
        if injection.remaining < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._pending.append(injection)

    def take(self, action: str) -> Optional[Injection]:
        """The fault to apply to a request for ``action`` (consuming one count; the oldest first), or None."""
        with self._lock:
            for entry in self._pending:
                if entry.action is None or entry.action.lower() == action.lower():
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._pending.remove(entry)
                    self.fired[entry.kind] += 1
                    return entry
        return None

"""Injected faults: one-shot counters, optionally limited to one action, thread-safe."""
from __future__ import annotations

import threading
from typing import Dict, List, Optional


class FaultInjector:
    """``drop_next`` closes the TCP connection without answering, ``busy_next`` answers the
    ERROR_BUSY (170) fault, ``timeout_next`` holds the request until the client gives up (then
    drops it). ``action`` is a short name (``Receive``, ``Send``, ``Command``, ``Create``,
    ``Signal``, ``Delete``) or None for any request. The faulted request is not carried out.
    """

    KINDS = ("drop", "busy", "timeout")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Dict[str, List[List]] = {kind: [] for kind in self.KINDS}
        self.fired: Dict[str, int] = {kind: 0 for kind in self.KINDS}

    def drop_next(self, n: int = 1, action: Optional[str] = None) -> None:
        self._add("drop", n, action)

    def busy_next(self, n: int = 1, action: Optional[str] = None) -> None:
        self._add("busy", n, action)

    def timeout_next(self, n: int = 1, action: Optional[str] = None) -> None:
        self._add("timeout", n, action)

    def clear(self) -> None:
        with self._lock:
            for entries in self._pending.values():
                entries.clear()

    def _add(self, kind: str, n: int, action: Optional[str]) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._pending[kind].append([action, n])

    def take(self, action: str) -> Optional[str]:
        """The fault kind to apply to a request for ``action`` (consuming one count), or None."""
        with self._lock:
            for kind in self.KINDS:
                for entry in self._pending[kind]:
                    if entry[0] is None or entry[0].lower() == action.lower():
                        entry[1] -= 1
                        if entry[1] == 0:
                            self._pending[kind].remove(entry)
                        self.fired[kind] += 1
                        return kind
        return None

"""Retrying with backoff: the one loop behind every "try again later" in Hatchway.

Public through :mod:`hatchway.toolkit`. The core uses it to wait for a
machine to answer (``Relay.wait_connected``) and for provisioners' start
retries; plugins use it for their own transient failures (a busy server, a
dropped connection to re-make).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Callable, Optional, Tuple, Type, TypeVar, Union

import attrs

from .durations import Duration
from .errors import (BuildCancelled, CommandTimeout, CommunicatorError, ConnectError, ProvisionerError,
                     RemotePathError, RetryableConnectError)

__all__ = ["Backoff", "retry", "worth_retrying", "retry_until"]

log = logging.getLogger("hatchway.retry")

T = TypeVar("T")
RetryOn = Union[Type[BaseException], Tuple[Type[BaseException], ...], Callable[[BaseException], bool]]


@attrs.define(frozen=True)
class Backoff:
    """Waits that grow geometrically: ``first``, ``first * factor``, ... never more than ``most`` seconds."""

    first: float = 0.2
    factor: float = 2.0
    most: float = math.inf

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1 for the first)."""
        return min(self.first * self.factor ** max(attempt - 1, 0), self.most)


def _predicate(retry_on: RetryOn) -> Callable[[BaseException], bool]:
    if isinstance(retry_on, type) or isinstance(retry_on, tuple):
        return lambda exc: isinstance(exc, retry_on)  # type: ignore[arg-type]
    return retry_on


def retry(
    action: Callable[[], T],
    *,
    retry_on: RetryOn,
    timeout: Optional[float] = None,
    attempts: Optional[int] = None,
    backoff: Backoff = Backoff(),
    cancelled: Optional[threading.Event] = None,
    cancel_message: str = "cancelled",
    on_retry: Optional[Callable[[BaseException, int, float], None]] = None,
    recover: Optional[Callable[[BaseException, int], None]] = None,
    give_up: Optional[Callable[[BaseException, int], BaseException]] = None,
) -> T:
    """Call ``action`` until it returns, retrying the failures ``retry_on`` accepts.

    - ``retry_on``: an exception class, a tuple of them, or a predicate on the
      exception. Any other exception propagates at once, untouched.
    - ``timeout`` (seconds from the first attempt) and ``attempts`` (at most
      this many calls) bound the retrying; the first one reached wins. The
      last wait is cut short so that one attempt is made right at the
      deadline. With neither, retrying never stops.
    - Between attempts, wait ``backoff.delay(n)`` seconds; with ``cancelled``
      the wait ends as soon as the event is set, raising
      :class:`~hatchway.errors.BuildCancelled` (``cancel_message``).
    - ``on_retry(exc, n, delay)`` is called before each wait (to say
      "Retrying after: ..."), ``recover(exc, n)`` after it, just before the
      next attempt (to re-make a dropped connection; what it raises
      propagates).
    - When the bounds are reached, the error from ``give_up(exc, n)`` is
      raised (``from None``); without ``give_up``, the last failure itself.
    """
    should_retry = _predicate(retry_on)
    started = time.monotonic()
    deadline = None if timeout is None else started + max(timeout, 0.0)
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except BaseException as exc:  # noqa: B902 - filtered by retry_on just below
            if not should_retry(exc):
                raise
            remaining = math.inf if deadline is None else deadline - time.monotonic()
            if remaining <= 0 or (attempts is not None and attempt >= attempts):
                if give_up is None:
                    raise
                raise give_up(exc, attempt) from None
            delay = min(backoff.delay(attempt), remaining)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            if cancelled is not None:
                if cancelled.wait(delay):
                    raise BuildCancelled(cancel_message) from None
            elif delay > 0:
                time.sleep(delay)
            if recover is not None:
                recover(exc, attempt)


def worth_retrying(exc: BaseException) -> bool:
    """Could the same upload or start succeed later (the machine rebooting), as Packer retries it?

    A :class:`~hatchway.errors.CommunicatorError`, but not a time-out, a bad
    path, or a connection refused for good (a removed container, bad
    credentials).
    """
    if not isinstance(exc, CommunicatorError) or isinstance(exc, (CommandTimeout, RemotePathError)):
        return False
    return not isinstance(exc, ConnectError) or isinstance(exc, RetryableConnectError)


#: The waits of a provisioner's start retry: 0.5 s doubling to 10 s.
START_BACKOFF = Backoff(0.5, 2.0, 10.0)


def retry_until(timeout: float, cancelled: threading.Event, what: str, action: Callable[[], T],
                on_retry: Callable[[BaseException], None]) -> T:
    """A provisioner's ``start_retry_timeout``: run ``action``, retrying what is :func:`worth_retrying`.

    Past ``timeout`` seconds the last error becomes a
    :class:`~hatchway.errors.ProvisionerError` "``what`` failed for
    ``timeout``: error"; ``on_retry(exc)`` is told of each retry.
    """
    return retry(
        action,
        retry_on=worth_retrying,
        timeout=timeout,
        backoff=START_BACKOFF,
        cancelled=cancelled,
        on_retry=lambda exc, n, delay: on_retry(exc),
        give_up=lambda exc, n: ProvisionerError(f"{what} failed for {Duration(timeout)}: {exc}"),
    )

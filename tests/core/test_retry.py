"""hatchway.toolkit.retry: the one retry loop (relay connect, provisioner start retries, winrm reconnects)."""
from __future__ import annotations

import threading
from typing import List

import pytest

from hatchway import (BuildCancelled, CommandTimeout, CommunicatorError, ConnectError, ProvisionerError, Relay,
                      RemotePathError, RetryableConnectError, Target)
from hatchway.toolkit import Backoff, retry, retry_until, worth_retrying
from hatchway_local import LocalCommunicator, LocalConfig

NO_WAIT = Backoff(0.0)


class Flaky:
    """Fails with the given errors, one per call, then returns "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_backoff_grows_to_its_cap():
    assert [Backoff(0.2, 2.0, 1.0).delay(n) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_retries_what_retry_on_accepts_and_tells_each_retry():
    action, told = Flaky(OSError("one"), OSError("two")), []
    result = retry(action, retry_on=OSError, backoff=NO_WAIT, on_retry=lambda e, n, d: told.append((str(e), n)))
    assert result == "done" and action.calls == 3
    assert told == [("one", 1), ("two", 2)]


def test_other_errors_propagate_at_once():
    action = Flaky(ValueError("not retried"))
    with pytest.raises(ValueError, match="not retried"):
        retry(action, retry_on=lambda exc: isinstance(exc, OSError), backoff=NO_WAIT)
    assert action.calls == 1


def test_attempts_bound_it_and_give_up_makes_the_error():
    action = Flaky(*[OSError(f"try {i}") for i in range(5)])
    with pytest.raises(RuntimeError) as info:
        retry(action, retry_on=OSError, attempts=3, backoff=NO_WAIT,
              give_up=lambda exc, n: RuntimeError(f"gave up after {n}: {exc}"))
    assert str(info.value) == "gave up after 3: try 2"
    assert info.value.__suppress_context__
    action = Flaky(*[OSError(f"try {i}") for i in range(5)])
    with pytest.raises(OSError, match="try 1"):  # without give_up: the last failure itself
        retry(action, retry_on=OSError, attempts=2, backoff=NO_WAIT)


def test_a_zero_timeout_gives_up_after_the_first_failure():
    action = Flaky(OSError("down"))
    with pytest.raises(OSError):
        retry(action, retry_on=OSError, timeout=0, backoff=NO_WAIT)
    assert action.calls == 1


def test_recover_runs_between_attempts():
    events: List[str] = []

    def action() -> str:
        events.append("attempt")
        if len(events) < 3:
            raise ConnectionResetError("dropped")
        return "ok"

    retry(action, retry_on=ConnectionResetError, backoff=NO_WAIT,
          on_retry=lambda e, n, d: events.append("told"), recover=lambda e, n: events.append("recover"))
    assert events == ["attempt", "told", "recover", "attempt"]


def test_cancelling_ends_the_wait():
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(BuildCancelled, match="cancelled while testing"):
        retry(Flaky(OSError("x")), retry_on=OSError, backoff=Backoff(60.0), cancelled=cancelled,
              cancel_message="cancelled while testing")


@pytest.mark.parametrize("exc, worth", [
    (CommunicatorError("lost"), True),
    (RetryableConnectError("booting"), True),
    (ConnectError("bad password"), False),
    (CommandTimeout("slow"), False),
    (RemotePathError("no such dir"), False),
    (ValueError("a bug"), False),
])
def test_worth_retrying(exc, worth):
    assert worth_retrying(exc) is worth


def test_retry_until_says_what_failed_for_how_long():
    told: List[str] = []
    with pytest.raises(ProvisionerError) as info:
        retry_until(0.0, threading.Event(), "uploading and starting x.sh", Flaky(CommunicatorError("refused")),
                    lambda exc: told.append(str(exc)))
    assert str(info.value) == "uploading and starting x.sh failed for 0s: refused"


class Refusing(LocalCommunicator):
    """Refuses the first connection attempts, as a booting machine does."""

    refusals = 2

    def connect(self) -> bool:
        if self.refusals:
            self.refusals -= 1
            raise RetryableConnectError("connection refused")
        return True


def test_relay_wait_connected_retries_then_connects_and_says_why_it_waited():
    relay = Relay(Refusing(LocalConfig(), Target()))
    seen: List[str] = []
    relay.wait_connected(30, on_retry=lambda exc, n: seen.append(f"{n}: {exc}"))
    assert seen == ["1: connection refused", "2: connection refused"]
    assert relay.run("echo up").text == "up\n"


def test_relay_wait_connected_times_out_with_the_communicator_named():
    relay = Relay(Refusing(LocalConfig(), Target()))
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(0)
    assert str(info.value) == "timed out after 0s waiting for this machine: connection refused"

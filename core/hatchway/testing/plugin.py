"""The pytest plugin (entry point ``pytest11``): fixtures for communicator tests.

Kept light: importing it must not slow down unrelated test suites.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest


@pytest.fixture
def hatchway_relay_for() -> Iterator[Callable[..., Any]]:
    """Make connected relays for communicator instances; all are cleaned up afterwards.

    ``relay = hatchway_relay_for(MyCommunicator(config, target))``
    """
    from hatchway import Relay

    made: List[Relay] = []

    def make(communicator: Any, connect_timeout: float = 30.0) -> Relay:
        relay = Relay(communicator)
        relay.wait_connected(connect_timeout)
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.cleanup()

"""Fixtures: a WS-Management server on loopback (tests/servers/wsman) and winrm communicators for it."""
from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest

from hatchway.communicator import Target
from hatchway.config import build
from hatchway.relay import Relay


@pytest.fixture
def wsman(wsman_factory):
    """A server with Basic over HTTP (the most common Packer set-up) and the default 500 KB envelope."""
    return wsman_factory()


def make_communicator(server: Any, **keys: Any):
    """A WinRMCommunicator for ``server`` from template keys, as a template would make it."""
    from hatchway_winrm import WinRMCommunicator, WinRMConfig

    data = {"winrm_host": server.host, "winrm_port": server.port, "winrm_username": "vagrant",
            "winrm_password": "vagrant", "winrm_timeout": "20s", "winrm_no_proxy": True}
    if getattr(server, "https", False):
        data["winrm_use_ssl"] = True
        data.setdefault("winrm_ca_cert_file", server.cert_path)
    data.update(keys)
    config, problems = build(WinRMConfig, data, "communicator")
    assert config is not None, [str(p) for p in problems]
    return WinRMCommunicator(config, Target())


@pytest.fixture
def communicator_for() -> Callable[..., Any]:
    """``communicator_for(server, **keys)``: an unconnected WinRMCommunicator."""
    return make_communicator


@pytest.fixture
def connect(wsman) -> Iterator[Callable[..., Relay]]:
    """``connect(server=wsman, **keys)`` -> a connected Relay; every one is cleaned up afterwards."""
    relays: List[Relay] = []

    def make(server: Any = None, **keys: Any) -> Relay:
        relay = Relay(make_communicator(server or wsman, **keys))
        relay.wait_connected(20)
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.cleanup()

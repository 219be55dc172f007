"""The ``none`` communicator: the build does not talk to the machine at all (Packer's ``none``).

Commands "succeed" as no-ops, as in Packer; transfers fail with a clear
message. Provisioners that need a communicator are refused at validation,
so a template with ``"communicator": "none"`` fails before anything runs
instead of half-way through.
"""
from __future__ import annotations

from typing import Any

import hatchway
from hatchway import CommunicatorConfig, CommunicatorError

__all__ = ["NoneCommunicator"]
__version__ = "0.1.0"


class NoneCommunicator(hatchway.Communicator):
    name = "none"
    Config = CommunicatorConfig
    connects = False

    def connect_timeout(self) -> float:
        return 0.0

    def describe(self) -> str:
        return "no communicator"

    @hatchway.hookimpl
    def connect(self) -> bool:
        return True

    @hatchway.hookimpl
    def execute(self, command: str) -> int:
        return 0

    @hatchway.hookimpl
    def upload(self, destination: str) -> Any:
        raise CommunicatorError(f"cannot upload to {destination!r}: uploads are not possible when communicator = 'none'")

    @hatchway.hookimpl
    def download(self, source: str) -> Any:
        raise CommunicatorError(f"cannot download {source!r}: downloads are not possible when communicator = 'none'")

    @hatchway.hookimpl
    def cleanup(self) -> None:
        return None


@hatchway.hookimpl
def register_communicators(register) -> None:
    register(NoneCommunicator)

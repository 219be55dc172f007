"""Hatchway's ``ssh`` communicator (paramiko), with every Packer ``ssh_*`` option.

Importing this package is light (no paramiko): ``hatchway validate``
loads it for every template. See README.md for the options.
"""
from __future__ import annotations

import hatchway

from .communicator import SSHCommunicator
from .config import SSHConfig

__all__ = ["SSHCommunicator", "SSHConfig"]
__version__ = "0.1.0"


@hatchway.hookimpl
def register_communicators(register) -> None:
    register(SSHCommunicator)

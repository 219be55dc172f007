"""hatchway-dirmachine: an example out-of-tree Hatchway plugin.

It brings a builder and the communicator that reaches what it builds, the
way Packer's docker builder brings the docker communicator:

- the ``dirmachine`` builder (:mod:`.builder`) makes a throw-away directory
  with a static busybox in it: the machine;
- the ``dirmachine`` communicator (:mod:`.communicator`) runs commands in it
  with chroot and copies files in and out of it.

This module is what the entry point ``hatchway = dirmachine = hatchway_dirmachine``
names. Hatchway imports it on every run (``hatchway validate`` too), so it
stays light: only the standard library and hatchway are imported here.
"""
from __future__ import annotations

import hatchway

from .builder import DirMachineBuilder, DirMachineConfig
from .communicator import DirMachineCommunicator, DirMachineCommunicatorConfig

__all__ = ["DirMachineBuilder", "DirMachineConfig", "DirMachineCommunicator", "DirMachineCommunicatorConfig"]
__version__ = "0.1.0"


@hatchway.hookimpl
def register_builders(register) -> None:
    register(DirMachineBuilder)


@hatchway.hookimpl
def register_communicators(register) -> None:
    register(DirMachineCommunicator)

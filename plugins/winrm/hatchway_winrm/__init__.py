"""hatchway-winrm: the ``winrm`` communicator and the Windows provisioners.

- ``winrm``: pywinrm (imported only when a build connects) with streamed
  transfers: one PowerShell process per file fed through stdin, chunks sized
  to the server's MaxEnvelopeSize, trees as one zip, downloads decoded as
  they arrive.
- ``powershell``, ``windows-shell``, ``windows-restart``: Packer's
  provisioners of the same names.

Importing this package is cheap: no winrm, requests or pyspnego.
"""
from __future__ import annotations

import hatchway

from .communicator import WinRMCommunicator
from .config import WinRMConfig
from .provisioners import PowerShellProvisioner, WindowsRestartProvisioner, WindowsShellProvisioner

__all__ = ["WinRMCommunicator", "WinRMConfig", "PowerShellProvisioner", "WindowsShellProvisioner",
           "WindowsRestartProvisioner"]
__version__ = "0.1.0"


@hatchway.hookimpl
def register_communicators(register) -> None:
    register(WinRMCommunicator)


@hatchway.hookimpl
def register_provisioners(register) -> None:
    register(PowerShellProvisioner)
    register(WindowsShellProvisioner)
    register(WindowsRestartProvisioner)

"""Hatchway: communicators for image builders, as a pluggy plugin framework.

The public face for plugin authors: the ``hookimpl`` marker, the base
classes, the config helpers and the errors. See :mod:`hatchway.hookspecs`
for the contract.
"""
from __future__ import annotations

from .communicator import (DISCONNECTED, Communicator, CommunicatorConfig, OutputStream, SSHInterfaceConfig, Target,
                           Transfer)
from .components import Artifact, Builder, EmptyConfig, PostProcessor, Provisioner
from .config import option
from .context import BuildContext
from .durations import Duration
from .errors import (
    BuildCancelled,
    CommandTimeout,
    CommunicatorError,
    ConfigError,
    ConfigProblem,
    ConnectError,
    HatchwayError,
    PluginError,
    ProvisionerError,
    RemotePathError,
    RetryableConnectError,
)
from .hookspecs import hookimpl, hookspec

__version__ = "0.1.0"

__all__ = [
    "DISCONNECTED",
    "Artifact",
    "BuildCancelled",
    "BuildContext",
    "Builder",
    "CommandTimeout",
    "Communicator",
    "CommunicatorConfig",
    "CommunicatorError",
    "ConfigError",
    "ConfigProblem",
    "ConnectError",
    "Duration",
    "EmptyConfig",
    "HatchwayError",
    "OutputStream",
    "PluginError",
    "PostProcessor",
    "Provisioner",
    "ProvisionerError",
    "RemotePathError",
    "RetryableConnectError",
    "SSHInterfaceConfig",
    "Target",
    "Transfer",
    "hookimpl",
    "hookspec",
    "option",
]

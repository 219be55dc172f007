"""Hatchway: communicators for image builders, as a pluggy plugin framework.

The plugin API, all of it:

- this package: the ``hookimpl`` marker, the base classes and types
  (``Communicator``, ``Builder``, ``Provisioner``, ``PostProcessor``,
  ``Target``, ``Transfer``, ``OutputStream``, ``BuildContext``, ``Relay``),
  ``option`` for config fields, ``Duration``, and the errors;
- :mod:`hatchway.toolkit`: the helpers plugins share (file walking with
  excludes, atomic writes, archives, local processes, retrying, secrets);
- :mod:`hatchway.testing`: the communicator contract suite.

Every other module is internal and may change in any release. The hooks a
plugin implements are documented in ``docs/plugins.md`` (the guide) and in
:mod:`hatchway.hookspecs`.
"""
from __future__ import annotations

from .communicator import (DISCONNECTED, Communicator, CommunicatorConfig, OutputStream, SSHInterfaceConfig, Target,
                           Transfer)
from .components import Artifact, Builder, EmptyConfig, PostProcessor, Provisioner
from .config import Port, option
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
from .relay import CommandResult, Relay

__version__ = "0.1.0"

__all__ = [
    "DISCONNECTED",
    "Artifact",
    "BuildCancelled",
    "BuildContext",
    "Builder",
    "CommandResult",
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
    "Port",
    "PostProcessor",
    "Provisioner",
    "ProvisionerError",
    "Relay",
    "RemotePathError",
    "RetryableConnectError",
    "SSHInterfaceConfig",
    "Target",
    "Transfer",
    "hookimpl",
    "hookspec",
    "option",
]

"""What every Hatchway has: the ``null`` builder and data source, the ``shell``, ``file`` and ``shell-local`` provisioners, the ``shell-local`` post-processor."""
from __future__ import annotations

from ..hookspecs import hookimpl
from .file import FileProvisioner
from .null import NullBuilder, NullDataSource
from .shell import ShellProvisioner
from .shell_local import ShellLocalPostProcessor, ShellLocalProvisioner

__all__ = ["NullBuilder", "NullDataSource", "ShellProvisioner", "FileProvisioner", "ShellLocalProvisioner", "ShellLocalPostProcessor"]


@hookimpl
def register_builders(register) -> None:
    register(NullBuilder)


@hookimpl
def register_provisioners(register) -> None:
    register(ShellProvisioner)
    register(FileProvisioner)
    register(ShellLocalProvisioner)


@hookimpl
def register_post_processors(register) -> None:
    register(ShellLocalPostProcessor)


@hookimpl
def register_data_sources(register) -> None:
    register(NullDataSource)

"""Base classes of the other things plugins register: builders, provisioners, post-processors.

Each is a plain class with a ``name`` (the template's ``type``) and a
``Config`` attrs class (its template keys, see :mod:`hatchway.config`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from .communicator import Target
    from .context import BuildContext

__all__ = ["Artifact", "Builder", "Provisioner", "PostProcessor", "EmptyConfig"]


@attrs.define(kw_only=True)
class EmptyConfig:
    """The config of a component that takes no keys."""


@attrs.define
class Artifact:
    """What a build leaves behind: an image id, files, or nothing at all."""

    builder: str
    id: str = ""
    files: List[str] = attrs.field(factory=list)
    description: str = ""
    data: Dict[str, Any] = attrs.field(factory=dict)

    def __str__(self) -> str:
        return self.description or self.id or ", ".join(self.files) or "(no artifact)"


class Builder:
    """Makes (or finds) the machine, and removes it again.

    ``run`` returns the :class:`~hatchway.communicator.Target` the
    communicator connects to; ``cleanup`` is always called afterwards, also
    when ``run`` failed half-way, so it must cope with partial state.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = EmptyConfig
    #: The communicator used when the template sets none (Packer's default is ssh).
    default_communicator: ClassVar[str] = "ssh"

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(self, ctx: "BuildContext") -> "Target":
        raise NotImplementedError

    def artifact(self, ctx: "BuildContext") -> Optional[Artifact]:
        """Called after provisioning succeeded, before cleanup."""
        return None

    def cleanup(self, ctx: "BuildContext") -> None:
        """Remove what ``run`` made; with ``-on-error=abort`` it is not called on failure."""

    def describe(self) -> str:
        """Where the machine is, for the message after ``-on-error=abort``."""
        return ""


class Provisioner:
    """Changes the machine through the build's communicator."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = EmptyConfig
    #: Needs a communicator that reaches the machine (false for shell-local).
    needs_communicator: ClassVar[bool] = True

    def __init__(self, config: Any) -> None:
        self.config = config

    def provision(self, ctx: "BuildContext") -> None:
        raise NotImplementedError


class PostProcessor:
    """Turns an artifact into another (tag, export, compress...)."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = EmptyConfig

    def __init__(self, config: Any) -> None:
        self.config = config

    def process(self, ctx: "BuildContext", artifact: Artifact) -> Artifact:
        raise NotImplementedError

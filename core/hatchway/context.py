"""What a builder, provisioner or post-processor gets to work with during a build."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from .relay import Relay
    from .ui import BuildUI

__all__ = ["BuildContext"]


def _no_render(text: str, data: Optional[Dict[str, Any]] = None) -> str:
    return text


@attrs.define(eq=False)
class BuildContext:
    """One build's name, output, communicator, cancellation flag and shared state."""

    build_name: str
    build_type: str
    ui: "BuildUI"
    communicator: Optional["Relay"] = None
    cancelled: threading.Event = attrs.field(factory=threading.Event)
    template_dir: Path = attrs.field(factory=Path.cwd)
    #: Render template functions in late values, e.g. ``{{.Path}}`` in ``execute_command``.
    render: Callable[[str, Optional[Dict[str, Any]]], str] = _no_render
    debug: bool = False
    #: Shared between steps of this build (the builder's container id...).
    state: Dict[str, Any] = attrs.field(factory=dict)
    #: ``-force``: builders may overwrite existing artifacts.
    force: bool = False
    #: ``time.monotonic()`` by which the running provisioner must end (its ``timeout``), or ``None``.
    deadline: Optional[float] = None

    def remaining(self) -> Optional[float]:
        """Seconds left before :attr:`deadline` (never below a tiny positive value), or ``None``."""
        if self.deadline is None:
            return None
        import time

        return max(self.deadline - time.monotonic(), 0.001)

    def check_cancelled(self) -> None:
        """Raise :class:`~hatchway.errors.BuildCancelled` if the build was interrupted."""
        if self.cancelled.is_set():
            from .errors import BuildCancelled

            raise BuildCancelled(f"build {self.build_name!r} was cancelled")

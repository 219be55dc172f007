"""Python stand-ins for the PowerShell scripts clients send (PowerShell does not run here).

Which stand-in runs a script (:func:`lookup`):

- a script hatchway-winrm ships (``plugins/winrm/hatchway_winrm/ps/*.ps1``) by its SHA-256, from the
  table in :mod:`.shipped` (kept next to the stand-ins; a changed script matches no row);
- a script a test or a benchmark writes itself by its ``# hatchway-standin: <name>`` line.

Each module of this package registers functions with ``@standin("name")``; every module is imported
when the package is. A stand-in is ``def fn(ctx) -> int`` (the exit code); ``ctx`` is a
:class:`StandinContext`.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Optional, Protocol, Tuple

__all__ = ["standin", "lookup", "REGISTRY", "StandinContext", "Writer"]


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass
class StandinContext:
    """What a stand-in gets: the script, its ``$name = 'value'`` arguments, pipes, env and cwd."""

    script: str
    args: Dict[str, Any]
    stdin: IO[bytes]
    stdout: Writer
    stderr: Writer
    env: Dict[str, str] = field(default_factory=dict)
    cwd: str = "."
    #: the server's accounts (user -> password), for stand-ins that log on as another user
    users: Dict[str, str] = field(default_factory=dict)


StandinFn = Callable[[StandinContext], int]

#: stand-in name -> function
REGISTRY: Dict[str, StandinFn] = {}


def standin(name: str) -> Callable[[StandinFn], StandinFn]:
    """Register ``fn`` as the stand-in named ``name`` (in :mod:`.shipped`, or a test script's marker)."""

    def register(fn: StandinFn) -> StandinFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"stand-in {name!r} is registered twice ({REGISTRY[name].__module__} and {fn.__module__})")
        REGISTRY[name] = fn
        return fn

    return register


def lookup(script: str) -> Tuple[Optional[str], str]:
    """``(stand-in name or None, how it was found or why not)`` for a decoded script."""
    from .. import powershell
    from .shipped import SHIPPED

    digest = powershell.script_sha256(script)
    row = SHIPPED.get(digest)
    if row is not None:
        return row.standin, f"{row.script} (SHA-256 {digest[:12]})"
    name = powershell.standin_name(script)
    if name is not None:
        return name, f"marker {name!r}"
    return None, (f"its SHA-256 {digest} is not in tests/servers/wsman/standins/shipped.py: if it is a "
                  "hatchway-winrm script that changed, review its stand-in against it and update that table")


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

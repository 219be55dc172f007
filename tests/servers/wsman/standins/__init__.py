"""Python stand-ins for the PowerShell scripts clients send (PowerShell does not run here).

A script names its stand-in on a line ``# hatchway-standin: <name>``. Each module of this package
registers functions with ``@standin("name")``; every module is imported when the package is.
A stand-in is ``def fn(ctx) -> int`` (the exit code); ``ctx`` is a :class:`StandinContext`.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Protocol

__all__ = ["standin", "REGISTRY", "StandinContext", "Writer"]


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


StandinFn = Callable[[StandinContext], int]

#: stand-in name -> function
REGISTRY: Dict[str, StandinFn] = {}


def standin(name: str) -> Callable[[StandinFn], StandinFn]:
    """Register ``fn`` as the stand-in for scripts marked ``# hatchway-standin: <name>``."""

    def register(fn: StandinFn) -> StandinFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"stand-in {name!r} is registered twice ({REGISTRY[name].__module__} and {fn.__module__})")
        REGISTRY[name] = fn
        return fn

    return register


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

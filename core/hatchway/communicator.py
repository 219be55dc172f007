"""The communicator base class and the small types its hooks exchange."""
from __future__ import annotations

import threading
from typing import Any, Callable, ClassVar, Dict, List, Literal, Optional

import attrs

from .durations import Duration

__all__ = [
    "DISCONNECTED",
    "Communicator",
    "CommunicatorConfig",
    "SSHInterfaceConfig",
    "Target",
    "OutputStream",
    "Transfer",
]

#: Exit status of a command whose connection was lost (Packer's ``CmdDisconnect``).
DISCONNECTED = 2300218


@attrs.define(kw_only=True)
class CommunicatorConfig:
    """Keys every communicator has. Subclass it for a communicator's own keys."""

    pause_before_connecting: Duration = attrs.field(
        default=Duration(0),
        metadata={"help": "After the first successful connection, disconnect and wait this long."},
    )


@attrs.define(kw_only=True)
class SSHInterfaceConfig:
    """Packer's ``ssh_interface`` and ``ssh_ip_version`` (SDK ``communicator.SSHInterface``).

    In Packer these belong to builders that choose among a machine's addresses
    (cloud builders), not to the communicator: include this mixin in such a
    builder's config class and put the chosen address in :class:`Target`.
    """

    ssh_interface: str = attrs.field(default="", metadata={
        "help": "Which of the machine's addresses to connect to (the builder's choices, e.g. public_ip, "
                "private_ip, public_dns, private_dns). Also used for WinRM."})
    ssh_ip_version: Literal["", "4", "6"] = attrs.field(default="", metadata={
        "help": "Connect over IPv4 (4) or IPv6 (6) when the machine has both; empty: the first address."})


@attrs.define
class Target:
    """Where the machine a builder made can be reached.

    A builder returns one from ``run``; the communicator reads it. Template
    keys (``ssh_host``...) win over what the builder found.
    """

    host: Optional[str] = None
    port: Optional[int] = None
    #: Anything else a builder hands its communicator (container id, keys...).
    data: Dict[str, Any] = attrs.field(factory=dict)


class Communicator:
    """Base class of communicators.

    A subclass sets ``name`` and ``Config`` and implements the hooks of
    :class:`hatchway.hookspecs.CommunicatorSpecs` as methods (marking them
    with ``@hatchway.hookimpl`` is allowed, not needed). One instance serves
    one build; the relay calls it from several threads at once.
    """

    #: The template's ``communicator`` value.
    name: ClassVar[str] = ""
    #: attrs class of the template keys.
    Config: ClassVar[type] = CommunicatorConfig
    #: Does it reach a machine? (``none`` does not: provisioners needing one fail validation.)
    connects: ClassVar[bool] = True
    #: Are remote paths Windows' (``\\`` separates names)? ``None``: not known, guessed from each path.
    windows_paths: ClassVar[Optional[bool]] = None

    def __init__(self, config: Any, target: Target, build_name: str = "") -> None:
        self.config = config
        self.target = target
        self.build_name = build_name

    def connect_timeout(self) -> float:
        """Seconds the core keeps retrying :meth:`connect` (``ssh_timeout``...)."""
        return 300.0

    def describe(self) -> str:
        """A short human description of the endpoint, for messages (``user@host:22``)."""
        return self.name


Listener = Callable[[bytes], Any]


class OutputStream:
    """A write-only byte stream that fans out to listeners.

    The relay passes two of these as ``stdout`` and ``stderr`` to
    ``execute``; the UI, the caller and observers add listeners.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._listeners: List[Listener] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def write(self, data: bytes) -> int:
        if data:
            with self._lock:
                for listener in self._listeners:
                    listener(data)
        return len(data)

    def flush(self) -> None:  # file-like
        pass


class Transfer:
    """Progress of one upload or download, observable by the UI."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.total: Optional[int] = None
        self.done = 0
        self._on_start: List[Callable[["Transfer"], Any]] = []
        self._on_advance: List[Callable[["Transfer", int], Any]] = []
        self._lock = threading.Lock()

    def on_start(self, callback: Callable[["Transfer"], Any]) -> None:
        self._on_start.append(callback)

    def on_advance(self, callback: Callable[["Transfer", int], Any]) -> None:
        self._on_advance.append(callback)

    def start(self, total: Optional[int]) -> None:
        """Announce the number of bytes to move (``None`` when unknown)."""
        self.total = total
        for callback in self._on_start:
            callback(self)

    def advance(self, n: int) -> None:
        """Record ``n`` more bytes moved (thread-safe: parallel channels may report at once)."""
        with self._lock:
            self.done += n
            for callback in self._on_advance:
                callback(self, n)

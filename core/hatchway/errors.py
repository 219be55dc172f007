"""Every error Hatchway shows a user.

A :class:`HatchwayError` carries a message meant for people: the CLI prints
it as it is, without a traceback. Anything else that escapes is a bug.
"""
from __future__ import annotations

from typing import Iterable, Sequence

__all__ = [
    "HatchwayError",
    "PluginError",
    "ConfigProblem",
    "ConfigError",
    "CommunicatorError",
    "ConnectError",
    "RetryableConnectError",
    "RemotePathError",
    "CommandTimeout",
    "BuildCancelled",
    "ProvisionerError",
]


class HatchwayError(Exception):
    """An error whose message is written for the user; shown without traceback."""


class PluginError(HatchwayError):
    """A plugin could not be loaded or registered something invalid."""


def _printable(text: str) -> str:
    """Escape control characters (a key named "\\n" must not break the one-line-per-problem layout)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ConfigProblem:
    """One problem in a template: where it is, what is wrong, what to do.

    ``path`` is the key's location in the template, e.g.
    ``builders[0].ssh_timeout``; ``hint`` says how to fix it.
    """

    __slots__ = ("path", "message", "hint", "severity")

    def __init__(self, path: str, message: str, hint: str = "", severity: str = "error") -> None:
        self.path = path
        self.message = message
        self.hint = hint
        self.severity = severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        path, message, hint = _printable(self.path), _printable(self.message), _printable(self.hint)
        text = f"{path}: {message}" if path else message
        return f"{text} ({hint})" if hint else text

    def __repr__(self) -> str:
        return f"ConfigProblem({self.path!r}, {self.message!r}, {self.hint!r}, {self.severity!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigProblem) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class ConfigError(HatchwayError):
    """A template (or a config object) is invalid; holds every problem found."""

    def __init__(self, problems: Iterable[ConfigProblem] | str, source: str = "") -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem("", problems)]
        self.problems: Sequence[ConfigProblem] = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        errors = [p for p in self.problems if p.is_error]
        where = f" in {self.source}" if self.source else ""
        head = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}{where}:"
        if len(errors) == 1:
            return f"{self.source + ': ' if self.source else ''}{errors[0]}"
        return "\n".join([head] + [f"  * {p}" for p in errors])


class CommunicatorError(HatchwayError):
    """A communicator operation failed (transfer, command start, lost connection)."""


class ConnectError(CommunicatorError):
    """Connecting failed for good (bad credentials, host key mismatch...): do not retry."""


class RetryableConnectError(ConnectError):
    """Connecting failed for now (refused, timed out, not booted yet): retry until the timeout."""


class RemotePathError(CommunicatorError):
    """A path to transfer does not exist, or is of the wrong kind, on either side."""


class CommandTimeout(CommunicatorError):
    """A command ran past its deadline and was stopped."""


class BuildCancelled(HatchwayError):
    """The build was interrupted (Ctrl-C, SIGTERM) and is being cleaned up."""


class ProvisionerError(HatchwayError):
    """A provisioner failed (non-zero exit status, missing file...)."""

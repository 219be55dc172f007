"""Go-style durations (``5s``, ``10m``, ``1h30m``, ``-1s``, ``1.5h``, ``300ms``).

Packer templates write timeouts the way Go's ``time.ParseDuration`` reads
them; :func:`parse` reads them the same way and returns seconds.
"""
from __future__ import annotations

import re

__all__ = ["Duration", "parse", "format"]

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
#: Go's time.Duration is int64 nanoseconds: ParseDuration refuses anything longer.
MAX_SECONDS = ((1 << 63) - 1) / 1e9
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse(text: str) -> float:
    """Return the seconds in a Go duration string; raise ``ValueError`` if it is not one.

    A bare ``0`` is allowed, as in Go; any other number needs a unit.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration is a string such as \"5m\", not {text!r}")
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"{text!r} is not a duration; write e.g. \"30s\", \"5m\" or \"1h30m\"")
    pos, total = 0, 0.0
    for match in _PART.finditer(s):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(s):
        raise ValueError(f"{text!r} is not a duration; write e.g. \"30s\", \"5m\" or \"1h30m\"")
    if total > MAX_SECONDS:
        raise ValueError(f"{text!r} is too long a duration (at most about 292 years, as in Go)")
    return sign * total


def format(seconds: float) -> str:  # noqa: A001 - mirrors Go's Duration.String
    """Write seconds as Go writes a duration (``1h30m0s``, ``5s``, ``-1s``, ``250ms``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    if rest < 1:
        ms = rest * 1000
        return f"{sign}{ms:g}ms"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    out += f"{secs:g}s"
    return sign + out


class Duration(float):
    """Seconds, read from and shown as a Go duration string.

    Use it as the type of a config field: ``ssh_timeout: Duration``.
    """

    def __new__(cls, value: "str | float | int") -> "Duration":
        if isinstance(value, str):
            return super().__new__(cls, parse(value))
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a duration")
        return super().__new__(cls, float(value))

    def __str__(self) -> str:
        return format(float(self))

    def __repr__(self) -> str:
        return f"Duration({format(float(self))!r})"

"""The plugin's own PowerShell scripts (``ps/*.ps1``): loading, arguments, command lines.

Each script has one ``# hatchway-args`` line that is replaced by
``${name} = '<base64 of UTF-8>'`` assignments (the braced form, which the
scripts' own code never uses, so the argument lines can be told apart): paths
never meet PowerShell's parser, whatever quotes, ``$`` or unicode they hold.
Scripts run as ``powershell.exe ... -EncodedCommand <base64 of UTF-16LE>``
started directly (WinRS ``WINRS_SKIP_CMD_SHELL``), not through cmd.exe, so
the limit is CreateProcess's 32767 characters rather than cmd.exe's 8191;
comment lines and indentation are dropped first all the same.

``render(name, {})`` is a script as it travels with its argument lines left
out; the test server recognises each script by that text's SHA-256.
"""
from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Dict, List, Tuple

from hatchway import CommunicatorError

__all__ = ["render", "encoded_command", "powershell_command", "CMD_LIMIT", "POWERSHELL_ARGS", "SCRIPTS"]

HERE = Path(__file__).parent / "ps"
SCRIPTS = ("ping", "upload", "download", "remove", "elevated", "registry")
ARGS_MARKER = "# hatchway-args"
#: CreateProcess's command-line limit (our scripts skip cmd.exe and its 8191).
CMD_LIMIT = 32767
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand")


@functools.lru_cache(maxsize=None)
def source(name: str) -> str:
    """The script as kept in the package."""
    return (HERE / f"{name}.ps1").read_text(encoding="utf-8")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def minify(text: str) -> str:
    """Drop comment-only lines, blank lines and indentation."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        kept.append(stripped)
    return "\n".join(kept) + "\n"


def render(name: str, args: Dict[str, str], *, compact: bool = True) -> str:
    """The script ``name`` with ``args`` assigned (``${key} = '<base64 of UTF-8>'``) where ``# hatchway-args`` stood."""
    lines: List[str] = []
    for line in source(name).splitlines():
        if line.strip() == ARGS_MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(f"{indent}${{{key}}} = '{b64(value)}'" for key, value in args.items())
        else:
            lines.append(line)
    text = "\n".join(lines) + "\n"
    return minify(text) if compact else text


def encoded_command(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def command_line(script: str, what: str = "a script") -> str:
    """``script`` as one command line (for callers that only have ``execute``: the provisioners)."""
    exe, args = powershell_command(script, what)
    return " ".join((exe,) + args)


def powershell_command(script: str, what: str = "a script") -> Tuple[str, Tuple[str, ...]]:
    """``(executable, arguments)`` that run ``script``; raise if cmd.exe could not take the line."""
    args = POWERSHELL_ARGS + (encoded_command(script),)
    length = len("powershell.exe") + sum(1 + len(a) for a in args)
    if length > CMD_LIMIT:
        raise CommunicatorError(
            f"{what} makes a {length}-character command line, above Windows' {CMD_LIMIT}: use shorter paths")
    return "powershell.exe", args

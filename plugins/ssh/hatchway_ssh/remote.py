"""Remote shell snippets, with every path quoted (no name ever reaches a shell unquoted).

Also the one place that runs a short command and collects its output,
which the transfer modules share.
"""
from __future__ import annotations

import io
import os
import posixpath
import shlex
from typing import Tuple

from hatchway import OutputStream
from .connection import Connection
from .execute import run_command

#: The longest file name (bytes) Linux file systems take.
NAME_MAX = 255

__all__ = ["q", "capture", "staged_publish", "single_file_publish", "stage_name", "parent_of"]


def q(path: str) -> str:
    """Quote a remote path for ``/bin/sh`` (newlines, quotes, ``$`` and backticks included)."""
    return shlex.quote(path)


def parent_of(path: str) -> str:
    parent = posixpath.dirname(path.rstrip("/")) or ("/" if path.startswith("/") else ".")
    return parent


def stage_name(final: str) -> str:
    """A hidden sibling of ``final`` to build into before the rename."""
    head, tail = posixpath.split(final.rstrip("/"))
    unique = f"hatchway-{os.getpid()}-{os.urandom(4).hex()}.part"
    name = f".{tail}.{unique}"
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:  # a long name: the temp name must still fit
        name = f".{unique}"
    return posixpath.join(head, name) if head else name


def capture(conn: Connection, command: str, timeout: float = 120.0) -> Tuple[int, bytes, bytes]:
    """Run a short command; return (status, stdout, stderr)."""
    out, err = io.BytesIO(), io.BytesIO()
    so, se = OutputStream("stdout"), OutputStream("stderr")
    so.add_listener(out.write)
    se.add_listener(err.write)
    status = run_command(conn, command, None, so, se, timeout)
    return status, out.getvalue(), err.getvalue()


def staged_publish(destination: str, fill: str) -> str:
    """A command that builds a tree in a staging dir with ``fill`` (``$stage`` is set), then publishes it.

    A new ``destination`` is staged beside it and published with one
    ``rename``; an existing one is staged inside it (on its file system,
    even when it is a mount point) and gets the staged files as hard links
    (``cp -al``), so no file there is ever seen half-written. On failure or
    hang-up the stage is removed.
    """
    beside = stage_name(destination)
    inside = posixpath.join(destination, f".hatchway-{os.getpid()}-{os.urandom(4).hex()}.part")
    return (
        "set -e; "
        f"dest={q(destination)}; "
        "if [ -e \"$dest\" ] && [ ! -d \"$dest\" ]; then echo \"$dest: not a directory\" >&2; exit 1; fi; "
        f"if [ -d \"$dest\" ]; then stage={q(inside)}; else stage={q(beside)}; fi; "
        "trap 'rm -rf -- \"$stage\"' EXIT; trap 'exit 129' HUP INT TERM PIPE; "
        f"mkdir -p -- {q(parent_of(destination))}; "
        "mkdir -- \"$stage\"; "
        f"{fill}; "
        "if [ -d \"$dest\" ]; then "
        "cp -al --remove-destination -- \"$stage\"/. \"$dest\"/ 2>/dev/null || cp -alf -- \"$stage\"/. \"$dest\"/; "
        "else mv -- \"$stage\" \"$dest\"; fi"
    )


def single_file_publish(destination: str, mode: int, fill: str) -> str:
    """A command that writes a file under a temp name with ``fill`` (``$tmp`` is set), then renames it."""
    tmp = stage_name(destination)
    return (
        "set -e; "
        f"dest={q(destination)}; tmp={q(tmp)}; "
        "trap 'rm -f -- \"$tmp\"' EXIT; trap 'exit 129' HUP INT TERM PIPE; "
        "if [ -d \"$dest\" ]; then echo \"$dest: is a directory\" >&2; exit 1; fi; "
        f"mkdir -p -- {q(parent_of(destination))}; "
        f"{fill}; "
        f"chmod {mode:o} -- \"$tmp\"; "
        "mv -f -- \"$tmp\" \"$dest\""
    )

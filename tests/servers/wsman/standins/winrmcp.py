"""Stand-ins for the PowerShell steps of the winrmcp approach (Packer's file provisioner over WinRM),
used by bench/winrm to compare it with hatchway-winrm on the same server.

winrmcp appends ~6 KB of base64 per ``echo ... >> %TEMP%\\winrmcp-<uuid>.tmp`` command (those run
with /bin/sh here), then one PowerShell script decodes the temp file line by line into the
destination (``winrmcp-restore``) and another deletes it (``winrmcp-cleanup``). Packer's download
is one PowerShell ``[Convert]::ToBase64String([IO.File]::ReadAllBytes(...))`` (``packer-download``).
Arguments are ``$name = '...'`` literals, read by the server's parser into ``ctx.args``.
"""
from __future__ import annotations

import base64
import os

from . import standin


def _path(ctx, name: str) -> str:
    return os.path.join(ctx.cwd, ctx.args[name])


@standin("winrmcp-restore")
def restore(ctx) -> int:
    source, destination = _path(ctx, "tmp_file_path"), _path(ctx, "dest_file_path")
    if os.path.isdir(destination):
        return 1
    os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
    with open(destination, "wb") as out:
        if os.path.exists(source):
            with open(source, "rb") as lines:
                for line in lines:
                    if line.strip():
                        out.write(base64.b64decode(line.strip()))
    return 0


@standin("winrmcp-cleanup")
def cleanup(ctx) -> int:
    path = _path(ctx, "tmp_file_path")
    if os.path.exists(path):
        os.unlink(path)
    return 0


@standin("packer-download")
def packer_download(ctx) -> int:
    with open(_path(ctx, "path"), "rb") as handle:
        ctx.stdout.write(base64.b64encode(handle.read()))
    return 0

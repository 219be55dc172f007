"""Stand-ins for the PowerShell scripts of hatchway-winrm (plugins/winrm/hatchway_winrm/ps/*.ps1).

The server picks each one by the script's SHA-256 (table: ``shipped.py``); a script that changed
runs no stand-in until this file is reviewed against it and the table updated.

Each function does, on this POSIX machine, what its script does on Windows,
step by step and with the same exit codes and messages; the ``$IsLinux``
branches (POSIX modes) are the ones a Unix PowerShell would take. The test
server has already parsed the real script text with a PowerShell grammar
before it calls these.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
import tempfile
import uuid
import zipfile
from typing import Dict, Iterator

from . import standin

_DOWNLOAD_CHUNK = 196608


def script_args(script: str, *names: str) -> Dict[str, str]:
    """The ``${name} = '<base64 of UTF-8>'`` assignments that scripts.render put in (the first of each)."""
    found = {}
    for name in names:
        match = re.search(rf"^\s*\$\{{{name}\}} = '([A-Za-z0-9+/=]*)'\s*$", script, re.M)
        if match is None:
            raise ValueError(f"the script has no ${name} argument")
        found[name] = base64.b64decode(match.group(1)).decode("utf-8")
    return found


def _lines(reader) -> Iterator[bytes]:
    pending = b""
    while True:
        data = reader.read(65536)
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def _fail(ctx, code: int, message: str) -> int:
    ctx.stderr.write(f"hatchway: {message}\n".encode("utf-8"))
    return code


def _full_path(ctx, path: str) -> str:
    return os.path.normpath(os.path.join(ctx.cwd or os.getcwd(), path))


def _part_name(target: str) -> str:
    head, tail = os.path.split(target)
    return os.path.join(head, f".{tail[:32]}.hatchway-{uuid.uuid4().hex}.part")  # as upload.ps1: 32 characters


def _move_into(part: str, target: str) -> None:
    if os.path.isdir(target):
        raise OSError(f"a directory is in the way: {target}")
    os.replace(part, target)


@standin("hatchway-ping")
def ping(ctx) -> int:
    ctx.stdout.write(b"hatchway: WinRM connected\n")
    return 0


@standin("hatchway-upload")
def upload(ctx) -> int:
    args = script_args(ctx.script, "path", "mode", "unzip")
    path = _full_path(ctx, args["path"])
    bits = int(args["mode"], 8)
    unzip = args["unzip"] == "1"
    try:
        if unzip:
            os.makedirs(path, exist_ok=True)
            fd, tmp = tempfile.mkstemp()
            out = os.fdopen(fd, "wb")
        else:
            if os.path.isdir(path):
                raise OSError("it is a directory")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = _part_name(path)
            out = open(tmp, "wb")
    except OSError as exc:
        return _fail(ctx, 2, f"cannot write {path}: {exc.strerror or exc}")
    sha = hashlib.sha256()
    expected = None
    with out:
        for raw in _lines(ctx.stdin):
            line = raw.decode("ascii").strip()
            if not line:
                continue
            if line.startswith("#sha256:"):
                expected = line[8:].strip()
                continue
            data = base64.b64decode(line)
            sha.update(data)
            out.write(data)
    actual = sha.hexdigest()
    if actual != expected:
        os.unlink(tmp)
        if expected:
            return _fail(ctx, 3, f"checksum mismatch for {path}: sent {expected}, got {actual}")
        return _fail(ctx, 3, f"the upload of {path} was interrupted; nothing was changed")
    try:
        if not unzip:
            os.chmod(tmp, bits)
            _move_into(tmp, path)
        else:
            try:
                _expand(tmp, path)
            finally:
                os.unlink(tmp)
    except (OSError, ValueError) as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        return _fail(ctx, 2, f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}")
    ctx.stdout.write(f"hatchway: ok {actual}\n".encode())
    return 0


def _expand(archive_path: str, path: str) -> None:
    root = path.rstrip("/") + os.sep
    with zipfile.ZipFile(archive_path) as archive:
        for entry in archive.infolist():
            name = entry.filename.replace("\\", "/")
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
                raise ValueError(f"unsafe archive entry refused: {name}")
            target = os.path.normpath(os.path.join(root, name))
            if not (target + os.sep).startswith(root) and target + os.sep != root:
                raise ValueError(f"unsafe archive entry refused: {name}")
            bits = (entry.external_attr >> 16) & 0o7777
            if name.endswith("/"):
                os.makedirs(target, exist_ok=True)
                if bits:
                    os.chmod(target, bits)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            part = _part_name(target)
            with archive.open(entry) as src, open(part, "wb") as dst:
                while True:
                    block = src.read(1 << 20)
                    if not block:
                        break
                    dst.write(block)
            if bits:
                os.chmod(part, bits)
            _move_into(part, target)


@standin("hatchway-download")
def download(ctx) -> int:
    path = script_args(ctx.script, "path")["path"]
    full = _full_path(ctx, path)
    temp_zip = None
    if os.path.isfile(full):
        source, kind = full, "F"
    elif os.path.isdir(full):
        fd, temp_zip = tempfile.mkstemp(suffix=".zip")
        os.close(fd)
        _zip_directory(full, temp_zip)
        source, kind = temp_zip, "Z"
    else:
        return _fail(ctx, 2, f"no such file or directory: {path}")
    try:
        mode = format(stat.S_IMODE(os.stat(full).st_mode), "o")
        sha = hashlib.sha256()
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            ctx.stdout.write(f"{kind} {size} {mode}\n".encode())
            while True:
                block = handle.read(_DOWNLOAD_CHUNK)
                if not block:
                    break
                sha.update(block)
                ctx.stdout.write(base64.b64encode(block) + b"\n")
        ctx.stdout.write(f"H {sha.hexdigest()}\n".encode())
    finally:
        if temp_zip:
            os.unlink(temp_zip)
    return 0


def _zip_directory(root: str, archive_path: str) -> None:
    """What ZipFile.CreateFromDirectory writes on Unix: files, empty directories, modes in the high bits."""
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for here, dirs, files in os.walk(root):
            dirs.sort()
            rel = os.path.relpath(here, root)
            rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            if rel and not dirs and not files:
                info = zipfile.ZipInfo(rel)
                info.external_attr = (stat.S_IFDIR | stat.S_IMODE(os.stat(here).st_mode)) << 16 | 0x10
                archive.writestr(info, b"")
            for name in sorted(files):
                full = os.path.join(here, name)
                info = zipfile.ZipInfo.from_file(full, rel + name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as src, archive.open(info, "w") as dst:
                    while True:
                        block = src.read(1 << 20)
                        if not block:
                            break
                        dst.write(block)


@standin("hatchway-remove")
def remove(ctx) -> int:
    for item in script_args(ctx.script, "paths")["paths"].split("\n"):
        path = _full_path(ctx, item) if item else ""
        if item and os.path.isfile(path):
            os.unlink(path)
    return 0


_SERVICE_ACCOUNTS = {"system", "local service", "network service"}
_ENV_REFERENCE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


def _expand_env(ctx, text: str) -> str:
    """[Environment]::ExpandEnvironmentVariables; ``%SYSTEMROOT%`` is ``<cwd>/Windows`` unless set."""
    def value(match) -> str:
        name = match.group(1)
        found = next((v for k, v in ctx.env.items() if k.upper() == name.upper()), None)
        if found is None and name.upper() == "SYSTEMROOT":
            found = os.path.join(ctx.cwd or os.getcwd(), "Windows")
        return found if found is not None else match.group(0)

    return _ENV_REFERENCE.sub(value, text)


@standin("hatchway-elevated")
def elevated(ctx) -> int:
    """elevated.ps1: register a task for $user (the server's accounts; an empty password only for a
    service account), run ``cmd /c <command> > <log> 2>&1`` (here: ``/bin/sh -c``), echo the log as it
    grows, remove the log and the script itself, exit with the command's status."""
    import subprocess
    import time

    args = script_args(ctx.script, "name", "user", "password", "command", "log", "self")
    account = args["user"].rpartition("\\")[2]
    known = {name.rpartition("\\")[2].lower(): pw for name, pw in ctx.users.items()}
    if args["password"]:
        accepted = known.get(account.lower()) == args["password"]
    else:
        accepted = account.lower() in _SERVICE_ACCOUNTS
    if not accepted:
        return _fail(ctx, 1, f"cannot register the elevated task for {args['user']}: The user name or password "
                             "is incorrect. (Exception from HRESULT: 0x8007052E)")
    log = _full_path(ctx, _expand_env(ctx, args["log"]))
    os.makedirs(os.path.dirname(log), exist_ok=True)
    process = subprocess.Popen(["/bin/sh", "-c", f"{args['command']} > \"{log}\" 2>&1"], cwd=ctx.cwd,
                               env=ctx.env or None, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # a task has no console
    sent = 0

    def echo() -> None:
        nonlocal sent
        if os.path.exists(log):
            with open(log, "rb") as handle:
                handle.seek(sent)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1] if process.poll() is None else data
            if complete:
                ctx.stdout.write(complete.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
                sent += len(complete)

    while process.poll() is None:
        time.sleep(0.1)
        echo()
    echo()
    for path in (log, _full_path(ctx, _expand_env(ctx, args["self"])) if args["self"] else ""):
        if path and os.path.isfile(path):
            os.unlink(path)
    return process.returncode


@standin("hatchway-registry")
def registry(ctx) -> int:
    """registry.ps1: Test-Path of each key; here a key ``HKLM:SOFTWARE\\A\\B`` exists when the directory
    ``<cwd>/registry/HKLM/SOFTWARE/A/B`` does (tests create and remove it to stand for a pending restart)."""
    pending = 0
    for key in script_args(ctx.script, "keys")["keys"].split("\n"):
        if not key:
            continue
        hive, _, rest = key.partition(":")
        path = os.path.join(ctx.cwd or os.getcwd(), "registry", hive, *[p for p in re.split(r"[\\/]", rest) if p])
        if os.path.isdir(path):
            ctx.stdout.write(f"hatchway: pending {key}\r\n".encode("utf-8"))
            pending += 1
    return 3 if pending else 0

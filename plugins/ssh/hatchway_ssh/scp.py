"""The scp protocol, spoken to a remote ``scp -t`` (sink) or ``scp -f`` (source), as Packer does.

Uploads go to a temp name and are renamed; file names inside the
protocol are never the user's (the remote path is a quoted argument), so
names with newlines or a leading dash are safe. A stream of unknown size
(a pipe) cannot be announced to scp, so it goes through ``cat`` instead,
still without a local temp file.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import paramiko

from hatchway import CommunicatorError, RemotePathError, Transfer
from hatchway.toolkit import CHUNK, atomic_writer, is_excluded, walk

from . import _paramiko_compat as compat
from .connection import Connection
from .execute import (StderrCollector, close_channel, exit_status, finish_transfer, send_all, start_command,
                      transfer_error)
from .remote import q, single_file_publish, staged_publish

__all__ = ["upload_file", "download_file", "upload_tree", "download_tree"]


class _Protocol:
    """Reads acks and records from a channel running scp; collects stderr."""

    def __init__(self, conn: Connection, chan: paramiko.Channel, path: str, action: str) -> None:
        self.conn = conn
        self.chan = chan
        self.path = path
        self.action = action
        self.stderr = StderrCollector(chan)
        self._buffer = b""

    def fail(self, message: Optional[str] = None) -> CommunicatorError:
        if message:
            # the remote side said why; let it end (its trap removes the temp file) before closing
            with contextlib.suppress(Exception):
                self.chan.shutdown_write()
            compat.wait_exit(self.chan, 10)
            close_channel(self.chan)
            return RemotePathError(f"{self.conn.hop}: cannot {self.action} {self.path!r}: {_without_stage(message)}")
        compat.wait_exit(self.chan, 5)  # the remote side ended: its exit status and stderr say why
        said = self.stderr.text(5)
        status = exit_status(self.conn, self.chan) if self.chan.exit_status_ready() else -1
        close_channel(self.chan)
        return transfer_error(self.conn, self.path, self.action, said, status)

    def _fill(self) -> bool:
        try:
            data = self.chan.recv(CHUNK)
        except (OSError, EOFError, paramiko.SSHException):
            data = b""
        if not data:
            return False
        self._buffer += data
        return True

    def read_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            if not self._fill():
                raise self.fail()
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def read_some(self, limit: int) -> bytes:
        if not self._buffer and not self._fill():
            raise self.fail()
        data, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return data

    def read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            if not self._fill():
                raise self.fail()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def ack(self) -> None:
        """Read one status byte: 0 is fine, 1 and 2 carry an error message line."""
        code = self.read_exact(1)
        if code == b"\0":
            return
        if code in (b"\1", b"\2"):
            raise self.fail(self.read_line().decode("utf-8", "replace").strip())
        raise self.fail(f"unexpected scp reply {code + self._buffer[:60]!r}")

    def send(self, data: bytes) -> None:
        try:
            send_all(self.chan, data)
        except (OSError, EOFError, paramiko.SSHException):
            raise self.fail() from None

    def finish(self) -> None:
        try:
            finish_transfer(self.conn, self.chan, self.stderr, self.path, self.action)
        finally:
            close_channel(self.chan)


#: "scp: /dir/.name.hatchway-123-abcd.part: " before the reason: our temp name, which the user never gave.
_STAGE_PREFIX = re.compile(r"^scp: .*\.hatchway-\d+-[0-9a-f]+\.part[^:]*: ")


def _without_stage(message: str) -> str:
    return _STAGE_PREFIX.sub("", message)


def _send_body(proto: _Protocol, handle: BinaryIO, size: int, transfer: Transfer) -> None:
    sent = 0
    while sent < size:
        proto.conn.check_interrupted(f"the upload to {proto.path!r}")
        chunk = handle.read(min(CHUNK, size - sent))
        if not chunk:
            raise RemotePathError(f"{getattr(handle, 'name', 'the source')!r} shrank while being uploaded")
        proto.send(chunk)
        sent += len(chunk)
        transfer.advance(len(chunk))
    proto.send(b"\0")
    proto.ack()


def upload_file(conn: Connection, source: Union[Path, BinaryIO], destination: str, mode: int,
                size: Optional[int], transfer: Transfer) -> None:
    """Upload one file or stream to exactly ``destination`` (atomically)."""
    with conn.busy():
        if size is None:
            _upload_unknown_size(conn, source, destination, mode, transfer)  # type: ignore[arg-type]
            return
        command = single_file_publish(destination, mode, 'scp -t -- "$tmp"')
        chan = start_command(conn, command)
        proto = _Protocol(conn, chan, destination, "upload to")
        try:
            handle = open(source, "rb") if isinstance(source, Path) else source
            try:
                proto.ack()
                proto.send(f"C{mode & 0o7777:04o} {size} file\n".encode())
                proto.ack()
                _send_body(proto, handle, size, transfer)
            finally:
                if isinstance(source, Path):
                    handle.close()
            proto.finish()
        finally:
            close_channel(chan)


def _upload_unknown_size(conn: Connection, source: BinaryIO, destination: str, mode: int,
                         transfer: Transfer) -> None:
    command = single_file_publish(destination, mode, 'cat > "$tmp"')
    chan = start_command(conn, command)
    proto = _Protocol(conn, chan, destination, "upload to")
    try:
        while True:
            conn.check_interrupted(f"the upload to {destination!r}")
            chunk = source.read(CHUNK)
            if not chunk:
                break
            proto.send(chunk)
            transfer.advance(len(chunk))
        proto.finish()
    finally:
        close_channel(chan)


def _parse_record(proto: _Protocol, line: bytes) -> tuple:
    """``C0644 123 name`` -> (mode, size, name)."""
    try:
        mode_text, size_text, name = line[1:].decode("utf-8", "surrogateescape").split(" ", 2)
        return int(mode_text, 8), int(size_text), name
    except ValueError:
        raise proto.fail(f"unexpected scp record {line[:80]!r}") from None


def _receive_body(proto: _Protocol, size: int, out: BinaryIO, transfer: Transfer) -> None:
    left = size
    while left:
        proto.conn.check_interrupted(f"the download of {proto.path!r}")
        chunk = proto.read_some(min(left, CHUNK))
        out.write(chunk)
        left -= len(chunk)
        transfer.advance(len(chunk))
    proto.ack()
    proto.send(b"\0")


def download_file(conn: Connection, source: str, destination: Union[Path, BinaryIO], transfer: Transfer) -> None:
    """Download the remote file ``source`` to a local path (atomically, mode kept) or a stream."""
    with conn.busy():
        chan = start_command(conn, f"scp -f -- {q(source)}")
        proto = _Protocol(conn, chan, source, "download")
        try:
            proto.send(b"\0")
            line = _next_record(proto)
            if not line.startswith(b"C"):
                raise proto.fail(f"expected a file, got {line[:60]!r}")
            mode, size, _ = _parse_record(proto, line)
            transfer.start(size)
            proto.send(b"\0")
            if isinstance(destination, Path):
                with atomic_writer(destination, mode & 0o7777) as out:
                    _receive_body(proto, size, out, transfer)
            else:
                _receive_body(proto, size, destination, transfer)
            proto.finish()
        finally:
            close_channel(chan)


def _next_record(proto: _Protocol) -> bytes:
    code = proto.read_exact(1)
    if code in (b"\1", b"\2"):
        raise proto.fail(proto.read_line().decode("utf-8", "replace").strip())
    return code + proto.read_line()


def upload_tree(conn: Connection, source: Path, destination: str, exclude: Sequence[str],
                transfer: Transfer) -> None:
    """Upload the contents of ``source`` into ``destination`` with ``scp -r -t`` into a stage, then publish."""
    entries = list(walk(source, exclude))
    with conn.busy():
        command = staged_publish(destination, 'scp -r -t -- "$stage"')
        chan = start_command(conn, command)
        proto = _Protocol(conn, chan, destination, "upload to")
        try:
            proto.ack()
            depth: list = []  # the directories currently open on the remote side
            for entry in entries:
                parts = entry.relpath.split("/")
                while depth != parts[:-1]:
                    proto.send(b"E\n")
                    proto.ack()
                    depth.pop()
                name = parts[-1]
                if "\n" in name:
                    raise RemotePathError(f"{entry.relpath!r}: scp cannot send names with a newline; "
                                          f"use ssh_file_transfer_method \"sftp\"")
                record = "D" if entry.is_dir else "C"
                proto.send(f"{record}{entry.mode:04o} {entry.size} {name}\n".encode("utf-8", "surrogateescape"))
                proto.ack()
                if entry.is_dir:
                    depth.append(name)
                else:
                    with open(entry.path, "rb") as handle:
                        _send_body(proto, handle, entry.size, transfer)
            for _ in depth:
                proto.send(b"E\n")
                proto.ack()
            proto.finish()
        finally:
            close_channel(chan)


def download_tree(conn: Connection, source: str, destination: Path, exclude: Sequence[str],
                  transfer: Transfer) -> None:
    """Download the contents of the remote directory ``source`` into ``destination`` with ``scp -r -f``."""
    with conn.busy():
        chan = start_command(conn, f"scp -r -f -- {q(source)}")
        proto = _Protocol(conn, chan, source, "download")
        try:
            proto.send(b"\0")
            stack: list = []  # relative path parts; the first D record is ``source`` itself
            dir_modes = []
            while True:
                try:
                    code = proto.read_exact(1)
                except CommunicatorError:
                    if stack:
                        raise
                    break
                if code in (b"\1", b"\2"):
                    raise proto.fail(proto.read_line().decode("utf-8", "replace").strip())
                line = code + proto.read_line()
                if line.startswith(b"E"):
                    proto.send(b"\0")
                    stack.pop()
                    if not stack:
                        break
                    continue
                mode, size, name = _parse_record(proto, line)
                if name in ("", ".", "..") or "/" in name:
                    raise proto.fail(f"refusing the entry name {name!r}")
                proto.send(b"\0")
                if line.startswith(b"D"):
                    stack.append(name)
                    target = destination.joinpath(*stack[1:])
                    rel = "/".join(stack[1:])
                    if not rel or not is_excluded(rel, exclude, is_dir=True):
                        target.mkdir(parents=True, exist_ok=True)
                        if rel:
                            dir_modes.append((target, mode))
                    continue
                rel = "/".join(stack[1:] + [name])
                if is_excluded(rel, exclude) or not stack:
                    _receive_body(proto, size, _Discard(), Transfer(""))
                    continue
                target = destination.joinpath(*stack[1:], name)
                with atomic_writer(target, mode & 0o7777) as out:
                    _receive_body(proto, size, out, transfer)
            proto.finish()
            for path, mode in reversed(dir_modes):
                os.chmod(path, mode & 0o7777)
        finally:
            close_channel(chan)


class _Discard(io.RawIOBase):
    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)

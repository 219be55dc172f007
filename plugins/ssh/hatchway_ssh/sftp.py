"""SFTP transfers: pipelined writes to a temp name + posix-rename, prefetched reads."""
from __future__ import annotations

import collections
import contextlib
import errno
import logging
import posixpath
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Deque, Dict, Iterator, Optional, Sequence, Union

import paramiko

from hatchway import CommunicatorError, RemotePathError, Transfer
from hatchway.toolkit import atomic_writer, is_excluded, walk

from .connection import Connection
from .errors import ChannelOpenFailed, reason
from .remote import parent_of, stage_name

__all__ = ["session", "upload_file", "download_file", "upload_tree", "download_tree", "remote_kind"]

#: Bytes per write call: paramiko splits them into 32 KiB requests, pipelined.
WRITE_CHUNK = 1024 * 1024
log = logging.getLogger("hatchway.ssh")

#: sftp channels moving a tree's files at once (sshd allows 10 sessions per connection by default).
TREE_SESSIONS = 4
#: Bytes per write request (paramiko's default is 32 KiB; OpenSSH's sftp-server takes up to 256 KiB).
WRITE_REQUEST = 252 * 1024
#: Bytes per read request (OpenSSH's sftp-server allows up to 255 KiB; servers allowing less are followed) and requests in flight: measured best on loopback.
READ_REQUEST = 252 * 1024
READ_DEPTH = 16


@contextlib.contextmanager
def session(conn: Connection, path: str, action: str) -> Iterator[paramiko.SFTPClient]:
    """An SFTP client on its own channel; errors become messages naming ``path``."""
    with conn.busy():
        try:
            client = paramiko.SFTPClient.from_transport(conn.transport, window_size=None, max_packet_size=None)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if not conn.transport.is_active():
                raise ChannelOpenFailed(f"{conn.hop}: cannot open a channel: {reason(exc)}") from None
            raise CommunicatorError(f"{conn.hop}: cannot start the sftp subsystem to {action} {path!r}: {reason(exc)}; "
                                    f"try ssh_file_transfer_method \"scp\"") from None
        if client is None:
            raise CommunicatorError(f"{conn.hop}: the server refused the sftp subsystem")
        try:
            yield client
        except (EOFError, paramiko.SSHException) as exc:
            if conn.lost():
                raise CommunicatorError(f"{conn.hop}: connection lost while trying to {action} {path!r}") from None
            raise CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: {reason(exc)}") from None
        except OSError as exc:
            if exc.errno is None or not conn.transport.is_active():  # a socket error, not the server's answer
                if conn.lost():
                    raise CommunicatorError(f"{conn.hop}: connection lost while trying to {action} {path!r}"
                                            ) from None
                raise CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: {reason(exc)}") from None
            raise RemotePathError(f"{conn.hop}: cannot {action} {path!r}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(Exception):
                client.close()


def remote_kind(client: paramiko.SFTPClient, path: str) -> Optional[str]:
    """``"dir"``, ``"file"`` or ``None`` when missing (links followed)."""
    try:
        st = client.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return "dir" if stat.S_ISDIR(st.st_mode or 0) else "file"


def makedirs(client: paramiko.SFTPClient, path: str) -> None:
    """``mkdir -p`` over sftp; a file in the way is a RemotePathError naming it."""
    if path in ("", "/", "."):
        return
    kind = remote_kind(client, path)
    if kind == "dir":
        return
    if kind == "file":
        raise RemotePathError(f"cannot create directory {path!r}: a file is in the way")
    makedirs(client, parent_of(path))
    try:
        client.mkdir(path)
    except OSError:
        if remote_kind(client, path) != "dir":
            raise


def _write_file(client: paramiko.SFTPClient, handle: BinaryIO, destination: str, mode: int,
                transfer: Transfer, size: Optional[int] = None, fresh_dir: bool = False) -> None:
    """Write ``handle`` to ``destination`` under a temp name, chmod, posix-rename.

    ``fresh_dir``: the parent was just created by us, so nothing can be in the way.
    """
    if not fresh_dir and remote_kind(client, destination) == "dir":
        raise RemotePathError(f"cannot upload to {destination!r}: it is a directory")
    tmp = stage_name(destination)
    try:
        with client.open(tmp, "wb") as remote:
            remote.set_pipelined(True)
            remote.MAX_REQUEST_SIZE = WRITE_REQUEST
            sent = 0
            while True:
                chunk = handle.read(WRITE_CHUNK if size is None else min(WRITE_CHUNK, size - sent))
                if not chunk:
                    break
                remote.write(chunk)
                sent += len(chunk)
                transfer.advance(len(chunk))
        client.chmod(tmp, mode & 0o7777)
        client.posix_rename(tmp, destination)
    except BaseException:
        with contextlib.suppress(Exception):
            client.remove(tmp)
        raise


def upload_file(conn: Connection, source: Union[Path, BinaryIO], destination: str, mode: int,
                transfer: Transfer) -> None:
    with session(conn, destination, "upload to") as client:
        makedirs(client, parent_of(destination))
        if isinstance(source, Path):
            with open(source, "rb") as handle:
                _write_file(client, handle, destination, mode, transfer)
        else:
            _write_file(client, source, destination, mode, transfer)


class _Responses:
    """Collects read responses that arrive while an older one is awaited."""

    def __init__(self) -> None:
        self.got: Dict[int, tuple] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.got[num] = (t, msg)


def _read_file(client: paramiko.SFTPClient, source: str, size: int, out: BinaryIO, transfer: Transfer) -> None:
    """Read ``size`` bytes with :data:`READ_DEPTH` requests in flight, written in order.

    paramiko's own ``prefetch`` scans all its buffers on every read
    (quadratic: 26 s for 256 MiB here), so this keeps its own small queue
    on paramiko's request/response primitives.
    """
    from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64

    with client.open(source, "rb") as remote:
        responses = _Responses()
        request = READ_REQUEST
        pending: Deque[tuple] = collections.deque()
        next_offset = 0
        while pending or next_offset < size:
            while len(pending) < READ_DEPTH and next_offset < size:
                length = min(request, size - next_offset)
                num = client._async_request(responses, CMD_READ, remote.handle, int64(next_offset), length)
                pending.append((num, next_offset, length))
                next_offset += length
            num, offset, length = pending.popleft()
            t, msg = responses.got.pop(num, None) or client._read_response(num)
            if t == CMD_STATUS:
                client._convert_status(msg)  # raises (EOF: the file shrank)
                raise RemotePathError(f"{source!r} shrank while being downloaded")
            if t != CMD_DATA:
                raise CommunicatorError(f"unexpected sftp reply {t} while reading {source!r}")
            data = msg.get_string()
            if len(data) < length:  # a short read: ask for the rest first, and ask for less from now on
                request = max(min(request, len(data)), 4096)
                rest = client._async_request(responses, CMD_READ, remote.handle, int64(offset + len(data)),
                                             length - len(data))
                pending.appendleft((rest, offset + len(data), length - len(data)))
            out.write(data)
            transfer.advance(len(data))
        # drain answers to requests made past the end (none are, but keep the channel clean)
        for num, _, _ in pending:  # pragma: no cover
            client._read_response(num)


def download_file(conn: Connection, source: str, destination: Union[Path, BinaryIO], transfer: Transfer) -> None:
    with session(conn, source, "download") as client:
        try:
            st = client.stat(source)
        except FileNotFoundError:
            raise RemotePathError(f"{conn.hop}: cannot download {source!r}: no such file") from None
        size = st.st_size or 0
        transfer.start(size)
        if isinstance(destination, Path):
            with atomic_writer(destination, stat.S_IMODE(st.st_mode or 0o644)) as out:
                _read_file(client, source, size, out, transfer)
        else:
            _read_file(client, source, size, destination, transfer)


def upload_tree(conn: Connection, source: Path, destination: str, exclude: Sequence[str],
                transfer: Transfer) -> None:
    """The contents of ``source`` into ``destination``, file by file, each atomically.

    Directories first, then the files over :data:`TREE_SESSIONS` sftp
    channels at once: small files cost round trips, not bandwidth.
    """
    entries = list(walk(source, exclude))
    fresh = set()
    with session(conn, destination, "upload to") as client:
        if remote_kind(client, destination) is None:
            makedirs(client, destination)
            fresh.add(destination)
        for entry in entries:
            if not entry.is_dir:
                continue
            target = posixpath.join(destination, entry.relpath)
            parent = posixpath.dirname(target)
            kind = None if parent in fresh else remote_kind(client, target)
            if kind == "file":
                raise RemotePathError(f"cannot create directory {target!r}: a file is in the way")
            if kind is None:
                client.mkdir(target)
                fresh.add(target)
            client.chmod(target, entry.mode)
    files_ = [e for e in entries if not e.is_dir]
    if not files_:
        return
    progress = _LockedTransfer(transfer)
    shares = [files_[i::TREE_SESSIONS] for i in range(min(TREE_SESSIONS, len(files_)))]

    def send(share: list) -> None:
        with session(conn, destination, "upload to") as worker:
            for entry in share:
                target = posixpath.join(destination, entry.relpath)
                with open(entry.path, "rb") as handle:
                    _write_file(worker, handle, target, entry.mode, progress, entry.size,
                                fresh_dir=posixpath.dirname(target) in fresh)

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        for future in [pool.submit(send, share) for share in shares]:
            future.result()


class _LockedTransfer:
    """A Transfer's ``advance`` made safe for several sending threads."""

    def __init__(self, transfer: Transfer) -> None:
        self._transfer = transfer
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        with self._lock:
            self._transfer.advance(n)


def download_tree(conn: Connection, source: str, destination: Path, exclude: Sequence[str],
                  transfer: Transfer) -> None:
    """The contents of the remote directory ``source`` into ``destination``."""
    with session(conn, source, "download") as client:
        destination.mkdir(parents=True, exist_ok=True)
        dir_modes = []

        def visit(remote_dir: str, prefix: str, ancestors: tuple) -> None:
            for attr in sorted(client.listdir_attr(remote_dir), key=lambda a: a.filename):
                rel = prefix + attr.filename
                path = posixpath.join(remote_dir, attr.filename)
                mode = attr.st_mode or 0
                link = stat.S_ISLNK(mode)
                if link:
                    try:
                        mode = client.stat(path).st_mode or 0
                    except OSError:  # a dangling link: nothing to copy
                        continue
                if is_excluded(rel, exclude, stat.S_ISDIR(mode)):
                    continue
                local = destination.joinpath(*rel.split("/"))
                if stat.S_ISDIR(mode):
                    real = client.normalize(path) if link else posixpath.join(ancestors[-1], attr.filename)
                    if real in ancestors:  # a link back to a directory we are in: copying it would never end
                        log.warning("%s: skipping %r: a link loop back to %r", conn.hop, path, real)
                        continue
                    local.mkdir(exist_ok=True)
                    dir_modes.append((local, stat.S_IMODE(mode)))
                    visit(path, rel + "/", ancestors + (real,))
                elif stat.S_ISREG(mode):
                    with atomic_writer(local, stat.S_IMODE(mode)) as out:
                        _read_file(client, path, attr.st_size if not link else client.stat(path).st_size or 0,
                                   out, transfer)

        visit(source, "", (client.normalize(source),))
        for path, mode in reversed(dir_modes):
            path.chmod(mode)

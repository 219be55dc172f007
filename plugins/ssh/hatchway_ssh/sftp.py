"""SFTP transfers: checked, pipelined writes to a temp name + posix-rename; pipelined reads.

Every write request's status reply is read and checked before the file is
closed and renamed into place: a full disk or a quota fails the upload
with the reason (see :mod:`.sftp_status`) and the old file stays as it was.
A failed or interrupted upload removes its temp file.
"""
from __future__ import annotations

import collections
import contextlib
import errno
import logging
import posixpath
import queue
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Deque, Iterator, List, Optional, Sequence, Tuple, Union

import paramiko

from hatchway import CommunicatorError, RemotePathError, Transfer
from hatchway.toolkit import atomic_writer, is_excluded, walk

from ._paramiko_compat import CMD_DATA, CMD_HANDLE, CMD_STATUS, SFTPRequests
from .connection import Connection
from .errors import ChannelOpenFailed, SessionRefused, reason
from .remote import parent_of, stage_name
from .sftp_status import EOF, OK, SFTPStatusError, explain, status_of

__all__ = ["session", "upload_file", "download_file", "upload_tree", "download_tree", "remote_kind"]

#: Bytes read from the local source at a time.
WRITE_CHUNK = 1024 * 1024
log = logging.getLogger("hatchway.ssh")

#: sftp channels moving a tree's files at once, as many as the server allows (sshd: MaxSessions, 10 by default).
TREE_SESSIONS = 4
#: Bytes per write request (paramiko's default is 32 KiB; OpenSSH's sftp-server takes up to 256 KiB).
WRITE_REQUEST = 252 * 1024
#: Write requests in flight per file: more than the channel window holds, so the window is the limit.
WRITE_DEPTH = 32
#: Bytes per read request (OpenSSH's sftp-server allows up to 255 KiB; servers allowing less are followed) and requests in flight: measured best on loopback.
READ_REQUEST = 252 * 1024
READ_DEPTH = 16


def _start(conn: Connection, path: str, action: str, extra: bool = False) -> paramiko.SFTPClient:
    """An SFTP client on a new channel. :class:`SessionRefused` when the server allows no more sessions
    (at once for an ``extra`` channel, one that is only nice to have)."""
    chan = conn.open_session(patience=0.0) if extra else conn.open_session()
    try:
        chan.invoke_subsystem("sftp")
        return paramiko.SFTPClient(chan)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        with contextlib.suppress(Exception):
            chan.close()
        if not conn.transport.is_active():
            raise ChannelOpenFailed(f"{conn.hop}: cannot open a channel: {reason(exc)}") from None
        raise CommunicatorError(f"{conn.hop}: cannot start the sftp subsystem to {action} {path!r}: {reason(exc)}; "
                                f"try ssh_file_transfer_method \"scp\"") from None


@contextlib.contextmanager
def _errors(conn: Connection, path: str, action: str) -> Iterator[None]:
    """sftp and connection failures as messages naming ``path`` (or the file a status error names)."""
    try:
        yield
    except (EOFError, paramiko.SSHException) as exc:
        if conn.lost():
            raise CommunicatorError(f"{conn.hop}: connection lost while trying to {action} {path!r}") from None
        raise CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: {reason(exc)}") from None
    except OSError as exc:
        if exc.errno is None or not conn.transport.is_active():  # a socket error, not the server's answer
            if conn.lost():
                raise CommunicatorError(f"{conn.hop}: connection lost while trying to {action} {path!r}") from None
            raise CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: {reason(exc)}") from None
        named = exc.remote_path if isinstance(exc, SFTPStatusError) else path
        raise RemotePathError(f"{conn.hop}: cannot {action} {named!r}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def session(conn: Connection, path: str, action: str) -> Iterator[paramiko.SFTPClient]:
    """An SFTP client on its own channel; errors become messages naming ``path``."""
    with conn.busy(), _errors(conn, path, action):
        client = _start(conn, path, action)
        try:
            yield client
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


def _open(requests: SFTPRequests, path: str, write: bool, shown: str) -> bytes:
    """Open ``path``; its handle. Failures name ``shown`` (the path the user gave)."""
    t, msg = requests.reply(requests.send("open", path, requests.open_flags(write), paramiko.SFTPAttributes()))
    if t == CMD_STATUS:
        code, text = status_of(msg)
        raise explain(requests, code, text, shown)
    if t != CMD_HANDLE:
        raise CommunicatorError(f"unexpected sftp reply {t} to opening {shown!r}")
    return msg.get_binary()


def _close(requests: SFTPRequests, handle: bytes, shown: str) -> None:
    _check(requests, requests.send("close", handle), shown)


def _check(requests: SFTPRequests, num: int, shown: str, wanted: int = 0) -> None:
    """Wait for request ``num``'s status; raise the reason if it failed."""
    t, msg = requests.reply(num)
    if t != CMD_STATUS:
        raise CommunicatorError(f"unexpected sftp reply {t} while writing {shown!r}")
    code, text = status_of(msg)
    if code != OK:
        raise explain(requests, code, text, shown, wanted)


def _send(requests: SFTPRequests, handle: bytes, source: BinaryIO, size: Optional[int], transfer: Transfer,
          shown: str, interrupted: "threading.Event | _EitherEvent") -> None:
    """Write ``source`` (``size`` bytes, or to its end) with :data:`WRITE_DEPTH` requests in flight, then
    close ``handle`` (also on failure); every status is checked: nothing is taken as written until the
    server said so.

    The close goes out before the last writes' replies are read: the server answers in order, so
    waiting for the close's reply costs no extra round trip per file.
    """
    pending: Deque[Tuple[int, int]] = collections.deque()
    offset = 0
    closing: Optional[int] = None
    try:
        while True:
            if interrupted.is_set():
                raise CommunicatorError(f"the upload to {shown!r} was interrupted")
            chunk = source.read(WRITE_CHUNK if size is None else min(WRITE_CHUNK, size - offset))
            if not chunk:
                break
            view = memoryview(chunk)
            for start in range(0, len(view), WRITE_REQUEST):
                piece = bytes(view[start:start + WRITE_REQUEST])
                pending.append((requests.send("write", handle, requests.offset(offset), piece), len(piece)))
                offset += len(piece)
                while len(pending) > WRITE_DEPTH:
                    num, length = pending.popleft()
                    _check(requests, num, shown, length)
            transfer.advance(len(chunk))
        closing = requests.send("close", handle)
        while pending:
            num, length = pending.popleft()
            _check(requests, num, shown, length)
        _check(requests, closing, shown)
    except BaseException:
        if closing is None:
            with contextlib.suppress(Exception):
                requests.send("close", handle)  # its reply is read (and dropped) by the next request
        raise


def _write_file(client: paramiko.SFTPClient, handle: BinaryIO, destination: str, mode: int,
                transfer: Transfer, interrupted: "threading.Event | _EitherEvent", size: Optional[int] = None,
                fresh_dir: bool = False, failed_temps: Optional[List[str]] = None) -> None:
    """Write ``handle`` to ``destination`` under a temp name, check every write, chmod, posix-rename.

    On any failure (or an interrupt) the temp file is removed, or added to
    ``failed_temps`` for the caller to remove, and ``destination`` is as it
    was. ``fresh_dir``: the parent was just created by us, so nothing can
    be in the way.
    """
    if not fresh_dir and remote_kind(client, destination) == "dir":
        raise RemotePathError(f"cannot upload to {destination!r}: it is a directory")
    tmp = stage_name(destination)
    requests = SFTPRequests(client)
    try:
        _send(requests, _open(requests, tmp, True, destination), handle, size, transfer, destination, interrupted)
        client.chmod(tmp, mode & 0o7777)
        client.posix_rename(tmp, destination)
    except BaseException:
        if failed_temps is None:
            with contextlib.suppress(Exception):
                client.remove(tmp)
        else:
            failed_temps.append(tmp)
        raise


def upload_file(conn: Connection, source: Union[Path, BinaryIO], destination: str, mode: int,
                transfer: Transfer) -> None:
    with session(conn, destination, "upload to") as client:
        makedirs(client, parent_of(destination))
        if isinstance(source, Path):
            with open(source, "rb") as handle:
                _write_file(client, handle, destination, mode, transfer, conn.interrupted)
        else:
            _write_file(client, source, destination, mode, transfer, conn.interrupted)


def _read_file(client: paramiko.SFTPClient, source: str, size: int, out: BinaryIO, transfer: Transfer,
               interrupted: threading.Event) -> None:
    """Read ``size`` bytes with :data:`READ_DEPTH` requests in flight, written in order.

    paramiko's own ``prefetch`` scans all its buffers on every read
    (quadratic: 26 s for 256 MiB here), so this keeps its own small queue
    of raw requests.
    """
    requests = SFTPRequests(client)
    handle = _open(requests, source, False, source)
    try:
        request = READ_REQUEST
        pending: Deque[tuple] = collections.deque()
        next_offset = 0
        while pending or next_offset < size:
            if interrupted.is_set():
                raise CommunicatorError(f"the download of {source!r} was interrupted")
            while len(pending) < READ_DEPTH and next_offset < size:
                length = min(request, size - next_offset)
                num = requests.send("read", handle, requests.offset(next_offset), length)
                pending.append((num, next_offset, length))
                next_offset += length
            num, offset, length = pending.popleft()
            t, msg = requests.reply(num)
            if t == CMD_STATUS:
                code, text = status_of(msg)
                if code == EOF:
                    raise RemotePathError(f"{source!r} shrank while being downloaded")
                raise explain(requests, code, text, source)
            if t != CMD_DATA:
                raise CommunicatorError(f"unexpected sftp reply {t} while reading {source!r}")
            data = msg.get_string()
            if len(data) < length:  # a short read: ask for the rest first, and ask for less from now on
                request = max(min(request, len(data)), 4096)
                rest = requests.send("read", handle, requests.offset(offset + len(data)), length - len(data))
                pending.appendleft((rest, offset + len(data), length - len(data)))
            out.write(data)
            transfer.advance(len(data))
    except BaseException:
        with contextlib.suppress(Exception):
            requests.send("close", handle)
        raise
    _close(requests, handle, source)


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
                _read_file(client, source, size, out, transfer, conn.interrupted)
        else:
            _read_file(client, source, size, destination, transfer, conn.interrupted)


def upload_tree(conn: Connection, source: Path, destination: str, exclude: Sequence[str],
                transfer: Transfer) -> None:
    """The contents of ``source`` into ``destination``, file by file, each atomically.

    Directories first, then the files over up to :data:`TREE_SESSIONS`
    sftp channels at once (small files cost round trips, not bandwidth):
    as many as the server allows, down to the one that made the directories.
    """
    entries = list(walk(source, exclude))
    fresh = set()
    with conn.busy(), _errors(conn, destination, "upload to"):
        clients = [_start(conn, destination, "upload to")]
        try:
            client = clients[0]
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
            while len(clients) < min(TREE_SESSIONS, len(files_)):
                try:
                    clients.append(_start(conn, destination, "upload to", extra=True))
                except SessionRefused as exc:  # the server's MaxSessions: do with fewer
                    log.info("%s: using %d sftp channel(s): %s", conn.hop, len(clients), exc)
                    break
            failed_temps: List[str] = []
            try:
                _send_files(conn, clients, files_, destination, fresh, _LockedTransfer(transfer), failed_temps)
            finally:
                # removed once every channel stopped: a failure is explained (a full disk?) while the
                # space its neighbours' temp files hold is still taken
                for tmp in failed_temps:
                    with contextlib.suppress(Exception):
                        client.remove(tmp)
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    client.close()


def _send_files(conn: Connection, clients: List[paramiko.SFTPClient], files_: list, destination: str,
                fresh: set, progress: "_LockedTransfer", failed_temps: List[str]) -> None:
    """Each client sends files from one shared queue until it is empty or one of them failed."""
    if not files_:
        return
    todo: "queue.SimpleQueue" = queue.SimpleQueue()
    for entry in files_:
        todo.put(entry)
    failed = threading.Event()
    stop = _EitherEvent(conn.interrupted, failed)

    def send(client: paramiko.SFTPClient) -> None:
        try:
            while not stop.is_set():
                try:
                    entry = todo.get_nowait()
                except queue.Empty:
                    return
                target = posixpath.join(destination, entry.relpath)
                with open(entry.path, "rb") as handle:
                    _write_file(client, handle, target, entry.mode, progress, stop, entry.size,
                                fresh_dir=posixpath.dirname(target) in fresh, failed_temps=failed_temps)
        except BaseException:
            failed.set()
            raise

    if len(clients) == 1:
        send(clients[0])
        return
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = [pool.submit(send, client) for client in clients]
    errors = [f.exception() for f in futures if f.exception() is not None]
    # the failure that says the most: not another channel's "interrupted" that it caused
    errors.sort(key=lambda e: ("was interrupted" in str(e), "gave no reason" in str(e)))
    if errors:
        raise errors[0]


class _EitherEvent:
    """Set when either of two events is."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self._a, self._b = a, b

    def is_set(self) -> bool:
        return self._a.is_set() or self._b.is_set()


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
                                   out, transfer, conn.interrupted)

        visit(source, "", (client.normalize(source),))
        for path, mode in reversed(dir_modes):
            path.chmod(mode)

"""Uploads and downloads through the engine's archive API, streamed both ways.

- ``HEAD /containers/{id}/archive`` tells what a path is (no shell needed).
- Uploads ``PUT`` a tar built on the fly (one chunk in memory at a time)
  into the nearest directory that exists; the tar first creates the missing
  directories (mode 0755, the upload owner), then carries the files, whose
  headers hold their modes and the owner (``fix_upload_owner``). When the
  image can remove files afterwards, each file travels under a temporary
  name followed by a hard link entry that puts it at its real name (the
  engine replaces an existing file by the link), so no destination is ever
  seen half-written; the temporary names are removed later (see
  :attr:`Archive.remove_later`).
- Downloads ``GET`` the tar and extract it as it streams, refusing absolute
  names, ``..`` and links that leave the destination.
"""
from __future__ import annotations

import base64
import io
import json
import os
import posixpath
import stat as stat_module
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import attrs

from hatchway import BuildCancelled, CommunicatorError, RemotePathError, Transfer
from hatchway.toolkit import (
    BrokenArchive,
    CHUNK,
    END,
    IterStream,
    UnsafeArchive,
    extract_single_file,
    extract_tar,
    tar_body,
    tar_hardlink_header,
    tar_header,
    temp_name,
    tree_size,
    walk,
)

from . import sdk
from .daemon import api_errors

__all__ = ["PathStat", "Archive"]

_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_STAT_HEADER = "X-Docker-Container-Path-Stat"

@attrs.define(frozen=True)
class PathStat:
    """What the engine says about a path in the container."""

    name: str
    size: int
    mode: int  # Go's os.FileMode bits
    link_target: str

    @property
    def is_dir(self) -> bool:
        return bool(self.mode & _GO_DIR)

    @property
    def is_symlink(self) -> bool:
        return bool(self.mode & _GO_SYMLINK)


Remover = Callable[[List[str]], None]
#: ``stream_in(destination, stream, mode)`` writes a stream of unknown length through a command's stdin.
Streamer = Callable[[str, BinaryIO, int], None]
#: A stream of unknown length is read this far into memory; if it ends there it travels in a tar.
PEEK = 8 * CHUNK


@attrs.define
class Archive:
    """The archive side of one container: ``api`` (a docker ``APIClient``) and the container id.

    ``owner`` is the (uid, gid) written into upload headers.
    ``remove_later`` takes the temporary names of an upload to remove them
    (the communicator does it in the background and waits for it before
    its next operation); ``None`` means nothing can remove files in this
    image (no shell), so files are written under their real names at once.
    """

    api: Any
    container: str
    owner: Tuple[int, int] = (0, 0)
    remove_later: Optional[Remover] = None
    #: Set when the communicator is closed under a transfer (a cancelled build): the transfer stops.
    closing: threading.Event = attrs.field(factory=threading.Event)
    #: Streams of unknown length longer than :data:`PEEK` go through this (a command's stdin) when set;
    #: else they are read into memory, as a tar header needs the length first.
    stream_in: Optional[Streamer] = None

    # -- stat ----------------------------------------------------------
    def stat(self, path: str) -> Optional[PathStat]:
        """The path's stat, or ``None`` when it does not exist."""
        url = sdk.url(self.api, "/containers/{0}/archive", self.container)
        with api_errors(f"cannot look at {path!r} in container {self.container[:12]}", path):
            response = self.api.head(url, params={"path": path}, timeout=self.api.timeout)
        if response.status_code in (404, 500):
            return None  # 500: a parent is not a directory (a HEAD answer carries no words to tell more)
        with api_errors(f"cannot look at {path!r} in container {self.container[:12]}", path):
            sdk.raise_for_status(self.api, response)
        raw = json.loads(base64.b64decode(response.headers[_STAT_HEADER]))
        return PathStat(raw.get("name", ""), int(raw.get("size", 0)), int(raw.get("mode", 0)),
                        raw.get("linkTarget", "") or "")

    def resolved_stat(self, path: str, hops: int = 8) -> Optional[PathStat]:
        """Like :meth:`stat`, following symbolic links."""
        info = self.stat(path)
        while info is not None and info.is_symlink and info.link_target and hops > 0:
            info, hops = self.stat(info.link_target), hops - 1
        return info

    def read_file(self, path: str) -> Optional[bytes]:
        """A small file's bytes (``/etc/passwd``...), or ``None`` when it does not exist."""
        if self.resolved_stat(path) is None:
            return None
        sink = io.BytesIO()
        self.download(path, sink, (), Transfer(path))
        return sink.getvalue()

    # -- upload --------------------------------------------------------
    def _anchor(self, directory: str, wanted: str) -> Tuple[str, List[str]]:
        """The nearest existing directory at or above ``directory``, and the names to create below it."""
        missing: List[str] = []
        current = posixpath.normpath(directory)
        while True:
            info = self.resolved_stat(current)
            if info is not None:
                if not info.is_dir:
                    raise RemotePathError(f"cannot write {wanted!r}: {current!r} is not a directory")
                return current, missing
            if current == "/":  # pragma: no cover - the root always exists
                raise RemotePathError(f"cannot write {wanted!r}: the container has no root directory")
            missing.insert(0, posixpath.basename(current))
            current = posixpath.dirname(current)

    def _dir_headers(self, names: Sequence[str]) -> Iterator[bytes]:
        uid, gid = self.owner
        for i in range(len(names)):
            yield tar_header("/".join(names[: i + 1]), 0, 0o755, True, time.time(), uid, gid)

    def _watched(self, chunks: Iterator[bytes], path: str) -> Iterator[bytes]:
        """``chunks``, stopping with an error once :attr:`closing` is set."""
        for chunk in chunks:
            if self.closing.is_set():  # not a CommunicatorError: nothing may retry it
                raise BuildCancelled(f"the transfer of {path!r} was stopped: the communicator was closed "
                                     "(the build is being cancelled or cleaned up)")
            yield chunk

    def _put(self, directory: str, chunks: Iterator[bytes], wanted: str) -> None:
        url = sdk.url(self.api, "/containers/{0}/archive", self.container)
        with api_errors(f"cannot upload to {wanted!r} in container {self.container[:12]}", wanted):
            response = sdk.put(self.api, url, params={"path": directory, "noOverwriteDirNonDir": "true"},
                                     data=self._watched(chunks, wanted), timeout=None)
            sdk.raise_for_status(self.api, response)

    def _file_entry(self, rel: str, body: BinaryIO, size: int, mode: int, mtime: float,
                    transfer: Transfer, temps: List[str]) -> Iterator[bytes]:
        """Tar entries that leave the file at ``rel``: under a temporary name plus a hard link when possible."""
        uid, gid = self.owner
        name = rel if self.remove_later is None else temp_name(rel)
        if name != rel:
            temps.append(name)  # before its bytes: a transfer cut off mid-file leaves no temporary file either
        yield tar_header(name, size, mode, False, mtime, uid, gid)
        yield from tar_body(body, size, transfer)
        if name != rel:
            yield tar_hardlink_header(rel, name, mode, mtime, uid, gid)

    def _put_and_finish(self, anchor: str, chunks: Iterator[bytes], wanted: str, temps: List[str]) -> None:
        """Send the tar; then (also after a failure) hand its temporary names over for removal."""
        try:
            self._put(anchor, chunks, wanted)
        finally:
            if self.remove_later is not None and temps:
                self.remove_later([posixpath.join(anchor, temp) for temp in temps])

    def upload_file(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
                    transfer: Transfer) -> None:
        """Bytes of a local file or stream land at exactly ``destination``."""
        existing = self.resolved_stat(destination)
        if existing is not None and existing.is_dir:
            raise RemotePathError(f"cannot upload a file to {destination!r}: it is a directory in the container")
        anchor, missing = self._anchor(posixpath.dirname(destination) or "/", destination)
        rel = "/".join(missing + [posixpath.basename(destination)])
        temps: List[str] = []
        if isinstance(source, Path):
            st = source.stat()
            handle: BinaryIO = open(source, "rb")
            size, file_mode, mtime = st.st_size, stat_module.S_IMODE(st.st_mode), st.st_mtime
        else:
            handle, known = _sized(source, PEEK if self.stream_in is not None else None)
            file_mode, mtime = 0o644, time.time()
            if known is None:
                assert self.stream_in is not None
                transfer.start(None)
                if missing:
                    self._put(anchor, _chain(self._dir_headers(missing), iter([END])), destination)
                self.stream_in(destination, _Counted(handle, transfer), 0o644 if mode is None else mode)
                return
            size = known
        transfer.start(size)

        def tar() -> Iterator[bytes]:
            yield from self._dir_headers(missing)
            yield from self._file_entry(rel, handle, size, file_mode if mode is None else mode, mtime, transfer, temps)
            yield END

        try:
            self._put_and_finish(anchor, tar(), destination, temps)
        finally:
            if isinstance(source, Path):
                handle.close()

    def upload_tree(self, source: Path, destination: str, exclude: Sequence[str], transfer: Transfer) -> None:
        """The contents of the local directory ``source`` land inside ``destination``."""
        anchor, missing = self._anchor(destination, destination)
        transfer.start(tree_size(source, exclude))
        temps: List[str] = []
        prefix = "/".join(missing)
        uid, gid = self.owner

        def tar() -> Iterator[bytes]:
            yield from self._dir_headers(missing)
            for entry in walk(source, exclude):
                rel = f"{prefix}/{entry.relpath}" if prefix else entry.relpath
                mtime = entry.path.stat().st_mtime
                if entry.is_dir:
                    yield tar_header(rel, 0, entry.mode, True, mtime, uid, gid)
                    continue
                with open(entry.path, "rb") as handle:
                    yield from self._file_entry(rel, handle, entry.size, entry.mode, mtime, transfer, temps)
            yield END

        self._put_and_finish(anchor, tar(), destination, temps)

    # -- download ------------------------------------------------------
    def _get(self, path: str) -> Tuple[Iterator[bytes], PathStat]:
        with api_errors(f"cannot download {path!r} from container {self.container[:12]}", path):
            chunks, raw = self.api.get_archive(self.container, path, chunk_size=CHUNK)
        info = PathStat(raw.get("name", ""), int(raw.get("size", 0)), int(raw.get("mode", 0)),
                        raw.get("linkTarget", "") or "")
        return chunks, info

    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> None:
        """A remote file to a local path or stream; a remote directory's contents into a local directory."""
        chunks, info = self._get(source)
        if info.is_symlink and info.link_target:
            _close(chunks)
            target = self.resolved_stat(source)
            if target is None:
                raise RemotePathError(f"{source!r} in container {self.container[:12]} is a dangling link")
            chunks, info = self._get(info.link_target)
        stream = io.BufferedReader(IterStream(self._watched(chunks, source)), CHUNK)  # type: ignore[arg-type]
        try:
            with api_errors(f"cannot download {source!r} from container {self.container[:12]}", source):
                if info.is_dir:
                    if not isinstance(destination, Path):
                        raise RemotePathError(f"{source!r} is a directory; download it to a local directory")
                    transfer.start(None)
                    try:
                        extract_tar(stream, destination, exclude, strip=1, transfer=transfer)
                    except UnsafeArchive as exc:
                        raise UnsafeArchive(f"refused to download {source!r} from container "
                                            f"{self.container[:12]} into {str(destination)!r}: {exc}") from None
                else:
                    transfer.start(info.size)
                    extract_single_file(stream, destination, transfer)
        except BrokenArchive as exc:
            raise BrokenArchive(f"cannot download {source!r} from container {self.container[:12]}: {exc}") from None
        finally:
            _close(chunks)




def _close(chunks: Any) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _chain(*parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


def _sized(stream: BinaryIO, peek: Optional[int] = None) -> Tuple[BinaryIO, Optional[int]]:
    """A stream and its remaining length: measured by seeking, else by reading it into memory.

    With ``peek``, at most that much is read: a longer stream comes back
    whole (what was read, then the rest) with the length ``None``.
    """
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, os.SEEKEND)
            stream.seek(here)
            return stream, end - here
    except (OSError, AttributeError, ValueError):
        pass
    if peek is None:
        data = stream.read()
        return io.BytesIO(data), len(data)
    parts, got = [], 0
    while got <= peek:
        chunk = stream.read(CHUNK)
        if not chunk:
            data = b"".join(parts)
            return io.BytesIO(data), len(data)
        parts.append(chunk)
        got += len(chunk)
    return io.BufferedReader(IterStream(_chain(iter(parts), iter(lambda: stream.read(CHUNK), b""))),  # type: ignore[arg-type]
                             CHUNK), None


class _Counted(io.RawIOBase):
    """Reads from ``source`` and reports every byte to ``transfer``."""

    def __init__(self, source: BinaryIO, transfer: Transfer) -> None:
        self._source, self._transfer = source, transfer

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n if n is not None and n >= 0 else CHUNK)
        if data:
            self._transfer.advance(len(data))
        return data

    def readinto(self, b: "bytearray | memoryview") -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

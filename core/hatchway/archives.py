"""Tar streams built on the fly and extracted safely.

Communicators that move trees as one archive (docker's ``put_archive``,
SSH's tar fast path) share these. Building never holds more than one chunk
in memory; extracting refuses absolute names, ``..`` and links that point
outside the destination, and writes every file atomically.
Internal module: plugins import these names from :mod:`hatchway.toolkit`.
"""
from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import stat
import tarfile
import time
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .communicator import Transfer
from .errors import CommunicatorError, RemotePathError
from .files import CHUNK, atomic_writer, copy_stream, is_excluded, walk, write_error

__all__ = [
    "tar_header", "tar_hardlink_header", "tar_body", "tar_stream", "tar_file_stream",
    "extract_tar", "extract_single_file", "UnsafeArchive", "BrokenArchive", "IterStream", "END",
]

BLOCK = tarfile.BLOCKSIZE
#: The end-of-archive marker.
END = b"\0" * (2 * BLOCK)


class UnsafeArchive(RemotePathError):
    """An archive entry would land outside the destination: it is refused."""


class BrokenArchive(CommunicatorError):
    """An archive stream is not an archive, or broke off part-way."""


class _Watched(io.RawIOBase):
    """A pass-through reader that remembers whether it hit EOF and the last block it read."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.eof = False
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: "bytearray | memoryview") -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        if not data:
            self.eof = True
            return 0
        n = len(data)
        b[:n] = data
        self.tail = (self.tail + data)[-BLOCK:]
        return n

    def check_complete(self) -> None:
        """A tar ends with zero blocks: one that reached EOF on other bytes was cut off."""
        if self.eof and self.tail.strip(b"\0"):
            raise BrokenArchive("the archive stream ended part-way (no end-of-archive marker): it was cut off")


@contextlib.contextmanager
def _reading(stream: BinaryIO) -> Iterator[_Watched]:
    """Turn what ``tarfile`` raises on a broken stream into one :class:`BrokenArchive`."""
    watched = _Watched(stream)
    try:
        yield watched
    except tarfile.TarError as exc:
        raise BrokenArchive(f"the archive stream is broken: {exc}") from None
    watched.check_complete()


def tar_header(name: str, size: int, mode: int, is_dir: bool, mtime: float,
               uid: int = 0, gid: int = 0) -> bytes:
    """The PAX header of one file (followed by :func:`tar_body`) or directory entry."""
    info = tarfile.TarInfo(name + ("/" if is_dir and not name.endswith("/") else ""))
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.size = 0 if is_dir else size
    info.mode = mode
    info.mtime = int(mtime)
    info.uid, info.gid = uid, gid
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def tar_hardlink_header(name: str, target: str, mode: int, mtime: float, uid: int = 0, gid: int = 0) -> bytes:
    """A hard-link entry: ``name`` becomes another name of the already extracted ``target``."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = tarfile.LNKTYPE, target, 0
    info.mode, info.mtime, info.uid, info.gid = mode, int(mtime), uid, gid
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def tar_body(handle: BinaryIO, size: Optional[int], transfer: Optional[Transfer] = None) -> Iterator[bytes]:
    """A file's bytes in chunks, padded to the tar block size; ``size`` is checked when given."""
    sent = 0
    while True:
        chunk = handle.read(CHUNK if size is None else min(CHUNK, size - sent))
        if not chunk:
            break
        sent += len(chunk)
        if transfer is not None:
            transfer.advance(len(chunk))
        yield chunk
    if size is not None and sent != size:
        raise RemotePathError(f"{getattr(handle, 'name', 'a file')!r} changed size while being sent")
    if sent % BLOCK:
        yield b"\0" * (BLOCK - sent % BLOCK)


def tar_stream(root: Path, exclude: Sequence[str] = (), prefix: str = "",
               transfer: Optional[Transfer] = None, uid: int = 0, gid: int = 0) -> Iterator[bytes]:
    """Yield a tar of the *contents* of ``root`` (names under ``prefix``), chunk by chunk."""
    for entry in walk(root, exclude):
        name = posixpath.join(prefix, entry.relpath) if prefix else entry.relpath
        st = entry.path.stat()
        yield tar_header(name, entry.size, entry.mode, entry.is_dir, st.st_mtime, uid, gid)
        if not entry.is_dir:
            with open(entry.path, "rb") as handle:
                yield from tar_body(handle, entry.size, transfer)
    yield END


def tar_file_stream(source: Union[Path, BinaryIO], name: str, mode: Optional[int] = None,
                    size: Optional[int] = None, transfer: Optional[Transfer] = None,
                    uid: int = 0, gid: int = 0) -> Iterator[bytes]:
    """Yield a tar holding one file called ``name``.

    A tar header needs the size first, so a stream of unknown ``size`` is
    counted by reading it in :data:`CHUNK` pieces into memory; pass
    ``size`` when known (a local path always is).
    """
    if isinstance(source, (str, Path)):
        st = os.stat(source)
        with open(source, "rb") as handle:
            yield tar_header(name, st.st_size, stat.S_IMODE(st.st_mode) if mode is None else mode,
                          False, st.st_mtime, uid, gid)
            yield from tar_body(handle, st.st_size, transfer)
    else:
        if size is None:
            data = source.read()
            source, size = io.BytesIO(data), len(data)
        yield tar_header(name, size, 0o644 if mode is None else mode, False, time.time(), uid, gid)
        yield from tar_body(source, size, transfer)
    yield END


class IterStream(io.RawIOBase):
    """A readable file object over an iterator of byte chunks (for ``tarfile`` and HTTP bodies)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b: "bytearray | memoryview") -> int:  # type: ignore[override]
        while not len(self._buffer):
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _safe_name(name: str, strip: int) -> Optional[str]:
    """The member's relative name after stripping, or ``None`` to skip; raise if it escapes.

    Only ``/`` separates names in a tar: a POSIX file may have ``\\`` in its name.
    """
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeArchive(f"archive entry {name!r} has an absolute path; refused")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive entry {name!r} points outside the destination; refused")
    parts = parts[strip:]
    return "/".join(parts) if parts else None


def _inside(root: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def extract_tar(stream: BinaryIO, destination: Path, exclude: Sequence[str] = (), strip: int = 0,
                transfer: Optional[Transfer] = None) -> int:
    """Extract a tar stream into ``destination``; return the number of files written.

    ``strip`` drops leading path components (``tar --strip-components``).
    Directories are created, files written atomically with their modes;
    symbolic links are kept only when they resolve inside ``destination``;
    devices, FIFOs and anything escaping raise :class:`UnsafeArchive`.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    dir_modes = []
    links: List[Tuple[str, Path, str]] = []
    with _reading(stream) as watched, tarfile.open(fileobj=watched, mode="r|*") as archive:
        for member in archive:
            rel = _safe_name(member.name, strip)
            if rel is None:
                continue
            if is_excluded(rel, exclude, member.isdir()):
                continue
            target = destination.joinpath(*rel.split("/"))
            if not _inside(destination, target.parent):
                raise UnsafeArchive(f"archive entry {member.name!r} goes through a link outside the destination")
            if member.isdir():
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise
                except OSError as exc:  # a full disk: no room for one more directory
                    raise write_error(target, exc) from None
                dir_modes.append((target, member.mode & 0o7777))
            elif member.isfile():
                reader = archive.extractfile(member)
                assert reader is not None
                with atomic_writer(target, member.mode & 0o7777) as out:
                    copy_stream(reader, out, transfer)
                count += 1
            elif member.issym():
                link = member.linkname
                resolved = (target.parent / link) if not link.startswith("/") else Path(link)
                if link.startswith("/") or not _inside(destination, resolved):
                    raise UnsafeArchive(f"archive link {member.name!r} -> {link!r} points outside the destination")
                links.append((member.name, target, link))  # made last: nothing is written through them
            elif member.islnk():
                link_rel = _safe_name(member.linkname, strip)
                if link_rel is None:
                    raise UnsafeArchive(f"archive hard link {member.name!r} has no target")
                source = destination.joinpath(*link_rel.split("/"))
                if not _inside(destination, source):
                    raise UnsafeArchive(f"archive hard link {member.name!r} points outside the destination")
                with open(source, "rb") as src, atomic_writer(target, member.mode & 0o7777) as out:
                    out.write(src.read())
                count += 1
            else:
                raise UnsafeArchive(f"archive entry {member.name!r} is a device or FIFO; refused")
    _make_links(destination, links)
    for path, mode in reversed(dir_modes):
        os.chmod(path, mode)
    return count


def _make_links(destination: Path, links: List[Tuple[str, Path, str]]) -> None:
    """Create the archive's symbolic links, then check them all again together.

    One link can make another escape (``a -> b/../x``, then ``b -> .``): a
    link checked alone when made is not enough. If any now leads outside,
    every link made is removed and the archive refused.
    """
    made: List[Path] = []
    try:
        for name, target, link in links:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                if target.is_dir() and not target.is_symlink():
                    raise UnsafeArchive(f"archive link {name!r} would replace a directory; refused")
                target.unlink()
            os.symlink(link, target)
            made.append(target)
        for name, target, link in links:
            if not _inside(destination, target):
                raise UnsafeArchive(f"archive link {name!r} -> {link!r} leads outside the destination "
                                    "through other links; refused")
    except BaseException:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def extract_single_file(stream: BinaryIO, destination: Union[Path, BinaryIO],
                        transfer: Optional[Transfer] = None) -> None:
    """Write the one regular file in a tar stream to a path (atomically) or a writable stream."""
    with _reading(stream) as watched, tarfile.open(fileobj=watched, mode="r|*") as archive:
        for member in archive:
            if not member.isfile():
                if member.isdir():
                    raise RemotePathError(f"{member.name!r} is a directory")
                continue
            _safe_name(member.name, 0)
            reader = archive.extractfile(member)
            assert reader is not None
            if hasattr(destination, "write"):
                copy_stream(reader, destination, transfer)  # type: ignore[arg-type]
            else:
                with atomic_writer(Path(destination), member.mode & 0o7777) as out:  # type: ignore[arg-type]
                    copy_stream(reader, out, transfer)
            return
    raise RemotePathError("the archive holds no file")


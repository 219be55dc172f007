"""Local file helpers every communicator shares: walking with excludes, atomic writes.

Nothing here touches the network; communicators use these on the local
side of a transfer (and the ``local`` communicator on both sides).
Internal module: plugins import these names from :mod:`hatchway.toolkit`.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator, List, Optional, Sequence, Tuple, Union

import attrs

if TYPE_CHECKING:  # imported on first use: most runs never exclude anything
    import pathspec

from .communicator import Transfer
from .errors import HatchwayError, RemotePathError

__all__ = [
    "CHUNK",
    "Entry",
    "is_excluded",
    "exclude_problems",
    "walk",
    "tree_size",
    "atomic_writer",
    "copy_stream",
    "copy_file",
    "copy_tree",
    "temp_name",
    "write_error",
]

log = logging.getLogger("hatchway.files")

#: Bytes per read/write on the local side: large enough to keep syscalls rare.
CHUNK = 1024 * 1024


@functools.lru_cache(maxsize=64)
def _spec(patterns: Tuple[str, ...]) -> "pathspec.PathSpec":
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, TypeError) as exc:  # pathspec's GitWildMatchPatternError is a ValueError
        raise HatchwayError(f"bad exclude pattern: {exc}") from None


def exclude_problems(patterns: Sequence[str]) -> List[str]:
    """What is wrong with ``patterns`` as exclude patterns (empty: nothing)."""
    import pathspec

    problems = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            problems.append(f"{pattern!r} is not a string")
            continue
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, TypeError) as exc:
            problems.append(f"{pattern!r} is not a valid pattern: {exc}")
    return problems


def is_excluded(relpath: str, patterns: Sequence[str], is_dir: bool = False) -> bool:
    """Is ``relpath`` (``/``-separated, relative to the transfer root) excluded by ``patterns``?

    The patterns are read as a ``.gitignore`` file's lines (``pathspec``):

    - a pattern without a ``/`` (``*.pyc``, ``.git``) matches a name at any depth;
      one with a ``/`` before its end (``logs/*.log``, ``/top.txt``) is anchored
      at the transfer root;
    - ``*`` and ``?`` do not cross ``/``; ``**`` does (``**/cache``, ``logs/**``);
    - a trailing ``/`` (``build/``) matches directories only;
    - ``!pattern`` re-includes what an earlier pattern excluded; the last
      matching pattern wins;
    - what is inside an excluded directory is excluded too, whatever a later
      ``!`` says (as in git: an excluded directory is not entered).

    ``is_dir`` says whether ``relpath`` is a directory.
    """
    if not patterns:
        return False
    spec = _spec(tuple(patterns))
    parts = relpath.strip("/").split("/")
    for i in range(1, len(parts)):
        if spec.match_file("/".join(parts[:i]) + "/"):
            return True
    return spec.match_file("/".join(parts) + ("/" if is_dir else ""))


@attrs.define(frozen=True)
class Entry:
    """One file or directory found by :func:`walk`."""

    relpath: str  # "/"-separated, relative to the root
    path: Path
    is_dir: bool
    mode: int  # permission bits
    size: int


def walk(root: Path, exclude: Sequence[str] = ()) -> Iterator[Entry]:
    """Every directory and file under ``root`` (not ``root`` itself), parents first.

    Symbolic links are followed, as ``scp -r`` does, except a link back to a
    directory the walk is already inside (``loop -> .``), which is skipped
    rather than followed for ever. ``exclude`` patterns are read as by
    :func:`is_excluded`; excluded directories are not entered.
    Sorted for reproducible transfers.
    """
    def visit(directory: Path, prefix: str, inside: frozenset) -> Iterator[Entry]:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise RemotePathError(f"cannot read local directory {str(directory)!r}: {exc.strerror}") from None
        for name in names:
            path = directory / name
            rel = f"{prefix}{name}"
            try:
                st = path.stat()
            except OSError:  # a dangling or looping link
                if not is_excluded(rel, exclude):
                    log.warning("skipping %s: a link that leads nowhere", path)
                continue
            if is_excluded(rel, exclude, stat.S_ISDIR(st.st_mode)):
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in inside:
                    log.warning("skipping %s: a link back to a directory it is inside (a loop)", path)
                    continue
                yield Entry(rel, path, True, stat.S_IMODE(st.st_mode), 0)
                yield from visit(path, rel + "/", inside | {key})
            elif stat.S_ISREG(st.st_mode):
                yield Entry(rel, path, False, stat.S_IMODE(st.st_mode), st.st_size)
            else:
                log.warning("skipping %s: not a regular file or directory (a pipe, socket or device)", path)

    try:
        top = os.stat(root)
        start = frozenset({(top.st_dev, top.st_ino)})
    except OSError:
        start = frozenset()
    yield from visit(Path(root), "", start)


def tree_size(root: Path, exclude: Sequence[str] = ()) -> int:
    return sum(e.size for e in walk(root, exclude))


def _short(name: str, limit: int = 64) -> str:
    """``name`` cut to at most ``limit`` UTF-8 bytes, so a temporary name built on it stays
    within NAME_MAX (255 bytes) even for the longest final names."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return name
    return raw[:limit].decode("utf-8", "ignore")


def temp_name(final: str) -> str:
    """The temporary name a file is written under before it is renamed to ``final``.

    Same directory (so the rename is atomic), hidden, unique, and short
    enough for any file system whatever the length of ``final``'s name.
    """
    head, _, tail = final.rpartition("/")
    unique = f"{os.getpid()}-{os.urandom(4).hex()}"
    name = f".{_short(tail)}.hatchway-{unique}.part"
    return f"{head}/{name}" if head or final.startswith("/") else name


class _CheckedWriter:
    """A file opened for writing whose failures (a full disk, a quota, an I/O error) are errors naming
    the file the user asked for, not the temporary one."""

    def __init__(self, handle: BinaryIO, destination: Path) -> None:
        self._handle = handle
        self._destination = destination

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            raise write_error(self._destination, exc) from None

    def writelines(self, lines: "Iterator[bytes]") -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as exc:
            raise write_error(self._destination, exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


def write_error(path: Union[Path, str], exc: OSError) -> RemotePathError:
    """The error for a local file or directory that could not be written (``exc``'s reason, the path named)."""
    return RemotePathError(f"cannot write {str(path)!r}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_writer(destination: Path, mode: Optional[int] = None) -> Iterator[BinaryIO]:
    """Write ``destination`` atomically: a temp file in the same directory, renamed on success.

    On any error the temp file is removed and ``destination`` is untouched.
    A write that fails here (a full disk...) raises :class:`RemotePathError`
    naming ``destination`` and the reason.
    """
    destination = Path(destination)
    if destination.is_dir():
        raise RemotePathError(f"{str(destination)!r} is a directory; name the file to write")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RemotePathError(f"cannot create {str(destination)!r}: a parent is not a directory") from None
    except OSError as exc:
        raise RemotePathError(f"cannot create {str(destination)!r}: {exc.strerror}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{_short(destination.name)}.", suffix=".hatchway.part",
                                   dir=destination.parent)
    except OSError as exc:
        raise write_error(destination, exc) from None
    handle = os.fdopen(fd, "wb")
    try:
        try:
            yield _CheckedWriter(handle, destination)  # type: ignore[misc]
        except BaseException:  # failed already: that error is the one to tell, not the close's
            with contextlib.suppress(OSError):
                handle.close()
            raise
        try:
            handle.close()  # the last buffered bytes may not fit either
        except OSError as exc:
            raise write_error(destination, exc) from None
        try:
            if mode is not None:
                os.chmod(tmp, mode)
            else:
                os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, destination)
        except OSError as exc:
            raise write_error(destination, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def copy_stream(reader: BinaryIO, writer: BinaryIO, transfer: Optional[Transfer] = None) -> int:
    """Copy until EOF in :data:`CHUNK` pieces; return the byte count."""
    total = 0
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            return total
        writer.write(chunk)
        total += len(chunk)
        if transfer is not None:
            transfer.advance(len(chunk))


def copy_file(
    source: Union[Path, BinaryIO],
    destination: Path,
    mode: Optional[int] = None,
    transfer: Optional[Transfer] = None,
) -> None:
    """Copy a local file or stream to ``destination`` atomically, keeping the file's mode."""
    if hasattr(source, "read"):
        with atomic_writer(destination, mode if mode is not None else 0o644) as out:
            copy_stream(source, out, transfer)  # type: ignore[arg-type]
        return
    path = Path(source)  # type: ignore[arg-type]
    try:
        src_mode = stat.S_IMODE(path.stat().st_mode)
        handle = open(path, "rb")
    except FileNotFoundError:
        raise RemotePathError(f"{str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise RemotePathError(f"{str(path)!r} is a directory") from None
    except PermissionError:
        raise RemotePathError(f"{str(path)!r} cannot be read: permission denied") from None
    with handle, atomic_writer(destination, mode if mode is not None else src_mode) as out:
        copy_stream(handle, out, transfer)


def copy_tree(source: Path, destination: Path, exclude: Sequence[str] = (),
              transfer: Optional[Transfer] = None) -> None:
    """Copy the contents of ``source`` into ``destination`` (created), modes kept, excludes skipped."""
    if not source.is_dir():
        raise RemotePathError(f"{str(source)!r} is not a directory")
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RemotePathError(f"cannot create directory {str(destination)!r}: a file is in the way") from None
    for entry in walk(source, exclude):
        target = destination.joinpath(*entry.relpath.split("/"))
        if entry.is_dir:
            if target.exists() and not target.is_dir():
                raise RemotePathError(f"cannot create directory {str(target)!r}: a file is in the way")
            try:
                target.mkdir(exist_ok=True)
            except OSError as exc:
                raise write_error(target, exc) from None
            os.chmod(target, entry.mode)
        else:
            copy_file(entry.path, target, None, transfer)


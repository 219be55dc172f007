"""Directory trees as zip files: what Windows can expand without extra tools.

A tree goes to the machine as one zip (one PowerShell process instead of
one per file) and comes back as one. Entries carry POSIX modes in their
external attributes (as .NET and Info-ZIP do on Unix); extraction refuses
absolute names, drive letters, ``..`` and links, and writes every file
atomically.
"""
from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Optional, Sequence

from hatchway import Transfer
from hatchway.toolkit import (
    BrokenArchive,
    CHUNK,
    UnsafeArchive,
    atomic_writer,
    copy_stream,
    is_excluded,
    walk,
)

__all__ = ["write_tree", "extract_tree"]


def _info(name: str, mode: int, is_dir: bool, mtime: float) -> zipfile.ZipInfo:
    import time

    stamp = time.localtime(max(mtime, 315532800))[:6]  # zip dates start in 1980
    info = zipfile.ZipInfo(name + ("/" if is_dir else ""), date_time=stamp)
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    kind = stat.S_IFDIR if is_dir else stat.S_IFREG
    info.external_attr = ((kind | mode) << 16) | (0x10 if is_dir else 0)
    info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    return info


def write_tree(root: Path, out: BinaryIO, exclude: Sequence[str] = ()) -> int:
    """Write a zip of the *contents* of ``root`` to ``out``; return the bytes of file data in it."""
    total = 0
    with zipfile.ZipFile(out, "w", compresslevel=1, allowZip64=True) as archive:
        for entry in walk(root, exclude):
            info = _info(entry.relpath, entry.mode, entry.is_dir, entry.path.stat().st_mtime)
            if entry.is_dir:
                archive.writestr(info, b"")
                continue
            with open(entry.path, "rb") as src, archive.open(info, "w", force_zip64=entry.size > 2 ** 31) as dst:
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    dst.write(chunk)
            total += entry.size
    return total


def _safe_name(name: str) -> Optional[str]:
    """The entry's relative ``/`` path (``None`` for the root itself); raise if it would escape."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise UnsafeArchive(f"archive entry {name!r} has an absolute path; refused")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive entry {name!r} points outside the destination; refused")
    return "/".join(parts) or None


def _make_kept_parents(destination: Path, rel: str, exclude: Sequence[str]) -> None:
    """Create the directories above the excluded entry ``rel`` that are not excluded themselves."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        if is_excluded("/".join(parts[:i]), exclude, True):
            return
        destination.joinpath(*parts[:i]).mkdir(exist_ok=True)


def extract_tree(source: BinaryIO, destination: Path, exclude: Sequence[str] = (),
                 transfer: Optional[Transfer] = None) -> int:
    """Extract a (seekable) zip into ``destination``; return the number of files written."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    dir_modes = []
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise BrokenArchive(f"the zip is broken: {exc}") from None
    with archive:
        for info in archive.infolist():
            rel = _safe_name(info.filename)
            if rel is None:
                continue
            unix = info.external_attr >> 16
            is_dir = info.is_dir() or stat.S_ISDIR(unix)
            if is_excluded(rel, exclude, is_dir):
                _make_kept_parents(destination, rel, exclude)  # a zip lists no directory that holds files
                continue
            if unix and not (is_dir or stat.S_ISREG(unix)):
                raise UnsafeArchive(f"archive entry {info.filename!r} is a link or device; refused")
            mode = stat.S_IMODE(unix) if unix else None
            target = destination.joinpath(*rel.split("/"))
            if is_dir:
                target.mkdir(parents=True, exist_ok=True)
                if mode is not None:
                    dir_modes.append((target, mode))
                continue
            try:
                with archive.open(info) as reader, atomic_writer(target, mode) as out:
                    copy_stream(reader, out, transfer)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise BrokenArchive(f"the zip is broken at entry {info.filename!r}: {exc}") from None
            count += 1
    for path, mode in reversed(dir_modes):
        os.chmod(path, mode)
    return count

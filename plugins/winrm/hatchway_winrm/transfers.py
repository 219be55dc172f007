"""Uploads and downloads over WinRS stdin/stdout: one PowerShell process per file (or per tree).

Upload: the bytes go as base64 lines on the process's stdin, one line per
WS-Management Send, each sized to the server's MaxEnvelopeSize: the data is
base64-encoded twice (our lines, then pywinrm's ``rsp:Stream``), so a raw
chunk of ``n`` bytes costs about ``n * 16/9`` on the wire plus ~1.5 KB of
SOAP. We start at :data:`FIRST_CHUNK` (fits the 500 KB default of Windows
2012+); on HTTP 413 the refused chunk is cut to :data:`SMALL_CHUNK` (fits
the 150 KB of 2008 R2) and the session keeps the smaller size. The last line
is the SHA-256, which the script checks before it moves the file into place.

Download: the script writes a header, base64 lines and a SHA-256 trailer to
stdout; :class:`_Decoder` decodes them Receive by Receive straight into an
atomic local file, never holding the file in memory. Directories travel as
one zip each way (see :mod:`.ziptree`).
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Sequence, Tuple, Union

from hatchway import CommunicatorError, OutputStream, RemotePathError, Transfer
from hatchway.toolkit import atomic_writer

from . import scripts, ziptree
from .clixml import clean as clean_stderr
from .session import DISCONNECTED, Session

__all__ = ["Transfers", "FIRST_CHUNK", "SMALL_CHUNK", "wire_size"]

#: Raw bytes per Send at first: 270000 * 16/9 + SOAP = ~482 KB < 500 KB (512000 bytes).
FIRST_CHUNK = 270_000
#: After a 413: 80000 * 16/9 + SOAP = ~144 KB < 150 KB (153600 bytes).
SMALL_CHUNK = 80_000
#: However large the server's envelope, a Send carries at most this much (memory on both sides).
LARGEST_CHUNK = 4 * 1024 * 1024
SOAP_OVERHEAD = 2048


def chunk_for(envelope: int) -> int:
    """The raw bytes per Send that fit a request envelope of ``envelope`` bytes."""
    return max(1024, min(LARGEST_CHUNK, (envelope - SOAP_OVERHEAD) * 9 // 16 - 64))


def wire_size(raw: int) -> int:
    """Approximate request size of one Send carrying ``raw`` bytes as one of our base64 lines."""
    line = 4 * ((raw + 2) // 3) + 2
    return 4 * ((line + 2) // 3) + SOAP_OVERHEAD


class _Lines:
    """The stdin of the upload script: base64 lines of the source, then the SHA-256 line.

    Iterating reads the source chunk by chunk (never all of it). After an
    HTTP 413, :meth:`resplit` cuts a refused line into smaller ones and
    shrinks the chunk size for the rest (and for the session).
    """

    def __init__(self, reader: BinaryIO, owner: "Transfers", transfer: Transfer) -> None:
        self.reader = reader
        self.owner = owner
        self.transfer = transfer
        self.sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = _read_full(self.reader, self.owner.chunk)
            if not chunk:
                break
            self.sha.update(chunk)
            self.transfer.advance(len(chunk))
            yield base64.b64encode(chunk) + b"\r\n"
        yield b"#sha256:" + self.sha.hexdigest().encode() + b"\r\n"

    def fit(self, data: bytes) -> List[bytes]:
        """``data`` as lines no bigger than the current chunk size (it may have shrunk since it was read)."""
        if len(data) <= 4 * ((self.owner.chunk + 2) // 3) + 2:
            return [data]
        return self.resplit(data) or [data]

    def resplit(self, data: bytes) -> Optional[List[bytes]]:
        """Lines refused with 413, cut smaller (to :data:`SMALL_CHUNK`, else in halves); ``None`` if they cannot be."""
        self.owner.chunk = min(self.owner.chunk, SMALL_CHUNK)
        pieces: List[bytes] = []
        for line in data.split(b"\r\n"):
            if not line:
                continue
            if line.startswith(b"#"):
                pieces.append(line + b"\r\n")
                continue
            raw = base64.b64decode(line)
            if len(raw) <= 1:
                return None
            size = self.owner.chunk if len(raw) > self.owner.chunk else len(raw) // 2
            pieces.extend(base64.b64encode(raw[i:i + size]) + b"\r\n" for i in range(0, len(raw), size))
        return pieces if len(pieces) > 1 else None


def _read_full(reader: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes unless EOF comes first (pipes return short reads)."""
    parts, got = [], 0
    while got < size:
        part = reader.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class Transfers:
    """File transfer over one :class:`Session`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.chunk = FIRST_CHUNK
        self._sized = False

    def _size_chunks(self) -> None:
        """Once per session: size chunks from the server's MaxEnvelopeSizekb when it lets us read it."""
        if self._sized:
            return
        self._sized = True
        limit = self.session.read_envelope_limit()
        if limit is not None:
            self.chunk = chunk_for(limit)

    # -- upload --------------------------------------------------------
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> None:
        if isinstance(source, Path) and source.is_dir():
            with tempfile.TemporaryFile(prefix="hatchway-winrm-", suffix=".zip") as spool:
                ziptree.write_tree(source, spool, exclude)
                transfer.start(spool.tell())
                spool.seek(0)
                self._send(spool, destination, 0o755, unzip=True, transfer=transfer, what=f"{source}/")
            return
        if isinstance(source, Path):
            try:
                handle = open(source, "rb")
            except OSError as exc:
                raise RemotePathError(f"cannot read local file {str(source)!r}: {exc.strerror}") from None
            with handle:
                file_mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
                transfer.start(os.fstat(handle.fileno()).st_size)
                self._send(handle, destination, mode if mode is not None else file_mode, unzip=False,
                           transfer=transfer, what=str(source))
            return
        transfer.start(None)
        self._send(source, destination, mode if mode is not None else 0o644, unzip=False, transfer=transfer,
                   what="<stream>")

    def _send(self, reader: BinaryIO, destination: str, mode: int, *, unzip: bool, transfer: Transfer,
              what: str) -> None:
        self._size_chunks()
        script = scripts.render("upload", {"path": destination, "mode": format(mode & 0o7777, "o"),
                                           "unzip": "1" if unzip else "0"})
        exe, args = scripts.powershell_command(script, f"uploading to {destination!r}")
        lines = _Lines(reader, self, transfer)
        (out, out_buffer), (err, err_buffer) = _capture(), _capture()
        status = self.session.run(exe, args, stdin=lines, stdout=out, stderr=err, skip_cmd_shell=True)
        stdout, stderr = out_buffer.getvalue(), clean_stderr(err_buffer.getvalue())
        if status == 0 and f"hatchway: ok {lines.sha.hexdigest()}".encode() in stdout:
            return
        where = self.session.describe()
        if status == DISCONNECTED:
            raise CommunicatorError(f"lost the connection to {where} while uploading {what} to {destination!r}")
        if status == 2:
            raise RemotePathError(_message(stderr) or f"cannot write {destination!r} on {self.session.host}")
        raise CommunicatorError(
            f"uploading {what} to {destination!r} on {where} failed (exit {status}): "
            f"{_message(stderr) or stdout.decode('utf-8', 'replace').strip()[:300]}")

    # -- download ------------------------------------------------------
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> None:
        script = scripts.render("download", {"path": source})
        exe, args = scripts.powershell_command(script, f"downloading {source!r}")
        decoder = _Decoder(source, destination, exclude, transfer)
        err, err_buffer = _capture()
        stdout = OutputStream("stdout")
        stdout.add_listener(decoder.write)
        try:
            status = self.session.run(exe, args, stdout=stdout, stderr=err, skip_cmd_shell=True)
            stderr = clean_stderr(err_buffer.getvalue())
            if status == 2:
                raise RemotePathError(_message(stderr) or f"{source!r} does not exist on {self.session.host}")
            if status == DISCONNECTED:
                raise CommunicatorError(f"lost the connection to {self.session.describe()} while downloading "
                                        f"{source!r}")
            if status != 0:
                raise CommunicatorError(f"downloading {source!r} from {self.session.describe()} failed "
                                        f"(exit {status}): {_message(stderr)}")
            decoder.finish()
        except BaseException:
            decoder.abort()
            raise


class _Decoder:
    """Consumes the download script's stdout as it arrives: header, base64 lines, hash trailer."""

    def __init__(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> None:
        self.source = source
        self.destination = destination
        self.exclude = exclude
        self.transfer = transfer
        self.pending = b""
        self.kind: Optional[str] = None
        self.sha = hashlib.sha256()
        self.expected: Optional[str] = None
        self.stack = contextlib.ExitStack()
        self.sink: Optional[BinaryIO] = None
        self.spool: Optional[BinaryIO] = None

    def write(self, data: bytes) -> None:
        self.pending += data
        if b"\n" not in data:
            return
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self._line(line.strip())

    def _line(self, line: bytes) -> None:
        if not line:
            return
        if self.kind is None:
            kind, size, mode = line.decode("ascii").split(" ")
            self._open(kind, int(size), None if mode == "-" else int(mode, 8))
        elif line.startswith(b"H "):
            self.expected = line[2:].decode("ascii")
        else:
            data = base64.b64decode(line)
            self.sha.update(data)
            assert self.sink is not None
            self.sink.write(data)
            if self.kind == "F":
                self.transfer.advance(len(data))

    def _open(self, kind: str, size: int, mode: Optional[int]) -> None:
        self.kind = kind
        self.transfer.start(size)
        if kind == "Z":
            if not isinstance(self.destination, Path):
                raise RemotePathError(f"{self.source!r} is a directory; download it to a local directory")
            self.spool = self.sink = self.stack.enter_context(tempfile.TemporaryFile(prefix="hatchway-winrm-"))
        elif isinstance(self.destination, Path):
            self.sink = self.stack.enter_context(atomic_writer(self.destination, mode))
        else:
            self.sink = self.destination

    def finish(self) -> None:
        if self.pending.strip():
            self._line(self.pending.strip())
            self.pending = b""
        if self.kind is None or self.expected is None:
            raise CommunicatorError(f"the download of {self.source!r} ended early (no checksum received)")
        if self.expected != self.sha.hexdigest():
            raise CommunicatorError(f"checksum mismatch downloading {self.source!r}: the data was damaged")
        if self.kind == "Z":
            assert self.spool is not None and isinstance(self.destination, Path)
            self.spool.seek(0)
            ziptree.extract_tree(self.spool, self.destination, self.exclude, self.transfer)
        self.stack.close()

    def abort(self) -> None:
        """Drop what was written: a failed download leaves no file behind."""
        import sys

        try:
            self.stack.__exit__(*sys.exc_info())
        except BaseException:  # atomic_writer re-raises the failure it cleaned up after
            pass


def _capture() -> Tuple[OutputStream, io.BytesIO]:
    stream, buffer = OutputStream(), io.BytesIO()
    stream.add_listener(buffer.write)
    return stream, buffer


def _message(stderr: str) -> str:
    """The script's own ``hatchway: ...`` message, else the first lines of stderr."""
    for line in stderr.splitlines():
        if line.startswith("hatchway: "):
            return line[len("hatchway: "):].strip()
    return " ".join(stderr.split())[:300]

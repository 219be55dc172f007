"""One command run through the exec API, streamed both ways.

``POST /exec/{id}/start`` with ``Upgrade: tcp`` hijacks the HTTP connection:
afterwards the same socket carries the command's standard input one way and
its multiplexed stdout/stderr frames (an 8-byte header: stream, 3 zero
bytes, big-endian length) the other. Standard input is copied by a thread
and half-closed (``SHUT_WR``) at its end, which the engine turns into EOF
for the command; output is handed to the listeners frame by frame as it
arrives; the exit status comes from ``GET /exec/{id}/json``.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
import uuid
from typing import Any, BinaryIO, List, Optional, Sequence, Set

import attrs

from hatchway import OutputStream
from hatchway.toolkit import CHUNK

from . import sdk
from .daemon import api_errors

__all__ = ["ExecResult", "run_exec", "StartFailed", "StdinUnsupported", "Sockets", "carries_stdin"]

_HEADER = struct.Struct(">BxxxL")
#: What the engine writes when it could not start the program (then exit status 126 or 127).
_START_FAILURE = b"OCI runtime exec failed"
#: Environment variable that marks an exec's processes, so a timeout can find and kill them.
TOKEN_VARIABLE = "HATCHWAY_EXEC_TOKEN"


class StdinUnsupported(Exception):
    """This connection to the engine cannot carry a command's standard input."""


class StartFailed(Exception):
    """The engine could not start the program; ``args[0]`` is its own words."""


@attrs.define
class ExecResult:
    exit_code: Optional[int]
    timed_out: bool = False
    #: The connection was closed under the command by :meth:`Sockets.close_all` (a cancelled build).
    closed: bool = False


class Sockets:
    """The hijacked connections of the commands running now, so a cleanup can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Set[Any] = set()
        self._closed: Set[int] = set()

    def add(self, sock: Any) -> None:
        with self._lock:
            self._open.add(sock)

    def remove(self, sock: Any) -> bool:
        """Forget ``sock``; true if :meth:`close_all` closed it."""
        with self._lock:
            self._open.discard(sock)
            if id(sock) in self._closed:
                self._closed.discard(id(sock))
                return True
            return False

    def close_all(self) -> None:
        with self._lock:
            victims = list(self._open)
            self._closed.update(id(s) for s in victims)
        for sock in victims:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _hijack(api: Any, exec_id: str):
    """Start the exec on a hijacked connection; return (buffered reader, raw socket, response).

    The reader is http.client's own buffer: it may already hold the first
    frames that arrived with the response headers, so reading the raw
    socket instead could lose them.
    """
    response = sdk.post_json(api, sdk.url(api, "/exec/{0}/start", exec_id), {"Tty": False, "Detach": False},
                             headers={"Connection": "Upgrade", "Upgrade": "tcp"}, stream=True)
    sdk.raise_for_status(api, response)
    reader = sdk.hijacked_reader(response)
    raw = reader.raw
    sock = getattr(raw, "_sock", raw)
    with_timeout = getattr(sock, "settimeout", None)
    if with_timeout is not None:
        sock.settimeout(None)
    return reader, sock, response


def _read_exactly(reader: BinaryIO, n: int) -> bytes:
    data = reader.read(n)
    if data is None or len(data) == n:
        return data or b""
    parts = [data]
    got = len(data)
    while got < n:
        more = reader.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def carries_stdin(api: Any) -> bool:
    """Can this client tell a command where its stdin ends? Not over TLS: Python's ssl cannot close
    only the writing half of a connection it still reads from."""
    return not str(api.base_url).startswith("https")


def _feed(sock: Any, stdin: BinaryIO) -> None:
    """Copy ``stdin`` into the exec, then half-close so the command sees EOF."""
    try:
        while True:
            chunk = stdin.read(CHUNK)
            if not chunk:
                break
            sock.sendall(chunk)
    except OSError:
        pass  # the command exited without reading everything
    finally:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def run_exec(api: Any, container: str, argv: Sequence[str], *, user: str = "",
             stdin: Optional[BinaryIO] = None, stdout: OutputStream, stderr: OutputStream,
             timeout: Optional[float] = None, kill_argv: Optional[List[str]] = None,
             sockets: Optional[Sockets] = None, env: Sequence[str] = (), workdir: str = "") -> ExecResult:
    """Run ``argv`` in ``container``; stream its output; return its exit code.

    Past ``timeout`` the command's processes are killed (by a second exec of
    ``kill_argv`` + the exec's token, when given) and the connection is
    closed; the result then says ``timed_out``. ``env`` (``NAME=value``) and ``workdir`` are the command's. Raises :class:`StartFailed`
    when the engine could not start the program (missing binary or user).
    """
    if stdin is not None and not carries_stdin(api):
        raise StdinUnsupported("standard input cannot be given to commands over a TLS connection to the "
                               "Docker daemon; reach the daemon through its unix socket (or an SSH tunnel) "
                               "to pass stdin")
    token = uuid.uuid4().hex
    with api_errors(f"cannot start {argv[0]!r} in container {container[:12]}"):
        exec_id = api.exec_create(container, list(argv), stdin=stdin is not None, stdout=True, stderr=True, tty=False,
                                  user=user or "", environment=[*env, f"{TOKEN_VARIABLE}={token}"],
                                  workdir=workdir or None)["Id"]
        reader, sock, response = _hijack(api, exec_id)
    timed_out = threading.Event()
    if sockets is not None:
        sockets.add(sock)

    def expire() -> None:
        timed_out.set()
        if kill_argv:
            try:
                killer = api.exec_create(container, kill_argv + [f"{TOKEN_VARIABLE}={token}"], user="0")
                api.exec_start(killer["Id"])
            except Exception:
                pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    timer = threading.Timer(timeout, expire) if timeout is not None else None
    # without stdin the exec attaches none, and the command reads EOF at once
    feeder = (threading.Thread(target=_feed, args=(sock, stdin), name=f"exec-stdin-{exec_id[:8]}", daemon=True)
              if stdin is not None else None)
    held: List[bytes] = []
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        if feeder is not None:
            feeder.start()
        first = True
        while True:
            try:
                header = _read_exactly(reader, _HEADER.size)
            except (OSError, ValueError):
                break
            if len(header) < _HEADER.size:
                break
            kind, length = _HEADER.unpack(header)
            try:
                payload = _read_exactly(reader, length) if length else b""
            except (OSError, ValueError):
                break
            if first and kind == 1 and payload.startswith(_START_FAILURE):
                held.append(payload)  # decided once the exit code is known
            elif kind == 2:
                stderr.write(payload)
            else:
                stdout.write(payload)
            first = False
    finally:
        if timer is not None:
            timer.cancel()
        if feeder is not None:
            feeder.join(timeout=5)
        closed = sockets.remove(sock) if sockets is not None else False
        response.close()
        try:
            sock.close()
        except OSError:
            pass
    if timed_out.is_set():
        return ExecResult(None, timed_out=True)
    if closed:
        return ExecResult(None, closed=True)
    code = _exit_code(api, exec_id)
    if held:
        if code in (126, 127):
            raise StartFailed(held[0].decode("utf-8", "replace").strip())
        stdout.write(held[0])
    return ExecResult(code)


def _exit_code(api: Any, exec_id: str, wait: float = 10.0) -> Optional[int]:
    """The exec's exit code; the engine may need a moment after the stream ends to record it."""
    deadline = time.monotonic() + wait
    delay = 0.002
    with api_errors("cannot read the exit status of a command"):
        while True:
            state = api.exec_inspect(exec_id)
            if not state.get("Running") or time.monotonic() > deadline:
                return state.get("ExitCode")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

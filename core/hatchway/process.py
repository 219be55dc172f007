"""Running a local process with streamed output: the ``local`` communicator and ``shell-local`` share it.

Internal module: plugins import these names from :mod:`hatchway.toolkit`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any, BinaryIO, Callable, Mapping, MutableSet, Optional, Sequence, TypeVar

from .communicator import OutputStream
from .errors import CommandTimeout, CommunicatorError

T = TypeVar("T")

__all__ = ["run_process", "kill_all", "spawn"]


class _StartFence:
    """Makes every process start wait until the starts already under way have finished.

    A process started by one thread inherits, between its fork and its exec,
    every file another thread has open at that moment, even a close-on-exec
    one. If that other thread has just written a script and closed it, and
    now runs it, the exec fails with ``ETXTBSY`` ("Text file busy") for as
    long as the half-started child holds its copy. ``Popen`` returns only
    after the child has exec'd (its copies closed), so waiting for every start
    already in flight before starting a process guarantees no file this
    process closed earlier is still open for writing anywhere.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._in_flight: set = set()

    def start(self, launch: "Callable[[], T]") -> "T":
        with self._cond:
            earlier = set(self._in_flight)
            self._cond.wait_for(lambda: not (earlier & self._in_flight))
            ticket = self._next
            self._next += 1
            self._in_flight.add(ticket)
        try:
            return launch()
        finally:
            with self._cond:
                self._in_flight.discard(ticket)
                self._cond.notify_all()


_fence = _StartFence()


def spawn(argv: Sequence[str], **popen: Any) -> "subprocess.Popen[bytes]":
    """``subprocess.Popen(argv, **popen)`` once every start under way in other threads is done.

    Every process Hatchway starts goes through here, so a script written and
    closed just before can be executed at once (see :class:`_StartFence`).
    """
    return _fence.start(lambda: subprocess.Popen(list(argv), **popen))


def _pump(pipe: BinaryIO, sink: OutputStream) -> None:
    try:
        while True:
            chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            if not chunk:
                break
            sink.write(chunk)
    finally:
        pipe.close()


def _feed(pipe: BinaryIO, stdin: BinaryIO) -> None:
    try:
        while True:
            chunk = stdin.read(65536)
            if not chunk:
                break
            pipe.write(chunk)
            pipe.flush()
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def run_process(
    argv: Sequence[str],
    stdout: OutputStream,
    stderr: OutputStream,
    stdin: Optional[BinaryIO] = None,
    timeout: Optional[float] = None,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    running: Optional[MutableSet["subprocess.Popen[bytes]"]] = None,
) -> int:
    """Run ``argv``, stream its output as it comes, feed ``stdin``; return the exit status.

    A process killed by signal N gives ``128 + N``, as a shell reports it.
    Past ``timeout`` its whole process group is killed and
    :class:`CommandTimeout` raised. The process is in ``running`` while it
    runs, so :func:`kill_all` can stop it from another thread.
    """
    try:
        proc = spawn(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommunicatorError(f"cannot start {argv[0]!r}: {exc.strerror}") from None
    if running is not None:
        running.add(proc)
    threads = [
        threading.Thread(target=_pump, args=(proc.stdout, stdout), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, stderr), daemon=True),
    ]
    if stdin is not None:
        threads.append(threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True))
    for thread in threads:
        thread.start()
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise CommandTimeout(f"command timed out after {timeout:g}s and was stopped") from None
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        if running is not None:
            running.discard(proc)
        for thread in threads:
            thread.join(timeout=5)
    return 128 - status if status < 0 else status


def kill_all(running: MutableSet["subprocess.Popen[bytes]"]) -> None:
    """Kill the process groups of every process in ``running`` (a cleanup during Ctrl-C)."""
    for proc in list(running):
        _kill_group(proc)


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()

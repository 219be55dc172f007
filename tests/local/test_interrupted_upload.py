"""Ctrl-C on a terminal during a ``local`` upload that is the build's last step (issue 13 §7).

The real CLI runs on a pseudo-terminal, so it draws progress bars, and the
interrupt is a real ``^C`` typed into that terminal (the line discipline
echoes it and sends SIGINT). The upload reads from a FIFO the test feeds,
so the test decides when the upload is under way and when its source ends.

- The interrupt message starts on a line of its own, not after the bar (and
  the ``^C`` the terminal echoed there).
- The build is reported as interrupted, never as successful, although its
  last step's source ends normally after the interrupt.
"""
from __future__ import annotations

import errno
import os
import pty
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

from helpers.core_env import Env

pytestmark = pytest.mark.timeout(180)

CHUNK = 1024 * 1024
MESSAGE = b"Interrupt received. Cleaning up..."
_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The output side of a pseudo-terminal, read in the background."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.data += chunk

    def wait_for(self, needle: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            assert time.monotonic() < deadline, f"{needle!r} never appeared: {self.data[-2000:]!r}"
            time.sleep(0.05)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)


def line_before(data: bytes, needle: bytes) -> str:
    """What is visible on the terminal line where ``needle`` is written, just before it is.

    Enough of a terminal for this: printable text, ``\\r``, ``\\n``, and
    erase-line (``ESC[2K``, ``ESC[K``); other control sequences draw nothing.
    """
    line: List[str] = []
    col = 0
    head = data[:data.index(needle)]
    pos = 0
    while pos < len(head):
        match = _ESCAPE.match(head, pos)
        if match:
            code = match.group()
            if code == b"\x1b[2K":  # erase the whole line (the cursor stays)
                line = []
            elif code in (b"\x1b[K", b"\x1b[0K"):  # erase to the end of the line
                del line[col:]
            elif code.endswith(b"A"):  # cursor up: a line above, drawn before; start afresh
                line, col = [], 0
            pos = match.end()
            continue
        ch = head[pos:pos + 1]
        pos += 1
        if ch == b"\n":
            line, col = [], 0
        elif ch == b"\r":
            col = 0
        elif ch >= b" ":
            text = ch.decode("latin-1")
            if col < len(line):
                line[col] = text
            else:
                line.extend([" "] * (col - len(line)) + [text])
            col += 1
    return "".join(line).strip()


def test_ctrl_c_during_the_last_local_upload(tmp_path: Path) -> None:
    env = Env(tmp_path)
    fifo = tmp_path / "source.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    path = env.template({"builders": [{"type": "null", "name": "up", "communicator": "local"}],
                         "provisioners": [{"type": "file", "source": str(fifo), "destination": f"{out}/copy.bin"}]})
    environ = {**env.env(), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    environ.pop("NO_COLOR", None)
    pid, master = pty.fork()
    if pid == 0:  # the child: a session of its own with the terminal as its controlling tty
        try:
            os.chdir(tmp_path)
            os.execve(sys.executable, [sys.executable, "-m", "hatchway.cli", "build", str(path)], environ)
        finally:
            os._exit(127)
    terminal = Terminal(master)
    writer = -1
    try:
        deadline = time.monotonic() + 60
        while writer < 0:  # opening without a reader fails with ENXIO: wait for Hatchway to open it
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO and time.monotonic() < deadline, exc
                time.sleep(0.05)
        os.set_blocking(writer, True)
        for _ in range(3):
            os.write(writer, b"x" * CHUNK)
        terminal.wait_for(b"MB")  # the progress bar is drawn
        terminal.type(b"\x03")  # Ctrl-C, typed
        terminal.wait_for(MESSAGE)
        try:
            os.write(writer, b"y" * CHUNK)  # the source goes on, then ends normally
        except BrokenPipeError:
            pass
    finally:
        if writer >= 0:
            os.close(writer)
    deadline = time.monotonic() + 90
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"hatchway did not exit: {terminal.data[-2000:]!r}")
        time.sleep(0.05)
    time.sleep(0.2)  # let the reader drain the last output
    data = terminal.data
    text = _ESCAPE.sub(b"", data).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert b"^C" in data  # the terminal echoed the interrupt (where the cursor was)
    assert line_before(data, MESSAGE) == "", f"the message shares a line: {line_before(data, MESSAGE)!r}"
    assert "up: Build was interrupted" in text, text
    assert "Builds finished" not in text and "artifacts of successful builds" not in text, text
    assert not (out / "copy.bin").exists()
    assert [p.name for p in out.iterdir()] == [] if out.exists() else True  # no temporary file left

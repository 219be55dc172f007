"""What the user sees: Packer-style lines, machine-readable records, progress bars.

Human output looks like Packer's::

    ==> web: Provisioning with shell...
        web: remote output line

with one colour per build on a terminal. ``-machine-readable`` writes
``timestamp,target,type,data...`` records instead. Every byte passes
through :func:`hatchway.redact.redact` first, so secrets never show.
"""
from __future__ import annotations

import datetime as _dt
import sys
import threading
import time
from typing import IO, Any, Callable, Dict, Generator, List, Optional, Set, Tuple

from . import redact
from .communicator import OutputStream
from .hookspecs import hookimpl

__all__ = ["UI", "BuildUI", "LineBuffer", "clean_line"]

PALETTE = ["green", "cyan", "magenta", "yellow", "blue", "bright_green", "bright_cyan", "bright_magenta"]


def clean_line(line: str) -> str:
    """Packer's cleanOutputLine: drop trailing space and everything before the last ``\\r``."""
    line = line.rstrip()
    return line.rsplit("\r", 1)[-1]


def _escape_machine(text: str) -> str:
    return text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


def _to_devnull(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at /dev/null, so the buffered rest and the final flush do not fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a StringIO): nothing to redirect
        pass


class LineBuffer:
    """A byte-stream listener that emits whole decoded lines, secrets masked; :meth:`flush` emits the rest.

    Secrets are masked before a line is cleaned (a ``\\r`` or trailing blank
    inside a secret must not cut it in two). When a secret holds newlines,
    the last lines wait until enough follows to tell whether they begin one,
    but never longer than :attr:`HOLD` seconds (a command that prints a line
    and then works for minutes still shows that line at once).
    """

    #: Seconds the last lines may wait for the rest of a secret that holds newlines.
    HOLD = 0.3

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._pending = b""
        self._lock = threading.Lock()
        self._generation = 0

    def __call__(self, data: bytes) -> None:
        with self._lock:
            self._generation += 1
            self._pending += data
            if b"\n" not in data:  # no line completed: nothing to emit yet
                return
            hold = redact.multiline()
            if hold:
                self._pending = redact.redact_bytes(self._pending)
            *lines, self._pending = self._pending.split(b"\n")
            if hold:
                lines, kept = lines[:max(0, len(lines) - hold)], lines[max(0, len(lines) - hold):]
                self._pending = b"\n".join(kept + [self._pending])
                if kept:
                    timer = threading.Timer(self.HOLD, self._release, (self._generation,))
                    timer.daemon = True
                    timer.start()
        self._show(lines)

    def _release(self, generation: int) -> None:
        """Emit the complete lines held back, if nothing arrived since they were."""
        with self._lock:
            if generation != self._generation:
                return
            *lines, self._pending = redact.redact_bytes(self._pending).split(b"\n")
        self._show(lines)

    def _show(self, lines: List[bytes]) -> None:
        for line in lines:
            self._emit(clean_line(redact.redact(line.decode("utf-8", "replace"))))

    def flush(self) -> None:
        with self._lock:
            self._generation += 1
            rest, self._pending = redact.redact_bytes(self._pending), b""
        *lines, tail = rest.split(b"\n")
        self._show(lines + ([tail] if tail.strip() else []))


class UI:
    """The process-wide output; thread-safe. Make one :class:`BuildUI` per build."""

    def __init__(
        self,
        *,
        machine_readable: bool = False,
        color: Optional[bool] = None,
        timestamps: bool = False,
        out: Optional[IO[str]] = None,
        err: Optional[IO[str]] = None,
        progress: Optional[bool] = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.machine_readable = machine_readable
        tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.color = (tty if color is None else color) and not machine_readable
        self.progress_enabled = (tty if progress is None else progress) and not machine_readable
        self.timestamps = timestamps
        self._lock = threading.RLock()
        self._colors: Dict[str, str] = {}
        self._console: Any = None
        self._progress: Any = None
        self._active_bars = 0
        self._gone: Set[int] = set()

    # -- plumbing ------------------------------------------------------
    def _rich_console(self, err: bool = False) -> Any:
        from rich.console import Console

        if self._console is None:
            self._console = (Console(file=self.out, force_terminal=True, highlight=False, soft_wrap=True),
                             Console(file=self.err, force_terminal=True, highlight=False, soft_wrap=True))
        return self._console[1 if err else 0]

    def _write(self, text: str, style: Optional[str] = None, err: bool = False) -> None:
        text = redact.redact(text)
        if self.timestamps and not self.machine_readable:
            text = f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}: {text}"
        with self._lock:
            if self.color:
                from rich.text import Text

                console = self._progress.console if (self._progress is not None and not err) else self._rich_console(err)
                console.print(Text(text, style=style or ""))
            else:
                self._emit(self.err if err else self.out, text + "\n")

    def machine(self, target: str, kind: str, *data: str) -> None:
        """One ``timestamp,target,type,data...`` record (``-machine-readable``)."""
        fields = [str(int(time.time())), _escape_machine(target), _escape_machine(kind)]
        fields += [_escape_machine(redact.redact(str(d))) for d in data]
        with self._lock:
            self._emit(self.out, ",".join(fields) + "\n")

    def _emit(self, stream: IO[str], text: str) -> None:
        """Write and flush; a reader that went away (``| head``) silences the stream, the builds go on."""
        if id(stream) in self._gone:
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            self._gone.add(id(stream))
            _to_devnull(stream)

    def color_of(self, build: str) -> str:
        with self._lock:
            if build not in self._colors:
                self._colors[build] = PALETTE[len(self._colors) % len(PALETTE)]
            return self._colors[build]

    # -- messages without a build ------------------------------------------
    def say(self, text: str) -> None:
        if self.machine_readable:
            self.machine("", "ui", "say", text)
        else:
            self._write(text, "bold")

    def message(self, text: str) -> None:
        if self.machine_readable:
            self.machine("", "ui", "message", text)
        else:
            self._write(text)

    def error(self, text: str) -> None:
        if self.machine_readable:
            self.machine("", "ui", "error", text)
        else:
            self._write(text, "bold red", err=True)

    def interrupted(self, text: str) -> None:
        """An interrupt notice (an error), starting on a line of its own on a terminal.

        The terminal has just echoed ``^C`` where the cursor was: at the end of
        a progress bar, or of the last line. Live bars are taken down for the
        message (they are transient: their line is erased) and drawn again below.
        """
        with self._lock:
            if self.machine_readable:
                self.error(text)
                return
            if self._progress is not None:
                self._progress.stop()
                try:
                    self.error(text)
                finally:
                    self._progress.start()
                return
            if bool(getattr(self.err, "isatty", lambda: False)()):
                self._emit(self.err, "\n")
            self.error(text)

    def build(self, name: str) -> "BuildUI":
        return BuildUI(self, name)

    # -- progress ------------------------------------------------------
    def _progress_bar(self) -> Any:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(),
                    console=self._rich_console(), transient=True,
                )
                self._progress.start()
            self._active_bars += 1
            return self._progress

    def _release_bar(self) -> None:
        with self._lock:
            self._active_bars -= 1
            if self._active_bars == 0 and self._progress is not None:
                self._progress.stop()
                self._progress = None

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None


class BuildUI:
    """Output labelled with one build's name."""

    def __init__(self, ui: UI, name: str) -> None:
        self.ui = ui
        self.name = name

    def say(self, text: str) -> None:
        """A step: ``==> name: text``."""
        if self.ui.machine_readable:
            self.ui.machine(self.name, "ui", "say", f"==> {self.name}: {text}")
        else:
            self.ui._write(f"==> {self.name}: {text}", f"bold {self.ui.color_of(self.name)}")

    def message(self, text: str) -> None:
        """Detail or remote output: ``    name: text``."""
        if self.ui.machine_readable:
            self.ui.machine(self.name, "ui", "message", f"    {self.name}: {text}")
        else:
            self.ui._write(f"    {self.name}: {text}", self.ui.color_of(self.name))

    def error(self, text: str) -> None:
        """A problem: ``==> name: text`` on stderr, in red."""
        if self.ui.machine_readable:
            self.ui.machine(self.name, "ui", "error", f"==> {self.name}: {text}")
        else:
            self.ui._write(f"==> {self.name}: {text}", "red", err=True)

    def remote_error(self, text: str) -> None:
        if self.ui.machine_readable:
            self.ui.machine(self.name, "ui", "error", f"    {self.name}: {text}")
        else:
            self.ui._write(f"    {self.name}: {text}", "red", err=True)

    def machine(self, kind: str, *data: str) -> None:
        if self.ui.machine_readable:
            self.ui.machine(self.name, kind, *data)

    def output_streams(self) -> Tuple[OutputStream, OutputStream, Callable[[], None]]:
        """``(stdout, stderr, flush)``: streams that show remote output line by line as it arrives."""
        out_lines, err_lines = LineBuffer(self.message), LineBuffer(self.remote_error)
        stdout, stderr = OutputStream("stdout"), OutputStream("stderr")
        stdout.add_listener(out_lines)
        stderr.add_listener(err_lines)

        def flush() -> None:
            out_lines.flush()
            err_lines.flush()

        return stdout, stderr, flush

    def transfer_observer(self) -> "ProgressObserver":
        return ProgressObserver(self)


class ProgressObserver:
    """Relay observer: a progress bar per upload/download, on a terminal only."""

    def __init__(self, build_ui: BuildUI) -> None:
        self.build_ui = build_ui

    def _wrap(self, transfer: Any) -> Generator[None, Any, Any]:
        ui = self.build_ui.ui
        if not ui.progress_enabled:
            return (yield)
        state: Dict[str, Any] = {}

        def on_start(t: Any) -> None:
            progress = ui._progress_bar()
            state["progress"] = progress
            description = redact.redact(f"{self.build_ui.name}: {t.description}")[:60]
            state["task"] = progress.add_task(description, total=t.total)

        def on_advance(t: Any, n: int) -> None:
            if "task" in state:
                state["progress"].update(state["task"], advance=n)

        transfer.on_start(on_start)
        transfer.on_advance(on_advance)
        try:
            return (yield)
        finally:
            if "task" in state:
                state["progress"].remove_task(state["task"])
                ui._release_bar()

    @hookimpl(wrapper=True)
    def upload(self, transfer: Any) -> Generator[None, Any, Any]:
        return (yield from self._wrap(transfer))

    @hookimpl(wrapper=True)
    def download(self, transfer: Any) -> Generator[None, Any, Any]:
        return (yield from self._wrap(transfer))

"""One WS-Man command: what runs (a PowerShell stand-in or ``/bin/sh -c``), its pipes and exit code.

Command-line rules follow cmd.exe: a line longer than 8191 characters fails with "The command line
is too long." (32767 with ``WINRS_SKIP_CMD_SHELL``, CreateProcess's limit).
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import traceback
from typing import Callable, Dict, List, Optional

from . import powershell
from .streams import Cancelled, OutputPipe, StdinPipe

CMD_LINE_LIMIT = 8191
CREATE_PROCESS_LIMIT = 32767
CHUNK = 65536


class PipeReader(io.BufferedReader):
    """stdin as a stand-in sees it: like a pipe, ``read(n)`` returns what has arrived (at most n
    bytes; b"" only at EOF) instead of waiting for n bytes; ``readline`` and iteration work too."""

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is not None and size > 0:
            return self.read1(size)
        return super().read(size)


class _StreamWriter:
    def __init__(self, output: OutputPipe, name: str) -> None:
        self._output, self._name = output, name

    def write(self, data: bytes) -> None:
        self._output.write(self._name, data)

    def flush(self) -> None:
        pass


class Command:
    """A started command. ``stdin`` takes Send data, ``output`` gives Receive data and the exit code."""

    def __init__(
        self,
        command_id: str,
        line: str,
        *,
        env: Dict[str, str],
        cwd: str,
        skip_cmd_shell: bool,
        recorder: "ScriptRecorder",
        users: Optional[Dict[str, str]] = None,
    ) -> None:
        self.id = command_id
        self.line = line
        self.stdin = StdinPipe()
        self.output = OutputPipe()
        self._env = env
        self._cwd = cwd
        self._users = users if users is not None else {}
        self._process: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._cancelled = False
        limit = CREATE_PROCESS_LIMIT if skip_cmd_shell else CMD_LINE_LIMIT
        if len(line) > limit:
            self._fail("The command line is too long.\r\n")
        elif powershell.is_powershell(line):
            self._start_powershell(recorder)
        else:
            self._start_shell()

    # --- lifecycle -------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Signal terminate / ctrl_c, or the shell went away: stop the process, drop the pipes."""
        with self._lock:
            self._cancelled = True
            process = self._process
        self.stdin.cancel()
        self.output.cancel()
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.output.finish(-1)

    def _fail(self, message: str, code: int = 1) -> None:
        self.output.write("stderr", message.encode("utf-8"))
        self.output.finish(code)

    def _thread(self, target: Callable[[], None], what: str) -> None:
        threading.Thread(target=target, name=f"wsman-{what}-{self.id[:8]}", daemon=True).start()

    # --- PowerShell: decode, syntax-check, stand-in -----------------------------------------------
    def _start_powershell(self, recorder: "ScriptRecorder") -> None:
        from .standins import REGISTRY, StandinContext, lookup

        try:
            script = powershell.encoded_script(self.line)
        except ValueError as exc:
            self._fail(f"{exc}\r\n")
            return
        if script is None:
            try:
                script = powershell.file_script(self.line, self._cwd)
            except OSError as exc:
                self._fail(f"The argument '{exc.filename}' to the -File parameter does not exist. "
                           f"({exc.strerror})\r\n", code=4294770688)
                return
        if script is None:
            self._fail("no stand-in for this script: the test server runs PowerShell only as -EncodedCommand "
                       "or -File\r\n")
            return
        recorder.record(script)
        errors = powershell.syntax_errors(script)
        if errors:
            recorder.record_error(script, errors)
            self._fail("ParserError: the script does not parse\r\n" + "".join(e + "\r\n" for e in errors))
            return
        name, how = lookup(script)
        fn = REGISTRY.get(name) if name else None
        if fn is None:
            why = f"{how} names {name!r}, which is not registered" if name else how
            self._fail(f"no stand-in for this script: {why}\r\n")
            return
        ctx = StandinContext(
            script=script,
            args=powershell.script_args(script),
            stdin=PipeReader(self.stdin, buffer_size=CHUNK),
            stdout=_StreamWriter(self.output, "stdout"),
            stderr=_StreamWriter(self.output, "stderr"),
            env=dict(self._env),
            cwd=self._cwd,
            users=dict(self._users),
        )

        def run() -> None:
            try:
                code = int(fn(ctx) or 0)
            except Cancelled:
                return
            except Exception:  # the stand-in's own failure: shown like a PowerShell error
                try:
                    self.output.write("stderr", traceback.format_exc().encode("utf-8"))
                except Cancelled:
                    return
                code = 1
            self.output.finish(code)
            self.stdin.cancel()  # nobody reads stdin any more: later Sends must not block

        self._thread(run, f"standin-{name}")

    # --- anything else: /bin/sh -c -----------------------------------------------------------------
    def _start_shell(self) -> None:
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", self.line],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._cwd,
                env=self._env,
                start_new_session=True,
            )
        except OSError as exc:
            self._fail(f"'{self.line.split()[0] if self.line.split() else ''}' cannot be started: {exc}\r\n")
            return
        self._process = process
        pumps: List[threading.Thread] = []

        def pump(pipe, name: str) -> None:
            try:
                while True:
                    data = os.read(pipe.fileno(), CHUNK)
                    if not data:
                        break
                    self.output.write(name, data)
            except (Cancelled, OSError):
                pass
            finally:
                pipe.close()

        def feed() -> None:
            stdin = process.stdin
            try:
                while True:
                    data = self.stdin.read(CHUNK)
                    if not data:
                        break
                    stdin.write(data)
                    stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.stdin.cancel()  # the process closed its stdin: later Sends must not block
            finally:
                try:
                    stdin.close()
                except OSError:
                    pass

        def reap() -> None:
            for thread in pumps:
                thread.join()
            code = process.wait()
            self.output.finish(code if code >= 0 else 128 - code)
            self.stdin.cancel()

        for pipe, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            thread = threading.Thread(target=pump, args=(pipe, name), daemon=True, name=f"wsman-{name}-{self.id[:8]}")
            thread.start()
            pumps.append(thread)
        self._thread(feed, "stdin")
        self._thread(reap, "reap")


class ScriptRecorder:
    """Every decoded PowerShell script, and the ones that failed the syntax check (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.scripts: List[str] = []
        self.errors: List[Dict[str, object]] = []

    def record(self, script: str) -> None:
        with self._lock:
            self.scripts.append(script)

    def record_error(self, script: str, errors: List[str]) -> None:
        with self._lock:
            self.errors.append({"script": script, "errors": errors})

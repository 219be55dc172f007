"""Running one command on its own channel, with stdout and stderr read concurrently."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import threading
import weakref
from typing import Any, BinaryIO, Callable, List, Optional

import paramiko

from hatchway import CommandTimeout, CommunicatorError, DISCONNECTED, OutputStream, RemotePathError

from . import _paramiko_compat as compat
from .connection import Connection
from .errors import ChannelOpenFailed, reason

__all__ = ["run_command", "start_command", "stop_command", "kill_group_command", "GroupMarker", "Pumps",
           "close_channel", "send_all", "StderrCollector", "finish_transfer", "exit_status", "transfer_error"]

log = logging.getLogger("hatchway.ssh")

READ_CHUNK = 256 * 1024
#: Remote programs' closing summaries, which say that something failed but not what.
_SUMMARY = re.compile(r"Exiting with failure status due to previous errors|Error is not recoverable: exiting now")


def send_all(chan: paramiko.Channel, data: bytes) -> None:
    """``chan.sendall`` without its copy of the remainder after every packet (quadratic on 1 MiB chunks)."""
    view = memoryview(data)
    while view:
        if chan.closed:
            raise OSError("the channel is closed")
        sent = chan.send(view)
        view = view[sent:]


#: A channel's agent forwarding, closed with it.
_agent_handlers: "weakref.WeakKeyDictionary[paramiko.Channel, Any]" = weakref.WeakKeyDictionary()


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel (and its agent forwarding); on a dying connection that may fail, which changes nothing."""
    handler = _agent_handlers.pop(chan, None)
    if handler is not None:
        with contextlib.suppress(Exception):
            handler.close()
    with contextlib.suppress(Exception):
        chan.close()


def start_command(conn: Connection, command: str, pty: bool = False, forward_agent: bool = False,
                  patience: Optional[float] = None) -> paramiko.Channel:
    """Open a session channel and start ``command`` on it.

    Raises :class:`~hatchway_ssh.errors.ChannelOpenFailed` when nothing
    was started (safe to retry after a reconnect). ``patience``: see
    :meth:`Connection.open_session`.
    """
    chan = conn.open_session() if patience is None else conn.open_session(patience=patience)
    try:
        if forward_agent:
            try:
                _agent_handlers[chan] = paramiko.agent.AgentRequestHandler(chan)
            except paramiko.SSHException as exc:
                log.warning("%s: agent forwarding refused: %s", conn.hop, exc)
        if pty:
            chan.get_pty(term="xterm", width=80, height=40)
        chan.exec_command(command)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        close_channel(chan)
        raise ChannelOpenFailed(f"{conn.hop}: cannot start a command: {reason(exc)}") from None
    return chan


class Pumps:
    """Threads copying a channel's stdout and stderr to sinks, and a stream to its stdin."""

    def __init__(self, chan: paramiko.Channel, stdout: Callable[[bytes], object],
                 stderr: Callable[[bytes], object], stdin: Optional[BinaryIO] = None) -> None:
        self.chan = chan
        self.errors: List[BaseException] = []
        self.threads = [
            threading.Thread(target=self._read, args=(chan.recv, stdout), daemon=True),
            threading.Thread(target=self._read, args=(chan.recv_stderr, stderr), daemon=True),
        ]
        if stdin is not None:
            self.threads.append(threading.Thread(target=self._feed, args=(stdin,), daemon=True))
        else:
            with contextlib.suppress(Exception):
                chan.shutdown_write()
        for thread in self.threads:
            thread.start()

    def _read(self, recv: Callable[[int], bytes], sink: Callable[[bytes], object]) -> None:
        try:
            while True:
                data = recv(READ_CHUNK)
                if not data:
                    return
                sink(data)
        except BaseException as exc:  # a sink that raises must not hang the command
            self.errors.append(exc)
            close_channel(self.chan)

    def _feed(self, stdin: BinaryIO) -> None:
        try:
            while True:
                data = stdin.read(READ_CHUNK)
                if not data:
                    break
                send_all(self.chan, data)
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the command stopped reading or the connection went away: its status tells
        finally:
            with contextlib.suppress(Exception):
                self.chan.shutdown_write()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for the output readers (not the stdin feeder: a stdin that never ends must not block us)."""
        for thread in self.threads[:2]:
            thread.join(timeout)
        return not any(t.is_alive() for t in self.threads[:2])


class GroupMarker:
    """Learns the process group of a command, so that it can be stopped for real.

    sshd starts every session's shell as a session (and process group)
    leader, with or without a pty. The command is prefixed with
    ``echo TOKEN:$$;``: the shell prints its pid (the group id) first, and
    this filter takes that line out of the stdout passed on. If it never
    comes (an exotic login shell), the output passes untouched and the pid
    stays unknown.
    """

    LIMIT = 16 * 1024  # looked for in the first bytes only (a login script may print before it)

    def __init__(self, sink: Callable[[bytes], object]) -> None:
        self.token = f"hatchway-pgid-{os.urandom(6).hex()}:".encode()
        self.sink = sink
        self.pid: Optional[int] = None
        self.found = threading.Event()
        self._held = b""

    def wrap(self, command: str) -> str:
        return f"echo {self.token.decode()}$$; {command}"

    def __call__(self, data: bytes) -> None:
        if self.found.is_set():
            self.sink(data)
            return
        self._held += data
        at = self._held.find(self.token)
        end = self._held.find(b"\n", at) if at >= 0 else -1
        if end >= 0:
            text = self._held[at + len(self.token):end].strip()
            self.pid = int(text) if text.isdigit() and int(text) > 1 else None
            rest = self._held[:at] + self._held[end + 1:]
        elif len(self._held) > self.LIMIT:
            rest = self._held
        else:
            return
        self._held = b""
        self.found.set()
        if rest:
            self.sink(rest)

    def flush(self) -> None:
        """The command ended: pass on what is held (no marker came)."""
        self.found.set()
        held, self._held = self._held, b""
        if held:
            self.sink(held)


PROBE = "echo hatchway-probe-$$"


def posix_shell(conn: Connection) -> bool:
    """Is the login shell a POSIX one (its ``$$`` a pid)? Asked once per connection, before the first
    command is wrapped with :class:`GroupMarker`: a Windows OpenSSH's ``cmd.exe`` would not run it."""
    if conn.posix_shell is None:
        with conn.probe_lock:
            if conn.posix_shell is None:
                chan = start_command(conn, PROBE)
                try:
                    chan.shutdown_write()
                    out = b""
                    chan.settimeout(30)
                    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                        while len(out) < 65536:
                            data = chan.recv(4096)
                            if not data:
                                break
                            out += data
                finally:
                    close_channel(chan)
                conn.posix_shell = re.search(rb"hatchway-probe-\d+", out) is not None
                if not conn.posix_shell:
                    log.info("%s: the login shell is not a POSIX shell (%r): a stopped command's children may "
                             "survive", conn.hop, out[:80])
    return conn.posix_shell


def kill_group_command(pid: int, grace: float = 2.0) -> str:
    """A command (any login shell runs it through ``sh``) that TERMs process group ``pid``, waits up to
    ``grace`` seconds for it to go, then KILLs what is left."""
    rounds = max(1, int(grace * 10))
    script = (f"p={pid}; kill -s TERM -- -$p 2>/dev/null || kill -s TERM $p 2>/dev/null; i=0; "
              f"while [ $i -lt {rounds} ] && kill -s 0 -- -$p 2>/dev/null; do sleep 0.1 2>/dev/null || sleep 1; "
              f"i=$((i+1)); done; kill -s KILL -- -$p 2>/dev/null; exit 0")
    return f"sh -c '{script}'"


def stop_command(conn: Connection, chan: paramiko.Channel, pid: Optional[int], grace: float = 2.0) -> None:
    """Stop a running command and everything it started.

    Closing the channel kills nothing without a pty, and OpenSSH refuses
    signal requests on root sessions: so the command's process group is
    killed (TERM, then KILL after ``grace`` seconds) from a second channel
    on the same connection. When that cannot be opened (the server's
    session limit) or the group is unknown, signal requests are the
    fallback.
    """
    if compat.wait_exit(chan, 0):
        return
    if pid is not None and conn.transport.is_active():
        try:
            killer = start_command(conn, kill_group_command(pid, grace), patience=0.5)
        except ChannelOpenFailed as exc:
            log.info("%s: cannot open a channel to stop process group %d (%s): sending signals instead",
                     conn.hop, pid, exc)
        else:
            try:
                compat.wait_exit(killer, grace + 10)
            finally:
                close_channel(killer)
            if compat.wait_exit(chan, grace):
                return
    for name in ("TERM", "KILL"):
        with contextlib.suppress(Exception):
            compat.send_signal(chan, name)
        if compat.wait_exit(chan, grace):
            return


def exit_status(conn: Connection, chan: paramiko.Channel) -> int:
    """The command's exit status, or DISCONNECTED when the connection went away before it came."""
    if chan.exit_status_ready() and chan.recv_exit_status() >= 0:
        return chan.recv_exit_status()
    # No status: killed by a signal on a live connection, or the connection is going (a reboot).
    if not conn.timed_out and conn.answers():
        log.info("%s: the command ended without an exit status (killed by a signal?)", conn.hop)
        return 255
    return DISCONNECTED


def run_command(conn: Connection, command: str, stdin: Optional[BinaryIO], stdout: OutputStream,
                stderr: OutputStream, timeout: Optional[float], pty: bool = False,
                forward_agent: bool = False) -> int:
    """Run ``command``; return its exit status (DISCONNECTED if the connection is lost).

    On ``timeout``, or when the connection is interrupted, the command's
    whole process group is stopped (:func:`stop_command`).
    """
    marker = GroupMarker(stdout.write)
    running: List[paramiko.Channel] = []
    if not posix_shell(conn):  # cmd.exe, fish...: the command as it is, stopped by signal requests
        marker.found.set()

    def stop() -> None:
        if running:
            marker.found.wait(5)
            stop_command(conn, running[0], marker.pid)

    with conn.busy(stop):
        chan = start_command(conn, marker.wrap(command) if conn.posix_shell else command, pty, forward_agent)
        running.append(chan)
        try:
            pumps = Pumps(chan, marker, stderr.write, stdin)
            if not compat.wait_exit(chan, timeout):
                marker.found.wait(5)
                stop_command(conn, chan, marker.pid)
                raise CommandTimeout(f"{conn.hop}: command still running after {timeout:g}s; it was stopped: "
                                     f"{command[:80]!r}")
            pumps.join()
            marker.flush()
            if pumps.errors:
                raise CommunicatorError(f"{conn.hop}: reading the output of {command[:80]!r} failed: "
                                        f"{pumps.errors[0]}")
            return exit_status(conn, chan)
        finally:
            close_channel(chan)


class StderrCollector:
    """Drains a transfer channel's stderr in a thread (the remote never blocks on it), kept for messages."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self.chan = chan
        self._buffer = io.BytesIO()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                data = self.chan.recv_stderr(65536)
                if not data:
                    return
                self._buffer.write(data)

    def text(self, wait: float = 5.0) -> bytes:
        self._thread.join(wait)
        return self._buffer.getvalue()


def transfer_error(conn: Connection, path: str, action: str, stderr: bytes, status: int) -> CommunicatorError:
    """The error for a failed remote step, naming the path and what the remote said."""
    if conn.lost():
        return CommunicatorError(f"{conn.hop}: connection lost while trying to {action} {path!r}")
    said = [line.strip() for line in stderr.decode("utf-8", "replace").strip().splitlines() if line.strip()]
    # tar ends with a summary line ("Exiting with failure status due to previous errors"): the line
    # before it says why
    reasons = [line for line in said if not _SUMMARY.search(line)]
    detail = (reasons or said or [f"exit status {status}"])[-1]
    if status in (126, 127) and "not found" in detail:
        return CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: a needed remote program is missing "
                                 f"({detail}); try ssh_file_transfer_method \"sftp\"")
    return RemotePathError(f"{conn.hop}: cannot {action} {path!r}: {detail}")


def finish_transfer(conn: Connection, chan: paramiko.Channel, stderr: StderrCollector, path: str,
                    action: str) -> None:
    """Close our side, wait for the remote command, raise if it failed."""
    with contextlib.suppress(Exception):
        chan.shutdown_write()
    compat.wait_exit(chan)
    said = stderr.text(10)
    status = exit_status(conn, chan)
    if status != 0:
        raise transfer_error(conn, path, action, said, status)

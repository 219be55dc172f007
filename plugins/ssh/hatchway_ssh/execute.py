"""Running one command on its own channel, with stdout and stderr read concurrently."""
from __future__ import annotations

import contextlib
import io
import logging
import threading
from typing import BinaryIO, Callable, List, Optional

import paramiko

from hatchway import CommandTimeout, CommunicatorError, DISCONNECTED, OutputStream, RemotePathError

from .connection import Connection
from .errors import ChannelOpenFailed, reason

__all__ = ["run_command", "start_command", "stop_command", "Pumps", "close_channel", "send_all", "StderrCollector",
           "finish_transfer"]

log = logging.getLogger("hatchway.ssh")

READ_CHUNK = 256 * 1024


def send_all(chan: paramiko.Channel, data: bytes) -> None:
    """``chan.sendall`` without its copy of the remainder after every packet (quadratic on 1 MiB chunks)."""
    view = memoryview(data)
    while view:
        if chan.closed:
            raise OSError("the channel is closed")
        sent = chan.send(view)
        view = view[sent:]


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel (and its agent forwarding); on a dying connection that may fail, which changes nothing."""
    handler = getattr(chan, "_hatchway_agent_handler", None)
    if handler is not None:
        with contextlib.suppress(Exception):
            handler.close()
    with contextlib.suppress(Exception):
        chan.close()


def start_command(conn: Connection, command: str, pty: bool = False, forward_agent: bool = False
                  ) -> paramiko.Channel:
    """Open a session channel and start ``command`` on it.

    Raises :class:`~hatchway_ssh.errors.ChannelOpenFailed` when nothing
    was started (safe to retry after a reconnect).
    """
    chan = conn.open_session()
    try:
        if forward_agent:
            try:
                chan._hatchway_agent_handler = paramiko.agent.AgentRequestHandler(chan)
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


def _signal(chan: paramiko.Channel, name: str) -> None:
    """RFC 4254 "signal" request (paramiko has no API for it); sshd sends it to the session's process group."""
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(chan.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string(name)
    chan.transport._send_user_message(message)


def stop_command(chan: paramiko.Channel, grace: float = 2.0) -> None:
    """Stop a running command: TERM, then KILL after ``grace`` seconds (closing the channel alone
    leaves a command without a pty running)."""
    for name in ("TERM", "KILL"):
        with contextlib.suppress(Exception):
            _signal(chan, name)
        if chan.status_event.wait(grace):
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
    """Run ``command``; return its exit status (DISCONNECTED if the connection is lost)."""
    with conn.busy():
        chan = start_command(conn, command, pty, forward_agent)
        try:
            pumps = Pumps(chan, stdout.write, stderr.write, stdin)
            if not chan.status_event.wait(timeout):
                stop_command(chan)
                raise CommandTimeout(f"{conn.hop}: command still running after {timeout:g}s; it was stopped: "
                                     f"{command[:80]!r}")
            pumps.join()
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
    said = stderr.decode("utf-8", "replace").strip().splitlines()
    detail = said[-1] if said else f"exit status {status}"
    if status in (126, 127) and "not found" in detail:
        return CommunicatorError(f"{conn.hop}: cannot {action} {path!r}: a needed remote program is missing "
                                 f"({detail}); try ssh_file_transfer_method \"sftp\"")
    return RemotePathError(f"{conn.hop}: cannot {action} {path!r}: {detail}")


def finish_transfer(conn: Connection, chan: paramiko.Channel, stderr: StderrCollector, path: str,
                    action: str) -> None:
    """Close our side, wait for the remote command, raise if it failed."""
    with contextlib.suppress(Exception):
        chan.shutdown_write()
    chan.status_event.wait()
    said = stderr.text(10)
    status = exit_status(conn, chan)
    if status != 0:
        raise transfer_error(conn, path, action, said, status)

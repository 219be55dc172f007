"""The ``winrm`` communicator: the hooks, on top of :mod:`.session` and :mod:`.transfers`.

Nothing here imports pywinrm: the session is made on the first ``connect``.
"""
from __future__ import annotations

import threading
from pathlib import Path

import attrs
from typing import BinaryIO, Iterator, Optional, Sequence, Union

import hatchway
from hatchway import CommunicatorError, ConnectError, OutputStream, RetryableConnectError, Target, Transfer

from .config import WinRMConfig

__all__ = ["WinRMCommunicator"]

#: Bytes of a command's stdin per Send (fits a 150 KB envelope after base64).
STDIN_CHUNK = 64 * 1024
CONNECTED = b"hatchway: WinRM connected"


class WinRMCommunicator(hatchway.Communicator):
    """Windows Remote Management through pywinrm: cmd.exe commands, PowerShell transfers."""

    name = "winrm"
    Config = WinRMConfig

    def __init__(self, config: WinRMConfig, target: Target, build_name: str = "") -> None:
        super().__init__(config, target, build_name)
        self._session = None
        self._transfers = None
        self._lock = threading.Lock()

    # -- where -----------------------------------------------------------
    def host(self) -> str:
        return self.config.winrm_host or self.target.host or "127.0.0.1"

    def port(self) -> int:
        return self.config.winrm_port or self.target.port or self.config.port()

    def connect_timeout(self) -> float:
        return float(self.config.winrm_timeout)

    def describe(self) -> str:
        scheme = "https" if self.config.winrm_use_ssl else "http"
        return f"WinRM {self.config.winrm_username}@{self.host()}:{self.port()} ({scheme}, {self.config.transport})"

    def effective_config(self) -> WinRMConfig:
        """The config, with a password the builder made at run time when the template has none.

        (Packer's cloud builders hand over generated Windows passwords this
        way: ``Target.data["winrm_password"]``.)
        """
        password = self.target.data.get("winrm_password")
        if self.config.winrm_password or not password:
            return self.config
        from hatchway.toolkit import add_secret

        add_secret(password)
        return attrs.evolve(self.config, winrm_password=password)

    def _ensure(self):
        with self._lock:
            if self._session is None:
                from .session import Session
                from .transfers import Transfers

                self._session = Session(self.effective_config(), self.host(), self.port())
                self._transfers = Transfers(self._session)
            return self._session, self._transfers

    # -- hooks -----------------------------------------------------------
    @hatchway.hookimpl
    def connect(self) -> bool:
        """Open a shell and run a PowerShell command: only then is the machine ready (as Packer does)."""
        session, _ = self._ensure()
        from . import scripts

        exe, args = scripts.powershell_command(scripts.render("ping", {}))
        out, err = OutputStream("stdout"), OutputStream("stderr")
        seen = []
        out.add_listener(seen.append)
        err.add_listener(seen.append)
        try:
            status = session.run(exe, args, stdout=out, stderr=err, timeout=max(60.0, session.operation_timeout * 3),
                                 skip_cmd_shell=True)
        except hatchway.CommandTimeout as exc:
            raise RetryableConnectError(f"{self.describe()} accepts connections but commands do not finish yet: "
                                        f"{exc}") from None
        except ConnectError:
            raise
        except CommunicatorError as exc:  # refused for good (quota, policy): retrying cannot help
            raise ConnectError(str(exc)) from None
        if status != 0 or CONNECTED not in b"".join(seen):
            text = b"".join(seen).decode("utf-8", "replace").strip()[:200]
            raise RetryableConnectError(f"{self.describe()} is up but PowerShell does not run yet "
                                        f"(exit {status}): {text}")
        return True

    @hatchway.hookimpl
    def execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream, stderr: OutputStream,
                timeout: Optional[float]) -> int:
        session, _ = self._ensure()
        # No stdin still closes it (one empty Send with End="true"): a command reading it sees EOF
        # instead of waiting forever, as the contract asks.
        chunks = () if stdin is None else _chunks(stdin)
        try:
            return session.run(command, stdin=chunks, stdout=stdout, stderr=stderr, timeout=timeout,
                               concurrent_stdin=stdin is not None)
        except RetryableConnectError as exc:
            raise CommunicatorError(f"cannot start {command[:80]!r}: {exc}") from None

    @hatchway.hookimpl
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> bool:
        _, transfers = self._ensure()
        transfers.upload(source, destination, mode, exclude, transfer)
        return True

    @hatchway.hookimpl
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> bool:
        _, transfers = self._ensure()
        transfers.download(source, destination, exclude, transfer)
        return True

    @hatchway.hookimpl
    def cleanup(self) -> None:
        with self._lock:
            session, self._session, self._transfers = self._session, None, None
        if session is not None:
            session.close()


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(STDIN_CHUNK)
        if not chunk:
            return
        yield chunk

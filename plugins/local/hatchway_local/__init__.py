"""The ``local`` communicator: the machine being built is this one.

Commands run with ``/bin/sh -c`` in a subprocess; uploads and downloads are
local copies, with the same contract as every other communicator (atomic
writes, modes kept, Packer's trailing-slash rules applied by the core).
It needs no server, which makes it the communicator of first runs and tests.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import attrs

import hatchway
from hatchway import CommunicatorConfig, CommunicatorError, OutputStream, RemotePathError, Transfer, option
from hatchway.toolkit import copy_file, copy_stream, copy_tree, kill_all, run_process, tree_size

__all__ = ["LocalCommunicator", "LocalConfig"]
__version__ = "0.1.0"


@attrs.define(kw_only=True)
class LocalConfig(CommunicatorConfig):
    local_shell: str = option("/bin/sh", help="The shell that runs commands, as `<shell> -c <command>`.")


class LocalCommunicator(hatchway.Communicator):
    """Runs commands and copies files on the machine Hatchway runs on."""

    name = "local"
    Config = LocalConfig
    windows_paths = os.name == "nt"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._running: set = set()
        self._closed = threading.Event()

    def _check_open(self, what: str) -> None:
        """After ``cleanup`` (an interrupt) nothing goes on: a copy under way stops at its next chunk."""
        if self._closed.is_set():
            raise CommunicatorError(f"{what} stopped: the communicator was closed (interrupted)")

    def _watch(self, transfer: Transfer, what: str) -> None:
        self._check_open(what)
        transfer.on_advance(lambda _t, _n: self._check_open(what))

    def connect_timeout(self) -> float:
        return 0.0

    def describe(self) -> str:
        return "this machine"

    @hatchway.hookimpl
    def connect(self) -> bool:
        self._closed.clear()
        return True

    @hatchway.hookimpl
    def execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream,
                stderr: OutputStream, timeout: Optional[float]) -> int:
        self._check_open("the command")
        return run_process([self.config.local_shell, "-c", command], stdout, stderr, stdin, timeout,
                           running=self._running)

    @hatchway.hookimpl
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> bool:
        target = Path(destination)
        self._watch(transfer, "the upload")
        if isinstance(source, Path) and source.is_dir():
            transfer.start(tree_size(source, exclude))
            copy_tree(source, target, exclude, transfer)
        else:
            transfer.start(source.stat().st_size if isinstance(source, Path) else None)
            copy_file(source, target, mode, transfer)
        self._check_open("the upload")  # a source that ended during the interrupt is not a success
        return True

    @hatchway.hookimpl
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> bool:
        remote = Path(source)
        self._watch(transfer, "the download")
        if not remote.exists():
            raise RemotePathError(f"{source!r} does not exist on this machine")
        if remote.is_dir():
            if not isinstance(destination, Path):
                raise RemotePathError(f"{source!r} is a directory; download it to a local directory")
            transfer.start(tree_size(remote, exclude))
            copy_tree(remote, destination, exclude, transfer)
        elif isinstance(destination, Path):
            transfer.start(remote.stat().st_size)
            copy_file(remote, destination, None, transfer)
        else:
            transfer.start(remote.stat().st_size)
            with open(remote, "rb") as handle:
                copy_stream(handle, destination, transfer)
        self._check_open("the download")
        return True

    @hatchway.hookimpl
    def cleanup(self) -> None:
        """Stop commands still running and copies under way (an interrupted build)."""
        self._closed.set()
        kill_all(self._running)


@hatchway.hookimpl
def register_communicators(register) -> None:
    register(LocalCommunicator)

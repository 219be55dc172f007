"""The ``dirmachine`` communicator: runs commands inside the machine's directory with chroot.

Commands run as ``chroot <root> /bin/sh -c <command>`` with a clean
environment, in ``$HOME``. Transfers are local copies into and out of the
directory: a machine path is turned into a local one with
:func:`~hatchway_dirmachine.machine.resolve`, so ``/etc/motd`` is
``<root>/etc/motd``, links are read as the machine reads them, and nothing
outside ``<root>`` is ever written or read. Commands and transfers thus see
the very same files, which is what the communicator contract checks.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import attrs

import hatchway
from hatchway import (
    CommunicatorConfig,
    ConnectError,
    HatchwayError,
    OutputStream,
    RemotePathError,
    Transfer,
    option,
)
from hatchway.toolkit import Entry, copy_file, copy_stream, kill_all, remote_join, run_process, tree_size, walk

from . import machine

__all__ = ["DirMachineCommunicator", "DirMachineCommunicatorConfig"]

#: The PATH of commands on the machine (busybox links live in /bin).
MACHINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@attrs.define(kw_only=True)
class DirMachineCommunicatorConfig(CommunicatorConfig):
    """Template keys of the communicator. Prefixed, so they cannot be mistaken for another's."""

    dirmachine_root: str = option("", path=True, help=(
        "The machine's root directory. The dirmachine builder sets it; set it yourself to reach an "
        "existing directory machine (with the null builder)."))
    dirmachine_home: str = option("/root", help=(
        "HOME and working directory of commands on the machine; relative remote paths start here too."))
    dirmachine_shell: str = option("/bin/sh", help="The machine's shell: each command runs as `<shell> -c <command>`.")

    def check(self):
        for key in ("dirmachine_home", "dirmachine_shell"):
            if not getattr(self, key).startswith("/"):
                yield (key, f"must be an absolute path on the machine, not {getattr(self, key)!r}",
                       f"e.g. {attrs.fields_dict(type(self))[key].default!r}")


class DirMachineCommunicator(hatchway.Communicator):
    """Reaches a directory machine made by the dirmachine builder."""

    name = "dirmachine"
    Config = DirMachineCommunicatorConfig

    def __init__(self, config: DirMachineCommunicatorConfig, target: hatchway.Target, build_name: str = "") -> None:
        super().__init__(config, target, build_name)
        self._running: set = set()  # the commands running now, for cleanup to stop on Ctrl-C

    @property
    def root(self) -> str:
        """Template key first, then what the builder handed over in its Target."""
        return self.config.dirmachine_root or str(self.target.data.get("root", ""))

    def connect_timeout(self) -> float:
        return 0.0  # a directory is there or it is not: nothing to wait for

    def describe(self) -> str:
        return f"the directory machine at {self.root or '(no root)'}"

    def local(self, remote: str) -> Path:
        """The local path of a path on the machine (see :func:`machine.resolve`)."""
        return machine.resolve(Path(self.root), remote, cwd=self.config.dirmachine_home)

    # -- the hooks -----------------------------------------------------------
    @hatchway.hookimpl
    def connect(self) -> bool:
        if not self.root:
            raise ConnectError("the dirmachine communicator has no machine: build with the dirmachine builder, "
                               "or set dirmachine_root to a machine's directory")
        if not os.path.isdir(self.root):
            raise ConnectError(f"the machine directory {self.root!r} does not exist; check dirmachine_root")
        try:
            machine.check_privileges("the dirmachine communicator")
        except HatchwayError as exc:
            raise ConnectError(str(exc)) from None
        if shutil.which("chroot") is None:
            raise ConnectError("chroot not found on PATH: apt-get install coreutils")
        shell = self.local(self.config.dirmachine_shell)
        if not os.access(shell, os.X_OK):
            raise ConnectError(f"{self.config.dirmachine_shell!r} is not an executable on the machine at "
                               f"{self.root}; check dirmachine_shell")
        self.local(self.config.dirmachine_home).mkdir(parents=True, exist_ok=True)
        return True

    @hatchway.hookimpl
    def execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream,
                stderr: OutputStream, timeout: Optional[float]) -> int:
        shell, home = self.config.dirmachine_shell, self.config.dirmachine_home
        env = {"HOME": home, "PATH": MACHINE_PATH, "SHELL": shell, "USER": "root", "LOGNAME": "root",
               "LANG": "C.UTF-8"}
        argv = [shutil.which("chroot") or "chroot", self.root, shell, "-c", machine.ENTER, shell, command]
        return run_process(argv, stdout, stderr, stdin, timeout, env=env, running=self._running)

    @hatchway.hookimpl
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> bool:
        if isinstance(source, Path) and source.is_dir():
            transfer.start(tree_size(source, exclude))
            self._mkdir(destination)
            # Entry by entry, each resolved on its own: a link already on the machine is read as the machine reads it.
            for entry in walk(source, exclude):
                remote = remote_join(destination, entry.relpath)
                if entry.is_dir:
                    self._mkdir(remote, entry.mode)
                else:
                    copy_file(entry.path, self.local(remote), None, transfer)
        else:
            transfer.start(source.stat().st_size if isinstance(source, Path) else None)
            copy_file(source, self.local(destination), mode, transfer)
        return True

    @hatchway.hookimpl
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> bool:
        local = self.local(source)
        if not local.exists():
            raise RemotePathError(f"{source!r} does not exist on the machine at {self.root}")
        if local.is_dir():
            if not isinstance(destination, Path):
                raise RemotePathError(f"{source!r} is a directory on the machine; download it to a local directory")
            entries = list(machine.walk(Path(self.root), source, exclude, self.config.dirmachine_home))
            transfer.start(sum(e.size for e in entries))
            for entry in [Entry("", local, True, 0o755, 0)] + entries:
                target = destination.joinpath(*entry.relpath.split("/")) if entry.relpath else destination
                if not entry.is_dir:
                    copy_file(entry.path, target, None, transfer)
                    continue
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise RemotePathError(f"cannot create local directory {str(target)!r}: a file is in the way") from None
                if entry.relpath:
                    os.chmod(target, entry.mode)
        elif isinstance(destination, Path):
            transfer.start(local.stat().st_size)
            copy_file(local, destination, None, transfer)
        else:
            transfer.start(local.stat().st_size)
            with open(local, "rb") as handle:
                copy_stream(handle, destination, transfer)
        return True

    @hatchway.hookimpl
    def cleanup(self) -> None:
        """Stop the commands still running (an interrupted build); there is no connection to close.

        Removing the machine is the builder's job, not the communicator's.
        """
        kill_all(self._running)

    # -- helpers -------------------------------------------------------------
    def _mkdir(self, remote: str, mode: Optional[int] = None) -> None:
        local = self.local(remote)
        if local.exists() and not local.is_dir():
            raise RemotePathError(f"cannot create directory {remote!r} on the machine: a file is in the way")
        try:
            local.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RemotePathError(f"cannot create directory {remote!r} on the machine: a parent is a file") from None
        if mode is not None:
            os.chmod(local, mode)

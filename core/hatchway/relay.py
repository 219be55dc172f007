"""The per-build hook relay: the one way provisioners talk to a communicator.

Each build gets its own small :class:`pluggy.PluginManager` holding exactly
one communicator plus observers (wrappers that log, time or draw progress).
:class:`Relay` is the friendly face of it: it applies Packer's
trailing-slash rules, checks local paths, and turns the hook results into
plain values, so communicators only ever see resolved paths.
Plugins use :class:`Relay` as ``hatchway.Relay`` and the path helpers from
:mod:`hatchway.toolkit`; the rest of this module is internal.
"""
from __future__ import annotations

import io
import logging
import ntpath
import os
import posixpath
import re
import stat
import threading
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Optional, Sequence, Union

import attrs
import pluggy

from . import hookspecs
from .communicator import Communicator, OutputStream, Transfer
from .durations import Duration
from .errors import BuildCancelled, CommunicatorError, ConnectError, HatchwayError, RemotePathError, RetryableConnectError
from .files import exclude_problems
from .plugins import trace_hook_calls, tracing
from .retry import Backoff, retry

__all__ = ["Relay", "CommandResult", "remote_join", "remote_basename"]

log = logging.getLogger("hatchway.relay")

#: The waits between connection attempts: 0.2 s doubling to 5 s.
CONNECT_BACKOFF = Backoff(0.2, 2.0, 5.0)

_HOOKS = ("connect", "execute", "upload", "download", "disconnect", "cleanup")

LocalPath = Union[str, "os.PathLike[str]"]


class _RelayManager(pluggy.PluginManager):
    """Treats the hook-named methods of a :class:`Communicator` as hookimpls, decorated or not."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Optional[dict]:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and isinstance(plugin, Communicator) and name in _HOOKS:
            if callable(getattr(plugin, name, None)):
                return {}  # pluggy fills in the defaults
        return opts


@attrs.define
class CommandResult:
    """What :meth:`Relay.run` captured."""

    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def _is_remote_dir_spelling(path: str) -> bool:
    return path.endswith("/") or path.endswith("\\")


#: A Windows path: a drive (``C:\\``, ``c:/``, ``C:``) or a UNC share (``\\\\server``).
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:(?:[\\/]|$)|\\\\)")


def remote_basename(path: str, windows: Optional[bool] = None) -> str:
    """The last name in a remote path.

    ``\\`` separates names only in a Windows path; on a POSIX machine it is a
    character of the name (``/srv/a\\b.txt`` is ``a\\b.txt``). ``windows`` is
    the communicator's :attr:`~hatchway.Communicator.windows_paths`; when it
    is ``None``, a path is Windows' if it starts with a drive or a UNC share,
    or has a ``\\`` and no ``/``.
    """
    if windows is None:
        windows = bool(_WINDOWS_PATH.match(path)) or ("\\" in path and "/" not in path)
    if windows:
        return ntpath.basename(path.rstrip("/\\"))
    return posixpath.basename(path.rstrip("/") or path)


def remote_join(directory: str, name: str) -> str:
    """Join a remote directory and a name with the directory's own separator."""
    if not directory:
        return name
    sep = "\\" if "\\" in directory and "/" not in directory else "/"
    return directory.rstrip("/\\") + sep + name


def _check_excludes(exclude: Sequence[str]) -> None:
    problems = exclude_problems(exclude)
    if problems:
        raise HatchwayError("bad exclude patterns (gitignore-style): " + "; ".join(problems))


class Relay:
    """Calls one build's communicator through its hooks."""

    def __init__(self, communicator: Communicator, observers: Iterable[Any] = ()) -> None:
        self.communicator = communicator
        self.pm = _RelayManager("hatchway")
        self.pm.add_hookspecs(hookspecs.CommunicatorSpecs)
        if tracing():
            trace_hook_calls(self.pm)
        self.pm.register(communicator, name=f"communicator-{communicator.name or type(communicator).__name__}")
        for i, observer in enumerate(observers):
            self.pm.register(observer, name=f"observer-{i}-{type(observer).__name__}")
        self.hook = self.pm.hook
        self._cleaned = False
        self._lock = threading.Lock()

    # -- connect -------------------------------------------------------
    def connect(self) -> None:
        """One connection attempt (see the ``connect`` hookspec)."""
        self.hook.connect()

    def wait_connected(
        self,
        timeout: float,
        cancelled: Optional[threading.Event] = None,
        on_retry: Callable[[BaseException, int], None] = lambda exc, n: None,
        pause_before_connecting: float = 0.0,
    ) -> None:
        """Retry :meth:`connect` until it succeeds, ``timeout`` runs out or the build is cancelled.

        With ``pause_before_connecting`` (Packer's option): after the first
        success, disconnect, wait, and connect again.
        """
        cancelled = cancelled or threading.Event()
        self._retry_connect(timeout, cancelled, on_retry)
        if pause_before_connecting > 0:
            self.disconnect()
            if cancelled.wait(pause_before_connecting):
                raise BuildCancelled("cancelled while pausing before connecting")
            self._retry_connect(timeout, cancelled, on_retry)

    def _retry_connect(self, timeout: float, cancelled: threading.Event,
                       on_retry: Callable[[BaseException, int], None]) -> None:
        retry(
            self.hook.connect,
            retry_on=RetryableConnectError,
            timeout=timeout,
            backoff=CONNECT_BACKOFF,
            cancelled=cancelled,
            cancel_message="cancelled while connecting",
            on_retry=lambda exc, attempt, delay: on_retry(exc, attempt),
            give_up=lambda exc, attempt: ConnectError(
                f"timed out after {Duration(timeout)} waiting for {self.communicator.describe()}: {exc}"),
        )

    # -- execute -------------------------------------------------------
    def execute(
        self,
        command: str,
        *,
        stdin: Optional[BinaryIO] = None,
        stdout: Optional[OutputStream] = None,
        stderr: Optional[OutputStream] = None,
        timeout: Optional[float] = None,
    ) -> int:
        """Run ``command``; output goes to the streams' listeners; return the exit status."""
        stdout = stdout if stdout is not None else OutputStream("stdout")
        stderr = stderr if stderr is not None else OutputStream("stderr")
        status = self.hook.execute(command=command, stdin=stdin, stdout=stdout, stderr=stderr, timeout=timeout)
        if status is None:
            raise CommunicatorError(f"communicator {self.communicator.name!r} does not implement execute")
        return int(status)

    def run(self, command: str, *, stdin: Optional[BinaryIO] = None, timeout: Optional[float] = None,
            stdout: Optional[OutputStream] = None, stderr: Optional[OutputStream] = None) -> CommandResult:
        """Run ``command`` and capture its output (still streamed to any listeners given)."""
        out, err = io.BytesIO(), io.BytesIO()
        stdout = stdout or OutputStream("stdout")
        stderr = stderr or OutputStream("stderr")
        stdout.add_listener(out.write)
        stderr.add_listener(err.write)
        status = self.execute(command, stdin=stdin, stdout=stdout, stderr=stderr, timeout=timeout)
        return CommandResult(status, out.getvalue(), err.getvalue())

    # -- transfers -----------------------------------------------------
    def upload(
        self,
        source: Union[LocalPath, BinaryIO],
        destination: str,
        *,
        exclude: Sequence[str] = (),
        mode: Optional[int] = None,
        transfer: Optional[Transfer] = None,
    ) -> str:
        """Upload a local file, directory or stream with Packer's rules; return the final remote path.

        - file ``a.txt`` to ``/tmp/`` -> ``/tmp/a.txt``; to ``/tmp/b`` -> ``/tmp/b``
        - directory ``dir`` to ``/tmp/x`` -> ``/tmp/x/dir/...``
        - directory ``dir/`` (trailing slash) to ``/tmp/x`` -> ``/tmp/x/...``
        - a stream to ``/tmp/b`` -> ``/tmp/b`` (a trailing slash is an error)
        """
        if not destination:
            raise RemotePathError("the upload destination is empty")
        if hasattr(source, "read"):
            if _is_remote_dir_spelling(destination):
                raise RemotePathError(f"cannot upload a stream to the directory {destination!r}: name the file")
            target, local = destination, source
        else:
            spelled = os.fspath(source)  # type: ignore[arg-type]
            path = Path(os.path.expanduser(spelled))
            if not path.exists():
                raise RemotePathError(f"local file {spelled!r} does not exist")
            if path.is_dir():
                target = destination
                if not (spelled.endswith("/") or spelled.endswith(os.sep)):
                    target = remote_join(destination, path.resolve().name)
            elif _is_remote_dir_spelling(destination):
                target = remote_join(destination, path.name)
            else:
                target = destination
            local = path
        transfer = transfer or Transfer(f"{getattr(local, 'name', '<stream>')} => {target}")
        _check_excludes(exclude)
        if isinstance(local, Path) and not local.is_dir() and not local.is_file():
            # A FIFO, a device, a socket: its size says 0 however much it holds,
            # so communicators get it as what it is, a stream of unknown size.
            st = local.stat()
            try:
                stream = open(local, "rb")
            except OSError as exc:
                raise RemotePathError(f"local file {str(local)!r} cannot be read: {exc.strerror}") from None
            with stream:
                self.hook.upload(source=stream, destination=target,
                                 mode=stat.S_IMODE(st.st_mode) if mode is None else mode,
                                 exclude=list(exclude), transfer=transfer)
            return target
        self.hook.upload(source=local, destination=target, mode=mode, exclude=list(exclude), transfer=transfer)
        return target

    def download(
        self,
        source: str,
        destination: Union[LocalPath, BinaryIO],
        *,
        exclude: Sequence[str] = (),
        transfer: Optional[Transfer] = None,
    ) -> Union[Path, BinaryIO]:
        """Download a remote file or directory with Packer's rules; return the local result.

        - ``/etc/hosts`` to ``out/`` -> ``out/hosts``; to ``out/h`` -> ``out/h``
        - ``/srv/dir/`` (trailing slash) or a remote directory to ``out`` -> contents in ``out/``
        - ``/srv/dir`` to ``out/`` -> ``out/dir/...``
        """
        if not source:
            raise RemotePathError("the download source is empty")
        remote = source if source in ("/", "\\") or source.endswith(":\\") else source.rstrip("/\\") or source
        local: Union[Path, BinaryIO]
        if hasattr(destination, "write"):
            local = destination  # type: ignore[assignment]
        else:
            spelled = os.fspath(destination)  # type: ignore[arg-type]
            local = Path(os.path.expanduser(spelled))
            if (spelled.endswith("/") or spelled.endswith(os.sep)) and not _is_remote_dir_spelling(source):
                local = local / remote_basename(source, self.communicator.windows_paths)
            local.parent.mkdir(parents=True, exist_ok=True)
        transfer = transfer or Transfer(f"{source} => {getattr(local, 'name', local)}")
        _check_excludes(exclude)
        self.hook.download(source=remote, destination=local, exclude=list(exclude), transfer=transfer)
        return local

    # -- cleanup -------------------------------------------------------
    def disconnect(self) -> None:
        """Close the connection, keeping credentials; ``cleanup`` for communicators without ``disconnect``."""
        if any(impl.plugin is self.communicator for impl in self.hook.disconnect.get_hookimpls()):
            self.hook.disconnect()
        else:
            self.hook.cleanup()

    def cleanup(self) -> None:
        """Run the communicator's cleanup once; later calls do nothing."""
        with self._lock:
            if self._cleaned:
                return
            self._cleaned = True
        self.hook.cleanup()


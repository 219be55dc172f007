"""The ``docker`` communicator: commands through the exec API, files through the archive API.

It reaches a container the ``docker`` builder started: the builder hands it
a :class:`hatchway.Target` whose ``data`` holds ``container_id`` and the
engine's client ``settings`` (as the SDK reads them from the environment),
plus the builder keys that shape the communicator: ``exec_user`` and
``fix_upload_owner``.
"""
from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Iterator, List, Optional, Sequence, Tuple, Union

import attrs

import hatchway
from hatchway import (
    BuildCancelled,
    CommandTimeout,
    CommunicatorConfig,
    CommunicatorError,
    ConnectError,
    OutputStream,
    RemotePathError,
    Target,
    Transfer,
)
from hatchway.toolkit import temp_name

from . import daemon, sdk
from .execution import Sockets, StartFailed, StdinUnsupported, carries_stdin, run_exec
from .transfers import Archive
from .users import resolve_owner

__all__ = ["DockerCommunicator", "DockerCommunicatorConfig", "container_state"]

log = logging.getLogger("hatchway.docker")

SHELL = "/bin/sh"
#: ``cat`` stdin to ``$1``; remove ``$1`` on failure. The stream is complete only if this side says so:
#: then :data:`PLACE_SCRIPT` runs (a cut-off stream, which ``cat`` cannot tell from its end, never is moved).
STREAM_SCRIPT = 'cat > "$1" || { status=$?; rm -f -- "$1"; exit "$status"; }'
#: chmod ``$3`` and chown ``$4`` the file ``$1``, then move it to ``$2``; remove ``$1`` on failure.
PLACE_SCRIPT = ('chmod "$3" "$1" && chown "$4" "$1" && mv -f -- "$1" "$2" '
                '|| { status=$?; rm -f -- "$1"; exit "$status"; }')
#: Seconds cleanup lets the operations under way end (they are cut off: it takes a moment).
CLOSE_WAIT = 30.0
#: Paths per ``rm`` command, well below any argument-length limit.
REMOVE_BATCH = 500
#: Kills every process of one exec (marked by its token in the environment); ``$1`` is the token.
KILL_SCRIPT = ('for d in /proc/[0-9]*; do tr "\\000" "\\n" < "$d/environ" 2>/dev/null | grep -qxF "$1" '
               '&& kill -9 "${d#/proc/}" 2>/dev/null; done; true')


@attrs.define(kw_only=True)
class DockerCommunicatorConfig(CommunicatorConfig):
    """The docker communicator has no keys of its own: the docker builder's keys shape it."""


def container_state(state: dict) -> str:
    """Docker's container ``State`` in words: ``exited with status 137 (out of memory)``."""
    status = state.get("Status") or ("running" if state.get("Running") else "stopped")
    words = status
    if status in ("exited", "dead", "stopped") and state.get("ExitCode") is not None:
        words = f"exited with status {state.get('ExitCode')}" if status == "stopped" else \
            f"{status} with status {state.get('ExitCode')}"
    if state.get("OOMKilled"):
        words += " (out of memory)"
    if state.get("Error"):
        words += f": {state['Error']}"
    return words


class DockerCommunicator(hatchway.Communicator):
    """Runs commands and moves files in a running container through the Docker engine's API."""

    name = "docker"
    Config = DockerCommunicatorConfig

    def __init__(self, config: Any, target: Target, build_name: str = "") -> None:
        super().__init__(config, target, build_name)
        data = target.data
        self.container_id: str = data.get("container_id", "")
        self.settings: Optional[dict] = data.get("settings")
        #: exec_user, else the run command's -u (which the builder passes to commands, not the container)
        self.exec_user: str = data.get("exec_user", "") or data.get("run_user", "") or ""
        self.exec_env: List[str] = list(data.get("exec_env") or [])
        self.exec_workdir: str = data.get("exec_workdir", "") or ""
        self.fix_upload_owner: bool = bool(data.get("fix_upload_owner", True))
        self.image: str = data.get("image", "")
        self._api: Any = None
        self._archive: Any = None
        self._has_shell = True
        self._lock = threading.Lock()
        self._sockets = Sockets()
        self._pending: List[threading.Thread] = []
        #: Operations under way (cleanup lets them end, and their temporary files go, before closing the client)
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        #: True once the engine started a command: until then a stopped container is one whose entrypoint
        #: exited at once
        self._ran = False

    # -- helpers -------------------------------------------------------
    def connect_timeout(self) -> float:
        return 60.0

    def describe(self) -> str:
        where = daemon.describe_url(self.settings or {}) if self.settings is not None else "the Docker daemon"
        return f"container {daemon.short(self.container_id)} on {where}"

    @property
    def _where(self) -> str:
        image = f" (image {self.image})" if self.image else ""
        return f"container {daemon.short(self.container_id)}{image}"

    def _connected(self) -> Tuple[Any, Any]:
        if self._api is None:
            self.connect()
        return self._api, self._archive

    def _died(self, api: Any, doing: str, settle: float = 0.0) -> Optional[ConnectError]:
        """An error saying the container stopped, if it did (retrying cannot help: a :class:`ConnectError`).

        ``settle``: seconds to let the engine record a stop that is under way
        (a killed container's commands end a moment before its state says so).
        """
        deadline = time.monotonic() + settle
        while True:
            try:
                state = api.inspect_container(self.container_id)["State"]
            except Exception:
                return ConnectError(f"{self._where} is gone while {doing}; was it removed?")
            if not state.get("Running"):
                return self._stopped(api, state, doing)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def _stopped(self, api: Any, state: dict, doing: str) -> ConnectError:
        """The error for a container found stopped; before any command ran, its entrypoint exited at once."""
        short = daemon.short(self.container_id)
        if not self._ran:
            return ConnectError(f"{self._where} is not running: it stopped right after it started "
                                f"({container_state(state)}); its entrypoint must keep running, as the default "
                                f"run_command's `-i -t --entrypoint=/bin/sh` does; see `docker logs {short}`"
                                f"{_tail(api, self.container_id)}")
        return ConnectError(f"{self._where} stopped while {doing}: {container_state(state)}; "
                            f"see `docker logs {short}`")

    # -- hooks ---------------------------------------------------------
    @hatchway.hookimpl
    def connect(self) -> bool:
        with self._lock:
            if self._api is not None:
                return True
            if not self.container_id:
                raise ConnectError("the docker communicator needs a container: use it with the docker builder")
            settings = daemon.settings_from_env() if self.settings is None else self.settings
            api = daemon.open_api(settings)
            try:
                docker = sdk.load()

                try:
                    info = api.inspect_container(self.container_id)
                except docker.errors.NotFound:
                    raise ConnectError(f"container {daemon.short(self.container_id)} does not exist on "
                                       f"{daemon.describe_url(settings)}; was it removed?") from None
                state = info.get("State", {})
                if not state.get("Running"):
                    raise self._stopped(api, state, "connecting")
                self.image = self.image or info.get("Config", {}).get("Image", "")
                archive = Archive(api, self.container_id)
                self._has_shell = archive.stat(SHELL) is not None
                if self._has_shell:
                    archive.remove_later = self._remove_later
                    if carries_stdin(api):
                        archive.stream_in = self._stream_in
                if self.fix_upload_owner:
                    user = self.exec_user or info.get("Config", {}).get("User", "") or ""
                    archive.owner = resolve_owner(user, archive.read_file, self._where)
            except BaseException:
                api.close()
                raise
            self._api, self._archive = api, archive
            return True

    @hatchway.hookimpl
    def execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream, stderr: OutputStream,
                timeout: Optional[float]) -> int:
        with self._operation():
            return self._execute(command, stdin, stdout, stderr, timeout)

    def _execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream, stderr: OutputStream,
                 timeout: Optional[float]) -> int:
        self.settle()
        api, _ = self._connected()
        if not self._has_shell:  # known since connect: say so now (podman would only answer status 127)
            raise self._died(api, "starting the command") or self._no_shell("the command")
        try:
            result = run_exec(api, self.container_id, [SHELL, "-c", command], user=self.exec_user, stdin=stdin,
                              stdout=stdout, stderr=stderr, timeout=timeout, env=self.exec_env,
                              workdir=self.exec_workdir, kill_argv=[SHELL, "-c", KILL_SCRIPT, "sh"],
                              sockets=self._sockets)
        except StartFailed as exc:
            raise self._start_failure(str(exc), "the command") from None
        except StdinUnsupported as exc:
            raise CommunicatorError(f"{self._where}: {exc}") from None
        except CommunicatorError as exc:
            raise self._died(api, "running a command") or exc
        self._ran = True  # the engine started a command: the container was up
        if result.closed:  # not a CommunicatorError: nothing may retry it
            raise BuildCancelled(f"the command in {self._where} was stopped: the communicator was closed "
                                 "(the build is being cancelled or cleaned up)")
        if result.timed_out:
            raise CommandTimeout(f"the command ran longer than {timeout:g}s in {self._where} and was killed; "
                                 "raise the provisioner's timeout if it needs longer")
        code = result.exit_code
        if code is None or code >= 128:  # killed by a signal: perhaps with the whole container
            died = self._died(api, "running a command", settle=2.0)
            if died is not None:
                raise died
        if code is None:
            raise CommunicatorError(f"the Docker daemon did not report the exit status of a command in {self._where}")
        return code

    def _start_failure(self, engine_words: str, what: str) -> CommunicatorError:
        """The error for a program the engine could not start; fatal ones are :class:`ConnectError`."""
        died = self._died(self._api, f"starting {what}")
        if died is not None:
            return died
        if f'"{SHELL}"' in engine_words and "no such file" in engine_words:
            return self._no_shell(what)
        if "unable to find user" in engine_words.lower() or "no matching entries in passwd" in engine_words:
            return CommunicatorError(f"exec_user {self.exec_user!r} does not exist in {self._where}: "
                                     f"{engine_words}")
        return CommunicatorError(f"cannot start {what} in {self._where}: {engine_words}")

    def _no_shell(self, what: str) -> ConnectError:
        return ConnectError(f"the image of {self._where} has no {SHELL}, so it cannot run {what}; uploads and "
                            "downloads still work, but provisioners that run commands need an image with a shell")

    def _remove_later(self, paths: List[str]) -> None:
        """Remove the temporary names of an upload in the background (as root, like Packer's owner fix).

        Every later operation waits for it first (:meth:`settle`), so no
        caller ever sees them; the upload itself returns as soon as its files
        are in place.
        """
        api = self._api
        thread = threading.Thread(target=self._remove, args=(api, paths), name="docker-remove-temps", daemon=True)
        with self._lock:
            self._pending.append(thread)
        thread.start()

    def _remove(self, api: Any, paths: List[str]) -> None:
        out = OutputStream("discarded")
        for start in range(0, len(paths), REMOVE_BATCH):
            try:
                run_exec(api, self.container_id, ["rm", "-f", "--", *paths[start:start + REMOVE_BATCH]], user="0",
                         stdout=out, stderr=out, timeout=120)
            except Exception as exc:  # the container is gone, or has no rm: nothing more to do
                log.debug("could not remove temporary upload names in %s: %s", self._where, exc)
                return

    def _stream_in(self, destination: str, body: BinaryIO, mode: int) -> None:
        """Write a stream of unknown length through ``cat``'s stdin, then set mode and owner and move it
        into place: atomic, and memory stays flat however long the stream is. The temporary file is
        removed whatever happens (a failure, a cut-off stream, a closed communicator)."""
        uid, gid = self._archive.owner
        temp = temp_name(destination)
        complete = _Ended(body)
        placed = False
        try:
            self._run_quiet([SHELL, "-c", STREAM_SCRIPT, "sh", temp], "cat to write an uploaded stream",
                            destination, stdin=complete)
            if not complete.ended or self._archive.closing.is_set():
                raise BuildCancelled(f"the upload to {destination!r} in {self._where} was stopped: the "
                                     "communicator was closed (the build is being cancelled or cleaned up)")
            self._run_quiet([SHELL, "-c", PLACE_SCRIPT, "sh", temp, destination, format(mode, "o"), f"{uid}:{gid}"],
                            "mv to put an uploaded stream in place", destination)
            placed = True
        finally:
            if not placed:
                self._remove_later([temp])

    def _run_quiet(self, argv: List[str], what: str, destination: str, stdin: Optional[BinaryIO] = None) -> None:
        """Run ``argv`` as root; a non-zero exit is a :class:`RemotePathError` with its stderr."""
        out, err = OutputStream("stdout"), OutputStream("stderr")
        said: List[bytes] = []
        err.add_listener(said.append)
        try:
            result = run_exec(self._api, self.container_id, argv, user="0", stdin=stdin, stdout=out, stderr=err,
                              sockets=self._sockets)
        except StartFailed as exc:
            raise self._start_failure(str(exc), what) from None
        if result.closed:
            raise BuildCancelled(f"the upload to {destination!r} in {self._where} was stopped: the communicator "
                                 "was closed (the build is being cancelled or cleaned up)")
        if result.exit_code != 0:
            detail = b"".join(said).decode("utf-8", "replace").strip()
            raise self._died(self._api, "uploading") or RemotePathError(
                f"cannot write {destination!r} in {self._where}: {detail or f'exit status {result.exit_code}'}")

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        """Counts an execute/upload/download as under way (see :meth:`cleanup`)."""
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._idle.notify_all()

    def settle(self) -> None:
        """Wait for background removals started by earlier uploads."""
        with self._lock:
            pending, self._pending = self._pending, []
        for thread in pending:
            thread.join(180)

    @hatchway.hookimpl
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> bool:
        with self._operation():
            return self._upload(source, destination, mode, exclude, transfer)

    def _upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
                exclude: Sequence[str], transfer: Transfer) -> bool:
        self.settle()
        api, archive = self._connected()
        try:
            if isinstance(source, Path) and source.is_dir():
                archive.upload_tree(source, self._absolute(destination), exclude, transfer)
            else:
                archive.upload_file(source, self._absolute(destination), mode, transfer)
        except CommunicatorError as exc:
            if not isinstance(exc, RemotePathError):
                raise self._died(api, "uploading") or exc
            raise
        return True

    @hatchway.hookimpl
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> bool:
        with self._operation():
            return self._download(source, destination, exclude, transfer)

    def _download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                  transfer: Transfer) -> bool:
        self.settle()
        api, archive = self._connected()
        try:
            archive.download(self._absolute(source), destination, exclude, transfer)
        except CommunicatorError as exc:
            if not isinstance(exc, RemotePathError):
                raise self._died(api, "downloading") or exc
            raise
        return True

    @hatchway.hookimpl
    def cleanup(self) -> None:
        """Close the client and stop the commands still streaming (a cancelled build).

        The operations under way end first (their connections are closed under them), so the
        temporary files of a cut-off upload are removed before the client goes."""
        self._sockets.close_all()
        with self._lock:
            if self._archive is not None:
                self._archive.closing.set()
            self._idle.wait_for(lambda: self._busy == 0, timeout=CLOSE_WAIT)
        self.settle()
        with self._lock:
            api, self._api, self._archive = self._api, None, None
        if api is not None:
            api.close()

    def _absolute(self, path: str) -> str:
        """Remote paths are taken from the container's root, as ``docker cp`` does."""
        return path if path.startswith("/") else "/" + path



class _Ended(io.RawIOBase):
    """Reads ``source``; :attr:`ended` says whether its end was reached (not a cut-off read)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source, self.ended = source, False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        if not data:
            self.ended = True
        return data


def _tail(api: Any, container: str, lines: int = 10) -> str:
    """``; its last output:`` and the container's last log lines, or nothing."""
    try:
        text = api.logs(container, tail=lines).decode("utf-8", "replace").strip()
    except Exception:
        return ""
    return f"; its last output:\n{text}" if text else ""

"""The hook specifications: the whole contract between Hatchway and its plugins.

The plugin-author guide, ``docs/plugins.md``, documents every hook here with
a runnable example; a test fails when a hook has no section there, or a
section's signature differs from the spec's.

There are two kinds of hooks.

**Registration hooks** are called once, on the global plugin manager, after
the plugins of the entry-point group ``hatchway`` are loaded. Each receives a
``register`` callable and calls it with the classes the plugin brings::

    @hatchway.hookimpl
    def register_communicators(register):
        register(LxdCommunicator)

(``register_template_functions`` registers a name and a function instead.)

**Communicator hooks** (``connect``, ``upload``, ``download``, ``execute``,
``cleanup``, and the optional ``disconnect``) are called through a per-build relay (:mod:`hatchway.relay`) in
which exactly one communicator is registered, plus observers: new-style
wrappers (``@hookimpl(wrapper=True)``) that log, time or draw progress
around every call. A communicator implements them as methods. As with every
pluggy hook, an implementation may accept only the arguments it needs.

Paths on the remote side are always ``str`` and always passed through
exactly: a communicator never hands them to a shell unquoted. Local paths
are :class:`pathlib.Path`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from .communicator import OutputStream, Transfer

hookspec = pluggy.HookspecMarker("hatchway")
hookimpl = pluggy.HookimplMarker("hatchway")

Register = Callable[[type], None]


class RegistrationSpecs:
    """Hooks called once per process on the global plugin manager."""

    @hookspec
    def register_communicators(self, register: Register) -> None:
        """Register communicator classes (subclasses of :class:`hatchway.Communicator`).

        Each class has a unique ``name`` (the template's ``communicator``
        value) and a ``Config`` attrs class whose fields are its template
        keys. Two distributions registering one name is an error naming both.
        """

    @hookspec
    def register_builders(self, register: Register) -> None:
        """Register builder classes (subclasses of :class:`hatchway.Builder`).

        A builder that brings its own communicator (as Packer's docker
        builder brings ``docker``) registers it from
        ``register_communicators`` in the same plugin.
        """

    @hookspec
    def register_provisioners(self, register: Register) -> None:
        """Register provisioner classes (subclasses of :class:`hatchway.Provisioner`)."""

    @hookspec
    def register_post_processors(self, register: Register) -> None:
        """Register post-processor classes (subclasses of :class:`hatchway.PostProcessor`)."""

    @hookspec
    def register_data_sources(self, register: Register) -> None:
        """Register HCL2 data source classes (``data "TYPE" "NAME" { ... }``).

        A data source class has a unique ``name``, a ``Config`` attrs class
        (its arguments) and ``execute(self) -> Mapping[str, Any]``, called on
        an instance made with its config, returning the object read as
        ``data.TYPE.NAME.<attribute>``. Raise an exception with a readable
        message when it fails. The built-in ``null`` data source returns
        ``{"output": input}``.
        """

    @hookspec
    def register_template_functions(self, register: Callable[[str, Callable[..., str]], None]) -> None:
        """Register template functions: ``register(name, function)``.

        ``function`` takes plain strings and returns a string; both template
        front ends call it (JSON: ``{{vault `secret/app` `password`}}``, HCL2:
        ``vault("secret/app", "password")``). Its positional parameters are
        the template's arguments (``*args`` for any number); an exception it
        raises becomes a validation error naming the template key, with
        the exception's message. Values it returns are not secret unless the
        function passes them to :func:`hatchway.redact.add_secret`.
        This is how Packer's ``vault``, ``consul_key`` and
        ``aws_secretsmanager`` are provided::

            @hatchway.hookimpl
            def register_template_functions(register):
                register("vault", read_vault_secret)

        A name registered by two plugins is an error naming both; Packer's
        own functions (``user``, ``env``...) cannot be replaced.
        """

    @hookspec
    def register_observers(self, register: Register) -> None:
        """Register observer factories: ``factory(build_name) -> object``.

        The object's hookimpls (usually ``wrapper=True``) are added to every
        build's relay and see every communicator call of that build.
        """


class CommunicatorSpecs:
    """The communicator contract, called through a build's relay."""

    @hookspec(firstresult=True)
    def connect(self) -> Any:
        """Make one attempt to reach the machine and make it ready for use.

        Raise :class:`~hatchway.errors.RetryableConnectError` when the
        machine is not reachable *yet* (refused, timed out, booting): the
        core retries until the communicator's timeout. Raise
        :class:`~hatchway.errors.ConnectError` when retrying cannot help
        (bad credentials after the allowed attempts, host key mismatch).
        Calling it when already connected is harmless.
        """

    @hookspec(firstresult=True)
    def execute(
        self,
        command: str,
        stdin: "BinaryIO | None",
        stdout: "OutputStream",
        stderr: "OutputStream",
        timeout: "float | None",
    ) -> int:
        """Run ``command`` with the remote's shell and return its exit status.

        - ``command`` is one shell command line (``/bin/sh -c`` on POSIX
          machines, ``cmd.exe /c`` on Windows); the caller quotes.
        - ``stdin``: a readable binary stream copied to the command's
          standard input, then closed; ``None`` gives an empty stdin.
        - ``stdout`` and ``stderr`` receive the output *as it arrives*, kept
          apart, via ``write(bytes)``; both are read concurrently so a
          command writing megabytes to either never blocks.
        - Returns the exit status. A connection lost while the command ran
          returns :data:`~hatchway.communicator.DISCONNECTED` (2300218) like
          Packer, so ``expect_disconnect`` works.
        - ``timeout`` (seconds, or ``None``): past it, stop the command and
          raise :class:`~hatchway.errors.CommandTimeout`.
        - Raise :class:`~hatchway.errors.CommunicatorError` if the command
          could not be started at all. Several commands may run at once.
        """

    @hookspec(firstresult=True)
    def upload(
        self,
        source: "Path | BinaryIO",
        destination: str,
        mode: "int | None",
        exclude: Sequence[str],
        transfer: "Transfer",
    ) -> Any:
        """Copy ``source`` to ``destination`` on the machine. Paths are already resolved.

        - ``source`` a local **regular file** path or a readable binary
          **stream** (possibly a pipe of unknown size, read once, never
          spooled to a temp file): the bytes land at exactly ``destination``,
          a file path. A named pipe or device given as a path arrives here
          as a stream, with its permission bits as ``mode``.
          Its permission bits are the local file's, or ``mode`` when given
          (``0o644`` for a stream without ``mode``).
        - ``source`` a local **directory**: its *contents* land inside the
          directory ``destination``; files keep their modes, empty
          directories are kept, entries matching the ``exclude`` patterns are
          skipped: gitignore-style patterns matched against the path relative
          to ``source`` (:func:`hatchway.toolkit.is_excluded`, which says
          how). The trailing-slash rules of Packer's file provisioner
          are applied by the relay before this hook is called.
        - Missing parent directories of ``destination`` are created.
        - Atomic per file: an interrupted transfer never leaves a truncated
          file at a destination path (write a temporary name, then rename).
        - Call ``transfer.start(total_bytes)`` and ``transfer.advance(n)``
          as bytes move so observers can draw progress.
        - Raise :class:`~hatchway.errors.RemotePathError` when the destination
          cannot be written (its parent is a file, permission denied),
          :class:`~hatchway.errors.CommunicatorError` for other failures.
        """

    @hookspec(firstresult=True)
    def download(
        self,
        source: str,
        destination: "Path | BinaryIO",
        exclude: Sequence[str],
        transfer: "Transfer",
    ) -> Any:
        """Copy ``source`` from the machine to ``destination`` here. Paths are already resolved.

        - ``source`` a remote **file**: its bytes are written to
          ``destination``, a local file path (written atomically, mode kept)
          or a writable binary stream.
        - ``source`` a remote **directory**: its *contents* are written into
          the local directory ``destination`` (created if missing), modes
          kept, ``exclude`` honoured as for :meth:`upload`; a stream as
          destination is a :class:`~hatchway.errors.RemotePathError`.
        - A missing ``source`` raises :class:`~hatchway.errors.RemotePathError`
          naming it. Entries that would land outside ``destination``
          (absolute names, ``..``, escaping links) are refused.
        """

    @hookspec
    def disconnect(self) -> None:
        """Close the connection only, keeping what a reconnect needs (temporary keys...).

        Optional: used by ``pause_before_connecting`` (connect, disconnect,
        wait, connect again). A communicator without it is sent ``cleanup``
        instead, which must then leave it able to connect again.
        """

    @hookspec
    def cleanup(self) -> None:
        """Close connections, channels and tunnels; remove temporary credentials.

        Always called once a build is done, on success, failure and
        Ctrl-C alike; calling it again, or without a connection, is harmless.
        On an interrupt it is also called from another thread while an
        operation may still be running: it must make that operation end
        promptly (close the connection, kill the process). ``connect``
        after ``cleanup`` connects again.
        """

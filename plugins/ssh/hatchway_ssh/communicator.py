"""The ``ssh`` communicator: one connection per build, a channel per command, transparent reconnects.

paramiko is imported only when a build connects (``hatchway validate``
stays light): the modules doing the work are imported inside methods.
"""
from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, List, Optional, Sequence, Tuple, Union

import hatchway
from hatchway import CommunicatorError, ConnectError, OutputStream, RemotePathError, Target, Transfer
from hatchway.toolkit import Backoff, retry

from .config import SSHConfig

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection, Hop

__all__ = ["SSHCommunicator"]

log = logging.getLogger("hatchway.ssh")

#: Seconds cleanup keeps trying to reach a rebooting machine to remove the temporary key.
CLEANUP_RECONNECT = 15.0


class SSHCommunicator(hatchway.Communicator):
    """Reaches the machine over SSH (paramiko) with Packer's ``ssh_*`` options."""

    name = "ssh"
    Config = SSHConfig

    def __init__(self, config: SSHConfig, target: Target, build_name: str = "") -> None:
        super().__init__(config, target, build_name)
        self._conn: Optional["Connection"] = None
        self._lock = threading.RLock()
        self._auth_failures = 0
        self._has_tar: Optional[bool] = None
        self._tunnels: List[Any] = []
        self._dialing: Optional[Any] = None  # the connection attempt in progress (a connection.Dialing)

    # -- description ---------------------------------------------------------
    @property
    def host(self) -> str:
        host = self.config.ssh_host or self.target.host
        if not host:
            raise ConnectError("no host to connect to: set ssh_host (the builder did not report an address)")
        return host

    @property
    def port(self) -> int:
        if self.config.ssh_port != 22 or self.target.port is None:
            return self.config.ssh_port
        return int(self.target.port)

    def connect_timeout(self) -> float:
        return self.config.connect_timeout()

    def describe(self) -> str:
        host = self.config.ssh_host or self.target.host or "?"
        return f"{self.config.ssh_username}@{host}:{self.port}"

    # -- connecting ----------------------------------------------------------
    def _hops(self) -> "tuple[Hop, Optional[Hop]]":
        from . import auth
        from .connection import Hop
        from .hostkeys import HostKeyPolicy

        cfg = self.config
        methods: list = []
        if cfg.ssh_agent_auth:
            methods += auth.key_methods(auth.agent_keys("ssh_agent_auth"), "agent")
        if cfg.ssh_private_key_file:
            key = auth.load_key_file(cfg.ssh_private_key_file, cfg.ssh_certificate_file)
            methods += auth.key_methods([key], cfg.ssh_private_key_file)
        builder_key = self.target.data.get("ssh_private_key")
        if builder_key:
            methods += auth.key_methods([auth.load_key_text(builder_key)], "builder")
        methods += auth.password_methods(cfg.ssh_password)
        policy = HostKeyPolicy(cfg.ssh_known_hosts_file, cfg.ssh_host_key_fingerprint)
        target = Hop("target", self.host, self.port, cfg.ssh_username, methods, policy)
        if not cfg.ssh_bastion_host:
            return target, None
        bmethods: list = []
        if cfg.ssh_bastion_agent_auth:
            bmethods += auth.key_methods(auth.agent_keys("ssh_bastion_agent_auth"), "agent")
        key_file, cert_file = cfg.bastion_key_files()
        if key_file:
            bmethods += auth.key_methods([auth.load_key_file(key_file, cert_file, "ssh_bastion_private_key_file")],
                                         key_file)
        bmethods += auth.password_methods(cfg.ssh_bastion_password, cfg.ssh_bastion_interactive,
                                          f"bastion {cfg.ssh_bastion_host}: ")
        # The bastion's host key is not the target's: only a known_hosts file can vouch for both.
        bpolicy = HostKeyPolicy(cfg.ssh_known_hosts_file, None)
        bastion = Hop("bastion", cfg.ssh_bastion_host, cfg.ssh_bastion_port,
                      cfg.ssh_bastion_username or cfg.ssh_username, bmethods, bpolicy)
        return target, bastion

    def _dial(self) -> "Connection":
        from . import connection, tunnels
        from .errors import AuthenticationFailed

        cfg = self.config
        target, bastion = self._hops()
        proxy = None
        if cfg.ssh_proxy_host:
            proxy = {"host": cfg.ssh_proxy_host, "port": cfg.ssh_proxy_port,
                     "username": cfg.ssh_proxy_username, "password": cfg.ssh_proxy_password}
        self._dialing = dialing = connection.Dialing()
        try:
            conn = connection.connect(
                target, bastion=bastion, proxy=proxy, ciphers=cfg.ssh_ciphers, kex=cfg.ssh_key_exchange_algorithms,
                dial_timeout=float(cfg.ssh_dial_timeout), handshake_timeout=float(cfg.ssh_handshake_timeout),
                keep_alive=cfg.keep_alive(), read_write_timeout=cfg.read_write_timeout(), dialing=dialing)
        except AuthenticationFailed as exc:
            self._auth_failures += 1
            limit = cfg.handshake_attempts()
            if limit and self._auth_failures >= limit:
                raise ConnectError(f"{exc} (gave up after {self._auth_failures} authentication "
                                   f"attempt{'s' if self._auth_failures != 1 else ''}: ssh_handshake_attempts)"
                                   ) from None
            raise
        finally:
            self._dialing = None
        try:
            tunnels.open_all(conn, cfg.local_tunnels(), cfg.remote_tunnels())
        except BaseException:
            conn.close()
            raise
        return conn

    @hatchway.hookimpl
    def connect(self) -> bool:
        with self._lock:
            if self._conn is not None and self._conn.active:
                return True
            self._drop()
            self._conn = self._dial()
            self._auth_failures = 0
            log.info("connected to %s", self._conn.hop)
            return True

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> "Connection":
        """The live connection; after a reboot, a new one (one attempt, as Packer does)."""
        with self._lock:
            if self._conn is not None and self._conn.active:
                return self._conn
            was_connected = self._conn is not None
            self._drop()
            try:
                self._conn = self._dial()
            except ConnectError as exc:
                raise CommunicatorError(f"reconnecting to {self.describe()} failed: {exc}") from None
            if was_connected:
                log.info("reconnected to %s", self._conn.hop)
            return self._conn

    # -- commands ------------------------------------------------------------
    def _forward_agent(self) -> bool:
        return not self.config.ssh_disable_agent_forwarding and bool(os.environ.get("SSH_AUTH_SOCK"))

    @hatchway.hookimpl
    def execute(self, command: str, stdin: Optional[BinaryIO], stdout: OutputStream, stderr: OutputStream,
                timeout: Optional[float]) -> int:
        from .execute import run_command

        return self._retry_on_dead_connection(lambda conn: run_command(
            conn, command, stdin, stdout, stderr, timeout, self.config.ssh_pty, self._forward_agent()))

    def _retry_on_dead_connection(self, action: Callable[["Connection"], Any]) -> Any:
        """Run ``action(conn)``; if no channel could be opened because the connection died, reconnect once.

        Nothing ran when :class:`ChannelOpenFailed` is raised, so retrying is safe (Packer's reconnect).
        """
        from .errors import ChannelOpenFailed

        conn = self._connection()
        try:
            return action(conn)
        except ChannelOpenFailed:
            if conn.active:
                raise
        return action(self._connection())

    def _remote_has_tar(self, conn: "Connection") -> bool:
        from .remote import capture

        if not self.config.ssh_tar_transfer:
            return False
        if self._has_tar is None:
            status, out, _ = capture(conn, "command -v tar && command -v mv && command -v cp", timeout=60)
            self._has_tar = status == 0 and out.count(b"\n") >= 3
        return self._has_tar

    def _remote_kind(self, conn: "Connection", path: str) -> Optional[str]:
        from .remote import capture, q

        status, out, err = capture(conn, f"if [ -d {q(path)} ]; then echo dir; elif [ -e {q(path)} ]; then echo file; "
                                         f"else echo missing; fi", timeout=60)
        kind = out.decode(errors="replace").strip()
        if status != 0 or kind not in ("dir", "file", "missing"):
            raise CommunicatorError(f"{conn.hop}: cannot inspect {path!r}: {err.decode(errors='replace').strip()}")
        return None if kind == "missing" else kind

    def _scp_cannot_carry(self, conn: "Connection", path: str) -> bool:
        """Does the remote tree hold a name with a newline (scp's records cannot carry it) or a link
        (``scp -r`` follows it, endlessly for a loop)? Then the sftp walk, which handles both, is used."""
        from .remote import capture, q

        status, out, _ = capture(conn, f"find {q(path)} -mindepth 1 \\( -name \"$(printf '*\\n*')\" -o -type l \\) "
                                       f"| head -c 1", timeout=120)
        return status == 0 and bool(out)

    # -- transfers -----------------------------------------------------------
    @hatchway.hookimpl
    def upload(self, source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
               exclude: Sequence[str], transfer: Transfer) -> bool:
        return self._retry_on_dead_connection(lambda conn: self._upload(conn, source, destination, mode, exclude,
                                                                        transfer))

    def _upload(self, conn: "Connection", source: Union[Path, BinaryIO], destination: str, mode: Optional[int],
                exclude: Sequence[str], transfer: Transfer) -> bool:
        from hatchway import toolkit

        from . import scp, sftp, tarpipe

        use_sftp = self.config.ssh_file_transfer_method == "sftp"
        if isinstance(source, Path) and source.is_dir():
            transfer.start(toolkit.tree_size(source, exclude))
            if self._remote_has_tar(conn):
                tarpipe.upload_tree(conn, source, destination, exclude, transfer)
            elif use_sftp or any("\n" in e.relpath for e in toolkit.walk(source, exclude)):
                # scp's records cannot carry a newline in a name: sftp can.
                sftp.upload_tree(conn, source, destination, exclude, transfer)
            else:
                scp.upload_tree(conn, source, destination, exclude, transfer)
            return True
        size: Optional[int] = None
        if isinstance(source, Path):
            try:
                st = source.stat()
            except OSError as exc:
                raise RemotePathError(f"local file {str(source)!r} cannot be read: {exc.strerror}") from None
            size = st.st_size
            file_mode = stat.S_IMODE(st.st_mode) if mode is None else mode
        else:
            file_mode = 0o644 if mode is None else mode
            size = _stream_size(source)
        transfer.start(size)
        if use_sftp:
            sftp.upload_file(conn, source, destination, file_mode, transfer)
        else:
            scp.upload_file(conn, source, destination, file_mode, size, transfer)
        return True

    @hatchway.hookimpl
    def download(self, source: str, destination: Union[Path, BinaryIO], exclude: Sequence[str],
                 transfer: Transfer) -> bool:
        return self._retry_on_dead_connection(lambda conn: self._download(conn, source, destination, exclude,
                                                                          transfer))

    def _download(self, conn: "Connection", source: str, destination: Union[Path, BinaryIO],
                  exclude: Sequence[str], transfer: Transfer) -> bool:
        from . import scp, sftp, tarpipe

        kind = self._remote_kind(conn, source)
        if kind is None:
            raise RemotePathError(f"{conn.hop}: cannot download {source!r}: no such file or directory")
        use_sftp = self.config.ssh_file_transfer_method == "sftp"
        if kind == "dir":
            if not isinstance(destination, Path):
                raise RemotePathError(f"{source!r} is a directory; download it to a local directory, not a stream")
            transfer.start(None)
            if self._remote_has_tar(conn):
                tarpipe.download_tree(conn, source, destination, exclude, transfer)
            elif use_sftp or self._scp_cannot_carry(conn, source):
                sftp.download_tree(conn, source, destination, exclude, transfer)
            else:
                scp.download_tree(conn, source, destination, exclude, transfer)
            return True
        if use_sftp:
            sftp.download_file(conn, source, destination, transfer)
        else:
            scp.download_file(conn, source, destination, transfer)
        return True

    # -- cleanup ---------------------------------------------------------------
    def disconnect(self) -> None:
        """Close the connection and tunnels but keep credentials (for ``pause_before_connecting``:
        unlike :meth:`cleanup`, the temporary key stays authorized for the reconnect)."""
        with self._lock:
            self._drop()

    @hatchway.hookimpl
    def cleanup(self) -> None:
        # Not under the lock: a connection attempt holds it. An interrupt must act now, not after a stalled
        # handshake's timeout, and stop the commands and transfers still running (they would outlive the
        # connection) before it closes.
        dialing = self._dialing
        if dialing is not None:
            dialing.abort()
        conn = self._conn
        if conn is not None and conn.active:
            conn.interrupt()
        with self._lock:
            if self.config.ssh_clear_authorized_keys and self._conn is not None:
                self._clear_authorized_keys()
            self._drop()
            self._has_tar = None

    def _clear_authorized_keys(self, patience: float = CLEANUP_RECONNECT) -> None:
        """Remove the temporary key's line; after a reboot, reconnect (the machine may take a moment)."""
        from hatchway import DISCONNECTED

        from .keys import clear_authorized_keys_command
        from .remote import capture

        name = self.config.temporary_key_pair_name or self.target.data.get("temporary_key_pair_name", "")
        if not name:
            log.warning("ssh_clear_authorized_keys is set but temporary_key_pair_name is empty: nothing removed")
            return
        class Rebooting(Exception):
            """The machine did not answer: it may be rebooting."""

        def attempt() -> Tuple[int, bytes]:
            try:
                status, _, err = capture(self._connection(), clear_authorized_keys_command(name), timeout=60)
            except hatchway.HatchwayError as exc:
                status, err = DISCONNECTED, str(exc).encode()
            if status == DISCONNECTED:
                raise Rebooting(err)
            return status, err

        try:
            status, err = retry(attempt, retry_on=Rebooting, timeout=patience, backoff=Backoff(0.2, 2.0, 2.0))
        except Rebooting as exc:
            status, err = DISCONNECTED, exc.args[0]
        if status != 0:
            log.warning("removing the temporary key %r from authorized_keys on %s failed: %s",
                        name, self.describe(), err.decode(errors="replace").strip() or f"exit status {status}")


def _stream_size(stream: BinaryIO) -> Optional[int]:
    """The bytes left in a seekable regular-file stream, else None (a pipe)."""
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return st.st_size - stream.tell()
        return None
    except (OSError, AttributeError, ValueError):
        pass
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, os.SEEK_END)
            stream.seek(here)
            return end - here
    except (OSError, AttributeError, ValueError):
        pass
    return None

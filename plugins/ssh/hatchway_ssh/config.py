"""The ``ssh_*`` template keys: Packer's names, types and defaults, plus a few opt-in extras.

No paramiko here: ``hatchway validate`` imports this module for every template.
"""
from __future__ import annotations

import os
import re
from typing import Iterator, List, Literal, NamedTuple, Optional, Tuple

import attrs

from hatchway import CommunicatorConfig, Duration, Port, option

__all__ = ["SSHConfig", "Tunnel", "parse_tunnel", "DEFAULT_TIMEOUT", "DEFAULT_HANDSHAKE_ATTEMPTS"]

DEFAULT_TIMEOUT = 300.0
DEFAULT_HANDSHAKE_ATTEMPTS = 10
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


class Tunnel(NamedTuple):
    """``PORT:HOST:HOSTPORT``: listen on localhost:PORT on one side, connect to HOST:HOSTPORT on the other."""

    port: int
    host: str
    host_port: int


def parse_tunnel(spec: str) -> Tunnel:
    """Parse Packer's ``"PORT:HOST:HOSTPORT"`` (OpenSSH ``-L``/``-R`` without a bind address)."""
    port_text, _, rest = spec.partition(":")
    host, _, host_port_text = rest.rpartition(":")
    parts = [port_text, host, host_port_text]
    if not (port_text and host and host_port_text):
        raise ValueError(f"{spec!r} is not PORT:HOST:HOSTPORT (e.g. \"8080:localhost:80\")")
    try:
        port, host_port = int(parts[0]), int(parts[2])
    except ValueError:
        raise ValueError(f"{spec!r}: ports must be numbers (PORT:HOST:HOSTPORT)") from None
    if not (0 < port < 65536 and 0 < host_port < 65536):
        raise ValueError(f"{spec!r}: ports must be between 1 and 65535")
    return Tunnel(port, parts[1].strip("[]"), host_port)


def _seconds(value: Optional[Duration]) -> float:
    return float(value) if value is not None else 0.0


@attrs.define(kw_only=True)
class SSHConfig(CommunicatorConfig):
    """Every key of the ``ssh`` communicator. See the plugin README for the long story of each."""

    # -- where and who ----------------------------------------------------
    ssh_host: Optional[str] = option(None, help="Host to connect to; default: the address the builder found.")
    ssh_port: Port = option(Port(22), help="SSH port of the machine.")
    ssh_username: str = option(required=True, help="User to log in as.")
    ssh_password: Optional[str] = option(None, secret=True,
                                         help="Password, offered as password and keyboard-interactive auth.")
    ssh_private_key_file: Optional[str] = option(None, path=True,
                                                 help="Private key (OpenSSH or PEM; ed25519, ecdsa, rsa).")
    ssh_certificate_file: Optional[str] = option(None, path=True,
                                                 help="OpenSSH certificate for ssh_private_key_file (key-cert.pub).")
    ssh_keypair_name: str = option(
        "", help="Name of an existing key pair known to the builder's platform (builders that create machines "
                 "use it instead of a temporary key); needs ssh_private_key_file or ssh_agent_auth.")
    ssh_agent_auth: bool = option(False, help="Authenticate with the keys of the ssh-agent at SSH_AUTH_SOCK.")
    ssh_disable_agent_forwarding: bool = option(
        False, help="Do not forward the local ssh-agent to commands (forwarded by default when one is running).")
    ssh_pty: bool = option(False, help="Request a pseudo-terminal for every command.")

    # -- waiting ----------------------------------------------------------
    ssh_timeout: Optional[Duration] = option(
        None, aliases=("ssh_wait_timeout",),
        help="How long to keep trying to connect; 5m when neither this nor ssh_handshake_attempts is set.")
    ssh_handshake_attempts: Optional[int] = option(
        None, help="Authentication failures allowed before giving up; 10 when neither this nor ssh_timeout is set.")
    ssh_keep_alive_interval: Duration = option(
        Duration("5s"), help="Send a keepalive request this often while a command runs; negative disables.")
    ssh_read_write_timeout: Duration = option(
        Duration("0s"), help="Drop the connection when nothing is received for this long during an operation; "
                             "0 disables. Use with keepalives to detect a vanished machine.")
    ssh_dial_timeout: Duration = option(Duration("15s"), help="Timeout of one TCP connection attempt (extra).")
    ssh_handshake_timeout: Duration = option(Duration("1m"), help="Timeout of one SSH handshake (extra).")

    # -- transfers ---------------------------------------------------------
    ssh_file_transfer_method: Literal["scp", "sftp"] = option(
        "scp", help="Protocol for single files and the fallback for directories: scp or sftp.")
    ssh_tar_transfer: bool = option(
        True, help="Move directories as one tar stream when the remote has tar (extra; false: file by file).")

    # -- bastion -----------------------------------------------------------
    ssh_bastion_host: Optional[str] = option(None, help="Jump host to connect through.")
    ssh_bastion_port: Port = option(Port(22), help="SSH port of the bastion.")
    ssh_bastion_username: Optional[str] = option(None, help="User on the bastion; default: ssh_username.")
    ssh_bastion_password: Optional[str] = option(None, secret=True, help="Password for the bastion.")
    ssh_bastion_private_key_file: Optional[str] = option(
        None, path=True, help="Key for the bastion; default: ssh_private_key_file (and its certificate).")
    ssh_bastion_certificate_file: Optional[str] = option(None, path=True, help="Certificate for the bastion key.")
    ssh_bastion_agent_auth: bool = option(False, help="Authenticate to the bastion with the ssh-agent's keys.")
    ssh_bastion_interactive: bool = option(
        False, help="Answer the bastion's keyboard-interactive prompts on the terminal.")

    # -- SOCKS5 proxy ------------------------------------------------------
    ssh_proxy_host: Optional[str] = option(None, help="SOCKS5 proxy to connect through (not with a bastion).")
    ssh_proxy_port: Port = option(Port(1080), help="Port of the SOCKS5 proxy.")
    ssh_proxy_username: Optional[str] = option(None, help="SOCKS5 user name.")
    ssh_proxy_password: Optional[str] = option(None, secret=True, help="SOCKS5 password.")

    # -- tunnels, algorithms -------------------------------------------------
    ssh_local_tunnels: List[str] = option(
        factory=list, help="\"PORT:HOST:HOSTPORT\": listen on localhost:PORT here, connect to HOST:HOSTPORT "
                           "from the machine (ssh -L).")
    ssh_remote_tunnels: List[str] = option(
        factory=list, help="\"PORT:HOST:HOSTPORT\": the machine listens on localhost:PORT, connections come "
                           "back to HOST:HOSTPORT from here (ssh -R).")
    ssh_ciphers: List[str] = option(factory=list, help="Allowed ciphers, most preferred first.")
    ssh_key_exchange_algorithms: List[str] = option(factory=list, help="Allowed key exchange algorithms.")

    # -- host keys (extra) ---------------------------------------------------
    ssh_known_hosts_file: Optional[str] = option(
        None, path=True, help="OpenSSH known_hosts file the host key must be in (extra).")
    ssh_host_key_fingerprint: Optional[str] = option(
        None, help="Expected host key fingerprint, \"SHA256:...\" as ssh-keygen -l prints it (extra).")

    # -- temporary keys ------------------------------------------------------
    ssh_clear_authorized_keys: bool = option(
        False, help="On cleanup, remove the temporary key's line from ~/.ssh/authorized_keys.")
    temporary_key_pair_type: Literal["rsa", "ecdsa", "ed25519"] = option(
        "rsa", help="Type of the throw-away key a builder makes.")
    temporary_key_pair_bits: int = option(0, help="Bits of that key: rsa 4096, ecdsa 521 by default.")
    temporary_key_pair_name: str = option("", help="Comment of that key: the line removed by "
                                                   "ssh_clear_authorized_keys.")

    # -- derived -------------------------------------------------------------
    def _timeout_set(self) -> bool:
        return self.ssh_timeout is not None and float(self.ssh_timeout) != 0

    def _attempts_set(self) -> bool:
        return bool(self.ssh_handshake_attempts)

    def connect_timeout(self) -> float:
        """Seconds to keep retrying: ``ssh_timeout``, 5m by default, forever if only attempts are set.

        A zero ``ssh_timeout`` or ``ssh_handshake_attempts`` is unset, as in Packer's ``prepareSSH``
        ("Only set default values when neither are set").
        """
        if not self._timeout_set():
            return DEFAULT_TIMEOUT if not self._attempts_set() else float("inf")
        seconds = float(self.ssh_timeout)  # type: ignore[arg-type]
        return seconds if seconds > 0 else float("inf")

    def handshake_attempts(self) -> int:
        """Authentication failures allowed; 0 means no limit (only ``ssh_timeout`` ends the wait)."""
        if not self._attempts_set():
            return DEFAULT_HANDSHAKE_ATTEMPTS if not self._timeout_set() else 0
        return max(self.ssh_handshake_attempts or 0, 0)

    def keep_alive(self) -> float:
        return _seconds(self.ssh_keep_alive_interval)

    def read_write_timeout(self) -> float:
        return max(_seconds(self.ssh_read_write_timeout), 0.0)

    def local_tunnels(self) -> List[Tunnel]:
        return [parse_tunnel(s) for s in self.ssh_local_tunnels]

    def remote_tunnels(self) -> List[Tunnel]:
        return [parse_tunnel(s) for s in self.ssh_remote_tunnels]

    def bastion_key_files(self) -> Tuple[Optional[str], Optional[str]]:
        """The bastion's key and certificate, defaulting to the target's as in Packer."""
        if self.ssh_bastion_private_key_file:
            return self.ssh_bastion_private_key_file, self.ssh_bastion_certificate_file
        return self.ssh_private_key_file, self.ssh_certificate_file

    def check(self) -> Iterator[tuple]:
        if self.ssh_bastion_host and self.ssh_proxy_host:
            yield ("ssh_proxy_host", "cannot be used together with ssh_bastion_host",
                   "connect through either a bastion or a SOCKS5 proxy")
        if self.ssh_keypair_name and not (self.ssh_private_key_file or self.ssh_agent_auth):
            yield ("ssh_keypair_name", "needs ssh_private_key_file or ssh_agent_auth",
                   "set the private key of that key pair, or use the ssh-agent")
        if self.ssh_certificate_file and not self.ssh_private_key_file:
            yield ("ssh_certificate_file", "needs ssh_private_key_file", "set the key the certificate signs")
        if self.ssh_bastion_certificate_file and not self.ssh_bastion_private_key_file:
            yield ("ssh_bastion_certificate_file", "needs ssh_bastion_private_key_file", "")
        if self.ssh_bastion_host:
            key, _ = self.bastion_key_files()
            if not (self.ssh_bastion_password or key or self.ssh_bastion_agent_auth or self.ssh_bastion_interactive):
                yield ("ssh_bastion_host", "needs a way to log in to the bastion",
                       "set ssh_bastion_password, ssh_bastion_private_key_file, ssh_bastion_agent_auth "
                       "or ssh_bastion_interactive")
        for key in ("ssh_private_key_file", "ssh_certificate_file", "ssh_bastion_private_key_file",
                    "ssh_bastion_certificate_file", "ssh_known_hosts_file"):
            value = getattr(self, key)
            if value and not os.path.isfile(value):
                yield (key, f"file {value!r} does not exist", "check the path")
        if self.ssh_host_key_fingerprint and not _FINGERPRINT.match(self.ssh_host_key_fingerprint):
            yield ("ssh_host_key_fingerprint", f"{self.ssh_host_key_fingerprint!r} is not a SHA256 fingerprint",
                   "copy it from `ssh-keygen -l -f <host key>`: SHA256:<43 characters>")
        for key in ("ssh_local_tunnels", "ssh_remote_tunnels"):
            for spec in getattr(self, key):
                try:
                    parse_tunnel(spec)
                except ValueError as exc:
                    yield (key, str(exc))
        if self.ssh_handshake_attempts is not None and self.ssh_handshake_attempts < 0:
            yield ("ssh_handshake_attempts", "must not be negative")
        if self.temporary_key_pair_bits < 0:
            yield ("temporary_key_pair_bits", "must not be negative")

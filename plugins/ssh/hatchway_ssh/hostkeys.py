"""Host key checking: opt-in (``ssh_known_hosts_file``, ``ssh_host_key_fingerprint``), else logged."""
from __future__ import annotations

import logging
import os
from typing import Optional

import paramiko

from hatchway import ConnectError

from .errors import reason

__all__ = ["HostKeyPolicy"]

log = logging.getLogger("hatchway.ssh")


class HostKeyPolicy:
    """What a hop's host key must be. With neither setting, any key is accepted and its fingerprint logged."""

    def __init__(self, known_hosts_file: Optional[str] = None, fingerprint: Optional[str] = None) -> None:
        self.known_hosts_file = known_hosts_file
        self.fingerprint = fingerprint.rstrip("=") if fingerprint else None

    def check(self, key: paramiko.PKey, hop: str, host: str, port: int) -> None:
        """Raise :class:`ConnectError` unless ``key`` is the one expected of ``host:port`` (``hop`` names
        it in messages, e.g. ``target user@host:22``)."""
        seen = key.fingerprint
        if self.fingerprint:
            if seen != self.fingerprint:
                raise ConnectError(
                    f"{hop}: host key mismatch: expected {self.fingerprint} (ssh_host_key_fingerprint), "
                    f"the server showed {key.get_name()} {seen}; if the machine was rebuilt, update the setting, "
                    f"else someone may be intercepting the connection")
            return
        if self.known_hosts_file:
            self._check_known_hosts(key, hop, host, port, seen)
            return
        log.info("%s: host key %s %s (not checked: set ssh_known_hosts_file or ssh_host_key_fingerprint)",
                 hop, key.get_name(), seen)

    def preferred_key_types(self, host: str, port: int, available: tuple) -> tuple:
        """Host key algorithms in the order to ask for: those the known_hosts file lists first."""
        if not self.known_hosts_file:
            return available
        try:
            known = paramiko.HostKeys(os.path.expanduser(self.known_hosts_file))
        except (OSError, paramiko.SSHException):
            return available
        entries = known.lookup(host if port == 22 else f"[{host}]:{port}") or {}
        names = set(entries.keys())
        if "ssh-rsa" in names:
            names |= {"rsa-sha2-512", "rsa-sha2-256"}
        return tuple([a for a in available if a in names] + [a for a in available if a not in names])

    def _check_known_hosts(self, key: paramiko.PKey, hop: str, host: str, port: int, seen: str) -> None:
        path = os.path.expanduser(self.known_hosts_file or "")
        try:
            known = paramiko.HostKeys(path)
        except (OSError, paramiko.SSHException) as exc:
            raise ConnectError(f"ssh_known_hosts_file {path!r} cannot be read: {reason(exc)}") from None
        names = [host] if port == 22 else [f"[{host}]:{port}"]
        entries = None
        for name in names:
            entries = known.lookup(name)
            if entries:
                break
        if not entries:
            raise ConnectError(
                f"{hop}: host {names[0]} is not in ssh_known_hosts_file {path!r} (it showed {key.get_name()} "
                f"{seen}); add it with `ssh-keyscan -p {port} {host} >> {path}` after checking the fingerprint")
        expected = entries.get(key.get_name())
        if expected is not None and expected == key:
            return
        listed = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in entries.values())
        raise ConnectError(
            f"{hop}: host key mismatch: ssh_known_hosts_file {path!r} lists {listed}, the server showed "
            f"{key.get_name()} {seen}; if the machine was rebuilt, update the file, else someone may be "
            f"intercepting the connection")

"""Credentials: key files (+ certificates), a key handed over by the builder, the agent, passwords.

Each credential becomes an :class:`AuthMethod` tried in Packer's order:
agent, key files, builder key, password, keyboard-interactive.
"""
from __future__ import annotations

import getpass
import io
import logging
import os
import stat
from typing import Callable, List, NamedTuple, Optional

import paramiko

from hatchway import ConnectError

from .errors import AuthenticationFailed, reason

__all__ = ["AuthMethod", "load_key_file", "load_key_text", "agent_keys", "password_methods", "key_methods"]

log = logging.getLogger("hatchway.ssh")


class AuthMethod(NamedTuple):
    """One credential: ``kind`` is the SSH method name, ``label`` what messages show."""

    kind: str  # "publickey" | "password" | "keyboard-interactive"
    label: str
    run: Callable[[paramiko.Transport, str], object]


def _warn_if_readable(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning("private key file %s is accessible by others (mode %04o): run `chmod 600 %s`",
                    path, mode, path)


def load_key_file(path: str, certificate: Optional[str] = None, setting: str = "ssh_private_key_file"
                  ) -> paramiko.PKey:
    """Load an OpenSSH or PEM private key (ed25519, ecdsa, rsa), with its certificate if given.

    An encrypted key cannot be used without an agent: that is a clear
    :class:`ConnectError`, never a prompt.
    """
    path = os.path.expanduser(path)
    _warn_if_readable(path)
    try:
        key = paramiko.PKey.from_path(path)
    except FileNotFoundError:
        raise ConnectError(f"{setting} {path!r} does not exist") from None
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if isinstance(exc, TypeError) and not any(w in str(exc).lower() for w in ("password", "encrypted")):
            raise
        raise ConnectError(
            f"{setting} {path!r} is encrypted with a passphrase: load it into ssh-agent "
            f"(`ssh-add {path}`) and set ssh_agent_auth, or use an unencrypted key") from None
    except (paramiko.SSHException, ValueError) as exc:
        raise ConnectError(f"{setting} {path!r} is not a usable private key: {reason(exc)}") from None
    except OSError as exc:
        raise ConnectError(f"{setting} {path!r} cannot be read: {exc.strerror or reason(exc)}") from None
    if certificate:
        try:
            key.load_certificate(os.path.expanduser(certificate))
        except (OSError, ValueError, paramiko.SSHException) as exc:
            raise ConnectError(f"certificate {certificate!r} cannot be used with key {path!r}: {reason(exc)}") from None
    return key


def load_key_text(text: str, where: str = "the builder's private key") -> paramiko.PKey:
    """A private key given as text (a builder's temporary key)."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise ConnectError(f"{where} is not a usable unencrypted private key")


def agent_keys(setting: str) -> List[paramiko.PKey]:
    """Keys of the agent at ``SSH_AUTH_SOCK``; a clear error when there is none."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise ConnectError(f"{setting} is set but no ssh-agent is reachable: SSH_AUTH_SOCK is not set "
                           f"(start one with `eval $(ssh-agent)` and `ssh-add` your key)")
    sock = os.environ["SSH_AUTH_SOCK"]
    if not os.path.exists(sock):
        raise ConnectError(f"{setting}: no ssh-agent at SSH_AUTH_SOCK={sock} (the socket is gone: "
                           f"is the agent still running?)")
    try:
        agent = paramiko.Agent()
        keys = list(agent.get_keys())
    except (paramiko.SSHException, OSError) as exc:
        raise ConnectError(f"{setting}: cannot talk to the ssh-agent at {sock}: {reason(exc)}; "
                           f"is it still running?") from None
    if not keys:
        log.warning("%s: the ssh-agent at %s holds no keys (add one with ssh-add)", setting, sock)
    return keys


def _publickey(key: paramiko.PKey, label: str) -> AuthMethod:
    return AuthMethod("publickey", label, lambda t, user: t.auth_publickey(user, key))


def key_methods(keys: List[paramiko.PKey], label: str) -> List[AuthMethod]:
    out = []
    for key in keys:
        kind = "certificate" if getattr(key, "public_blob", None) else "key"
        out.append(_publickey(key, f"publickey ({label} {kind} {key.get_name()} {key.fingerprint})"))
    return out


def password_methods(password: Optional[str], interactive_prompt: bool = False,
                     label: str = "") -> List[AuthMethod]:
    """Password, then keyboard-interactive answering every prompt with it (or asking on the terminal)."""
    methods: List[AuthMethod] = []
    if interactive_prompt:
        def ask(title: str, instructions: str, prompts: list) -> list:
            return [getpass.getpass(f"{label}{prompt}") for prompt, _echo in prompts]

        methods.append(AuthMethod("keyboard-interactive", "keyboard-interactive (terminal)",
                                  lambda t, user: t.auth_interactive(user, ask)))
    if password is not None:
        def answer(title: str, instructions: str, prompts: list) -> list:
            return [password for _ in prompts]

        methods.append(AuthMethod("password", "password", lambda t, user: t.auth_password(user, password)))
        methods.append(AuthMethod("keyboard-interactive", "keyboard-interactive (password)",
                                  lambda t, user: t.auth_interactive(user, answer)))
    return methods


def authenticate(transport: paramiko.Transport, username: str, methods: List[AuthMethod], hop: str) -> None:
    """Try ``methods`` in order until the server lets us in.

    Raises :class:`~hatchway_ssh.errors.AuthenticationFailed` naming the
    methods tried and those the server allows.
    """
    if not methods:
        raise ConnectError(f"{hop}: no way to log in is configured: set ssh_password, ssh_private_key_file "
                           f"or ssh_agent_auth")
    allowed: Optional[List[str]] = None
    try:
        transport.auth_none(username)
        return
    except paramiko.BadAuthenticationType as exc:
        allowed = list(exc.allowed_types)
    except paramiko.AuthenticationException:
        allowed = None
    tried: List[str] = []
    for method in methods:
        if allowed is not None and method.kind not in allowed:
            continue
        try:
            method.run(transport, username)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            continue
        except paramiko.AuthenticationException:
            tried.append(method.label)
            continue
        tried.append(method.label)
        if transport.is_authenticated():
            return
    allows = ", ".join(allowed) if allowed else "unknown"
    offered = "; ".join(tried) if tried else f"nothing the server accepts ({', '.join(m.label for m in methods)})"
    raise AuthenticationFailed(f"{hop}: authentication failed for user {username!r}: tried {offered}; "
                               f"the server allows: {allows}")

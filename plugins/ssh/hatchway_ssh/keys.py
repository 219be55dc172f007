"""Throw-away key pairs for builders (``temporary_key_pair_*``) and removing them afterwards."""
from __future__ import annotations

import shlex
from typing import Tuple

__all__ = ["generate_key_pair", "clear_authorized_keys_command", "DEFAULT_BITS"]

#: Packer's defaults (communicator/sshkey/generate.go): RSA 4096, ECDSA 521; ed25519 has no size.
DEFAULT_BITS = {"rsa": 4096, "ecdsa": 521}


def generate_key_pair(key_type: str = "rsa", bits: int = 0, name: str = "hatchway") -> Tuple[str, str]:
    """Return ``(private key in OpenSSH PEM text, "type base64 name" public line)``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    bits = bits or DEFAULT_BITS.get(key_type, 0)
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif key_type == "ecdsa":
        curves = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}
        if bits not in curves:
            raise ValueError(f"temporary_key_pair_bits {bits} is not an ECDSA size: use 256, 384 or 521")
        key = ec.generate_private_key(curves[bits])
    elif key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"temporary_key_pair_type {key_type!r} is not supported: use rsa, ecdsa or ed25519")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {name}"


def clear_authorized_keys_command(name: str) -> str:
    """A shell command removing every line ending in `` <name>`` from the user's (and root's) authorized_keys.

    Like Packer's, but without sed's regex: the name is compared as a
    string, so names with ``/``, ``.`` or quotes are safe.
    """
    script = (
        'f="$1"; [ -f "$f" ] || exit 0; '
        'tmp="$f.hatchway.$$"; '
        'awk -v n=" $2" \'{ if (length($0) >= length(n) && substr($0, length($0) - length(n) + 1) == n) next; print }\' '
        '"$f" > "$tmp" && cat "$tmp" > "$f"; rc=$?; rm -f "$tmp"; exit $rc'
    )
    quoted = shlex.quote(script)
    mine = f'sh -c {quoted} sh "$HOME/.ssh/authorized_keys" {shlex.quote(name)}'
    root = (f'if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then '
            f'sudo -n sh -c {quoted} sh /root/.ssh/authorized_keys {shlex.quote(name)} || true; fi')
    return f"{mine}; rc=$?; {root}; exit $rc"

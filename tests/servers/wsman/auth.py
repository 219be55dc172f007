"""Authentication and message encryption, per TCP connection, as a WinRM listener does them.

- Basic: checked on every request (``Authorization: Basic``).
- NTLM (``Negotiate``/``NTLM`` scheme, raw NTLMSSP tokens as requests_ntlm sends them): pyspnego's
  acceptor; the context lives with the connection, so later requests on it need no header.
  Over HTTPS the acceptor checks channel bindings (``tls-server-end-point``).
- Message encryption (MS-WSMV 2.2.9.1.1): ``multipart/encrypted`` bodies sealed with the
  connection's NTLM context; the response is sealed when the request was.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import struct
import threading
from typing import Dict, Optional, Tuple

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'

# pyspnego's acceptor reads its users from the file named by NTLM_USER_FILE, a process-wide
# variable: servers with different users take turns under this lock.
_NTLM_ENV_LOCK = threading.Lock()


class AuthFailed(Exception):
    """Answer 401 (the message is for the server's log, never the password)."""


class DecryptFailed(Exception):
    """Answer 400, as Windows does when a sealed body does not verify."""


class NTLMUsers:
    """The users file pyspnego's acceptor reads (``:user:password`` lines), in the server's temp dir."""

    def __init__(self, users: Dict[str, str], directory: str) -> None:
        self.path = os.path.join(directory, "ntlm-users")
        with open(self.path, "w", encoding="utf-8") as fh:
            for user, password in users.items():
                domain, _, name = user.rpartition("\\")
                fh.write(f"{domain}:{name}:{password}\n")
        os.chmod(self.path, 0o600)

    def step(self, ctx, token: bytes, channel_bindings=None) -> Optional[bytes]:
        with _NTLM_ENV_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = self.path
            try:
                if channel_bindings is not None:
                    return ctx.step(token, channel_bindings=channel_bindings)
                return ctx.step(token)
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous

    def new_context(self):
        import spnego

        with _NTLM_ENV_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = self.path
            try:
                return spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous


def check_basic(header_value: str, users: Dict[str, str]) -> str:
    """The user of a valid ``Basic`` credential; AuthFailed otherwise."""
    try:
        user, _, password = base64.b64decode(header_value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthFailed("malformed Basic credentials") from exc
    for known, secret in users.items():
        if known.lower() == user.lower() and hmac.compare_digest(secret.encode(), password.encode()):
            return known
    raise AuthFailed(f"Basic authentication failed for user {user!r}")


def is_ntlm_negotiate(token: bytes) -> bool:
    return token[:8] == b"NTLMSSP\x00" and len(token) >= 12 and struct.unpack("<I", token[8:12])[0] == 1


def sends_channel_bindings(token: bytes) -> bool:
    """Whether an NTLM Authenticate message carries a (non-zero) channel-bindings AV pair."""
    from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2

    if token[:8] != b"NTLMSSP\x00" or len(token) < 12 or struct.unpack("<I", token[8:12])[0] != 3:
        return False
    try:
        response = Authenticate.unpack(token).nt_challenge_response or b""
        if len(response) <= 24:
            return False
        pairs = NTClientChallengeV2.unpack(response[16:]).av_pairs
    except Exception:  # a malformed message: let the acceptor reject it
        return True
    return pairs.get(AvId.channel_bindings, b"\x00" * 16) != b"\x00" * 16


class ConnectionAuth:
    """Auth state of one TCP connection: the NTLM context (pending or complete) and its user."""

    def __init__(self) -> None:
        self.ntlm = None  # spnego context
        self.user: Optional[str] = None

    @property
    def ntlm_complete(self) -> bool:
        return self.ntlm is not None and self.user is not None

    def reset(self) -> None:
        self.ntlm = None
        self.user = None


def principal_user(principal: Optional[str]) -> str:
    """``DOMAIN\\user`` or ``user@domain`` -> ``user``."""
    principal = principal or ""
    return principal.rpartition("\\")[2].partition("@")[0]


# --- MS-WSMV 2.2.9.1.1 multipart/encrypted --------------------------------------------------------

def is_encrypted(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/encrypted") and ENCRYPTED_PROTOCOL.lower() in content_type.lower()


_LENGTH = re.compile(rb"Length=(\d+)")


def decrypt(ctx, body: bytes) -> bytes:
    """Unseal a ``multipart/encrypted`` request body with the connection's NTLM context."""
    parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
    if len(parts) != 2:
        raise DecryptFailed(f"expected 2 MIME parts in the encrypted body, found {len(parts)}")
    header, payload = parts
    match = _LENGTH.search(header)
    if not match:
        raise DecryptFailed("the encrypted body has no OriginalContent Length")
    if payload.endswith(BOUNDARY + b"--\r\n"):
        payload = payload[: -len(BOUNDARY + b"--\r\n")]
    prefix = b"\tContent-Type: application/octet-stream\r\n"
    if not payload.startswith(prefix):
        raise DecryptFailed("the encrypted part is not application/octet-stream")
    data = payload[len(prefix):]
    if len(data) < 4:
        raise DecryptFailed("the encrypted part is truncated")
    sig_len = struct.unpack("<i", data[:4])[0]
    try:
        plain = ctx.unwrap_winrm(data[4 : 4 + sig_len], data[4 + sig_len :])
    except Exception as exc:  # pyspnego raises several kinds for a bad signature
        raise DecryptFailed(f"the encrypted body does not verify: {exc}") from exc
    if len(plain) != int(match.group(1)):
        raise DecryptFailed("the decrypted length differs from OriginalContent Length")
    return plain


def encrypt(ctx, plain: bytes) -> bytes:
    """Seal a response body the way Windows (and pywinrm's ``Encryption``) frames it."""
    wrapped = ctx.wrap_winrm(plain)
    return (
        BOUNDARY + b"\r\n"
        b"\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(plain)).encode() + b"\r\n"
        + BOUNDARY + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
        + BOUNDARY + b"--\r\n"
    )


def channel_bindings_for(cert_der: bytes):
    """``tls-server-end-point`` bindings of a certificate (RFC 5929: its signature hash, SHA-256 for MD5/SHA-1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from spnego.channel_bindings import GssChannelBindings

    cert = x509.load_der_x509_certificate(cert_der)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert_der)
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())


def basic_header(header: str) -> Tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    return scheme.lower(), value.strip()

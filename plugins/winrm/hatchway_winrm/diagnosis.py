"""pywinrm and requests exceptions as the Hatchway errors a user can act on.

One place decides what each failure means: retry (the host is not up
yet), give up with the fix named (credentials, Basic refused, TLS trust,
quotas), shrink the envelope (413), or treat the shell as gone.
"""
from __future__ import annotations

import re
import urllib.parse
from typing import Protocol

import requests
import winrm.exceptions as wex

from hatchway import CommunicatorError, ConnectError, RetryableConnectError

from .config import WinRMConfig

__all__ = ["translate", "dropped", "short", "EnvelopeTooLarge", "Disconnected", "BUSY", "INVALID_SELECTORS"]

#: WSManFault codes: ERROR_BUSY, and the "shell/command not found" of a shell that is gone.
BUSY = 170
INVALID_SELECTORS = 2150858843


class Endpoint(Protocol):
    """What a diagnosis needs to know about the connection (a :class:`~.session.Session` is one).

    A protocol rather than an import of ``session``, which imports this module.
    """

    config: WinRMConfig
    url: str
    host: str
    operation_timeout: float

    def describe(self) -> str: ...


class EnvelopeTooLarge(CommunicatorError):
    """The server answered HTTP 413: the request was bigger than its MaxEnvelopeSizekb."""


class Disconnected(CommunicatorError):
    """The connection (or the shell) was lost and could not be re-made."""


def dropped(exc: BaseException) -> bool:
    """Is ``exc`` a lost connection (or an NTLM-sealed message refused after a silent reconnect)?"""
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ReadTimeout)):
        return not isinstance(exc, requests.exceptions.SSLError)
    return isinstance(exc, wex.WinRMTransportError) and exc.code == 400


def translate(exc: BaseException, endpoint: Endpoint) -> Exception:
    """A pywinrm/requests exception as the Hatchway error a user can act on."""
    where = endpoint.describe()
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectError(
            f"TLS verification of {endpoint.url} failed ({short(exc)}): set winrm_ca_cert_file to the CA bundle "
            f"that signed the server's certificate, or winrm_insecure to true")
    if isinstance(exc, wex.InvalidCredentialsError):
        return explain_401(endpoint)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return RetryableConnectError(f"cannot reach WinRM at {endpoint.url}: {short(exc)}")
    if isinstance(exc, (wex.WSManFaultError, wex.WinRMTransportError)) and exc.code == 413:
        return EnvelopeTooLarge(f"{endpoint.host} refused a request as too large (HTTP 413, MaxEnvelopeSizekb)")
    if isinstance(exc, wex.WinRMTransportError):
        hint = " (is this a WinRM listener? check winrm_port and winrm_use_ssl)" if exc.code == 404 else ""
        return CommunicatorError(f"{endpoint.url} answered HTTP {exc.code}{hint}: {(exc.response_text or '')[:200]}")
    if isinstance(exc, wex.WSManFaultError):
        if exc.wsman_fault_code == INVALID_SELECTORS:
            return Disconnected(f"the shell on {where} is gone (the host restarted?)")
        reason = (exc.reason or "").strip()
        return CommunicatorError(f"{where} refused the request: {reason} (WSManFault {exc.wsman_fault_code})")
    if isinstance(exc, wex.WinRMOperationTimeoutError):
        return CommunicatorError(f"{where} did not answer within {endpoint.operation_timeout}s (w:TimedOut)")
    if isinstance(exc, wex.WinRMError):
        return CommunicatorError(f"WinRM error from {where}: {exc}")
    return exc if isinstance(exc, Exception) else CommunicatorError(str(exc))

def explain_401(endpoint: Endpoint) -> Exception:
    """Tell bad credentials apart from Basic being refused (disabled, or unencrypted HTTP refused).

    Windows answers 401 in both cases. When the server also offers
    Negotiate, the same credentials are tried with NTLM: if they pass,
    the password is right and it is Basic that is refused.
    """
    offered = probe(endpoint)
    transport = endpoint.config.transport
    schemes = ", ".join(part.split()[0] for part in offered.split(",") if part.strip()) or "none"
    wanted = {"basic": "basic", "ntlm": "negotiate", "kerberos": "negotiate", "credssp": "credssp"}.get(transport)
    scheme = urllib.parse.urlsplit(endpoint.url).scheme
    if transport == "basic" and offered and (
            "basic" not in offered.lower() or ("negotiate" in offered.lower() and probe(endpoint, ntlm=True))):
        return ConnectError(
            f"{endpoint.host} does not accept Basic authentication over {scheme} for {endpoint.config.winrm_username!r} "
            f"(it offers: {schemes}): Basic is disabled there or unencrypted traffic is refused "
            f"(AllowUnencrypted=false); set winrm_use_ntlm to true (encrypted NTLM over HTTP) or winrm_use_ssl "
            f"to true")
    if wanted and offered and wanted not in offered.lower():
        return ConnectError(f"{endpoint.host} does not offer {transport} authentication (it offers: {schemes}): "
                            f"choose another winrm_transport")
    return ConnectError(
        f"the credentials for {endpoint.describe()} were rejected (HTTP 401): check winrm_username and "
        f"winrm_password")

def probe(endpoint: Endpoint, ntlm: bool = False) -> "str | bool":
    """Without ``ntlm``: the WWW-Authenticate the server offers; with it: do the credentials pass NTLM?"""
    c = endpoint.config
    verify = False if c.winrm_insecure else (c.winrm_ca_cert_file or True)
    try:
        with requests.Session() as probe:
            probe.trust_env = not c.winrm_no_proxy
            if ntlm:
                from requests_ntlm import HttpNtlmAuth

                probe.auth = HttpNtlmAuth(c.winrm_username, c.winrm_password)
            reply = probe.post(endpoint.url, data=b"", timeout=10, verify=verify)
    except Exception:  # a diagnosis only: never worse than the plain message
        return False if ntlm else ""
    return reply.status_code == 200 if ntlm else reply.headers.get("WWW-Authenticate", "")


_REASON = re.compile(r"\[Errno -?\d+\] [^'\")]+|certificate verify failed: [^(')\"]+|timed out|Read timed out"
                     r"|Connection (?:refused|reset by peer|aborted)|Name or service not known")


def short(exc: BaseException) -> str:
    """The useful part of a requests/urllib3 error chain ("[Errno 111] Connection refused")."""
    text = str(exc)
    found = _REASON.search(text)
    return found.group(0).strip() if found else text[:160]

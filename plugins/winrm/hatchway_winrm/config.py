"""The ``winrm_*`` template keys: Packer's, plus the transport and TLS choices pywinrm offers."""
from __future__ import annotations

from typing import Iterator, Literal, Optional, Tuple

import attrs

from hatchway import CommunicatorConfig, Duration, Port, option

__all__ = ["WinRMConfig", "TRANSPORTS"]

#: pywinrm's authentication transports (kerberos and credssp need the extras of the same name).
TRANSPORTS = ("basic", "ntlm", "kerberos", "credssp", "certificate")


@attrs.define(kw_only=True)
class WinRMConfig(CommunicatorConfig):
    winrm_host: str = option("", help="Host to connect to; the builder's address when empty.")
    winrm_port: Port = option(Port(0), help="Port; 5985, or 5986 with winrm_use_ssl.")
    winrm_username: str = option("", required=True, help="The user to connect as.")
    winrm_password: str = option("", secret=True, help="The user's password.")
    winrm_timeout: Duration = option(Duration("30m"), zero_is_default=True,
                                     help="How long to wait for WinRM to become available.")
    winrm_use_ssl: bool = option(False, help="Use HTTPS.")
    winrm_insecure: bool = option(False, help="With HTTPS, do not check the server's certificate.")
    winrm_use_ntlm: Optional[bool] = option(
        None, help="true: NTLM (with message encryption over HTTP); false: Basic; unset: winrm_transport decides.")
    winrm_no_proxy: bool = option(False, help="Do not use the HTTP(S)_PROXY environment variables for this host.")
    winrm_transport: Literal["basic", "ntlm", "kerberos", "credssp", "certificate"] = option(
        "basic", help="Authentication: basic, ntlm, kerberos, credssp (extras) or certificate.")
    winrm_ca_cert_file: str = option("", path=True, help="PEM bundle of the CAs that sign the server's certificate.")
    winrm_client_cert_file: str = option("", path=True, help="PEM client certificate (winrm_transport certificate).")
    winrm_client_key_file: str = option("", path=True, help="PEM key of the client certificate.")
    winrm_message_encryption: Literal["auto", "always", "never"] = option(
        "auto", help="Encrypt messages over HTTP with NTLM/Kerberos/CredSSP: auto, always or never.")
    winrm_operation_timeout: Duration = option(
        Duration("20s"), help="How long one WS-Management request may block on the server (Receive).")

    @property
    def transport(self) -> str:
        """The effective transport: ``winrm_use_ntlm`` wins over ``winrm_transport`` when set."""
        if self.winrm_use_ntlm is True:
            return "ntlm"
        if self.winrm_use_ntlm is False and self.winrm_transport == "ntlm":
            return "basic"
        return self.winrm_transport

    def port(self) -> int:
        return self.winrm_port or (5986 if self.winrm_use_ssl else 5985)

    def check(self) -> Iterator[Tuple[str, str, str]]:
        transport = self.transport
        if transport == "certificate":
            if not (self.winrm_client_cert_file and self.winrm_client_key_file):
                yield ("winrm_client_cert_file", "certificate transport needs a client certificate and key",
                       "set winrm_client_cert_file and winrm_client_key_file")
            if not self.winrm_use_ssl:
                yield ("winrm_use_ssl", "certificate transport works over HTTPS only", "set winrm_use_ssl to true")
        if self.winrm_message_encryption == "always" and transport in ("basic", "certificate"):
            yield ("winrm_message_encryption", f"{transport} authentication cannot encrypt messages",
                   "use winrm_transport ntlm, or winrm_use_ssl")
        if not 1 <= float(self.winrm_operation_timeout) <= 3600:
            yield ("winrm_operation_timeout", "must be between 1s and 1h", "")

"""WS-Transfer Get of ``.../wsman/1/config``: the listener settings a client may read (admins only on
Windows; ``config_readable=False`` answers Access denied like a non-admin user gets)."""
from __future__ import annotations

from . import soap

CFG = "http://schemas.microsoft.com/wbem/wsman/1/config"


def config_response(request: soap.Request, *, max_envelope_kb: int, max_shells_per_user: int, allow_unencrypted: bool,
                    auth: tuple, readable: bool) -> bytes:
    if not readable:
        raise soap.access_denied()

    def flag(value: bool) -> str:
        return "true" if value else "false"

    body = (
        f'<cfg:Config xmlns:cfg="{CFG}">'
        f"<cfg:MaxEnvelopeSizekb>{max_envelope_kb}</cfg:MaxEnvelopeSizekb>"
        "<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
        "<cfg:MaxProviderRequests>4294967295</cfg:MaxProviderRequests>"
        "<cfg:Service><cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>"
        f"<cfg:AllowUnencrypted>{flag(allow_unencrypted)}</cfg:AllowUnencrypted>"
        f"<cfg:Auth><cfg:Basic>{flag('basic' in auth)}</cfg:Basic><cfg:Kerberos>false</cfg:Kerberos>"
        f"<cfg:Negotiate>{flag('ntlm' in auth)}</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate>"
        "<cfg:CredSSP>false</cfg:CredSSP><cfg:CbtHardeningLevel>Strict</cfg:CbtHardeningLevel></cfg:Auth>"
        "</cfg:Service>"
        "<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess>"
        "<cfg:IdleTimeout>7200000</cfg:IdleTimeout><cfg:MaxConcurrentUsers>2147483647</cfg:MaxConcurrentUsers>"
        "<cfg:MaxShellRunTime>2147483647</cfg:MaxShellRunTime><cfg:MaxProcessesPerShell>2147483647</cfg:MaxProcessesPerShell>"
        "<cfg:MaxMemoryPerShellMB>2147483647</cfg:MaxMemoryPerShellMB>"
        f"<cfg:MaxShellsPerUser>{max_shells_per_user}</cfg:MaxShellsPerUser></cfg:Winrs>"
        "</cfg:Config>"
    )
    return soap.envelope(request.action_uri + "Response", request.message_id, body)

"""Authentication, message encryption and TLS, through real pywinrm 0.5.0 / requests_ntlm / pyspnego."""
from __future__ import annotations

import pytest

from .tap import WireTap

pytestmark = pytest.mark.timeout(60)

SECRET_COMMAND = "echo wire-marker-5f3a"


def _run(protocol, command: str = "echo ok"):
    shell = protocol.open_shell()
    command_id = protocol.run_command(shell, command)
    out, err, code = protocol.get_command_output(shell, command_id)
    protocol.cleanup_command(shell, command_id)
    protocol.close_shell(shell, close_session=False)
    return out, err, code


def test_basic_wrong_password_is_401(server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, password="wrong").open_shell()
    assert server.stats.status_401 == 1
    assert server.shells == {}


def test_basic_unknown_user_is_401(server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, username="mallory").open_shell()


def test_basic_refused_when_only_ntlm_is_enabled(make_server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    server = make_server(auth=("ntlm",))
    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="basic").open_shell()
    assert _run(protocol_for(server, transport="ntlm")) == (b"ok\n", b"", 0)


def test_basic_over_http_refused_when_unencrypted_is_not_allowed(make_server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    server = make_server(allow_unencrypted=False)
    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="basic").open_shell()
    assert server.stats.status_401 >= 1 and server.shells == {}


def test_ntlm_with_message_encryption(server, protocol_for):
    protocol = protocol_for(server, transport="ntlm", message_encryption="always")
    assert _run(protocol, SECRET_COMMAND) == (b"wire-marker-5f3a\n", b"", 0)
    assert server.stats.encrypted_requests == 5  # Create, Command, Receive, Signal, Delete
    assert [shell.owner for shell in server.shells.values()] == []


def test_ntlm_wrong_password_is_401(server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="ntlm", password="wrong").open_shell()
    assert server.shells == {}


def test_ntlm_without_encryption_refused_when_unencrypted_is_not_allowed(make_server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    server = make_server(allow_unencrypted=False)
    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="ntlm", message_encryption="never").open_shell()
    assert _run(protocol_for(server, transport="ntlm", message_encryption="auto")) == (b"ok\n", b"", 0)


def test_encrypted_traffic_is_really_encrypted_on_the_wire(server, protocol_for):
    tap = WireTap(server.host, server.port)
    try:
        endpoint = f"http://127.0.0.1:{tap.port}/wsman"
        from winrm.protocol import Protocol

        protocol = Protocol(endpoint, transport="ntlm", username="vagrant", password="vagrant", proxy=None,
                            server_cert_validation="ignore", message_encryption="always")
        assert _run(protocol, SECRET_COMMAND)[0] == b"wire-marker-5f3a\n"
        protocol.transport.close_session()
        wire = tap.captured
    finally:
        tap.close()
    assert b"multipart/encrypted" in wire
    assert b"wire-marker" not in wire
    assert b"d2lyZS1tYXJrZXIt" not in wire  # nor its base64 in a ReceiveResponse
    assert b"Envelope" not in wire and b"http://schemas.microsoft.com/wbem/wsman/1/windows/shell" not in wire


def test_basic_traffic_is_plain_on_the_wire(server, session_for):
    # the same tap sees the command when nothing encrypts it: the check above can fail
    tap = WireTap(server.host, server.port)
    try:
        import winrm

        session = winrm.Session(f"http://127.0.0.1:{tap.port}/wsman", auth=("vagrant", "vagrant"),
                                transport="basic", proxy=None, server_cert_validation="ignore")
        assert session.run_cmd(SECRET_COMMAND).std_out == b"wire-marker-5f3a\n"
        wire = tap.captured
    finally:
        tap.close()
    assert b"wire-marker-5f3a" in wire


def test_dropped_connection_breaks_an_encrypted_session_with_400(server, protocol_for):
    """A resend sealed with the old context on a new connection fails, as on Windows (reference §1.3)."""
    import requests
    from winrm.exceptions import WinRMTransportError

    protocol = protocol_for(server, transport="ntlm", message_encryption="always")
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo ok")
    server.faults.drop_next(1, action="Receive")
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.get_command_output_raw(shell, command)
    with pytest.raises(WinRMTransportError) as caught:
        protocol.get_command_output_raw(shell, command)
    assert caught.value.code == 400
    # a fresh Protocol (new NTLM context) still reaches the same shell
    fresh = protocol_for(server, transport="ntlm", message_encryption="always")
    out, _, code = fresh.get_command_output(shell, command)
    assert (out, code) == (b"ok\n", 0)


def test_https_basic_verified_against_the_servers_certificate(make_server, protocol_for):
    server = make_server(https=True)
    assert server.endpoint.startswith("https://127.0.0.1:")
    assert _run(protocol_for(server, transport="basic")) == (b"ok\n", b"", 0)


def test_https_without_trusting_the_certificate_fails_verification(make_server, protocol_for):
    import requests

    server = make_server(https=True)
    protocol = protocol_for(server, transport="basic", ca_trust_path="/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(requests.exceptions.SSLError):
        protocol.open_shell()


def test_https_basic_allowed_even_when_unencrypted_http_is_not(make_server, protocol_for):
    server = make_server(https=True, allow_unencrypted=False)
    assert _run(protocol_for(server, transport="basic")) == (b"ok\n", b"", 0)


def test_https_ntlm_with_channel_binding(make_server, protocol_for):
    server = make_server(https=True)
    assert _run(protocol_for(server, transport="ntlm")) == (b"ok\n", b"", 0)
    assert server.stats.encrypted_requests == 0  # TLS protects it: no message encryption


def test_https_ntlm_without_channel_binding_is_refused(make_server, protocol_for):
    from winrm.exceptions import InvalidCredentialsError

    server = make_server(https=True)
    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="ntlm", send_cbt=False).open_shell()


def test_https_ntlm_without_channel_binding_accepted_when_binding_is_off(make_server, protocol_for):
    server = make_server(https=True, channel_binding=False)
    assert _run(protocol_for(server, transport="ntlm", send_cbt=False)) == (b"ok\n", b"", 0)


def test_https_ntlm_relaxed_binding_accepts_clients_that_send_none(make_server, protocol_for):
    server = make_server(https=True, channel_binding="relaxed")
    assert _run(protocol_for(server, transport="ntlm", send_cbt=False)) == (b"ok\n", b"", 0)
    assert _run(protocol_for(server, transport="ntlm", send_cbt=True)) == (b"ok\n", b"", 0)


@pytest.mark.parametrize("mode", ["strict", "relaxed"])
def test_https_ntlm_wrong_channel_binding_is_refused(make_server, mode):
    """A client bound to another certificate (a TLS man in the middle) fails in both modes."""
    import base64

    import requests
    import spnego
    from spnego.channel_bindings import GssChannelBindings

    server = make_server(https=True, channel_binding=mode)
    client = spnego.client("vagrant", "vagrant", protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
    wrong = GssChannelBindings(application_data=b"tls-server-end-point:" + b"\x01" * 32)
    with requests.Session() as http:
        http.verify = server.cert_path
        http.trust_env = False

        def post(token: bytes):
            header = {"Authorization": "Negotiate " + base64.b64encode(token).decode()}
            return http.post(server.endpoint, data=b"", headers=header, timeout=10)

        challenge = post(client.step())
        assert challenge.status_code == 401
        token = base64.b64decode(challenge.headers["WWW-Authenticate"].split()[1])
        answer = post(client.step(token, channel_bindings=wrong))
    assert answer.status_code == 401


def test_listener_config_can_be_read_with_ws_transfer_get(make_server, protocol_for):
    import xml.etree.ElementTree as ET

    import xmltodict

    server = make_server(max_envelope_kb=150, max_shells_per_user=7)
    protocol = protocol_for(server)
    request = {"env:Envelope": protocol.build_wsman_header(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", "http://schemas.microsoft.com/wbem/wsman/1/config")}
    request["env:Envelope"]["env:Body"] = {}
    root = ET.fromstring(protocol.send_message(xmltodict.unparse(request)))
    ns = {"cfg": "http://schemas.microsoft.com/wbem/wsman/1/config"}
    assert root.find(".//cfg:MaxEnvelopeSizekb", ns).text == "150"
    assert root.find(".//cfg:Winrs/cfg:MaxShellsPerUser", ns).text == "7"


def test_listener_config_denied_to_non_admins(make_server, protocol_for):
    import xmltodict
    from winrm.exceptions import WSManFaultError

    server = make_server(config_readable=False)
    protocol = protocol_for(server)
    request = {"env:Envelope": protocol.build_wsman_header(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", "http://schemas.microsoft.com/wbem/wsman/1/config")}
    request["env:Envelope"]["env:Body"] = {}
    with pytest.raises(WSManFaultError) as caught:
        protocol.send_message(xmltodict.unparse(request))
    assert (caught.value.fault_subcode, caught.value.wsman_fault_code) == ("w:AccessDenied", 5)


def test_certificate_auth_maps_the_client_certificate_to_its_user(make_server, protocol_for):
    server = make_server(https=True, auth=("certificate", "basic"), users={"vagrant": "vagrant", "other": "x"})
    cert, key = server.client_certificate("vagrant")
    protocol = protocol_for(server, transport="certificate", cert_pem=cert, cert_key_pem=key)
    assert _run(protocol, "echo via-cert") == (b"via-cert\n", b"", 0)
    shell = protocol.open_shell()
    assert server.shells[shell].owner == "vagrant"


def test_certificate_auth_without_a_certificate_is_401(make_server, protocol_for, tmp_path):
    import ssl

    from winrm.exceptions import InvalidCredentialsError

    server = make_server(https=True, auth=("certificate",))
    with pytest.raises(InvalidCredentialsError):
        protocol_for(server, transport="certificate", cert_pem=None, cert_key_pem=None).open_shell()
    # a certificate from another CA fails the TLS handshake
    from servers.wsman.tls import CertificateAuthority

    stranger = CertificateAuthority(str(tmp_path), "127.0.0.1").issue_client("vagrant")
    import requests

    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError, ssl.SSLError)):
        protocol_for(server, transport="certificate", cert_pem=stranger[0], cert_key_pem=stranger[1]).open_shell()
    assert server.shells == {}


def test_certificate_auth_needs_https():
    from servers.wsman import WSManServer

    with pytest.raises(ValueError, match="https"):
        WSManServer(auth=("certificate",))

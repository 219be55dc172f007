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

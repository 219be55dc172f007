"""Connecting: transports (Basic, NTLM with encryption, HTTPS), and one clear message per failure."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import pytest

from hatchway.config import build
from hatchway.errors import ConnectError, RetryableConnectError
from hatchway.relay import Relay
from hatchway_winrm import WinRMConfig



@pytest.fixture
def attempt(communicator_for):
    def connect_once(server, **keys):
        relay = Relay(communicator_for(server, **keys))
        try:
            relay.connect()
        finally:
            relay.cleanup()

    return connect_once


def test_import_stays_light():
    code = ("import sys, hatchway_winrm; heavy = [m for m in ('winrm', 'requests', 'spnego', 'urllib3') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_wrong_password_is_a_clear_fatal_error(wsman, attempt):
    with pytest.raises(ConnectError) as info:
        attempt(wsman, winrm_password="wrong-secret")
    message = str(info.value)
    assert not isinstance(info.value, RetryableConnectError)
    assert "rejected" in message and "winrm_password" in message and "vagrant@127.0.0.1" in message
    assert "wrong-secret" not in message


def test_basic_refused_over_http_says_so(wsman_factory, attempt):
    server = wsman_factory(allow_unencrypted=False)
    with pytest.raises(ConnectError) as info:
        attempt(server)
    message = str(info.value)
    assert "Basic" in message and "unencrypted" in message and "winrm_use_ssl" in message


def test_basic_disabled_says_so(wsman_factory, attempt):
    server = wsman_factory(auth=("ntlm",))
    with pytest.raises(ConnectError) as info:
        attempt(server)
    assert "does not accept Basic" in str(info.value) and "Negotiate" in str(info.value)


def test_unreachable_host_is_retried_until_winrm_timeout(communicator_for):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed

    class Dead:
        host, https = "127.0.0.1", False

    Dead.port = port
    relay = Relay(communicator_for(Dead, winrm_timeout="1s"))
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"127.0.0.1:{port}" in str(info.value)
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(1.0)
    assert "timed out" in str(info.value)


def test_ntlm_with_message_encryption_over_http(wsman_factory, connect):
    server = wsman_factory(allow_unencrypted=False)
    relay = connect(server, winrm_use_ntlm=True)
    data = os.urandom(700_000)
    relay.upload(io.BytesIO(data), "ntlm.bin")
    sink = io.BytesIO()
    relay.download("ntlm.bin", sink)
    assert sink.getvalue() == data
    assert server.stats.encrypted_requests > 5
    # stdin is sent from a second connection (its own NTLM context) while the first receives
    assert relay.run("cat", stdin=io.BytesIO(data)).stdout == data
    # an encrypted session cannot resume on a new socket: the communicator re-makes it
    server.faults.drop_next(1, action="Receive")
    assert relay.run("echo still here").text.strip() == "still here"


def test_https_with_the_ca_bundle_and_insecure(wsman_factory, connect):
    server = wsman_factory(https=True, allow_unencrypted=False)
    assert connect(server).run("echo tls").text.strip() == "tls"
    assert connect(server, winrm_ca_cert_file="", winrm_insecure=True).run("echo insecure").text.strip() == "insecure"
    assert connect(server, winrm_use_ntlm=True).run("echo cbt").text.strip() == "cbt"


def test_https_without_trust_explains_the_fix(wsman_factory, attempt):
    server = wsman_factory(https=True)
    with pytest.raises(ConnectError) as info:
        attempt(server, winrm_ca_cert_file="")
    assert "TLS verification" in str(info.value) and "winrm_ca_cert_file" in str(info.value)


def test_config_keys_and_cross_checks():
    config, problems = build(WinRMConfig, {"winrm_username": "u", "winrm_password": "s3cret-pw", "winrm_use_ssl": "true",
                                           "winrm_use_ntlm": True, "winrm_timeout": "5m"})
    assert problems == [] and config.transport == "ntlm" and config.port() == 5986
    assert float(config.winrm_timeout) == 300
    _, problems = build(WinRMConfig, {"winrm_password": "s3cret-pw"})
    assert [p.path for p in problems] == ["winrm_username"]
    _, problems = build(WinRMConfig, {"winrm_username": "u", "winrm_transport": "certificate"})
    assert {p.path for p in problems} == {"winrm_client_cert_file", "winrm_use_ssl"}
    _, problems = build(WinRMConfig, {"winrm_username": "u", "winrm_password": "s3cret-pw", "winrm_transport": "kerberoz"})
    assert "kerberos" in str(problems[0])


def test_a_shell_create_that_times_out_is_retried(wsman, communicator_for):
    wsman.faults.timeout_next(1, action="Create")
    relay = Relay(communicator_for(wsman, winrm_operation_timeout="1s"))
    try:
        with pytest.raises(RetryableConnectError):
            relay.connect()
        relay.wait_connected(30)
        assert relay.run("echo after").text.strip() == "after"
    finally:
        relay.cleanup()
    assert wsman.faults.fired["timeout"] == 1


def test_shell_quota_is_explained(wsman_factory, attempt):
    from winrm.protocol import Protocol

    server = wsman_factory(max_shells_per_user=1)
    other = Protocol(server.endpoint, transport="basic", username="vagrant", password="vagrant", proxy=None,
                     ca_trust_path=None)
    shell = other.open_shell()
    try:
        with pytest.raises(ConnectError) as info:
            attempt(server)
        assert "maximum number of 1" in str(info.value) and "vagrant@127.0.0.1" in str(info.value)
    finally:
        other.close_shell(shell)


def test_client_certificate_authentication(wsman_factory, connect):
    server = wsman_factory(https=True, auth=("certificate",))
    cert, key = server.client_certificate("vagrant")
    relay = connect(server, winrm_transport="certificate", winrm_password="", winrm_client_cert_file=cert,
                    winrm_client_key_file=key)
    assert relay.run("echo by-certificate").text.strip() == "by-certificate"
    data = os.urandom(400_000)
    relay.upload(io.BytesIO(data), "cert.bin")
    sink = io.BytesIO()
    relay.download("cert.bin", sink)
    assert sink.getvalue() == data


def test_a_password_made_by_the_builder_is_used_and_redacted(wsman):
    from hatchway import redact
    from hatchway.communicator import Target
    from hatchway_winrm import WinRMCommunicator

    config, _ = build(WinRMConfig, {"winrm_host": wsman.host, "winrm_port": wsman.port, "winrm_username": "vagrant",
                                    "winrm_no_proxy": True})
    relay = Relay(WinRMCommunicator(config, Target(data={"winrm_password": "vagrant"})))
    try:
        relay.wait_connected(20)
        assert relay.run("echo generated").text.strip() == "generated"
    finally:
        relay.cleanup()
    assert redact.redact("pw=vagrant") == "pw=" + redact.MASK

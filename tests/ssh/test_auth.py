"""Every way to log in, against real sshd servers, and the message of each failure."""
from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from hatchway.errors import ConnectError
from servers.sshd import TEST_PASSWORD, TEST_USER, keygen


def whoami(relay) -> str:
    return relay.run("id -un").text.strip()


@pytest.mark.parametrize("key_type,pem", [
    ("ed25519", False), ("ecdsa", False), ("rsa", False), ("ecdsa", True), ("rsa", True),
])
def test_key_types_and_formats(relays, fresh_sshd, keys_dir, key_type, pem):
    key = keygen(keys_dir / f"id_{key_type}_{'pem' if pem else 'openssh'}", key_type, pem=pem,
                 bits=2048 if key_type == "rsa" else None)
    head = key.read_text().splitlines()[0]
    assert ("OPENSSH" not in head) == pem, head
    server = fresh_sshd(keys=[key])
    relay = relays(server, ssh_private_key_file=str(key))
    assert whoami(relay) == TEST_USER


def test_private_key_file_tilde_is_expanded(relays, sshd, client_key, monkeypatch, tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id").write_bytes(client_key.read_bytes())
    os.chmod(home / ".ssh" / "id", 0o600)
    monkeypatch.setenv("HOME", str(home))
    relay = relays(sshd, ssh_private_key_file="~/.ssh/id")
    assert whoami(relay) == TEST_USER


def test_certificate_auth(relays, fresh_sshd, keys_dir, tmp_path):
    ca = keygen(keys_dir / "user_ca", "ed25519", comment="ca")
    key = keygen(tmp_path / "certified", "ed25519")
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "hatchway-test-cert", "-n", TEST_USER,
                    "-V", "-5m:+1h", str(key) + ".pub"], check=True, capture_output=True, timeout=30)
    cert = cert_dir / "certified-cert.pub"
    os.replace(str(key) + "-cert.pub", cert)  # not beside the key: only ssh_certificate_file can find it
    server = fresh_sshd({"TrustedUserCAKeys": str(ca) + ".pub"}, keys=[])
    relay = relays(server, ssh_private_key_file=str(key), ssh_certificate_file=str(cert))
    assert whoami(relay) == TEST_USER
    # the same key without its certificate is not authorized
    without = relays(server, connect=False, ssh_private_key_file=str(key), ssh_handshake_attempts=1)
    with pytest.raises(ConnectError) as info:
        without.connect()
    assert "authentication failed" in str(info.value)


def test_password_auth(relays, fresh_sshd):
    server = fresh_sshd({"PubkeyAuthentication": "no"}, keys=[])
    relay = relays(server, ssh_password=TEST_PASSWORD)
    assert whoami(relay) == TEST_USER


def test_keyboard_interactive_auth(relays, fresh_sshd):
    """sshd with PAM asking for the password via keyboard-interactive only."""
    server = fresh_sshd({"UsePAM": "yes", "KbdInteractiveAuthentication": "yes", "PasswordAuthentication": "no",
                         "PubkeyAuthentication": "no"}, keys=[])
    relay = relays(server, ssh_password=TEST_PASSWORD)
    assert whoami(relay) == TEST_USER


def test_wrong_password_fails_after_the_handshake_attempts_saying_what_was_tried(relays, fresh_sshd):
    server = fresh_sshd({"UsePAM": "yes", "KbdInteractiveAuthentication": "yes"}, keys=[])
    relay = relays(server, connect=False, ssh_password="wrong-password", ssh_handshake_attempts=2,
                   ssh_timeout="2m")
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(120)
    message = str(info.value)
    assert "authentication failed" in message and TEST_USER in message
    assert "password" in message and "keyboard-interactive" in message
    assert "gave up after 2 authentication attempts" in message
    assert "wrong-password" not in message


def test_wrong_key_fails_after_the_handshake_attempts(relays, fresh_sshd, keys_dir):
    stranger = keygen(keys_dir / "stranger", "ed25519")
    server = fresh_sshd()
    relay = relays(server, connect=False, ssh_private_key_file=str(stranger), ssh_handshake_attempts=3)
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(120)
    message = str(info.value)
    assert "publickey" in message and str(stranger) in message
    assert "gave up after 3 authentication attempts" in message
    assert f"target {TEST_USER}@127.0.0.1:{server.port}" in message


def test_encrypted_key_without_agent_is_a_clear_error_not_a_hang(relays, sshd, keys_dir, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    key = keygen(keys_dir / "encrypted", "ed25519", passphrase="sekrit-pass")
    relay = relays(sshd, connect=False, ssh_private_key_file=str(key))
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(60)
    assert "encrypted" in str(info.value) and "ssh-add" in str(info.value) and str(key) in str(info.value)
    assert "timed out" not in str(info.value)


def test_key_readable_by_others_is_warned_about(relays, sshd, client_key, tmp_path, caplog):
    loose = tmp_path / "loose_key"
    loose.write_bytes(client_key.read_bytes())
    os.chmod(loose, 0o644)
    with caplog.at_level(logging.WARNING, logger="hatchway.ssh"):
        relay = relays(sshd, ssh_private_key_file=str(loose))
        assert whoami(relay) == TEST_USER
    assert any(str(loose) in r.getMessage() and "chmod 600" in r.getMessage() for r in caplog.records)


def test_agent_auth_and_forwarding(relays, sshd, client_key, ssh_agent, monkeypatch):
    for name, value in ssh_agent.items():
        monkeypatch.setenv(name, value)
    subprocess.run(["ssh-add", str(client_key)], check=True, capture_output=True, timeout=30, env=os.environ)
    relay = relays(sshd, ssh_agent_auth=True)
    assert whoami(relay) == TEST_USER
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(client_key)], capture_output=True, text=True,
                                 check=True, timeout=30).stdout.split()[1]
    listed = relay.run("ssh-add -l")
    assert listed.exit_status == 0, listed.stderr
    assert fingerprint in listed.text, "the agent was not forwarded"
    no_forward = relays(sshd, ssh_agent_auth=True, ssh_disable_agent_forwarding=True)
    assert no_forward.run("echo \"[$SSH_AUTH_SOCK]\"").text.strip() == "[]"


def test_agent_auth_without_agent_says_so(relays, sshd, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    relay = relays(sshd, connect=False, ssh_agent_auth=True)
    with pytest.raises(ConnectError) as info:
        relay.connect()
    assert "SSH_AUTH_SOCK" in str(info.value)


# -- host keys ---------------------------------------------------------------------
def test_known_hosts_file_accepts_the_right_key(relays, sshd, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line("ecdsa"))
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_known_hosts_file=str(known))
    assert whoami(relay) == TEST_USER


def test_known_hosts_mismatch_shows_both_fingerprints(relays, sshd, client_key, tmp_path, keys_dir):
    impostor = keygen(keys_dir / "impostor_host", "ed25519")
    public = " ".join(Path(str(impostor) + ".pub").read_text().split()[:2])
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {public}\n")
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_known_hosts_file=str(known))
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(30)
    message = str(info.value)
    expected = subprocess.run(["ssh-keygen", "-lf", str(impostor)], capture_output=True, text=True,
                              timeout=30).stdout.split()[1]
    assert "mismatch" in message and expected in message and sshd.host_fingerprint("ed25519") in message


def test_host_not_in_known_hosts_is_refused(relays, sshd, client_key, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("[127.0.0.9]:2222 " + sshd.host_public_key() + "\n")
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_known_hosts_file=str(known))
    with pytest.raises(ConnectError) as info:
        relay.connect()
    assert "not in ssh_known_hosts_file" in str(info.value) and "ssh-keyscan" in str(info.value)


def test_host_key_fingerprint(relays, sshd, client_key):
    good = sshd.host_fingerprint("ed25519")
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_host_key_fingerprint=good)
    assert whoami(relay) == TEST_USER
    wrong = "SHA256:" + "A" * 43
    bad = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_host_key_fingerprint=wrong)
    with pytest.raises(ConnectError) as info:
        bad.connect()
    assert wrong in str(info.value) and good in str(info.value)


def test_unchecked_host_key_fingerprint_is_logged(relays, sshd, client_key, caplog):
    with caplog.at_level(logging.INFO, logger="hatchway.ssh"):
        relays(sshd, ssh_private_key_file=str(client_key))
    assert any(sshd.host_fingerprint("ed25519") in r.getMessage() for r in caplog.records)


def test_agent_socket_that_is_gone_says_so(relays, sshd, monkeypatch, tmp_path):
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "no-agent.sock"))
    relay = relays(sshd, connect=False, ssh_agent_auth=True)
    with pytest.raises(ConnectError) as info:
        relay.connect()
    assert "no-agent.sock" in str(info.value)

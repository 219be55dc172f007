"""The ssh_* keys as a template gives them: defaults, aliases, cross-key rules; a light import."""
from __future__ import annotations

import subprocess
import sys

from hatchway.config import build
from hatchway_ssh import SSHConfig
from hatchway_ssh.config import parse_tunnel


def problems_of(data: dict) -> list:
    return [str(p) for p in build(SSHConfig, {"ssh_username": "u", **data})[1]]


def test_username_is_required():
    config, problems = build(SSHConfig, {})
    assert config is None and any("ssh_username" in str(p) and "required" in str(p) for p in problems)


def test_timeout_and_attempts_defaults_follow_packer():
    config, _ = build(SSHConfig, {"ssh_username": "u"})
    assert config.connect_timeout() == 300 and config.handshake_attempts() == 10
    config, _ = build(SSHConfig, {"ssh_username": "u", "ssh_timeout": "30s"})
    assert config.connect_timeout() == 30 and config.handshake_attempts() == 0
    config, _ = build(SSHConfig, {"ssh_username": "u", "ssh_handshake_attempts": 3})
    assert config.connect_timeout() == float("inf") and config.handshake_attempts() == 3
    config, problems = build(SSHConfig, {"ssh_username": "u", "ssh_wait_timeout": "2m"})
    assert config.connect_timeout() == 120 and any("deprecated" in str(p) for p in problems)


def test_other_defaults():
    config, _ = build(SSHConfig, {"ssh_username": "u"})
    assert config.ssh_port == 22 and config.ssh_proxy_port == 1080 and config.ssh_bastion_port == 22
    assert config.keep_alive() == 5 and config.read_write_timeout() == 0
    assert config.ssh_file_transfer_method == "scp" and config.ssh_pty is False
    assert config.ssh_disable_agent_forwarding is False and config.temporary_key_pair_type == "rsa"


def test_bastion_and_proxy_are_exclusive():
    found = problems_of({"ssh_bastion_host": "b", "ssh_bastion_password": "p", "ssh_proxy_host": "s"})
    assert any("ssh_proxy_host" in p and "ssh_bastion_host" in p for p in found)


def test_bastion_needs_credentials_and_inherits_the_key(tmp_path):
    assert any("ssh_bastion_host" in p for p in problems_of({"ssh_bastion_host": "b"}))
    key = tmp_path / "k"
    key.write_text("x")
    config, problems = build(SSHConfig, {"ssh_username": "u", "ssh_bastion_host": "b",
                                         "ssh_private_key_file": str(key)})
    assert config is not None, problems
    assert config.bastion_key_files() == (str(key), None)


def test_certificate_needs_a_key_and_files_must_exist(tmp_path):
    assert any("needs ssh_private_key_file" in p for p in problems_of({"ssh_certificate_file": __file__}))
    assert any("does not exist" in p for p in problems_of({"ssh_private_key_file": str(tmp_path / "none")}))


def test_fingerprint_format_and_tunnels_and_method():
    assert any("SHA256" in p for p in problems_of({"ssh_host_key_fingerprint": "md5:aa:bb"}))
    assert any("PORT:HOST:HOSTPORT" in p for p in problems_of({"ssh_local_tunnels": ["8080"]}))
    assert any("'scp', 'sftp'" in p for p in problems_of({"ssh_file_transfer_method": "ftp"}))
    assert parse_tunnel("8080:localhost:80") == (8080, "localhost", 80)
    assert parse_tunnel("9000:[::1]:22") == (9000, "::1", 22)


def test_password_never_appears_in_problems():
    found = problems_of({"ssh_password": ["not", "a", "string"]})
    assert found and not any("not" in p and "string" in p and "[" in p for p in found)


def test_importing_the_plugin_does_not_import_paramiko():
    code = "import sys, hatchway_ssh; print('paramiko' in sys.modules, 'socks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False False"


def test_plugin_registers_the_ssh_communicator():
    import hatchway_ssh

    seen = []
    hatchway_ssh.register_communicators(seen.append)
    assert seen == [hatchway_ssh.SSHCommunicator] and seen[0].name == "ssh"

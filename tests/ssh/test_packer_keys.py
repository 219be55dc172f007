"""The ssh communicator accepts every key of Packer's SSH struct and refuses ports it cannot use."""
from __future__ import annotations

import pytest

from hatchway.config import build, keys_of
from hatchway_ssh.config import SSHConfig

# packer-plugin-sdk communicator/config.hcl2spec.go (the SSH struct). ssh_public_key and ssh_private_key
# are left out: undocumented byte fields a builder fills in (here: Target.data["ssh_private_key"]).
PACKER_SSH_KEYS = (
    "pause_before_connecting ssh_agent_auth ssh_bastion_agent_auth ssh_bastion_certificate_file ssh_bastion_host "
    "ssh_bastion_interactive ssh_bastion_password ssh_bastion_port ssh_bastion_private_key_file "
    "ssh_bastion_username ssh_certificate_file ssh_ciphers ssh_clear_authorized_keys ssh_disable_agent_forwarding "
    "ssh_file_transfer_method ssh_handshake_attempts ssh_host ssh_keep_alive_interval ssh_key_exchange_algorithms "
    "ssh_keypair_name ssh_local_tunnels ssh_password ssh_port ssh_private_key_file ssh_proxy_host "
    "ssh_proxy_password ssh_proxy_port ssh_proxy_username ssh_pty ssh_read_write_timeout ssh_remote_tunnels "
    "ssh_timeout ssh_username ssh_wait_timeout temporary_key_pair_bits temporary_key_pair_name "
    "temporary_key_pair_type"
)


def test_every_packer_ssh_key_is_accepted():
    assert set(PACKER_SSH_KEYS.split()) - set(keys_of(SSHConfig)) == set()


def test_ssh_keypair_name_needs_a_private_key_or_the_agent():
    # communicator/config.go: "ssh_private_key_file or ssh_agent_auth must be specified when
    # ssh_keypair_name is utilized"
    _, problems = build(SSHConfig, {"ssh_username": "u", "ssh_keypair_name": "my-pair"}, "b")
    assert str(problems[0]).startswith("b.ssh_keypair_name: needs ssh_private_key_file or ssh_agent_auth")
    config, problems = build(SSHConfig, {"ssh_username": "u", "ssh_keypair_name": "my-pair", "ssh_agent_auth": True})
    assert problems == [] and config.ssh_keypair_name == "my-pair"


@pytest.mark.parametrize("key", ["ssh_port", "ssh_bastion_port", "ssh_proxy_port"])
@pytest.mark.parametrize("value", [87558, -1, "65536"])
def test_ports_outside_1_to_65535_are_errors_naming_the_key(key, value):
    _, problems = build(SSHConfig, {"ssh_username": "u", key: value}, "builders[0]")
    assert str(problems[0]).startswith(f"builders[0].{key}: {int(value)} is not a TCP port: use 1-65535")


def test_zero_or_empty_ports_are_packers_defaults():
    # communicator/config.go prepareSSH: SSHPort 0 -> 22, SSHBastionPort 0 -> 22, SSHProxyPort 0 -> 1080
    config, problems = build(SSHConfig, {"ssh_username": "u", "ssh_port": "", "ssh_bastion_port": 0,
                                         "ssh_proxy_port": "0"})
    assert problems == [] and (config.ssh_port, config.ssh_bastion_port, config.ssh_proxy_port) == (22, 22, 1080)


def test_builder_mixin_carries_ssh_interface_and_ip_version():
    import attrs

    import hatchway

    @attrs.define(kw_only=True)
    class CloudConfig(hatchway.SSHInterfaceConfig):
        region: str = "eu"

    config, problems = build(CloudConfig, {"ssh_interface": "private_ip", "ssh_ip_version": 6})
    assert problems == [] and (config.ssh_interface, config.ssh_ip_version) == ("private_ip", "6")
    _, problems = build(CloudConfig, {"ssh_ip_version": "5"})
    assert "ssh_ip_version: must be one of '', '4', '6'" in str(problems[0])


def test_use_env_var_file_and_env_var_format_over_ssh(sshd, client_key, tmp_path):
    """A real build over ssh: Packer's use_env_var_file (provisioner/shell/provisioner.go) uploads
    varfile_<n>.sh next to the script, sources it, removes it; env_var_format shapes {{.Vars}}."""
    import json
    import subprocess
    import sys
    import uuid

    from servers.sshd import TEST_USER

    folder = f"/tmp/hatchway-keys-{uuid.uuid4().hex[:8]}"
    template = tmp_path / "t.json"
    template.write_text(json.dumps({
        "builders": [{"type": "null", "name": "one", "communicator": "ssh", "ssh_host": sshd.host,
                      "ssh_port": str(sshd.port), "ssh_username": TEST_USER, "ssh_private_key_file": str(client_key),
                      "ssh_timeout": "30s"}],
        "provisioners": [
            {"type": "shell", "inline": f"mkdir -p {folder}"},
            {"type": "shell", "inline": ["echo \"file [$GREETING]\"", "ls $(dirname $0) | grep -c '^varfile_'"],
             "environment_vars": ["GREETING=it's $HOME"], "use_env_var_file": "true", "remote_folder": folder},
            {"type": "shell", "inline": ["true"], "env": {"B": "2"}, "env_var_format": "export %s=%s; ",
             "execute_command": "{{.Vars}} sh -c 'echo \"format [$B]\"'"},
            {"type": "shell", "inline": [f"ls -A {folder} | wc -l", f"rm -rf {folder}"]},
        ],
    }))
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(template)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "one: file [it's $HOME]" in lines and "one: format [2]" in lines
    assert lines.count("one: 1") == 1 and "one: 0" in lines  # there while it ran, gone afterwards


@pytest.mark.parametrize("keys", [{"ssh_timeout": "0s"}, {"ssh_handshake_attempts": 0}, {"ssh_timeout": ""},
                                  {"ssh_timeout": "0s", "ssh_handshake_attempts": "0"}])
def test_zero_timeout_and_attempts_are_unset(keys):
    # communicator/config.go prepareSSH: `if c.SSHTimeout == 0 && c.SSHHandshakeAttempts == 0 {5m, 10}`
    config, problems = build(SSHConfig, {"ssh_username": "u", **keys})
    if "ssh_timeout" in keys and keys["ssh_timeout"] == "":
        assert "not a duration" in str(problems[0])  # time.ParseDuration("") fails in Packer too
        return
    assert problems == [] and (config.connect_timeout(), config.handshake_attempts()) == (300, 10)

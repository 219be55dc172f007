"""{{build `...`}} over ssh: the running build's real values reach the provisioners (Packer's
multistep/commonsteps/step_provision.go PopulateProvisionHookData: Host, Port, User from the
communicator config, ConnType, SSHPrivateKey)."""
from __future__ import annotations

import json
import subprocess
import sys

from servers.sshd import TEST_USER


def test_build_values_over_ssh(fresh_sshd, client_key, tmp_path):
    server = fresh_sshd()
    out = tmp_path / "values.txt"
    template = tmp_path / "template.json"
    template.write_text(json.dumps({
        "builders": [{"type": "null", "name": "values", "communicator": "ssh", "ssh_host": server.host,
                      "ssh_port": server.port, "ssh_username": TEST_USER, "ssh_private_key_file": str(client_key),
                      "ssh_timeout": "30s"}],
        "provisioners": [
            {"type": "shell", "inline": ["echo remote sees {{build `User`}}@{{build `Host`}}:{{build `Port`}}"]},
            {"type": "shell-local", "inline": [
                f"echo '{{{{build `ConnType`}}}} {{{{build `Host`}}}} {{{{build `Port`}}}} {{{{build `User`}}}}' > {out}",
                f"echo 'key={{{{build `SSHPrivateKey` | printf \"%.35s\"}}}}' >> {out}",
                "echo 'the key is {{build `SSHPrivateKey`}}'"]},
        ],
    }))
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(template)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"remote sees {TEST_USER}@{server.host}:{server.port}" in result.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == f"ssh {server.host} {server.port} {TEST_USER}"
    assert lines[1] == "key=-----BEGIN OPENSSH PRIVATE KEY-----"
    body = client_key.read_text().splitlines()[1]
    assert "the key is" in result.stdout and body not in result.stdout  # a secret: redacted from the output

"""`hatchway build` with the ssh communicator and the shell provisioner: a machine that reboots mid-build."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from servers.sshd import TEST_USER


def start_build(tmp_path: Path, server, key: Path, steps: list) -> subprocess.Popen:
    template = tmp_path / "template.json"
    template.write_text(json.dumps({
        "builders": [{"type": "null", "name": "rebooting", "communicator": "ssh", "ssh_host": server.host,
                      "ssh_port": server.port, "ssh_username": TEST_USER, "ssh_private_key_file": str(key),
                      "ssh_timeout": "30s"}],
        "provisioners": steps,
    }))
    return subprocess.Popen([sys.executable, "-m", "hatchway.cli", "build", str(template)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


@pytest.mark.parametrize("expect_disconnect", [True, False])
def test_server_restarted_mid_build(fresh_sshd, client_key, tmp_path, expect_disconnect):
    server = fresh_sshd()
    marker = Path(f"/tmp/hatchway-reboot-{os.getpid()}-{expect_disconnect}")
    steps = [
        {"type": "shell", "inline": [f"touch {marker}.rebooting", "sleep 60"],
         "expect_disconnect": expect_disconnect, "start_retry_timeout": "60s"},
        {"type": "shell", "inline": [f"echo after-reboot > {marker}.after"]},
    ]
    build = start_build(tmp_path, server, client_key, steps)
    try:
        wait_for(Path(f"{marker}.rebooting"))
        server.restart()  # the machine reboots while the script runs
        output, _ = build.communicate(timeout=120)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait(10)
    try:
        if expect_disconnect:
            assert build.returncode == 0, output
            assert Path(f"{marker}.after").read_text() == "after-reboot\n"
        else:
            assert build.returncode != 0, output
            assert "expect_disconnect" in output
            assert not Path(f"{marker}.after").exists()
    finally:
        for suffix in (".rebooting", ".after"):
            Path(f"{marker}{suffix}").unlink(missing_ok=True)

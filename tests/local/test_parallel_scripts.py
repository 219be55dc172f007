"""Many ``local`` builds at once: a script written by one build is never "Text file busy" for it.

Each build writes its scripts (``shell`` through the local communicator's
upload, ``shell-local`` into a temporary file) and executes them at once,
while the other builds' threads start processes. A child forked by another
thread holds every file open at that moment until it has exec'd; before
the fix, 30 builds x 3 ``shell`` steps failed with exit 126 "Text file busy"
in about one run in three.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.core_env import Env

BUILDS, RUNS = 30, 8

pytestmark = pytest.mark.timeout(600)


def test_thirty_parallel_local_builds_run_every_script(tmp_path: Path) -> None:
    env = Env(tmp_path)
    path = env.template({
        "builders": [{"type": "null", "name": f"b{i:02}", "communicator": "local"} for i in range(BUILDS)],
        "provisioners": [{"type": "shell", "inline": [f"echo shell step {step} of $PACKER_BUILD_NAME"]}
                         for step in range(3)]
                        + [{"type": "shell-local", "inline": ["echo local step of $PACKER_BUILD_NAME"]}],
    })
    for run in range(RUNS):
        result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(path)], capture_output=True,
                                text=True, env=env.env(), cwd=tmp_path, timeout=240)
        text = result.stdout + result.stderr
        assert "Text file busy" not in text, f"run {run}: {text[-3000:]}"
        assert result.returncode == 0, f"run {run}: {text[-3000:]}"
        for i in range(BUILDS):
            for step in range(3):
                assert f"b{i:02}: shell step {step} of b{i:02}" in text, (run, i, step)
            assert f"b{i:02}: local step of b{i:02}" in text, (run, i)

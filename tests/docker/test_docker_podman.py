"""The docker builder's tests, run again against podman's Docker-compatible API (``podman system service``).

podman runs containers here once its default RLIMIT_NOFILE/RLIMIT_NPROC are
lowered to what this machine lets a container set (the fixture's
containers.conf, tests/servers/dockerd.PODMAN_CONF; without it runc fails
with "error setting rlimit type 7: operation not permitted"). The builder,
commit and communicator contract tests then run unchanged in a pytest of
their own whose DOCKER_HOST is podman's socket.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers.dockerd import start_podman

ROOT = Path(__file__).resolve().parents[2]
SUITES = ["tests/docker/test_docker_builder.py", "tests/docker/test_docker_commit.py",
          "tests/docker/test_docker_contract.py"]


@pytest.fixture(scope="module")
def podman():
    try:
        engine = start_podman()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield engine
    engine.stop()


def test_builder_tests_pass_under_podman(podman):
    assert podman.is_podman
    env = {**podman.env, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *SUITES],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary

"""The README's first command, as a new user runs it: from the repository root, into a fresh venv."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_run_example_script_installs_and_builds(tmp_path: Path) -> None:
    copy = tmp_path / "hatchway"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".venv", ".tox", ".hypothesis", "output"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HATCHWAY_VENV"] = str(tmp_path / "venv")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(["bash", "scripts/run-example.sh"], cwd=copy, env=env, capture_output=True, text=True,
                            timeout=540)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "    hello: Hello from Hatchway, build hello" in result.stdout
    assert "    hello: downloaded: greeting.txt stamp.txt" in result.stdout
    assert "==> Builds finished. The artifacts of successful builds are:" in result.stdout
    assert (copy / "examples" / "output" / "greeting.txt").read_text() == "Hello from Hatchway, build hello\n"

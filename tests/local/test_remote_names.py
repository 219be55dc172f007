"""A ``\\`` in a remote name on a POSIX machine is part of the name, not a separator (issue 13 §7)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hatchway.relay import remote_basename
from helpers.core_env import Env


def test_a_backslash_in_a_posix_name_is_kept_when_downloading_into_a_directory(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "a\\b.txt").write_text("whole name")
    (remote / "tree").mkdir()
    (remote / "tree" / "c\\d.txt").write_text("inside a tree")
    env = Env(tmp_path)
    out = tmp_path / "out"
    path = env.template({
        "builders": [{"type": "null", "communicator": "local"}],
        "provisioners": [
            {"type": "file", "direction": "download", "source": str(remote / "a\\b.txt"), "destination": f"{out}/"},
            {"type": "file", "direction": "download", "source": str(remote / "tree"), "destination": f"{out}/"},
        ]})
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(path)], capture_output=True,
                            text=True, env=env.env(), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a\\b.txt", "tree"]
    assert (out / "a\\b.txt").read_text() == "whole name"
    assert (out / "tree" / "c\\d.txt").read_text() == "inside a tree"


@pytest.mark.parametrize("path, windows, name", [
    ("/srv/a\\b.txt", None, "a\\b.txt"),
    ("/srv/dir\\/", None, "dir\\"),
    ("a\\b.txt", False, "a\\b.txt"),
    ("a\\b.txt", None, "b.txt"),  # no "/" at all: a Windows path, unless the communicator says otherwise
    ("C:\\Users\\me\\file.txt", None, "file.txt"),
    ("c:/Windows/Temp/x.ps1", None, "x.ps1"),
    ("C:\\Temp\\dir\\", None, "dir"),
    ("\\\\server\\share\\f.txt", None, "f.txt"),
    ("/srv/plain/", None, "plain"),
    ("C:/mixed\\path/f.txt", True, "f.txt"),
])
def test_remote_basename(path: str, windows, name: str) -> None:
    assert remote_basename(path, windows) == name

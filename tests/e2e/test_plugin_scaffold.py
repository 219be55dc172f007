"""``hatchway plugins new``: a generated plugin of each kind installs into a fresh venv and passes its own tests.

The venv has no site-packages of ours: the core and the bundled ``none`` and
``local`` plugins are pip-installed from a clean copy of this worktree
(``--no-deps --no-build-isolation``: nothing is built from the network), the
third-party libraries by name. Each generated distribution is installed the
same way and its tests run unchanged with that venv's pytest.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from hatchway.cli import main

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
LIBRARIES = ["attrs", "pluggy", "rich", "pathspec", "pytest", "setuptools", "wheel"]


def run(argv: List[str], cwd: Path, timeout: float = 420) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("scaffold")
    made = run([sys.executable, "-m", "venv", str(base / "venv")], base, 120)
    assert made.returncode == 0, made.stderr
    python = base / "venv" / "bin" / "python"
    source = base / "hatchway"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(REPO / "core", source / "core", ignore=ignore)
    for plugin in ("none", "local"):
        shutil.copytree(REPO / "plugins" / plugin, source / "plugins" / plugin, ignore=ignore)
    libraries = run([str(python), "-m", "pip", "install", "-q", *LIBRARIES], base)
    assert libraries.returncode == 0, libraries.stdout + libraries.stderr
    ours = run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source),
                str(source / "plugins" / "none"), str(source / "plugins" / "local")], base)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    return python


@pytest.mark.parametrize("kind", ["communicator", "builder", "provisioner"])
def test_a_new_plugin_installs_and_passes_its_own_tests(venv: Path, tmp_path: Path, kind: str, capsys):
    name = f"new-{kind}"
    assert main(["plugins", "new", name, f"--{kind}", "--directory", str(tmp_path)]) == 0
    root = tmp_path / f"hatchway-{name}"
    assert f"Wrote {root}: the {kind} '{name}'" in capsys.readouterr().out
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted([
        "README.md", "pyproject.toml", f"hatchway_{name.replace('-', '_')}/__init__.py",
        "tests/test_plugin.py", f"tests/test_{kind}.py"])
    installed = run([str(venv), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(root)],
                    tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    tests = run([str(venv), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], root, 600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    summary = tests.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
    if kind == "communicator":  # the whole contract suite ran
        assert int(summary.split()[0]) >= 30, summary


def test_plugins_new_refuses_bad_names_and_existing_directories(tmp_path: Path, capsys):
    assert main(["plugins", "new", "Bad_Name", "--directory", str(tmp_path)]) == 1
    assert "'Bad_Name' is not a plugin name" in capsys.readouterr().err
    assert main(["plugins", "new", "twice", "--directory", str(tmp_path)]) == 0
    assert main(["plugins", "new", "twice", "--builder", "--directory", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err

"""The example out-of-tree plugin (examples/plugin) as a user meets it: pip-installed into a fresh venv.

One virtual environment is made for the module (no system site-packages),
with the core and the example plugin pip-installed from a clean copy of
this repository (pip fetches attrs, pluggy, rich and the build tools from the package
registry). Then the ``hatchway`` command of that venv lists, validates,
builds, and finally uninstalls the plugin.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "examples" / "plugin"
TEMPLATE = PLUGIN / "example.json"
DIST, VERSION = "hatchway-dirmachine", "0.1.0"


def _env() -> dict:
    """This process's environment without anything pointing into the dev venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(argv: List[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


class Venv:
    def __init__(self, path: Path, plugin: Path) -> None:
        self.path = path
        self.plugin = plugin  # the example plugin's source, as installed
        self.bin = path / "bin"

    def pip(self, *args: str, timeout: float = 420) -> None:
        result = run([str(self.bin / "python"), "-m", "pip", *args], self.path, timeout)
        assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"

    def hatchway(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return run([str(self.bin / "hatchway"), *args], cwd)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    path = tmp_path_factory.mktemp("fresh") / "venv"
    made = run([sys.executable, "-m", "venv", str(path)], path.parent, 120)
    assert made.returncode == 0, f"python -m venv failed (apt-get install python3-venv?):\n{made.stderr}"
    # pip builds in the source tree (build/, *.egg-info): build from a clean copy, never from the work tree
    source = tmp_path_factory.mktemp("source") / "hatchway"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".venv", ".tox", ".hypothesis"))
    env = Venv(path, source / "examples" / "plugin")
    env.pip("install", "-q", str(source))
    # the plugin goes in the way a user adds one: `hatchway plugins install` (pip in Hatchway's own venv)
    installed = env.hatchway("plugins", "install", "--no-cache-dir", str(env.plugin), cwd=path.parent)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The current directory of the hatchway commands, with an empty parent_directory for machines."""
    (tmp_path / "machines").mkdir()
    return tmp_path


def write_template(path: Path, builders: list, provisioners: list = ()) -> Path:
    path.write_text(json.dumps({"builders": builders, "provisioners": list(provisioners)}))
    return path


def test_the_fresh_venv_lists_the_plugin_and_both_registrations(venv: Venv, workdir: Path) -> None:
    listed = venv.hatchway("plugins", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    start = lines.index(f"dirmachine ({DIST} {VERSION})")
    block = lines[start + 1:start + 3]
    assert "    communicators: dirmachine" in block and "    builders: dirmachine" in block
    table = json.loads(venv.hatchway("plugins", "-json", cwd=workdir).stdout)
    rows = {row["name"]: row for row in table["plugins"]}
    assert rows["dirmachine"]["distribution"] == DIST and rows["dirmachine"]["version"] == VERSION
    assert rows["dirmachine"]["communicator"] == ["dirmachine"] and rows["dirmachine"]["builder"] == ["dirmachine"]
    assert table["problems"] == []
    # a fresh venv: only the core and what we installed, none of the dev venv's plugins
    assert {row["distribution"] for row in rows.values()} == {"hatchway", DIST}


def test_validate_accepts_the_example_and_reports_bad_keys(venv: Venv, workdir: Path) -> None:
    ok = venv.hatchway("validate", str(TEMPLATE), cwd=workdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "The configuration is valid." in ok.stdout
    # the builder's and the communicator's check() rules, both run by validate
    bad = write_template(workdir / "bad.json", [{"type": "dirmachine", "hostname": "no_under_scores",
                                                 "dirmachine_shell": "sh"}])
    result = venv.hatchway("validate", str(bad), cwd=workdir)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "builders[0].hostname: 'no_under_scores' is not a valid host name" in out
    assert "builders[0].dirmachine_shell: must be an absolute path on the machine, not 'sh'" in out
    # a misspelt key of the plugin's communicator, with a suggestion from its Config class
    typo = write_template(workdir / "typo.json", [{"type": "dirmachine", "dirmachine_hom": "/root"}])
    result = venv.hatchway("validate", str(typo), cwd=workdir)
    assert result.returncode == 1
    assert "builders[0].dirmachine_hom: unknown key (did you mean 'dirmachine_home'?)" in result.stdout + result.stderr


def test_build_provisions_the_machine_and_keeps_it_as_the_artifact(venv: Venv, workdir: Path) -> None:
    out = workdir / "out"
    result = venv.hatchway("build", "-var", f"output={out}", "-var", f"machines={workdir / 'machines'}",
                           str(TEMPLATE), cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for expected in ("    demo: on demo as uid 0 in /root, built by dirmachine",
                     "    demo: site files: index.html start.sh",
                     "    demo: index says: <h1>Served from a directory machine</h1>",
                     "    demo: built by demo (dirmachine)",
                     f"--> demo: a directory machine in {out}"):
        assert expected in lines, f"{expected!r} not in the output:\n{result.stdout}"
    # what the provisioners did, in the kept machine
    assert (out / "etc/motd").read_text() == "Welcome to a machine made by Hatchway\n"
    assert (out / "etc/hostname").read_text() == "demo\n"
    assert (out / "etc/build-info").read_text() == "built by demo (dirmachine)\n"
    assert (out / "srv/site/index.html").read_bytes() == (PLUGIN / "files/site/index.html").read_bytes()
    assert stat.S_IMODE((out / "srv/site/start.sh").stat().st_mode) == 0o755
    assert not (out / "dev/null").exists(), "device nodes must not be kept in the artifact"
    # the download provisioner, and the throw-away directory is gone
    assert Path(f"{out}.motd").read_text() == "Welcome to a machine made by Hatchway\n"
    assert list((workdir / "machines").iterdir()) == []
    # a second build refuses to overwrite the artifact, unless -force
    again = venv.hatchway("build", "-var", f"output={out}", "-var", f"machines={workdir / 'machines'}",
                          str(TEMPLATE), cwd=workdir)
    assert again.returncode == 1
    assert "already exists: remove it, or run hatchway build -force" in again.stdout + again.stderr
    assert list((workdir / "machines").iterdir()) == []


def test_a_failed_build_still_removes_the_machine(venv: Venv, workdir: Path) -> None:
    template = write_template(
        workdir / "failing.json",
        [{"type": "dirmachine", "parent_directory": str(workdir / "machines"),
          "output_directory": str(workdir / "out")}],
        [{"type": "shell", "inline": ["echo before-failing > /etc/partial", "exit 7"]}],
    )
    result = venv.hatchway("build", str(template), cwd=workdir)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "exited with status 7" in out
    assert "Removing the machine" in out
    assert list((workdir / "machines").iterdir()) == []
    assert not (workdir / "out").exists()


def test_ctrl_c_stops_the_command_and_removes_the_machine(venv: Venv, workdir: Path) -> None:
    template = write_template(
        workdir / "long.json", [{"type": "dirmachine", "parent_directory": str(workdir / "machines")}],
        [{"type": "shell", "inline": ["touch /tmp/started", "sleep 300"]}],
    )
    proc = subprocess.Popen([str(venv.bin / "hatchway"), "build", str(template)], cwd=workdir, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def started_or_exited() -> List[Path]:
            assert proc.poll() is None, proc.communicate()[0]
            return list((workdir / "machines").glob("*/tmp/started"))

        started = wait_until(started_or_exited, "the provisioner's start", timeout=60)
        root = str(started[0].parents[1])
        assert _processes_in(root), "the running command is not visible in /proc"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, out
    assert "Interrupt received. Cleaning up..." in out and "Build was interrupted" in out
    assert "Removing the machine" in out
    assert list((workdir / "machines").iterdir()) == []
    assert _processes_in(root) == [], "a command of the interrupted build is still running"


def _processes_in(root: str) -> List[str]:
    """The pids of the processes whose root directory is ``root``: the commands running in that machine."""
    found = []
    for link in Path("/proc").glob("[0-9]*/root"):
        try:
            target = os.readlink(link)
            if target == root or target == f"{root} (deleted)":  # the kernel marks a removed root so
                found.append(link.parent.name)
        except OSError:  # the process ended meanwhile
            continue
    return found


def test_uninstalling_the_plugin_leaves_an_install_hint(venv: Venv, workdir: Path) -> None:
    via_null = write_template(workdir / "null.json", [{"type": "null", "communicator": "dirmachine"}])
    try:
        removed = venv.hatchway("plugins", "uninstall", DIST, cwd=workdir)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        listed = venv.hatchway("plugins", cwd=workdir)
        assert listed.returncode == 0 and "dirmachine" not in listed.stdout
        result = venv.hatchway("validate", str(TEMPLATE), cwd=workdir)
        assert result.returncode == 1
        assert ("no builder named 'dirmachine' is installed; install it with: "
                f"hatchway plugins install {DIST}") in result.stdout + result.stderr
        result = venv.hatchway("validate", str(via_null), cwd=workdir)
        assert result.returncode == 1
        assert ("no communicator named 'dirmachine' is installed; install it with: "
                f"hatchway plugins install {DIST}") in result.stdout + result.stderr
    finally:  # leave the module's venv as the other tests expect it, whatever the order
        venv.pip("install", "-q", "--no-deps", str(venv.plugin))

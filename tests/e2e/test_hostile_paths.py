"""Hostile remote paths through ``hatchway build``, for every communicator and both directions.

One template per communicator (local, ssh with scp+tar, scp and sftp,
docker, winrm) moves files whose names hold spaces, quotes, ``$(...)``,
backticks, ``;``, ``&&``, newlines, globs, unicode and leading dashes with
the ``file`` provisioner (single files and whole trees, up and down), and
``shell`` scripts run from such folders (local, ssh, docker). Afterwards
the names must be exactly the same on the remote side and back here, and
no ``touch`` planted in a name may have run: the planted name is searched
for on the whole machine (and, for docker, in the container's exported
filesystem). Also: backslashes, the longest names (255 bytes), and trees
holding a symbolic link loop (their files arrive, or one clear line names
the loop).

The communicator contract (hatchway.testing.contract) covers the relay
level; this covers what a template and the CLI add on top.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from helpers.core_env import Env

pytestmark = pytest.mark.timeout(300)

TOKEN = uuid.uuid4().hex[:10]
PLANT = f"plant-{TOKEN}"


def plant(tag: str) -> str:
    """A shell command that would leave ``plant-<token>-<tag>`` in the current directory."""
    return f"touch {PLANT}-{tag}"


#: File names, each a single path component.
NAMES: List[str] = [
    "sp ace  twice",
    "qu'o\"te",
    f"$({plant('dollar')})",
    f"`{plant('tick')}`",
    f"x;{plant('semi')};y",
    f"a&&{plant('and')}|cat",
    "new\nline",
    "ünï cødé ✓ 日本語",
    "-dash",
    "--help",
    "*star?[gl]ob",
    "$HOME ${IFS}~",
]

#: A POSIX name only (on Windows a backslash separates folders): not sent over WinRM.
BACKSLASH = "back\\slash"

#: The remote folder every transfer goes below (itself a hostile name).
ROOT_NAME = f"root $({plant('root')});`{plant('root2')}`"
#: Relative destinations starting with a dash (in the remote's current directory).
REL_FILE = f"-rel-{TOKEN} $({plant('rel')})"


def content(name: str) -> bytes:
    return f"content of {name!r}\n".encode()


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in NAMES:
        (src / name).write_bytes(content(name))
    return src


def provisioners(src: Path, remote_root: str, back: Path) -> List[dict]:
    """Every transfer of the test: files one by one and a tree, up then down."""
    steps: List[dict] = []
    for name in NAMES:
        steps.append({"type": "file", "source": str(src / name), "destination": f"{remote_root}/files/{name}"})
    steps.append({"type": "file", "source": f"{src}/", "destination": f"{remote_root}/tree {PLANT}"})
    steps.append({"type": "file", "content": "inline\n", "destination": f"{remote_root}/{NAMES[2]}.content"})
    steps.append({"type": "file", "source": str(src / NAMES[0]), "destination": REL_FILE})
    for name in NAMES:
        steps.append({"type": "file", "direction": "download", "source": f"{remote_root}/files/{name}",
                      "destination": str(back / "files" / name)})
    steps.append({"type": "file", "direction": "download", "source": f"{remote_root}/tree {PLANT}/",
                  "destination": str(back / "tree")})
    steps.append({"type": "file", "direction": "download", "source": REL_FILE, "destination": str(back / "rel")})
    return steps


def expected_remote() -> Dict[str, bytes]:
    """Relative path under ``remote_root`` -> bytes, for every file the build leaves there."""
    files = {f"files/{name}": content(name) for name in NAMES}
    files.update({f"tree {PLANT}/{name}": content(name) for name in NAMES})
    files[f"{NAMES[2]}.content"] = b"inline\n"
    return files


def check_back(back: Path) -> None:
    assert sorted(os.listdir(back / "files")) == sorted(NAMES)
    assert sorted(os.listdir(back / "tree")) == sorted(NAMES)
    for name in NAMES:
        assert (back / "files" / name).read_bytes() == content(name), name
        assert (back / "tree" / name).read_bytes() == content(name), name
    assert (back / "rel").read_bytes() == content(NAMES[0])


def files_below(root: Path) -> Dict[str, bytes]:
    out = {}
    for here, _dirs, files in os.walk(root):
        for name in files:
            path = Path(here) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def planted_here(prefix: str = PLANT) -> List[str]:
    """Every file on this machine whose name starts with ``prefix`` (there must be none)."""
    found = subprocess.run(["find", "/", "/tmp", "/root", "/home", "/work", "-xdev", "-name", f"{prefix}*"],
                           capture_output=True, text=True, timeout=120).stdout
    return sorted(set(found.split("\n")) - {""})


def make_env(tmp_path: Path) -> Env:
    root = tmp_path / "cli"
    root.mkdir()
    return Env(root)


def run_build(env: Env, builder: dict, steps: List[dict], **extra: str) -> str:
    template = env.template({"builders": [builder], "provisioners": steps})
    result = env.hatchway("build", str(template), timeout=240, **extra)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    return output


def docker_files(export: Path, remote: str) -> Dict[str, bytes]:
    """Files below ``remote`` (and the relative upload) in a container's exported filesystem, and plants."""
    found: Dict[str, bytes] = {}
    prefix = remote.lstrip("/") + "/"
    with tarfile.open(export) as archive:
        for member in archive:
            base = os.path.basename(member.name)
            if base.startswith("plant-"):
                found[f"(planted) {member.name}"] = b""
            if not member.isfile():
                continue
            key = member.name[len(prefix):] if member.name.startswith(prefix) else "(rel)" if base == REL_FILE else None
            if key is not None:
                reader = archive.extractfile(member)
                found[key] = reader.read() if reader else b""
    return found


# -- the machines ------------------------------------------------------------
@pytest.fixture(scope="module")
def ssh_server() -> Iterator[tuple]:
    from servers.sshd import Sshd, keygen

    keys = Path(tempfile.mkdtemp(prefix="hw-hostile-keys-"))
    key = keygen(keys / "id_ed25519")
    server = Sshd()
    server.authorize((keys / "id_ed25519.pub").read_text())
    try:
        server.start()
    except Exception as exc:  # a missing sshd: fail with the install hint, never skip
        shutil.rmtree(keys, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    yield server, key
    server.close()
    shutil.rmtree(keys, ignore_errors=True)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the ssh login user can write (pytest's own temp root is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="hw-hostile-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def ssh_home() -> Path:
    from servers.sshd import TEST_USER

    return Path(os.path.expanduser(f"~{TEST_USER}"))


def ssh_builder(ssh_server: tuple, method: str = "scp", tar: bool = True) -> dict:
    from servers.sshd import TEST_USER

    server, key = ssh_server
    return {"type": "null", "name": "ssh", "communicator": "ssh", "ssh_host": server.host,
            "ssh_port": server.port, "ssh_username": TEST_USER, "ssh_private_key_file": str(key),
            "ssh_timeout": "30s", "ssh_file_transfer_method": method, "ssh_tar_transfer": tar}


@pytest.fixture(scope="module")
def docker_engine(engine, images) -> tuple:
    return engine, images


def docker_builder(docker_engine: tuple, export: Path) -> dict:
    _engine, images = docker_engine
    return {"type": "docker", "name": "dock", "image": images["shell"], "pull": False, "export_path": str(export),
            "run_command": ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]}


def docker_env(docker_engine: tuple) -> Dict[str, str]:
    return {k: v for k, v in docker_engine[0].env.items() if k.startswith("DOCKER_")}


@pytest.fixture
def wsman(wsman_factory, tmp_path: Path) -> object:
    cwd = tmp_path / "winrm-home"
    cwd.mkdir()
    return wsman_factory(cwd=str(cwd))


class Machine:
    """One build target: its builder, a remote folder to work below, CLI environment, and a view of its files."""

    def __init__(self, builder: dict, base: str, home: Optional[Path], extra: Dict[str, str] = None,
                 export: Optional[Path] = None) -> None:
        self.builder, self.base, self.extra, self.export = builder, base, extra or {}, export
        self.home = home  #: where relative remote paths land (None: in the container, seen in ``files``)
        self.name = builder["name"]

    def files(self, below: str) -> Dict[str, bytes]:
        """Files under ``below`` on the machine (a docker build exports its container at the end)."""
        return docker_files(self.export, below) if self.export else files_below(Path(below))


SSH_VARIANTS = {"ssh-tar": ("scp", True), "ssh-scp": ("scp", False), "ssh-sftp": ("sftp", False)}


def machine(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Machine:
    """``kind``: local, ssh-tar, ssh-scp, ssh-sftp, docker or winrm (servers from this module's fixtures)."""
    if kind == "local":
        return Machine({"type": "null", "name": "local", "communicator": "local"}, str(tmp_path / "remote"),
                       tmp_path / "cli")
    if kind in SSH_VARIANTS:
        return Machine(ssh_builder(request.getfixturevalue("ssh_server"), *SSH_VARIANTS[kind]),
                       str(request.getfixturevalue("shared_dir")), ssh_home())
    if kind == "docker":
        engine = request.getfixturevalue("docker_engine")
        export = tmp_path / "container.tar"
        return Machine(docker_builder(engine, export), "/tmp/hw-e2e", None, docker_env(engine), export)
    server = request.getfixturevalue("wsman")
    return Machine({"type": "null", "name": "win", "communicator": "winrm", "winrm_host": server.host,
                    "winrm_port": server.port, "winrm_username": "vagrant", "winrm_password": "vagrant",
                    "winrm_timeout": "30s", "winrm_no_proxy": True}, str(tmp_path / "remote"), tmp_path / "winrm-home")


# -- the file provisioner, both directions -----------------------------------
ALL_KINDS = ["local", "ssh-tar", "ssh-scp", "ssh-sftp", "docker", "winrm"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_transfers(kind: str, tmp_path: Path, source_tree: Path, request: pytest.FixtureRequest) -> None:
    target = machine(kind, tmp_path, request)
    remote = f"{target.base}/{ROOT_NAME}"
    back = tmp_path / "back"
    try:
        run_build(make_env(tmp_path), target.builder, provisioners(source_tree, remote, back), **target.extra)
        check_back(back)
        on_remote = target.files(remote)  # for docker: also every planted name anywhere in the container
        relative = on_remote.pop("(rel)") if target.home is None else (target.home / REL_FILE).read_bytes()
        assert on_remote == expected_remote()
        assert relative == content(NAMES[0])
        assert planted_here() == []
    finally:
        if target.home is not None and (target.home / REL_FILE).exists():
            (target.home / REL_FILE).unlink()


# -- the shell provisioner's remote_folder, remote_file and remote_path ----------
SH_TOKEN = uuid.uuid4().hex[:10]
SH_PLANT = f"plant-{SH_TOKEN}"
SH_FOLDER = f"sh $(touch {SH_PLANT}-f1);`touch {SH_PLANT}-f2`"
SH_FILE = f"x;touch {SH_PLANT}-f3;y.sh"
SH_PATH = f"a&&touch {SH_PLANT}-p|cat qu'o\"te.sh"


def script_steps(base: str) -> List[dict]:
    return [{"type": "shell", "inline": ["echo first-script-ran"], "skip_clean": True,
             "remote_folder": f"{base}/{SH_FOLDER}", "remote_file": SH_FILE},
            {"type": "shell", "inline": ["echo second-script-ran"], "remote_path": f"{base}/{SH_PATH}"}]


def scripts_expected() -> Dict[str, bytes]:
    """The kept script (skip_clean), and no other: the second one was removed by its exact name."""
    return {f"{SH_FOLDER}/{SH_FILE}": b"#!/bin/sh -e\necho first-script-ran\n"}


@pytest.mark.parametrize("kind", ["local", "ssh-tar", "docker"])
def test_shell_script_paths(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    target = machine(kind, tmp_path, request)
    try:
        output = run_build(make_env(tmp_path), target.builder, script_steps(target.base), **target.extra)
        assert f"    {target.name}: first-script-ran" in output
        assert f"    {target.name}: second-script-ran" in output
        assert target.files(target.base) == scripts_expected()
        assert planted_here(SH_PLANT) == []
    finally:
        for path in planted_here(SH_PLANT):  # what a failed run left behind (e.g. in the ssh user's home)
            os.unlink(path)


@pytest.mark.parametrize("kind", ["local", "ssh-tar", "ssh-sftp", "docker"])
def test_backslash_names(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A backslash is an ordinary character in a POSIX name: a tree holding one goes up and back exactly."""
    target = machine(kind, tmp_path, request)
    src = tmp_path / "src"
    src.mkdir()
    (src / BACKSLASH).write_bytes(content(BACKSLASH))
    back = tmp_path / "back"
    steps = [{"type": "file", "source": f"{src}/", "destination": f"{target.base}/tree"},
             {"type": "file", "direction": "download", "source": f"{target.base}/tree/", "destination": str(back)}]
    run_build(make_env(tmp_path), target.builder, steps, **target.extra)
    assert target.files(target.base) == {f"tree/{BACKSLASH}": content(BACKSLASH)}
    assert os.listdir(back) == [BACKSLASH]


# -- trees holding a symbolic link loop --------------------------------------------
LOOP_CASES = [
    ("local", "upload"),
    ("local", "download"),
    ("ssh-tar", "upload"),
    ("ssh-tar", "download"),
    ("ssh-scp", "download"),
    ("ssh-sftp", "upload"),
    ("ssh-sftp", "download"),
    ("docker", "upload"),
    ("docker", "download"),
    ("winrm", "upload"),
    ("winrm", "download"),
]


def make_loop_tree(root: Path) -> Path:
    """f, sub/g, lnk -> sub, loop -> . (readable by the ssh login user)."""
    (root / "sub").mkdir(parents=True)
    (root / "f").write_text("f\n")
    (root / "sub" / "g").write_text("g\n")
    os.symlink("sub", root / "lnk")
    os.symlink(".", root / "loop")
    for here in (root, root / "sub"):
        os.chmod(here, 0o755)
    return root


@pytest.mark.parametrize("kind,direction", LOOP_CASES)
def test_a_tree_with_a_link_loop(kind: str, direction: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Either the tree's files arrive, or one clear line names the loop: never an endless path or a crash."""
    target = machine(kind, tmp_path, request)
    base = target.base
    steps: List[dict] = []
    if direction == "upload":
        steps.append({"type": "file", "source": f"{make_loop_tree(tmp_path / 'src')}/", "destination": f"{base}/up"})
        arrived = Path(base) / "up"
        if kind == "docker":  # what arrived in the container, brought back here to look at
            arrived = tmp_path / "docker-view"
            steps.append({"type": "file", "direction": "download", "source": f"{base}/up/",
                          "destination": str(arrived)})
    else:
        if kind == "docker":
            steps.append({"type": "shell", "inline": [f"mkdir -p {base}/tree/sub && cd {base}/tree && echo f > f && "
                                                      "echo g > sub/g && ln -s sub lnk && ln -s . loop"]})
        else:
            make_loop_tree(Path(base) / "tree")
        arrived = tmp_path / "back"
        steps.append({"type": "file", "direction": "download", "source": f"{base}/tree/", "destination": str(arrived)})
    env = make_env(tmp_path)
    template = env.template({"builders": [target.builder], "provisioners": steps})
    result = env.hatchway("build", str(template), timeout=120, **target.extra)
    output = result.stdout + result.stderr
    assert "loop/loop" not in output and "internal error" not in output and "Traceback" not in output, output[-2000:]
    if result.returncode == 0:
        assert (arrived / "f").read_text() == "f\n" and (arrived / "sub" / "g").read_text() == "g\n"
    else:
        assert result.returncode == 1
        assert "loop" in output.split("Build failed:", 1)[-1], output[-2000:]


# -- the longest names a file system takes ---------------------------------------------
#: 255 bytes each: the most a Linux file name may hold (NAME_MAX), in ASCII and in UTF-8.
LONG_NAMES = ["L" * 255, "\u65e5" * 85]


LONG_NAME_CASES = ["local", "ssh-tar", "ssh-scp", "ssh-sftp", "docker", "winrm"]


@pytest.mark.parametrize("kind", LONG_NAME_CASES)
def test_longest_names(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A name of 255 bytes is legal: it goes up and comes back exactly (temporary names must still fit)."""
    target = machine(kind, tmp_path, request)
    src = tmp_path / "src"
    src.mkdir()
    for name in LONG_NAMES:
        assert len(name.encode()) == 255
        (src / name).write_bytes(content(name))
    back = tmp_path / "back"
    steps = [{"type": "file", "source": f"{src}/", "destination": f"{target.base}/tree"}]
    for name in LONG_NAMES:
        steps += [{"type": "file", "source": str(src / name), "destination": f"{target.base}/files/{name}"},
                  {"type": "file", "direction": "download", "source": f"{target.base}/files/{name}",
                   "destination": str(back / "files" / name)}]
    steps.append({"type": "file", "direction": "download", "source": f"{target.base}/tree/",
                  "destination": str(back / "tree")})
    run_build(make_env(tmp_path), target.builder, steps, **target.extra)
    expected = {f"{where}/{name}": content(name) for where in ("files", "tree") for name in LONG_NAMES}
    assert target.files(target.base) == expected
    assert files_below(back) == expected

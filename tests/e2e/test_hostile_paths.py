"""Hostile remote paths through ``hatchway build``, for every communicator and both directions.

One template per communicator moves files whose names hold spaces, quotes,
``$(...)``, backticks, ``;``, newlines, globs, unicode and leading dashes
with the ``file`` provisioner (single files and whole trees, up and down),
and runs ``shell`` scripts from such folders (local, ssh, docker). Afterwards the names must be
exactly the same on the remote side and back here, and no ``touch`` planted
in a name may have run: the planted name is searched for on the whole
machine (and, for docker, in the container's exported filesystem).
Trees holding a symbolic link loop go both ways too: their files arrive,
or one clear line names the loop.

The communicator contract (hatchway.testing.contract) covers the relay
level; this covers what a template and the CLI add on top.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

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
def docker_engine() -> Iterator[tuple]:
    from servers import dockerd

    try:
        engine = dockerd.start_engine()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    api = engine.client()
    try:
        images = dockerd.build_images(api)
        yield engine, images
    finally:
        api.close()
        engine.stop()


def docker_builder(docker_engine: tuple, export: Path) -> dict:
    _engine, images = docker_engine
    return {"type": "docker", "name": "dock", "image": images["shell"], "pull": False, "export_path": str(export),
            "run_command": ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]}


def docker_env(docker_engine: tuple) -> Dict[str, str]:
    return {k: v for k, v in docker_engine[0].env.items() if k.startswith("DOCKER_")}


@pytest.fixture
def wsman(tmp_path: Path) -> Iterator[object]:
    try:
        from servers.wsman import WSManServer
    except ImportError as exc:
        pytest.fail(f"the WS-Management test server cannot start ({exc}): pip install -r tests/requirements.txt, "
                    f"or run scripts/test-all.sh", pytrace=False)
    cwd = tmp_path / "winrm-home"
    cwd.mkdir()
    server = WSManServer(cwd=str(cwd))
    server.start()
    yield server
    errors = list(server.script_errors)
    server.close()
    assert errors == [], errors


# -- the file provisioner, both directions -----------------------------------
def test_local_transfers(tmp_path: Path, source_tree: Path) -> None:
    env = make_env(tmp_path)
    remote = tmp_path / "remote" / ROOT_NAME
    back = tmp_path / "back"
    run_build(env, {"type": "null", "name": "loc", "communicator": "local"}, provisioners(source_tree, str(remote), back))
    assert files_below(remote) == expected_remote()
    assert (env.root / REL_FILE).read_bytes() == content(NAMES[0])
    check_back(back)
    assert planted_here() == []


@pytest.mark.parametrize("method,tar", [("scp", True), ("scp", False), ("sftp", False)],
                         ids=["scp-tar", "scp", "sftp"])
def test_ssh_transfers(tmp_path: Path, source_tree: Path, ssh_server: tuple, shared_dir: Path,
                       method: str, tar: bool) -> None:
    env = make_env(tmp_path)
    remote = shared_dir / ROOT_NAME
    back = tmp_path / "back"
    rel = ssh_home() / REL_FILE
    try:
        run_build(env, ssh_builder(ssh_server, method, tar), provisioners(source_tree, str(remote), back))
        assert files_below(remote) == expected_remote()
        assert rel.read_bytes() == content(NAMES[0])
        check_back(back)
        assert planted_here() == []
    finally:
        if rel.exists():
            rel.unlink()


def test_docker_transfers(tmp_path: Path, source_tree: Path, docker_engine: tuple) -> None:
    env = make_env(tmp_path)
    remote = f"/tmp/{ROOT_NAME}"
    back = tmp_path / "back"
    export = tmp_path / "container.tar"
    run_build(env, docker_builder(docker_engine, export), provisioners(source_tree, remote, back),
              **docker_env(docker_engine))
    check_back(back)
    expected = expected_remote()
    expected["(rel)"] = content(NAMES[0])
    assert docker_files(export, remote) == expected  # also: no planted file anywhere in the container
    assert planted_here() == []


def test_winrm_transfers(tmp_path: Path, source_tree: Path, wsman) -> None:
    env = make_env(tmp_path)
    remote = tmp_path / "remote" / ROOT_NAME
    back = tmp_path / "back"
    builder = {"type": "null", "name": "win", "communicator": "winrm", "winrm_host": wsman.host,
               "winrm_port": wsman.port, "winrm_username": "vagrant", "winrm_password": "vagrant",
               "winrm_timeout": "30s", "winrm_no_proxy": True}
    run_build(env, builder, provisioners(source_tree, str(remote), back))
    assert files_below(remote) == expected_remote()
    assert (tmp_path / "winrm-home" / REL_FILE).read_bytes() == content(NAMES[0])
    check_back(back)
    assert planted_here() == []


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


SHELL_PATH_BUG = ("core/hatchway/builtin/shell.py renders {{.Path}} unquoted into execute_command "
                  "(chmod +x {{.Path}}; {{.Vars}} {{.Path}}), so $(...), backticks and ; in remote_folder/"
                  "remote_file/remote_path run as commands")


@pytest.mark.xfail(strict=True, reason=SHELL_PATH_BUG)
@pytest.mark.parametrize("machine", ["local", "ssh", "docker"])
def test_shell_script_paths(machine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = make_env(tmp_path)
    export = tmp_path / "container.tar"
    extra: Dict[str, str] = {}
    if machine == "local":
        base = str(tmp_path / "remote")
        builder = {"type": "null", "name": "local", "communicator": "local"}
    elif machine == "ssh":
        base = str(request.getfixturevalue("shared_dir"))
        builder = ssh_builder(request.getfixturevalue("ssh_server"))
        builder["name"] = "ssh"
    else:
        engine = request.getfixturevalue("docker_engine")
        base = "/tmp/hw-scripts"
        builder = docker_builder(engine, export)
        builder["name"] = "docker"
        extra = docker_env(engine)
    try:
        output = run_build(env, builder, script_steps(base), **extra)
        assert f"    {builder['name']}: first-script-ran" in output
        assert f"    {builder['name']}: second-script-ran" in output
        if machine == "docker":
            assert docker_files(export, base) == scripts_expected()
        else:
            assert files_below(Path(base)) == scripts_expected()
        assert planted_here(SH_PLANT) == []
    finally:
        for path in planted_here(SH_PLANT):  # what a failed run left behind (e.g. in the ssh user's home)
            os.unlink(path)


TAR_BACKSLASH_BUG = ("core/hatchway/archives.py _safe_name turns '\\' into '/' for every tar member, so a POSIX "
                     "file named back\\slash downloaded as a tree lands as back/slash")


@pytest.mark.parametrize("machine", [
    "local",
    pytest.param("ssh-tar", marks=pytest.mark.xfail(strict=True, reason=TAR_BACKSLASH_BUG)),
    "ssh-sftp",
    pytest.param("docker", marks=pytest.mark.xfail(strict=True, reason=TAR_BACKSLASH_BUG)),
])
def test_backslash_names(machine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A backslash is an ordinary character in a POSIX name: a tree holding one goes up and back exactly."""
    env = make_env(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    (src / BACKSLASH).write_bytes(content(BACKSLASH))
    back = tmp_path / "back"
    export = tmp_path / "container.tar"
    extra: Dict[str, str] = {}
    if machine == "local":
        base = str(tmp_path / "remote")
        builder = {"type": "null", "name": "local", "communicator": "local"}
    elif machine.startswith("ssh"):
        base = str(request.getfixturevalue("shared_dir"))
        builder = ssh_builder(request.getfixturevalue("ssh_server"), *(("scp", True) if machine == "ssh-tar"
                                                                      else ("sftp", False)))
    else:
        engine = request.getfixturevalue("docker_engine")
        base, builder, extra = "/tmp/hw-backslash", docker_builder(engine, export), docker_env(engine)
    steps = [{"type": "file", "source": f"{src}/", "destination": f"{base}/tree"},
             {"type": "file", "direction": "download", "source": f"{base}/tree/", "destination": str(back)}]
    run_build(env, builder, steps, **extra)
    remote = docker_files(export, base) if machine == "docker" else files_below(Path(base))
    assert remote == {f"tree/{BACKSLASH}": content(BACKSLASH)}
    assert os.listdir(back) == [BACKSLASH]


# -- trees holding a symbolic link loop --------------------------------------------
WALK_LOOP_BUG = ("core/hatchway/files.py walk follows links without remembering the directories it is in: "
                 "a tree with loop -> . recurses until ELOOP, reported as 'internal error ... OSError: [Errno 40] "
                 "... loop/loop/loop/...'")
SSH_LOOP_BUG = ("hatchway_ssh scp/sftp download_tree follow links without remembering visited directories: "
                "a remote loop -> . ends in an error naming loop/loop/loop/... (scp) or the tree as 'No such file' (sftp)")
LOOP_CASES = [
    pytest.param("local", "upload", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
    pytest.param("local", "download", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
    pytest.param("ssh-tar", "upload", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
    ("ssh-tar", "download"),
    pytest.param("ssh-scp", "download", marks=pytest.mark.xfail(strict=True, reason=SSH_LOOP_BUG)),
    pytest.param("ssh-sftp", "upload", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
    pytest.param("ssh-sftp", "download", marks=pytest.mark.xfail(strict=True, reason=SSH_LOOP_BUG)),
    pytest.param("docker", "upload", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
    ("docker", "download"),
    pytest.param("winrm", "upload", marks=pytest.mark.xfail(strict=True, reason=WALK_LOOP_BUG)),
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


@pytest.mark.parametrize("machine,direction", LOOP_CASES)
def test_a_tree_with_a_link_loop(machine: str, direction: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Either the tree's files arrive, or one clear line names the loop: never an endless path or a crash."""
    env = make_env(tmp_path)
    extra: Dict[str, str] = {}
    steps: List[dict] = []
    if machine == "local":
        base, builder = str(tmp_path / "remote"), {"type": "null", "name": "b", "communicator": "local"}
    elif machine.startswith("ssh"):
        base = str(request.getfixturevalue("shared_dir"))
        builder = ssh_builder(request.getfixturevalue("ssh_server"),
                              *{"ssh-tar": ("scp", True), "ssh-scp": ("scp", False), "ssh-sftp": ("sftp", False)}[machine])
    elif machine == "docker":
        engine = request.getfixturevalue("docker_engine")
        base, builder, extra = "/tmp/hw-loop", docker_builder(engine, tmp_path / "c.tar"), docker_env(engine)
        if direction == "download":
            steps.append({"type": "shell", "inline": [f"mkdir -p {base}/tree/sub && cd {base}/tree && echo f > f && "
                                                      "echo g > sub/g && ln -s sub lnk && ln -s . loop"]})
    else:
        wsman = request.getfixturevalue("wsman")
        base = str(tmp_path / "remote")
        builder = {"type": "null", "name": "b", "communicator": "winrm", "winrm_host": wsman.host,
                   "winrm_port": wsman.port, "winrm_username": "vagrant", "winrm_password": "vagrant",
                   "winrm_timeout": "30s", "winrm_no_proxy": True}
    if direction == "upload":
        steps.append({"type": "file", "source": f"{make_loop_tree(tmp_path / 'src')}/", "destination": f"{base}/up"})
        arrived = Path(base) / "up"
        if machine == "docker":  # what arrived in the container, brought back here to look at
            arrived = tmp_path / "docker-view"
            steps.append({"type": "file", "direction": "download", "source": f"{base}/up/", "destination": str(arrived)})
    else:
        if machine != "docker":
            make_loop_tree(Path(base) / "tree")
        steps.append({"type": "file", "direction": "download", "source": f"{base}/tree/",
                      "destination": str(tmp_path / "back")})
        arrived = tmp_path / "back"
    template = env.template({"builders": [builder], "provisioners": steps})
    result = env.hatchway("build", str(template), timeout=120, **extra)
    output = result.stdout + result.stderr
    assert "loop/loop" not in output and "internal error" not in output and "Traceback" not in output, output[-2000:]
    if result.returncode == 0:
        assert (arrived / "f").read_text() == "f\n" and (arrived / "sub" / "g").read_text() == "g\n"
    else:
        assert result.returncode == 1
        assert "loop" in output.split("Build failed:", 1)[-1], output[-2000:]

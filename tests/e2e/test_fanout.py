"""Many builds at once through ``hatchway build``: 20 ssh machines, 20 docker containers, and a mix.

Each build writes its own files on its own machine; one build fails on
purpose in the middle. A first "barrier" step that only ends once every
build has reached it proves that ``-parallel-builds 0`` runs them all at once. The tests check that every output line carries the
name of the build it belongs to (and that remote output lands under the
right name), that the failure stops only its own build, that the summary
names every build's result, and that every machine holds exactly its own
files. Speed is measured by bench/fanout, not here.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import pytest

from servers import dockerd
from servers.sshd import TEST_USER, Sshd, ensure_test_user, keygen, remote_directory, start_many

pytestmark = pytest.mark.timeout(300)

N = 20
FAILING = "b07"
#: Lines of the run as a whole: the wait line, the summary headers and the per-build summary lines.
GLOBAL = re.compile(r"^(==> Wait completed after .+|==> Builds finished\. The artifacts of successful builds are:"
                    r"|==> Some builds didn't complete successfully and had errors:|--> (?P<summary>[\w-]+): .+)$")
LABELLED = re.compile(r"^(==> |    )(?P<build>[\w-]+): ")


def hatchway(*args: str, env: Dict[str, str] = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatchway.cli", "build", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def check_labels(result: subprocess.CompletedProcess, names: Sequence[str]) -> None:
    """Every line is labelled with one of ``names`` or is a line of the run as a whole; remote output
    (``    name: from <build>``) is labelled with the build that printed it."""
    for line in (result.stdout + result.stderr).splitlines():
        overall = GLOBAL.match(line)
        if overall:
            assert overall.group("summary") in (None, *names), line
            continue
        labelled = LABELLED.match(line)
        assert labelled and labelled.group("build") in names, f"unlabelled line: {line!r}"
        said = re.search(r"from (b\d\d|[sd]\d)\b", line)
        if said and line.startswith("    "):
            assert said.group(1) == labelled.group("build"), f"output under the wrong build: {line!r}"


def check_summary(result: subprocess.CompletedProcess, names: Sequence[str], failed: Dict[str, str]) -> None:
    """The summary lists every build: the failed ones with their error, the others with their artifact."""
    for name in names:
        if name in failed:
            assert f"--> {name}: {failed[name]}" in result.stderr, result.stderr
        else:
            assert f"--> {name}: (no artifact)" in result.stdout, result.stdout


def barrier(directory: str, count: int) -> dict:
    """A first step that ends only once all ``count`` builds have reached it: proof they run at the same time
    (each leaves a mark in ``directory``, which all the machines share, and waits, at most 2 minutes, for all)."""
    return {"type": "shell", "inline": [
        f"touch {directory}/at-barrier-$PACKER_BUILD_NAME", "n=0",
        f"while [ $(ls {directory} | grep -c '^at-barrier-') -lt {count} ]; do",
        "  n=$((n+1)); [ $n -lt 1200 ] || { echo the other builds never came; exit 9; }; sleep 0.1", "done"]}


def provisioners(remote: str, first: Optional[dict] = None) -> List[dict]:
    """What every build runs; ``remote`` holds ``{{build_name}}``. The build FAILING stops at the
    ``shell`` step after ``name.txt`` (``provisioners[2]``, or ``[3]`` after ``first``)."""
    return ([first] if first else []) + [
        {"type": "shell", "inline": ["echo hello from $PACKER_BUILD_NAME", f"mkdir -p {remote}"]},
        {"type": "file", "content": "written for {{build_name}}\n", "destination": f"{remote}/name.txt"},
        {"type": "shell", "only": [FAILING], "inline": ["echo failing on purpose from $PACKER_BUILD_NAME", "exit 3"]},
        {"type": "file", "source": "{{user `payload`}}/", "destination": f"{remote}/payload"},
        {"type": "shell", "inline": [f"cd {remote}", "echo \"$PACKER_BUILD_NAME $PACKER_BUILDER_TYPE\" > env.txt",
                                     "echo done from $PACKER_BUILD_NAME"]},
        {"type": "file", "direction": "download", "source": f"{remote}/",
         "destination": "{{user `back`}}/{{build_name}}"},
    ]


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A temp dir the login user can read: the key, the payload, the downloads."""
    directory = Path(tempfile.mkdtemp(prefix="hatchway-e2e-fanout-"))
    os.chmod(directory, 0o755)
    payload = directory / "payload"
    (payload / "sub").mkdir(parents=True)
    for i in range(5):
        (payload / f"f{i}.bin").write_bytes(os.urandom(4096 + i))
    (payload / "sub" / "script.sh").write_text("#!/bin/sh\necho sub\n")
    os.chmod(payload / "sub" / "script.sh", 0o750)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def key(work: Path) -> Path:
    return keygen(work / "id_ed25519")


@pytest.fixture(scope="module")
def fleet(key: Path) -> Iterator[List[Sshd]]:
    """Twenty sshd on loopback, each authorizing ``key``."""
    ensure_test_user()
    servers = start_many(N, public_keys=[Path(f"{key}.pub").read_text()])
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def remote_root() -> Iterator[Path]:
    """A fresh directory on "the remotes" (this machine), owned by the login user."""
    with remote_directory(TEST_USER) as directory:
        yield directory


def ssh_build(name: str, server: Sshd, key: Path) -> dict:
    return {"type": "null", "name": name, "communicator": "ssh", "ssh_host": server.host, "ssh_port": server.port,
            "ssh_username": TEST_USER, "ssh_private_key_file": str(key), "ssh_timeout": "1m"}


def docker_build(name: str, image: str, label: str) -> dict:
    return {"type": "docker", "name": name, "image": image, "pull": False, "discard": True,
            "run_command": ["-d", "-i", "-t", "--network=none", "-l", f"hatchway-e2e={label}",
                            "--entrypoint=/bin/sh", "--", "{{.Image}}"]}


def write_template(path: Path, builds: List[dict], remote: str, work: Path, back: Path,
                   first: Optional[dict] = None) -> Path:
    path.write_text(json.dumps({"variables": {"payload": str(work / "payload"), "back": str(back)},
                                "builders": builds, "provisioners": provisioners(remote, first)}, indent=1))
    return path


def check_files(root: Path, name: str, work: Path, builder: str, failed: bool) -> None:
    """``root`` holds what build ``name`` made: its own name file; the rest only if it did not fail."""
    assert (root / "name.txt").read_text() == f"written for {name}\n"
    if failed:
        assert sorted(os.listdir(root)) == ["name.txt"], f"{name} ran steps after its failure"
        return
    assert (root / "env.txt").read_text() == f"{name} {builder}\n"
    for entry in ("f0.bin", "f1.bin", "f2.bin", "f3.bin", "f4.bin", "sub/script.sh"):
        assert (root / "payload" / entry).read_bytes() == (work / "payload" / entry).read_bytes(), (name, entry)
    assert os.stat(root / "payload" / "sub" / "script.sh").st_mode & 0o777 == 0o750


# -- tests ----------------------------------------------------------------------------------------

def test_twenty_ssh_builds_at_once_one_failing(fleet: List[Sshd], key: Path, work: Path, remote_root: Path,
                                                tmp_path: Path) -> None:
    names = [f"b{i:02d}" for i in range(N)]
    back = tmp_path / "back"
    path = write_template(tmp_path / "fanout.json", [ssh_build(n, s, key) for n, s in zip(names, fleet)],
                          f"{remote_root}/{{{{build_name}}}}", work, back, barrier(str(remote_root), N))
    result = hatchway("-parallel-builds", "0", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    check_labels(result, names)
    error = "the shell provisioner (provisioners[3]) failed: inline script exited with status 3; valid exit codes: 0"
    assert f"==> {FAILING}: Build failed: {error}" in result.stderr
    assert result.stderr.count("Build failed") == 1, result.stderr
    check_summary(result, names, {FAILING: error})
    for name in names:
        assert f"    {name}: hello from {name}" in result.stdout
        failed = name == FAILING
        assert (f"    {name}: done from {name}" in result.stdout) is not failed
        check_files(remote_root / name, name, work, "null", failed)
        assert (remote_root / f"at-barrier-{name}").exists()
        if not failed:  # and the download brought the same tree back
            check_files(back / name, name, work, "null", False)
    assert not (back / FAILING).exists()


def test_twenty_docker_builds_at_once_one_failing(api, engine: dockerd.Engine, image: str, label: str, work: Path,
                                                   tmp_path: Path) -> None:
    names = [f"b{i:02d}" for i in range(N)]
    back = tmp_path / "back"
    shared = tmp_path / "shared"  # one host directory mounted into every container, for the barrier
    shared.mkdir()
    builds = [dict(docker_build(n, image, label), volumes={str(shared): "/shared"}) for n in names]
    path = write_template(tmp_path / "fanout.json", builds, "/srv/{{build_name}}", work, back, barrier("/shared", N))
    result = hatchway("-parallel-builds", "0", str(path), env=engine.env, timeout=280)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    check_labels(result, names)
    assert sorted(os.listdir(shared)) == [f"at-barrier-{n}" for n in names]
    error = "the shell provisioner (provisioners[3]) failed: inline script exited with status 3; valid exit codes: 0"
    assert f"==> {FAILING}: Build failed: {error}" in result.stderr
    check_summary(result, names, {FAILING: error})
    ids = set(re.findall(r"^    (b\d\d): Container: ([0-9a-f]{64})$", result.stdout, re.M))
    assert sorted(n for n, _ in ids) == names, "every build reports its own container"
    assert len({c for _, c in ids}) == N, "twenty different containers"
    for name in names:
        assert f"    {name}: hello from {name}" in result.stdout
        if name != FAILING:
            check_files(back / name, name, work, "docker", False)
    assert not (back / FAILING).exists()
    # every container was removed, the failed build's too
    assert api.containers(all=True, filters={"label": f"hatchway-e2e={label}"}) == []


def test_ssh_and_docker_builds_in_one_template(fleet: List[Sshd], key: Path, api, engine: dockerd.Engine, image: str,
                                               label: str, work: Path, tmp_path: Path) -> None:
    # one remote path for both kinds: on the ssh machines (this host) and inside the containers
    remote = f"/tmp/hatchway-e2e-mix-{uuid.uuid4().hex[:8]}"
    builds = [ssh_build(f"s{i}", fleet[i], key) for i in range(4)] + [docker_build(f"d{i}", image, label)
                                                                        for i in range(4)]
    builds.append(dict(ssh_build(FAILING, fleet[4], key)))
    names = [b["name"] for b in builds]
    back = tmp_path / "back"
    path = write_template(tmp_path / "mix.json", builds, f"{remote}/{{{{build_name}}}}", work, back)
    try:
        result = hatchway("-parallel-builds", "0", "-machine-readable", str(path), env=engine.env)
        assert result.returncode == 1, result.stdout + result.stderr
        records = [line.split(",") for line in result.stdout.splitlines()]
        assert all(len(r) >= 3 and r[0].isdigit() for r in records), result.stdout
        summary = {r[1]: r[3] for r in records if r[2] == "build-summary"}
        assert summary == {**{n: "succeeded" for n in names if n != FAILING}, FAILING: "failed"}
        for name in names:
            kind = "docker" if name.startswith("d") else "null"
            said = [r[4] for r in records if r[1] == name and r[2] == "ui" and r[3] == "message"]
            assert f"    {name}: hello from {name}" in said
            failed = name == FAILING
            if kind == "null":
                check_files(Path(remote) / name, name, work, kind, failed)
            if not failed:
                check_files(back / name, name, work, kind, False)
        assert api.containers(all=True, filters={"label": f"hatchway-e2e={label}"}) == []
    finally:
        shutil.rmtree(remote, ignore_errors=True)

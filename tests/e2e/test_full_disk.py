"""Full disks through ``hatchway build``: a real 5 MiB tmpfs (mounted by the fixture) as the destination.

Remote side (the real sshd writes into it): a 6 MiB upload and a directory
upload fail the build with the remote's reason, for every transfer mode
(sftp, scp, tar), the next provisioner does not run, the old file is
intact and no hidden temp file is left. Local side: a download, and a
``local`` communicator upload, that fill this machine's disk fail with
one line naming the path and the reason, never "internal error".
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, List

import pytest

from servers.sshd import Sshd, ensure_test_user, keygen, remote_directory, small_filesystem

pytestmark = pytest.mark.timeout(180)

USER = "hatchway-e2e"
MIB = 1024 * 1024
NO_SPACE = "No space left on device"
MODES = [pytest.param({"ssh_file_transfer_method": "sftp", "ssh_tar_transfer": False}, id="sftp"),
         pytest.param({"ssh_file_transfer_method": "scp", "ssh_tar_transfer": False}, id="scp"),
         pytest.param({"ssh_file_transfer_method": "scp", "ssh_tar_transfer": True}, id="tar")]


@pytest.fixture(scope="module")
def key() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="hatchway-e2e-full-"))
    os.chmod(directory, 0o755)
    ensure_test_user(USER)
    yield keygen(directory / "id_ed25519")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def server(key: Path) -> Iterator[Sshd]:
    sshd = Sshd(user=USER)
    sshd.authorize(Path(f"{key}.pub").read_text())
    sshd.start()
    yield sshd
    sshd.close()


@pytest.fixture
def full_remote() -> Iterator[Path]:
    """5 MiB the login user writes to, holding an old file ``existing``."""
    with small_filesystem("5m", user=USER) as directory:
        (directory / "existing").write_bytes(b"old content\n")
        os.chown(directory / "existing", *_ids(USER))
        yield directory


def _ids(user: str) -> tuple:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def build(tmp_path: Path, builder: dict, provisioners: List[dict]) -> subprocess.CompletedProcess:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"builders": [builder], "provisioners": provisioners}, indent=1))
    return subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(template)], capture_output=True,
                          text=True, timeout=150)


def ssh_builder(server: Sshd, key: Path, **keys: object) -> dict:
    return {"type": "null", "name": "full", "communicator": "ssh", "ssh_host": server.host, "ssh_port": server.port,
            "ssh_username": USER, "ssh_private_key_file": str(key), "ssh_timeout": "20s", **keys}


def failed_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if ": Build failed: " in line]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def hidden(directory: Path) -> list:
    return [p.name for p in directory.rglob(".*")]


@pytest.mark.parametrize("mode", MODES)
def test_upload_into_a_full_disk_fails_the_build_and_keeps_the_old_file(server, key, full_remote: Path,
                                                                         tmp_path: Path, mode: dict) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MIB))
    dest = full_remote / "existing"
    result = build(tmp_path, ssh_builder(server, key, **mode), [
        {"type": "file", "source": str(big), "destination": str(dest)},
        {"type": "shell", "inline": ["echo the next step ran"]}])
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed_line(result).endswith(
        f"==> full: Build failed: the file provisioner (provisioners[0]) failed: target {USER}@127.0.0.1:"
        f"{server.port}: cannot upload to {str(dest)!r}: {NO_SPACE}"), result.stderr
    assert "the next step ran" not in result.stdout
    assert dest.read_bytes() == b"old content\n"
    assert sorted(os.listdir(full_remote)) == ["existing"], "a temp file was left behind"
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_directory_upload_into_a_full_disk_cuts_no_file(server, key, full_remote: Path, tmp_path: Path,
                                                        mode: dict) -> None:
    source = tmp_path / "tree"
    source.mkdir()
    content = {f"f{i}.bin": os.urandom(MIB + 1000 * i) for i in range(7)}
    for name, data in content.items():
        (source / name).write_bytes(data)
    (full_remote / "f3.bin").write_bytes(b"old content\n")
    result = build(tmp_path, ssh_builder(server, key, **mode), [
        {"type": "file", "source": f"{source}/", "destination": str(full_remote)},
        {"type": "shell", "inline": ["echo the next step ran"]}])
    assert result.returncode == 1, result.stdout + result.stderr
    assert NO_SPACE in failed_line(result)
    assert "the next step ran" not in result.stdout
    for path in full_remote.iterdir():
        if path.name == "existing":
            continue
        assert path.read_bytes() in (content[path.name], b"old content\n"), f"{path.name} was cut off"
    assert hidden(full_remote) == [], "a temp file or stage was left behind"


@pytest.fixture
def full_local() -> Iterator[Path]:
    with small_filesystem("5m", user=None) as directory:
        (directory / "existing").write_bytes(b"old content\n")
        yield directory


@pytest.mark.parametrize("mode", MODES)
def test_download_onto_a_full_local_disk_names_the_path(server, key, full_local: Path, tmp_path: Path,
                                                        mode: dict) -> None:
    with remote_directory(USER) as remote:
        (remote / "big.bin").write_bytes(os.urandom(6 * MIB))
        dest = full_local / "existing"
        result = build(tmp_path, ssh_builder(server, key, **mode), [
            {"type": "file", "direction": "download", "source": str(remote / "big.bin"), "destination": str(dest)}])
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed_line(result).endswith(
        f"==> full: Build failed: the file provisioner (provisioners[0]) failed: cannot write {str(dest)!r}: "
        f"{NO_SPACE}"), result.stderr
    assert dest.read_bytes() == b"old content\n"
    assert sorted(os.listdir(full_local)) == ["existing"]


def test_local_upload_onto_a_full_disk_names_the_path(full_local: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MIB))
    dest = full_local / "existing"
    result = build(tmp_path, {"type": "null", "name": "full", "communicator": "local"},
                   [{"type": "file", "source": str(big), "destination": str(dest)}])
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed_line(result).endswith(
        f"==> full: Build failed: the file provisioner (provisioners[0]) failed: cannot write {str(dest)!r}: "
        f"{NO_SPACE}"), result.stderr
    assert "internal error" not in result.stderr
    assert dest.read_bytes() == b"old content\n"
    assert sorted(os.listdir(full_local)) == ["existing"]


def test_directory_download_onto_a_disk_without_free_inodes_names_the_path(server, key, tmp_path: Path) -> None:
    """Out of inodes rather than bytes: the first file or directory that cannot be created is named."""
    with remote_directory(USER) as remote, small_filesystem("5m,nr_inodes=4", user=None) as full:
        for rel in ("a/one.txt", "a/two.txt", "b/c/three.txt", "d/four.txt"):
            (remote / rel).parent.mkdir(parents=True, exist_ok=True)
            (remote / rel).write_text(rel)
        result = build(tmp_path, ssh_builder(server, key), [
            {"type": "file", "direction": "download", "source": f"{remote}/", "destination": f"{full}/"}])
        assert result.returncode == 1, result.stdout + result.stderr
        line = failed_line(result)
        assert f"failed: cannot write '{full}/" in line and line.endswith(NO_SPACE), line
        assert "internal error" not in result.stderr
        assert hidden(full) == []

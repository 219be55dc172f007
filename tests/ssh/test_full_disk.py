"""Full disks, on either side: a real 5 MiB tmpfs as the remote destination (served by the real sshd) or as the
local destination of a download.

Whatever the transfer method (sftp, scp, tar), an upload that does not fit fails with the remote's reason,
leaves the old file as it was and no hidden ``.part`` file; a download that does not fit on the local disk is
an error naming the local path and the reason, not an internal error.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterator

import pytest

from hatchway.errors import RemotePathError
from servers.sshd import small_filesystem

NO_SPACE = "No space left on device"
MIB = 1024 * 1024
#: Upload and download modes: (ssh_file_transfer_method, ssh_tar_transfer).
FILE_METHODS = ["scp", "sftp"]
TREE_MODES = [pytest.param("sftp", False, id="sftp"), pytest.param("scp", False, id="scp"),
              pytest.param("scp", True, id="tar")]


@pytest.fixture
def full_remote() -> Iterator[Path]:
    """A 5 MiB file system the login user writes to, holding an old file ``existing`` (its one entry)."""
    with small_filesystem("5m") as directory:
        (directory / "existing").write_bytes(b"old content\n")
        yield directory


def entries(directory: Path) -> list:
    return sorted(os.listdir(directory))


def test_the_small_filesystem_is_small(full_remote: Path) -> None:
    stat = os.statvfs(full_remote)
    assert stat.f_blocks * stat.f_frsize <= 5 * MIB


@pytest.mark.parametrize("method", FILE_METHODS)
@pytest.mark.parametrize("kind", ["file", "stream"])
def test_upload_that_does_not_fit_fails_with_the_reason_and_keeps_the_old_file(relays, sshd, client_key,
                                                                                 full_remote: Path, tmp_path: Path,
                                                                                 method: str, kind: str) -> None:
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    data = os.urandom(6 * MIB)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    destination = full_remote / "existing"
    with pytest.raises(RemotePathError) as info:
        if kind == "file":
            relay.upload(source, str(destination))
        else:
            relay.upload(io.BytesIO(data), str(destination))
    assert str(info.value).endswith(f"cannot upload to {str(destination)!r}: {NO_SPACE}"), info.value
    assert repr(str(destination)) in str(info.value)
    assert destination.read_bytes() == b"old content\n"
    assert entries(full_remote) == ["existing"], "a temp file was left behind"


@pytest.mark.parametrize("method", FILE_METHODS)
def test_small_files_that_fill_the_disk_one_by_one_each_fail(relays, sshd, client_key, full_remote: Path,
                                                            method: str) -> None:
    """Every write is checked, whatever the file's size: the file that does not fit fails, none is cut."""
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    piece = os.urandom(MIB)
    written = []
    with pytest.raises(RemotePathError) as info:
        for i in range(8):
            relay.upload(io.BytesIO(piece), str(full_remote / f"f{i}"))
            written.append(f"f{i}")
    assert NO_SPACE in str(info.value)
    assert len(written) >= 3
    for name in written:
        assert (full_remote / name).read_bytes() == piece
    assert entries(full_remote) == sorted(["existing"] + written)


@pytest.mark.parametrize("method,tar", TREE_MODES)
def test_directory_upload_that_does_not_fit_cuts_no_file(relays, sshd, no_tar_sshd, client_key, full_remote: Path,
                                                         tmp_path: Path, method: str, tar: bool) -> None:
    server = sshd if tar else no_tar_sshd
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method,
                   ssh_tar_transfer=tar)
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    content = {f"sub/f{i}.bin": os.urandom(MIB + 4096 * i) for i in range(7)}
    for rel, data in content.items():
        (source / rel).write_bytes(data)
    (full_remote / "sub").mkdir()
    (full_remote / "sub" / "f0.bin").write_bytes(b"old content\n")
    with pytest.raises(RemotePathError) as info:
        relay.upload(source, str(full_remote))
    assert NO_SPACE in str(info.value), info.value
    assert (full_remote / "sub" / "f0.bin").read_bytes() in (b"old content\n", content["sub/f0.bin"])
    for path in (full_remote / "sub").iterdir():
        assert not path.name.startswith("."), f"a temp file was left behind: {path.name}"
        assert path.read_bytes() in (content[f"sub/{path.name}"], b"old content\n"), f"{path.name} was cut off"
    assert [p for p in full_remote.iterdir() if p.name.startswith(".")] == [], "a staging directory was left"


@pytest.fixture
def full_local() -> Iterator[Path]:
    """A 5 MiB local file system holding an old file ``existing``."""
    with small_filesystem("5m", user=None) as directory:
        (directory / "existing").write_bytes(b"old content\n")
        yield directory


@pytest.fixture
def remote_big(relays, sshd, client_key, tmp_path_factory) -> Iterator[str]:
    """A remote directory holding ``big.bin`` (6 MiB) and ``tree/`` (two 3 MiB files)."""
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    base = relay.run("mktemp -d /tmp/hatchway-full-local.XXXXXX").text.strip()
    relay.run(f"head -c {6 * MIB} /dev/urandom > {base}/big.bin && mkdir {base}/tree && "
              f"head -c {3 * MIB} /dev/urandom > {base}/tree/a.bin && head -c {3 * MIB} /dev/urandom > {base}/tree/b.bin")
    yield base
    relay.run(f"rm -rf {base}")


@pytest.mark.parametrize("method", FILE_METHODS)
def test_download_that_does_not_fit_on_the_local_disk_names_the_path(relays, sshd, client_key, full_local: Path,
                                                                     remote_big: str, method: str) -> None:
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    destination = full_local / "existing"
    with pytest.raises(RemotePathError) as info:
        relay.download(f"{remote_big}/big.bin", destination)
    assert f"cannot write {str(destination)!r}: {NO_SPACE}" in str(info.value), info.value
    assert destination.read_bytes() == b"old content\n"
    assert entries(full_local) == ["existing"]


@pytest.mark.parametrize("method,tar", TREE_MODES)
def test_directory_download_that_does_not_fit_on_the_local_disk_names_the_path(relays, sshd, client_key,
                                                                               full_local: Path, remote_big: str,
                                                                               method: str, tar: bool) -> None:
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method, ssh_tar_transfer=tar)
    with pytest.raises(RemotePathError) as info:
        relay.download(f"{remote_big}/tree", full_local / "tree")
    assert f"cannot write {str(full_local / 'tree' / 'b.bin')!r}: {NO_SPACE}" in str(info.value), info.value
    assert entries(full_local / "tree") in ([], ["a.bin"])

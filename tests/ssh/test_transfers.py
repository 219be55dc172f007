"""Transfers beyond the contract: atomicity under a killed server, odd names, tar vs file-by-file, errors."""
from __future__ import annotations

import io
import os
import shlex

import pytest

from hatchway.communicator import Target, Transfer
from hatchway.errors import CommunicatorError, RemotePathError
from hatchway.testing.contract import make_tree
from hatchway_ssh.keys import generate_key_pair
from servers.sshd import TEST_USER

METHODS = ["scp", "sftp"]


def q(path: str) -> str:
    return shlex.quote(path)


@pytest.fixture
def remote_tmp(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    path = relay.run("mktemp -d /tmp/hatchway-ssh-test.XXXXXX").text.strip()
    yield path
    relay.run(f"rm -rf {q(path)}")


class KillingStream(io.RawIOBase):
    """A stream of ``size`` random-ish bytes that kills the server after ``kill_after`` bytes were read."""

    def __init__(self, size: int, kill_after: int, server) -> None:
        self.data = io.BytesIO(os.urandom(1024 * 1024) * (size // (1024 * 1024)))
        self.kill_after = kill_after
        self.server = server
        self.done = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.data.seek(offset, whence)

    def tell(self) -> int:
        return self.data.tell()

    def read(self, n: int = -1) -> bytes:
        if self.done >= self.kill_after and self.server.process is not None:
            self.server.kill()
        chunk = self.data.read(n)
        self.done += len(chunk)
        return chunk


@pytest.mark.parametrize("method", METHODS)
def test_killed_server_mid_upload_leaves_no_partial_file(relays, fresh_sshd, client_key, method):
    server = fresh_sshd()
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    base = relay.run("mktemp -d /tmp/hatchway-kill.XXXXXX").text.strip()
    relay.upload(io.BytesIO(b"old content\n"), f"{base}/existing")
    for name in ("fresh", "existing"):
        stream = KillingStream(64 * 1024 * 1024, 8 * 1024 * 1024, server)
        with pytest.raises(CommunicatorError) as info:
            relay.upload(stream, f"{base}/{name}")
        assert str(info.value).endswith(f"connection lost while trying to upload to {base + '/' + name!r}"), info.value
        server.start()
    listing = relay.run(f"ls -A {q(base)}").text.split()
    assert "fresh" not in listing, "a truncated file was left at the destination"
    assert relay.run(f"cat {q(base)}/existing").stdout == b"old content\n"
    relay.run(f"rm -rf {q(base)}")


@pytest.mark.parametrize("method", METHODS)
def test_names_with_newlines_and_leading_dashes(relays, sshd, client_key, remote_tmp, tmp_path, method):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    for name in ["new\nline.txt", "-rf", "--help", "tab\tname", "a b/c d"]:
        data = os.urandom(1000)
        relay.upload(io.BytesIO(data), f"{remote_tmp}/{name}")
        assert relay.run(f"cat -- {q(remote_tmp + '/' + name)}").stdout == data, name
        out = tmp_path / f"dl-{abs(hash(name))}"
        relay.download(f"{remote_tmp}/{name}", out)
        assert out.read_bytes() == data, name


def _tree_signature(relay, path: str) -> str:
    result = relay.run(f"cd -- {q(path)} && find . -mindepth 1 -exec stat -c '%n %a %U %s' {{}} + | sort")
    assert result.exit_status == 0, result.stderr
    return result.text


def test_tar_upload_gives_the_same_tree_as_file_by_file(relays, sshd, client_key, remote_tmp, tmp_path):
    src = tmp_path / "tree"
    make_tree(src)
    (src / "sub" / "private").write_bytes(b"p")
    os.chmod(src / "sub" / "private", 0o600)
    os.chmod(src / "emptydir", 0o700)
    signatures = {}
    for label, keys in {"tar": {}, "scp": {"ssh_tar_transfer": False},
                        "sftp": {"ssh_tar_transfer": False, "ssh_file_transfer_method": "sftp"}}.items():
        relay = relays(sshd, ssh_private_key_file=str(client_key), **keys)
        relay.upload(str(src) + "/", f"{remote_tmp}/{label}")
        signatures[label] = _tree_signature(relay, f"{remote_tmp}/{label}")
    assert signatures["tar"] == signatures["scp"] == signatures["sftp"]
    assert f" 600 {TEST_USER} 1" in signatures["tar"] and "./emptydir 700" in signatures["tar"]


@pytest.mark.parametrize("tar", [True, False])
@pytest.mark.parametrize("method", METHODS)
def test_directory_upload_into_an_existing_directory_merges(relays, sshd, client_key, remote_tmp, tmp_path,
                                                            method, tar):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method,
                   ssh_tar_transfer=tar)
    dest = f"{remote_tmp}/merge"
    relay.upload(io.BytesIO(b"keep me"), f"{dest}/untouched.txt")
    relay.upload(io.BytesIO(b"old a"), f"{dest}/a.txt")
    src = tmp_path / "tree"
    content = make_tree(src)
    relay.upload(str(src) + "/", dest)
    assert relay.run(f"cat {q(dest)}/untouched.txt").stdout == b"keep me"
    assert relay.run(f"cat {q(dest)}/a.txt").stdout == content["a.txt"]
    assert relay.run(f"ls -A {q(dest)} | grep -c hatchway || true").text.strip() == "0"


@pytest.mark.parametrize("method", METHODS)
def test_parent_is_a_file_names_the_path(relays, sshd, client_key, remote_tmp, method, tmp_path):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    relay.upload(io.BytesIO(b"x"), f"{remote_tmp}/file")
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"y"), f"{remote_tmp}/file/below")
    assert f"{remote_tmp}/file" in str(info.value)
    src = tmp_path / "tree"
    make_tree(src)
    with pytest.raises(RemotePathError) as info:
        relay.upload(str(src) + "/", f"{remote_tmp}/file/dir")
    assert f"{remote_tmp}/file" in str(info.value)


@pytest.mark.parametrize("method", METHODS)
def test_upload_onto_a_directory_is_refused(relays, sshd, client_key, remote_tmp, method):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    relay.run(f"mkdir {q(remote_tmp)}/adir")
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"y"), f"{remote_tmp}/adir")
    assert "adir" in str(info.value)


@pytest.mark.parametrize("method", METHODS)
def test_unwritable_destination(relays, sshd, client_key, method):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"y"), "/root/hatchway-denied/x")
    assert "/root/hatchway-denied" in str(info.value)


@pytest.mark.parametrize("method", METHODS)
def test_large_file_round_trip_and_progress(relays, sshd, client_key, remote_tmp, tmp_path, method):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    local = tmp_path / "big"
    local.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    up = Transfer("up")
    relay.upload(local, f"{remote_tmp}/big", transfer=up)
    assert up.total == up.done == local.stat().st_size
    down = Transfer("down")
    relay.download(f"{remote_tmp}/big", tmp_path / "back", transfer=down)
    assert (tmp_path / "back").read_bytes() == local.read_bytes()
    assert down.done == local.stat().st_size


def test_download_directory_to_a_stream_is_refused(relays, sshd, client_key, remote_tmp):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    with pytest.raises(RemotePathError):
        relay.download(remote_tmp, io.BytesIO())


# -- temporary keys -----------------------------------------------------------------
@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_builder_temporary_key_and_clear_authorized_keys(relays, sshd, client_key, key_type):
    name = f"hatchway_tmp_{key_type}"
    private, public = generate_key_pair(key_type, 2048 if key_type == "rsa" else 0, name)
    assert public.endswith(" " + name)
    admin = relays(sshd, ssh_private_key_file=str(client_key))
    admin.run("mkdir -p ~/.ssh && chmod 700 ~/.ssh")
    admin.upload(io.BytesIO(f"ssh-ed25519 AAAAkeepme other-key\n{public}\n".encode()), ".ssh/authorized_keys",
                 mode=0o600)
    relay = relays(sshd, target=Target(data={"ssh_private_key": private}), ssh_clear_authorized_keys=True,
                   temporary_key_pair_name=name)
    assert relay.run("id -un").text.strip() == TEST_USER
    relay.cleanup()
    remaining = admin.run("cat ~/.ssh/authorized_keys").text
    assert name not in remaining and "other-key" in remaining
    assert admin.run("stat -c %a ~/.ssh/authorized_keys").text.strip() == "600"
    admin.run("rm -f ~/.ssh/authorized_keys")


def test_remote_without_scp_says_to_use_sftp(relays, fresh_sshd, client_key):
    import shutil as _shutil

    from servers.sshd import path_without

    directory = path_without(["scp"])
    try:
        server = fresh_sshd({"SetEnv": f"PATH={directory}"})
        relay = relays(server, ssh_private_key_file=str(client_key))
        with pytest.raises(CommunicatorError) as info:
            relay.upload(io.BytesIO(b"x"), "/tmp/hatchway-no-scp")
        assert not isinstance(info.value, RemotePathError)
        assert "scp: not found" in str(info.value) and "sftp" in str(info.value)
        assert "/tmp/hatchway-no-scp" in str(info.value)
        sftp_relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method="sftp")
        sftp_relay.upload(io.BytesIO(b"x"), "/tmp/hatchway-no-scp")
        assert sftp_relay.run("cat /tmp/hatchway-no-scp; rm -f /tmp/hatchway-no-scp").stdout == b"x"
    finally:
        _shutil.rmtree(directory, ignore_errors=True)


def test_download_refuses_a_link_escaping_the_destination(relays, sshd, client_key, remote_tmp, tmp_path):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    assert relay.execute(f"mkdir {q(remote_tmp)}/tree && ln -s /etc/passwd {q(remote_tmp)}/tree/escape") == 0
    with pytest.raises(RemotePathError) as info:
        relay.download(f"{remote_tmp}/tree/", tmp_path / "back")
    assert "escape" in str(info.value) and "outside" in str(info.value)
    assert not (tmp_path / "back" / "escape").exists()


@pytest.mark.parametrize("method", METHODS)
def test_download_of_a_tree_with_a_link_loop_without_tar(relays, no_tar_sshd, client_key, tmp_path, method):
    relay = relays(no_tar_sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    base = relay.run("mktemp -d /tmp/hatchway-loop.XXXXXX").text.strip()
    try:
        assert relay.execute(f"cd {q(base)} && mkdir sub && echo f > f && echo g > sub/g && "
                             "ln -s sub lnk && ln -s . loop") == 0
        relay.download(f"{base}/", tmp_path / "back")
        back = tmp_path / "back"
        assert (back / "f").read_text() == "f\n" and (back / "sub" / "g").read_text() == "g\n"
        assert (back / "lnk" / "g").read_text() == "g\n"  # links are followed, as scp -r does
        assert not (back / "loop").exists()
    finally:
        relay.run(f"rm -rf {q(base)}")


@pytest.mark.parametrize("tar", [True, False])
@pytest.mark.parametrize("method", METHODS)
def test_longest_names_fit_with_their_temporary_names(relays, sshd, client_key, remote_tmp, tmp_path, method, tar):
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method,
                   ssh_tar_transfer=tar)
    names = ["L" * 255, "\u65e5" * 85]
    src = tmp_path / "src"
    src.mkdir()
    for name in names:
        assert len(name.encode()) == 255
        (src / name).write_bytes(name.encode())
        relay.upload(src / name, f"{remote_tmp}/files/{name}")
        assert relay.run(f"cat {q(remote_tmp + '/files/' + name)}").stdout == name.encode()
    relay.upload(str(src) + "/", f"{remote_tmp}/tree")
    relay.upload(str(src) + "/", f"{remote_tmp}/tree")  # again: into an existing directory
    for name in names:
        assert relay.run(f"cat {q(remote_tmp + '/tree/' + name)}").stdout == name.encode()


def test_temporary_key_is_cleared_even_after_a_reboot(relays, fresh_sshd, client_key):
    server = fresh_sshd()
    name = "hatchway_tmp_reboot"
    private, public = generate_key_pair("ed25519", 0, name)
    admin = relays(server, ssh_private_key_file=str(client_key))
    admin.run("mkdir -p ~/.ssh && chmod 700 ~/.ssh")
    admin.upload(io.BytesIO(f"{public}\n".encode()), ".ssh/authorized_keys", mode=0o600)
    relay = relays(server, target=Target(data={"ssh_private_key": private}), ssh_clear_authorized_keys=True,
                   temporary_key_pair_name=name)
    assert relay.execute("true") == 0
    server.kill()  # the machine reboots: every connection is gone, and it is back a moment later
    import threading

    back = threading.Timer(1.0, server.start)
    back.start()
    try:
        relay.cleanup()
    finally:
        back.join(30)
    assert name not in admin.run("cat ~/.ssh/authorized_keys").text
    admin.run("rm -f ~/.ssh/authorized_keys")


def test_disconnect_keeps_the_temporary_key_for_a_reconnect(relays, sshd, client_key):
    """pause_before_connecting disconnects and connects again: the key must still work then."""
    name = "hatchway_tmp_pause"
    private, public = generate_key_pair("ed25519", 0, name)
    admin = relays(sshd, ssh_private_key_file=str(client_key))
    admin.run("mkdir -p ~/.ssh && chmod 700 ~/.ssh")
    admin.upload(io.BytesIO(f"{public}\n".encode()), ".ssh/authorized_keys", mode=0o600)
    relay = relays(sshd, target=Target(data={"ssh_private_key": private}), ssh_clear_authorized_keys=True,
                   temporary_key_pair_name=name)
    relay.communicator.disconnect()
    assert name in admin.run("cat ~/.ssh/authorized_keys").text
    relay.connect()
    assert relay.execute("true") == 0
    # what the runner does for pause_before_connecting: connect, disconnect, wait, connect (with that key)
    relay.wait_connected(30, pause_before_connecting=0.2)
    assert relay.execute("true") == 0
    relay.cleanup()
    assert name not in admin.run("cat ~/.ssh/authorized_keys").text
    admin.run("rm -f ~/.ssh/authorized_keys")

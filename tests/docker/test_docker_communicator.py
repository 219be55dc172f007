"""What the docker communicator does beyond the contract, against real containers."""
from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

from hatchway.communicator import Target
from hatchway.errors import BuildCancelled, CommandTimeout, CommunicatorError, ConnectError, HatchwayError, RemotePathError
from hatchway.relay import Relay
from hatchway.testing import piped
from hatchway_docker import DockerCommunicator, DockerCommunicatorConfig


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def owner(relay: Relay, path: str) -> str:
    result = relay.run(f"stat -c %u:%g '{path}'")
    assert result.exit_status == 0, result.stderr
    return result.text.strip()


# -- execute -----------------------------------------------------------------

def test_exec_user_runs_commands_as_that_user(make_container, make_relay):
    relay = make_relay(make_container(), exec_user="builder")
    assert relay.run("id -un; id -u").text.split() == ["builder", "1000"]
    assert relay.run("touch /root/x").exit_status != 0  # really not root


def test_commands_run_at_once(make_container, make_relay):
    """Four commands that each wait for all four to have started: serialised, they would time out."""
    relay = make_relay(make_container())
    assert relay.execute("mkdir /tmp/together") == 0
    results = {}

    def one(i: int) -> None:
        results[i] = relay.run(
            f"touch /tmp/together/{i}; while [ $(ls /tmp/together | wc -l) -lt 4 ]; do sleep 0.05; done; echo {i}",
            timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert {i: r.text.strip() for i, r in results.items()} == {i: str(i) for i in range(4)}


def test_timeout_kills_the_command(make_container, make_relay):
    relay = make_relay(make_container())
    with pytest.raises(CommandTimeout) as info:
        relay.execute("sleep 300; echo never", timeout=1)
    assert "longer than 1s" in str(info.value)
    left = relay.run("ps -o args | grep -c '^sleep 300' || true").text.strip()
    assert left == "0", "the timed-out command is still running in the container"


def test_container_killed_mid_command_says_so(api, make_container, make_relay):
    container = make_container()
    relay = make_relay(container)
    errors = []

    def run() -> None:
        try:
            relay.execute("touch /tmp/started; sleep 300", timeout=120)
        except CommunicatorError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: relay.execute("test -f /tmp/started") == 0, "the command to start")
    api.kill(container)
    thread.join(60)
    assert not thread.is_alive()
    assert len(errors) == 1
    message = str(errors[0])
    assert container[:12] in message and "stopped while running a command" in message
    assert "exited with status 137" in message


def test_stopped_container_cannot_be_connected_to(api, make_container, settings):
    container = make_container()
    api.kill(container)
    comm = DockerCommunicator(DockerCommunicatorConfig(), Target(data={"container_id": container, "settings": settings}))
    with pytest.raises(ConnectError) as info:
        Relay(comm).connect()
    assert f"container {container[:12]}" in str(info.value) and "is not running" in str(info.value)
    assert "docker logs" in str(info.value)


def test_unreachable_daemon_is_one_clear_message(tmp_path):
    sock = tmp_path / "no-daemon.sock"
    target = Target(data={"container_id": "abc", "settings": {"base_url": f"unix://{sock}"}})
    with pytest.raises(ConnectError) as info:
        Relay(DockerCommunicator(DockerCommunicatorConfig(), target)).connect()
    message = str(info.value)
    assert f"cannot reach the Docker daemon at unix://{sock}" in message
    assert "DOCKER_HOST" in message and "\n" not in message


def test_stdin_and_output_at_the_same_time(make_container, make_relay):
    relay = make_relay(make_container())
    data = os.urandom(4 * 1024 * 1024)
    result = relay.run("cat; echo done >&2", stdin=io.BytesIO(data), timeout=120)
    assert result.stdout == data and result.stderr == b"done\n"


# -- image without a shell -------------------------------------------------

def test_image_without_shell_takes_uploads_and_downloads(make_container, make_relay, tmp_path):
    relay = make_relay(make_container("noshell"))
    data = os.urandom(100_000)
    relay.upload(io.BytesIO(data), "/tmp/new/dir/blob", mode=0o640)
    relay.download("/tmp/new/dir/blob", tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == data
    assert (tmp_path / "blob").stat().st_mode & 0o777 == 0o640
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_bytes(b"f")
    relay.upload(str(tree) + "/", "/srv/tree")
    relay.download("/srv/tree/", tmp_path / "back")
    assert (tmp_path / "back" / "sub" / "f").read_bytes() == b"f"


def test_image_without_shell_cannot_execute(make_container, make_relay):
    relay = make_relay(make_container("noshell"))
    with pytest.raises(CommunicatorError) as info:
        relay.execute("echo hi")
    message = str(info.value)
    assert "has no /bin/sh" in message and "uploads and downloads still work" in message


# -- uploads -----------------------------------------------------------------

def test_uploads_belong_to_exec_user(make_container, make_relay, tmp_path):
    relay = make_relay(make_container(), exec_user="builder")
    local = tmp_path / "f"
    local.write_bytes(b"x")
    relay.upload(local, "/tmp/made/for/builder/f")
    for path in ("/tmp/made", "/tmp/made/for/builder", "/tmp/made/for/builder/f"):
        assert owner(relay, path) == "1000:1000", path
    assert relay.execute("echo more >> /tmp/made/for/builder/f") == 0  # writable by that user


def test_numeric_exec_user_with_group(make_container, make_relay):
    relay = make_relay(make_container(), exec_user="1000:0")
    relay.upload(io.BytesIO(b"x"), "/tmp/numeric")
    assert owner(relay, "/tmp/numeric") == "1000:0"


def test_fix_upload_owner_false_leaves_root(make_container, make_relay):
    relay = make_relay(make_container(), exec_user="builder", fix_upload_owner=False)
    relay.upload(io.BytesIO(b"x"), "/tmp/rootowned")
    assert owner(relay, "/tmp/rootowned") == "0:0"


def test_unknown_exec_user_is_reported(make_container, settings):
    target = Target(data={"container_id": make_container(), "settings": settings, "exec_user": "nobody-here"})
    with pytest.raises(ConnectError) as info:
        Relay(DockerCommunicator(DockerCommunicatorConfig(), target)).connect()
    assert "exec_user 'nobody-here'" in str(info.value) and "/etc/passwd" in str(info.value)


def test_existing_directory_modes_are_kept(make_container, make_relay, tmp_path):
    """Creating missing parents never rewrites the mode of directories that exist (/tmp stays 1777)."""
    relay = make_relay(make_container())
    relay.upload(io.BytesIO(b"x"), "/tmp/sub/file")
    assert relay.run("stat -c %a /tmp").text.strip() == "1777"
    assert relay.run("stat -c %a /tmp/sub").text.strip() == "755"


def test_failed_upload_leaves_the_old_file_whole(make_container, make_relay):
    relay = make_relay(make_container())
    relay.upload(io.BytesIO(b"old contents"), "/tmp/keep")

    class Broken(io.RawIOBase):
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def readinto(self, b):
            if self.sent > 3 * 1024 * 1024:
                raise OSError("the source went away")
            n = len(b)
            b[:n] = b"\1" * n
            self.sent += n
            return n

    with pytest.raises(Exception):
        relay.upload(io.BufferedReader(Broken()), "/tmp/keep")
    assert relay.run("cat /tmp/keep").stdout == b"old contents"
    assert relay.run("ls -A /tmp").text.split() == ["keep"]


def test_upload_where_a_parent_is_a_file(make_container, make_relay):
    relay = make_relay(make_container())
    relay.upload(io.BytesIO(b"x"), "/tmp/plain")
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"y"), "/tmp/plain/below")
    assert "/tmp/plain" in str(info.value) and "not a directory" in str(info.value)


def test_upload_file_onto_a_directory_is_refused(make_container, make_relay):
    relay = make_relay(make_container())
    assert relay.execute("mkdir -p /tmp/adir/inside && touch /tmp/adir/inside/f") == 0
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"y"), "/tmp/adir")
    assert "/tmp/adir" in str(info.value) and "directory" in str(info.value)
    assert relay.execute("test -f /tmp/adir/inside/f") == 0


def test_relative_paths_start_at_the_root(make_container, make_relay):
    relay = make_relay(make_container())
    relay.upload(io.BytesIO(b"rel"), "srv/relative.txt")
    assert relay.run("cat /srv/relative.txt").stdout == b"rel"


# -- downloads -------------------------------------------------------------

def test_download_refuses_links_leaving_the_destination(make_container, make_relay, tmp_path):
    relay = make_relay(make_container())
    assert relay.execute("mkdir -p /tmp/evil && echo ok > /tmp/evil/fine && ln -s /etc/passwd /tmp/evil/abs") == 0
    with pytest.raises(RemotePathError) as info:
        relay.download("/tmp/evil/", tmp_path / "out")
    assert "abs" in str(info.value) and "outside" in str(info.value)
    assert str(info.value).startswith("refused to download '/tmp/evil' from container")
    assert relay.execute("rm /tmp/evil/abs && ln -s ../../../../etc/passwd /tmp/evil/up") == 0
    with pytest.raises(RemotePathError):
        relay.download("/tmp/evil/", tmp_path / "out2")
    assert not (tmp_path / "etc").exists()


def test_download_keeps_links_inside_the_destination(make_container, make_relay, tmp_path):
    relay = make_relay(make_container())
    assert relay.execute("mkdir -p /tmp/ok && echo data > /tmp/ok/real && ln -s real /tmp/ok/alias") == 0
    relay.download("/tmp/ok/", tmp_path / "out")
    assert os.readlink(tmp_path / "out" / "alias") == "real"
    assert (tmp_path / "out" / "alias").read_text() == "data\n"


def test_download_follows_a_file_link(make_container, make_relay, tmp_path):
    relay = make_relay(make_container())
    relay.download("/bin/sh", tmp_path / "sh")
    assert (tmp_path / "sh").read_bytes() == Path("/bin/busybox").read_bytes()


def test_download_directory_to_a_stream_is_refused(make_container, make_relay):
    relay = make_relay(make_container())
    with pytest.raises(RemotePathError) as info:
        relay.download("/etc", io.BytesIO())
    assert "/etc" in str(info.value) and "directory" in str(info.value)


def test_long_pipe_streams_through_with_mode_and_owner(make_container, make_relay):
    """A pipe longer than what is peeked into memory goes through a command's stdin: bytes, mode, owner."""
    relay = make_relay(make_container(), exec_user="builder")
    data = os.urandom(20 * 1024 * 1024 + 123)
    with piped(data) as pipe:
        relay.upload(pipe, "/tmp/piped/deep/blob", mode=0o600)
    assert relay.run("cat /tmp/piped/deep/blob", timeout=120).stdout == data
    assert relay.run("stat -c '%a %u:%g' /tmp/piped/deep/blob /tmp/piped").text.split("\n")[:2] == \
        ["600 1000:1000", "755 1000:1000"]
    assert relay.run("ls -A /tmp/piped/deep").text.split() == ["blob"]


def test_transfers_report_progress(make_container, make_relay, tmp_path):
    from hatchway.communicator import Transfer

    relay = make_relay(make_container())
    local = tmp_path / "f"
    local.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    for direction in ("up", "down"):
        transfer = Transfer(direction)
        started, moved = [], []
        transfer.on_start(lambda t: started.append(t.total))
        transfer.on_advance(lambda t, n: moved.append(n))
        if direction == "up":
            relay.upload(local, "/tmp/progress", transfer=transfer)
        else:
            relay.download("/tmp/progress", tmp_path / "back", transfer=transfer)
        assert started == [local.stat().st_size], direction
        assert sum(moved) == local.stat().st_size and len(moved) > 1, direction


def _interrupted_upload(relay, source, destination: str, moving_after: int) -> list:
    """Upload ``source`` in a thread and close the communicator (what a cancelled build does) once
    ``moving_after`` bytes moved; return the errors the upload raised."""
    from hatchway.communicator import Transfer

    moving = threading.Event()
    transfer = Transfer("interrupted")
    transfer.on_advance(lambda t, n: moving.set() if t.done > moving_after else None)
    errors = []

    def upload() -> None:
        try:
            relay.upload(source, destination, transfer=transfer)
        except HatchwayError as exc:
            errors.append(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    assert moving.wait(60), "the upload never started moving bytes"
    relay.hook.cleanup()
    thread.join(60)
    assert not thread.is_alive()
    relay.hook.connect()
    return errors


def test_cleanup_stops_a_running_upload(make_container, make_relay, tmp_path):
    """A cancelled build closes the communicator: a transfer under way stops, nothing half-written lands,
    and no hidden temporary file stays behind (issue 13)."""
    relay = make_relay(make_container())
    big = tmp_path / "big"
    with open(big, "wb") as out:
        out.truncate(512 * 1024 * 1024)
    errors = _interrupted_upload(relay, big, "/tmp/never/big", 8 * 1024 * 1024)
    assert len(errors) == 1 and "was stopped" in str(errors[0]), errors
    assert isinstance(errors[0], BuildCancelled)  # not a CommunicatorError: no provisioner retries it
    wait_for(lambda: relay.run("ls -A /tmp/never 2>/dev/null").text == "", "the temporary file to go")
    assert relay.run("test ! -e /tmp/never/big").exit_status == 0


def test_cleanup_stops_a_long_pipe_without_placing_it(make_container, make_relay):
    """A pipe cut off by a cancelled build is never moved into place (cat alone cannot tell a cut from
    the end), and its temporary file goes (issue 13)."""
    relay = make_relay(make_container())
    relay.upload(io.BytesIO(b"old contents"), "/tmp/piped/keep")

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            b[:len(b)] = b"\2" * len(b)
            return len(b)

    errors = _interrupted_upload(relay, io.BufferedReader(Endless()), "/tmp/piped/keep", 24 * 1024 * 1024)
    assert len(errors) == 1 and "was stopped" in str(errors[0]), errors
    wait_for(lambda: relay.run("ls -A /tmp/piped").text.split() == ["keep"], "the temporary file to go")
    assert relay.run("cat /tmp/piped/keep").stdout == b"old contents"

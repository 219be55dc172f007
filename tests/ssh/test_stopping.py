"""Stopping what runs on the machine, and living within the server's session limit.

A command that times out, or runs when the build is interrupted (the
communicator's cleanup), is stopped with its whole process group, as root
(whose sessions OpenSSH refuses signal requests for) and as a normal user,
with and without a pty; the machine's process listing proves it. A server
allowing fewer sessions per connection than sftp would like (``MaxSessions``)
gets its files over fewer channels; when it allows none, the error says so.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import List

import pytest

from hatchway.communicator import OutputStream
from hatchway.errors import CommandTimeout, CommunicatorError
from hatchway.testing.contract import make_tree
from hatchway_ssh.execute import GroupMarker

USERS = ["root", "hatchway-test"]


def processes_with(token: str) -> List[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if token in cmdline:
            found.append(f"{entry}: {cmdline.strip()}")
    return found


def wait_until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.05)


def tree_command(token: str) -> str:
    """A command with a background child, a grandchild and a foreground sleep, all named by ``token``."""
    return (f"sleep 3001.{token} & sh -c 'sleep 3002.{token}; true' & echo started; sleep 3003.{token}")


@pytest.fixture
def root_sshd(fresh_sshd, client_key):
    server = fresh_sshd()
    server.authorize(Path(f"{client_key}.pub").read_text(), user="root")
    return server


@pytest.fixture
def token():
    value = f"{uuid.uuid4().int % 10 ** 6:06d}"
    yield value
    for line in processes_with(f".{value}"):
        os.kill(int(line.split(":")[0]), 9)


@pytest.mark.parametrize("pty", [False, True], ids=["no-pty", "pty"])
@pytest.mark.parametrize("user", USERS)
def test_a_timed_out_command_is_stopped_with_everything_it_started(relays, root_sshd, client_key, token, user,
                                                                   pty):
    relay = relays(root_sshd, ssh_private_key_file=str(client_key), ssh_username=user, ssh_pty=pty)
    with pytest.raises(CommandTimeout):
        relay.run(tree_command(token), timeout=2)
    assert processes_with(f".{token}") == []
    assert relay.run("echo still-usable").text.strip() == "still-usable"


@pytest.mark.parametrize("user", USERS)
def test_cleanup_during_a_command_stops_it_with_everything_it_started(relays, root_sshd, client_key, token, user):
    relay = relays(root_sshd, ssh_private_key_file=str(client_key), ssh_username=user)
    started = threading.Event()
    out = OutputStream("stdout")
    out.add_listener(lambda data: started.set() if b"started" in data else None)
    result: dict = {}

    def run() -> None:
        try:
            result["status"] = relay.execute(tree_command(token), stdout=out)
        except Exception as exc:  # noqa: BLE001 - inspected below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(20)
    wait_until(lambda: len(processes_with(f".{token}")) >= 3, "the command's processes starting")
    relay.communicator.cleanup()  # what an interrupt does
    thread.join(30)
    assert not thread.is_alive()
    assert processes_with(f".{token}") == []
    assert result.get("status", 0) != 0 or "error" in result


def test_with_one_session_allowed_a_timeout_falls_back_to_signals(relays, fresh_sshd, client_key, token):
    """No second channel can be opened to kill the group: the signal request (allowed for a normal user) does."""
    server = fresh_sshd({"MaxSessions": "1"})
    relay = relays(server, ssh_private_key_file=str(client_key))
    with pytest.raises(CommandTimeout):
        relay.run(f"echo started; sleep 3003.{token}", timeout=2)
    wait_until(lambda: processes_with(f".{token}") == [], "the command ending")


def test_the_process_group_line_is_not_in_the_output(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    result = relay.run("printf 'a\\nb'; printf 'err' >&2")
    assert result.stdout == b"a\nb" and result.stderr == b"err"
    assert relay.run("true").stdout == b""


def test_group_marker_passes_output_untouched_when_no_marker_comes():
    got: List[bytes] = []
    marker = GroupMarker(got.append)
    marker(b"login banner\n")
    marker(b"x" * (GroupMarker.LIMIT + 1))
    assert b"".join(got) == b"login banner\n" + b"x" * (GroupMarker.LIMIT + 1)
    assert marker.pid is None


def test_group_marker_takes_its_line_out_wherever_it_comes():
    got: List[bytes] = []
    marker = GroupMarker(got.append)
    token = marker.token
    marker(b"from a login script\n" + token[:5])
    marker(token[5:] + b"4242\r\nfirst")
    marker(b" second")
    assert b"".join(got) == b"from a login script\nfirst second"
    assert marker.pid == 4242


# -- session limits --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sessions", [1, 2])
def test_sftp_directory_upload_uses_the_sessions_the_server_allows(relays, fresh_sshd, client_key, tmp_path,
                                                                   sessions):
    server = fresh_sshd({"MaxSessions": str(sessions)})
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method="sftp",
                   ssh_tar_transfer=False)
    source = tmp_path / "src"
    content = make_tree(source)
    for i in range(12):
        content[f"many/f{i}.txt"] = f"{i}\n".encode()
        (source / "many").mkdir(exist_ok=True)
        (source / "many" / f"f{i}.txt").write_bytes(content[f"many/f{i}.txt"])
    base = relay.run("mktemp -d /tmp/hatchway-sessions.XXXXXX").text.strip()
    relay.upload(source, f"{base}/dest")  # the directory itself goes into dest (no trailing slash)
    for rel, data in content.items():
        got = relay.run(f"cat '{base}/dest/src/{rel}'")
        assert got.stdout == data, (rel, got)
    relay.run(f"rm -rf {base}")


def test_when_the_server_allows_no_more_sessions_the_error_says_so(relays, fresh_sshd, client_key, tmp_path):
    server = fresh_sshd({"MaxSessions": "1"})
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method="sftp",
                   ssh_tar_transfer=False)
    base = relay.run("mktemp -d /tmp/hatchway-sessions.XXXXXX").text.strip()
    source = tmp_path / "src"
    make_tree(source)
    out = OutputStream("stdout")
    busy = threading.Event()
    out.add_listener(lambda data: busy.set())
    holder = threading.Thread(target=lambda: relay.execute("echo busy; sleep 8", stdout=out), daemon=True)
    holder.start()
    assert busy.wait(20)
    with pytest.raises(CommunicatorError) as info:
        relay.upload(source, f"{base}/dest")
    holder.join(20)
    assert "the server refused to open another session" in str(info.value), info.value
    assert "its limit of sessions per connection was hit (sshd_config MaxSessions)" in str(info.value)
    assert relay.run(f"ls -A {base}").text == ""
    relay.run(f"rm -rf {base}")


def test_the_login_shell_is_probed_once_per_connection(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    relay.run("true")
    conn = relay.communicator._connection()
    assert conn.posix_shell is True


def test_a_login_shell_that_is_not_posix_gets_the_command_as_it_is(relays, fresh_sshd, client_key, token):
    """As a Windows OpenSSH's cmd.exe would: no pid line prefixed; a timeout still stops the command
    (signal requests, which sshd honours for a normal user)."""
    relay = relays(fresh_sshd(), ssh_private_key_file=str(client_key))
    relay.communicator._connection().posix_shell = False  # what the probe concludes for such a shell
    assert relay.run("echo plain").stdout == b"plain\n"
    with pytest.raises(CommandTimeout):
        relay.run(f"echo started; exec sleep 3003.{token}", timeout=2)
    wait_until(lambda: processes_with(f".{token}") == [], "the command ending")

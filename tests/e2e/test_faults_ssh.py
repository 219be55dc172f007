"""What an interrupted or timed-out ssh build leaves on the machine, through ``hatchway build``.

* SIGINT, SIGTERM and a provisioner ``timeout`` stop the remote command and
  everything it started, as root and as a normal user, with and without
  ``ssh_pty``: afterwards the machine's process listing holds none of them
  (OpenSSH refuses signal requests on root sessions, and without a pty a
  closed channel kills nothing: the command's process group is killed from
  a second channel).
* An interrupted upload leaves no hidden temp file (sftp, scp, and sftp
  directories).
* A Ctrl-C during a stalled SSH handshake (a server that accepts the TCP
  connection and never speaks) acts at once, not after the handshake timeout.
* A server allowing 1 or 2 sessions per connection (``MaxSessions``) still
  gets whole directories over sftp.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from servers.sshd import Sshd, ensure_test_user, keygen, remote_directory

pytestmark = pytest.mark.timeout(180)

USER = "hatchway-e2e"


class Build:
    """``hatchway build`` in a subprocess whose output is read as it comes (to act mid-build)."""

    def __init__(self, template: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "hatchway.cli", "build", str(template)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: List[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                         for s in (self.process.stdout, self.process.stderr)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                if time.monotonic() > deadline or (self.process.poll() is not None
                                                   and not any(r.is_alive() for r in self._readers)):
                    pytest.fail(f"{text!r} never appeared in the build's output:\n" + "\n".join(self.lines))
                self._changed.wait(0.5)

    def finish(self, timeout: float = 90) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            self.stop()
        for reader in self._readers:
            reader.join(10)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.05)


def write(path: Path, builder: dict, provisioners: List[dict]) -> Path:
    path.write_text(json.dumps({"builders": [builder], "provisioners": provisioners}, indent=1))
    return path


def processes_with(token: str) -> List[str]:
    """The machine's processes whose command line holds ``token`` (pid and command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if token in cmdline:
            found.append(f"{entry}: {cmdline.strip()}")
    return found


def kill_processes_with(token: str) -> None:
    for line in processes_with(token):
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- fixtures -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def key() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="hatchway-e2e-faults-ssh-"))
    os.chmod(directory, 0o755)
    ensure_test_user(USER)
    yield keygen(directory / "id_ed25519")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def sshd(key: Path) -> Iterator[Callable[..., Sshd]]:
    """``sshd(extra)`` -> a started server authorizing ``key`` for USER and root; stopped after the test."""
    servers: List[Sshd] = []

    def start(extra: Optional[Dict[str, object]] = None) -> Sshd:
        server = Sshd(extra=extra, user=USER)
        for user in (USER, "root"):
            server.authorize(Path(f"{key}.pub").read_text(), user=user)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.close()


def ssh_builder(server: Sshd, key: Path, user: str = USER, **keys: object) -> dict:
    return {"type": "null", "name": "victim", "communicator": "ssh", "ssh_host": server.host,
            "ssh_port": server.port, "ssh_username": user, "ssh_private_key_file": str(key), "ssh_timeout": "20s",
            **keys}


# -- commands stopped for real --------------------------------------------------------------------------

USERS = [pytest.param("root", id="root"), pytest.param(USER, id="user")]
PTY = [pytest.param(False, id="no-pty"), pytest.param(True, id="pty")]
STOPS = [pytest.param("SIGINT", id="SIGINT"), pytest.param("SIGTERM", id="SIGTERM"),
         pytest.param("timeout", id="timeout")]


@pytest.mark.parametrize("how", STOPS)
@pytest.mark.parametrize("pty", PTY)
@pytest.mark.parametrize("user", USERS)
def test_a_stopped_command_leaves_no_process_on_the_machine(sshd, key: Path, tmp_path: Path, user: str,
                                                            pty: bool, how: str) -> None:
    server = sshd()
    token = f"{uuid.uuid4().int % 10 ** 6:06d}"  # in every process's command line: sleep 3000.<token>
    script = [f"sleep 3001.{token} &",  # a child in the background
              f"sh -c 'sleep 3002.{token}; true' &",  # a grandchild
              "echo started",
              f"sleep 3003.{token}"]  # the one in front
    provisioner: dict = {"type": "shell", "inline": script}
    if how == "timeout":
        provisioner["timeout"] = "3s"
    template = write(tmp_path / "t.json", ssh_builder(server, key, user, ssh_pty=pty),
                     [provisioner, {"type": "shell", "inline": ["echo never"]}])
    build = Build(template)
    try:
        build.wait_for("    victim: started")
        until(lambda: len(processes_with(f"300{1}.{token}")) == 1 and len(processes_with(f"3003.{token}")) == 1,
              "the command's processes starting")
        if how != "timeout":
            build.process.send_signal(getattr(signal, how))
        status = build.finish()
        left = processes_with(f".{token}")
        # nothing reaps for us here: whatever is left now was left by the build
    finally:
        build.stop()
        kill_processes_with(f".{token}")
    assert "never" not in build.output
    if how == "timeout":
        assert status == 1, build.output
        assert "==> victim: Build failed: the shell provisioner (provisioners[0]) failed: timed out after 3s" \
            in build.output
    else:
        assert status == {"SIGINT": 130, "SIGTERM": 143}[how], build.output
        assert "==> victim: Build was interrupted" in build.output
    assert left == [], f"still running on the machine after the build ended: {left}"


# -- interrupted uploads leave no temp file ------------------------------------------------------------

@pytest.mark.parametrize("method,what", [("sftp", "file"), ("scp", "file"), ("sftp", "directory"),
                                         ("tar", "directory")])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_upload_leaves_no_temp_file(sshd, key: Path, tmp_path: Path, method: str, what: str,
                                                   sig: int) -> None:
    server = sshd()
    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.bin", "b.bin"):
        with open(source / name, "wb") as handle:
            handle.truncate(2 << 30)  # sparse: quick to read here, long enough to interrupt in the middle
    with remote_directory(USER) as remote:
        dest = remote / "dest"
        upload = {"type": "file", "source": str(source / "a.bin") if what == "file" else f"{source}/",
                  "destination": str(dest)}
        template = write(tmp_path / "t.json", ssh_builder(server, key, ssh_file_transfer_method=method.replace(
            "tar", "scp"), ssh_tar_transfer=method == "tar"), [upload])
        build = Build(template)
        try:
            def writing() -> bool:
                return any(p.is_file() and p.stat().st_size > 0 for p in remote.rglob("*"))

            until(writing, "the upload starting", 60)
            build.process.send_signal(sig)
            status = build.finish()
        finally:
            build.stop()
        left = [str(p.relative_to(remote)) for p in remote.rglob("*") if p.is_file()]
    assert status == (130 if sig == signal.SIGINT else 143), build.output
    assert "==> victim: Build was interrupted" in build.output
    assert left == [], f"left on the machine: {left}"


# -- a stalled handshake --------------------------------------------------------------------------------

@pytest.fixture
def stalled_server(request) -> Iterator[tuple]:
    """A TCP server on 127.0.0.1 that accepts connections and then stalls: it never sends a byte
    (``"silent"``), or only its SSH banner (``"banner"``). Yields (port, accepted event)."""
    banner = b"SSH-2.0-OpenSSH_9.6\r\n" if request.param == "banner" else b""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted = threading.Event()
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            held.append(conn)
            if banner:
                conn.sendall(banner)
            accepted.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("stalled_server", ["silent", "banner"], indirect=True)
def test_ctrl_c_during_a_stalled_handshake_acts_at_once(key: Path, stalled_server, tmp_path: Path) -> None:
    port, accepted = stalled_server
    template = write(tmp_path / "t.json", {
        "type": "null", "name": "victim", "communicator": "ssh", "ssh_host": "127.0.0.1", "ssh_port": port,
        "ssh_username": USER, "ssh_private_key_file": str(key), "ssh_timeout": "30m",
        "ssh_handshake_timeout": "30m"}, [{"type": "shell", "inline": ["echo never"]}])
    build = Build(template)
    try:
        assert accepted.wait(60), build.output
        time.sleep(0.5)  # let the client wait for the server
        build.process.send_signal(signal.SIGINT)
        # the handshake would wait 30 minutes after a banner: ending at all shows the interrupt cut it short
        status = build.finish(60)
    finally:
        build.stop()
    assert status == 130, build.output
    assert "==> victim: Build was interrupted" in build.output
    assert "handshake" not in build.output, build.output


# -- the server's session limit -------------------------------------------------------------------------

@pytest.mark.parametrize("sessions", [1, 2])
def test_sftp_directory_upload_within_the_servers_session_limit(sshd, key: Path, tmp_path: Path,
                                                                sessions: int) -> None:
    server = sshd({"MaxSessions": str(sessions)})
    source = tmp_path / "tree"
    content = {f"d{i}/f{j}.txt": f"{i}-{j}\n".encode() * (j + 1) for i in range(3) for j in range(5)}
    for rel, data in content.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    with remote_directory(USER) as remote:
        dest = remote / "dest"
        template = write(tmp_path / "t.json", ssh_builder(server, key, ssh_file_transfer_method="sftp",
                                                          ssh_tar_transfer=False),
                         [{"type": "file", "source": f"{source}/", "destination": str(dest)},
                          {"type": "shell", "inline": [f"find {dest} -type f | wc -l"]}])
        result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", str(template)],
                                capture_output=True, text=True, timeout=150)
        got = {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert result.returncode == 0, result.stdout + result.stderr
    assert got == content
    assert f"    victim: {len(content)}" in result.stdout

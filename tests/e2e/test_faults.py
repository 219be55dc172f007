"""Machines that vanish mid-build, through ``hatchway build``: sshd killed mid-upload and mid-command,
a container killed mid-exec, WinRM connections dropped, SIGINT/SIGTERM, ``-on-error=abort``,
``max_retries`` and ``timeout`` (a command that hangs).

Each test checks what a user sees (one ``Build failed`` message naming the
build, the provisioner and the cause; the exit status), that no partial
file sits at the destination, and that cleanup ran (containers removed,
the temporary key gone from ``authorized_keys``, tunnels closed, WinRM
shells deleted, sshd sessions ended).
"""
from __future__ import annotations

import json
import os
import pwd
import re
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

from servers import dockerd
from servers.sshd import Sshd, ensure_test_user, free_port, keygen, process_tree, remote_directory

pytestmark = pytest.mark.timeout(180)

TEMP_KEY_NAME = "hatchway-e2e-temporary-key"
#: The login user of these tests: its own ~/.ssh/authorized_keys, which no other suite touches.
E2E_USER = "hatchway-e2e"
LINE = re.compile(r"^((==> |    |--> )[\w-]+: |==> (Wait completed|Builds finished|Some builds)"
                  r"|Interrupt received\. Cleaning up)")


# -- a running `hatchway build` ---------------------------------------------------------------------

class Build:
    """``hatchway build`` in a subprocess whose output is read as it comes (to act mid-build)."""

    def __init__(self, template: Path, *flags: str, env: Optional[Dict[str, str]] = None) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "hatchway.cli", "build", *flags, str(template)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.out: List[str] = []
        self.err: List[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, lines), daemon=True)
                         for s, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines: List[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.out + self.err)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a line contains ``text``; fails (showing the output so far) after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.out + self.err):
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not any(r.is_alive() for r in self._readers)):
                    pytest.fail(f"{text!r} never appeared in the build's output:\n" + "\n".join(self.out + self.err))
                self._changed.wait(min(left, 0.5))

    def finish(self, timeout: float = 120) -> int:
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

    def failed_lines(self) -> List[str]:
        return [line for line in self.err if ": Build failed: " in line]

    def stray_lines(self) -> List[str]:
        """Lines that are neither labelled with a build nor a line of the run as a whole."""
        return [line for line in self.out + self.err if line.strip() and not LINE.match(line)]


def hatchway_build(template: Path, *flags: str, env: Optional[Dict[str, str]] = None,
                   timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatchway.cli", "build", *flags, str(template)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def write(path: Path, builders: List[dict], provisioners: List[dict]) -> Path:
    path.write_text(json.dumps({"builders": builders, "provisioners": provisioners}, indent=1))
    return path


def until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.02)


def port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


# -- ssh fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A temp dir the login user can read (keys, scripts)."""
    directory = Path(tempfile.mkdtemp(prefix="hatchway-e2e-faults-"))
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def key(work: Path) -> Path:
    ensure_test_user(E2E_USER)
    return keygen(work / "id_ed25519")


@pytest.fixture
def sshd(key: Path) -> Iterator[Callable[[], Sshd]]:
    """``sshd()`` -> a started server authorizing ``key``; all are stopped after the test."""
    servers: List[Sshd] = []

    def start() -> Sshd:
        server = Sshd(user=E2E_USER)
        server.authorize(Path(f"{key}.pub").read_text())
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def remote() -> Iterator[Path]:
    """A fresh directory on "the remote" (this machine), owned by the login user."""
    with remote_directory(E2E_USER) as directory:
        yield directory


@pytest.fixture
def temporary_key(work: Path) -> Iterator[Path]:
    """The login user's ``~/.ssh/authorized_keys`` holding another key and a temporary one (named
    TEMP_KEY_NAME), as a builder leaves it; restored afterwards."""
    user = pwd.getpwnam(E2E_USER)
    ssh_dir = Path(user.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    os.chown(ssh_dir, user.pw_uid, user.pw_gid)
    path = ssh_dir / "authorized_keys"
    before = path.read_bytes() if path.exists() else None
    temp = keygen(work / f"temp-{uuid.uuid4().hex[:6]}", comment=TEMP_KEY_NAME)
    path.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeepKeepKeepKeepKeepKeepKeepKeepKeepKeep other-key\n"
                    + Path(f"{temp}.pub").read_text())
    os.chown(path, user.pw_uid, user.pw_gid)
    yield path
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)


def ssh_build(name: str, server: Sshd, key: Path, **keys: object) -> dict:
    return {"type": "null", "name": name, "communicator": "ssh", "ssh_host": server.host, "ssh_port": server.port,
            "ssh_username": E2E_USER, "ssh_private_key_file": str(key), "ssh_timeout": "20s", **keys}


def with_temporary_key(**keys: object) -> dict:
    return {"temporary_key_pair_name": TEMP_KEY_NAME, "ssh_clear_authorized_keys": True, **keys}


def reap(pid_file: Path) -> None:
    """Kill the remote commands whose pids a test recorded in ``pid_file`` (a closed ssh channel leaves them)."""
    for pid in (pid_file.read_text().split() if pid_file.exists() else []):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def sessions_of(server: Sshd) -> List[int]:
    """The server's session processes (its children): none once every connection is closed."""
    assert server.process is not None
    return process_tree(server.process.pid)[1:]


# -- ssh: sshd killed ----------------------------------------------------------------------------

def _kill_mid_upload(server: Sshd, remote: Path, dest: Path) -> None:
    """Freeze the server the moment the upload's temp file has bytes, check nothing is at ``dest``, kill it."""
    def writing() -> bool:
        return any(p.name != dest.name and p.stat().st_size > 0 for p in remote.iterdir())

    until(writing, "the upload starting")
    server.pause()
    assert not dest.exists(), "the destination appeared before the upload finished"
    server.kill()


@pytest.mark.parametrize("method", ["scp", "sftp"])
def test_sshd_killed_mid_upload(sshd, key: Path, remote: Path, tmp_path: Path, method: str) -> None:
    server = sshd()
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(2 << 30)  # sparse: quick to read here, long enough to be cut in the middle
    dest = remote / "big.bin"
    template = write(tmp_path / "t.json", [ssh_build("victim", server, key, ssh_file_transfer_method=method)],
                     [{"type": "file", "source": str(big), "destination": str(dest)}])
    build = Build(template)
    try:
        _kill_mid_upload(server, remote, dest)
        code = build.finish()
    finally:
        build.stop()
    assert code == 1, build.output
    assert build.failed_lines() == [
        f"==> victim: Build failed: the file provisioner (provisioners[0]) failed: target {E2E_USER}@127.0.0.1:"
        f"{server.port}: connection lost while trying to upload to {str(dest)!r}"
    ], build.output
    assert "Traceback" not in build.output
    assert not dest.exists()
    # what is left is the hidden temp file the vanished machine's scp/sftp was writing
    assert all(p.name.startswith(".") for p in remote.iterdir()), list(remote.iterdir())


def test_a_connection_reset_prints_no_unlabelled_line(sshd, key: Path, remote: Path, tmp_path: Path) -> None:
    server = sshd()
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(2 << 30)
    dest = remote / "big.bin"
    template = write(tmp_path / "t.json", [ssh_build("victim", server, key)],
                     [{"type": "file", "source": str(big), "destination": str(dest)}])
    build = Build(template)
    try:
        _kill_mid_upload(server, remote, dest)
        assert build.finish() == 1
    finally:
        build.stop()
    assert build.stray_lines() == []


def test_sshd_killed_mid_command_fails_only_that_build_and_closes_its_tunnel(sshd, key: Path, work: Path,
                                                                             tmp_path: Path) -> None:
    victim, witness = sshd(), sshd()
    tunnel = free_port()
    release = work / f"release-{uuid.uuid4().hex[:6]}"
    template = write(tmp_path / "t.json", [
        ssh_build("victim", victim, key, ssh_local_tunnels=[f"{tunnel}:127.0.0.1:{witness.port}"]),
        ssh_build("witness", witness, key),
    ], [
        {"type": "shell", "only": ["victim"], "inline": ["echo started on $PACKER_BUILD_NAME", "sleep 120"]},
        {"type": "shell", "only": ["witness"], "inline": ["echo waiting on $PACKER_BUILD_NAME",
                                                          f"while [ ! -e {release} ]; do sleep 0.1; done",
                                                          "echo released"]},
    ])
    build = Build(template)
    try:
        build.wait_for("    victim: started on victim")
        build.wait_for("    witness: waiting on witness")
        with socket.create_connection(("127.0.0.1", tunnel), timeout=5) as through:  # the tunnel works...
            assert through.recv(4).startswith(b"SSH-")  # ...to the witness's sshd
        victim.kill()
        build.wait_for("==> victim: Build failed")
        until(lambda: port_closed(tunnel), "closing the victim's tunnel")
        assert build.process.poll() is None, "the witness build was stopped too"
        release.touch()
        code = build.finish()
    finally:
        build.stop()
    assert code == 1, build.output
    cause = ("the shell provisioner (provisioners[0]) failed: the connection was lost while inline script ran; "
             "if the script reboots the machine, set \"expect_disconnect\": true")
    assert build.failed_lines() == [f"==> victim: Build failed: {cause}"]
    assert f"--> victim: {cause}" in build.err
    assert "    witness: released" in build.out and "--> witness: (no artifact)" in build.out
    assert build.stray_lines() == []
    until(lambda: sessions_of(witness) == [], "the witness's ssh session ending")


def test_machine_rebooted_mid_command_still_has_its_temporary_key_cleared(sshd, key: Path, temporary_key: Path,
                                                                          tmp_path: Path) -> None:
    server = sshd()
    template = write(tmp_path / "t.json", [ssh_build("victim", server, key, **with_temporary_key())],
                     [{"type": "shell", "inline": ["echo started", "sleep 120"]}])
    build = Build(template)
    try:
        build.wait_for("    victim: started")
        server.restart()  # the machine reboots: every session dies, sshd comes back on the same port
        code = build.finish()
    finally:
        build.stop()
    assert code == 1 and "the connection was lost while inline script ran" in build.output
    assert TEMP_KEY_NAME not in temporary_key.read_text()
    assert "other-key" in temporary_key.read_text()


# -- docker: a container killed mid-exec ----------------------------------------------------------

def docker_build(name: str, image: str, label: str) -> dict:
    return {"type": "docker", "name": name, "image": image, "pull": False, "discard": True,
            "run_command": ["-d", "-i", "-t", "--network=none", "-l", f"hatchway-e2e={label}",
                            "--entrypoint=/bin/sh", "--", "{{.Image}}"]}


def containers(api, label: str) -> list:
    return api.containers(all=True, filters={"label": f"hatchway-e2e={label}"})


def test_container_killed_mid_exec(engine: dockerd.Engine, api, image: str, label: str, tmp_path: Path) -> None:
    template = write(tmp_path / "t.json", [docker_build("box", image, label)],
                     # (a removed machine is not retried for start_retry_timeout, 5m by default)
                     [{"type": "shell", "inline": ["echo started", "sleep 120"]}])
    build = Build(template, env=engine.env)
    try:
        build.wait_for("    box: started")
        [container] = containers(api, label)
        api.kill(container["Id"])
        code = build.finish()
    finally:
        build.stop()
    assert code == 1, build.output
    short = container["Id"][:12]
    assert build.failed_lines() == [
        f"==> box: Build failed: the shell provisioner (provisioners[0]) failed: container {short} (image {image}) "
        f"stopped while running a command: exited with status 137; see `docker logs {short}`"], build.output
    assert "Traceback" not in build.output
    assert f"==> box: Removing container {short}..." in build.out
    assert containers(api, label) == [], "the killed container was not removed"


# -- winrm: connections dropped -------------------------------------------------------------------

@pytest.fixture
def wsman(wsman_factory):
    server = wsman_factory()
    yield server
    server.faults.clear()


def winrm_build(name: str, server) -> dict:
    return {"type": "null", "name": name, "communicator": "winrm", "winrm_host": server.host,
            "winrm_port": server.port, "winrm_username": "hatchway", "winrm_password": "vagrant",
            "winrm_timeout": "20s", "winrm_no_proxy": True}


@pytest.fixture
def wsman_user(wsman):
    """Credentials distinct from each other, so redaction of the password does not mask the user name."""
    wsman.users["hatchway"] = "vagrant"
    return wsman


def test_winrm_connections_dropped_mid_upload(wsman_user, tmp_path: Path) -> None:
    server = wsman_user
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 << 20))
    dest_dir = tmp_path / "dest"
    dest_dir.mkdir()
    template = write(tmp_path / "t.json", [winrm_build("win", server)],
                     [{"type": "file", "source": str(big), "destination": str(dest_dir / "big.bin")}])
    build = Build(template)
    try:
        until(lambda: server.stats.requests_by_action["Send"] >= 2, "the upload starting", 60)
        server.faults.drop_next(10 ** 6, action="Send")  # every later Send: the connection closes unanswered
        code = build.finish()
    finally:
        build.stop()
    assert code == 1, build.output
    assert build.failed_lines() == [
        f"==> win: Build failed: the file provisioner (provisioners[0]) failed: cannot reach WinRM at "
        f"http://127.0.0.1:{server.port}/wsman: Connection aborted"], build.output
    assert server.faults.fired["drop"] >= 2, "the client did not try again on a new connection"
    assert list(dest_dir.iterdir()) == [], "a partial file was left"
    assert server.shells == {}, "cleanup did not delete the shells"
    assert build.stray_lines() == []


def test_winrm_a_few_dropped_connections_are_survived(wsman_user, tmp_path: Path) -> None:
    server = wsman_user
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 << 20))
    dest = tmp_path / "dest" / "big.bin"
    template = write(tmp_path / "t.json", [winrm_build("win", server)],
                     [{"type": "file", "source": str(big), "destination": str(dest)},
                      {"type": "shell", "inline": ["echo checked $(wc -c < " + str(dest) + ")"],
                       "remote_folder": str(tmp_path)}])
    build = Build(template)
    try:
        until(lambda: server.stats.requests_by_action["Send"] >= 2, "the upload starting", 60)
        server.faults.drop_next(3, action="Send")
        code = build.finish()
    finally:
        build.stop()
    assert code == 0, build.output
    assert server.faults.fired["drop"] == 3
    assert dest.read_bytes() == big.read_bytes()
    assert f"    win: checked {6 << 20}" in build.out
    assert server.shells == {}


def _drop_mid_command(server, tmp_path: Path) -> Build:
    """A build whose command is running when every later Receive loses its connection; finished."""
    template = write(tmp_path / "t.json", [winrm_build("win", server)],
                     [{"type": "shell", "inline": ["echo started", "sleep 120"], "remote_folder": str(tmp_path),
                       "start_retry_timeout": "2s"}])
    build = Build(template)
    try:
        build.wait_for("    win: started")
        server.faults.drop_next(10 ** 6, action="Receive")
        assert build.finish() == 1, build.output
    finally:
        build.stop()
    return build


def test_winrm_connections_dropped_mid_command(wsman_user, tmp_path: Path) -> None:
    server = wsman_user
    build = _drop_mid_command(server, tmp_path)
    # the shell cannot be reached any more: Packer's "disconnected" status, as for a reboot
    assert build.failed_lines() == [
        "==> win: Build failed: the shell provisioner (provisioners[0]) failed: the connection was lost while "
        "inline script ran; if the script reboots the machine, set \"expect_disconnect\": true"], build.output
    assert server.faults.fired["drop"] >= 2, "the client did not try again on a new connection"
    assert build.stray_lines() == []


def test_winrm_shell_whose_connection_dropped_is_deleted_at_cleanup(wsman_user, tmp_path: Path) -> None:
    server = wsman_user
    _drop_mid_command(server, tmp_path)
    assert server.shells == {}, "cleanup did not delete the shell"


# -- interrupts --------------------------------------------------------------------------------------

SIGNALS = [pytest.param(signal.SIGINT, 130, id="SIGINT"), pytest.param(signal.SIGTERM, 143, id="SIGTERM")]


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_signal_during_an_ssh_build(sshd, key: Path, temporary_key: Path, remote: Path, tmp_path: Path, sig: int,
                                   code: int) -> None:
    server = sshd()
    tunnel = free_port()
    template = write(tmp_path / "t.json",
                     [ssh_build("victim", server, key, ssh_local_tunnels=[f"{tunnel}:127.0.0.1:{server.port}"],
                                **with_temporary_key())],
                     [{"type": "shell", "inline": [f"echo $$ > {remote}/pid", "echo started", "exec sleep 120"]},
                      {"type": "shell", "inline": ["echo never"]}])
    build = Build(template)
    try:
        build.wait_for("    victim: started")
        assert sessions_of(server) != []
        build.process.send_signal(sig)
        status = build.finish(60)
    finally:
        build.stop()
        reap(remote / "pid")
    assert status == code, build.output
    assert "Interrupt received. Cleaning up... (interrupt again to stop at once)" in build.err
    assert "==> victim: Build was interrupted" in build.err
    assert "never" not in build.output
    assert TEMP_KEY_NAME not in temporary_key.read_text(), "the temporary key was not cleared"
    assert "other-key" in temporary_key.read_text()
    until(lambda: sessions_of(server) == [], "the ssh session ending")
    assert port_closed(tunnel)


def test_second_interrupt_stops_at_once_and_says_what_is_left(sshd, key: Path, temporary_key: Path, remote: Path,
                                                               tmp_path: Path) -> None:
    server = sshd()
    template = write(tmp_path / "t.json", [ssh_build("victim", server, key, **with_temporary_key())],
                     [{"type": "shell", "inline": [f"echo $$ > {remote}/pid", "echo started", "exec sleep 120"]}])
    build = Build(template)
    try:
        build.wait_for("    victim: started")
        server.pause()  # a frozen machine: cleanup (removing the temporary key) cannot finish
        build.process.send_signal(signal.SIGINT)
        build.wait_for("Interrupt received. Cleaning up")
        build.process.send_signal(signal.SIGINT)
        status = build.finish(60)
    finally:
        build.stop()
        server.resume()
        reap(remote / "pid")
    assert status == 130, build.output
    assert build.err[-2:] == [
        "Stopped at once. Left behind, to clean up by hand:",
        "  - victim: the existing machine named in the communicator keys (the null builder changes nothing) "
        "(was provisioning with shell (provisioners[0]))"], build.output
    assert TEMP_KEY_NAME in temporary_key.read_text(), "a frozen machine cannot have had its key removed"


@pytest.mark.parametrize("sig,code", SIGNALS)
def test_signal_during_a_docker_build(engine: dockerd.Engine, api, image: str, label: str, tmp_path: Path,
                                      sig: int, code: int) -> None:
    template = write(tmp_path / "t.json", [docker_build("box", image, label)],
                     [{"type": "shell", "inline": ["echo started", "sleep 120"]}])
    build = Build(template, env=engine.env)
    try:
        build.wait_for("    box: started")
        assert len(containers(api, label)) == 1
        build.process.send_signal(sig)
        status = build.finish(60)
    finally:
        build.stop()
    assert status == code, build.output
    assert "Interrupt received. Cleaning up... (interrupt again to stop at once)" in build.err
    assert "==> box: Build was interrupted" in build.err
    assert containers(api, label) == [], "the container was left behind"


def test_on_error_abort_leaves_the_container_running_and_says_its_id(engine: dockerd.Engine, api, image: str,
                                                                     label: str, tmp_path: Path) -> None:
    template = write(tmp_path / "t.json", [docker_build("box", image, label)], [
        {"type": "file", "content": "state to inspect\n", "destination": "/srv/state.txt"},
        {"type": "shell", "inline": ["exit 5"]},
    ])
    result = hatchway_build(template, "-on-error=abort", env=engine.env)
    assert result.returncode == 1, result.stdout + result.stderr
    [container] = containers(api, label)
    full, short = container["Id"], container["Id"][:12]
    assert f"    box: Container: {full}" in result.stdout
    assert f"==> box: -on-error=abort: the machine is left as it is for inspection: container {short} " \
           f"(image {image}) on {engine.base_url}; remove it with `docker rm -f {short}`" in result.stderr
    assert api.inspect_container(full)["State"]["Running"] is True
    run = api.exec_create(full, ["cat", "/srv/state.txt"])
    assert api.exec_start(run["Id"]) == b"state to inspect\n"
    assert "Removing container" not in result.stdout


# -- max_retries and timeout over ssh -----------------------------------------------------------------

def test_max_retries_over_ssh(sshd, key: Path, remote: Path, tmp_path: Path) -> None:
    server = sshd()
    counter = remote / "count"
    template = write(tmp_path / "t.json", [ssh_build("r", server, key)], [
        {"type": "shell", "max_retries": 2, "inline": [f"echo x >> {counter}", f"test $(wc -l < {counter}) -ge 3"]},
        {"type": "shell", "max_retries": 1, "inline": [f"echo y >> {counter}", "exit 4"]},
    ])
    result = hatchway_build(template)
    assert result.returncode == 1
    assert counter.read_text() == "x\nx\nx\ny\ny\n"
    for attempt in ("1/2", "2/2"):
        assert (f"==> r: shell provisioner failed (inline script exited with status 1; valid exit codes: 0); "
                f"retrying ({attempt})") in result.stderr
    assert "==> r: Build failed: the shell provisioner (provisioners[1]) failed: inline script exited with " \
           "status 4; valid exit codes: 0" in result.stderr


def test_timeout_stops_a_hanging_command_over_ssh_and_the_retry_runs(sshd, key: Path, remote: Path,
                                                                      tmp_path: Path) -> None:
    server = sshd()
    counter, pids = remote / "count", remote / "pids"
    hang_first = [f"echo $$ >> {pids}", f"echo x >> {counter}",
                  f"if [ $(wc -l < {counter}) -lt 2 ]; then echo hanging; exec sleep 120; fi", "echo finished"]
    template = write(tmp_path / "t.json", [ssh_build("t", server, key)], [
        {"type": "shell", "timeout": "2s", "max_retries": 1, "inline": hang_first},
        {"type": "shell", "timeout": "1s", "inline": [f"echo $$ >> {pids}", "echo hanging for good", "exec sleep 120"]},
    ])
    try:
        result = hatchway_build(template)
    finally:
        reap(pids)
    assert result.returncode == 1, result.stdout + result.stderr
    assert counter.read_text() == "x\nx\n"
    assert "    t: hanging" in result.stdout and "    t: finished" in result.stdout
    assert "==> t: shell provisioner failed (timed out after 2s); retrying (1/1)" in result.stderr
    assert "==> t: Build failed: the shell provisioner (provisioners[1]) failed: timed out after 1s" in result.stderr
    until(lambda: sessions_of(server) == [], "the ssh session ending")


def test_timeout_over_ssh_stops_the_remote_command(sshd, key: Path, remote: Path, tmp_path: Path) -> None:
    server = sshd()
    pid_file = remote / "pid"
    template = write(tmp_path / "t.json", [ssh_build("t", server, key)], [
        {"type": "shell", "timeout": "1s", "inline": [f"echo $$ > {pid_file}", "exec sleep 120"]}])
    try:
        result = hatchway_build(template)
        assert "==> t: Build failed: the shell provisioner (provisioners[0]) failed: timed out after 1s" in result.stderr
        pid = int(pid_file.read_text())
        until(lambda: not os.path.exists(f"/proc/{pid}"), "the timed-out command ending", 10)
    finally:
        reap(pid_file)

"""Fixtures: a real OpenSSH sshd on loopback, keys, and a helper to build connected relays."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from hatchway.communicator import Target
from hatchway.config import build
from hatchway.relay import Relay
from hatchway_ssh import SSHCommunicator, SSHConfig
from servers.sshd import TEST_PASSWORD, TEST_USER, Sshd, keygen, path_without


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ssh-keys")


@pytest.fixture(scope="session")
def client_key(keys_dir: Path) -> Path:
    """An unencrypted ed25519 key the default server authorizes."""
    return keygen(keys_dir / "id_ed25519", "ed25519")


def start_server(extra: Dict[str, object] = None, keys: List[Path] = ()) -> Sshd:
    server = Sshd(extra=extra)
    for key in keys:
        server.authorize(Path(str(key) + ".pub").read_text())
    return server.start()


@pytest.fixture(scope="session")
def sshd(client_key: Path) -> Iterator[Sshd]:
    """One server shared by the tests that do not change it."""
    server = start_server(keys=[client_key])
    yield server
    server.close()


@pytest.fixture
def fresh_sshd(client_key: Path) -> Iterator[Callable[..., Sshd]]:
    """A factory of servers owned by one test (stopped afterwards, also on failure)."""
    servers: List[Sshd] = []

    def make(extra: Dict[str, object] = None, keys: List[Path] = None, start: bool = True) -> Sshd:
        server = Sshd(extra=extra)
        for key in (keys if keys is not None else [client_key]):
            server.authorize(Path(str(key) + ".pub").read_text())
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.close()


def make_config(server: Sshd, **keys: object) -> SSHConfig:
    """Build an SSHConfig the way a template does (so conversions and checks run)."""
    data = {"ssh_host": server.host, "ssh_port": server.port, "ssh_username": TEST_USER, "ssh_timeout": "20s"}
    data.update({k: v for k, v in keys.items() if v is not None})
    for key in [k for k, v in keys.items() if v is None]:
        data.pop(key, None)
    config, problems = build(SSHConfig, data)
    assert config is not None, [str(p) for p in problems]
    return config


@pytest.fixture
def relays() -> Iterator[Callable[..., Relay]]:
    """``relays(server, **keys)`` -> a connected Relay (cleaned up after the test)."""
    made: List[Relay] = []

    def make(server: Sshd, connect: bool = True, target: Target = None, **keys: object) -> Relay:
        config = make_config(server, **keys)
        relay = Relay(SSHCommunicator(config, target or Target()))
        made.append(relay)
        if connect:
            relay.wait_connected(config.connect_timeout())
        return relay

    yield make
    for relay in made:
        relay.cleanup()


@pytest.fixture(scope="session")
def no_tar_path() -> Iterator[str]:
    """A PATH for sessions with every usual program except tar."""
    directory = path_without(["tar"])
    yield str(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def no_tar_sshd(no_tar_path: str, client_key: Path) -> Iterator[Sshd]:
    """A server whose sessions find no tar on their PATH."""
    server = start_server({"SetEnv": f"PATH={no_tar_path}"}, keys=[client_key])
    yield server
    server.close()


@pytest.fixture(scope="session")
def ssh_agent(keys_dir: Path) -> Iterator[Dict[str, str]]:
    """A real ssh-agent; yields its environment (SSH_AUTH_SOCK, SSH_AGENT_PID)."""
    if not shutil.which("ssh-agent"):
        pytest.fail("ssh-agent not found: apt-get install openssh-client, or run scripts/test-all.sh")
    sock = keys_dir / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import time

    deadline = time.monotonic() + 10
    while not sock.exists():
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("ssh-agent did not create its socket")
        time.sleep(0.05)
    yield {"SSH_AUTH_SOCK": str(sock), "SSH_AGENT_PID": str(proc.pid)}
    proc.terminate()
    proc.wait(timeout=10)


__all__ = ["TEST_PASSWORD", "TEST_USER", "make_config", "start_server"]


@pytest.fixture
def socks_proxy() -> Iterator[Callable[..., int]]:
    """``socks_proxy(user=None, password=None)`` -> port of a real microsocks SOCKS5 server on 127.0.0.1."""
    from servers.sshd import free_port, wait_port

    binary = shutil.which("microsocks")
    if not binary:
        pytest.fail("microsocks not found: apt-get install microsocks, or run scripts/test-all.sh")
    procs: List[subprocess.Popen] = []

    def start(user: str = None, password: str = None) -> int:
        port = free_port()
        args = [binary, "-i", "127.0.0.1", "-p", str(port)]
        if user:
            args += ["-u", user, "-P", password or ""]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port("127.0.0.1", port, timeout=10)
        return port

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1; yields its port."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        return
                    conn.sendall(data)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()

"""The server starts and stops cleanly: threads end, the port is freed, processes are killed."""
from __future__ import annotations

import socket
import threading
import time

import pytest

pytestmark = pytest.mark.timeout(60)


def _wait(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_close_ends_threads_connections_and_processes(tmp_path, protocol_for):
    from servers.wsman import WSManServer

    before = set(threading.enumerate())
    server = WSManServer(users={"vagrant": "vagrant"}, cwd=str(tmp_path)).start()
    protocol = protocol_for(server, transport="ntlm")
    shell = protocol.open_shell()
    pidfile = tmp_path / "pid"
    protocol.run_command(shell, f"echo $$ > '{pidfile}'; exec sleep 60")
    _wait(lambda: pidfile.exists() and pidfile.read_text().strip(), "the command never started")
    pid = int(pidfile.read_text())
    server.close()

    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=5).close()
    _wait(lambda: not _alive(pid), "the shell's process outlived the server")
    _wait(lambda: not (set(threading.enumerate()) - before), "server threads still running")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_port_zero_picks_a_free_loopback_port(make_server):
    first, second = make_server(), make_server()
    assert first.port != second.port and first.port > 0
    assert first.endpoint == f"http://127.0.0.1:{first.port}/wsman"


def test_only_the_wsman_path_is_served(server):
    import requests

    answer = requests.post(f"http://{server.host}:{server.port}/other", data=b"x", timeout=10,
                           auth=("vagrant", "vagrant"))
    assert answer.status_code == 404


def test_stats_count_requests_bytes_and_statuses(server, session_for):
    session_for(server).run_cmd("echo x")
    snap = server.stats.snapshot()
    assert snap["requests"] == 5 and snap["status"] == {200: 5}
    assert snap["bytes_in"] > 0 and snap["bytes_out"] > 0
    assert server.stats["requests_by_action"]["Command"] == 1
    server.stats.reset()
    assert server.stats.requests == 0 and server.stats.status_200 == 0


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_concurrent_clients_each_get_their_own_output(make_server, session_for, transport):
    from concurrent.futures import ThreadPoolExecutor

    server = make_server(users={f"user{i}": f"pass-{i}" for i in range(4)})

    def client(i: int):
        session = session_for(server, f"user{i}", f"pass-{i}", transport=transport)
        return [session.run_cmd(f"echo client-{i}-run-{n}").std_out for n in range(5)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(client, range(4)))
    assert results == [[f"client-{i}-run-{n}\n".encode() for n in range(5)] for i in range(4)]
    assert server.shells == {}
    if transport == "ntlm":
        # every WS-Management message was encrypted: 5 per command (a loaded machine may add Receive polls)
        actions = sum(server.stats.requests_by_action.values())
        assert actions >= 4 * 5 * 5
        assert server.stats.encrypted_requests == actions


def test_command_line_entry_point_serves_until_terminated(session_for):
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen([sys.executable, "-m", "servers.wsman", "--user", "ci:secret"], cwd=tests_dir,
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        endpoint = line.split()[2]
        fake = SimpleNamespace(endpoint=endpoint, https=False)
        assert session_for(fake, "ci", "secret").run_cmd("echo from-cli").std_out == b"from-cli\n"
        process.terminate()
        out, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "'requests': 5" in out

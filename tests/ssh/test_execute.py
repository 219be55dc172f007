"""Commands: pty, timeouts, lost connections (DISCONNECTED), transparent reconnect, keepalive, read/write timeout."""
from __future__ import annotations

import os
import threading
import time

import pytest

from hatchway.communicator import DISCONNECTED, OutputStream
from hatchway.errors import CommandTimeout, CommunicatorError


def run_in_thread(relay, command: str, started: str = "started", **kwargs):
    """Start ``command`` (which prints ``started`` first) in a thread; return (result dict, thread) once it runs."""
    result: dict = {}
    seen = threading.Event()
    out = OutputStream("stdout")
    out.add_listener(lambda data: seen.set() if started.encode() in data else None)

    def target() -> None:
        try:
            result["status"] = relay.execute(command, stdout=out, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert seen.wait(20), f"{command!r} did not start: {result}"
    return result, thread


def test_pty_is_requested_only_when_asked(relays, sshd, client_key):
    plain = relays(sshd, ssh_private_key_file=str(client_key))
    assert plain.run("tty").text.strip() == "not a tty"
    with_pty = relays(sshd, ssh_private_key_file=str(client_key), ssh_pty=True)
    result = with_pty.run("tty; echo TERM=$TERM")
    assert result.exit_status == 0
    assert result.text.startswith("/dev/pts/")
    assert "TERM=xterm" in result.text


def test_command_timeout_stops_the_command(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    with pytest.raises(CommandTimeout) as info:
        relay.run("sleep 30", timeout=1)
    assert "sleep 30" in str(info.value)
    assert relay.run("echo still-usable").text.strip() == "still-usable"


def test_several_commands_at_once_on_one_connection(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    results = {}

    def one(i: int) -> None:
        results[i] = relay.run(f"sleep 0.3; echo {i}").text.strip()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {i: str(i) for i in range(8)}


def test_lost_connection_gives_disconnected_then_reconnects(relays, fresh_sshd, client_key):
    """A reboot: the running command reports 2300218, the next one reconnects by itself."""
    server = fresh_sshd()
    relay = relays(server, ssh_private_key_file=str(client_key))
    result, thread = run_in_thread(relay, "echo started; sleep 60")
    server.kill()
    thread.join(30)
    assert result.get("status") == DISCONNECTED, result
    server.start()
    after = relay.run("echo back")
    assert after.exit_status == 0 and after.text.strip() == "back"


def test_command_killed_by_signal_is_not_a_disconnect(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    status = relay.execute("kill -KILL $$")
    assert status != DISCONNECTED
    assert relay.run("echo alive").text.strip() == "alive"


def test_reconnect_fails_with_a_clear_message_while_the_server_is_down(relays, fresh_sshd, client_key):
    server = fresh_sshd()
    relay = relays(server, ssh_private_key_file=str(client_key))
    server.stop()
    with pytest.raises(CommunicatorError) as info:
        relay.run("true")
    assert "refused" in str(info.value) and str(server.port) in str(info.value)


def test_keepalive_keeps_a_quiet_command_alive_under_client_alive_checks(relays, fresh_sshd, client_key):
    server = fresh_sshd({"ClientAliveInterval": "1", "ClientAliveCountMax": "1"})
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_keep_alive_interval="500ms",
                   ssh_read_write_timeout="4s")
    assert relay.run("sleep 6; echo done", timeout=60).text.strip() == "done"


def test_read_write_timeout_ends_a_quiet_command_without_keepalive(relays, sshd, client_key):
    """Proof the watchdog acts: with keepalives off nothing arrives during `sleep`, so it fires."""
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_keep_alive_interval="-1s",
                   ssh_read_write_timeout="1s")
    assert relay.execute("sleep 6", timeout=60) == DISCONNECTED


def test_read_write_timeout_against_a_stopped_server(relays, fresh_sshd, client_key):
    """SIGSTOP: the TCP connection stays open but nothing answers; the command must not hang."""
    server = fresh_sshd()
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_keep_alive_interval="300ms",
                   ssh_read_write_timeout="2s", ssh_handshake_timeout="3s")
    result, thread = run_in_thread(relay, "echo started; sleep 60")
    server.pause()
    try:
        thread.join(30)
        assert not thread.is_alive(), "the command hung on a stopped server"
        assert result.get("status") == DISCONNECTED, result
    finally:
        server.resume()
    assert relay.run("echo resumed").text.strip() == "resumed"


def test_output_arrives_while_command_runs_in_order(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    stamps = []
    out = OutputStream("stdout")
    out.add_listener(lambda data: stamps.append((time.monotonic(), data)))
    start = time.monotonic()
    relay.execute("echo one; sleep 1; echo two", stdout=out)
    assert b"".join(d for _, d in stamps) == b"one\ntwo\n"
    assert stamps[0][0] - start < stamps[-1][0] - start


@pytest.mark.parametrize("method", ["scp", "sftp"])
def test_transfers_reconnect_after_a_restart(relays, fresh_sshd, client_key, method):
    import io

    server = fresh_sshd()
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
    assert relay.execute("true") == 0
    server.restart()
    relay.upload(io.BytesIO(b"after reboot"), "/tmp/hatchway-reconnect-" + method)
    sink = io.BytesIO()
    relay.download("/tmp/hatchway-reconnect-" + method, sink)
    assert sink.getvalue() == b"after reboot"
    relay.execute("rm -f /tmp/hatchway-reconnect-" + method)


def test_stdin_that_never_ends_does_not_block_a_finished_command(relays, sshd, client_key):
    read_fd, write_fd = os.pipe()
    endless = os.fdopen(read_fd, "rb", buffering=0)
    try:
        relay = relays(sshd, ssh_private_key_file=str(client_key))
        result = relay.run("echo ignored-stdin", stdin=endless, timeout=30)
        assert result.exit_status == 0 and result.text.strip() == "ignored-stdin"
    finally:
        os.close(write_fd)  # the feeder thread sees EOF and ends


def test_timeout_stops_the_remote_command_without_a_pty(relays, sshd, client_key, tmp_path):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    pid_file = "/tmp/hatchway-timeout-pid-" + str(os.getpid())
    with pytest.raises(CommandTimeout):
        relay.run(f"echo $$ > {pid_file}; exec sleep 120", timeout=1)
    pid = int(relay.run(f"cat {pid_file}; rm -f {pid_file}").text)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}"), "the timed-out command kept running"

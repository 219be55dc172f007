"""Injected faults and a host going away, as pywinrm 0.5.0 sees them."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(60)


def test_drop_closes_the_connection_without_carrying_out_the_request(server, protocol_for):
    import requests

    protocol = protocol_for(server)
    server.faults.drop_next(1, action="Create")
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.open_shell()
    assert server.shells == {}
    shell = protocol.open_shell()  # one-shot: the next Create works (Basic reconnects transparently)
    assert list(server.shells) == [shell]
    assert server.faults.fired["drop"] == 1


def test_drop_only_hits_the_named_action(server, session_for):
    server.faults.drop_next(1, action="Receive")
    session = session_for(server)
    import requests

    with pytest.raises(requests.exceptions.ConnectionError):
        session.run_cmd("echo one")
    assert server.stats.requests_by_action["Create"] == 1
    assert server.stats.requests_by_action["Command"] == 1
    assert session.run_cmd("echo two").std_out == b"two\n"


def test_busy_answers_error_170(server, protocol_for):
    from winrm.exceptions import WSManFaultError

    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cat", console_mode_stdin=False)
    server.faults.busy_next(1, action="Send")
    with pytest.raises(WSManFaultError) as caught:
        protocol.send_command_input(shell, command, b"lost\n")
    assert caught.value.wsman_fault_code == 170
    protocol.send_command_input(shell, command, b"kept\n", end=True)
    out, _, code = protocol.get_command_output(shell, command)
    assert (out, code) == (b"kept\n", 0)


def test_timeout_holds_the_request_past_the_clients_read_timeout(server, protocol_for):
    import requests

    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=2)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo late")
    server.faults.timeout_next(1, action="Receive")
    with pytest.raises(requests.exceptions.ReadTimeout):
        protocol.get_command_output_raw(shell, command)
    out, _, code = protocol.get_command_output(shell, command)
    assert (out, code) == (b"late\n", 0)


def test_faults_count_down_per_request(server, protocol_for):
    from winrm.exceptions import WSManFaultError

    protocol = protocol_for(server)
    server.faults.busy_next(2)
    for _ in range(2):
        with pytest.raises(WSManFaultError):
            protocol.open_shell()
    protocol.open_shell()
    assert server.faults.fired["busy"] == 2 and len(server.shells) == 1


def test_host_going_away_and_coming_back_on_the_same_port(server, session_for, protocol_for):
    import requests

    protocol = protocol_for(server)
    shell = protocol.open_shell()
    port = server.port
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        session_for(server).run_cmd("true")
    server.start()
    assert server.port == port
    assert server.shells == {}  # a restarted host has no shells
    assert session_for(server).run_cmd("echo back").std_out == b"back\n"
    from winrm.exceptions import WSManFaultError

    with pytest.raises(WSManFaultError):
        protocol.run_command(shell, "true")


def test_stop_ends_running_commands_and_blocked_receives(server, protocol_for):
    import requests

    protocol = protocol_for(server, operation_timeout_sec=20, read_timeout_sec=30)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "sleep 60")
    import threading

    errors = []

    def receive():
        try:
            protocol.get_command_output_raw(shell, command)
        except Exception as exc:  # noqa: BLE001 - what the client sees when the host goes away
            errors.append(exc)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    import time

    deadline = time.monotonic() + 10
    while server.stats.requests_by_action["Receive"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.stop()
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], requests.exceptions.ConnectionError), errors


def test_timeout_fault_over_https(make_server, protocol_for):
    import requests

    server = make_server(https=True)
    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=2)
    server.faults.timeout_next(1, action="Create")
    with pytest.raises(requests.exceptions.ReadTimeout):
        protocol.open_shell()
    assert server.shells == {}
    protocol.open_shell()
    assert len(server.shells) == 1


def test_drop_after_carries_out_the_request_but_loses_the_answer(server, protocol_for):
    import requests

    protocol = protocol_for(server)
    server.faults.drop_next(1, action="Create", after=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.open_shell()
    assert len(server.shells) == 1  # the shell exists: a client that retries blindly leaks it
    assert server.faults.fired["drop_after"] == 1 and server.faults.pending == 0


def test_delay_answers_late_but_carries_out_the_request(server, protocol_for):
    import time

    import requests

    slow_reader = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=2)
    server.faults.delay_next(1, action="Create", seconds=4)
    with pytest.raises(requests.exceptions.ReadTimeout):  # the answer comes after the client gave up
        slow_reader.open_shell()
    deadline = time.monotonic() + 10
    while not server.shells:  # but the shell is created
        assert time.monotonic() < deadline, "the delayed Create was never carried out"
        time.sleep(0.05)
    server.faults.delay_next(1, action="Create", seconds=0.2)
    shell = protocol_for(server).open_shell()  # a patient client gets the answer
    assert shell in server.shells and server.faults.fired["delay"] == 2


def test_close_shells_ends_every_shell_like_an_idle_timeout(server, protocol_for):
    from winrm.exceptions import WSManFaultError

    protocol = protocol_for(server)
    shell = protocol.open_shell()
    server.close_shells()
    assert server.shells == {}
    with pytest.raises(WSManFaultError) as caught:
        protocol.run_command(shell, "true")
    assert caught.value.fault_subcode == "w:InvalidSelectors"

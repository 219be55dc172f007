"""Running commands: streaming, deadlines, dropped connections, busy servers, shells reused and closed."""
from __future__ import annotations

import threading
import time

import pytest

from hatchway.communicator import DISCONNECTED, OutputStream
from hatchway.errors import CommandTimeout


def test_long_command_outlives_many_operation_timeouts(connect):
    relay = connect(winrm_operation_timeout="1s")
    result = relay.run("sleep 3; echo done", timeout=60)
    assert (result.exit_status, result.text.strip()) == (0, "done")


def test_overall_deadline_stops_the_command_and_the_shell_is_reused(connect, wsman, tmp_path):
    relay = connect(winrm_operation_timeout="1s")
    marker = tmp_path / "still-running"
    with pytest.raises(CommandTimeout) as info:
        relay.run(f"sleep 2; touch {marker}; sleep 30", timeout=1)
    assert "longer than 1s" in str(info.value)
    time.sleep(2.5)
    assert not marker.exists(), "the command kept running after its deadline"
    assert relay.run("echo again").text.strip() == "again"
    assert len(wsman.shells) == 1


def test_receive_on_a_dropped_connection_is_retried(connect, wsman):
    relay = connect()
    wsman.faults.drop_next(1, action="Receive")
    result = relay.run("echo survived")
    assert (result.exit_status, result.text.strip()) == (0, "survived")
    assert wsman.faults.fired["drop"] == 1


def test_busy_server_is_retried(connect, wsman):
    relay = connect()
    wsman.faults.busy_next(2, action="Command")
    assert relay.run("echo ok").text.strip() == "ok"
    assert wsman.faults.fired["busy"] == 2


def test_host_going_away_gives_disconnected_then_recovers(connect, wsman):
    relay = connect()
    seen = []
    out = OutputStream("stdout")
    out.add_listener(seen.append)

    def restart() -> None:
        while not seen:
            time.sleep(0.05)
        wsman.stop()
        time.sleep(0.5)
        wsman.start()

    thread = threading.Thread(target=restart)
    thread.start()
    status = relay.execute("echo started; sleep 20", stdout=out, timeout=60)
    thread.join(timeout=30)
    assert status == DISCONNECTED
    assert relay.run("echo back").text.strip() == "back"


def test_commands_share_a_few_shells_and_cleanup_deletes_them(connect, wsman):
    relay = connect()
    for i in range(20):
        assert relay.run(f"echo {i}").text.strip() == str(i)
    assert wsman.stats.requests_by_action["Create"] <= 2
    errors = []

    def work(n: int) -> None:
        try:
            assert relay.run(f"sleep 0.3; echo {n}").text.strip() == str(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert 1 <= len(wsman.shells) <= 5
    relay.cleanup()
    assert len(wsman.shells) == 0


def test_cmd_line_limit_is_reported_like_windows(connect):
    result = relay_run = connect().run("echo " + "x" * 9000)
    assert relay_run.exit_status == 1
    assert b"The command line is too long." in result.stderr


def test_stdin_and_output_interleave_without_deadlock(connect):
    import io
    import os

    data = os.urandom(1_500_000)
    result = connect().run("cat; head -c 2000000 /dev/zero >&2", stdin=io.BytesIO(data), timeout=120)
    assert result.exit_status == 0
    assert result.stdout == data and len(result.stderr) == 2_000_000


def test_a_shell_that_died_while_idle_is_replaced_before_the_command_starts(connect, wsman):
    relay = connect()
    assert relay.run("echo before").text.strip() == "before"
    wsman.stop()  # the host restarts between two commands: the pooled shell is gone
    wsman.start()
    result = relay.run("echo after")
    assert (result.exit_status, result.text.strip()) == (0, "after")


def test_a_command_that_cannot_start_is_an_error_not_an_exit_status(connect, wsman):
    from hatchway.errors import CommunicatorError

    relay = connect()
    wsman.stop()
    try:
        with pytest.raises(CommunicatorError) as info:
            relay.run("echo never")
        assert "127.0.0.1" in str(info.value)
    finally:
        wsman.start()


def test_powershell_through_execute_echo_standin(connect, wsman):
    """A PowerShell script as one cmd.exe line (-EncodedCommand), run by the server's `echo` stand-in."""
    from hatchway_winrm.scripts import command_line

    script = "# hatchway-standin: echo\n$text = 'from powershell'\n$exit = 4\nWrite-Output $text\nexit $exit\n"
    result = connect().run(command_line(script))
    assert (result.exit_status, result.text.strip()) == (4, "from powershell")
    assert script in wsman.scripts

"""Commands through real pywinrm 0.5.0 (Basic over HTTP): exit codes, streams, stdin, cmd.exe rules."""
from __future__ import annotations

import base64
import os
import time

import pytest

from .conftest import ps_script

pytestmark = pytest.mark.timeout(60)


def test_run_cmd_returns_exit_code_and_both_streams(server, session_for):
    result = session_for(server).run_cmd("echo hello; echo oops >&2; exit 3")
    assert (result.status_code, result.std_out, result.std_err) == (3, b"hello\n", b"oops\n")


def test_run_cmd_arguments_are_joined_with_spaces(server, session_for):
    result = session_for(server).run_cmd("printf", ["%s-%s", "a", "b"])
    assert result.std_out == b"a-b"


def test_every_shell_is_deleted_after_run_cmd(server, session_for):
    session_for(server).run_cmd("true")
    assert server.shells == {}
    assert server.stats.requests_by_action["Delete"] == 1
    assert server.stats.requests_by_action["Signal"] == 1


def test_shell_environment_and_working_directory(server, protocol_for, tmp_path):
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    protocol = protocol_for(server)
    shell = protocol.open_shell(env_vars={"HATCHWAY_X": "va lue"}, working_directory=str(workdir))
    command = protocol.run_command(shell, 'echo "$HATCHWAY_X"; pwd')
    out, err, code = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert (out, err, code) == (f"va lue\n{workdir}\n".encode(), b"", 0)


def test_command_line_longer_than_8191_fails_like_cmd_exe(server, session_for):
    session = session_for(server)
    ok = session.run_cmd("echo " + "x" * (8191 - 5))
    assert ok.status_code == 0 and ok.std_out == b"x" * 8186 + b"\n"
    too_long = session.run_cmd("echo " + "x" * (8191 - 4))
    assert too_long.status_code == 1
    assert too_long.std_err == b"The command line is too long.\r\n"


def test_skip_cmd_shell_allows_createprocess_length(server, protocol_for):
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo", ["y" * 10000], skip_cmd_shell=True)
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (code, len(out)) == (0, 10001)


def test_stdin_streams_to_the_process_and_output_streams_back_before_exit(server, protocol_for):
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo first; read x; echo second $x", console_mode_stdin=False)
    out, err, code, done = protocol.get_command_output_raw(shell, command)
    assert (out, done) == (b"first\n", False)  # the process is blocked on stdin: output came before exit
    protocol.send_command_input(shell, command, b"go\n", end=True)
    out, err, code = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)
    assert (out, err, code) == (b"second go\n", b"", 0)


def test_large_stdin_arrives_exactly(server, protocol_for):
    data = os.urandom(3 * 1024 * 1024 + 17)
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "sha256sum | cut -c1-64", console_mode_stdin=False)
    chunk = 200 * 1024
    for offset in range(0, len(data), chunk):
        protocol.send_command_input(shell, command, data[offset : offset + chunk], end=offset + chunk >= len(data))
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    import hashlib

    assert (code, out.strip().decode()) == (0, hashlib.sha256(data).hexdigest())


def test_large_output_is_split_to_fit_the_clients_envelope(server, session_for):
    result = session_for(server).run_cmd("head -c 1000000 /dev/zero | tr '\\0' a")
    assert result.std_out == b"a" * 1000000
    # 1 MB of output, base64 in envelopes of at most 153600 bytes (pywinrm's MaxEnvelopeSize): >= 9 Receives
    assert server.stats.requests_by_action["Receive"] >= 9


def test_receive_blocks_for_operation_timeout_then_times_out(server, protocol_for):
    from winrm.exceptions import WinRMOperationTimeoutError

    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=10)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "read x; echo got $x", console_mode_stdin=False)
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    assert server.stats.status_500 == 1
    protocol.send_command_input(shell, command, b"it\n", end=True)
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out, code) == (b"got it\n", 0)


def test_get_command_output_retries_timeouts_and_output_still_flows(server, protocol_for):
    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=10)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo start; sleep 3; echo end")
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out, code) == (b"start\nend\n", 0)
    assert server.stats.status_500 >= 1  # w:TimedOut faults that pywinrm retried


def test_signal_terminate_kills_a_running_process(server, protocol_for, tmp_path):
    pidfile = tmp_path / "pid"
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, f"echo $$ > '{pidfile}'; exec sleep 60")
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    protocol.cleanup_command(shell, command)
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "Signal terminate left the process running"
        time.sleep(0.05)
    assert server.shells[shell].commands == {}
    protocol.close_shell(shell)
    assert server.shells == {}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_unknown_shell_gets_invalid_selectors_fault(server, protocol_for):
    from winrm.exceptions import WSManFaultError

    protocol = protocol_for(server)
    shell = protocol.open_shell()
    protocol.close_shell(shell, close_session=False)
    with pytest.raises(WSManFaultError) as caught:
        protocol.run_command(shell, "true")
    assert caught.value.wsman_fault_code == 2150858843
    assert caught.value.fault_subcode == "w:InvalidSelectors"


def test_shells_per_user_quota(make_server, protocol_for):
    from winrm.exceptions import WSManFaultError

    server = make_server(max_shells_per_user=2)
    protocol = protocol_for(server)
    first, second = protocol.open_shell(), protocol.open_shell()
    with pytest.raises(WSManFaultError) as caught:
        protocol.open_shell()
    assert caught.value.fault_subcode == "w:QuotaLimit"
    assert "maximum number of 2 concurrent shells" in caught.value.reason
    assert len(server.shells) == 2
    protocol.close_shell(first, close_session=False)
    third = protocol.open_shell()
    assert set(server.shells) == {second, third}


def test_quota_is_per_user(make_server, protocol_for):
    server = make_server(users={"alice": "a-pass", "bob": "b-pass"}, max_shells_per_user=1)
    protocol_for(server, "alice", "a-pass").open_shell()
    protocol_for(server, "bob", "b-pass").open_shell()
    assert sorted(shell.owner for shell in server.shells.values()) == ["alice", "bob"]


def test_request_above_max_envelope_gets_413(make_server, protocol_for):
    from winrm.exceptions import WinRMError, WinRMTransportError

    server = make_server(max_envelope_kb=150)
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "wc -c", console_mode_stdin=False)
    protocol.send_command_input(shell, command, b"x" * (100 * 1024))  # ~137 KB envelope: fits
    with pytest.raises((WinRMError, WinRMTransportError)) as caught:
        protocol.send_command_input(shell, command, b"x" * (120 * 1024))  # ~165 KB: too large
    assert caught.value.code == 413
    assert server.stats.status_413 == 1
    protocol.send_command_input(shell, command, b"", end=True)
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out.strip(), code) == (str(100 * 1024).encode(), 0)  # the refused Send never reached stdin


def test_default_envelope_limit_is_500_kb(server, protocol_for):
    from winrm.exceptions import WinRMError, WinRMTransportError

    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cat > /dev/null", console_mode_stdin=False)
    protocol.send_command_input(shell, command, b"x" * (360 * 1024))  # ~482 KB envelope
    with pytest.raises((WinRMError, WinRMTransportError)) as caught:
        protocol.send_command_input(shell, command, b"x" * (380 * 1024))  # ~508 KB > 500 KB
    assert caught.value.code == 413
    protocol.close_shell(shell)


def test_unknown_powershell_script_fails_with_exit_1(server, session_for):
    result = session_for(server).run_ps("Write-Output 'no marker here'")
    assert result.status_code == 1
    assert b"no stand-in for this script" in result.std_err
    assert server.scripts == ["Write-Output 'no marker here'"]
    assert server.script_errors == []


def test_a_shipped_script_runs_its_standin_found_by_sha256(server, session_for, tmp_path):
    """hatchway-winrm's remove.ps1 has no marker: the server finds its stand-in in standins/shipped.py."""
    from hatchway_winrm import scripts

    doomed = tmp_path / "doomed.txt"
    doomed.write_text("x")
    result = session_for(server).run_ps(scripts.render("remove", {"paths": str(doomed)}))
    assert (result.status_code, result.std_err) == (0, b"")
    assert not doomed.exists()


def test_a_changed_shipped_script_runs_no_standin_and_says_what_to_review(server, session_for, tmp_path):
    from hatchway_winrm import scripts

    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    changed = scripts.render("remove", {"paths": str(kept)}) + "Write-Output 'one more line'\n"
    result = session_for(server).run_ps(changed)
    assert result.status_code == 1 and kept.exists()
    assert b"is not in tests/servers/wsman/standins/shipped.py" in result.std_err
    assert b"review its stand-in" in result.std_err


def test_powershell_stand_in_gets_arguments_and_exit_code(server, session_for):
    script = ps_script("echo", "Write-Output $text\nexit $exit", text="it's here", exit=7)
    result = session_for(server).run_ps(script)
    assert (result.status_code, result.std_out) == (7, b"it's here\r\n")
    assert server.scripts == [script]


def test_powershell_syntax_error_fails_and_is_recorded(server, session_for):
    script = ps_script("echo", "if ($true {\n Write-Output 'x'\n", text="never")
    result = session_for(server).run_ps(script)
    assert result.status_code == 1
    assert b"ParserError" in result.std_err
    assert result.std_out == b""  # the stand-in never ran
    assert [entry["script"] for entry in server.script_errors] == [script]


def test_powershell_stand_in_reads_stdin_as_sent(server, protocol_for):
    script = ps_script("echo", "foreach ($line in $input) { Write-Output $line }")
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    protocol = protocol_for(server)
    shell = protocol.open_shell()
    command = protocol.run_command(
        shell, "powershell.exe", ["-NoProfile", "-NonInteractive", "-EncodedCommand", encoded], console_mode_stdin=False
    )
    protocol.send_command_input(shell, command, b"line one\r\n")
    first, _, _, done = protocol.get_command_output_raw(shell, command)
    assert (first, done) == (b"line one\r\n", False)  # streamed while stdin is still open
    protocol.send_command_input(shell, command, b"line two\r\n", end=True)
    rest, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (rest, code) == (b"line two\r\n", 0)


def test_stand_in_exception_becomes_exit_1_with_traceback(server, session_for):
    result = session_for(server).run_ps(ps_script("echo", "exit $exit", exit="not-a-number"))
    assert result.status_code == 1
    assert b"ValueError" in result.std_err


def test_stand_in_output_flows_after_timed_out_receives(server, protocol_for):
    from winrm.exceptions import WinRMOperationTimeoutError

    script = ps_script("echo", "foreach ($line in $input) { Write-Output $line }")
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=10)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, f"powershell -NoProfile -EncodedCommand {encoded}", console_mode_stdin=False)
    for _ in range(2):  # nothing to say yet: the real w:TimedOut fault, twice
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command)
    protocol.send_command_input(shell, command, b"after the wait\r\n")
    out, _, _, done = protocol.get_command_output_raw(shell, command)
    assert (out, done) == (b"after the wait\r\n", False)
    protocol.send_command_input(shell, command, b"", end=True)
    assert protocol.get_command_output(shell, command) == (b"", b"", 0)
    protocol.close_shell(shell)


def test_sends_to_a_process_that_ignores_stdin_never_block(server, protocol_for):
    protocol = protocol_for(server, operation_timeout_sec=5, read_timeout_sec=10)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "echo ignoring stdin", console_mode_stdin=False)
    chunk = b"z" * (300 * 1024)
    for _ in range(40):  # 12 MB: more than any pipe buffer; every Send is answered
        protocol.send_command_input(shell, command, chunk)
    protocol.send_command_input(shell, command, b"", end=True)
    out, _, code = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out, code) == (b"ignoring stdin\n", 0)

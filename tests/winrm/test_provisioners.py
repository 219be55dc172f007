"""powershell, windows-shell and windows-restart through a real winrm communicator.

PowerShell does not run on this machine, so these set ``execute_command`` to
a POSIX command (the test server runs cmd-style lines with /bin/sh); what
they check is the provisioners' own work: uploads, the environment file,
rendering, exit codes, retries and the restart sequence. The default
``execute_command`` is checked for PowerShell syntax in test_scripts.py.
"""
from __future__ import annotations

import io
import os
import threading
import time

import pytest

from hatchway.config import build
from hatchway.context import BuildContext
from hatchway.errors import ProvisionerError
from hatchway.template.functions import RenderContext, render
from hatchway.ui import UI
from hatchway_winrm import PowerShellProvisioner, WindowsRestartProvisioner, WindowsShellProvisioner


def make(cls, **keys):
    config, problems = build(cls.Config, keys, "provisioners[0]")
    assert config is not None, [str(p) for p in problems]
    return cls(config)


@pytest.fixture
def ctx(connect):
    out, err = io.StringIO(), io.StringIO()
    ui = UI(out=out, err=err, color=False, progress=False)

    def late(text, data=None):
        return render(text, RenderContext(data=dict(data or {})))

    context = BuildContext(build_name="win", build_type="test", ui=ui.build("win"), communicator=connect(),
                           render=late)
    return Ctx(context, out)


class Ctx:
    """The BuildContext plus what its UI printed."""

    def __init__(self, context, out):
        self.context, self.out = context, out


def test_powershell_uploads_script_and_env_file_and_checks_exit_codes(ctx, tmp_path):
    script = tmp_path / "local.ps1"
    script.write_text("echo from-script\nexit 3\n")
    keys = dict(script=str(script), environment_vars=["GREETING=it's $(x)"],
                remote_path=str(tmp_path / "remote.ps1"), remote_env_var_path=str(tmp_path / "vars.ps1"),
                execute_command="cat '{{.Vars}}'; sh '{{.Path}}'")
    with pytest.raises(ProvisionerError) as info:
        make(PowerShellProvisioner, **keys).provision(ctx.context)
    assert "exited with status 3" in str(info.value)
    make(PowerShellProvisioner, valid_exit_codes=[0, 3], skip_clean=True, **keys).provision(ctx.context)
    shown = ctx.out.getvalue()
    # Packer's env_var_format $env:%s="%s"; with psEscape, keys sorted (provisioner/powershell/provisioner.go)
    assert '$env:GREETING="it`\'s `$(x)"; $env:PACKER_BUILDER_TYPE="test"; $env:PACKER_BUILD_NAME="win"; ' in shown
    assert "from-script" in shown
    assert (tmp_path / "remote.ps1").read_bytes() == script.read_bytes()
    # without skip_clean, the script and the variables file are removed (by the plugin's remove.ps1)
    make(PowerShellProvisioner, valid_exit_codes=[0, 3], **keys).provision(ctx.context)
    assert not (tmp_path / "remote.ps1").exists() and not (tmp_path / "vars.ps1").exists()


def test_powershell_inline_lines_become_one_wrapped_script(ctx, tmp_path):
    # Packer's extractInlineScript: the lines, with the variables set inline, inside wrapPowershellString
    make(PowerShellProvisioner, inline=["echo one", "echo two"], remote_path=str(tmp_path / "inline.ps1"),
         remote_env_var_path=str(tmp_path / "v.ps1"), debug_mode=1, execute_command="cat {{.Path}}",
         environment_vars=["A=1"], skip_clean=True).provision(ctx.context)
    text = (tmp_path / "inline.ps1").read_bytes()
    assert b"Set-PsDebug -Trace 1\r\n" in text
    assert b'try {\r\n$env:A="1"; $env:PACKER_BUILDER_TYPE="test"; $env:PACKER_BUILD_NAME="win"; \r\n' \
           b"echo one\r\necho two\r\n$exitCode = 0\r\n" in text
    assert "echo two" in ctx.out.getvalue()


def test_windows_shell_renders_vars_like_packer(ctx, tmp_path):
    make(WindowsShellProvisioner, inline=["echo batch"], environment_vars=["A=1"],
         remote_path=str(tmp_path / "s.bat"), execute_command="echo '{{ .Vars }}'; sh {{ .Path }}").provision(ctx.context)
    shown = ctx.out.getvalue()
    # provisioner/windows-shell/provisioner.go: set "%s=%s" && per variable, keys sorted
    assert 'set "A=1" && set "PACKER_BUILDER_TYPE=test" && set "PACKER_BUILD_NAME=win" &&' in shown
    assert "batch" in shown


def test_configs_follow_packer():
    _, problems = build(PowerShellProvisioner.Config, {"inline": ["x"], "script": "y"}, "p")
    assert "exactly one" in str(problems[0])
    _, problems = build(PowerShellProvisioner.Config, {"inline": ["x"], "environment_vars": ["1BAD=1"]}, "p")
    assert "not a valid variable name" in str(problems[0])
    restart, _ = build(WindowsRestartProvisioner.Config, {}, "p")
    assert restart.restart_command == 'shutdown /r /f /t 0 /c "packer restart"'
    assert float(restart.restart_timeout) == 300


SHUTDOWN_SHIM = """#!/bin/sh
# Stands in for Windows' shutdown.exe: /t 0 asks for a restart, /t 60 probes, /a aborts.
state="$HATCHWAY_RESTART_STATE"
case "$*" in
  *"/a"*) touch "$state/aborted"; exit 0 ;;
  *"/t 0"*) touch "$state/requested"; exit 0 ;;
  *"/t 60"*) if [ -e "$state/requested" ]; then exit 1115; fi; exit 0 ;;
esac
exit 87
"""


def test_windows_restart_waits_for_the_machine_to_come_back(monkeypatch, tmp_path, wsman_factory, communicator_for):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    (bin_dir / "shutdown").write_text(SHUTDOWN_SHIM)
    os.chmod(bin_dir / "shutdown", 0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("HATCHWAY_RESTART_STATE", str(state))
    server = wsman_factory()
    from hatchway.relay import Relay

    relay = Relay(communicator_for(server))
    relay.wait_connected(20)
    out = io.StringIO()
    context = BuildContext(build_name="win", build_type="test", ui=UI(out=out, err=out, color=False,
                                                                       progress=False).build("win"),
                           communicator=relay)

    def machine() -> None:  # the "reboot": goes away a moment after it was asked to, comes back later
        deadline = time.monotonic() + 30
        while not (state / "requested").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        server.stop()
        (state / "requested").unlink()
        time.sleep(1.5)
        server.start()

    thread = threading.Thread(target=machine)
    thread.start()
    try:
        make(WindowsRestartProvisioner, restart_check_command="echo restarted.", restart_timeout="60s").provision(
            context)
    finally:
        thread.join(timeout=60)
        relay.cleanup()
    shown = out.getvalue()
    assert "restarted." in shown and "Machine successfully restarted" in shown
    assert not (state / "aborted").exists()
    assert server.stats.connections >= 2


def test_windows_restart_times_out_with_the_key_named(ctx):
    with pytest.raises(ProvisionerError) as info:
        make(WindowsRestartProvisioner, restart_command="true", restart_check_command="exit 1",
             restart_timeout="3s").provision(ctx.context)
    assert "restart_timeout" in str(info.value)


def test_powershell_path_quotes_are_doubled_in_the_default_command():
    """&'{{.Path}}' keeps a ' in remote_path a name (PowerShell does not run here: the command text is checked)."""
    from hatchway_winrm.provisioners import PS_EXECUTE, PowerShellProvisioner
    from hatchway.template.functions import RenderContext, render

    quoted = PowerShellProvisioner.quote_path(None, "c:/it's here/x.ps1")  # type: ignore[arg-type]
    command = render(PS_EXECUTE, RenderContext(data={"Path": quoted, "Vars": "c:/v.ps1"}))
    assert "&'c:/it''s here/x.ps1'" in command

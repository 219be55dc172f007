"""Packer's powershell, windows-shell and windows-restart keys, run through the WS-Management test server.

PowerShell does not run here: a test whose name says ``standin`` exercises the Python stand-in of a
script (tests/servers/wsman/standins), not the script itself; the scripts' text is checked for
PowerShell syntax by the server on every run. Expected behaviour is Packer's, cited per test.
"""
from __future__ import annotations

import io
import threading
import time

import pytest

from hatchway.config import build
from hatchway.context import BuildContext
from hatchway.errors import ProvisionerError
from hatchway.template.functions import RenderContext, render
from hatchway.ui import UI
from hatchway_winrm import PowerShellProvisioner, WindowsRestartProvisioner, WindowsShellProvisioner
from hatchway_winrm.provisioners import DEFAULT_REGISTRY_KEYS


def make(cls, **keys):
    config, problems = build(cls.Config, keys, "provisioners[0]")
    assert config is not None, [str(p) for p in problems]
    return cls(config)


@pytest.fixture
def run(connect, wsman):
    """``run(cls, **keys)`` provisions on a fresh winrm connection; returns what the UI printed."""
    out = io.StringIO()

    def provision(cls, **keys):
        ui = UI(out=out, err=out, color=False, progress=False)
        context = BuildContext(build_name="win", build_type="test", ui=ui.build("win"), communicator=connect(),
                               render=lambda text, data=None: render(text, RenderContext(data=dict(data or {}))))
        make(cls, **keys).provision(context)
        return out.getvalue()

    provision.out = out
    provision.server = wsman
    return provision


def test_inline_runs_with_packers_default_command_via_file_echo_standin(run, tmp_path):
    """No execute_command: Packer's `powershell -executionpolicy bypass -file {{.Path}}` on the wrapped
    inline script (provisioner/powershell/provisioner.go defaultExecuteCommand); the server reads the
    file, checks its syntax and runs the `echo` stand-in named in it."""
    shown = run(PowerShellProvisioner, inline=["# hatchway-standin: echo", "$text = 'from-inline'", "exit 0"],
                remote_path="C:/Windows/Temp/inline.ps1", skip_clean=True)
    assert "from-inline" in shown
    sent = (tmp_path / "C:" / "Windows" / "Temp" / "inline.ps1").read_text()
    assert run.server.scripts[-1] == sent and "try {" in sent


def test_use_pwsh_runs_pwsh_via_file_echo_standin(run):
    shown = run(PowerShellProvisioner, inline=["# hatchway-standin: echo", "$text = 'from-pwsh'"], use_pwsh=True,
                execution_policy="RemoteSigned")
    assert "from-pwsh" in shown


def test_env_and_env_var_format(run, tmp_path):
    """env joins environment_vars; env_var_format shapes each line (provisioner/powershell createFlattenedEnvVars)."""
    shown = run(PowerShellProvisioner, script=str(_script(tmp_path, "echo ok")), environment_vars=["A=1"],
                env={"B": "two"}, env_var_format="[%s=%s]", remote_env_var_path=str(tmp_path / "vars.ps1"),
                execute_command="cat {{.Vars}}; echo; sh {{.Path}}")
    assert "[A=1][B=two][PACKER_BUILDER_TYPE=test][PACKER_BUILD_NAME=win]" in shown


def test_windows_shell_env_and_env_var_format(run):
    """provisioner/windows-shell/provisioner.go: fmt.Sprintf(EnvVarFormat, key, value), keys sorted."""
    shown = run(WindowsShellProvisioner, inline=["true"], env={"Z": "z"}, env_var_format="export %s=%s; ",
                execute_command="{{.Vars}} sh -c 'echo [$Z]'")
    assert "[z]" in shown


def _script(tmp_path, body):
    path = tmp_path / "local.ps1"
    path.write_text(body + "\n")
    return path


def test_elevated_user_runs_through_the_scheduled_task_elevated_standin(run, tmp_path):
    """elevated_user + elevated_password "{{.WinRMPassword}}": the command runs through Packer's
    elevated runner (packer-plugin-sdk guestexec/elevated.go): here ps/elevated.ps1, uploaded and run with
    `powershell -executionpolicy bypass -file`, its stand-in checking the account like Windows would."""
    shown = run(PowerShellProvisioner, script=str(_script(tmp_path, "echo elevated-ran; exit 5")),
                elevated_user="vagrant", elevated_password="{{.WinRMPassword}}", valid_exit_codes=[5],
                environment_vars=["GREETING=hi"], remote_env_var_path=str(tmp_path / "vars.ps1"),
                elevated_execute_command="sh -c 'cat {{.Vars}}; echo; sh {{.Path}}'")
    assert "elevated-ran" in shown
    assert '$env:GREETING="hi"; ' in shown  # elevated_env_var_format, Packer's default
    temp = tmp_path / "C:" / "Windows" / "Temp"
    assert list(temp.glob("packer-elevated-shell-*.ps1")) == []  # the runner removed itself
    assert list((tmp_path / "Windows" / "Temp").glob("packer-*.out")) == []  # and the task's log
    assert any("Schedule.Service" in script for script in run.server.scripts)


def test_elevated_user_with_a_wrong_password_fails_with_windows_reason_elevated_standin(run, tmp_path):
    with pytest.raises(ProvisionerError, match="exited with status 1"):
        run(PowerShellProvisioner, script=str(_script(tmp_path, "echo never")), elevated_user="vagrant",
            elevated_password="not-the-password", elevated_execute_command="sh {{.Path}}")
    assert "The user name or password is incorrect" in run.out.getvalue()
    assert "not-the-password" not in run.out.getvalue()


def test_elevated_password_needs_elevated_user():
    _, problems = build(PowerShellProvisioner.Config, {"inline": ["x"], "elevated_password": "pw-secret"})
    assert "elevated_password: needs elevated_user" in str(problems[0])


@pytest.mark.parametrize("keys, message", [
    ({"execution_policy": "sometimes"}, "execution_policy: 'sometimes' is not an execution policy"),
    ({"debug_mode": 3}, "debug_mode: 3 is not a trace level"),
])
def test_powershell_values_packer_refuses(keys, message):
    _, problems = build(PowerShellProvisioner.Config, {"inline": ["x"], **keys})
    assert message in str(problems[0])


def _registry_key(tmp_path, key):
    hive, _, rest = key.partition(":")
    return tmp_path.joinpath("registry", hive, *rest.split("\\"))


def test_check_registry_waits_until_no_restart_is_pending_registry_standin(run, tmp_path):
    """check_registry: after the check command succeeds, Packer waits while any registry_keys exists
    (provisioner/windows-restart/provisioner.go waitForCommunicator, Test-Path per key)."""
    pending = _registry_key(tmp_path, DEFAULT_REGISTRY_KEYS[0])
    pending.mkdir(parents=True)

    def finish_servicing():  # the "machine" finishes its servicing once the provisioner has seen the key
        while "still pending" not in run.out.getvalue():
            time.sleep(0.05)
        pending.rmdir()

    thread = threading.Thread(target=finish_servicing, daemon=True)
    thread.start()
    shown = run(WindowsRestartProvisioner, restart_command="true", restart_check_command="echo restarted.",
                check_registry=True, restart_timeout="60s")
    thread.join(10)
    assert "registry key HKLM:SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\" \
           "RebootPending exists" in shown
    assert "Machine successfully restarted" in shown


def test_registry_keys_replace_the_defaults_registry_standin(run, tmp_path):
    _registry_key(tmp_path, DEFAULT_REGISTRY_KEYS[1]).mkdir(parents=True)  # not checked: not in registry_keys
    _registry_key(tmp_path, "HKLM:SOFTWARE\\Mine\\Pending").mkdir(parents=True)
    with pytest.raises(ProvisionerError, match="restart_timeout"):
        run(WindowsRestartProvisioner, restart_command="true", restart_check_command="echo restarted.",
            check_registry=True, registry_keys=["HKLM:SOFTWARE\\Mine\\Pending"], restart_timeout="3s")
    shown = run.out.getvalue()
    assert "HKLM:SOFTWARE\\Mine\\Pending exists" in shown and "PackagesPending" not in shown


def test_without_check_registry_pending_keys_are_ignored(run, tmp_path):
    _registry_key(tmp_path, DEFAULT_REGISTRY_KEYS[0]).mkdir(parents=True)
    shown = run(WindowsRestartProvisioner, restart_command="true", restart_check_command="echo restarted.",
                restart_timeout="60s")
    assert "Machine successfully restarted" in shown and "pending" not in shown


# hashicorp/packer provisioner/{powershell,windows-shell,windows-restart}/provisioner.hcl2spec.go and
# packer-plugin-sdk communicator/config.hcl2spec.go (the WinRM struct), packer_* build metadata left out.
PACKER_KEYS = {
    "powershell": "binary debug_mode elevated_env_var_format elevated_execute_command elevated_password "
                  "elevated_user env env_var_format environment_vars execute_command execution_policy inline "
                  "pause_after remote_env_var_path remote_path script scripts skip_clean start_retry_timeout "
                  "use_pwsh valid_exit_codes",
    "windows-shell": "binary env env_var_format environment_vars execute_command inline remote_path script scripts "
                     "start_retry_timeout valid_exit_codes",
    "windows-restart": "check_registry registry_keys restart_check_command restart_command restart_timeout",
    "winrm": "pause_before_connecting winrm_host winrm_insecure winrm_no_proxy winrm_password winrm_port "
             "winrm_timeout winrm_use_ntlm winrm_use_ssl winrm_username",
}


@pytest.mark.parametrize("name", sorted(PACKER_KEYS))
def test_every_packer_key_is_accepted(name):
    from hatchway.config import keys_of
    from hatchway_winrm import WinRMConfig

    cls = {"powershell": PowerShellProvisioner.Config, "windows-shell": WindowsShellProvisioner.Config,
           "windows-restart": WindowsRestartProvisioner.Config, "winrm": WinRMConfig}[name]
    assert set(PACKER_KEYS[name].split()) - set(keys_of(cls)) == set()


@pytest.mark.parametrize("value", [70000, -1, "99999"])
def test_winrm_port_outside_1_to_65535_is_an_error(value, tmp_path):
    from hatchway_winrm import WinRMConfig

    _, problems = build(WinRMConfig, {"winrm_username": "u", "winrm_port": value}, "builders[0]")
    assert str(problems[0]).startswith(f"builders[0].winrm_port: {int(value)} is not a TCP port: use 1-65535")


def test_remote_path_ending_in_a_slash_is_a_directory(run, tmp_path):
    """provisioner/powershell/provisioner.go: `if os.IsPathSeparator(RemotePath[len-1]) { RemotePath +=
    filepath.Base(script) }`."""
    folder = tmp_path / "remote"
    folder.mkdir()
    run(PowerShellProvisioner, script=str(_script(tmp_path, "echo in-dir")), remote_path=f"{folder}/",
        remote_env_var_path=str(tmp_path / "v.ps1"), execute_command="sh {{.Path}}", skip_clean=True)
    assert (folder / "local.ps1").read_text() == "echo in-dir\n"

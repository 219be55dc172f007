"""Packer's Windows provisioners: ``powershell``, ``windows-shell`` and ``windows-restart``.

Keys and defaults are Packer's. The two script provisioners share
:class:`_ScriptProvisioner`: each script (inline commands become one) is
uploaded to ``remote_path`` and run with ``execute_command``; uploading and
starting are retried together until ``start_retry_timeout`` (a reboot may be
under way), and the exit status must be one of ``valid_exit_codes``.
"""
from __future__ import annotations

import io
import re
import time
import uuid
from typing import ClassVar, Dict, List, Optional

import attrs

from hatchway import (
    BuildCancelled,
    BuildContext,
    CommunicatorError,
    DISCONNECTED,
    Duration,
    Provisioner,
    ProvisionerError,
    option,
)
from hatchway.toolkit import env_problems, one_source, parse_env, retry_until, runs_the_script, script_sources

from . import scripts

__all__ = ["PowerShellProvisioner", "WindowsShellProvisioner", "WindowsRestartProvisioner",
           "powershell_env_file", "cmd_vars", "ps_quote"]

PS_EXECUTE = ("powershell -executionpolicy bypass \"& { if (Test-Path variable:global:ProgressPreference)"
              "{$ProgressPreference='SilentlyContinue'};. {{.Vars}}; &'{{.Path}}'; exit $LastExitCode }\"")
#: PowerShell treats these as single quotes too; each is doubled inside a '...' literal.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted literal of ``value`` (nothing in it is expanded)."""
    return "'" + "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in value) + "'"


def powershell_env_file(env: Dict[str, str]) -> str:
    """The file ``{{.Vars}}`` points to: one ``$env:NAME = '...'`` per variable, dot-sourced."""
    return "".join(f"$env:{key} = {ps_quote(value)}\r\n" for key, value in env.items())


def cmd_vars(env: Dict[str, str]) -> str:
    """windows-shell's ``{{.Vars}}``: ``set "KEY=value" && `` per variable, as Packer writes it."""
    return "".join(f'set "{key}={value}" && ' for key, value in env.items())


def _windows_env_problems(pairs: List[str]):
    yield from env_problems(pairs)
    for i, pair in enumerate(pairs):
        key = pair.partition("=")[0]
        if key.replace("_", "a").isalnum() and not _ENV_NAME.match(key):  # else env_problems said it
            yield (f"environment_vars[{i}]", f"{key!r} is not a valid variable name", "use letters, digits and _")


@attrs.define(kw_only=True)
class _ScriptConfig:
    inline: Optional[List[str]] = option(None, help="Commands, one per line, run as one script.")
    script: str = option("", path=True, help="A local script to upload and run.")
    scripts: Optional[List[str]] = option(None, help="Local scripts to upload and run in order.")
    environment_vars: List[str] = option(factory=list, help="KEY=value pairs set for the scripts.")
    remote_path: str = option("", help="Where each script is uploaded (default: c:/Windows/Temp/script-<uuid>).")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")
    start_retry_timeout: Duration = option(Duration("5m"), help="Retry uploading and starting a script this long.")
    skip_clean: bool = option(False, help="Leave the uploaded scripts on the machine.")
    binary: bool = option(False, help="Accepted for Packer compatibility; scripts are uploaded as they are.")

    def check(self):
        yield from one_source(self)
        yield from _windows_env_problems(self.environment_vars)
        yield from runs_the_script(self.execute_command)


@attrs.define(kw_only=True)
class PowerShellConfig(_ScriptConfig):
    execute_command: str = option(PS_EXECUTE, help="How each script runs; {{.Path}} is the script, {{.Vars}} the "
                                                   "file of environment variables to dot-source.")
    remote_env_var_path: str = option("", help="Where the environment variables file is uploaded.")
    debug_mode: int = option(0, help="Set-PSDebug -Trace <n> before the script (1 or 2).")


@attrs.define(kw_only=True)
class WindowsShellConfig(_ScriptConfig):
    execute_command: str = option('{{ .Vars }}"{{ .Path }}"', help="How each script runs (cmd.exe).")


class _ScriptProvisioner(Provisioner):
    extension: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        """Upload what the command needs besides the script; return the render data besides ``Path``."""
        raise NotImplementedError

    def uploaded(self, data: Dict[str, str]) -> List[str]:
        """The remote files to remove afterwards (unless ``skip_clean``)."""
        return [data["Path"]]

    def body(self, script: bytes) -> bytes:
        return script

    def quote_path(self, path: str) -> str:
        """``{{.Path}}`` as it goes into ``execute_command``."""
        return path

    def provision(self, ctx: BuildContext) -> None:
        c = self.config
        relay = ctx.communicator
        assert relay is not None
        env = {"PACKER_BUILD_NAME": ctx.build_name, "PACKER_BUILDER_TYPE": ctx.build_type}
        env.update(parse_env(c.environment_vars, {}))
        sources = script_sources(c.inline, c.script, c.scripts, None, ctx.template_dir, newline="\r\n")
        for label, body in sources:
            remote = c.remote_path or f"c:/Windows/Temp/script-{uuid.uuid4()}.{self.extension}"
            ctx.ui.say(f"Provisioning with {self.label}: {label}")
            data = self.prepare(ctx, env)
            data["Path"] = remote
            command = ctx.render(c.execute_command, {**data, "Path": self.quote_path(remote)})
            stdout, stderr, flush = ctx.ui.output_streams()
            payload = self.body(body)

            def start() -> int:
                relay.upload(io.BytesIO(payload), remote)
                return relay.execute(command, stdout=stdout, stderr=stderr, timeout=ctx.remaining())

            status = retry_until(float(c.start_retry_timeout), ctx.cancelled, f"uploading and starting {label}",
                                 start, lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
            flush()
            if status not in c.valid_exit_codes:
                if status == DISCONNECTED:
                    raise ProvisionerError(
                        f"the connection was lost while {label} ran; if it restarts the machine, use the "
                        f"windows-restart provisioner, or add {DISCONNECTED} to valid_exit_codes")
                raise ProvisionerError(f"{label} exited with status {status}; valid exit codes: "
                                       f"{', '.join(map(str, c.valid_exit_codes))}")
            if not c.skip_clean:
                self._clean(ctx, self.uploaded(data))

    def _clean(self, ctx: BuildContext, paths: List[str]) -> None:
        """Remove the uploaded files with the plugin's own PowerShell script (paths as data)."""
        relay = ctx.communicator
        assert relay is not None
        command = scripts.command_line(scripts.render("remove", {"paths": "\n".join(paths)}), "removing scripts")

        def remove() -> int:
            return relay.execute(command, timeout=ctx.remaining())

        status = retry_until(float(self.config.start_retry_timeout), ctx.cancelled, "removing the uploaded scripts",
                             remove, lambda exc: ctx.ui.message(f"Retrying cleanup after: {exc}"))
        if status not in (0, DISCONNECTED):
            ctx.ui.error(f"could not remove {', '.join(paths)} (exit status {status})")


class PowerShellProvisioner(_ScriptProvisioner):
    """Runs PowerShell scripts (Packer's ``powershell``)."""

    name = "powershell"
    Config = PowerShellConfig
    extension = "ps1"
    label = "powershell script"

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        c: PowerShellConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        path = c.remote_env_var_path or f"c:/Windows/Temp/packer-ps-env-vars-{uuid.uuid4()}.ps1"
        relay.upload(io.BytesIO(powershell_env_file(env).encode("utf-8")), path)
        return {"Vars": path}

    def uploaded(self, data: Dict[str, str]) -> List[str]:
        return [data["Path"], data["Vars"]]

    def quote_path(self, path: str) -> str:
        """Inside the default command's ``&'{{.Path}}'``: quotes doubled, so a ``'`` in the path is a name."""
        return ps_quote(path)[1:-1]

    def body(self, script: bytes) -> bytes:
        c: PowerShellConfig = self.config
        if c.debug_mode:
            return f"Set-PSDebug -Trace {int(c.debug_mode)}\r\n".encode() + script
        return script


class WindowsShellProvisioner(_ScriptProvisioner):
    """Runs cmd.exe batch scripts (Packer's ``windows-shell``)."""

    name = "windows-shell"
    Config = WindowsShellConfig
    extension = "bat"
    label = "windows-shell script"

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        return {"Vars": cmd_vars(env)}


@attrs.define(kw_only=True)
class WindowsRestartConfig:
    restart_command: str = option('shutdown /r /f /t 0 /c "packer restart"', help="The command that restarts.")
    restart_check_command: str = option(
        "powershell -command \"& {Write-Output 'restarted.'}\"",
        help="Run until it succeeds once the machine is back.")
    restart_timeout: Duration = option(Duration("5m"), help="How long to wait for the machine to come back.")
    check_registry: bool = option(False, help="Accepted for Packer compatibility (not checked).")


class WindowsRestartProvisioner(Provisioner):
    """Restarts the machine and waits until commands run again (Packer's ``windows-restart``).

    1. ``restart_command`` (exit 0, 1115 "shutdown in progress", 1190 "already
       scheduled", or a lost connection all mean it is going down);
    2. probe with ``shutdown /r /t 60``: success means no restart is pending any
       more (it already happened), so the probe's own restart is aborted;
       1115/1190/1717 mean it is still going down;
    3. run ``restart_check_command`` until it succeeds, up to ``restart_timeout``.
    """

    name = "windows-restart"
    Config = WindowsRestartConfig
    TRY_CHECK_REBOOT: ClassVar[str] = 'shutdown /r /f /t 60 /c "packer restart test"'
    ABORT_REBOOT: ClassVar[str] = "shutdown /a"
    IN_PROGRESS: ClassVar[tuple] = (1115, 1190, 1717)
    POLL: ClassVar[float] = 1.0

    def provision(self, ctx: BuildContext) -> None:
        c: WindowsRestartConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        deadline = time.monotonic() + float(c.restart_timeout)
        ctx.ui.say("Restarting Machine")
        status = self._run(ctx, c.restart_command)
        if status not in (0, DISCONNECTED) + self.IN_PROGRESS:
            raise ProvisionerError(f"restart_command exited with status {status}")
        ctx.ui.say("Waiting for machine to restart...")
        while True:
            self._pause(ctx, deadline, "the restart to begin")
            try:
                status = self._run(ctx, self.TRY_CHECK_REBOOT)
            except CommunicatorError:
                break  # cannot run commands: it is going down
            if status == DISCONNECTED or status == 1:
                break
            if status == 0:
                self._run_quietly(ctx, self.ABORT_REBOOT)
                break
            if status not in self.IN_PROGRESS:
                break
        while True:
            self._pause(ctx, deadline, "the machine to come back")
            try:
                if self._run(ctx, c.restart_check_command) == 0:
                    ctx.ui.say("Machine successfully restarted, moving on")
                    return
            except CommunicatorError as exc:
                ctx.ui.message(f"Waiting: {exc}")

    def _run(self, ctx: BuildContext, command: str) -> int:
        assert ctx.communicator is not None
        stdout, stderr, flush = ctx.ui.output_streams()
        try:
            return ctx.communicator.execute(command, stdout=stdout, stderr=stderr, timeout=60.0)
        finally:
            flush()

    def _run_quietly(self, ctx: BuildContext, command: str) -> None:
        try:
            self._run(ctx, command)
        except CommunicatorError:
            pass

    def _pause(self, ctx: BuildContext, deadline: float, what: str) -> None:
        if time.monotonic() >= deadline:
            raise ProvisionerError(f"timed out after {self.config.restart_timeout} waiting for {what} "
                                   f"(restart_timeout)")
        if ctx.cancelled.wait(self.POLL):
            raise BuildCancelled("cancelled while waiting for the restart")

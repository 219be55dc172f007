"""Packer's Windows provisioners: ``powershell``, ``windows-shell`` and ``windows-restart``.

Keys and defaults are Packer's (``provisioner/powershell``, ``provisioner/windows-shell`` and
``provisioner/windows-restart`` in hashicorp/packer). The two script provisioners share
:class:`_ScriptProvisioner`: each script (inline commands become one) is uploaded to
``remote_path`` and run with ``execute_command``; uploading and starting are retried together until
``start_retry_timeout`` (a reboot may be under way), and the exit status must be one of
``valid_exit_codes``. With ``elevated_user``, ``powershell`` runs the command through a scheduled
task as that user (the plugin's ``ps/elevated.ps1``, Packer's elevated runner).
"""
from __future__ import annotations

import io
import re
import time
import uuid
from typing import ClassVar, Dict, List, Optional

import attrs

from hatchway import (
    DISCONNECTED,
    BuildCancelled,
    BuildContext,
    CommunicatorError,
    Duration,
    OutputStream,
    Provisioner,
    ProvisionerError,
    option,
)
from hatchway.toolkit import (add_secret, env_problems, exit_codes, flatten_env, one_source, parse_env, retry_until,
                              runs_the_script, script_sources)

from . import scripts

__all__ = ["PowerShellProvisioner", "WindowsShellProvisioner", "WindowsRestartProvisioner",
           "cmd_vars", "ps_quote", "ps_escape", "PS_EXECUTE", "EXECUTION_POLICIES", "DEFAULT_REGISTRY_KEYS"]

#: Packer's default command for a script (``defaultScriptCommand`` with execution_policy bypass).
PS_EXECUTE = ("powershell -executionpolicy bypass \"& { if (Test-Path variable:global:ProgressPreference)"
              "{set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'};"
              ". {{.Vars}}; &'{{.Path}}'; exit $LastExitCode }\"")
#: Packer's ``ExecutionPolicy`` values, in its order (an integer 0-7 picks one, as its decode hook allows).
EXECUTION_POLICIES = ("bypass", "allsigned", "default", "remotesigned", "restricted", "undefined",
                      "unrestricted", "none")
PS_ENV_FORMAT = '$env:%s="%s"; '
#: PowerShell treats these as single quotes too; each is doubled inside a '...' literal.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
#: Packer's psEscape (``$ " ` '`` get a backtick), plus the double quotes PowerShell also honours.
_PS_ESCAPED = "$\"`'\u201c\u201d\u201e"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted literal of ``value`` (nothing in it is expanded)."""
    return "'" + "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in value) + "'"


def ps_escape(value: str) -> str:
    """Packer's ``psEscape``: a value safe inside a double-quoted PowerShell string."""
    return "".join("`" + ch if ch in _PS_ESCAPED else ch for ch in value)


def cmd_vars(env: Dict[str, str], format: str = 'set "%s=%s" && ') -> str:
    """windows-shell's ``{{.Vars}}``: Packer's ``set "KEY=value" && `` per variable, keys sorted."""
    return flatten_env(env, format, escape=lambda value: value)


def wrap_inline(commands: List[str], env_vars: str, debug_mode: int) -> str:
    """Packer's ``wrapPowershellString``: inline commands with the variables set inline, the exit
    status of the last native command kept, an exception turned into exit 1."""
    lines = ["if (Test-Path variable:global:ProgressPreference) {",
             "  set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'", "}"]
    if debug_mode:
        lines.append(f"Set-PsDebug -Trace {int(debug_mode)}")
    lines += ["$exitCode = 0", "try {", env_vars, *commands, "$exitCode = 0", "} catch {",
              'Write-Error "An error occurred: $_"', "$exitCode = 1", "}", "",
              "if ((Test-Path variable:global:LASTEXITCODE) -and $LASTEXITCODE -ne $null -and "
              "$LASTEXITCODE -ne 0) {", "  $exitCode = $LASTEXITCODE", "}", "exit $exitCode", ""]
    return "\r\n".join(lines)


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
    env: Dict[str, str] = option(factory=dict, help="Environment variables as a map (after environment_vars).")
    remote_path: str = option("", help="Where each script is uploaded (default: c:/Windows/Temp/script-<uuid>).")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")
    start_retry_timeout: Duration = option(Duration("5m"), zero_is_default=True,
                                           help="Retry uploading and starting a script this long.")
    skip_clean: bool = option(False, help="Leave the uploaded scripts on the machine.")
    binary: bool = option(False, help="Accepted for Packer compatibility; scripts are uploaded as they are "
                                      "(Packer's Windows provisioners do not convert them either).")

    def check(self):
        yield from one_source(self)
        yield from _windows_env_problems(self.environment_vars)
        yield from runs_the_script(self.execute_command)


@attrs.define(kw_only=True)
class PowerShellConfig(_ScriptConfig):
    execute_command: str = option(
        "", help="How each script runs; {{.Path}} is the script, {{.Vars}} the file of environment variables "
                 "to dot-source. Default: Packer's, from execution_policy and use_pwsh.")
    elevated_execute_command: str = option(
        "", help="The command run as elevated_user (default: as execute_command).")
    env_var_format: str = option(PS_ENV_FORMAT, zero_is_default=True,
                                 help="Go format of one variable in the variables file "
                                      "(key, then the value escaped for a \"...\" string).")
    elevated_env_var_format: str = option(PS_ENV_FORMAT, zero_is_default=True,
                                          help="env_var_format when running as elevated_user.")
    elevated_user: str = option("", help="Run the scripts as this user, through a scheduled task with the "
                                         "highest privileges.")
    elevated_password: str = option("", secret=True, help="elevated_user's password; {{.WinRMPassword}} is "
                                                          "the communicator's. Empty: a service account.")
    execution_policy: str = option("bypass", help="PowerShell's -executionpolicy in the default commands: "
                                                  + ", ".join(EXECUTION_POLICIES) + " (none: leave it out).")
    use_pwsh: bool = option(False, help="Run pwsh (PowerShell 7) instead of powershell in the default commands.")
    remote_env_var_path: str = option("", help="Where the environment variables file is uploaded.")
    debug_mode: int = option(0, help="Set-PsDebug -Trace <n> (1 or 2) before the commands.")
    pause_after: Duration = option(Duration(0), help="Wait this long after the scripts ran.")

    def policy(self) -> str:
        value = self.execution_policy.strip().lower()
        return EXECUTION_POLICIES[int(value)] if value.isdigit() and int(value) < len(EXECUTION_POLICIES) else value

    def default_command(self, inline: bool) -> str:
        """Packer's ``defaultExecuteCommand`` (inline) and ``defaultScriptCommand`` (scripts)."""
        policy, exe = self.policy(), "pwsh" if self.use_pwsh else "powershell"
        if inline:
            return "-file {{.Path}}" if policy == "none" else f"{exe} -executionpolicy {policy} -file {{{{.Path}}}}"
        base = ("& { if (Test-Path variable:global:ProgressPreference){set-variable -name "
                "variable:global:ProgressPreference -value 'SilentlyContinue'};")
        if self.debug_mode:
            base += f"Set-PsDebug -Trace {int(self.debug_mode)};"
        base += ". {{.Vars}}; &'{{.Path}}'; exit $LastExitCode }"
        if policy == "none":
            return base
        if self.use_pwsh:
            return f'pwsh -executionpolicy {policy} -command "{base}"'
        return f'powershell -executionpolicy {policy} "{base}"'

    def check(self):
        yield from super().check()
        if self.elevated_password and not self.elevated_user:
            yield ("elevated_password", "needs elevated_user", "set the user to run as")
        if self.policy() not in EXECUTION_POLICIES:
            yield ("execution_policy", f"{self.execution_policy!r} is not an execution policy",
                   "use one of " + ", ".join(EXECUTION_POLICIES))
        if not 0 <= self.debug_mode <= 2:
            yield ("debug_mode", f"{self.debug_mode} is not a trace level", "use 0, 1 or 2")
        if self.elevated_execute_command:
            yield from runs_the_script(self.elevated_execute_command)


@attrs.define(kw_only=True)
class WindowsShellConfig(_ScriptConfig):
    execute_command: str = option('{{ .Vars }}"{{ .Path }}"', zero_is_default=True,
                                  help="How each script runs (cmd.exe).")
    env_var_format: str = option('set "%s=%s" && ', zero_is_default=True,
                                 help="Go format of one variable in {{.Vars}}.")


class _ScriptProvisioner(Provisioner):
    extension: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        """Upload what the commands need besides the scripts; return the render data besides ``Path``."""
        raise NotImplementedError

    def command(self, ctx: BuildContext, data: Dict[str, str], inline: bool) -> str:
        """The command line that runs one script (``data`` has ``Path`` and ``Vars``)."""
        return ctx.render(self.config.execute_command, data)

    def extra_files(self, data: Dict[str, str]) -> List[str]:
        """Remote files besides the scripts to remove afterwards (unless ``skip_clean``)."""
        return []

    def sources(self, ctx: BuildContext, env: Dict[str, str]):
        c = self.config
        return script_sources(c.inline, c.script, c.scripts, None, ctx.template_dir, newline="\r\n")

    def quote_path(self, path: str) -> str:
        """``{{.Path}}`` as it goes into ``execute_command``."""
        return path

    def provision(self, ctx: BuildContext) -> None:
        c = self.config
        relay = ctx.communicator
        assert relay is not None
        env = {"PACKER_BUILD_NAME": ctx.build_name, "PACKER_BUILDER_TYPE": ctx.build_type}
        env.update(parse_env(c.environment_vars, c.env))
        data = self.prepare(ctx, env)
        uploaded: List[str] = []
        for label, body in self.sources(ctx, env):
            remote = c.remote_path or f"c:/Windows/Temp/script-{uuid.uuid4()}.{self.extension}"
            if remote.endswith(("/", "\\")):  # Packer: a directory, the script keeps its own name there
                name = label.replace("\\", "/").rsplit("/", 1)[-1] if c.script or c.scripts else \
                    f"script-{uuid.uuid4()}.{self.extension}"
                remote += name
            ctx.ui.say(f"Provisioning with {self.label}: {label}")
            command = self.command(ctx, {**data, "Path": self.quote_path(remote)}, inline=bool(c.inline))
            stdout, stderr, flush = ctx.ui.output_streams()

            def start(body: bytes = body, remote: str = remote, command: str = command) -> int:
                relay.upload(io.BytesIO(body), remote)
                return relay.execute(command, stdout=stdout, stderr=stderr, timeout=ctx.remaining())

            status = retry_until(float(c.start_retry_timeout), ctx.cancelled, f"uploading and starting {label}",
                                 start, lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
            flush()
            uploaded.append(remote)
            if status not in exit_codes(c.valid_exit_codes):
                if status == DISCONNECTED:
                    raise ProvisionerError(
                        f"the connection was lost while {label} ran; if it restarts the machine, use the "
                        f"windows-restart provisioner, or add {DISCONNECTED} to valid_exit_codes")
                raise ProvisionerError(f"{label} exited with status {status}; valid exit codes: "
                                       f"{', '.join(map(str, exit_codes(c.valid_exit_codes)))}")
        if not c.skip_clean:
            self._clean(ctx, list(dict.fromkeys(uploaded + self.extra_files(data))))
        pause = float(getattr(c, "pause_after", 0) or 0)
        if pause > 0:
            ctx.ui.say(f"Pausing {Duration(pause)} after this provisioner...")
            if ctx.cancelled.wait(pause):
                raise BuildCancelled("cancelled")

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


def winrm_password(ctx: BuildContext) -> str:
    """``{{.WinRMPassword}}``: the password the winrm communicator of this build uses ("" otherwise)."""
    communicator = getattr(ctx.communicator, "communicator", None)
    effective = getattr(communicator, "effective_config", None)
    config = effective() if callable(effective) else getattr(communicator, "config", None)
    return getattr(config, "winrm_password", "") or ""


class PowerShellProvisioner(_ScriptProvisioner):
    """Runs PowerShell scripts (Packer's ``powershell``)."""

    name = "powershell"
    Config = PowerShellConfig
    extension = "ps1"
    label = "powershell script"

    def elevated(self) -> bool:
        return bool(self.config.elevated_user)

    def env_vars(self, env: Dict[str, str]) -> str:
        c: PowerShellConfig = self.config
        return flatten_env(env, c.elevated_env_var_format if self.elevated() else c.env_var_format, ps_escape)

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        c: PowerShellConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        path = c.remote_env_var_path or f"c:/Windows/Temp/packer-ps-env-vars-{uuid.uuid4()}.ps1"
        payload = self.env_vars(env).encode("utf-8")
        retry_until(float(c.start_retry_timeout), ctx.cancelled, "uploading the environment variables",
                    lambda: relay.upload(io.BytesIO(payload), path),
                    lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
        return {"Vars": path}

    def extra_files(self, data: Dict[str, str]) -> List[str]:
        return [data["Vars"]]

    def sources(self, ctx: BuildContext, env: Dict[str, str]):
        c: PowerShellConfig = self.config
        if c.inline:  # Packer's extractInlineScript: wrapped, with the variables set inline
            return [("inline script", wrap_inline(c.inline, self.env_vars(env), c.debug_mode).encode("utf-8"))]
        return super().sources(ctx, env)

    def quote_path(self, path: str) -> str:
        """Inside the default command's ``&'{{.Path}}'``: quotes doubled, so a ``'`` in the path is a name."""
        return ps_quote(path)[1:-1]

    def command(self, ctx: BuildContext, data: Dict[str, str], inline: bool) -> str:
        c: PowerShellConfig = self.config
        if not self.elevated():
            return ctx.render(c.execute_command or c.default_command(inline), data)
        command = ctx.render(c.elevated_execute_command or c.default_command(inline), data)
        return self._elevated_runner(ctx, command)

    def _elevated_runner(self, ctx: BuildContext, command: str) -> str:
        """Upload ``ps/elevated.ps1`` with its arguments (Packer's ``GenerateElevatedRunner``) and return
        the command that runs it; the runner removes itself when it is done."""
        c: PowerShellConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        known = {"WinRMPassword": winrm_password(ctx)}
        user = ctx.render(c.elevated_user, known)
        password = ctx.render(c.elevated_password, known)
        add_secret(password)
        task = f"packer-{uuid.uuid4()}"
        runner = f"C:/Windows/Temp/packer-elevated-shell-{uuid.uuid4()}.ps1"
        script = scripts.render("elevated", {"name": task, "user": user, "password": password, "command": command,
                                             "log": f"%SYSTEMROOT%/Temp/{task}.out", "self": runner})
        retry_until(float(c.start_retry_timeout), ctx.cancelled, "uploading the elevated runner",
                    lambda: relay.upload(io.BytesIO(script.encode("utf-8")), runner),
                    lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
        return f'powershell -executionpolicy bypass -file "{runner}"'


class WindowsShellProvisioner(_ScriptProvisioner):
    """Runs cmd.exe batch scripts (Packer's ``windows-shell``)."""

    name = "windows-shell"
    Config = WindowsShellConfig
    extension = "bat"
    label = "windows-shell script"

    def prepare(self, ctx: BuildContext, env: Dict[str, str]) -> Dict[str, str]:
        return {"Vars": cmd_vars(env, self.config.env_var_format)}


#: Packer's ``DefaultRegistryKeys`` (provisioner/windows-restart/provisioner.go).
DEFAULT_REGISTRY_KEYS = (
    "HKLM:SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending",
    "HKLM:SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\PackagesPending",
    "HKLM:Software\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootInProgress",
)


@attrs.define(kw_only=True)
class WindowsRestartConfig:
    restart_command: str = option('shutdown /r /f /t 0 /c "packer restart"', zero_is_default=True,
                                  help="The command that restarts.")
    restart_check_command: str = option(
        "powershell -command \"& {Write-Output 'restarted.'}\"", zero_is_default=True,
        help="Run until it succeeds once the machine is back.")
    restart_timeout: Duration = option(Duration("5m"), zero_is_default=True,
                                       help="How long to wait for the machine to come back.")
    check_registry: bool = option(False, help="Once the machine is back, also wait until none of registry_keys "
                                              "exists (no restart pending).")
    registry_keys: List[str] = option(factory=list, help="Registry keys whose existence means a restart is "
                                                         "pending (default: Packer's three; see the README).")

    def keys(self) -> List[str]:
        return list(self.registry_keys or DEFAULT_REGISTRY_KEYS)


class WindowsRestartProvisioner(Provisioner):
    """Restarts the machine and waits until commands run again (Packer's ``windows-restart``).

    1. ``restart_command`` (exit 0, 1115 "shutdown in progress", 1190 "already
       scheduled", or a lost connection all mean it is going down);
    2. probe with ``shutdown /r /t 60``: success means no restart is pending any
       more (it already happened), so the probe's own restart is aborted;
       1115/1190/1717 mean it is still going down;
    3. run ``restart_check_command`` until it succeeds, up to ``restart_timeout``;
    4. with ``check_registry``, until none of ``registry_keys`` exists (the plugin's
       ``ps/registry.ps1``; Packer tests each key with ``Test-Path``).
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
                if self._run(ctx, c.restart_check_command) == 0 and self._nothing_pending(ctx):
                    ctx.ui.say("Machine successfully restarted, moving on")
                    return
            except CommunicatorError as exc:
                ctx.ui.message(f"Waiting: {exc}")

    def _nothing_pending(self, ctx: BuildContext) -> bool:
        """With ``check_registry``: is no registry key of a pending restart left?"""
        c: WindowsRestartConfig = self.config
        if not c.check_registry:
            return True
        assert ctx.communicator is not None
        out: List[bytes] = []
        stdout = OutputStream("stdout")
        stdout.add_listener(out.append)
        command = scripts.command_line(scripts.render("registry", {"keys": "\n".join(c.keys())}),
                                       "checking the registry")
        status = ctx.communicator.execute(command, stdout=stdout, timeout=60.0)
        for line in b"".join(out).decode("utf-8", "replace").splitlines():
            if line.startswith("hatchway: pending "):
                ctx.ui.message(f"A restart is still pending: registry key {line[len('hatchway: pending '):]} "
                               "exists; waiting...")
        return status == 0

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

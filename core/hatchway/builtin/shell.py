"""The ``shell`` provisioner: upload scripts and run them on the machine (Packer's keys and defaults)."""
from __future__ import annotations

import io
import os
import shlex
from typing import ClassVar, Dict, List, Optional, Tuple

import attrs

from ..communicator import DISCONNECTED
from ..components import Provisioner
from ..config import option
from ..context import BuildContext
from ..durations import Duration
from ..errors import BuildCancelled, ProvisionerError
from ..retry import retry_until
from .scripts import env_problems, exit_codes, flatten_env, one_source, parse_env, runs_the_script, script_sources, unix_lines

DEFAULT_EXECUTE = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
DEFAULT_EXECUTE_ENV_FILE = "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"


@attrs.define(kw_only=True)
class ShellConfig:
    #: The data fields each template key gets (validation rejects others, e.g. {{.Nope}}).
    template_fields: ClassVar[Dict[str, Tuple[str, ...]]] = {"execute_command": ("Path", "Vars", "EnvVarFile")}

    inline: Optional[List[str]] = option(None, help="Commands to run, one per line, as one script.")
    script: str = option("", path=True, help="A local script to upload and run.")
    scripts: Optional[List[str]] = option(None, help="Local scripts to upload and run in order.")
    environment_vars: List[str] = option(factory=list, help="KEY=value pairs set for the scripts.")
    env: Dict[str, str] = option(factory=dict, help="Environment variables as a map (added after environment_vars).")
    env_var_format: str = option(
        "", zero_is_default=True,
        help="Go format of one variable in {{.Vars}} (key, then value with ' escaped): \"%s='%s' \", "
             "or \"export %s='%s'\\n\" with use_env_var_file.")
    use_env_var_file: bool = option(
        False, help="Write the variables to a file uploaded next to the script; execute_command sources "
                    "{{.EnvVarFile}}.")
    execute_command: str = option(
        "", help="How each script is run; {{.Path}}, {{.Vars}} and {{.EnvVarFile}} are filled in. Default: "
                 f"\"{DEFAULT_EXECUTE}\", or \"{DEFAULT_EXECUTE_ENV_FILE}\" with use_env_var_file.")
    inline_shebang: str = option("/bin/sh -e", zero_is_default=True, help="The interpreter of inline commands.")
    remote_folder: str = option("/tmp", zero_is_default=True, help="Where scripts are uploaded.")
    remote_file: str = option("", help="The uploaded script's name (default: script_<random>.sh).")
    remote_path: str = option("", help="Full remote path of the script (overrides remote_folder/remote_file).")
    expect_disconnect: bool = option(False, help="A lost connection while a script runs is not an error.")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")
    skip_clean: bool = option(False, help="Leave the uploaded scripts on the machine.")
    start_retry_timeout: Duration = option(Duration("5m"), zero_is_default=True,
                                           help="Retry uploading and starting a script this long.")
    pause_after: Duration = option(Duration(0), help="Wait this long after the scripts ran.")
    binary: bool = option(False, help="Upload scripts byte for byte; by default line endings become \\n, "
                                      "as Packer does.")

    def command(self) -> str:
        """``execute_command``, or Packer's default for ``use_env_var_file``."""
        if self.execute_command:
            return self.execute_command
        return DEFAULT_EXECUTE_ENV_FILE if self.use_env_var_file else DEFAULT_EXECUTE

    def var_format(self) -> str:
        if self.env_var_format:
            return self.env_var_format
        return "export %s='%s'\n" if self.use_env_var_file else "%s='%s' "

    def check(self):
        yield from one_source(self)
        yield from env_problems(self.environment_vars)
        yield from runs_the_script(self.execute_command, DEFAULT_EXECUTE)


class ShellProvisioner(Provisioner):
    """Runs shell scripts on the machine through its communicator."""

    name = "shell"
    Config = ShellConfig

    def provision(self, ctx: BuildContext) -> None:
        c: ShellConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        env = {"PACKER_BUILD_NAME": ctx.build_name, "PACKER_BUILDER_TYPE": ctx.build_type}
        env.update(parse_env(c.environment_vars, c.env))
        flattened = flatten_env(env, c.var_format())
        env_file = ""
        if c.use_env_var_file:
            env_file = f"{c.remote_folder.rstrip('/')}/varfile_{os.urandom(3).hex()}.sh"
            content = flattened.encode() if c.binary else unix_lines(flattened.encode())

            def upload_vars() -> int:
                relay.upload(io.BytesIO(content), env_file, mode=0o600)
                return relay.execute(f"chmod 0600 {shlex.quote(env_file)}", timeout=ctx.remaining())

            retry_until(c.start_retry_timeout, ctx.cancelled, "uploading the environment variables file",
                        upload_vars, lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
        try:
            self._run_scripts(ctx, c, flattened, env_file)
        finally:
            if env_file and not c.skip_clean:
                self._clean(ctx, env_file, c)
        if c.pause_after > 0:
            ctx.ui.say(f"Pausing {c.pause_after} after this provisioner...")
            if ctx.cancelled.wait(c.pause_after):
                raise BuildCancelled("cancelled")

    def _run_scripts(self, ctx: BuildContext, c: ShellConfig, flattened: str, env_file: str) -> None:
        relay = ctx.communicator
        assert relay is not None
        for label, body in script_sources(c.inline, c.script, c.scripts, c.inline_shebang, ctx.template_dir):
            remote = c.remote_path or f"{c.remote_folder.rstrip('/')}/{c.remote_file or f'script_{os.urandom(3).hex()}.sh'}"
            ctx.ui.say(f"Provisioning with shell script: {label}")
            # quoted for the shell: a remote_folder with spaces, $(...) or ; is a name, not a command
            command = ctx.render(c.command(), {"Path": shlex.quote(remote), "Vars": flattened,
                                               "EnvVarFile": shlex.quote(env_file) if env_file else ""})
            stdout, stderr, flush = ctx.ui.output_streams()
            payload = body if c.binary else unix_lines(body)

            def start() -> int:
                relay.upload(io.BytesIO(payload), remote, mode=0o755)
                return relay.execute(command, stdout=stdout, stderr=stderr, timeout=ctx.remaining())

            status = retry_until(c.start_retry_timeout, ctx.cancelled, f"uploading and starting {label}", start,
                                 lambda exc: ctx.ui.message(f"Retrying after: {exc}"))
            flush()
            if status == DISCONNECTED:
                if not c.expect_disconnect:
                    raise ProvisionerError(
                        f"the connection was lost while {label} ran; if the script reboots the machine, "
                        "set \"expect_disconnect\": true")
                ctx.ui.message("Remote end disconnected, as expected")
            elif status not in exit_codes(c.valid_exit_codes):
                raise ProvisionerError(f"{label} exited with status {status}; valid exit codes: "
                                       f"{', '.join(map(str, exit_codes(c.valid_exit_codes)))}")
            if not c.skip_clean:
                self._clean(ctx, remote, c)

    def _clean(self, ctx: BuildContext, remote: str, c: ShellConfig) -> None:
        relay = ctx.communicator
        assert relay is not None

        def remove() -> int:
            return relay.execute(f"rm -f {shlex.quote(remote)}", timeout=ctx.remaining())

        status = retry_until(c.start_retry_timeout, ctx.cancelled, f"removing {remote}", remove,
                             lambda exc: ctx.ui.message(f"Retrying cleanup after: {exc}"))
        if status not in (0, DISCONNECTED):
            ctx.ui.error(f"could not remove {remote} (exit status {status})")

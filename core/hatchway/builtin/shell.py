"""The ``shell`` provisioner: upload scripts and run them on the machine (Packer's keys and defaults)."""
from __future__ import annotations

import io
import os
import shlex
from typing import Dict, List, Optional

import attrs

from ..communicator import DISCONNECTED
from ..components import Provisioner
from ..config import option
from ..context import BuildContext
from ..durations import Duration
from ..errors import BuildCancelled, ProvisionerError
from ..retry import retry_until
from .scripts import env_problems, one_source, parse_env, runs_the_script, script_sources, shell_vars

@attrs.define(kw_only=True)
class ShellConfig:
    inline: Optional[List[str]] = option(None, help="Commands to run, one per line, as one script.")
    script: str = option("", path=True, help="A local script to upload and run.")
    scripts: Optional[List[str]] = option(None, help="Local scripts to upload and run in order.")
    environment_vars: List[str] = option(factory=list, help="KEY=value pairs set for the scripts.")
    env: Dict[str, str] = option(factory=dict, help="Environment variables as a map (added after environment_vars).")
    execute_command: str = option("chmod +x {{.Path}}; {{.Vars}} {{.Path}}",
                                  help="How each script is run; {{.Path}} and {{.Vars}} are filled in.")
    inline_shebang: str = option("/bin/sh -e", help="The interpreter of inline commands.")
    remote_folder: str = option("/tmp", help="Where scripts are uploaded.")
    remote_file: str = option("", help="The uploaded script's name (default: script_<random>.sh).")
    remote_path: str = option("", help="Full remote path of the script (overrides remote_folder/remote_file).")
    expect_disconnect: bool = option(False, help="A lost connection while a script runs is not an error.")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")
    skip_clean: bool = option(False, help="Leave the uploaded scripts on the machine.")
    start_retry_timeout: Duration = option(Duration("5m"), help="Retry uploading and starting a script this long.")
    pause_after: Duration = option(Duration(0), help="Wait this long after the scripts ran.")
    binary: bool = option(False, help="Upload scripts as they are (no line-ending conversion). Accepted for Packer compatibility.")

    def check(self):
        yield from one_source(self)
        yield from env_problems(self.environment_vars)
        yield from runs_the_script(self.execute_command, "chmod +x {{.Path}}; {{.Vars}} {{.Path}}")


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
        for label, body in script_sources(c.inline, c.script, c.scripts, c.inline_shebang, ctx.template_dir):
            remote = c.remote_path or f"{c.remote_folder.rstrip('/')}/{c.remote_file or f'script_{os.urandom(3).hex()}.sh'}"
            ctx.ui.say(f"Provisioning with shell script: {label}")
            # quoted for the shell: a remote_folder with spaces, $(...) or ; is a name, not a command
            command = ctx.render(c.execute_command, {"Path": shlex.quote(remote), "Vars": shell_vars(env)})
            stdout, stderr, flush = ctx.ui.output_streams()

            def start() -> int:
                relay.upload(io.BytesIO(body), remote, mode=0o755)
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
            elif status not in c.valid_exit_codes:
                raise ProvisionerError(f"{label} exited with status {status}; valid exit codes: "
                                       f"{', '.join(map(str, c.valid_exit_codes))}")
            if not c.skip_clean:
                self._clean(ctx, remote, c)
        if c.pause_after > 0:
            ctx.ui.say(f"Pausing {c.pause_after} after this provisioner...")
            if ctx.cancelled.wait(c.pause_after):
                raise BuildCancelled("cancelled")

    def _clean(self, ctx: BuildContext, remote: str, c: ShellConfig) -> None:
        relay = ctx.communicator
        assert relay is not None

        def remove() -> int:
            return relay.execute(f"rm -f {shlex.quote(remote)}", timeout=ctx.remaining())

        status = retry_until(c.start_retry_timeout, ctx.cancelled, f"removing {remote}", remove,
                             lambda exc: ctx.ui.message(f"Retrying cleanup after: {exc}"))
        if status not in (0, DISCONNECTED):
            ctx.ui.error(f"could not remove {remote} (exit status {status})")

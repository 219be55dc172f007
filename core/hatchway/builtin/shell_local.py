"""The ``shell-local`` provisioner: run commands on this machine during a build."""
from __future__ import annotations

import os
import tempfile
from typing import ClassVar, Dict, List, Optional, Tuple

import attrs

from ..components import Provisioner
from ..config import option
from ..context import BuildContext
from ..errors import ProvisionerError
from ..process import run_process
from .scripts import env_problems, one_source, parse_env, script_sources, shell_vars


@attrs.define(kw_only=True)
class ShellLocalConfig:
    #: The data fields each template key gets (validation rejects others, e.g. {{.Nope}}).
    template_fields: ClassVar[Dict[str, Tuple[str, ...]]] = {"execute_command": ("Vars", "Script", "Path", "Command")}

    command: str = option("", help="One command (Packer's older spelling of inline).")
    inline: Optional[List[str]] = option(None, help="Commands to run, as one script.")
    script: str = option("", path=True, help="A local script to run.")
    scripts: Optional[List[str]] = option(None, help="Local scripts to run in order.")
    environment_vars: List[str] = option(factory=list, help="KEY=value pairs set for the commands.")
    env: Dict[str, str] = option(factory=dict, help="Environment variables as a map.")
    execute_command: List[str] = option(factory=lambda: ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"],
                                        help="argv that runs each script; {{.Script}} and {{.Vars}} are filled in.")
    inline_shebang: str = option("/bin/sh -e", help="The interpreter of inline commands.")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")

    def check(self):
        yield from one_source(self, ("command", "inline", "script", "scripts"))
        yield from env_problems(self.environment_vars)


class ShellLocalProvisioner(Provisioner):
    """Runs scripts locally; needs no communicator."""

    name = "shell-local"
    Config = ShellLocalConfig
    needs_communicator = False

    def provision(self, ctx: BuildContext) -> None:
        c: ShellLocalConfig = self.config
        env = {"PACKER_BUILD_NAME": ctx.build_name, "PACKER_BUILDER_TYPE": ctx.build_type}
        env.update(parse_env(c.environment_vars, c.env))
        inline = [c.command] if c.command else c.inline
        for label, body in script_sources(inline, c.script, c.scripts, c.inline_shebang, ctx.template_dir):
            ctx.ui.say(f"Running local shell script: {label}")
            with tempfile.NamedTemporaryFile("wb", prefix="hatchway-shell-local-", suffix=".sh", delete=False) as f:
                f.write(body)
            try:
                os.chmod(f.name, 0o700)
                data = {"Vars": shell_vars(env), "Script": f.name, "Path": f.name, "Command": " ".join(inline or [])}
                argv = [ctx.render(arg, data) for arg in c.execute_command]
                stdout, stderr, flush = ctx.ui.output_streams()
                status = run_process(argv, stdout, stderr, timeout=ctx.remaining(),
                                     env={**os.environ, **env})
                flush()
            finally:
                os.unlink(f.name)
            if status not in c.valid_exit_codes:
                raise ProvisionerError(f"local {label} exited with status {status}; valid exit codes: "
                                       f"{', '.join(map(str, c.valid_exit_codes))}")

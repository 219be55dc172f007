"""``shell-local``, the provisioner and the post-processor: run commands on this machine during a build."""
from __future__ import annotations

import os
import sys
import tempfile
from typing import ClassVar, Dict, List, Optional, Tuple

import attrs

from ..components import Artifact, PostProcessor, Provisioner
from ..config import option
from ..context import BuildContext
from ..errors import ProvisionerError
from ..process import run_process
from .scripts import env_problems, exit_codes, flatten_env, one_source, parse_env, script_sources


#: The operating systems Packer's ``only_on`` accepts (Go's GOOS names), from the SDK's shell-local/config.go.
OPERATING_SYSTEMS = ("darwin", "freebsd", "linux", "openbsd", "solaris", "windows")


def this_os() -> str:
    """This machine as Go's ``runtime.GOOS`` names it."""
    name = sys.platform
    for prefix, goos in (("linux", "linux"), ("darwin", "darwin"), ("freebsd", "freebsd"), ("openbsd", "openbsd"),
                         ("sunos", "solaris"), ("win", "windows"), ("cygwin", "windows")):
        if name.startswith(prefix):
            return goos
    return name


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
    env_var_format: str = option("%s='%s' ", zero_is_default=True,
                                 help="Go format of one variable in {{.Vars}} (key, then value with ' escaped).")
    execute_command: List[str] = option(factory=lambda: ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"],
                                        zero_is_default=True,
                                        help="argv that runs each script; {{.Script}} and {{.Vars}} are filled in.")
    inline_shebang: str = option("/bin/sh -e", zero_is_default=True, help="The interpreter of inline commands.")
    valid_exit_codes: List[int] = option(factory=lambda: [0], help="Exit codes that count as success.")
    only_on: List[str] = option(factory=list, help="Run only on these operating systems (linux, darwin, "
                                                   "freebsd, openbsd, solaris, windows); elsewhere skip.")
    tempfile_extension: str = option("", help="Extension of the temporary file inline commands are written to.")
    use_linux_pathing: bool = option(False, help="Windows Subsystem for Linux paths; no effect on a POSIX "
                                                 "machine (accepted for Packer compatibility).")

    def check(self):
        yield from one_source(self, ("command", "inline", "script", "scripts"))
        yield from env_problems(self.environment_vars)
        for i, name in enumerate(self.only_on):
            if name not in OPERATING_SYSTEMS:
                yield (f"only_on[{i}]", f"{name!r} is not an operating system Packer knows",
                       f"use one of {', '.join(OPERATING_SYSTEMS)}")


class ShellLocalProvisioner(Provisioner):
    """Runs scripts locally; needs no communicator."""

    name = "shell-local"
    Config = ShellLocalConfig
    needs_communicator = False

    def provision(self, ctx: BuildContext) -> None:
        run_locally(self.config, ctx)


def run_locally(c: ShellLocalConfig, ctx: BuildContext) -> None:
    """Run the commands or scripts of ``c`` on this machine; raise :class:`ProvisionerError` on a bad exit."""
    if c.only_on and this_os() not in c.only_on:
        ctx.ui.say("Skipping shell-local due to runtime OS")
        return
    env = {"PACKER_BUILD_NAME": ctx.build_name, "PACKER_BUILDER_TYPE": ctx.build_type}
    env.update(parse_env(c.environment_vars, c.env))
    flattened = flatten_env(env, c.env_var_format)
    inline = [c.command] if c.command else c.inline
    for label, body in script_sources(inline, c.script, c.scripts, c.inline_shebang, ctx.template_dir):
        ctx.ui.say(f"Running local shell script: {label}")
        if inline:  # Packer renames only the inline file to <name>.<tempfile_extension>
            suffix = "." + c.tempfile_extension.lstrip(".") if c.tempfile_extension else ".sh"
        else:
            suffix = os.path.splitext(label)[1]
        with tempfile.NamedTemporaryFile("wb", prefix="hatchway-shell-local-", suffix=suffix, delete=False) as f:
            f.write(body)
        try:
            os.chmod(f.name, 0o700)
            # Packer's createInterpolatedCommands: Script and Command are both the script's path
            data = {"Vars": flattened, "Script": f.name, "Path": f.name, "Command": f.name}
            argv = [ctx.render(arg, data) for arg in c.execute_command]
            stdout, stderr, flush = ctx.ui.output_streams()
            status = run_process(argv, stdout, stderr, timeout=ctx.remaining(),
                                 env={**os.environ, **env})
            flush()
        finally:
            os.unlink(f.name)
        if status not in exit_codes(c.valid_exit_codes):
            raise ProvisionerError(f"local {label} exited with status {status}; valid exit codes: "
                                   f"{', '.join(map(str, exit_codes(c.valid_exit_codes)))}")


class ShellLocalPostProcessor(PostProcessor):
    """Packer's ``shell-local`` post-processor: the same keys, run on this machine; the artifact passes on."""

    name = "shell-local"
    Config = ShellLocalConfig

    def process(self, ctx: BuildContext, artifact: Artifact) -> Artifact:
        run_locally(self.config, ctx)
        return artifact

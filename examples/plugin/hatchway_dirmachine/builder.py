"""The ``dirmachine`` builder: makes a throw-away directory machine, and removes it again.

``run`` creates the machine (see :mod:`hatchway_dirmachine.machine`) and
hands its directory to the communicator in a :class:`hatchway.Target`.
After provisioning, ``artifact`` moves the finished tree to
``output_directory`` when one is set. ``cleanup`` removes whatever is left
of the machine; it is always called, also after a failure half-way, so
it only relies on ``self.root``, which is set before anything is made.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import attrs

import hatchway
from hatchway import HatchwayError, option

from . import machine

__all__ = ["DirMachineBuilder", "DirMachineConfig"]

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@attrs.define(kw_only=True)
class DirMachineConfig:
    """Template keys of the builder; ``hatchway validate`` checks them before anything runs."""

    hostname: str = option("dirmachine", help="Written to the machine's /etc/hostname.")
    busybox: str = option("", path=True, help=(
        "A statically linked busybox, installed as the machine's shell and tools "
        "(default: busybox on PATH; apt-get install busybox-static)."))
    parent_directory: str = option("", path=True, help=(
        "Where the machine's throw-away directory is made (default: the system's temporary directory)."))
    output_directory: str = option("", path=True, help=(
        "Keep the finished machine here: the artifact. Empty: the machine is thrown away after the build. "
        "It must not exist yet, unless hatchway build -force is given."))

    def check(self):
        """Rules the types alone cannot express: each problem is (key, message, hint)."""
        if not _HOSTNAME.match(self.hostname):
            yield ("hostname", f"{self.hostname!r} is not a valid host name", "use letters, digits and '-'")
        if self.busybox and not os.path.isfile(self.busybox):
            yield ("busybox", f"{self.busybox!r} does not exist", "apt-get install busybox-static, or fix the path")
        if not self.busybox and shutil.which("busybox") is None:
            yield ("busybox", "no busybox on PATH", "apt-get install busybox-static, or set busybox to its path")
        if self.parent_directory and not os.path.isdir(self.parent_directory):
            yield ("parent_directory", f"{self.parent_directory!r} is not a directory",
                   "create it, or leave parent_directory out to use the temporary directory")


class DirMachineBuilder(hatchway.Builder):
    """A machine that is a directory: made in seconds, needs no server, gone after the build."""

    name = "dirmachine"
    Config = DirMachineConfig
    #: The communicator used when the template names none: the one this plugin brings.
    default_communicator = "dirmachine"

    def __init__(self, config: DirMachineConfig) -> None:
        super().__init__(config)
        self.root: Optional[Path] = None  # set before the machine is made: cleanup relies on it

    def run(self, ctx: hatchway.BuildContext) -> hatchway.Target:
        c: DirMachineConfig = self.config
        machine.check_privileges("the dirmachine builder")
        if c.output_directory and os.path.lexists(c.output_directory):
            if not ctx.force:
                raise HatchwayError(f"output_directory {c.output_directory!r} already exists: remove it, "
                                    "or run hatchway build -force to replace it")
            if not machine.is_machine(Path(c.output_directory)):  # -force replaces machines, nothing else
                raise HatchwayError(f"output_directory {c.output_directory!r} exists and is not a directory "
                                    "machine; -force only replaces machines: remove it yourself")
            ctx.ui.say(f"Removing the previous output directory {c.output_directory} (-force)")
            machine.remove_machine(Path(c.output_directory))
        busybox = machine.find_busybox(c.busybox)
        self.root = Path(tempfile.mkdtemp(prefix="hatchway-dirmachine-", dir=c.parent_directory or None))
        ctx.ui.say(f"Creating the machine in {self.root} ...")
        machine.make_machine(self.root, busybox, c.hostname)
        ctx.state["dirmachine_root"] = str(self.root)  # for later steps of this build, if they want it
        return hatchway.Target(host=None, data={"root": str(self.root)})

    def artifact(self, ctx: hatchway.BuildContext) -> Optional[hatchway.Artifact]:
        c: DirMachineConfig = self.config
        if not c.output_directory or self.root is None:
            return None
        output = Path(c.output_directory)
        ctx.ui.say(f"Keeping the machine in {output}")
        machine.remove_device_nodes(self.root)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.root), str(output))
        return hatchway.Artifact(builder=self.name, id=str(output), files=[str(output)],
                                 description=f"a directory machine in {output}")

    def cleanup(self, ctx: hatchway.BuildContext) -> None:
        if self.root is not None and os.path.lexists(self.root):
            ctx.ui.say(f"Removing the machine {self.root} ...")
            machine.remove_machine(self.root)

    def describe(self) -> str:
        return f"the directory machine at {self.root}" if self.root else ""

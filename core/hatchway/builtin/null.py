"""The ``null`` builder: the machine already exists; just connect to it (Packer's null builder)."""
from __future__ import annotations

from ..communicator import Target
from ..components import Builder
from ..context import BuildContext


class NullBuilder(Builder):
    """Makes nothing and removes nothing; the communicator keys say where the machine is."""

    name = "null"

    def run(self, ctx: BuildContext) -> Target:
        return Target()

    def describe(self) -> str:
        return "the existing machine named in the communicator keys (the null builder changes nothing)"

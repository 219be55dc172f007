"""The ``null`` builder: the machine already exists; just connect to it (Packer's null builder)."""
from __future__ import annotations

from typing import Any, Dict

import attrs

from ..communicator import Target
from ..components import Builder
from ..config import option
from ..context import BuildContext


class NullBuilder(Builder):
    """Makes nothing and removes nothing; the communicator keys say where the machine is."""

    name = "null"

    def run(self, ctx: BuildContext) -> Target:
        return Target()

    def describe(self) -> str:
        return "the existing machine named in the communicator keys (the null builder changes nothing)"


@attrs.define(kw_only=True)
class NullDataSourceConfig:
    input: str = option(required=True, help="Any string; returned unchanged as the data source's output.")


class NullDataSource:
    """Packer's ``null`` data source: ``data "null" "x" { input = "..." }`` gives ``data.null.x.output``."""

    name = "null"
    Config = NullDataSourceConfig

    def __init__(self, config: NullDataSourceConfig) -> None:
        self.config = config

    def execute(self) -> Dict[str, Any]:
        return {"output": self.config.input}

"""Data sources from plugins (register_data_sources), as HCL2 templates read them."""
from __future__ import annotations

import types

import attrs
import pytest

from hatchway import hookimpl, option
from hatchway.plugins import Plugins
from hatchway.template import hcl
from hatchway.template.hcl.diagnostics import DiagnosticsError

from .conftest import write


def inventory_plugin() -> types.ModuleType:
    @attrs.define(kw_only=True)
    class InventoryConfig:
        group: str = option(required=True, help="The host group to read.")

    class Inventory:
        name = "inventory"
        Config = InventoryConfig

        def __init__(self, config: InventoryConfig) -> None:
            self.config = config

        def execute(self) -> dict:
            if self.config.group != "web":
                raise LookupError(f"no group {self.config.group!r} in the inventory")
            return {"hosts": ["10.0.0.1", "10.0.0.2"], "group": self.config.group}

    module = types.ModuleType("fake_inventory")

    @hookimpl
    def register_data_sources(register):
        register(Inventory)

    module.register_data_sources = register_data_sources
    return module


@pytest.fixture
def with_inventory():
    import hatchway_none

    return Plugins().load(entry_points=False, extra=[("none", hatchway_none), ("inventory", inventory_plugin())])


def test_hook_register_data_sources(tmp_path, with_inventory):
    write(tmp_path, "t.pkr.hcl", '''
        data "inventory" "web" {
          group = "web"
        }
        locals {
          first = data.inventory.web.hosts[0]
          count = length(data.inventory.web.hosts)
        }
        source "null" "x" {
          communicator = "none"
        }
        build {
          sources = ["source.null.x"]
        }
    ''')
    loaded = hcl.load(tmp_path, with_inventory, env={})
    assert loaded.locals == {"first": "10.0.0.1", "count": 2}
    assert "data-source" in with_inventory.registry and "inventory" in with_inventory.names("data-source")


def test_a_data_source_failing_or_misconfigured_is_reported_at_its_block(tmp_path, with_inventory):
    write(tmp_path, "t.pkr.hcl", '''
        data "inventory" "db" {
          group = "db"
        }
        data "inventory" "bad" {
          grop = "web"
        }
    ''')
    with pytest.raises(DiagnosticsError) as info:
        hcl.load(tmp_path, with_inventory, env={})
    diags = {d.summary: d for d in info.value.diagnostics if d.is_error}
    assert diags["Data source failed"].detail == 'The data source "inventory" "db" failed: no group \'db\' in the inventory.'
    assert 'An argument named "grop" is not expected here. Did you mean "group"?' in diags["Unsupported argument"].detail
    assert diags["Unsupported argument"].subject.start.line == 5

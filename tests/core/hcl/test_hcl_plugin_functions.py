"""Plugins' template functions (register_template_functions) are callable from HCL2 as from JSON."""
from __future__ import annotations

import types

import pytest

from hatchway import hookimpl
from hatchway.plugins import Plugins
from hatchway.template import hcl
from hatchway.template.hcl.diagnostics import DiagnosticsError

from .conftest import write


def vault_plugin() -> types.ModuleType:
    module = types.ModuleType("fake_vault")

    def vault(path: str, key: str) -> str:
        if path != "secret/app":
            raise ValueError(f"no secret at {path}")
        return f"{key}-from-vault"

    @hookimpl
    def register_template_functions(register):
        register("vault", vault)

    module.register_template_functions = register_template_functions
    return module


def test_a_plugin_function_is_called_with_strings(tmp_path):
    import hatchway_none

    plugins = Plugins().load(entry_points=False, extra=[("none", hatchway_none), ("fake_vault", vault_plugin())])
    write(tmp_path, "t.pkr.hcl", '''
        locals {
          password = vault("secret/app", "password")
        }
        source "null" "x" {
          communicator = "none"
        }
        build {
          sources = ["source.null.x"]
        }
    ''')
    loaded = hcl.load(tmp_path, plugins, env={})
    assert loaded.locals["password"] == "password-from-vault"
    write(tmp_path, "t.pkr.hcl", 'locals {\n  p = vault("secret/nope", "x")\n}\n')
    with pytest.raises(DiagnosticsError) as info:
        hcl.load(tmp_path, plugins, env={})
    (diag, *_) = info.value.diagnostics
    assert diag.summary == "Error in function call"
    assert diag.detail == 'Call to function "vault" failed: no secret at secret/nope.'

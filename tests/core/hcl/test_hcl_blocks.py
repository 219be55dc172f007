"""HCL2 blocks onto the template model: variables and their sources, locals, data, sources, builds, meta-arguments."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatchway import redact
from hatchway.template import hcl
from hatchway.template.hcl.diagnostics import DiagnosticsError

from .conftest import summaries, write

SOURCE = '''
source "null" "a" {
  communicator = "none"
}
source "null" "b" {
  communicator = "none"
}
'''


def load(tmp_path: Path, text: str, plugins=None, name: str = "t.pkr.hcl", **kw):
    write(tmp_path, name, text)
    return hcl.load(tmp_path / name if name.endswith((".hcl", ".json")) else tmp_path, plugins, env={}, **kw)


def fails(tmp_path: Path, text: str, plugins=None, **kw) -> DiagnosticsError:
    with pytest.raises(DiagnosticsError) as info:
        loaded = load(tmp_path, text, plugins, keep_errors=True, **kw)
        hcl.prepare(loaded, plugins)
    return info.value


def test_variables_types_defaults_and_value_precedence(tmp_path, plugins):
    write(tmp_path, "x.auto.pkrvars.hcl", 'from_auto = "auto"\nfrom_file = "auto"\nundeclared = 1\n')
    write(tmp_path, "y.pkrvars.hcl", 'from_file = "file"\nfrom_cli = "file"\n')
    write(tmp_path, "z.pkrvars.json", json.dumps({"from_json": ["j"]}))
    write(tmp_path, "t.pkr.hcl", SOURCE + '''
variable "plain" { default = "d" }
variable "from_env" { type = number }
variable "from_auto" { default = "d" }
variable "from_file" { default = "d" }
variable "from_json" { type = list(string) }
variable "from_cli" { default = "d" }
variable "typed_cli" { type = list(number) }
variable "obj" {
  type    = object({ name = string, size = optional(number, 10) })
  default = { name = "n" }
}
build { sources = ["source.null.a"] }
''')
    loaded = hcl.load(tmp_path, plugins, env={"PKR_VAR_from_env": "42", "PKR_VAR_from_auto": "env", "PKR_VAR_x": "1"},
                      var_files=[str(tmp_path / "y.pkrvars.hcl"), str(tmp_path / "z.pkrvars.json")],
                      cli_vars=["from_cli=cli", "typed_cli=[1, 2]"])
    values = {n: v.value for n, v in loaded.variables.items()}
    assert values == {"plain": "d", "from_env": 42, "from_auto": "auto", "from_file": "file", "from_json": ["j"],
                      "from_cli": "cli", "typed_cli": [1, 2], "obj": {"name": "n", "size": 10}}


def test_undeclared_cli_var_and_unset_and_bad_values_all_reported(tmp_path, plugins):
    exc = fails(tmp_path, SOURCE + '''
variable "need" { type = string }
variable "n" { type = number }
build { sources = ["source.null.a"] }
''', plugins, cli_vars=["nope=1", "n=abc"])
    assert summaries(exc) == ["Undefined -var variable", "Invalid value for variable", 'Unset variable "need"']


def test_default_rules_env_only_and_no_variables(tmp_path, plugins):
    exc = fails(tmp_path, SOURCE + '''
variable "a" { default = "${var.b}" }
variable "b" { default = upper("x") }
variable "c" { default = env("HOME") }
build { sources = ["source.null.a"] }
''', plugins)
    assert summaries(exc) == ["Variables not allowed", "Function calls not allowed"]


def test_validation_blocks(tmp_path, plugins):
    text = SOURCE + '''
variable "size" {
  type = number
  default = 5
  validation {
    condition     = var.size > 10
    error_message = "The size must be over 10."
  }
}
variable "bad" {
  default = "x"
  validation {
    condition     = length(var.bad) > 0
    error_message = "lowercase and no period"
  }
}
build { sources = ["source.null.a"] }
'''
    exc = fails(tmp_path, text, plugins)
    assert summaries(exc) == ["Invalid validation error message", "Invalid value for variable"]
    assert "The size must be over 10." in str(exc)


def test_locals_in_dependency_order_cycles_and_sensitive(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
locals {
  c = "${local.b}-c"
  b = upper(local.a)
  a = "a"
}
local "secret" {
  expression = "hunter2-${local.a}"
  sensitive  = true
}
build { sources = ["source.null.a"] }
''', plugins)
    assert loaded.locals["c"] == "A-c"
    assert redact.redact("pw hunter2-a") == "pw <sensitive>"
    exc = fails(tmp_path, SOURCE + "locals {\n  x = local.y\n  y = local.x\n}\nbuild { sources = [\"source.null.a\"] }\n",
                plugins)
    assert "Cycle in locals and data sources" in summaries(exc)


def test_null_data_source_and_missing_data_source_names_the_plugin(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
data "null" "d" { input = "from-data" }
locals { v = data.null.d.output }
build { sources = ["source.null.a"] }
''', plugins)
    assert loaded.locals["v"] == "from-data"
    exc = fails(tmp_path, SOURCE + 'data "amazon-ami" "x" {}\nbuild { sources = ["source.null.a"] }\n', plugins)
    assert summaries(exc) == ["Unknown data source type"]
    assert "pip install hatchway-amazon-ami" in str(exc)


def test_runs_sources_aliases_and_added_arguments(tmp_path, plugins):
    loaded = load(tmp_path, '''
source "null" "a" { communicator = "none" }
build {
  name    = "web"
  sources = ["source.null.a"]
  source "null.a" {
    name = "renamed"
  }
}
build {
  sources = ["null.a"]
}
''', plugins)
    assert [b.name for b in loaded.template.builders] == ["web.null.a", "web.null.renamed", "null.a"]
    plan = hcl.prepare(loaded, plugins, only=["web.*"])
    assert [b.name for b in plan.builds] == ["web.null.a", "web.null.renamed"]


def test_provisioners_meta_arguments_per_run(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
build {
  sources = ["source.null.a", "source.null.b"]
  provisioner "shell-local" {
    inline       = ["echo ${source.name} ${build.name}"]
    only         = ["null.a"]
    pause_before = "1s"
    max_retries  = 2
    timeout      = "5m"
  }
  provisioner "shell-local" {
    inline   = ["default"]
    override = {
      b = { inline = ["for b"] }
    }
    except = ["null.a"]
  }
}
''', plugins)
    provs = loaded.template.provisioners
    assert [(p.only, p.options["inline"]) for p in provs] == [(["null.a"], ["echo a "]), (["null.b"], ["for b"])]
    assert (provs[0].pause_before, provs[0].max_retries, provs[0].timeout) == ("1s", 2, "5m")
    hcl.prepare(loaded, plugins)


def test_post_processor_chains_keep_file_order(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
build {
  sources = ["source.null.a"]
  post-processor "p1" {}
  post-processors {
    post-processor "p2" { keep_input_artifact = true }
    post-processor "p3" { name = "third" }
  }
  post-processor "p4" {}
}
''', plugins)
    chains = [[pp.type for pp in chain] for chain in loaded.template.post_processors]
    assert chains == [["p1"], ["p2", "p3"], ["p4"]]
    assert loaded.template.post_processors[1][0].keep_input_artifact is True
    assert list(loaded.post_processor_names.values()) == ["third"]


def test_dynamic_blocks_nested_and_with_iterators(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
locals {
  steps = { first = ["a", "b"], second = ["c"] }
}
build {
  sources = ["source.null.a"]
  dynamic "provisioner" {
    for_each = local.steps
    iterator = step
    labels   = ["shell-local"]
    content {
      inline = [for cmd in step.value : "${step.key}: ${cmd}"]
      dynamic "env_block" {
        for_each = step.value
        content {
          name = env_block.value
        }
      }
    }
  }
}
''', plugins)
    provs = loaded.template.provisioners
    assert [p.options["inline"] for p in provs] == [["first: a", "first: b"], ["second: c"]]
    assert provs[0].options["env_block"] == [{"name": "a"}, {"name": "b"}]


def test_required_version_and_required_plugins(tmp_path, plugins):
    exc = fails(tmp_path, SOURCE + '''
packer {
  required_version = ">= 2.0.0"
  required_plugins {
    docker = { version = ">= 1.0.0", source = "github.com/hashicorp/docker" }
  }
}
build { sources = ["source.null.a"] }
''', plugins)
    assert summaries(exc) == ["Unsupported Packer Core version", "Missing plugin"]
    assert "pip install hatchway-docker" in str(exc)
    load(tmp_path, SOURCE + 'packer {\n  required_version = "~> 1.9"\n}\nbuild { sources = ["source.null.a"] }\n',
         plugins)


def test_unknown_arguments_blocks_and_sources_with_did_you_mean(tmp_path, plugins):
    exc = fails(tmp_path, '''
sorce "null" "a" {}
source "null" "a" {
  communicator = "none"
  comunicator  = "none"
}
build {
  sources = ["source.null.b"]
  provisoner "shell" {}
}
build {
  sources = ["source.null.a"]
  provisioner "shell-local" {
    inlin = ["x"]
  }
}
''', plugins)
    text = str(exc)
    assert summaries(exc) == ["Unsupported block type", "Unsupported block type", "Unknown source",
                              "Unsupported argument", "Unsupported argument"]
    assert 'Did you mean "source"?' in text
    assert 'Did you mean "provisioner"?' in text
    assert 'Did you mean "inline"?' in text
    assert 'Did you mean "communicator"?' in text
    assert "t.pkr.hcl line 13, in build:" in text


def test_sensitive_variable_values_are_masked(tmp_path, plugins):
    load(tmp_path, SOURCE + '''
variable "password" {
  default   = "s3cr3t-value"
  sensitive = true
}
build { sources = ["source.null.a"] }
''', plugins)
    assert redact.redact("password is s3cr3t-value") == "password is <sensitive>"


def test_directory_reads_hcl_then_json_files_in_name_order(tmp_path, plugins):
    write(tmp_path, "b.pkr.hcl", 'variable "x" { default = "from-b" }\n')
    write(tmp_path, "a.pkr.hcl", SOURCE)
    write(tmp_path, "c.pkr.json", json.dumps({"build": {"sources": ["source.null.a"],
                                                        "provisioner": {"shell-local": {"inline": ["${var.x}"]}}}}))
    write(tmp_path, "ignored.json", "{}")
    loaded = hcl.load(tmp_path, plugins, env={})
    assert [p.name for p in loaded.files] == ["a.pkr.hcl", "b.pkr.hcl", "c.pkr.json"]
    assert loaded.template.provisioners[0].options["inline"] == ["from-b"]


def test_contextual_values(tmp_path, plugins):
    loaded = load(tmp_path, SOURCE + '''
locals {
  root = path.root
  version = packer.version
}
build {
  name = "b"
  sources = ["source.null.a"]
  provisioner "shell-local" {
    inline = ["${source.type} ${source.name} ${build.name} ${build.Host}"]
  }
}
''', plugins)
    assert loaded.locals["root"] == str(tmp_path)
    assert loaded.locals["version"] == "1.16.0"
    assert loaded.template.provisioners[0].options["inline"] == ["null a b <unknown>"]


def test_config_class_problems_point_at_file_line_column(tmp_path, plugins):
    exc = fails(tmp_path, SOURCE + '''
build {
  sources = ["source.null.a"]
  provisioner "shell-local" {
    inline  = ["x"]
    timeout = "soon"
  }
}
''', plugins)
    (diag,) = exc.diagnostics
    assert diag.summary == "Invalid value"
    assert (diag.subject.start.line, diag.subject.start.column) == (12, 15)


def test_undeclared_values_in_var_files_warn_only_when_asked(tmp_path, plugins):
    write(tmp_path, "extra.pkrvars.hcl", 'nope = 1\n')
    write(tmp_path, "t.pkr.hcl", SOURCE + 'build { sources = ["source.null.a"] }\n')
    quiet = hcl.load(tmp_path / "t.pkr.hcl", plugins, env={}, var_files=[str(tmp_path / "extra.pkrvars.hcl")])
    assert quiet.warnings == []
    loud = hcl.load(tmp_path / "t.pkr.hcl", plugins, env={}, var_files=[str(tmp_path / "extra.pkrvars.hcl")],
                    warn_undeclared=True)
    assert [w.summary for w in loud.warnings] == ["Undefined variable"]


@pytest.mark.parametrize("constraint, ok", [
    (">= 1.7.0", True), ("< 1.16", False), ("~> 1.16", True), ("~> 1.9.0", False), ("~> 1.16.0", True),
    (">= 1.7, < 2.0", True), ("= 1.16.0", True), ("!= 1.16.0", False), ("> 1.16.0", False), ("1.16.0", True),
])
def test_required_version_constraints_as_go_version(constraint, ok):
    from hatchway.template.hcl.frontend import version_satisfies

    assert version_satisfies("1.16.0", constraint) is ok


def test_cli_except_also_names_post_processors(tmp_path):
    from hatchway.plugins import get_plugins

    plugins = get_plugins()
    loaded = load(tmp_path, SOURCE + '''
build {
  sources = ["source.null.a"]
  post-processor "docker-tag" {
    name       = "tagger"
    repository = "example/x"
  }
}
''', plugins)
    assert [len(b.post_processors) for b in hcl.prepare(loaded, plugins).builds] == [1]
    loaded = load(tmp_path, SOURCE + '''
build {
  sources = ["source.null.a"]
  post-processor "docker-tag" {
    name       = "tagger"
    repository = "example/x"
  }
}
''', plugins)
    plan = hcl.prepare(loaded, plugins, except_=["tag*"])
    assert [b.name for b in plan.builds] == ["null.a"]
    assert plan.builds[0].post_processors == []

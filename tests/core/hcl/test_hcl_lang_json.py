"""HCL's JSON syntax (*.pkr.json): the same blocks as native syntax, strings as templates, positions kept."""
from __future__ import annotations

import json

import pytest

from hatchway.template import hcl
from hatchway.template.hcl.diagnostics import DiagnosticsError
from hatchway.template.hcl.jsonsyntax import parse_json


def test_blocks_labels_arrays_and_templates():
    body, diags = parse_json(json.dumps({
        "variable": {"a": {"type": "list(string)", "default": ["x"]}, "b": {"default": 1}},
        "source": {"null": {"one": {"communicator": "none"}, "two": {"communicator": "none"}}},
        "build": [{"sources": ["source.null.one"],
                   "provisioner": [{"shell": {"inline": ["${var.b + 1}"]}}, {"file": {"content": "x"}}]},
                  {"sources": ["source.null.two"]}],
        "//": "a comment",
    }, indent=2), "t.pkr.json")
    assert diags == []
    kinds = [(b.type, b.labels) for b in body.blocks]
    assert kinds == [("variable", ["a"]), ("variable", ["b"]), ("source", ["null", "one"]),
                     ("source", ["null", "two"]), ("build", []), ("build", [])]
    build = body.blocks[4]
    assert [(b.type, b.labels) for b in build.body.blocks] == [("provisioner", ["shell"]), ("provisioner", ["file"])]
    attr = body.blocks[0].body.attributes["type"]
    assert attr.name_range.start.line == 4


def test_invalid_json_is_a_diagnostic_with_a_position():
    _, diags = parse_json('{\n  "variable": {\n    "a": [1,]\n  }\n}\n', "bad.pkr.json")
    (diag,) = diags
    assert diag.summary == "Invalid JSON"
    assert (diag.subject.start.line, diag.subject.start.column) == (3, 13)


def test_a_json_template_loads_like_a_native_one(tmp_path, plugins):
    path = tmp_path / "t.pkr.json"
    path.write_text(json.dumps({
        "variable": {"n": {"type": "number", "default": 2}},
        "locals": {"double": "${var.n * 2}", "label": "n=${var.n}"},
        "source": {"null": {"x": {"communicator": "none"}}},
        "build": {"sources": ["source.null.x"]},
    }))
    loaded = hcl.load(path, plugins, env={})
    assert loaded.locals == {"double": 4, "label": "n=2"}
    path.write_text(json.dumps({"variable": {"n": {"type": "numbr"}}}))
    with pytest.raises(DiagnosticsError) as info:
        hcl.load(path, plugins, env={})
    assert info.value.diagnostics[0].summary == "Invalid type specification"

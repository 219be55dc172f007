"""Expression evaluation with go-cty semantics: operators, conversions, templates, for, splats, can/try."""
from __future__ import annotations

import pytest

from hatchway.template.hcl import values as V
from hatchway.template.hcl.evaluate import EvalError

from .conftest import evaluate_text as ev

VARS = {
    "var": {"name": "web", "n": 3, "list": ["a", "b"], "objs": [{"id": 1, "tags": ["x"]}, {"id": 2, "tags": []}],
            "map": {"b": 2, "a": 1}, "nothing": None, "flag": True},
    "local": {"unknown": V.Unknown(V.STRING)},
}


def e(text):
    return ev(text, VARS)


def err(text):
    with pytest.raises(EvalError) as info:
        e(text)
    return info.value.diag


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 / 4", 2.5), ("10 / 5", 2), ("7 % 3", 1), ("-7 % 3", -1),
    ("-3 + 1", -2), ("2 - -2", 4), ('"5" + 1', 6), ("1.5 * 2", 3), ("0.1 + 0.2", 0.3),
    ("1 < 2", True), ("2 <= 2", True), ('"10" > 9', True),
    ("true && false", False), ("true || false", True), ("!true", False), ('"true" && true', True),
    ("1 == 1.0", True), ('1 == "1"', False), ("null == null", True), ('[1, "a"] == [1, "a"]', True),
    ("{a = 1} != {a = 2}", True), ("1 + 2 == 3 && 2 > 1 || false", True),
])
def test_operators_and_precedence(text, value):
    result = e(text)
    assert result == value and type(result) is type(value)


def test_conditionals_unify_their_result_types():
    assert e('true ? 1 : "x"') == "1"
    assert e("false ? 1 : 2") == 2
    assert e('var.flag ? var.list : ["z"]') == ["a", "b"]
    assert e("var.nothing != null ? var.nothing.x : \"d\"") == "d"  # the other branch's error is not raised
    assert err('true ? {a = 1} : ["x"]').summary == "Inconsistent conditional result types"
    assert err("null ? 1 : 2").summary == "Null condition"


def test_unknown_values_flow_through():
    assert e("local.unknown") == V.Unknown(V.STRING)
    assert isinstance(e('"${local.unknown}-x"'), V.Unknown)
    assert isinstance(e("local.unknown == \"a\""), V.Unknown)
    assert isinstance(e('local.unknown != "" ? 1 : 2'), V.Unknown)
    assert isinstance(e("upper(local.unknown)"), V.Unknown)


def test_templates_interpolation_directives_and_strip_markers():
    assert e('"${var.name}-${var.n}-${var.flag}"') == "web-3-true"
    assert e('"${var.n}"') == 3  # a lone interpolation keeps its type
    assert e('"%{ if var.flag }yes%{ else }no%{ endif }"') == "yes"
    assert e('"%{ for i, v in var.list }${i}=${v} %{ endfor }"') == "0=a 1=b "
    assert e('"[ ${~ var.name ~} ]"') == "[web]"
    assert e('"a %{~ if true ~} b %{~ endif ~} c"') == "abc"
    assert err('"x${var.nothing}"').summary == "Invalid template interpolation value"
    assert err('"x${var.list}"').summary == "Invalid template interpolation value"


def test_heredoc_templates_are_evaluated():
    from hatchway.template.hcl.evaluate import EvalContext, evaluate
    from hatchway.template.hcl.parser import parse

    body, _ = parse("a = <<-EOT\n  hello ${var.name}\n  %{ for v in var.list }- ${v}\n  %{ endfor ~}\n  EOT\n", "h.hcl")
    assert evaluate(body.attributes["a"].expr, EvalContext(dict(VARS))) == "hello web\n- a\n- b\n"


def test_for_expressions():
    assert e("[for v in var.list : upper(v)]") == ["A", "B"]
    assert e("[for i, v in var.list : i if v != \"a\"]") == [1]
    assert e("{for k, v in var.map : k => v * 10}") == {"a": 10, "b": 20}
    assert list(e("{for k, v in var.map : k => v}")) == ["a", "b"]  # maps iterate in key order
    assert e('{for v in ["a", "b", "a"] : v => v...}') == {"a": ["a", "a"], "b": ["b"]}
    assert err('{for v in ["a", "a"] : v => v}').summary == "Duplicate object key"
    assert err("[for v in var.nothing : v]").summary == "Iteration over null value"


def test_splats_indexing_and_attributes():
    assert e("var.objs[*].id") == [1, 2]
    assert e("var.objs.*.id") == [1, 2]
    assert err("var.objs[*].tags[0]").summary == "Invalid index"  # the second has no tags[0]
    assert e("var.nothing[*]") == []
    assert e("var.name[*]") == ["web"]
    assert e("var.list[1]") == "b"
    assert e('var.map["a"]') == 1
    assert e("var.map.b") == 2
    assert e("var.list.0") == "a"
    assert err("var.list[5]").summary == "Invalid index"
    assert err("var.nothing.x").summary == "Attempt to get attribute from null value"
    d = err("var.nam")
    assert d.summary == "Unsupported attribute" and 'Did you mean "name"?' in d.detail
    assert err("nope").summary == "Unknown variable"


def test_function_calls_expansion_can_and_try():
    assert e("max(1, 5, 3)") == 5
    assert e("max([1, 7]...)") == 7
    assert e("can(var.nothing.x)") is False
    assert e("can(var.name)") is True
    assert e('try(var.nothing.x, var.map.zz, "fallback")') == "fallback"
    assert err("try(var.nothing.x)").summary == 'No result for "try" call'
    d = err("uper(var.name)")
    assert d.summary == "Call to unknown function"
    assert 'Did you mean "upper"?' in d.detail
    d = err('env("HOME")')  # env is only for variable defaults, as in Packer
    assert d.summary == "Call to unknown function"
    assert err("upper(var.list)").summary == "Invalid function argument"


def test_object_keys_bare_names_are_strings_parenthesised_are_expressions():
    assert e("{name = 1, (var.name) = 2, \"q\" = 3}") == {"name": 1, "web": 2, "q": 3}


def test_diagnostic_ranges_point_at_the_failing_part():
    d = err("1 + var.name")
    assert d.summary == "Invalid operand"
    assert "a number is required" in d.detail
    assert d.subject.start.column == 5


def test_convert_takes_a_type_expression():
    assert e('convert(["a", 1], list(string))') == ["a", "1"]
    assert e('convert({a = "1"}, map(number))') == {"a": 1}
    assert err("convert(1, lisst(string))").summary == "Invalid type specification"

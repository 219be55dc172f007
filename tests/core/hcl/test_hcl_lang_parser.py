"""The HCL native-syntax parser: every construct, ranges, and HCL's wording for syntax errors."""
from __future__ import annotations

import pytest

from hatchway.template.hcl import ast
from hatchway.template.hcl.diagnostics import format_diagnostic
from hatchway.template.hcl.parser import parse, parse_expression


def one(text: str) -> ast.Body:
    body, diags = parse(text, "t.pkr.hcl")
    assert diags == [], [str(d) for d in diags]
    return body


def test_blocks_attributes_labels_and_order():
    body = one('''
# comment
// comment
/* block
   comment */
source "docker" "ubuntu" {
  image = "ubuntu:22.04"
  commit = true
}
build {
  sources = ["source.docker.ubuntu"]
  provisioner "shell" { inline = ["a"] }
  post-processor "docker-tag" {}
  post-processors {
    post-processor "a" {}
  }
}
''')
    assert [b.type for b in body.blocks] == ["source", "build"]
    src = body.blocks[0]
    assert src.labels == ["docker", "ubuntu"]
    assert list(src.body.attributes) == ["image", "commit"]
    assert src.body.attributes["image"].name_range.start.line == 7
    assert src.body.attributes["image"].name_range.start.column == 3
    build = body.blocks[1]
    assert [b.type for b in build.body.blocks] == ["provisioner", "post-processor", "post-processors"]


def test_identifiers_with_dashes_and_labels_as_identifiers():
    body = one("error-cleanup-provisioner shell-local {\n  a-b = 1\n}\n")
    assert body.blocks[0].labels == ["shell-local"]
    assert "a-b" in body.blocks[0].body.attributes


@pytest.mark.parametrize("text, cls", [
    ("1 + 2", ast.Binary), ("!a", ast.Unary), ("a ? b : c", ast.Conditional), ("f(1, 2)", ast.Call),
    ("[1, 2]", ast.TupleCons), ("{a = 1}", ast.ObjectCons), ("a.b", ast.GetAttr), ("a[0]", ast.Index),
    ("a[*].b", ast.Splat), ("a.*.b", ast.Splat), ("[for x in y : x]", ast.ForExpr),
    ("{for k, v in y : k => v...}", ast.ForExpr), ('"a${b}c"', ast.Template), ("(1)", ast.Paren),
    ("null", ast.Literal), ("a.0", ast.Index),
])
def test_expression_forms(text, cls):
    expr, diags = parse_expression(text)
    assert not diags
    assert isinstance(expr, cls)


def test_precedence_is_hcls():
    expr, _ = parse_expression("a || b && c == d < e + f * -g")
    assert expr.op == "||"
    assert expr.right.op == "&&"
    assert expr.right.right.op == "=="
    assert expr.right.right.right.op == "<"
    assert expr.right.right.right.right.op == "+"
    assert expr.right.right.right.right.right.op == "*"


def test_multiline_collections_and_calls_ignore_newlines():
    body = one('a = [\n  1,\n  2,\n]\nb = max(\n  1,\n  2\n)\nc = {\n  x = 1\n  y = 2\n}\n')
    assert list(body.attributes) == ["a", "b", "c"]


def test_heredocs_plain_and_indented():
    body = one("a = <<EOT\n  x ${y}\nEOT\nb = <<-EOT\n    one\n      two\n    EOT\n")
    a = body.attributes["a"].expr
    assert isinstance(a, ast.Template) and a.heredoc == "<<EOT"
    assert a.parts[0].text == "  x "
    b = body.attributes["b"].expr
    assert b.literal() == "one\n  two\n"


def test_escapes_and_literal_dollar_braces():
    body = one(r'a = "tab\t quote\" nl\n uni\u00e9 $${x} %%{y}"' + "\n")
    assert body.attributes["a"].expr.literal() == 'tab\t quote" nl\n unié ${x} %{y}'


def test_strip_markers_and_directives():
    body = one('a = "x  ${~ 1 ~}  y %{ if true }t%{ else }f%{ endif }%{ for v in [1] }${v}%{ endfor }"\n')
    parts = body.attributes["a"].expr.parts
    assert parts[0].text == "x"
    assert parts[2].text == "y "
    assert isinstance(parts[3], ast.TemplateIf)
    assert isinstance(parts[4], ast.TemplateFor)


def errors(text: str):
    _, diags = parse(text, "bad.pkr.hcl")
    return diags


def test_syntax_error_has_file_line_column_source_line_and_marker():
    (diag,) = errors('source "null" "x" {\n  a = [1 2]\n}\n')
    assert diag.summary == "Missing item separator"
    assert str(diag.subject) == "bad.pkr.hcl:2,10-11"
    text = format_diagnostic(diag)
    assert text.splitlines() == [
        "Error: Missing item separator",
        "",
        '  on bad.pkr.hcl line 2, in source "null" "x":',
        "  2:   a = [1 2]",
        "              ^",
        "",
        "Expected a comma to mark the beginning of the next item.",
    ]


@pytest.mark.parametrize("text, summary", [
    ("a = \n", "Invalid expression"),
    ('a = "open\n', "Unterminated template string"),
    ("a = 1 2\n", "Missing newline after argument"),
    ('x "y" z\n', "Invalid block definition"),
    ("b {\n a = 1\n", "Unclosed configuration block"),
    ("a = (1\n", "Missing close parenthesis"),
    ("= 1\n", "Argument or block definition required"),
    ('a = "\\q"\n', "Invalid escape sequence"),
    ('a = "%{ if true }x"\n', "Unterminated template directive"),
    ("a = 1\na = 2\n", "Attribute redefined"),
    ("a = <<EOT\nnever closed\n", "Unterminated template string"),
])
def test_syntax_errors_use_hcls_summaries(text, summary):
    assert summary in [d.summary for d in errors(text)]


def test_every_syntax_error_of_a_file_at_once():
    diags = errors("a = [1 2]\nb = \nc = 3\nd = (4\n")
    assert [d.subject.start.line for d in diags][:2] == [1, 2]
    assert [d.summary for d in diags] == ["Missing item separator", "Invalid expression", "Missing close parenthesis"]

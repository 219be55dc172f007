"""The Go text/template engine behind Packer's JSON templates.

Expected outcomes are Go's: the text/template package documentation
(https://pkg.go.dev/text/template: "Actions", "Arguments", "Pipelines",
"Variables", "Functions") and its sources text/template/parse/lex.go,
parse/parse.go, exec.go, funcs.go; printf is Go's fmt (https://pkg.go.dev/fmt).
Packer renders every JSON string with it (packer-plugin-sdk
template/interpolate/i.go: template.New("root").Funcs(...).Parse(v)).
"""
import pytest

from hatchway.template.gotemplate import UNKNOWN, TemplateError, gofunc, render
from hatchway.template.gotemplate.gofmt import sprint, sprintf, sprintln

FUNCS = {
    "user": gofunc(lambda k: {"a": "A", "n": "3"}[k], str),
    "upper": gofunc(str.upper, str),
    "twice": gofunc(lambda n: n * 2, int),
}
DATA = {"L": ["a", "b", "c"], "M": {"k": "v", "j": "w"}, "N": 2, "S": "hi", "E": [], "Z": 0, "T": True,
        "F": 1.5, "Nil": None}


def r(text, data=DATA):
    return render(text, FUNCS, data)


@pytest.mark.parametrize("text,expected", [
    # actions, comments and trimming (doc: "Text and spaces", "Comments")
    ("a {{- 1 -}} b", "a1b"),
    ("a {{- /* gone */ -}} b", "ab"),
    ("{{/* a comment */}}x", "x"),
    ("{{-3}}", "-3"),  # "{{-3}}" is the number -3, not a trim marker (lex.go: trim needs a space)
    ('{{"}}"}}', "}}"),  # "}}" inside a quoted argument does not end the action
    ("{{`raw }} {{ string`}}", "raw }} {{ string"),
    ("{{\"tab\\there\"}}", "tab\there"),
    # if / else if / else, with, range (doc: "Actions")
    ("{{if .T}}yes{{end}}", "yes"),
    ("{{if .Z}}yes{{else}}no{{end}}", "no"),
    ("{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}", "two"),
    ("{{with .M}}{{.k}}{{end}}", "v"),
    ("{{with .E}}x{{else}}empty{{end}}", "empty"),
    ("{{with $x := .S}}{{$x}}{{end}}", "hi"),
    ("{{range .L}}[{{.}}]{{end}}", "[a][b][c]"),
    ("{{range $i, $v := .L}}{{$i}}{{$v}}{{end}}", "0a1b2c"),
    ("{{range $k, $v := .M}}{{$k}}={{$v}} {{end}}", "j=w k=v "),  # maps in sorted key order
    ("{{range .E}}x{{else}}none{{end}}", "none"),
    ("{{range .Nil}}x{{else}}none{{end}}", "none"),
    ("{{range 3}}{{.}}{{end}}", "012"),  # Go 1.22: range over an integer
    ("{{range .L}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"),
    ("{{range .L}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"),
    # variables (doc: "Variables")
    ("{{$x := 1}}{{$x}}", "1"),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{$}}", "map[E:[] F:1.5 L:[a b c] M:map[j:w k:v] N:2 Nil:<nil> S:hi T:true Z:0]"),
    ("{{range .L}}{{$.S}}{{end}}", "hihihi"),
    # pipelines, parentheses, fields
    ("{{.S | upper}}", "HI"),
    ("{{user `a` | printf \"%s-%s\" \"x\"}}", "x-A"),
    ("{{(user `a`)}}{{ upper (user `a`) }}", "AA"),
    ("{{.M.k}}", "v"),
    ("{{(index .L 1) | upper}}", "B"),
    ("{{twice 21}}", "42"),
    ("{{.Nil}}", "<no value>"),
    # built-in functions (doc: "Functions"; funcs.go)
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}} {{not 0}}", "0 2 x  true"),
    ("{{and .Z (index .L 99)}}", "0"),  # and/or evaluate lazily (Go 1.18)
    ("{{len .L}} {{len .M}} {{len \"héllo\"}}", "3 2 6"),  # len of a string counts bytes
    ("{{index .L 2}} {{index .M \"k\"}} {{index .M \"nope\"}}", "c v <no value>"),
    ("{{slice \"abcdef\" 1 3}} {{slice .L 1}}", "bc [b c]"),
    ("{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 0.5}} {{ge \"b\" \"a\"}}",
     "true true true true true true true"),
    ("{{eq .Nil .Nil}}", "true"),
    ("{{print 1 2 \"a\" \"b\" 3}}", "1 2ab3"),
    ("{{println \"a\" 1}}", "a 1\n"),
    ("{{html \"<a href='x'>&\\\"\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
    ("{{js \"it's <b>\"}}", "it\\'s \\u003Cb\\u003E"),
    ("{{urlquery \"a b&c/d\"}}", "a+b%26c%2Fd"),
    ("{{printf \"%d-%s\" 5 \"x\"}}", "5-x"),
    # constants (doc: "Arguments": numbers are Go constants)
    ("{{1e3}} {{0x1F}} {{'a'}} {{1_000}} {{3.0}} {{-0.5}}", "1000 31 97 1000 3 -0.5"),
    # define / template / block
    ("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" \"x\"}}{{template \"T\" 1}}", "<x><1>"),
    ("{{block \"B\" .S}}[{{.}}]{{end}}", "[hi]"),
    # newlines inside actions are allowed (Go 1.16)
    ("{{if\n.T}}y{{end}}", "y"),
])
def test_go_semantics(text, expected):
    assert r(text) == expected


@pytest.mark.parametrize("text,message", [
    ("{{nope}}", '1:3: function "nope" not defined'),
    ("{{user `a`", "1:1: unclosed action"),
    ("{{/* x", "unclosed comment"),
    ("{{/* x */ 1}}", "comment ends before closing delimiter"),
    ("{{\"abc}}", "unterminated quoted string"),
    ("{{`abc}}", "unterminated raw quoted string"),
    ("{{(1}}", "unclosed left paren"),
    ("{{1)}}", "unexpected right paren"),
    ("{{end}}", "unexpected <end>"),
    ("{{if .T}}x", "unexpected EOF"),
    ("{{else}}", "unexpected <else>"),
    ("{{}}", "missing value for command"),
    ("{{$x}}", "undefined variable '$x'"),
    ("{{if true}}{{$y := 1}}{{end}}{{$y}}", "undefined variable '$y'"),  # scoped to the {{if}}
    ("{{break}}", "{{break}} outside {{range}}"),
    ("{{1 | 2}}", "non executable command in pipeline stage 2"),
    ("{{3x}}", "bad number syntax"),
    ("{{.S.X}}", "can't evaluate field X in type string"),
    ("{{.Nope}}", "can't evaluate field Nope"),
    ("{{upper}}", "wrong number of args for upper: want 1 got 0"),
    ("{{upper 1}}", "expected string; found 1"),
    ("{{upper .N}}", "wrong type for value; expected string; got int"),
    ("{{twice \"x\"}}", "expected integer; found \"x\""),
    ("{{twice 1.5}}", "expected integer; found 1.5"),
    ("{{1 2}}", "can't give argument to non-function 1"),
    ("{{nil}}", "nil is not a command"),
    ("{{eq 1 \"a\"}}", "error calling eq: incompatible types for comparison"),
    ("{{lt true false}}", "invalid type for comparison"),
    ("{{eq 1}}", "missing argument for comparison"),
    ("{{index .L 5}}", "error calling index: index out of range: 5"),
    ("{{len 3}}", "len of type int"),
    ("{{range .S}}{{end}}", "range can't iterate over hi"),
    ("{{template \"none\"}}", 'no such template "none"'),
    ("{{99999999999999999999}}", "99999999999999999999 overflows int"),
    ("{{" + "9" * 5000 + "}}", "illegal number syntax"),
    ("{{\x01}}", "unrecognized character in action: U+0001"),
])
def test_errors_have_go_wording_and_a_position(text, message):
    with pytest.raises(TemplateError) as info:
        r(text)
    assert message in str(info.value)
    assert str(info.value).split(":")[0].isdigit()  # line:column first


def test_positions_count_lines_and_columns():
    with pytest.raises(TemplateError) as info:
        r("line one\n  {{ nope }}")
    assert str(info.value).startswith("2:6: ")


def test_deep_nesting_is_a_clear_error_not_a_crash():
    # issue 13 §5: {{(((...)))}} 5,000 deep was a RecursionError traceback
    for text in ["{{" + "(" * 5000 + "1" + ")" * 5000 + "}}", "{{if 1}}" * 5000, "{{" + "(" * 100000 + "}}"]:
        with pytest.raises(TemplateError) as info:
            r(text)
        assert "levels deep" in str(info.value) or "unclosed" in str(info.value)


def test_big_inputs_are_handled_in_one_pass():
    # issue 13 §5: 50,000 repeated "{{" took more than 60 s (quadratic); now one linear pass
    with pytest.raises(TemplateError, match="unclosed action|unexpected"):
        r("{{" * 50000)
    with pytest.raises(TemplateError):
        r("x}}{{" * 50000)
    assert r("a{{1}}" * 20000) == "a1" * 20000


def test_runaway_execution_is_bounded():
    with pytest.raises(TemplateError, match="more than .* steps"):
        r("{{range 100000000}}{{end}}")
    with pytest.raises(TemplateError, match="exceeded maximum template depth"):
        r('{{define "R"}}{{template "R" .}}{{end}}{{template "R" .}}')


def test_partial_rendering_keeps_what_is_not_known_yet():
    text = "chmod +x {{.Path}}; {{- .Vars }} x {{user `a`}} {{if .Path}}{{.Path}}{{end}}{{$p := .Path}}{{$p}}"
    out = render(text, FUNCS, UNKNOWN, partial=True)
    assert out == "chmod +x {{.Path}};{{- .Vars }} x A {{if .Path}}{{.Path}}{{end}}{{$p := .Path}}{{$p}}"
    assert render(out, FUNCS, {"Path": "/s", "Vars": "V=1"}) == "chmod +x /s;V=1 x A /s/s"
    defined = '{{define "T"}}<{{.}}>{{end}}{{template "T" .Path}}'
    assert render(render(defined, FUNCS, UNKNOWN, partial=True), FUNCS, {"Path": "p"}) == "<p>"


@pytest.mark.parametrize("fmt,args,expected", [
    ("%s|%v|%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%#x|%b|%c|%U|%q", ["s", [1, "a"], 42, 42, 42, -42, 5, 255, 255, 8, 255, 5, 65, 65, 65],
     "s|[1 a]|42|   42|42   |-0042|+5|ff|FF|10|0xff|101|A|U+0041|'A'"),
    ("%05.2f|%.3e|%g|%v|%v|%v|%8.3f", [3.14159, 1234.5678, 0.000012, 1e6, 123456.0, 2.5, -1.0],
     "03.14|1.235e+03|1.2e-05|1e+06|123456|2.5|  -1.000"),
    ("%q|%x|% x|%10s|%-10s|%.2s|%t|%T|%T", ['a"b', "hi", "hi", "r", "l", "abc", True, 1.0, []],
     '"a\\"b"|6869|68 69|         r|l         |ab|true|float64|[]interface {}'),
    ("%v %v", [{"b": 1, "a": [True]}, None], "map[a:[true] b:1] <nil>"),
    ("%d", ["x"], "%!d(string=x)"),
    ("%s %s", ["a"], "a %!s(MISSING)"),
    ("%s", ["a", 1], "a%!(EXTRA int=1)"),
    ("%[2]s %[1]s", ["a", "b"], "b a"),
    ("%*d|%-*d|", [4, 1, 3, 2], "   1|2  |"),
    ("100%%", [], "100%"),
    ("%", [], "%!(NOVERB)"),
    ("%z", [1], "%!z(int=1)"),
    ("%s", [None], "%!s(<nil>)"),
])
def test_printf_is_gos_fmt(fmt, args, expected):
    assert sprintf(fmt, args) == expected


def test_sprint_and_sprintln_spacing():
    # fmt.Sprint: "Spaces are added between operands when neither is a string."
    assert sprint(["a", 1, 2, "b", "c", 3.5]) == "a1 2bc3.5"
    assert sprintln(["a", 1, "b"]) == "a 1 b\n"

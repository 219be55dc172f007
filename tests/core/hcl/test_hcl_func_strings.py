"""String functions, against the examples of Packer's function documentation."""

from __future__ import annotations

import pytest

from hatchway.template.hcl.functions import FunctionError, call
from hatchway.template.hcl.values import STRING, UNKNOWN, List, SetValue, Tuple, Unknown


def f(name, *args):
    return call(name, list(args))


def error(name, *args):
    with pytest.raises(FunctionError) as info:
        call(name, list(args))
    return info.value


# -- simple string functions (doc examples) ----------------------------------------------------

@pytest.mark.parametrize("name, args, result", [
    ("upper", ["hello"], "HELLO"),
    ("upper", ["алло!"], "АЛЛО!"),
    ("lower", ["HELLO"], "hello"),
    ("lower", ["АЛЛО!"], "алло!"),
    ("upper", ["straße"], "STRAßE"),         # Go's simple case mapping
    ("base64decode", ["ZcyB"], "é"),          # cty strings are NFC: "e" + U+0301 becomes "é"
    ("strrev", ["hello"], "olleh"),
    ("strrev", ["a ☃"], "☃ a"),
    ("substr", ["hello world", 1, 4], "ello"),
    ("substr", ["🤔🤷", 0, 1], "🤔"),
    ("substr", ["hello world", -5, -1], "world"),
    ("substr", ["hello world", 6, 10], "world"),
    ("substr", ["hello", 10, 1], ""),
    ("join", [", ", ["foo", "bar", "baz"]], "foo, bar, baz"),
    ("join", [", ", ["foo"]], "foo"),
    ("join", ["-", ["a"], ["b", "c"]], "a-b-c"),
    ("split", [",", "foo"], ["foo"]),
    ("split", [",", "foo,bar,baz"], ["foo", "bar", "baz"]),
    ("split", [",", ""], [""]),
    ("chomp", ["hello\n"], "hello"),
    ("chomp", ["hello\r\n"], "hello"),
    ("chomp", ["hello\n\n"], "hello"),
    ("indent", [2, "[\n  foo,\n  bar,\n]\n"], "[\n    foo,\n    bar,\n  ]\n  "),
    ("title", ["hello world"], "Hello World"),
    ("title", ["hello-world_x y"], "Hello-World_x Y"),
    ("trim", ["?!hello?!", "!?"], "hello"),
    ("trim", ["foobar", "far"], "oob"),
    ("trim", ["   hello! world.!  ", "! "], "hello! world."),
    ("trimprefix", ["helloworld", "hello"], "world"),
    ("trimprefix", ["helloworld", "cat"], "helloworld"),
    ("trimsuffix", ["helloworld", "world"], "hello"),
    ("trimspace", ["  hello\n\n"], "hello"),
    ("trimspace", ["\u00a0x\u3000"], "x"),
    ("startswith", ["hello world", "hello"], True),
    ("startswith", ["hello world", "world"], False),
    ("endswith", ["hello world", "world"], True),
    ("endswith", ["hello world", "hello"], False),
    ("strcontains", ["hello world", "wor"], True),
    ("strcontains", ["hello world", "wod"], False),
    ("replace", ["1 + 2 + 3", "+", "-"], "1 - 2 - 3"),
    ("replace", ["hello world", "world", "everybody"], "hello everybody"),
    # Packer's replace is go-cty's plain one: "/re/" is not a regular expression there
    ("replace", ["hello world", "/w.*d/", "everybody"], "hello world"),
    ("replace", ["a/w.*d/b", "/w.*d/", "-"], "a-b"),
    ("replace", ["abc", "", "-"], "-a-b-c-"),
    ("regex_replace", ["hello world", "world", "everybody"], "hello everybody"),
    ("regex_replace", ["hello world", "w.*d", "everybody"], "hello everybody"),
    ("regex_replace", ["-ab-axxb-", "a(x*)b", "$1W"], "---"),
    ("regex_replace", ["-ab-axxb-", "a(x*)b", "${1}W"], "-W-xxW-"),
    ("regex_replace", ["a1b2", "(?P<d>[0-9])", "<$d>"], "a<1>b<2>"),
    ("regex_replace", ["price", "p", "$$"], "$rice"),
    ("regex_replace", ["hello world", "/(o)/", "[$1]"], "hello world"),
    ("regex_replace", ["hello world", "(o)", "[$1]"], "hell[o] w[o]rld"),
    ("regex_replace", ["baaa", "a*", "-"], "-b-"),          # Go: no empty match right after a match
    ("regex_replace", ["abc", "", "-"], "-a-b-c-"),
])
def test_string_functions(name, args, result):
    assert f(name, *args) == result


def test_arguments_are_converted_to_parameter_types():
    assert f("upper", 12) == "12"
    assert f("substr", "hello", "1", "2") == "el"
    assert f("join", "-", [1, True, "x"]) == "1-true-x"


def test_string_function_errors():
    e = error("upper", None)
    assert e.summary == "Invalid function argument"
    assert str(e) == 'Invalid value for "str" parameter: argument must not be null.'
    assert e.arg_index == 0
    e = error("upper", ["a"])
    assert str(e) == 'Invalid value for "str" parameter: string required.'
    e = error("join", "-", ["a", None])
    assert str(e) == 'Invalid value for "lists" parameter: element 1 is null; cannot concatenate null values.'
    assert e.arg_index == 1
    e = error("join", "-")
    assert str(e) == 'Call to function "join" failed: at least one list is required.'
    e = error("substr", "abc", "x", 1)
    assert str(e) == 'Invalid value for "offset" parameter: a number is required.'


# -- regex / regexall --------------------------------------------------------------------------

def test_regex_doc_examples():
    assert f("regex", "[a-z]+", "53453453.345345aaabbbccc23454") == "aaabbbccc"
    assert f("regex", r"(\d\d\d\d)-(\d\d)-(\d\d)", "2019-02-01") == ["2019", "02", "01"]
    assert f("regex", "^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?",
             "https://packer.io/docs/") == {"scheme": "https", "authority": "packer.io"}
    e = error("regex", "[a-z]+", "53453453.34534523454")
    assert e.summary == "Error in function call"
    assert str(e) == 'Call to function "regex" failed: pattern did not match any part of the given string.'


def test_regex_unmatched_group_is_null_and_mixing_groups_fails():
    assert f("regex", "(a)|(b)", "b") == [None, "b"]
    e = error("regex", "(?P<x>a)(b)", "ab")
    assert str(e) == ('Invalid value for "pattern" parameter: invalid regexp pattern: '
                      'cannot mix both named and unnamed capture groups.')
    e = error("regex", "(", "x")
    assert e.arg_index == 0
    assert str(e) == 'Invalid value for "pattern" parameter: invalid regexp pattern: missing closing ) in (.'
    e = error("regex_replace", "x", "a**", "y")
    assert str(e) == 'Call to function "regex_replace" failed: error parsing regexp: invalid nested repetition operator: `**`.'


def test_regex_is_re2_syntax():
    # RE2 syntax that Python's re lacks or spells differently
    assert f("regex", r"[[:digit:]]+", "ab123") == "123"
    assert f("regex", r"\pL+", "12Ωmega3") == "Ωmega"
    assert f("regex", r"\Qa.b\E", "xa.by") == "a.b"
    assert f("regex", r"(?U)a+", "aaa") == "a"


def test_regexall_doc_examples():
    assert f("regexall", "[a-z]+", "1234abcd5678efgh9") == ["abcd", "efgh"]
    assert f("length", f("regexall", "[a-z]+", "1234abcd5678efgh9")) == 2
    assert f("regexall", "[a-z]+", "123456789") == []
    assert f("regexall", "a*", "baaa") == ["", "aaa"]      # Go's FindAll rules for empty matches
    assert f("regexall", "^a", "aaa") == ["a"]
    assert f("regexall", "(?P<k>[a-z])=(?P<v>[0-9])", "a=1 b=2") == [{"k": "a", "v": "1"}, {"k": "b", "v": "2"}]


# -- format / formatlist -----------------------------------------------------------------------

@pytest.mark.parametrize("spec, args, result", [
    ("Hello, %s!", ["Ander"], "Hello, Ander!"),
    ("There are %d lights", [4], "There are 4 lights"),
    ("%%", [], "%"),
    ("%v", ["x"], "x"),
    ("%v", [1.5], "1.5"),
    ("%v", [1234567], "1.234567e+06"),
    ("%v", [True], "true"),
    ("%v", [None], "null"),
    ("%v", [[1, "a"]], '[1,"a"]'),
    ("%v", [{"b": 1, "a": "<x>"}], '{"a":"\\u003cx\\u003e","b":1}'),
    ("%#v", ["x"], '"x"'),
    ("%#v", [5], "5"),
    ("%t", [True], "true"),
    ("%t", ["false"], "false"),
    ("%b", [5], "101"),
    ("%d", ["12"], "12"),
    ("%o", [8], "10"),
    ("%x", [255], "ff"),
    ("%X", [255], "FF"),
    ("%#x", [255], "0xff"),
    ("%e", [1234.5678], "1.234568e+03"),
    ("%E", [0.000001234], "1.234000E-06"),
    ("%f", [3.14159], "3.141590"),
    ("%.2f", [3.14159], "3.14"),
    ("%9.2f|", [3.14159], "     3.14|"),
    ("%-9.2f|", [3.14159], "3.14     |"),
    ("%09.2f|", [-3.14159], "-00003.14|"),
    ("%+d", [5], "+5"),
    ("% d", [5], " 5"),
    ("%05d", [-42], "-0042"),
    ("%.3d", [7], "007"),
    ("%6.3d|", [-7], "  -007|"),
    ("%-6d|", [42], "42    |"),
    ("%.0d", [0], ""),
    ("%#o %#b %#X", [8, 5, 255], "010 0b101 0XFF"),
    ("%x", [-255], "-ff"),
    ("%g", [100000], "100000"),
    ("%g", [1000000], "1e+06"),
    ("%g", [0.00001], "1e-05"),
    ("%G", [1e21], "1E+21"),
    ("%.3g", [3.14159], "3.14"),
    ("%s", [5], "5"),
    ("%s", [True], "true"),
    ("%.2s", ["hello"], "he"),
    ("%5s|", ["ab"], "   ab|"),
    ("%-5s|", ["ab"], "ab   |"),
    ("%q", ['say "hi" & <go>'], '"say \\"hi\\" \\u0026 \\u003cgo\\u003e"'),
    ("%[2]s %[1]s", ["a", "b"], "b a"),
    ("%[2]s %s", ["a", "b", "c"], "b c"),
    ("%s and %[1]s", ["x"], "x and x"),
    ("x", [], "x"),
])
def test_format(spec, args, result):
    assert f("format", spec, *args) == result


@pytest.mark.parametrize("spec, args, message", [
    ("%s", [], 'Call to function "format" failed: not enough arguments for "%s" at 0: need index 1 but have 0 total.'),
    ("%d", ["x"], 'Call to function "format" failed: unsupported value for "%d" at 0: a number is required.'),
    ("%d", [1.5], 'Call to function "format" failed: unsupported value for "%d" at 0: an integer is required.'),
    ("%s", [None], 'Call to function "format" failed: unsupported value for "%s" at 0: null value cannot be formatted.'),
    ("%s", [[1]], 'Call to function "format" failed: unsupported value for "%s" at 0: string required.'),
    ("%z", [1], "Call to function \"format\" failed: unsupported format verb 'z' in \"%z\" at offset 0."),
    ("%s", ["a", "b"], 'Invalid value for "args" parameter: too many arguments; only 1 used by format string.'),
    ("no verbs", ["a"], 'Invalid value for "args" parameter: too many arguments; no verbs in format string.'),
    ("abc %", [], 'Call to function "format" failed: invalid format string starting at offset 5.'),
])
def test_format_errors(spec, args, message):
    assert str(error("format", spec, *args)) == message


def test_format_with_unknown_argument_is_unknown():
    assert f("format", "%s", UNKNOWN) == Unknown(STRING)


def test_formatlist_doc_examples():
    assert f("formatlist", "Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"]) == [
        "Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]
    assert f("formatlist", "%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"]) == [
        "Salutations, Valentina!", "Salutations, Ander!", "Salutations, Olivia!", "Salutations, Sam!"]


def test_formatlist_edges():
    assert f("formatlist", "x") == ["x"]
    assert f("formatlist", "%s", []) == []
    assert f("formatlist", "%s-%s", ["a", "b"], ["1", "2"]) == ["a-1", "b-2"]
    e = error("formatlist", "%s-%s", ["a", "b"], ["1"])
    assert str(e) == ('Invalid value for "args" parameter: argument 2 has length 1, which is '
                      'inconsistent with argument 1 of length 2.')
    e = error("formatlist", "%d", ["x"])
    assert str(e) == ('Call to function "formatlist" failed: error on format iteration 0: '
                      'unsupported value for "%d" at 0: a number is required.')


# the cases of go-cty's format_test.go (v1.13)
@pytest.mark.parametrize("spec, args, result", [
    ("", [], ""), ("hello", [], "hello"), ("100%% successful", [], "100% successful"), ("100%%", [], "100%"),
    ("string %v", ["hello"], "string hello"), ("string %[2]v", [True, "hello"], "string hello"),
    ("string %#v", ["hello"], 'string "hello"'), ("number %v", [2], "number 2"), ("number %#v", [2], "number 2"),
    ("bool %v", [True], "bool true"), ("bool %#v", [True], "bool true"), ("object %v", [{}], "object {}"),
    ("tuple %v", [[]], "tuple []"), ("%%%v", [False], "%false"), ("%v", [None], "null"),
    ("Hello, %s!", ["Ermintrude"], "Hello, Ermintrude!"), ("Hello, %[2]s!", ["Stephen", "Ermintrude"], "Hello, Ermintrude!"),
    ("Hello, %q... if that _is_ your real name!", ["Ermintrude"], 'Hello, "Ermintrude"... if that _is_ your real name!'),
    ("This statement is %s", [False], "This statement is false"), ("This statement is %q", [False], 'This statement is "false"'),
    ("%10s", ["hello"], "     hello"), ("%-10s", ["hello"], "hello     "),
    ("%4s", ["💃🏿"], "   💃🏿"), ("%-4s", ["💃🏿"], "💃🏿   "), ("%q", ["💃🏿"], '"💃🏿"'),
    ("%6q", ["💃🏿"], '   "💃🏿"'), ("%-6q", ["💃🏿"], '"💃🏿"   '), ("%.2s", ["hello"], "he"), ("%.2q", ["hello"], '"he"'),
    ("%.5s", ["日本語日本語"], "日本語日本"), ("%.1q", ["日本語日本語"], '"日"'), ("%.10s", ["hello"], "hello"),
    ("%4.2s", ["hello"], "  he"), ("%6.2q", ["hello"], '  "he"'), ("%-4.2s", ["hello"], "he  "),
    ("%q", ["Hello\nWorld"], '"Hello\\nWorld"'),
    ("This statement is %t", [False], "This statement is false"), ("This statement is %[2]t", [True, False], "This statement is false"),
    ("This statement is %t", ["false"], "This statement is false"),
    ("%d green bottles", [10], "10 green bottles"), ("%[2]d things", [1, 10], "10 things"),
    ("%+d green bottles", [10], "+10 green bottles"), ("% d green bottles", [10], " 10 green bottles"),
    ("%5d green bottles", [10], "   10 green bottles"), ("%-5d green bottles", [10], "10    green bottles"),
    ("%b", [5], "101"), ("%o", [9], "11"), ("%x", [254], "fe"), ("%X", [254], "FE"),
    ("%f things", [10], "10.000000 things"), ("%[2]f things", [1, 10], "10.000000 things"),
    ("%+f things", [10], "+10.000000 things"), ("% f things", [10], " 10.000000 things"),
    ("%+f things", [-10], "-10.000000 things"), ("% f things", [-10], "-10.000000 things"),
    ("%f things", ["100000000000000000000000000000000000001"], "100000000000000000000000000000000000001.000000 things"),
    ("%f things", ["1.00000000000000000000000000000000000001"], "1.000000 things"),
    ("%.4f things", ["1.00000000000000000000000000000000000001"], "1.0000 things"),
    ("%.1f things", ["1.06"], "1.1 things"), ("%e things", [1000], "1.000000e+03 things"),
    ("%E things", [1000], "1.000000E+03 things"), ("%g things", [1000], "1000 things"), ("%G things", [1000], "1000 things"),
    ("%g things", ["0.00000000000000000000001"], "1e-23 things"), ("%G things", ["0.00000000000000000000001"], "1E-23 things"),
])
def test_format_as_go_cty_tests(spec, args, result):
    assert f("format", spec, *args) == result


@pytest.mark.parametrize("spec, args, message", [
    ("%s", [None], 'unsupported value for "%s" at 0: null value cannot be formatted'),
    ("%d green bottles", [True], 'unsupported value for "%d" at 0: number required'),
    ("%s is not in the args list", [], 'not enough arguments for "%s" at 0: need index 1 but have 0 total'),
    ("%[3]s is not in the args list", [True, True], 'not enough arguments for "%[3]s" at 0: need index 3 but have 2 total'),
    ("%[0]s is not valid because args are 1-based", [True, True], "unrecognized format character '0' at offset 2"),
    ("%v %v %v", [True, True], 'not enough arguments for "%v" at 6: need index 3 but have 2 total'),
    ("%z is not a valid sequence", [10], "unsupported format verb 'z' in \"%z\" at offset 0"),
    ("%#z is not a valid sequence", [10], "unsupported format verb 'z' in \"%#z\" at offset 0"),
    ("%012z is not a valid sequence", [10], "unsupported format verb 'z' in \"%012z\" at offset 0"),
    ("%☠ is not a valid sequence", [10], "unrecognized format character '☠' at offset 1"),
    ("%💃🏿 is not a valid sequence", [10], "unrecognized format character '💃' at offset 1"),
])
def test_format_errors_as_go_cty_tests(spec, args, message):
    assert error("format", spec, *args).detail == f'Call to function "format" failed: {message}.'


def test_formatlist_as_go_cty_tests():
    assert f("formatlist", "") == [""]
    assert f("formatlist", "100%%") == ["100%"]
    assert f("formatlist", "%s", "hello") == ["hello"]
    assert f("formatlist", "%s", ["hello", "world"]) == ["hello", "world"]
    assert f("formatlist", "%s %s", ["hello", "goodbye"], ["world", "universe"]) == ["hello world", "goodbye universe"]
    assert f("formatlist", "%s %s", ["hello", "goodbye"], "world") == ["hello world", "goodbye world"]
    assert f("formatlist", "%s %s", "hello", ["world", "universe"]) == ["hello world", "hello universe"]
    assert error("formatlist", "%s", {}).detail == (
        'Call to function "formatlist" failed: error on format iteration 0: unsupported value for "%s" at 0: string required.')
    assert f("formatlist", "%v", []) == []
    assert f("formatlist", "%v", None) == ["null"]
    assert f("formatlist", "%v", Unknown(STRING)) == [Unknown(STRING)]
    assert f("formatlist", "%v", Unknown(List(STRING))) == Unknown(List(STRING))
    assert f("formatlist", "%v", [["hello"], [Unknown(STRING)], ["world"]]) == ['["hello"]', Unknown(STRING), '["world"]']
    assert f("formatlist", "%v", Unknown(Tuple([STRING]))) == Unknown(List(STRING))
    assert error("formatlist", "%s %s", ["hi"], Unknown(Tuple([STRING, STRING]))).detail == (
        'Invalid value for "args" parameter: argument 2 has length 2, which is inconsistent with argument 1 of length 1.')
    assert f("formatlist", "%v", SetValue(["hello", Unknown(STRING)])) == Unknown(List(STRING))
    assert f("formatlist", "%v", UNKNOWN) == UNKNOWN

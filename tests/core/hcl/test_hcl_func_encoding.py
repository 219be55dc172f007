"""Encoding functions (base64, URL, JSON, CSV, YAML, text encodings), against Packer's docs and
Packer's own tests."""

from __future__ import annotations

import base64
import gzip

import pytest

from hatchway.template.hcl.functions import FunctionError, call
from hatchway.template.hcl.values import STRING, UNKNOWN, SetValue, Unknown


def f(name, *args):
    return call(name, list(args))


def error(name, *args):
    with pytest.raises(FunctionError) as info:
        call(name, list(args))
    return str(info.value)


def test_base64():
    assert f("base64encode", "Hello World") == "SGVsbG8gV29ybGQ="
    assert f("base64decode", "SGVsbG8gV29ybGQ=") == "Hello World"
    assert f("base64encode", "☃") == "4piD"
    assert error("base64decode", "SGVsbG8") == (
        "Call to function \"base64decode\" failed: failed to decode base64 data 'SGVsbG8'.")
    assert error("base64decode", "/w==") == (
        'Call to function "base64decode" failed: the result of decoding the the provided string is not valid UTF-8.')


def test_base64gzip_matches_packer_bytes():
    # the values of Packer's encoding_test.go
    assert f("base64gzip", "test") == "H4sIAAAAAAAA/ypJLS4BAAAA//8BAAD//wx+f9gEAAAA"
    assert f("base64gzip", "helloworld") == "H4sIAAAAAAAA/8pIzcnJL88vykkBAAAA//8BAAD//60g6/kKAAAA"
    long = "line of text\n" * 200
    assert gzip.decompress(base64.b64decode(f("base64gzip", long))).decode() == long


@pytest.mark.parametrize("text, result", [
    ("Hello World", "Hello+World"),
    ("☃", "%E2%98%83"),
    ("foo:bar@localhost?foo=bar&bar=baz", "foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz"),
    ("a-b_c.d~e/f", "a-b_c.d~e%2Ff"),
])
def test_urlencode(text, result):
    assert f("urlencode", text) == result


def test_jsonencode_sorts_keys_and_escapes_as_go():
    assert f("jsonencode", {"hello": "world"}) == '{"hello":"world"}'
    assert f("jsonencode", {"b": [1, 2.5, True, None], "a": "<&>"}) == (
        '{"a":"\\u003c\\u0026\\u003e","b":[1,2.5,true,null]}')
    assert f("jsonencode", None) == "null"
    assert f("jsonencode", "line\nbreak\t\u2028") == '"line\\nbreak\\t\\u2028"'
    assert f("jsonencode", SetValue(["b", "a"])) == '["a","b"]'
    assert f("jsonencode", 1e21) == "1000000000000000000000"
    assert f("jsonencode", [UNKNOWN]) == Unknown(STRING)


def test_jsondecode():
    assert f("jsondecode", '{"hello": "world"}') == {"hello": "world"}
    assert f("jsondecode", "true") is True
    assert f("jsondecode", '[1, 2.5, "x", null, {"a": []}]') == [1, 2.5, "x", None, {"a": []}]
    result = f("jsondecode", "10")
    assert result == 10 and type(result) is int
    assert error("jsondecode", '{"a": ') == 'Call to function "jsondecode" failed: unexpected EOF.'
    assert error("jsondecode", "") == 'Call to function "jsondecode" failed: EOF.'
    assert error("jsondecode", "[1] [2]") == 'Call to function "jsondecode" failed: extraneous data after JSON object.'
    assert error("jsondecode", "x") == (
        "Call to function \"jsondecode\" failed: invalid character 'x' looking for beginning of value.")


def test_csvdecode():
    assert f("csvdecode", "a,b,c\n1,2,3\n4,5,6") == [
        {"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": "6"}]
    assert f("csvdecode", 'a,b\n"x, y",2\n') == [{"a": "x, y", "b": "2"}]
    assert f("csvdecode", "a,b\n") == []
    assert error("csvdecode", "") == 'Call to function "csvdecode" failed: missing header line.'
    assert error("csvdecode", "a,a\n1,2") == 'Call to function "csvdecode" failed: duplicate column name "a".'
    assert error("csvdecode", "a,b\n1\n") == (
        'Call to function "csvdecode" failed: CSV parse error on line 2: wrong number of fields.')
    assert f("csvdecode", 'a,b\r\n\r\n"multi\nline","q""uote"\n') == [{"a": "multi\nline", "b": 'q"uote'}]
    assert error("csvdecode", 'a,b\n1,x"y\n') == (
        'Call to function "csvdecode" failed: CSV parse error on line 2: bare " in non-quoted-field.')
    assert error("csvdecode", 'a,b\n"1"x,2\n') == (
        'Call to function "csvdecode" failed: CSV parse error on line 2: extraneous or missing " in quoted-field.')
    assert error("csvdecode", 'a\n"open\n') == (
        'Call to function "csvdecode" failed: CSV parse error on line 2: extraneous or missing " in quoted-field.')


def test_yamlencode_doc_examples():
    assert f("yamlencode", {"a": "b", "c": "d"}) == '"a": "b"\n"c": "d"\n'
    assert f("yamlencode", {"foo": [1, 2, 3], "bar": "baz"}) == '"bar": "baz"\n"foo":\n- 1\n- 2\n- 3\n'
    assert f("yamlencode", {"foo": [1, {"a": "b", "c": "d"}, 3], "bar": "baz"}) == (
        '"bar": "baz"\n"foo":\n- 1\n- "a": "b"\n  "c": "d"\n- 3\n')


def test_yamlencode_scalars_and_empty_collections():
    # a plain scalar at the root is "open ended": libyaml (go-cty-yaml's emitter) closes it with "..."
    assert f("yamlencode", "x") == '"x"\n'
    assert f("yamlencode", 1.5) == "1.5\n...\n"
    assert f("yamlencode", True) == "true\n...\n"
    assert f("yamlencode", None) == "null\n...\n"
    assert f("yamlencode", []) == "[]\n"
    assert f("yamlencode", {"a": {}, "b": []}) == '"a": {}\n"b": []\n'
    assert f("yamlencode", [[1, 2], [3]]) == "- - 1\n  - 2\n- - 3\n"


def test_yamlencode_multiline_strings_use_literal_style():
    assert f("yamlencode", {"x": "l1\nl2\n", "y": "l1\nl2"}) == '"x": |\n  l1\n  l2\n"y": |-\n  l1\n  l2\n'
    assert f("yamlencode", {"k": "tab\there é ☃"}) == '"k": "tab\\there é ☃"\n'


def test_yamldecode_doc_examples():
    assert f("yamldecode", '{"hello": "world"}') == {"hello": "world"}
    assert f("yamldecode", "true") is True
    assert f("yamldecode", "{a: &foo [1, 2, 3], b: *foo}") == {"a": [1, 2, 3], "b": [1, 2, 3]}
    assert error("yamldecode", "{a: &foo [1, *foo, 3]}") == (
        'Call to function "yamldecode" failed: cannot refer to anchor "foo" from inside its own definition.')
    assert error("yamldecode", "{a: !not-supported foo}") == (
        'Call to function "yamldecode" failed: unsupported tag "!not-supported".')


def test_yamldecode_resolves_scalars_as_go_cty_yaml():
    src = ("a: yes\nb: \"yes\"\nc: 0x10\nd: 1_000\ne: .5\nf: ~\ng: 010\n"
           "h: 2001-12-14t21:59:43.10-05:00\ni: 2001-12-14\nj: !!binary aGVsbG8=\nk: off\n")
    assert f("yamldecode", src) == {"a": True, "b": "yes", "c": 16, "d": "1_000", "e": 0.5, "f": None,
                                    "g": 10, "h": "2001-12-14T21:59:43-05:00", "i": "2001-12-14T00:00:00Z",
                                    "j": "aGVsbG8=", "k": False}
    assert f("yamldecode", "base: &b {x: 1}\nm:\n  <<: *b\n  z: 2\n") == {"base": {"x": 1}, "m": {"x": 1, "z": 2}}
    assert error("yamldecode", "a: 1\nb: !!int abc") == (
        'Call to function "yamldecode" failed: on line 1, column 4: cannot parse "abc" as tag:yaml.org,2002:int.')
    assert error("yamldecode", "---\na\n---\nb") == (
        'Call to function "yamldecode" failed: on line 2, column 1: unexpected extra content after value.')
    assert error("yamldecode", "x: .nan") == 'Call to function "yamldecode" failed: floating point NaN is not supported.'
    assert error("yamldecode", "x: *nope") == 'Call to function "yamldecode" failed: reference to undefined anchor "nope".'


def test_yamldecode_roundtrips_yamlencode():
    value = {"list": [1, 2.5, "three", None, True], "nested": {"k": "multi\nline\n"}, "empty": []}
    assert f("yamldecode", f("yamlencode", value)) == value


def test_text_encodings():
    assert f("textencodebase64", "Hello World", "UTF-16LE") == "SABlAGwAbABvACAAVwBvAHIAbABkAA=="
    assert f("textdecodebase64", "SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE") == "Hello World"
    assert f("textencodebase64", "é", "ISO-8859-1") == "6Q=="
    assert f("textencodebase64", "é", "windows-1252") == "6Q=="
    assert f("textdecodebase64", "6Q==", "latin1") == "é"
    assert error("textencodebase64", "x", "no-such") == (
        'Invalid value for "encoding" parameter: "no-such" is not a supported IANA encoding name or alias.')
    assert error("textencodebase64", "☃", "US-ASCII") == (
        'Invalid value for "string" parameter: the given string contains characters that cannot be represented in US-ASCII.')
    assert error("textdecodebase64", "!!!!", "UTF-8") == (
        'Invalid value for "source" parameter: the given value is has an invalid base64 symbol at offset 0.')

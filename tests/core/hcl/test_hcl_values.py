"""HCL2 types and values: go-cty's conversion, unification and equality rules."""

from __future__ import annotations

import pytest

from hatchway.template.hcl.values import (
    BOOL, DYNAMIC, NO_DEFAULT, NUMBER, STRING, UNKNOWN, ConversionError, List, Map, Object, arith,
    Set, SetValue, Tuple, Unknown, convert, equals, format_number, is_known, number_from_string,
    to_string, type_of, unify,
)


# -- types -------------------------------------------------------------------------------------

def test_types_print_as_hcl_type_syntax():
    assert str(STRING) == "string" and str(NUMBER) == "number" and str(BOOL) == "bool"
    assert str(DYNAMIC) == "any"
    assert str(List(STRING)) == "list(string)"
    assert str(Set(NUMBER)) == "set(number)"
    assert str(Map(List(BOOL))) == "map(list(bool))"
    assert str(Tuple([STRING, NUMBER])) == "tuple([string,number])"
    assert str(Object({"b": STRING, "a": NUMBER})) == "object({a=number,b=string})"
    assert str(Object({"a": STRING}, {"a": NO_DEFAULT})) == "object({a=optional(string)})"
    assert str(Object({"a": STRING}, {"a": "x"})) == 'object({a=optional(string, "x")})'


def test_types_are_values_hashable_and_comparable():
    assert List(STRING) == List(STRING)
    assert List(STRING) != Set(STRING)
    assert Object({"a": STRING}) == Object({"a": STRING})
    assert len({List(STRING), List(STRING), Map(STRING)}) == 2
    t = Object({"a": List(STRING)}, {"a": ["x"]})
    assert t.kind == "object" and t.attrs["a"].elem == STRING and t.optional == {"a": ["x"]}
    assert Tuple([STRING]).elems == (STRING,)


def test_type_of_natives_follows_literal_types():
    assert type_of("a") == STRING
    assert type_of(1) == NUMBER and type_of(1.5) == NUMBER
    assert type_of(True) == BOOL
    assert type_of(None) == DYNAMIC
    assert type_of([1, "a"]) == Tuple([NUMBER, STRING])
    assert type_of({"a": 1}) == Object({"a": NUMBER})
    assert type_of(SetValue(["a"])) == Set(STRING)
    assert type_of(Unknown(List(STRING))) == List(STRING)


def test_is_known_looks_inside_collections():
    assert is_known([1, {"a": "b"}])
    assert not is_known(UNKNOWN)
    assert not is_known([1, {"a": Unknown(STRING)}])


# -- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-12", -12), ("1.5", 1.5), ("1e3", 1000), ("+2", 2), ("0.1", 0.1), (".5", 0.5),
    ("12345678901234567890", 12345678901234567890),
    ("inf", float("inf")), ("-Inf", float("-inf")),
])
def test_number_from_string(text, value):
    result = number_from_string(text)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("text", ["", "a", "1a", " 1", "0x10", "1_000", "infinity", "NaN", "--1", "+-inf"])
def test_number_from_string_refuses(text):
    with pytest.raises(ConversionError, match="^a number is required$"):
        number_from_string(text)


@pytest.mark.parametrize("n, text", [
    (1, "1"), (1.0, "1"), (-2.5, "-2.5"), (0.1, "0.1"), (1e21, "1000000000000000000000"),
    (1e-7, "0.0000001"), (3.14159, "3.14159"), (2 ** 70, "1180591620717411303424"),
])
def test_format_number_has_no_exponent(n, text):
    assert format_number(n) == text


def test_to_string_interpolation_rules():
    assert to_string("x") == "x"
    assert to_string(5) == "5" and to_string(2.5) == "2.5"
    assert to_string(True) == "true" and to_string(False) == "false"
    assert to_string(UNKNOWN) == Unknown(STRING)
    for bad in (None, [1], {"a": 1}):
        with pytest.raises(ConversionError):
            to_string(bad)


# -- conversion --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, want, result", [
    (5, STRING, "5"),
    (1.25, STRING, "1.25"),
    (True, STRING, "true"),
    ("12", NUMBER, 12),
    ("1.5", NUMBER, 1.5),
    ("true", BOOL, True),
    ("false", BOOL, False),
    ("1", BOOL, True),
    ("0", BOOL, False),
    ([1, "a"], List(STRING), ["1", "a"]),
    ([1, "a"], List(DYNAMIC), ["1", "a"]),       # unified to string
    ([1, 2], List(DYNAMIC), [1, 2]),
    (["b", "a", "b"], Set(STRING), SetValue(["a", "b"])),
    ({"a": 1, "b": "x"}, Map(STRING), {"a": "1", "b": "x"}),
    ({"a": 1, "b": "x"}, Map(DYNAMIC), {"a": "1", "b": "x"}),
    ({"a": 1, "extra": 2}, Object({"a": STRING}), {"a": "1"}),
    ({"a": "1"}, Object({"a": NUMBER, "b": STRING}, {"b": NO_DEFAULT}), {"a": 1, "b": None}),
    ({"a": "1"}, Object({"a": NUMBER, "b": STRING}, {"b": "dflt"}), {"a": 1, "b": "dflt"}),
    ({"a": 1, "b": None}, Object({"a": NUMBER, "b": STRING}, {"b": "dflt"}), {"a": 1, "b": "dflt"}),
    ([1, "2"], Tuple([STRING, NUMBER]), ["1", 2]),
    (SetValue(["a"]), List(STRING), ["a"]),
    ([], List(STRING), []),
    ({}, Map(NUMBER), {}),
    (None, NUMBER, None),
    ([None, "a"], List(STRING), [None, "a"]),
    ("x", DYNAMIC, "x"),
    ([[1], ["a"]], List(List(STRING)), [["1"], ["a"]]),
])
def test_convert(value, want, result):
    assert convert(value, want) == result


def test_convert_unknown_gives_unknown_of_wanted_type():
    assert convert(UNKNOWN, STRING) == Unknown(STRING)
    assert convert(Unknown(Tuple([STRING, STRING])), List(STRING)) == Unknown(List(STRING))
    assert convert(Unknown(List(STRING)), List(DYNAMIC)) == Unknown(List(STRING))


@pytest.mark.parametrize("value, want, message, path", [
    ("abc", NUMBER, "a number is required", []),
    ("yes", BOOL, "a bool is required", []),
    ("True", BOOL, 'a bool is required; to convert from string, use lowercase "true"', []),
    ("FALSE", BOOL, 'a bool is required; to convert from string, use lowercase "false"', []),
    (1, BOOL, "bool required", []),
    (True, NUMBER, "number required", []),
    ([1], STRING, "string required", []),
    ({"a": 1}, List(STRING), "list of string required", []),
    ("x", List(STRING), "list of string required", []),
    ([1, [2]], List(DYNAMIC), "all list elements must have the same type", []),
    ([1, [2]], Set(DYNAMIC), "all set elements must have the same type", []),
    ({"a": 1, "b": [2]}, Map(DYNAMIC), "all map elements must have the same type", []),
    ([1, [2]], List(STRING), "element 1: string required", []),
    ({"a": [1]}, Map(STRING), 'element "a": string required', []),
    (["1", "x"], List(NUMBER), "a number is required", [1]),
    ({"a": 1}, Object({"a": NUMBER, "b": STRING}), 'attribute "b" is required', []),
    ({}, Object({"a": NUMBER, "b": STRING}), 'attributes "a" and "b" are required', []),
    ({}, Object({"c": NUMBER, "a": NUMBER, "b": STRING}), 'attributes "a", "b", and "c" are required', []),
    ({"a": [1]}, Object({"a": NUMBER}), 'attribute "a": number required', []),
    ({"a": {"b": "x"}}, Object({"a": Object({"b": NUMBER})}), "a number is required", ["a", "b"]),
    ([1, 2], Tuple([NUMBER]), "tuple required", []),
    (SetValue([1]), Tuple([NUMBER]), "tuple required", []),
])
def test_convert_errors_are_worded_as_go_cty(value, want, message, path):
    with pytest.raises(ConversionError) as info:
        convert(value, want)
    assert str(info.value) == message
    assert info.value.path == path


# -- unification -------------------------------------------------------------------------------

@pytest.mark.parametrize("types, result", [
    ([STRING, STRING], STRING),
    ([STRING, NUMBER], STRING),
    ([NUMBER, BOOL], None),
    ([NUMBER, NUMBER], NUMBER),
    ([BOOL, STRING], STRING),
    ([STRING, DYNAMIC], DYNAMIC),
    ([List(STRING), List(NUMBER)], List(STRING)),
    ([Tuple([STRING]), List(STRING)], List(STRING)),
    ([Tuple([STRING]), Tuple([NUMBER])], Tuple([STRING])),
    ([Tuple([STRING]), Tuple([NUMBER, NUMBER])], List(STRING)),
    ([Object({"a": STRING}), Object({"a": NUMBER})], Object({"a": STRING})),
    ([Object({"a": STRING}), Object({"b": NUMBER})], Map(STRING)),
    ([Object({"a": STRING}), Map(NUMBER)], Map(STRING)),
    ([Object({"a": STRING}), Tuple([])], None),
    ([Map(STRING), List(STRING)], None),
    ([], None),
])
def test_unify(types, result):
    assert unify(types) == result


# -- equality and sets -------------------------------------------------------------------------

def test_equals_follows_go_cty():
    assert equals(1, 1.0) is True
    assert equals("1", 1) is False
    assert equals(True, 1) is False
    assert equals(None, None) is True
    assert equals(None, "a") is False
    assert equals([1, "a"], [1, "a"]) is True
    assert equals([1], [1, 2]) is False
    assert equals({"a": [1]}, {"a": [1.0]}) is True
    assert equals({"a": 1}, {"b": 1}) is False
    assert equals(SetValue([1, 2]), SetValue([2, 1])) is True
    assert equals(SetValue([1]), [1]) is False
    assert equals(UNKNOWN, 1) == Unknown(BOOL)
    assert equals([UNKNOWN], [1]) == Unknown(BOOL)
    assert equals([UNKNOWN], [1, 2]) is False


def test_set_order_is_go_cty_order():
    assert list(SetValue(["b", "a", "B", "é"])) == ["B", "a", "b", "é"]
    assert list(SetValue([10, 2, 1.5, 2.0])) == [1.5, 2, 10]
    assert list(SetValue([True, False, True])) == [False, True]
    assert list(SetValue([None, "a"])) == ["a", None]
    assert len(SetValue([[1], [1], [2]])) == 2


# -- arithmetic on decimal digits (go-cty's 512-bit big.Float) ---------------------------------

@pytest.mark.parametrize("op, a, b, result", [
    ("+", 0.1, 0.2, 0.3),
    ("-", 0.3, 0.1, 0.2),
    ("*", 1.1, 1.1, 1.21),
    ("/", 6, 3, 2),
    ("/", 1, 4, 0.25),
    ("/", 1, 0, float("inf")),
    ("%", -7, 3, -1),
    ("%", 7.5, 2, 1.5),
    ("%", 5, 0, 5),
    ("+", 2 ** 70, 1, 2 ** 70 + 1),
])
def test_arith(op, a, b, result):
    got = arith(op, a, b)
    assert got == result and type(got) is type(result)


def test_arith_errors_are_worded_as_go_cty():
    with pytest.raises(ArithmeticError, match="can't divide zero by zero or infinity by infinity"):
        arith("/", 0, 0)
    with pytest.raises(ArithmeticError, match="can't compute sum of opposing infinities"):
        arith("+", float("inf"), float("-inf"))


def test_nested_mismatch_message_as_go_cty_public_tests():
    # reduction of hashicorp/terraform#24167, from go-cty's convert tests
    value = {"a": {"x": None}, "b": {"x": {"c": 1, "d": 2}}}
    want = Map(Map(Object({"x": Map(DYNAMIC)})))
    with pytest.raises(ConversionError) as info:
        convert(value, want)
    assert str(info.value) == 'element "b": element "x": attribute "x" is required'


def O(**attrs):  # noqa: E743 - short names keep the table below readable
    return Object(attrs)


S, N, B, D = STRING, NUMBER, BOOL, DYNAMIC
L, M, T = List, Map, Tuple


# the cases of go-cty's unify_test.go (v1.13)
@pytest.mark.parametrize("types, result", [
    ([S], S), ([N, N], N), ([N, S], S), ([S, N], S), ([B, S, N], S), ([B, N], None),
    ([O(foo=S), O(foo=S)], O(foo=S)),
    ([O(foo=S), O(foo=N)], O(foo=S)),
    ([O(foo=S), O(bar=N)], M(S)),
    ([O(foo=S), O()], M(S)),
    ([O(foo=B), O(bar=N)], None),
    ([O(foo=B), O(foo=N)], None),
    ([T([S]), T([S])], T([S])),
    ([T([S]), T([N])], T([S])),
    ([T([S]), T([S, N])], L(S)),
    ([T([S]), T([])], L(S)),
    ([T([B]), T([N])], None),
    ([T([O(a=S), O(a=S)]), T([O(a=S, b=S)])], L(M(S))),
    ([T([O(a=S), D]), L(D)], None),
    ([L(O(a=S)), T([O(a=S, b=S)]), T([O(a=S, b=S), O(c=S, d=S)])], L(M(S))),
    ([L(O(a=S)), L(M(S)), T([M(S), O(a=S, b=S)])], L(M(S))),
    ([T([O(a=S, b=N), O(a=S, b=N)]), T([O(a=S)])], L(M(S))),
    ([T([O(a=S, b=N)]), T([O(a=S)])], T([M(S)])),
    ([L(O(a=N, b=S)), T([O(a=S)])], L(M(S))),
    ([L(O(a=N, b=S)), L(O(a=S))], L(M(S))),
    ([L(O(a=O(a=S), b=O(a=S, b=S))), L(M(O(a=S, b=S)))], L(M(M(S)))),
    ([O(a=O(a=S)), O(a=O(a=S, b=S))], O(a=M(S))),
    ([O(a=O(a=S), b=O(a=S, b=S)), M(O(a=S, b=S))], M(M(S))),
    ([O(a=O(a=L(S)), b=O(a=T([S]), b=L(S))), M(O(a=L(S), b=L(S)))], M(M(L(S)))),
])
def test_unify_as_go_cty_tests(types, result):
    assert unify(types) == result

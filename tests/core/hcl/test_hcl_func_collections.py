"""Collection functions, against the examples of Packer's function documentation."""

from __future__ import annotations

import pytest

from hatchway.template.hcl.functions import FunctionError, call
from hatchway.template.hcl.values import BOOL, NUMBER, STRING, UNKNOWN, List, SetValue, Tuple, Unknown


def f(name, *args):
    return call(name, list(args))


def error(name, *args):
    with pytest.raises(FunctionError) as info:
        call(name, list(args))
    return str(info.value)


@pytest.mark.parametrize("name, args, result", [
    ("alltrue", [["true", True]], True),
    ("alltrue", [[True, False]], False),
    ("alltrue", [[]], True),
    ("anytrue", [["true"]], True),
    ("anytrue", [[True, False]], True),
    ("anytrue", [[]], False),
    ("chunklist", [["a", "b", "c", "d", "e"], 2], [["a", "b"], ["c", "d"], ["e"]]),
    ("chunklist", [["a", "b", "c", "d", "e"], 1], [["a"], ["b"], ["c"], ["d"], ["e"]]),
    ("chunklist", [["a", "b"], 0], [["a", "b"]]),
    ("coalesce", ["a", "b"], "a"),
    ("coalesce", ["", "b"], "b"),
    ("coalesce", [1, 2], 1),
    ("coalesce", [None, 2], 2),
    ("coalesce", [1, "hello"], "1"),
    ("coalesce", [True, "hello"], "true"),
    ("coalescelist", [["a", "b"], ["c", "d"]], ["a", "b"]),
    ("coalescelist", [[], ["c", "d"]], ["c", "d"]),
    ("compact", [["a", "", "b", "c"]], ["a", "b", "c"]),
    ("concat", [["a", ""], ["b", "c"]], ["a", "", "b", "c"]),
    ("contains", [["a", "b", "c"], "a"], True),
    ("contains", [["a", "b", "c"], "d"], False),
    ("contains", [[1, 2], 1.0], True),
    ("contains", [["1"], 1], False),
    ("distinct", [["a", "b", "a", "c", "d", "b"]], ["a", "b", "c", "d"]),
    ("element", [["a", "b", "c"], 1], "b"),
    ("element", [["a", "b", "c"], 3], "a"),
    ("flatten", [[["a", "b"], [], ["c"]]], ["a", "b", "c"]),
    ("flatten", [[[["a", "b"], []], ["c"]]], ["a", "b", "c"]),
    ("index", [["a", "b", "c"], "b"], 1),
    ("keys", [{"a": 1, "c": 2, "d": 3}], ["a", "c", "d"]),
    ("keys", [{"d": 1, "a": 2, "B": 3}], ["B", "a", "d"]),
    ("length", [[]], 0),
    ("length", [["a", "b"]], 2),
    ("length", [{"a": "b"}], 1),
    ("length", ["hello"], 5),
    ("length", ["👾🕹️"], 2),
    ("length", [SetValue(["a", "b"])], 2),
    ("lookup", [{"a": "ay", "b": "bee"}, "a", "what?"], "ay"),
    ("lookup", [{"a": "ay", "b": "bee"}, "c", "what?"], "what?"),
    ("merge", [{"a": "b", "c": "d"}, {"e": "f", "c": "z"}], {"a": "b", "c": "z", "e": "f"}),
    ("merge", [{"a": "b"}, {"a": [1, 2], "c": "z"}, {"d": 3}], {"a": [1, 2], "c": "z", "d": 3}),
    ("merge", [None, {"a": 1}], {"a": 1}),
    ("merge", [], {}),
    ("range", [3], [0, 1, 2]),
    ("range", [1, 4], [1, 2, 3]),
    ("range", [1, 8, 2], [1, 3, 5, 7]),
    ("range", [1, 4, 0.5], [1, 1.5, 2, 2.5, 3, 3.5]),
    ("range", [4, 1], [4, 3, 2]),
    ("range", [10, 5, -2], [10, 8, 6]),
    ("range", [0], []),
    ("reverse", [[1, 2, 3]], [3, 2, 1]),
    ("setintersection", [["a", "b"], ["b", "c"], ["b", "d"]], SetValue(["b"])),
    ("setunion", [["a", "b"], ["b", "c"], ["d"]], SetValue(["a", "b", "c", "d"])),
    ("setunion", [[1], ["a"]], SetValue(["1", "a"])),
    ("setproduct", [["development", "staging", "production"], ["app1", "app2"]], [
        ["development", "app1"], ["development", "app2"], ["staging", "app1"],
        ["staging", "app2"], ["production", "app1"], ["production", "app2"]]),
    ("setproduct", [SetValue(["b", "a"]), SetValue(["x"])], SetValue([["a", "x"], ["b", "x"]])),
    ("setproduct", [["a"], []], []),
    ("setproduct", [["a"], ["b"]], [["a", "b"]]),
    ("setproduct", [["staging", "production"], ["a", 2]], [
        ["staging", "a"], ["staging", "2"], ["production", "a"], ["production", "2"]]),
    ("slice", [["a", "b", "c", "d"], 1, 3], ["b", "c"]),
    ("sort", [["e", "d", "a", "x"]], ["a", "d", "e", "x"]),
    ("sort", [[10, 9, "b"]], ["10", "9", "b"]),
    ("sum", [[10, 13, 6, 4.5]], 33.5),
    ("sum", [["1", 2]], 3),
    ("sum", [SetValue([1, 2])], 3),
    ("values", [{"a": 3, "c": 2, "d": 1}], [3, 2, 1]),
    ("zipmap", [["a", "b"], [1, 2]], {"a": 1, "b": 2}),
    ("zipmap", [["a", "b"], [1, "x"]], {"a": 1, "b": "x"}),
])
def test_collection_functions(name, args, result):
    assert f(name, *args) == result


@pytest.mark.parametrize("name, args, message", [
    ("alltrue", [[1]], 'Invalid value for "list" parameter: element 0: bool required.'),
    ("chunklist", [["a"], -1], 'Call to function "chunklist" failed: the size argument must be positive.'),
    ("coalesce", [None, None], 'Call to function "coalesce" failed: no non-null, non-empty-string arguments.'),
    ("coalesce", [{"a": 1}, [1]], 'Call to function "coalesce" failed: all arguments must have the same type.'),
    ("coalescelist", ["a"], 'Call to function "coalescelist" failed: coalescelist arguments must be lists or tuples.'),
    ("coalescelist", [[], []], 'Call to function "coalescelist" failed: no non-null arguments.'),
    ("concat", [["a"], "b"], 'Invalid value for "seqs" parameter: all arguments must be lists or tuples; got string.'),
    ("contains", ["abc", "a"], 'Call to function "contains" failed: argument must be list, tuple, or set.'),
    ("element", [[], 0], 'Call to function "element" failed: cannot use element function with an empty list.'),
    ("element", [["a"], -1], 'Call to function "element" failed: cannot use element function with a negative index.'),
    ("element", ["a", 0], 'Call to function "element" failed: cannot read elements from string.'),
    ("flatten", ["a"], 'Call to function "flatten" failed: can only flatten lists, sets and tuples.'),
    ("index", [["a"], "b"], 'Call to function "index" failed: item not found.'),
    ("index", [[], "b"], 'Call to function "index" failed: cannot search an empty list.'),
    ("index", [{"a": 1}, "b"], 'Call to function "index" failed: argument must be a list or tuple.'),
    ("keys", [[1]], 'Invalid value for "inputMap" parameter: must have map or object type.'),
    ("length", [5], 'Invalid value for "value" parameter: argument must be a string, a collection type, or a structural type.'),
    ("lookup", [["a"], "a", "x"], 'Invalid value for "inputMap" parameter: lookup() requires a map as the first argument.'),
    ("merge", [{"a": 1}, "x"], 'Call to function "merge" failed: arguments must be maps or objects, got "string".'),
    ("range", [], 'Call to function "range" failed: must have one, two, or three arguments.'),
    ("range", [1, 2, 0], 'Invalid value for "params" parameter: step must not be zero.'),
    ("range", [1, 4, -1], 'Invalid value for "params" parameter: end must be less than start when step is negative.'),
    ("range", [4, 1, 1], 'Invalid value for "params" parameter: end must be greater than start when step is positive.'),
    ("range", [2000], 'Call to function "range" failed: more than 1024 values were generated; either decrease the difference between start and end or use a smaller step.'),
    ("reverse", ["abc"], 'Invalid value for "list" parameter: can only reverse list or tuple values, not string.'),
    ("setproduct", [["a"]], 'Call to function "setproduct" failed: at least two arguments are required.'),
    ("setproduct", [["a"], [1, [2]]], 'Invalid value for "sets" parameter: all elements must be of the same type.'),
    ("slice", [["a", "b"], 1, 3], 'Invalid value for "end_index" parameter: end index must not be greater than the length of the list.'),
    ("slice", [["a", "b"], 2, 1], 'Invalid value for "start_index" parameter: start index must not be greater than end index.'),
    ("slice", [SetValue(["a"]), 0, 1], 'Invalid value for "list" parameter: cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important.'),
    ("sort", [["a", None]], 'Call to function "sort" failed: given list element 1 is null; a null string cannot be sorted.'),
    ("sum", [[]], 'Invalid value for "list" parameter: cannot sum an empty list.'),
    ("sum", [["a"]], 'Invalid value for "list" parameter: argument must be list, set, or tuple of number values.'),
    ("sum", [{"a": 1}], 'Invalid value for "list" parameter: argument must be list, set, or tuple. Received object.'),
    ("sum", [3], 'Invalid value for "list" parameter: cannot sum noniterable.'),
    ("values", ["a"], 'Call to function "values" failed: values() requires a map as the first argument.'),
    ("zipmap", [["a"], [1, 2]], 'Call to function "zipmap" failed: number of keys (1) does not match number of values (2).'),
    ("lookup", [{"a": 1}, "a"], 'Function "lookup" expects 3 argument(s). Missing value for "default".'),
    ("lookup", [{"a": 1}, "a", None], 'Invalid value for "default" parameter: argument must not be null.'),
    ("length", ["a", "b"], 'Function "length" expects only 1 argument(s).'),
])
def test_collection_function_errors(name, args, message):
    assert error(name, *args) == message


def test_unknown_arguments_give_unknown_results():
    assert f("sort", [UNKNOWN]) == Unknown(List(STRING))
    assert f("upper", UNKNOWN) == Unknown(STRING)
    assert f("length", Unknown(Tuple([STRING, STRING]))) == 2
    assert f("length", UNKNOWN) == Unknown(NUMBER)
    assert f("contains", [UNKNOWN, "a"], "b") == Unknown(BOOL)
    assert f("contains", [UNKNOWN, "a"], "a") is True
    assert f("anytrue", [UNKNOWN, True]) is True
    assert f("alltrue", [UNKNOWN, True]) == Unknown(BOOL)
    assert f("index", ["a", UNKNOWN], "b") == Unknown(NUMBER)
    assert f("coalesce", UNKNOWN, "a") == Unknown(STRING)
    assert f("compact", ["a", UNKNOWN]) == Unknown(List(STRING))
    assert f("join", ",", ["a", UNKNOWN]) == Unknown(STRING)
    assert isinstance(f("distinct", ["a", UNKNOWN]), Unknown)
    assert isinstance(f("lookup", {"a": UNKNOWN}, "b", "x"), Unknown)
    assert isinstance(f("flatten", [["a"], UNKNOWN]), Unknown)
    assert f("flatten", [["a"], Unknown(STRING)]) == ["a", Unknown(STRING)]
    assert f("element", ["a", UNKNOWN], 1) == UNKNOWN


def test_sum_adds_decimal_digits_as_go_cty():
    assert f("sum", [0.1, 0.2]) == 0.3
    assert error("sum", [float("inf"), float("-inf")]) == (
        'Call to function "sum" failed: can\'t compute sum of opposing infinities.')

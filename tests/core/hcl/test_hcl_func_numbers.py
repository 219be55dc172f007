"""Number functions, against the examples of Packer's function documentation."""

from __future__ import annotations

import pytest

from hatchway.template.hcl.functions import FunctionError, call


def f(name, *args):
    return call(name, list(args))


@pytest.mark.parametrize("name, args, result", [
    ("abs", [23], 23),
    ("abs", [0], 0),
    ("abs", [-12.4], 12.4),
    ("ceil", [5], 5),
    ("ceil", [5.1], 6),
    ("ceil", [-5.1], -5),
    ("floor", [5], 5),
    ("floor", [4.9], 4),
    ("floor", [-4.1], -5),
    ("log", [50, 10], 1.6989700043360185),
    ("log", [16, 2], 4),
    ("log", [1, 10], 0),
    ("max", [12, 54, 3], 54),
    ("max", [12, "60", 3], 60),
    ("min", [12, 54, 3], 3),
    ("parseint", ["100", 10], 100),
    ("parseint", ["FF", 16], 255),
    ("parseint", ["-10", 16], -16),
    ("parseint", ["1011111011101111", 2], 48879),
    ("parseint", ["aA", 62], 656),
    ("parseint", ["zz", 36], 1295),
    ("pow", [3, 2], 9),
    ("pow", [4, 0], 1),
    ("pow", [2, 0.5], 1.4142135623730951),
    ("signum", [-13], -1),
    ("signum", [0], 0),
    ("signum", [344], 1),
])
def test_number_functions(name, args, result):
    got = f(name, *args)
    assert got == result
    assert not isinstance(got, bool)


def test_integral_results_are_ints():
    assert type(f("ceil", 5.1)) is int
    assert type(f("log", 16, 2)) is int
    assert type(f("pow", 3, 2)) is int


@pytest.mark.parametrize("name, args, message", [
    ("parseint", ["12", 2], 'Invalid value for "number" parameter: cannot parse "12" as a base 2 integer.'),
    ("parseint", ["FF", 1], 'Invalid value for "base" parameter: base must be a whole number between 2 and 62 inclusive.'),
    ("parseint", [12, 10], 'Invalid value for "number" parameter: first argument must be a string, not number.'),
    ("max", [], 'Call to function "max" failed: must pass at least one number.'),
    ("min", ["a"], 'Invalid value for "numbers" parameter: a number is required.'),
    ("abs", [True], 'Invalid value for "num" parameter: number required.'),
])
def test_number_function_errors(name, args, message):
    with pytest.raises(FunctionError) as info:
        f(name, *args)
    assert str(info.value) == message

"""Number functions of go-cty's stdlib."""

from __future__ import annotations

import math
from typing import Any

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, function

N = V.NUMBER


def _float(n: Any) -> float:
    try:
        return float(n)
    except OverflowError:
        return math.inf if n > 0 else -math.inf


def _number(f: float) -> Any:
    if math.isnan(f):
        raise Fail("the result is not a number")
    return V.normalize_number(f)


@function("abs", [("num", N)], ret=N)
def abs_(ctx: Any, n: Any) -> Any:
    return abs(n)


@function("ceil", [("num", N)], ret=N)
def ceil(ctx: Any, n: Any) -> Any:
    if isinstance(n, float) and math.isinf(n):
        return n
    return math.ceil(n)


@function("floor", [("num", N)], ret=N)
def floor(ctx: Any, n: Any) -> Any:
    if isinstance(n, float) and math.isinf(n):
        return n
    return math.floor(n)


def _go_log(x: float) -> float:
    if x == 0:
        return -math.inf
    if x < 0 or math.isnan(x):
        return math.nan
    if math.isinf(x):
        return math.inf
    return math.log(x)


@function("log", [("num", N), ("base", N)], ret=N)
def log(ctx: Any, num: Any, base: Any) -> Any:
    a, b = _go_log(_float(num)), _go_log(_float(base))
    try:
        r = a / b
    except ZeroDivisionError:
        r = math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return _number(r)


@function("pow", [("num", N), ("power", N)], ret=N)
def pow_(ctx: Any, num: Any, power: Any) -> Any:
    try:
        r = math.pow(_float(num), _float(power))
    except OverflowError:
        r = math.inf
    except ValueError:
        r = math.nan
    return _number(r)


@function("signum", [("num", N)], ret=N)
def signum(ctx: Any, n: Any) -> Any:
    if isinstance(n, float) and (math.isinf(n) or n != int(n)):
        raise Fail("value must be a whole number")
    return -1 if n < 0 else (1 if n > 0 else 0)


@function("max", [], var=("numbers", N), ret=N)
def max_(ctx: Any, *nums: Any) -> Any:
    if not nums:
        raise Fail("must pass at least one number")
    return max(nums)


@function("min", [], var=("numbers", N), ret=N)
def min_(ctx: Any, *nums: Any) -> Any:
    if not nums:
        raise Fail("must pass at least one number")
    return min(nums)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_big_int(s: str, base: int) -> Any:
    """big.Int.SetString(s, base) for 2 <= base <= 62; None when it does not parse."""
    text = s
    neg = False
    if text[:1] in "+-" and text:
        neg = text[0] == "-"
        text = text[1:]
    if not text:
        return None
    value = 0
    for ch in text:
        if base <= 36:
            d = _DIGITS.find(ch.lower())
        else:
            d = _DIGITS.find(ch)
        if d < 0 or d >= base:
            return None
        value = value * base + d
    return -value if neg else value


@function("parseint", [("number", V.DYNAMIC), ("base", N)], ret=N)
def parseint(ctx: Any, number: Any, base: Any) -> Any:
    if not isinstance(number, str):
        raise ArgError(0, f"first argument must be a string, not {V.friendly_name(V.type_of(number))}")
    if isinstance(base, float) and base != int(base):
        raise ArgError(1, "value must be a whole number")
    b = int(base)
    if b < 2 or b > 62:
        raise ArgError(1, "base must be a whole number between 2 and 62 inclusive")
    result = _parse_big_int(number, b)
    if result is None:
        raise ArgError(0, f"cannot parse {V._go_quote(number)} as a base {b} integer")
    return result

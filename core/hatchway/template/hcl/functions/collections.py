"""Collection functions: go-cty stdlib's collection, sequence and set functions, go-cty-funcs'
coalesce, and Packer's index, length, sum, alltrue, anytrue."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, Param, function, to_int
from hatchway.template.hcl.functions.text import graphemes

S, N, B, D = V.STRING, V.NUMBER, V.BOOL, V.DYNAMIC


# -- Packer's own ------------------------------------------------------------------------------

@function("length", [Param("value", D, allow_unknown=True)], ret=N)
def length(ctx: Any, v: Any) -> Any:
    if isinstance(v, V.Unknown):
        if v.type.kind in ("string", "list", "set", "map", "dynamic"):
            return V.Unknown(N)
        if v.type.kind == "tuple":
            return len(v.type.elems)
        if v.type.kind == "object":
            return len(v.type.attrs)
        raise Fail("argument must be a string, a collection type, or a structural type")
    if isinstance(v, str):
        return len(graphemes(v))
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise ArgError(0, "argument must be a string, a collection type, or a structural type")


@function("index", [("list", D), ("value", D)], ret=N)
def index(ctx: Any, lst: Any, value: Any) -> Any:
    if not isinstance(lst, list):
        raise Fail("argument must be a list or tuple")
    if not lst:
        raise Fail("cannot search an empty list")
    for i, x in enumerate(lst):
        eq = V.equals(x, value)
        if isinstance(eq, V.Unknown):
            return V.Unknown(N)
        if eq:
            return i
    raise Fail("item not found")


@function("sum", [("list", D)], ret=N)
def sum_(ctx: Any, lst: Any) -> Any:
    if not isinstance(lst, (list, tuple, dict)):
        raise ArgError(0, "cannot sum noniterable")
    if len(lst) == 0:
        raise ArgError(0, "cannot sum an empty list")
    if isinstance(lst, dict):
        raise ArgError(0, f"argument must be list, set, or tuple. Received {V.friendly_name(V.type_of(lst))}")
    if not V.is_known(lst):
        return V.Unknown(N)
    total: Any = 0
    for x in lst:
        if x is None:
            raise ArgError(0, "argument must be list, set, or tuple of number values")
        try:
            n = V.convert(x, N)
        except V.ConversionError:
            raise ArgError(0, "argument must be list, set, or tuple of number values") from None
        try:
            total = V.arith("+", total, n)
        except ArithmeticError as e:
            raise Fail(str(e)) from None
    return total


@function("alltrue", [("list", V.List(B))], ret=B)
def alltrue(ctx: Any, lst: List[Any]) -> Any:
    for x in lst:
        if isinstance(x, V.Unknown):
            return V.Unknown(B)
        if x is None or not x:
            return False
    return True


@function("anytrue", [("list", V.List(B))], ret=B)
def anytrue(ctx: Any, lst: List[Any]) -> Any:
    unknown = False
    for x in lst:
        if isinstance(x, V.Unknown):
            unknown = True
            continue
        if x:
            return True
    return V.Unknown(B) if unknown else False


# -- go-cty-funcs ------------------------------------------------------------------------------

@function("coalesce", [], var=Param("vals", D, allow_null=True, allow_unknown=True))
def coalesce(ctx: Any, *vals: Any) -> Any:
    types = [V.type_of(v) for v in vals]
    ret = V.unify_unsafe(types) if types else None
    if ret is None:
        raise Fail("all arguments must have the same type")
    for v in vals:
        v = V.convert(v, ret)
        if isinstance(v, V.Unknown):
            return V.Unknown(ret)
        if v is None:
            continue
        if ret == S and v == "":
            continue
        return v
    raise Fail("no non-null, non-empty-string arguments")


# -- go-cty stdlib -----------------------------------------------------------------------------

@function("coalescelist", [], var=Param("vals", D, allow_null=True, allow_unknown=True))
def coalescelist(ctx: Any, *vals: Any) -> Any:
    if not vals:
        raise Fail("at least one argument is required")
    for v in vals:
        if v is not None and not isinstance(v, V.Unknown) and not isinstance(v, list):
            raise Fail("coalescelist arguments must be lists or tuples")
    for v in vals:
        if isinstance(v, V.Unknown):
            return V.Unknown(v.type)
        if v is None:
            continue
        if len(v) > 0:
            return v
    raise Fail("no non-null arguments")


@function("compact", [("list", V.List(S))], ret=V.List(S))
def compact(ctx: Any, lst: List[Any]) -> Any:
    if not V.is_known(lst):
        return V.Unknown(V.List(S))
    return [x for x in lst if x is not None and x != ""]


@function("concat", [], var=("seqs", D))
def concat(ctx: Any, *seqs: Any) -> Any:
    if not seqs:
        raise Fail("at least one argument is required")
    out: List[Any] = []
    for i, s in enumerate(seqs):
        if not isinstance(s, list):
            raise ArgError(i, f"all arguments must be lists or tuples; got {V.friendly_name(V.type_of(s))}")
        out.extend(s)
    return out


@function("contains", [("list", D), ("value", D)], ret=B)
def contains(ctx: Any, lst: Any, value: Any) -> Any:
    if not isinstance(lst, (list, tuple)):
        raise Fail("argument must be list, tuple, or set")
    if not lst:
        return False
    unknown = False
    for x in lst:
        eq = V.equals(value, x)
        if isinstance(eq, V.Unknown):
            unknown = True
            continue
        if eq:
            return True
    return V.Unknown(B) if unknown else False


@function("distinct", [("list", V.List(D))])
def distinct(ctx: Any, lst: List[Any]) -> Any:
    if not V.is_known(lst):
        return V.Unknown(D)
    out: List[Any] = []
    for x in lst:
        if not any(V.equals(x, y) is True for y in out):
            out.append(x)
    return out


@function("chunklist", [("list", V.List(D)), ("size", N)])
def chunklist(ctx: Any, lst: List[Any], size: Any) -> Any:
    n = to_int(size, None, "invalid size: ")
    if n < 0:
        raise Fail("the size argument must be positive")
    if not lst:
        return []
    if n == 0:
        return [lst]
    return [lst[i:i + n] for i in range(0, len(lst), n)]


class _UnknownSequence(Exception):
    pass


def _flatten(v: Any) -> List[Any]:
    out: List[Any] = []
    for x in v:
        if isinstance(x, V.Unknown) and x.type.kind in ("dynamic", "list", "set", "tuple"):
            raise _UnknownSequence
        if isinstance(x, (list, tuple)):
            out.extend(_flatten(x))
        else:
            out.append(x)
    return out


@function("flatten", [("list", D)])
def flatten(ctx: Any, lst: Any) -> Any:
    if not isinstance(lst, (list, tuple)):
        raise Fail("can only flatten lists, sets and tuples")
    try:
        return _flatten(lst)
    except _UnknownSequence:   # go-cty: the result's length is not known
        return V.Unknown(D)


def _sorted_keys(m: Dict[str, Any]) -> List[str]:
    return sorted(m, key=lambda k: k.encode("utf-8"))


@function("keys", [Param("inputMap", D, allow_unknown=True)])
def keys(ctx: Any, m: Any) -> Any:
    if isinstance(m, V.Unknown):
        if m.type.kind == "object":
            return _sorted_keys(dict.fromkeys(m.type.attrs))
        if m.type.kind in ("map", "dynamic"):
            return V.Unknown(V.List(S) if m.type.kind == "map" else D)
        raise ArgError(0, "must have map or object type")
    if not isinstance(m, dict):
        raise ArgError(0, "must have map or object type")
    if not V.is_known(m):
        pass
    return _sorted_keys(m)


@function("values", [("mapping", D)])
def values(ctx: Any, m: Any) -> Any:
    if not isinstance(m, dict):
        raise Fail("values() requires a map as the first argument")
    return [m[k] for k in _sorted_keys(m)]


@function("lookup", [("inputMap", D), ("key", S), ("default", D)])
def lookup(ctx: Any, m: Any, key: str, default: Any) -> Any:
    if not isinstance(m, dict):
        raise ArgError(0, "lookup() requires a map as the first argument")
    if not V.is_known(m):
        return V.Unknown(D)
    if key in m:
        return m[key]
    return default


@function("merge", [], var=Param("maps", D, allow_null=True))
def merge(ctx: Any, *maps: Any) -> Any:
    out: Dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, dict):
            raise Fail(f"arguments must be maps or objects, got {V._go_quote(V.friendly_name(V.type_of(m)))}")
        for k, v in m.items():
            out.pop(k, None)
            out[k] = v
    return out


@function("reverse", [("list", D)])
def reverse(ctx: Any, lst: Any) -> Any:
    if isinstance(lst, V.SetValue) or not isinstance(lst, list):
        raise ArgError(0, f"can only reverse list or tuple values, not {V.friendly_name(V.type_of(lst))}")
    return list(reversed(lst))


@function("range", [], var=("params", N), ret=V.List(N))
def range_(ctx: Any, *params: Any) -> Any:
    if len(params) == 1:
        start, end, step = 0, params[0], 1
    elif len(params) == 2:
        start, end = params
        step = 1 if end >= start else -1
    elif len(params) == 3:
        start, end, step = params
    else:
        raise Fail("must have one, two, or three arguments")
    if step == 0:
        raise ArgError(2, "step must not be zero")
    if step < 0 and end > start:
        raise ArgError(1, "end must be less than start when step is negative")
    if step > 0 and end < start:
        raise ArgError(1, "end must be greater than start when step is positive")
    out: List[Any] = []
    v = start
    while (step > 0 and v < end) or (step < 0 and v > end):
        if len(out) >= 1024:
            raise Fail("more than 1024 values were generated; either decrease the difference "
                       "between start and end or use a smaller step")
        out.append(V.normalize_number(v))
        v = v + step
    return out


@function("slice", [("list", D), ("start_index", N), ("end_index", N)])
def slice_(ctx: Any, lst: Any, start: Any, end: Any) -> Any:
    if isinstance(lst, V.SetValue):
        raise ArgError(0, "cannot slice a set, because its elements do not have indices; explicitly "
                          "convert to a list if the ordering of the result is not important")
    if not isinstance(lst, list):
        raise ArgError(0, "must be a list or tuple value")
    s = to_int(start, 1, "invalid start index: ")
    e = to_int(end, 2, "invalid end index: ")
    if s < 0:
        raise ArgError(1, "start index must not be less than zero")
    if s > len(lst):
        raise ArgError(1, "start index must not be greater than the length of the list")
    if e < 0:
        raise ArgError(2, "end index must not be less than zero")
    if e > len(lst):
        raise ArgError(2, "end index must not be greater than the length of the list")
    if s > e:
        raise ArgError(1, "start index must not be greater than end index")
    return lst[s:e]


@function("sort", [Param("list", V.List(S), allow_unknown=True)], ret=V.List(S))
def sort(ctx: Any, lst: Any) -> Any:
    if not V.is_known(lst):
        return V.Unknown(V.List(S))
    for i, x in enumerate(lst):
        if x is None:
            raise Fail(f"given list element {i} is null; a null string cannot be sorted")
    return sorted(lst, key=lambda s: s.encode("utf-8"))


@function("element", [("list", D), ("index", N)])
def element(ctx: Any, lst: Any, idx: Any) -> Any:
    if not isinstance(lst, list):
        raise Fail(f"cannot read elements from {V.friendly_name(V.type_of(lst))}")
    if isinstance(idx, float) and idx != int(idx):
        raise Fail("invalid index: value must be a whole number")
    i = int(idx)
    if i < 0:
        raise Fail("cannot use element function with a negative index")
    if not lst:
        raise Fail("cannot use element function with an empty list")
    return lst[i % len(lst)]


@function("zipmap", [("keys", V.List(S)), ("values", D)])
def zipmap(ctx: Any, ks: List[Any], vs: Any) -> Any:
    if not isinstance(vs, list):
        raise Fail("values argument must be a list or tuple value")
    if len(ks) != len(vs):
        raise Fail(f"number of keys ({len(ks)}) does not match number of values ({len(vs)})")
    out: Dict[str, Any] = {}
    for i, (k, v) in enumerate(zip(ks, vs)):
        if k is None:
            raise Fail(f"keys list has null value at index {i}")
        out[k] = v
    return out


# -- sets --------------------------------------------------------------------------------------

def _set_args(args: List[Any]) -> List[V.SetValue]:
    types = [V.type_of(a) for a in args]
    etys = [t.elem for t in types if t.elem is not None and t.elem != D]
    ety = V.unify(etys) if etys else D
    if ety is None:
        raise Fail("given sets must all have compatible element types")
    return [V.convert(a, V.Set(ety)) for a in args]


@function("setunion", [("first_set", V.Set(D))], var=("other_sets", V.Set(D)))
def setunion(ctx: Any, first: Any, *others: Any) -> Any:
    sets = _set_args([first, *others])
    return V.SetValue(x for s in sets for x in s)


@function("setintersection", [("first_set", V.Set(D))], var=("other_sets", V.Set(D)))
def setintersection(ctx: Any, first: Any, *others: Any) -> Any:
    sets = _set_args([first, *others])
    result = [x for x in sets[0] if all(any(V.equals(x, y) is True for y in s) for s in sets[1:])]
    return V.SetValue(result)


@function("setproduct", [], var=Param("sets", D, allow_unknown=True))
def setproduct(ctx: Any, *sets: Any) -> Any:
    if len(sets) < 2:
        raise Fail("at least two arguments are required")
    all_sets = True
    given = []
    for i, s in enumerate(sets):
        if isinstance(s, V.Unknown):
            return V.Unknown(D)
        if not isinstance(s, (list, tuple)):
            raise ArgError(i, "a set or a list is required")
        if not isinstance(s, V.SetValue):
            all_sets = False
            try:   # a tuple's elements take their common type, as a list's
                s = V.convert(s, V.List(D))
            except V.ConversionError:
                raise ArgError(i, "all elements must be of the same type") from None
        given.append(s)
    sets = tuple(given)
    if any(len(s) == 0 for s in sets):
        return V.SetValue() if all_sets else []
    product = [list(p) for p in itertools.product(*sets)]
    return V.SetValue(product) if all_sets else product

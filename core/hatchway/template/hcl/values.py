"""HCL2 types and values with go-cty's semantics (conversion, unification, equality).

Values are Python natives: ``None`` is null, ``str`` a string, ``bool`` a bool, ``int``/``float``
a number (``int`` whenever the number is integral, never ``bool``), ``list`` a list or tuple,
``dict`` a map or object (insertion order kept), :class:`SetValue` a set (unique elements in
go-cty's set order) and :class:`Unknown` a value not known yet (of a given type).

A native carries no declared type: :func:`type_of` gives the type an HCL literal of that shape
has (tuple and object types for ``list`` and ``dict``), and :func:`convert` turns a value into
what go-cty's ``convert.Convert`` would give for the wanted type, raising :class:`ConversionError`
worded as go-cty words it. The rules follow go-cty v1.13 (the version Packer 1.16 builds with).
"""

from __future__ import annotations

import functools
import math
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any, Callable, Dict, Iterable, List as _List, Mapping, Optional, Sequence, Tuple as _Tuple

__all__ = [
    "Type", "STRING", "NUMBER", "BOOL", "DYNAMIC", "List", "Set", "Map", "Tuple", "Object",
    "NO_DEFAULT", "SetValue", "Unknown", "UNKNOWN", "is_known", "type_of", "convert", "unify",
    "equals", "to_string", "number_from_string", "format_number", "ConversionError",
    "friendly_name", "mismatch_message", "can_convert", "is_number", "set_sort_key", "arith",
    "normalize_number", "unify_unsafe",
]


class _NoDefault:
    """Marker: an ``optional(T)`` object attribute without a default."""

    _instance: Optional["_NoDefault"] = None

    def __new__(cls) -> "_NoDefault":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Type:
    """An HCL type; frozen and hashable. ``str(t)`` is HCL type-constraint syntax."""

    __slots__ = ("kind", "elem", "elems", "attrs", "optional", "_hash")

    kind: str
    elem: Optional["Type"]
    elems: _Tuple["Type", ...]
    attrs: Mapping[str, "Type"]
    optional: Mapping[str, Any]

    def __init__(self, kind: str, elem: Optional["Type"] = None, elems: Sequence["Type"] = (),
                 attrs: Optional[Mapping[str, "Type"]] = None,
                 optional: Optional[Mapping[str, Any]] = None) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "elem", elem)
        object.__setattr__(self, "elems", tuple(elems))
        object.__setattr__(self, "attrs", dict(sorted((attrs or {}).items())))
        object.__setattr__(self, "optional", dict(optional or {}))
        object.__setattr__(self, "_hash", hash((kind, elem, self.elems,
                                                tuple(self.attrs.items()),
                                                tuple(sorted(self.optional)))))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Type is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Type):
            return NotImplemented
        return (self.kind == other.kind and self.elem == other.elem and self.elems == other.elems
                and self.attrs == other.attrs and set(self.optional) == set(other.optional))

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return self._hash

    # -- predicates ---------------------------------------------------------------------------
    @property
    def is_primitive(self) -> bool:
        return self.kind in ("string", "number", "bool")

    @property
    def is_collection(self) -> bool:
        return self.kind in ("list", "set", "map")

    @property
    def is_structural(self) -> bool:
        return self.kind in ("tuple", "object")

    def has_dynamic(self) -> bool:
        """True if this type is, or contains, ``any``."""
        if self.kind == "dynamic":
            return True
        if self.elem is not None:
            return self.elem.has_dynamic()
        return any(t.has_dynamic() for t in self.elems) or any(
            t.has_dynamic() for t in self.attrs.values())

    def without_optional(self) -> "Type":
        """The same type with every ``optional`` marker removed (deeply)."""
        if self.elem is not None:
            return Type(self.kind, elem=self.elem.without_optional())
        if self.kind == "tuple":
            return Tuple([t.without_optional() for t in self.elems])
        if self.kind == "object":
            return Object({k: t.without_optional() for k, t in self.attrs.items()})
        return self

    def __str__(self) -> str:
        if self.kind == "dynamic":
            return "any"
        if self.is_primitive:
            return self.kind
        if self.elem is not None:
            return f"{self.kind}({self.elem})"
        if self.kind == "tuple":
            return "tuple([" + ",".join(str(t) for t in self.elems) + "])"
        parts = []
        for name, t in self.attrs.items():
            key = name if _IDENT.match(name) else _go_quote(name)
            text = str(t)
            if name in self.optional:
                default = self.optional[name]
                text = f"optional({text})" if default is NO_DEFAULT else \
                    f"optional({text}, {_literal(default)})"
            parts.append(f"{key}={text}")
        return "object({" + ",".join(parts) + "})"

    def __repr__(self) -> str:
        return f"Type({self})"


def _literal(v: Any) -> str:
    """HCL literal text for a default value (for ``str(type)`` only)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(v)
    if isinstance(v, str):
        return _go_quote(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_go_quote(k)} = {_literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_literal(x) for x in v) + "]"
    return repr(v)


STRING = Type("string")
NUMBER = Type("number")
BOOL = Type("bool")
DYNAMIC = Type("dynamic")


def List(elem: Type) -> Type:  # noqa: N802 - mirrors cty.List
    return Type("list", elem=elem)


def Set(elem: Type) -> Type:  # noqa: N802
    return Type("set", elem=elem)


def Map(elem: Type) -> Type:  # noqa: N802
    return Type("map", elem=elem)


def Tuple(elems: Sequence[Type]) -> Type:  # noqa: N802
    return Type("tuple", elems=elems)


def Object(attrs: Mapping[str, Type], optional: Optional[Mapping[str, Any]] = None) -> Type:  # noqa: N802
    """An object type; ``optional`` maps optional attribute names to their default (or NO_DEFAULT)."""
    optional = dict(optional or {})
    unknown = set(optional) - set(attrs)
    if unknown:
        raise ValueError(f"optional attributes not in the object type: {sorted(unknown)}")
    return Type("object", attrs=attrs, optional=optional)


def friendly_name(t: Type, constraint: bool = False) -> str:
    """go-cty's FriendlyName (or FriendlyNameForConstraint) of a type."""
    if t.kind == "dynamic":
        return "any type" if constraint else "dynamic"
    if t.is_primitive:
        return t.kind
    if t.elem is not None:
        assert t.elem is not None
        inner = friendly_name(t.elem, constraint)
        if constraint and t.elem.kind == "dynamic":
            inner = "any single type"
        return f"{t.kind} of {inner}"
    return t.kind


# -- values ------------------------------------------------------------------------------------

class Unknown:
    """A value not known yet (``build.Host`` at validation, results computed from those)."""

    __slots__ = ("type",)

    def __init__(self, type: Type = DYNAMIC) -> None:  # noqa: A002 - the go-cty word
        object.__setattr__(self, "type", type)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Unknown is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.type == self.type

    def __hash__(self) -> int:
        return hash(("unknown", self.type))

    def __repr__(self) -> str:
        return f"Unknown({self.type})"


UNKNOWN = Unknown(DYNAMIC)


def is_number(v: Any) -> bool:
    """True for an int or float that is not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _hash_bytes(v: Any) -> str:
    """go-cty's set hash text of a value (used to order sets of non-primitive values)."""
    if isinstance(v, Unknown):
        return "?"
    if v is None:
        return "~"
    if isinstance(v, bool):
        return "T" if v else "F"
    if is_number(v):
        return _go_g10(v)
    if isinstance(v, str):
        return _go_quote(v)
    if isinstance(v, SetValue):
        return "[" + "".join(_hash_bytes(x) + ";" for x in v) + "]"
    if isinstance(v, list):
        return "<" + "".join(_hash_bytes(x) + ";" for x in v) + ">"
    if isinstance(v, dict):
        return "<" + "".join(_hash_bytes(v[k]) + ";" for k in sorted(v)) + ">"
    return repr(v)


def _go_g10(n: Any) -> str:
    """big.Float.String(): %.10g."""
    text = "%.10g" % n
    if "e" in text:
        mant, exp = text.split("e")
        sign = exp[0]
        digits = exp[1:].lstrip("0").rjust(2, "0")
        text = f"{mant}e{sign}{digits}"
    return text


def set_sort_key(values: Sequence[Any]) -> Callable[[Any], Any]:
    """The key that orders a set's elements as go-cty iterates them.

    Strings sort by bytes, numbers numerically, false before true, others by their hash text;
    null and unknown elements go last."""
    known = [v for v in values if v is not None and not isinstance(v, Unknown)]
    if known and all(isinstance(v, str) for v in known):
        def inner(v: Any) -> Any:
            return v.encode("utf-8")
    elif known and all(is_number(v) for v in known):
        def inner(v: Any) -> Any:
            return v
    elif known and all(isinstance(v, bool) for v in known):
        def inner(v: Any) -> Any:
            return 1 if v else 0
    else:
        def inner(v: Any) -> Any:
            return _hash_bytes(v).encode("utf-8")

    def key(v: Any) -> Any:
        if v is None:
            return (2, 0)
        if isinstance(v, Unknown):
            return (1, 0)
        return (0, inner(v))
    return key


class SetValue(tuple):
    """A set value: unique elements (go-cty equality) in go-cty's set iteration order."""

    def __new__(cls, items: Iterable[Any] = ()) -> "SetValue":
        unique: _List[Any] = []
        for item in items:
            if isinstance(item, Unknown) or not any(
                    not isinstance(u, Unknown) and equals(u, item) is True for u in unique):
                unique.append(item)
        unique.sort(key=set_sort_key(unique))
        return super().__new__(cls, unique)

    def __repr__(self) -> str:
        return "SetValue(" + repr(list(self)) + ")"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SetValue):
            return False
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__


def is_known(v: Any) -> bool:
    """False if ``v`` or anything inside it is :class:`Unknown`."""
    if isinstance(v, Unknown):
        return False
    if isinstance(v, (list, tuple)):
        return all(is_known(x) for x in v)
    if isinstance(v, dict):
        return all(is_known(x) for x in v.values())
    return True


def type_of(v: Any) -> Type:
    """The type of a native value, as an HCL literal of that shape has it."""
    if v is None:
        return DYNAMIC
    if isinstance(v, Unknown):
        return v.type
    if isinstance(v, bool):
        return BOOL
    if is_number(v):
        return NUMBER
    if isinstance(v, str):
        return STRING
    if isinstance(v, SetValue):
        known = [type_of(x) for x in v if x is not None]
        if not known:
            return Set(DYNAMIC)
        ety = unify(known)
        return Set(ety if ety is not None else DYNAMIC)
    if isinstance(v, (list, tuple)):
        return Tuple([type_of(x) for x in v])
    if isinstance(v, dict):
        return Object({str(k): type_of(x) for k, x in v.items()})
    raise TypeError(f"not an HCL value: {v!r}")


class ConversionError(ValueError):
    """A value cannot be converted; the message is worded as go-cty words it.

    ``path`` is the attribute/index path inside the value (strings for attributes and map keys,
    ints for list indexes), possibly empty."""

    def __init__(self, message: str, path: Optional[Sequence[Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.path: list = list(path or [])

    def __str__(self) -> str:
        return self.message


# -- numbers -----------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def _normalize_number(d: Decimal) -> Any:
    if d == d.to_integral_value():
        if abs(d.adjusted()) > 4000:
            return float(d)
        return int(d)
    return float(d)


def number_from_string(s: str) -> Any:
    """Parse a number as go-cty's ParseNumberVal does (decimal, optional exponent).

    Returns an int when the number is integral, else a float; raises ConversionError."""
    if isinstance(s, str) and s.lstrip("+-") in ("Inf", "inf") and len(s) - len(s.lstrip("+-")) <= 1:
        return -math.inf if s.startswith("-") else math.inf   # big.Float.Parse accepts ±Inf
    if not isinstance(s, str) or not _NUMBER_RE.match(s):
        raise ConversionError("a number is required")
    try:
        d = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise ConversionError("a number is required") from None
    return _normalize_number(d)


def normalize_number(n: Any) -> Any:
    """An int for an integral finite number, the float otherwise (bools refused)."""
    if isinstance(n, bool):
        raise TypeError("a bool is not a number")
    if isinstance(n, float) and math.isfinite(n) and n == int(n) and abs(n) < 2 ** 63:
        return int(n)
    return n


_ARITH = Context(prec=160, rounding=ROUND_HALF_EVEN)   # about go-cty's 512-bit mantissa


def _dec(n: Any) -> Decimal:
    return Decimal(n) if isinstance(n, int) else Decimal(repr(n))


def arith(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for numbers (op in + - * / %) computed on their decimal digits, as go-cty's
    512-bit big.Float arithmetic gives for decimal literals (0.1 + 0.2 is 0.3). Division by zero
    gives infinity as go-cty does, 0/0 and inf-inf raise ArithmeticError with go-cty's words;
    ``%`` is go-cty's Modulo (truncated division, ``x % 0`` is ``x``)."""
    if isinstance(a, float) and not math.isfinite(a) or isinstance(b, float) and not math.isfinite(b):
        if op == "%":
            return a * b
        if op == "/" and not b:
            return math.copysign(math.inf, a)
        r = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[op]()
        if r != r:
            raise ArithmeticError({"+": "can't compute sum of opposing infinities",
                                   "-": "can't subtract infinity from itself",
                                   "*": "can't multiply zero by infinity",
                                   "/": "can't divide zero by zero or infinity by infinity"}[op])
        return r
    if isinstance(a, int) and isinstance(b, int) and op in "+-*":
        return a + b if op == "+" else a - b if op == "-" else a * b
    x, y = _dec(a), _dec(b)
    if op == "+":
        r = _ARITH.add(x, y)
    elif op == "-":
        r = _ARITH.subtract(x, y)
    elif op == "*":
        r = _ARITH.multiply(x, y)
    elif op == "/":
        if y == 0:
            if x == 0:
                raise ArithmeticError("can't divide zero by zero or infinity by infinity")
            return math.inf if x > 0 else -math.inf
        r = _ARITH.divide(x, y)
    elif op == "%":
        if y == 0:       # go-cty: x % 0 is x
            return a
        r = _ARITH.remainder(x, y)   # truncated division: the sign of the dividend
    else:
        raise ValueError(f"unknown operator {op!r}")
    return _normalize_number(r)


def format_number(n: Any) -> str:
    """A number as go-cty writes it (big.Float Text('f', -1)): no exponent, shortest digits."""
    if isinstance(n, bool):
        raise TypeError("a bool is not a number")
    if isinstance(n, int):
        return str(n)
    if math.isinf(n):
        return "+Inf" if n > 0 else "-Inf"
    if math.isnan(n):
        return "NaN"
    if n == int(n):
        return str(int(n))
    text = format(Decimal(repr(n)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_string(v: Any) -> Any:
    """The string conversion used by ``"${...}"``: strings as is, numbers as go-cty prints them,
    bools ``true``/``false``. Unknown gives ``Unknown(STRING)``; null and collections raise."""
    if isinstance(v, Unknown):
        if v.type.kind in ("string", "number", "bool", "dynamic"):
            return Unknown(STRING)
        raise ConversionError("string required")
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_number(v):
        return format_number(v)
    if v is None:
        raise ConversionError("string required")
    raise ConversionError("string required")


# -- equality ----------------------------------------------------------------------------------

def equals(a: Any, b: Any) -> Any:
    """go-cty equality: numbers by value (1 == 1.0), no string/number or bool/number equality,
    collections element by element. Returns ``Unknown(BOOL)`` when an unknown decides it."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return Unknown(BOOL)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, SetValue) or isinstance(b, SetValue):
        if not (isinstance(a, SetValue) and isinstance(b, SetValue)) or len(a) != len(b):
            return False
        if not is_known(a) or not is_known(b):
            return Unknown(BOOL)
        return all(any(equals(x, y) is True for y in b) for x in a)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        return _all_equal(zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        return _all_equal((a[k], b[k]) for k in a)
    return False


def _all_equal(pairs: Iterable[_Tuple[Any, Any]]) -> Any:
    unknown = False
    for x, y in pairs:
        r = equals(x, y)
        if r is False:
            return False
        if r is not True:
            unknown = True
    return Unknown(BOOL) if unknown else True


# -- conversion: which conversions exist (go-cty getConversion) ---------------------------------

@functools.lru_cache(maxsize=8192)
def can_convert(in_t: Type, out_t: Type, unsafe: bool = True) -> bool:
    """True if go-cty has a conversion from ``in_t`` to ``out_t``."""
    if out_t.kind == "dynamic" or in_t == out_t:
        return True
    if in_t.kind == "dynamic":
        return unsafe
    if in_t.is_primitive and out_t.is_primitive:
        if out_t == STRING:
            return True
        return unsafe and in_t == STRING
    if out_t.kind == "object" and in_t.kind == "object":
        for name, aty in out_t.attrs.items():
            if name not in in_t.attrs:
                if name in out_t.optional:
                    continue
                return False
            if not can_convert(in_t.attrs[name], aty, unsafe):
                return False
        return True
    if out_t.kind == "tuple" and in_t.kind == "tuple":
        return len(in_t.elems) == len(out_t.elems) and all(
            can_convert(i, o, unsafe) for i, o in zip(in_t.elems, out_t.elems))
    if out_t.kind == "list" and in_t.kind in ("list", "set"):
        return can_convert(in_t.elem, out_t.elem, unsafe)  # type: ignore[arg-type]
    if out_t.kind == "set" and in_t.kind in ("list", "set"):
        if in_t.kind == "list" and not unsafe:
            return False
        return can_convert(in_t.elem, out_t.elem, unsafe)  # type: ignore[arg-type]
    if out_t.kind == "map" and in_t.kind == "map":
        return can_convert(in_t.elem, out_t.elem, unsafe)  # type: ignore[arg-type]
    if out_t.kind in ("list", "set") and in_t.kind == "tuple":
        return _structural_elem_type(list(in_t.elems), out_t.elem, unsafe) is not None  # type: ignore[arg-type]
    if out_t.kind == "map" and in_t.kind == "object":
        return _structural_elem_type(list(in_t.attrs.values()), out_t.elem, unsafe) is not None  # type: ignore[arg-type]
    if out_t.kind == "object" and in_t.kind == "map":
        if not unsafe:
            return False
        for name, aty in out_t.attrs.items():
            if not can_convert(in_t.elem, aty, unsafe):  # type: ignore[arg-type]
                if name in out_t.optional:
                    continue
                return False
        return True
    return False


def _structural_elem_type(etys: _List[Type], want: Type, unsafe: bool) -> Optional[Type]:
    """The element type a tuple/object converts to for a collection of ``want`` (None: none)."""
    if not etys:
        return want
    if want.kind == "dynamic":
        ety, _ = _unify(etys, unsafe)
        if ety is None:
            return None
        if ety.kind == "dynamic" and any(t.kind != "dynamic" for t in etys):
            return None
        want = ety
    for t in etys:
        if t != want and not can_convert(t, want, unsafe):
            return None
    return want


# -- unification (go-cty unify) -----------------------------------------------------------------

def unify(types: Sequence[Type]) -> Optional[Type]:
    """go-cty's (safe) unification: the type all ``types`` convert to, or None when none does."""
    t, _ = _unify(list(types), False)
    return t


def unify_unsafe(types: Sequence[Type]) -> Optional[Type]:
    """go-cty's UnifyUnsafe (allows string to number/bool conversions)."""
    t, _ = _unify(list(types), True)
    return t


def _unify(types: _List[Type], unsafe: bool) -> _Tuple[Optional[Type], bool]:
    # duplicates change nothing in go-cty's algorithm (equal types never order each other)
    return _unify_unique(tuple(dict.fromkeys(types)), unsafe)


@functools.lru_cache(maxsize=4096)
def _unify_unique(unique: _Tuple[Type, ...], unsafe: bool) -> _Tuple[Optional[Type], bool]:
    types = list(unique)
    if not types:
        return None, False
    counts = {k: 0 for k in ("map", "list", "set", "object", "tuple", "dynamic")}
    for t in types:
        if t.kind in counts:
            counts[t.kind] += 1
    n = len(types)
    dyn = counts["dynamic"]
    if counts["map"] and counts["map"] + dyn == n:
        return _unify_collections("map", types, unsafe, dyn > 0), True
    if counts["map"] and counts["map"] + counts["object"] + dyn == n:
        t = _unify_objects_as_maps(types, unsafe)
        if t is not None and t.kind == "map":
            return t, True
    elif counts["list"] and counts["list"] + dyn == n:
        return _unify_collections("list", types, unsafe, dyn > 0), True
    elif counts["list"] and counts["list"] + counts["tuple"] + dyn == n:
        t = _unify_tuples_as_list(types, unsafe)
        if t is not None and t.kind == "list":
            return t, True
    elif counts["set"] and counts["set"] + dyn == n:
        return _unify_collections("set", types, unsafe, dyn > 0), True
    elif counts["object"] and counts["object"] + dyn == n:
        return _unify_object_types(types, unsafe, dyn > 0), True
    elif counts["tuple"] and counts["tuple"] + dyn == n:
        return _unify_tuple_types(types, unsafe, dyn > 0), True
    elif counts["object"] and counts["tuple"]:
        return None, True
    for want_idx in _sort_types(types):
        want = types[want_idx]
        if all(i == want_idx or t == want or can_convert(t, want, unsafe)
               for i, t in enumerate(types)):
            return want, True
    return None, True


def _unify_collections(kind: str, types: _List[Type], unsafe: bool, has_dynamic: bool) -> Optional[Type]:
    if has_dynamic:
        return DYNAMIC
    ety, _ = _unify([t.elem for t in types], unsafe)  # type: ignore[misc]
    if ety is None:
        return None
    ret = Type(kind, elem=ety)
    for t in types:
        if t != ret and not can_convert(t, ret, unsafe):
            return None
    return ret


def _unify_objects_as_maps(types: _List[Type], unsafe: bool) -> Optional[Type]:
    objs = [t for t in types if t.kind == "object"]
    t = _unify_object_types_to_map(objs, unsafe)
    if t is None or t.kind != "map":
        return None
    mapped = [t if x.kind == "object" else x for x in types]
    new, _ = _unify(mapped, unsafe)
    return new if new is not None and new.kind == "map" else None


def _unify_tuples_as_list(types: _List[Type], unsafe: bool) -> Optional[Type]:
    tuples = [t for t in types if t.kind == "tuple"]
    t = _unify_tuple_types_to_list(tuples, unsafe)
    if t is None or t.kind != "list":
        return None
    listed = [t if x.kind == "tuple" else x for x in types]
    new, _ = _unify(listed, unsafe)
    return new if new is not None and new.kind == "list" else None


def _unify_object_types(types: _List[Type], unsafe: bool, has_dynamic: bool) -> Optional[Type]:
    if has_dynamic:
        return DYNAMIC
    first = types[0].attrs
    for t in types[1:]:
        if set(t.attrs) != set(first):
            return _unify_object_types_to_map(types, unsafe)
    attrs = {}
    for name in first:
        aty, _ = _unify([t.attrs[name] for t in types], unsafe)
        if aty is None:
            return None
        attrs[name] = aty
    ret = Object(attrs)
    for t in types:
        if t != ret and not can_convert(t, ret, unsafe):
            return _unify_object_types_to_map(types, unsafe)
    return ret


def _unify_object_types_to_map(types: _List[Type], unsafe: bool) -> Optional[Type]:
    atys = [a for t in types for a in t.attrs.values()]
    ety, _ = _unify(atys, unsafe)
    if ety is None:
        return None
    ret = Map(ety)
    for t in types:
        if t != ret and not can_convert(t, ret, unsafe):
            return None
    return ret


def _unify_tuple_types(types: _List[Type], unsafe: bool, has_dynamic: bool) -> Optional[Type]:
    if has_dynamic:
        return DYNAMIC
    first = types[0].elems
    for t in types[1:]:
        if len(t.elems) != len(first):
            return _unify_tuple_types_to_list(types, unsafe)
    elems = []
    for i in range(len(first)):
        ety, _ = _unify([t.elems[i] for t in types], unsafe)
        if ety is None:
            return None
        elems.append(ety)
    ret = Tuple(elems)
    for t in types:
        if t != ret and not can_convert(t, ret, unsafe):
            return _unify_tuple_types_to_list(types, unsafe)
    return ret


def _unify_tuple_types_to_list(types: _List[Type], unsafe: bool) -> Optional[Type]:
    etys = [e for t in types for e in t.elems]
    ety, _ = _unify(etys, unsafe)
    if ety is None:
        return None
    ret = List(ety)
    for t in types:
        if t != ret and not can_convert(t, ret, unsafe):
            return None
    return ret


def _compare_types(a: Type, b: Type) -> int:
    """go-cty compareTypes: < 0 when ``a`` is preferred over ``b`` for unification."""
    if a.kind == "dynamic" or b.kind == "dynamic":
        if a.kind != "dynamic":
            return -1
        if b.kind != "dynamic":
            return 1
        return 0
    if a.is_primitive and b.is_primitive:
        if a == STRING or b == STRING:
            if a != STRING:
                return 1
            if b != STRING:
                return -1
            return 0
    if a.kind == b.kind and a.kind in ("list", "set", "map"):
        return _compare_types(a.elem, b.elem)  # type: ignore[arg-type]
    swap = 1
    if ((a.kind == "tuple" and b.kind == "list") or (a.kind == "object" and b.kind == "map")
            or (a.kind == "set" and b.kind in ("tuple", "list"))):
        a, b = b, a
        swap = -1
    if b.kind == "set" and a.kind in ("tuple", "list"):
        return -1 * swap
    if a.kind == "list" and b.kind == "tuple":
        return -1 * swap
    if a.kind == "map" and b.kind == "object":
        return -1 * swap
    if (a.kind == "object" and b.kind == "object") or (a.kind == "tuple" and b.kind == "tuple"):
        if a.kind == "object":
            if set(a.attrs) != set(b.attrs):
                return 0
            pairs = [(a.attrs[k], b.attrs[k]) for k in a.attrs]
        else:
            if len(a.elems) != len(b.elems):
                return 0
            pairs = list(zip(a.elems, b.elems))
        a_super = b_super = False
        for x, y in pairs:
            c = _compare_types(x, y)
            if c < 0:
                a_super = True
            elif c > 0:
                b_super = True
        if a_super and b_super:
            return 0
        if a_super:
            return -1 * swap
        if b_super:
            return 1 * swap
        return 0
    return 0


def _sort_types(types: _List[Type]) -> _List[int]:
    """go-cty sortTypes: a topological order of preference (Kahn's algorithm)."""
    n = len(types)
    edges: _List[_List[int]] = [[] for _ in range(n)]
    for i in range(n - 1):
        for j in range(i + 1, n):
            c = _compare_types(types[i], types[j])
            if c < 0:
                edges[i].append(j)
            elif c > 0:
                edges[j].append(i)
    indeg = [0] * n
    for outs in edges:
        for j in outs:
            indeg[j] += 1
    queue = [i for i in range(n) if indeg[i] == 0]
    result = []
    while queue:
        i = queue.pop(0)
        result.append(i)
        for j in edges[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                queue.append(j)
    return result


# -- mismatch messages (go-cty MismatchMessage) -------------------------------------------------

def mismatch_message(got: Type, want: Type) -> str:
    """go-cty's MismatchMessage for a type with no conversion to ``want``."""
    if got.kind == "object" and want.kind == "object":
        return _mismatch_objects(got, want)
    if got.kind == "tuple" and want.kind == "list" and want.elem == DYNAMIC:
        return "all list elements must have the same type"
    if got.kind == "tuple" and want.kind == "set" and want.elem == DYNAMIC:
        return "all set elements must have the same type"
    if got.kind == "object" and want.kind == "map" and want.elem == DYNAMIC:
        return "all map elements must have the same type"
    if got.is_structural and want.is_collection:
        return _mismatch_from_structural(got, want)
    if got.is_collection and want.is_collection:
        return _mismatch_from_collections(got, want)
    return friendly_name(want, True) + " required"


def _mismatch_objects(got: Type, want: Type) -> str:
    missing = []
    unsafe_msg = safe_msg = ""
    for name, wty in want.attrs.items():
        if name not in got.attrs:
            if name not in want.optional:
                missing.append(name)
            continue
        gty = got.attrs[name]
        if gty == wty:
            continue
        if unsafe_msg:
            continue
        if not can_convert(gty, wty, True):
            unsafe_msg = f"attribute {_go_quote(name)}: {mismatch_message(gty, wty)}"
        if safe_msg:
            continue
        if not can_convert(gty, wty, False):
            safe_msg = f"attribute {_go_quote(name)}: {mismatch_message(gty, wty)}"
    if missing:
        missing.sort()
        q = [_go_quote(m) for m in missing]
        if len(q) == 1:
            return f"attribute {q[0]} is required"
        if len(q) == 2:
            return f"attributes {q[0]} and {q[1]} are required"
        return "attributes " + "".join(x + ", " for x in q[:-1]) + f"and {q[-1]} are required"
    return unsafe_msg or safe_msg or "incorrect object attributes"


def _mismatch_from_structural(got: Type, want: Type) -> str:
    if want.kind in ("list", "set") and got.kind != "tuple":
        return friendly_name(want, True) + " required"
    if want.kind == "map" and got.kind != "object":
        return friendly_name(want, True) + " required"
    wety = want.elem
    assert wety is not None
    if got.kind == "tuple":
        for i, gety in enumerate(got.elems):
            if gety == wety or can_convert(gety, wety, True):
                continue
            return f"element {i}: {mismatch_message(gety, wety)}"
    else:
        for name, gety in got.attrs.items():
            if gety == wety or can_convert(gety, wety, True):
                continue
            return f"element {_go_quote(name)}: {mismatch_message(gety, wety)}"
    return f"all elements must be {friendly_name(wety, True)}"


def _mismatch_from_collections(got: Type, want: Type) -> str:
    if want.kind in ("list", "set") and got.kind not in ("list", "set"):
        return friendly_name(want, True) + " required"
    if want.kind == "map" and got.kind != "map":
        return friendly_name(want, True) + " required"
    noun = {"list": "list element type", "set": "set element type", "map": "map element type"}[want.kind]
    return f"incorrect {noun}: {mismatch_message(got.elem, want.elem)}"  # type: ignore[arg-type]


def _go_quote(s: str) -> str:
    """Go's %q of a string (strconv.Quote), as go-cty's messages quote names."""
    from ..gotemplate.gofmt import quote

    return quote(s)


# -- conversion: applying it to a value ---------------------------------------------------------

def convert(v: Any, t: Type) -> Any:
    """go-cty's ``convert.Convert(v, t)`` for a native value.

    Null converts to null of any type, unknown to ``Unknown(t)``; missing or null ``optional``
    object attributes take their default (as HCL's typeexpr defaults do). Raises ConversionError.
    """
    if t.kind == "dynamic":
        return v
    in_t = type_of(v)
    if in_t == t.without_optional() and not t.optional and not _has_optional(t):
        return v
    if not can_convert(in_t, t, True):
        raise ConversionError(mismatch_message(in_t, t))
    return _convert(v, in_t, t, [], True)


def _has_optional(t: Type) -> bool:
    if t.optional:
        return True
    if t.elem is not None:
        return _has_optional(t.elem)
    return any(_has_optional(x) for x in t.elems) or any(_has_optional(x) for x in t.attrs.values())


def _convert(v: Any, in_t: Optional[Type], out: Type, path: _List[Any], unsafe: bool) -> Any:
    """Convert ``v`` (whose type, when already computed, is ``in_t``) to ``out``.

    The caller has checked that the conversion exists at the type level (``can_convert`` on the
    whole value), so only value-level failures remain; element types are computed only where
    go-cty's rules need them (unifying a tuple's or object's elements for ``any``)."""
    if out.kind == "dynamic":
        return v
    if isinstance(v, Unknown):
        return Unknown(_dynamic_replace(v.type, out.without_optional()))
    if v is None:
        return None
    if out.is_primitive:
        return _convert_primitive(v, out, path)
    if out.kind == "object":
        return _convert_object(v, out, path, unsafe)
    if out.kind == "tuple":
        if not isinstance(v, list):
            raise ConversionError(mismatch_message(in_t or type_of(v), out), path)
        return [_convert(x, None, ety, path + [i], unsafe) for i, (x, ety) in enumerate(zip(v, out.elems))]
    ety = out.elem
    assert ety is not None
    if out.kind in ("list", "set"):
        if not isinstance(v, (list, tuple)):
            raise ConversionError(mismatch_message(in_t or type_of(v), out), path)
        items = list(v)
        if ety.kind == "dynamic" and items:
            if isinstance(v, SetValue):
                ety = type_of(v).elem or DYNAMIC
            else:
                ety = _structural_elem_type([type_of(x) for x in items], ety, unsafe) or DYNAMIC
        result = [_convert(x, None, ety, path + [i], unsafe) for i, x in enumerate(items)]
        if out.kind == "list":
            if ety.has_dynamic():
                result = _unify_elements(result, path, unsafe, is_list=True)
            return result
        return SetValue(result)
    # map
    if not isinstance(v, dict):
        raise ConversionError(mismatch_message(in_t or type_of(v), out), path)
    if ety.kind == "dynamic" and v:
        ety = _structural_elem_type([type_of(x) for x in v.values()], ety, unsafe) or DYNAMIC
    result_map = {k: _convert(x, None, ety, path + [k], unsafe) for k, x in v.items()}
    if (ety.is_collection or ety.is_structural or ety.kind == "dynamic") and ety.has_dynamic():
        result_map = _unify_map_elements(result_map, path, unsafe)
    return result_map


def _unify_elements(items: _List[Any], path: _List[Any], unsafe: bool, is_list: bool) -> _List[Any]:
    types = [type_of(x) for x in items if x is not None and not isinstance(x, Unknown)]
    if len(types) < 2 or all(t == types[0] for t in types):
        return items
    ut, _ = _unify(types, unsafe)
    if ut is None:
        raise ConversionError("cannot find a common base type for all elements", path)
    return [x if x is None or isinstance(x, Unknown) or type_of(x) == ut
            else _convert(x, type_of(x), ut, path + [i], unsafe) for i, x in enumerate(items)]


def _unify_map_elements(items: Dict[str, Any], path: _List[Any], unsafe: bool) -> Dict[str, Any]:
    types = [type_of(x) for x in items.values() if x is not None and not isinstance(x, Unknown)]
    if len(types) < 2 or all(t == types[0] for t in types):
        return items
    ut, _ = _unify(types, unsafe)
    if ut is None:
        raise ConversionError("cannot find a common base type for all elements", path)
    return {k: x if x is None or isinstance(x, Unknown) or type_of(x) == ut
            else _convert(x, type_of(x), ut, path + [k], unsafe) for k, x in items.items()}


def _convert_primitive(v: Any, out: Type, path: _List[Any]) -> Any:
    if out == STRING:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if is_number(v):
            return format_number(v)
    elif out == NUMBER:
        if is_number(v):
            return v
        if isinstance(v, str):
            try:
                return number_from_string(v)
            except ConversionError:
                raise ConversionError("a number is required", path) from None
    elif out == BOOL:
        if isinstance(v, bool):
            return v
        if isinstance(v, str):
            if v in ("true", "1"):
                return True
            if v in ("false", "0"):
                return False
            low = v.lower()
            if low in ("true", "false"):
                raise ConversionError(
                    f'a bool is required; to convert from string, use lowercase "{low}"', path)
            raise ConversionError("a bool is required", path)
    raise ConversionError(mismatch_message(type_of(v), out), path)


def _convert_object(v: Any, out: Type, path: _List[Any], unsafe: bool) -> Any:
    if not isinstance(v, dict):
        raise ConversionError(mismatch_message(type_of(v), out), path)
    result: Dict[str, Any] = {}
    for name, aty in out.attrs.items():
        if name in v:
            x = v[name]
            if x is None and name in out.optional and out.optional[name] is not NO_DEFAULT:
                x = out.optional[name]
            result[name] = _convert(x, None, aty, path + [name], unsafe)
        elif name in out.optional:
            default = out.optional[name]
            result[name] = None if default is NO_DEFAULT else \
                _convert(default, None, aty, path + [name], unsafe)
        else:
            raise ConversionError(f"map has no element for required attribute {_go_quote(name)}", path)
    return result


def _dynamic_replace(in_t: Type, out: Type) -> Type:
    """go-cty dynamicReplace: the type of an unknown result (``any`` parts filled from input)."""
    if in_t.kind == "dynamic":
        return out
    if out.kind == "dynamic":
        return in_t
    if out.is_primitive:
        return out
    if out.kind in ("list", "set", "map"):
        if in_t.kind in ("list", "set", "map") and (out.kind == "map") == (in_t.kind == "map"):
            return Type(out.kind, elem=_dynamic_replace(in_t.elem, out.elem))  # type: ignore[arg-type]
        if in_t.is_structural:
            parts = list(in_t.elems) if in_t.kind == "tuple" else list(in_t.attrs.values())
            ut = unify_unsafe(parts) if parts else DYNAMIC
            return Type(out.kind, elem=_dynamic_replace(ut or DYNAMIC, out.elem))  # type: ignore[arg-type]
        return out
    if out.kind == "object":
        attrs = {}
        for name, aty in out.attrs.items():
            if in_t.kind == "map":
                attrs[name] = _dynamic_replace(in_t.elem, aty)  # type: ignore[arg-type]
            elif in_t.kind == "object" and name in in_t.attrs:
                attrs[name] = _dynamic_replace(in_t.attrs[name], aty)
            else:
                attrs[name] = aty
        return Object(attrs)
    if out.kind == "tuple" and in_t.kind == "tuple" and len(in_t.elems) == len(out.elems):
        return Tuple([_dynamic_replace(i, o) for i, o in zip(in_t.elems, out.elems)])
    return out

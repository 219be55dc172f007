"""Template keys -> attrs config objects, with every problem reported at once.

A config class is an ``attrs`` class (``@attrs.define(kw_only=True)``) whose
field names are template keys. Field types drive conversion, the way
Packer's weakly typed decoding does (``"22"`` is a fine ``int``, ``"echo hi"``
a one-element list; see :func:`convert`, the one place these rules live):

``str``, ``int``, ``float``, ``bool``, :class:`~hatchway.durations.Duration`,
:class:`Port`, ``List[...]``, ``Dict[str, ...]``, ``Optional[...]``, ``Literal[...]``
and ``Any``. A ``null`` value, and ``""`` for a number, leave the field at its
default (Packer: the zero value, which its ``Prepare`` replaces by the default).

:func:`option` adds what attrs does not know: ``help``, ``secret``
(values are redacted from all output), ``path`` (``~`` is expanded),
``required`` and ``aliases`` (deprecated spellings, e.g. ``ssh_wait_timeout``).

A config class may define ``check(self)`` (or ``check(self, context)``, to see
the template's directory and build name) yielding ``(key, message)``,
``(key, message, hint)`` or ``(key, message, hint, "warning")`` for rules between keys.
"""
from __future__ import annotations

import decimal
import difflib
import inspect
import json
import os
import sys
import typing
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import attrs

from . import redact
from .durations import Duration
from .errors import ConfigProblem

__all__ = ["option", "build", "keys_of", "field_help", "suggest", "describe_type", "convert", "weak_list",
           "Port", "Invalid"]

_MISSING = attrs.NOTHING


def option(
    default: Any = _MISSING,
    *,
    factory: Any = None,
    help: str = "",
    secret: bool = False,
    path: bool = False,
    required: bool = False,
    aliases: Sequence[str] = (),
    zero_is_default: bool = False,
) -> Any:
    """An attrs field for a template key. See the module docstring.

    ``zero_is_default``: a zero value (``0``, ``"0s"``, ``""``, ``[]``) given in the template
    means the default, as Packer's ``Prepare`` methods do with ``if x == zero { x = default }``.
    """
    metadata = {
        "help": help,
        "secret": secret,
        "path": path,
        "required": required,
        "aliases": tuple(aliases),
        "zero_is_default": zero_is_default,
    }
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def _hints(cls: type) -> Dict[str, Any]:
    """Field name -> resolved type, base classes' annotations resolved in their own modules."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # e.g. a class defined inside a function: resolve field by field
        hints: Dict[str, Any] = {}
        for f in attrs.fields(cls):
            tp = f.type
            if isinstance(tp, str):
                owner = next((k for k in cls.__mro__ if f.name in getattr(k, "__annotations__", {})), cls)
                namespace = dict(vars(sys.modules[owner.__module__])) if owner.__module__ in sys.modules else {}
                namespace.update(vars(typing))
                try:
                    tp = eval(tp, namespace)  # noqa: S307 - annotations of the plugin's own class
                except Exception:
                    tp = Any
            hints[f.name] = tp if tp is not None else Any
        return hints


def keys_of(cls: type) -> List[str]:
    """Every template key the config class accepts, aliases included."""
    keys = []
    for f in attrs.fields(cls):
        keys.append(f.name)
        keys.extend(f.metadata.get("aliases", ()))
    return keys


def field_help(cls: type) -> List[Tuple[str, str, str, str]]:
    """(key, type, default, help) for each field: the data behind ``hatchway inspect`` and docs."""
    hints = _hints(cls)
    rows = []
    for f in attrs.fields(cls):
        if f.default is _MISSING or f.metadata.get("required"):
            default = "required"
        elif isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            default = json.dumps(f.default.factory())
        elif isinstance(f.default, Duration) or f.default is None:
            default = "" if f.default is None else str(f.default)
        else:
            default = f.default if isinstance(f.default, str) else json.dumps(f.default)
        rows.append((f.name, describe_type(hints.get(f.name, Any)), default, f.metadata.get("help", "")))
    return rows


def suggest(word: str, choices: Iterable[str]) -> str:
    """A "did you mean" hint, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def describe_type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Duration:
        return "duration"
    if tp is Port:
        return "port"
    if tp in (str, int, float, bool):
        return {str: "string", int: "number", float: "number", bool: "boolean"}[tp]
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return describe_type(inner[0]) if len(inner) == 1 else " or ".join(map(describe_type, inner))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, List, Sequence, tuple):
        return f"list of {describe_type(args[0]) if args else 'values'}"
    if origin in (dict, Dict, Mapping):
        return "object"
    return "any"


class Port(int):
    """A TCP port: the type of a ``*_port`` field. 1-65535, or 0 / ``""`` for the field's default.

    Packer's ``communicator.Config.Prepare`` turns a zero port into its default
    (``ssh_port`` 22, ``ssh_proxy_port`` 1080) and leaves any other number as it
    is, so 87558 reached the dialer and wrapped; here it is a validation error.
    """


class Invalid(ValueError):
    """A value does not fit a type: the message says what was expected."""


#: Go's strconv.ParseBool, the only spellings Packer accepts for a bool given as a string.
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_INT64 = (-(1 << 63), (1 << 63) - 1)
_NUMBER_TYPES = (int, float, Port)


def _go_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 0, 64)``: sign, ``0x``/``0o``/``0b``/leading-``0`` octal, ``_`` separators."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or body != body.strip() or len(body) > 80:
        raise ValueError(text)
    low = body.lower()
    if low[:2] in ("0x", "0o", "0b"):
        value = int(body, 0)
    elif len(body) > 1 and body[0] == "0":
        value = int(body[1:].lstrip("_"), 8)
    else:
        value = int(body, 10)
    value = -value if text[:1] == "-" else value
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(text)
    return value


def _go_float_text(value: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'f', -1, 64)``: the shortest exact decimal, never an exponent."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    text = format(decimal.Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _is_list_type(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, List, Sequence, tuple) or tp in (list, tuple)


def _base(tp: Any) -> Any:
    """``Optional[X]`` -> ``X``; anything else as it is."""
    if typing.get_origin(tp) is typing.Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return tp


def weak_list(value: Any, item: Any = str, sep: Optional[str] = ",") -> List[Any]:
    """A list from a template value, as Packer's decoders make one; raise :class:`Invalid` if it cannot.

    With ``sep=","`` (plugin configs: packer-plugin-sdk ``template/config/decode.go``,
    ``StringToSliceHookFunc(",")``) a string is split on commas and ``""`` is ``[]``. With
    ``sep=None`` (a provisioner's ``only``/``except``: packer-plugin-sdk ``template/parse.go``
    decodes them with ``WeaklyTypedInput`` but without that hook) a string is one element.
    Any other single value becomes a one-element list; every item is converted to ``item`` by
    the rules of :func:`convert`.
    """
    if sep is None and isinstance(value, str):
        value = [value]
    elif sep not in (None, ",") and isinstance(value, str):
        value = value.split(sep) if value else []
    return convert(value, List[item])


def convert(value: Any, tp: Any) -> Any:
    """``value`` (JSON, after template rendering) as type ``tp``, by Packer's weak decoding rules.

    The rules are mapstructure's ``WeaklyTypedInput`` plus the SDK's decode hooks
    (packer-plugin-sdk ``template/config/decode.go``: ``StringToSliceHookFunc(",")``,
    ``StringToTimeDurationHookFunc``, ``stringToTrilean``):

    - string: numbers (``8080``, ``1.5``) and bools (``"1"``/``"0"``) become strings;
    - whole number: a string as Go's ``ParseInt(s, 0, 64)`` reads it (``"22"``, ``"0x16"``),
      ``""`` is 0, a bool is 1/0, a fractional number is truncated;
    - number: a string as ``ParseFloat`` reads it, ``""`` is 0, a bool is 1/0;
    - bool: ``1 t T TRUE true True 0 f F FALSE false False``, ``""`` is false, a number is ``!= 0``;
    - duration: a Go duration string (``"90s"``); a bare number is refused (Packer would read
      it as nanoseconds) except 0;
    - list: see :func:`weak_list`; object: a list of objects is merged, ``[]`` is ``{}``.

    Raises :class:`Invalid` (a ``ValueError``) with a message that says what was expected.
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if value == "" and type(None) in args and len(inner) == 1 and inner[0] in (bool, int, float, Port):
            return None  # the SDK's Trilean: "" is unset
        errors = []
        for arg in inner:
            try:
                return convert(value, arg)
            except Invalid as exc:
                errors.append(str(exc))
        raise Invalid(errors[0] if len(errors) == 1 else f"expected {describe_type(tp)}")
    if origin is typing.Literal:
        if value in args and not isinstance(value, bool):
            return value
        if all(isinstance(a, str) for a in args) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if convert(value, str) in args:  # weak: 4 for "4"
                return convert(value, str)
        choices = ", ".join(repr(a) for a in args)
        hint = suggest(str(value), [str(a) for a in args])
        raise Invalid(f"must be one of {choices}, not {value!r}" + (f"; {hint}" if hint else ""))
    if tp is Duration:
        if isinstance(value, str):
            try:
                return Duration(value)
            except ValueError as exc:
                raise Invalid(str(exc)) from None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            return Duration(0)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise Invalid(f"expected a duration string such as \"5m\", got {value!r} "
                          f"(a bare number would be nanoseconds in Packer; write \"{_go_float_text(value)}s\" "
                          "for seconds)")
        raise Invalid(f"expected a duration string such as \"5m\", got {_kind(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        if isinstance(value, str):
            if value == "":
                return False
            if value in _TRUE | _FALSE:
                return value in _TRUE
        raise Invalid(f"expected true or false, got {_kind(value)}")
    if tp is int or tp is Port:
        number = _whole(value)
        if tp is Port and not 0 <= number <= 65535:
            raise Invalid(f"{number} is not a TCP port: use 1-65535 (0 or \"\" for the default)")
        return number
    if tp is float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            if value == "":
                return 0.0
            try:
                if value == value.strip():
                    return float(value)
            except ValueError:
                pass
        raise Invalid(f"expected a number, got {_kind(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _go_float_text(value)
        raise Invalid(f"expected a string, got {_kind(value)}")
    if _is_list_type(tp):
        if isinstance(value, str):
            value = value.split(",") if value else []
        elif isinstance(value, dict):
            value = [value] if value else []
        elif not isinstance(value, list):
            value = [value]
        item = args[0] if args else Any
        out = []
        for i, v in enumerate(value):
            try:
                out.append(convert(v, item))
            except Invalid as exc:
                raise Invalid(f"item {i}: {exc}") from None
        return out
    if origin in (dict, Dict, Mapping) or tp is dict:
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            merged: Dict[Any, Any] = {}
            for v in value:
                merged.update(v)
            value = merged
        if not isinstance(value, dict):
            raise Invalid(f"expected an object, got {_kind(value)}")
        vtype = args[1] if len(args) == 2 else Any
        out_d = {}
        for k, v in value.items():
            try:
                out_d[str(k)] = convert(v, vtype)
            except Invalid as exc:
                raise Invalid(f"key {k!r}: {exc}") from None
        return out_d
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise Invalid(f"expected {describe_type(tp)}, got {_kind(value)}")  # pragma: no cover



def _whole(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise Invalid("is too large for a whole number")
        return value
    if isinstance(value, float) and value == value and abs(value) < 2 ** 63:
        return int(value)  # Go's int64(f): truncated
    if isinstance(value, str):
        if value == "":
            return 0
        try:
            return _go_int(value)
        except ValueError:
            pass
        if len(value) > 40:  # never a cut-off value: a secret's prefix would escape redaction
            raise Invalid(f"expected a whole number, got a {len(value)}-character string")
        raise Invalid(f"expected a whole number, got {value!r}")
    raise Invalid(f"expected a whole number, got {_kind(value)}")


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union and type(None) in typing.get_args(tp)


def _kind(value: Any) -> str:
    named = {dict: "an object", list: "a list", bool: f"{value!r}".lower(), type(None): "null"}
    return named.get(type(value), repr(value))


def build(
    cls: type,
    data: Mapping[str, Any],
    path: str = "",
    *,
    ignore: Iterable[str] = (),
    others: Mapping[str, str] = {},
    context: Any = None,
) -> Tuple[Optional[Any], List[ConfigProblem]]:
    """Make a ``cls`` from template ``data``; return ``(obj or None, problems)``.

    ``path`` prefixes each problem's key path. Keys in ``ignore`` belong to
    someone else (the builder's own keys, say). ``others`` maps keys that
    other installed plugins know to the plugin's name, to say whose they are.
    Secret values are registered for redaction before anything else.
    ``context`` (a :class:`~hatchway.template.functions.RenderContext` during
    validation) is passed to ``check(self, context)`` when it takes one.
    """
    prefix = f"{path}." if path else ""
    problems: List[ConfigProblem] = []
    hints = _hints(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    alias_of = {a: f.name for f in fields.values() for a in f.metadata.get("aliases", ())}
    ignore = set(ignore)

    for f in fields.values():
        if f.metadata.get("secret"):
            for key in (f.name, *f.metadata.get("aliases", ())):
                redact.add_secret(data.get(key), key)

    kwargs: Dict[str, Any] = {}
    for key, value in data.items():
        if key in ignore:
            continue
        name = alias_of.get(key, key)
        field = fields.get(name)
        if field is None:
            if key in others:
                problems.append(ConfigProblem(
                    prefix + key,
                    f"is a key of the {others[key]!r} communicator, not of this one",
                    "remove it or set \"communicator\" accordingly",
                    severity="warning",
                ))
                continue
            hint = suggest(key, list(fields) + list(alias_of) + list(ignore))
            problems.append(ConfigProblem(prefix + key, "unknown key", hint))
            continue
        if name in kwargs:
            problems.append(ConfigProblem(prefix + key, f"given twice (also as {name!r})", f"keep only {name!r}"))
            continue
        if key != name:
            problems.append(ConfigProblem(prefix + key, "is deprecated", f"use {name!r}", severity="warning"))
        tp = hints.get(name, Any)
        if value is None and not _optional(tp):
            continue  # mapstructure leaves a field alone for null: its default
        if value == "" and _base(tp) in _NUMBER_TYPES:
            continue  # "" is the zero value, which Packer's Prepare turns into the default
        try:
            converted = convert(value, tp)
            if (_base(tp) is Port or field.metadata.get("zero_is_default")) and not converted and \
                    converted is not None:
                continue  # 0, "", [] given: the default, as in Packer's Prepare
        except Invalid as exc:
            shown = "<sensitive>" if field.metadata.get("secret") else None
            message = str(exc) if shown is None else "invalid value"
            problems.append(ConfigProblem(prefix + key, message))
            continue
        if field.metadata.get("path") and isinstance(converted, str) and converted:
            converted = os.path.expanduser(converted)
        kwargs[name] = converted

    for name, field in fields.items():
        missing = name not in kwargs and (field.default is _MISSING or (
            field.metadata.get("required") and field.default in (None, "")))
        if missing:
            kwargs.pop(name, None)
            problems.append(ConfigProblem(prefix + name, "is required", field.metadata.get("help", "")))
    if any(p.is_error for p in problems):
        return None, problems
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(ConfigProblem(path, str(exc)))
        return None, problems
    check = getattr(obj, "check", None)
    if callable(check):
        takes_context = len(inspect.signature(check).parameters) >= 1
        for item in (check(context) if takes_context else check()) or ():
            key, message, *rest = item
            problems.append(ConfigProblem(prefix + key if key else path, message, rest[0] if rest else "",
                                          severity=rest[1] if len(rest) > 1 else "error"))
    return (None if any(p.is_error for p in problems) else obj), problems

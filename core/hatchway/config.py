"""Template keys -> attrs config objects, with every problem reported at once.

A config class is an ``attrs`` class (``@attrs.define(kw_only=True)``) whose
field names are template keys. Field types drive conversion, the way
Packer's weakly typed decoding does (``"22"`` is a fine ``int``):

``str``, ``int``, ``float``, ``bool``, :class:`~hatchway.durations.Duration`,
``List[str]``, ``Dict[str, str]``, ``Optional[...]``, ``Literal[...]`` and
``Any``. :func:`option` adds what attrs does not know: ``help``, ``secret``
(values are redacted from all output), ``path`` (``~`` is expanded),
``required`` and ``aliases`` (deprecated spellings, e.g. ``ssh_wait_timeout``).

A config class may define ``check(self)`` (or ``check(self, context)``, to see
the template's directory and build name) yielding ``(key, message)`` or
``(key, message, hint)`` for rules between keys.
"""
from __future__ import annotations

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

__all__ = ["option", "build", "keys_of", "field_help", "suggest", "describe_type"]

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
) -> Any:
    """An attrs field for a template key. See the module docstring."""
    metadata = {
        "help": help,
        "secret": secret,
        "path": path,
        "required": required,
        "aliases": tuple(aliases),
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


class _Invalid(Exception):
    """A value does not fit a type: the message says what was expected."""


_TRUE = {"true", "1", "yes", "on", "t"}
_FALSE = {"false", "0", "no", "off", "f", ""}


def _convert(value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg)
            except _Invalid as exc:
                errors.append(str(exc))
        raise _Invalid(errors[0] if len(errors) == 1 else f"expected {describe_type(tp)}")
    if origin is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(repr(a) for a in args)
        hint = suggest(str(value), [str(a) for a in args])
        raise _Invalid(f"must be one of {choices}, not {value!r}" + (f"; {hint}" if hint else ""))
    if tp is Duration:
        if isinstance(value, str):
            try:
                return Duration(value)
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
        raise _Invalid(f"expected a duration string such as \"5m\", got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _Invalid(f"expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise _Invalid(f"expected a number, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip(), 10)
            except ValueError:
                pass
        raise _Invalid(f"expected a whole number, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise _Invalid(f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Invalid(f"expected a string, got {_kind(value)}")
    if origin in (list, List, Sequence, tuple) or tp in (list, tuple):
        if not isinstance(value, list):
            raise _Invalid(f"expected a list, got {_kind(value)}")
        item = args[0] if args else Any
        out = []
        for i, v in enumerate(value):
            try:
                out.append(_convert(v, item))
            except _Invalid as exc:
                raise _Invalid(f"item {i}: {exc}") from None
        return out
    if origin in (dict, Dict, Mapping) or tp is dict:
        if not isinstance(value, dict):
            raise _Invalid(f"expected an object, got {_kind(value)}")
        vtype = args[1] if len(args) == 2 else Any
        out_d = {}
        for k, v in value.items():
            try:
                out_d[str(k)] = _convert(v, vtype)
            except _Invalid as exc:
                raise _Invalid(f"key {k!r}: {exc}") from None
        return out_d
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _Invalid(f"expected {describe_type(tp)}, got {_kind(value)}")  # pragma: no cover


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
        try:
            converted = _convert(value, hints.get(name, Any))
        except _Invalid as exc:
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
            problems.append(ConfigProblem(prefix + key if key else path, message, rest[0] if rest else ""))
    return (None if any(p.is_error for p in problems) else obj), problems

"""Template functions in string values: ``{{user `name`}}``, ``{{env `HOME`}}``, ``{{isotime}}``...

The syntax is the subset of Go's text/template that Packer templates use:
actions ``{{ ... }}`` (with ``{{-``/``-}}`` trimming), function calls with
string (``"..."`` or backtick), number and nested ``( ... )`` arguments,
pipes (``{{ user `x` | upper }}``) and data fields (``{{ .Path }}``).

A field with no data yet (``{{.Vars}}`` while validating) is left as it is,
so a provisioner can render it later with its own data.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import uuid as _uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import attrs

__all__ = ["RenderContext", "RenderError", "render", "FUNCTIONS", "go_time_format"]


class RenderError(ValueError):
    """A template expression is malformed or refers to something unknown."""


@attrs.define
class RenderContext:
    """What functions can see while rendering."""

    variables: Mapping[str, str] = attrs.field(factory=dict)
    template_dir: str = "."
    build_name: str = ""
    build_type: str = ""
    #: Fields for ``{{.Name}}``; ``None`` means "not known yet: leave fields as they are".
    data: Optional[Mapping[str, Any]] = None
    now: _dt.datetime = attrs.field(factory=lambda: _dt.datetime.now(_dt.timezone.utc))
    env: Mapping[str, str] = attrs.field(factory=lambda: os.environ)


# --- Go time layouts ------------------------------------------------------
_GO_TOKENS: List[Tuple[str, Callable[[_dt.datetime], str]]] = [
    ("January", lambda t: t.strftime("%B")),
    ("Monday", lambda t: t.strftime("%A")),
    ("Z07:00", lambda t: "Z" if t.utcoffset() == _dt.timedelta(0) else _offset(t, True)),
    ("-07:00", lambda t: _offset(t, True)),
    ("-0700", lambda t: _offset(t, False)),
    ("Z0700", lambda t: "Z" if t.utcoffset() == _dt.timedelta(0) else _offset(t, False)),
    ("2006", lambda t: f"{t.year:04d}"),
    (".000000000", lambda t: f".{t.microsecond * 1000:09d}"),
    (".000000", lambda t: f".{t.microsecond:06d}"),
    (".000", lambda t: f".{t.microsecond // 1000:03d}"),
    ("Jan", lambda t: t.strftime("%b")),
    ("Mon", lambda t: t.strftime("%a")),
    ("MST", lambda t: t.tzname() or "UTC"),
    ("002", lambda t: f"{t.timetuple().tm_yday:03d}"),
    ("01", lambda t: f"{t.month:02d}"),
    ("02", lambda t: f"{t.day:02d}"),
    ("03", lambda t: f"{(t.hour % 12) or 12:02d}"),
    ("04", lambda t: f"{t.minute:02d}"),
    ("05", lambda t: f"{t.second:02d}"),
    ("06", lambda t: f"{t.year % 100:02d}"),
    ("15", lambda t: f"{t.hour:02d}"),
    ("PM", lambda t: "PM" if t.hour >= 12 else "AM"),
    ("pm", lambda t: "pm" if t.hour >= 12 else "am"),
    ("_2", lambda t: f"{t.day:>2d}"),
    ("1", lambda t: str(t.month)),
    ("2", lambda t: str(t.day)),
    ("3", lambda t: str((t.hour % 12) or 12)),
    ("4", lambda t: str(t.minute)),
    ("5", lambda t: str(t.second)),
]


def _offset(t: _dt.datetime, colon: bool) -> str:
    off = t.utcoffset() or _dt.timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}" if colon else f"{sign}{hh:02d}{mm:02d}"


def go_time_format(t: _dt.datetime, layout: str) -> str:
    """Format ``t`` with a Go reference-time layout (``2006-01-02T15:04:05Z07:00``)."""
    out, i = [], 0
    while i < len(layout):
        for token, fn in _GO_TOKENS:
            if layout.startswith(token, i):
                out.append(fn(t))
                i += len(token)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


RFC3339 = "2006-01-02T15:04:05Z07:00"


# --- functions ---------------------------------------------------------------
def _user(ctx: RenderContext, name: str) -> str:
    if name not in ctx.variables:
        known = ", ".join(sorted(ctx.variables)) or "none"
        raise RenderError(f"unknown variable {name!r} (defined: {known}); add it to \"variables\"")
    return str(ctx.variables[name])


def _env(ctx: RenderContext, name: str) -> str:
    return ctx.env.get(name, "")


def _isotime(ctx: RenderContext, layout: str = RFC3339) -> str:
    return go_time_format(ctx.now, layout)


def _split(ctx: RenderContext, text: str, sep: str, index: Any) -> str:
    parts = str(text).split(sep)
    try:
        return parts[int(index)]
    except (IndexError, ValueError):
        raise RenderError(f"split: index {index} out of range for {len(parts)} parts") from None


def _replace(ctx: RenderContext, old: str, new: str, count: Any, text: str) -> str:
    n = int(count)
    return str(text).replace(old, new, n if n >= 0 else -1)


def _replace_all(ctx: RenderContext, old: str, new: str, text: str) -> str:
    return str(text).replace(old, new)


FUNCTIONS: Dict[str, Callable[..., str]] = {
    "user": _user,
    "env": _env,
    "timestamp": lambda ctx: str(int(ctx.now.timestamp())),
    "isotime": _isotime,
    "uuid": lambda ctx: str(_uuid.uuid4()),
    "pwd": lambda ctx: os.getcwd(),
    "template_dir": lambda ctx: ctx.template_dir,
    "build_name": lambda ctx: ctx.build_name,
    "build_type": lambda ctx: ctx.build_type,
    "split": _split,
    "replace": _replace,
    "replace_all": _replace_all,
    "lower": lambda ctx, s: str(s).lower(),
    "upper": lambda ctx, s: str(s).upper(),
}


# --- the parser --------------------------------------------------------------
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<num>-?\d+)
      | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[|()])
    )""",
    re.X,
)


class _Deferred(Exception):
    """A field whose data is not known yet: keep the action as written."""


def _tokens(expr: str) -> List[Tuple[str, str]]:
    out, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise RenderError(f"cannot parse {expr!r} at {expr[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, tokens: List[Tuple[str, str]], ctx: RenderContext) -> None:
        self.tokens, self.pos, self.ctx = tokens, 0, ctx

    def peek(self) -> Optional[Tuple[str, str]]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Tuple[str, str]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def pipeline(self) -> Any:
        value = self.command(None)
        while self.peek() == ("punct", "|"):
            self.take()
            value = self.command(value)
        return value

    def command(self, piped: Any) -> Any:
        tok = self.peek()
        if tok is None:
            raise RenderError("empty action")
        if tok[0] == "name":
            name = self.take()[1]
            fn = FUNCTIONS.get(name)
            if fn is None:
                from ..config import suggest

                hint = suggest(name, FUNCTIONS)
                raise RenderError(f"unknown function {name!r}" + (f"; {hint}" if hint else ""))
            args = []
            while self.peek() is not None and self.peek() not in (("punct", "|"), ("punct", ")")):
                args.append(self.operand())
            if piped is not None:
                args.append(piped)
            try:
                return fn(self.ctx, *args)
            except TypeError:
                raise RenderError(f"wrong number of arguments to {name!r}") from None
        if piped is not None:
            raise RenderError("only a function can follow '|'")
        return self.operand()

    def operand(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            try:
                return json.loads(text)
            except ValueError:
                raise RenderError(f"bad string {text}") from None
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return int(text)
        if kind == "field":
            if self.ctx.data is None:
                raise _Deferred()
            key = text[1:]
            if key not in self.ctx.data:
                raise RenderError(f"unknown field {text!r} (available: {', '.join(sorted(self.ctx.data)) or 'none'})")
            return self.ctx.data[key]
        if kind == "name":  # a function with no arguments used as an argument
            fn = FUNCTIONS.get(text)
            if fn is None:
                raise RenderError(f"unknown function {text!r}")
            return fn(self.ctx)
        if (kind, text) == ("punct", "("):
            value = self.pipeline()
            if self.peek() != ("punct", ")"):
                raise RenderError("missing ')'")
            self.take()
            return value
        raise RenderError(f"unexpected {text!r}")


def render(text: str, ctx: RenderContext) -> str:
    """Render every ``{{ ... }}`` in ``text``; raise :class:`RenderError` on a bad one."""
    if "{{" not in text:
        return text
    out: List[str] = []
    errors: List[str] = []
    pos = 0
    for m in _ACTION.finditer(text):
        before = text[pos:m.start()]
        if m.group(1):
            before = before.rstrip()
        out.append(before)
        try:
            parser = _Parser(_tokens(m.group(2)), ctx)
            value = parser.pipeline()
            if parser.peek() is not None:
                raise RenderError(f"unexpected {parser.peek()[1]!r} in {m.group(0)!r}")  # type: ignore[index]
            out.append(str(value))
        except _Deferred:
            out.append(m.group(0))
        except RenderError as exc:
            errors.append(str(exc))
        pos = m.end()
        if m.group(3):
            while pos < len(text) and text[pos].isspace():
                pos += 1
    rest = text[pos:]
    if "{{" in rest:
        errors.append(f"unclosed '{{{{' in {text!r}")
    if errors:
        raise RenderError("; ".join(errors))
    out.append(rest)
    return "".join(out)

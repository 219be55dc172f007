"""Template functions in string values: ``{{user `name`}}``, ``{{env `HOME`}}``, ``{{isotime}}``...

Strings are Go ``text/template`` templates, as in Packer (see
:mod:`.gotemplate`): control flow, pipes, Go's built-ins (``eq``,
``printf``...) and Packer's functions (``FUNCTION_NAMES``), plus functions
that plugins register (:func:`hatchway.hookspecs.RegistrationSpecs.register_template_functions`).

Rendering is partial while something is not known yet: with
:attr:`RenderContext.data` ``None`` (validation), ``{{.Path}}``-style fields
are left as written for the provisioner to render later with its data; with
:attr:`RenderContext.build_values` ``None``, ``{{build `Host`}}`` is left
for the runner to render once the machine is up.
"""
from __future__ import annotations

import datetime as _dt
import os
import uuid as _uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import attrs

from ..errors import HatchwayError
from . import gotemplate as gt

__all__ = ["RenderContext", "RenderError", "render", "FUNCTION_NAMES", "BUILD_VALUES", "PLUGIN_FUNCTIONS",
           "PACKER_VERSION", "go_time_format", "strftime", "parse_check"]

#: The Packer version Hatchway's templates are compatible with: ``{{packer_version}}``, ``min_packer_version``.
PACKER_VERSION = "1.16.0"

#: What ``{{build `NAME`}}`` knows once the machine is up (Packer's ``BasicPlaceholderData``).
BUILD_VALUES = ("ID", "Host", "Port", "User", "Password", "ConnType", "SSHPublicKey", "SSHPrivateKey",
                "WinRMPassword", "PackerRunUUID", "PackerHTTPAddr", "PackerHTTPIP", "PackerHTTPPort")

#: Packer functions that need a plugin here, and the distribution that brings each.
PLUGIN_FUNCTIONS = {
    "vault": "hatchway-vault",
    "consul_key": "hatchway-consul",
    "aws_secretsmanager": "hatchway-aws-secrets",
    "aws_secretsmanager_raw": "hatchway-aws-secrets",
}


#: One time for the whole run, as Packer's ``interpolate.InitTime``: ``{{timestamp}}`` and
#: ``{{isotime}}`` agree across variables, builds and steps.
INIT_TIME = _dt.datetime.now(_dt.timezone.utc)


class RenderError(HatchwayError, ValueError):
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
    now: _dt.datetime = attrs.field(factory=lambda: INIT_TIME)
    env: Mapping[str, str] = attrs.field(factory=lambda: os.environ)
    #: Functions registered by plugins: name -> callable taking and returning strings.
    functions: Mapping[str, Callable[..., str]] = attrs.field(factory=dict)
    #: ``{{build `X`}}`` values; ``None``: not known yet (left as written).
    build_values: Optional[Mapping[str, str]] = None
    #: Where ``build`` may be used (provisioners, post-processors): elsewhere it is an error, as in Packer.
    allow_build: bool = True
    #: Rendering a variable's default (``build`` is not available there).
    in_variables: bool = False
    _cache: Optional[Dict[str, gt.GoFunc]] = attrs.field(default=None, init=False, repr=False, eq=False)

    def funcs(self) -> Dict[str, gt.GoFunc]:
        """The function table for this context (built once)."""
        if self._cache is None:
            table = _packer_functions(self)
            for name, fn in self.functions.items():
                table[name] = gt.strings_func(fn)
            self._cache = table
        return self._cache


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


# --- Packer's functions (packer-plugin-sdk template/interpolate/funcs.go) -------------------
_STRFTIME = {
    "a": "Mon", "A": "Monday", "b": "Jan", "B": "January", "c": "Mon Jan _2 15:04:05 2006", "d": "02",
    "D": "01/02/06", "e": "_2", "F": "2006-01-02", "h": "Jan", "H": "15", "I": "03", "m": "01", "M": "04",
    "p": "PM", "r": "03:04:05 PM", "R": "15:04", "S": "05", "T": "15:04:05", "y": "06", "Y": "2006",
    "z": "-0700", "Z": "MST", "x": "01/02/06", "X": "15:04:05",
}


def strftime(t: _dt.datetime, fmt: str) -> str:
    """C-style ``%Y-%m-%d`` formatting as Packer's ``strftime`` does (jehiah/go-strftime)."""
    out: List[str] = []
    i = 0
    while i < len(fmt):
        j = fmt.find("%", i)
        if j < 0 or j + 1 >= len(fmt):
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        c = fmt[j + 1]
        if c in _STRFTIME:
            out.append(go_time_format(t, _STRFTIME[c]))
        elif c == "j":
            out.append(f"{t.timetuple().tm_yday:03d}")
        elif c == "L":
            out.append(f"{t.microsecond // 1000:03d}")
        elif c == "f":
            out.append(f"{t.microsecond:06d}")
        elif c == "C":
            out.append(f"{t.year // 100:02d}")
        elif c == "u":
            out.append(str(t.isoweekday()))
        elif c == "w":
            out.append(str(t.isoweekday() % 7))
        elif c == "n":
            out.append("\n")
        elif c == "t":
            out.append("\t")
        elif c == "%":
            out.append("%")
        else:
            out.append("%" + c)
        i = j + 2
    return "".join(out)


def _go_split(text: str, sep: str) -> List[str]:
    """Go's ``strings.Split``: an empty separator splits into characters."""
    return list(text) if sep == "" else text.split(sep)


def _packer_functions(ctx: RenderContext) -> Dict[str, gt.GoFunc]:
    F = gt.FuncError
    s = str

    def user(name: str) -> str:
        if name not in ctx.variables:
            known = ", ".join(sorted(ctx.variables)) or "none"
            raise F(f"unknown variable {name!r} (defined: {known}); add it to \"variables\" or set it with -var")
        return str(ctx.variables[name])

    def isotime(*layout: str) -> str:
        if len(layout) > 1:
            raise F(f"too many values, 1 needed: [{' '.join(layout)}]")
        return go_time_format(ctx.now, layout[0] if layout else RFC3339)

    def split(text: str, sep: str, index: int) -> str:
        parts = _go_split(text, sep)
        if index < 0:
            raise F(f"runtime error: index out of range [{index}]")
        if len(parts) <= index:
            raise F(f"the substring {index} was unavailable using the separator value, {sep}, "
                    f"only {len(parts)} values were found")
        return parts[index]

    def replace(old: str, new: str, n: int, src: str) -> str:
        return src.replace(old, new, -1 if n < 0 or n > len(src) + 1 else n)

    def build(name: str) -> str:
        if ctx.in_variables or not ctx.allow_build:
            where = "variables" if ctx.in_variables else "builders"
            raise F(f"build is not available in {where}: it gives the values of a running build "
                    "(host, port, credentials...) to provisioners and post-processors only")
        if ctx.build_values is None:
            if name not in BUILD_VALUES:
                raise F(f"loaded data, but couldn't find {name} in it (known: {', '.join(BUILD_VALUES)})")
            raise gt.Deferred()
        if name not in ctx.build_values:
            raise F(f"loaded data, but couldn't find {name} in it (known: {', '.join(sorted(ctx.build_values))})")
        return str(ctx.build_values[name])

    def sed(expression: str, text: str) -> str:
        raise F("template function `sed` is deprecated: use `replace` or `replace_all` instead")

    def clean_resource_name(text: str) -> str:
        return "".join(c if ("a" <= c <= "z" or "0" <= c <= "9") else "-" for c in text.lower())

    g = gt.gofunc
    return {
        "user": g(user, s),
        "env": g(lambda name: ctx.env.get(name, ""), s),
        "timestamp": g(lambda: str(int(ctx.now.timestamp()))),
        "isotime": g(isotime, variadic=s),
        "strftime": g(lambda fmt: strftime(ctx.now, fmt), s),
        "uuid": g(lambda: str(_uuid.uuid4())),
        "pwd": g(os.getcwd),
        "template_dir": g(lambda: ctx.template_dir),
        "build_name": g(lambda: ctx.build_name),
        "build_type": g(lambda: ctx.build_type),
        "packer_version": g(lambda: PACKER_VERSION),
        "split": g(split, s, s, int),
        "replace": g(replace, s, s, int, s),
        "replace_all": g(lambda old, new, src: src.replace(old, new), s, s, s),
        "lower": g(lambda text: text.lower(), s),
        "upper": g(lambda text: text.upper(), s),
        "clean_resource_name": g(clean_resource_name, s),
        "build": g(build, s),
        "sed": g(sed, s, s),
    }


#: Packer's function names (Go's built-ins ``eq``, ``printf``... come on top).
FUNCTION_NAMES = tuple(sorted(_packer_functions(RenderContext())))


def _error(exc: gt.TemplateError, ctx: RenderContext) -> RenderError:
    """The user's message: an unknown function gets a did-you-mean, or the plugin that brings it."""
    name = exc.name
    if not name:
        return RenderError(str(exc))
    pos = gt.position(exc.text, exc.pos)
    if name in PLUGIN_FUNCTIONS:
        dist = PLUGIN_FUNCTIONS[name]
        return RenderError(f"{pos}: the function {name} is provided by a plugin: install it with "
                           f"hatchway plugins install {dist}  (or: pip install {dist})")
    from ..config import suggest

    hint = suggest(name, list(ctx.funcs()) + list(gt.BUILTINS))
    return RenderError(f'{pos}: function "{name}" not defined' + (f"; {hint}" if hint else ""))


def parse_check(text: str, ctx: RenderContext) -> Optional[str]:
    """The syntax error in ``text`` (unknown functions included), or ``None``."""
    if "{{" not in text:
        return None
    try:
        gt.parse_template(text, ctx.funcs())
    except gt.TemplateError as exc:
        return str(_error(exc, ctx))
    return None


def render(text: str, ctx: RenderContext) -> str:
    """Render ``text``; raise :class:`RenderError` (``line:column: message``) on a bad template."""
    if "{{" not in text:
        return text
    partial = ctx.data is None
    try:
        return gt.render(text, ctx.funcs(), gt.UNKNOWN if partial else ctx.data, partial=partial)
    except gt.TemplateError as exc:
        raise _error(exc, ctx) from None

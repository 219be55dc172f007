"""Values as HCL literals: for ``inspect``, ``console`` and ``hcl2_upgrade`` output."""
from __future__ import annotations

import re
from typing import Any

from . import values as V

__all__ = ["format_value", "quote", "is_identifier"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in ("true", "false", "null", "for", "in", "if")


def quote(text: str, template_escape: bool = True) -> str:
    """A quoted HCL string; ``${`` and ``%{`` are escaped unless ``template_escape`` is false."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out)
    if template_escape:
        body = body.replace("${", "$${").replace("%{", "%%{")
    return body + '"'


def format_value(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, V.Unknown):
        return "<unknown>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if V.is_number(value):
        return V.format_number(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [format_value(v, indent + 1) for v in value]
        if sum(len(i) for i in items) < 60 and not any("\n" in i for i in items):
            return "[" + ", ".join(items) + "]"
        return "[\n" + "".join(f"{pad}  {i},\n" for i in items) + f"{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        width = max(len(k if is_identifier(k) else quote(k)) for k in value)
        lines = []
        for k, v in value.items():
            key = k if is_identifier(k) else quote(k)
            lines.append(f"{pad}  {key.ljust(width)} = {format_value(v, indent + 1)}\n")
        return "{\n" + "".join(lines) + f"{pad}}}"
    return repr(value)

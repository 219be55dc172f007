"""Variable values from outside the template: ``PKR_VAR_*``, ``*.pkrvars.hcl``/``.json`` files, ``-var``.

Each source yields :class:`Assignment` objects (raw or as an expression,
with where they came from); :mod:`.frontend` applies them in Packer's
order and converts them to the variable's type.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

from .ast import Expr, Pos, Range
from .diagnostics import Diagnostic, register_source
from .parser import parse, parse_expression

__all__ = ["Assignment", "from_env", "from_file", "from_cli", "auto_files"]


class Assignment:
    """``name = value`` from one source. ``expr`` for HCL files, ``raw`` for strings (env, -var), ``value`` for JSON."""

    __slots__ = ("name", "expr", "raw", "value", "range", "origin")

    def __init__(self, name: str, *, expr: Optional[Expr] = None, raw: Optional[str] = None, value: Any = None,
                 range: Optional[Range] = None, origin: str = "") -> None:
        self.name, self.expr, self.raw, self.value, self.range, self.origin = name, expr, raw, value, range, origin


def _nowhere(name: str) -> Range:
    return Range(name, Pos(1, 1, 0), Pos(1, 1, 0))


def from_env(env: Mapping[str, str]) -> List[Assignment]:
    out = []
    for key in sorted(env):
        if key.startswith("PKR_VAR_") and len(key) > len("PKR_VAR_"):
            name = key[len("PKR_VAR_"):]
            out.append(Assignment(name, raw=env[key], range=_nowhere(f"<value for var.{name} from env>"),
                                  origin="env"))
    return out


def auto_files(directory: Path) -> List[Path]:
    """``*.auto.pkrvars.hcl`` then ``*.auto.pkrvars.json`` in ``directory``, each in name order."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return ([directory / n for n in names if n.endswith(".auto.pkrvars.hcl")]
            + [directory / n for n in names if n.endswith(".auto.pkrvars.json")])


def from_file(path: Path, diags: List[Diagnostic]) -> List[Assignment]:
    """Assignments of one var file (HCL, or JSON when the name ends ``.json``)."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        diags.append(Diagnostic("Failed to read variables file",
                                f"Given variables file {shown} does not exist."))
        return []
    except (OSError, UnicodeDecodeError) as exc:
        diags.append(Diagnostic("Failed to read variables file", f"Cannot read {shown}: {exc}."))
        return []
    if shown.endswith(".json"):
        register_source(shown, text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            pos = Pos(exc.lineno, exc.colno, exc.pos)
            diags.append(Diagnostic("Invalid JSON", f"{exc.msg}.", Range(shown, pos, Pos(exc.lineno, exc.colno + 1,
                                                                                         exc.pos + 1))))
            return []
        if not isinstance(data, dict):
            diags.append(Diagnostic("Invalid variables file", "The root value of a JSON variables file must be an "
                                    "object.", _nowhere(shown)))
            return []
        return [Assignment(k, value=v, range=_nowhere(shown), origin="file") for k, v in data.items()]
    body, errors = parse(text, shown)
    diags.extend(errors)
    for block in body.blocks:
        if block.type == "variable" and block.labels:
            name = block.labels[0]
            diags.append(Diagnostic(
                "Variable declaration in a .pkrvars file",
                f"A .pkrvars file is used to assign values to variables that have already been declared in .pkr "
                f"files, not to declare new variables. To declare variable \"{name}\", place this block in one of "
                f"your .pkr files, such as variables.pkr.hcl", block.range))
        else:
            diags.append(Diagnostic("Unexpected block in a .pkrvars file",
                                    "A .pkrvars file may only assign values: name = value.", block.range))
    return [Assignment(a.name, expr=a.expr, range=a.expr.range, origin="file") for a in body.attributes.values()]


def from_cli(pairs: List[str], diags: List[Diagnostic]) -> List[Assignment]:
    out = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            diags.append(Diagnostic("Invalid -var option",
                                    f"The given -var option {pair!r} is not correctly specified. It must be a "
                                    "variable name and value separated an equals sign, like -var=\"key=value\"."))
            continue
        out.append(Assignment(name, raw=value, range=_nowhere(f"<value for var.{name} from arguments>"),
                              origin="cli"))
    return out


def parse_raw(raw: str, name: str) -> Tuple[Optional[Expr], List[Diagnostic]]:
    """A ``-var``/env value for a non-primitive type, parsed as an HCL expression."""
    return parse_expression(raw, f"<value for var.{name}>")

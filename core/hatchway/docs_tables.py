"""Tables of template keys in READMEs, generated from attrs config classes.

``python -m hatchway.docs_tables README.md...`` rewrites, in each file, what
lies between::

    <!-- keys: package.module:ClassName [key ...] -->
    <!-- /keys -->

with a Markdown table of the class's fields (key, type, default, help), in
the order the class declares them. With key names after the class, only
those keys are listed (a README may group them); a marker without names
lists every key the file's other markers of that class leave out, so a new
key always lands somewhere. ``--check`` rewrites nothing and fails, naming
the command to run, when a table is out of date. Deterministic: the same
classes give the same bytes.
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import attrs

from .config import field_help

__all__ = ["render_table", "update", "main"]

COMMAND = "python -m hatchway.docs_tables"
MARKER = re.compile(r"(<!-- keys: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- /keys -->)", re.S)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _load(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"{COMMAND}: cannot load {spec!r}: {exc}") from None
    if not attrs.has(cls):
        raise SystemExit(f"{COMMAND}: {spec!r} is not an attrs class")
    return cls


def render_table(cls: type, keys: Optional[Sequence[str]] = None) -> str:
    """The Markdown table of ``cls``'s fields (only ``keys``, in the class's order, when given)."""
    fields = {f.name: f for f in attrs.fields(cls)}
    wanted = None if keys is None else set(keys)
    unknown = sorted((wanted or set()) - set(fields))
    if unknown:
        raise SystemExit(f"{COMMAND}: {cls.__name__} has no key {', '.join(unknown)}")
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, type_name, default, help_text in field_help(cls):
        if wanted is not None and name not in wanted:
            continue
        meta = fields[name].metadata
        if meta.get("path"):
            type_name = "path"
        if meta.get("secret"):
            type_name += " (secret, never shown)"
        shown = "**required**" if default == "required" else (f"`{default}`" if default != "" else "")
        text = help_text
        aliases = meta.get("aliases", ())
        if aliases:
            text += " Also spelled " + ", ".join(f"`{a}`" for a in aliases) + "."
        lines.append(f"| `{name}` | {_cell(type_name)} | {_cell(shown)} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def _parse(spec: str) -> Tuple[str, Optional[List[str]]]:
    words = spec.split()
    if not words:
        raise SystemExit(f"{COMMAND}: an empty <!-- keys: --> marker")
    return words[0], (words[1:] or None)


def update(text: str) -> str:
    """``text`` with every marked table regenerated."""
    specs = [_parse(m.group("spec")) for m in MARKER.finditer(text)]
    claimed: Dict[str, Set[str]] = {}
    for class_spec, keys in specs:
        claimed.setdefault(class_spec, set()).update(keys or ())

    def replace(match: "re.Match[str]") -> str:
        class_spec, keys = _parse(match.group("spec"))
        cls = _load(class_spec)
        if keys is None:
            keys = [f.name for f in attrs.fields(cls) if f.name not in claimed[class_spec]]
        return match.group(1) + render_table(cls, keys) + match.group(4)

    return MARKER.sub(replace, text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Regenerate the key tables of READMEs.")
    parser.add_argument("--check", action="store_true", help="change nothing; fail if a table is out of date")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    stale = []
    for path in args.files:
        old = path.read_text(encoding="utf-8")
        new = update(old)
        if new == old:
            continue
        if args.check:
            stale.append(path)
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       str(path), f"{path} (generated)"))
        else:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    if stale:
        print(f"\nkey tables out of date in {', '.join(map(str, stale))}; run: "
              f"{COMMAND} {' '.join(map(str, stale))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""HCL2 templates (``*.pkr.hcl``, ``*.pkr.json``, directories): Packer's current format.

This module stays light: importing it does not import the parser, so that
the CLI can choose a front end cheaply. :func:`load` and :func:`plan` do the
work (see :mod:`.frontend`); :func:`prepare` runs the usual validation on the
loaded model and turns its problems back into HCL diagnostics with file,
line and column.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple

__all__ = ["is_hcl_path", "load", "prepare", "plan"]


def is_hcl_path(path: "str | Path") -> bool:
    """Packer's rule: ``.pkr.hcl``/``.pkr.json`` files and directories are HCL2; anything else is JSON."""
    text = str(path)
    return text.endswith((".pkr.hcl", ".pkr.json")) or os.path.isdir(text)


def load(path: "str | Path", plugins: Any = None, **kwargs: Any) -> Any:
    """:func:`.frontend.load`: the template model plus variables, locals and positions."""
    from .frontend import load as _load

    return _load(path, plugins, **kwargs)


def prepare(loaded: Any, plugins: Any, only: Sequence[str] = (), except_: Sequence[str] = ()) -> Any:
    """Validate a loaded template into a :class:`~hatchway.template.validate.Plan`.

    ``-except`` patterns that name post-processors (their ``name``) drop those
    post-processors; the others are build-name globs, as in Packer.
    """
    from ...errors import ConfigError
    from ..validate import prepare as _prepare
    from .diagnostics import DiagnosticsError, format_diagnostic
    from .positions import problems_to_diagnostics

    template = loaded.template
    pp_names = loaded.post_processor_names
    build_names = template.build_names()
    build_except: List[str] = []
    for pattern in except_:
        hits_pp = [p for p, n in pp_names.items() if fnmatch.fnmatchcase(n, pattern)]
        if hits_pp:
            template.post_processors = [[pp for pp in chain if pp.path not in hits_pp]
                                        for chain in template.post_processors]
            template.post_processors = [c for c in template.post_processors if c]
        if not hits_pp or fnmatch.filter(build_names, pattern):
            build_except.append(pattern)
    errors = list(loaded.errors)
    try:
        result = _prepare(template, plugins, variables={}, only=list(only), except_=build_except)
    except DiagnosticsError:
        raise
    except ConfigError as exc:
        problems = [p for p in exc.problems if not _failed(p.path, loaded.failed, loaded.sections)]
        if errors and not template.builders:
            problems = [p for p in problems if not p.path.startswith("-") and "no builds to run" not in p.message]
        diags = errors + list(loaded.warnings) + problems_to_diagnostics(problems, loaded.positions, loaded.sections)
        raise DiagnosticsError(diags, str(template.path)) from None
    if errors:
        raise DiagnosticsError(errors + list(loaded.warnings), str(template.path))
    warnings = list(loaded.warnings) + problems_to_diagnostics(result.warnings, loaded.positions, loaded.sections)
    shown: List[str] = []
    for d in warnings:
        text = format_diagnostic(d)[len("Warning: "):]
        if text not in shown:
            shown.append(text)
    result.warnings = [_Warning(text) for text in shown]
    return result


class _Warning:
    """A warning diagnostic where the CLI expects a ConfigProblem: printed as HCL formats it."""

    severity = "warning"
    is_error = False
    path = ""
    hint = ""

    def __init__(self, text: str) -> None:
        self.message = text

    def __str__(self) -> str:
        return self.message


def _failed(path: str, failed: Any, sections: Any) -> bool:
    """A problem about an option whose expression already failed (and was reported)."""
    if path in sections and any(f.startswith(path + ".") for f in failed):
        return True  # a rule between keys of a section with a broken key
    return any(path == f or path.startswith(f + ".") or path.startswith(f + "[") for f in failed)


def plan(path: "str | Path", plugins: Any, *, var_files: Sequence[str] = (), cli_vars: Sequence[str] = (),
         only: Sequence[str] = (), except_: Sequence[str] = (), env: Optional[Mapping[str, str]] = None,
         warn_undeclared: bool = False) -> Tuple[Any, Any]:
    """Load and validate: ``(plan, loaded)``."""
    loaded = load(path, plugins, var_files=var_files, cli_vars=cli_vars, env=env, keep_errors=True,
                  warn_undeclared=warn_undeclared)
    return prepare(loaded, plugins, only, except_), loaded

"""``hatchway console``: evaluate HCL2 expressions against a template's variables and locals, as ``packer console``.

Each line read is one expression; its value is printed as Packer prints it
(a top-level string as it is, anything else as an HCL-like literal; values
not known yet as ``<unknown>``). An invalid line prints its diagnostic and
the session goes on; the exit status is 1 if any line failed.
"""
from __future__ import annotations

from typing import Any, Iterable, TextIO

from . import values as V
from .diagnostics import format_diagnostic
from .evaluate import EvalContext, EvalError, evaluate
from .parser import parse_expression

__all__ = ["format_result", "run"]


def format_result(value: Any, nested: bool = False) -> str:
    """Packer's ``PrintableCtyValue``: strings bare at the top, quoted inside collections."""
    if not V.is_known(value):
        return "<unknown>"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if V.is_number(value):
        return V.format_number(value)
    if isinstance(value, str):
        return _go_quote(value) if nested else value
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = "".join(f"  {_indent(format_result(v, True))},\n" for v in value)
        return "[\n" + items + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = "".join(f"  {_go_quote(k)} = {_indent(format_result(value[k], True))}\n" for k in sorted(value))
        return "{\n" + items + "}"
    return str(value)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _go_quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def evaluate_line(line: str, ctx: EvalContext) -> str:
    """The printed value of one expression; raise :class:`EvalError` (or return the syntax error text)."""
    expr, diags = parse_expression(line, "<console-input>")
    if diags or expr is None:
        raise EvalError(diags[0])
    return format_result(evaluate(expr, ctx))


def _prompted(stream: TextIO, out: TextIO) -> Iterable[str]:
    """Lines of an interactive terminal, each after a "> " prompt (as packer console)."""
    while True:
        out.write("> ")
        out.flush()
        line = stream.readline()
        if not line:
            out.write("\n")
            return
        yield line


def run(lines: Iterable[str], ctx: EvalContext, out: TextIO, err: TextIO) -> int:
    """Evaluate each line; return 1 if any failed. A terminal on ``lines`` gets a prompt."""
    isatty = getattr(lines, "isatty", None)
    if callable(isatty) and isatty():
        lines = _prompted(lines, out)  # type: ignore[arg-type]
    failed = False
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line in ("exit", "quit"):
            break
        try:
            out.write(evaluate_line(line, ctx) + "\n")
        except EvalError as exc:
            failed = True
            err.write(format_diagnostic(exc.diag) + "\n")
        out.flush()
    return 1 if failed else 0

"""A small implementation of Go's ``text/template``, the engine of Packer's JSON templates.

No maintained pure-Python implementation exists on PyPI (the one package
found wraps Go's own through CGo), so this is a port of the parts of
``text/template`` that templates use: lexer (:mod:`.lexer`), parse tree
(:mod:`.parser`), executor (:mod:`.executor`) and ``fmt`` (:mod:`.gofmt`).
Everything is linear in the input; nesting and execution are bounded.

:func:`render` is the entry point: errors are :class:`TemplateError` with
a ``line:column`` position and Go's wording.
"""
from __future__ import annotations

import functools
from typing import Any, FrozenSet, Mapping

from .executor import BUILTINS, UNKNOWN, Deferred, ExecError, FuncError, GoFunc, execute, gofunc, strings_func
from .lexer import TemplateSyntaxError, position
from .parser import Tree, UndefinedFunction, parse

__all__ = ["render", "parse_template", "position", "TemplateError", "GoFunc", "FuncError", "Deferred", "UNKNOWN", "BUILTINS",
           "gofunc", "strings_func", "Tree"]


class TemplateError(Exception):
    """A template failed to parse or run. ``str()`` is ``line:col: message``."""

    def __init__(self, message: str, pos: int, text: str, name: str = "") -> None:
        self.message, self.pos, self.text = message, pos, text
        #: For an undefined function, its name (to suggest another).
        self.name = name
        super().__init__(f"{position(text, pos)}: {message}")


@functools.lru_cache(maxsize=2048)
def _parse(text: str, names: FrozenSet[str]) -> Tree:
    return parse(text, lambda n: n in names or n in BUILTINS)


def parse_template(text: str, funcs: Mapping[str, GoFunc]) -> Tree:
    """Parse ``text`` (cached); raise :class:`TemplateError`."""
    try:
        return _parse(text, frozenset(funcs))
    except UndefinedFunction as exc:
        raise TemplateError(exc.message, exc.pos, text, exc.name) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message, exc.pos, text) from None


def render(text: str, funcs: Mapping[str, GoFunc], data: Any = None, partial: bool = False) -> str:
    """Parse and run ``text`` with ``funcs`` and ``data`` (the template's dot).

    With ``partial``, top-level actions that need something unknown (data
    :data:`UNKNOWN`, a function raising :class:`Deferred`) are kept as written.
    """
    if "{{" not in text:
        return text
    tree = parse_template(text, funcs)
    try:
        return execute(tree, funcs, data, partial)
    except ExecError as exc:
        raise TemplateError(f"at <{exc.at}>: {exc.message}" if exc.at else exc.message, exc.pos, text) \
            from None

"""Our own small HCL syntax tree: every node has a :class:`Range` in its file.

The parser (:mod:`.parser`) is the only producer; the evaluator, the block
decoder and ``hcl2_upgrade`` are the consumers. Nodes are plain slotted
classes: the tree of a 500-line template has tens of thousands of them.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union

__all__ = [
    "Pos", "Range", "Node", "Expr", "Literal", "Template", "TemplateLit", "TemplateInterp", "TemplateIf",
    "TemplateFor", "Variable", "GetAttr", "Index", "Splat", "SplatAnchor", "Call", "TupleCons", "ObjectCons",
    "Conditional", "Binary", "Unary", "ForExpr", "Paren", "Attribute", "Block", "Body",
]


class Pos:
    """A position: 1-based line and column, 0-based character offset."""

    __slots__ = ("line", "column", "offset")

    def __init__(self, line: int, column: int, offset: int) -> None:
        self.line, self.column, self.offset = line, column, offset

    def __repr__(self) -> str:
        return f"{self.line}:{self.column}"


class Range:
    """A span of one file, ``start`` inclusive, ``end`` exclusive."""

    __slots__ = ("filename", "start", "end")

    def __init__(self, filename: str, start: Pos, end: Pos) -> None:
        self.filename, self.start, self.end = filename, start, end

    def __str__(self) -> str:
        """HCL's compact form: ``file:L,C-C2`` or ``file:L,C-L2,C2``."""
        s, e = self.start, self.end
        if s.line == e.line:
            return f"{self.filename}:{s.line},{s.column}-{e.column}"
        return f"{self.filename}:{s.line},{s.column}-{e.line},{e.column}"

    __repr__ = __str__

    def to(self, other: "Range") -> "Range":
        return Range(self.filename, self.start, other.end)


class Node:
    __slots__ = ("range",)
    range: Range


class Expr(Node):
    __slots__ = ()


class Literal(Expr):
    """A number, ``true``, ``false`` or ``null`` (``value`` is the Python native)."""

    __slots__ = ("value",)

    def __init__(self, value: Any, range: Range) -> None:
        self.value, self.range = value, range


class TemplateLit(Node):
    __slots__ = ("text",)

    def __init__(self, text: str, range: Range) -> None:
        self.text, self.range = text, range


class TemplateInterp(Node):
    __slots__ = ("expr",)

    def __init__(self, expr: Expr, range: Range) -> None:
        self.expr, self.range = expr, range


class TemplateIf(Node):
    __slots__ = ("cond", "then", "else_")

    def __init__(self, cond: Expr, then: List[Node], else_: List[Node], range: Range) -> None:
        self.cond, self.then, self.else_, self.range = cond, then, else_, range


class TemplateFor(Node):
    __slots__ = ("key_var", "value_var", "coll", "body")

    def __init__(self, key_var: Optional[str], value_var: str, coll: Expr, body: List[Node], range: Range) -> None:
        self.key_var, self.value_var, self.coll, self.body, self.range = key_var, value_var, coll, body, range


class Template(Expr):
    """A quoted string or heredoc. ``parts`` are literals, interpolations and directives.

    ``quoted`` is true for ``"..."`` (false for heredocs); ``heredoc`` keeps the marker for upgrade/printing.
    """

    __slots__ = ("parts", "heredoc")

    def __init__(self, parts: List[Node], range: Range, heredoc: str = "") -> None:
        self.parts, self.range, self.heredoc = parts, range, heredoc

    @property
    def is_lone_interp(self) -> bool:
        """``"${x}"``: the result keeps x's type."""
        return len(self.parts) == 1 and isinstance(self.parts[0], TemplateInterp) and not self.heredoc

    def literal(self) -> Optional[str]:
        """The string if the template has no interpolation or directive."""
        if all(isinstance(p, TemplateLit) for p in self.parts):
            return "".join(p.text for p in self.parts)  # type: ignore[attr-defined]
        return None


class Variable(Expr):
    """A root name: ``var``, ``local``, an iterator..."""

    __slots__ = ("name",)

    def __init__(self, name: str, range: Range) -> None:
        self.name, self.range = name, range


class GetAttr(Expr):
    __slots__ = ("obj", "name", "name_range")

    def __init__(self, obj: Expr, name: str, range: Range, name_range: Range) -> None:
        self.obj, self.name, self.range, self.name_range = obj, name, range, name_range


class Index(Expr):
    __slots__ = ("obj", "key", "legacy")

    def __init__(self, obj: Expr, key: Expr, range: Range, legacy: bool = False) -> None:
        self.obj, self.key, self.range, self.legacy = obj, key, range, legacy


class SplatAnchor(Expr):
    """Stands for "each element" inside a splat's ``each`` expression."""

    __slots__ = ()

    def __init__(self, range: Range) -> None:
        self.range = range


class Splat(Expr):
    """``src[*].a.b`` or ``src.*.a``: ``each`` is evaluated with :class:`SplatAnchor` bound to every element."""

    __slots__ = ("source", "each", "full")

    def __init__(self, source: Expr, each: Expr, full: bool, range: Range) -> None:
        self.source, self.each, self.full, self.range = source, each, full, range


class Call(Expr):
    __slots__ = ("name", "args", "expand_final", "name_range")

    def __init__(self, name: str, args: List[Expr], expand_final: bool, range: Range, name_range: Range) -> None:
        self.name, self.args, self.expand_final, self.range, self.name_range = name, args, expand_final, range, name_range


class TupleCons(Expr):
    __slots__ = ("items",)

    def __init__(self, items: List[Expr], range: Range) -> None:
        self.items, self.range = items, range


class ObjectCons(Expr):
    """``items``: (key, value, key_is_bare_name). A bare name key is the string itself."""

    __slots__ = ("items",)

    def __init__(self, items: List[Tuple[Expr, Expr, bool]], range: Range) -> None:
        self.items, self.range = items, range


class Conditional(Expr):
    __slots__ = ("cond", "true", "false")

    def __init__(self, cond: Expr, true: Expr, false: Expr, range: Range) -> None:
        self.cond, self.true, self.false, self.range = cond, true, false, range


class Binary(Expr):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Expr, right: Expr, range: Range) -> None:
        self.op, self.left, self.right, self.range = op, left, right, range


class Unary(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Expr, range: Range) -> None:
        self.op, self.operand, self.range = op, operand, range


class ForExpr(Expr):
    __slots__ = ("key_var", "value_var", "coll", "key", "value", "cond", "group", "is_object")

    def __init__(self, key_var: Optional[str], value_var: str, coll: Expr, key: Optional[Expr], value: Expr,
                 cond: Optional[Expr], group: bool, is_object: bool, range: Range) -> None:
        self.key_var, self.value_var, self.coll = key_var, value_var, coll
        self.key, self.value, self.cond, self.group, self.is_object, self.range = key, value, cond, group, is_object, range


class Paren(Expr):
    __slots__ = ("expr",)

    def __init__(self, expr: Expr, range: Range) -> None:
        self.expr, self.range = expr, range


class Attribute(Node):
    __slots__ = ("name", "expr", "name_range")

    def __init__(self, name: str, expr: Expr, range: Range, name_range: Range) -> None:
        self.name, self.expr, self.range, self.name_range = name, expr, range, name_range


class Block(Node):
    """``type "label" ... { body }``; ``range`` covers the type and labels (what HCL points at)."""

    __slots__ = ("type", "labels", "label_ranges", "body", "type_range")

    def __init__(self, type: str, labels: List[str], label_ranges: List[Range], body: "Body", range: Range,
                 type_range: Range) -> None:
        self.type, self.labels, self.label_ranges, self.body = type, labels, label_ranges, body
        self.range, self.type_range = range, type_range


class Body(Node):
    """Attributes (by name, in file order) and blocks (in file order)."""

    __slots__ = ("attributes", "blocks", "items")

    def __init__(self, range: Range) -> None:
        self.attributes: Dict[str, Attribute] = {}
        self.blocks: List[Block] = []
        self.items: List[Union[Attribute, Block]] = []
        self.range = range


def walk(node: Any):
    """Every expression node under ``node`` (itself included), depth first."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        yield n
        if isinstance(n, Template):
            stack.extend(n.parts)
        elif isinstance(n, TemplateInterp):
            stack.append(n.expr)
        elif isinstance(n, TemplateIf):
            stack.append(n.cond)
            stack.extend(n.then)
            stack.extend(n.else_)
        elif isinstance(n, TemplateFor):
            stack.append(n.coll)
            stack.extend(n.body)
        elif isinstance(n, GetAttr):
            stack.append(n.obj)
        elif isinstance(n, Index):
            stack.extend((n.obj, n.key))
        elif isinstance(n, Splat):
            stack.extend((n.source, n.each))
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, TupleCons):
            stack.extend(n.items)
        elif isinstance(n, ObjectCons):
            for k, v, _ in n.items:
                stack.extend((k, v))
        elif isinstance(n, Conditional):
            stack.extend((n.cond, n.true, n.false))
        elif isinstance(n, Binary):
            stack.extend((n.left, n.right))
        elif isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, ForExpr):
            stack.extend((n.coll, n.key, n.value, n.cond))
        elif isinstance(n, Paren):
            stack.append(n.expr)
        elif isinstance(n, Attribute):
            stack.append(n.expr)
        elif isinstance(n, Block):
            stack.append(n.body)
        elif isinstance(n, Body):
            stack.extend(n.items)


def traversal(expr: Expr) -> Optional[List[str]]:
    """``var.a.b`` / ``data.x["y"]`` -> ["var", "a", "b"]; None if ``expr`` is not a static traversal."""
    parts: List[str] = []
    while True:
        if isinstance(expr, Variable):
            parts.append(expr.name)
            return parts[::-1]
        if isinstance(expr, GetAttr):
            parts.append(expr.name)
            expr = expr.obj
        elif isinstance(expr, Index) and isinstance(expr.key, Template) and expr.key.literal() is not None:
            parts.append(expr.key.literal() or "")
            expr = expr.obj
        elif isinstance(expr, Index) and isinstance(expr.key, Literal):
            parts.append(str(expr.key.value))
            expr = expr.obj
        else:
            return None


def references(node: Any) -> List[Tuple[List[str], Range]]:
    """The static traversals (root name first) used anywhere under ``node``, outermost first."""
    out: List[Tuple[List[str], Range]] = []
    inner: set = set()
    for n in walk(node):
        if isinstance(n, (GetAttr, Index, Variable)) and id(n) not in inner:
            path = traversal(n)
            if path is not None:
                out.append((path, n.range))
                e = n
                while isinstance(e, (GetAttr, Index)):
                    e = e.obj
                    inner.add(id(e))
    return out

"""HCL's JSON syntax (``*.pkr.json``) -> the same :mod:`.ast` as native syntax.

JSON has no block/attribute distinction, so, as in HCL, the schema decides:
the known Packer blocks (and their label counts) are blocks; everything else
is an attribute. Strings are templates (``"${var.x}"``); a variable's
``type`` string is an expression. Every node points at its JSON value.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

from .ast import Attribute, Block, Body, Expr, Literal, ObjectCons, Pos, Range, Template, TemplateLit, TupleCons
from .diagnostics import Diagnostic, register_source
from .parser import parse_expression, parse_template

__all__ = ["parse_json"]

# block type -> (label count, {nested block type: schema})
_PROV = (1, {"dynamic": None})
_SCHEMA: Dict[str, Any] = {
    "packer": (0, {"required_plugins": (0, {})}),
    "variable": (1, {"validation": (0, {})}),
    "variables": (0, {}),
    "locals": (0, {}),
    "local": (1, {}),
    "source": (2, {}),
    "data": (2, {}),
    "hcp_packer_registry": (0, {}),
    "build": (0, {
        "source": (1, {}),
        "provisioner": (1, {}),
        "error-cleanup-provisioner": (1, {}),
        "post-processor": (1, {}),
        "post-processors": (0, {"post-processor": (1, {})}),
        "hcp_packer_registry": (0, {}),
    }),
}


class _Node:
    """A JSON value with its range."""

    __slots__ = ("value", "start", "end")

    def __init__(self, value: Any, start: int, end: int) -> None:
        self.value, self.start, self.end = value, start, end


class _JSON:
    _WS = re.compile(r"[ \t\r\n]*")
    _NUM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
    _STR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)

    def __init__(self, text: str, filename: str) -> None:
        self.text, self.filename = text, filename
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]

    def pos(self, offset: int) -> Pos:
        import bisect

        line = bisect.bisect_right(self.lines, offset)
        return Pos(line, offset - self.lines[line - 1] + 1, offset)

    def rng(self, start: int, end: int) -> Range:
        return Range(self.filename, self.pos(start), self.pos(end))

    def fail(self, at: int, message: str) -> Exception:
        return _Fail(Diagnostic("Invalid JSON", message, self.rng(at, min(at + 1, len(self.text)))))

    def ws(self, i: int) -> int:
        return self._WS.match(self.text, i).end()  # type: ignore[union-attr]

    def value(self, i: int) -> Tuple[_Node, int]:
        i = self.ws(i)
        t = self.text
        if i >= len(t):
            raise self.fail(i, "Unexpected end of file: a value is expected.")
        c = t[i]
        if c == "{":
            items: List[Tuple[_Node, _Node]] = []
            j = self.ws(i + 1)
            if t.startswith("}", j):
                return _Node(items, i, j + 1), j + 1
            while True:
                j = self.ws(j)
                m = self._STR.match(t, j)
                if not m:
                    raise self.fail(j, "An object key (a quoted string) is expected.")
                key = _Node(json.loads(m.group()), j, m.end())
                j = self.ws(m.end())
                if not t.startswith(":", j):
                    raise self.fail(j, "A colon is expected after an object key.")
                val, j = self.value(j + 1)
                items.append((key, val))
                j = self.ws(j)
                if t.startswith(",", j):
                    j += 1
                    continue
                if t.startswith("}", j):
                    return _Node(items, i, j + 1), j + 1
                raise self.fail(j, "A comma or closing brace is expected.")
        if c == "[":
            elems: List[_Node] = []
            j = self.ws(i + 1)
            if t.startswith("]", j):
                return _Node(elems, i, j + 1), j + 1
            while True:
                val, j = self.value(j)
                elems.append(val)
                j = self.ws(j)
                if t.startswith(",", j):
                    j += 1
                    continue
                if t.startswith("]", j):
                    return _Node(elems, i, j + 1), j + 1
                raise self.fail(j, "A comma or closing bracket is expected.")
        if c == '"':
            m = self._STR.match(t, i)
            if not m:
                raise self.fail(i, "The string is not terminated or holds an invalid character.")
            return _Node(json.loads(m.group()), i, m.end()), m.end()
        for word, v in (("true", True), ("false", False), ("null", None)):
            if t.startswith(word, i):
                return _Node(v, i, i + len(word)), i + len(word)
        m = self._NUM.match(t, i)
        if m:
            num = json.loads(m.group())
            if isinstance(num, float) and num.is_integer():
                num = int(num)
            return _Node(num, i, m.end()), m.end()
        raise self.fail(i, "A JSON value is expected here.")


class _Fail(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.summary)
        self.diag = diag


def _retarget(node: Any, r: Range) -> None:
    from .ast import walk

    for n in walk(node):
        try:
            n.range = r
        except AttributeError:  # pragma: no cover
            pass
        if hasattr(n, "name_range"):
            n.name_range = r


class _Converter:
    def __init__(self, j: _JSON) -> None:
        self.j = j
        self.diags: List[Diagnostic] = []

    def expr(self, node: _Node, as_expression: bool = False) -> Expr:
        r = self.j.rng(node.start, node.end)
        v = node.value
        if isinstance(v, str):
            if as_expression:
                e, errors = parse_expression(v, f"{r.filename}#expr")
            else:
                e, errors = parse_template(v, f"{r.filename}#string")
                if e is not None:
                    e.heredoc = ""  # a JSON string is a quoted template: "${x}" keeps x's type
            if errors or e is None:
                for d in errors:
                    self.diags.append(Diagnostic(d.summary, d.detail, r))
                return Template([TemplateLit(v, r)], r)
            _retarget(e, r)
            return e
        if isinstance(v, list) and (not v or isinstance(v[0], _Node)):
            return TupleCons([self.expr(x) for x in v], r)
        if isinstance(v, list):  # an object: list of (key, value)
            items = []
            for k, val in v:
                kr = self.j.rng(k.start, k.end)
                items.append((Template([TemplateLit(k.value, kr)], kr), self.expr(val), False))
            return ObjectCons(items, r)
        return Literal(v, r)

    def body(self, node: _Node, blocks: Dict[str, Any], attr_exprs: Tuple[str, ...] = ()) -> Body:
        body = Body(self.j.rng(node.start, node.end))
        if not (isinstance(node.value, list) and (not node.value or isinstance(node.value[0], tuple))):
            self.diags.append(Diagnostic("Incorrect JSON value type", "A JSON object is required here, to "
                                         "represent a block's body.", body.range))
            return body
        for key, val in node.value:
            name = key.value
            kr = self.j.rng(key.start, key.end)
            if name == "//":
                continue  # comments, as HCL allows
            if name in blocks and blocks[name] is not None:
                labels, nested = blocks[name]
                self.blocks(body, name, labels, nested, val, [], [], kr)
                continue
            e = self.expr(val, as_expression=name in attr_exprs)
            attr = Attribute(name, e, kr.to(e.range), kr)
            if name in body.attributes:
                self.diags.append(Diagnostic("Duplicate argument", f'The argument "{name}" was already set.', kr))
                continue
            body.attributes[name] = attr
            body.items.append(attr)
        return body

    def blocks(self, body: Body, btype: str, labels: int, nested: Dict[str, Any], val: _Node, got: List[str],
               ranges: List[Range], kr: Range) -> None:
        if isinstance(val.value, list) and val.value and isinstance(val.value[0], _Node):
            for item in val.value:  # an array: several blocks (at any label level, as HCL allows)
                self.blocks(body, btype, labels, nested, item, got, ranges, kr)
            return
        if len(got) < labels:
            if not (isinstance(val.value, list) and (not val.value or isinstance(val.value[0], tuple))):
                self.diags.append(Diagnostic("Incorrect JSON value type", f'A JSON object with a property per '
                                             f'{btype} label is required here.', self.j.rng(val.start, val.end)))
                return
            for k, sub in val.value:
                r = self.j.rng(k.start, k.end)
                self.blocks(body, btype, labels, nested, sub, got + [k.value], ranges + [r], kr)
            return
        attr_exprs = ("type",) if btype == "variable" else ()
        inner = self.body(val, nested, attr_exprs)
        header = kr.to(ranges[-1]) if ranges else kr
        block = Block(btype, list(got), list(ranges), inner, header, kr)
        body.blocks.append(block)
        body.items.append(block)


def parse_json(text: str, filename: str) -> Tuple[Body, List[Diagnostic]]:
    """Parse a ``.pkr.json`` file onto a body, as :func:`.parser.parse` does for native syntax."""
    register_source(filename, text)
    j = _JSON(text, filename)
    try:
        node, end = j.value(0)
        end = j.ws(end)
        if end != len(text):
            raise j.fail(end, "Extra characters after the JSON value.")
    except _Fail as exc:
        return Body(j.rng(0, 0)), [exc.diag]
    conv = _Converter(j)
    body = conv.body(node, _SCHEMA)
    return body, conv.diags

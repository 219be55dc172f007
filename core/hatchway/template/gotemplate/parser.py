"""The parse tree of Go's ``text/template`` (``text/template/parse/parse.go``, ``node.go``).

:func:`parse` turns a template into a :class:`ListNode` of text, actions and
control structures (``if``/``else if``/``else``, ``range``, ``with``,
``define``/``template``/``block``, ``break``/``continue``). Functions are
checked at parse time as in Go (``function "x" not defined``), variables
must be declared before use. Nesting is bounded (:data:`MAX_DEPTH`) so a
pathological template is an error, not a stack overflow.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import attrs

from .lexer import Item, TemplateSyntaxError, lex

__all__ = ["parse", "Tree", "MAX_DEPTH"] + [
    "ListNode", "TextNode", "ActionNode", "IfNode", "RangeNode", "WithNode", "TemplateNode", "BreakNode",
    "ContinueNode", "walk", "literal_calls", "calls", "root_fields", "PipeNode", "CommandNode", "IdentifierNode", "FieldNode", "VariableNode", "ChainNode",
    "DotNode", "NilNode", "BoolNode", "NumberNode", "StringNode",
]

#: How deep parentheses and control structures may nest.
MAX_DEPTH = 50


@attrs.define(eq=False)
class Node:
    pos: int


@attrs.define(eq=False)
class ListNode(Node):
    nodes: List[Node] = attrs.field(factory=list)
    end: int = 0


@attrs.define(eq=False)
class TextNode(Node):
    text: str


@attrs.define(eq=False)
class PipeNode(Node):
    decl: List["VariableNode"]
    cmds: List["CommandNode"]
    is_assign: bool = False


@attrs.define(eq=False)
class ActionNode(Node):
    pipe: PipeNode
    end: int = 0


@attrs.define(eq=False)
class BranchNode(Node):
    pipe: PipeNode
    list: ListNode
    else_list: Optional[ListNode]
    end: int = 0


class IfNode(BranchNode):
    pass


class RangeNode(BranchNode):
    pass


class WithNode(BranchNode):
    pass


@attrs.define(eq=False)
class TemplateNode(Node):
    name: str
    pipe: Optional[PipeNode]
    end: int = 0


@attrs.define(eq=False)
class BreakNode(Node):
    end: int = 0


@attrs.define(eq=False)
class ContinueNode(Node):
    end: int = 0


@attrs.define(eq=False)
class CommandNode(Node):
    args: List[Node]


@attrs.define(eq=False)
class IdentifierNode(Node):
    name: str


@attrs.define(eq=False)
class FieldNode(Node):
    ident: List[str]


@attrs.define(eq=False)
class VariableNode(Node):
    ident: List[str]  # "$x", then fields


@attrs.define(eq=False)
class ChainNode(Node):
    node: Node
    field: List[str]


@attrs.define(eq=False)
class DotNode(Node):
    pass


@attrs.define(eq=False)
class NilNode(Node):
    pass


@attrs.define(eq=False)
class BoolNode(Node):
    value: bool


@attrs.define(eq=False)
class NumberNode(Node):
    text: str
    is_int: bool = False
    is_float: bool = False
    int_value: int = 0
    float_value: float = 0.0


@attrs.define(eq=False)
class StringNode(Node):
    quoted: str
    text: str


@attrs.define
class Tree:
    """A parsed template: its root list and the templates it ``define``\\ s."""

    root: ListNode
    text: str
    defined: Dict[str, ListNode] = attrs.field(factory=dict)


def parse(text: str, has_function: Callable[[str], bool]) -> Tree:
    """Parse ``text``; raise :class:`TemplateSyntaxError` (message and offset) on the first error."""
    return _Parser(text, lex(text), has_function).parse()


def describe(node: Node) -> str:
    """Go's ``node.String()``, roughly: the source form of an expression, for error messages."""
    if isinstance(node, IdentifierNode):
        return node.name
    if isinstance(node, FieldNode):
        return "." + ".".join(node.ident)
    if isinstance(node, VariableNode):
        return ".".join(node.ident)
    if isinstance(node, ChainNode):
        return f"{describe(node.node)}." + ".".join(node.field)
    if isinstance(node, DotNode):
        return "."
    if isinstance(node, NilNode):
        return "nil"
    if isinstance(node, BoolNode):
        return "true" if node.value else "false"
    if isinstance(node, NumberNode):
        return node.text
    if isinstance(node, StringNode):
        return node.quoted
    if isinstance(node, CommandNode):
        return " ".join(f"({describe(a)})" if isinstance(a, PipeNode) else describe(a) for a in node.args)
    if isinstance(node, PipeNode):
        decl = ", ".join(describe(v) for v in node.decl)
        body = " | ".join(describe(c) for c in node.cmds)
        return f"{decl} {'=' if node.is_assign else ':='} {body}" if decl else body
    return type(node).__name__


def _unquote(item: Item) -> str:
    if item.kind == "rawstring":
        return item.val[1:-1]
    body = item.val[1:-1]
    if "\\" not in body:
        return body
    try:
        value = ast.literal_eval(item.val if item.kind == "string" else '"' + body + '"')
    except (ValueError, SyntaxError):
        raise TemplateSyntaxError(f"invalid syntax: {item.val}", item.pos) from None
    if not isinstance(value, str):
        raise TemplateSyntaxError(f"invalid syntax: {item.val}", item.pos)
    return value


def _number(item: Item) -> NumberNode:
    text = item.val
    node = NumberNode(item.pos, text)
    if item.kind == "charconst":
        value = _unquote(Item("string", '"' + text[1:-1] + '"', item.pos)) if "\\" in text else text[1:-1]
        if len(value) != 1:
            raise TemplateSyntaxError(f"malformed character constant: {text}", item.pos)
        node.is_int, node.int_value, node.is_float, node.float_value = True, ord(value), True, float(ord(value))
        return node
    if text.endswith("i"):
        raise TemplateSyntaxError(f"complex numbers are not supported: {text}", item.pos)
    clean = text.replace("_", "")
    digits = clean.lstrip("+-")
    if len(digits) <= 40:  # longer cannot be an int64 (and int() of thousands of digits is refused)
        try:
            legacy_octal = len(digits) > 1 and digits[0] == "0" and digits.isdigit()  # Go: 017 == 15
            value = int(clean, 8) if legacy_octal else int(clean, 0)
            if -(2 ** 63) <= value < 2 ** 64:
                node.is_int, node.int_value = True, value
                node.is_float, node.float_value = True, float(value)
        except ValueError:
            pass
    if not node.is_int and not digits.lower().startswith(("0x", "0o", "0b")):
        try:
            f = float(clean)
            if f not in (float("inf"), float("-inf")):
                node.is_float, node.float_value = True, f
        except ValueError:
            pass
    if not node.is_int and not node.is_float:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise TemplateSyntaxError(f"illegal number syntax: {shown!r} ({len(text)} characters)", item.pos)
    return node


class _Parser:
    def __init__(self, text: str, items: List[Item], has_function: Callable[[str], bool]) -> None:
        self.text = text
        self.items = items
        self.i = 0
        self.has_function = has_function
        self.vars: List[str] = ["$"]
        self.depth = 0
        self.range_depth = 0
        self.defined: Dict[str, ListNode] = {}

    # -- tokens ------------------------------------------------------------------
    def next(self) -> Item:
        item = self.items[self.i]
        if item.kind != "eof":
            self.i += 1
        return item

    def backup(self) -> None:
        self.i -= 1

    def end_of_last(self) -> int:
        item = self.items[self.i - 1]
        return item.pos + len(item.val)

    def peek(self) -> Item:
        return self.items[self.i]

    def next_non_space(self) -> Item:
        item = self.next()
        while item.kind == "space":
            item = self.next()
        return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def error(self, message: str, item: Optional[Item] = None) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, (item or self.items[max(self.i - 1, 0)]).pos)

    def unexpected(self, item: Item, context: str) -> TemplateSyntaxError:
        shown = {"eof": "EOF", "right": "\"}}\""}.get(item.kind, f"<{item.val}>")
        return self.error(f"unexpected {shown} in {context}", item)

    def expect(self, kind: str, context: str) -> Item:
        item = self.next_non_space()
        if item.kind != kind:
            raise self.unexpected(item, context)
        return item

    def enter(self, item: Item) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression nests more than {MAX_DEPTH} levels deep", item)

    # -- structure ---------------------------------------------------------------
    def parse(self) -> Tree:
        root = ListNode(0)
        while self.peek().kind != "eof":
            if self.peek().kind == "left":
                start = self.i
                self.next()
                keyword = self.next_non_space()
                if keyword.kind == "keyword" and keyword.val == "define":
                    self.parse_define()
                    continue
                self.i = start
            node, stop = self.text_or_action()
            if stop is not None:
                raise self.unexpected(stop, "input")
            if node is not None:
                root.nodes.append(node)
        root.end = len(self.text)
        return Tree(root, self.text, self.defined)

    def parse_define(self) -> None:
        name_item = self.next_non_space()
        if name_item.kind not in ("string", "rawstring"):
            raise self.unexpected(name_item, "define clause")
        name = _unquote(name_item)
        self.expect("right", "define clause")
        body, stop = self.item_list("define")
        if stop.val != "end":
            raise self.unexpected(stop, "define")
        self.defined[name] = body

    def item_list(self, context: str) -> Tuple[ListNode, Item]:
        """Nodes until ``{{end}}`` or ``{{else}}``; returns the list and that keyword's item."""
        out = ListNode(self.peek().pos)
        while True:
            if self.peek().kind == "eof":
                raise self.unexpected(self.peek(), context)
            node, stop = self.text_or_action()
            if stop is not None:
                out.end = stop.pos
                return out, stop
            if node is not None:
                out.nodes.append(node)

    def text_or_action(self) -> Tuple[Optional[Node], Optional[Item]]:
        item = self.next()
        if item.kind == "text":
            return TextNode(item.pos, item.val), None
        if item.kind == "left":
            start = item.pos
            if self.peek().kind == "comment":
                self.next()
                self.expect("right", "comment")
                return None, None
            return self.action(start)
        raise self.unexpected(item, "input")

    def action(self, start: int) -> Tuple[Optional[Node], Optional[Item]]:
        item = self.next_non_space()
        if item.kind == "keyword":
            word = item.val
            if word in ("end", "else"):
                if word == "end":
                    self.expect("right", "end")
                return None, item
            if word == "if":
                return self.branch(IfNode, start, item, "if"), None
            if word == "with":
                return self.branch(WithNode, start, item, "with"), None
            if word == "range":
                self.range_depth += 1
                try:
                    return self.branch(RangeNode, start, item, "range"), None
                finally:
                    self.range_depth -= 1
            if word in ("break", "continue"):
                if not self.range_depth:
                    raise self.error(f"{{{{{word}}}}} outside {{{{range}}}}", item)
                end = self.expect("right", word)
                cls = BreakNode if word == "break" else ContinueNode
                return cls(start, end.pos + len(end.val)), None
            if word in ("template", "block"):
                return self.template_call(start, item), None
            if word == "define":
                raise self.error("{{define}} is only allowed at the top level", item)
        self.backup()
        pipe = self.pipeline("command", "right")
        return ActionNode(start, pipe, self.end_of_last()), None

    def branch(self, cls: type, start: int, item: Item, context: str) -> BranchNode:
        self.enter(item)
        marks = len(self.vars)
        pipe = self.pipeline(context, "right")
        body, stop = self.item_list(context)
        else_list = None
        if stop.val == "else":
            after = self.peek_non_space()
            if (context in ("if", "with")) and after.kind == "keyword" and after.val == context:
                # {{else if x}} ... {{end}}: an {{if}} inside the else branch sharing the {{end}}
                self.next_non_space()
                inner = self.branch(cls, stop.pos, after, context)
                else_list = ListNode(stop.pos, [inner], inner.end)
                self.vars = self.vars[:marks]
                self.depth -= 1
                return cls(start, pipe, body, else_list, inner.end)
            self.expect("right", "else")
            else_list, stop = self.item_list(context)
            if stop.val != "end":
                raise self.unexpected(stop, context)
        self.vars = self.vars[:marks]
        self.depth -= 1
        return cls(start, pipe, body, else_list, self.end_of_last())

    def template_call(self, start: int, keyword: Item) -> Node:
        name_item = self.next_non_space()
        if name_item.kind not in ("string", "rawstring"):
            raise self.unexpected(name_item, f"{keyword.val} clause")
        name = _unquote(name_item)
        pipe = None
        if self.peek_non_space().kind != "right":
            pipe = self.pipeline(keyword.val, "right")
        else:
            self.next_non_space()
        if keyword.val == "block":
            self.enter(keyword)
            body, stop = self.item_list("block")
            self.depth -= 1
            if stop.val != "end":
                raise self.unexpected(stop, "block")
            self.defined[name] = body
        return TemplateNode(start, name, pipe, self.end_of_last())

    # -- pipelines ----------------------------------------------------------------
    def pipeline(self, context: str, end: str) -> PipeNode:
        start_item = self.peek_non_space()
        decl: List[VariableNode] = []
        is_assign = False
        # declarations: $x := / $x = / $i, $v :=
        save = self.i
        item = self.next_non_space()
        if item.kind == "variable":
            names = [item]
            nxt = self.next_non_space()
            if nxt.kind == "char" and nxt.val == ",":
                second = self.next_non_space()
                if second.kind != "variable" or context != "range":
                    raise self.error(f"too many declarations in {context}", nxt)
                names.append(second)
                nxt = self.next_non_space()
            if nxt.kind in ("declare", "assign"):
                is_assign = nxt.kind == "assign"
                for v in names:
                    if is_assign:
                        if v.val not in self.vars:
                            raise self.error(f"undefined variable {v.val!r}", v)
                    decl.append(VariableNode(v.pos, [v.val]))
                if not is_assign:
                    self.vars.extend(v.val for v in names)
            else:
                self.i = save
        else:
            self.i = save
        cmds: List[CommandNode] = []
        while True:
            item = self.next_non_space()
            if item.kind == end:
                break
            if item.kind in ("right", "rparen", "eof") or (item.kind == "keyword" and item.val not in ("nil",)):
                raise self.unexpected(item, context)
            self.backup()
            cmds.append(self.command(end))
        if not cmds:
            raise self.error(f"missing value for {context}", start_item)
        for i, cmd in enumerate(cmds[1:], start=2):
            first = cmd.args[0]
            if isinstance(first, (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                raise self.error(f"non executable command in pipeline stage {i}", self.items[self.i - 1])
        return PipeNode(start_item.pos, decl, cmds, is_assign)

    def command(self, end: str) -> CommandNode:
        cmd = CommandNode(self.peek().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            item = self.next()
            if item.kind == "space":
                continue
            if item.kind in (end, "right", "rparen"):
                self.backup()
            elif item.kind == "pipe":
                pass
            else:
                raise self.error(f"unexpected {item.val!r} in operand", item)
            break
        if not cmd.args:
            raise self.error("empty command", self.items[self.i - 1])
        return cmd

    def operand(self) -> Optional[Node]:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            fields: List[str] = []
            while self.peek().kind == "field":
                fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(node.pos, node.ident + fields)
            if isinstance(node, VariableNode):
                return VariableNode(node.pos, node.ident + fields)
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                raise self.error(f"unexpected . after term {describe(node)!r}")
            return ChainNode(node.pos, node, fields)
        return node

    def term(self) -> Optional[Node]:
        item = self.next_non_space()
        kind = item.kind
        if kind == "identifier":
            if not self.has_function(item.val):
                raise _undefined_function(item)
            return IdentifierNode(item.pos, item.val)
        if kind == "dot":
            return DotNode(item.pos)
        if kind == "keyword" and item.val == "nil":
            return NilNode(item.pos)
        if kind == "variable":
            name = item.val.split(".")[0]
            if name not in self.vars:
                raise self.error(f"undefined variable {name!r}", item)
            return VariableNode(item.pos, [item.val])
        if kind == "field":
            return FieldNode(item.pos, [item.val[1:]])
        if kind == "bool":
            return BoolNode(item.pos, item.val == "true")
        if kind in ("number", "charconst"):
            return _number(item)
        if kind == "lparen":
            self.enter(item)
            pipe = self.pipeline("parenthesized pipeline", "rparen")
            self.depth -= 1
            return pipe
        if kind in ("string", "rawstring"):
            return StringNode(item.pos, item.val, _unquote(item))
        self.backup()
        return None


class UndefinedFunction(TemplateSyntaxError):
    """``function "x" not defined``: the name is kept so callers can suggest one."""

    def __init__(self, name: str, pos: int) -> None:
        super().__init__(f"function {name!r} not defined".replace("'", '"'), pos)
        self.name = name


def _undefined_function(item: Item) -> UndefinedFunction:
    return UndefinedFunction(item.val, item.pos)


def walk(tree: Tree) -> Iterator[Node]:
    """Every node of ``tree`` (its defined templates too), iteratively."""
    stack: List[Any] = [tree.root, *tree.defined.values()]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ListNode):
            stack.extend(node.nodes)
        elif isinstance(node, ActionNode):
            stack.append(node.pipe)
        elif isinstance(node, BranchNode):
            stack.append(node.pipe)
            stack.append(node.list)
            if node.else_list is not None:
                stack.append(node.else_list)
        elif isinstance(node, TemplateNode) and node.pipe is not None:
            stack.append(node.pipe)
        elif isinstance(node, PipeNode):
            stack.extend(node.cmds)
        elif isinstance(node, CommandNode):
            stack.extend(node.args)
        elif isinstance(node, ChainNode):
            stack.append(node.node)


def literal_calls(tree: Tree, name: str) -> List[Tuple[List[str], int]]:
    """Calls of function ``name`` whose arguments are all string literals: (arguments, offset)."""
    out = []
    for node in walk(tree):
        if isinstance(node, CommandNode) and isinstance(node.args[0], IdentifierNode) and node.args[0].name == name:
            if all(isinstance(a, StringNode) for a in node.args[1:]):
                out.append(([a.text for a in node.args[1:]], node.pos))  # type: ignore[attr-defined]
    return out


def calls(tree: Tree, name: str) -> bool:
    """Does ``tree`` call function ``name`` anywhere?"""
    return any(isinstance(n, IdentifierNode) and n.name == name for n in walk(tree))


def root_fields(tree: Tree) -> List[Tuple[str, int]]:
    """Fields of the data (``{{.Path}}``) used where dot is the data itself: (name, offset).

    Fields inside ``{{with}}``/``{{range}}`` bodies and defined templates,
    where dot is something else, are left out.
    """
    out: List[Tuple[str, int]] = []
    stack: List[Any] = [tree.root]
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            out.append((node.ident[0], node.pos))
        elif isinstance(node, ListNode):
            stack.extend(node.nodes)
        elif isinstance(node, ActionNode):
            stack.append(node.pipe)
        elif isinstance(node, BranchNode):
            stack.append(node.pipe)
            if isinstance(node, IfNode):
                stack.append(node.list)
            if node.else_list is not None:
                stack.append(node.else_list)
        elif isinstance(node, PipeNode):
            stack.extend(node.cmds)
        elif isinstance(node, CommandNode):
            stack.extend(node.args)
        elif isinstance(node, ChainNode):
            stack.append(node.node)
    return out

"""Executing a parse tree with Go's ``text/template`` semantics (``text/template/exec.go``, ``funcs.go``).

Truth, comparisons, ``len``/``index``/``slice``, ``and``/``or`` (lazy),
printing (``<no value>`` for a missing value) and argument checking
(``wrong type for value; expected string; got int``) follow Go. Functions
are :class:`GoFunc`\\ s: a Python callable with Go-like parameter types.

Partial execution: where a value is not known yet (``data`` is
:data:`UNKNOWN`, or a function raises :class:`Deferred`), the top-level
action or block that needs it is copied to the output as written, to be
rendered later when it is known (``{{.Path}}`` at validation, ``{{build}}``
before the machine is up).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote_plus

import attrs

from . import gofmt
from .parser import (ActionNode, BoolNode, BranchNode, BreakNode, ChainNode, CommandNode, ContinueNode, DotNode,
                     FieldNode, IdentifierNode, IfNode, ListNode, NilNode, Node, NumberNode, PipeNode, RangeNode,
                     StringNode, TemplateNode, TextNode, Tree, VariableNode, WithNode, describe)

__all__ = ["GoFunc", "BUILTINS", "ExecError", "Deferred", "UNKNOWN", "execute", "gofunc"]

#: Limits that keep a hostile template from running away.
MAX_STEPS = 1_000_000
MAX_OUTPUT = 16 * 1024 * 1024
MAX_CALL_DEPTH = 50


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


#: Data not known yet (validation): using it defers the action.
UNKNOWN: Any = _Unknown()


class Deferred(Exception):
    """A value is not known yet: keep the action as written for a later render."""


class ExecError(Exception):
    """Execution failed at ``pos`` in the source, in the expression ``at``."""

    def __init__(self, message: str, pos: int = 0, at: str = "") -> None:
        super().__init__(message)
        self.message, self.pos, self.at = message, pos, at


class FuncError(Exception):
    """Raised by a template function: becomes ``error calling NAME: message``."""


_NOT_VARIADIC = object()


@attrs.define(frozen=True)
class GoFunc:
    """A template function: ``params`` are ``str``, ``int``, ``bool``, ``float`` or ``None`` (any value)."""

    fn: Callable[..., Any]
    params: Tuple[Any, ...] = ()
    variadic: Any = _NOT_VARIADIC

    def arity(self) -> str:
        return f"at least {len(self.params)}" if self.variadic is not _NOT_VARIADIC else str(len(self.params))


def gofunc(fn: Callable[..., Any], *params: Any, variadic: Any = _NOT_VARIADIC) -> GoFunc:
    return GoFunc(fn, tuple(params), variadic)


def strings_func(fn: Callable[..., str]) -> GoFunc:
    """A plugin's function taking and returning plain strings, typed from its signature."""
    params: List[Any] = []
    variadic: Any = _NOT_VARIADIC
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            variadic = str
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            params.append(str)
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            variadic = str  # optional arguments: accept them as extra strings
            break
    return GoFunc(fn, tuple(params), variadic)


_TYPE_NAMES = {str: "string", int: "int", bool: "bool", float: "float64", None: "interface {}"}


def _fits(value: Any, typ: Any) -> bool:
    if typ is None:
        return True
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:
        return isinstance(value, float)
    return isinstance(value, typ)


# --- Go's truth and comparisons -------------------------------------------------
def truth(v: Any) -> bool:
    if v is UNKNOWN:
        raise Deferred()
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0
    return True


def _kind(v: Any) -> str:
    if v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


def _eq(arg1: Any, *rest: Any) -> bool:
    if not rest:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in rest:
        k2 = _kind(arg)
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise FuncError("incompatible types for comparison")
            continue
        if k1 == "other":
            if isinstance(arg1, (list, dict)) or isinstance(arg, (list, dict)):
                raise FuncError(f"non-comparable type {gofmt.format_value(arg)}: {gofmt.type_name(arg)}")
        if arg1 == arg:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka in ("bool", "other", "invalid") or kb in ("bool", "other", "invalid"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a < b


def _len(item: Any) -> int:
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogatepass"))
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    if item is None:
        raise FuncError("len of nil pointer")
    raise FuncError(f"len of type {gofmt.type_name(item)}")


def _index_of(item: Any, idx: Any, cap: int) -> int:
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise FuncError(f"cannot index slice/array with type {gofmt.type_name(idx)}")
    if idx < 0 or idx >= cap:
        raise FuncError(f"index out of range: {idx}")
    return idx


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for idx in indexes:
        if isinstance(item, (list, tuple)):
            item = item[_index_of(item, idx, len(item))]
        elif isinstance(item, str):
            data = item.encode("utf-8", "surrogatepass")
            item = data[_index_of(item, idx, len(data))]
        elif isinstance(item, dict):
            if not isinstance(idx, str):
                raise FuncError(f"value has type {gofmt.type_name(idx)}; should be string")
            item = item.get(idx)
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {gofmt.type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if not isinstance(item, (str, list, tuple)):
        raise FuncError(f"can't slice item of type {gofmt.type_name(item)}")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    seq = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
    bounds = [0, len(seq)]
    for i, idx in enumerate(indexes[:2]):
        bounds[i] = _index_of(seq, idx, len(seq) + 1)
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    out = seq[bounds[0]:bounds[1]]
    return out.decode("utf-8", "replace") if isinstance(out, bytes) else list(out)


def _args_text(args: Sequence[Any]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(args)


def _html(*args: Any) -> str:
    s = _args_text(args)
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("\0", "\ufffd"))


def _js(*args: Any) -> str:
    out = []
    for c in _args_text(args):
        if c in "\\'\"":
            out.append("\\" + c)
        elif c in "<>&=":
            out.append(f"\\u{ord(c):04X}")
        elif ord(c) < 0x20 or not c.isprintable():
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return quote_plus(_args_text(args), safe="-_.~")


def _call(fn: Any, *args: Any) -> Any:
    if isinstance(fn, GoFunc):
        return fn.fn(*args)
    if not callable(fn):
        raise FuncError(f"non-function of type {gofmt.type_name(fn)}")
    return fn(*args)


#: Go's predefined template functions (``and``/``or`` are handled lazily by the executor).
BUILTINS: Dict[str, GoFunc] = {
    "and": gofunc(lambda *a: a[-1], None, variadic=None),
    "or": gofunc(lambda *a: a[-1], None, variadic=None),
    "not": gofunc(lambda a: not truth(a), None),
    "len": gofunc(_len, None),
    "index": gofunc(_index, None, variadic=None),
    "slice": gofunc(_slice, None, variadic=None),
    "print": gofunc(lambda *a: gofmt.sprint(a), variadic=None),
    "printf": gofunc(lambda f, *a: gofmt.sprintf(f, a), str, variadic=None),
    "println": gofunc(lambda *a: gofmt.sprintln(a), variadic=None),
    "html": gofunc(_html, variadic=None),
    "js": gofunc(_js, variadic=None),
    "urlquery": gofunc(_urlquery, variadic=None),
    "call": gofunc(_call, None, variadic=None),
    "eq": gofunc(_eq, None, variadic=None),
    "ne": gofunc(lambda a, b: not _eq(a, b), None, None),
    "lt": gofunc(_lt, None, None),
    "le": gofunc(lambda a, b: _lt(a, b) or _eq(a, b), None, None),
    "gt": gofunc(lambda a, b: not (_lt(a, b) or _eq(a, b)), None, None),
    "ge": gofunc(lambda a, b: not _lt(a, b), None, None),
}


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_MISSING = object()


class _State:
    def __init__(self, tree: Tree, funcs: Mapping[str, GoFunc], data: Any) -> None:
        self.tree = tree
        self.funcs = funcs
        self.vars: List[Tuple[str, Any]] = [("$", data)]
        self.out: List[str] = []
        self.size = 0
        self.steps = 0
        self.depth = 0
        self.node: Node = tree.root

    def error(self, message: str, node: Optional[Node] = None) -> ExecError:
        node = node or self.node
        return ExecError(message, node.pos, describe(node))

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.error(f"the template takes more than {MAX_STEPS:,} steps (an endless or huge {{{{range}}}}?)")

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise self.error(f"the output grows beyond {MAX_OUTPUT // (1024 * 1024)} MiB")
        self.out.append(text)

    # -- variables ---------------------------------------------------------------
    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise self.error(f"undefined variable: {name}")

    # -- walking -----------------------------------------------------------------
    def walk(self, dot: Any, node: Node) -> None:
        self.step()
        self.node = node
        if isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.write(self.printable(value, node))
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, (IfNode, WithNode)):
            mark = self.mark()
            try:
                value = self.eval_pipeline(dot, node.pipe)
                if truth(value):
                    self.walk(value if isinstance(node, WithNode) else dot, node.list)
                elif node.else_list is not None:
                    self.walk(dot, node.else_list)
            finally:
                self.pop(mark)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break()
        elif isinstance(node, ContinueNode):
            raise _Continue()
        else:  # pragma: no cover
            raise self.error(f"unknown node: {node}")

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        body = self.tree.defined.get(node.name)
        if body is None:
            raise self.error(f"no such template {node.name!r}".replace("'", '"'), node)
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_CALL_DEPTH})", node)
        saved = self.vars
        self.vars = [("$", value)]
        try:
            self.walk(value, body)
        finally:
            self.vars = saved
            self.depth -= 1

    def walk_range(self, dot: Any, node: RangeNode) -> None:
        mark = self.mark()
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if value is UNKNOWN:
                raise Deferred()
            # the pipeline's declarations are the loop variables, set per element
            self.pop(mark)
            pairs: Any
            if isinstance(value, (list, tuple)):
                pairs = list(enumerate(value))
            elif isinstance(value, dict):
                pairs = [(k, value[k]) for k in sorted(value, key=str)]
            elif isinstance(value, int) and not isinstance(value, bool):
                if len(node.pipe.decl) > 1:
                    raise self.error("can't use two variables to range over an integer")
                pairs = ((i, i) for i in range(max(value, 0)))  # lazily: the step limit may stop it
            elif value is None:
                pairs = iter(())
            else:
                raise self.error(f"range can't iterate over {gofmt.format_value(value)}")
            empty = True
            for key, elem in pairs:
                empty = False
                self.step()
                inner = self.mark()
                decl = node.pipe.decl
                if len(decl) == 1:
                    self.push_or_set(decl[0].ident[0], elem, node.pipe.is_assign)
                elif len(decl) == 2:
                    self.push_or_set(decl[0].ident[0], key, node.pipe.is_assign)
                    self.push_or_set(decl[1].ident[0], elem, node.pipe.is_assign)
                try:
                    self.walk(elem, node.list)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    self.pop(inner)
            if empty and node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def push_or_set(self, name: str, value: Any, assign: bool) -> None:
        if assign:
            self.set_var(name, value)
        else:
            self.vars.append((name, value))

    # -- evaluation ----------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        value: Any = _MISSING
        self.node = pipe
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append((var.ident[0], value))
        return None if value is _MISSING else value

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        self.node = cmd
        if isinstance(first, FieldNode):
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            mark = self.mark()
            try:
                return self.eval_pipeline(dot, first)
            finally:
                self.pop(mark)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            raise self.error("nil is not a command", first)
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        raise self.error(f"can't evaluate command {describe(first)!r}", first)

    def not_a_function(self, args: Sequence[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.error(f"can't give argument to non-function {describe(args[0])}", args[0])

    def ideal_constant(self, node: NumberNode) -> Any:
        text = node.text
        if node.is_float and not text.lower().startswith(("0x", "-0x", "+0x")) and not text.startswith("'") \
                and any(c in text for c in ".eEpP"):
            return node.float_value
        if node.is_int:
            if node.int_value >= 2 ** 63:
                raise self.error(f"{text} overflows int", node)
            return node.int_value
        if node.is_float:
            raise self.error(f"{text} overflows int", node)
        raise self.error(f"illegal number {text}", node)

    def eval_variable(self, dot: Any, node: VariableNode, args: Sequence[Node], final: Any) -> Any:
        value = self.var_value(node.ident[0])
        if len(node.ident) == 1:
            self.not_a_function(args, final)
            if value is UNKNOWN:
                raise Deferred()
            return value
        return self.eval_field_chain(dot, value, node, node.ident[1:], args, final)

    def eval_chain(self, dot: Any, chain: ChainNode, args: Sequence[Node], final: Any) -> Any:
        if isinstance(chain.node, PipeNode):
            pipe_value = self.eval_pipeline(dot, chain.node)
        else:
            pipe_value = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe_value, chain, chain.field, args, final)

    def eval_field_chain(self, dot: Any, receiver: Any, node: Node, ident: Sequence[str],
                         args: Sequence[Node], final: Any) -> Any:
        for i, name in enumerate(ident):
            last = i == len(ident) - 1
            receiver = self.eval_field(dot, name, node, args if last else [args[0]] if args else [],
                                       final if last else _MISSING, receiver)
        return receiver

    def eval_field(self, dot: Any, name: str, node: Node, args: Sequence[Node], final: Any, receiver: Any) -> Any:
        if receiver is UNKNOWN:
            raise Deferred()
        has_args = len(args) > 1 or final is not _MISSING
        if isinstance(receiver, dict):
            if name in receiver:
                if has_args:
                    value = receiver[name]
                    if callable(value) or isinstance(value, GoFunc):
                        call_args = [self.eval_arg(dot, None, a) for a in args[1:]]
                        if final is not _MISSING:
                            call_args.append(final)
                        return self.invoke(name, value, call_args, node)
                    raise self.error(f"{name} is not a method but has arguments", node)
                value = receiver[name]
                if value is UNKNOWN:
                    raise Deferred()
                return value
            known = ", ".join(f".{k}" for k in sorted(receiver)) or "none"
            raise self.error(f"can't evaluate field {name}: there is no such field (available: {known})", node)
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}", node)
        raise self.error(f"can't evaluate field {name} in type {gofmt.type_name(receiver)}", node)

    def eval_function(self, dot: Any, node: IdentifierNode, cmd: Node, args: Sequence[Node], final: Any) -> Any:
        name = node.name
        fn = self.funcs.get(name) or BUILTINS.get(name)
        if fn is None:  # checked at parse time; a function table may change between parse and run
            raise self.error(f"{name!r} is not a defined function", node)
        if name in ("and", "or") and fn is BUILTINS.get(name):
            operands = list(args[1:])
            if not operands and final is _MISSING:
                raise self.error(f"wrong number of args for {name}: want at least 1 got 0", node)
            value: Any = _MISSING
            for a in operands:
                value = self.eval_arg(dot, None, a)
                if truth(value) == (name == "or"):
                    return value
            if final is not _MISSING:
                value = final
            return value
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_call(self, dot: Any, fn: GoFunc, node: Node, name: str, args: Sequence[Node], final: Any) -> Any:
        operands = list(args[1:]) if args else []
        count = len(operands) + (0 if final is _MISSING else 1)
        fixed = len(fn.params)
        variadic = fn.variadic is not _NOT_VARIADIC
        if (variadic and count < fixed) or (not variadic and count != fixed):
            raise self.error(f"wrong number of args for {name}: want {fn.arity()} got {count}", node)
        values = []
        for i, a in enumerate(operands):
            typ = fn.params[i] if i < fixed else fn.variadic
            values.append(self.eval_arg(dot, typ, a))
        if final is not _MISSING:
            typ = fn.params[len(operands)] if len(operands) < fixed else fn.variadic
            self.validate_type(final, typ, node)
            values.append(final)
        return self.invoke(name, fn, values, node)

    def invoke(self, name: str, fn: Any, values: List[Any], node: Node) -> Any:
        if any(v is UNKNOWN for v in values):
            raise Deferred()
        target = fn.fn if isinstance(fn, GoFunc) else fn
        try:
            return target(*values)
        except (Deferred, ExecError):
            raise
        except FuncError as exc:
            raise self.error(f"error calling {name}: {exc}", node) from None
        except RecursionError:
            raise self.error(f"error calling {name}: nested too deeply", node) from None
        except Exception as exc:  # a function's own failure, shown as Go shows a returned error
            raise self.error(f"error calling {name}: {exc}", node) from None

    def validate_type(self, value: Any, typ: Any, node: Node) -> Any:
        if value is UNKNOWN:
            raise Deferred()
        if typ is None:
            return value
        if value is None:
            raise self.error(f"invalid value; expected {_TYPE_NAMES.get(typ, typ)}", node)
        if not _fits(value, typ):
            raise self.error(f"wrong type for value; expected {_TYPE_NAMES.get(typ, typ)}; "
                             f"got {gofmt.type_name(value)}", node)
        return value

    def eval_arg(self, dot: Any, typ: Any, node: Node) -> Any:
        self.node = node
        if isinstance(node, DotNode):
            return self.validate_type(dot, typ, node)
        if isinstance(node, NilNode):
            if typ is None:
                return None
            raise self.error(f"cannot assign nil to {_TYPE_NAMES.get(typ, typ)}", node)
        if isinstance(node, FieldNode):
            return self.validate_type(self.eval_field_chain(dot, dot, node, node.ident, [node], _MISSING), typ, node)
        if isinstance(node, VariableNode):
            return self.validate_type(self.eval_variable(dot, node, [node], _MISSING), typ, node)
        if isinstance(node, PipeNode):
            mark = self.mark()
            try:
                return self.validate_type(self.eval_pipeline(dot, node), typ, node)
            finally:
                self.pop(mark)
        if isinstance(node, IdentifierNode):
            fn = self.funcs.get(node.name) or BUILTINS.get(node.name)
            if fn is None:
                raise self.error(f"{node.name!r} is not a defined function", node)
            return self.validate_type(self.eval_call(dot, fn, node, node.name, [node], _MISSING), typ, node)
        if isinstance(node, ChainNode):
            return self.validate_type(self.eval_chain(dot, node, [node], _MISSING), typ, node)
        if typ is bool:
            if isinstance(node, BoolNode):
                return node.value
            raise self.error(f"expected bool; found {describe(node)}", node)
        if typ is int:
            if isinstance(node, NumberNode) and node.is_int:
                if node.int_value >= 2 ** 63:
                    raise self.error(f"{node.text} overflows int", node)
                return node.int_value
            raise self.error(f"expected integer; found {describe(node)}", node)
        if typ is float:
            if isinstance(node, NumberNode) and node.is_float:
                return node.float_value
            raise self.error(f"expected float; found {describe(node)}", node)
        if typ is str:
            if isinstance(node, StringNode):
                return node.text
            raise self.error(f"expected string; found {describe(node)}", node)
        # any value
        if isinstance(node, BoolNode):
            return node.value
        if isinstance(node, NumberNode):
            return self.ideal_constant(node)
        if isinstance(node, StringNode):
            return node.text
        raise self.error(f"can't handle {describe(node)} for arg of type interface {{}}", node)

    def printable(self, value: Any, node: Node) -> str:
        if value is UNKNOWN:
            raise Deferred()
        if value is None:
            return "<no value>"
        if isinstance(value, GoFunc) or callable(value):
            raise self.error(f"can't print {describe(node)} of type func", node)
        return gofmt.format_value(value)


def execute(tree: Tree, funcs: Mapping[str, GoFunc], data: Any = None, partial: bool = False) -> str:
    """Run ``tree``; with ``partial``, actions that need unknown values are copied as written."""
    state = _State(tree, funcs, data)
    deferred = False
    for node in tree.root.nodes:
        if not partial or isinstance(node, TextNode):
            state.walk(data, node)
            continue
        mark, out_len, size = state.mark(), len(state.out), state.size
        try:
            state.walk(data, node)
        except Deferred:
            deferred = True
            del state.out[out_len:]
            state.size = size
            # a deferred declaration leaves its variables unknown for what follows
            state.pop(mark)
            if isinstance(node, ActionNode):
                for var in node.pipe.decl:
                    if not node.pipe.is_assign:
                        state.vars.append((var.ident[0], UNKNOWN))
            state.write(tree.text[node.pos:node.end])  # type: ignore[attr-defined]
    if deferred and tree.defined:  # {{define}}s are not in the output: keep the whole text for later
        return tree.text
    return "".join(state.out)

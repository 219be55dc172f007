"""Evaluate :mod:`.ast` expressions with go-cty's semantics, on the natives of :mod:`.values`.

:func:`evaluate` returns a value or raises :class:`EvalError` holding one
diagnostic (HCL's wording and the expression's range). Unknown values
(:class:`values.Unknown`) flow through every operation as go-cty's do.
``can`` and ``try`` are evaluated here (they need unevaluated arguments);
every other function goes to ``functions.call``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from . import values as V
from .ast import (
    Binary, Call, Conditional, Expr, ForExpr, GetAttr, Index, Literal, Node, ObjectCons, Paren, Splat,
    SplatAnchor, Template, TemplateFor, TemplateIf, TemplateInterp, TemplateLit, TupleCons, Unary, Variable,
)
from .diagnostics import Diagnostic, nearest

__all__ = ["EvalContext", "EvalError", "evaluate", "ALL", "DEFAULTS", "NONE"]

ALL, DEFAULTS, NONE = "all", "defaults", "none"

#: What the loader keeps for an expression that failed (its diagnostic is recorded already).
FAILED = object()


class EvalError(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.summary)
        self.diag = diag


class EvalContext:
    """Root names -> values, and which functions may be called.

    ``functions``: ``ALL`` (every function but ``env``), ``DEFAULTS`` (only ``env``: variable
    defaults) or ``NONE`` (var files). ``variables_allowed`` false gives "Variables not allowed".
    """

    __slots__ = ("variables", "parent", "functions", "fn_ctx", "variables_allowed", "anchor")

    def __init__(self, variables: Optional[Dict[str, Any]] = None, *, functions: str = ALL, fn_ctx: Any = None,
                 variables_allowed: bool = True, parent: Optional["EvalContext"] = None) -> None:
        self.variables = variables if variables is not None else {}
        self.parent = parent
        self.functions = functions
        self.fn_ctx = fn_ctx
        self.variables_allowed = variables_allowed
        self.anchor: Any = None

    def child(self, variables: Dict[str, Any]) -> "EvalContext":
        return EvalContext(variables, functions=self.functions, fn_ctx=self.fn_ctx,
                           variables_allowed=self.variables_allowed, parent=self)

    def lookup(self, name: str) -> Tuple[bool, Any]:
        ctx: Optional[EvalContext] = self
        while ctx is not None:
            if name in ctx.variables:
                return True, ctx.variables[name]
            ctx = ctx.parent
        return False, None

    def all_names(self) -> List[str]:
        names: List[str] = []
        ctx: Optional[EvalContext] = self
        while ctx is not None:
            names.extend(ctx.variables)
            ctx = ctx.parent
        return names


def _fail(summary: str, detail: str, where: Any) -> EvalError:
    return EvalError(Diagnostic(summary, detail, where.range if isinstance(where, Node) else where))


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return V.friendly_name(V.type_of(v)) if not isinstance(v, (list, dict)) else (
        "tuple" if isinstance(v, list) else "object")


# -- the evaluator ---------------------------------------------------------------------
def evaluate(expr: Expr, ctx: EvalContext) -> Any:
    method = _DISPATCH.get(type(expr))
    if method is None:  # pragma: no cover - every node type is dispatched
        raise _fail("Invalid expression", f"Cannot evaluate a {type(expr).__name__}.", expr)
    return method(expr, ctx)


def _literal(e: Literal, ctx: EvalContext) -> Any:
    return e.value


def _paren(e: Paren, ctx: EvalContext) -> Any:
    return evaluate(e.expr, ctx)


def _variable(e: Variable, ctx: EvalContext) -> Any:
    found, value = ctx.lookup(e.name)
    if found:
        return value
    if not ctx.variables_allowed:
        raise _fail("Variables not allowed", "Variables may not be used here.", e)
    hint = nearest(e.name, ctx.all_names())
    extra = f' Did you mean "{hint[0]}"?' if hint else ""
    raise _fail("Unknown variable", f'There is no variable named "{e.name}".{extra}', e)


def _anchor(e: SplatAnchor, ctx: EvalContext) -> Any:
    c: Optional[EvalContext] = ctx
    while c is not None:
        if c.anchor is not None:
            return c.anchor[0]
        c = c.parent
    raise _fail("Invalid splat", "A splat element was used outside of a splat expression.", e)  # pragma: no cover


def get_attr(obj: Any, name: str, where: Any) -> Any:
    if isinstance(obj, V.Unknown):
        t = obj.type
        if t.kind == "object" and name in t.attrs:
            return V.Unknown(t.attrs[name])
        if t.kind == "map" and t.elem is not None:
            return V.Unknown(t.elem)
        return V.UNKNOWN
    if obj is None:
        raise _fail("Attempt to get attribute from null value", "This value is null, so it does not have any "
                    "attributes.", where)
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        hint = nearest(name, [str(k) for k in obj])
        extra = f' Did you mean "{hint[0]}"?' if hint else ""
        raise _fail("Unsupported attribute", f'This object does not have an attribute named "{name}".{extra}', where)
    if isinstance(obj, (list, tuple)):
        raise _fail("Unsupported attribute", "Can't access attributes on a list of objects. Did you mean to access "
                    "an attribute for a specific element of the list, or across all elements of the list?", where)
    raise _fail("Unsupported attribute", f"Can't access attributes on a primitive-typed value ({_kind(obj)}).", where)


def _getattr(e: GetAttr, ctx: EvalContext) -> Any:
    obj = evaluate(e.obj, ctx)
    return get_attr(obj, e.name, e.name_range)


def index_value(coll: Any, key: Any, where: Any) -> Any:
    if isinstance(key, V.Unknown):
        return V.UNKNOWN
    if isinstance(coll, V.Unknown):
        t = coll.type
        if t.elem is not None and t.kind != "set":
            return V.Unknown(t.elem)
        return V.UNKNOWN
    if coll is None:
        raise _fail("Attempt to index null value", "This value is null, so it does not have any indices.", where)
    if key is None:
        raise _fail("Invalid index", "Can't use a null value as an indexing key.", where)
    if isinstance(coll, V.SetValue):
        raise _fail("Invalid index", "Elements of a set are identified only by their value and don't have any "
                    "separate index or key to select with, so it's only possible to perform operations across all "
                    "elements of the set.", where)
    if isinstance(coll, list):
        try:
            n = V.convert(key, V.NUMBER)
        except V.ConversionError as exc:
            raise _fail("Invalid index", f"The given key does not identify an element in this collection value: "
                        f"{exc}.", where) from None
        if not isinstance(n, int) or isinstance(n, bool):
            raise _fail("Invalid index", "The given key does not identify an element in this collection value: "
                        "a whole number is required.", where)
        if n < 0 or n >= len(coll):
            raise _fail("Invalid index", "The given key does not identify an element in this collection value.",
                        where)
        return coll[n]
    if isinstance(coll, dict):
        try:
            k = V.convert(key, V.STRING)
        except V.ConversionError as exc:
            raise _fail("Invalid index", f"The given key does not identify an element in this collection value: "
                        f"{exc}.", where) from None
        if k in coll:
            return coll[k]
        raise _fail("Invalid index", "The given key does not identify an element in this collection value.", where)
    raise _fail("Invalid index", "This value does not have any indices.", where)


def _index(e: Index, ctx: EvalContext) -> Any:
    coll = evaluate(e.obj, ctx)
    key = evaluate(e.key, ctx)
    return index_value(coll, key, e)


def _splat(e: Splat, ctx: EvalContext) -> Any:
    src = evaluate(e.source, ctx)
    if isinstance(src, V.Unknown):
        return V.UNKNOWN
    if src is None:
        return []
    items = list(src) if isinstance(src, (list, tuple)) else [src]
    out = []
    inner = ctx.child({})
    for item in items:
        inner.anchor = (item,)
        out.append(evaluate(e.each, inner))
    return out


def _tuple(e: TupleCons, ctx: EvalContext) -> Any:
    return [evaluate(item, ctx) for item in e.items]


def _object(e: ObjectCons, ctx: EvalContext) -> Any:
    out: Dict[str, Any] = {}
    unknown = False
    for key_expr, value_expr, bare in e.items:
        if bare and isinstance(key_expr, Variable):
            key: Any = key_expr.name
        else:
            key = evaluate(key_expr, ctx)
        if key is None:
            raise _fail("Null value as key", "Can't use a null value as a key.", key_expr)
        if isinstance(key, V.Unknown):
            unknown = True
            evaluate(value_expr, ctx)
            continue
        try:
            key = V.to_string(key)
        except V.ConversionError as exc:
            raise _fail("Incorrect key type", f"Can't use this value as a key: {exc}.", key_expr) from None
        out[key] = evaluate(value_expr, ctx)
    return V.UNKNOWN if unknown else out


def _to(value: Any, t: V.Type, where: Node, what: str) -> Any:
    try:
        return V.convert(value, t)
    except V.ConversionError as exc:
        raise _fail("Invalid operand", f"Unsuitable value for {what} operand: {exc}.", where) from None


def _number_result(n: Any) -> Any:
    if isinstance(n, float) and (math.isinf(n) or math.isnan(n)):
        return n
    return V.normalize_number(n)


def _arith(op: str, a: Any, b: Any, where: Node) -> Any:
    """``a op b`` on numbers, on their decimal digits as go-cty's big.Float gives (0.1 + 0.2 is 0.3)."""
    if op == "/" and b == 0:
        raise _fail("Error in operator", "Call to function \"divide\" failed: can't divide by zero.", where)
    if op == "%" and b == 0:
        raise _fail("Error in operator", "Call to function \"modulo\" failed: can't use modulo with zero.", where)
    try:
        return _number_result(V.arith(op, a, b))
    except ArithmeticError as exc:
        name = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}[op]
        raise _fail("Error in operator", f"Call to function \"{name}\" failed: {exc}.", where) from None


def _binary(e: Binary, ctx: EvalContext) -> Any:
    op = e.op
    left = evaluate(e.left, ctx)
    right = evaluate(e.right, ctx)
    if op in ("==", "!="):
        eq = V.equals(left, right)
        if isinstance(eq, V.Unknown):
            return V.Unknown(V.BOOL)
        return eq if op == "==" else not eq
    if op in ("&&", "||"):
        a, b = _to(left, V.BOOL, e.left, "left"), _to(right, V.BOOL, e.right, "right")
        for v, side in ((a, e.left), (b, e.right)):
            if v is None:
                raise _fail("Invalid operand", f"Unsuitable value for {'left' if side is e.left else 'right'} "
                            "operand: argument must not be null.", side)
        if isinstance(a, V.Unknown) or isinstance(b, V.Unknown):
            # go-cty: false && unknown is still unknown; keep it simple and exact
            return V.Unknown(V.BOOL)
        return (a and b) if op == "&&" else (a or b)
    a, b = _to(left, V.NUMBER, e.left, "left"), _to(right, V.NUMBER, e.right, "right")
    for v, side, what in ((a, e.left, "left"), (b, e.right, "right")):
        if v is None:
            raise _fail("Invalid operand", f"Unsuitable value for {what} operand: argument must not be null.", side)
    if op in ("<", "<=", ">", ">="):
        if isinstance(a, V.Unknown) or isinstance(b, V.Unknown):
            return V.Unknown(V.BOOL)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if isinstance(a, V.Unknown) or isinstance(b, V.Unknown):
        return V.Unknown(V.NUMBER)
    return _arith(op, a, b, e)


def _unary(e: Unary, ctx: EvalContext) -> Any:
    value = evaluate(e.operand, ctx)
    if e.op == "!":
        b = _to(value, V.BOOL, e.operand, "unary")
        if b is None:
            raise _fail("Invalid operand", "Unsuitable value for unary operand: argument must not be null.", e)
        return V.Unknown(V.BOOL) if isinstance(b, V.Unknown) else (not b)
    n = _to(value, V.NUMBER, e.operand, "unary")
    if n is None:
        raise _fail("Invalid operand", "Unsuitable value for unary operand: argument must not be null.", e)
    return V.Unknown(V.NUMBER) if isinstance(n, V.Unknown) else _number_result(-n)


def _conditional(e: Conditional, ctx: EvalContext) -> Any:
    cond = evaluate(e.cond, ctx)
    results: List[Tuple[Any, Optional[EvalError]]] = []
    for branch in (e.true, e.false):
        try:
            results.append((evaluate(branch, ctx), None))
        except EvalError as exc:
            results.append((V.UNKNOWN, exc))
    (tv, terr), (fv, ferr) = results
    tt, ft = V.type_of(tv), V.type_of(fv)
    if tt.kind == "dynamic" and ft.kind != "dynamic":
        result_type: Optional[V.Type] = ft
    elif ft.kind == "dynamic" and tt.kind != "dynamic":
        result_type = tt
    else:
        result_type = V.unify_unsafe([tt, ft]) if hasattr(V, "unify_unsafe") else V.unify([tt, ft])
    if result_type is None and terr is None and ferr is None:
        raise _fail("Inconsistent conditional result types",
                    f"The true and false result expressions must have consistent types. The 'true' value is "
                    f"{V.friendly_name(tt)}, but the 'false' value is {V.friendly_name(ft)}.", e)
    if cond is None:
        raise _fail("Null condition", "The condition value is null. Conditions must either be true or false.",
                    e.cond)
    try:
        b = V.convert(cond, V.BOOL)
    except V.ConversionError as exc:
        raise _fail("Incorrect condition type", f"The condition expression must be of type bool: {exc}.",
                    e.cond) from None
    if isinstance(b, V.Unknown):
        return V.Unknown(result_type or V.DYNAMIC)
    value, err = results[0] if b else results[1]
    if err is not None:
        raise err
    if result_type is None or result_type.kind == "dynamic":
        return value
    try:
        return V.convert(value, result_type)
    except V.ConversionError as exc:
        raise _fail("Inconsistent conditional result types", f"The {'true' if b else 'false'} result value has "
                    f"the wrong type: {exc}.", e.true if b else e.false) from None


def _iterate(coll: Any, where: Node, what: str) -> Iterator[Tuple[Any, Any]]:
    if isinstance(coll, dict):
        for k in sorted(coll):
            yield k, coll[k]
    elif isinstance(coll, V.SetValue):
        for v in coll:
            yield v, v
    elif isinstance(coll, list):
        for i, v in enumerate(coll):
            yield i, v
    else:
        raise _fail("Iteration over non-iterable value", f"A value of type {_kind(coll)} cannot be used as the "
                    f"collection in a 'for' {what}.", where)


def _for(e: ForExpr, ctx: EvalContext) -> Any:
    coll = evaluate(e.coll, ctx)
    if coll is None:
        raise _fail("Iteration over null value", "A null value cannot be used as the collection in a 'for' "
                    "expression.", e.coll)
    if isinstance(coll, V.Unknown):
        return V.UNKNOWN
    items: List[Any] = []
    grouped: Dict[str, Any] = {}
    unknown = False
    for k, v in _iterate(coll, e.coll, "expression"):
        names = {e.value_var: v}
        if e.key_var:
            names[e.key_var] = k
        inner = ctx.child(names)
        if e.cond is not None:
            c = evaluate(e.cond, inner)
            if c is None:
                raise _fail("Condition is null", "The value of the 'if' clause must not be null.", e.cond)
            try:
                c = V.convert(c, V.BOOL)
            except V.ConversionError as exc:
                raise _fail("Invalid 'for' condition", f"The 'if' clause value is invalid: {exc}.", e.cond) from None
            if isinstance(c, V.Unknown):
                unknown = True
                continue
            if not c:
                continue
        if e.is_object:
            key = evaluate(e.key, inner)  # type: ignore[arg-type]
            if key is None:
                raise _fail("Invalid object key", "Key expression in 'for' expression must not produce a null "
                            "value.", e.key)
            if isinstance(key, V.Unknown):
                unknown = True
                continue
            try:
                key = V.to_string(key)
            except V.ConversionError as exc:
                raise _fail("Invalid object key", f"The key expression produced an invalid result: {exc}.",
                            e.key) from None
            value = evaluate(e.value, inner)
            if e.group:
                grouped.setdefault(key, []).append(value)
            else:
                if key in grouped:
                    raise _fail("Duplicate object key",
                                f"Two different items produced the key \"{key}\" in this 'for' expression. If "
                                "duplicates are expected, use the ellipsis (...) after the value expression to "
                                "enable grouping by key.", e.key)
                grouped[key] = value
        else:
            items.append(evaluate(e.value, inner))
    if unknown:
        return V.UNKNOWN
    return grouped if e.is_object else items


# -- templates -------------------------------------------------------------------------
def _template(e: Template, ctx: EvalContext) -> Any:
    if e.is_lone_interp:
        return evaluate(e.parts[0].expr, ctx)  # type: ignore[attr-defined]
    out: List[str] = []
    unknown = _render_parts(e.parts, ctx, out)
    return V.Unknown(V.STRING) if unknown else "".join(out)


def _render_parts(parts: Sequence[Node], ctx: EvalContext, out: List[str]) -> bool:
    unknown = False
    for part in parts:
        if isinstance(part, TemplateLit):
            out.append(part.text)
        elif isinstance(part, TemplateInterp):
            value = evaluate(part.expr, ctx)
            if value is None:
                raise _fail("Invalid template interpolation value", "The expression result is null. Cannot include "
                            "a null value in a string template.", part.expr)
            try:
                text = V.to_string(value)
            except V.ConversionError:
                raise _fail("Invalid template interpolation value", f"Cannot include the given value in a string "
                            f"template: string required, but have {_kind(value)}.", part.expr) from None
            if isinstance(text, V.Unknown):
                unknown = True
            else:
                out.append(text)
        elif isinstance(part, TemplateIf):
            cond = evaluate(part.cond, ctx)
            if cond is None:
                raise _fail("Invalid template if condition", "The condition value is null. Conditions must either "
                            "be true or false.", part.cond)
            try:
                b = V.convert(cond, V.BOOL)
            except V.ConversionError as exc:
                raise _fail("Invalid template if condition", f"The condition must be of type bool: {exc}.",
                            part.cond) from None
            if isinstance(b, V.Unknown):
                unknown = True
                continue
            unknown = _render_parts(part.then if b else part.else_, ctx, out) or unknown
        elif isinstance(part, TemplateFor):
            coll = evaluate(part.coll, ctx)
            if coll is None:
                raise _fail("Invalid template for directive", "The collection value is null.", part.coll)
            if isinstance(coll, V.Unknown):
                unknown = True
                continue
            for k, v in _iterate(coll, part.coll, "directive"):
                names = {part.value_var: v}
                if part.key_var:
                    names[part.key_var] = k
                unknown = _render_parts(part.body, ctx.child(names), out) or unknown
    return unknown


# -- function calls --------------------------------------------------------------------
def _call(e: Call, ctx: EvalContext) -> Any:
    name = e.name
    if ctx.functions == NONE:
        raise _fail("Function calls not allowed", "Functions may not be called here.", e)
    if ctx.functions == DEFAULTS and name != "env":
        raise _fail("Function calls not allowed", "Functions may not be called here.", e)
    if name == "can" and ctx.functions == ALL:
        if len(e.args) != 1:
            raise _fail("Not enough function arguments" if not e.args else "Too many function arguments",
                        "Function \"can\" expects 1 argument(s).", e)
        try:
            value = evaluate(e.args[0], ctx)
        except EvalError:
            return False
        return True if V.is_known(value) else V.Unknown(V.BOOL)
    if name == "try" and ctx.functions == ALL:
        if not e.args:
            raise _fail("Not enough function arguments", "Function \"try\" expects at least one argument.", e)
        last: Optional[EvalError] = None
        for arg in e.args:
            try:
                value = evaluate(arg, ctx)
            except EvalError as exc:
                last = exc
                continue
            return value if V.is_known(value) else V.UNKNOWN
        raise _fail("No result for \"try\" call", "None of the given expressions produced a valid result. "
                    f"The last error was: {last.diag.summary}: {last.diag.detail}" if last else "", e)
    args = [_type_argument(a) if _is_type_argument(name, i) else evaluate(a, ctx) for i, a in enumerate(e.args)]
    if e.expand_final and args:
        final = args.pop()
        if isinstance(final, V.Unknown):
            return V.UNKNOWN
        if not isinstance(final, (list, tuple)):
            raise _fail("Invalid expanding argument value", "The expanding argument (indicated by ...) must be of "
                        "a tuple, list, or set type.", e.args[-1])
        args.extend(final)
    return call_function(name, args, ctx, e)


def _is_type_argument(name: str, index: int) -> bool:
    """``convert(value, list(string))``: the second argument is a type expression, not a value."""
    from . import functions as F

    return getattr(F, "TYPE_ARGUMENTS", {}).get(name) == index


def _type_argument(expr: Expr) -> Any:
    from .typeexpr import TypeExprError, type_from_expr

    try:
        return type_from_expr(expr)
    except TypeExprError as exc:
        raise EvalError(exc.diag) from None


def function_names(ctx: EvalContext) -> List[str]:
    """Every function callable in ``ctx`` (for did-you-mean hints)."""
    from . import functions as F

    if ctx.functions == DEFAULTS:
        return ["env"]
    extra = list(getattr(ctx.fn_ctx, "extra", {}) or {})
    return sorted(set([n for n in F.names() if n != "env"] + ["can", "try"] + extra))


def _known(name: str, ctx: EvalContext) -> bool:
    from . import functions as F

    if ctx.functions == DEFAULTS:
        return name == "env"
    if name == "env":
        return False
    if name in (getattr(ctx.fn_ctx, "extra", None) or {}):
        return True
    try:
        F.lookup(name)
    except KeyError:
        return False
    return True


def call_function(name: str, args: List[Any], ctx: EvalContext, e: Call) -> Any:
    from . import functions as F

    if not _known(name, ctx):
        close = nearest(name, function_names(ctx), n=3)
        hint = (" Did you mean " + " or ".join(f'"{c}"' for c in close) + "?") if close else ""
        raise EvalError(Diagnostic("Call to unknown function", f'There is no function named "{name}".{hint}',
                                   e.name_range))
    extra = getattr(ctx.fn_ctx, "extra", None) or {}
    if name in extra:  # a plugin's function (register_template_functions): strings in, a string out
        return _call_plugin_function(name, extra[name], args, e)
    try:
        result = F.call(name, args, ctx.fn_ctx)
    except KeyError:
        raise EvalError(Diagnostic("Call to unknown function", f'There is no function named "{name}".',
                                   e.name_range)) from None
    except F.FunctionError as exc:
        index = getattr(exc, "arg_index", None)
        where = e.args[index] if index is not None and 0 <= index < len(e.args) else e
        text = str(exc)
        if not text.endswith((".", "!", "?")):
            text += "."
        summary = getattr(exc, "summary", None)
        if summary:
            raise _fail(summary, text, where) from None
        if index is not None:
            raise _fail("Invalid function argument", text if text.startswith("Invalid value for") else
                        f"Invalid value for argument {index + 1}: {text}", where) from None
        raise _fail("Error in function call", text if text.startswith("Call to function") else
                    f'Call to function "{name}" failed: {text}', where) from None
    except V.ConversionError as exc:
        raise _fail("Invalid function argument", f"Call to function \"{name}\" failed: {exc}.", e) from None
    except (ValueError, TypeError, OSError, ArithmeticError, LookupError) as exc:  # a function's own failure
        raise _fail("Error in function call", f'Call to function "{name}" failed: {exc}.', e) from None
    except RecursionError:
        raise _fail("Error in function call", f'Call to function "{name}" failed: the value nests too deeply.',
                    e) from None
    return result


def _call_plugin_function(name: str, fn: Callable[..., Any], args: List[Any], e: Call) -> Any:
    texts = []
    for i, arg in enumerate(args):
        if isinstance(arg, V.Unknown):
            return V.Unknown(V.STRING)
        try:
            texts.append(V.to_string(arg))
        except V.ConversionError:
            raise _fail("Invalid function argument", f"Invalid value for argument {i + 1}: a string is required.",
                        e.args[i] if i < len(e.args) else e) from None
    try:
        result = fn(*texts)
    except Exception as exc:  # the plugin's message is for the user
        raise _fail("Error in function call", f'Call to function "{name}" failed: {exc}.', e) from None
    return result if isinstance(result, str) else str(result)


_DISPATCH: Dict[type, Callable[[Any, EvalContext], Any]] = {
    Literal: _literal,
    Paren: _paren,
    Variable: _variable,
    SplatAnchor: _anchor,
    GetAttr: _getattr,
    Index: _index,
    Splat: _splat,
    TupleCons: _tuple,
    ObjectCons: _object,
    Binary: _binary,
    Unary: _unary,
    Conditional: _conditional,
    ForExpr: _for,
    Template: _template,
    Call: _call,
}

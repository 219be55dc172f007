"""Type constraint syntax (``list(string)``, ``object({a=number, b=optional(bool, true)})``) -> values.Type."""
from __future__ import annotations

from typing import Any, Dict

from . import values as V
from .ast import Call, Expr, ObjectCons, Paren, Template, TupleCons, Variable
from .diagnostics import Diagnostic

__all__ = ["type_from_expr", "TypeExprError"]

_PRIMITIVES = {"string": V.STRING, "number": V.NUMBER, "bool": V.BOOL, "any": V.DYNAMIC}
_COLLECTIONS = {"list": V.List, "set": V.Set, "map": V.Map}


class TypeExprError(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.summary)
        self.diag = diag


def _err(detail: str, expr: Expr) -> TypeExprError:
    return TypeExprError(Diagnostic("Invalid type specification", detail, expr.range))


def type_from_expr(expr: Expr, optional_ok: bool = False, default_eval: Any = None) -> Any:
    """The type an expression denotes. ``default_eval(expr)`` evaluates ``optional()`` defaults.

    Returns a Type, or a tuple ``(Type, default)`` for ``optional(...)`` when ``optional_ok``.
    """
    while isinstance(expr, Paren):
        expr = expr.expr
    if isinstance(expr, Variable):
        if expr.name in _PRIMITIVES:
            return _PRIMITIVES[expr.name]
        if expr.name in _COLLECTIONS or expr.name in ("object", "tuple"):
            if expr.name in ("list", "set", "map"):
                return _COLLECTIONS[expr.name](V.DYNAMIC)  # legacy: bare "list" means list(any)
            raise _err(f"The {expr.name} type constructor requires one argument specifying the "
                       f"{'attribute types' if expr.name == 'object' else 'element types'}.", expr)
        raise _err(f"The keyword \"{expr.name}\" is not a valid type specification.", expr)
    if isinstance(expr, Template) and expr.literal() is not None:
        raise _err("A type specification is either a primitive type keyword (bool, number, string) or a complex "
                   "type constructor call, like list(string).", expr)
    if not isinstance(expr, Call):
        raise _err("A type specification is either a primitive type keyword (bool, number, string) or a complex "
                   "type constructor call, like list(string).", expr)
    name = expr.name
    if name in _COLLECTIONS:
        if len(expr.args) != 1:
            raise _err(f"The {name} type constructor requires one argument specifying the element type.", expr)
        return _COLLECTIONS[name](type_from_expr(expr.args[0], default_eval=default_eval))
    if name == "object":
        if len(expr.args) != 1 or not isinstance(expr.args[0], ObjectCons):
            raise _err("The object type constructor requires one argument specifying the attribute types as a "
                       "map.", expr)
        attrs: Dict[str, V.Type] = {}
        optional: Dict[str, Any] = {}
        for key, value, _bare in expr.args[0].items:
            k = key
            while isinstance(k, Paren):
                k = k.expr
            if isinstance(k, Variable):
                aname = k.name
            elif isinstance(k, Template) and k.literal() is not None:
                aname = k.literal() or ""
            else:
                raise _err("Object constructor map keys must be attribute names.", key)
            t = type_from_expr(value, optional_ok=True, default_eval=default_eval)
            if isinstance(t, tuple):
                attrs[aname], optional[aname] = t
            else:
                attrs[aname] = t
        return V.Object(attrs, optional)
    if name == "tuple":
        if len(expr.args) != 1 or not isinstance(expr.args[0], TupleCons):
            raise _err("The tuple type constructor requires one argument specifying the element types as a list.",
                       expr)
        return V.Tuple([type_from_expr(e, default_eval=default_eval) for e in expr.args[0].items])
    if name == "optional":
        if not optional_ok:
            raise _err("Keyword \"optional\" is valid only as a modifier for object type attributes.", expr)
        if len(expr.args) not in (1, 2):
            raise _err("Optional attribute modifier expects one or two arguments: an attribute type, and an "
                       "optional default value.", expr)
        t = type_from_expr(expr.args[0], default_eval=default_eval)
        default: Any = V.NO_DEFAULT
        if len(expr.args) == 2:
            default = default_eval(expr.args[1]) if default_eval else None
            if default is not None:
                try:
                    default = V.convert(default, t)
                except V.ConversionError as exc:
                    raise TypeExprError(Diagnostic("Invalid default value for optional attribute",
                                                   f"This default value is not compatible with the attribute's "
                                                   f"type constraint: {exc}.", expr.args[1].range)) from None
        return (t, default)
    raise _err(f"Keyword \"{name}\" is not a valid type constructor.", expr)

"""The function table and the pieces each function module uses to register itself."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import attrs

from hatchway.template.hcl import values as V


class FunctionError(ValueError):
    """A function call failed; ``str(e)`` is HCL's diagnostic detail.

    ``summary`` is HCL's diagnostic summary ("Invalid function argument", "Error in function
    call", "Not enough function arguments", "Too many function arguments"); ``arg_index`` is the
    0-based argument at fault (for the diagnostic's range), or None for the whole call."""

    def __init__(self, detail: str, arg_index: Optional[int] = None,
                 summary: str = "Error in function call") -> None:
        super().__init__(detail)
        self.detail = detail
        self.arg_index = arg_index
        self.summary = summary

    def __str__(self) -> str:
        return self.detail


class Fail(Exception):
    """Raised by an implementation: the call failed (``Call to function "x" failed: ...``)."""


class ArgError(Exception):
    """Raised by an implementation: argument ``index`` is wrong (``Invalid value for ...``)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


@attrs.define(frozen=True)
class Param:
    name: str
    type: V.Type = V.DYNAMIC
    allow_null: bool = False
    allow_unknown: bool = False


@attrs.define(frozen=True)
class Function:
    name: str
    params: Tuple[Param, ...]
    var_param: Optional[Param]
    impl: Callable[..., Any]
    ret: Union[V.Type, Callable[[list], V.Type]] = V.DYNAMIC

    def return_type(self, args: list) -> V.Type:
        """The result type for these (possibly unknown) arguments, DYNAMIC when not known."""
        if isinstance(self.ret, V.Type):
            return self.ret
        try:
            return self.ret(args)
        except Exception:  # noqa: BLE001 - an unknown result of unknown type is still correct
            return V.DYNAMIC


REGISTRY: Dict[str, Function] = {}

ParamSpec = Union[Param, Tuple[str, V.Type], str]


def _param(spec: ParamSpec) -> Param:
    if isinstance(spec, Param):
        return spec
    if isinstance(spec, str):
        return Param(spec)
    return Param(spec[0], spec[1])


def function(name: str, params: Sequence[ParamSpec] = (), var: Optional[ParamSpec] = None,
             ret: Union[V.Type, Callable[[list], V.Type]] = V.DYNAMIC) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated ``impl(ctx, *args)`` as function ``name``."""
    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Function(name, tuple(_param(p) for p in params),
                                  _param(var) if var is not None else None, impl, ret)
        return impl
    return decorate


def to_int(v: Any, index: Optional[int] = None, prefix: str = "") -> int:
    """A whole number as int, or gocty's error ("value must be a whole number") with ``prefix``:
    an ArgError for argument ``index`` when given, else a Fail."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf")) or v != int(v)):
        message = prefix + "value must be a whole number"
        if index is None:
            raise Fail(message)
        raise ArgError(index, message)
    return int(v)

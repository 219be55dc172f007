"""Every function of Packer 1.16's HCL2 templates (except ``can``/``try``), with go-cty semantics.

``call(name, args, ctx)`` converts each argument to its parameter's type as go-cty does, returns
``Unknown(return type)`` when an argument is not known (unless the function accepts unknowns),
and raises :class:`FunctionError` worded as HCL words a function-call diagnostic. The functions
live in one module per family (strings, collections, numbers, encoding, crypto, filesystem,
datetime, network, packer); each registers itself with :func:`hatchway.template.hcl.functions.
registry.function`. Heavy dependencies (re2, yaml, bcrypt, cryptography) are imported on use.
"""

from __future__ import annotations

import difflib
import unicodedata
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional

import attrs

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import REGISTRY, ArgError, Fail, Function, FunctionError

__all__ = ["FunctionContext", "FunctionError", "names", "call", "lookup", "suggest", "TYPE_ARGUMENTS"]

#: Arguments that are type expressions, not values (HCL's typeexpr.ConvertFunc): the evaluator
#: parses them as type constraints (``list(string)``) and passes a values.Type.
TYPE_ARGUMENTS = {"convert": 1}

_FAMILIES = ("strings", "collections", "numbers", "encoding", "crypto", "filesystem",
             "datetime", "network", "packer")
_loaded = False


@attrs.define
class FunctionContext:
    """What functions may use from their surroundings."""

    base_dir: str = "."                       # path.root: file(), fileexists(), fileset(), templatefile()
    now: Optional[datetime] = None            # aware UTC; timestamp() still returns the real current time
    start_time: Optional[datetime] = None     # legacy_isotime/legacy_strftime use the process start time
    render_template: Optional[Callable[[str, Mapping[str, Any], str], Any]] = None
    extra: Mapping[str, Callable[..., Any]] = attrs.field(factory=dict)


def _load() -> Dict[str, Function]:
    global _loaded
    if not _loaded:
        import importlib
        for family in _FAMILIES:
            importlib.import_module(f"hatchway.template.hcl.functions.{family}")
        _loaded = True
    return REGISTRY


def names() -> List[str]:
    """Every function name known, sorted."""
    return sorted(_load())


def lookup(name: str) -> Function:
    """The function called ``name``; KeyError if there is none."""
    return _load()[name]


def suggest(name: str) -> List[str]:
    """The known names nearest to ``name`` (for "Call to unknown function" did-you-mean)."""
    return difflib.get_close_matches(name, names(), n=3, cutoff=0.6)


def call(name: str, args: List[Any], ctx: Optional[FunctionContext] = None) -> Any:
    """Call function ``name`` with ``args`` (variadic arguments passed flat).

    KeyError for an unknown name; FunctionError for a wrong argument count, an argument that
    does not convert, or a failure of the function itself."""
    fn = _load()[name]
    if ctx is None:
        ctx = FunctionContext()
    params = fn.params
    nparams = len(params)
    if len(args) < nparams:
        missing = params[len(args)]
        if fn.var_param is not None:
            detail = (f"Function {V._go_quote(name)} expects at least {nparams} argument(s). "
                      f"Missing value for {V._go_quote(missing.name)}.")
        else:
            detail = (f"Function {V._go_quote(name)} expects {nparams} argument(s). "
                      f"Missing value for {V._go_quote(missing.name)}.")
        raise FunctionError(detail, None, "Not enough function arguments")
    if len(args) > nparams and fn.var_param is None:
        raise FunctionError(f"Function {V._go_quote(name)} expects only {nparams} argument(s).",
                            nparams, "Too many function arguments")
    converted: List[Any] = []
    unknown = False
    for i, arg in enumerate(args):
        param = params[i] if i < nparams else fn.var_param
        assert param is not None
        if arg is None:
            if not param.allow_null:
                raise _arg_error(param.name, i, "argument must not be null")
            converted.append(None)
            continue
        if isinstance(arg, V.Unknown) and not param.allow_unknown:
            unknown = True
            converted.append(arg)
            continue
        try:
            converted.append(V.convert(arg, param.type))
        except V.ConversionError as e:
            raise _arg_error(param.name, i, str(e)) from None
    if unknown:
        return V.Unknown(fn.return_type(converted))
    try:
        return _nfc(fn.impl(ctx, *converted))
    except ArgError as e:
        index = e.index
        param = params[index] if index < nparams else fn.var_param
        pname = param.name if param is not None else "?"
        raise _arg_error(pname, index, str(e)) from None
    except Fail as e:
        raise FunctionError(f"Call to function {V._go_quote(name)} failed: {e}.", None,
                            "Error in function call") from None
    except (TypeError, ValueError, AttributeError, KeyError):
        # an unknown nested in an argument (go-cty only checks arguments at top level):
        # a function that cannot work with it gives an unknown result
        if not all(V.is_known(a) for a in converted):
            return V.Unknown(fn.return_type(converted))
        raise


def _nfc(v: Any) -> Any:
    """cty normalizes every string to NFC (cty.StringVal); results follow."""
    if isinstance(v, str):
        return v if unicodedata.is_normalized("NFC", v) else unicodedata.normalize("NFC", v)
    if isinstance(v, V.SetValue):
        return V.SetValue(_nfc(x) for x in v)
    if isinstance(v, list):
        return [_nfc(x) for x in v]
    if isinstance(v, dict):
        return {_nfc(k): _nfc(x) for k, x in v.items()}
    return v


def _arg_error(pname: str, index: int, message: str) -> FunctionError:
    return FunctionError(f"Invalid value for {V._go_quote(pname)} parameter: {message}.", index,
                         "Invalid function argument")

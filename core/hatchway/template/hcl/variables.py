"""HCL2 variables: ``variable``/``variables`` blocks, their values from every source, validation rules.

A mixin of the loader (:class:`.frontend._Loader`). Values, lowest to highest:
defaults, ``PKR_VAR_*``, auto var files, ``-var-file``, ``-var``; each is
converted to the variable's type; an undeclared ``-var`` and a variable left
without a value are errors.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import attrs

from ... import redact
from . import values as V
from . import varfiles
from .ast import Block, Body, Expr, Range, references
from .evaluate import ALL, DEFAULTS, FAILED as _ERR, NONE, EvalContext
from .typeexpr import TypeExprError, type_from_expr

__all__ = ["HCLVariable"]

try:  # the one constant, where the JSON front end keeps it
    from ..functions import PACKER_VERSION  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before that constant existed
    #: The Packer version Hatchway declares itself compatible with (``packer.version``, ``required_version``).
    PACKER_VERSION = "1.16.0"

VARIABLE_ATTRS = {"type", "default", "description", "sensitive", "nullable"}


@attrs.define
class HCLVariable:
    name: str
    type: Any
    value: Any
    sensitive: bool
    description: str
    has_default: bool
    range: Range


def _add_secrets(value: Any) -> None:
    if isinstance(value, str):
        redact.add_secret(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _add_secrets(v)
    elif isinstance(value, dict):
        for v in value.values():
            _add_secrets(v)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _looks_like_sentences(text: str) -> bool:
    text = text.strip()
    return bool(text) and text[0].isupper() and text[-1] in ".?!"


class _Variables:
    """Declaring, assigning and validating variables (mixed into the loader)."""

    # -- variables -----------------------------------------------------------------
    def declare_variables(self, blocks: List[Block], var_blocks: List[Block]) -> Dict[str, HCLVariable]:
        out: Dict[str, HCLVariable] = {}
        self.validations: Dict[str, List[Block]] = {}
        default_ctx = EvalContext({}, functions=DEFAULTS, fn_ctx=self.fn_ctx, variables_allowed=False)
        for block in blocks:
            if not self.labels_ok(block, 1):
                continue
            name = block.labels[0]
            if name in out:
                self.add("Duplicate variable", f"Duplicate {name} variable definition found.", block.label_ranges[0])
                continue
            if not re.match(r"^[^\W\d][\w-]*$", name):
                self.add("Invalid variable name", "A name must start with a letter or underscore and may contain only "
                         "letters, digits, underscores, and dashes.", block.label_ranges[0])
                continue
            body = block.body
            self.check_body(body, VARIABLE_ATTRS, {"validation"})
            vtype: Optional[V.Type] = None
            if "type" in body.attributes:
                try:
                    vtype = type_from_expr(body.attributes["type"].expr,
                                           default_eval=lambda e: self._const(e, default_ctx))
                except TypeExprError as exc:
                    self.diags.append(exc.diag)
            default: Any = None
            has_default = "default" in body.attributes
            if has_default:
                default = self.eval(body.attributes["default"].expr, default_ctx)
                if default is _ERR:
                    default, has_default = None, True
                elif vtype is not None and default is not None:
                    try:
                        default = V.convert(default, vtype)
                    except V.ConversionError as exc:
                        self.add("Invalid default value for variable",
                                 f"This default value is not compatible with the variable's type constraint: {exc}.",
                                 body.attributes["default"].expr.range)
                        default = None
                if vtype is None:
                    if default is None or default == [] or default == {}:
                        vtype = V.DYNAMIC
                    else:
                        vtype = V.type_of(default)
            description = self._literal_attr(body, "description", str, "")
            sensitive = self._literal_attr(body, "sensitive", bool, False)
            out[name] = HCLVariable(name, vtype or V.DYNAMIC, default, sensitive, description, has_default,
                                    block.range)
            self.validations[name] = [b for b in body.blocks if b.type == "validation"]
            for vb in self.validations[name]:
                self.check_validation_block(name, vb)
        for block in var_blocks:
            self.check_body(block.body, set(block.body.attributes), set())
            for aname, attr in block.body.attributes.items():
                if aname in out:
                    self.add("Duplicate variable", f"Duplicate {aname} variable definition found.", attr.name_range)
                    continue
                default = self.eval(attr.expr, default_ctx)
                if default is _ERR:
                    default = None
                vtype = V.DYNAMIC if default is None or default in ([], {}) else V.type_of(default)
                out[aname] = HCLVariable(aname, vtype, default, False, "", True, attr.range)
        return out

    def _const(self, expr: Expr, ctx: EvalContext) -> Any:
        value = self.eval(expr, ctx)
        return None if value is _ERR else value

    def _literal_attr(self, body: Body, name: str, kind: type, default: Any) -> Any:
        attr = body.attributes.get(name)
        if attr is None:
            return default
        value = self.eval(attr.expr, EvalContext({}, functions=NONE, variables_allowed=False))
        if value is _ERR:
            return default
        try:
            value = V.convert(value, V.BOOL if kind is bool else V.STRING)
        except V.ConversionError as exc:
            self.add("Incorrect attribute value type", f'Inappropriate value for attribute "{name}": {exc}.',
                     attr.expr.range)
            return default
        return default if value is None else value

    def check_validation_block(self, name: str, block: Block) -> None:
        self.check_body(block.body, {"condition", "error_message"}, set())
        cond = block.body.attributes.get("condition")
        msg = block.body.attributes.get("error_message")
        if cond is None:
            self.add("Missing required argument", 'The argument "condition" is required, but no definition was '
                     "found.", block.range)
        else:
            refs = references(cond.expr)
            uses_self = False
            for path, rng in refs:
                if path[0] == "var" and len(path) > 1 and path[1] == name:
                    uses_self = True
                elif path[0] in ("var", "local", "data", "source", "build", "path", "packer"):
                    self.add("Invalid reference in variable validation",
                             f'The condition for variable "{name}" can only refer to the variable itself, using '
                             f"var.{name}.", rng)
            if not uses_self:
                self.add("Invalid variable validation condition",
                         f'The condition for variable "{name}" must refer to var.{name} in order to test incoming '
                         "values.", cond.expr.range)
        if msg is None:
            self.add("Missing required argument", 'The argument "error_message" is required, but no definition was '
                     "found.", block.range)
        else:
            text = self.eval(msg.expr, EvalContext({}, functions=NONE, variables_allowed=False))
            if isinstance(text, str) and not _looks_like_sentences(text):
                self.add("Invalid validation error message",
                         "Validation error message must be at least one full sentence starting with an uppercase "
                         "letter and ending with a period or question mark.", msg.expr.range)

    def assign_variables(self, variables: Dict[str, HCLVariable], var_files: Sequence[str],
                         cli_vars: Sequence[str], auto_dir: Optional[Path]) -> None:
        sources: List[varfiles.Assignment] = list(varfiles.from_env(self.env))
        files = (varfiles.auto_files(auto_dir) if auto_dir is not None else []) + [Path(f) for f in var_files]
        for f in files:
            sources.extend(varfiles.from_file(f, self.diags))
        cli = varfiles.from_cli(list(cli_vars), self.diags)
        for a in cli:
            if a.name not in variables:
                self.add("Undefined -var variable",
                         f'A "{a.name}" variable was passed in but was not found in known variables. To declare '
                         f'variable "{a.name}", place this block in one of your .pkr files, such as '
                         "variables.pkr.hcl", None)
        sources.extend(cli)
        set_by: Dict[str, varfiles.Assignment] = {}
        for a in sources:
            var = variables.get(a.name)
            if var is None:
                if a.origin == "file" and self.warn_undeclared:
                    self.add("Undefined variable",
                             f'The variable "{a.name}" was set but was not declared as an input variable. To '
                             f'declare variable "{a.name}" place this block in one of your .pkr.hcl files, such '
                             "as variables.pkr.hcl", a.range, severity="warning")
                continue
            value = self.assignment_value(var, a)
            if value is _ERR:
                var.has_default = True  # reported; do not also say "unset"
                set_by[a.name] = a
                continue
            var.value = value
            var.has_default = True
            set_by[a.name] = a
        for var in variables.values():
            if not var.has_default:
                var.value = V.Unknown(var.type)  # reported once here, not again by every use
                self.add(f'Unset variable "{var.name}"',
                         "A used variable must be set or have a default value; see "
                         "https://packer.io/docs/templates/hcl_templates/syntax for details.", var.range)
            if var.sensitive:
                _add_secrets(var.value)

    def assignment_value(self, var: HCLVariable, a: varfiles.Assignment) -> Any:
        t = var.type
        if a.raw is not None:
            if t.kind in ("string", "number", "bool", "dynamic"):
                value: Any = a.raw
            else:
                expr, errors = varfiles.parse_raw(a.raw, var.name)
                if errors or expr is None:
                    self.diags.extend(errors)
                    return _ERR
                value = self.eval(expr, EvalContext({}, functions=NONE, variables_allowed=False))
        elif a.expr is not None:
            value = self.eval(a.expr, EvalContext({}, functions=NONE, variables_allowed=False))
        else:
            value = _json_value(a.value)
        if value is _ERR:
            return _ERR
        try:
            return V.convert(value, t)
        except V.ConversionError as exc:
            self.add("Invalid value for variable",
                     f"The value for {var.name} is not compatible with the variable's type constraint: {exc}.",
                     a.range)
            return _ERR

    def validate_variables(self, variables: Dict[str, HCLVariable]) -> None:
        for name, blocks in self.validations.items():
            var = variables[name]
            ctx = EvalContext({"var": {name: var.value}}, functions=ALL, fn_ctx=self.fn_ctx)
            for block in blocks:
                cond = block.body.attributes.get("condition")
                msg = block.body.attributes.get("error_message")
                if cond is None or msg is None:
                    continue
                result = self.eval(cond.expr, ctx)
                if result is _ERR or isinstance(result, V.Unknown):
                    continue
                try:
                    ok = V.convert(result, V.BOOL)
                except V.ConversionError as exc:
                    self.add("Invalid validation result", f"Invalid validation condition result value: {exc}.",
                             cond.expr.range)
                    continue
                if ok is False:
                    text = self.eval(msg.expr, ctx)
                    text = text if isinstance(text, str) else "The value is not valid."
                    self.add("Invalid value for variable",
                             f"{text}\n\nThis was checked by the validation rule at {cond.expr.range}.",
                             var.range)

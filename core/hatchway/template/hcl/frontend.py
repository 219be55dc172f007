"""HCL2 template files -> the template model (:mod:`hatchway.template.model`).

Order, as Packer's: parse every file; declare variables and give them their
values (defaults < ``PKR_VAR_*`` < auto var files < ``-var-file`` < ``-var``);
evaluate locals and data sources as a graph; then, for each build and each
source it uses (a *run* named ``BUILD.TYPE.NAME``), evaluate the source body,
the provisioners and the post-processors with that run's ``source.*`` and
``build.*`` values, expanding ``dynamic`` blocks on the way. Every problem is
a :class:`~.diagnostics.Diagnostic`; all of them are raised together.

Positions survive into validation: each option's key path is mapped to its
range (:attr:`Loaded.positions`) so that problems the config classes find
later still point at the file, line and column.
"""
from __future__ import annotations

import datetime as _dt
import functools
import os
import re
import threading
import typing
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple, Union

import attrs

from ... import redact
from ..model import BuilderSection, PostProcessorSection, ProvisionerSection, Template
from . import values as V
from .ast import Attribute, Block, Body, Expr, Range, Variable, references
from .diagnostics import Diagnostic, DiagnosticsError, did_you_mean, nearest
from .evaluate import ALL, DEFAULTS, NONE, EvalContext, EvalError, evaluate
from .parser import parse
from .typeexpr import TypeExprError, type_from_expr
from . import is_hcl_path, varfiles

__all__ = ["PACKER_VERSION", "Loaded", "HCLVariable", "load", "template_files", "is_hcl_path"]

try:  # the one constant, where the JSON front end keeps it
    from ..functions import PACKER_VERSION  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before that constant existed
    #: The Packer version Hatchway declares itself compatible with (``packer.version``, ``required_version``).
    PACKER_VERSION = "1.16.0"

UNKNOWN_TEXT = "<unknown>"
#: ``build.*`` values: "<unknown>" while validating, the real ones at run time.
BUILD_KEYS = ("ID", "Host", "Port", "User", "Password", "ConnType", "PackerRunUUID", "PackerHTTPIP",
              "PackerHTTPPort", "PackerHTTPAddr", "SSHPublicKey", "SSHPrivateKey", "WinRMPassword")

TOP_BLOCKS = {"packer": 0, "variable": 1, "variables": 0, "locals": 0, "local": 1, "source": 2, "data": 2,
              "build": 0, "hcp_packer_registry": 0, "communicator": 2}
LABEL_NAMES = {"variable": "name", "local": "name", "source": "type, name", "data": "type, name",
               "communicator": "type, name"}
VARIABLE_ATTRS = {"type", "default", "description", "sensitive", "nullable"}
PROVISIONER_META = {"only", "except", "override", "pause_before", "timeout", "max_retries", "continue_on_error",
                    "name"}
POST_PROCESSOR_META = {"only", "except", "keep_input_artifact", "name"}
BUILD_ATTRS = {"name", "description", "sources"}
BUILD_BLOCKS = {"source", "provisioner", "error-cleanup-provisioner", "post-processor", "post-processors",
                "hcp_packer_registry"}

_ERR = object()  # an expression that failed (its diagnostic is recorded)


@attrs.define
class HCLVariable:
    name: str
    type: Any
    value: Any
    sensitive: bool
    description: str
    has_default: bool
    range: Range


@attrs.define
class Loaded:
    """A loaded HCL2 template: the model, its variables and where everything is."""

    template: Template
    variables: Dict[str, HCLVariable]
    locals: Dict[str, Any]
    positions: Dict[str, Tuple[Range, Range]]
    context: EvalContext
    warnings: List[Diagnostic]
    files: List[Path]
    post_processor_names: Dict[str, str] = attrs.field(factory=dict)
    sensitive_locals: Set[str] = attrs.field(factory=set)
    #: errors found while loading (only with ``keep_errors``: validation then adds its own)
    errors: List[Diagnostic] = attrs.field(factory=list)
    failed: Set[str] = attrs.field(factory=set)
    #: the paths of builder, provisioner and post-processor sections
    sections: Set[str] = attrs.field(factory=set)


def template_files(path: Path) -> List[Path]:
    if path.is_dir():
        names = sorted(os.listdir(path))
        return ([path / n for n in names if n.endswith(".pkr.hcl") and (path / n).is_file()]
                + [path / n for n in names if n.endswith(".pkr.json") and (path / n).is_file()])
    return [path]


def _shown(path: Path) -> str:
    return str(path)


def _clean(value: Any) -> Any:
    """Model options are plain natives: sets become lists, unknowns "<unknown>"."""
    if isinstance(value, V.Unknown):
        return UNKNOWN_TEXT
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _add_secrets(value: Any) -> None:
    if isinstance(value, str):
        redact.add_secret(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _add_secrets(v)
    elif isinstance(value, dict):
        for v in value.values():
            _add_secrets(v)


@functools.lru_cache(maxsize=None)
def _list_fields(cls: Any) -> FrozenSet[str]:
    """Config fields whose type is a list (nested blocks become lists of objects there)."""
    if cls is None:
        return frozenset()
    from ...config import _hints

    out: Set[str] = set()
    try:
        hints = _hints(cls)
    except Exception:  # pragma: no cover - a plugin's odd annotations
        return frozenset()
    for name, tp in hints.items():
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union:
            inner = [a for a in args if a is not type(None)]
            origin = typing.get_origin(inner[0]) if len(inner) == 1 else None
        if origin in (list, tuple, Sequence) or tp in (list, tuple):
            out.add(name)
    return frozenset(out)


# --- version constraints (hashicorp/go-version) ----------------------------------------
def _version_tuple(text: str) -> Tuple[int, ...]:
    m = re.match(r"^v?(\d+(?:\.\d+)*)", text.strip())
    if not m:
        raise ValueError(text)
    parts = [int(p) for p in m.group(1).split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def version_satisfies(version: str, constraints: str) -> bool:
    """Does ``version`` meet every comma-separated go-version constraint (``>= 1.7``, ``~> 1.9.0``...)?"""
    have = _version_tuple(version)
    for raw in constraints.split(","):
        c = raw.strip()
        if not c:
            continue
        m = re.match(r"^(>=|<=|!=|~>|=|>|<)?\s*(.+)$", c)
        if not m:
            raise ValueError(c)
        op, want_text = m.group(1) or "=", m.group(2)
        want = _version_tuple(want_text)
        if op == "=" and have != want:
            return False
        if op == "!=" and have == want:
            return False
        if op == ">" and not have > want:
            return False
        if op == ">=" and not have >= want:
            return False
        if op == "<" and not have < want:
            return False
        if op == "<=" and not have <= want:
            return False
        if op == "~>":
            segments = len(re.match(r"^v?(\d+(?:\.\d+)*)", want_text.strip()).group(1).split("."))  # type: ignore
            prefix = max(segments - 1, 1)
            if not (have >= want and have[:prefix] == want[:prefix]):
                return False
    return True


# --- the loader ------------------------------------------------------------------------
class _Loader:
    def __init__(self, root: Path, plugins: Any, env: Mapping[str, str], cwd: str) -> None:
        self.root = root
        self.plugins = plugins
        self.env = env
        self.cwd = cwd
        self.diags: List[Diagnostic] = []
        self.positions: Dict[str, Tuple[Range, Range]] = {}
        self.pp_names: Dict[str, str] = {}
        self.failed: Set[str] = set()  # option paths whose expression failed (reported already)
        self.late_lock = threading.Lock()
        self.warn_undeclared = False
        now = _dt.datetime.now(_dt.timezone.utc)
        self.fn_ctx = _function_context(str(root), now, self._render_template, plugins)
        self.path_obj = {"root": str(root).replace("\\", "/"), "cwd": cwd}
        self.packer_obj = {"version": PACKER_VERSION, "iterationID": "", "versionFingerprint": ""}

    # -- helpers ------------------------------------------------------------------
    def add(self, summary: str, detail: str, subject: Optional[Range], severity: str = "error") -> None:
        self.diags.append(Diagnostic(summary, detail, subject, severity))

    def eval(self, expr: Expr, ctx: EvalContext) -> Any:
        try:
            return evaluate(expr, ctx)
        except EvalError as exc:
            self.diags.append(exc.diag)
            return _ERR
        except RecursionError:
            self.add("Expression too complex", "This expression nests too deeply to evaluate.", expr.range)
            return _ERR

    def check_body(self, body: Body, attrs_ok: Set[str], blocks_ok: Set[str], allow_dynamic: bool = False) -> None:
        for name, attr in body.attributes.items():
            if name not in attrs_ok:
                self.add("Unsupported argument",
                         f'An argument named "{name}" is not expected here.{did_you_mean(name, attrs_ok)}',
                         attr.name_range)
        for block in body.blocks:
            if block.type not in blocks_ok and not (allow_dynamic and block.type == "dynamic"):
                self.add("Unsupported block type",
                         f'Blocks of type "{block.type}" are not expected here.{did_you_mean(block.type, blocks_ok)}',
                         block.type_range)

    def labels_ok(self, block: Block, count: int) -> bool:
        if len(block.labels) == count:
            return True
        names = LABEL_NAMES.get(block.type, "")
        if len(block.labels) < count:
            self.add(f"Missing {names.split(', ')[len(block.labels)] if names else 'label'} for {block.type}",
                     f"All {block.type} blocks must have {count} labels ({names}).", block.range)
        else:
            extra = block.label_ranges[count] if len(block.label_ranges) > count else block.range
            self.add(f"Extraneous label for {block.type}",
                     f"Only {count} labels ({names}) are expected for {block.type} blocks." if count else
                     f"No labels are expected for {block.type} blocks.", extra)
        return False

    def base_context(self, variables: Dict[str, Any]) -> EvalContext:
        return EvalContext(variables, functions=ALL, fn_ctx=self.fn_ctx)

    def _render_template(self, text: str, variables: Mapping[str, Any], filename: str) -> Any:
        from .parser import parse_template

        tmpl, errors = parse_template(text, filename)
        if errors:
            raise ValueError(f"{errors[0].subject}: {errors[0].summary}; {errors[0].detail}")
        ctx = EvalContext(dict(variables), functions=ALL, fn_ctx=self.fn_ctx)
        try:
            return evaluate(tmpl, ctx)  # type: ignore[arg-type]
        except EvalError as exc:
            raise ValueError(f"{exc.diag.subject}: {exc.diag.summary}; {exc.diag.detail}") from None

    # -- files ----------------------------------------------------------------------
    def read(self, files: List[Path]) -> List[Tuple[Path, Body]]:
        bodies = []
        for path in files:
            shown = _shown(path)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self.add("Failed to read file", f"The file {shown} does not exist.", None)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                self.add("Failed to read file", f"The file {shown} could not be read: {exc}.", None)
                continue
            if shown.endswith(".json"):
                from .jsonsyntax import parse_json

                body, errors = parse_json(text, shown)
            else:
                body, errors = parse(text, shown)
            self.diags.extend(errors)
            bodies.append((path, body))
        return bodies

    # -- packer block --------------------------------------------------------------
    def packer_block(self, block: Block) -> None:
        self.check_body(block.body, {"required_version"}, {"required_plugins"})
        attr = block.body.attributes.get("required_version")
        if attr is not None:
            value = self.eval(attr.expr, EvalContext({}, functions=NONE, variables_allowed=False))
            if value is not _ERR:
                if not isinstance(value, str):
                    self.add("Invalid required_version", "A version constraint string is required.", attr.expr.range)
                else:
                    try:
                        ok = version_satisfies(PACKER_VERSION, value)
                    except ValueError:
                        self.add("Invalid version constraint", f"Malformed constraint: {value}", attr.expr.range)
                        ok = True
                    if not ok:
                        self.add("Unsupported Packer Core version",
                                 f"This configuration does not support Packer version {PACKER_VERSION}. To proceed, "
                                 "either choose another supported Packer version or update this version constraint. "
                                 "Version constraints are normally set for good reason, so updating the constraint "
                                 "may lead to other errors or unexpected behavior.", attr.expr.range)
        for sub in block.body.blocks:
            if sub.type == "required_plugins":
                self.required_plugins(sub)

    def required_plugins(self, block: Block) -> None:
        installed = set()
        if self.plugins is not None:
            installed = {row["distribution"] for row in self.plugins.plugin_table()}
        for name, attr in block.body.attributes.items():
            value = self.eval(attr.expr, EvalContext({}, functions=NONE, variables_allowed=False))
            if value is _ERR:
                continue
            if not isinstance(value, dict) or not isinstance(value.get("source", ""), str):
                self.add("Invalid required_plugins entry",
                         'Each plugin is an object: { version = ">= 1.0.0", source = "github.com/hashicorp/NAME" }.',
                         attr.expr.range)
                continue
            source = value.get("source") or name
            plugin = source.rstrip("/").rsplit("/", 1)[-1]
            plugin = plugin[len("packer-plugin-"):] if plugin.startswith("packer-plugin-") else plugin
            dist = PLUGIN_DISTRIBUTIONS.get(plugin, f"hatchway-{plugin}")
            if dist in installed or self.plugins is None:
                continue
            self.add("Missing plugin",
                     f'The plugin "{name}" ({source}) is required, and Hatchway\'s equivalent is not installed: '
                     f"install it with: hatchway plugins install {dist}  (or: pip install {dist})", attr.name_range)

    # -- variables -----------------------------------------------------------------
    def declare_variables(self, blocks: List[Block], var_blocks: List[Block]) -> Dict[str, HCLVariable]:
        out: Dict[str, HCLVariable] = {}
        self.validations: Dict[str, List[Block]] = {}
        default_ctx = EvalContext({}, functions=DEFAULTS, fn_ctx=self.fn_ctx, variables_allowed=False)
        default_ctx.fn_ctx = _EnvOnly(self.fn_ctx, self.env)
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

    # -- locals and data -------------------------------------------------------------
    def locals_and_data(self, local_attrs: List[Tuple[Attribute, bool]], data_blocks: List[Block],
                        variables: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        nodes: Dict[Tuple[str, str], Any] = {}
        sensitive: Set[str] = set()
        for attr, is_sensitive in local_attrs:
            key = ("local", attr.name)
            if key in nodes:
                prev = nodes[key]
                self.add("Duplicate local definition",
                         f'Duplicate {attr.name} definition found at {prev.name_range}. Each local must have a '
                         "unique name.", attr.name_range)
                continue
            nodes[key] = attr
            if is_sensitive:
                sensitive.add(attr.name)
        for block in data_blocks:
            if not self.labels_ok(block, 2):
                continue
            key = ("data", f"{block.labels[0]}.{block.labels[1]}")
            if key in nodes:
                self.add("Duplicate data block", f"This data source ({key[1]}) is already defined at "
                         f"{nodes[key].range}.", block.range)
                continue
            nodes[key] = block
        local_values: Dict[str, Any] = {}
        data_values: Dict[str, Dict[str, Any]] = {}
        ctx = self.base_context({"var": variables, "local": local_values, "data": data_values,
                                 "path": self.path_obj, "packer": self.packer_obj})
        state: Dict[Tuple[str, str], str] = {}

        def deps(node: Any) -> List[Tuple[Tuple[str, str], Range]]:
            out = []
            for path, rng in references(node.expr if isinstance(node, Attribute) else node.body):
                if path[0] == "local" and len(path) > 1:
                    out.append((("local", path[1]), rng))
                elif path[0] == "data" and len(path) > 2:
                    out.append((("data", f"{path[1]}.{path[2]}"), rng))
            return out

        def visit(key: Tuple[str, str], chain: List[Tuple[str, str]]) -> None:
            if state.get(key) == "done":
                return
            if state.get(key) == "visiting":
                cycle = chain[chain.index(key):] + [key]
                node = nodes[key]
                self.add("Cycle in locals and data sources",
                         "These values depend on each other: "
                         + " -> ".join(f"{k}.{n}" for k, n in cycle) + ".",
                         node.name_range if isinstance(node, Attribute) else node.range)
                return
            state[key] = "visiting"
            for dep, _rng in deps(nodes[key]):
                if dep in nodes:
                    visit(dep, chain + [key])
            if state.get(key) == "done":
                return
            node = nodes[key]
            if key[0] == "local":
                value = self.eval(node.expr, ctx)
                local_values[key[1]] = V.UNKNOWN if value is _ERR else value
                if key[1] in sensitive and value is not _ERR:
                    _add_secrets(value)
            else:
                dtype, dname = node.labels
                data_values.setdefault(dtype, {})[dname] = self.data_source(node, ctx)
            state[key] = "done"

        for key in nodes:
            visit(key, [])
        self.sensitive_locals = sensitive
        return local_values, data_values

    def data_source(self, block: Block, ctx: EvalContext) -> Any:
        dtype, dname = block.labels
        reg = self.plugins.find("data-source", dtype) if self.plugins is not None else None
        if reg is None:
            from ...plugins import install_hint

            self.add("Unknown data source type",
                     f'The data source "{dtype}" is not installed; {install_hint("data-source", dtype)}.',
                     block.label_ranges[0])
            return V.UNKNOWN
        path = f"data.{dtype}.{dname}"
        self.positions[path] = (block.range, block.range)
        options = self.decode_body(block.body, ctx, path, list_fields=_list_fields(reg.cls.Config))
        from ...config import build as build_config

        config, problems = build_config(reg.cls.Config, options, path)
        self.diags.extend(problems_to_diagnostics(problems, self.positions))
        if config is None:
            return V.UNKNOWN
        try:
            return reg.cls(config).execute()
        except Exception as exc:  # a data source failing is the user's problem to see, not a traceback
            self.add("Data source failed", f'The data source "{dtype}" "{dname}" failed: {exc}', block.range)
            return V.UNKNOWN

    # -- bodies and dynamic blocks ------------------------------------------------------
    def expand(self, body: Body, ctx: EvalContext) -> List[Tuple[Union[Attribute, Block], EvalContext]]:
        out: List[Tuple[Union[Attribute, Block], EvalContext]] = []
        for item in body.items:
            if isinstance(item, Block) and item.type == "dynamic":
                out.extend(self.dynamic(item, ctx))
            else:
                out.append((item, ctx))
        return out

    def dynamic(self, block: Block, ctx: EvalContext) -> List[Tuple[Block, EvalContext]]:
        if not self.labels_ok_named(block):
            return []
        btype = block.labels[0]
        body = block.body
        self.check_body(body, {"for_each", "iterator", "labels"}, {"content"})
        contents = [b for b in body.blocks if b.type == "content"]
        if len(contents) != 1:
            self.add("Missing content block" if not contents else "Duplicate content block",
                     "A dynamic block must have exactly one nested block of type \"content\".", block.range)
            return []
        content = contents[0]
        fe = body.attributes.get("for_each")
        if fe is None:
            self.add("Missing required argument", 'The argument "for_each" is required, but no definition was found.',
                     block.range)
            return []
        coll = self.eval(fe.expr, ctx)
        if coll is _ERR or isinstance(coll, V.Unknown):
            return []
        if coll is None:
            self.add("Invalid dynamic for_each value", "Cannot use a null value in for_each.", fe.expr.range)
            return []
        iterator = btype
        it_attr = body.attributes.get("iterator")
        if it_attr is not None:
            if isinstance(it_attr.expr, Variable):
                iterator = it_attr.expr.name
            else:
                self.add("Invalid dynamic iterator name", "Dynamic iterator must be a single variable name.",
                         it_attr.expr.range)
                return []
        if isinstance(coll, dict):
            pairs = [(k, coll[k]) for k in sorted(coll)]
        elif isinstance(coll, (list, tuple)):
            pairs = [(v, v) for v in coll] if isinstance(coll, V.SetValue) else list(enumerate(coll))
        else:
            self.add("Invalid dynamic for_each value",
                     f"Cannot use a {V.friendly_name(V.type_of(coll))} value in for_each. An iterable collection is "
                     "required.", fe.expr.range)
            return []
        out = []
        labels_attr = body.attributes.get("labels")
        for k, v in pairs:
            child = ctx.child({iterator: {"key": k, "value": v}})
            labels: List[str] = []
            if labels_attr is not None:
                value = self.eval(labels_attr.expr, child)
                if value is _ERR:
                    continue
                if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                    self.add("Invalid dynamic block labels", "The labels must be a list of strings.",
                             labels_attr.expr.range)
                    continue
                labels = list(value)
            out.append((Block(btype, labels, [block.label_ranges[0]] * len(labels), content.body, block.range,
                              block.type_range), child))
        return out

    def labels_ok_named(self, block: Block) -> bool:
        if len(block.labels) != 1:
            self.add("Invalid dynamic block", "A dynamic block needs one label: the type of the blocks it makes.",
                     block.range)
            return False
        return True

    def decode_body(self, body: Body, ctx: EvalContext, path: str, *, meta: Set[str] = frozenset(),  # type: ignore
                    skip_blocks: Set[str] = frozenset(), list_fields: Set[str] = frozenset()  # type: ignore
                    ) -> Dict[str, Any]:
        """Attributes evaluated and nested blocks as objects (lists where the field is a list)."""
        out: Dict[str, Any] = {}
        groups: Dict[str, List[Tuple[Block, EvalContext]]] = {}
        for item, ictx in self.expand(body, ctx):
            if isinstance(item, Attribute):
                if item.name in meta:
                    continue
                value = self.eval(item.expr, ictx)
                self.positions[f"{path}.{item.name}"] = (item.name_range, item.expr.range)
                if value is not _ERR:
                    out[item.name] = _clean(value)
                if value is _ERR or not V.is_known(value):  # unknown only after a reported error
                    self.failed.add(f"{path}.{item.name}")
            elif item.type not in skip_blocks:
                groups.setdefault(item.type, []).append((item, ictx))
        for btype, blocks in groups.items():
            values = []
            as_list = len(blocks) > 1 or btype in list_fields
            for i, (block, bctx) in enumerate(blocks):
                sub = f"{path}.{btype}[{i}]" if as_list else f"{path}.{btype}"
                self.positions[sub] = (block.type_range, block.range)
                values.append(self.decode_body(block.body, bctx, sub))
            self.positions.setdefault(f"{path}.{btype}", (blocks[0][0].type_range, blocks[0][0].range))
            out[btype] = values if as_list else values[0]
        return out

    # -- sources and builds -------------------------------------------------------------
    def component_cls(self, kind: str, name: str) -> Any:
        if self.plugins is None:
            return None
        reg = self.plugins.find(kind, name)
        return reg.cls.Config if reg is not None else None

    def builder_list_fields(self, btype: str) -> Set[str]:
        fields = set(_list_fields(self.component_cls("builder", btype)))
        if self.plugins is not None:
            for cname in self.plugins.names("communicator"):
                fields |= _list_fields(self.component_cls("communicator", cname))
        return fields

    def builds(self, template: Template, build_blocks: List[Block], sources: Dict[Tuple[str, str], Block],
               ctx: EvalContext) -> None:
        run_names: Dict[str, Range] = {}
        for bi, block in enumerate(build_blocks):
            body = block.body
            self.check_body(body, BUILD_ATTRS, BUILD_BLOCKS, allow_dynamic=True)
            build_name = ""
            if "name" in body.attributes:
                value = self.eval(body.attributes["name"].expr, ctx)
                if isinstance(value, str):
                    build_name = value
                elif value is not _ERR:
                    self.add("Incorrect attribute value type", 'Inappropriate value for attribute "name": a string '
                             "is required.", body.attributes["name"].expr.range)
            if "description" in body.attributes:
                value = self.eval(body.attributes["description"].expr, ctx)
                if isinstance(value, str) and not template.description:
                    template.description = value
            uses: List[Tuple[str, str, str, Optional[Block], Range]] = []  # type, name, alias, build-source block
            if "sources" in body.attributes:
                attr = body.attributes["sources"]
                value = self.eval(attr.expr, ctx)
                if value is not _ERR:
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        self.add("Incorrect attribute value type",
                                 'Inappropriate value for attribute "sources": a list of strings is required.',
                                 attr.expr.range)
                    else:
                        for ref in value:
                            found = self.source_ref(ref, sources, attr.expr.range)
                            if found:
                                uses.append((found[0], found[1], found[1], None, attr.expr.range))
            for sb in body.blocks:
                if sb.type != "source":
                    continue
                if len(sb.labels) != 1:
                    self.add("Invalid source block", 'A source block in a build takes one label: "source.TYPE.NAME".',
                             sb.range)
                    continue
                found = self.source_ref(sb.labels[0], sources, sb.label_ranges[0])
                if not found:
                    continue
                alias = found[1]
                if "name" in sb.body.attributes:
                    value = self.eval(sb.body.attributes["name"].expr, ctx)
                    if isinstance(value, str):
                        alias = value
                uses.append((found[0], found[1], alias, sb, sb.range))
            referred = "sources" in body.attributes or any(b.type == "source" for b in body.blocks)
            if not uses and not referred:
                self.add("Missing sources", "A build block must use at least one source: set sources = "
                         '["source.TYPE.NAME"] or add a source "source.TYPE.NAME" block.', block.range)
                continue
            for stype, sname, alias, sblock, use_range in uses:
                run = f"{build_name}.{stype}.{alias}" if build_name else f"{stype}.{alias}"
                if run in run_names:
                    self.add("Duplicate build", f"The build {run} is already defined at {run_names[run]}; give the "
                             "build blocks different names, or the sources different names.", use_range)
                    continue
                run_names[run] = use_range
                self.run(template, block, build_name, run, stype, sname, alias, sources[(stype, sname)], sblock, ctx)

    def source_ref(self, ref: str, sources: Dict[Tuple[str, str], Block], where: Range
                   ) -> Optional[Tuple[str, str]]:
        parts = ref.split(".")
        if len(parts) > 2:  # "source.TYPE.NAME" (Packer drops the first part, whatever it is)
            parts = parts[1:]
        if len(parts) != 2:
            self.add("Invalid source reference", f'A source is referred to as "source.TYPE.NAME", not "{ref}".', where)
            return None
        key = (parts[0], parts[1])
        if key not in sources:
            known = [f"source.{t}.{n}" for t, n in sources]
            self.add("Unknown source", f"Unknown source {ref}.{did_you_mean('source.' + '.'.join(parts), known)}",
                     where)
            return None
        return key

    def run(self, template: Template, build: Block, build_name: str, run: str, stype: str, sname: str, alias: str,
            source: Block, extra: Optional[Block], ctx: EvalContext) -> None:
        source_obj = {"name": alias, "type": stype}
        sctx = ctx.child({"source": source_obj})
        list_fields = self.builder_list_fields(stype)
        options = self.decode_body(source.body, sctx, run, list_fields=list_fields)
        self.positions[run] = (source.range, source.range)
        self.positions[f"{run}.type"] = (source.label_ranges[0], source.label_ranges[0])
        if extra is not None:
            added = self.decode_body(extra.body, sctx, run, meta={"name"}, list_fields=list_fields)
            for key, value in added.items():
                if key in options:
                    attr = extra.body.attributes.get(key)
                    self.add("Duplicate argument",
                             f'The argument "{key}" is already set in source "{stype}" "{sname}" '
                             f"({_where(source.body, key)}); a build's source block may only add arguments.",
                             attr.name_range if attr is not None else extra.range)
                    continue
                options[key] = value
        communicator = options.pop("communicator", None)
        if communicator is not None and not isinstance(communicator, str):
            self.add("Incorrect attribute value type", 'Inappropriate value for attribute "communicator": a string '
                     "is required.", source.range)
            communicator = None
        template.builders.append(BuilderSection(stype, run, run, communicator, options, packer_build_name=alias))
        build_obj = {"name": build_name, "type": stype, **{k: UNKNOWN_TEXT for k in BUILD_KEYS}}
        pctx = ctx.child({"source": source_obj, "build": build_obj})
        selector = f"{stype}.{alias}"
        for item, ictx in self.expand(build.body, pctx):
            if not isinstance(item, Block):
                continue
            if item.type == "provisioner":
                prov = self.provisioner(item, ictx, run, selector, alias)
                if prov is not None:
                    template.provisioners.append(prov)
            elif item.type == "error-cleanup-provisioner":
                prov = self.provisioner(item, ictx, run, selector, alias)
                if prov is not None:
                    _set_error_cleanup(template, prov, run, self)
            elif item.type == "post-processor":
                pp = self.post_processor(item, ictx, run, selector)
                if pp is not None:
                    template.post_processors.append([pp])
            elif item.type == "post-processors":
                self.check_body(item.body, set(), {"post-processor"}, allow_dynamic=True)
                chain = []
                for sub, sctx2 in self.expand(item.body, ictx):
                    if isinstance(sub, Block) and sub.type == "post-processor":
                        pp = self.post_processor(sub, sctx2, run, selector)
                        if pp is not None:
                            chain.append(pp)
                if chain:
                    template.post_processors.append(chain)

    def _only_except(self, body: Body, ctx: EvalContext, selector: str) -> Optional[bool]:
        """Does the block apply to this run? None when only/except are invalid."""
        lists = {}
        for key in ("only", "except"):
            attr = body.attributes.get(key)
            if attr is None:
                continue
            value = self.eval(attr.expr, ctx)
            if value is _ERR:
                return None
            if value is None:  # null: as if not set
                continue
            if isinstance(value, V.Unknown):
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.add("Incorrect attribute value type",
                         f'Inappropriate value for attribute "{key}": a list of strings is required.', attr.expr.range)
                return None
            lists[key] = value
        if "only" in lists and "except" in lists:
            self.add("Invalid only/except", "only and except cannot both be set on the same block.",
                     body.attributes["except"].name_range)
            return None
        if "only" in lists:
            return selector in lists["only"]
        if "except" in lists:
            return selector not in lists["except"]
        return True

    def provisioner(self, block: Block, ctx: EvalContext, run: str, selector: str, alias: str
                    ) -> Optional[ProvisionerSection]:
        if not self.labels_ok(block, 1):
            return None
        ptype = block.labels[0]
        applies = self._only_except(block.body, ctx, selector)
        if not applies:
            return None
        path = f"{block.range.filename}:{block.range.start.line}"
        self.positions[path] = (block.range, block.range)
        self.positions[f"{path}.type"] = (block.label_ranges[0], block.label_ranges[0])
        list_fields = _list_fields(self.component_cls("provisioner", ptype))

        def decode(c: EvalContext) -> Dict[str, Any]:
            opts = self.decode_body(block.body, c, path, meta=PROVISIONER_META, list_fields=list_fields)
            ov = block.body.attributes.get("override")
            if ov is not None:
                value = self.eval(ov.expr, c)
                if isinstance(value, dict):
                    extra = value.get(alias)
                    if isinstance(extra, dict):
                        opts.update(_clean(extra))
                elif value is not _ERR:
                    self.add("Incorrect attribute value type", 'Inappropriate value for attribute "override": an '
                             "object of source name = { argument = value } is required.", ov.expr.range)
            return opts

        options = decode(ctx)
        meta = {}
        for key in ("pause_before", "timeout", "max_retries", "continue_on_error"):
            attr = block.body.attributes.get(key)
            if attr is not None:
                self.positions[f"{path}.{key}"] = (attr.name_range, attr.expr.range)
                value = self.eval(attr.expr, ctx)
                if value is not _ERR:
                    meta[key] = _clean(value)
        section = ProvisionerSection(type=ptype, path=path, options=options, only=[run],
                                     pause_before=meta.get("pause_before"), max_retries=meta.get("max_retries"),
                                     timeout=meta.get("timeout"), continue_on_error=meta.get("continue_on_error"))
        if _uses_build_values(block.body) and _has_field(section, "late_options"):
            section.late_options = self._late(decode, ctx)  # type: ignore[attr-defined]
        return section

    def post_processor(self, block: Block, ctx: EvalContext, run: str, selector: str
                       ) -> Optional[PostProcessorSection]:
        if not self.labels_ok(block, 1):
            return None
        ptype = block.labels[0]
        applies = self._only_except(block.body, ctx, selector)
        if not applies:
            return None
        path = f"{block.range.filename}:{block.range.start.line}"
        self.positions[path] = (block.range, block.range)
        self.positions[f"{path}.type"] = (block.label_ranges[0], block.label_ranges[0])
        list_fields = _list_fields(self.component_cls("post-processor", ptype))

        def decode(c: EvalContext) -> Dict[str, Any]:
            return self.decode_body(block.body, c, path, meta=POST_PROCESSOR_META, list_fields=list_fields)

        options = decode(ctx)
        keep = False
        attr = block.body.attributes.get("keep_input_artifact")
        if attr is not None:
            value = self.eval(attr.expr, ctx)
            if isinstance(value, bool):
                keep = value
            elif value is not _ERR:
                self.add("Incorrect attribute value type", 'Inappropriate value for attribute "keep_input_artifact": '
                         "a bool is required.", attr.expr.range)
        name_attr = block.body.attributes.get("name")
        if name_attr is not None:
            value = self.eval(name_attr.expr, ctx)
            if isinstance(value, str):
                self.pp_names[path] = value
        section = PostProcessorSection(type=ptype, path=path, options=options, only=[run], keep_input_artifact=keep)
        if _uses_build_values(block.body) and _has_field(section, "late_options"):
            section.late_options = self._late(decode, ctx)  # type: ignore[attr-defined]
        return section

    def _late(self, decode: Callable[[EvalContext], Dict[str, Any]], ctx: EvalContext
              ) -> Callable[[Mapping[str, Any]], Dict[str, Any]]:
        """Re-evaluate a block with the real ``build.*`` values (called by the runner)."""

        def late_options(build_values: Mapping[str, Any]) -> Dict[str, Any]:
            found, build_obj = ctx.lookup("build")
            real = dict(build_obj if found and isinstance(build_obj, dict) else {})
            real.update({k: ("" if v is None else v if isinstance(v, (str, int, float, bool)) else str(v))
                         for k, v in build_values.items()})
            with self.late_lock:  # builds run in threads; the loader's lists are shared
                before = len(self.diags)
                options = decode(ctx.child({"build": real}))
                new = self.diags[before:]
                del self.diags[before:]
            errors = [d for d in new if d.is_error]
            if errors:
                raise DiagnosticsError(errors)
            return options

        return late_options


class _EnvOnly:
    """The function context of variable defaults: only ``env`` (the real environment)."""

    def __init__(self, base: Any, env: Mapping[str, str]) -> None:
        self._base = base
        self.env = env

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


def _function_context(base_dir: str, now: _dt.datetime, render: Callable[..., Any], plugins: Any) -> Any:
    from . import functions as F

    extra: Dict[str, Callable[..., Any]] = {}
    registered = getattr(plugins, "functions", None) if plugins is not None else None
    if callable(registered):  # register_template_functions: vault, consul_key, aws_secretsmanager...
        extra.update(registered())
    return F.FunctionContext(base_dir=base_dir, now=now, start_time=_START, render_template=render, extra=extra)


_START = _dt.datetime.now(_dt.timezone.utc)

#: Packer plugin names -> the Hatchway distribution that brings the same components.
PLUGIN_DISTRIBUTIONS = {"docker": "hatchway-docker", "null": "hatchway", "file": "hatchway",
                        "shell": "hatchway", "shell-local": "hatchway", "ssh": "hatchway-ssh",
                        "windows": "hatchway-winrm", "winrm": "hatchway-winrm"}


def _has_field(obj: Any, name: str) -> bool:
    return any(f.name == name for f in attrs.fields(type(obj)))


def _uses_build_values(body: Body) -> bool:
    for path, _ in references(body):
        if path[0] == "build" and len(path) > 1 and path[1] not in ("name", "type"):
            return True
    return False


def _set_error_cleanup(template: Template, prov: ProvisionerSection, run: str, loader: _Loader) -> None:
    """Store an error-cleanup-provisioner, in whichever field the model has for it."""
    for name in ("cleanup_provisioner", "error_cleanup_provisioners", "error_cleanup_provisioner"):
        if any(f.name == name for f in attrs.fields(Template)):
            current = getattr(template, name)
            if isinstance(current, list):
                current.append(prov)
            elif current is None:
                setattr(template, name, prov)
            elif current.path == prov.path:  # the same block for another run of the build
                current.only.append(run)
            else:
                loader.add("Too many error-cleanup-provisioners", "This Hatchway runs one error-cleanup-provisioner "
                           f"per template; the one at {current.path} is used.", loader.positions[prov.path][0],
                           severity="warning")
            return
    loader.add("Unsupported block type", "error-cleanup-provisioner is not supported by this Hatchway version.",
               loader.positions[prov.path][0], severity="warning")


def _where(body: Body, key: str) -> str:
    attr = body.attributes.get(key)
    return str(attr.name_range) if attr is not None else str(body.range)


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


# --- problems found by the config classes -> diagnostics ---------------------------------
def _lookup(path: str, positions: Mapping[str, Tuple[Range, Range]]) -> Tuple[Optional[Tuple[Range, Range]], bool]:
    """The positions of ``path`` or its longest known prefix; the flag says whether it was exact."""
    if path in positions:
        return positions[path], True
    cut = path
    while cut:
        i = max(cut.rfind("."), cut.rfind("["))
        if i <= 0:
            break
        cut = cut[:i]
        if cut in positions:
            return positions[cut], False
    return None, False


def problems_to_diagnostics(problems: Sequence[Any], positions: Mapping[str, Tuple[Range, Range]],
                            sections: Set[str] = frozenset()  # type: ignore[assignment]
                            ) -> List[Diagnostic]:
    out = []
    for p in problems:
        found, exact = _lookup(p.path, positions)
        key = re.split(r"[.\[]", p.path)[-1].rstrip("]") if p.path else ""
        if p.path in sections:
            key, exact = "", False
        hint = p.hint
        m = re.match(r"did you mean '(.*)'\?$", hint or "")
        hint_text = f' Did you mean "{m.group(1)}"?' if m else (f" {hint[0].upper()}{hint[1:]}" if hint else "")
        if hint_text and not hint_text.endswith((".", "?", "!", ")")):
            hint_text += "."
        subject = None
        if p.message == "unknown key":
            if not hint_text and nearest(key, ["communicator"]):
                hint_text = ' Did you mean "communicator"?'
            summary = "Unsupported argument"
            detail = f'An argument named "{key}" is not expected here.{hint_text}'
            subject = found[0] if found else None
        elif p.message == "is required":
            summary = "Missing required argument"
            detail = f'The argument "{key}" is required, but no definition was found.{hint_text}'
            subject = found[0] if found else None
        elif "is installed" in p.message:
            summary = "Unknown component type"
            detail = p.message[0].upper() + p.message[1:] + ("" if p.message.endswith(".") else ".")
            detail += hint_text
            subject = found[0] if found else None
        else:
            typed = p.message.startswith(("expected ", "item ", "key ", "must be one of"))
            summary = ("Incorrect attribute value type" if typed else "Invalid value") if exact else \
                "Invalid configuration"
            detail = (f'Inappropriate value for attribute "{key}": ' if exact and key else "") + p.message
            detail = detail[0].upper() + detail[1:] if detail else detail
            if not detail.endswith((".", "?", "!")):
                detail += "."
            detail += hint_text
            subject = (found[1] if exact else found[0]) if found else None
        out.append(Diagnostic(summary, detail, subject, p.severity, path=p.path))
    return out


# --- the entry point ---------------------------------------------------------------------
def load(path: "str | Path", plugins: Any = None, *, var_files: Sequence[str] = (), cli_vars: Sequence[str] = (),
         env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None, keep_errors: bool = False,
         warn_undeclared: bool = False) -> Loaded:
    """Load an HCL2 template file or directory; raise :class:`DiagnosticsError` with every problem."""
    path = Path(path)
    env = os.environ if env is None else env
    cwd = cwd or os.getcwd()
    is_dir = path.is_dir()
    if not is_dir and not path.exists():
        raise DiagnosticsError([Diagnostic("Failed to read file", f"The file {path} does not exist.")], str(path))
    files = template_files(path)
    if not files:
        raise DiagnosticsError([Diagnostic("No template files", f"{path} is a directory with no *.pkr.hcl or "
                                           "*.pkr.json files: give a template file, or a directory of HCL2 files.")],
                               str(path))
    root = path if is_dir else path.parent
    root_text = str(root) if str(root) else "."
    loader = _Loader(Path(root_text), plugins, env, cwd)
    loader.warn_undeclared = warn_undeclared
    bodies = loader.read(files)
    if any(d.is_error for d in loader.diags):
        raise DiagnosticsError(loader.diags, str(path))

    kinds: Dict[str, List[Block]] = {k: [] for k in TOP_BLOCKS}
    for _, body in bodies:
        for name, attr in body.attributes.items():
            loader.add("Unsupported argument", f'An argument named "{name}" is not expected here.', attr.name_range)
        for block in body.blocks:
            if block.type not in TOP_BLOCKS:
                loader.add("Unsupported block type", f'Blocks of type "{block.type}" are not expected here.'
                           f"{did_you_mean(block.type, TOP_BLOCKS)}", block.type_range)
                continue
            kinds[block.type].append(block)
    for block in kinds["packer"]:
        loader.packer_block(block)
    variables = loader.declare_variables(kinds["variable"], kinds["variables"])
    loader.assign_variables(variables, var_files, cli_vars, root if is_dir else None)
    loader.validate_variables(variables)
    var_values = {name: v.value for name, v in variables.items()}

    local_attrs: List[Tuple[Attribute, bool]] = []
    for block in kinds["locals"]:
        loader.check_body(block.body, set(block.body.attributes), set())
        local_attrs.extend((a, False) for a in block.body.attributes.values())
    for block in kinds["local"]:
        if not loader.labels_ok(block, 1):
            continue
        loader.check_body(block.body, {"expression", "sensitive"}, set())
        expr_attr = block.body.attributes.get("expression")
        if expr_attr is None:
            loader.add("Missing required argument", 'The argument "expression" is required, but no definition was '
                       "found.", block.range)
            continue
        sensitive = loader._literal_attr(block.body, "sensitive", bool, False)
        local_attrs.append((Attribute(block.labels[0], expr_attr.expr, block.range, block.label_ranges[0]),
                            sensitive))
    local_values, data_values = loader.locals_and_data(local_attrs, kinds["data"], var_values)
    ctx = loader.base_context({"var": var_values, "local": local_values, "data": data_values,
                               "path": loader.path_obj, "packer": loader.packer_obj})

    sources: Dict[Tuple[str, str], Block] = {}
    for block in kinds["source"]:
        if not loader.labels_ok(block, 2):
            continue
        key = (block.labels[0], block.labels[1])
        if key in sources:
            loader.add("Duplicate source", f"A source of type {key[0]} named {key[1]} was already defined at "
                       f"{sources[key].range}.", block.range)
            continue
        sources[key] = block
    template = Template(path=files[0] if is_dir else path)
    if not kinds["build"]:
        loader.add("Missing build block", "A build block with at least one source is required.",
                   None if not bodies else bodies[0][1].range.__class__(bodies[0][1].range.filename,
                                                                         bodies[0][1].range.start,
                                                                         bodies[0][1].range.start))
    loader.builds(template, kinds["build"], sources, ctx)
    loaded = Loaded(template, variables, local_values, loader.positions, ctx,
                    [d for d in loader.diags if not d.is_error], files, loader.pp_names,
                    getattr(loader, "sensitive_locals", set()))
    loaded.errors = [d for d in loader.diags if d.is_error]
    loaded.failed = loader.failed
    loaded.sections = {b.path for b in template.builders} | {p.path for p in template.provisioners} | {
        pp.path for chain in template.post_processors for pp in chain}
    if loaded.errors and not keep_errors:
        raise DiagnosticsError(loader.diags, str(path))
    return loaded


def check_syntax(path: "str | Path") -> None:
    """``validate -syntax-only``: parse every file; raise the syntax errors."""
    path = Path(path)
    if not path.exists():
        raise DiagnosticsError([Diagnostic("Failed to read file", f"The file {path} does not exist.")], str(path))
    loader = _Loader(path if path.is_dir() else path.parent, None, os.environ, os.getcwd())
    loader.read(template_files(path))
    if any(d.is_error for d in loader.diags):
        raise DiagnosticsError(loader.diags, str(path))


def inspect_lines(loaded: Loaded) -> List[str]:
    """The variables and locals part of ``hatchway inspect`` (Packer's layout)."""
    from ...redact import MASK
    from .printer import format_value

    lines = ["", "> input-variables:", ""]
    for name, var in sorted(loaded.variables.items()):
        shown = MASK if var.sensitive else format_value(var.value)
        lines.append(f"var.{name}: {shown}")
    lines += ["", "> local-variables:", ""]
    for name, value in sorted(loaded.locals.items()):
        shown = MASK if name in loaded.sensitive_locals else format_value(value)
        lines.append(f"local.{name}: {shown}")
    return lines


def bare_context(cwd: Optional[str] = None) -> EvalContext:
    """What ``console`` evaluates in without a template: ``path`` and ``packer``, every function."""
    cwd = cwd or os.getcwd()
    loader = _Loader(Path("."), None, os.environ, cwd)
    return loader.base_context({"var": {}, "local": {}, "data": {}, "path": loader.path_obj,
                                "packer": loader.packer_obj})

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
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import attrs

from ..model import Template
from . import values as V
from . import is_hcl_path
from .ast import Attribute, Block, Body, Expr, Range, references
from .builds import _Builds, _list_fields
from .diagnostics import Diagnostic, DiagnosticsError, did_you_mean
from .evaluate import ALL, FAILED as _ERR, NONE, EvalContext, EvalError, evaluate
from .parser import parse
from .positions import problems_to_diagnostics
from .variables import HCLVariable, _add_secrets, _Variables

__all__ = ["PACKER_VERSION", "Loaded", "HCLVariable", "load", "template_files", "is_hcl_path"]

try:  # the one constant, where the JSON front end keeps it
    from ..functions import PACKER_VERSION  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before that constant existed
    #: The Packer version Hatchway declares itself compatible with (``packer.version``, ``required_version``).
    PACKER_VERSION = "1.16.0"


TOP_BLOCKS = {"packer": 0, "variable": 1, "variables": 0, "locals": 0, "local": 1, "source": 2, "data": 2,
              "build": 0, "hcp_packer_registry": 0, "communicator": 2}
LABEL_NAMES = {"variable": "name", "local": "name", "source": "type, name", "data": "type, name",
               "communicator": "type, name"}



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
class _Loader(_Variables, _Builds):
    """Reads the files and turns them into the model; every problem is appended to ``diags``."""

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
            text = str(exc).rstrip() or type(exc).__name__
            self.add("Data source failed", f'The data source "{dtype}" "{dname}" failed: {text}'
                     + ("" if text.endswith((".", "!", "?")) else "."), block.range)
            return V.UNKNOWN

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
        from ...errors import ConfigError

        raise ConfigError(f"{path} is a directory; give a JSON file, or a directory of HCL2 templates "
                          "(this one has no *.pkr.hcl or *.pkr.json file)")
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
            legacy = name in ("builders", "provisioners", "post-processors", "sensitive-variables", "min_packer_version")
            hint = (" This looks like a legacy JSON template: give it a name ending in .json (not .pkr.json), or "
                    "convert it with hatchway hcl2_upgrade." if legacy else "")
            loader.add("Unsupported argument", f'An argument named "{name}" is not expected here.{hint}',
                       attr.name_range)
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

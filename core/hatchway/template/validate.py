"""Template model + installed plugins -> a :class:`Plan` of builds, or every problem at once.

Nothing runs before this succeeds. Each builder section is split between
the builder's config class and its communicator's; each provisioner and
post-processor section is checked against its class; template functions
are rendered per build (``{{build_name}}`` differs between builds).

Variables are resolved in dependency order (a default may use any other
variable, a cycle is one error naming it). ``{{build `Host`}}`` is only
allowed in provisioners and post-processors and is rendered late, by the
runner, once the machine is up (:attr:`StepPlan.late`). A config class may
declare the data fields its template keys get (``{{.Path}}``)::

    template_fields: ClassVar[Dict[str, Sequence[str]]] = {"execute_command": ("Path", "Vars")}

so that ``{{.Nope}}`` there is a validation error naming the key.
"""
from __future__ import annotations

import collections
import fnmatch
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import attrs

from .. import config as cfg
from .. import redact
from ..communicator import CommunicatorConfig
from ..durations import Duration
from ..errors import ConfigError, ConfigProblem, PluginError
from ..plugins import Plugins
from . import gotemplate as gt
from .functions import RenderContext, RenderError, parse_check, render
from .model import BuilderSection, LateOptions, ProvisionerSection, Template

__all__ = ["Plan", "BuildPlan", "StepPlan", "prepare", "resolve_variables", "ProvisionerCommon"]


@attrs.define(kw_only=True)
class ProvisionerCommon:
    """Keys every provisioner has, as in Packer."""

    pause_before: Duration = cfg.option(Duration(0), help="Wait this long before the provisioner runs.")
    max_retries: int = cfg.option(0, help="Retry a failing provisioner this many times.")
    timeout: Duration = cfg.option(Duration(0), help="Stop the provisioner after this long (0: no limit).")
    continue_on_error: bool = cfg.option(False, help="Report a failure of this provisioner and go on with the build.")


@attrs.define
class StepPlan:
    """A provisioner or post-processor ready to run in one build."""

    type: str
    path: str
    cls: type
    config: Any
    common: ProvisionerCommon = attrs.field(factory=ProvisionerCommon)
    keep_input_artifact: bool = False
    #: The section's options before rendering (overrides applied): re-rendered by :meth:`late_config`.
    options: Dict[str, Any] = attrs.field(factory=dict)
    #: Do the options use ``{{build ...}}`` (or has the front end set ``late_options``)?
    late: bool = False
    late_options: Optional[LateOptions] = None

    def late_config(self, ctx: RenderContext) -> Any:
        """The config with the build's values (``ctx.build_values``) in; raise :class:`ConfigError`."""
        if not self.late:
            return self.config
        problems: List[ConfigProblem] = []
        if self.late_options is not None:
            options = self.late_options(ctx.build_values or {})
        else:
            options = _render_tree(self.options, self.path, ctx, problems)
        config, found = cfg.build(self.cls.Config, options, self.path, context=ctx)
        problems.extend(p for p in found if p.is_error)
        if problems or config is None:
            raise ConfigError(problems or [ConfigProblem(self.path, "invalid")])
        return config


@attrs.define
class BuildPlan:
    name: str
    type: str
    path: str
    builder_cls: type
    builder_config: Any
    communicator_name: str
    communicator_cls: type
    communicator_config: Any
    provisioners: List[StepPlan]
    post_processors: List[List[StepPlan]]
    render_context: RenderContext
    #: ``error-cleanup-provisioner``: run when the build fails while provisioning.
    cleanup_provisioner: Optional[StepPlan] = None


@attrs.define
class Plan:
    template: Template
    builds: List[BuildPlan]
    variables: Dict[str, str]
    warnings: List[ConfigProblem]


def resolve_variables(template: Template, overrides: Mapping[str, str],
                      problems: List[ConfigProblem], env: Optional[Mapping[str, str]] = None,
                      functions: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """Every variable's value: defaults and ``-var`` values, rendered in dependency order.

    As in Packer (``packer/core.go``, ``renderVarsRecursively``): a default
    may use any variable (``{{user `a`}}``) whatever the order, including
    ones set only with ``-var``/``-var-file`` (those are usable in
    ``{{user}}`` even when the template does not declare them); values from
    the command line are rendered too. A cycle is one problem naming it.
    """
    raw: Dict[str, Optional[str]] = {name: var.default for name, var in template.variables.items()}
    for name, value in overrides.items():
        raw[name] = str(value)
    values: Dict[str, str] = {}
    context = RenderContext(variables=values, template_dir=str(template.directory),
                            env=env if env is not None else os.environ, functions=functions or {},
                            in_variables=True)
    for name, var in template.variables.items():
        if var.default is None and name not in overrides:
            problems.append(ConfigProblem(f"variables.{name}", "is required and has no value",
                                          f"set it with -var '{name}=...' or in a -var-file"))
    for name in overrides:
        hint = cfg.suggest(name, template.variables) if name not in template.variables else ""
        if hint:  # most likely a typo; an undeclared variable is otherwise fine, as in Packer
            problems.append(ConfigProblem(f"variables.{name}", "is set with -var but the template does not declare it",
                                          hint, severity="warning"))
    deps: Dict[str, List[str]] = {}
    for name, text in raw.items():
        deps[name] = []
        if text and "{{" in text:
            try:
                tree = gt.parse_template(text, context.funcs())
            except gt.TemplateError:
                continue  # reported when rendered
            deps[name] = [args[0] for args, _ in gt.parser.literal_calls(tree, "user")
                          if len(args) == 1 and args[0] in raw]
    order, in_cycles = _dependency_order(deps, problems)
    for name in order + in_cycles:
        text = raw[name]
        if text is None or name in in_cycles:
            values[name] = ""
            continue
        try:
            values[name] = render(text, context)
        except RenderError as exc:
            problems.append(ConfigProblem(f"variables.{name}", str(exc)))
            values[name] = ""
    for name, var in template.variables.items():
        if var.sensitive:
            redact.add_secret(values.get(name))
    return values


def _dependency_order(deps: Dict[str, List[str]], problems: List[ConfigProblem]) -> Tuple[List[str], List[str]]:
    """Names so that each comes after those it uses, and the names in (or behind) a cycle, reported."""
    waiting = {name: set(d) for name, d in deps.items()}
    users: Dict[str, List[str]] = {name: [] for name in deps}
    for name, d in deps.items():
        for dep in d:
            users[dep].append(name)
    ready = collections.deque(name for name in deps if not waiting[name])
    queued = set(ready)
    order: List[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for user in users[name]:
            waiting[user].discard(name)
            if not waiting[user] and user not in queued:
                queued.add(user)
                ready.append(user)
    left = [name for name in deps if name not in queued]
    reported: set = set()
    for start in left:
        if start in reported:
            continue
        path, seen = [start], {start: 0}
        node = start
        while True:
            node = next(d for d in deps[node] if d not in queued)
            if node in seen:
                cycle = path[seen[node]:] + [node]
                break
            seen[node] = len(path)
            path.append(node)
        if not reported.intersection(cycle):
            problems.append(ConfigProblem(
                f"variables.{cycle[0]}",
                "variables use each other in a cycle: " + " -> ".join(cycle),
                "give one of them a value that does not use the others"))
        reported.update(cycle)
    return order, left


def _check_strings(value: Any, path: str, ctx: RenderContext, problems: List[ConfigProblem]) -> None:
    """Report syntax errors and unknown functions in every string of ``value`` (rendered or not)."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            message = parse_check(item, ctx)
            if message:
                problems.append(ConfigProblem(where, message))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, dict):
            stack.extend((f"{where}.{k}", v) for k, v in item.items())


def _uses_build(value: Any, ctx: RenderContext) -> bool:
    """Does any string in ``value`` call ``{{build ...}}``?"""
    if isinstance(value, str):
        if "build" not in value or "{{" not in value:
            return False
        try:
            return gt.parser.calls(gt.parse_template(value, ctx.funcs()), "build")
        except gt.TemplateError:
            return False
    if isinstance(value, list):
        return any(_uses_build(v, ctx) for v in value)
    if isinstance(value, dict):
        return any(_uses_build(v, ctx) for v in value.values())
    return False


def _check_fields(cls: type, options: Mapping[str, Any], path: str, ctx: RenderContext,
                  problems: List[ConfigProblem]) -> None:
    """``{{.Field}}`` in a key whose config declares its fields (``template_fields``) must be one of them."""
    declared = getattr(cls, "template_fields", None) or {}
    for key, fields in declared.items():
        value = options.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, str) or "{{" not in item:
                continue
            try:
                tree = gt.parse_template(item, ctx.funcs())
            except gt.TemplateError:
                continue  # reported by the syntax check
            for name, _ in gt.parser.root_fields(tree):
                if name not in fields:
                    allowed = ", ".join("{{." + f + "}}" for f in fields) or "no fields"
                    problems.append(ConfigProblem(f"{path}.{key}", f"{{{{.{name}}}}} is not available here",
                                                  f"{key} can use {allowed}"))


def _render_tree(value: Any, path: str, ctx: RenderContext, problems: List[ConfigProblem]) -> Any:
    if isinstance(value, str):
        try:
            return render(value, ctx)
        except RenderError as exc:
            problems.append(ConfigProblem(path, str(exc)))
            return value
    if isinstance(value, list):
        return [_render_tree(v, f"{path}[{i}]", ctx, problems) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _render_tree(v, f"{path}.{k}", ctx, problems) for k, v in value.items()}
    return value


def _select(names: Sequence[str], only: Sequence[str], except_: Sequence[str],
            problems: List[ConfigProblem]) -> List[str]:
    for flag, patterns in (("-only", only), ("-except", except_)):
        for pattern in patterns:
            if not fnmatch.filter(names, pattern):
                problems.append(ConfigProblem(flag, f"{pattern!r} matches no build",
                                              cfg.suggest(pattern, names) or f"builds: {', '.join(names)}"))
    chosen = [n for n in names if not only or any(fnmatch.fnmatchcase(n, p) for p in only)]
    return [n for n in chosen if not any(fnmatch.fnmatchcase(n, p) for p in except_)]


def _communicator_keys(plugins: Plugins) -> Dict[str, str]:
    """key -> communicator name, for every installed communicator's own keys."""
    base = set(cfg.keys_of(CommunicatorConfig))
    out: Dict[str, str] = {}
    for name in plugins.names("communicator"):
        reg = plugins.find("communicator", name)
        if reg is None:
            continue
        for key in cfg.keys_of(reg.cls.Config):
            if key not in base:
                out.setdefault(key, name)
    return out


def prepare(
    template: Template,
    plugins: Plugins,
    *,
    variables: Mapping[str, str] = {},
    only: Sequence[str] = (),
    except_: Sequence[str] = (),
    env: Optional[Mapping[str, str]] = None,
) -> Plan:
    """Check everything and return the plan; raise :class:`ConfigError` listing every problem."""
    problems: List[ConfigProblem] = list(template.problems) + list(check_override_names(template))
    problems.extend(_check_min_version(template.min_version))
    functions = plugins.functions() if hasattr(plugins, "functions") else {}
    values = resolve_variables(template, variables, problems, env, functions)
    selected = set(_select(template.build_names(), only, except_, problems))
    comm_keys = _communicator_keys(plugins)
    builds: List[BuildPlan] = []
    for section in template.builders:
        plan = _plan_build(template, section, plugins, values, comm_keys, problems, env, functions)
        if plan is not None and section.name in selected:
            builds.append(plan)
    # every string is checked for syntax and unknown functions, also where nothing renders it
    base = RenderContext(variables=values, template_dir=str(template.directory), functions=functions)
    for section in template.builders:
        _check_strings(section.options, section.path, base, problems)
    cleanup = [template.cleanup_provisioner] if template.cleanup_provisioner is not None else []
    for prov in template.provisioners + cleanup:
        _check_strings(prov.options, prov.path, base, problems)
        for name, keys in prov.override.items():
            _check_strings(keys, prov.path, base, problems)
        # provisioner types are checked even when no build uses them
        if plugins.find("provisioner", prov.type) is None:
            _missing(plugins, "provisioner", prov.type, f"{prov.path}.type", problems)
    for chain in template.post_processors:
        for pp in chain:
            _check_strings(pp.options, pp.path, base, problems)
    unique: List[ConfigProblem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    errors = [p for p in unique if p.is_error]
    if errors:
        raise ConfigError(unique, source=str(template.path))
    if not builds:
        raise ConfigError("no builds to run: -only/-except excluded every build", source=str(template.path))
    return Plan(template, builds, values, [p for p in unique if not p.is_error])


def _check_min_version(wanted: str) -> List[ConfigProblem]:
    """``min_packer_version`` against :data:`~.functions.PACKER_VERSION` (packer/core.go ``Validate``)."""
    from .functions import PACKER_VERSION

    if not wanted:
        return []
    parts = wanted.strip().lstrip("v").split("-")[0].split(".")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return [ConfigProblem("min_packer_version", f"min_version is invalid: {wanted!r}", 'e.g. "1.7.0"')]
    have = tuple(int(p) for p in PACKER_VERSION.split("."))
    need = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
    if need > have:
        return [ConfigProblem("min_packer_version", f"this template requires Packer version {wanted} or higher; "
                              f"Hatchway is compatible with Packer {PACKER_VERSION}")]
    return []


def _missing(plugins: Plugins, kind: str, name: str, path: str, problems: List[ConfigProblem]) -> None:
    try:
        plugins.get(kind, name)
    except PluginError as exc:
        hint = cfg.suggest(name, plugins.names(kind))
        if hint and (kind, name) not in plugins.conflicts:
            problems.append(ConfigProblem(path, f"no {kind} named {name!r} is installed", hint))
        else:
            problems.append(ConfigProblem(path, str(exc)))


def _plan_build(template: Template, section: BuilderSection, plugins: Plugins, values: Dict[str, str],
                comm_keys: Dict[str, str], problems: List[ConfigProblem],
                env: Optional[Mapping[str, str]], functions: Mapping[str, Any]) -> Optional[BuildPlan]:
    ctx = RenderContext(variables=values, template_dir=str(template.directory),
                        build_name=section.packer_build_name or section.name,
                        build_type=section.type, env=env if env is not None else os.environ,
                        functions=functions)
    builder_reg = plugins.find("builder", section.type)
    if builder_reg is None:
        _missing(plugins, "builder", section.type, f"{section.path}.type", problems)
        return None
    comm_name = section.communicator or builder_reg.cls.default_communicator
    if section.communicator and "{{" in comm_name:  # "{{user `communicator`}}": rendered first, as in Packer
        comm_name = _render_tree(comm_name, f"{section.path}.communicator", ctx, problems) or \
            builder_reg.cls.default_communicator
    comm_reg = plugins.find("communicator", comm_name)
    if comm_reg is None:
        _missing(plugins, "communicator", comm_name, f"{section.path}.communicator", problems)
        return None
    # Packer: the build function's values do not exist yet while a builder is configured
    options = _render_tree(section.options, section.path, attrs.evolve(ctx, allow_build=False), problems)
    builder_keys = set(cfg.keys_of(builder_reg.cls.Config))
    own_comm_keys = set(cfg.keys_of(comm_reg.cls.Config))
    others = {k: v for k, v in comm_keys.items() if k not in own_comm_keys}
    builder_config, found = cfg.build(builder_reg.cls.Config, options, section.path,
                                      ignore=set(options) - builder_keys, context=ctx)
    problems.extend(found)
    _check_fields(builder_reg.cls.Config, section.options, section.path, ctx, problems)
    comm_config, found = cfg.build(comm_reg.cls.Config, options, section.path,
                                   ignore=builder_keys, others=others, context=ctx)
    problems.extend(found)

    steps: List[StepPlan] = []
    for prov in template.provisioners:
        if not prov.applies_to(section.name):
            continue
        step = _plan_provisioner(prov, section, plugins, ctx, comm_reg.cls, comm_name, problems)
        if step is not None:
            steps.append(step)
    cleanup = None
    if template.cleanup_provisioner is not None:  # Packer runs it for every build (no only/except)
        cleanup = _plan_provisioner(template.cleanup_provisioner, section, plugins, ctx, comm_reg.cls, comm_name,
                                    problems)
    chains: List[List[StepPlan]] = []
    for chain in template.post_processors:
        planned = []
        for pp in chain:
            if not pp.applies_to(section.name):
                continue
            reg = plugins.find("post-processor", pp.type)
            if reg is None:
                _missing(plugins, "post-processor", pp.type, f"{pp.path}.type", problems)
                continue
            rendered = _render_tree(pp.options, pp.path, ctx, problems)
            conf, found = cfg.build(reg.cls.Config, rendered, pp.path, context=ctx)
            problems.extend(found)
            _check_fields(reg.cls.Config, pp.options, pp.path, ctx, problems)
            if conf is not None:
                planned.append(StepPlan(pp.type, pp.path, reg.cls, conf, keep_input_artifact=pp.keep_input_artifact,
                                        options=dict(pp.options),
                                        late=pp.late_options is not None or _uses_build(pp.options, ctx),
                                        late_options=pp.late_options))
        if planned:
            chains.append(planned)
    if builder_config is None or comm_config is None:
        return None
    return BuildPlan(section.name, section.type, section.path, builder_reg.cls, builder_config,
                     comm_name, comm_reg.cls, comm_config, steps, chains, ctx, cleanup)


def _plan_provisioner(prov: ProvisionerSection, build: BuilderSection, plugins: Plugins, ctx: RenderContext,
                      comm_cls: type, comm_name: str, problems: List[ConfigProblem]) -> Optional[StepPlan]:
    reg = plugins.find("provisioner", prov.type)
    if reg is None:
        return None  # reported once by prepare()
    options = dict(prov.options)
    for key, value in prov.override.get(build.name, {}).items():
        options[key] = value
    rendered = _render_tree(options, prov.path, ctx, problems)
    conf, found = cfg.build(reg.cls.Config, rendered, prov.path, context=ctx)
    problems.extend(found)
    _check_fields(reg.cls.Config, options, prov.path, ctx, problems)
    common_raw = {k: v for k, v in (("pause_before", prov.pause_before), ("max_retries", prov.max_retries),
                                    ("timeout", prov.timeout), ("continue_on_error", prov.continue_on_error))
                  if v is not None}
    common, found = cfg.build(ProvisionerCommon, _render_tree(common_raw, prov.path, ctx, problems), prov.path)
    problems.extend(found)
    if reg.cls.needs_communicator and not getattr(comm_cls, "connects", True):
        problems.append(ConfigProblem(
            prov.path,
            f"the {prov.type!r} provisioner needs a communicator, but build {build.name!r} "
            f"uses communicator {comm_name!r}, which cannot reach the machine",
            f"set \"communicator\" in {build.path}, or add \"except\": [\"{build.name}\"] to this provisioner",
        ))
        return None
    if conf is None or common is None:
        return None
    return StepPlan(prov.type, prov.path, reg.cls, conf, common, options=options,
                    late=prov.late_options is not None or _uses_build(options, ctx), late_options=prov.late_options)


def check_override_names(template: Template) -> Iterable[ConfigProblem]:
    """Overrides naming builds that do not exist (a typo would silently do nothing)."""
    names = template.build_names()
    for prov in template.provisioners:
        for name in prov.override:
            if name not in names:
                yield ConfigProblem(f"{prov.path}.override.{name}", "names no build",
                                    cfg.suggest(name, names) or f"builds: {', '.join(names)}")
        for key, listed in (("only", prov.only), ("except", prov.except_)):
            for name in listed:
                if name not in names:
                    yield ConfigProblem(f"{prov.path}.{key}", f"names no build {name!r}",
                                        cfg.suggest(name, names) or f"builds: {', '.join(names)}")

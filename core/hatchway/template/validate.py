"""Template model + installed plugins -> a :class:`Plan` of builds, or every problem at once.

Nothing runs before this succeeds. Each builder section is split between
the builder's config class and its communicator's; each provisioner and
post-processor section is checked against its class; template functions
are rendered per build (``{{build_name}}`` differs between builds).
"""
from __future__ import annotations

import fnmatch
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import attrs

from .. import config as cfg
from .. import redact
from ..communicator import CommunicatorConfig
from ..durations import Duration
from ..errors import ConfigError, ConfigProblem, PluginError
from ..plugins import Plugins
from .functions import RenderContext, RenderError, render
from .model import BuilderSection, ProvisionerSection, Template

__all__ = ["Plan", "BuildPlan", "StepPlan", "prepare", "resolve_variables", "ProvisionerCommon"]


@attrs.define(kw_only=True)
class ProvisionerCommon:
    """Keys every provisioner has, as in Packer."""

    pause_before: Duration = cfg.option(Duration(0), help="Wait this long before the provisioner runs.")
    max_retries: int = cfg.option(0, help="Retry a failing provisioner this many times.")
    timeout: Duration = cfg.option(Duration(0), help="Stop the provisioner after this long (0: no limit).")


@attrs.define
class StepPlan:
    """A provisioner or post-processor ready to run in one build."""

    type: str
    path: str
    cls: type
    config: Any
    common: ProvisionerCommon = attrs.field(factory=ProvisionerCommon)
    keep_input_artifact: bool = False


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


@attrs.define
class Plan:
    template: Template
    builds: List[BuildPlan]
    variables: Dict[str, str]
    warnings: List[ConfigProblem]


def resolve_variables(template: Template, overrides: Mapping[str, str],
                      problems: List[ConfigProblem], env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Defaults (rendered in order; ``{{env}}`` and earlier variables allowed), then overrides."""
    values: Dict[str, str] = {}
    context = RenderContext(variables=values, template_dir=str(template.directory),
                            env=env if env is not None else os.environ)
    for name, var in template.variables.items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif var.default is not None:
            try:
                values[name] = render(var.default, context)
            except RenderError as exc:
                problems.append(ConfigProblem(f"variables.{name}", str(exc)))
                values[name] = ""
        else:
            values[name] = ""
            problems.append(ConfigProblem(f"variables.{name}", "is required and has no value",
                                          f"set it with -var '{name}=...' or in a -var-file"))
    for name in overrides:
        if name not in template.variables:
            problems.append(ConfigProblem(f"variables.{name}", "is set with -var but the template does not declare it",
                                          cfg.suggest(name, template.variables) or "declare it in \"variables\"",
                                          severity="warning"))
    for name, var in template.variables.items():
        if var.sensitive:
            redact.add_secret(values.get(name))
    return values


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
    problems: List[ConfigProblem] = list(check_override_names(template))
    values = resolve_variables(template, variables, problems, env)
    selected = set(_select(template.build_names(), only, except_, problems))
    comm_keys = _communicator_keys(plugins)
    builds: List[BuildPlan] = []
    for section in template.builders:
        plan = _plan_build(template, section, plugins, values, comm_keys, problems, env)
        if plan is not None and section.name in selected:
            builds.append(plan)
    # post-processor and provisioner types are checked even when no build uses them
    for prov in template.provisioners:
        if plugins.find("provisioner", prov.type) is None:
            _missing(plugins, "provisioner", prov.type, f"{prov.path}.type", problems)
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
                env: Optional[Mapping[str, str]]) -> Optional[BuildPlan]:
    ctx = RenderContext(variables=values, template_dir=str(template.directory), build_name=section.name,
                        build_type=section.type, env=env if env is not None else os.environ)
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
    options = _render_tree(section.options, section.path, ctx, problems)
    builder_keys = set(cfg.keys_of(builder_reg.cls.Config))
    own_comm_keys = set(cfg.keys_of(comm_reg.cls.Config))
    others = {k: v for k, v in comm_keys.items() if k not in own_comm_keys}
    builder_config, found = cfg.build(builder_reg.cls.Config, options, section.path,
                                      ignore=set(options) - builder_keys, context=ctx)
    problems.extend(found)
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
            if conf is not None:
                planned.append(StepPlan(pp.type, pp.path, reg.cls, conf, keep_input_artifact=pp.keep_input_artifact))
        if planned:
            chains.append(planned)
    if builder_config is None or comm_config is None:
        return None
    return BuildPlan(section.name, section.type, section.path, builder_reg.cls, builder_config,
                     comm_name, comm_reg.cls, comm_config, steps, chains, ctx)


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
    common_raw = {k: v for k, v in (("pause_before", prov.pause_before), ("max_retries", prov.max_retries),
                                    ("timeout", prov.timeout)) if v is not None}
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
    return StepPlan(prov.type, prov.path, reg.cls, conf, common)


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

"""Plugin discovery and the registries of communicators, builders, provisioners (internal).

Plugins are the modules named in the entry-point group ``hatchway``. They
are loaded as pluggy's ``load_setuptools_entrypoints("hatchway")`` does,
one by one, so that a broken plugin (import error, bad hookimpl, a bad
class) is reported by name and the others still work. Mistakes are loud:

- a hookimpl whose name matches no hookspec (``register_communicator``) makes
  its plugin broken, with a did-you-mean (pluggy's ``check_pending``, per plugin);
- a registered class whose hook methods take arguments the contract does not
  pass is refused, naming the class, the method and the expected signature.

Environment: ``HATCHWAY_LOAD_PLUGINS=a,b`` loads only those installed plugins
(entry-point or distribution names; empty: none but the built-ins), as
``LLM_LOAD_PLUGINS`` does; ``HATCHWAY_TRACE_PLUGINS=1`` logs every hook call,
with its plugins and timing, to the debug log.
"""
from __future__ import annotations

import difflib
import importlib.metadata as metadata
import inspect
import logging
import os
import re
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = ["KINDS", "Registration", "BrokenPlugin", "Plugins", "get_plugins", "install_hint",
           "signature_problems", "trace_hook_calls", "tracing"]

log = logging.getLogger("hatchway.plugins")
trace_log = logging.getLogger("hatchway.plugins.trace")

ENTRY_POINT_GROUP = "hatchway"
LOAD_ENV = "HATCHWAY_LOAD_PLUGINS"
TRACE_ENV = "HATCHWAY_TRACE_PLUGINS"

#: kind -> registration hook name
KINDS = {
    "communicator": "register_communicators",
    "builder": "register_builders",
    "provisioner": "register_provisioners",
    "post-processor": "register_post_processors",
    "data-source": "register_data_sources",
}

#: Where the communicators, builders... users ask for most come from.
KNOWN_DISTRIBUTIONS = {
    ("communicator", "ssh"): "hatchway-ssh",
    ("communicator", "winrm"): "hatchway-winrm",
    ("communicator", "docker"): "hatchway-docker",
    ("communicator", "none"): "hatchway-none",
    ("communicator", "local"): "hatchway-local",
    ("builder", "docker"): "hatchway-docker",
    ("post-processor", "docker-tag"): "hatchway-docker",
    ("post-processor", "docker-save"): "hatchway-docker",
    ("provisioner", "powershell"): "hatchway-winrm",
    ("provisioner", "windows-shell"): "hatchway-winrm",
    ("provisioner", "windows-restart"): "hatchway-winrm",
}


def install_hint(kind: str, name: str) -> str:
    """The command that brings a missing component, e.g. ``pip install hatchway-ssh``."""
    dist = KNOWN_DISTRIBUTIONS.get((kind, name), f"hatchway-{name}")
    return f"install it with: hatchway plugins install {dist}  (or: pip install {dist})"


@attrs.define(frozen=True)
class Registration:
    """One registered class and the plugin it came from."""

    kind: str
    name: str
    cls: type
    plugin: str
    distribution: str
    version: str


@attrs.define(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded or registered something invalid."""

    plugin: str
    distribution: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.distribution}) is broken: {self.error}"


def _is_attrs_class(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls)


# -- hook names and signatures ------------------------------------------------
def _spec_names(*classes: type) -> List[str]:
    return sorted(name for cls in classes for name in vars(cls)
                  if getattr(getattr(cls, name), "hatchway_spec", None) is not None)


def _required_args(fn: Any) -> Optional[List[str]]:
    """The names a call must pass to ``fn`` (a method: ``self`` left out); ``None`` if it takes ``*args``/``**kw``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if params and params[0].name in ("self", "cls") and inspect.isfunction(fn):
        params = params[1:]
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return [p.name for p in params if p.default is p.empty and p.kind is not p.KEYWORD_ONLY]


def _method_specs(kind: str) -> Dict[str, Tuple[List[str], bool]]:
    """method name -> (the arguments the core passes, called by keyword?) for classes of ``kind``."""
    from .components import Builder, PostProcessor, Provisioner

    if kind == "communicator":
        return {name: (_required_args(getattr(hookspecs.CommunicatorSpecs, name)) or [], True)
                for name in _spec_names(hookspecs.CommunicatorSpecs)}
    if kind == "data-source":  # HCL2 data sources: execute(self) -> the object the template reads
        return {"execute": ([], False)}
    base, methods = {"builder": (Builder, ("run", "artifact", "cleanup", "describe")),
                     "provisioner": (Provisioner, ("provision",)),
                     "post-processor": (PostProcessor, ("process",))}[kind]
    return {name: (_required_args(getattr(base, name)) or [], False) for name in methods}


def signature_problems(kind: str, cls: type) -> List[str]:
    """Why the hook methods of ``cls`` (a ``kind`` class) cannot be called as the contract calls them.

    Communicator hooks are called by keyword (pluggy): a method may take any
    subset of the hook's arguments. Builder, provisioner and post-processor
    methods are called positionally: their arguments are exactly the base
    class's (extra ones need defaults).
    """
    problems = []
    for name, (expected, by_keyword) in _method_specs(kind).items():
        fn = getattr(cls, name, None)
        if fn is None or not callable(fn):
            continue
        got = _required_args(fn)
        if got is None:
            continue
        wanted = f"{name}({', '.join(['self'] + expected)})"
        if by_keyword:
            unknown = [a for a in got if a not in expected]
            if unknown:
                problems.append(f"method {name}({', '.join(['self'] + got)}) takes {', '.join(map(repr, unknown))}, "
                                f"which the hook does not pass; expected {wanted} or a subset of its arguments")
        elif got != expected:
            problems.append(f"method {name}({', '.join(['self'] + got)}) does not match {wanted}")
    return problems


def _unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> List[str]:
    """pluggy's ``check_pending`` for one plugin: its hookimpls that match no hookspec, with a did-you-mean."""
    known = _spec_names(hookspecs.RegistrationSpecs)
    relay_hooks = _spec_names(hookspecs.CommunicatorSpecs)
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        if all(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin):
            continue
        if caller.name in relay_hooks:
            problems.append(f"{caller.name!r} is a communicator hook: implement it as a method of your "
                            "hatchway.Communicator subclass, not as a module-level hookimpl")
            continue
        close = difflib.get_close_matches(caller.name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; the hooks are: {', '.join(known)}"
        problems.append(f"hookimpl {caller.name!r} matches no Hatchway hook{hint}")
    return problems


def _observer_problems(factory: Any) -> List[str]:
    """An observer class's hookimpls that match no communicator hook (a factory function cannot be checked)."""
    if not isinstance(factory, type):
        return []
    hooks = _spec_names(hookspecs.CommunicatorSpecs)
    problems = []
    for name in sorted(dir(factory)):
        if name.startswith("_") or getattr(getattr(factory, name, None), "hatchway_impl", None) is None:
            continue
        if name not in hooks:
            close = difflib.get_close_matches(name, hooks, n=1, cutoff=0.6)
            problems.append(f"hookimpl {name!r} matches no communicator hook"
                            + (f"; did you mean {close[0]!r}?" if close else f"; the hooks are: {', '.join(hooks)}"))
    return problems


# -- tracing ----------------------------------------------------------------
def tracing(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Is ``HATCHWAY_TRACE_PLUGINS`` set (to anything but empty or ``0``)?"""
    env = os.environ if environ is None else environ
    return env.get(TRACE_ENV, "") not in ("", "0")


def trace_hook_calls(pm: pluggy.PluginManager) -> None:
    """Log every hook call of ``pm``: the plugins it reaches, then its outcome and duration."""
    local = threading.local()

    def before(hook_name: str, impls: List[Any], kwargs: Dict[str, Any]) -> None:
        local.__dict__.setdefault("starts", []).append(time.perf_counter())
        trace_log.debug("hook %s -> %s", hook_name, ", ".join(i.plugin_name for i in reversed(impls)) or "(none)")

    def after(outcome: Any, hook_name: str, impls: List[Any], kwargs: Dict[str, Any]) -> None:
        took = time.perf_counter() - local.starts.pop()
        error = outcome.exception
        trace_log.debug("hook %s <- %s in %.6fs%s", hook_name,
                        ", ".join(i.plugin_name for i in reversed(impls)) or "(none)", took,
                        f" (raised {type(error).__name__})" if error is not None else "")

    pm.add_hookcall_monitoring(before, after)


def _wanted(environ: Mapping[str, str]) -> Optional[Set[str]]:
    """The names in ``HATCHWAY_LOAD_PLUGINS`` (normalized), or ``None`` when it is not set."""
    value = environ.get(LOAD_ENV)
    if value is None:
        return None
    return {_normalize(name) for name in value.split(",") if name.strip()}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


class Plugins:
    """The global plugin manager and what the plugins registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("hatchway")
        self.pm.add_hookspecs(hookspecs.RegistrationSpecs)
        self.registry: Dict[str, Dict[str, Registration]] = {kind: {} for kind in KINDS}
        self.conflicts: Dict[Tuple[str, str], List[Registration]] = {}
        self.broken: List[BrokenPlugin] = []
        self.observers: List[Tuple[str, Callable[[str], Any]]] = []
        #: Template functions from ``register_template_functions``: name -> (plugin, function).
        self.template_functions: Dict[str, Tuple[str, Callable[..., str]]] = {}
        self.unknown_wanted: List[str] = []  # names in HATCHWAY_LOAD_PLUGINS that are not installed
        self.wanted: Optional[Set[str]] = None  # HATCHWAY_LOAD_PLUGINS, when set
        self._origin: Dict[str, Tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._tracing = tracing()
        if self._tracing:
            trace_hook_calls(self.pm)

    # -- loading ---------------------------------------------------------
    def load(self, entry_points: bool = True, extra: Iterable[Tuple[str, Any]] = (),
             environ: Optional[Mapping[str, str]] = None) -> "Plugins":
        """Register the built-ins, ``extra`` (name, module) pairs and the entry points, then collect.

        With ``HATCHWAY_LOAD_PLUGINS`` set in ``environ`` (default: the
        process environment), only the entry points it names are loaded.
        """
        from . import builtin

        self.add("builtin", builtin, "hatchway", _version("hatchway"))
        for name, module in extra:
            self.add(name, module, name, "")
        if entry_points:
            self.wanted = _wanted(os.environ if environ is None else environ)
            self._load_entry_points(self.wanted)
        self._collect()
        return self

    def add(self, name: str, module: Any, distribution: str, version: str) -> bool:
        try:
            self.pm.register(module, name=name)
        except Exception as exc:  # pluggy's PluginValidationError, ValueError for duplicates
            self.broken.append(BrokenPlugin(name, distribution, _one_line(exc)))
            return False
        unknown = _unknown_hooks(self.pm, module)
        if unknown:
            self.pm.unregister(module, name=name)
            self.broken.append(BrokenPlugin(name, distribution, "; ".join(unknown)))
            return False
        self._origin[name] = (distribution, version)
        return True

    def _load_entry_points(self, wanted: Optional[Set[str]] = None) -> None:
        seen = set()
        found: Set[str] = set()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen or self.pm.get_plugin(ep.name) is not None:
                continue
            seen.add(ep.name)
            dist = ep.dist.metadata["Name"] if ep.dist else "?"
            version = ep.dist.version if ep.dist else ""
            if wanted is not None:
                names = {_normalize(ep.name), _normalize(dist)} & wanted
                if not names:
                    log.debug("plugin %s (%s) not loaded: not named in %s", ep.name, dist, LOAD_ENV)
                    continue
                found |= names
            try:
                module = ep.load()
            except Exception as exc:
                log.debug("plugin %s failed to load", ep.name, exc_info=True)
                self.broken.append(BrokenPlugin(ep.name, dist, f"cannot be imported: {_one_line(exc)}"))
                continue
            self.add(ep.name, module, dist, version)
        if wanted is not None:
            self.unknown_wanted = sorted(wanted - found)

    def _collect(self) -> None:
        for kind, hook_name in KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in reversed(caller.get_hookimpls()):
                self._call_register(impl, kind)
        for impl in self.pm.hook.register_observers.get_hookimpls():
            def register(factory: Callable[[str], Any], _plugin: str = impl.plugin_name) -> None:
                problems = _observer_problems(factory)
                if problems:
                    raise PluginError(f"observer {getattr(factory, '__name__', factory)!r} is refused: "
                                      + "; ".join(problems))
                self.observers.append((_plugin, factory))
            self._safe_call(impl, register)
        for impl in reversed(self.pm.hook.register_template_functions.get_hookimpls()):
            self._safe_call(impl, self._function_registrar(impl.plugin_name))

    def _function_registrar(self, plugin: str) -> Callable[..., None]:
        from .template.functions import FUNCTION_NAMES

        def register(name: str, function: Callable[..., str]) -> None:
            if not isinstance(name, str) or not name.isidentifier() or not callable(function):
                raise PluginError(f"register_template_functions: register(name, function) needs an identifier "
                                  f"and a callable, got {name!r}")
            if name in FUNCTION_NAMES:
                raise PluginError(f"template function {name!r} is built in and cannot be replaced")
            existing = self.template_functions.get(name)
            if existing is not None and existing[1] is not function:
                raise PluginError(f"template function {name!r} is registered by both plugin {existing[0]!r} "
                                  f"and plugin {plugin!r}")
            self.template_functions[name] = (plugin, function)

        return register

    def functions(self) -> Dict[str, Callable[..., str]]:
        """The template functions plugins registered: name -> function."""
        return {name: fn for name, (_, fn) in self.template_functions.items()}

    def _call_register(self, impl: Any, kind: str) -> None:
        distribution, version = self._origin.get(impl.plugin_name, ("?", ""))

        def register(cls: type) -> None:
            name = getattr(cls, "name", "")
            if not isinstance(name, str) or not name:
                raise PluginError(f"{kind} class {getattr(cls, '__name__', cls)!r} has no 'name'")
            if not _is_attrs_class(getattr(cls, "Config", None)):
                raise PluginError(f"{kind} {name!r}: 'Config' must be an attrs class")
            problems = signature_problems(kind, cls)
            if problems:
                raise PluginError(f"{kind} class {cls.__name__!r} is refused: " + "; ".join(problems))
            reg = Registration(kind, name, cls, impl.plugin_name, distribution, version)
            existing = self.registry[kind].get(name)
            if existing is not None and existing.cls is not cls:
                self.conflicts.setdefault((kind, name), [existing]).append(reg)
                return
            self.registry[kind][name] = reg

        self._safe_call(impl, register)

    def _safe_call(self, impl: Any, register: Callable[[Any], None]) -> None:
        start, failed = time.perf_counter(), ""
        try:
            impl.function(*[register for _ in impl.argnames])
        except Exception as exc:
            failed = f" (raised {type(exc).__name__})"
            distribution, _ = self._origin.get(impl.plugin_name, ("?", ""))
            log.debug("plugin %s failed in %s", impl.plugin_name, impl.function.__name__, exc_info=True)
            self.broken.append(BrokenPlugin(impl.plugin_name, distribution, _one_line(exc)))
        if self._tracing:
            trace_log.debug("hook %s -> %s in %.6fs%s", impl.function.__name__, impl.plugin_name,
                            time.perf_counter() - start, failed)

    # -- lookup ----------------------------------------------------------
    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; :class:`PluginError` if missing or registered twice."""
        if (kind, name) in self.conflicts:
            raise PluginError(conflict_message(kind, name, self.conflicts[(kind, name)]))
        try:
            return self.registry[kind][name]
        except KeyError:
            if self.wanted is not None:
                raise PluginError(f"no {kind} named {name!r} is loaded: {LOAD_ENV} is set, and only the plugins it "
                                  f"names are loaded (add the one that brings {name!r}, or unset it)") from None
            raise PluginError(f"no {kind} named {name!r} is installed; {install_hint(kind, name)}") from None

    def find(self, kind: str, name: str) -> Optional[Registration]:
        if (kind, name) in self.conflicts:
            return None
        return self.registry[kind].get(name)

    def names(self, kind: str) -> List[str]:
        return sorted(self.registry[kind])

    def plugin_table(self) -> List[Dict[str, Any]]:
        """One row per loaded plugin: name, distribution, version, what it registers."""
        rows: Dict[str, Dict[str, Any]] = {}
        for name, (dist, version) in self._origin.items():
            rows[name] = {"name": name, "distribution": dist, "version": version,
                          **{kind: [] for kind in KINDS}, "template-function": []}
        for kind, regs in self.registry.items():
            for reg in regs.values():
                rows[reg.plugin][kind].append(reg.name)
        for function, (plugin, _) in self.template_functions.items():
            if plugin in rows:
                rows[plugin]["template-function"].append(function)
        return sorted(rows.values(), key=lambda r: (r["name"] != "builtin", r["name"]))

    def problems(self) -> List[str]:
        out = [str(b) for b in self.broken]
        out += [conflict_message(k, n, regs) for (k, n), regs in self.conflicts.items()]
        if self.unknown_wanted:
            installed = sorted(self._origin)
            out.append(f"{LOAD_ENV} names {', '.join(map(repr, self.unknown_wanted))}, which "
                       f"{'is' if len(self.unknown_wanted) == 1 else 'are'} not installed; loaded: {', '.join(installed)}")
        return out


def conflict_message(kind: str, name: str, regs: List[Registration]) -> str:
    regs = sorted(regs, key=lambda r: (r.distribution, r.plugin))
    who = " and ".join(f"{r.distribution} (plugin {r.plugin!r})" for r in regs)
    return (f"the {kind} {name!r} is registered by both {who}; "
            f"uninstall one of them (pip uninstall {regs[-1].distribution})")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"


_plugins: Optional[Plugins] = None
_lock = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide :class:`Plugins`, loaded on first use."""
    global _plugins
    with _lock:
        if _plugins is None:
            _plugins = Plugins().load()
        return _plugins


def reset() -> None:
    """Forget the loaded plugins (tests)."""
    global _plugins
    with _lock:
        _plugins = None

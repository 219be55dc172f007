"""Plugin discovery and the registries of communicators, builders, provisioners.

Plugins are the modules named in the entry-point group ``hatchway``. They
are loaded as pluggy's ``load_setuptools_entrypoints("hatchway")`` does,
one by one, so that a broken plugin (import error, bad hookimpl, a bad
class) is reported by name and the others still work.
"""
from __future__ import annotations

import importlib.metadata as metadata
import logging
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = ["KINDS", "Registration", "BrokenPlugin", "Plugins", "get_plugins", "install_hint"]

log = logging.getLogger("hatchway.plugins")

ENTRY_POINT_GROUP = "hatchway"

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
        self._origin: Dict[str, Tuple[str, str]] = {}  # plugin name -> (distribution, version)

    # -- loading ---------------------------------------------------------
    def load(self, entry_points: bool = True, extra: Iterable[Tuple[str, Any]] = ()) -> "Plugins":
        """Register the built-ins, ``extra`` (name, module) pairs and the entry points, then collect."""
        from . import builtin

        self.add("builtin", builtin, "hatchway", _version("hatchway"))
        for name, module in extra:
            self.add(name, module, name, "")
        if entry_points:
            self._load_entry_points()
        self._collect()
        return self

    def add(self, name: str, module: Any, distribution: str, version: str) -> bool:
        try:
            self.pm.register(module, name=name)
        except Exception as exc:  # pluggy's PluginValidationError, ValueError for duplicates
            self.broken.append(BrokenPlugin(name, distribution, _one_line(exc)))
            return False
        self._origin[name] = (distribution, version)
        return True

    def _load_entry_points(self) -> None:
        seen = set()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen or self.pm.get_plugin(ep.name) is not None:
                continue
            seen.add(ep.name)
            dist = ep.dist.metadata["Name"] if ep.dist else "?"
            version = ep.dist.version if ep.dist else ""
            try:
                module = ep.load()
            except Exception as exc:
                log.debug("plugin %s failed to load", ep.name, exc_info=True)
                self.broken.append(BrokenPlugin(ep.name, dist, f"cannot be imported: {_one_line(exc)}"))
                continue
            self.add(ep.name, module, dist, version)

    def _collect(self) -> None:
        for kind, hook_name in KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in reversed(caller.get_hookimpls()):
                self._call_register(impl, kind)
        for impl in self.pm.hook.register_observers.get_hookimpls():
            def register(factory: Callable[[str], Any], _plugin: str = impl.plugin_name) -> None:
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
            reg = Registration(kind, name, cls, impl.plugin_name, distribution, version)
            existing = self.registry[kind].get(name)
            if existing is not None and existing.cls is not cls:
                self.conflicts.setdefault((kind, name), [existing]).append(reg)
                return
            self.registry[kind][name] = reg

        self._safe_call(impl, register)

    def _safe_call(self, impl: Any, register: Callable[[Any], None]) -> None:
        try:
            impl.function(*[register for _ in impl.argnames])
        except Exception as exc:
            distribution, _ = self._origin.get(impl.plugin_name, ("?", ""))
            log.debug("plugin %s failed in %s", impl.plugin_name, impl.function.__name__, exc_info=True)
            self.broken.append(BrokenPlugin(impl.plugin_name, distribution, _one_line(exc)))

    # -- lookup ----------------------------------------------------------
    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; :class:`PluginError` if missing or registered twice."""
        if (kind, name) in self.conflicts:
            raise PluginError(conflict_message(kind, name, self.conflicts[(kind, name)]))
        try:
            return self.registry[kind][name]
        except KeyError:
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

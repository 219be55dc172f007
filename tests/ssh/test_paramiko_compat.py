"""The canary for paramiko's private internals, and the plugin's own structure.

hatchway-ssh uses a few paramiko internals (see hatchway_ssh/_paramiko_compat.py): they live in that one
module, paramiko is pinned to the releases they were checked against, and these tests fail with a message
naming what changed when a paramiko release moves one. The plugin's modules import each other without cycles.
"""
from __future__ import annotations

import ast
import configparser
import gc
from pathlib import Path
from typing import Dict, List, Set

import paramiko
from packaging.requirements import Requirement

import hatchway_ssh
from hatchway_ssh import _paramiko_compat as compat

PACKAGE = Path(hatchway_ssh.__file__).parent
SETUP_CFG = PACKAGE.parent / "setup.cfg"


def test_paramiko_has_every_internal_hatchway_ssh_uses() -> None:
    problems = compat.problems()
    assert problems == [], (
        f"paramiko {paramiko.__version__} changed internals hatchway_ssh/_paramiko_compat.py relies on:\n  - "
        + "\n  - ".join(problems)
        + "\nAdapt _paramiko_compat.py to this release (or keep paramiko pinned to "
        f"{compat.TESTED} in plugins/ssh/setup.cfg).")


def test_the_installed_paramiko_is_in_the_tested_range() -> None:
    assert paramiko.__version__ in Requirement(f"paramiko{compat.TESTED}").specifier, (
        f"paramiko {paramiko.__version__} is installed but _paramiko_compat.py was checked against {compat.TESTED}: "
        f"run this canary and the ssh tests with it, then widen TESTED and plugins/ssh/setup.cfg together")


def test_setup_cfg_pins_paramiko_to_the_tested_range() -> None:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    requirements = [Requirement(line) for line in config["options"]["install_requires"].splitlines()
                    if line.strip() and not line.strip().startswith("#")]
    [pin] = [r for r in requirements if r.name == "paramiko"]
    assert str(pin.specifier) == str(Requirement(f"paramiko{compat.TESTED}").specifier)


def test_the_canary_names_what_a_release_removed(monkeypatch) -> None:
    monkeypatch.delattr(paramiko.SFTPClient, "_async_request")
    monkeypatch.delattr(paramiko.Transport, "_send_user_message")
    problems = compat.problems()
    assert "SFTPClient._async_request is gone (raw sftp requests)" in problems
    assert "Transport._send_user_message is gone (keepalive and signal requests)" in problems


def test_the_canary_names_a_changed_signature(monkeypatch) -> None:
    monkeypatch.setattr(paramiko.SFTPClient, "_read_response", lambda self, wait_for=None, timeout=None: None)
    assert ("SFTPClient._read_response now takes (self, wait_for, timeout), expected (self, waitfor) "
            "(raw sftp replies)") in compat.problems()


def _parse_modules() -> Dict[str, ast.Module]:
    # At collection, before any test leaves threads behind, and without the garbage collector: CPython 3.11's
    # ast.parse can fail with "AST constructor recursion depth mismatch" when a finalizer runs inside it.
    gc.disable()
    try:
        return {path.stem: ast.parse(path.read_text(), str(path)) for path in PACKAGE.glob("*.py")}
    finally:
        gc.enable()


_PARSED = _parse_modules()


def _modules() -> Dict[str, ast.Module]:
    return _PARSED


def test_only_the_compat_module_touches_paramiko_internals() -> None:
    """No other module reads an underscored attribute of another object, or paramiko's undocumented modules."""
    found: List[str] = []
    for name, tree in _modules().items():
        if name == "_paramiko_compat":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if ast.unparse(node.value) not in ("self", "cls"):
                    found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.Attribute) and ast.unparse(node) in ("paramiko.common", "paramiko.sftp"):
                found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("paramiko.common",
                                                                                  "paramiko.sftp")):
                found.append(f"{name}.py:{node.lineno}: from {node.module} import ...")
            if isinstance(node, ast.Attribute) and node.attr in ("status_event", "remote_chanid"):
                found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "paramiko internals outside _paramiko_compat.py:\n" + "\n".join(found)


def test_the_plugins_modules_import_each_other_without_cycles() -> None:
    """Every import counts: at module level, inside functions and under TYPE_CHECKING alike."""
    graph: Dict[str, Set[str]] = {}
    for name, tree in _modules().items():
        targets: Set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    targets.add(node.module.split(".")[0])
                else:
                    targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hatchway_ssh."):
                targets.add(node.module.split(".")[1])
        graph[name] = {t for t in targets if t != name}
    assert {"connection", "hostkeys", "sftp"} <= set(graph)
    cycles: List[List[str]] = []

    def visit(node: str, path: List[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, path + [target])
        done.add(node)

    done: Set[str] = set()
    for start in sorted(graph):
        visit(start, [start])
    assert cycles == [], "import cycles in hatchway_ssh: " + "; ".join(" -> ".join(c) for c in cycles)


def test_hostkeys_does_not_import_connection() -> None:
    """The cycle issue 11 named: host key checking needs no connection (it is told the host, port and name)."""
    tree = _modules()["hostkeys"]
    assert {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1} == {"errors"}

"""hatchway-winrm's modules import each other without cycles (issue 11: `session` <-> `diagnosis`)."""
from __future__ import annotations

import ast
from pathlib import Path

import hatchway_winrm

PACKAGE = Path(hatchway_winrm.__file__).parent


def imports_of(path: Path) -> set:
    """The package's own modules that ``path`` imports anywhere (also under TYPE_CHECKING or in a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hatchway_winrm."):
            found.add(node.module.split(".")[1])
    return found


def test_no_import_cycles():
    graph = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in deps if m in graph} for name, deps in graph.items()}
    cycles = []

    def visit(name, trail):
        for dep in sorted(graph[name]):
            if dep in trail:
                cycles.append(" -> ".join(trail[trail.index(dep):] + [dep]))
            else:
                visit(dep, trail + [dep])

    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []

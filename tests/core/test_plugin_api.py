"""The declared plugin API: the bundled plugins and the example use nothing else.

The public surface is ``hatchway`` (types, hooks, errors), ``hatchway.toolkit``
(shared helpers) and ``hatchway.testing`` (the contract suite). A bundled
plugin that reaches into an internal module would teach third-party authors
to do the same.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import hatchway
import hatchway.testing
import hatchway.toolkit

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    "hatchway": set(hatchway.__all__) | {"toolkit", "testing"},
    "hatchway.toolkit": set(hatchway.toolkit.__all__),
    "hatchway.testing": set(hatchway.testing.__all__),
}


def plugin_sources() -> List[Path]:
    found = sorted(ROOT.glob("plugins/*/hatchway_*/**/*.py")) + sorted(ROOT.glob("examples/plugin/**/*.py"))
    return [p for p in found if ".venv" not in p.parts and "build" not in p.parts]


def private_uses(path: Path, source: str = "") -> Iterator[Tuple[int, str]]:
    """(line, what) for every use of Hatchway outside its public surface in ``path`` (or ``source``)."""
    tree = ast.parse(source or path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hatchway.") and alias.name not in PUBLIC:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hatchway" or node.module.startswith("hatchway."):
                allowed = PUBLIC.get(node.module)
                if allowed is None:
                    yield node.lineno, f"from {node.module} import ..."
                    continue
                for alias in node.names:
                    if alias.name not in allowed:
                        yield node.lineno, f"from {node.module} import {alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "hatchway":
            if node.attr not in PUBLIC["hatchway"]:
                yield node.lineno, f"hatchway.{node.attr}"


def test_the_scan_sees_the_plugins():
    names = {p.relative_to(ROOT).parts[1] for p in plugin_sources()}
    assert {"ssh", "winrm", "docker", "local", "none", "plugin"} <= names


@pytest.mark.parametrize("path", plugin_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_plugins_use_only_the_public_api(path: Path):
    uses = [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in private_uses(path)]
    assert not uses, ("internal Hatchway modules used; import from hatchway or hatchway.toolkit instead "
                      "(docs/plugins.md, 'The plugin API'):\n" + "\n".join(uses))


def test_the_scan_catches_an_internal_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("from hatchway.files import walk\nimport hatchway.relay\nfrom hatchway import Relay, plugins\n"
                   "import hatchway\nhatchway.config.option\n")
    assert [what for _, what in private_uses(bad)] == [
        "from hatchway.files import ...", "import hatchway.relay", "from hatchway import plugins", "hatchway.config"]


def test_public_names_exist():
    for module_name, names in PUBLIC.items():
        module = __import__(module_name, fromlist=["_"])
        for name in names - {"toolkit", "testing"}:
            assert hasattr(module, name), f"{module_name}.{name} is in __all__ but missing"


DOCS = [ROOT / "README.md", ROOT / "docs" / "plugins.md", ROOT / "examples" / "plugin" / "README.md",
        *sorted(ROOT.glob("plugins/*/README.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_docs_teach_only_the_public_api(doc: Path):
    uses = []
    for block in re.findall(r"^```python\n(.*?)^```", doc.read_text(), re.M | re.S):
        uses += [f"{doc.relative_to(ROOT)}: {what}" for _, what in private_uses(doc, block)]
    assert not uses, "a documentation example imports an internal module:\n" + "\n".join(uses)

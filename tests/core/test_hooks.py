"""Every hook is documented in docs/plugins.md with the signature of its spec, has a test, and the
guide's examples run: its ``python`` blocks are installed as a plugin and used in a real build, its
``pycon`` blocks run as doctests (datasette's test_plugin_hooks_are_documented, for Hatchway)."""
from __future__ import annotations

import ast
import doctest
import inspect
import json
import re
import types
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from hatchway import hookspecs

ROOT = Path(__file__).resolve().parents[2]
GUIDE_PATH = ROOT / "docs" / "plugins.md"
GUIDE = GUIDE_PATH.read_text()
SPEC_CLASSES = (hookspecs.RegistrationSpecs, hookspecs.CommunicatorSpecs)


def hookspec_signatures() -> Dict[str, str]:
    """hook name -> ``name(arg, ...)`` as its spec declares it."""
    found = {}
    for cls in SPEC_CLASSES:
        for name, fn in vars(cls).items():
            if getattr(fn, "hatchway_spec", None) is not None:
                args = [p for p in inspect.signature(fn).parameters if p != "self"]
                found[name] = f"{name}({', '.join(args)})"
    return found


HOOKS = hookspec_signatures()


def hooks_part() -> str:
    return GUIDE.split("\n## Hooks\n", 1)[1].split("\n## ", 1)[0]


def documented() -> Dict[str, Tuple[str, str]]:
    """hook name -> (the signature in its heading, the section's text)."""
    sections = {}
    for match in re.finditer(r"^### `((\w+)\([^)]*\))`\n(.*?)(?=^### |\Z)", hooks_part(), re.M | re.S):
        sections[match.group(2)] = (match.group(1), match.group(3))
    return sections


def code_blocks(text: str, language: str) -> List[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def example_module_source(only_known_hooks: bool = True) -> str:
    """The guide's plugin: every ``python`` block of the Hooks part, in order. With
    ``only_known_hooks``, a section about a hook this Hatchway does not have is left out, so that
    the plugin loads (an unknown hookimpl makes a plugin broken)."""
    part = hooks_part()
    intro = part.split("\n### ", 1)[0]
    blocks = code_blocks(intro, "python")
    for name, (_, text) in documented().items():
        if name in HOOKS or not only_known_hooks:
            blocks += code_blocks(text, "python")
    return "\n\n".join(blocks)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_plugin_hooks_are_documented(hook):
    sections = documented()
    assert hook in sections, f"docs/plugins.md has no '### `{HOOKS[hook]}`' section under '## Hooks'"
    heading, text = sections[hook]
    assert heading == HOOKS[hook], f"docs/plugins.md documents {heading}, the hookspec is {HOOKS[hook]}"
    assert code_blocks(text, "python") or code_blocks(text, "pycon"), f"the section on {hook} has no example"


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_plugin_hooks_have_tests(hook):
    """Some test function in tests/ is named after the hook (datasette's rule, across every test module)."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(), str(path))
        names |= {node.name for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}
    assert any(hook in name for name in names), f"no test named after the hook {hook!r} (e.g. test_hook_{hook})"


def example_module(only_known_hooks: bool = True) -> types.ModuleType:
    module = types.ModuleType("hatchway_here")
    source = example_module_source(only_known_hooks)
    exec(compile(source, str(GUIDE_PATH), "exec"), module.__dict__)  # noqa: S102 - our guide
    return module


def test_the_guide_examples_run_as_doctests():
    module = example_module()
    text = "\n".join(code_blocks(GUIDE, "pycon"))
    test = doctest.DocTestParser().get_doctest(text, dict(module.__dict__), "docs/plugins.md", str(GUIDE_PATH), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and test.examples, "a pycon example of docs/plugins.md failed (see above)"


def test_the_guide_retry_example_runs():
    intro = GUIDE.split("\n## Hooks\n", 1)[0]
    for block in code_blocks(intro, "python"):
        exec(compile(block, str(GUIDE_PATH), "exec"), {})  # noqa: S102 - our guide


@pytest.fixture
def here_build(env, tmp_path):
    """A build with every part of the guide's plugin: builder, communicator, provisioner, post-processor, observer."""
    env.add_plugin("hatchway-here", "hatchway_here", example_module_source())
    calls = tmp_path / "calls.log"
    template = env.template({
        "builders": [{"type": "scratch", "name": "s1", "pause_before_connecting": "10ms"}],
        "provisioners": [
            {"type": "write-file", "path": "hello.txt", "content": "hi from the guide"},
            {"type": "shell", "inline": ["cat hello.txt"], "remote_folder": "."},
            {"type": "file", "direction": "download", "source": "hello.txt", "destination": "out/"},
        ],
        "post-processors": [{"type": "manifest", "output": "manifest.json"}],
    })
    result = env.hatchway("build", str(template), HERE_CALLS=str(calls))
    return result, calls, env.root


def test_hook_register_builders(here_build):
    result, _, root = here_build
    assert result.returncode == 0, result.stderr
    assert re.search(r"s1: Made \S*scratch-s1-", result.stdout)


def test_hook_register_communicators_connect_execute_upload_download_disconnect_cleanup(here_build):
    result, calls, root = here_build
    assert result.returncode == 0, result.stderr
    assert "    s1: hi from the guide" in result.stdout          # connect, upload, execute
    assert (root / "out" / "hello.txt").read_text() == "hi from the guide"  # download
    made = re.search(r"Made (\S+)", result.stdout).group(1)
    assert not Path(made).exists()                             # the builder's cleanup ran after the relay's


def test_hook_register_provisioners(here_build, env):
    result, _, _ = here_build
    assert "s1: Writing hello.txt" in result.stdout
    bad = env.template({"builders": [{"type": "scratch"}], "provisioners": [{"type": "write-file", "path": "d/"}]},
                       name="bad.json")
    validate = env.hatchway("validate", str(bad))
    assert validate.returncode == 1
    assert "path" in validate.stderr and "name a file, not a directory" in validate.stderr


def test_hook_register_post_processors(here_build):
    result, _, root = here_build
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "manifest.json").read_text()) == {"build": "s1", "files": ["hello.txt"]}


def test_hook_register_observers(here_build):
    result, calls, _ = here_build
    lines = calls.read_text().splitlines()
    assert "s1: upload hello.txt" in lines
    assert "s1: execute -> 0" in lines


def test_hook_disconnect_is_used_by_pause_before_connecting(here_build, env):
    result, _, _ = here_build
    assert result.returncode == 0, result.stderr
    log = env.root / "debug.log"
    template = env.template({"builders": [{"type": "scratch", "pause_before_connecting": "10ms"}],
                             "provisioners": [{"type": "shell", "inline": ["true"], "remote_folder": "."}]},
                            name="pause.json")
    again = env.hatchway("build", str(template), HATCHWAY_TRACE_PLUGINS="1", HATCHWAY_LOG_PATH=str(log))
    assert again.returncode == 0, again.stderr
    text = log.read_text()
    assert "hook disconnect -> " in text and "hook cleanup -> " in text
    assert text.index("hook disconnect -> ") < text.rindex("hook connect -> ")


def test_hook_register_template_functions(env):
    module = example_module(only_known_hooks=False)
    calls: List[tuple] = []
    module.register_template_functions(lambda *args: calls.append(args))
    assert calls == [("shout", module.shout)]
    assert module.shout("hi") == "HI!"
    if "register_template_functions" in HOOKS:  # the core collects the functions: use one in a build
        env.add_plugin("hatchway-here", "hatchway_here", example_module_source())
        template = env.template({"builders": [{"type": "null", "communicator": "local"}],
                                 "provisioners": [{"type": "shell-local", "inline": ["echo {{shout `hey`}}"]}]})
        result = env.hatchway("build", str(template))
        assert result.returncode == 0, result.stderr
        assert "HEY!" in result.stdout

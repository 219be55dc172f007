"""The README documents every key of the built-in provisioners, and its two first commands exist."""
import re
from pathlib import Path

import attrs
import pytest

from hatchway.builtin.file import FileConfig
from hatchway.builtin.shell import ShellConfig
from hatchway.builtin.shell_local import ShellLocalConfig
from hatchway.template.validate import ProvisionerCommon

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("cls", [ShellConfig, FileConfig, ShellLocalConfig, ProvisionerCommon])
def test_every_key_is_documented(cls):
    missing = [f.name for f in attrs.fields(cls) if f"| `{f.name}` |" not in README]
    assert missing == []


def test_the_first_two_commands_are_scripts_in_this_repository():
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    scripts = re.findall(r"bash (scripts/\S+)", block)
    assert scripts == ["scripts/run-example.sh", "scripts/test-all.sh"]
    for script in scripts:
        assert (ROOT / script).is_file()
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec bash scripts/test-all.sh"


PLUGIN_READMES = sorted(ROOT.glob("plugins/*/README.md")) + [ROOT / "examples/plugin/README.md"]


@pytest.mark.parametrize("readme", PLUGIN_READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_readme_key_tables_match_the_config_classes(readme):
    from hatchway.docs_tables import update

    text = readme.read_text()
    assert "<!-- keys: " in text, f"{readme.relative_to(ROOT)} has no generated key table"
    assert update(text) == text, (f"the key tables of {readme.relative_to(ROOT)} differ from the config classes; "
                                  f"run: python -m hatchway.docs_tables {readme.relative_to(ROOT)}")


def test_every_registered_config_class_of_a_plugin_has_a_table_in_its_readme():
    from hatchway.components import EmptyConfig
    from hatchway.docs_tables import MARKER, _load, _parse
    from hatchway.plugins import Plugins

    plugins = Plugins().load()
    tabled = {readme: {_load(_parse(m.group("spec"))[0]) for m in MARKER.finditer(readme.read_text())}
              for readme in PLUGIN_READMES}
    missing = []
    for regs in plugins.registry.values():
        for reg in regs.values():
            if reg.plugin == "builtin" or reg.cls.Config is EmptyConfig:
                continue
            package = reg.cls.__module__.split(".")[0]
            readme = next(r for r in PLUGIN_READMES if (r.parent / package).is_dir())
            if reg.cls.Config not in tabled[readme]:
                missing.append(f"{readme.relative_to(ROOT)}: {reg.kind} {reg.name} ({reg.cls.Config.__qualname__})")
    assert missing == []


def test_the_table_generator_fails_naming_the_command(tmp_path, capsys):
    from hatchway.docs_tables import main

    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- keys: hatchway_local:LocalConfig -->\n| stale |\n<!-- /keys -->\n")
    assert main(["--check", str(readme)]) == 1
    assert f"run: python -m hatchway.docs_tables {readme}" in capsys.readouterr().err
    assert "| stale |" in readme.read_text()
    assert main([str(readme)]) == 0
    assert "| `local_shell` | string | `/bin/sh` |" in readme.read_text()
    assert main(["--check", str(readme)]) == 0

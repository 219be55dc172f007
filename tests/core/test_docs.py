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

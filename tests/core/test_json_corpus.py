"""The JSON template corpus (tests/templates/json): every template validates; run-*.json build for real."""
import json
from pathlib import Path

import pytest

from hatchway.plugins import Plugins
from hatchway.template import load
from hatchway.template.validate import prepare

CORPUS = Path(__file__).resolve().parents[1] / "templates" / "json"
TEMPLATES = sorted(p for p in CORPUS.glob("*.json") if not p.name.endswith(".vars.json"))


def variables_for(path: Path) -> dict:
    var_file = path.with_name(path.stem + ".vars.json")
    return json.loads(var_file.read_text()) if var_file.exists() else {}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_corpus_template_validates(path):
    plugins = Plugins().load()  # every installed plugin, as `hatchway validate` sees them
    plan = prepare(load(path, partial=True), plugins, variables=variables_for(path), env={})
    assert plan.builds


def test_control_flow_template_builds(env, tmp_path):
    work = tmp_path / "work"
    result = env.hatchway("build", "-var", f"workdir={work}", str(CORPUS / "run-control-flow.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (work / "settings.txt").read_text().splitlines()
    assert lines[0].startswith("image=web-app-base-staging-20") and lines[1:4] == ["replicas=1", "debug=on",
                                                                                  "packer=1.16.0 build=control-flow/null"]
    assert lines[4] == "upper=STAGING split=c padded=007"
    result = env.hatchway("build", "-var", f"workdir={work}", "-var", "env=production",
                          str(CORPUS / "run-control-flow.json"))
    assert result.returncode == 1  # production has no debug line: the shell-local check counts 4 lines
    assert "replicas=3" in (work / "settings.txt").read_text()


def test_build_values_template_builds_and_cleans_up_on_error(env, tmp_path):
    work = tmp_path / "work"
    template = str(CORPUS / "run-build-values.json")
    assert env.hatchway("build", "-var", f"workdir={work}", template).returncode == 0
    assert (work / "values.txt").read_text() == "conn=local id=ERR_ID_NOT_IMPLEMENTED_BY_BUILDER\n"
    assert (work / "log.txt").read_text().startswith("base.sh ran for values as ")
    failed = env.hatchway("build", "-var", f"workdir={work}", "-var", "fail=true", template)
    assert failed.returncode == 1
    assert (work / "log.txt").read_text().splitlines()[-1] == "cleanup.sh ran"


def test_overrides_template_builds(env, tmp_path):
    work = tmp_path / "work"
    result = env.hatchway("build", "-var", f"workdir={work}", str(CORPUS / "run-overrides.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (work / "first.txt").read_text() == "default\n"
    assert (work / "second.txt").read_text() == "overridden\nonly on second\n"
    assert (work / "motd-first").read_text() == "motd written by the file provisioner\n"
    assert not (work / "motd-second").exists()
    assert "push: is deprecated and ignored" in result.stderr

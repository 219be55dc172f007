"""The JSON front end and validation: every problem at once, each with its path."""
import json

import pytest

from hatchway.errors import ConfigError
from hatchway.plugins import Plugins
from hatchway.template import loads
from hatchway.template.validate import prepare


@pytest.fixture
def plugins():
    import hatchway_local
    import hatchway_none

    return Plugins().load(entry_points=False, extra=[("local", hatchway_local), ("none", hatchway_none)])


def problems_of(text_or_data, plugins=None, **kw):
    text = text_or_data if isinstance(text_or_data, str) else json.dumps(text_or_data)
    with pytest.raises(ConfigError) as info:
        template = loads(text, "t.json")
        prepare(template, plugins, **kw)
    return [str(p) for p in info.value.problems]


def test_malformed_json_names_line_and_column():
    problems = problems_of('{\n  "builders": [\n    {"type": "null",}\n  ]\n}')
    assert problems == ["invalid JSON at line 3, column 21: Expecting property name enclosed in double quotes"]


def test_structure_problems_all_at_once():
    problems = problems_of({
        "bulders": [],
        "variables": {"x": {"nested": True}},
        "sensitive-variables": ["y"],
        "provisioners": [{"inline": ["x"]}, "shell", {"type": "shell", "only": {"web": 1}}],
        "post-processors": [{"type": ""}],
    })
    assert "bulders: unknown top-level key (did you mean 'builders'?)" in problems
    assert "builders: is required: a template needs at least one builder" in problems
    assert any(p.startswith("variables.x: a default value must be a string") for p in problems)
    assert any(p.startswith("sensitive-variables: names 'y'") for p in problems)
    assert any(p.startswith("provisioners[0].type: is required") for p in problems)
    assert any(p.startswith("provisioners[1]: must be an object") for p in problems)
    assert any(p.startswith("provisioners[2].only: must be a list of strings") for p in problems)
    assert any(p.startswith("post-processors[0].type: is required") for p in problems)


def test_only_and_except_may_be_one_string():
    # packer template/parse.go decodes the raw template with WeaklyTypedInput: one value is a list of one
    template = loads(json.dumps({"builders": [{"type": "null", "name": "web"}],
                      "provisioners": [{"type": "shell", "inline": ["true"], "only": "web", "except": "db"}]}))
    assert template.provisioners[0].only == ["web"]
    assert template.provisioners[0].except_ == ["db"]


def test_duplicate_build_names():
    problems = problems_of({"builders": [{"type": "null"}, {"type": "null"}]})
    assert problems == ["builders[1].name: build name 'null' is also used by builders[0] (give each builder a unique \"name\")"]


def test_model_keeps_packer_keys():
    t = loads(json.dumps({
        "description": "d", "min_packer_version": "1.5.0",
        "variables": {"a": "1", "b": None, "flag": True}, "sensitive-variables": ["a"],
        "builders": [{"type": "null", "name": "n", "communicator": "local", "x": 1}],
        "provisioners": [{"type": "shell", "inline": ["true"], "only": ["n"], "except": [], "pause_before": "1s",
                          "max_retries": 2, "timeout": "5m", "override": {"n": {"inline": ["false"]}}}],
        "post-processors": ["compress", [{"type": "a", "keep_input_artifact": True}, {"type": "b"}]],
    }))
    assert t.description == "d" and t.variables["b"].required and t.variables["a"].sensitive
    assert t.variables["flag"].default == "true"
    assert t.builders[0].communicator == "local" and t.builders[0].options == {"x": 1}
    p = t.provisioners[0]
    assert (p.only, p.pause_before, p.max_retries, p.timeout) == (["n"], "1s", 2, "5m")
    assert p.options == {"inline": ["true"]}
    assert [[s.type for s in chain] for chain in t.post_processors] == [["compress"], ["a", "b"]]


def test_validation_reports_everything_with_paths(plugins):
    problems = problems_of({
        "variables": {"need": None},
        "builders": [
            {"type": "null", "name": "a", "communicator": "local", "pause_before_conecting": "5s"},
            {"type": "null", "name": "b", "communicator": "ssh"},
            {"type": "nul", "name": "c"},
            {"type": "null", "name": "d", "communicator": "none"},
        ],
        "provisioners": [
            {"type": "shell", "inline": ["{{user `nope`}}"], "timeout": "5x", "only": ["a", "d"]},
            {"type": "shell", "except": ["zz"]},
            {"type": "shel"},
        ],
        "post-processors": ["docker-tag"],
    }, plugins)
    expected = [
        "variables.need: is required and has no value (set it with -var 'need=...' or in a -var-file)",
        "builders[0].pause_before_conecting: unknown key (did you mean 'pause_before_connecting'?)",
        "provisioners[0].inline[0]: 1:3: at <user `nope`>: error calling user: unknown variable 'nope' (defined: need)",
        "provisioners[0].timeout: '5x' is not a duration; write e.g. \"30s\", \"5m\" or \"1h30m\"",
        "builders[1].communicator: no communicator named 'ssh' is installed; install it with: hatchway plugins install hatchway-ssh  (or: pip install hatchway-ssh)",
        "builders[2].type: no builder named 'nul' is installed (did you mean 'null'?)",
        "provisioners[2].type: no provisioner named 'shel' is installed (did you mean 'shell'?)",
        "post-processors[0].type: no post-processor named 'docker-tag' is installed; install it with: hatchway plugins install hatchway-docker  (or: pip install hatchway-docker)",
        "provisioners[1].except: names no build 'zz'",
        "provisioners[1]: set exactly one of \"inline\", \"script\", \"scripts\"",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    none_msg = [p for p in problems if "build 'd' uses communicator 'none'" in p]
    assert none_msg and none_msg[0].startswith("provisioners[0]: the 'shell' provisioner needs a communicator")


def test_variables_overrides_and_env_in_defaults(plugins):
    t = loads(json.dumps({
        "variables": {"home": "{{env `MYHOME`}}", "derived": "{{user `home`}}/sub", "name": "default"},
        "builders": [{"type": "null", "name": "{{user `name`}}-x", "communicator": "local"}],
        "provisioners": [{"type": "shell", "inline": ["echo {{user `derived`}} {{build_name}}"]}],
    }))
    plan = prepare(t, plugins, variables={"name": "override"}, env={"MYHOME": "/h"})
    assert plan.variables == {"home": "/h", "derived": "/h/sub", "name": "override"}
    assert plan.builds[0].name == "{{user `name`}}-x"  # build names are not rendered (as in Packer JSON)
    assert plan.builds[0].provisioners[0].config.inline == ["echo /h/sub {{user `name`}}-x"]


def test_override_and_only_except(plugins):
    t = loads(json.dumps({
        "builders": [{"type": "null", "name": "one", "communicator": "local"},
                     {"type": "null", "name": "two", "communicator": "local"}],
        "provisioners": [
            {"type": "shell", "inline": ["echo base"], "override": {"two": {"inline": ["echo two"]}}},
            {"type": "shell", "inline": ["echo only-one"], "only": ["one"]},
        ],
    }))
    plan = prepare(t, plugins)
    one, two = plan.builds
    assert [s.config.inline for s in one.provisioners] == [["echo base"], ["echo only-one"]]
    assert [s.config.inline for s in two.provisioners] == [["echo two"]]
    assert [b.name for b in prepare(t, plugins, only=["t*"]).builds] == ["two"]
    assert [b.name for b in prepare(t, plugins, except_=["two"]).builds] == ["one"]
    problems = problems_of(json.dumps({"builders": [{"type": "null", "communicator": "local"}]}), plugins, only=["nul"])
    assert problems == ["-only: 'nul' matches no build (did you mean 'null'?)"]


def test_sensitive_variables_are_redacted_once_loaded(plugins):
    from hatchway import redact

    t = loads(json.dumps({"variables": {"token": "abc-very-secret"}, "sensitive-variables": ["token"],
                          "builders": [{"type": "null", "communicator": "local"}]}))
    prepare(t, plugins)
    assert redact.redact("token=abc-very-secret") == "token=<sensitive>"


def test_late_options_from_a_front_end_get_the_build_values(plugins, tmp_path):
    # The HCL2 front end sets late_options (build.Host...): the runner calls it with the running build's
    # values once the machine is up, instead of re-rendering {{build}} strings.
    from pathlib import Path

    from hatchway.runner import Runner
    from hatchway.template.model import BuilderSection, ProvisionerSection, Template
    from hatchway.ui import UI

    out = tmp_path / "out"
    seen = []

    def late(values):
        seen.append(dict(values))
        return {"inline": [f"echo {values['ConnType']} {len(values['PackerRunUUID'])} > {out}"]}

    template = Template(path=Path(tmp_path / "t.pkr.hcl"),
                        builders=[BuilderSection("null", "n", "source.null.n", "local")],
                        provisioners=[ProvisionerSection("shell", "build.provisioner[0]",
                                                         {"inline": ["echo placeholder"]}, late_options=late)])
    plan = prepare(template, plugins)
    assert plan.builds[0].provisioners[0].late
    results = Runner(plan, UI(), plugins).run()
    assert results[0].ok, results[0].error
    assert out.read_text() == "local 36\n"
    assert seen[0]["ConnType"] == "local" and set(seen[0]) >= {"Host", "Port", "User", "ID", "PackerHTTPAddr"}

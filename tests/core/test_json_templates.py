"""Packer's JSON template rules: each test names the Packer source or doc it follows.

Sources: hashicorp/packer-plugin-sdk template/parse.go (root keys, comments,
sensitive variables, error-cleanup-provisioner), hashicorp/packer
packer/core.go (renderVarsRecursively: variables using variables, in any
order, command-line ones included), packer/build.go and the SDK's
multistep/commonsteps/step_provision.go (the build's values, the cleanup
provisioner), template/interpolate/funcs.go (functions).
"""
import json

import pytest

from hatchway.errors import ConfigError
from hatchway.plugins import Plugins
from hatchway.template import loads
from hatchway.template.validate import prepare
from helpers.core_env import RECORDER_PLUGIN

LOCAL = {"type": "null", "name": "n", "communicator": "local"}


@pytest.fixture
def plugins():
    import hatchway_local
    import hatchway_none

    return Plugins().load(entry_points=False, extra=[("local", hatchway_local), ("none", hatchway_none)])


def plan_of(data, plugins, **kw):
    return prepare(loads(json.dumps(data), "t.json", partial=True), plugins, **kw)


def problems_of(data, plugins, **kw):
    with pytest.raises(ConfigError) as info:
        plan_of(data, plugins, **kw)
    return [str(p) for p in info.value.problems]


# --- root keys (template/parse.go) ---------------------------------------------------------
def test_root_keys_starting_with_underscore_are_comments(plugins):
    plan = plan_of({"_comment": "a comment", "_todo": "later", "builders": [LOCAL]}, plugins)
    assert [b.name for b in plan.builds] == ["n"]


def test_a_root_comment_must_be_a_string(plugins):
    # parse.go: "Failed to cast root level comment value in comment ... to string."
    assert problems_of({"_comment": ["a", "b"], "builders": [LOCAL]}, plugins) == \
        ["_comment: a root-level comment must be a string"]


def test_push_is_accepted_with_a_warning(plugins):
    plan = plan_of({"push": {"name": "org/box"}, "builders": [LOCAL]}, plugins)
    assert [str(w) for w in plan.warnings] == \
        ["push: is deprecated and ignored (Packer removed `packer push`) (remove it)"]


def test_sensitive_variable_not_declared_is_a_warning(plugins):
    # parse.go only marks declared variables sensitive: an undeclared name is ignored
    plan = plan_of({"variables": {"token": "x"}, "sensitive-variables": ["tokne"], "builders": [LOCAL]}, plugins)
    assert [str(w) for w in plan.warnings] == \
        ["sensitive-variables: names 'tokne', which is not in \"variables\"; ignored (did you mean 'token'?)"]


# --- variables (packer/core.go renderVarsRecursively) ------------------------------------------
def test_defaults_use_other_variables_in_any_order(plugins):
    plan = plan_of({"variables": {"c": "{{user `b`}}-c", "b": "{{user `a`}}-b", "a": "a"},
                    "builders": [LOCAL]}, plugins)
    assert plan.variables == {"a": "a", "b": "a-b", "c": "a-b-c"}


def test_undeclared_command_line_variables_are_usable(plugins):
    # Packer puts -var and -var-file values in UserVariables whether declared or not
    plan = plan_of({"variables": {"out": "{{user `region`}}-out"}, "builders": [LOCAL],
                    "provisioners": [{"type": "shell", "inline": ["echo {{user `region`}}"]}]},
                   plugins, variables={"region": "eu-west-1"})
    assert plan.variables["out"] == "eu-west-1-out"
    assert plan.builds[0].provisioners[0].config.inline == ["echo eu-west-1"]
    assert plan.warnings == []


def test_command_line_values_are_rendered_too(plugins):
    plan = plan_of({"variables": {"a": "x"}, "builders": [LOCAL]}, plugins, variables={"b": "{{user `a`}}!"})
    assert plan.variables["b"] == "x!"


def test_a_variable_cycle_is_one_error_naming_it(plugins):
    problems = problems_of({"variables": {"a": "{{user `b`}}", "b": "{{user `c`}}", "c": "{{user `a`}}",
                                          "ok": "{{user `a`}}"}, "builders": [LOCAL]}, plugins)
    assert problems == ["variables.a: variables use each other in a cycle: a -> b -> c -> a "
                        "(give one of them a value that does not use the others)"]


def test_a_misspelt_command_line_variable_warns(plugins):
    plan = plan_of({"variables": {"region": "x"}, "builders": [LOCAL]}, plugins, variables={"regoin": "y"})
    assert [str(w) for w in plan.warnings] == \
        ["variables.regoin: is set with -var but the template does not declare it (did you mean 'region'?)"]


# --- functions, build, fields ---------------------------------------------------------------
def test_build_is_refused_in_builders_and_variables(plugins):
    problems = problems_of({"variables": {"v": "{{build `Host`}}"},
                            "builders": [dict(LOCAL, pause_before_connecting="{{build `ID`}}")]}, plugins)
    assert any(p.startswith("variables.v: 1:3: at <build `Host`>: error calling build: build is not available in "
                            "variables") for p in problems)
    assert any(p.startswith("builders[0].pause_before_connecting: 1:3: at <build `ID`>: error calling build: "
                            "build is not available in builders") for p in problems)


def test_build_in_provisioners_is_rendered_late(plugins):
    plan = plan_of({"builders": [LOCAL],
                    "provisioners": [{"type": "shell", "inline": ["echo {{build `ConnType`}} {{user `x`}}"]},
                                     {"type": "shell", "inline": ["echo plain"]}],
                    "variables": {"x": "y"}}, plugins)
    late, plain = plan.builds[0].provisioners
    assert late.late and not plain.late
    assert late.config.inline == ["echo {{build `ConnType`}} y"]  # kept for the runner


def test_unknown_build_value_is_an_error(plugins):
    # funcs.go passthroughOrInterpolate: "loaded data, but couldnt find %s in it."
    problems = problems_of({"builders": [LOCAL], "provisioners": [{"type": "shell", "inline": ["{{build `Hots`}}"]}]},
                           plugins)
    assert any("couldn't find Hots in it" in p for p in problems)


def test_execute_command_with_an_unknown_field_fails_validation(plugins):
    # issue 13 §5: {{.Nope}} passed validate and failed the build with "internal error"
    problems = problems_of({"builders": [LOCAL], "provisioners": [
        {"type": "shell", "inline": ["true"], "execute_command": "{{.Vars}} sh {{.Path}} {{.Nope}}"},
        {"type": "shell-local", "inline": ["true"], "execute_command": ["sh", "-c", "{{.Script}} {{.Bad}}"]},
    ]}, plugins)
    assert "provisioners[0].execute_command: {{.Nope}} is not available here " \
           "(execute_command can use {{.Path}}, {{.Vars}}, {{.EnvVarFile}})" in problems
    assert any(p.startswith("provisioners[1].execute_command: {{.Bad}} is not available here") for p in problems)


def test_every_problem_at_once_even_with_structural_errors(plugins):
    # an unknown top-level key no longer hides the unknown functions behind it
    problems = problems_of({
        "bulders": [],
        "builders": [dict(LOCAL, pause_before_connecting="{{ nope }}")],
        "provisioners": [{"type": "shell", "inline": ["{{usr `x`}}"]},
                         {"type": "not-installed", "inline": ["{{ if }}"]},
                         {"inline": ["x", "{{ if }}"]}],
        "post-processors": [{"type": "also-missing", "x": "{{ alsobad }}"}],
    }, plugins)
    for expected in [
        "bulders: unknown top-level key (did you mean 'builders'?)",
        "provisioners[2].type: is required",
        "provisioners[2].inline[1]: 1:7: missing value for if",
        'builders[0].pause_before_connecting: 1:4: function "nope" not defined',
        "provisioners[0].inline[0]: 1:3: function \"usr\" not defined; did you mean 'user'?",
        "provisioners[1].inline[0]: 1:7: missing value for if",
        "provisioners[1].type: no provisioner named 'not-installed' is installed",
        'post-processors[0].x: 1:4: function "alsobad" not defined',
    ]:
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_plugin_functions_come_from_the_hook(env):
    # register_template_functions: the plugin's function is used; without it the error names the plugin
    template = env.template({"variables": {"pw": "{{vault `secret/app` `password`}}"}, "sensitive-variables": ["pw"],
                             "builders": [LOCAL],
                             "provisioners": [{"type": "shell", "inline": ["echo pw-length-{{len (user `pw`)}}"]}]})
    missing = env.hatchway("validate", str(template))
    assert missing.returncode == 1
    assert "variables.pw: 1:3: the function vault is provided by a plugin: install it with hatchway plugins " \
           "install hatchway-vault  (or: pip install hatchway-vault)" in missing.stderr
    env.add_plugin("hatchway-vault", "hatchway_vault", '''
        import hatchway

        def vault(path, key):
            return "s3cr3t-from-" + path + "#" + key

        @hatchway.hookimpl
        def register_template_functions(register):
            register("vault", vault)
    ''')
    listed = env.hatchway("plugins")
    assert "hatchway_vault (hatchway-vault 1.0)\n    template-functions: vault" in listed.stdout
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stderr
    assert "pw-length-31" in result.stdout and "s3cr3t" not in result.stdout + result.stderr


# --- error-cleanup-provisioner and late rendering at build time --------------------------------
def test_error_cleanup_provisioner_runs_before_cleanup(env, tmp_path):
    # step_provision.go: Cleanup runs the "error-cleanup-provisioner" hook when the build has an error,
    # before the builder's own cleanup; its failure is reported with the original error.
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    steps = tmp_path / "steps"
    template = env.template({
        "builders": [{"type": "recorder", "name": "b", "record_dir": str(tmp_path)}],
        "provisioners": [{"type": "shell", "inline": ["exit 4"]}],
        "error-cleanup-provisioner": {"type": "shell-local",
                                      "inline": [f"echo error-cleanup {{{{build_name}}}} >> {steps}"]},
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 1
    assert steps.read_text().splitlines() == ["run b", "error-cleanup b", "cleanup b"]
    assert "Provisioning step had errors: Running the cleanup provisioner, if present..." in result.stdout
    ok = env.template({"builders": [{"type": "recorder", "name": "ok", "record_dir": str(tmp_path)}],
                       "error-cleanup-provisioner": {"type": "shell-local", "inline": [f"echo no >> {steps}"]}},
                      name="ok.json")
    assert env.hatchway("build", str(ok)).returncode == 0
    assert "no" not in steps.read_text().splitlines()  # only when the build fails


def test_error_cleanup_provisioner_failure_keeps_the_original_error(env, tmp_path):
    template = env.template({
        "builders": [LOCAL],
        "provisioners": [{"type": "shell", "inline": ["exit 4"]}],
        "error-cleanup-provisioner": {"type": "shell", "inline": ["exit 5"]},
    })
    result = env.hatchway("build", "-on-error=cleanup", str(template))
    assert result.returncode == 1
    assert "--> n: Cleanup failed: the shell provisioner (error-cleanup-provisioner) failed: inline script exited " \
           "with status 5" in result.stderr
    assert "Original Provisioning error: the shell provisioner (provisioners[0]) failed" in result.stderr


NOTE_POST_PROCESSOR = """
import attrs, hatchway
from hatchway.config import option

@attrs.define(kw_only=True)
class Config:
    path: str = option(required=True)
    text: str = option(required=True)

class Note(hatchway.PostProcessor):
    name = "note"
    Config = Config
    def process(self, ctx, artifact):
        with open(self.config.path, "a") as f:
            f.write(self.config.text + "\\n")
        return artifact

@hatchway.hookimpl
def register_post_processors(register):
    register(Note)
"""


def test_build_values_reach_provisioners_and_post_processors(env, tmp_path):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    env.add_plugin("hatchway-note", "hatchway_note", NOTE_POST_PROCESSOR)
    out = tmp_path / "values"
    template = env.template({
        "builders": [{"type": "recorder", "name": "r", "record_dir": str(tmp_path)}],
        "provisioners": [{"type": "shell", "inline": [
            f"echo conn={{{{build `ConnType`}}}} id={{{{build `ID`}}}} run={{{{build `PackerRunUUID` | len}}}} >> {out}"]}],
        "post-processors": [{"type": "note", "path": str(out),
                             "text": "pp={{build `ConnType`}} http={{build `PackerHTTPAddr`}}"}],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["conn=local id=ERR_ID_NOT_IMPLEMENTED_BY_BUILDER run=36",
                                            "pp=local http=ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER"]


def test_the_readme_plugin_function_example_runs(env, tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Template functions from a plugin"):]
    source = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env.add_plugin("hatchway-vault", "hatchway_vault", source)
    out = tmp_path / "out"
    template = env.template({"variables": {"pw": "{{vault `secret/app` `password`}}"},
                             "builders": [LOCAL],
                             "provisioners": [{"type": "shell", "inline": [f"echo {{{{user `pw`}}}} > {out}",
                                                                           "echo the secret is {{user `pw`}}"]}]})
    result = env.hatchway("build", str(template), VAULT_SECRET_APP_PASSWORD="hunter22")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "hunter22\n"
    assert "the secret is <sensitive>" in result.stdout and "hunter22" not in result.stdout
    missing = env.hatchway("validate", str(template))
    assert "variables.pw: 1:3: at <vault `secret/app` `password`>: error calling vault: " \
           "no secret 'password' at 'secret/app'" in missing.stderr


def test_one_time_for_the_whole_run(plugins):
    # funcs.go: InitTime is set once; {{timestamp}} and {{isotime}} agree everywhere in a run
    plan = plan_of({"variables": {"t": "{{timestamp}}"},
                    "builders": [dict(LOCAL, name="a"), dict(LOCAL, name="b")],
                    "provisioners": [{"type": "shell", "inline": ["{{timestamp}} {{isotime}}"]}]}, plugins)
    a, b = (build.provisioners[0].config.inline[0] for build in plan.builds)
    assert a == b and a.startswith(plan.variables["t"] + " ")


@pytest.mark.parametrize("text,message", [
    ("[" * 100000 + "]" * 100000, "the template is nested too deeply: arrays and objects may be nested at most 64 deep"),
    ('{"a":' * 50000 + "1" + "}" * 50000, "the template is nested too deeply"),
    ('{"builders": [{"type": "null", "x": ' + "9" * 5000 + "}]}", "the template holds an integer of 5000 digits"),
])
def test_hostile_json_is_one_clear_error(text, message):
    # issue 13 §5: these were tracebacks
    with pytest.raises(ConfigError) as info:
        loads(text, "t.json")
    assert [str(p) for p in info.value.problems][0].startswith(message)


def test_docker_run_command_fields_are_checked():
    # the docker builder's run_command gets {{.Image}} only
    plugins = Plugins().load()
    problems = problems_of({"builders": [{"type": "docker", "image": "debian", "discard": True,
                                          "run_command": ["-d", "{{.Image}}", "{{.Imag}}"]}]}, plugins)
    assert problems == ["builders[0].run_command: {{.Imag}} is not available here (run_command can use {{.Image}})"]

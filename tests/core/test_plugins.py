"""Plugin discovery through real entry points: listing, broken plugins, duplicate names."""
import json
import re

from helpers.core_env import RECORDER_PLUGIN

GOOD = '''
import attrs, hatchway
class Echo(hatchway.Communicator):
    name = "echo"
@hatchway.hookimpl
def register_communicators(register):
    register(Echo)
'''


def test_plugins_lists_distributions_versions_and_registrations(env):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN, version="2.3.4")
    result = env.hatchway("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["plugins"]}
    assert rows["hatchway_recorder"]["distribution"] == "hatchway-recorder"
    assert rows["hatchway_recorder"]["version"] == "2.3.4"
    assert rows["hatchway_recorder"]["builder"] == ["recorder"]
    assert sorted(rows["builtin"]["provisioner"]) == ["file", "shell", "shell-local"]
    assert rows["local"]["communicator"] == ["local"]
    human = env.hatchway("plugins")
    assert "hatchway_recorder (hatchway-recorder 2.3.4)" in human.stdout
    assert "    builders: recorder" in human.stdout


def test_a_broken_plugin_is_named_and_the_others_still_work(env, tmp_path):
    env.add_plugin("hatchway-broken", "hatchway_broken", "import no_such_module_here\n")
    env.add_plugin("hatchway-badhook", "hatchway_badhook", '''
import hatchway
@hatchway.hookimpl
def register_communicators(wrong_argument):
    pass
''')
    env.add_plugin("hatchway-raises", "hatchway_raises", '''
import hatchway
@hatchway.hookimpl
def register_builders(register):
    raise RuntimeError("boom in register")
''')
    env.add_plugin("hatchway-noname", "hatchway_noname", '''
import hatchway
class Nameless(hatchway.Communicator):
    pass
@hatchway.hookimpl
def register_communicators(register):
    register(Nameless)
''')
    result = env.hatchway("plugins")
    assert result.returncode == 0
    err = result.stderr
    assert "plugin 'hatchway_broken' (hatchway-broken) is broken: cannot be imported: ModuleNotFoundError: No module named 'no_such_module_here'" in err
    assert "plugin 'hatchway_badhook' (hatchway-badhook) is broken: PluginValidationError" in err
    assert "plugin 'hatchway_raises' (hatchway-raises) is broken: RuntimeError: boom in register" in err
    assert "plugin 'hatchway_noname' (hatchway-noname) is broken: PluginError: communicator class 'Nameless' has no 'name'" in err
    template = env.template({"builders": [{"type": "null", "communicator": "local"}],
                             "provisioners": [{"type": "shell", "inline": ["echo still-works"]}]})
    build = env.hatchway("build", str(template))
    assert build.returncode == 0, build.stderr
    assert "    null: still-works" in build.stdout
    assert "hatchway_broken" in build.stderr  # warned, not fatal


def test_two_plugins_with_one_communicator_name_is_an_error_naming_both(env):
    env.add_plugin("hatchway-echo-one", "echo_one", GOOD)
    env.add_plugin("hatchway-echo-two", "echo_two", GOOD)
    template = env.template({"builders": [{"type": "null", "communicator": "echo"}]})
    result = env.hatchway("validate", str(template))
    assert result.returncode == 1
    assert ("the communicator 'echo' is registered by both hatchway-echo-one (plugin 'echo_one') and "
            "hatchway-echo-two (plugin 'echo_two')") in result.stderr
    assert "Traceback" not in result.stderr


def test_startup_does_not_import_heavy_libraries(env):
    """`version` and `validate` must not import paramiko, docker or winrm (they load lazily)."""
    template = env.template({"builders": [{"type": "null", "communicator": "local"}]})
    code = (
        "import sys; from hatchway.cli import main; "
        f"rc = main(['validate', {str(template)!r}]); rc2 = main(['version']); "
        "heavy = sorted(m for m in ('paramiko', 'docker', 'winrm', 'requests', 'rich') if m in sys.modules); "
        "print('HEAVY', heavy, rc, rc2)"
    )
    import subprocess, sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env.env(), timeout=60)
    assert "HEAVY [] 0 0" in out.stdout, out.stdout + out.stderr


def test_a_plugin_observer_sees_every_communicator_call(env, tmp_path):
    log = tmp_path / "calls.log"
    env.add_plugin("hatchway-audit", "hatchway_audit", f'''
import hatchway

class Audit:
    def __init__(self, build_name):
        self.build_name = build_name
    def _note(self, text):
        with open({str(log)!r}, "a") as f:
            f.write(self.build_name + " " + text + "\\n")
    @hatchway.hookimpl(wrapper=True)
    def execute(self, command):
        result = yield
        self._note(f"execute -> {{result}}")
        return result
    @hatchway.hookimpl(wrapper=True)
    def upload(self, destination):
        self._note("upload " + destination.rsplit("/", 1)[-1][:6])
        return (yield)

@hatchway.hookimpl
def register_observers(register):
    register(Audit)
''')
    template = env.template({"builders": [{"type": "null", "name": "b1", "communicator": "local"}],
                             "provisioners": [{"type": "shell", "inline": ["exit 0"], "remote_file": "script"}]})
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["b1 upload script", "b1 execute -> 0", "b1 execute -> 0"]


def test_a_hookimpl_matching_no_hookspec_is_a_broken_plugin_with_a_did_you_mean(env):
    env.add_plugin("hatchway-typo", "hatchway_typo", '''
import hatchway
class Echo(hatchway.Communicator):
    name = "typo-echo"
@hatchway.hookimpl
def register_communicator(register):
    register(Echo)
''')
    env.add_plugin("hatchway-module-connect", "hatchway_module_connect", '''
import hatchway
@hatchway.hookimpl
def connect():
    pass
''')
    result = env.hatchway("plugins", "--json")
    problems = json.loads(result.stdout)["problems"]
    assert ("plugin 'hatchway_typo' (hatchway-typo) is broken: hookimpl 'register_communicator' matches no "
            "Hatchway hook; did you mean 'register_communicators'?") in problems
    assert any(p.startswith("plugin 'hatchway_module_connect' (hatchway-module-connect) is broken: 'connect' is a "
                            "communicator hook: implement it as a method") for p in problems)
    names = {r["name"] for r in json.loads(result.stdout)["plugins"]}
    assert "hatchway_typo" not in names  # not half-loaded


def test_an_optional_hookimpl_without_a_spec_is_allowed(env):
    env.add_plugin("hatchway-future", "hatchway_future", '''
import hatchway
@hatchway.hookimpl(optionalhook=True)
def register_something_newer(register):
    pass
''')
    result = env.hatchway("plugins", "--json")
    assert json.loads(result.stdout)["problems"] == []


def test_classes_whose_hook_methods_take_unknown_arguments_are_refused_at_registration(env):
    env.add_plugin("hatchway-badargs", "hatchway_badargs", '''
import hatchway
class Lxd(hatchway.Communicator):
    name = "lxd"
    def upload(self, src, destination, transfer):
        pass
class Bake(hatchway.Provisioner):
    name = "bake"
    def provision(self, context, extra):
        pass
@hatchway.hookimpl
def register_communicators(register):
    register(Lxd)
@hatchway.hookimpl
def register_provisioners(register):
    register(Bake)
''')
    result = env.hatchway("plugins", "--json")
    problems = json.loads(result.stdout)["problems"]
    assert ("plugin 'hatchway_badargs' (hatchway-badargs) is broken: PluginError: communicator class 'Lxd' is "
            "refused: method upload(self, src, destination, transfer) takes 'src', which the hook does not pass; "
            "expected upload(self, source, destination, mode, exclude, transfer) or a subset of its arguments"
            ) in problems
    assert ("plugin 'hatchway_badargs' (hatchway-badargs) is broken: PluginError: provisioner class 'Bake' is "
            "refused: method provision(self, context, extra) does not match provision(self, ctx)") in problems
    template = env.template({"builders": [{"type": "null", "communicator": "lxd"}]})
    validate = env.hatchway("validate", str(template))
    assert validate.returncode == 1
    assert "Traceback" not in validate.stderr and "internal error" not in validate.stderr


def test_load_plugins_loads_only_the_named_plugins(env):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    env.add_plugin("hatchway-echo-one", "echo_one", GOOD)

    def loaded(value):
        result = env.hatchway("plugins", "--json", HATCHWAY_LOAD_PLUGINS=value)
        data = json.loads(result.stdout)
        return sorted(r["name"] for r in data["plugins"]), data["problems"]

    assert loaded("hatchway-recorder") == (["builtin", "hatchway_recorder"], [])
    assert loaded("echo_one, hatchway_recorder") == (["builtin", "echo_one", "hatchway_recorder"], [])
    assert loaded("") == (["builtin"], [])
    names, problems = loaded("hatchway-recorder,hatchway-nope")
    assert names == ["builtin", "hatchway_recorder"]
    assert problems == ["HATCHWAY_LOAD_PLUGINS names 'hatchway-nope', which is not installed; "
                        "loaded: builtin, hatchway_recorder"]
    template = env.template({"builders": [{"type": "null", "communicator": "local"}]})
    refused = env.hatchway("validate", str(template), HATCHWAY_LOAD_PLUGINS="")
    assert refused.returncode == 1
    assert ("no communicator named 'local' is loaded: HATCHWAY_LOAD_PLUGINS is set, and only the plugins it names "
            "are loaded") in refused.stdout + refused.stderr
    everything = env.hatchway("plugins", "--json")
    assert {"local", "echo_one", "hatchway_recorder"} <= {r["name"] for r in json.loads(everything.stdout)["plugins"]}


def test_trace_plugins_logs_every_hook_call_with_plugin_and_timing(env, tmp_path):
    log = tmp_path / "debug.log"
    template = env.template({"builders": [{"type": "null", "communicator": "local"}],
                             "provisioners": [{"type": "shell", "inline": ["echo traced"]}]})
    result = env.hatchway("build", str(template), HATCHWAY_TRACE_PLUGINS="1", HATCHWAY_LOG_PATH=str(log))
    assert result.returncode == 0, result.stderr
    text = log.read_text()
    assert re.search(r"hatchway\.plugins\.trace .*hook register_provisioners -> builtin in \d+\.\d+s", text)
    assert re.search(r"hook upload -> (observer-\S+, )*communicator-local\n", text)
    assert re.search(r"hook execute <- (observer-\S+, )*communicator-local in \d+\.\d{6}s\n", text)
    quiet = tmp_path / "quiet.log"
    env.hatchway("build", str(template), HATCHWAY_LOG_PATH=str(quiet))
    assert "hatchway.plugins.trace" not in quiet.read_text()


def test_an_observer_with_a_misnamed_hook_is_refused(env):
    env.add_plugin("hatchway-badobserver", "hatchway_badobserver", '''
import hatchway
class Watcher:
    def __init__(self, build_name):
        pass
    @hatchway.hookimpl(wrapper=True)
    def excute(self, command):
        return (yield)
@hatchway.hookimpl
def register_observers(register):
    register(Watcher)
''')
    problems = json.loads(env.hatchway("plugins", "--json").stdout)["problems"]
    assert ("plugin 'hatchway_badobserver' (hatchway-badobserver) is broken: PluginError: observer 'Watcher' is "
            "refused: hookimpl 'excute' matches no communicator hook; did you mean 'execute'?") in problems

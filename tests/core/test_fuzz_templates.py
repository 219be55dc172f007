"""Property-based fuzzing of templates: whatever the input, one clear message and never a traceback."""
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hatchway import cli
from hatchway import plugins as plugins_module

KNOWN_KEYS = ["type", "name", "communicator", "inline", "script", "scripts", "source", "destination",
              "direction", "content", "environment_vars", "execute_command", "only", "except", "override",
              "pause_before", "max_retries", "timeout", "valid_exit_codes", "expect_disconnect",
              "pause_before_connecting", "local_shell", "ssh_host", "ssh_username", "ssh_timeout"]
TEMPLATE_BITS = ["{{user `a`}}", "{{env `HOME`}}", "{{", "}}", "{{isotime \"2006\"}}", "{{ .Path }}",
                 "{{split `a,b` `,` 9}}", "{{nosuch}}", "{{upper}}", "`", "\"", "5m", "-1s", "1h30m", "x"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(TEMPLATE_BITS))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))


def section(types):
    return st.one_of(
        st.dictionaries(keys, values, max_size=6),
        st.fixed_dictionaries({"type": st.sampled_from(types)}, optional={
            k: values for k in ("name", "communicator", "inline", "source", "destination", "timeout", "only")}),
        values,
    )


templates = st.one_of(
    values,
    st.fixed_dictionaries({}, optional={
        "description": values,
        "variables": st.one_of(values, st.dictionaries(st.sampled_from(["a", "b", "HOME"]), values, max_size=3)),
        "sensitive-variables": values,
        "builders": st.one_of(values, st.lists(section(["null", "nul", "docker", ""]), max_size=3)),
        "provisioners": st.one_of(values, st.lists(section(["shell", "file", "shell-local", "bogus"]), max_size=3)),
        "post-processors": st.one_of(values, st.lists(section(["docker-tag", "x"]), max_size=2)),
        "min_packer_version": values,
    }),
)

EXAMPLES = 1000


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
@given(templates)
def test_validate_never_crashes(tmp_path_factory, capsys, data):
    path = tmp_path_factory.mktemp("fuzz") / "t.json"
    path.write_text(json.dumps(data))
    plugins_module.reset()
    code = cli.main(["validate", str(path)])  # any exception here fails the property
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in out + err
    if code == 1:
        assert err.startswith("Error: "), err
        for line in err.splitlines()[1:]:
            assert line.startswith("  * ") or line.startswith("Warning"), line


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_malformed_json_reports_line_and_column(tmp_path_factory, capsys, text):
    path = tmp_path_factory.mktemp("fuzz") / "t.json"
    path.write_text(text)
    try:
        json.loads(text)
        return
    except ValueError:
        pass
    code = cli.main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "invalid JSON at line " in err and ", column " in err


def _communicator_keys():
    """Every key of every installed communicator's config (ssh, winrm, docker, local... as installed)."""
    import attrs

    found = plugins_module.get_plugins()
    names = found.names("communicator")
    plugins_module.reset()
    return names, sorted({f.name for name in names for f in attrs.fields(found.get("communicator", name).cls.Config)})


COMMUNICATORS, COMMUNICATOR_KEYS = _communicator_keys()
HOSTILE_VALUES = ["", "0", "-1", "65536", "1e309", "5m", "-5s", "127.0.0.1", "::1", "a:b:c:d", "0:0:0",
                  "8080:localhost:80", "/nonexistent/key", "~", "SHA256:", "SHA256:" + "A" * 43, "$(touch x)", "\n",
                  "\x00", "ünï", "{{user `a`}}", "sftp", "scp", "rsa", "ntlm"]
hostile = st.sampled_from(HOSTILE_VALUES)
communicator_values = st.one_of(scalars, hostile, st.lists(hostile, max_size=3),
                                st.dictionaries(hostile, hostile, max_size=2))
communicator_builders = st.fixed_dictionaries(
    {"type": st.just("null"), "communicator": st.sampled_from(COMMUNICATORS)},
    optional={key: communicator_values for key in COMMUNICATOR_KEYS})


#: What this found first: a config class whose base's annotations did not resolve in the plugin's module
#: had no type checks at all, and the example plugin's check() got None (a traceback). Run every time.
KNOWN_CRASH = [{"type": "null", "name": "b0", "communicator": "dirmachine", "dirmachine_home": None}]


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
@given(st.lists(communicator_builders, min_size=1, max_size=2))
@example(KNOWN_CRASH)
def test_communicator_keys_never_crash_validate(tmp_path_factory, capsys, builders):
    """Every communicator's keys with hostile values: one clear message per problem, never a traceback."""
    path = tmp_path_factory.mktemp("fuzz") / "t.json"
    for i, builder in enumerate(builders):
        builder["name"] = f"b{i}"
    path.write_text(json.dumps({"builders": builders}))
    plugins_module.reset()
    code = cli.main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in out + err
    if code == 1:
        assert err.startswith("Error: "), err
        for line in err.splitlines()[1:]:
            assert line.startswith("  * ") or line.startswith("Warning"), line


def test_local_communicator_keys_are_type_checked(tmp_path, capsys):
    """The local communicator's config inherits pause_before_connecting: it is type-checked like any key."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"builders": [{"type": "null", "communicator": "local",
                                              "pause_before_connecting": "abc"}]}))
    plugins_module.reset()
    assert cli.main(["validate", str(path)]) == 1
    assert "builders[0].pause_before_connecting: 'abc' is not a duration" in capsys.readouterr().err

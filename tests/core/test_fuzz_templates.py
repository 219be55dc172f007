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


def assert_one_clear_error(err: str) -> None:
    """Warnings first (a secret too short to protect), then one ``Error:`` and its ``  * `` problems."""
    lines = err.splitlines()
    while lines and lines[0].startswith("Warning: "):
        lines.pop(0)
    assert lines and lines[0].startswith("Error: "), err
    for line in lines[1:]:
        assert line.startswith("  * ") or line.startswith("Warning"), line


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
        assert_one_clear_error(err)


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
        assert_one_clear_error(err)


def test_local_communicator_keys_are_type_checked(tmp_path, capsys):
    """The local communicator's config inherits pause_before_connecting: it is type-checked like any key."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"builders": [{"type": "null", "communicator": "local",
                                              "pause_before_connecting": "abc"}]}))
    plugins_module.reset()
    assert cli.main(["validate", str(path)]) == 1
    assert "builders[0].pause_before_connecting: 'abc' is not a duration" in capsys.readouterr().err


# -- input that is not a template at all (issue 13 §5): one message and exit 1, never a traceback, a hang
# -- or unbounded memory. Each class is generated with its sizes and placements.
def _run(capsys, *argv):
    plugins_module.reset()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


NESTING = st.tuples(st.integers(65, 100_000), st.sampled_from(["[", '{"a": ']), st.booleans())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NESTING)
@example((100_000, "[", False))
@example((50_000, '{"a": ', True))
def test_deep_nesting_is_one_clear_error(tmp_path_factory, capsys, case):
    depth, opener, in_a_builder = case
    closer = "]" if opener == "[" else "}"
    deep = opener * depth + "1" + closer * depth
    text = '{"builders": [{"type": "null", "x": %s}]}' % deep if in_a_builder else deep
    path = tmp_path_factory.mktemp("fuzz") / "t.json"
    path.write_text(text)
    code, _, err = _run(capsys, "validate", str(path))
    assert code == 1
    assert_one_clear_error(err)
    assert "nested too deeply" in err and "at most 64 deep" in err, err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(65, 6000), st.booleans(), st.sampled_from(["variables", "builders", "var-file"]))
@example(5000, False, "builders")
def test_huge_integers_are_one_clear_error(tmp_path_factory, capsys, digits, negative, where):
    number = ("-" if negative else "") + "9" * digits
    root = tmp_path_factory.mktemp("fuzz")
    texts = {"variables": '{"variables": {"v": %s}, "builders": [{"type": "null"}]}' % number,
             "builders": '{"builders": [{"type": "null", "ssh_port": %s}]}' % number,
             "var-file": '{"builders": [{"type": "null"}]}'}
    (root / "t.json").write_text(texts[where])
    (root / "vars.json").write_text('{"v": %s}' % number)
    var_file = ["-var-file", str(root / "vars.json")] if where == "var-file" else []
    argv = ["validate", *var_file, str(root / "t.json")]
    code, _, err = _run(capsys, *argv)
    assert code == 1
    assert_one_clear_error(err)
    assert f"an integer of {digits} digits; numbers here have at most 64" in err, err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0xD800, 0xDFFF), st.sampled_from(["value", "key", "variable", "var-file"]), st.text(max_size=5))
@example(0xD800, "value", "")
def test_a_lone_surrogate_is_one_clear_error(tmp_path_factory, capsys, code_point, where, around):
    escape = json.dumps(around)[1:-1] + "\\u%04x" % code_point + json.dumps(around)[1:-1]
    root = tmp_path_factory.mktemp("fuzz")
    texts = {"value": '{"builders": [{"type": "null", "name": "%s"}]}' % escape,
             "key": '{"builders": [{"type": "null", "%s": 1}]}' % escape,
             "variable": '{"variables": {"v": "%s"}, "builders": [{"type": "null"}]}' % escape,
             "var-file": '{"builders": [{"type": "null"}]}'}
    (root / "t.json").write_text(texts[where])
    (root / "vars.json").write_text('{"v": "%s"}' % escape)
    var_file = ["-var-file", str(root / "vars.json")] if where == "var-file" else []
    argv = ["validate", *var_file, str(root / "t.json")]
    code, _, err = _run(capsys, *argv)
    assert code == 1
    assert_one_clear_error(err)
    assert "a lone UTF-16 surrogate (\\u%04x)" % code_point in err, err


def _var_file(root, kind):
    import os

    path = root / f"vars-{kind}"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer for ever
    elif kind == "binary":
        path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    elif kind == "latin-1":
        path.write_bytes('{"v": "caf\xe9"}'.encode("latin-1"))
    elif kind == "huge":
        with open(path, "wb") as handle:  # sparse: no disk used
            handle.truncate(64 * 1024 * 1024)
    elif kind == "device":
        return "/dev/null"
    elif kind == "not-an-object":
        path.write_text("[1, 2]")
    elif kind == "bad-json":
        path.write_text('{"v": ')
    return str(path)


VAR_FILE_ERRORS = {"directory": "is a directory; give a JSON file",
                   "fifo": "is a named pipe (FIFO), not a regular file",
                   "binary": "is a binary file, not JSON text", "latin-1": "is not UTF-8 text",
                   "huge": "is 64.0 MiB; a JSON file here is at most 16.0 MiB",
                   "device": "is a device, not a regular file", "not-an-object": "must hold a JSON object",
                   "bad-json": "is not valid JSON: line 1, column 7"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(VAR_FILE_ERRORS)), st.sampled_from(["validate", "inspect", "build"]))
def test_a_var_file_that_is_not_a_json_file_is_one_clear_error(tmp_path_factory, capsys, kind, command):
    root = tmp_path_factory.mktemp("fuzz")
    template = root / "t.json"
    template.write_text('{"builders": [{"type": "null", "communicator": "none"}]}')
    path = _var_file(root, kind)
    code, _, err = _run(capsys, command, "-var-file", path, str(template))
    assert code == 1
    assert_one_clear_error(err)
    assert f"-var-file {path!r} {VAR_FILE_ERRORS[kind]}" in err, err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(VAR_FILE_ERRORS)))
def test_a_template_that_is_not_a_json_file_is_one_clear_error(tmp_path_factory, capsys, kind):
    if kind == "not-an-object":
        return  # a template that is a list is a validation problem, covered above
    path = _var_file(tmp_path_factory.mktemp("fuzz"), kind)
    code, _, err = _run(capsys, "validate", path)
    assert code == 1
    assert_one_clear_error(err)
    expected = VAR_FILE_ERRORS[kind].replace("is not valid JSON: line 1, column 7", "invalid JSON at line 1, column 7")
    assert expected in err, err


def _whole(text):
    try:
        return int(text) >= 0
    except ValueError:
        return False


FLAG_VALUES = {"-parallel-builds": ("0", "1", "10"), "-on-error": ("cleanup", "abort", "ask"),
               "-color": ("auto", "true", "false")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(FLAG_VALUES)), st.text(max_size=12), st.booleans())
@example("-on-error", "bogus", False)
@example("-parallel-builds", "abc", False)
@example("-parallel-builds", "-3", True)
def test_a_bad_flag_value_is_one_clear_error_naming_the_flag(tmp_path_factory, capsys, flag, value, joined):
    if value in FLAG_VALUES[flag] or (flag == "-parallel-builds" and _whole(value)):
        return
    template = tmp_path_factory.mktemp("fuzz") / "t.json"
    template.write_text('{"builders": [{"type": "null", "communicator": "none"}]}')
    argv = [f"{flag}={value}"] if joined else [flag, value]
    code, out, err = _run(capsys, "build", *argv, str(template))
    assert code == 1 and out == ""
    assert_one_clear_error(err)
    assert err.startswith(f"Error: argument {flag}/-{flag}: "), err

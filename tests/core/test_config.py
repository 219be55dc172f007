from typing import Dict, List, Literal, Optional

import attrs

from hatchway import Duration, redact
from hatchway.config import build, field_help, option


@attrs.define(kw_only=True)
class Sample:
    host: str = option(required=True, help="the host")
    port: int = option(22)
    enabled: bool = option(False)
    timeout: Duration = option(Duration("5m"), aliases=("wait_timeout",))
    method: Literal["scp", "sftp"] = option("scp")
    tags: List[str] = option(factory=list)
    labels: Dict[str, str] = option(factory=dict)
    password: Optional[str] = option(None, secret=True)
    key_file: str = option("", path=True)
    ntlm: Optional[bool] = option(None)

    def check(self):
        if self.port == 23:
            yield ("port", "telnet is not ssh", "use 22")


def test_weak_typing_like_packer():
    obj, problems = build(Sample, {"host": "h", "port": "2222", "enabled": "true", "timeout": "1h30m",
                                   "tags": ["a", "b"], "ntlm": "false"})
    assert problems == []
    assert (obj.port, obj.enabled, float(obj.timeout), obj.tags, obj.ntlm) == (2222, True, 5400.0, ["a", "b"], False)


def test_defaults_and_tristate():
    obj, _ = build(Sample, {"host": "h"})
    assert obj.port == 22 and obj.method == "scp" and obj.ntlm is None and float(obj.timeout) == 300


def test_every_problem_is_reported_with_its_path():
    obj, problems = build(Sample, {"hots": "x", "port": "twenty", "timeout": "5x", "method": "sftpp",
                                   "tags": {"a": 1}, "enabled": "maybe"}, "builders[0]")
    assert obj is None
    text = "\n".join(map(str, problems))
    assert "builders[0].hots: unknown key (did you mean 'host'?)" in text
    assert "builders[0].port: expected a whole number, got 'twenty'" in text
    assert "builders[0].timeout: '5x' is not a duration" in text
    assert "builders[0].method: must be one of 'scp', 'sftp', not 'sftpp'; did you mean 'sftp'?" in text
    assert "builders[0].tags: item 0: expected a string, got an object" in text
    assert "builders[0].enabled: expected true or false" in text
    assert "builders[0].host: is required" in text


def test_alias_is_accepted_with_a_deprecation_warning():
    obj, problems = build(Sample, {"host": "h", "wait_timeout": "10s"})
    assert float(obj.timeout) == 10
    assert [p.severity for p in problems] == ["warning"]
    assert "use 'timeout'" in str(problems[0])


def test_secret_values_are_registered_for_redaction_and_not_echoed():
    _, problems = build(Sample, {"host": "h", "password": "hunter2-pass"})
    assert redact.redact("password is hunter2-pass") == "password is <sensitive>"
    _, problems = build(Sample, {"host": "h", "password": ["not", "a", "string"]})
    assert problems and "not" not in str(problems[0])


def test_path_expands_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    obj, _ = build(Sample, {"host": "h", "key_file": "~/.ssh/id"})
    assert obj.key_file == "/home/someone/.ssh/id"


def test_check_rules_between_keys():
    obj, problems = build(Sample, {"host": "h", "port": 23}, "b")
    assert obj is None and str(problems[0]) == "b.port: telnet is not ssh (use 22)"


def test_keys_of_other_communicators_are_warnings_not_errors():
    obj, problems = build(Sample, {"host": "h", "winrm_user": "x"}, "b", others={"winrm_user": "winrm"})
    assert obj is not None
    assert problems[0].severity == "warning" and "'winrm' communicator" in str(problems[0])


def test_field_help_lists_defaults():
    rows = {r[0]: r for r in field_help(Sample)}
    assert rows["host"][2] == "required" and rows["port"][2] == "22" and rows["timeout"][1] == "duration"


def test_types_of_base_classes_and_local_classes_are_enforced():
    """Annotations resolve in their own modules (a plugin's config subclasses CommunicatorConfig)."""
    from hatchway.communicator import CommunicatorConfig

    @attrs.define(kw_only=True)
    class Local(CommunicatorConfig):
        home: str = option("/root")
        count: "int" = option(1)

    obj, problems = build(Local, {"home": [], "count": "x", "pause_before_connecting": 5})
    assert obj is None
    assert sorted(map(str, problems)) == [
        "count: expected a whole number, got 'x'",
        "home: expected a string, got a list",
        'pause_before_connecting: expected a duration string such as "5m", got 5 '
        '(a bare number would be nanoseconds in Packer; write "5s" for seconds)',
    ]


# --- Packer's weak decoding ---------------------------------------------------------------------
# packer-plugin-sdk template/config/decode.go decodes every section with mapstructure
# (v1.5.0) `WeaklyTypedInput: true` and the hooks `StringToSliceHookFunc(",")`,
# `StringToTimeDurationHookFunc()` and `stringToTrilean`; the expectations below are what
# those produce.

import pytest  # noqa: E402

from hatchway.config import Invalid, Port, convert, weak_list  # noqa: E402


@pytest.mark.parametrize("value, expected", [
    ("echo hi", ["echo hi"]),           # StringToSliceHookFunc(","): one element
    ("a,b", ["a", "b"]),                 # ... split on commas, as Packer does
    ("", []),                            # ... "" is the empty slice
    (["x"], ["x"]),
    (7, ["7"]),                          # WeaklyTypedInput: a single value becomes a slice, items weakly decoded
    ({}, []),                            # an empty map into a slice is an empty slice
])
def test_a_string_or_single_value_where_a_list_is_expected(value, expected):
    assert weak_list(value) == expected


def test_only_and_except_take_one_string_as_one_name():
    # packer-plugin-sdk template/parse.go decodes a provisioner with weakDecoder: WeaklyTypedInput
    # without StringToSliceHookFunc, so "only": "a,b" is the one name "a,b"
    assert weak_list("web", sep=None) == ["web"] and weak_list("a,b", sep=None) == ["a,b"]
    assert weak_list(["a", "b"], sep=None) == ["a", "b"]
    with pytest.raises(Invalid, match="item 0: expected a string, got an object"):
        weak_list({"a": 1}, sep=None)


def test_list_items_are_weakly_decoded_too():
    assert convert("0,2", List[int]) == [0, 2]
    assert convert(3010, List[int]) == [3010]


@pytest.mark.parametrize("value, expected", [
    ("22", 22), ("0x16", 22), ("026", 22), ("0b10110", 22), ("+22", 22), ("2_2", 22),  # strconv.ParseInt(s, 0, 64)
    ("", 0),                             # weak: "" is the zero value
    (True, 1), (False, 0),               # weak: bools to numbers
    (22.9, 22),                          # a float is truncated: int64(f)
])
def test_whole_numbers_follow_go_parseint(value, expected):
    assert convert(value, int) == expected


@pytest.mark.parametrize("value", [" 22", "22 ", "twenty", "1e3", "9" * 30, [22], {"a": 1}])
def test_whole_numbers_refuse_what_go_refuses(value):
    with pytest.raises(Invalid, match="expected a whole number"):
        convert(value, int)


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("True", True), ("TRUE", True), ("t", True), ("1", True),
    ("false", False), ("F", False), ("0", False), ("", False),  # strconv.ParseBool, "" weakly false
    (1, True), (2, True), (0, False), (0.0, False),             # weak: numbers are != 0
])
def test_bools_follow_go_parsebool(value, expected):
    assert convert(value, bool) is expected


@pytest.mark.parametrize("value", ["yes", "no", "on", "maybe", [True]])
def test_bools_refuse_what_parsebool_refuses(value):
    with pytest.raises(Invalid, match="expected true or false"):
        convert(value, bool)


@pytest.mark.parametrize("value, expected", [
    ("x", "x"), (8080, "8080"), (1.5, "1.5"), (2.0, "2"), (1e-7, "0.0000001"),  # FormatFloat(f, 'f', -1, 64)
    (True, "1"), (False, "0"),                                                 # weak: bools to "1"/"0"
])
def test_strings_from_numbers_and_bools(value, expected):
    assert convert(value, str) == expected


def test_strings_refuse_lists_and_objects():
    with pytest.raises(Invalid, match="expected a string, got a list"):
        convert(["a"], str)


def test_numbers():
    assert convert("1.5", float) == 1.5 and convert("", float) == 0.0 and convert(True, float) == 1.0


def test_durations_are_go_duration_strings():
    assert float(convert("1h30m", Duration)) == 5400 and float(convert(0, Duration)) == 0
    with pytest.raises(Invalid, match="not a duration"):
        convert("", Duration)  # time.ParseDuration("") fails in Packer too


def test_trilean_empty_string_is_unset():
    # stringToTrilean -> TrileanFromString(""): unset (packer-plugin-sdk template/config/trilean.go)
    assert convert("", Optional[bool]) is None and convert("false", Optional[bool]) is False


def test_objects_merge_a_list_of_objects_and_decode_values():
    # WeaklyTypedInput: "slice of maps to a merged map", "empty array = empty map"
    assert convert([{"a": 1}, {"b": True}], Dict[str, str]) == {"a": "1", "b": "1"}
    assert convert([], Dict[str, str]) == {}


def test_literal_choices_accept_numbers_as_strings():
    assert convert(4, Literal["4", "6"]) == "4"


def test_empty_string_or_null_for_a_number_leaves_the_default():
    obj, problems = build(Sample, {"host": "h", "port": "", "timeout": None, "tags": "v1", "enabled": ""})
    assert problems == []
    assert obj.port == 22 and float(obj.timeout) == 300 and obj.tags == ["v1"] and obj.enabled is False


@attrs.define(kw_only=True)
class Ports:
    port: Port = option(Port(22))
    proxy_port: Port = option(Port(1080))


@pytest.mark.parametrize("value", [87558, -1, 65536, "70000", "-1"])
def test_a_port_outside_1_to_65535_is_an_error_naming_the_key(value):
    obj, problems = build(Ports, {"proxy_port": value}, "builders[0]")
    assert obj is None
    assert str(problems[0]).startswith(f"builders[0].proxy_port: {int(value)} is not a TCP port: use 1-65535")


@pytest.mark.parametrize("value", [0, "0", ""])
def test_a_zero_port_is_the_default_as_in_packer(value):
    # communicator/config.go prepareSSH: `if c.SSHPort == 0 { c.SSHPort = 22 }`, same for the proxy (1080)
    obj, problems = build(Ports, {"port": value, "proxy_port": value})
    assert problems == [] and (obj.port, obj.proxy_port) == (22, 1080)


def test_a_port_as_a_string_from_a_template_function():
    obj, _ = build(Ports, {"port": "2222"})
    assert obj.port == 2222


# --- properties of the weak rules, for any input -------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(),
                               st.text(max_size=30)),
                     lambda inner: st.one_of(st.lists(inner, max_size=3),
                                             st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                     max_leaves=8)
_types = st.sampled_from([str, int, float, bool, Duration, Port, List[str], List[int], Dict[str, str],
                          Optional[bool], Optional[int], Literal["scp", "sftp"]])


@settings(max_examples=300, deadline=None)
@given(_json, _types)
def test_any_value_converts_or_is_refused_with_a_message(value, tp):
    try:
        convert(value, tp)
    except Invalid as exc:
        assert str(exc) and "Traceback" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_a_whole_number_round_trips_through_its_string(number):
    assert convert(convert(number, str), int) == number


@settings(max_examples=200, deadline=None)
@given(st.integers())
def test_a_port_is_1_to_65535_or_refused(number):
    try:
        port = convert(number, Port)
    except Invalid as exc:
        assert not 0 <= number <= 65535 and "is not a TCP port" in str(exc) or "too large" in str(exc)
    else:
        assert 0 <= port <= 65535


@attrs.define(kw_only=True)
class Defaults:
    shebang: str = option("/bin/sh -e", zero_is_default=True)
    retry: Duration = option(Duration("5m"), zero_is_default=True)
    argv: List[str] = option(factory=lambda: ["/bin/sh", "-c"], zero_is_default=True)
    plain: str = option("kept")


def test_zero_is_default_as_packers_prepare_does():
    # e.g. provisioner/shell/provisioner.go Prepare: `if p.config.InlineShebang == "" { = "/bin/sh -e" }`,
    # `if p.config.StartRetryTimeout == 0 { = 5 * time.Minute }`
    obj, problems = build(Defaults, {"shebang": "", "retry": "0s", "argv": [], "plain": ""})
    assert problems == []
    assert (obj.shebang, float(obj.retry), obj.argv, obj.plain) == ("/bin/sh -e", 300.0, ["/bin/sh", "-c"], "")

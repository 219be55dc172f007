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
                                   "tags": "a", "enabled": "maybe"}, "builders[0]")
    assert obj is None
    text = "\n".join(map(str, problems))
    assert "builders[0].hots: unknown key (did you mean 'host'?)" in text
    assert "builders[0].port: expected a whole number, got 'twenty'" in text
    assert "builders[0].timeout: '5x' is not a duration" in text
    assert "builders[0].method: must be one of 'scp', 'sftp', not 'sftpp'; did you mean 'sftp'?" in text
    assert "builders[0].tags: expected a list, got 'a'" in text
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

    obj, problems = build(Local, {"home": None, "count": "x", "pause_before_connecting": 5})
    assert obj is None
    assert sorted(map(str, problems)) == [
        "count: expected a whole number, got 'x'",
        "home: expected a string, got null",
        'pause_before_connecting: expected a duration string such as "5m", got 5',
    ]

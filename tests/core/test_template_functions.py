"""Packer's template functions (packer-plugin-sdk template/interpolate/funcs.go) on the Go engine."""
import datetime as dt

import pytest

from hatchway.template.functions import (BUILD_VALUES, PACKER_VERSION, RenderContext, RenderError, go_time_format,
                                         render, strftime)

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.timezone.utc)


def ctx(**kw):
    base = dict(variables={"name": "World", "csv": "a,b,c"}, template_dir="/tpl", build_name="web",
                build_type="null", now=NOW, env={"HOME": "/home/me"})
    base.update(kw)
    return RenderContext(**base)


@pytest.mark.parametrize("text,expected", [
    ("Hello {{user `name`}}!", "Hello World!"),
    ('{{ user "name" }}', "World"),
    ("{{env `HOME`}}", "/home/me"),
    ("{{env `MISSING`}}", ""),
    ("{{timestamp}}", str(int(NOW.timestamp()))),
    ("{{isotime}}", "2026-03-04T05:06:07Z"),
    ('{{isotime "2006-01-02"}}', "2026-03-04"),
    ('{{isotime "Jan _2 15:04:05.000 MST 06"}}', "Mar  4 05:06:07.890 UTC 26"),
    ('{{strftime "%Y-%m-%d %H:%M:%S %j %%"}}', "2026-03-04 05:06:07 063 %"),
    ("{{template_dir}}/x", "/tpl/x"),
    ("{{build_name}}-{{build_type}}", "web-null"),
    ("{{packer_version}}", PACKER_VERSION),
    ('{{split (user `csv`) "," 1}}', "b"),
    ('{{split "a" "" 0}}', "a"),  # issue 13 §5: Go's strings.Split with "" splits into characters
    ('{{split "héllo" "" 1}}', "é"),
    ('{{ replace "a" "A" -1 "banana" }}', "bAnAnA"),
    ('{{ replace "a" "A" 1 "banana" }}', "bAnana"),
    ('{{ replace "a" "A" 9223372036854775807 "banana" }}', "bAnAnA"),  # issue 13 §5: a huge count
    ('{{ replace "" "-" -1 "ab" }}', "-a-b-"),
    ('{{ replace_all "-" "_" "a-b-c" }}', "a_b_c"),
    ("{{user `name` | upper}}", "WORLD"),
    ("{{ lower (user `name`) }}", "world"),
    ("{{ clean_resource_name \"My Build: 2026-03-04T05:06:07Z\" }}", "my-build--2026-03-04t05-06-07z"),
    ("{{isotime | clean_resource_name}}", "2026-03-04t05-06-07z"),
    ("a {{- user `name` -}} b", "aWorldb"),
    ("{{if eq (user `name`) \"World\"}}hi{{else}}bye{{end}}", "hi"),
    ("{{printf \"%s-%03d\" (user `name`) 7}}", "World-007"),
    ("no functions here", "no functions here"),
])
def test_render(text, expected):
    assert render(text, ctx()) == expected


def test_uuid_and_pwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert render("{{pwd}}", ctx()) == str(tmp_path)
    a, b = render("{{uuid}}", ctx()), render("{{uuid}}", ctx())
    assert len(a) == 36 and a != b


def test_fields_are_kept_until_data_is_known():
    text = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
    assert render(text, ctx()) == text
    assert render(text, ctx(data={"Path": "/tmp/s.sh", "Vars": "A='1'"})) == "chmod +x /tmp/s.sh; A='1' /tmp/s.sh"


def test_build_is_late_and_only_where_packer_allows_it():
    # funcs.go funcGenBuild reads the build's generated data (Host, Port...: packer/provisioner.go
    # BasicPlaceholderData); builders get no such data, so Packer refuses it there.
    text = "ssh {{build `User`}}@{{build `Host`}} -p {{build `Port`}}"
    assert render(text, ctx()) == text  # not known yet: kept for the runner
    values = dict.fromkeys(BUILD_VALUES, "")
    values.update(User="me", Host="10.0.0.5", Port="2222")
    assert render(text, ctx(build_values=values)) == "ssh me@10.0.0.5 -p 2222"
    with pytest.raises(RenderError, match="build is not available in builders"):
        render("{{build `Host`}}", ctx(allow_build=False))
    with pytest.raises(RenderError, match="build is not available in variables"):
        render("{{build `Host`}}", ctx(in_variables=True))
    with pytest.raises(RenderError, match="couldn't find Hots in it"):
        render("{{build `Hots`}}", ctx())


@pytest.mark.parametrize("text,message", [
    ("{{user `nope`}}", "unknown variable 'nope' (defined: csv, name)"),
    ("{{usr `name`}}", "1:3: function \"usr\" not defined; did you mean 'user'?"),
    ("{{ .Nope }}", "can't evaluate field Nope"),
    ("{{user `name`", "1:1: unclosed action"),
    # funcs.go funcGenSplitter: "the substring %d was unavailable using the separator value..."
    ("{{split `a` `,` 5}}", "the substring 5 was unavailable using the separator value, ,, only 1 values were found"),
    # issue 13 §7: a negative index is an error, as Go's slice indexing panics in Packer
    ("{{split `a,b` `,` -1}}", "index out of range [-1]"),
    # issue 13 §5: a count that is not a number is Go's argument error, not a traceback
    ('{{replace "a" "b" "n" "abc"}}', 'expected integer; found "n"'),
    # a constant too big for Go's int is not an integer (exec.go evalInteger)
    ('{{replace "a" "b" 99999999999999999999999 "abc"}}', "expected integer; found 99999999999999999999999"),
    ("{{ upper }}", "wrong number of args for upper: want 1 got 0"),
    ("{{ user `a` `b` }}", "wrong number of args for user: want 1 got 2"),
    ("{{isotime `a` `b`}}", "too many values, 1 needed"),
    # funcs.go funcGenSed: deprecated, says what to use instead
    ("{{sed `s/a/b/` `abc`}}", "template function `sed` is deprecated: use `replace` or `replace_all` instead"),
    # vault, consul_key and aws_secretsmanager come from plugins here
    ("{{vault `secret/x` `k`}}", "the function vault is provided by a plugin: install it with "
                                  "hatchway plugins install hatchway-vault"),
    ("{{consul_key `a/b`}}", "pip install hatchway-consul"),
    ("{{aws_secretsmanager `s`}}", "pip install hatchway-aws-secrets"),
])
def test_errors_say_what_is_wrong(text, message):
    with pytest.raises(RenderError) as info:
        render(text, ctx(data={"Path": "p"}))
    assert message in str(info.value)


def test_plugin_functions_take_and_return_strings():
    calls = []

    def vault(path, key):
        calls.append((path, key))
        return f"secret-of-{key}"

    c = ctx(functions={"vault": vault, "join": lambda *parts: "+".join(parts)})
    assert render("{{vault `secret/app` `password`}} {{join `a` `b` `c`}}", c) == "secret-of-password a+b+c"
    assert calls == [("secret/app", "password")]
    with pytest.raises(RenderError, match="wrong number of args for vault: want 2 got 1"):
        render("{{vault `x`}}", c)


def test_strftime_directives():
    # jehiah/go-strftime, which Packer's strftime uses (funcs.go funcGenStrftime)
    assert strftime(NOW, "%a %A %b %B %d %e %H %I %M %p %S %y %Y %z %Z %F %T %D %R %L %f %C %u %w %Q") == \
        "Wed Wednesday Mar March 04  4 05 05 06 AM 07 26 2026 +0000 UTC 2026-03-04 05:06:07 03/04/26 05:06 890 " \
        "890123 20 3 3 %Q"


def test_go_layout_with_offset():
    t = dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert go_time_format(t, "2006-01-02T15:04:05Z07:00") == "2026-01-02T15:04:05-07:00"
    assert go_time_format(t, "Monday 3PM -0700") == "Friday 3PM -0700"

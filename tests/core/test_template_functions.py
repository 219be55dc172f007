import datetime as dt

import pytest

from hatchway.template.functions import RenderContext, RenderError, go_time_format, render

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
    ("{{template_dir}}/x", "/tpl/x"),
    ("{{build_name}}-{{build_type}}", "web-null"),
    ('{{split (user `csv`) "," 1}}', "b"),
    ('{{ replace "a" "A" -1 "banana" }}', "bAnAnA"),
    ('{{ replace "a" "A" 1 "banana" }}', "bAnana"),
    ('{{ replace_all "-" "_" "a-b-c" }}', "a_b_c"),
    ("{{user `name` | upper}}", "WORLD"),
    ("{{ lower (user `name`) }}", "world"),
    ("a {{- user `name` -}} b", "aWorldb"),
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


@pytest.mark.parametrize("text,message", [
    ("{{user `nope`}}", "unknown variable 'nope' (defined: csv, name)"),
    ("{{usr `name`}}", "unknown function 'usr'; did you mean 'user'?"),
    ("{{ .Nope }}", "unknown field '.Nope'"),
    ("{{user `name`", "unclosed"),
    ("{{split `a` `,` 5}}", "index 5 out of range"),
    ("{{ upper }}", "wrong number of arguments to 'upper'"),
    ("{{ user `a` `b` }}", "wrong number of arguments"),
])
def test_errors_say_what_is_wrong(text, message):
    with pytest.raises(RenderError) as info:
        render(text, ctx(data={"Path": "p"}))
    assert message in str(info.value)


def test_every_bad_action_in_a_string_is_reported():
    with pytest.raises(RenderError) as info:
        render("{{user `a`}} {{bogus}}", ctx())
    assert "'a'" in str(info.value) and "'bogus'" in str(info.value)


def test_go_layout_with_offset():
    t = dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert go_time_format(t, "2006-01-02T15:04:05Z07:00") == "2026-01-02T15:04:05-07:00"
    assert go_time_format(t, "Monday 3PM -0700") == "Friday 3PM -0700"

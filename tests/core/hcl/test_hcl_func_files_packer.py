"""Filesystem functions, Packer's contextual functions (templatefile, env, vault, consul_key,
aws_secretsmanager), convert, and the calling conventions of ``functions.call``."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from hatchway.template.hcl import functions as F
from hatchway.template.hcl.functions import FunctionContext, FunctionError, call
from hatchway.template.hcl.values import NUMBER, STRING, UNKNOWN, List, Object, SetValue, Unknown

PACKER_116 = """
abs abspath alltrue anytrue aws_secretsmanager aws_secretsmanager_raw base64decode base64encode
base64gzip basename bcrypt can ceil chomp chunklist cidrhost cidrnetmask cidrsubnet cidrsubnets
coalesce coalescelist compact concat consul_key contains convert csvdecode dirname distinct element
endswith file filebase64 fileexists fileset flatten floor format formatdate formatlist indent index
join jsondecode jsonencode keys legacy_isotime legacy_strftime length log lookup lower max md5 merge
min parseint pathexpand pow range regex regex_replace regexall replace reverse rfc3339_parse
rsadecrypt setintersection setproduct setunion sha1 sha256 sha512 signum slice sort split startswith
strcontains strrev substr sum templatefile textdecodebase64 textencodebase64 timeadd timestamp title
trim trimprefix trimspace trimsuffix try unix_timestamp_parse upper urlencode uuidv4 uuidv5 values
vault yamldecode yamlencode zipmap
""".split()


def test_every_packer_function_is_known_except_can_and_try():
    assert len(PACKER_116) == 103
    expected = (set(PACKER_116) - {"can", "try"}) | {"env"}
    assert set(F.names()) == expected


def test_unknown_function_name_and_suggestions():
    with pytest.raises(KeyError):
        call("uper", ["x"])
    assert "upper" in F.suggest("uper")
    assert F.suggest("jsonencod")[0] == "jsonencode"


def test_argument_count_errors_are_worded_as_hcl():
    with pytest.raises(FunctionError) as info:
        call("substr", ["a", 1])
    assert info.value.summary == "Not enough function arguments"
    assert str(info.value) == 'Function "substr" expects 3 argument(s). Missing value for "length".'
    with pytest.raises(FunctionError) as info:
        call("upper", ["a", "b"])
    assert info.value.summary == "Too many function arguments"
    assert str(info.value) == 'Function "upper" expects only 1 argument(s).'
    assert info.value.arg_index == 1
    with pytest.raises(FunctionError) as info:
        call("join", [])
    assert str(info.value) == 'Function "join" expects at least 1 argument(s). Missing value for "separator".'


# -- filesystem --------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "hello.txt").write_text("Hello World")
    (tmp_path / "files" / "world.txt").write_text("world")
    (tmp_path / "files" / "other.md").write_text("md")
    (tmp_path / "files" / "sub").mkdir()
    (tmp_path / "files" / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "files" / ".hidden.txt").write_text("h")
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00")
    return tmp_path


def test_file_reads_from_path_root(tree):
    ctx = FunctionContext(base_dir=str(tree))
    assert call("file", ["files/hello.txt"], ctx) == "Hello World"
    assert call("file", [str(tree / "files" / "world.txt")], ctx) == "world"
    with pytest.raises(FunctionError) as info:
        call("file", ["missing.txt"], ctx)
    assert str(info.value) == f'Call to function "file" failed: no file exists at {tree}/missing.txt.'
    with pytest.raises(FunctionError, match="are not valid UTF-8; use the filebase64 function"):
        call("file", ["binary.bin"], ctx)


def test_fileexists(tree):
    ctx = FunctionContext(base_dir=str(tree))
    assert call("fileexists", ["files/hello.txt"], ctx) is True
    assert call("fileexists", ["files/nope.txt"], ctx) is False
    mode = stat.filemode(os.stat(tree / "files").st_mode)
    with pytest.raises(FunctionError) as info:
        call("fileexists", ["files"], ctx)
    assert str(info.value) == f'Call to function "fileexists" failed: {tree}/files is not a regular file, but "{mode}".'


@pytest.mark.parametrize("path, pattern, result", [
    (".", "files/*.txt", [".hidden.txt", "hello.txt", "world.txt"]),
    ("files", "*.txt", [".hidden.txt", "hello.txt", "world.txt"]),
    (".", "files/{hello,world}.txt", ["hello.txt", "world.txt"]),
    (".", "files/**/*.txt", [".hidden.txt", "hello.txt", "sub/deep.txt", "world.txt"]),
    (".", "**", ["binary.bin", "files/.hidden.txt", "files/hello.txt", "files/other.md",
                 "files/sub/deep.txt", "files/world.txt"]),
    (".", "files/?????.txt", ["hello.txt", "world.txt"]),
    (".", "files/[hw]*.txt", ["hello.txt", "world.txt"]),
    (".", "files/hello.txt", ["hello.txt"]),
    (".", "files/sub", []),
    (".", "nothing/*", []),
])
def test_fileset_uses_doublestar_globs(tree, path, pattern, result):
    ctx = FunctionContext(base_dir=str(tree))
    got = call("fileset", [path, pattern], ctx)
    assert isinstance(got, SetValue)
    prefix = "files/" if path == "." and pattern.startswith("files/") else ""
    assert list(got) == sorted(prefix + r for r in result)


def test_path_functions(tree, monkeypatch):
    monkeypatch.chdir(tree)
    monkeypatch.setenv("HOME", "/home/builder")
    ctx = FunctionContext(base_dir=str(tree))
    assert call("abspath", ["files/../files/hello.txt"], ctx) == f"{tree}/files/hello.txt"
    assert call("abspath", ["/etc/./hosts"], ctx) == "/etc/hosts"
    assert call("basename", ["foo/bar/baz.txt"], ctx) == "baz.txt"
    assert call("basename", ["foo/bar/"], ctx) == "bar"
    assert call("basename", [""], ctx) == "."
    assert call("basename", ["/"], ctx) == "/"
    assert call("dirname", ["foo/bar/baz.txt"], ctx) == "foo/bar"
    assert call("dirname", ["baz.txt"], ctx) == "."
    assert call("dirname", ["/foo/bar/"], ctx) == "/foo/bar"
    assert call("pathexpand", ["~/.ssh/id_rsa"], ctx) == "/home/builder/.ssh/id_rsa"
    assert call("pathexpand", ["/etc/resolv.conf"], ctx) == "/etc/resolv.conf"
    with pytest.raises(FunctionError, match="cannot expand user-specific home dir"):
        call("pathexpand", ["~root/x"], ctx)


def test_filebase64_reads_relative_to_the_working_directory(tree, monkeypatch):
    monkeypatch.chdir(tree)
    ctx = FunctionContext(base_dir="/nonexistent")
    assert call("filebase64", ["binary.bin"], ctx) == base64.b64encode(b"\xff\xfe\x00").decode()
    with pytest.raises(FunctionError) as info:
        call("filebase64", ["nope"], ctx)
    assert str(info.value) == ('Call to function "filebase64" failed: failed to read file "nope": '
                               'open nope: no such file or directory.')


# -- Packer's contextual functions -------------------------------------------------------------

def test_templatefile_renders_with_the_context_renderer(tree):
    (tree / "hello.tmpl").write_text("Hello, ${name}!")
    seen = []

    def render(text, variables, filename):
        seen.append((text, dict(variables), filename))
        return text.replace("${name}", variables["name"])

    ctx = FunctionContext(base_dir=str(tree), render_template=render)
    assert call("templatefile", ["hello.tmpl", {"name": "Jodie"}], ctx) == "Hello, Jodie!"
    assert seen == [("Hello, ${name}!", {"name": "Jodie"}, "hello.tmpl")]
    with pytest.raises(FunctionError) as info:
        call("templatefile", ["hello.tmpl", ["x"]], ctx)
    assert str(info.value) == 'Invalid value for "vars" parameter: invalid vars value: must be a map.'
    with pytest.raises(FunctionError) as info:
        call("templatefile", ["hello.tmpl", {"not valid": 1}], ctx)
    assert str(info.value) == ('Invalid value for "vars" parameter: invalid template variable name "not valid": '
                               'must start with a letter, followed by zero or more letters, digits, and underscores.')
    with pytest.raises(FunctionError, match="no file exists at"):
        call("templatefile", ["nope.tmpl", {}], ctx)


def test_env(monkeypatch):
    monkeypatch.setenv("HATCHWAY_TEST_VALUE", "yes")
    monkeypatch.delenv("HATCHWAY_TEST_UNSET", raising=False)
    assert call("env", ["HATCHWAY_TEST_VALUE"]) == "yes"
    assert call("env", ["HATCHWAY_TEST_UNSET"]) == ""


@pytest.mark.parametrize("name, args", [
    ("vault", ["/secret/data/hello", "foo"]),
    ("consul_key", ["key/path"]),
    ("aws_secretsmanager", ["my-secret", "key"]),
    ("aws_secretsmanager_raw", ["my-secret"]),
])
def test_service_functions_come_from_plugins(name, args):
    calls = []

    def provided(*given):
        calls.append(given)
        return "value-from-plugin"

    ctx = FunctionContext(extra={name: provided})
    assert call(name, args, ctx) == "value-from-plugin"
    assert calls == [tuple(args)]
    with pytest.raises(FunctionError) as info:
        call(name, args, FunctionContext())
    assert info.value.summary == "Error in function call"
    assert str(info.value).startswith(
        f'Call to function "{name}" failed: {name}() is provided by a plugin and no installed plugin provides it; install ')
    assert f'register_template_functions hook registers "{name}")' in str(info.value)

    def failing(*given):
        raise RuntimeError("permission denied")

    with pytest.raises(FunctionError) as info:
        call(name, args, FunctionContext(extra={name: failing}))
    assert str(info.value) == f'Call to function "{name}" failed: permission denied.'


def test_convert_takes_a_type():
    assert call("convert", [[1, "a"], List(STRING)]) == ["1", "a"]
    assert call("convert", [{"a": "5"}, Object({"a": NUMBER})]) == {"a": 5}
    assert call("convert", [None, STRING]) is None
    assert call("convert", [UNKNOWN, List(STRING)]) == Unknown(List(STRING))
    with pytest.raises(FunctionError) as info:
        call("convert", ["abc", NUMBER])
    assert str(info.value) == 'Invalid value for "value" parameter: cannot convert string to number: a number is required.'
    with pytest.raises(FunctionError) as info:
        call("convert", [{"a": 1}, List(STRING)])
    assert str(info.value) == 'Invalid value for "value" parameter: list of string required.'


def test_heavy_dependencies_load_only_when_a_function_needs_them():
    import subprocess
    import sys

    code = ("import sys\n"
            "from hatchway.template.hcl import functions as F\n"
            "F.call('upper', ['x']); F.names()\n"
            "heavy = [m for m in ('re2', 'yaml', 'bcrypt', 'cryptography') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "F.call('regex', ['a', 'a'])\n"
            "assert 're2' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

"""The plugin's PowerShell: every script parses with a real PowerShell grammar, fits a command line,
and takes any path as data; plus the envelope arithmetic the upload relies on."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
import tree_sitter
import tree_sitter_powershell

from hatchway.config import build
from hatchway_winrm import scripts
from hatchway_winrm.clixml import clean
from hatchway_winrm.provisioners import PS_EXECUTE, PowerShellConfig, ps_escape, ps_quote, wrap_inline
from hatchway_winrm.transfers import FIRST_CHUNK, SMALL_CHUNK, wire_size

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
AWKWARD = "C:/Users/x/it's a \"$(whoami)\" `n ‘quoted’ 日本/file name.txt"
ARGS = {"path": AWKWARD, "mode": "755", "unzip": "0"}


def parses(text: str) -> bool:
    return not PARSER.parse(text.encode("utf-8")).root_node.has_error


def test_the_grammar_rejects_broken_powershell():
    assert not parses("if ($x { Write-Output 1 }")
    assert parses("if ($x) { Write-Output 1 }")


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_each_script_parses_as_kept_and_as_sent_and_names_no_standin(name):
    source = scripts.source(name)
    assert "hatchway-standin" not in source  # the test server identifies it by its SHA-256 (issue 11)
    assert parses(source)
    rendered = scripts.render(name, ARGS)
    assert parses(rendered), rendered
    assert parses(scripts.render(name, ARGS, compact=False))


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_each_shipped_script_has_a_reviewed_standin(name):
    """The stand-in table (tests/servers/wsman/standins/shipped.py) has this script's current SHA-256."""
    from servers.wsman.standins import REGISTRY
    from servers.wsman.standins.shipped import SHIPPED

    digest = hashlib.sha256(scripts.render(name, {}).encode("utf-8")).hexdigest()
    row = SHIPPED.get(digest)
    if row is None:
        old = [f"{k[:12]}... ({v.standin})" for k, v in SHIPPED.items() if v.script == f"ps/{name}.ps1"]
        pytest.fail(
            f"plugins/winrm/hatchway_winrm/ps/{name}.ps1 changed: its SHA-256 is now {digest}, the stand-in "
            f"table has {', '.join(old) or 'no row for it'}. Review the stand-in "
            f"({', '.join(v.standin for v in SHIPPED.values() if v.script == f'ps/{name}.ps1') or 'a new one'}"
            f" in tests/servers/wsman/standins/) against the new script, then put the new hash in "
            f"tests/servers/wsman/standins/shipped.py.", pytrace=False)
    assert row.script == f"ps/{name}.ps1" and row.standin in REGISTRY


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_the_server_hashes_a_sent_script_as_the_table_does(name):
    from servers.wsman.powershell import script_sha256

    rendered = scripts.render(name, ARGS)
    assert script_sha256(rendered) == hashlib.sha256(scripts.render(name, {}).encode("utf-8")).hexdigest()
    # the argument lines are told apart by their braced form, which the scripts' own code never uses
    assert "${" not in scripts.source(name)


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_paths_travel_as_base64_never_as_powershell_text(name):
    rendered = scripts.render(name, ARGS)
    assert AWKWARD not in rendered and "whoami" not in rendered
    if "# hatchway-args" in scripts.source(name):
        found = re.search(r"^\$\{path\} = '([A-Za-z0-9+/=]+)'$", rendered, re.M)
        assert found and base64.b64decode(found.group(1)).decode("utf-8") == AWKWARD


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_command_line_fits_windows_even_with_a_long_path(name):
    script = scripts.render(name, dict(ARGS, path="C:/" + "d" * 250))
    exe, args = scripts.powershell_command(script)
    line = " ".join((exe,) + args)
    assert len(line) <= scripts.CMD_LIMIT
    assert base64.b64decode(args[-1]).decode("utf-16-le") == script


def test_a_script_too_long_for_windows_is_refused_with_the_reason():
    with pytest.raises(Exception) as info:
        scripts.powershell_command("x" * 20000, "uploading to 'C:/x'")
    assert "command line" in str(info.value) and "C:/x" in str(info.value)


def test_chunks_fit_the_envelopes_windows_uses():
    assert wire_size(FIRST_CHUNK) < 500 * 1024 and wire_size(FIRST_CHUNK) > 400 * 1024
    assert wire_size(SMALL_CHUNK) < 150 * 1024


def test_clixml_error_records_become_plain_text():
    data = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            b'<S S="Error">hatchway: no such file_x000D__x000A_</S><S S="Error">second</S></Objs>')
    assert clean(data) == "hatchway: no such file\r\nsecond\n"
    assert clean(b"plain text\n") == "plain text\n"


def test_powershell_literals_expand_nothing():
    for value in ["it's", "‘x’", "$(whoami)", "a`nb", "日本"]:
        text = f"$x = {ps_quote(value)}"
        assert parses(text)
    assert ps_quote("it's") == "'it''s'"


def test_env_values_are_escaped_like_packer_and_parse():
    # provisioner/powershell/provisioner.go psEscape: $ " ` ' get a backtick (plus the “ ” „ quotes)
    assert ps_escape('it\'s "$(x)" `n') == 'it`\'s `"`$(x)`" ``n'
    assert ps_escape("“q”") == "`“q`”"
    from hatchway.builtin.scripts import flatten_env

    env = flatten_env({"B_2": "“q” $(x)", "A": "it's"}, '$env:%s="%s"; ', ps_escape)
    assert env == '$env:A="it`\'s"; $env:B_2="`“q`” `$(x)"; '
    assert parses(env)


def test_inline_commands_are_wrapped_as_packer_wraps_them_and_parse():
    # provisioner/powershell/provisioner.go wrapPowershellString / extractInlineScript
    text = wrap_inline(["Write-Output 1", "exit 3"], '$env:A="1"; ', 1)
    assert parses(text)
    assert "Set-PsDebug -Trace 1\r\n$exitCode = 0\r\ntry {\r\n$env:A=\"1\"; \r\nWrite-Output 1\r\nexit 3\r\n" in text
    assert text.endswith("exit $exitCode\r\n")


@pytest.mark.parametrize("keys, inline, expected", [
    # provisioner/powershell/provisioner.go defaultExecuteCommand / defaultScriptCommand
    ({}, True, "powershell -executionpolicy bypass -file {{.Path}}"),
    ({"execution_policy": "RemoteSigned"}, True, "powershell -executionpolicy remotesigned -file {{.Path}}"),
    ({"use_pwsh": True}, True, "pwsh -executionpolicy bypass -file {{.Path}}"),
    ({"execution_policy": "none"}, True, "-file {{.Path}}"),
    ({"execution_policy": "3"}, True, "powershell -executionpolicy remotesigned -file {{.Path}}"),
    ({}, False, PS_EXECUTE),
    ({"use_pwsh": True}, False, PS_EXECUTE.replace('powershell -executionpolicy bypass "',
                                                   'pwsh -executionpolicy bypass -command "')),
    ({"debug_mode": 2}, False, PS_EXECUTE.replace(";. {{.Vars}}", ";Set-PsDebug -Trace 2;. {{.Vars}}")),
])
def test_default_commands_follow_execution_policy_and_use_pwsh(keys, inline, expected):
    config, problems = build(PowerShellConfig, {"inline": ["x"], **keys})
    assert problems == []
    assert config.default_command(inline) == expected


def test_default_powershell_execute_command_parses_once_rendered():
    rendered = PS_EXECUTE.replace("{{.Vars}}", "c:/Windows/Temp/vars.ps1").replace("{{.Path}}", "c:/Windows/Temp/s.ps1")
    inner = rendered[rendered.index('"') + 1: rendered.rindex('"')]
    assert parses(inner), inner


def test_a_bare_413_is_recognised_as_too_large():
    """Windows' 413 may come without a SOAP body (pywinrm then raises WinRMTransportError, not a fault)."""
    from winrm.exceptions import WinRMTransportError

    from hatchway_winrm.config import WinRMConfig
    from hatchway_winrm.diagnosis import EnvelopeTooLarge, translate
    from hatchway_winrm.session import Session

    session = Session(WinRMConfig(winrm_username="u", winrm_password="secret-pw"), "192.0.2.1", 5985)
    assert isinstance(translate(WinRMTransportError("http", 413, ""), session), EnvelopeTooLarge)
    error = translate(WinRMTransportError("http", 404, "Not Found"), session)
    assert "winrm_port" in str(error) and "http://192.0.2.1:5985/wsman" in str(error)

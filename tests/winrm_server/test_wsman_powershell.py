"""The server's PowerShell handling on its own: command-line recognition, decoding, grammar check, args."""
from __future__ import annotations

import base64

import pytest

from servers.wsman import powershell


def _encode(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


@pytest.mark.parametrize("line", [
    "powershell -encodedcommand {}",
    "PowerShell.exe -NoProfile -NonInteractive -EncodedCommand {}",
    r'"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -enc {}',
    "powershell -ec {}",
    "pwsh -e {}",
])
def test_encoded_command_is_found_and_decoded(line):
    script = "Write-Output 'héllo'\n"
    encoded = line.format(_encode(script))
    assert powershell.is_powershell(encoded)
    assert powershell.encoded_script(encoded) == script


@pytest.mark.parametrize("line", ["cmd /c dir", "echo powershell -EncodedCommand", "powershellx -e AAAA", ""])
def test_other_command_lines_are_not_powershell(line):
    assert not powershell.is_powershell(line)


def test_powershell_without_encoded_command_has_no_script():
    assert powershell.encoded_script("powershell -Command Get-Date") is None


def test_bad_base64_is_an_error_naming_the_parameter():
    with pytest.raises(ValueError, match="EncodedCommand"):
        powershell.encoded_script("powershell -EncodedCommand not*base64")


def test_command_line_split_honours_double_quotes():
    assert powershell.split_command_line('a "b c"  d""e') == ["a", "b c", "de"]


def test_valid_script_has_no_syntax_errors():
    script = (
        "param([string]$Path)\n"
        "$ErrorActionPreference = 'Stop'\n"
        "begin { $sha = [Security.Cryptography.SHA256]::Create() }\n"
        "process { foreach ($line in $input) { $bytes = [Convert]::FromBase64String($line) } }\n"
        "end { Write-Output ('{0}' -f $Path) }\n"
    )
    assert powershell.syntax_errors(script) == []


@pytest.mark.parametrize("script", ["if ($true {", "function f { 'x'", "$a = @(1, 2", "foreach ($x in ) { }"])
def test_broken_scripts_report_the_line(script):
    errors = powershell.syntax_errors(script)
    assert errors and all(error.startswith("At line:") for error in errors)


def test_args_are_read_from_assignments_at_column_0():
    script = (
        "# hatchway-standin: upload\n"
        "$path = 'C:\\it''s here\\$x ü'\n"
        "$size = 1024\n"
        "$force = $true\n"
        "$path = 'second ignored'\n"
        "  $indented = 'not an argument'\n"
    )
    assert powershell.script_args(script) == {"path": "C:\\it's here\\$x ü", "size": 1024, "force": True}
    assert powershell.standin_name(script) == "upload"


def test_braced_argument_lines_are_arguments_and_are_left_out_of_the_hash():
    script = "${path} = 'YQ=='\nWrite-Output 1\n"
    assert powershell.script_args(script) == {"path": "YQ=="}
    assert powershell.without_arguments(script) == "Write-Output 1\n"
    assert powershell.script_sha256(script) == powershell.script_sha256("Write-Output 1\n")
    assert powershell.script_sha256(script) != powershell.script_sha256("$path = 'YQ=='\nWrite-Output 1\n")


def test_standin_name_is_absent_without_marker():
    assert powershell.standin_name("# a comment\nWrite-Output 1") is None


def test_registering_a_name_twice_is_refused():
    from servers.wsman.standins import REGISTRY, standin

    with pytest.raises(ValueError, match="registered twice"):
        standin("echo")(lambda ctx: 0)
    assert REGISTRY["echo"].__module__.endswith("standins.echo")

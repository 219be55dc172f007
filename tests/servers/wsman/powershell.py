"""PowerShell command lines: recognise ``powershell -EncodedCommand``, decode, syntax-check, identify the script.

The syntax check uses the tree-sitter PowerShell grammar (PyPI ``tree-sitter-powershell``): a script
that does not parse fails like PowerShell would, before any stand-in runs.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from typing import Any, Dict, List, Optional

POWERSHELL_NAMES = {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}
_MARKER = re.compile(r"^\s*#\s*hatchway-standin:\s*(?P<name>[\w.-]+)\s*$", re.MULTILINE)
_ASSIGNMENT = re.compile(
    r"^\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<name>[A-Za-z_]\w*))\s*=\s*"
    r"(?:'(?P<sq>(?:[^']|'')*)'|(?P<num>-?\d+)|\$(?P<bool>true|false|null))\s*;?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
#: An argument line hatchway_winrm.scripts.render puts in: ``${name} = '<base64>'``.
_ARGUMENT_LINE = re.compile(r"^\$\{[A-Za-z_]\w*\} = '[A-Za-z0-9+/=]*'$")

_parser_lock = threading.Lock()
_parser = None


class NotPowerShell(Exception):
    """The command line does not start powershell.exe."""


def split_command_line(line: str) -> List[str]:
    """Split a Windows command line on unquoted whitespace (quotes removed, no escapes: enough here)."""
    tokens: List[str] = []
    current: List[str] = []
    quoted = False
    started = False
    for char in line:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                tokens.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        tokens.append("".join(current))
    return tokens


def is_powershell(line: str) -> bool:
    tokens = split_command_line(line)
    if not tokens:
        return False
    exe = re.split(r"[\\/]", tokens[0])[-1].lower()
    return exe in POWERSHELL_NAMES


def encoded_script(line: str) -> Optional[str]:
    """The script of ``powershell ... -EncodedCommand <b64 UTF-16LE>`` (any case, any unique prefix).

    Returns None when there is no -EncodedCommand; raises ValueError when it does not decode.
    """
    tokens = split_command_line(line)
    for i, token in enumerate(tokens[1:], start=1):
        low = token.lower()
        if low == "-ec" or (len(low) >= 2 and "-encodedcommand".startswith(low)):
            if i + 1 >= len(tokens):
                raise ValueError("-EncodedCommand is missing its argument")
            try:
                return base64.b64decode(tokens[i + 1], validate=True).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ValueError(f"Cannot process the command because the value specified with -EncodedCommand is not properly encoded: {exc}") from exc
    return None


def file_script(line: str, cwd: str) -> Optional[str]:
    """The script of ``powershell ... -File <path>`` (any case, ``-f``), read relative to ``cwd``.

    Returns None when there is no -File; raises OSError when the file cannot be read. Windows
    paths (``C:/Windows/Temp/x.ps1``) are read under ``cwd``, as the stand-ins write them.
    """
    tokens = split_command_line(line)
    for i, token in enumerate(tokens[1:], start=1):
        low = token.lower()
        if low in ("-f", "-fi", "-fil", "-file") and i + 1 < len(tokens):
            path = os.path.normpath(os.path.join(cwd, tokens[i + 1]))
            with open(path, encoding="utf-8-sig") as handle:
                return handle.read()
    return None


def syntax_errors(script: str) -> List[str]:
    """Parse ``script`` with tree-sitter-powershell; one message per error node (empty list: parses)."""
    global _parser
    with _parser_lock:
        if _parser is None:
            import tree_sitter_powershell
            from tree_sitter import Language, Parser

            _parser = Parser(Language(tree_sitter_powershell.language()))
        tree = _parser.parse(script.encode("utf-8"))
    if not tree.root_node.has_error:
        return []
    errors: List[str] = []
    lines = script.splitlines()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        erroneous = [child for child in node.children if child.has_error or child.is_missing]
        if node.type == "ERROR" or node.is_missing or (node.has_error and not erroneous):
            row, col = node.start_point
            source = lines[row].strip() if row < len(lines) else ""
            if node.type == "ERROR":
                what = "unexpected token"
            else:
                what = f"missing or incomplete {node.type}"
            errors.append(f"At line:{row + 1} char:{col + 1}: {what}: {source[:120]}")
            continue
        stack.extend(reversed(erroneous))
    return errors or ["the script does not parse (tree-sitter reported an error)"]


def standin_name(script: str) -> Optional[str]:
    """The ``# hatchway-standin: <name>`` marker of a script a test or benchmark wrote itself."""
    match = _MARKER.search(script)
    return match.group("name") if match else None


def without_arguments(script: str) -> str:
    """``script`` with the ``${name} = '<base64>'`` lines hatchway_winrm.scripts.render adds left out.

    For a hatchway-winrm script this is ``scripts.render(name, {})``: the script as shipped in
    ``ps/<name>.ps1``, in the form it travels (comments, blank lines and indentation dropped).
    """
    kept = [line for line in script.splitlines() if not _ARGUMENT_LINE.match(line.strip())]
    return "\n".join(kept) + "\n"


def script_sha256(script: str) -> str:
    """The SHA-256 (hex) the stand-in table is keyed by: of :func:`without_arguments`, UTF-8."""
    return hashlib.sha256(without_arguments(script).encode("utf-8")).hexdigest()


def script_args(script: str) -> Dict[str, Any]:
    """``$name = 'value'`` / ``$n = 12`` / ``$b = $true`` lines at column 0; the first of each name wins."""
    found: Dict[str, Any] = {}
    for match in _ASSIGNMENT.finditer(script):
        name = match.group("braced") or match.group("name")
        if name in found:
            continue
        if match.group("sq") is not None:
            found[name] = match.group("sq").replace("''", "'")
        elif match.group("num") is not None:
            found[name] = int(match.group("num"))
        else:
            found[name] = {"true": True, "false": False, "null": None}[match.group("bool").lower()]
    return found

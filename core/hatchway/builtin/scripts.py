"""What the shell-like provisioners share: script sources and environment variables."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple


__all__ = ["local_path", "one_source", "runs_the_script", "script_sources", "shell_vars", "parse_env",
           "go_sprintf", "flatten_env", "unix_lines", "sh_escape", "exit_codes"]


def local_path(name: str, template_dir: "Path | str | None") -> str:
    """A local source as the user wrote it: ``~`` expanded; a relative path not found in the
    current directory is looked up next to the template. A trailing slash is kept."""
    path = os.path.expanduser(name)
    if template_dir and not os.path.isabs(path) and not os.path.exists(path):
        beside = os.path.join(str(template_dir), path)
        if os.path.exists(beside):
            return beside
    return path


def one_source(config: object, keys: Sequence[str] = ("inline", "script", "scripts")) -> Iterator[Tuple[str, str]]:
    """``check()`` helper: exactly one of ``keys`` must be set."""
    given = [k for k in keys if getattr(config, k)]
    if len(given) != 1:
        listed = ", ".join(f'"{k}"' for k in keys)
        yield ("", f"set exactly one of {listed}" + (f" (got {', '.join(given)})" if given else ""))


def script_sources(inline: Optional[List[str]], script: str, scripts: Optional[List[str]],
                   shebang: Optional[str], template_dir: Path, newline: str = "\n") -> List[Tuple[str, bytes]]:
    """(label, contents) of every script to run, in order.

    Inline commands become one script, with a ``#!shebang`` line unless
    ``shebang`` is empty (Windows scripts), joined by ``newline``.
    """
    if inline:
        body = (f"#!{shebang}{newline}" if shebang else "") + newline.join(inline) + newline
        return [("inline script", body.encode())]
    out = []
    for name in ([script] if script else []) + list(scripts or []):
        path = Path(local_path(name, template_dir))
        try:
            out.append((name, path.read_bytes()))
        except OSError as exc:
            from ..errors import ProvisionerError

            raise ProvisionerError(f"cannot read script {name!r}: {exc.strerror}") from None
    return out


def parse_env(pairs: Sequence[str], mapping: Mapping[str, str]) -> Dict[str, str]:
    """``environment_vars`` (``KEY=value`` strings) plus ``env`` (a map), in that order."""
    env: Dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        env[key] = value
    env.update(mapping)
    return env


def go_sprintf(format: str, *args: str) -> str:
    """Go's ``fmt.Sprintf`` for the verbs ``env_var_format`` uses: ``%s``, ``%v``, ``%q`` and ``%%``.

    A verb without an argument prints ``%!s(MISSING)`` and unused arguments are
    appended as ``%!(EXTRA string=...)``, as Go does.
    """
    out: List[str] = []
    pending = list(args)
    used = 0
    i = 0
    while i < len(format):
        ch = format[i]
        if ch != "%" or i + 1 >= len(format):
            out.append(ch)
            i += 1
            continue
        verb = format[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
        elif used < len(pending):
            value = pending[used]
            used += 1
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if verb == "q" else value)
        else:
            out.append(f"%!{verb}(MISSING)")
    if used < len(pending):
        out.append("%!(EXTRA " + ", ".join(f"string={v}" for v in pending[used:]) + ")")
    return "".join(out)


def sh_escape(value: str) -> str:
    """What Packer's shell provisioners do to a value before formatting it: ``'`` -> ``'"'"'``."""
    return value.replace("'", "'\"'\"'")


def flatten_env(env: Mapping[str, str], format: str, escape: Callable[[str], str] = sh_escape) -> str:
    """``{{.Vars}}`` (or the env var file): ``format % (key, escape(value))`` per variable, keys sorted.

    Packer's ``createFlattenedEnvVars`` (provisioner/shell, shell-local, powershell).
    """
    return "".join(go_sprintf(format, key, escape(env[key])) for key in sorted(env))


def shell_vars(env: Mapping[str, str]) -> str:
    """``{{.Vars}}`` with the shell provisioner's default format: ``KEY='value' ...``."""
    return flatten_env(env, "%s='%s' ")


def unix_lines(body: bytes) -> bytes:
    """Packer's ``UnixReader`` (provisioner/shell/unix_reader.go), used unless ``binary``: every line
    ends in ``\\n`` (a ``\\r`` before it is dropped), the last one too."""
    if not body:
        return body
    lines = body.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join((line[:-1] if line.endswith(b"\r") else line) + b"\n" for line in lines)


def env_problems(pairs: Sequence[str]) -> Iterator[Tuple[str, str, str]]:
    for i, pair in enumerate(pairs):
        key = pair.partition("=")[0]
        if "=" not in pair or not key or not key.replace("_", "a").isalnum():
            yield (f"environment_vars[{i}]", f"{pair!r} is not KEY=value", "e.g. \"FOO=bar\"")


def exit_codes(valid: Sequence[int]) -> List[int]:
    """``valid_exit_codes`` as Packer applies them: an empty list means ``[0]`` (SDK shell/exit_code.go)."""
    return list(valid) or [0]


def runs_the_script(execute_command: str, example: str = "") -> Iterator[Tuple[str, str, str, str]]:
    """``check()`` helper: an ``execute_command`` without ``{{.Path}}`` never runs the uploaded script.

    Packer runs such a command all the same (it may run the script some other way),
    so this is a warning, not an error.
    """
    if execute_command and "{{.Path}}" not in execute_command.replace(" ", ""):
        yield ("execute_command", "does not contain {{.Path}}, so the uploaded script may never run",
               f'e.g. "{example}"' if example else "", "warning")

"""What the shell-like provisioners share: script sources and environment variables."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple


__all__ = ["local_path", "one_source", "runs_the_script", "script_sources", "shell_vars", "parse_env"]


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


def shell_vars(env: Mapping[str, str]) -> str:
    """``{{.Vars}}``: ``KEY='value' ...`` quoted for a POSIX shell, as Packer does."""
    quote = "'\"'\"'"
    return " ".join(f"{key}='{value.replace(chr(39), quote)}'" for key, value in env.items())


def env_problems(pairs: Sequence[str]) -> Iterator[Tuple[str, str, str]]:
    for i, pair in enumerate(pairs):
        key = pair.partition("=")[0]
        if "=" not in pair or not key or not key.replace("_", "a").isalnum():
            yield (f"environment_vars[{i}]", f"{pair!r} is not KEY=value", "e.g. \"FOO=bar\"")


def runs_the_script(execute_command: str, example: str = "") -> Iterator[Tuple[str, str, str]]:
    """``check()`` helper: an ``execute_command`` without ``{{.Path}}`` would never run the script."""
    if "{{.Path}}" not in execute_command.replace(" ", ""):
        yield ("execute_command", "does not contain {{.Path}}, so the script would never run",
               f'e.g. "{example}"' if example else "")

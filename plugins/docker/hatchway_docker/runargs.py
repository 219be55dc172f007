"""``run_command``: the ``docker run`` arguments of Packer's docker builder, turned into API calls.

Packer hands ``run_command`` to the ``docker`` CLI; Hatchway talks to the
engine's API, so the options are parsed here (the ones image builds use)
into ``create_container`` and ``create_host_config`` arguments. An option
this parser does not know is reported when the template is validated.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import attrs

__all__ = ["RunSpec", "parse_run_command", "RunCommandError", "DEFAULT_RUN_COMMAND", "SUPPORTED"]

DEFAULT_RUN_COMMAND = ["-d", "-i", "-t", "--entrypoint=/bin/sh", "--", "{{.Image}}"]


class RunCommandError(ValueError):
    """``run_command`` holds something this builder cannot pass to the engine."""


@attrs.define
class RunSpec:
    """What ``docker run ARGS`` asks for, as SDK keyword arguments."""

    image: str = ""
    command: List[str] = attrs.field(factory=list)
    create: Dict[str, Any] = attrs.field(factory=dict)  # create_container(...)
    host: Dict[str, Any] = attrs.field(factory=dict)  # create_host_config(...)


# flag -> (destination, key, kind): kind "bool" takes no value, "str" one, "list"/"map"/"volume" accumulate.
_FLAGS: Dict[str, Tuple[str, str, str]] = {
    "-d": ("", "", "bool"), "--detach": ("", "", "bool"),
    "-i": ("create", "stdin_open", "bool"), "--interactive": ("create", "stdin_open", "bool"),
    "-t": ("create", "tty", "bool"), "--tty": ("create", "tty", "bool"),
    "--entrypoint": ("create", "entrypoint", "str"),
    "-e": ("create", "environment", "list"), "--env": ("create", "environment", "list"),
    "-u": ("create", "user", "str"), "--user": ("create", "user", "str"),
    "-w": ("create", "working_dir", "str"), "--workdir": ("create", "working_dir", "str"),
    "-h": ("create", "hostname", "str"), "--hostname": ("create", "hostname", "str"),
    "--name": ("create", "name", "str"),
    "-l": ("create", "labels", "map"), "--label": ("create", "labels", "map"),
    "--platform": ("create", "platform", "str"),
    "-v": ("host", "binds", "list"), "--volume": ("host", "binds", "list"),
    "--network": ("host", "network_mode", "str"), "--net": ("host", "network_mode", "str"),
    "--privileged": ("host", "privileged", "bool"),
    "--cap-add": ("host", "cap_add", "list"), "--cap-drop": ("host", "cap_drop", "list"),
    "--device": ("host", "devices", "list"),
    "--tmpfs": ("host", "tmpfs", "list"),
    "-m": ("host", "mem_limit", "str"), "--memory": ("host", "mem_limit", "str"),
    "--shm-size": ("host", "shm_size", "str"),
    "--security-opt": ("host", "security_opt", "list"),
    "--init": ("host", "init", "bool"),
    "--add-host": ("host", "extra_hosts", "map"),
    "--dns": ("host", "dns", "list"),
}
SUPPORTED = sorted(_FLAGS)


def _split(args: Sequence[str]) -> Iterator[Tuple[str, Optional[str], List[str]]]:
    """Yield (flag, value, []) for options, then ("", None, [image, command...]) once."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            yield "", None, list(args[i + 1:])
            return
        if not arg.startswith("-") or arg == "-":
            yield "", None, list(args[i:])
            return
        flag, eq, value = arg.partition("=")
        if flag not in _FLAGS:
            raise RunCommandError(f"docker run option {flag!r} is not supported here; supported: {', '.join(SUPPORTED)}")
        kind = _FLAGS[flag][2]
        if kind == "bool":
            if eq and value.lower() not in ("true", "false"):
                raise RunCommandError(f"{arg!r}: {flag} takes no value (or =true/=false)")
            yield flag, (value or "true") if eq else "true", []
        elif eq:
            yield flag, value, []
        else:
            if i + 1 >= len(args):
                raise RunCommandError(f"{flag} needs a value")
            i += 1
            yield flag, args[i], []
        i += 1
    yield "", None, []


def parse_run_command(args: Sequence[str]) -> RunSpec:
    """Parse ``docker run`` arguments (without ``docker run``) into a :class:`RunSpec`."""
    spec = RunSpec()
    for flag, value, rest in _split(args):
        if not flag:
            if not rest:
                raise RunCommandError("names no image: put {{.Image}} after the options")
            spec.image, spec.command = rest[0], rest[1:]
            break
        where, key, kind = _FLAGS[flag]
        if not where:
            continue
        bucket = spec.create if where == "create" else spec.host
        assert value is not None
        if kind == "bool":
            bucket[key] = value.lower() == "true"
        elif kind == "str":
            bucket[key] = [value] if key == "entrypoint" else value
        elif kind == "list":
            bucket.setdefault(key, []).append(value)
        elif kind == "map":
            name, sep, item = value.partition("=" if key == "labels" else ":")
            bucket.setdefault(key, {})[name] = item
    if "tmpfs" in spec.host:
        spec.host["tmpfs"] = tmpfs_map(spec.host["tmpfs"])
    return spec


def tmpfs_map(entries: Sequence[str]) -> Dict[str, str]:
    """``/run:rw,size=64m`` entries as the API's {path: options}."""
    out: Dict[str, str] = {}
    for entry in entries:
        path, _, options = entry.partition(":")
        out[path] = options
    return out

"""What a committed image's config is: the base image's, plus ``changes``, as a Dockerfile would make it.

``docker commit`` takes the container's config, so an image built the
Packer way keeps ``--entrypoint=/bin/sh`` from the run command, and the
engine refills an entrypoint that ``changes`` clear (``ENTRYPOINT []``)
from the container. Here the commit is given a config instead: the
container's (whose user, working dir and env are the base image's, as the
builder passes the run command's ``-u``, ``-w`` and ``-e`` to commands
only) with the base image's ``Entrypoint`` and ``Cmd``; ``ENTRYPOINT`` and
``CMD`` changes are applied here, with a Dockerfile's rules (JSON or shell
form; a new entrypoint without a ``CMD`` clears the inherited one), and the
other changes are left to the engine. An empty list (not ``null``) is what
keeps the engine from refilling a cleared value.

podman's compatible API ignores a commit's config; there
:func:`as_changes` says the same as instructions (podman applies
``ENTRYPOINT []`` and ``CMD []`` as a Dockerfile does).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["commit_config", "command_form", "as_changes"]

DEFAULT_SHELL = ["/bin/sh", "-c"]


def command_form(text: str, shell: Sequence[str]) -> List[str]:
    """``["a", "b"]`` (exec form) as it is; ``a b`` (shell form) as ``shell + ["a b"]``; nothing: ``[]``."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return [*shell, text] if text else []


def commit_config(container: Dict[str, Any], base: Dict[str, Any],
                  changes: Sequence[str]) -> Tuple[Dict[str, Any], List[str]]:
    """(config for the commit API, the changes left for the engine) for a container started from ``base``."""
    conf = dict(container)
    conf["Entrypoint"] = list(base.get("Entrypoint") or [])
    conf["Cmd"] = list(base.get("Cmd") or [])
    shell = base.get("Shell") or DEFAULT_SHELL
    rest: List[str] = []
    entrypoint: Optional[List[str]] = None
    cmd: Optional[List[str]] = None
    for change in changes:
        word, _, value = change.strip().partition(" ")
        if word.upper() == "ENTRYPOINT":
            entrypoint = command_form(value, shell)
        elif word.upper() == "CMD":
            cmd = command_form(value, shell)
        else:
            rest.append(change)
    if entrypoint is not None:
        conf["Entrypoint"] = entrypoint
        conf["Cmd"] = []  # as in a Dockerfile: a new ENTRYPOINT does not keep the inherited CMD
    if cmd is not None:
        conf["Cmd"] = cmd
    return conf, rest


def as_changes(conf: Dict[str, Any], rest: Sequence[str]) -> List[str]:
    """The changes that give an image ``conf``'s entrypoint and cmd (for engines that ignore a commit's config)."""
    return [*rest, f"ENTRYPOINT {json.dumps(conf['Entrypoint'])}", f"CMD {json.dumps(conf['Cmd'])}"]

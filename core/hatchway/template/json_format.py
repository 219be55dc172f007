"""Packer's JSON template format, parsed onto :mod:`.model`.

Structural problems (a section that is not an object, a missing ``type``,
an unknown top-level key...) are all collected and raised together as one
:class:`~hatchway.errors.ConfigError`; malformed JSON names line and column.
With ``partial=True`` they are kept in :attr:`Template.problems` instead, so
that validation reports them together with everything it finds itself.

As in Packer (``template/parse.go``): root keys starting with ``_`` are
comments, ``push`` is accepted (with a warning: it does nothing),
``sensitive-variables`` naming an undeclared variable is a warning, and
``error-cleanup-provisioner`` is one provisioner run when a build fails.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from .. import jsonfile
from ..config import suggest
from ..errors import ConfigError, ConfigProblem
from .model import BuilderSection, PostProcessorSection, ProvisionerSection, Template, Variable

__all__ = ["load", "loads"]

TOP_LEVEL = {
    "description", "min_packer_version", "variables", "sensitive-variables",
    "builders", "provisioners", "post-processors", "error-cleanup-provisioner", "push",
}
PROVISIONER_COMMON = {"type", "only", "except", "override", "pause_before", "max_retries", "timeout"}
POST_PROCESSOR_COMMON = {"type", "only", "except", "keep_input_artifact", "name"}


def load(path: "str | Path", *, partial: bool = False) -> Template:
    """Read and parse the template file at ``path`` (``partial``: see the module docstring)."""
    path = Path(path)
    try:
        text = jsonfile.read_text(path)
    except FileNotFoundError:
        raise ConfigError(f"template file {str(path)!r} does not exist") from None
    except jsonfile.BadInput as exc:
        raise ConfigError(f"template {str(path)!r} {exc}") from None
    return loads(text, path, partial=partial)


def loads(text: str, path: "str | Path" = "template.json", *, partial: bool = False) -> Template:
    path = Path(path)
    try:
        raw = jsonfile.parse(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigProblem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")],
            source=str(path),
        ) from None
    except jsonfile.BadInput as exc:
        raise ConfigError([ConfigProblem("", f"the template {exc}")], source=str(path)) from None
    return _Parser(path).parse(raw, partial)


def _strings(value: Any, path: str, problems: List[ConfigProblem]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):  # Packer decodes these weakly: "only": "web" is ["web"]
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(ConfigProblem(path, "must be a list of strings", 'e.g. ["web", "db"]'))
    return []


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: List[ConfigProblem] = []

    def problem(self, path: str, message: str, hint: str = "", severity: str = "error") -> None:
        self.problems.append(ConfigProblem(path, message, hint, severity))

    def parse(self, raw: Any, partial: bool = False) -> Template:
        if not isinstance(raw, dict):
            raise ConfigError([ConfigProblem("", "a template is a JSON object with \"builders\"")],
                              source=str(self.path))
        for key, value in raw.items():
            if key.startswith("_"):
                if not isinstance(value, str):  # Packer: "Failed to cast root level comment value ... to string"
                    self.problem(key, "a root-level comment must be a string")
            elif key == "push":
                self.problem(key, "is deprecated and ignored (Packer removed `packer push`)", "remove it",
                             severity="warning")
            elif key not in TOP_LEVEL:
                self.problem(key, "unknown top-level key", suggest(key, TOP_LEVEL))
        template = Template(path=self.path)
        description = raw.get("description", "")
        if not isinstance(description, str):
            self.problem("description", "must be a string")
        else:
            template.description = description
        version = raw.get("min_packer_version", "")
        template.min_version = version if isinstance(version, str) else ""
        template.variables = self.variables(raw.get("variables", {}), raw.get("sensitive-variables", []))
        template.builders = self.builders(raw.get("builders"))
        template.provisioners = self.provisioners(raw.get("provisioners", []))
        template.post_processors = self.post_processors(raw.get("post-processors", []))
        cleanup = raw.get("error-cleanup-provisioner")
        if cleanup is not None:
            found = self.provisioners([cleanup], "error-cleanup-provisioner")
            template.cleanup_provisioner = found[0] if found else None
        if not partial and any(p.is_error for p in self.problems):
            raise ConfigError(self.problems, source=str(self.path))
        template.problems = list(self.problems)  # warnings, and with ``partial`` errors too
        return template

    def variables(self, raw: Any, sensitive: Any) -> Dict[str, Variable]:
        out: Dict[str, Variable] = {}
        if not isinstance(raw, dict):
            self.problem("variables", "must be an object of name: default value")
            return out
        secret = set(_strings(sensitive, "sensitive-variables", self.problems))
        for name, default in raw.items():
            if default is not None and not isinstance(default, (str, int, float, bool)):
                self.problem(f"variables.{name}", "a default value must be a string (or null for a required variable)")
                continue
            if isinstance(default, bool):
                default = "true" if default else "false"
            out[name] = Variable(name, None if default is None else str(default), name in secret)
        for name in sorted(secret - set(out)):  # Packer ignores it: warn, so that a typo is seen
            self.problem("sensitive-variables", f"names {name!r}, which is not in \"variables\"; ignored",
                         suggest(name, out) or "declare it in \"variables\"", severity="warning")
        return out

    def _section(self, raw: Any, path: str) -> Optional[Dict[str, Any]]:
        if not isinstance(raw, dict):
            self.problem(path, "must be an object with a \"type\"")
            return None
        kind = raw.get("type")
        if not isinstance(kind, str) or not kind:
            self.problem(f"{path}.type", "is required", 'e.g. "type": "shell"')
            self.check_syntax(raw, path)  # validation never sees this section: check its strings here
            return None
        return raw

    def check_syntax(self, value: Any, path: str) -> None:
        """Template syntax errors in the strings of a section that is dropped (function names not checked)."""
        from .gotemplate import lexer, parser

        stack = [(path, value)]
        while stack:
            where, item = stack.pop()
            if isinstance(item, str) and "{{" in item:
                try:
                    parser.parse(item, lambda name: True)
                except lexer.TemplateSyntaxError as exc:
                    self.problem(where, f"{lexer.position(item, exc.pos)}: {exc.message}")
            elif isinstance(item, list):
                stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
            elif isinstance(item, dict):
                stack.extend((f"{where}.{k}", v) for k, v in item.items())

    def _only_except(self, section: Dict[str, Any], path: str) -> Dict[str, List[str]]:
        """A section's ``only`` and ``except`` lists of build names, checked."""
        return {"only": _strings(section.get("only"), f"{path}.only", self.problems),
                "except_": _strings(section.get("except"), f"{path}.except", self.problems)}

    def builders(self, raw: Any) -> List[BuilderSection]:
        if raw is None:
            self.problem("builders", "is required: a template needs at least one builder")
            return []
        if not isinstance(raw, list) or not raw:
            self.problem("builders", "must be a non-empty list of builder objects")
            return []
        out: List[BuilderSection] = []
        names: Dict[str, str] = {}
        for i, item in enumerate(raw):
            path = f"builders[{i}]"
            section = self._section(item, path)
            if section is None:
                continue
            options = dict(section)
            kind = options.pop("type")
            name = options.pop("name", kind)
            if not isinstance(name, str) or not name:
                self.problem(f"{path}.name", "must be a non-empty string")
                continue
            communicator = options.pop("communicator", None)
            if communicator is not None and not isinstance(communicator, str):
                self.problem(f"{path}.communicator", "must be a string such as \"ssh\"")
                communicator = None
            if name in names:
                self.problem(f"{path}.name", f"build name {name!r} is also used by {names[name]}",
                             "give each builder a unique \"name\"")
            names[name] = path
            out.append(BuilderSection(kind, name, f'{path}', communicator, options))
        return out

    def provisioners(self, raw: Any, key: str = "provisioners") -> List[ProvisionerSection]:
        if not isinstance(raw, list):
            self.problem(key, "must be a list of provisioner objects")
            return []
        out = []
        for i, item in enumerate(raw):
            path = f"provisioners[{i}]" if key == "provisioners" else key
            section = self._section(item, path)
            if section is None:
                continue
            override = section.get("override", {})
            if not isinstance(override, dict) or not all(isinstance(v, dict) for v in override.values()):
                self.problem(f"{path}.override", "must be an object of build name: {key: value}")
                override = {}
            out.append(ProvisionerSection(
                type=section["type"],
                path=path,
                options={k: v for k, v in section.items() if k not in PROVISIONER_COMMON},
                **self._only_except(section, path),
                override=override,
                pause_before=section.get("pause_before"),
                max_retries=section.get("max_retries"),
                timeout=section.get("timeout"),
            ))
        return out

    def post_processors(self, raw: Any) -> List[List[PostProcessorSection]]:
        if not isinstance(raw, list):
            self.problem("post-processors", "must be a list")
            return []
        chains = []
        for i, item in enumerate(raw):
            items = item if isinstance(item, list) else [item]
            chain = []
            for j, sub in enumerate(items):
                path = f"post-processors[{i}]" + (f"[{j}]" if isinstance(item, list) else "")
                if isinstance(sub, str):
                    sub = {"type": sub}
                section = self._section(sub, path)
                if section is None:
                    continue
                keep = section.get("keep_input_artifact", False)
                if not isinstance(keep, bool):
                    self.problem(f"{path}.keep_input_artifact", "must be true or false")
                    keep = False
                chain.append(PostProcessorSection(
                    type=section["type"],
                    path=path,
                    options={k: v for k, v in section.items() if k not in POST_PROCESSOR_COMMON},
                    **self._only_except(section, path),
                    keep_input_artifact=keep,
                ))
            if chain:
                chains.append(chain)
        return chains

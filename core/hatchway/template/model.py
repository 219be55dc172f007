"""The template model: what a template says, whatever format it was written in.

Front ends (:mod:`.json_format` today, HCL2 later) parse onto these
classes; validation and the runner only ever see the model. Option values
are kept raw (template functions unrendered) with the path of each section,
so every problem can name where it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

import attrs

from ..errors import ConfigProblem

#: A front end's way to re-evaluate a section's options once the build's values are known
#: (``build.Host``, ``{{build `Host`}}``): called with those values (``BUILD_VALUES`` names).
LateOptions = Callable[[Mapping[str, str]], Dict[str, Any]]

__all__ = ["LateOptions", "Variable", "BuilderSection", "ProvisionerSection", "PostProcessorSection", "Template"]


def applies_to(build_name: str, only: List[str], except_: List[str]) -> bool:
    """Packer's ``only``/``except``: does a provisioner or post-processor run on this build?"""
    return (not only or build_name in only) and build_name not in except_


@attrs.define
class Variable:
    name: str
    default: Optional[str]  # None: required (no default)
    sensitive: bool = False

    @property
    def required(self) -> bool:
        return self.default is None


@attrs.define
class BuilderSection:
    """One ``builders`` entry: its type, build name, communicator and other keys."""

    type: str
    name: str
    path: str  # "builders[0]"
    communicator: Optional[str] = None
    options: Dict[str, Any] = attrs.field(factory=dict)
    #: The name plugins see (``{{build_name}}``, ``PACKER_BUILD_NAME``) when it is not ``name``: in HCL2 the
    #: source's name, while ``name`` is the run's ``BUILD.TYPE.NAME``.
    packer_build_name: str = ""


@attrs.define
class ProvisionerSection:
    """One ``provisioners`` entry with Packer's common keys taken out."""

    type: str
    path: str
    options: Dict[str, Any] = attrs.field(factory=dict)
    only: List[str] = attrs.field(factory=list)
    except_: List[str] = attrs.field(factory=list)
    override: Dict[str, Dict[str, Any]] = attrs.field(factory=dict)
    pause_before: Any = None  # raw duration string
    max_retries: Any = None
    timeout: Any = None
    #: Packer 1.16's ``continue_on_error`` (HCL2): a failure is reported and the build goes on.
    continue_on_error: Any = None
    #: Set by a front end whose options use the build's values (HCL2's ``build.Host``): the runner
    #: calls it with them once the machine is up and uses what it returns instead of ``options``
    #: (it raises :class:`~hatchway.errors.ConfigError` on a problem, which fails the build with it).
    #: Unset, the runner re-renders ``options`` strings that call ``{{build}}``.
    late_options: Optional[LateOptions] = None

    def applies_to(self, build_name: str) -> bool:
        return applies_to(build_name, self.only, self.except_)


@attrs.define
class PostProcessorSection:
    type: str
    path: str
    options: Dict[str, Any] = attrs.field(factory=dict)
    only: List[str] = attrs.field(factory=list)
    except_: List[str] = attrs.field(factory=list)
    keep_input_artifact: bool = False
    #: As :attr:`ProvisionerSection.late_options`.
    late_options: Optional[LateOptions] = None

    def applies_to(self, build_name: str) -> bool:
        return applies_to(build_name, self.only, self.except_)


@attrs.define
class Template:
    path: Path
    description: str = ""
    min_version: str = ""
    variables: Dict[str, Variable] = attrs.field(factory=dict)
    builders: List[BuilderSection] = attrs.field(factory=list)
    provisioners: List[ProvisionerSection] = attrs.field(factory=list)
    #: Each chain is a list of post-processors run in sequence on an artifact.
    post_processors: List[List[PostProcessorSection]] = attrs.field(factory=list)
    #: Packer's ``error-cleanup-provisioner``: runs when a build fails during provisioning, before cleanup.
    cleanup_provisioner: Optional[ProvisionerSection] = None
    #: Problems the front end found but parsed past (validation reports them with its own, all at once).
    problems: List[ConfigProblem] = attrs.field(factory=list)

    @property
    def directory(self) -> Path:
        return self.path.resolve().parent

    def build_names(self) -> List[str]:
        return [b.name for b in self.builders]

"""hatchway-docker: the ``docker`` builder, the ``docker`` communicator it brings, and the
``docker-tag``, ``docker-save``, ``docker-push`` and ``docker-import`` post-processors.

The builder starts a container from ``image`` and hands the ``docker``
communicator a :class:`hatchway.Target` naming it; that communicator runs
commands through the engine's exec API and moves files through its archive
API (no ``docker`` CLI involved). Importing this package does not import the
docker SDK: that happens when a build first talks to the engine.
"""
from __future__ import annotations

import hatchway

from .builder import DockerBuilder, DockerConfig
from .communicator import DockerCommunicator, DockerCommunicatorConfig
from .postprocessors import DockerImport, DockerPush, DockerSave, DockerTag

__all__ = ["DockerBuilder", "DockerConfig", "DockerCommunicator", "DockerCommunicatorConfig", "DockerSave", "DockerTag",
           "DockerPush", "DockerImport"]
__version__ = "0.1.0"


@hatchway.hookimpl
def register_communicators(register) -> None:
    """The communicator the docker builder brings (its ``default_communicator``)."""
    register(DockerCommunicator)


@hatchway.hookimpl
def register_builders(register) -> None:
    register(DockerBuilder)


@hatchway.hookimpl
def register_post_processors(register) -> None:
    register(DockerTag)
    register(DockerSave)
    register(DockerPush)
    register(DockerImport)

"""End-to-end fixtures shared by the modules here: one Docker engine (and its test images) per session."""
from __future__ import annotations

import uuid
from typing import Dict, Iterator

import pytest

from servers import dockerd


@pytest.fixture(scope="session")
def engine() -> Iterator[dockerd.Engine]:
    """The engine DOCKER_HOST names if it answers, else a private dockerd started for this session."""
    try:
        engine = dockerd.start_engine()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def api(engine: dockerd.Engine):
    client = engine.client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(api) -> Dict[str, str]:
    """The locally built test images: ``shell`` (busybox) and ``noshell``."""
    return dockerd.build_images(api)


@pytest.fixture(scope="session")
def image(images: Dict[str, str]) -> str:
    return images["shell"]


@pytest.fixture
def label(api) -> Iterator[str]:
    """A label the test's containers carry; whatever a failing test left is removed."""
    value = uuid.uuid4().hex[:12]
    yield value
    for container in api.containers(all=True, filters={"label": f"hatchway-e2e={value}"}):
        api.remove_container(container["Id"], force=True)

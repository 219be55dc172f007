"""End-to-end fixtures shared by the modules here (the Docker engine, ``api`` and ``images`` are in tests/conftest.py)."""
from __future__ import annotations

import uuid
from typing import Dict, Iterator

import pytest



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

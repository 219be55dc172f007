"""Core test fixtures: fresh plugin and secret state per test, and a throw-away plugin environment."""
from __future__ import annotations

from pathlib import Path

import pytest

from hatchway import plugins as plugins_module
from hatchway import redact
from helpers.core_env import Env


@pytest.fixture(autouse=True)
def _fresh_state():
    plugins_module.reset()
    redact.clear()
    yield
    plugins_module.reset()
    redact.clear()


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)

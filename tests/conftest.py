"""Shared test set-up.

Tests are imported with ``--import-mode=importlib`` (test files in different
folders share names such as ``test_contract.py``), so this puts ``tests/`` on
``sys.path`` itself: ``import servers.sshd`` and ``import helpers.core_env``
work from every test.
"""
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Secrets are process-wide (what one test registered must not mask another test's output)."""
    from hatchway import redact

    redact.clear()
    yield
    redact.clear()

"""Shared test set-up.

Tests are imported with ``--import-mode=importlib`` (test files in different
folders share names such as ``test_contract.py``), so this puts ``tests/`` on
``sys.path`` itself: ``import servers.sshd`` and ``import helpers.core_env``
work from every test.
"""
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

import pytest  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from servers import dockerd


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Secrets are process-wide (what one test registered must not mask another test's output)."""
    from hatchway import redact

    redact.clear()
    yield
    redact.clear()


# -- one Docker engine per session, for the docker plugin's tests and the end-to-end tests alike --------
#: Labels whose containers are removed at the end when the engine is shared (DOCKER_HOST), not private.
TEST_LABELS = ("hatchway-test", "hatchway-e2e")


@pytest.fixture(scope="session")
def engine() -> Iterator["dockerd.Engine"]:
    """A Docker engine: the one DOCKER_HOST names if it answers, else a private dockerd started here."""
    from servers import dockerd

    try:
        engine = dockerd.start_engine()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield engine
    finally:
        if not engine.private:
            _remove_labelled(engine)
        engine.stop()


def _remove_labelled(engine: "dockerd.Engine") -> None:
    api = engine.client()
    try:
        for label in TEST_LABELS:
            for container in api.containers(all=True, filters={"label": label}):
                api.remove_container(container["Id"], force=True)
    finally:
        api.close()


@pytest.fixture(scope="session")
def api(engine):
    client = engine.client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(api) -> Dict[str, str]:
    """``{"shell": tag, "noshell": tag}``: busybox images imported into the engine."""
    from servers import dockerd

    return dockerd.build_images(api)


# -- WS-Management servers (tests/servers/wsman) for the winrm plugin's tests and the end-to-end tests --
def _wsman_server_class():
    try:
        from servers.wsman import WSManServer
    except ImportError as exc:  # a missing test dependency: fail with the fix, never skip
        pytest.fail(f"the WS-Management test server cannot start ({exc}): "
                    f"pip install -r tests/requirements.txt, or run scripts/test-all.sh")
    return WSManServer


@pytest.fixture
def wsman_factory(tmp_path) -> Iterator[Callable[..., Any]]:
    """Start WSManServer(**options) in a temp cwd; all are stopped afterwards, also on failure."""
    started: List[Any] = []

    def start(**options: Any):
        options.setdefault("cwd", str(tmp_path))
        server = _wsman_server_class()(**options)
        server.start()
        started.append(server)
        return server

    yield start
    errors = []
    for server in started:
        errors.extend(server.script_errors)  # every PowerShell script sent must have parsed
        server.close()
    assert errors == [], errors

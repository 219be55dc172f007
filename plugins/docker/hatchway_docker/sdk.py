"""The docker SDK, and every private part of it this plugin relies on, in one place.

The SDK's public API has no call for a hijacked exec stream, a ``HEAD`` of
the archive endpoint or a streamed ``PUT``; those go through the SDK's own
private helpers (``APIClient._url``, ``_post_json``, ``_put``,
``_raise_for_status``, ``_version``) and urllib3's ``HTTPResponse._fp``.
They are reached only through the functions below, and :func:`problems`
(run by the canary test, tests/docker/test_docker_sdk.py) says in words
which of them an SDK release changed. ``setup.cfg`` pins the SDK to the
tested range, :data:`TESTED`.

:func:`load` imports the SDK without paramiko unless the engine is reached
over ``ssh://``: the SDK imports paramiko (and invoke) eagerly for its ssh
transport, which is half of its import time.
"""
from __future__ import annotations

import importlib.abc
import inspect
import sys
import threading
from typing import Any, List, Optional

__all__ = ["TESTED", "load", "url", "post_json", "put", "raise_for_status", "hijacked_reader", "set_version",
           "problems"]

#: The SDK releases (major.minor) whose private parts were checked against this module.
TESTED = ("7.1", "7.2")


class _NoSSHTransport(importlib.abc.MetaPathFinder):
    """Makes ``docker.transport.sshconn`` unimportable while the SDK loads (the SDK catches that)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "docker.transport.sshconn":
            raise ImportError("hatchway-docker: the ssh transport is loaded only for ssh:// engines")
        return None


_LOADED: Optional[Any] = None
_LOAD_LOCK = threading.Lock()


def load(base_url: Optional[str] = None) -> Any:
    """The ``docker`` module; without its ssh transport unless ``base_url`` (or ``DOCKER_HOST``) is ``ssh://``.

    Thread-safe: parallel builds load it once, and no caller ever sees it half-imported.
    """
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    with _LOAD_LOCK:
        if _LOADED is None:
            import os

            target = base_url or os.environ.get("DOCKER_HOST", "")
            if "docker" in sys.modules or target.startswith("ssh://"):
                import docker
            else:
                finder = _NoSSHTransport()
                sys.meta_path.insert(0, finder)
                try:
                    import docker
                finally:
                    sys.meta_path.remove(finder)
            _LOADED = docker
    return _LOADED


def url(api: Any, template: str, *args: str) -> str:
    """The engine URL of an API path such as ``/exec/{0}/start`` (versioned as the client is)."""
    return api._url(template, *args)


def post_json(api: Any, address: str, data: Any, **kwargs: Any) -> Any:
    """``POST`` a JSON body; returns the requests response (``stream=True`` keeps it open)."""
    return api._post_json(address, data=data, **kwargs)


def put(api: Any, address: str, **kwargs: Any) -> Any:
    """``PUT`` (a streamed body with ``data=`` an iterator)."""
    return api._put(address, **kwargs)


def raise_for_status(api: Any, response: Any) -> None:
    """Raise the SDK's own error (``docker.errors.APIError``/``NotFound``) for an error response."""
    api._raise_for_status(response)


def hijacked_reader(response: Any) -> Any:
    """The buffered socket reader under a hijacked response (it may already hold the first frames)."""
    return response.raw._fp.fp


def set_version(api: Any, version: str) -> None:
    """Fix the API version a client speaks (as ``version="auto"`` would, without asking again)."""
    api._version = version


def problems() -> List[str]:
    """What changed in the SDK's private parts this module uses; empty when all is as tested."""
    docker = load()
    found: List[str] = []
    version = getattr(docker, "__version__", "?")
    client = getattr(docker, "APIClient", None)
    # how each is called here: the leading parameters must stay as they are
    expected = {"_url": ["self", "pathfmt", "*args"], "_post_json": ["self", "url", "data"],
                "_put": ["self", "*args", "**kwargs"], "_raise_for_status": ["self", "response"]}
    for name, params in expected.items():
        method = getattr(client, name, None)
        if method is None:
            found.append(f"docker.APIClient.{name} is gone")
            continue
        got = [("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + p.name
               for p in inspect.signature(method).parameters.values()]
        if got[:len(params)] != params:
            found.append(f"docker.APIClient.{name} takes ({', '.join(got)}), not ({', '.join(params)}, ...)")
    if client is not None and "_version" not in inspect.getsource(client.__init__):
        found.append("docker.APIClient no longer keeps its API version in _version")
    try:
        import urllib3.response

        if "self._fp" not in inspect.getsource(urllib3.response.HTTPResponse.__init__):
            found.append("urllib3's HTTPResponse no longer keeps the http.client response in _fp")
    except ImportError:  # pragma: no cover - requests needs urllib3
        found.append("urllib3 is not importable")
    if found:
        found.insert(0, f"docker SDK {version} (hatchway-docker is tested with {', '.join(TESTED)}):")
    return found

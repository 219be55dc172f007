"""Reaching the Docker engine, and turning its errors into messages for people.

The SDK is imported at call time (never at import time: ``hatchway
validate`` loads every plugin and must stay light), through :func:`sdk.load`. The
engine is found as the SDK finds it: ``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``,
``DOCKER_CERT_PATH``, else the local unix socket.
"""
from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, Optional, Tuple

from hatchway import CommunicatorError, ConnectError, RemotePathError

from . import sdk

__all__ = ["settings_from_env", "open_api", "is_podman", "api_errors", "short", "describe_url"]

#: Connections kept per client: several commands and transfers may run at once.
POOL_SIZE = 32
#: The oldest engine API this plugin speaks (exec environments need 1.25).
MIN_API_VERSION = "1.25"
START_HINT = "start the Docker daemon, or set DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) to reach one"


def settings_from_env() -> Dict[str, Any]:
    """The SDK's client settings from the environment (``base_url``, ``tls``)."""
    docker = sdk.load()

    try:
        return dict(docker.utils.kwargs_from_env())
    except docker.errors.DockerException as exc:
        raise ConnectError(f"the Docker settings in the environment are invalid: {exc}") from None


def describe_url(settings: Dict[str, Any]) -> str:
    return str(settings.get("base_url") or "unix:///var/run/docker.sock")


#: What each engine (by URL and TLS files) answered in this process, (API version, is podman): later clients skip the
#: round trips.
_VERSIONS: Dict[str, Tuple[str, bool]] = {}


def open_api(settings: Optional[Dict[str, Any]] = None, timeout: int = 60):
    """A connected low-level ``docker.APIClient``; :class:`ConnectError` if no engine answers.

    The client is made at the oldest API version this plugin speaks and then
    switched to the daemon's, as ``version="auto"`` would; the answer is
    kept for the process, so a second client (the communicator's, a
    post-processor's) costs no request at all. With TLS, the certificates of
    ``DOCKER_CERT_PATH`` must win over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``,
    which requests would otherwise prefer: the client ignores the
    environment (``trust_env``).
    """
    settings = settings_from_env() if settings is None else settings
    where = describe_url(settings)
    docker = sdk.load(where)
    try:
        api = docker.APIClient(version=MIN_API_VERSION, timeout=timeout, max_pool_size=POOL_SIZE, **settings)
        if settings.get("tls"):
            api.trust_env = False
        key = _engine_key(settings)
        known = _VERSIONS.get(key)
        if known is None:
            answer = api.version(api_version=False)
            names = " ".join(str(part.get("Name", "")) for part in answer.get("Components") or [])
            known = _VERSIONS[key] = (answer["ApiVersion"], "podman" in names.lower())
        sdk.set_version(api, known[0])
        return api
    except docker.errors.DockerException as exc:
        raise ConnectError(f"cannot reach the Docker daemon at {where}: {_reason(exc)}; {START_HINT}") from None
    except Exception as exc:  # requests' ConnectionError, a TLS failure...
        raise ConnectError(f"cannot reach the Docker daemon at {where}: {_reason(exc)}; {START_HINT}") from None


def _engine_key(settings: Dict[str, Any]) -> str:
    """An engine as reached: its URL and the TLS files (without them the same URL is not reachable)."""
    tls = settings.get("tls")
    return f"{describe_url(settings)}|{getattr(tls, 'cert', None) if tls else None}|" \
           f"{getattr(tls, 'ca_cert', None) if tls else None}|{bool(tls)}"


def is_podman(settings: Optional[Dict[str, Any]]) -> bool:
    """Is the engine at ``settings`` podman's Docker-compatible service (known once a client was opened)?"""
    return _VERSIONS.get(_engine_key(settings or {}), ("", False))[1]


def _reason(exc: BaseException) -> str:
    """The innermost useful words of a docker/requests error."""
    text = str(getattr(exc, "explanation", None) or exc)
    for marker in ("Error while fetching server API version: ",):
        text = text.replace(marker, "")
    if "No such file or directory" in text or "FileNotFoundError" in text:
        return "no socket there"
    if "Connection refused" in text:
        return "connection refused"
    return text.strip().strip("()'\"") or type(exc).__name__


def short(identifier: str) -> str:
    """A container or image id as docker prints it (12 hex digits)."""
    if identifier.startswith("sha256:"):
        identifier = identifier[len("sha256:"):]
    return identifier[:12]


@contextlib.contextmanager
def api_errors(action: str, path: str = "") -> Iterator[None]:
    """Re-raise docker and connection errors during ``action`` as hatchway errors.

    A 404 naming ``path`` becomes :class:`RemotePathError`; a lost daemon
    becomes :class:`CommunicatorError` saying so.
    """
    docker = sdk.load()
    import requests

    try:
        yield
    except docker.errors.NotFound as exc:
        detail = _reason(exc)
        if path:
            raise RemotePathError(f"{action}: {path!r} does not exist ({detail})") from None
        raise CommunicatorError(f"{action}: {detail}") from None
    except docker.errors.APIError as exc:
        detail = _reason(exc)
        if path and exc.status_code in (400, 403, 500) and _is_path_problem(detail):
            raise RemotePathError(f"{action}: cannot write {path!r}: {detail}") from None
        raise CommunicatorError(f"{action}: {detail}") from None
    except requests.exceptions.ConnectionError as exc:
        raise CommunicatorError(f"{action}: lost the connection to the Docker daemon ({_reason(exc)})") from None
    except docker.errors.DockerException as exc:
        raise CommunicatorError(f"{action}: {_reason(exc)}") from None


def _is_path_problem(detail: str) -> bool:
    words = ("not a directory", "permission denied", "read-only", "no such file", "is a directory",
             "cannot overwrite", "extraction point")
    lowered = detail.lower()
    return any(word in lowered for word in words)

"""Fixtures: a WSManServer per test (started here, stopped afterwards) and pywinrm clients for it."""
from __future__ import annotations

import importlib
from typing import Callable, Iterator, List

import pytest

REQUIRED = {
    "winrm": "pywinrm==0.5.0",
    "spnego": "pyspnego",
    "tree_sitter": "tree-sitter",
    "tree_sitter_powershell": "tree-sitter-powershell",
    "cryptography": "cryptography",
}


def _require_libraries() -> None:
    for module, package in REQUIRED.items():
        try:
            importlib.import_module(module)
        except ImportError:
            pytest.fail(f"{module} not importable: pip install {package}, or run scripts/test-all.sh", pytrace=False)


@pytest.fixture
def make_server(tmp_path) -> Iterator[Callable]:
    """``make_server(**options)`` -> a started WSManServer (cwd: the test's tmp dir); all stopped at the end."""
    _require_libraries()
    from servers.wsman import WSManServer

    servers: List[WSManServer] = []

    def make(**options) -> WSManServer:
        options.setdefault("users", {"vagrant": "vagrant"})
        options.setdefault("cwd", str(tmp_path))
        server = WSManServer(**options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def protocol_for():
    """``protocol_for(server, **kwargs)`` -> a pywinrm Protocol (Basic over HTTP unless told)."""
    from winrm.protocol import Protocol

    made = []

    def make(server, username="vagrant", password="vagrant", **kwargs):
        kwargs.setdefault("transport", "ntlm" if "ntlm" in server.auth and "basic" not in server.auth else "basic")
        kwargs.setdefault("proxy", None)
        kwargs.setdefault("read_timeout_sec", 30)
        kwargs.setdefault("operation_timeout_sec", 20)
        if server.https:
            kwargs.setdefault("ca_trust_path", server.cert_path)
        else:
            kwargs.setdefault("server_cert_validation", "ignore")
        protocol = Protocol(server.endpoint, username=username, password=password, **kwargs)
        made.append(protocol)
        return protocol

    yield make
    for protocol in made:
        protocol.transport.close_session()


@pytest.fixture
def session_for():
    """``session_for(server, **kwargs)`` -> a winrm.Session (run_cmd / run_ps)."""
    import winrm

    def make(server, username="vagrant", password="vagrant", **kwargs):
        kwargs.setdefault("transport", "basic")
        kwargs.setdefault("proxy", None)
        if server.https:
            kwargs.setdefault("ca_trust_path", server.cert_path)
        else:
            kwargs.setdefault("server_cert_validation", "ignore")
        return winrm.Session(server.endpoint, auth=(username, password), **kwargs)

    return make


def ps_script(standin: str, body: str = "", **args) -> str:
    """A PowerShell script that names ``standin`` and assigns ``args`` as ``$name = 'value'`` lines."""
    lines = [f"# hatchway-standin: {standin}"]
    for name, value in args.items():
        if isinstance(value, bool):
            lines.append(f"${name} = ${str(value).lower()}")
        elif isinstance(value, int):
            lines.append(f"${name} = {value}")
        else:
            lines.append(f"${name} = '" + str(value).replace("'", "''") + "'")
    lines.append(body)
    return "\n".join(lines) + "\n"

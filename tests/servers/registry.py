"""A Docker registry on loopback for tests: Debian's ``docker-registry`` (distribution 2.x).

:func:`start_registry` writes a config into a temp dir and runs
``docker-registry serve CONFIG`` on a free 127.0.0.1 port, optionally with
htpasswd auth (``htpasswd -B`` from apache2-utils) and TLS from a
certificate made here with openssl (``tests/servers/dockerd.make_certificates``).
For TLS the CA is put in the engine's ``certs.d`` directory for that
``host:port`` (``/etc/docker/certs.d/127.0.0.1:PORT/ca.crt``, removed again
by :meth:`Registry.stop`). A plain registry needs nothing: dockerd treats
127.0.0.0/8 as an insecure registry range by default (which also means it
would accept a loopback TLS registry it cannot verify: the TLS tests prove
the registry speaks TLS, not that the engine checked it).

Plain Python, no pytest.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import ssl
from pathlib import Path
from typing import Optional

from .dockerd import make_certificates

__all__ = ["Registry", "start_registry", "INSTALL_HINT"]

INSTALL_HINT = "apt-get install docker-registry apache2-utils, or run scripts/test-all.sh"
CERTS_D = Path("/etc/docker/certs.d")


class Registry:
    """A running registry: ``address`` is ``127.0.0.1:PORT`` (what image references start with)."""

    def __init__(self, root: Path, port: int, process: subprocess.Popen, user: str, password: str,
                 tls: bool) -> None:
        self.root, self.port, self.process = root, port, process
        self.user, self.password, self.tls = user, password, tls
        self.address = f"127.0.0.1:{port}"
        self.certs_d: Optional[Path] = None

    @property
    def auth(self) -> bool:
        return bool(self.user)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.root / "registry.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.certs_d is not None:
            shutil.rmtree(self.certs_d, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_registry(user: str = "", password: str = "", tls: bool = False, timeout: float = 30.0) -> Registry:
    """Start a registry (with htpasswd auth when ``user`` is given, with TLS when ``tls``)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError(f"docker-registry not found: {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="hw-registry-"))
    port = _free_port()
    lines = ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:",
             f"    rootdirectory: {root / 'data'}", "  delete:", "    enabled: true",
             "http:", f"  addr: 127.0.0.1:{port}", "  secret: hatchway-test-secret"]
    if tls:
        certs = make_certificates(root / "certs")
        lines += ["  tls:", f"    certificate: {certs / 'server-cert.pem'}", f"    key: {certs / 'server-key.pem'}"]
    if user:
        htpasswd = shutil.which("htpasswd")
        if htpasswd is None:
            raise RuntimeError(f"htpasswd not found: {INSTALL_HINT}")
        entry = subprocess.run([htpasswd, "-Bbn", user, password], capture_output=True, text=True, check=True,
                               timeout=30).stdout.strip()
        (root / "htpasswd").write_text(entry + "\n")
        lines += ["auth:", "  htpasswd:", "    realm: hatchway-test", f"    path: {root / 'htpasswd'}"]
    (root / "config.yml").write_text("\n".join(lines) + "\n")
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    registry = Registry(root, port, process, user, password, tls)
    if tls:
        registry.certs_d = CERTS_D / registry.address
        registry.certs_d.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "certs" / "ca.pem", registry.certs_d / "ca.crt")
    deadline = time.monotonic() + timeout
    scheme = "https" if tls else "http"
    context = ssl.create_default_context(cafile=str(root / "certs" / "ca.pem")) if tls else None
    while True:
        if process.poll() is not None:
            tail = registry.log_tail()
            registry.stop()
            raise RuntimeError(f"docker-registry exited with status {process.returncode} while starting:\n{tail}")
        try:
            urllib.request.urlopen(f"{scheme}://{registry.address}/v2/", timeout=2, context=context)
            return registry
        except urllib.error.HTTPError as exc:  # 401 with auth: it answers
            if exc.code == 401:
                return registry
        except OSError:
            pass
        if time.monotonic() > deadline:
            tail = registry.log_tail()
            registry.stop()
            raise RuntimeError(f"docker-registry did not answer on {registry.address} within {timeout:.0f}s:\n{tail}")
        time.sleep(0.1)

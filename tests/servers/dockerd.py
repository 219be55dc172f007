"""A Docker engine for tests and benchmarks, and the busybox images they use.

:func:`start_engine` uses the daemon the docker SDK finds (``DOCKER_HOST``,
the TLS variables, ``/var/run/docker.sock``) when one answers; otherwise it
starts a private ``dockerd`` whose data root, exec root, pid file and unix
socket all live in one short temp dir (:func:`start_private` can also make
one that listens with TLS on a loopback port, certificates made by openssl) (``--storage-driver vfs``, no
iptables, no bridge: containers need ``network_mode="none"``), and stops it
again in :meth:`Engine.stop`.

:func:`build_images` makes the test images with ``docker import`` of a root
filesystem built from Debian's ``busybox-static`` (no registry is needed):
``SHELL_IMAGE`` has ``/bin/sh`` and the usual applets plus a non-root user
``builder`` (uid 1000); ``NOSHELL_IMAGE`` has no shell, only ``/bin/sleep``.

Plain Python, no pytest: the fixtures in tests/docker and bench/docker use it.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

__all__ = ["Engine", "docker_cli", "start_engine", "start_podman", "start_private", "make_certificates", "build_images", "SHELL_IMAGE", "NOSHELL_IMAGE", "BUSYBOX", "TEST_USER"]

SHELL_IMAGE = "hatchway-test/busybox:1"
NOSHELL_IMAGE = "hatchway-test/noshell:1"
BUSYBOX = "/bin/busybox"
TEST_USER = ("builder", 1000, 1000)
INSTALL_HINT = "apt-get install docker.io busybox-static, or run scripts/test-all.sh"


class Engine:
    """A reachable Docker engine: ``base_url`` for the SDK, ``env`` for the docker CLI."""

    def __init__(self, base_url: str, process: Optional[subprocess.Popen] = None,
                 root: Optional[Path] = None, certs: Optional[Path] = None) -> None:
        self.base_url = base_url
        self.process = process
        self.root = root
        #: With TLS: the directory of ca.pem, cert.pem and key.pem (``DOCKER_CERT_PATH``).
        self.certs = certs

    @property
    def private(self) -> bool:
        return self.process is not None

    @property
    def is_podman(self) -> bool:
        """Is this podman's Docker-compatible service (asked once)?"""
        if getattr(self, "_podman", None) is None:
            api = self.client()
            try:
                names = " ".join(str(c.get("Name", "")) for c in api.version().get("Components") or [])
            finally:
                api.close()
            self._podman = "podman" in names.lower()
        return bool(self._podman)

    @property
    def env(self) -> Dict[str, str]:
        """The environment in which the SDK and the docker CLI find this engine."""
        env = dict(os.environ)
        if self.private:
            env["DOCKER_HOST"] = self.base_url
            for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
                env.pop(key, None)
            if self.certs:
                env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(self.certs))
        return env

    @property
    def settings(self) -> Dict[str, object]:
        """The docker SDK's client settings for this engine, as it reads them from :attr:`env`."""
        import docker

        return dict(docker.utils.kwargs_from_env(environment=self.env))

    def client(self, timeout: int = 60):
        """A low-level docker ``APIClient`` (made as the plugin makes its own, TLS included)."""
        from hatchway_docker.daemon import open_api

        return open_api(self.settings, timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        if not self.root:
            return ""
        try:
            return "\n".join((self.root / "dockerd.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop a private dockerd (and its containerd) and remove its files; a shared engine is left alone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.root:
            _unmount_below(self.root)
            shutil.rmtree(self.root, ignore_errors=True)


def docker_cli(engine: Engine, *args: str, timeout: float = 120, check: bool = False,
               stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """Run the ``docker`` CLI against ``engine``; text output (stdin, if given, as bytes is not mixed in)."""
    docker = shutil.which("docker")
    if docker is None:
        raise RuntimeError(f"the docker CLI is not installed: {INSTALL_HINT}")
    return subprocess.run([docker, *args], env=engine.env, capture_output=True, text=stdin is None,
                          input=stdin, timeout=timeout, check=check)


def _shared_engine() -> Optional[Engine]:
    """The daemon the docker SDK's environment rules find, if it answers."""
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return None
    try:
        import docker

        kwargs = docker.utils.kwargs_from_env()
        api = docker.APIClient(version="auto", timeout=5, **kwargs)
        api.ping()
        return Engine(str(kwargs.get("base_url") or "unix:///var/run/docker.sock"))
    except Exception:
        return None


def start_engine(timeout: float = 90.0) -> Engine:
    """A reachable engine: the shared one if it answers, else a private dockerd started now."""
    shared = _shared_engine()
    if shared is not None:
        return shared
    return start_private(timeout=timeout)


def start_private(tls: bool = False, timeout: float = 90.0) -> Engine:
    """Start a private dockerd: on a unix socket, or with ``tls`` on a loopback TCP port that
    requires client certificates (made here with openssl)."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError(f"dockerd not found: {INSTALL_HINT}")
    # Short: the exec root holds containerd's unix sockets, whose paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="hwd-", dir="/tmp"))
    sock = root / "sock"
    certs = None
    if tls:
        certs = make_certificates(root / "certs")
        port = _free_port()
        listen = [f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                  "--tlscert", str(certs / "server-cert.pem"), "--tlskey", str(certs / "server-key.pem")]
        url = f"tcp://127.0.0.1:{port}"
    else:
        listen = [f"unix://{sock}"]
        url = f"unix://{sock}"
    log = open(root / "dockerd.log", "wb")
    process = subprocess.Popen(
        [dockerd, "--data-root", str(root / "data"), "--exec-root", str(root / "x"), "-H", *listen,
         "--pidfile", str(root / "pid"), "--storage-driver", "vfs",
         "--iptables=false", "--ip-masq=false", "--bridge=none"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    engine = Engine(url, process, root, certs)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"dockerd exited with status {process.returncode} while starting:\n{tail}")
        if tls or sock.exists():
            try:
                engine.client(timeout=5).ping()
                return engine
            except Exception:
                pass
        if time.monotonic() > deadline:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"dockerd did not answer on {url} within {timeout:.0f}s:\n{tail}")
        time.sleep(0.2)


#: podman's containers.conf for tests: its default RLIMIT_NOFILE/NPROC exceed what a container may set in
#: some sandboxes (runc: "error setting rlimit type 7: operation not permitted"); these fit everywhere.
PODMAN_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
"""


def start_podman(timeout: float = 60.0) -> Engine:
    """Start ``podman system service`` (its Docker-compatible API) on a private unix socket, with its own
    storage (vfs) in a temp dir; :meth:`Engine.stop` stops it and removes the files."""
    podman = shutil.which("podman")
    if podman is None:
        raise RuntimeError("podman not found: apt-get install podman")
    root = Path(tempfile.mkdtemp(prefix="hwp-", dir="/tmp"))
    (root / "containers.conf").write_text(PODMAN_CONF)
    sock = root / "podman.sock"
    log = open(root / "dockerd.log", "wb")
    env = {**os.environ, "CONTAINERS_CONF": str(root / "containers.conf")}
    process = subprocess.Popen(
        [podman, "--root", str(root / "storage"), "--runroot", str(root / "run"), "--storage-driver", "vfs",
         "--tmpdir", str(root / "tmp"), "system", "service", "--time=0", f"unix://{sock}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    log.close()
    engine = Engine(f"unix://{sock}", process, root)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"podman system service exited with status {process.returncode}:\n{tail}")
        if sock.exists():
            try:
                engine.client(timeout=5)
                return engine
            except Exception:
                pass
        if time.monotonic() > deadline:
            tail = engine.log_tail()
            engine.stop()
            raise RuntimeError(f"podman system service did not answer on {sock} within {timeout:.0f}s:\n{tail}")
        time.sleep(0.1)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificates(directory: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as docker's TLS expects them."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl not found: apt-get install openssl, or run scripts/test-all.sh")
    directory.mkdir(parents=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=60)

    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=hatchway-test-ca")
    for name, key, ext in (("server", "server-key.pem", "server.ext"), ("client", "key.pem", "client.ext")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "server-cert.pem" if name == "server" else "cert.pem", "-days", "2", "-extfile", ext)
    return directory


def _unmount_below(root: Path) -> None:
    """Lazily unmount whatever dockerd left mounted under ``root`` (netns files, shm)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    prefix = str(root) + "/"
    points = [line.split()[1] for line in mounts if len(line.split()) > 1 and line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


# -- images ------------------------------------------------------------------

def _add(archive: tarfile.TarFile, name: str, *, kind: bytes = tarfile.DIRTYPE, mode: int = 0o755,
         data: bytes = b"", link: str = "", uid: int = 0, gid: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, int(time.time())
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def rootfs_tar(with_shell: bool, busybox: str = BUSYBOX) -> bytes:
    """A root filesystem as a tar: busybox and its applets (or, without a shell, only ``sleep``)."""
    if not os.path.exists(busybox):
        raise RuntimeError(f"{busybox} not found: {INSTALL_HINT}")
    name, uid, gid = TEST_USER
    binary = Path(busybox).read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for directory in ("bin", "etc", "dev", "proc", "sys", "root", "home", "var", "usr", "usr/bin"):
            _add(archive, directory)
        _add(archive, "tmp", mode=0o1777)
        _add(archive, f"home/{name}", uid=uid, gid=gid)
        _add(archive, "bin/busybox", kind=tarfile.REGTYPE, data=binary)
        if with_shell:
            applets = subprocess.run([busybox, "--list"], capture_output=True, check=True, text=True).stdout.split()
            for applet in applets:
                if applet != "busybox":
                    _add(archive, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        else:
            _add(archive, "bin/sleep", kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        passwd = f"root:x:0:0:root:/root:/bin/sh\n{name}:x:{uid}:{gid}:{name}:/home/{name}:/bin/sh\n"
        group = f"root:x:0:\n{name}:x:{gid}:\n"
        _add(archive, "etc/passwd", kind=tarfile.REGTYPE, mode=0o644, data=passwd.encode())
        _add(archive, "etc/group", kind=tarfile.REGTYPE, mode=0o644, data=group.encode())
    return out.getvalue()


def build_images(api) -> Dict[str, str]:
    """Import the test images into the engine (once); return ``{"shell": tag, "noshell": tag}``."""
    import docker

    images = {"shell": SHELL_IMAGE, "noshell": NOSHELL_IMAGE}
    for kind, tag in images.items():
        try:
            api.inspect_image(tag)
            continue
        except docker.errors.ImageNotFound:
            pass
        repository, _, version = tag.rpartition(":")
        result = api.import_image_from_data(rootfs_tar(kind == "shell"), repository=repository, tag=version)
        try:
            api.inspect_image(tag)
        except docker.errors.ImageNotFound:  # podman's import ignores the tag: give it afterwards
            image_id = [line for line in str(result).splitlines() if "sha256:" in line][-1]
            image_id = "sha256:" + image_id.split("sha256:")[1][:64]
            api.tag(image_id, repository, version)
        api.inspect_image(tag)  # raises if the import did not land
    return images

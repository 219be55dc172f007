"""A real OpenSSH ``sshd`` on loopback, in its own temp dir, for tests and benchmarks.

Plain Python: no pytest. Each :class:`Sshd` has its own config, host keys
(generated once per process and shared), ``authorized_keys`` directory and
port, so twenty can run at once::

    server = Sshd(extra={"Ciphers": "aes128-ctr"})
    server.start()
    server.authorize(public_key_line)          # for TEST_USER
    ... connect to 127.0.0.1:server.port as TEST_USER ...
    server.stop()

It runs as root (sshd needs it to switch users). :func:`ensure_test_user`
creates the unprivileged login user with a known password, idempotently.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence

__all__ = [
    "Sshd",
    "SshdError",
    "TEST_USER",
    "TEST_PASSWORD",
    "ensure_test_user",
    "free_port",
    "wait_port",
    "keygen",
    "process_tree",
    "start_many",
    "path_without",
    "remote_directory",
    "small_filesystem",
]

TEST_USER = "hatchway-test"
TEST_PASSWORD = "Hw-test-pa55!"
INSTALL_HINT = "apt-get install openssh-server openssh-client, or run scripts/test-all.sh"

_host_keys_lock = threading.Lock()
_host_keys_dir: Optional[Path] = None
_user_lock = threading.Lock()


class SshdError(RuntimeError):
    """The server could not be set up or started; the message says why and what to do."""


def _sshd_binary() -> str:
    for candidate in ("/usr/sbin/sshd", shutil.which("sshd") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SshdError(f"sshd not found: {INSTALL_HINT}")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise SshdError(f"{tool} not found: {INSTALL_HINT}")
    return path


def keygen(path: Path, key_type: str = "ed25519", bits: Optional[int] = None, passphrase: str = "",
           comment: str = "hatchway-test", pem: bool = False) -> Path:
    """Create a key pair with ``ssh-keygen`` at ``path`` (and ``path.pub``); return ``path``."""
    args = [_need("ssh-keygen"), "-q", "-t", key_type, "-N", passphrase, "-C", comment, "-f", str(path)]
    if bits:
        args += ["-b", str(bits)]
    if pem:
        args += ["-m", "PEM"]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return path


def _shared_host_keys() -> Path:
    """Host keys of every type, generated once per process (RSA generation is slow)."""
    global _host_keys_dir
    with _host_keys_lock:
        if _host_keys_dir is None:
            directory = Path(tempfile.mkdtemp(prefix="hatchway-sshd-hostkeys-"))
            for key_type in ("ed25519", "ecdsa", "rsa"):
                keygen(directory / f"ssh_host_{key_type}_key", key_type, comment=f"host-{key_type}")
            _host_keys_dir = directory
        return _host_keys_dir


def ensure_test_user(name: str = TEST_USER, password: str = TEST_PASSWORD) -> str:
    """Create the login user (home, /bin/sh, password) if missing; return its name."""
    with _user_lock:
        try:
            subprocess.run(["id", "-u", name], check=True, capture_output=True, timeout=10)
        except subprocess.CalledProcessError:
            if not shutil.which("useradd"):
                raise SshdError("useradd not found: apt-get install passwd") from None
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True, timeout=30)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n".encode(), check=True,
                       capture_output=True, timeout=30)
        return name


@contextlib.contextmanager
def remote_directory(user: str = TEST_USER, prefix: str = "hatchway-e2e-remote-") -> Iterator[Path]:
    """A fresh directory on "the remote" (this machine) owned by the login ``user``; removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    entry = pwd.getpwnam(user)
    os.chown(directory, entry.pw_uid, entry.pw_gid)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def small_filesystem(size: str = "5m", user: Optional[str] = TEST_USER,
                     prefix: str = "hatchway-small-fs-") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (``mount -t tmpfs -o size=5m``, as root) owned by ``user``: a disk that
    fills up. Unmounted and removed afterwards, also when the test failed."""
    if not shutil.which("mount"):
        raise SshdError("mount not found: apt-get install mount")
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise SshdError(f"cannot mount a {size} tmpfs on {directory} (run as root): {done.stderr.strip()}")
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(directory, entry.pw_uid, entry.pw_gid)
            yield directory
        finally:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=30)
    finally:
        with contextlib.suppress(OSError):
            directory.rmdir()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 15.0, banner: bytes = b"") -> None:
    """Wait until ``host:port`` accepts connections (and sends ``banner`` first, if given)."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if not banner or sock.recv(64).startswith(banner):
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise SshdError(f"nothing answered on {host}:{port} within {timeout:.0f}s ({last})")


def process_tree(pid: int) -> List[int]:
    """``pid`` and all its descendants (read from /proc), parents first."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def path_without(missing: Sequence[str]) -> Path:
    """A directory of links to every program in the usual PATH except ``missing`` (a remote without them),
    for sshd's ``SetEnv PATH=...``.

    Made outside pytest's temp root: pytest keeps that private (0700), and the
    login user must be able to run what is in here. The caller removes it.
    """
    directory = Path(tempfile.mkdtemp(prefix="hatchway-path-"))
    os.chmod(directory, 0o755)
    for source_dir in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not os.path.isdir(source_dir):
            continue
        for name in os.listdir(source_dir):
            if name in missing or name == "busybox" or (directory / name).exists():
                continue
            os.symlink(os.path.join(source_dir, name), directory / name)
    return directory


class Sshd:
    """One OpenSSH server on ``127.0.0.1:port`` with its own config in a temp dir.

    ``extra`` adds or overrides sshd_config keywords (a value may be a list
    for repeated keywords). Logs go to ``log_path`` (``-E``).
    """

    def __init__(self, extra: Optional[Mapping[str, object]] = None, port: Optional[int] = None,
                 host: str = "127.0.0.1", user: str = TEST_USER) -> None:
        self.host = host
        self.port = port or 0
        self.user = user
        self.extra = dict(extra or {})
        self.root = Path(tempfile.mkdtemp(prefix="hatchway-sshd-"))
        os.chmod(self.root, 0o755)
        self.keys_dir = self.root / "authorized_keys"
        self.keys_dir.mkdir(mode=0o755)
        self.config_path = self.root / "sshd_config"
        self.log_path = self.root / "sshd.log"
        self.process: Optional[subprocess.Popen] = None

    # -- set-up ----------------------------------------------------------
    def host_key_path(self, key_type: str = "ed25519") -> Path:
        return _shared_host_keys() / f"ssh_host_{key_type}_key"

    def host_public_key(self, key_type: str = "ed25519") -> str:
        """The ``type base64`` public host key line."""
        text = Path(str(self.host_key_path(key_type)) + ".pub").read_text()
        return " ".join(text.split()[:2])

    def host_fingerprint(self, key_type: str = "ed25519") -> str:
        """``SHA256:...`` of the host key, as ``ssh-keygen -l`` prints it."""
        out = subprocess.run([_need("ssh-keygen"), "-l", "-E", "sha256", "-f", str(self.host_key_path(key_type))],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        return out.split()[1]

    def known_hosts_line(self, key_type: str = "ed25519") -> str:
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {self.host_public_key(key_type)}\n"

    def authorize(self, public_key: str, user: Optional[str] = None) -> None:
        """Append a public key line (or a ``.pub`` file's text) to the user's authorized_keys."""
        path = self.keys_dir / (user or self.user)
        with open(path, "a") as handle:
            handle.write(public_key.strip() + "\n")
        os.chmod(path, 0o644)

    def _config_text(self) -> str:
        keys = _shared_host_keys()
        settings: Dict[str, object] = {
            "ListenAddress": f"{self.host}:{self.port}",
            "HostKey": [str(keys / f"ssh_host_{t}_key") for t in ("ed25519", "ecdsa", "rsa")],
            "PidFile": "none",
            "AuthorizedKeysFile": f"{self.keys_dir}/%u .ssh/authorized_keys",
            "StrictModes": "no",
            "UsePAM": "no",
            "PermitRootLogin": "yes",
            "PasswordAuthentication": "yes",
            "KbdInteractiveAuthentication": "no",
            "PubkeyAuthentication": "yes",
            "AllowTcpForwarding": "yes",
            "AllowAgentForwarding": "yes",
            "GatewayPorts": "no",
            "X11Forwarding": "no",
            "PrintMotd": "no",
            "PrintLastLog": "no",
            "UseDNS": "no",
            "MaxSessions": "64",
            "MaxStartups": "100:30:200",
            "MaxAuthTries": "20",
            "LoginGraceTime": "30",
            "LogLevel": "VERBOSE",
            "Subsystem": "sftp internal-sftp",
        }
        settings.update(self.extra)
        lines = []
        for key, value in settings.items():
            if value is None:
                continue
            for item in value if isinstance(value, (list, tuple)) else [value]:
                lines.append(f"{key} {item}")
        return "\n".join(lines) + "\n"

    # -- life cycle ------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "Sshd":
        """Start (or restart) on ``self.port`` (a free one the first time); wait until it answers."""
        binary = _sshd_binary()
        if self.user == TEST_USER:
            ensure_test_user(self.user)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for attempt in range(5):
            fresh_port = not self.port
            if fresh_port:
                self.port = free_port(self.host)
            self.config_path.write_text(self._config_text())
            check = subprocess.run([binary, "-t", "-f", str(self.config_path)], capture_output=True, text=True,
                                   timeout=30)
            if check.returncode != 0:
                raise SshdError(f"sshd rejected its config {self.config_path}: {check.stderr.strip()}")
            self.process = subprocess.Popen(
                [binary, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                self._wait_ready(timeout)
                return self
            except SshdError:
                self.stop()
                if not fresh_port or attempt == 4:
                    raise SshdError(f"sshd did not start on {self.host}:{self.port}: {self.log_tail()}") from None
                self.port = 0
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SshdError("sshd exited")
            try:
                wait_port(self.host, self.port, timeout=0.5, banner=b"SSH-")
                return
            except SshdError:
                continue
        raise SshdError("sshd did not answer")

    def _signal_all(self, sig: int) -> None:
        if self.process is None:
            return
        for pid in process_tree(self.process.pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def pause(self) -> None:
        """SIGSTOP the server and every session process: connections hang, nothing answers."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the server and all its session processes (a machine that vanished)."""
        self._signal_all(signal.SIGCONT)
        self._signal_all(signal.SIGKILL)
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        self.process = None

    def stop(self) -> None:
        """Stop the server and its sessions; harmless when already stopped."""
        if self.process is None:
            return
        self._signal_all(signal.SIGCONT)
        self._signal_all(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal_all(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Kill everything (as a reboot would) and start again on the same port."""
        self.kill()
        self.start()

    def close(self) -> None:
        """Stop and remove the temp dir."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> "Sshd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_many(count: int, extra: Optional[Mapping[str, object]] = None,
               public_keys: Sequence[str] = (), workers: int = 8) -> List[Sshd]:
    """Start ``count`` servers at once (e.g. for a fan-out benchmark), each authorizing ``public_keys``.

    All or nothing: if one fails, those started are stopped and the error raised.
    """
    from concurrent.futures import ThreadPoolExecutor

    _shared_host_keys()  # generate once, before the threads race for it
    servers = []
    for _ in range(count):
        server = Sshd(extra=extra)
        for key in public_keys:
            server.authorize(key)
        servers.append(server)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda server: server.start(), servers))
    except BaseException:
        for server in servers:
            server.close()
        raise
    return servers

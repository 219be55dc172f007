"""hatchway-ssh against OpenSSH's own clients on the same loopback sshd, printed as time ratios.

Run as root (sshd needs it):  /tmp/venv/bin/python bench/ssh/bench.py [--quick]

Each case is timed end to end, connection set-up included, best of
``--repeat`` runs. A ratio below 1.0 means hatchway is faster.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2] / "tests"))

from hatchway.communicator import Target  # noqa: E402
from hatchway.config import build  # noqa: E402
from hatchway.relay import Relay  # noqa: E402
from hatchway_ssh import SSHCommunicator, SSHConfig  # noqa: E402
from servers.sshd import TEST_USER, Sshd, keygen  # noqa: E402

MiB = 1024 * 1024


def best_of(repeat: int, setup: Callable[[], None], run: Callable[[], None]) -> float:
    """Best wall time of ``repeat`` runs; dirty pages are flushed first so earlier cases do not leak in."""
    times = []
    for _ in range(repeat):
        setup()
        os.sync()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


class Bench:
    def __init__(self, server: Sshd, key: Path, work: Path, remote_root: str = "/tmp") -> None:
        self.server = server
        self.key = key
        self.work = work
        self.remote = f"{remote_root}/hatchway-bench-{os.getpid()}"
        self.ssh_opts = ["-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                         "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]

    def relay(self, method: str = "scp", **keys: object) -> Relay:
        data = {"ssh_host": self.server.host, "ssh_port": self.server.port, "ssh_username": TEST_USER,
                "ssh_private_key_file": str(self.key), "ssh_file_transfer_method": method, **keys}
        config, problems = build(SSHConfig, data)
        assert config is not None, problems
        relay = Relay(SSHCommunicator(config, Target()))
        relay.connect()
        return relay

    def ssh(self, command: str) -> None:
        subprocess.run(["ssh", *self.ssh_opts, "-p", str(self.server.port), f"{TEST_USER}@{self.server.host}",
                        command], check=True, timeout=600, stdin=subprocess.DEVNULL)

    def clean(self) -> None:
        self.ssh(f"rm -rf {self.remote}; mkdir -p {self.remote}")

    def sftp_batch(self, commands: str) -> None:
        batch = self.work / "batch"
        batch.write_text(commands)
        subprocess.run(["sftp", *self.ssh_opts, "-q", "-b", str(batch), "-P", str(self.server.port),
                        f"{TEST_USER}@{self.server.host}"], check=True, timeout=600, stdout=subprocess.DEVNULL)

    # -- one big file --------------------------------------------------------------
    def big_file(self, size: int, repeat: int) -> List[tuple]:
        local = self.work / "big.bin"
        with open(local, "wb") as handle:
            block = os.urandom(MiB)
            for _ in range(size // MiB):
                handle.write(block)
        rows = []
        self.clean()
        openssh_up = best_of(repeat, lambda: None, lambda: self.sftp_batch(f"put {local} {self.remote}/big\n"))
        openssh_down = best_of(repeat, lambda: None,
                               lambda: self.sftp_batch(f"get {self.remote}/big {self.work}/big.sftp\n"))
        for method in ("scp", "sftp"):
            def up() -> None:
                relay = self.relay(method)
                relay.upload(local, f"{self.remote}/big")
                relay.cleanup()

            def down() -> None:
                relay = self.relay(method)
                relay.download(f"{self.remote}/big", self.work / "big.back")
                relay.cleanup()

            ours_up = best_of(repeat, lambda: None, up)
            ours_down = best_of(repeat, lambda: None, down)
            assert (self.work / "big.back").stat().st_size == size
            label = f"{size // MiB} MiB file"
            rows.append((f"{label} upload ({method})", "OpenSSH sftp put", ours_up, openssh_up))
            rows.append((f"{label} download ({method})", "OpenSSH sftp get", ours_down, openssh_down))
        return rows

    # -- many small files ----------------------------------------------------------------
    def small_files(self, count: int, repeat: int) -> List[tuple]:
        tree = self.work / "tree"
        if tree.exists():
            shutil.rmtree(tree)
        for i in range(count):
            sub = tree / f"d{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{i:05d}.txt").write_bytes(os.urandom(4096))

        def scp_r() -> None:
            subprocess.run(["scp", *self.ssh_opts, "-q", "-r", "-P", str(self.server.port), str(tree),
                            f"{TEST_USER}@{self.server.host}:{self.remote}/scp-tree"], check=True, timeout=600)

        def ours(method: str, tar: bool) -> Callable[[], None]:
            def run() -> None:
                relay = self.relay(method, ssh_tar_transfer=tar)
                relay.upload(tree, f"{self.remote}/ours-{method}-{tar}")
                relay.cleanup()
            return run

        openssh = best_of(repeat, self.clean, scp_r)
        rows = [(f"{count} x 4 KiB dir upload (tar stream)", "OpenSSH scp -r", best_of(repeat, self.clean,
                                                                                         ours("scp", True)), openssh)]
        rows.append((f"{count} x 4 KiB dir upload (scp, no tar)", "OpenSSH scp -r",
                     best_of(1, self.clean, ours("scp", False)), openssh))
        rows.append((f"{count} x 4 KiB dir upload (sftp, no tar)", "OpenSSH scp -r",
                     best_of(1, self.clean, ours("sftp", False)), openssh))
        return rows

    # -- many short commands -------------------------------------------------------------
    def commands(self, count: int, repeat: int) -> List[tuple]:
        control = self.work / "cm.sock"
        base = ["ssh", *self.ssh_opts, "-p", str(self.server.port), "-o", f"ControlPath={control}"]
        target = f"{TEST_USER}@{self.server.host}"

        def openssh() -> None:
            subprocess.run([*base, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-f", "-N", target],
                           check=True, timeout=60)
            try:
                for _ in range(count):
                    subprocess.run([*base, target, "true"], check=True, timeout=60, stdin=subprocess.DEVNULL)
            finally:
                subprocess.run([*base, "-O", "exit", target], timeout=60, capture_output=True)

        def ours() -> None:
            relay = self.relay()
            for _ in range(count):
                assert relay.execute("true") == 0
            relay.cleanup()

        return [(f"{count} short commands", "OpenSSH ControlMaster", best_of(repeat, lambda: None, ours),
                 best_of(repeat, lambda: None, openssh))]

    # -- memory ------------------------------------------------------------------------------
    def memory(self, size: int, method: str) -> int:
        """Peak RSS (bytes) of a fresh process uploading ``size`` bytes (a file) with ``method``."""
        local = self.work / "huge.bin"
        with open(local, "wb") as handle:
            handle.truncate(size)
        code = (
            "import resource, sys\n"
            f"sys.path.insert(0, {str(HERE.parent)!r})\n"
            "import bench\n"
            "from servers.sshd import Sshd\n"
            f"b = bench.Bench.__new__(bench.Bench)\n"
            f"b.server = type('S', (), {{'host': {self.server.host!r}, 'port': {self.server.port}}})()\n"
            f"b.key = {str(self.key)!r}\n"
            f"relay = b.relay({method!r})\n"
            f"relay.upload({str(local)!r}, {self.remote + '/huge'!r})\n"
            "relay.cleanup()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=900)
        local.unlink()
        self.ssh(f"rm -f {self.remote}/huge")
        return int(out.stdout.strip().splitlines()[-1]) * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--remote-root", default="/tmp", help="where the machine side writes (e.g. /dev/shm)")
    args = parser.parse_args()
    size = (32 if args.quick else 256) * MiB
    files = 200 if args.quick else 2000
    commands = 20 if args.quick else 100
    work = Path(tempfile.mkdtemp(prefix="hatchway-bench-"))
    key = keygen(work / "id_ed25519", "ed25519")
    os.chmod(work, 0o755)
    server = Sshd()
    server.authorize((work / "id_ed25519.pub").read_text())
    server.start()
    bench = Bench(server, key, work, args.remote_root)
    rows: List[tuple] = []
    try:
        rows += bench.commands(commands, args.repeat)
        rows += bench.small_files(files, args.repeat)
        rows += bench.big_file(size, args.repeat)
        print(f"{'case':44} {'hatchway':>9} {'OpenSSH':>9} {'ratio':>6}  baseline")
        for case, baseline, ours, theirs in rows:
            print(f"{case:44} {ours:8.2f}s {theirs:8.2f}s {ours / theirs:6.2f}  {baseline}")
        for method in ("scp", "sftp"):
            gib = (256 if args.quick else 1024) * MiB
            rss = bench.memory(gib, method)
            print(f"peak RSS uploading {gib // MiB} MiB ({method}): {rss / MiB:.0f} MiB")
    finally:
        bench.ssh(f"rm -rf {bench.remote}")
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

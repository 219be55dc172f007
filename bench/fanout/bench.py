"""Fan-out: 20 builds at once against 20 sshd, timed against one build alone, printed as a ratio.

Run as root (sshd needs it):  /tmp/venv/bin/python bench/fanout/bench.py [--builds 20] [--repeat 3]

One template holds ``--builds`` ``null`` builds, each on its own OpenSSH
sshd on loopback (``servers.sshd``), each running the same provisioners:
a shell script, a directory upload (20 files of 8 KiB), a 256 KiB file, an
inline ``content`` file, a shell script that checksums what arrived and
then does ``--remote-work`` seconds of remote work (a ``sleep``: the
stand-in for package installs, which a real machine does on its own CPU,
while here all the "machines" share this machine's cores), and a download.

``hatchway build -parallel-builds 0`` runs them all; ``hatchway build -only
b00`` runs one alone; both are whole ``hatchway`` processes, start-up
included, best of ``--repeat``. The ratio is all/one; the goal is <= 2.0
(exit status 1 above that). Every run's files are checked on every remote.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2] / "tests"))

from servers.sshd import TEST_USER, Sshd, ensure_test_user, keygen, start_many  # noqa: E402

GOAL = 2.0


def write_inputs(work: Path) -> None:
    (work / "tree").mkdir()
    for i in range(20):
        (work / "tree" / f"f{i:02d}.bin").write_bytes(os.urandom(8192))
    (work / "big.bin").write_bytes(os.urandom(256 * 1024))


def template(servers: Sequence[Sshd], key: Path, work: Path, remote: str, remote_work: float) -> Dict:
    """The fan-out template: one ``null`` build per server, the same provisioners for all."""
    builds = [{"type": "null", "name": f"b{i:02d}", "communicator": "ssh", "ssh_host": s.host, "ssh_port": s.port,
               "ssh_username": TEST_USER, "ssh_private_key_file": str(key), "ssh_timeout": "1m"}
              for i, s in enumerate(servers)]
    here = f"{remote}/{{{{build_name}}}}"
    return {"builders": builds, "provisioners": [
        {"type": "shell", "inline": ["echo provisioning $PACKER_BUILD_NAME", f"mkdir -p {remote}/$PACKER_BUILD_NAME"]},
        {"type": "file", "source": f"{work}/tree/", "destination": f"{here}/tree"},
        {"type": "file", "source": f"{work}/big.bin", "destination": f"{here}/big.bin"},
        {"type": "file", "content": "made for {{build_name}}\n", "destination": f"{here}/name.txt"},
        {"type": "shell", "inline": [f"cd {remote}/$PACKER_BUILD_NAME",
                                     "cat big.bin tree/* | sha256sum > sums.txt", f"sleep {remote_work}"]},
        {"type": "file", "direction": "download", "source": f"{here}/sums.txt",
         "destination": f"{work}/down/{{{{build_name}}}}.txt"},
    ]}


def check(work: Path, remote: str, names: Sequence[str]) -> None:
    """Every build's files arrived whole on its remote, and its checksum came back."""
    expected = hashlib.sha256((work / "big.bin").read_bytes() + b"".join(
        p.read_bytes() for p in sorted((work / "tree").iterdir()))).hexdigest()
    for name in names:
        base = Path(remote) / name
        assert (base / "name.txt").read_text() == f"made for {name}\n", name
        assert (base / "big.bin").read_bytes() == (work / "big.bin").read_bytes(), name
        assert sorted(os.listdir(base / "tree")) == sorted(os.listdir(work / "tree")), name
        assert (work / "down" / f"{name}.txt").read_text().split()[0] == expected, name


def run(args: List[str], template_path: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", *args, str(template_path)],
                            capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"hatchway build {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--remote-work", type=float, default=1.0, help="seconds of sleep in the remote script")
    opts = parser.parse_args()
    ensure_test_user()
    work = Path(tempfile.mkdtemp(prefix="hatchway-fanout-"))
    remote = tempfile.mkdtemp(prefix="hatchway-fanout-remote-")
    user = pwd.getpwnam(TEST_USER)
    os.chown(remote, user.pw_uid, user.pw_gid)
    os.chmod(work, 0o755)
    servers: List[Sshd] = []
    try:
        write_inputs(work)
        key = keygen(work / "id_ed25519")
        servers = start_many(opts.builds, public_keys=[(work / "id_ed25519.pub").read_text()])
        path = work / "fanout.json"
        path.write_text(json.dumps(template(servers, key, work, remote, opts.remote_work), indent=1))
        names = [f"b{i:02d}" for i in range(opts.builds)]
        run(["-only", "b00"], path)  # warm caches (imports, host keys) untimed
        alone, together = [], []
        for _ in range(opts.repeat):  # alternate, so a noisy moment hits both
            for target, args, subset in ((alone, ["-only", "b00"], names[:1]),
                                         (together, ["-parallel-builds", "0"], names)):
                shutil.rmtree(work / "down", ignore_errors=True)
                subprocess.run(["sh", "-c", f"rm -rf {remote}/*"], check=True)
                target.append(run(args, path))
                check(work, remote, subset)
        ratio = min(together) / min(alone)
        print(f"one build alone:              {min(alone):6.2f} s (best of {opts.repeat})")
        print(f"{opts.builds} builds, -parallel-builds 0: {min(together):6.2f} s (best of {opts.repeat})")
        print(f"ratio: {ratio:.2f} (goal <= {GOAL}; remote work {opts.remote_work:g} s per build, "
              f"{os.cpu_count()} cores)")
        return 0 if ratio <= GOAL else 1
    finally:
        for server in servers:
            server.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(remote, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the docker plugin side by side with the docker CLI, against one engine.

    python bench/docker/bench.py [--size-mib 256] [--commands 100] [--big-mib 1024] [--only builds|communicator]

Uses the engine DOCKER_HOST names if it answers, else starts a private
dockerd (tests/servers/dockerd.py). Two groups of cases, each printed as
Hatchway's time, the CLI's time and the ratio (Hatchway / CLI: below 1 is
faster):

- builds: whole ``hatchway build`` processes against whole ``docker``
  processes (an empty build vs ``docker run -d`` + ``docker rm -f``; a build
  uploading --size-mib vs ``docker run -d`` + ``docker cp`` + ``docker rm -f``;
  builds running --commands short commands vs as many ``docker exec``), with
  the peak resident memory of each build process;
- communicator: one connected communicator against ``docker cp``/``docker exec``,
  then the peak resident memory of a process uploading a --big-mib file.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
import json
from typing import Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import dockerd  # noqa: E402

from hatchway.communicator import Target  # noqa: E402
from hatchway.relay import Relay  # noqa: E402
from hatchway_docker import DockerCommunicator, DockerCommunicatorConfig  # noqa: E402

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def side_by_side(runs: int, ours: Callable[[], None], theirs: Callable[[], None],
                 between: Callable[[], None] = lambda: None) -> Tuple[float, float]:
    """Best wall times of ``runs`` alternating runs of each (alternating spreads the machine's noise,
    such as page-cache writeback, over both sides; the best run is the least disturbed).

    ``between`` runs untimed after each run (ours and theirs): it waits for our background work
    and flushes the page cache's dirty pages, so no run pays for the one before it.
    """
    mine: List[float] = []
    cli: List[float] = []
    for _ in range(runs):
        for action, times in ((ours, mine), (theirs, cli)):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
            between()
    return min(mine), min(cli)


def make_file(path: Path, mib: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for _ in range(mib):
            out.write(block)


def relay_for(container: str, settings: dict) -> Relay:
    relay = Relay(DockerCommunicator(DockerCommunicatorConfig(),
                                     Target(data={"container_id": container, "settings": settings})))
    relay.connect()
    return relay


def big_upload_child(container: str, settings_url: str, path: str) -> None:
    """Run in a child process: upload ``path`` and print the peak resident set size in KiB."""
    relay = relay_for(container, {"base_url": settings_url} if settings_url else None)
    relay.upload(Path(path), "/tmp/big.bin")
    relay.cleanup()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_measured(argv: List[str], env: Dict[str, str]) -> Tuple[float, int]:
    """Run a whole process; (wall seconds, its peak resident memory in KiB). Fails loudly on a non-zero exit."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... failed ({process.returncode}):\n{output.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss


def build_cases(args, engine, image: str, work: Path) -> None:
    """Whole hatchway build processes against whole docker CLI processes.

    Python's bytecode cache is allowed (as in any installed package, even if this shell sets
    PYTHONDONTWRITEBYTECODE) and warmed by one untimed build, so no run pays for compiling.
    """
    env = engine.env
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    hatchway = [sys.executable, "-c", "import sys; from hatchway.cli import main; sys.exit(main())", "build"]
    run_command = ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]

    def template(name: str, provisioners: list) -> Path:
        path = work / f"{name}.json"
        path.write_text(json.dumps({"builders": [{"type": "docker", "image": image, "pull": False, "discard": True,
                                                  "run_command": run_command}],
                                    "provisioners": provisioners}))
        return path

    def cli(*argv: str) -> str:
        return subprocess.run([DOCKER, *argv], env=env, check=True, capture_output=True, text=True).stdout.strip()

    peaks: Dict[str, int] = {}

    def ours(label: str, path: Path) -> Callable[[], None]:
        def run() -> None:
            _, peak = run_measured([*hatchway, str(path)], env)
            peaks[label] = max(peaks.get(label, 0), peak)
        return run

    payload = work / "build-payload.bin"
    make_file(payload, args.size_mib)
    os.sync()
    empty = template("empty", [])
    upload = template("upload", [{"type": "file", "source": str(payload), "destination": "/tmp/payload.bin"}])
    inline = template("inline", [{"type": "shell", "inline": ["true"] * args.commands}])
    separate = template("separate", [{"type": "shell", "inline": ["true"]} for _ in range(args.commands)])

    def cli_empty() -> None:
        container = cli("run", "-d", "--network=none", image, "sleep", "600")
        cli("rm", "-f", container)

    def cli_upload() -> None:
        container = cli("run", "-d", "--network=none", image, "sleep", "600")
        cli("cp", str(payload), f"{container}:/tmp/payload.bin")
        cli("rm", "-f", container)

    exec_container = cli("run", "-d", "--network=none", image, "sleep", "100000")

    def cli_execs() -> None:
        for _ in range(args.commands):
            cli("exec", exec_container, "/bin/sh", "-c", "true")

    cases = [
        ("empty build (discard)", ours("empty", empty), cli_empty, "docker run -d + rm -f"),
        (f"build uploading {args.size_mib} MiB", ours("upload", upload), cli_upload, "run -d + cp + rm -f"),
        (f"build, {args.commands} commands inline", ours("inline", inline), cli_execs,
         f"{args.commands} x docker exec"),
        (f"build, {args.commands} shell provisioners", ours("separate", separate), cli_execs,
         f"{args.commands} x docker exec"),
    ]
    run_measured([*hatchway, str(empty)], env)  # untimed: fills the bytecode cache
    rows = []
    try:
        for label, mine, theirs, what in cases:
            rows.append((label, *side_by_side(args.runs, mine, theirs, os.sync), what))
    finally:
        cli("rm", "-f", exec_container)
    print(f"{'whole processes':<36}{'hatchway':>10}{'docker CLI':>12}{'ratio':>8}  reference")
    for label, mine, theirs, what in rows:
        print(f"{label:<36}{mine:>9.2f}s{theirs:>11.2f}s{mine / theirs:>8.2f}  {what}")
    startup = min(run_measured([sys.executable, "-c", "import sys; from hatchway.cli import main; sys.exit(main())",
                                "validate", str(empty)], env)[0] for _ in range(args.runs))
    print(f"of which process start-up (interpreter, plugins; `hatchway validate` of the empty template): "
          f"{startup:.2f}s")
    print("peak resident memory of the build processes: "
          + ", ".join(f"{name} {kib / 1024:.0f} MiB" for name, kib in peaks.items()))
    payload.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("builds", "communicator"), help="run one group of cases")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        big_upload_child(*args.child)
        return 0

    engine = dockerd.start_engine()
    work = Path(tempfile.mkdtemp(prefix="hatchway-bench-docker-"))
    api = engine.client()
    container = ""
    try:
        images = dockerd.build_images(api)
        print(f"engine: {engine.base_url} ({'private dockerd' if engine.private else 'shared'}); "
              f"docker CLI: {DOCKER}")
        if args.only != "communicator":
            build_cases(args, engine, images["shell"], work)
        if args.only == "builds":
            return 0
        container = api.create_container(images["shell"], entrypoint=["/bin/sh"], stdin_open=True, tty=True,
                                         host_config=api.create_host_config(network_mode="none"))["Id"]
        api.start(container)
        settings = engine.settings
        relay = relay_for(container, settings)
        env = engine.env

        def cli(*argv: str) -> None:
            subprocess.run([DOCKER, *argv], env=env, check=True, stdout=subprocess.DEVNULL)

        def settle() -> None:
            relay.communicator.settle()
            os.sync()

        rows = []

        source = work / "payload.bin"
        make_file(source, args.size_mib)
        os.sync()
        label = f"upload {args.size_mib} MiB"
        # upload() returns once the file is in place; the removal of its temporary name runs in the
        # background (every later call waits for it): wait for it untimed, outside the CLI's runs
        ours, theirs = side_by_side(args.runs, lambda: relay.upload(source, "/tmp/ours.bin"),
                                    lambda: cli("cp", str(source), f"{container}:/tmp/cli.bin"), settle)
        rows.append((label, ours, theirs))

        label = f"download {args.size_mib} MiB"
        ours, theirs = side_by_side(args.runs, lambda: relay.download("/tmp/ours.bin", work / "ours-back.bin"),
                                    lambda: cli("cp", f"{container}:/tmp/cli.bin", str(work / "cli-back.bin")),
                                    settle)
        assert (work / "ours-back.bin").stat().st_size == source.stat().st_size
        rows.append((label, ours, theirs))
        relay.execute("rm -f /tmp/ours.bin /tmp/cli.bin")
        for name in ("ours-back.bin", "cli-back.bin"):
            (work / name).unlink()

        label = f"{args.commands} short commands"
        ours, theirs = side_by_side(args.runs, lambda: [relay.execute("true") for _ in range(args.commands)],
                                    lambda: [cli("exec", container, "/bin/sh", "-c", "true")
                                             for _ in range(args.commands)])
        rows.append((label, ours, theirs))

        print(f"{'case':<26}{'hatchway':>11}{'docker CLI':>12}{'ratio':>8}")
        for label, ours, theirs in rows:
            print(f"{label:<26}{ours:>10.2f}s{theirs:>11.2f}s{ours / theirs:>8.2f}")

        big = work / "big.bin"
        source.unlink()
        make_file(big, args.big_mib)
        child = subprocess.run([sys.executable, __file__, "--child", container, engine.base_url,
                                str(big)], capture_output=True, text=True, check=True)
        peak_mib = int(child.stdout.strip().splitlines()[-1]) / 1024
        size = relay.run("stat -c %s /tmp/big.bin").text.strip()
        print(f"upload {args.big_mib} MiB: peak resident memory {peak_mib:.0f} MiB "
              f"(limit 100 MiB; {size} bytes arrived)")
        relay.cleanup()
    finally:
        if container:
            api.remove_container(container, force=True)
        api.close()
        shutil.rmtree(work, ignore_errors=True)
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

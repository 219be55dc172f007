"""How long the `hatchway` command takes to start, next to a bare `python -c pass`.

The target: `hatchway --help` under 0.3 s on this machine, and `version` /
`validate` importing none of paramiko, docker or winrm (the plugins import
them lazily). Run: python bench/startup/bench_startup.py
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 15


def timed(argv: list) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    hatchway = shutil.which("hatchway") or str(Path(sys.executable).parent / "hatchway")
    baseline = timed([sys.executable, "-c", "pass"])
    print(f"{'command':<42}{'median':>10}{'vs python -c pass':>20}")
    print(f"{'python -c pass':<42}{baseline:>9.3f}s{1.0:>19.2f}x")
    worst = 0.0
    for args in (["--help"], ["version"], ["validate", str(ROOT / "examples" / "hello.json")], ["plugins"]):
        seconds = timed([hatchway, *args])
        worst = max(worst, seconds) if args == ["--help"] else worst
        print(f"{'hatchway ' + ' '.join(a if '/' not in a else Path(a).name for a in args):<42}"
              f"{seconds:>9.3f}s{seconds / baseline:>19.2f}x")
    print(f"\nhatchway --help: {'OK' if worst < 0.3 else 'TOO SLOW'} (target < 0.300 s)")
    return 0 if worst < 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())

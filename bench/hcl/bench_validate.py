"""How long ``hatchway validate`` takes on a 500-line HCL2 template directory (goal: under 1 s here).

Writes a directory of realistic files (variables with types and validation, locals with for
expressions and functions, sources, builds with provisioners, dynamic blocks and post-processor
chains), then times ``hatchway validate DIR`` as a user runs it (a new process each time) and the
load + validation alone, in process. Run: .venv/bin/python bench/hcl/bench_validate.py
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5


def variables(n: int) -> str:
    out = []
    for i in range(n):
        out.append(f'''variable "name_{i}" {{
  type        = string
  default     = "value-{i}"
  description = "Variable number {i}."
  validation {{
    condition     = length(var.name_{i}) > 2
    error_message = "The name must be longer than two characters."
  }}
}}
''')
    out.append('''variable "settings" {
  type = object({
    size    = number
    labels  = map(string)
    enabled = optional(bool, true)
  })
  default = { size = 3, labels = { team = "infra", env = "test" } }
}
''')
    return "\n".join(out)


def locals_(n: int) -> str:
    lines = ["locals {"]
    for i in range(n):
        lines.append(f'  item_{i} = upper("${{var.name_{i % 20}}}-{i}")')
    lines.append('  labels = { for k, v in var.settings.labels : k => "${k}=${v}" }')
    lines.append('  steps  = [for i in range(var.settings.size) : format("step-%02d", i)]')
    lines.append("}")
    return "\n".join(lines) + "\n"


def sources(n: int) -> str:
    return "\n".join(f'''source "null" "box_{i}" {{
  communicator = "none"
}}
''' for i in range(n))


def builds(n: int) -> str:
    out = []
    for i in range(n):
        out.append(f'''build {{
  name    = "b{i}"
  sources = ["source.null.box_{i}"]

  provisioner "shell-local" {{
    inline = [
      "echo ${{local.item_{i}}}",
      "echo ${{join(",", values(local.labels))}}",
    ]
  }}

  dynamic "provisioner" {{
    for_each = local.steps
    labels   = ["shell-local"]
    content {{
      inline = ["echo ${{provisioner.value}} on ${{source.name}}"]
    }}
  }}

  provisioner "shell-local" {{
    inline       = ["echo %{{ if var.settings.enabled }}on%{{ else }}off%{{ endif }}"]
    pause_before = "0s"
    max_retries  = 1
  }}
}}
''')
    return "\n".join(out)


def make(directory: Path) -> int:
    files = {"variables.pkr.hcl": variables(20), "locals.pkr.hcl": locals_(60), "sources.pkr.hcl": sources(10),
             "builds.pkr.hcl": builds(10)}
    for name, text in files.items():
        (directory / name).write_text(text)
    return sum(t.count("\n") for t in files.values())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        lines = make(directory)
        # as on a user's machine: bytecode is cached (a first, untimed run writes it)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cli = []
        for i in range(RUNS + 1):
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "hatchway.cli", "validate", str(directory)],
                                    capture_output=True, text=True, env=env)
            if i:
                cli.append(time.perf_counter() - start)
            assert result.returncode == 0, result.stderr
        from hatchway.plugins import get_plugins
        from hatchway.template import hcl

        plugins = get_plugins()
        inproc = []
        for _ in range(RUNS):
            start = time.perf_counter()
            hcl.plan(directory, plugins)
            inproc.append(time.perf_counter() - start)
        print(f"{lines} lines in {len(list(directory.iterdir()))} files")
        print(f"hatchway validate DIR (new process): median {statistics.median(cli):.3f} s, min {min(cli):.3f} s")
        print(f"load + validate in process:          first {inproc[0]:.3f} s (cold imports and caches), "
              f"then median {statistics.median(inproc[1:]):.3f} s")


if __name__ == "__main__":
    main()

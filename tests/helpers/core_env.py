"""Test helpers for the core: run the real CLI in a subprocess; install throw-away plugins by entry point."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Optional


class Env:
    """A PYTHONPATH directory where tests drop plugin modules with real entry-point metadata."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = root / "site"
        self.site.mkdir()

    def add_plugin(self, dist: str, module: str, source: str, version: str = "1.0", entry_name: Optional[str] = None) -> None:
        (self.site / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[hatchway]\n{entry_name or module} = {module}\n")

    def env(self, **extra: str) -> Dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.site) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("HATCHWAY_LOG", None)
        env.pop("HATCHWAY_LOG_PATH", None)
        env.update(extra)
        return env

    def hatchway(self, *args: str, cwd: Optional[Path] = None, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hatchway.cli", *args], capture_output=True, text=True,
                              env=self.env(**extra), cwd=cwd or self.root, timeout=timeout)

    def template(self, data: Any, name: str = "t.json") -> Path:
        path = self.root / name
        path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data)
        return path


#: A builder whose every step leaves a file behind, so tests can see what ran.
RECORDER_PLUGIN = '''
import os, time, attrs, hatchway
from hatchway import option

@attrs.define(kw_only=True)
class Config:
    record_dir: str = option(required=True, help="where to record steps")
    fail_in_run: bool = option(False)
    sleep_in_run: hatchway.Duration = option(hatchway.Duration(0))
    sleep_in_cleanup: hatchway.Duration = option(hatchway.Duration(0))

class Recorder(hatchway.Builder):
    name = "recorder"
    Config = Config
    default_communicator = "local"
    def _mark(self, what):
        with open(os.path.join(self.config.record_dir, "steps"), "a") as f:
            f.write(what + "\\n")
    def run(self, ctx):
        self._mark("run " + ctx.build_name)
        if self.config.sleep_in_run:
            ctx.cancelled.wait(self.config.sleep_in_run)
        if self.config.fail_in_run:
            raise hatchway.HatchwayError("the recorder was told to fail")
        return hatchway.Target()
    def artifact(self, ctx):
        return hatchway.Artifact("recorder", id="rec-" + ctx.build_name, description="recorded " + ctx.build_name)
    def cleanup(self, ctx):
        if self.config.sleep_in_cleanup:
            self._mark("cleanup starts " + ctx.build_name)
            time.sleep(self.config.sleep_in_cleanup)
        self._mark("cleanup " + ctx.build_name)
    def describe(self):
        return "recorder machine in " + self.config.record_dir

@hatchway.hookimpl
def register_builders(register):
    register(Recorder)
'''

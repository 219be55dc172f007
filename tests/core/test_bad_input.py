"""The real ``hatchway`` command on input that is not what it expects: one message, exit 1, at once.

What users type and pipe: a ``-var-file`` or template that is a FIFO (it
hung), ``/dev/zero`` (5 GB of memory in 5 s), a directory or a binary; JSON
nested 100,000 deep, a 5,000-digit integer, a lone surrogate; a bad flag
value; output piped into ``head``. The processes run with a memory limit
and a timeout, so a regression fails the test instead of the machine.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from helpers.core_env import Env

LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space is plenty for one clear message


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def hatchway(env: Env, *args: str, timeout: float = 60) -> Tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", *args], capture_output=True, text=True,
                            env=env.env(), cwd=env.root, timeout=timeout, preexec_fn=_limit_memory,
                            stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


def one_error(status: int, out: str, err: str, expected: str) -> None:
    assert status == 1, (status, out, err)
    assert "Traceback" not in out + err
    assert err.startswith("Error: ") and expected in err, err


@pytest.fixture
def template(env: Env) -> Path:
    return env.template({"builders": [{"type": "null", "communicator": "local"}],
                         "provisioners": [{"type": "shell", "inline": ["echo hello {{user `v`}}"]}],
                         "variables": {"v": "x"}})


def test_a_fifo_or_a_device_is_refused_at_once(env: Env, template: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "vars.fifo"
    os.mkfifo(fifo)
    one_error(*hatchway(env, "build", "-var-file", str(fifo), str(template), timeout=20),
              f"-var-file '{fifo}' is a named pipe (FIFO), not a regular file; give a JSON file")
    one_error(*hatchway(env, "validate", str(fifo), timeout=20),
              f"template '{fifo}' is a named pipe (FIFO), not a regular file")
    one_error(*hatchway(env, "build", "-var-file", "/dev/zero", str(template), timeout=20),
              "-var-file '/dev/zero' is a device, not a regular file; give a JSON file")
    one_error(*hatchway(env, "inspect", "/dev/zero", timeout=20), "template '/dev/zero' is a device")


def test_a_directory_a_binary_or_a_huge_file_is_refused(env: Env, template: Path, tmp_path: Path) -> None:
    one_error(*hatchway(env, "build", "-var-file", str(tmp_path), str(template)),
              f"-var-file '{tmp_path}' is a directory; give a JSON file")
    binary = Path(sys.executable).resolve()
    one_error(*hatchway(env, "validate", "-var-file", str(binary), str(template)),
              f"-var-file '{binary}' is a binary file, not JSON text")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(5 * 1024 ** 3)  # sparse: 5 GiB that take no disk
    one_error(*hatchway(env, "validate", "-var-file", str(huge), str(template)),
              f"-var-file '{huge}' is 5.0 GiB; a JSON file here is at most 16.0 MiB")


@pytest.mark.parametrize("text, expected", [
    ("[" * 100_000, "nested too deeply"),
    ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
    ('{"builders": [{"type": "null", "ssh_port": %s}]}' % ("7" * 5000), "an integer of 5000 digits"),
    ('{"builders": [{"type": "null", "name": "b\\ud800", "communicator": "local"}]}',
     "a lone UTF-16 surrogate (\\ud800) in builders[0].name"),
])
def test_json_beyond_bounds_is_one_clear_error(env: Env, text: str, expected: str) -> None:
    path = env.template(text, "bounds.json")
    for command in ("validate", "build"):
        one_error(*hatchway(env, command, str(path)), expected)
    vars_path = env.template(text if text.startswith("{") else '{"v": %s}' % text, "vars.json")
    template = env.template({"builders": [{"type": "null", "communicator": "none"}]}, "ok.json")
    one_error(*hatchway(env, "validate", "-var-file", str(vars_path), str(template)), expected)


@pytest.mark.parametrize("flags, expected", [
    (["-on-error", "bogus"], "argument -on-error/--on-error: invalid choice: 'bogus'"),
    (["-parallel-builds", "abc"], "argument -parallel-builds/--parallel-builds: 'abc' is not a whole number"),
    (["-parallel-builds=-2"], "argument -parallel-builds/--parallel-builds: '-2' is negative"),
    (["-color", "purple"], "argument -color/--color: invalid choice: 'purple'"),
    (["-nosuch"], "unrecognized arguments: -nosuch"),
])
def test_a_bad_flag_is_one_clear_error_naming_it(env: Env, template: Path, flags: List[str], expected: str) -> None:
    status, out, err = hatchway(env, "build", *flags, str(template))
    one_error(status, out, err, expected)
    assert "usage:" not in err and out == ""


@pytest.mark.parametrize("args", [["plugins", "--json"], ["plugins"], ["version"], ["inspect", "{t}"],
                                  ["validate", "{t}"], ["build", "{t}"], ["build", "-machine-readable", "{t}"]])
def test_output_into_a_closed_pipe_is_no_traceback(env: Env, template: Path, args: List[str]) -> None:
    """`hatchway ... | head -1`, with the reader gone before anything is written (no race)."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "hatchway.cli", *(a.format(t=template) for a in args)],
                                stdout=write, stderr=subprocess.PIPE, text=True, env=env.env(), cwd=env.root,
                                timeout=60)
    finally:
        os.close(write)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
    if args[0] == "build":  # the build itself went on, and said how it ended by its exit status
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode in (0, 1)


def test_piped_into_head_the_first_line_arrives_and_nothing_else_is_said(env: Env) -> None:
    result = subprocess.run(f"{sys.executable} -m hatchway.cli plugins --json | head -1", shell=True,
                            capture_output=True, text=True, env=env.env(), cwd=env.root, timeout=60)
    assert result.stdout == "{\n" and result.stderr == ""


def test_a_var_that_is_not_utf8_is_one_clear_error(env: Env, template: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", "build", "-var", b"v=caf\xe9", str(template)],
                            capture_output=True, text=True, env=env.env(), cwd=env.root, timeout=60)
    one_error(result.returncode, result.stdout, result.stderr, "-var 'v': the value is not UTF-8 text")

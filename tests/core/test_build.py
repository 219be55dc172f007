"""`hatchway build` end to end on the local communicator: output, exit codes, cleanup, retries, signals."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.core_env import RECORDER_PLUGIN
from helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def local_build(name="one", **extra):
    return {"type": "null", "name": name, "communicator": "local", **extra}


def test_hello_example_runs(env, tmp_path):
    template = tmp_path / "hello.json"
    template.write_text((ROOT / "examples" / "hello.json").read_text())
    work = tmp_path / "work"
    elsewhere = tmp_path / "elsewhere"  # the README runs it from the repository root, not from examples/
    elsewhere.mkdir()
    result = env.hatchway("build", "-var", f"workdir={work}", str(template), cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (work / "greeting.txt").read_text() == "Hello from Hatchway, build hello\n"
    assert (tmp_path / "output" / "greeting.txt").read_text() == "Hello from Hatchway, build hello\n"
    assert (tmp_path / "output" / "stamp.txt").read_text().startswith("made by hello (null) at 20")
    out = result.stdout
    assert "==> hello: Provisioning with shell script: inline script" in out
    assert "    hello: Hello from Hatchway, build hello" in out
    assert "    hello: downloaded: greeting.txt stamp.txt" in out
    assert "==> Builds finished. The artifacts of successful builds are:" in out


def test_failure_names_build_and_provisioner_and_cleanup_runs(env, tmp_path):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    template = env.template({
        "builders": [{"type": "recorder", "name": "good", "record_dir": str(tmp_path)},
                     {"type": "recorder", "name": "bad", "record_dir": str(tmp_path)}],
        "provisioners": [{"type": "shell", "inline": ["echo working on $PACKER_BUILD_NAME"]},
                         {"type": "shell", "inline": ["exit 7"], "only": ["bad"]}],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 1
    steps = (tmp_path / "steps").read_text().splitlines()
    assert sorted(steps) == ["cleanup bad", "cleanup good", "run bad", "run good"]
    assert "==> bad: Build failed: the shell provisioner (provisioners[1]) failed: inline script exited with status 7" in result.stderr
    assert "--> bad: the shell provisioner (provisioners[1]) failed" in result.stderr
    assert "--> good: recorded good" in result.stdout
    assert "    good: working on good" in result.stdout and "    bad: working on bad" in result.stdout
    assert "Traceback" not in result.stderr


def test_on_error_abort_keeps_the_machine_and_says_where(env, tmp_path):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    template = env.template({"builders": [{"type": "recorder", "name": "b", "record_dir": str(tmp_path)}],
                             "provisioners": [{"type": "shell", "inline": ["false"]}]})
    result = env.hatchway("build", "-on-error=abort", str(template))
    assert result.returncode == 1
    assert (tmp_path / "steps").read_text().splitlines() == ["run b"]
    assert f"-on-error=abort: the machine is left as it is for inspection: recorder machine in {tmp_path}" in result.stderr


def test_builder_failure_still_cleans_up(env, tmp_path):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    template = env.template({"builders": [{"type": "recorder", "record_dir": str(tmp_path), "fail_in_run": True}]})
    result = env.hatchway("build", str(template))
    assert result.returncode == 1
    assert (tmp_path / "steps").read_text().splitlines() == ["run recorder", "cleanup recorder"]
    assert "the recorder was told to fail" in result.stderr


def test_max_retries_and_timeout(env, tmp_path):
    counter = tmp_path / "count"
    template = env.template({
        "builders": [local_build()],
        "provisioners": [
            {"type": "shell", "max_retries": 2,
             "inline": [f"echo x >> {counter}", f"test $(wc -l < {counter}) -ge 3"]},
            {"type": "shell", "timeout": "1s", "inline": ["sleep 30"]},
        ],
    })
    start = time.monotonic()
    result = env.hatchway("build", str(template))
    assert time.monotonic() - start < 25  # the hung command was stopped, not waited for
    assert counter.read_text() == "x\nx\nx\n"
    assert "shell provisioner failed (inline script exited with status 1; valid exit codes: 0); retrying (1/2)" in result.stderr
    assert "the shell provisioner (provisioners[1]) failed: timed out after 1s" in result.stderr
    assert result.returncode == 1


def test_shell_provisioner_options(env, tmp_path):
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\necho \"script sees $WHO and [$QUOTED]\"\nexit 3\n")
    template = env.template({
        "builders": [local_build()],
        "provisioners": [
            {"type": "shell", "script": str(script), "valid_exit_codes": [0, 3],
             "environment_vars": ["WHO=world", "QUOTED=it's $HOME `x`"], "remote_folder": str(tmp_path),
             "remote_file": "kept.sh", "skip_clean": True},
            {"type": "shell", "inline": ["echo custom"], "execute_command": "echo via-custom; sh {{.Path}}"},
            {"type": "shell", "inline": ["kill -9 $$"], "expect_disconnect": False, "valid_exit_codes": [137]},
        ],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: script sees world and [it's $HOME `x`]" in result.stdout
    assert (tmp_path / "kept.sh").read_text() == script.read_text()
    assert "    one: via-custom" in result.stdout and "    one: custom" in result.stdout


def test_file_provisioner_trailing_slash_rules(env, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    dst = tmp_path / "dst"
    template = env.template({
        "builders": [local_build()],
        "provisioners": [
            {"type": "file", "source": str(src), "destination": f"{dst}/named"},
            {"type": "file", "source": f"{src}/", "destination": f"{dst}/contents"},
            {"type": "file", "source": str(src / "a.txt"), "destination": f"{dst}/into/"},
            {"type": "file", "sources": [str(src / "a.txt"), str(src / "sub")], "destination": f"{dst}/many/"},
            {"type": "file", "content": "inline text", "destination": f"{dst}/content.txt"},
            {"type": "file", "direction": "download", "source": f"{dst}/named/src/sub/b.txt",
             "destination": f"{dst}/down/"},
            {"type": "file", "direction": "download", "source": f"{dst}/contents/", "destination": f"{dst}/down2"},
        ],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (dst / "named/src/a.txt").read_text() == "a" and (dst / "named/src/sub/b.txt").read_text() == "b"
    assert (dst / "contents/a.txt").read_text() == "a" and (dst / "contents/sub/b.txt").read_text() == "b"
    assert (dst / "into/a.txt").read_text() == "a"
    assert (dst / "many/a.txt").read_text() == "a" and (dst / "many/sub/b.txt").read_text() == "b"
    assert (dst / "content.txt").read_text() == "inline text"
    assert (dst / "down/b.txt").read_text() == "b"
    assert (dst / "down2/sub/b.txt").read_text() == "b"
    assert f"==> one: Uploading {src} => {dst}/named" in result.stdout


def test_none_communicator_with_shell_local(env, tmp_path):
    marker = tmp_path / "marker"
    template = env.template({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": [f"echo local-$PACKER_BUILD_NAME > {marker}"]}],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "local-null\n"


def test_shell_local_post_processor_runs_here_and_passes_the_artifact_on(env, tmp_path):
    # Packer's post-processor/shell-local: the shell-local keys, run after the build; chains go on
    marker = tmp_path / "marker"
    template = env.template({
        "builders": [{"type": "null", "communicator": "none"}],
        "post-processors": [[
            {"type": "shell-local", "inline": [f"echo first-$PACKER_BUILD_NAME >> {marker}"]},
            {"type": "shell-local", "environment_vars": ["WHO=second"], "inline": [f"echo $WHO >> {marker}"]},
        ], {"type": "shell-local", "inline": ["exit 3"], "valid_exit_codes": [3]}],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert marker.read_text() == "first-null\nsecond\n"
    assert "==> null: Running post-processor: shell-local" in result.stdout


def test_machine_readable_output(env):
    template = env.template({"builders": [local_build("mr")],
                             "provisioners": [{"type": "shell", "inline": ["echo a,b"]}]})
    result = env.hatchway("build", "-machine-readable", str(template))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert all(len(line.split(",")) >= 4 and line.split(",")[0].isdigit() for line in lines), lines
    assert any(line.endswith(",mr,ui,message,    mr: a%!(PACKER_COMMA)b") for line in lines)
    assert any(",mr,build-summary,succeeded" in line for line in lines)


def test_secrets_never_reach_output_or_log(env, tmp_path):
    log = tmp_path / "debug.log"
    template = env.template({
        "variables": {"token": "tok-3f9a-very-secret"}, "sensitive-variables": ["token"],
        "builders": [local_build("s")],
        "provisioners": [{"type": "shell", "environment_vars": ["TOKEN={{user `token`}}"],
                          "inline": ["echo the token is $TOKEN", "echo $TOKEN >&2", "exit 1"]}],
    })
    result = env.hatchway("build", "--debug", str(template), HATCHWAY_LOG_PATH=str(log))
    assert result.returncode == 1
    everything = result.stdout + result.stderr + log.read_text()
    assert "tok-3f9a-very-secret" not in everything
    assert "the token is <sensitive>" in result.stdout
    assert "execute" in log.read_text()  # the log is real


def test_var_and_var_file(env, tmp_path):
    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps({"a": "from-file", "b": "from-file"}))
    template = env.template({"variables": {"a": "default", "b": "default", "c": "default"},
                             "builders": [local_build()],
                             "provisioners": [{"type": "shell", "inline": ["echo {{user `a`}} {{user `b`}} {{user `c`}}"]}]})
    result = env.hatchway("build", "-var-file", str(var_file), "--var", "b=from-flag", str(template))
    assert "    one: from-file from-flag default" in result.stdout


def test_validate_inspect_version(env):
    template = env.template({"description": "demo", "variables": {"a": "1", "need": None, "pw": "x"},
                             "sensitive-variables": ["pw"],
                             "builders": [local_build()], "provisioners": [{"type": "shell", "inline": ["true"]}]})
    bad = env.hatchway("validate", str(template))
    assert bad.returncode == 1 and "variables.need: is required" in bad.stderr
    good = env.hatchway("validate", "-var", "need=1", str(template))
    assert good.returncode == 0 and "The configuration is valid." in good.stdout
    inspect = env.hatchway("inspect", "-var", "need=1", str(template))
    assert "  need" in inspect.stdout and "  pw = <sensitive>" in inspect.stdout
    assert "  one (type null, communicator local)" in inspect.stdout
    version = env.hatchway("version")
    assert version.stdout.startswith("Hatchway v")


def test_bad_input_gives_one_message_and_no_traceback(env, tmp_path):
    missing = env.hatchway("build", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    directory = env.hatchway("validate", str(tmp_path))
    assert directory.returncode == 1 and "is a directory" in directory.stderr
    bad_var = env.hatchway("validate", "-var", "novalue", str(env.template({"builders": [local_build()]})))
    assert "-var 'novalue' is not KEY=VALUE" in bad_var.stderr
    for r in (missing, directory, bad_var):
        assert "Traceback" not in r.stderr


def _start_build(env, tmp_path, sleep="30"):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    template = env.template({"builders": [{"type": "recorder", "name": "sig", "record_dir": str(tmp_path)}],
                             "provisioners": [{"type": "shell", "inline": ["echo started", f"sleep {sleep}"]}]})
    proc = subprocess.Popen([sys.executable, "-m", "hatchway.cli", "build", str(template)], env=env.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    line = ""
    while "started" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "started" in line
    return proc


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_runs_cleanup_and_exits(env, tmp_path, sig, code):
    proc = _start_build(env, tmp_path)
    start = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert time.monotonic() - start < 20
    assert (tmp_path / "steps").read_text().splitlines() == ["run sig", "cleanup sig"]
    assert "Interrupt received. Cleaning up" in err


def test_second_interrupt_stops_at_once_and_says_what_is_left(env, tmp_path):
    env.add_plugin("hatchway-recorder", "hatchway_recorder", RECORDER_PLUGIN)
    template = env.template({"builders": [{"type": "recorder", "name": "slow", "record_dir": str(tmp_path),
                                           "sleep_in_run": "1m", "sleep_in_cleanup": "1m"}]})
    proc = subprocess.Popen([sys.executable, "-m", "hatchway.cli", "build", str(template)], env=env.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    steps = tmp_path / "steps"
    wait_until(lambda: steps.exists() and "run slow" in steps.read_text(), "the builder's run step")
    proc.send_signal(signal.SIGINT)
    wait_until(lambda: "cleanup starts" in steps.read_text(), "the builder's cleanup after the first interrupt")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Stopped at once. Left behind, to clean up by hand:" in err
    assert f"  - slow: recorder machine in {tmp_path} (was cleaning up)" in err


def test_relative_sources_are_found_next_to_the_template(env, tmp_path):
    project = tmp_path / "project"
    (project / "files").mkdir(parents=True)
    (project / "files" / "motd").write_text("welcome\n")
    dest = tmp_path / "dest"
    template = project / "t.json"
    template.write_text(json.dumps({"builders": [local_build()],
                                    "provisioners": [{"type": "file", "source": "files/motd",
                                                      "destination": f"{dest}/"}]}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert env.hatchway("validate", str(template), cwd=elsewhere).returncode == 0
    result = env.hatchway("build", str(template), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (dest / "motd").read_text() == "welcome\n"


def test_pause_before_connecting(env, tmp_path):
    template = env.template({"builders": [local_build(pause_before_connecting="200ms")],
                             "provisioners": [{"type": "shell", "inline": ["echo after the pause"]}]})
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stderr
    assert "==> one: Pausing 200ms before connecting..." in result.stdout
    assert "    one: after the pause" in result.stdout

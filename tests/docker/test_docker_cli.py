"""End to end: ``hatchway build`` runs docker templates (examples/docker.json among them) through the CLI."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "docker.json"
RUN = ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]


def hatchway(*args: str, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from hatchway.cli import main; sys.exit(main())",
                           *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def template(tmp_path: Path, image: str, provisioners: list, **builder) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({
        "builders": [{"type": "docker", "name": "b", "image": image, "pull": False, "discard": True,
                      "run_command": RUN, **builder}],
        "provisioners": provisioners,
    }))
    return path


def containers_of(api, image: str) -> list:
    return [c for c in api.containers(all=True) if c["Image"] == image]


def test_example_builds_commits_and_tags(engine, api, images):
    result = hatchway("build", "-var", f"image={images['shell']}", "-var", "repository=hw/example",
                      "-var", "tag=e2e", str(EXAMPLE), env=engine.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hello from the image built by Hatchway" in result.stdout
    assert "Tagged Docker image: sha256:" in result.stdout and "hw/example:e2e" in result.stdout
    image = api.inspect_image("hw/example:e2e")
    cfg = image["Config"]
    assert "APP_HOME=/opt/app" in cfg["Env"] and cfg["WorkingDir"] == "/opt/app"
    assert cfg["Cmd"] == ["/opt/app/hello.sh"] and "8080/tcp" in cfg["ExposedPorts"]
    assert cfg["Labels"] == {"org.example.built-by": "hatchway"}
    assert image["Comment"] == "built by app"
    assert not containers_of(api, images["shell"]), "the build container was left behind"
    # the image runs its CMD, with the files the provisioners put there
    run = api.create_container("hw/example:e2e", host_config=api.create_host_config(network_mode="none"))
    api.start(run)
    assert api.wait(run, timeout=60)["StatusCode"] == 0
    assert api.logs(run).decode() == "hello from the image built by Hatchway\nbuilt by app (docker)\n"
    api.remove_container(run, force=True)
    api.remove_image("hw/example:e2e", force=True)


def test_failed_build_removes_the_container(engine, api, images, tmp_path):
    path = template(tmp_path, images["shell"], [{"type": "shell", "inline": ["echo about to fail", "exit 7"]}])
    result = hatchway("build", str(path), env=engine.env)
    assert result.returncode == 1
    assert "exited with status 7" in result.stdout + result.stderr
    assert not containers_of(api, images["shell"])


def test_on_error_abort_keeps_the_container_and_says_where(engine, api, images, tmp_path):
    path = template(tmp_path, images["shell"], [{"type": "shell", "inline": ["exit 3"]}])
    result = hatchway("build", "-on-error=abort", str(path), env=engine.env)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    left = containers_of(api, images["shell"])
    assert len(left) == 1
    short = left[0]["Id"][:12]
    assert f"docker rm -f {short}" in output
    api.remove_container(left[0]["Id"], force=True)


def test_interrupt_removes_the_container(engine, api, images, tmp_path):
    path = template(tmp_path, images["shell"], [{"type": "shell", "inline": ["touch /tmp/started", "sleep 300"]}])
    process = subprocess.Popen([sys.executable, "-c", "import sys; from hatchway.cli import main; sys.exit(main())",
                                "build", str(path)], env=engine.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the build never started its command"
            running = containers_of(api, images["shell"])
            if running and _exists(api, running[0]["Id"], "/tmp/started"):
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 128 + signal.SIGINT, output
    assert "Cleaning up" in output
    assert "Retrying after" not in output  # a closed communicator is a cancel, never retried (issue 13)
    assert not containers_of(api, images["shell"]), output


def test_image_without_shell_through_a_build(engine, api, images, tmp_path):
    (tmp_path / "payload.txt").write_text("payload\n")
    path = template(tmp_path, images["noshell"], [
        {"type": "file", "source": str(tmp_path / "payload.txt"), "destination": "/srv/payload.txt"},
        {"type": "shell", "inline": ["echo hi"], "start_retry_timeout": "1s"},
    ], run_command=["-d", "--network=none", "--entrypoint=/bin/sleep", "--", "{{.Image}}", "100000"])
    result = hatchway("build", str(path), env=engine.env)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "has no /bin/sh" in output
    assert not containers_of(api, images["noshell"])


def test_validate_reports_docker_keys(engine, images, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"builders": [{"type": "docker", "image": "x", "commit": True, "discard": True,
                                              "changes": ["RUN make"]}]}))
    result = hatchway("validate", str(path), env=engine.env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "commit and discard are set" in output and "'RUN make'" in output


def _exists(api, container: str, path: str) -> bool:
    import docker

    try:
        api.get_archive(container, path)[0].close()
        return True
    except docker.errors.NotFound:
        return False

"""HCL2 templates built end to end through ``hatchway build``: local, ssh and docker machines.

Each template is written as a Packer user writes one (variables, locals, sources, a build with
provisioners, a ``dynamic`` provisioner, a post-processor chain); each test checks the files the
build left on the machine and the text the user sees.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from servers import dockerd
from servers.sshd import TEST_PASSWORD, TEST_USER, Sshd, ensure_test_user, remote_directory

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]


def hatchway(*args: str, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
             timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatchway.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_hello_example_builds_from_its_own_directory(tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "hello.pkr.hcl", tmp_path)
    result = hatchway("build", "-var", f"workdir={tmp_path / 'work'}", "hello.pkr.hcl", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    null.hello: Hello from Hatchway, build hello" in result.stdout
    assert "    null.hello: downloaded: greeting.txt stamp.txt" in result.stdout
    assert (tmp_path / "output" / "greeting.txt").read_text() == "Hello from Hatchway, build hello\n"
    assert (tmp_path / "output" / "stamp.txt").read_text().startswith("made by hello (null) at 20")


def test_local_build_with_variables_locals_dynamic_provisioners_and_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    template = tmp_path / "tpl"
    template.mkdir()
    write(template / "variables.pkr.hcl", '''
        variable "out" {
          type = string
        }
        variable "steps" {
          type    = map(string)
          default = { first = "one", second = "two" }
        }
        variable "secret" {
          type      = string
          default   = "not-for-eyes-42"
          sensitive = true
        }
    ''')
    write(template / "build.pkr.hcl", '''
        locals {
          names = [for k, v in var.steps : upper(k)]
        }

        source "null" "box" {
          communicator = "local"
        }

        build {
          name    = "demo"
          sources = ["source.null.box"]

          provisioner "shell-local" {
            inline = ["mkdir -p ${var.out}", "echo ${join(",", local.names)} > ${var.out}/names.txt"]
          }

          dynamic "provisioner" {
            for_each = var.steps
            iterator = step
            labels   = ["shell-local"]
            content {
              inline = ["echo ${step.value} > ${var.out}/${step.key}.txt", "echo secret is ${var.secret}"]
            }
          }
        }
    ''')
    write(template / "values.auto.pkrvars.hcl", 'steps = { alpha = "A", beta = "B" }\n')
    result = hatchway("build", "-var", f"out={out}", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "names.txt").read_text() == "ALPHA,BETA\n"
    assert (out / "alpha.txt").read_text() == "A\n"
    assert (out / "beta.txt").read_text() == "B\n"
    assert "    demo.null.box: secret is <sensitive>" in result.stdout
    assert "not-for-eyes-42" not in result.stdout + result.stderr


def test_invalid_template_reports_every_problem_with_positions_and_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.pkr.hcl", '''
        source "null" "box" {
          communicator = "local"
        }
        build {
          sources = ["source.null.box"]
          provisioner "shell-local" {
            inlin = ["x"]
          }
          provisioner "shell-local" {
            inline = [uper("x")]
          }
        }
    ''')
    result = hatchway("validate", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"on {path} line 7, in build:" in result.stderr
    assert 'An argument named "inlin" is not expected here. Did you mean "inline"?' in result.stderr
    assert 'There is no function named "uper". Did you mean "upper"?' in result.stderr


# -- ssh ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    ensure_test_user()
    server = Sshd()
    try:
        server.start()
    except Exception as exc:  # a server that cannot start fails the test with its hint, never skips
        server.close()
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.close()


def test_ssh_build_with_two_runs_of_one_source(sshd: Sshd, tmp_path: Path) -> None:
    with remote_directory(TEST_USER) as remote:
        path = write(tmp_path / "ssh.pkr.hcl", f'''
            variable "password" {{
              type      = string
              sensitive = true
            }}

            source "null" "server" {{
              communicator = "ssh"
              ssh_host     = "{sshd.host}"
              ssh_port     = {sshd.port}
              ssh_username = "{TEST_USER}"
              ssh_password = var.password
              ssh_timeout  = "30s"
            }}

            build {{
              name    = "web"
              sources = ["source.null.server"]
              source "source.null.server" {{
                name = "second"
              }}

              provisioner "shell" {{
                inline = ["echo ran on ${{source.name}} > {remote}/${{source.name}}.txt"]
              }}

              provisioner "file" {{
                content     = "only for the second run\\n"
                destination = "{remote}/only.txt"
                only        = ["null.second"]
              }}
            }}
        ''')
        result = hatchway("build", "-var", f"password={TEST_PASSWORD}", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert (remote / "server.txt").read_text() == "ran on server\n"
        assert (remote / "second.txt").read_text() == "ran on second\n"
        assert (remote / "only.txt").read_text() == "only for the second run\n"
        assert "--> web.null.server: (no artifact)" in result.stdout
        assert "--> web.null.second: (no artifact)" in result.stdout
        assert TEST_PASSWORD not in result.stdout + result.stderr


# -- docker -------------------------------------------------------------------------------------
def test_docker_build_with_a_post_processor_chain(api, engine: dockerd.Engine, images: Dict[str, str], label: str,
                                                  tmp_path: Path) -> None:
    repository = f"hatchway-e2e-hcl/{label}"
    saved = tmp_path / "image.tar"
    path = write(tmp_path / "docker.pkr.hcl", f'''
        variable "image" {{
          type = string
        }}

        source "docker" "app" {{
          image       = var.image
          pull        = false
          commit      = true
          run_command = ["-d", "-i", "-t", "--network=none", "-l", "hatchway-e2e={label}",
                         "--entrypoint=/bin/sh", "--", "{{{{.Image}}}}"]
        }}

        build {{
          sources = ["source.docker.app"]

          provisioner "shell" {{
            inline = ["mkdir -p /app", "echo built by ${{source.type}}.${{source.name}} > /app/made.txt"]
          }}

          post-processors {{
            post-processor "docker-tag" {{
              repository = "{repository}"
              tags       = ["v1"]
            }}
            post-processor "docker-save" {{
              path = "{saved}"
            }}
          }}
        }}
    ''')
    result = hatchway("build", "-var", f"image={images['shell']}", str(path), env=engine.env)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "==> docker.app: Running post-processor: docker-tag" in result.stdout
        assert "==> docker.app: Running post-processor: docker-save" in result.stdout
        with tarfile.open(saved) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == [f"{repository}:v1"]
        # the image keeps its base's (empty) entrypoint, not the run command's /bin/sh
        container = api.create_container(f"{repository}:v1", command=["/bin/sh", "-c", "cat /app/made.txt"],
                                         labels={"hatchway-e2e": label})
        api.start(container)
        api.wait(container, timeout=60)
        assert api.logs(container).decode() == "built by docker.app\n"
    finally:
        for image in api.images(name=repository):
            api.remove_image(image["Id"], force=True)


def test_continue_on_error_reports_the_failure_and_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path / "coe.pkr.hcl", f'''
        source "null" "x" {{
          communicator = "local"
        }}
        build {{
          sources = ["source.null.x"]
          provisioner "shell-local" {{
            inline            = ["exit 4"]
            continue_on_error = true
          }}
          provisioner "shell-local" {{
            inline = ["touch {tmp_path}/after"]
          }}
        }}
    ''')
    result = hatchway("build", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"==> null.x: the shell-local provisioner ({path}:6) failed: local inline script exited with status 4; " \
           "valid exit codes: 0; continuing (continue_on_error)" in result.stderr
    assert (tmp_path / "after").exists()


def test_build_values_are_known_when_the_provisioners_run(sshd: Sshd, tmp_path: Path) -> None:
    with remote_directory(TEST_USER) as remote:
        path = write(tmp_path / "values.pkr.hcl", f'''
            source "null" "server" {{
              communicator = "ssh"
              ssh_host     = "{sshd.host}"
              ssh_port     = {sshd.port}
              ssh_username = "{TEST_USER}"
              ssh_password = "{TEST_PASSWORD}"
            }}

            build {{
              sources = ["source.null.server"]

              provisioner "shell" {{
                inline = ["echo ${{build.Host}}:${{build.Port}} ${{build.User}} ${{build.ConnType}} > {remote}/values.txt"]
              }}

              error-cleanup-provisioner "shell-local" {{
                inline = ["echo cleanup for ${{source.name}} > {tmp_path}/cleanup.txt"]
              }}

              provisioner "shell" {{
                inline = ["exit 7"]
              }}
            }}
        ''')
        validated = hatchway("inspect", str(path))
        assert validated.returncode == 0, validated.stderr
        result = hatchway("build", str(path))
        assert result.returncode == 1, result.stdout + result.stderr
        assert (remote / "values.txt").read_text() == f"{sshd.host}:{sshd.port} {TEST_USER} ssh\n"
        assert (tmp_path / "cleanup.txt").read_text() == "cleanup for server\n"
        assert TEST_PASSWORD not in result.stdout + result.stderr

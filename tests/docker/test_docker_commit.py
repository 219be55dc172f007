"""Committed images behave as their base image plus ``changes`` (issue 12 §1), checked with `docker run`.

Two base images built here: one with an ENTRYPOINT, a CMD, a WORKDIR and an
ENV, and the plain busybox image with none of them. The builder runs them
with a run command that changes the entrypoint, user, working dir and env
for provisioning; none of that may reach the image unless keep_run_config
says so.
"""
from __future__ import annotations

import io
import json
import subprocess
from typing import List

import pytest

from hatchway.config import build as build_config
from hatchway_docker import DockerConfig

from servers.dockerd import docker_cli

#: A run command that changes everything a provisioning run may change.
RUN = ["-d", "-i", "-t", "--network=none", "-e", "RUNVAR=provisioning", "-u", "builder", "-w", "/tmp",
       "--entrypoint=/bin/sh", "--", "{{.Image}}"]
KEYS = ("Entrypoint", "Cmd", "WorkingDir", "User", "Env")
DOCKERFILE = b"""FROM hatchway-test/busybox:1
ENV BASEVAR=base
WORKDIR /srv
ENTRYPOINT ["/bin/echo", "from-entrypoint"]
CMD ["default-cmd"]
"""


def config(**keys) -> DockerConfig:
    keys.setdefault("pull", False)
    keys.setdefault("run_command", RUN)
    keys.setdefault("commit", True)
    conf, problems = build_config(DockerConfig, keys, "builders[0]")
    assert not [p for p in problems if p.is_error], problems
    return conf


@pytest.fixture(scope="module")
def entrypoint_image(api, images) -> str:
    """A base image with ENTRYPOINT, CMD, WORKDIR and ENV, built by the engine from a Dockerfile."""
    tag = "hatchway-test/with-entrypoint:1"
    for event in api.build(fileobj=io.BytesIO(DOCKERFILE), tag=tag, rm=True, network_mode="none", decode=True):
        assert "error" not in event, event
    yield tag
    api.remove_image(tag, force=True)


@pytest.fixture
def commit(run_build, api):
    """``commit(**keys) -> image id``: a build that writes /tmp/built-here, committed; the image is removed after."""
    made: List[str] = []

    def run(**keys) -> str:
        def provision(relay) -> None:
            assert relay.execute("touch /tmp/built-here") == 0

        _, _, artifact = run_build(config(**keys), provision)
        made.append(artifact.id)
        return artifact.id

    yield run
    for image in made:
        api.remove_image(image, force=True)


def docker_run(engine, image: str, *args: str) -> subprocess.CompletedProcess:
    """`docker run --rm IMAGE ARGS` with the docker CLI, as a user would run the result."""
    return docker_cli(engine, "run", "--rm", "--network=none", image, *args)


#: What podman puts in every container it runs (and so in every image it commits): same behaviour, other words.
PODMAN_ADDS = {"TERM=xterm", "container=podman", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def essentials(api, image: str, podman: bool = False) -> dict:
    """The config keys a build must not change; with ``podman``, minus the environment and "/" it always adds."""
    cfg = api.inspect_image(image)["Config"]
    found = {key: cfg.get(key) or None for key in KEYS}
    if podman:
        found["Env"] = sorted(set(found["Env"] or []) - PODMAN_ADDS) or None
        found["WorkingDir"] = None if found["WorkingDir"] == "/" else found["WorkingDir"]
    return found


def test_image_with_entrypoint_keeps_it(engine, api, entrypoint_image, commit):
    image = commit(image=entrypoint_image)
    podman = engine.is_podman
    assert essentials(api, image, podman) == essentials(api, entrypoint_image, podman)
    assert docker_run(engine, image).stdout == "from-entrypoint default-cmd\n"
    assert docker_run(engine, image, "other").stdout == "from-entrypoint other\n"
    assert docker_run(engine, image).stdout == docker_run(engine, entrypoint_image).stdout


def test_image_with_entrypoint_and_changes(engine, api, entrypoint_image, commit):
    image = commit(image=entrypoint_image, changes=['CMD ["changed-cmd"]', "ENV ADDED=1"])
    cfg = api.inspect_image(image)["Config"]
    assert cfg["Entrypoint"] == ["/bin/echo", "from-entrypoint"] and cfg["Cmd"] == ["changed-cmd"]
    assert "ADDED=1" in cfg["Env"] and "BASEVAR=base" in cfg["Env"] and cfg["WorkingDir"] == "/srv"
    assert docker_run(engine, image).stdout == "from-entrypoint changed-cmd\n"
    # a new ENTRYPOINT without CMD drops the inherited CMD, as in a Dockerfile
    image = commit(image=entrypoint_image, changes=['ENTRYPOINT ["/bin/echo", "new-entrypoint"]'])
    assert docker_run(engine, image).stdout == "new-entrypoint\n"


def test_entrypoint_and_cmd_cleared_by_changes(engine, api, entrypoint_image, commit):
    image = commit(image=entrypoint_image, changes=["ENTRYPOINT []", 'CMD ["/bin/echo", "plain cmd"]'])
    cfg = api.inspect_image(image)["Config"]
    assert not cfg["Entrypoint"] and cfg["Cmd"] == ["/bin/echo", "plain cmd"]
    assert docker_run(engine, image).stdout == "plain cmd\n"
    image = commit(image=entrypoint_image, changes=["ENTRYPOINT []", "CMD []"])
    assert not essentials(api, image)["Entrypoint"] and not essentials(api, image)["Cmd"]
    assert docker_run(engine, image, "/bin/cat", "/tmp/built-here").returncode == 0


def test_image_without_entrypoint_stays_without(engine, api, images, commit):
    image = commit(image=images["shell"])
    podman = engine.is_podman
    assert essentials(api, image, podman) == essentials(api, images["shell"], podman) == dict.fromkeys(KEYS)
    base, ours = docker_run(engine, images["shell"]), docker_run(engine, image)
    assert base.returncode != 0 and ours.returncode == base.returncode  # no command: refused, as the base is
    assert docker_run(engine, image, "/bin/cat", "/tmp/built-here").returncode == 0  # the provisioned file is there


def test_image_without_entrypoint_with_changes(engine, api, images, commit):
    image = commit(image=images["shell"], changes=["CMD echo shell form on $HOSTNAME", "USER builder",
                                                   "WORKDIR /home/builder"])
    cfg = api.inspect_image(image)["Config"]
    assert not cfg["Entrypoint"] and cfg["Cmd"] == ["/bin/sh", "-c", "echo shell form on $HOSTNAME"]
    assert cfg["User"] == "builder" and cfg["WorkingDir"] == "/home/builder"
    result = docker_run(engine, image)
    assert result.returncode == 0 and result.stdout.startswith("shell form on ")
    assert docker_run(engine, image, "/bin/sh", "-c", "id -un; pwd").stdout == "builder\n/home/builder\n"
    image = commit(image=images["shell"], changes=['ENTRYPOINT ["/bin/echo", "only an entrypoint"]'])
    assert docker_run(engine, image).stdout == "only an entrypoint\n"


def test_keep_run_config_is_packers_behaviour(engine, api, entrypoint_image, commit):
    image = commit(image=entrypoint_image, keep_run_config=True)
    cfg = api.inspect_image(image)["Config"]
    assert cfg["Entrypoint"] == ["/bin/sh"] and not cfg["Cmd"]
    assert cfg["User"] == "builder" and cfg["WorkingDir"] == "/tmp" and "RUNVAR=provisioning" in cfg["Env"]
    assert docker_run(engine, image, "-c", "echo $RUNVAR").stdout == "provisioning\n"
    # and Packer's known limit on Docker: ENTRYPOINT [] in changes cannot clear the run command's entrypoint
    # (the engine refills it from the container; podman's commit clears it)
    image = commit(image=entrypoint_image, keep_run_config=True, changes=["ENTRYPOINT []"])
    assert (api.inspect_image(image)["Config"]["Entrypoint"] or None) == (None if engine.is_podman else ["/bin/sh"])


def test_provisioning_saw_the_run_command(run_build, images):
    """The run command's -e, -u and -w still apply to every command of the build."""
    seen = {}

    def look(relay) -> None:
        seen["out"] = relay.run("echo $RUNVAR; id -un; pwd").text

    run_build(config(image=images["shell"]), look)
    assert seen["out"] == "provisioning\nbuilder\n/tmp\n"


def test_commit_config_parsing():
    from hatchway_docker.commit import command_form, commit_config

    assert command_form('["a", "b c"]', ["/bin/sh", "-c"]) == ["a", "b c"]
    assert command_form("a b", ["/bin/sh", "-c"]) == ["/bin/sh", "-c", "a b"]
    assert command_form("[not json", ["sh", "-c"]) == ["sh", "-c", "[not json"]
    assert command_form("[]", ["sh"]) == [] and command_form("", ["sh"]) == []
    conf, rest = commit_config({"Entrypoint": ["/bin/sh"], "Cmd": None, "Env": ["A=1"]},
                               {"Entrypoint": ["/e"], "Cmd": ["c"]}, ["ENV B=2", "cmd [\"x\"]"])
    assert conf == {"Entrypoint": ["/e"], "Cmd": ["x"], "Env": ["A=1"]} and rest == ["ENV B=2"]
    assert json.dumps(commit_config({}, {}, [])[0]) == '{"Entrypoint": [], "Cmd": []}'

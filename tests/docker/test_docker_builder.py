"""The docker builder's keys, artifacts, cleanup and error messages, against a real engine."""
from __future__ import annotations

import io
import tarfile
from typing import List

import pytest

from hatchway.config import build as build_config
from hatchway.errors import ConnectError, HatchwayError
from hatchway.relay import Relay
from hatchway_docker import DockerBuilder, DockerCommunicator, DockerCommunicatorConfig, DockerConfig
from hatchway_docker.runargs import RunCommandError, parse_run_command

#: The default run_command plus --network none: the test engine has no bridge.
RUN = ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]


def config(**keys) -> DockerConfig:
    keys.setdefault("pull", False)
    keys.setdefault("run_command", RUN)
    conf, problems = build_config(DockerConfig, keys, "builders[0]")
    assert not [p for p in problems if p.is_error], problems
    return conf


def problems_of(**keys) -> List[str]:
    _, problems = build_config(DockerConfig, keys, "builders[0]")
    return [str(p) for p in problems if p.is_error]


def test_commit_applies_changes_author_and_message(run_build, images, api, engine):
    conf = config(image=images["shell"], commit=True, author="Ada <ada@example.org>", message="first build",
                  changes=["ENV APP=/opt/app", "WORKDIR /opt/app", "LABEL made.by=hatchway", "EXPOSE 8080/tcp",
                           "USER builder", "VOLUME /data", 'ENTRYPOINT ["/bin/sh", "-c"]', 'CMD ["echo hi"]',
                           "ONBUILD RUN true"])
    builder, ctx, artifact = run_build(conf, lambda relay: relay.execute("echo built > /made-here"))
    image = api.inspect_image(artifact.id)
    cfg = image["Config"]
    assert "APP=/opt/app" in cfg["Env"]
    assert cfg["WorkingDir"] == "/opt/app"
    assert cfg["Labels"] == {"made.by": "hatchway"}
    assert "8080/tcp" in cfg["ExposedPorts"]
    assert cfg["User"] == "builder"
    assert "/data" in cfg["Volumes"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and cfg["Cmd"] == ["echo hi"]
    # podman commits OCI images, which have no ONBUILD
    assert cfg["OnBuild"] == (None if engine.is_podman else ["RUN true"])
    assert image["Author"] == "Ada <ada@example.org>" and image["Comment"] == "first build"
    assert artifact.data["image_id"] == artifact.id and str(artifact).startswith("Imported Docker image: sha256:")
    # the provisioned file is in the image: run it
    check = api.create_container(artifact.id, entrypoint=["/bin/cat"], command=["/made-here"],
                                 host_config=api.create_host_config(network_mode="none"))
    api.start(check)
    assert api.wait(check, timeout=60)["StatusCode"] == 0
    assert api.logs(check) == b"built\n"
    api.remove_container(check, force=True)
    api.remove_image(artifact.id, force=True)


def test_export_writes_the_filesystem_tar(run_build, images, tmp_path):
    out = tmp_path / "out" / "rootfs.tar"
    conf = config(image=images["shell"], export_path=str(out))
    _, _, artifact = run_build(conf, lambda relay: relay.upload(io.BytesIO(b"exported\n"), "/srv/marker"))
    assert artifact.files == [str(out)] and str(artifact) == f"Exported Docker file: {out}"
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
        assert "bin/busybox" in names
        assert archive.extractfile("srv/marker").read() == b"exported\n"


def test_discard_leaves_no_artifact_and_cleanup_removes_the_container(run_build, images, api):
    builder, ctx, artifact = run_build(config(image=images["shell"], discard=True))
    assert artifact is None
    container = builder.container_id
    assert api.inspect_container(container)["State"]["Running"]
    builder.cleanup(ctx)
    assert not [c for c in api.containers(all=True) if c["Id"] == container]
    builder.cleanup(ctx)  # twice is harmless


def test_cleanup_without_run_is_harmless(monkey_env, make_ctx):
    ctx = make_ctx()
    DockerBuilder(config(image="whatever", discard=True)).cleanup(ctx)
    assert ctx.ui.lines == []  # nothing to remove, nothing said


def test_host_keys_reach_the_container(run_build, images, api, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "from-host").write_text("host file\n")
    conf = config(image=images["shell"], discard=True, volumes={str(shared): "/mnt/shared"},
                  cap_add=["SYS_PTRACE"], cap_drop=["NET_RAW"], device=["/dev/null:/dev/hwnull"],
                  tmpfs=["/scratch:size=8m"], platform="linux/amd64", container_dir="/packer-files")
    seen = {}

    def look(relay: Relay) -> None:
        seen["file"] = relay.run("cat /mnt/shared/from-host").text
        seen["device"] = relay.execute("test -c /dev/hwnull")
        seen["tmpfs"] = relay.run("grep ' /scratch ' /proc/mounts").text
        seen["packer-files"] = relay.execute("test -d /packer-files")

    builder, _, _ = run_build(conf, look)
    host = api.inspect_container(builder.container_id)["HostConfig"]
    assert host["CapAdd"] == ["SYS_PTRACE"] and host["CapDrop"] == ["NET_RAW"]
    assert seen == {"file": "host file\n", "device": 0, "tmpfs": seen["tmpfs"], "packer-files": 0}
    assert seen["tmpfs"].startswith("tmpfs /scratch tmpfs")


def test_exec_user_and_fix_upload_owner_reach_the_communicator(run_build, images):
    seen = {}

    def look(relay: Relay) -> None:
        relay.upload(io.BytesIO(b"x"), "/tmp/owned")
        seen["who"] = relay.run("id -un").text.strip()
        seen["owner"] = relay.run("stat -c %U /tmp/owned").text.strip()

    run_build(config(image=images["shell"], discard=True, exec_user="builder"), look)
    assert seen == {"who": "builder", "owner": "builder"}
    run_build(config(image=images["shell"], discard=True, exec_user="builder", fix_upload_owner=False), look)
    assert seen == {"who": "builder", "owner": "root"}


def test_run_command_options_are_applied(run_build, images, api):
    conf = config(image=images["shell"], discard=True,
                  run_command=["-d", "-i", "-t", "--network", "none", "-e", "GREETING=hi", "--user=builder",
                               "-w", "/tmp", "--hostname=hw-box", "--label", "team=infra",
                               "--entrypoint=/bin/sh", "--", "{{.Image}}"])
    seen = {}
    command = "echo $GREETING $(hostname) $(pwd) $(id -un)"
    builder, _, _ = run_build(conf, lambda relay: seen.update(out=relay.run(command).text))
    assert seen["out"] == "hi hw-box /tmp builder\n"
    info = api.inspect_container(builder.container_id)
    # -e, -w and -u reach the commands, not the container's config (which a commit would keep)
    assert info["Config"]["User"] == "" and info["Config"]["Labels"] == {"team": "infra"}
    assert "GREETING=hi" not in (info["Config"]["Env"] or [])
    # with keep_run_config, as Packer does: the container itself gets them
    builder, _, _ = run_build(config(image=images["shell"], discard=True, keep_run_config=True,
                                     run_command=conf.run_command), lambda relay: seen.update(out=relay.run(command).text))
    assert seen["out"] == "hi hw-box /tmp builder\n"
    info = api.inspect_container(builder.container_id)
    assert info["Config"]["User"] == "builder" and "GREETING=hi" in info["Config"]["Env"]


# -- errors ----------------------------------------------------------------

def test_missing_image_without_pull(monkey_env, make_ctx):
    builder, ctx = DockerBuilder(config(image="hatchway-test/not-there:1", discard=True)), make_ctx()
    with pytest.raises(HatchwayError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert "'hatchway-test/not-there:1' is not on the Docker daemon" in message and '"pull" is false' in message
    builder.cleanup(ctx)


def test_pull_failure_is_one_clear_message(monkey_env, make_ctx):
    builder, ctx = DockerBuilder(config(image="127.0.0.1:9/hatchway/nope:1", pull=True, discard=True)), make_ctx()
    with pytest.raises(HatchwayError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert "cannot pull image '127.0.0.1:9/hatchway/nope:1'" in message and '"pull": false' in message
    builder.cleanup(ctx)


def test_unreachable_daemon(monkeypatch, tmp_path, make_ctx):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    builder, ctx = DockerBuilder(config(image="any", discard=True)), make_ctx()
    with pytest.raises(ConnectError) as info:
        builder.run(ctx)
    assert f"cannot reach the Docker daemon at unix://{tmp_path}/nothing.sock" in str(info.value)
    builder.cleanup(ctx)


def test_container_that_exits_at_once(run_build, images, api):
    """No wait after start: the first command finds the container stopped and says why, with its output."""
    conf = config(image=images["shell"], discard=True,
                  run_command=["-d", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}", "-c",
                               "echo bye from the entrypoint; exit 3"])
    made = []

    def provision(relay: Relay) -> None:
        made.append(relay.communicator.container_id)
        api.wait(made[0], timeout=60)  # the engine's wait API: until the entrypoint has exited
        relay.execute("echo never")

    with pytest.raises(ConnectError) as info:
        run_build(conf, provision)
    message = str(info.value)
    assert "stopped right after it started (exited with status 3)" in message
    assert "bye from the entrypoint" in message
    assert "--entrypoint=/bin/sh" in message


def test_describe_names_the_container(run_build, images):
    builder, _, _ = run_build(config(image=images["shell"], discard=True))
    assert f"container {builder.container_id[:12]}" in builder.describe()
    assert f"docker rm -f {builder.container_id[:12]}" in builder.describe()


# -- config ------------------------------------------------------------------

def test_exactly_one_of_commit_discard_export_path():
    assert any("none is set" in p for p in problems_of(image="x"))
    assert any("commit and discard are set" in p for p in problems_of(image="x", commit=True, discard=True))
    assert not problems_of(image="x", export_path="out.tar")


def test_image_is_required():
    assert any("image" in p for p in problems_of(commit=True))


def test_changes_are_checked():
    found = problems_of(image="x", commit=True, changes=["RUN apt-get update", "ENV A=1"])
    assert len(found) == 1 and "changes[0]" in found[0] and "'RUN apt-get update'" in found[0]
    assert any("only applied on commit" in p for p in problems_of(image="x", discard=True, changes=["ENV A=1"]))


def test_run_command_is_checked():
    found = problems_of(image="x", discard=True, run_command=["-d", "--restart=always", "{{.Image}}"])
    assert len(found) == 1 and "'--restart' is not supported" in found[0]


def test_run_command_parsing():
    spec = parse_run_command(["-d", "-i", "-t", "-v", "/a:/b:ro", "--tmpfs", "/run:size=1m", "--env=A=1",
                              "--entrypoint", "/bin/bash", "img:1", "-c", "sleep 1"])
    assert spec.image == "img:1" and spec.command == ["-c", "sleep 1"]
    assert spec.create == {"stdin_open": True, "tty": True, "environment": ["A=1"], "entrypoint": ["/bin/bash"]}
    assert spec.host == {"binds": ["/a:/b:ro"], "tmpfs": {"/run": "size=1m"}}
    with pytest.raises(RunCommandError):
        parse_run_command(["-d", "--"])
    with pytest.raises(RunCommandError):
        parse_run_command(["-v"])


def test_privileged_reaches_the_container(monkey_env, images, api, make_ctx):
    """Some sandboxes cannot start privileged containers (a capability is missing from their bounding
    set); the key must reach the engine either way, and the message must say what failed."""
    builder, ctx = DockerBuilder(config(image=images["shell"], discard=True, privileged=True)), make_ctx()
    try:
        builder.run(ctx)
    except HatchwayError as exc:
        assert "cannot start a container from image" in str(exc)
    assert api.inspect_container(builder.container_id)["HostConfig"]["Privileged"] is True
    builder.cleanup(ctx)


def test_login_failure_names_the_registry_not_the_password(monkey_env, images, make_ctx):
    conf = config(image=images["shell"], pull=True, discard=True, login=True, login_server="127.0.0.1:9",
                  login_username="ci-bot", login_password="s3cret-pass")
    builder, ctx = DockerBuilder(conf), make_ctx()
    with pytest.raises(HatchwayError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert "cannot log in to 127.0.0.1:9 as 'ci-bot'" in message and "s3cret-pass" not in message
    builder.cleanup(ctx)


def test_login_needs_credentials():
    assert any("login needs login_username and login_password" in p
               for p in problems_of(image="x", discard=True, login=True, login_username="u"))

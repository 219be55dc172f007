"""A daemon reached over TLS, found from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH."""
from __future__ import annotations

import io
import os

import pytest

from hatchway.config import build as build_config
from hatchway.errors import CommunicatorError, ConnectError
from hatchway.relay import Relay
from hatchway_docker import DockerBuilder, DockerCommunicator, DockerCommunicatorConfig, DockerConfig
from servers import dockerd

RUN = ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]


@pytest.fixture(scope="module")
def tls_engine():
    try:
        engine = dockerd.start_private(tls=True)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        api = engine.client()
        dockerd.build_images(api)
        api.close()
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def tls_env(monkeypatch, tls_engine):
    for key in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.setenv(key, tls_engine.env[key])
    return tls_engine


def test_build_over_tls(tls_env, make_ctx, tmp_path):
    conf, problems = build_config(DockerConfig, {"image": dockerd.SHELL_IMAGE, "pull": False, "commit": True,
                                                 "run_command": RUN, "exec_user": "builder"}, "builders[0]")
    assert not problems
    builder, ctx = DockerBuilder(conf), make_ctx()
    try:
        target = builder.run(ctx)
        assert target.data["settings"]["tls"] and target.data["settings"]["base_url"].startswith("tcp://127.0.0.1:")
        api = tls_env.client()
        # a daemon on another machine cannot mount this machine's temp dir: no container_dir mount
        assert not api.inspect_container(target.data["container_id"])["HostConfig"]["Binds"]
        api.close()
        relay = Relay(DockerCommunicator(DockerCommunicatorConfig(), target))
        relay.connect()
        result = relay.run("echo out; echo err >&2; id -un; exit 4")
        assert (result.exit_status, result.stdout, result.stderr) == (4, b"out\nbuilder\n", b"err\n")
        data = os.urandom(3 * 1024 * 1024)
        relay.upload(io.BytesIO(data), "/tmp/over/tls.bin", mode=0o640)
        relay.download("/tmp/over/tls.bin", tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == data
        assert relay.run("stat -c '%a %U' /tmp/over/tls.bin; ls -A /tmp/over").text.split("\n")[:2] == \
            ["640 builder", "tls.bin"]
        with pytest.raises(CommunicatorError) as info:
            relay.run("cat", stdin=io.BytesIO(b"x"))
        assert "TLS" in str(info.value) and "stdin" in str(info.value)
        relay.cleanup()
        artifact = builder.artifact(ctx)
        assert artifact.id.startswith("sha256:")
    finally:
        builder.cleanup(ctx)
    api = tls_env.client()
    assert api.containers(all=True) == []
    api.close()


def test_tls_daemon_without_certificates(tls_env, monkeypatch, make_ctx):
    monkeypatch.delenv("DOCKER_TLS_VERIFY")
    monkeypatch.delenv("DOCKER_CERT_PATH")
    conf, _ = build_config(DockerConfig, {"image": "x", "discard": True}, "builders[0]")
    builder, ctx = DockerBuilder(conf), make_ctx()
    with pytest.raises(ConnectError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert message.startswith(f"cannot reach the Docker daemon at {tls_env.env['DOCKER_HOST']}")
    assert "\n" not in message
    builder.cleanup(ctx)

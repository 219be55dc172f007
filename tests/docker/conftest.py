"""Fixtures for the docker plugin: a real Docker engine (shared or private), busybox images, containers."""
from __future__ import annotations

import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from hatchway.communicator import Target
from hatchway.context import BuildContext
from hatchway.relay import Relay
from hatchway_docker import DockerBuilder
from hatchway.template.functions import RenderContext, render
from hatchway_docker import DockerCommunicator, DockerCommunicatorConfig

#: Every container a test makes carries this label, so a run removes what it left behind.
LABEL = "hatchway-test"


@pytest.fixture(scope="session")
def settings(engine) -> dict:
    """The docker SDK settings that reach the engine (what the builder hands its communicator)."""
    return engine.settings


@pytest.fixture
def monkey_env(monkeypatch, engine):
    """DOCKER_HOST names the test engine, as a user's environment would."""
    for key, value in engine.env.items():
        if key.startswith("DOCKER_"):
            monkeypatch.setenv(key, value)
    if engine.private:
        for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
            monkeypatch.delenv(key, raising=False)
    return engine


@pytest.fixture
def make_container(api, images) -> Iterator[Callable[..., str]]:
    """``make_container(kind="shell", **create_kwargs) -> id``: a running container, removed afterwards."""
    made: List[str] = []

    def make(kind: str = "shell", **kwargs) -> str:
        if kind == "shell":
            kwargs.setdefault("entrypoint", ["/bin/sh"])
            kwargs.setdefault("stdin_open", True)
            kwargs.setdefault("tty", True)
        else:
            kwargs.setdefault("entrypoint", ["/bin/sleep"])
            kwargs.setdefault("command", ["100000"])
        host_config = api.create_host_config(network_mode="none", **kwargs.pop("host", {}))
        container = api.create_container(images[kind], detach=True, host_config=host_config,
                                         labels={LABEL: "1"}, name=f"hw-test-{uuid.uuid4().hex[:8]}", **kwargs)
        made.append(container["Id"])
        api.start(container["Id"])
        return container["Id"]

    yield make
    for container in made:
        api.remove_container(container, force=True)


@pytest.fixture
def make_relay(settings) -> Iterator[Callable[..., Relay]]:
    """``make_relay(container_id, exec_user="", fix_upload_owner=True) -> Relay`` (connected)."""
    relays: List[Relay] = []

    def make(container: str, **data) -> Relay:
        target = Target(data={"container_id": container, "settings": settings, **data})
        relay = Relay(DockerCommunicator(DockerCommunicatorConfig(), target, "test"))
        relay.connect()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.cleanup()


class TinyUI:
    """A build UI with say/message/error, keeping the lines for asserts."""

    def __init__(self) -> None:
        self.lines: List[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)

    message = error = say


@pytest.fixture
def make_ctx() -> Callable[..., BuildContext]:
    """``make_ctx(name="unit") -> BuildContext`` made by hand, rendering ``{{.Image}}``-style fields."""

    def make(name: str = "unit") -> BuildContext:
        def late(text: str, data: Optional[Dict[str, Any]] = None) -> str:
            return render(text, RenderContext(data=dict(data or {})))

        return BuildContext(build_name=name, build_type="docker", ui=TinyUI(), render=late)

    return make


@pytest.fixture
def run_build(monkey_env, api, make_ctx):
    """``run_build(conf, provision=None) -> (builder, ctx, artifact)``: run, provision, artifact; cleanup after."""
    made = []

    def run(conf, provision=None):
        builder, ctx = DockerBuilder(conf), make_ctx()
        made.append((builder, ctx))
        target = builder.run(ctx)
        relay = Relay(DockerCommunicator(DockerCommunicatorConfig(), target, "unit"))
        relay.connect()
        ctx.communicator = relay
        try:
            if provision:
                provision(relay)
            artifact = builder.artifact(ctx)
        finally:
            relay.cleanup()
        return builder, ctx, artifact

    yield run
    for builder, ctx in made:
        builder.cleanup(ctx)

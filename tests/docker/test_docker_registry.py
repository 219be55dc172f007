"""Registries for real (issue 12 §2): login, a private base image, docker-push, docker-import, ECR up to its
token call, and the builder keys Packer has that this engine refuses or ignores.

The registries are Debian's ``docker-registry`` on loopback (tests/servers/registry.py): one open, one
with htpasswd auth, one with htpasswd auth and TLS from a certificate made by the fixture.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest

from hatchway.config import build as build_config
from hatchway.errors import HatchwayError
from hatchway_docker import DockerConfig, DockerImport, DockerPush, DockerTag
from hatchway_docker.postprocessors import DockerImportConfig, DockerPushConfig, DockerTagConfig
from hatchway_docker.registry import LoginError

from servers.registry import Registry, start_registry

RUN = ["-d", "-i", "-t", "--network=none", "--entrypoint=/bin/sh", "--", "{{.Image}}"]
USER, PASSWORD = "ci-bot", "Reg1stry-pa55word"
ROOT = Path(__file__).resolve().parents[2]


def conf(cls, **keys):
    made, problems = build_config(cls, keys, "section[0]")
    assert not [p for p in problems if p.is_error], problems
    return made


def problems(cls, **keys) -> List[str]:
    return [str(p) for p in build_config(cls, keys, "section[0]")[1] if p.is_error]


def builder_config(**keys) -> DockerConfig:
    keys.setdefault("pull", False)
    keys.setdefault("run_command", RUN)
    return conf(DockerConfig, **keys)


def login_keys(registry: Registry, password: str = PASSWORD) -> dict:
    return {"login": True, "login_server": registry.address, "login_username": USER, "login_password": password}


@pytest.fixture(scope="module", params=["auth", "auth+tls"])
def secured(request) -> Iterator[Registry]:
    """A registry that wants htpasswd credentials: over plain HTTP, then over TLS."""
    registry = start_registry(USER, PASSWORD, tls=request.param.endswith("tls"))
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def open_registry() -> Iterator[Registry]:
    registry = start_registry()
    yield registry
    registry.stop()


@pytest.fixture
def private_base(api, images, secured) -> Iterator[str]:
    """The busybox image pushed to the secured registry, and gone from the engine: only a pull can bring it."""
    ref = f"{secured.address}/base/busybox:1"
    api.tag(images["shell"], f"{secured.address}/base/busybox", "1")
    auth = {"username": USER, "password": PASSWORD}
    events = list(api.push(f"{secured.address}/base/busybox", tag="1", auth_config=auth, stream=True, decode=True))
    assert not [e for e in events if e.get("error")], events
    api.remove_image(ref)
    yield ref
    try:
        api.remove_image(ref, force=True)
    except Exception:
        pass


def test_login_with_the_right_password_pulls_a_private_base_image(run_build, api, secured, private_base):
    seen = {}
    builder, ctx, _ = run_build(builder_config(image=private_base, pull=True, discard=True, **login_keys(secured)),
                                lambda relay: seen.update(out=relay.run("echo from the private image").text))
    assert seen["out"] == "from the private image\n"
    assert api.inspect_image(private_base)["Id"]
    assert any("Logging in to" in line for line in ctx.ui.lines)
    assert not any(PASSWORD in line for line in ctx.ui.lines)


def test_without_login_the_private_image_cannot_be_pulled(monkey_env, make_ctx, private_base):
    from hatchway_docker import DockerBuilder

    builder, ctx = DockerBuilder(builder_config(image=private_base, pull=True, discard=True)), make_ctx()
    with pytest.raises(HatchwayError) as info:
        builder.run(ctx)
    assert f"cannot pull image {private_base!r}" in str(info.value)
    builder.cleanup(ctx)


def test_wrong_password_is_one_message_without_the_password(monkey_env, make_ctx, secured):
    from hatchway_docker import DockerBuilder

    wrong = "Wr0ng-pa55word-xyz"
    builder = DockerBuilder(builder_config(image=f"{secured.address}/base/busybox:1", pull=True, discard=True,
                                           **login_keys(secured, wrong)))
    ctx = make_ctx()
    with pytest.raises(LoginError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert f"cannot log in to {secured.address} as 'ci-bot'" in message and "login_password" in message
    assert wrong not in message and not any(wrong in line for line in ctx.ui.lines)
    builder.cleanup(ctx)


def test_wrong_password_through_the_cli_never_shows_it(engine, images, secured, tmp_path):
    wrong = "Wr0ng-pa55word-cli"
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"builders": [{"type": "docker", "image": f"{secured.address}/base/busybox:1",
                                              "discard": True, "run_command": RUN, **login_keys(secured, wrong)}]}))
    result = subprocess.run([sys.executable, "-c", "import sys; from hatchway.cli import main; sys.exit(main())",
                             "build", "-debug", str(path)], env=engine.env, capture_output=True, text=True,
                            timeout=240, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert f"cannot log in to {secured.address}" in output
    assert wrong not in output


def test_commit_tag_push_and_pull_back(run_build, api, images, secured, make_ctx):
    _, _, artifact = run_build(builder_config(image=images["shell"], commit=True),
                               lambda relay: relay.execute("echo pushed > /pushed-here"))
    repository = f"{secured.address}/hw/app"
    tagged = DockerTag(conf(DockerTagConfig, repository=repository, tags=["v1", "latest"])).process(make_ctx(), artifact)
    ctx = make_ctx()
    pushed = DockerPush(conf(DockerPushConfig, **login_keys(secured))).process(ctx, tagged)
    digest = pushed.data["digest"]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert pushed.data["generated_data"] == {"Digest": digest}
    assert f"{repository}@{digest}" in pushed.data["repo_digests"]
    assert f"Pushed Docker image: {repository}:v1, {repository}:latest ({digest})" == str(pushed)
    assert not any(PASSWORD in line for line in ctx.ui.lines)
    # gone from the engine, then pulled back from the registry: the same image
    api.remove_image(artifact.id, force=True)
    with pytest.raises(Exception):
        api.inspect_image(f"{repository}:v1")
    events = list(api.pull(repository, tag="v1", auth_config={"username": USER, "password": PASSWORD},
                           stream=True, decode=True))
    assert not [e for e in events if e.get("error")], events
    assert api.inspect_image(f"{repository}:v1")["Id"] == artifact.id
    api.remove_image(f"{repository}:v1", force=True)


def test_push_without_login_to_a_secured_registry_fails_clearly(run_build, images, secured, make_ctx):
    _, _, artifact = run_build(builder_config(image=images["shell"], commit=True))
    tagged = DockerTag(conf(DockerTagConfig, repository=f"{secured.address}/hw/denied")).process(make_ctx(), artifact)
    with pytest.raises(HatchwayError) as info:
        DockerPush(conf(DockerPushConfig)).process(make_ctx(), tagged)
    assert f"cannot push {secured.address}/hw/denied:latest" in str(info.value)


def test_export_import_and_push_to_an_open_registry(run_build, api, images, open_registry, make_ctx, tmp_path):
    out = tmp_path / "rootfs.tar"
    _, _, exported = run_build(builder_config(image=images["shell"], export_path=str(out)),
                               lambda relay: relay.execute("echo imported > /imported-here"))
    repository = f"{open_registry.address}/hw/imported"
    imported = DockerImport(conf(DockerImportConfig, repository=repository, tag="v2",
                                 changes=['CMD ["/bin/cat", "/imported-here"]'])).process(make_ctx(), exported)
    assert imported.data["tags"] == [f"{repository}:v2"] and imported.id.startswith("sha256:")
    assert api.inspect_image(f"{repository}:v2")["Config"]["Cmd"] == ["/bin/cat", "/imported-here"]
    pushed = DockerPush(conf(DockerPushConfig)).process(make_ctx(), imported)
    assert pushed.data["digest"].startswith("sha256:")
    api.remove_image(f"{repository}:v2", force=True)
    assert not [e for e in api.pull(repository, tag="v2", stream=True, decode=True) if e.get("error")]
    run = api.create_container(f"{repository}:v2", host_config=api.create_host_config(network_mode="none"))
    api.start(run)
    assert api.wait(run, timeout=60)["StatusCode"] == 0 and api.logs(run) == b"imported\n"
    api.remove_container(run, force=True)
    api.remove_image(f"{repository}:v2", force=True)


def test_import_and_push_need_the_right_artifact(make_ctx, tmp_path):
    from hatchway.components import Artifact

    committed = Artifact("docker", id="sha256:abc", description="x", data={"image_id": "sha256:abc", "tags": []})
    with pytest.raises(HatchwayError) as info:
        DockerImport(conf(DockerImportConfig, repository="x")).process(make_ctx(), committed)
    assert "export_path" in str(info.value)
    with pytest.raises(HatchwayError) as info:
        DockerPush(conf(DockerPushConfig)).process(make_ctx(), committed)
    assert "docker-tag" in str(info.value)


# -- ECR, windows_container, docker_path -----------------------------------------------------------------

def test_ecr_login_goes_up_to_the_token_call(monkey_env, make_ctx, monkeypatch, tmp_path):
    from hatchway_docker import DockerBuilder

    monkeypatch.setenv("HOME", str(tmp_path))
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    builder = DockerBuilder(builder_config(image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1", pull=True,
                                           discard=True, ecr_login=True,
                                           login_server="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                                           aws_access_key="AKIAIOSFODNN7EXAMPLE", aws_secret_key=secret))
    ctx = make_ctx()
    with pytest.raises(LoginError) as info:
        builder.run(ctx)
    message = str(info.value)
    assert "cannot get a login token for account 123456789012 from api.ecr.eu-west-1.amazonaws.com" in message
    assert "needs network access to AWS" in message and secret not in message
    assert any("Fetching ECR credentials" in line for line in ctx.ui.lines)
    builder.cleanup(ctx)


def test_ecr_login_without_credentials_says_where_it_looked(monkeypatch, tmp_path):
    from hatchway_docker.registry import ecr_credentials

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(LoginError) as info:
        ecr_credentials("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert "no AWS credentials" in str(info.value) and "aws_access_key" in str(info.value)


def test_ecr_keys_are_checked():
    assert any("ecr_login needs login_server" in p for p in problems(DockerConfig, image="x", discard=True,
                                                                       ecr_login=True))
    assert any("is not an ECR registry" in p for p in problems(DockerPushConfig, ecr_login=True,
                                                                login_server="registry.example.org"))
    assert not problems(DockerPushConfig, ecr_login=True, login_server="1.dkr.ecr.us-east-1.amazonaws.com",
                        aws_profile="ci", aws_token="t", platform="linux/amd64", docker_path="/usr/bin/docker")


def test_windows_container_is_refused_on_a_linux_engine(monkey_env, images, make_ctx):
    from hatchway_docker import DockerBuilder

    builder, ctx = DockerBuilder(builder_config(image=images["shell"], discard=True, windows_container=True)), make_ctx()
    with pytest.raises(HatchwayError) as info:
        builder.run(ctx)
    assert "windows_container is true, but the Docker daemon" in str(info.value)
    assert "runs linux containers" in str(info.value)
    assert not builder.container_id  # refused before anything was made
    builder.cleanup(ctx)


def test_docker_path_and_runtime_are_accepted(run_build, images, api):
    builder, _, _ = run_build(builder_config(image=images["shell"], discard=True, docker_path="/nonexistent/docker",
                                             runtime="runc"))
    assert api.inspect_container(builder.container_id)["HostConfig"]["Runtime"] == "runc"

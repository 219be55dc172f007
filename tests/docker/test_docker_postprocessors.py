"""docker-tag and docker-save on a real committed image."""
from __future__ import annotations

import json
import tarfile

import pytest

from hatchway.components import Artifact
from hatchway.config import build as build_config
from hatchway.errors import HatchwayError
from hatchway_docker import DockerSave, DockerTag
from hatchway_docker.postprocessors import DockerSaveConfig, DockerTagConfig


@pytest.fixture
def committed(api, images, make_container, settings):
    """An artifact as the docker builder makes it with commit: true."""
    container = make_container()
    image_id = api.commit(container, message="for post-processors")["Id"]
    yield Artifact("docker", id=image_id, description=f"Imported Docker image: {image_id}",
                   data={"image_id": image_id, "tags": [], "settings": settings})
    api.remove_image(image_id, force=True)


def conf(cls, **keys):
    made, problems = build_config(cls, keys, "post-processors[0]")
    assert not [p for p in problems if p.is_error], problems
    return made


def test_tag_gives_every_tag(api, committed, make_ctx):
    out = DockerTag(conf(DockerTagConfig, repository="hw/tagged", tags=["1.0", "stable"])).process(make_ctx(), committed)
    assert out.id == committed.id and out.data["tags"] == ["hw/tagged:1.0", "hw/tagged:stable"]
    assert "hw/tagged:1.0" in str(out)
    assert set(api.inspect_image(committed.id)["RepoTags"]) >= {"hw/tagged:1.0", "hw/tagged:stable"}


def test_tag_alias_and_default_tag(api, committed, make_ctx):
    out = DockerTag(conf(DockerTagConfig, repository="hw/plain")).process(make_ctx(), committed)
    assert out.data["tags"] == ["hw/plain:latest"]
    out = DockerTag(conf(DockerTagConfig, repository="hw/plain", tag=["old-spelling"])).process(make_ctx(), out)
    assert out.data["tags"] == ["hw/plain:latest", "hw/plain:old-spelling"]


def test_save_after_tag_writes_a_loadable_tar(api, committed, tmp_path, make_ctx):
    tagged = DockerTag(conf(DockerTagConfig, repository="hw/saved", tags=["v1"])).process(make_ctx(), committed)
    path = tmp_path / "images" / "saved.tar"
    out = DockerSave(conf(DockerSaveConfig, path=str(path))).process(make_ctx(), tagged)
    assert out.files == [str(path)]
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["hw/saved:v1"]
    api.remove_image("hw/saved:v1")
    api.load_image(path.read_bytes())
    assert api.inspect_image("hw/saved:v1")["Id"] == committed.id


def test_post_processors_need_an_image(tmp_path, make_ctx):
    exported = Artifact("docker", id="out.tar", files=["out.tar"], description="Exported Docker file: out.tar")
    with pytest.raises(HatchwayError) as info:
        DockerTag(conf(DockerTagConfig, repository="x")).process(make_ctx(), exported)
    assert "docker-tag needs a Docker image" in str(info.value) and '"commit": true' in str(info.value)
    with pytest.raises(HatchwayError):
        DockerSave(conf(DockerSaveConfig, path=str(tmp_path / "x.tar"))).process(make_ctx(), exported)


def test_required_keys():
    _, problems = build_config(DockerTagConfig, {}, "post-processors[0]")
    assert any("repository" in str(p) for p in problems)
    _, problems = build_config(DockerSaveConfig, {}, "post-processors[0]")
    assert any("path" in str(p) for p in problems)

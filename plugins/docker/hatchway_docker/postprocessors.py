"""The ``docker-tag`` and ``docker-save`` post-processors: they take the image the ``docker``
builder committed (an artifact whose ``data`` holds ``image_id``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List

import attrs

from hatchway import Artifact, BuildContext, HatchwayError, PostProcessor, option
from hatchway.toolkit import CHUNK, atomic_writer

from . import daemon

__all__ = ["DockerTag", "DockerTagConfig", "DockerSave", "DockerSaveConfig"]


def _image_of(artifact: Artifact, who: str) -> str:
    image = artifact.data.get("image_id") if artifact.data else None
    if not image:
        raise HatchwayError(f"{who} needs a Docker image, but the artifact is {artifact}; "
                            "use it after the docker builder with \"commit\": true")
    return str(image)


def _api(artifact: Artifact) -> Any:
    return daemon.open_api(artifact.data.get("settings"))


@attrs.define(kw_only=True)
class DockerTagConfig:
    repository: str = option("", required=True, help="The repository to tag the image into (e.g. example/app).")
    tags: List[str] = option(factory=list, aliases=("tag",), help="Tags to give it (default: latest).")
    force: bool = option(False, help="Move a tag that already names another image.")


class DockerTag(PostProcessor):
    """Tags the committed image as ``repository:tag`` for each tag."""

    name = "docker-tag"
    Config = DockerTagConfig

    def process(self, ctx: BuildContext, artifact: Artifact) -> Artifact:
        c: DockerTagConfig = self.config
        image = _image_of(artifact, "docker-tag")
        api = _api(artifact)
        refs = []
        try:
            for tag in c.tags or ["latest"]:
                ref = f"{c.repository}:{tag}"
                ctx.ui.message(f"Tagging {daemon.short(image)} as {ref}")
                with daemon.api_errors(f"cannot tag image {daemon.short(image)} as {ref}"):
                    api.tag(image, c.repository, tag, force=c.force)
                refs.append(ref)
        finally:
            api.close()
        tags = list(artifact.data.get("tags", [])) + refs
        return Artifact("docker", id=image, description=f"Tagged Docker image: {image} as {', '.join(tags)}",
                        data={**artifact.data, "tags": tags})


@attrs.define(kw_only=True)
class DockerSaveConfig:
    path: str = option("", required=True, path=True, help="The tar file to save the image to (docker save).")


class DockerSave(PostProcessor):
    """Saves the image (with its tags, if docker-tag ran first) to a tar that `docker load` reads."""

    name = "docker-save"
    Config = DockerSaveConfig

    def process(self, ctx: BuildContext, artifact: Artifact) -> Artifact:
        c: DockerSaveConfig = self.config
        image = _image_of(artifact, "docker-save")
        tags = artifact.data.get("tags") or []
        ref = tags[0] if tags else image
        path = Path(c.path)
        ctx.ui.message(f"Saving {ref} to {path}")
        api = _api(artifact)
        try:
            with daemon.api_errors(f"cannot save image {ref} to {path}"):
                with atomic_writer(path, 0o644) as out:
                    for chunk in api.get_image(ref, chunk_size=CHUNK):
                        ctx.check_cancelled()
                        out.write(chunk)
        finally:
            api.close()
        return Artifact("docker-save", id=str(path), files=[str(path)],
                        description=f"Saved Docker image {ref} to {path}", data=dict(artifact.data))

"""The ``docker-tag``, ``docker-save``, ``docker-push`` and ``docker-import`` post-processors.

``docker-tag``, ``docker-save`` and ``docker-push`` take an image: the one
the ``docker`` builder committed, or one ``docker-import`` made (an
artifact whose ``data`` holds ``image_id`` and, once tagged, ``tags``).
``docker-import`` takes the tar the builder exported (``export_path``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import attrs

from hatchway import Artifact, BuildContext, HatchwayError, PostProcessor, option
from hatchway.toolkit import CHUNK, atomic_writer

from . import daemon, registry
from .registry import LoginConfig

__all__ = ["DockerTag", "DockerTagConfig", "DockerSave", "DockerSaveConfig", "DockerPush", "DockerPushConfig",
           "DockerImport", "DockerImportConfig"]


def _image_of(artifact: Artifact, who: str) -> str:
    image = artifact.data.get("image_id") if artifact.data else None
    if not image:
        raise HatchwayError(f"{who} needs a Docker image, but the artifact is {artifact}; "
                            "use it after the docker builder with \"commit\": true")
    return str(image)


def _api(artifact: Artifact) -> Any:
    return daemon.open_api((artifact.data or {}).get("settings"))


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


@attrs.define(kw_only=True)
class DockerPushConfig(LoginConfig):
    platform: str = option("", help="Packer's key: accepted; the engine pushes the image it has.")
    docker_path: str = option("docker", help="Packer's docker CLI path: accepted and unused (the engine's API "
                              "is used directly).")

    def check(self):
        yield from self.login_problems()


class DockerPush(PostProcessor):
    """Pushes every tag of the image (docker-tag or docker-import first) to its registry, logging in first
    if asked; the artifact carries the pushed digest."""

    name = "docker-push"
    Config = DockerPushConfig

    def process(self, ctx: BuildContext, artifact: Artifact) -> Artifact:
        c: DockerPushConfig = self.config
        image = _image_of(artifact, "docker-push")
        refs = list(artifact.data.get("tags") or [])
        if not refs:
            raise HatchwayError(f"docker-push needs a tagged image, but {artifact} has no tags; put docker-tag "
                                "(with the registry in its repository) or docker-import before docker-push")
        api = _api(artifact)
        try:
            registry.login(ctx, api, c)
            digests: Dict[str, str] = {}
            for ref in refs:
                ctx.ui.message(f"Pushing: {ref}")
                digests[ref] = _push(ctx, api, ref)
            with daemon.api_errors(f"cannot inspect image {daemon.short(image)}"):
                repo_digests = list(api.inspect_image(image).get("RepoDigests") or [])
        finally:
            api.close()
        digest = next((d for d in digests.values() if d), "")
        if not digest:
            ctx.ui.message("Unable to determine the pushed image's digest")
        ctx.ui.message(f"Pushed {', '.join(refs)}" + (f" ({digest})" if digest else ""))
        return Artifact("docker", id=image, description=f"Pushed Docker image: {', '.join(refs)}"
                        + (f" ({digest})" if digest else ""),
                        data={**artifact.data, "digest": digest, "digests": digests, "repo_digests": repo_digests,
                              "generated_data": {"Digest": digest}})


def _push(ctx: BuildContext, api: Any, ref: str) -> str:
    """Push one ``repository:tag``; return its digest (``sha256:…``) as the registry reported it."""
    repository, tag = _split_tag(ref)
    digest = ""
    with daemon.api_errors(f"cannot push {ref}"):
        for event in api.push(repository, tag=tag, stream=True, decode=True):
            ctx.check_cancelled()
            if not isinstance(event, dict):
                continue
            if event.get("error"):
                detail = event.get("errorDetail", {}).get("message") or event["error"]
                raise HatchwayError(f"cannot push {ref}: {detail}; check the registry in the repository name "
                                    "and the login keys (login, login_server, login_username, login_password)")
            aux = event.get("aux") or {}
            digest = aux.get("Digest") or digest
    return digest


def _split_tag(ref: str):
    name, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return ref, "latest"


@attrs.define(kw_only=True)
class DockerImportConfig:
    repository: str = option("", required=True, help="The repository of the imported image (e.g. example/app).")
    tag: str = option("", help="Its tag (default: latest).")
    changes: List[str] = option(factory=list, help="Dockerfile instructions applied on import "
                                "(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR).")
    platform: str = option("", help="Packer's key: accepted; the engine imports for its own platform.")
    docker_path: str = option("docker", help="Packer's docker CLI path: accepted and unused (the engine's API "
                              "is used directly).")

    def check(self):
        from .builder import CHANGE_INSTRUCTIONS

        for i, change in enumerate(self.changes):
            word = change.split(None, 1)[0].upper() if change.strip() else ""
            if word not in CHANGE_INSTRUCTIONS:
                yield (f"changes[{i}]", f"{change!r} is not a Dockerfile instruction docker import accepts",
                       f"start it with one of {', '.join(CHANGE_INSTRUCTIONS)}")


class DockerImport(PostProcessor):
    """Imports the tar the docker builder exported (``export_path``) as an image ``repository:tag``."""

    name = "docker-import"
    Config = DockerImportConfig

    def process(self, ctx: BuildContext, artifact: Artifact) -> Artifact:
        c: DockerImportConfig = self.config
        files = [f for f in (artifact.files or []) if str(f).endswith(".tar")] or list(artifact.files or [])
        if not files or (artifact.data or {}).get("image_id"):
            raise HatchwayError(f"docker-import needs an exported file system tar, but the artifact is {artifact}; "
                                "use it after the docker builder with \"export_path\" (with \"commit\": true the "
                                "image is already imported)")
        tag = c.tag or "latest"
        ref = f"{c.repository}:{tag}"
        ctx.ui.message(f"Importing image: {files[0]}")
        ctx.ui.message(f"Repository: {ref}")
        api = _api(artifact)
        try:
            with daemon.api_errors(f"cannot import {files[0]} as {ref}"):
                result = api.import_image_from_file(str(files[0]), repository=c.repository, tag=tag,
                                                    changes=list(c.changes) or None)
                image_id = _imported_id(result) or api.inspect_image(ref)["Id"]
        finally:
            api.close()
        ctx.ui.message(f"Imported ID: {image_id}")
        return Artifact("docker", id=image_id, description=f"Imported Docker image: {ref} ({image_id})",
                        data={"image_id": image_id, "tags": [ref], "settings": (artifact.data or {}).get("settings")})


def _imported_id(result: Any) -> Optional[str]:
    """The image id from import's answer (JSON lines ending with ``{"status": "sha256:…"}``)."""
    import json

    text = result if isinstance(result, str) else (result or b"").decode("utf-8", "replace")
    found = None
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            if event.get("error"):
                raise HatchwayError(f"cannot import: {event['error']}")
            status = str(event.get("status") or "")
            if status.startswith("sha256:"):
                found = status
    return found

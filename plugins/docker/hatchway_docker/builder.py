"""The ``docker`` builder: start a container from ``image``, hand it to the ``docker`` communicator,
then commit it to an image, export its filesystem to a tar, or discard it (Packer's keys and defaults).

The container is removed at cleanup, which the core calls on success,
failure and Ctrl-C alike; cleanup copes with every partial state.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple

import attrs

from hatchway import Artifact, BuildContext, Builder, HatchwayError, Target, option
from hatchway.toolkit import CHUNK, atomic_writer

from . import daemon, registry, sdk
from .commit import as_changes, commit_config
from .registry import LoginConfig
from .runargs import DEFAULT_RUN_COMMAND, RunCommandError, RunSpec, parse_run_command, tmpfs_map

__all__ = ["DockerBuilder", "DockerConfig", "CHANGE_INSTRUCTIONS", "BuildError"]

#: Dockerfile instructions ``docker commit --change`` accepts.
CHANGE_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR")


class BuildError(HatchwayError):
    """The docker builder could not make or finish its container."""


@attrs.define(kw_only=True)
class DockerConfig(LoginConfig):
    #: The data fields each template key gets (validation rejects others, e.g. {{.Nope}}).
    template_fields: ClassVar[Dict[str, Tuple[str, ...]]] = {"run_command": ("Image",)}

    image: str = option("", required=True, help="The base image to start the container from (name[:tag] or id).")
    pull: bool = option(True, help="Pull the image first; with false the local image is used as it is.")
    commit: bool = option(False, help="Commit the container to an image at the end.")
    discard: bool = option(False, help="Throw the container away at the end.")
    export_path: str = option("", path=True, help="Export the container's filesystem to this tar file at the end.")
    changes: List[str] = option(factory=list, help="Dockerfile instructions applied on commit "
                                "(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR).")
    keep_run_config: bool = option(False, help="Commit the run command's entrypoint, cmd, user, working dir and "
                                   "env into the image, as Packer does (default: the base image's, plus changes).")
    author: str = option("", help="The commit's author.")
    message: str = option("", help="The commit's message.")
    run_command: List[str] = option(factory=lambda: list(DEFAULT_RUN_COMMAND),
                                    help="docker run arguments that start the container; {{.Image}} is the image.")
    volumes: Dict[str, str] = option(factory=dict, help="Host path -> container path bind mounts.")
    privileged: bool = option(False, help="Run the container privileged.")
    runtime: str = option("", help="The container runtime (runc, runsc...); the engine's default if empty.")
    cap_add: List[str] = option(factory=list, help="Linux capabilities to add.")
    cap_drop: List[str] = option(factory=list, help="Linux capabilities to drop.")
    device: List[str] = option(factory=list, help="Host devices to pass in (host[:container[:perms]]).")
    tmpfs: List[str] = option(factory=list, help="tmpfs mounts (path[:options]).")
    platform: str = option("", help="The platform of the image to pull and run (linux/arm64...).")
    exec_user: str = option("", help="The user commands run as (user, uid, user:group or uid:gid).")
    container_dir: str = option("/packer-files", help="Where the build's temp dir is mounted in the container "
                                "(only when the daemon is on this machine).")
    fix_upload_owner: bool = option(True, help="Uploaded files belong to exec_user (else root).")
    windows_container: bool = option(False, help="Build a Windows container (refused: this builder runs Linux "
                                     "containers only).")
    docker_path: str = option("docker", help="Packer's docker CLI path: accepted and unused (the engine's API "
                              "is used directly).")

    def check(self):
        chosen = [k for k, on in (("commit", self.commit), ("discard", self.discard),
                                  ("export_path", bool(self.export_path))) if on]
        if len(chosen) != 1:
            what = "none is set" if not chosen else f"{' and '.join(chosen)} are set"
            yield ("commit", f"set exactly one of commit, discard and export_path ({what})",
                   'e.g. "commit": true to keep the result as an image')
        for i, change in enumerate(self.changes):
            word = change.split(None, 1)[0].upper() if change.strip() else ""
            if word not in CHANGE_INSTRUCTIONS:
                yield (f"changes[{i}]", f"{change!r} is not a Dockerfile instruction docker commit accepts",
                       f"start it with one of {', '.join(CHANGE_INSTRUCTIONS)}")
        if self.changes and not self.commit:
            yield ("changes", "changes are only applied on commit", 'set "commit": true or remove "changes"')
        yield from self.login_problems()
        try:
            parse_run_command(self.run_command)
        except RunCommandError as exc:
            yield ("run_command", str(exc))


class DockerBuilder(Builder):
    """Starts a container from ``image``; its ``docker`` communicator reaches it through the engine's API."""

    name = "docker"
    Config = DockerConfig
    default_communicator = "docker"

    def __init__(self, config: DockerConfig) -> None:
        super().__init__(config)
        self.settings: Optional[dict] = None
        self.container_id = ""
        self._api: Any = None
        self._tempdir: Optional[Path] = None

    # -- helpers -------------------------------------------------------
    def describe(self) -> str:
        if not self.container_id:
            return ""
        short = daemon.short(self.container_id)
        return (f"container {short} (image {self.config.image}) on {daemon.describe_url(self.settings or {})}; "
                f"remove it with `docker rm -f {short}`")

    def _client(self) -> Any:
        if self._api is None:
            self.settings = daemon.settings_from_env() if self.settings is None else self.settings
            self._api = daemon.open_api(self.settings)
        return self._api

    def _is_local_daemon(self) -> bool:
        url = daemon.describe_url(self.settings or {})
        return url.startswith(("unix://", "http+unix://")) or url.startswith("/")

    # -- run -----------------------------------------------------------
    def run(self, ctx: BuildContext) -> Target:
        """Start the container and hand it on at once: a container whose entrypoint exits is reported by the
        communicator at its first call (with the entrypoint's last output), so a good one waits for nothing."""
        c: DockerConfig = self.config
        api = self._client()
        if c.windows_container:
            self._refuse_windows(api)
        self._ensure_image(ctx, api)
        spec, exec_defaults = self._run_spec(ctx)
        ctx.ui.say(f"Starting a container from {c.image}...")
        with _errors(f"cannot start a container from image {c.image!r}"):
            container = api.create_container(
                spec.image, command=spec.command or None, detach=True,
                host_config=api.create_host_config(**spec.host), **spec.create)
            self.container_id = ctx.state["docker_container_id"] = container["Id"]
            api.start(self.container_id)
        ctx.ui.message(f"Container: {self.container_id}")
        return Target(data={"container_id": self.container_id, "settings": self.settings, "image": c.image,
                            "exec_user": c.exec_user, "fix_upload_owner": c.fix_upload_owner, **exec_defaults})

    def _refuse_windows(self, api: Any) -> None:
        with _errors("cannot ask the Docker daemon which containers it runs"):
            os_type = str(api.info().get("OSType") or "linux")
        where = daemon.describe_url(self.settings or {})
        if os_type.lower() != "windows":
            raise BuildError(f"windows_container is true, but the Docker daemon at {where} runs {os_type} "
                             "containers; remove windows_container, or point DOCKER_HOST at a Windows engine")
        raise BuildError(f"windows_container: the Docker daemon at {where} runs Windows containers, which "
                         "hatchway-docker does not build (its communicator runs /bin/sh); use Packer for them")

    def _ensure_image(self, ctx: BuildContext, api: Any) -> None:
        docker = sdk.load()

        c: DockerConfig = self.config
        where = daemon.describe_url(self.settings or {})
        if not c.pull:
            try:
                api.inspect_image(c.image)
            except docker.errors.ImageNotFound:
                raise BuildError(f"image {c.image!r} is not on the Docker daemon at {where} and \"pull\" is false; "
                                 f"build or load it there first, or set \"pull\": true") from None
            return
        with _errors("cannot log in"):
            registry.login(ctx, api, c)
        ctx.ui.say(f"Pulling Docker image: {c.image}")
        repository, tag = _split_reference(c.image)
        try:
            for event in api.pull(repository, tag=tag, stream=True, decode=True, platform=c.platform or None):
                ctx.check_cancelled()
                if isinstance(event, dict) and event.get("error"):
                    raise docker.errors.APIError(event["error"])
        except docker.errors.APIError as exc:
            raise BuildError(f"cannot pull image {c.image!r} on the Docker daemon at {where}: "
                             f"{getattr(exc, 'explanation', None) or exc}; check the name and the registry, "
                             f"or set \"pull\": false to use the image the daemon has") from None

    def _run_spec(self, ctx: BuildContext) -> Tuple[RunSpec, Dict[str, Any]]:
        """What to create the container with, and the defaults its commands get (``exec_env``,
        ``exec_workdir``, ``run_user``): unless ``keep_run_config``, the run command's ``-e``, ``-w`` and
        ``-u`` apply to the commands only, so they never reach the committed image."""
        c: DockerConfig = self.config
        try:
            spec = parse_run_command([ctx.render(arg, {"Image": c.image}) for arg in c.run_command])
        except RunCommandError as exc:
            raise BuildError(f"run_command: {exc}") from None
        exec_defaults: Dict[str, Any] = {}
        if not c.keep_run_config:
            for key, name in (("environment", "exec_env"), ("working_dir", "exec_workdir"), ("user", "run_user")):
                if key in spec.create:
                    exec_defaults[name] = spec.create.pop(key)
        host = spec.host
        binds = host.setdefault("binds", [])
        binds.extend(f"{src}:{dst}" for src, dst in c.volumes.items())
        if self._is_local_daemon() and c.container_dir:
            self._tempdir = Path(tempfile.mkdtemp(prefix="hatchway-docker-"))
            binds.append(f"{self._tempdir}:{c.container_dir}")
        if not binds:
            host.pop("binds")
        if c.privileged:
            host["privileged"] = True
        for key, values in (("cap_add", c.cap_add), ("cap_drop", c.cap_drop), ("devices", c.device)):
            if values:
                host.setdefault(key, []).extend(values)
        if c.tmpfs:
            host.setdefault("tmpfs", {}).update(tmpfs_map(c.tmpfs))
        if c.runtime:
            host["runtime"] = c.runtime
        if c.platform:
            spec.create.setdefault("platform", c.platform)
        return spec, exec_defaults

    # -- artifact ------------------------------------------------------
    def artifact(self, ctx: BuildContext) -> Optional[Artifact]:
        c: DockerConfig = self.config
        api = self._client()
        if c.commit:
            ctx.ui.say("Committing the container...")
            with _errors(f"cannot commit container {daemon.short(self.container_id)}"):
                if c.keep_run_config:
                    conf, changes = None, list(c.changes)
                else:
                    info = api.inspect_container(self.container_id)
                    base = api.inspect_image(info["Image"]).get("Config") or {}
                    conf, changes = commit_config(info.get("Config") or {}, base, c.changes)
                    if daemon.is_podman(self.settings):
                        conf, changes = None, as_changes(conf, changes)
                result = api.commit(self.container_id, message=c.message or None, author=c.author or None,
                                    changes=changes or None, conf=conf)
            image_id = result["Id"]
            if ":" not in image_id:  # podman answers without the digest algorithm
                image_id = f"sha256:{image_id}"
            ctx.ui.message(f"Image: {image_id}")
            return Artifact("docker", id=image_id, description=f"Imported Docker image: {image_id}",
                            data={"image_id": image_id, "tags": [], "settings": self.settings})
        if c.export_path:
            path = Path(c.export_path)
            ctx.ui.say(f"Exporting the container to {path}...")
            with _errors(f"cannot export container {daemon.short(self.container_id)}"):
                with atomic_writer(path, 0o644) as out:
                    for chunk in api.export(self.container_id, chunk_size=CHUNK):
                        ctx.check_cancelled()
                        out.write(chunk)
            return Artifact("docker", id=str(path), files=[str(path)], description=f"Exported Docker file: {path}",
                            data={"settings": self.settings})
        ctx.ui.say("Discarding the container (\"discard\": true)")
        return None

    # -- cleanup -------------------------------------------------------
    def cleanup(self, ctx: BuildContext) -> None:
        try:
            if self.container_id:
                docker = sdk.load()

                ctx.ui.say(f"Removing container {daemon.short(self.container_id)}...")
                try:
                    self._client().remove_container(self.container_id, force=True, v=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.DockerException as exc:
                    raise BuildError(f"cannot remove container {daemon.short(self.container_id)}: {exc}") from None
                self.container_id = ""
        finally:
            if self._tempdir is not None:
                shutil.rmtree(self._tempdir, ignore_errors=True)
                self._tempdir = None
            if self._api is not None and not self.container_id:
                self._api.close()
                self._api = None


def _split_reference(image: str):
    """``repo[:tag][@digest]`` -> (repository, tag or None); a registry port is not a tag."""
    if "@" in image:
        return image, None
    name, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return image, "latest"


@contextlib.contextmanager
def _errors(action: str) -> Iterator[None]:
    """Docker errors during a builder step as one clear :class:`BuildError`."""
    docker = sdk.load()
    import requests

    try:
        yield
    except docker.errors.APIError as exc:
        raise BuildError(f"{action}: {exc.explanation or exc}") from None
    except requests.exceptions.ConnectionError as exc:
        raise BuildError(f"{action}: lost the connection to the Docker daemon ({exc})") from None
    except docker.errors.DockerException as exc:
        raise BuildError(f"{action}: {exc}") from None

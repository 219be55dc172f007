"""The ``file`` provisioner: upload or download files and directories (Packer's keys and semantics)."""
from __future__ import annotations

import io
import os
from typing import List, Literal, Optional

import attrs

from ..components import Provisioner
from ..config import option
from ..context import BuildContext
from ..errors import ProvisionerError
from ..files import exclude_problems
from .scripts import local_path


@attrs.define(kw_only=True)
class FileConfig:
    source: str = option("", help="A local (upload) or remote (download) file or directory.")
    sources: Optional[List[str]] = option(None, help="Several sources, copied in order.")
    content: Optional[str] = option(None, help="Text to write to destination instead of a source file.")
    destination: str = option(required=True, help="Where to copy to. A trailing / means \"into this directory\".")
    direction: Literal["upload", "download"] = option("upload", help="upload (default) or download.")
    generated: bool = option(False, help="The source is made by an earlier step: do not check it exists now.")
    exclude: List[str] = option(factory=list, help="Patterns skipped in directory transfers, gitignore-style (beyond Packer).")

    def check(self, context=None):
        given = [k for k in ("source", "sources", "content") if getattr(self, k) not in (None, "", [])]
        if len(given) != 1:
            yield ("", 'set exactly one of "source", "sources" or "content"' +
                   (f" (got {', '.join(given)})" if given else ""))
        if self.content is not None and self.direction == "download":
            yield ("content", "only works with \"direction\": \"upload\"")
        if self.direction == "upload" and not self.generated:
            for i, src in enumerate(self.all_sources()):
                if not os.path.exists(local_path(src, getattr(context, "template_dir", None))):
                    key = "source" if self.source else f"sources[{i}]"
                    yield (key, f"local file {src!r} does not exist",
                           "fix the path, or set \"generated\": true if an earlier step makes it")
        for problem in exclude_problems(self.exclude):
            yield ("exclude", problem, "patterns are gitignore-style")

    def all_sources(self) -> List[str]:
        return [self.source] if self.source else list(self.sources or [])


class FileProvisioner(Provisioner):
    """Copies files between this machine and the one being built."""

    name = "file"
    Config = FileConfig

    def provision(self, ctx: BuildContext) -> None:
        c: FileConfig = self.config
        relay = ctx.communicator
        assert relay is not None
        if c.content is not None:
            ctx.ui.say(f"Uploading content => {c.destination}")
            relay.upload(io.BytesIO(c.content.encode()), c.destination)
            return
        for source in c.all_sources():
            if c.direction == "download":
                ctx.ui.say(f"Downloading {source} => {c.destination}")
                relay.download(source, c.destination, exclude=c.exclude)
            else:
                local = local_path(source, ctx.template_dir)
                if not os.path.exists(local):
                    raise ProvisionerError(f"local file {source!r} does not exist")
                ctx.ui.say(f"Uploading {source} => {c.destination}")
                relay.upload(local, c.destination, exclude=c.exclude)

"""The communicator contract as a reusable test class.

Every communicator in this repository runs it; a third-party one runs it
with a few lines::

    import pytest
    import hatchway
    from hatchway.testing import CommunicatorContract

    class TestMyCommunicator(CommunicatorContract):
        @pytest.fixture
        def relay(self):
            comm = MyCommunicator(MyCommunicator.Config(...), hatchway.Target(...))
            relay = hatchway.Relay(comm)
            relay.connect()
            yield relay
            relay.cleanup()

The remote side must have a POSIX shell with ``cat``, ``stat``, ``find``,
``head`` and ``mktemp`` (busybox is enough): the contract checks what
arrived with commands run through the communicator itself, and checks
transfers in both directions against bytes it wrote locally.
"""
from __future__ import annotations

import contextlib
import io
import os
import shlex
import stat
import threading
from pathlib import Path
from typing import BinaryIO, Dict, Iterator

import pytest

from ..communicator import OutputStream
from ..errors import RemotePathError
from ..relay import Relay

__all__ = ["CommunicatorContract", "AWKWARD_NAMES", "EXCLUDE_PATTERNS", "EXCLUDE_KEPT", "make_exclude_tree",
           "make_tree", "piped"]

#: Names that break careless quoting: spaces, quotes, $, backticks, ;, a leading dash, unicode.
AWKWARD_NAMES = [
    "with space.txt",
    "single'quote.txt",
    'double"quote.txt',
    "dollar$(touch PWNED).txt",
    "back`touch PWNED`tick.txt",
    "semi;colon&amp.txt",
    "-leading-dash.txt",
    "ünïcödé-日本.txt",
]


#: ``exclude`` patterns, one per gitignore rule: a name at any depth, a ``!`` re-include, a trailing ``/``
#: for directories only, ``*`` not crossing ``/``, and ``**`` crossing it.
EXCLUDE_PATTERNS = ["*.log", "!keep.log", "build/", "docs/*.md", "**/tmp"]
#: The files of :func:`make_exclude_tree`, and what of them :data:`EXCLUDE_PATTERNS` leaves.
EXCLUDE_TREE = ["a.log", "keep.log", "notes.txt", "logs/x.log", "logs/deep/y.log", "logs/deep/z.txt",
                "build/out.bin", "src/build", "src/main.c", "docs/a.md", "docs/sub/b.md", "tmp/t", "deep/er/tmp/t"]
EXCLUDE_KEPT = {"keep.log", "notes.txt", "logs", "logs/deep", "logs/deep/z.txt", "src", "src/build", "src/main.c",
                "docs", "docs/sub", "docs/sub/b.md", "deep", "deep/er"}


def make_exclude_tree(root: Path) -> None:
    """Write :data:`EXCLUDE_TREE` under ``root``, each file holding its own name."""
    for rel in EXCLUDE_TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())


def make_tree(root: Path) -> Dict[str, bytes]:
    """Write a small directory tree under ``root``; return {relative path: bytes}."""
    content = {
        "a.txt": b"alpha\n",
        "sub/b.bin": bytes(range(256)) * 64,
        "sub/deeper/c.sh": b"#!/bin/sh\necho c\n",
        "empty.txt": b"",
        "skip.log": b"excluded\n",
    }
    for rel, data in content.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.chmod(root / "sub/deeper/c.sh", 0o755)
    os.chmod(root / "a.txt", 0o640)
    (root / "emptydir").mkdir()
    return content


@contextlib.contextmanager
def piped(data: bytes) -> Iterator[BinaryIO]:
    """A readable OS pipe (a stream of unknown size) that a thread fills with ``data``."""
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as w:
            for i in range(0, len(data), 65536):
                w.write(data[i:i + 65536])

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            yield pipe
    finally:
        thread.join(60)


def q(path: str) -> str:
    return shlex.quote(path)


class CommunicatorContract:
    """What every communicator must do. Provide a ``relay`` fixture: a connected :class:`Relay`."""

    # -- helpers ---------------------------------------------------------
    @pytest.fixture
    def remote_dir(self, relay: Relay) -> Iterator[str]:
        """A fresh, empty, writable remote directory, removed afterwards."""
        result = relay.run("mktemp -d /tmp/hatchway-contract.XXXXXX")
        assert result.exit_status == 0, result.stderr
        path = result.text.strip()
        yield path
        relay.run(f"rm -rf {q(path)}")

    @staticmethod
    def remote_bytes(relay: Relay, path: str) -> bytes:
        result = relay.run(f"cat -- {q(path)}")
        assert result.exit_status == 0, f"cannot read {path!r} remotely: {result.stderr!r}"
        return result.stdout

    @staticmethod
    def remote_mode(relay: Relay, path: str) -> int:
        result = relay.run(f"stat -c %a -- {q(path)}")
        assert result.exit_status == 0, result.stderr
        return int(result.text.strip(), 8)

    @staticmethod
    def remote_listing(relay: Relay, path: str) -> set:
        result = relay.run(f"cd -- {q(path)} && find . -mindepth 1 -print0")
        assert result.exit_status == 0, result.stderr
        return {name[2:].decode("utf-8", "surrogateescape") for name in result.stdout.split(b"\0") if name}

    @staticmethod
    def local_listing(root: Path) -> set:
        return {p.relative_to(root).as_posix() for p in root.rglob("*")}

    # -- execute ---------------------------------------------------------
    def test_exit_status(self, relay: Relay) -> None:
        assert relay.execute("true") == 0
        assert relay.execute("exit 3") == 3
        assert relay.execute("exit 255") == 255

    def test_stdout_and_stderr_kept_apart(self, relay: Relay) -> None:
        result = relay.run("echo to-out; echo to-err >&2; echo more-out")
        assert result.exit_status == 0
        assert result.stdout.replace(b"\r\n", b"\n") == b"to-out\nmore-out\n"
        assert result.stderr.replace(b"\r\n", b"\n") == b"to-err\n"

    def test_large_output_on_both_streams_does_not_deadlock(self, relay: Relay) -> None:
        size = 3 * 1024 * 1024
        result = relay.run(f"head -c {size} /dev/zero; head -c {size} /dev/zero >&2; echo done >&2", timeout=120)
        assert result.exit_status == 0
        assert len(result.stdout) == size
        assert len(result.stderr) == size + 5

    def test_output_is_streamed_while_the_command_runs(self, relay: Relay) -> None:
        seen = []
        stream = OutputStream("stdout")
        stream.add_listener(seen.append)
        marker = "first-line"
        relay.execute(f"echo {marker}; sleep 1; echo second-line", stdout=stream)
        joined = b"".join(seen)
        assert joined.startswith(marker.encode())
        assert len(seen) >= 2, "output arrived in one piece at exit, not while running"

    def test_stdin_is_passed(self, relay: Relay) -> None:
        data = os.urandom(200_000)
        result = relay.run("cat", stdin=io.BytesIO(data))
        assert result.exit_status == 0
        assert result.stdout == data

    def test_no_stdin_gives_eof(self, relay: Relay) -> None:
        result = relay.run("cat; echo eof", timeout=30)
        assert result.text.strip() == "eof"

    # -- upload ----------------------------------------------------------
    def test_upload_file_exact_bytes_and_mode(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        local = tmp_path / "script.sh"
        local.write_bytes(b"#!/bin/sh\necho hi\n" + os.urandom(70_000))
        os.chmod(local, 0o751)
        target = relay.upload(local, f"{remote_dir}/nested/script.sh")
        assert target == f"{remote_dir}/nested/script.sh"
        assert self.remote_bytes(relay, target) == local.read_bytes()
        assert self.remote_mode(relay, target) == 0o751

    def test_upload_file_into_directory_with_trailing_slash(self, relay: Relay, remote_dir: str,
                                                             tmp_path: Path) -> None:
        local = tmp_path / "named.txt"
        local.write_bytes(b"x")
        assert relay.upload(local, remote_dir + "/") == f"{remote_dir}/named.txt"
        assert self.remote_bytes(relay, f"{remote_dir}/named.txt") == b"x"

    def test_upload_overwrites_and_leaves_no_temp_files(self, relay: Relay, remote_dir: str,
                                                        tmp_path: Path) -> None:
        local = tmp_path / "f"
        local.write_bytes(b"first version, longer")
        relay.upload(local, f"{remote_dir}/f")
        local.write_bytes(b"second")
        relay.upload(local, f"{remote_dir}/f")
        assert self.remote_bytes(relay, f"{remote_dir}/f") == b"second"
        assert self.remote_listing(relay, remote_dir) == {"f"}

    def test_upload_empty_file(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        local = tmp_path / "empty"
        local.write_bytes(b"")
        relay.upload(local, f"{remote_dir}/empty")
        assert relay.execute(f"test -f {q(remote_dir + '/empty')} && test ! -s {q(remote_dir + '/empty')}") == 0

    def test_upload_stream_with_mode(self, relay: Relay, remote_dir: str) -> None:
        data = os.urandom(300_000)
        relay.upload(io.BytesIO(data), f"{remote_dir}/from-stream", mode=0o600)
        assert self.remote_bytes(relay, f"{remote_dir}/from-stream") == data
        assert self.remote_mode(relay, f"{remote_dir}/from-stream") == 0o600

    def test_upload_pipe_of_unknown_size(self, relay: Relay, remote_dir: str) -> None:
        data = os.urandom(500_000)
        with piped(data) as pipe:
            relay.upload(pipe, f"{remote_dir}/piped")
        assert self.remote_bytes(relay, f"{remote_dir}/piped") == data

    def test_upload_from_a_fifo_path(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        """A named pipe (``mkfifo``, ``<(...)``) given as a path: stat says 0 bytes, every byte must arrive."""
        data = os.urandom(400_000)
        fifo = tmp_path / "named.pipe"
        os.mkfifo(fifo)

        def writer() -> None:
            with open(fifo, "wb") as w:
                w.write(data)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        relay.upload(fifo, f"{remote_dir}/from-fifo")
        thread.join(60)
        assert self.remote_bytes(relay, f"{remote_dir}/from-fifo") == data

    def test_upload_directory_without_trailing_slash_keeps_its_name(self, relay: Relay, remote_dir: str,
                                                                     tmp_path: Path) -> None:
        src = tmp_path / "tree"
        content = make_tree(src)
        relay.upload(src, f"{remote_dir}/dest")
        base = f"{remote_dir}/dest/tree"
        assert self.remote_listing(relay, base) == self.local_listing(src)
        for rel, data in content.items():
            assert self.remote_bytes(relay, f"{base}/{rel}") == data, rel
        assert self.remote_mode(relay, f"{base}/sub/deeper/c.sh") == 0o755
        assert self.remote_mode(relay, f"{base}/a.txt") == 0o640

    def test_upload_directory_with_trailing_slash_copies_contents(self, relay: Relay, remote_dir: str,
                                                                   tmp_path: Path) -> None:
        src = tmp_path / "tree"
        make_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/dest")
        assert self.remote_listing(relay, f"{remote_dir}/dest") == self.local_listing(src)

    def test_upload_directory_with_exclude(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        make_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/dest", exclude=["*.log", "deeper"])
        listing = self.remote_listing(relay, f"{remote_dir}/dest")
        assert "skip.log" not in listing
        assert not any("deeper" in p for p in listing)
        assert "sub/b.bin" in listing

    def test_upload_exclude_is_gitignore_style(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        make_exclude_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/dest", exclude=EXCLUDE_PATTERNS)
        assert self.remote_listing(relay, f"{remote_dir}/dest") == EXCLUDE_KEPT
        assert self.remote_bytes(relay, f"{remote_dir}/dest/src/build") == b"src/build"

    def test_awkward_names_round_trip_without_injection(self, relay: Relay, remote_dir: str,
                                                         tmp_path: Path) -> None:
        src = tmp_path / "awk"
        src.mkdir()
        for i, name in enumerate(AWKWARD_NAMES):
            (src / name).write_bytes(f"{i}\n".encode())
        # single files, one by one, to awkward destination names
        for i, name in enumerate(AWKWARD_NAMES):
            relay.upload(src / name, f"{remote_dir}/files/{name}")
            assert self.remote_bytes(relay, f"{remote_dir}/files/{name}") == f"{i}\n".encode()
        # a whole directory whose name is awkward too
        relay.upload(str(src) + "/", f"{remote_dir}/dir $(touch PWNED) 'x'")
        assert self.remote_listing(relay, f"{remote_dir}/dir $(touch PWNED) 'x'") == set(AWKWARD_NAMES)
        back = tmp_path / "back"
        relay.download(f"{remote_dir}/files/", back)
        assert self.local_listing(back) == set(AWKWARD_NAMES)
        for i, name in enumerate(AWKWARD_NAMES):
            out = tmp_path / f"single-{i}"
            relay.download(f"{remote_dir}/files/{name}", out)
            assert out.read_bytes() == f"{i}\n".encode()
        planted = relay.run(f"find {q(remote_dir)} \"$HOME\" /tmp . -maxdepth 2 -name PWNED 2>/dev/null | head -n 1")
        assert planted.text.strip() == "", "a remote shell ran a command hidden in a file name"

    def test_newlines_in_names_both_directions(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        name = "new\nline $(touch PWNED).txt"
        local = tmp_path / name
        local.write_bytes(b"nl")
        relay.upload(local, f"{remote_dir}/{name}")
        assert self.remote_bytes(relay, f"{remote_dir}/{name}") == b"nl"
        tree = tmp_path / "tree"
        (tree / "sub\ndir").mkdir(parents=True)
        (tree / "sub\ndir" / name).write_bytes(b"deep")
        relay.upload(str(tree) + "/", f"{remote_dir}/tree")
        assert self.remote_listing(relay, f"{remote_dir}/tree") == {"sub\ndir", f"sub\ndir/{name}"}
        relay.download(f"{remote_dir}/tree/", tmp_path / "back")
        assert (tmp_path / "back" / "sub\ndir" / name).read_bytes() == b"deep"
        relay.download(f"{remote_dir}/{name}", tmp_path / "single")
        assert (tmp_path / "single").read_bytes() == b"nl"
        planted = relay.run(f"find {q(remote_dir)} \"$HOME\" /tmp . -maxdepth 2 -name PWNED 2>/dev/null | head -n 1")
        assert planted.text.strip() == ""

    def test_upload_missing_local_source(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        with pytest.raises(RemotePathError) as info:
            relay.upload(tmp_path / "nope.txt", f"{remote_dir}/x")
        assert "nope.txt" in str(info.value)

    # -- download --------------------------------------------------------
    def test_download_file_exact_bytes_and_mode(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        data = os.urandom(123_457)
        relay.upload(io.BytesIO(data), f"{remote_dir}/blob", mode=0o750)
        out = relay.download(f"{remote_dir}/blob", tmp_path / "deep" / "blob")
        assert Path(out).read_bytes() == data
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o750

    def test_download_file_into_directory_with_trailing_slash(self, relay: Relay, remote_dir: str,
                                                               tmp_path: Path) -> None:
        relay.upload(io.BytesIO(b"hello"), f"{remote_dir}/greeting")
        out = relay.download(f"{remote_dir}/greeting", str(tmp_path / "dl") + "/")
        assert Path(out) == tmp_path / "dl" / "greeting"
        assert Path(out).read_bytes() == b"hello"

    def test_download_to_stream(self, relay: Relay, remote_dir: str) -> None:
        data = os.urandom(50_000)
        relay.upload(io.BytesIO(data), f"{remote_dir}/s")
        sink = io.BytesIO()
        relay.download(f"{remote_dir}/s", sink)
        assert sink.getvalue() == data

    def test_download_empty_file(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        relay.execute(f": > {q(remote_dir + '/empty')}")
        out = relay.download(f"{remote_dir}/empty", tmp_path / "empty")
        assert Path(out).read_bytes() == b""

    def test_download_directory(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        content = make_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/tree")
        # trailing slash on the source: contents into the destination
        relay.download(f"{remote_dir}/tree/", tmp_path / "back1")
        assert self.local_listing(tmp_path / "back1") == self.local_listing(src)
        for rel, data in content.items():
            assert (tmp_path / "back1" / rel).read_bytes() == data
        assert stat.S_IMODE(os.stat(tmp_path / "back1/sub/deeper/c.sh").st_mode) == 0o755
        # trailing slash on the destination: the directory keeps its name
        relay.download(f"{remote_dir}/tree", str(tmp_path / "back2") + "/")
        assert self.local_listing(tmp_path / "back2" / "tree") == self.local_listing(src)

    def test_download_directory_with_exclude(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        make_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/tree")
        relay.download(f"{remote_dir}/tree/", tmp_path / "back", exclude=["*.log", "sub"])
        assert self.local_listing(tmp_path / "back") == {"a.txt", "empty.txt", "emptydir"}

    def test_download_exclude_is_gitignore_style(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        make_exclude_tree(src)
        relay.upload(str(src) + "/", f"{remote_dir}/tree")
        assert self.remote_listing(relay, f"{remote_dir}/tree") >= set(EXCLUDE_TREE)
        relay.download(f"{remote_dir}/tree/", tmp_path / "back", exclude=EXCLUDE_PATTERNS)
        assert self.local_listing(tmp_path / "back") == EXCLUDE_KEPT
        assert (tmp_path / "back" / "src" / "build").read_bytes() == b"src/build"

    def test_download_missing_remote_source(self, relay: Relay, remote_dir: str, tmp_path: Path) -> None:
        with pytest.raises(RemotePathError) as info:
            relay.download(f"{remote_dir}/does-not-exist", tmp_path / "x")
        assert "does-not-exist" in str(info.value)
        assert not (tmp_path / "x").exists()

    # -- cleanup ---------------------------------------------------------
    def test_cleanup_is_idempotent_and_connect_works_again(self, relay: Relay) -> None:
        relay.hook.cleanup()
        relay.hook.cleanup()
        relay.hook.connect()
        assert relay.execute("true") == 0

"""Archives that try to write outside their destination are refused, with a clear message.

Tree downloads arrive as archives: tar streams (docker's get_archive, the
SSH tar fast path; extracted by hatchway.archives.extract_tar) and zips
(WinRM; extracted by hatchway_winrm.ziptree.extract_tree). A hostile or
broken machine can put absolute names, ``..`` entries, links pointing out
of the destination, hard links to files outside, FIFOs and devices in
them. Each case is checked against the extractors directly and then
through a real communicator: a container holding such a tree, a remote
``tar`` on an SSH server that sends a crafted stream, a WinRM host whose
download script sends a crafted zip. Every time: the message names the
entry, and nothing appears outside the destination.
"""
from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from hatchway.archives import BrokenArchive, UnsafeArchive, extract_single_file, extract_tar
from hatchway.communicator import Target
from hatchway.config import build
from hatchway.errors import HatchwayError
from hatchway.relay import Relay

pytestmark = pytest.mark.timeout(180)

Member = Tuple[str, bytes, str, bytes]  # name, tar type, link name, data


def reg(name: str, data: bytes = b"evil\n") -> Member:
    return (name, tarfile.REGTYPE, "", data)


def sym(name: str, target: str) -> Member:
    return (name, tarfile.SYMTYPE, target, b"")


def hard(name: str, target: str) -> Member:
    return (name, tarfile.LNKTYPE, target, b"")


def directory(name: str) -> Member:
    return (name, tarfile.DIRTYPE, "", b"")


def fifo(name: str) -> Member:
    return (name, tarfile.FIFOTYPE, "", b"")


def chrdev(name: str) -> Member:
    return (name, tarfile.CHRTYPE, "", b"")


def tar_bytes(members: List[Member]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, kind, link, data in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            archive.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


class Box:
    """``root/dest`` is where an archive goes; ``root/victim`` is outside, and so is everything else in root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dest = root / "dest"
        self.victim = root / "victim"
        self.victim.write_text("keep me\n")

    def outside(self) -> Dict[str, bytes]:
        """Everything in the box but the destination (it must stay exactly {victim: 'keep me'})."""
        found = {}
        for here, dirs, files in os.walk(self.root):
            if Path(here) == self.root and "dest" in dirs:
                dirs.remove("dest")
            for name in files + [d for d in dirs if os.path.islink(os.path.join(here, d))]:
                path = Path(here) / name
                found[str(path.relative_to(self.root))] = path.read_bytes() if path.is_file() else b"(link)"
        return found

    def escaping_links(self) -> List[str]:
        """Links left in the destination that resolve outside it."""
        bad = []
        for here, dirs, files in os.walk(self.dest):
            for name in dirs + files:
                path = Path(here) / name
                if path.is_symlink():
                    try:
                        path.resolve().relative_to(self.dest.resolve())
                    except ValueError:
                        bad.append(f"{path.relative_to(self.dest)} -> {os.readlink(path)}")
        return bad

    def unharmed(self) -> None:
        assert self.outside() == {"victim": b"keep me\n"}
        assert self.escaping_links() == []


def _mkbox(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(_mkbox(tmp_path / "box"))


#: (id, members given the box root, the words the refusal must hold)
HOSTILE_TARS: List[Tuple[str, Callable[[Path], List[Member]], str]] = [
    ("absolute", lambda root: [reg(f"{root}/abs-evil")], "has an absolute path; refused"),
    ("dotdot", lambda root: [reg("../evil")], "'../evil' points outside the destination; refused"),
    ("nested-dotdot", lambda root: [directory("a"), reg("a/../../evil")], "points outside the destination"),
    ("symlink-absolute", lambda root: [sym("link", str(root))], "-> '{root}' points outside the destination"),
    ("symlink-dotdot", lambda root: [sym("link", "../")], "archive link 'link' -> '../' points outside"),
    ("symlink-deep-dotdot", lambda root: [directory("a"), directory("a/b"), sym("a/b/up", "../../..")],
     "points outside the destination"),
    ("write-through-symlink", lambda root: [sym("link", "../"), reg("link/evil")], "points outside the destination"),
    ("hardlink-absolute", lambda root: [hard("h", f"{root}/victim")], "has an absolute path; refused"),
    ("hardlink-dotdot", lambda root: [hard("h", "../victim")], "points outside the destination"),
    ("fifo", lambda root: [fifo("pipe")], "'pipe' is a device or FIFO; refused"),
    ("device", lambda root: [chrdev("null")], "'null' is a device or FIFO; refused"),
]

@pytest.mark.parametrize("case,members,words", HOSTILE_TARS, ids=[c[0] for c in HOSTILE_TARS])
def test_extract_tar_refuses(box: Box, case: str, members, words: str) -> None:
    data = tar_bytes([reg("fine.txt", b"fine\n")] + members(box.root))
    with pytest.raises(UnsafeArchive) as info:
        extract_tar(io.BytesIO(data), box.dest)
    assert words.replace("{root}", str(box.root)) in str(info.value)
    box.unharmed()


def test_extract_tar_refuses_a_link_that_a_later_link_makes_escape(box: Box) -> None:
    data = tar_bytes([sym("a", "b/../x"), sym("b", ".")])
    try:
        extract_tar(io.BytesIO(data), box.dest)
    except UnsafeArchive:
        pass
    box.unharmed()


def test_extract_tar_will_not_write_through_a_link_already_in_the_destination(box: Box) -> None:
    box.dest.mkdir()
    os.symlink(box.root, box.dest / "planted")  # not made by the archive: e.g. left by an earlier step
    with pytest.raises(UnsafeArchive) as info:
        extract_tar(io.BytesIO(tar_bytes([reg("planted/evil")])), box.dest)
    assert "'planted/evil' goes through a link outside the destination" in str(info.value)
    (box.dest / "planted").unlink()
    box.unharmed()


def test_extract_tar_keeps_what_stays_inside(box: Box) -> None:
    """The control: links and hard links inside the destination, and ``./`` names, are fine."""
    data = tar_bytes([directory("./d"), reg("./d/f.txt", b"inside\n"), sym("d/same", "f.txt"),
                      sym("top", "d/../d/f.txt"), hard("d/hard", "d/f.txt")])
    assert extract_tar(io.BytesIO(data), box.dest) == 2
    assert (box.dest / "d" / "same").read_bytes() == b"inside\n"
    assert (box.dest / "top").read_bytes() == b"inside\n"
    assert (box.dest / "d" / "hard").read_bytes() == b"inside\n"
    box.unharmed()




@pytest.mark.parametrize("cut", ["half-way", "in-a-header", "no-end-blocks", "empty", "garbage"])
def test_extract_tar_of_a_broken_stream_is_a_hatchway_error(box: Box, cut: str) -> None:
    whole = tar_bytes([reg("small.txt", b"small\n"), reg("big.bin", b"z" * 300_000)])
    members_end = 2 * 512 + 512 + 300_032  # small.txt's header and block, big.bin's header and blocks
    data = {"half-way": whole[:200_000], "in-a-header": whole[:1100], "no-end-blocks": whole[:members_end],
            "empty": b"", "garbage": b"not a tar at all\n" * 100}[cut]
    with pytest.raises(BrokenArchive) as info:
        extract_tar(io.BytesIO(data), box.dest)
    assert str(info.value) == {
        "half-way": "the archive stream is broken: unexpected end of data",
        "in-a-header": "the archive stream ended part-way (no end-of-archive marker): it was cut off",
        "no-end-blocks": "the archive stream ended part-way (no end-of-archive marker): it was cut off",
        "empty": "the archive stream is broken: empty file",
        "garbage": "the archive stream is broken: invalid header",
    }[cut]
    # what arrived whole is kept, nothing else: never a partial file, never a temporary name
    kept = {"half-way": ["small.txt"], "in-a-header": ["small.txt"], "no-end-blocks": ["big.bin", "small.txt"],
            "empty": [], "garbage": []}[cut]
    assert sorted(os.listdir(box.dest)) == kept
    if "big.bin" in kept:
        assert (box.dest / "big.bin").read_bytes() == b"z" * 300_000
    box.unharmed()


def test_extract_single_file_refuses_an_absolute_name(box: Box) -> None:
    data = tar_bytes([reg(f"{box.root}/abs-evil")])
    with pytest.raises(UnsafeArchive, match="has an absolute path; refused"):
        extract_single_file(io.BytesIO(data), box.dest)
    assert not box.dest.exists()
    box.unharmed()


# -- zips (WinRM) ------------------------------------------------------------------
def zip_bytes(entries: List[Tuple[str, int, bytes]]) -> bytes:
    """(name, st_mode for the external attributes or 0, data)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, mode, data in entries:
            info = zipfile.ZipInfo(name)
            if mode:
                info.create_system = 3
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return out.getvalue()


#: (id, entries given the box root, the words of the refusal)
HOSTILE_ZIPS: List[Tuple[str, Callable[[Path], List[Tuple[str, int, bytes]]], str]] = [
    ("absolute", lambda root: [(f"{root}/abs-evil", 0, b"evil\n")], "has an absolute path; refused"),
    ("drive", lambda root: [("C:/Windows/evil", 0, b"evil\n")], "has an absolute path; refused"),
    ("dotdot", lambda root: [("../evil", 0, b"evil\n")], "'../evil' points outside the destination; refused"),
    ("backslash-dotdot", lambda root: [("..\\evil", 0, b"evil\n")], "points outside the destination; refused"),
    ("nested-dotdot", lambda root: [("a/", stat.S_IFDIR | 0o755, b""), ("a/../../evil", 0, b"evil\n")],
     "points outside the destination"),
    ("symlink", lambda root: [("link", stat.S_IFLNK | 0o777, str(root).encode())],
     "'link' is a link or device; refused"),
    ("fifo", lambda root: [("pipe", stat.S_IFIFO | 0o644, b"")], "'pipe' is a link or device; refused"),
]


@pytest.mark.parametrize("case,entries,words", HOSTILE_ZIPS, ids=[c[0] for c in HOSTILE_ZIPS])
def test_winrm_extract_tree_refuses(box: Box, case: str, entries, words: str) -> None:
    from hatchway_winrm.ziptree import extract_tree

    data = zip_bytes([("fine.txt", stat.S_IFREG | 0o644, b"fine\n")] + entries(box.root))
    with pytest.raises(UnsafeArchive) as info:
        extract_tree(io.BytesIO(data), box.dest)
    assert words in str(info.value)
    box.unharmed()


@pytest.fixture
def wsman(wsman_factory, tmp_path: Path) -> object:
    return wsman_factory(cwd=str(_mkbox(tmp_path / "winrm-home")))


def winrm_relay(server) -> Relay:
    from hatchway_winrm import WinRMCommunicator, WinRMConfig

    config, problems = build(WinRMConfig, {"winrm_host": server.host, "winrm_port": server.port,
                                           "winrm_username": "vagrant", "winrm_password": "vagrant",
                                           "winrm_timeout": "20s", "winrm_no_proxy": True}, "communicator")
    assert config is not None, [str(p) for p in problems]
    relay = Relay(WinRMCommunicator(config, Target()))
    relay.wait_connected(20)
    return relay


@pytest.mark.parametrize("case,entries,words", [c for c in HOSTILE_ZIPS if c[0] in ("absolute", "dotdot", "symlink")],
                         ids=["absolute", "dotdot", "symlink"])
def test_winrm_directory_download_refuses_a_crafted_zip(box: Box, tmp_path: Path, wsman, monkeypatch,
                                                        case: str, entries, words: str) -> None:
    """The host's download script zips the folder: here it sends a crafted zip instead."""
    from servers.wsman.standins import hatchway_winrm as standin

    crafted = zip_bytes([("fine.txt", stat.S_IFREG | 0o644, b"fine\n")] + entries(box.root))

    def crafted_zip(root: str, archive_path: str) -> None:
        Path(archive_path).write_bytes(crafted)

    monkeypatch.setattr(standin, "_zip_directory", crafted_zip)
    remote = _mkbox(tmp_path / "winrm-home" / "tree")
    (remote / "real.txt").write_text("real\n")
    relay = winrm_relay(wsman)
    try:
        with pytest.raises(HatchwayError) as info:
            relay.download(str(remote) + "/", box.dest)
    finally:
        relay.cleanup()
    assert words in str(info.value)
    box.unharmed()


# -- docker ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docker_engine(engine, api, images) -> tuple:
    return engine, api, images


@pytest.fixture
def container(docker_engine: tuple) -> Iterator[str]:
    _engine, api, images = docker_engine
    made = api.create_container(images["shell"], entrypoint=["/bin/sh"], stdin_open=True, tty=True, detach=True,
                                host_config=api.create_host_config(network_mode="none"),
                                labels={"hatchway-test": "1"}, name=f"hw-archives-{uuid.uuid4().hex[:8]}")
    api.start(made["Id"])
    yield made["Id"]
    api.remove_container(made["Id"], force=True)


def docker_relay(docker_engine: tuple, container_id: str) -> Relay:
    from hatchway_docker import DockerCommunicator, DockerCommunicatorConfig

    relay = Relay(DockerCommunicator(DockerCommunicatorConfig(),
                                     Target(data={"container_id": container_id, "settings": docker_engine[0].settings}),
                                     "test"))
    relay.connect()
    return relay


#: (id, shell commands run in /tree of the container, the words of the refusal)
HOSTILE_TREES = [
    ("symlink-absolute", "ln -s /etc/passwd link", "archive link 'tree/link' -> '/etc/passwd' points outside"),
    ("symlink-dotdot", "ln -s ../../../../../etc link",
     "archive link 'tree/link' -> '../../../../../etc' points outside"),
    ("symlink-dir-to-root", "mkdir sub && ln -s / sub/root", "archive link 'tree/sub/root' -> '/' points outside"),
    ("fifo", "mkfifo pipe", "'tree/pipe' is a device or FIFO; refused"),
    ("device", "mknod null c 1 3", "'tree/null' is a device or FIFO; refused"),
]


@pytest.mark.parametrize("case,commands,words", HOSTILE_TREES, ids=[c[0] for c in HOSTILE_TREES])
def test_docker_directory_download_refuses_links_out(box: Box, docker_engine: tuple, container: str,
                                                     case: str, commands: str, words: str) -> None:
    relay = docker_relay(docker_engine, container)
    try:
        assert relay.run(f"mkdir /tree && cd /tree && echo fine > fine.txt && {commands}").exit_status == 0
        with pytest.raises(HatchwayError) as info:
            relay.download("/tree/", box.dest)
        # the same tree without the hostile entry comes down whole: the refusal is about that entry
        assert relay.run("rm -rf /tree/link /tree/sub /tree/pipe /tree/null").exit_status == 0
        relay.download("/tree/", box.root / "dest-control")
    finally:
        relay.cleanup()
    assert words in str(info.value)
    assert (box.root / "dest-control" / "fine.txt").read_text() == "fine\n"
    shutil.rmtree(box.root / "dest-control")
    box.unharmed()


def test_docker_keeps_links_that_stay_inside(box: Box, docker_engine: tuple, container: str) -> None:
    relay = docker_relay(docker_engine, container)
    try:
        assert relay.run("mkdir -p /tree/d && cd /tree && echo in > d/f && ln -s d/f top && ln -s ../d/f d/self"
                         " && ln d/f hard").exit_status == 0
        relay.download("/tree/", box.dest)
    finally:
        relay.cleanup()
    assert os.readlink(box.dest / "top") == "d/f" and (box.dest / "top").read_text() == "in\n"
    assert (box.dest / "d" / "self").read_text() == "in\n" and (box.dest / "hard").read_text() == "in\n"
    box.unharmed()


# -- ssh: a remote whose tar sends a crafted stream -------------------------------
@pytest.fixture(scope="module")
def crafted_tar_sshd() -> Iterator[tuple]:
    """An sshd whose sessions run a ``tar`` that prints the file named by /tmp/<dir>/stream."""
    from servers.sshd import Sshd, keygen

    bin_dir = Path(tempfile.mkdtemp(prefix="hw-crafted-tar-"))
    os.chmod(bin_dir, 0o755)
    for source_dir in ("/usr/local/bin", "/usr/bin", "/bin"):
        if os.path.isdir(source_dir):
            for name in os.listdir(source_dir):
                if name not in ("tar", "busybox") and not (bin_dir / name).exists():
                    os.symlink(os.path.join(source_dir, name), bin_dir / name)
    stream = bin_dir / "stream.tar"
    (bin_dir / "tar").write_text(f"#!/bin/sh\nexec cat '{stream}'\n")
    os.chmod(bin_dir / "tar", 0o755)
    key = keygen(bin_dir / "id_ed25519")
    server = Sshd(extra={"SetEnv": f"PATH={bin_dir}"})
    server.authorize((bin_dir / "id_ed25519.pub").read_text())
    try:
        server.start()
    except Exception as exc:
        shutil.rmtree(bin_dir, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    yield server, key, stream
    server.close()
    shutil.rmtree(bin_dir, ignore_errors=True)


@pytest.mark.parametrize("case,members,words",
                         [c for c in HOSTILE_TARS
                          if c[0] in ("absolute", "dotdot", "symlink-absolute", "hardlink-dotdot")],
                         ids=["absolute", "dotdot", "symlink-absolute", "hardlink-dotdot"])
def test_ssh_tree_download_refuses_a_crafted_tar_stream(box: Box, crafted_tar_sshd: tuple, case: str, members,
                                                        words: str) -> None:
    from hatchway_ssh import SSHCommunicator, SSHConfig
    from servers.sshd import TEST_USER

    server, key, stream = crafted_tar_sshd
    stream.write_bytes(tar_bytes([reg("./fine.txt", b"fine\n")] + members(box.root)))
    os.chmod(stream, 0o644)
    config, problems = build(SSHConfig, {"ssh_host": server.host, "ssh_port": server.port, "ssh_username": TEST_USER,
                                         "ssh_private_key_file": str(key), "ssh_timeout": "20s"})
    assert config is not None, [str(p) for p in problems]
    relay = Relay(SSHCommunicator(config, Target()))
    try:
        relay.wait_connected(30)
        with pytest.raises(HatchwayError) as info:
            relay.download("/tmp/", box.dest)  # any directory: the remote's tar sends the crafted stream
    finally:
        relay.cleanup()
    assert words.replace("{root}", str(box.root)) in str(info.value)
    box.unharmed()


# -- broken archives: an error naming what broke, and no half-written file ---------------
def test_ssh_tree_download_of_a_truncated_tar_stream(box: Box, crafted_tar_sshd: tuple) -> None:
    from hatchway_ssh import SSHCommunicator, SSHConfig
    from servers.sshd import TEST_USER

    server, key, stream = crafted_tar_sshd
    whole = tar_bytes([reg("small.txt", b"small\n"), reg("big.bin", os.urandom(300_000))])
    stream.write_bytes(whole[:200_000])  # the remote's tar dies half-way through big.bin
    os.chmod(stream, 0o644)
    config, problems = build(SSHConfig, {"ssh_host": server.host, "ssh_port": server.port, "ssh_username": TEST_USER,
                                         "ssh_private_key_file": str(key), "ssh_timeout": "20s"})
    assert config is not None, [str(p) for p in problems]
    relay = Relay(SSHCommunicator(config, Target()))
    try:
        relay.wait_connected(30)
        with pytest.raises(HatchwayError) as info:
            relay.download("/tmp/", box.dest)
    finally:
        relay.cleanup()
    assert str(info.value) == (f"target {TEST_USER}@{server.host}:{server.port}: bad tar stream from '/tmp': "
                               "the archive stream is broken: unexpected end of data")
    assert sorted(os.listdir(box.dest)) == ["small.txt"]  # no partial big.bin, no temporary name left
    box.unharmed()




def test_winrm_directory_download_of_a_corrupt_zip(box: Box, tmp_path: Path, wsman, monkeypatch) -> None:
    from servers.wsman.standins import hatchway_winrm as standin

    good = zip_bytes([("small.txt", stat.S_IFREG | 0o644, b"small\n"),
                      ("big.bin", stat.S_IFREG | 0o644, b"x" * 50_000)])
    start = good.index(b"x" * 100)  # stored, not deflated: the data is there as it is
    corrupt = good[:start] + b"y" + good[start + 1:]  # one byte changed: the CRC no longer matches

    def crafted_zip(root: str, archive_path: str) -> None:
        Path(archive_path).write_bytes(corrupt)

    monkeypatch.setattr(standin, "_zip_directory", crafted_zip)
    remote = _mkbox(tmp_path / "winrm-home" / "tree")
    relay = winrm_relay(wsman)
    try:
        with pytest.raises(HatchwayError) as info:
            relay.download(str(remote) + "/", box.dest)
    finally:
        relay.cleanup()
    assert str(info.value) == "the zip is broken at entry 'big.bin': Bad CRC-32 for file 'big.bin'"
    assert "big.bin" not in os.listdir(box.dest) and not [n for n in os.listdir(box.dest) if n.startswith(".")]
    box.unharmed()

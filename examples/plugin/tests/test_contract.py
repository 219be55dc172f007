"""The dirmachine communicator passes Hatchway's communicator contract, plus its own path rules.

Run it with ``pytest examples/plugin/tests`` (as root: the machine is a chroot).
"""
from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from hatchway import RemotePathError, Target
from hatchway import Relay
from hatchway.testing import CommunicatorContract
from hatchway_dirmachine import DirMachineCommunicator, DirMachineCommunicatorConfig
from hatchway_dirmachine.machine import find_busybox, make_machine, remove_machine


class TestDirMachineContract(CommunicatorContract):
    """The whole contract (inherited), then what is particular to this communicator."""

    @pytest.fixture
    def machine_root(self, tmp_path: Path):
        root = make_machine(tmp_path / "machine", find_busybox())
        yield root
        remove_machine(root)

    @pytest.fixture
    def relay(self, machine_root: Path):
        communicator = DirMachineCommunicator(DirMachineCommunicatorConfig(), Target(data={"root": str(machine_root)}))
        relay = Relay(communicator)
        relay.connect()
        yield relay
        relay.cleanup()

    # -- beyond the contract: the machine and this machine share no files ---------------
    def test_commands_and_transfers_see_the_machine_not_this_host(self, relay: Relay, machine_root: Path) -> None:
        relay.upload(io.BytesIO(b"machine motd\n"), "/etc/motd")
        assert (machine_root / "etc/motd").read_bytes() == b"machine motd\n"
        assert relay.run("cat /etc/motd; cat /etc/hostname; pwd; echo $HOME").text.splitlines() == [
            "machine motd", "dirmachine", "/root", "/root"]

    def test_relative_paths_start_in_home(self, relay: Relay, machine_root: Path) -> None:
        relay.upload(io.BytesIO(b"x"), "notes/a.txt")
        assert (machine_root / "root/notes/a.txt").read_bytes() == b"x"
        assert relay.run("cat notes/a.txt").stdout == b"x"

    @pytest.mark.parametrize("path", ["/../outside.txt", "/tmp/../../outside.txt", "../../../outside.txt"])
    def test_paths_climbing_above_the_root_are_refused(self, relay: Relay, machine_root: Path, path: str) -> None:
        with pytest.raises(RemotePathError) as info:
            relay.upload(io.BytesIO(b"x"), path)
        assert path in str(info.value) and "outside the machine" in str(info.value)
        assert not (machine_root.parent / "outside.txt").exists()

    def test_links_are_read_inside_the_machine(self, relay: Relay, machine_root: Path, tmp_path: Path) -> None:
        # On the machine /srv/etc-link -> /etc is the machine's /etc, never this host's.
        assert relay.execute("ln -s /etc /srv/etc-link && ln -s ../../../../.. /srv/up") == 0
        relay.upload(io.BytesIO(b"via link\n"), "/srv/etc-link/linked.txt")
        assert (machine_root / "etc/linked.txt").read_bytes() == b"via link\n"
        out = tmp_path / "hostname"
        relay.download("/srv/etc-link/hostname", out)
        assert out.read_bytes() == b"dirmachine\n"
        with pytest.raises(RemotePathError, match="outside the machine"):
            relay.download("/srv/up/etc/passwd", tmp_path / "passwd")

    def test_directory_download_reads_links_inside_the_machine(self, relay: Relay, tmp_path: Path) -> None:
        assert relay.execute("mkdir -p /srv/d && echo ok > /srv/d/f && ln -s /etc /srv/d/etc && ln -s .. /srv/d/loop") == 0
        relay.download("/srv/d/", tmp_path / "out", exclude=["loop"])
        assert (tmp_path / "out/f").read_bytes() == b"ok\n"
        assert (tmp_path / "out/etc/hostname").read_bytes() == b"dirmachine\n"  # the machine's /etc
        # loop -> .. is /srv, whose d is the directory being walked: it is not entered again, so the walk ends
        relay.download("/srv/d/", tmp_path / "again")
        assert (tmp_path / "again/f").read_bytes() == b"ok\n"
        assert (tmp_path / "again/loop").is_dir() and not (tmp_path / "again/loop/d").exists()

    def test_cleanup_stops_a_running_command(self, relay: Relay, machine_root: Path) -> None:
        # What Ctrl-C does: cleanup from another thread while execute runs; the command must end at once.
        statuses = []
        runner = threading.Thread(target=lambda: statuses.append(relay.execute("touch /tmp/started; sleep 120")))
        runner.start()
        deadline = time.monotonic() + 30
        while not (machine_root / "tmp/started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (machine_root / "tmp/started").exists(), "the command did not start within 30s"
        relay.hook.cleanup()
        runner.join(timeout=30)
        assert not runner.is_alive(), "cleanup did not stop the running command"
        assert statuses == [128 + 9]  # killed by SIGKILL, reported as a shell does

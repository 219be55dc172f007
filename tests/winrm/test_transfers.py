"""Transfers: envelope-sized chunks, the 413 fall-back, hashes, streaming, failures named by path.

Every test here runs the client against the stand-ins of upload.ps1 / download.ps1
(tests/servers/wsman/standins/hatchway_winrm.py), not the PowerShell scripts: the names say which.
"""
from __future__ import annotations

import base64
import io
import math
import os
from pathlib import Path

import pytest

from hatchway.communicator import OutputStream
from hatchway.errors import RemotePathError
from hatchway_winrm import scripts
from hatchway_winrm.transfers import SMALL_CHUNK, chunk_for


def test_upload_uses_one_send_per_envelope_sized_chunk_upload_standin(connect, wsman, tmp_path):
    relay = connect()
    data = os.urandom(3 * 1024 * 1024)
    before = wsman.stats.snapshot()
    relay.upload(io.BytesIO(data), "big.bin")
    after = wsman.stats.snapshot()
    sends = after["requests_by_action"].get("Send", 0) - before["requests_by_action"].get("Send", 0)
    # the chunk comes from the server's MaxEnvelopeSizekb, read from its config (one Get)
    assert sends == math.ceil(len(data) / chunk_for(500 * 1024)) + 1  # + the hash line, on its own at the end
    assert after["requests"] - before["requests"] <= sends + 6  # Command, Receive(s), Signal
    assert (tmp_path / "big.bin").read_bytes() == data
    assert wsman.stats.status_413 == 0


def test_413_falls_back_to_small_envelopes_and_remembers_upload_standin(connect, wsman_factory, tmp_path):
    server = wsman_factory(max_envelope_kb=150, config_readable=False)  # not an administrator
    relay = connect(server)
    data = os.urandom(1_000_000)
    relay.upload(io.BytesIO(data), "first.bin")
    assert (tmp_path / "first.bin").read_bytes() == data
    assert server.stats.status_413 == 1
    relay.upload(io.BytesIO(data[::-1]), "second.bin")
    assert (tmp_path / "second.bin").read_bytes() == data[::-1]
    assert server.stats.status_413 == 1, "the smaller chunk size was not kept"
    sends = server.stats.requests_by_action["Send"]
    assert sends <= 2 * (math.ceil(len(data) / SMALL_CHUNK) + 1) + 4  # + the refused Send, + re-cut remainders


def test_a_dropped_send_is_sent_again_upload_standin(connect, wsman, tmp_path):
    relay = connect()
    data = os.urandom(900_000)
    wsman.faults.drop_next(1, action="Send")
    relay.upload(io.BytesIO(data), "dropped.bin")
    assert (tmp_path / "dropped.bin").read_bytes() == data
    assert wsman.faults.fired["drop"] == 1


def run_upload_script(relay, path: str, lines: bytes):
    """Drive the upload script by hand (as the communicator does) with stdin we choose."""
    session, _ = relay.communicator._ensure()
    exe, args = scripts.powershell_command(scripts.render("upload", {"path": path, "mode": "644", "unzip": "0"}))
    out, err = OutputStream(), OutputStream()
    seen = {"out": b"", "err": b""}
    out.add_listener(lambda b: seen.__setitem__("out", seen["out"] + b))
    err.add_listener(lambda b: seen.__setitem__("err", seen["err"] + b))
    status = session.run(exe, args, stdin=[lines], stdout=out, stderr=err, skip_cmd_shell=True)
    return status, seen["err"].decode()


def test_damaged_or_interrupted_data_never_replaces_the_file_upload_standin(connect, tmp_path):
    relay = connect()
    (tmp_path / "kept.txt").write_bytes(b"original")
    status, stderr = run_upload_script(relay, "kept.txt", base64.b64encode(b"new") + b"\r\n#sha256:" + b"0" * 64 + b"\r\n")
    assert status == 3 and "checksum mismatch" in stderr
    status, stderr = run_upload_script(relay, "kept.txt", base64.b64encode(b"half") + b"\r\n")
    assert status == 3 and "interrupted" in stderr
    assert (tmp_path / "kept.txt").read_bytes() == b"original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_unwritable_destinations_are_named_upload_standin(connect, tmp_path):
    relay = connect()
    (tmp_path / "a-file").write_bytes(b"x")
    (tmp_path / "a-dir").mkdir()
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"data"), "a-file/below/x.txt")
    assert "a-file/below/x.txt" in str(info.value)
    with pytest.raises(RemotePathError) as info:
        relay.upload(io.BytesIO(b"data"), str(tmp_path / "a-dir"))
    assert "a-dir" in str(info.value) and "directory" in str(info.value)
    with pytest.raises(RemotePathError) as info:
        relay.download(str(tmp_path / "a-dir"), io.BytesIO())
    assert "a-dir" in str(info.value)


def test_download_is_decoded_receive_by_receive_download_standin(connect, wsman, tmp_path):
    relay = connect()
    data = os.urandom(4 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    before = wsman.stats.requests_by_action["Receive"]
    out = relay.download("big.bin", tmp_path / "back" / "big.bin")
    assert Path(out).read_bytes() == data
    # one ReceiveResponse carries at most ~370 KB of output: 4 MiB (5.6 MB of base64) takes many
    assert wsman.stats.requests_by_action["Receive"] - before >= 8


def test_directory_round_trip_keeps_tree_modes_and_empty_dirs_upload_download_standins(connect, tmp_path):
    from hatchway.testing.contract import make_tree

    relay = connect()
    src = tmp_path / "src"
    content = make_tree(src)
    relay.upload(str(src) + "/", str(tmp_path / "remote" / "tree"))
    back = tmp_path / "back"
    relay.download(str(tmp_path / "remote" / "tree"), back)
    for rel, data in content.items():
        assert (back / rel).read_bytes() == data
    assert (back / "emptydir").is_dir()
    assert oct((back / "sub/deeper/c.sh").stat().st_mode & 0o777) == oct(0o755)


@pytest.mark.parametrize("kb", [150, 2048])
def test_chunks_follow_a_readable_max_envelope_size_upload_standin(connect, wsman_factory, tmp_path, kb):
    server = wsman_factory(max_envelope_kb=kb)
    data = os.urandom(3_000_000)
    connect(server).upload(io.BytesIO(data), "sized.bin")
    assert (tmp_path / "sized.bin").read_bytes() == data
    assert server.stats.status_413 == 0
    assert server.stats.requests_by_action["Send"] == math.ceil(len(data) / chunk_for(kb * 1024)) + 1

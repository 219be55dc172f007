"""What a person sees: Packer-style lines, colours per build, progress bars, machine-readable records."""
import io
import json
import os
import shlex

import pytest

from hatchway import redact
from hatchway.communicator import Target
from hatchway.relay import Relay
from hatchway.ui import UI, LineBuffer, clean_line
from hatchway_local import LocalCommunicator, LocalConfig


def test_clean_line_like_packer():
    assert clean_line("progress 10%\rprogress 100%   ") == "progress 100%"
    assert clean_line("plain") == "plain"


def test_line_buffer_emits_whole_lines_as_they_complete():
    lines = []
    buf = LineBuffer(lines.append)
    buf(b"first li")
    assert lines == []
    buf(b"ne\nsecond\nthi")
    assert lines == ["first line", "second"]
    buf.flush()
    assert lines == ["first line", "second", "thi"]


def test_plain_output_and_redaction():
    out, err = io.StringIO(), io.StringIO()
    ui = UI(out=out, err=err, color=False)
    redact.add_secret("p4ssw0rd-xyz")
    build = ui.build("web")
    build.say("Connecting with p4ssw0rd-xyz")
    build.message("remote line")
    build.error("it failed")
    assert out.getvalue() == "==> web: Connecting with <sensitive>\n    web: remote line\n"
    assert err.getvalue() == "==> web: it failed\n"


def test_each_build_has_its_own_colour_on_a_terminal():
    out = io.StringIO()
    ui = UI(out=out, err=io.StringIO(), color=True)
    ui.build("one").say("a")
    ui.build("two").say("b")
    text = out.getvalue()
    assert "\x1b[" in text
    first, second = text.split("\n")[:2]
    assert first.split("==>")[0] != second.split("==>")[0], "both builds got the same colour"


def test_timestamps():
    out = io.StringIO()
    UI(out=out, err=io.StringIO(), color=False, timestamps=True).build("b").say("x")
    assert out.getvalue()[:4].isdigit() and out.getvalue().endswith("Z: ==> b: x\n")


def test_machine_readable_escapes_commas_and_newlines():
    out = io.StringIO()
    UI(out=out, machine_readable=True).build("b").message("a,b\nc")
    ts, target, kind, *data = out.getvalue().rstrip("\n").split(",")
    assert ts.isdigit() and (target, kind) == ("b", "ui")
    assert data == ["message", "    b: a%!(PACKER_COMMA)b\\nc"]


def test_progress_bar_is_drawn_for_uploads_on_a_terminal(tmp_path):
    out = io.StringIO()
    ui = UI(out=out, err=io.StringIO(), color=True, progress=True)
    relay = Relay(LocalCommunicator(LocalConfig(), Target()), [ui.build("web").transfer_observer()])
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    relay.upload(big, str(tmp_path / "copy.bin"))
    ui.close()
    assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()
    assert "web: big.bin => " in out.getvalue() and "MB" in out.getvalue()


def test_no_progress_bar_when_not_a_terminal(tmp_path):
    out = io.StringIO()
    ui = UI(out=out, err=io.StringIO())
    relay = Relay(LocalCommunicator(LocalConfig(), Target()), [ui.build("web").transfer_observer()])
    (tmp_path / "f").write_bytes(b"x" * 1000)
    relay.upload(tmp_path / "f", str(tmp_path / "g"))
    assert out.getvalue() == ""


# -- secrets in every form (issue 13 §3) ------------------------------------------------------------
def test_a_secret_is_masked_in_its_quoted_escaped_and_encoded_forms():
    import base64
    import json
    import shlex
    import urllib.parse

    secret = "hunter2'x\"C:\\temp\\pw99\tT\nN é"
    redact.add_secret(secret)
    forms = [secret, shlex.quote(secret), secret.replace("'", "''"), json.dumps(secret), repr(secret),
             repr(secret.encode()), repr(shlex.quote(secret)), json.dumps(repr(secret)),
             urllib.parse.quote(secret), urllib.parse.quote_plus(secret), urllib.parse.quote(secret, safe=""),
             base64.b64encode(secret.encode()).decode(), base64.b64encode(secret.encode("utf-16-le")).decode(),
             base64.b64encode(b"user:" + secret.encode()).decode(),
             base64.b64encode(f"$env:X = '{secret}'; more".encode("utf-16-le")).decode(),
             # a script holding the secret as a base64 argument, run as PowerShell's -EncodedCommand
             base64.b64encode(f"$a = '{base64.b64encode(secret.encode()).decode()}'".encode("utf-16-le")).decode()]
    for form in forms:
        masked = redact.redact(f"before {form} after")
        assert "hunter2" not in masked and "pw99" not in masked and "<sensitive>" in masked, (form, masked)
        assert form not in masked, (form, masked)
    assert redact.redact("nothing here") == "nothing here"


def test_overlapping_secrets_leave_no_part_of_either():
    redact.add_secret("abcdef-one")
    redact.add_secret("one-two-three")
    assert redact.redact("x abcdef-one-two-three y") == "x <sensitive> y"
    redact.add_secret("sensitive")  # a secret inside the mask: masking again changes nothing
    assert redact.redact(redact.redact("a sensitive b")) == "a <sensitive> b"


def test_a_secret_with_newlines_split_across_chunks_and_lines_is_masked():
    redact.add_secret("first-line\nsecond\rthird ")
    lines = []
    buf = LineBuffer(lines.append)
    for chunk in (b"before first-li", b"ne\nsec", b"ond\rthird after\n", b"next\n"):
        buf(chunk)
    buf.flush()
    assert lines == ["before <sensitive>after", "next"]
    lines.clear()
    for chunk in (b"on a pty: first-line\r", b"\nsecond\rthird \r\n", b"next\r\n"):  # \n written as \r\n
        buf(chunk)
    buf.flush()
    assert lines == ["on a pty: <sensitive>", "next"]


def test_a_line_held_for_a_secret_with_newlines_is_shown_when_no_more_output_follows():
    # a command that prints a line and then works for minutes: the line must not wait for it
    import threading

    redact.add_secret("first-line\nsecond-line")
    shown = threading.Event()
    lines = []
    buf = LineBuffer(lambda line: (lines.append(line), shown.set()))
    buf(b"started\n")
    assert shown.wait(10), "the held line never appeared"
    assert lines == ["started"]  # it might have begun the secret, but nothing followed: shown
    buf(b"first-line\nsecond-line\n")
    buf.flush()
    assert lines == ["started", "<sensitive>"]
    redact.clear()


def test_a_secret_too_short_to_protect_is_left_alone_and_warned_about_once(env):
    path = env.template({"variables": {"pin": "x7", "token": "long-enough-9"}, "sensitive-variables": ["pin", "token"],
                         "builders": [{"type": "null", "communicator": "local"}],
                         "provisioners": [{"type": "shell-local", "inline": ["echo x7 long-enough-9 x7"]}]})
    result = env.hatchway("build", str(path))
    assert result.returncode == 0, result.stderr
    assert "null: x7 <sensitive> x7" in result.stdout
    warning = "a secret value is shorter than 4 characters, so it cannot be kept out of output and logs"
    assert (result.stdout + result.stderr).count(warning) == 1, result.stderr
    result = env.hatchway("validate", str(env.template({
        "builders": [{"type": "null", "communicator": "ssh", "ssh_host": "h", "ssh_username": "u",
                      "ssh_password": "pw"}]}, "short.json")))
    assert "Warning: the value of ssh_password is shorter than 4 characters" in result.stderr


@pytest.mark.timeout(60)
def test_runs_of_backslashes_and_quotes_do_not_make_matching_explode():
    """Each quoting and escaping applies to the whole secret, so a run of 30 parses one way per form
    (per-character choices made a failing match try 3**30 ways)."""
    for unit in ("\\", "'", '"', "\\'\"%$`"):
        redact.clear()
        secret = "ab" + unit * 30 + "cd"
        redact.add_secret(secret)
        near_miss = "ab" + (unit + "\\'\"") * 60 + "ce"
        assert redact.redact(near_miss) == near_miss
        masked = redact.redact(f"x {secret!r} {json.dumps(secret)} {shlex.quote(secret)} y")
        assert masked.count("<sensitive>") == 3 and "ab" not in masked and "cd" not in masked, masked


def test_the_log_file_takes_names_that_are_not_utf8_and_masks_secrets(tmp_path, capsys):
    import logging

    from hatchway.logs import setup_logging

    redact.add_secret("log-s3cret'x")
    handler = setup_logging(environ={"HATCHWAY_LOG_PATH": str(tmp_path / "log")})
    try:
        logging.getLogger("hatchway.test").warning("skipping %s with %r", "caf\udce9", "log-s3cret'x")
    finally:
        for name in ("hatchway", "hatchway_local", "hatchway_ssh", "hatchway_docker", "hatchway_winrm", "paramiko",
                     "winrm", "docker"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    logged = (tmp_path / "log").read_text()
    assert "skipping caf\\udce9 with \"<sensitive>\"" in logged, logged
    assert "Logging error" not in capsys.readouterr().err

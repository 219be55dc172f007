"""Secrets never leave Hatchway: UI, machine-readable output, the -debug log, errors and tracebacks.

One template holds a build per way in (ssh password, ssh through a bastion,
ssh through a SOCKS5 proxy with credentials, WinRM), each once with the
right secret and once with a wrong one, plus ``sensitive-variables``. Every
build that connects runs a script echoing every secret, then fails on
purpose with an error message naming a path that holds a secret. The
template runs with ``-debug`` three times: human UI with the log in
HATCHWAY_LOG_PATH, ``-machine-readable`` likewise, and the log on stderr;
every byte of stdout, stderr and the log is searched for each secret, as
it is and base64-, URL- and JSON-encoded.

Secrets holding quotes, backslashes, tabs and newlines change form on their
way out: shell-quoted in ``{{.Vars}}`` (``'a'"'"'b'``), PowerShell-quoted in
the ``powershell`` provisioner's environment file (``'a''b'``), escaped in
the debug log's ``repr`` of a command or path, URL-encoded in a Docker
engine error about an image named after one, base64 in WinRM bodies; every
such form is searched for too (:func:`encodings`).

Also at the CLI level: a private key file readable by others is warned
about, and an encrypted key without an agent is a clear error, not a hang.
"""
from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from helpers.core_env import Env

pytestmark = pytest.mark.timeout(300)

BASTION_USER = "hw-bastion"
BASTION_PW = "B@stion:pw/7%e1'\\q"
PROXY_USER = "hwproxy"
PROXY_PW = "Pr0xy#pw&q=9!"
WINRM_USER = "winuser"
WINRM_PW = "W1nRM pw+\"quoted\"$x'\\y"
TOKEN = "tok-3f9a-sens/itive+value=="
OTHER_SENSITIVE = "s3cond-sensitive-\u00e9t\u00e9"
#: Quotes of both kinds, backslashes, a tab, a newline, a $: every quoting and escaping changes it.
QUOTED = "hunter2'x\"y\\C:\\temp\\pw99\tT\nN $HOME"
#: The name of a Docker image that does not exist: the engine's error quotes it URL-encoded.
IMAGE_SECRET = "im4ge-s3cret'q\\x y"
WRONG = {"ssh": "wr0ng-ssh-pw!", "bastion": "wr0ng-bastion-pw!", "proxy": "wr0ng-proxy-pw!",
         "winrm": "wr0ng-winrm-pw!"}


def encodings(secret: str, user: str = "") -> List[bytes]:
    """The forms a secret could leak in: as is; quoted for sh (as shlex.quote and {{.Vars}} write it) and
    PowerShell; backslash-escaped (JSON, repr of text and bytes, twice); URL-encoded (quote, quote_plus,
    twice); base64 (alone, as Basic auth, UTF-16LE as -EncodedCommand, inside a longer encoded script)."""
    sh_inner = secret.replace("'", "'\"'\"'")
    ps_inner = secret.replace("'", "''")
    forms = {secret, shlex.quote(secret), sh_inner, ps_inner,
             urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret), urllib.parse.quote_plus(secret),
             urllib.parse.quote(urllib.parse.quote(secret, safe=""), safe=""),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
             repr(secret.encode())[2:-1], json.dumps(json.dumps(secret))[3:-3], repr(json.dumps(secret))[2:-2],
             json.dumps(sh_inner)[1:-1], repr(sh_inner)[1:-1], json.dumps(ps_inner)[1:-1],
             base64.b64encode(secret.encode()).decode(), base64.b64encode(secret.encode("utf-16-le")).decode(),
             base64.b64encode(f"$env:X = '{ps_inner}'\r\n".encode("utf-16-le")).decode()[12:-12]}
    if user:
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode()[len(user) + 2:-4])
    return sorted(form.encode() for form in forms if len(form) >= 4)


def leaks(data: bytes, secrets: Dict[str, Tuple[str, str]]) -> List[str]:
    found = []
    for label, (secret, user) in secrets.items():
        for form in encodings(secret, user):
            if form in data:
                found.append(f"{label} as {form!r}")
    return found


def test_the_leak_search_finds_every_form() -> None:
    secrets = {"pw": ("p@ss:w/rd", "me")}
    for form in (b"p@ss:w/rd", b"p%40ss%3Aw%2Frd", base64.b64encode(b"me:p@ss:w/rd"), base64.b64encode(b"p@ss:w/rd")):
        assert leaks(b"Authorization: " + form + b"\n", secrets) != []
    assert leaks(b"Authorization: <sensitive>", secrets) == []
    quoted = {"q": (QUOTED, "")}
    for form in (shlex.quote(QUOTED), QUOTED.replace("'", "''"), repr(QUOTED), json.dumps(QUOTED),
                 urllib.parse.quote(QUOTED), repr(shlex.quote(QUOTED))):
        assert leaks(f"X={form}\n".encode(), quoted) != [], form


# -- the machines ------------------------------------------------------------
@pytest.fixture(scope="module")
def servers() -> Iterator[dict]:
    """A target sshd, a bastion sshd (its own user and password), a SOCKS5 proxy with credentials."""
    from servers.sshd import Sshd, ensure_test_user, free_port, wait_port

    microsocks = shutil.which("microsocks")
    if not microsocks:
        pytest.fail("microsocks not found: apt-get install microsocks, or run scripts/test-all.sh", pytrace=False)
    made: List[Sshd] = []
    proxy = None
    try:
        target = Sshd()
        made.append(target)
        target.start()
        ensure_test_user(BASTION_USER, BASTION_PW)
        bastion = Sshd(user=BASTION_USER)
        made.append(bastion)
        bastion.start()
        port = free_port()
        proxy = subprocess.Popen([microsocks, "-i", "127.0.0.1", "-p", str(port), "-u", PROXY_USER, "-P", PROXY_PW],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", port, timeout=10)
        yield {"target": target, "bastion": bastion, "proxy_port": port}
    except Exception as exc:  # a server that cannot start fails the test with its hint, never skips
        pytest.fail(str(exc), pytrace=False)
    finally:
        if proxy is not None:
            proxy.kill()
            proxy.wait(timeout=10)
        for server in made:
            server.close()


@pytest.fixture
def wsman(wsman_factory) -> object:
    return wsman_factory(users={WINRM_USER: WINRM_PW})


def ssh_build(name: str, servers: dict, password: str, **extra: object) -> dict:
    from servers.sshd import TEST_USER

    target = servers["target"]
    return {"type": "null", "name": name, "communicator": "ssh", "ssh_host": target.host, "ssh_port": target.port,
            "ssh_username": TEST_USER, "ssh_password": password, "ssh_timeout": "20s",
            "ssh_handshake_attempts": 1, **extra}


def template(servers: dict, wsman, shared: Path, images: Dict[str, str]) -> Tuple[dict, Dict[str, Tuple[str, str]]]:
    """The template, and label -> (secret, user) of every secret in it."""
    from servers.sshd import TEST_PASSWORD, TEST_USER

    bastion = {"ssh_bastion_host": servers["bastion"].host, "ssh_bastion_port": servers["bastion"].port,
               "ssh_bastion_username": BASTION_USER}
    proxy = {"ssh_proxy_host": "127.0.0.1", "ssh_proxy_port": servers["proxy_port"], "ssh_proxy_username": PROXY_USER}
    winrm = {"type": "null", "communicator": "winrm", "winrm_host": wsman.host, "winrm_port": wsman.port,
             "winrm_username": WINRM_USER, "winrm_timeout": "20s", "winrm_no_proxy": True}
    builders = [
        ssh_build("ssh-ok", servers, TEST_PASSWORD),
        ssh_build("ssh-wrong", servers, WRONG["ssh"]),
        ssh_build("bastion-ok", servers, TEST_PASSWORD, ssh_bastion_password=BASTION_PW, **bastion),
        ssh_build("bastion-wrong", servers, TEST_PASSWORD, ssh_bastion_password=WRONG["bastion"], **bastion),
        ssh_build("proxy-ok", servers, TEST_PASSWORD, ssh_proxy_password=PROXY_PW, **proxy),
        # (a refused proxy login is retried until ssh_timeout, like an unreachable host)
        ssh_build("proxy-wrong", servers, TEST_PASSWORD, ssh_proxy_password=WRONG["proxy"],
                  **{**proxy, "ssh_timeout": "3s"}),
        {**winrm, "name": "winrm-ok", "winrm_password": "{{user `winrm_pw`}}"},
        {**winrm, "name": "winrm-wrong", "winrm_password": WRONG["winrm"]},
        # an image named after a secret: the engine's error quotes it, URL-encoded
        {"type": "docker", "name": "docker-image", "image": "hatchway-missing/{{user `image`}}", "discard": True},
        {"type": "docker", "name": "docker-ok", "image": images["shell"], "pull": False, "discard": True},
    ]
    secrets = {"ssh_password": (TEST_PASSWORD, TEST_USER), "ssh_bastion_password": (BASTION_PW, BASTION_USER),
               "ssh_proxy_password": (PROXY_PW, PROXY_USER), "winrm_password": (WINRM_PW, WINRM_USER),
               "sensitive token": (TOKEN, ""), "sensitive other": (OTHER_SENSITIVE, ""),
               "sensitive quoted": (QUOTED, ""), "sensitive image": (IMAGE_SECRET, "")}
    secrets.update({f"wrong {k} password": (v, "") for k, v in WRONG.items()})
    echo = " ".join(f"'{secret}'" for secret, _ in secrets.values() if "'" not in secret)
    data = {
        "variables": {"token": TOKEN, "other": OTHER_SENSITIVE, "winrm_pw": WINRM_PW, "quoted": QUOTED,
                      "image": IMAGE_SECRET},
        "sensitive-variables": ["token", "other", "quoted", "image"],
        "builders": builders,
        "provisioners": [
            {"type": "shell", "environment_vars": ["TOKEN={{user `token`}}", "OTHER={{user `other`}}"],
             "inline": [f"echo every secret: {echo}", "echo from the environment: $TOKEN $OTHER",
                        "echo on stderr: $TOKEN >&2", "exit 3"],
             "valid_exit_codes": [3]},
            # {{.Vars}} shell-quotes it into the command (and the debug log's repr of the command)
            {"type": "shell", "environment_vars": ["QUOTED={{user `quoted`}}"],
             "inline": ["printf 'quoted: %s|\\n' \"$QUOTED\"", "printf 'quoted on stderr: %s|\\n' \"$QUOTED\" >&2"]},
            # PowerShell quoting: the environment file holds $env:QUOTED = '...'' doubled quotes...'
            {"type": "powershell", "only": ["winrm-ok"], "environment_vars": ["QUOTED={{user `quoted`}}"],
             "inline": ["echo powershell"], "remote_path": f"{shared}/ps-script.ps1",
             "remote_env_var_path": f"{shared}/ps-vars.ps1",
             "execute_command": "cat '{{.Vars}}' && test -n '{{.Path}}'"},
            {"type": "file", "content": "{{user `other`}}",
             "destination": f"{shared}/{{{{build_name}}}}/{{{{user `token`}}}}.txt"},
            {"type": "file", "direction": "download",
             "source": "/nonexistent/{{user `token`}}/{{user `other`}}/{{user `quoted`}}", "destination": "out/"},
        ],
    }
    return data, secrets


def run_cli(env: Env, *args: str, timeout: float = 240, drop: Tuple[str, ...] = (),
            **extra: str) -> Tuple[int, bytes, bytes]:
    """The CLI with raw bytes (a leak must not hide behind a decoding error); ``drop``: variables to unset."""
    environ = {k: v for k, v in env.env(**extra).items() if k not in drop}
    result = subprocess.run([sys.executable, "-m", "hatchway.cli", *args], capture_output=True, env=environ,
                            cwd=env.root, timeout=timeout, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("mode", ["ui", "machine-readable", "log-on-stderr"])
def test_no_secret_anywhere_in_a_failing_debug_build(mode: str, tmp_path: Path, servers: dict, wsman, engine,
                                                    images) -> None:
    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    shared = Path(tempfile.mkdtemp(prefix="hw-secrets-out-"))  # the ssh user writes here too
    os.chmod(shared, 0o777)
    data, secrets = template(servers, wsman, shared, images)
    path = env.template(data)
    log = tmp_path / "debug.log"
    flags = ["-machine-readable"] if mode == "machine-readable" else []
    where = {} if mode == "log-on-stderr" else {"HATCHWAY_LOG_PATH": str(log)}  # -debug alone logs to stderr
    try:
        status, out, err = run_cli(env, "build", "-debug", *flags, str(path), **where, **docker_env(engine))
        written = sorted(str(p.relative_to(shared)) for p in shared.rglob("*.txt"))
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    logged = err if mode == "log-on-stderr" else log.read_bytes()
    everything = out + b"\n" + err + b"\n" + logged
    assert leaks(everything, secrets) == []
    text = everything.decode("utf-8", "replace")
    # the run is real: every build got as far as it should, and said so
    assert status == 1
    echoed = len([s for s, _ in secrets.values() if "'" not in s])
    for name in ("ssh-ok", "bastion-ok", "proxy-ok", "winrm-ok", "docker-ok"):
        every = f"{name}: every secret: " + " ".join(["<sensitive>"] * echoed)
        assert every in text.replace("%!(PACKER_COMMA)", ","), name
        assert f"{name}: from the environment: <sensitive> <sensitive>" in text, name
        assert f"{name}: on stderr: <sensitive>" in text, name
        assert f"{name}: quoted: <sensitive>|" in text, name
        assert f"{name}: quoted on stderr: <sensitive>|" in text, name
        assert "/nonexistent/<sensitive>/<sensitive>" in text
    assert '$env:QUOTED="<sensitive>";' in text  # Packer's powershell variables: $env:K="escaped";
    assert "docker-image: " in text and "hatchway-missing/<sensitive>" in text
    for name in ("ssh-wrong", "bastion-wrong", "proxy-wrong", "winrm-wrong"):
        assert f"{name}: " in text and f"{name}: every secret" not in text, name
    assert written == [f"{name}/{TOKEN}.txt" for name in ("bastion-ok", "proxy-ok", "ssh-ok", "winrm-ok")]
    assert b"execute" in logged and b"DEBUG" in logged  # the debug log is real
    if mode == "machine-readable":
        assert all(line.split(b",")[0].isdigit() for line in out.splitlines() if line), out[:500]


def docker_env(engine) -> Dict[str, str]:
    return {k: v for k, v in engine.env.items() if k.startswith("DOCKER_")}


# -- private keys at the CLI -----------------------------------------------------
@pytest.fixture
def key_server(tmp_path: Path) -> Iterator[tuple]:
    from servers.sshd import Sshd, keygen

    keys = Path(tempfile.mkdtemp(prefix="hw-secret-keys-"))
    key = keygen(keys / "id_ed25519")
    server = Sshd()
    server.authorize((keys / "id_ed25519.pub").read_text())
    try:
        server.start()
    except Exception as exc:
        shutil.rmtree(keys, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    yield server, key
    server.close()
    shutil.rmtree(keys, ignore_errors=True)


def key_build(server, key: Path) -> dict:
    from servers.sshd import TEST_USER

    return {"builders": [{"type": "null", "name": "keyed", "communicator": "ssh", "ssh_host": server.host,
                          "ssh_port": server.port, "ssh_username": TEST_USER, "ssh_private_key_file": str(key),
                          "ssh_timeout": "30s"}],
            "provisioners": [{"type": "shell", "inline": ["echo logged in as $(id -un)"]}]}


def test_a_private_key_readable_by_others_is_warned_about(tmp_path: Path, key_server: tuple) -> None:
    from servers.sshd import TEST_USER

    server, key = key_server
    loose = tmp_path / "loose key"
    loose.write_bytes(key.read_bytes())
    os.chmod(loose, 0o644)
    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    status, out, err = run_cli(env, "build", str(env.template(key_build(server, loose))))
    text = (out + err).decode()
    assert status == 0, text
    assert f"keyed: logged in as {TEST_USER}" in text
    assert f"private key file {loose} is accessible by others (mode 0644): run `chmod 600 {loose}`" in text


def test_an_encrypted_key_without_an_agent_is_a_clear_error(tmp_path: Path, key_server: tuple) -> None:
    from servers.sshd import keygen

    server, _key = key_server
    locked = keygen(tmp_path / "locked", passphrase="the-passphrase-9")
    server.authorize((tmp_path / "locked.pub").read_text())
    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    status, out, err = run_cli(env, "build", str(env.template(key_build(server, locked))), timeout=120,
                               drop=("SSH_AUTH_SOCK",))
    text = (out + err).decode()
    assert status == 1
    assert f"{locked}' is encrypted with a passphrase: load it into ssh-agent (`ssh-add {locked}`)" in text, text
    assert "Traceback" not in text and "timed out" not in text
    assert "logged in" not in text


CRASHER_PLUGIN = """
import attrs, hatchway
from hatchway.config import option

@attrs.define(kw_only=True)
class Config:
    word: str = option("", help="put into the exception")

class Crasher(hatchway.Provisioner):
    name = "crasher"
    Config = Config
    def provision(self, ctx):
        ctx.ui.say("about to crash with " + self.config.word)
        def deeper(word):
            raise RuntimeError("unexpected failure holding " + word + " " + repr(word))
        deeper(self.config.word)

@hatchway.hookimpl
def register_provisioners(register):
    register(Crasher)
"""


def test_a_plugin_crash_keeps_secrets_out_of_its_message_and_traceback(tmp_path: Path) -> None:
    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    env.add_plugin("hatchway-crasher", "hatchway_crasher", CRASHER_PLUGIN)
    path = env.template({"variables": {"token": TOKEN, "quoted": QUOTED}, "sensitive-variables": ["token", "quoted"],
                         "builders": [{"type": "null", "name": "crash", "communicator": "local"}],
                         "provisioners": [{"type": "crasher", "word": "{{user `token`}}{{user `quoted`}}"}]})
    log = tmp_path / "debug.log"
    status, out, err = run_cli(env, "build", "-debug", str(path), HATCHWAY_LOG_PATH=str(log))
    logged = log.read_bytes()
    assert leaks(out + err + logged, {"token": (TOKEN, ""), "quoted": (QUOTED, "")}) == []
    assert status == 1
    assert b"crash: about to crash with <sensitive>" in out
    assert (b"Build failed: internal error in a plugin or in Hatchway: RuntimeError: unexpected failure holding "
            b"<sensitive> '<sensitive>'") in out + err  # as is and its repr, escaped quotes, \\t and \\n
    assert b"Traceback (most recent call last)" in logged and b"in deeper" in logged  # the traceback is there


def test_a_refused_proxy_login_is_a_clear_error_at_once(tmp_path: Path, servers: dict) -> None:
    from servers.sshd import TEST_PASSWORD

    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    build = ssh_build("proxy", servers, TEST_PASSWORD, ssh_proxy_host="127.0.0.1", ssh_proxy_port=servers["proxy_port"],
                      ssh_proxy_username=PROXY_USER, ssh_proxy_password=WRONG["proxy"], ssh_timeout="8s")
    status, out, err = run_cli(env, "build", str(env.template({"builders": [build]})))
    text = (out + err).decode()
    assert status == 1
    assert leaks(out + err, {"proxy": (WRONG["proxy"], PROXY_USER)}) == []
    assert (f"the SOCKS5 proxy 127.0.0.1:{servers['proxy_port']} refused our credentials" in text
            and "check ssh_proxy_username and ssh_proxy_password" in text), text
    assert "timed out" not in text


def test_validate_and_inspect_never_show_secrets(tmp_path: Path) -> None:
    """Type errors quote the value a user wrote: not when it is (or holds) a secret, from the template or -var."""
    root = tmp_path / "cli"
    root.mkdir()
    env = Env(root)
    from_var = "cli-given-s3cret!"
    path = env.template({
        "variables": {"token": TOKEN, "other": OTHER_SENSITIVE, "plain": "visible-value"},
        "sensitive-variables": ["token", "other"],
        "builders": [
            {"type": "null", "communicator": "ssh", "ssh_username": "u", "ssh_port": "{{user `token`}}",
             "ssh_password": [WRONG["ssh"]], "ssh_bastion_host": "h", "ssh_bastion_password": {"x": BASTION_PW}},
            {"type": "null", "name": "w", "communicator": "winrm", "winrm_username": "u",
             "winrm_password": "{{user `other`}}", "winrm_port": "{{user `other`}}x",
             "winrm_timeout": "{{user `token`}}"},
        ],
        "provisioners": [{"type": "shell", "inline": ["echo {{user `token`}}"], "timeout": "{{user `other`}}"}],
    })
    valid = env.template({"variables": {"token": TOKEN, "plain": "visible-value"}, "sensitive-variables": ["token"],
                          "builders": [{"type": "null", "communicator": "ssh", "ssh_host": "127.0.0.1",
                                        "ssh_username": "u", "ssh_password": "{{user `token`}}"}]}, "valid.json")
    secrets = {"token": (TOKEN, ""), "other": (OTHER_SENSITIVE, ""), "-var": (from_var, ""),
               "ssh_password": (WRONG["ssh"], ""), "ssh_bastion_password": (BASTION_PW, "")}
    runs = [run_cli(env, "validate", str(path)), run_cli(env, "validate", "-machine-readable", str(path)),
            run_cli(env, "validate", "-var", f"token={from_var}", str(path)),
            run_cli(env, "inspect", "-var", f"token={from_var}", str(valid)),
            run_cli(env, "build", "-var", f"token={from_var}", str(path))]
    for status, out, err in runs:
        assert leaks(out + err, secrets) == []
    status, out, err = runs[0]
    text = (out + err).decode()
    assert status == 1
    assert "builders[0].ssh_port: expected a whole number, got '<sensitive>'" in text
    assert "builders[0].ssh_password: invalid value" in text
    assert "builders[1].winrm_port: expected a whole number, got '<sensitive>x'" in text
    assert "provisioners[0].timeout: '<sensitive>' is not a duration" in text
    assert "token = <sensitive>" in runs[3][1].decode() and "plain = visible-value" in runs[3][1].decode()
    assert runs[4][0] == 1 and "got '<sensitive>'" in runs[4][2].decode()

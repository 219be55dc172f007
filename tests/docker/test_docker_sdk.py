"""The canary for the docker SDK's private parts (hatchway_docker/sdk.py): it fails, in words, when an SDK
release changes what the plugin relies on."""
from __future__ import annotations

import os
import subprocess
import sys

from hatchway_docker import sdk


def test_the_sdk_is_a_tested_release():
    docker = sdk.load()
    release = ".".join(docker.__version__.split(".")[:2])
    assert release in sdk.TESTED, (
        f"docker SDK {docker.__version__} is not one hatchway-docker was tested with ({', '.join(sdk.TESTED)}): "
        "run tests/docker, check hatchway_docker/sdk.py against it, then add it to sdk.TESTED and setup.cfg")


def test_the_private_parts_are_as_expected():
    found = sdk.problems()
    assert found == [], "\n".join(found + ["update hatchway_docker/sdk.py (the only module that uses them)"])


def test_the_private_parts_work_against_the_engine(api, make_container):
    """One call through each helper, against the real engine."""
    container = make_container()
    exec_id = api.exec_create(container, ["/bin/echo", "canary"])["Id"]
    response = sdk.post_json(api, sdk.url(api, "/exec/{0}/start", exec_id), {"Tty": False, "Detach": False},
                             headers={"Connection": "Upgrade", "Upgrade": "tcp"}, stream=True)
    sdk.raise_for_status(api, response)
    reader = sdk.hijacked_reader(response)
    header = reader.read(8)
    assert header[0] == 1 and reader.read(int.from_bytes(header[4:], "big")) == b"canary\n"
    response.close()
    put = sdk.put(api, sdk.url(api, "/containers/{0}/archive", container), params={"path": "/tmp"}, data=b"\0" * 1024)
    sdk.raise_for_status(api, put)


def test_paramiko_is_loaded_only_for_ssh_engines():
    code = ("import sys; from hatchway_docker import sdk; docker = sdk.load(); "
            "print('paramiko' in sys.modules, hasattr(docker.transport, 'SSHHTTPAdapter'))")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert plain.stdout.split() == ["False", "False"], plain.stderr
    ssh = subprocess.run([sys.executable, "-c", code], env={**env, "DOCKER_HOST": "ssh://builder@127.0.0.1"},
                         capture_output=True, text=True, timeout=60)
    assert ssh.stdout.split() == ["True", "True"], ssh.stderr


def test_parallel_builds_never_see_a_half_imported_sdk():
    """Twenty threads load the SDK at once (as twenty parallel builds do): each gets the whole module."""
    code = ("import threading; from hatchway_docker import sdk; seen = []\n"
            "def one(): seen.append(hasattr(sdk.load(), 'errors') and hasattr(sdk.load(), 'APIClient'))\n"
            "threads = [threading.Thread(target=one) for _ in range(20)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]; print(seen.count(True))")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "20", result.stderr

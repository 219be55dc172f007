"""The distribution registers what it brings through the entry point group ``hatchway``, and stays light."""
import subprocess
import sys

from hatchway.plugins import Plugins


def test_entry_point_registers_builder_communicator_and_post_processors():
    plugins = Plugins().load()
    builder = plugins.get("builder", "docker")
    assert builder.cls.default_communicator == "docker"
    assert plugins.get("communicator", "docker").cls.__module__ == "hatchway_docker.communicator"
    assert {"docker-tag", "docker-save", "docker-push", "docker-import"} <= set(plugins.names("post-processor"))
    assert not plugins.problems()


def test_importing_the_plugin_does_not_import_the_docker_sdk():
    code = ("import sys, hatchway_docker; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'requests', 'urllib3')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"

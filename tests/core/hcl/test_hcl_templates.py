"""Our own HCL2 templates (tests/templates/hcl), written the way public Packer templates are: each validates,
or fails only where Packer would here (a builder or data source that is not installed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from hatchway.plugins import get_plugins
from hatchway.template import hcl
from hatchway.template.hcl.diagnostics import DiagnosticsError

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "hcl"


@pytest.mark.parametrize("name", ["docker-app", "ssh-fleet", "windows-server", "local-json.pkr.json"])
def test_template_validates(name: str) -> None:
    plan, loaded = hcl.plan(TEMPLATES / name, get_plugins(), env={})
    assert plan.builds


def test_docker_app_runs_and_chain() -> None:
    plan, loaded = hcl.plan(TEMPLATES / "docker-app", get_plugins(), env={})
    (build,) = plan.builds
    assert build.name == "app.docker.app"
    assert build.builder_config.changes == ["ENV APP_HOME=/opt/app", "ENV APP_PORT=8080", "WORKDIR /opt/app",
                                            "EXPOSE 8080"]
    assert [[s.type for s in chain] for chain in build.post_processors] == [["docker-tag", "docker-save"]]
    assert build.post_processors[0][1].config.path.endswith("output/example-app.tar")
    hello = build.provisioners[1].config.content
    assert hello == '#!/bin/sh\necho "hello from app on port 8080"\n'


def test_ssh_fleet_runs_overrides_dynamic_and_templatefile() -> None:
    plan, loaded = hcl.plan(TEMPLATES / "ssh-fleet", get_plugins(), env={"PKR_VAR_ssh_username": "env-user"})
    assert [b.name for b in plan.builds] == ["fleet.null.web", "fleet.null.db"]
    web, db = plan.builds
    assert (web.communicator_config.ssh_port, db.communicator_config.ssh_port) == (22, 2222)
    assert web.communicator_config.ssh_username == "builder"  # the auto var file beats PKR_VAR_
    assert [s.config.inline for s in web.provisioners if s.type == "shell"] == [
        ["echo connected to <unknown> as <unknown>"], ["echo would install nginx curl for web"], ["cat /tmp/motd"]]
    assert [s.config.inline for s in db.provisioners if s.type == "shell"][-1] == ["cat /tmp/motd", "echo database host"]
    assert loaded.locals["motd"] == "Welcome. This fleet has:\n- a database server\n- a web server\n"


def test_cloud_template_fails_only_on_what_is_not_installed() -> None:
    with pytest.raises(DiagnosticsError) as info:
        hcl.plan(TEMPLATES / "cloud-image.pkr.hcl", get_plugins(), env={})
    errors = [d for d in info.value.diagnostics if d.is_error]
    assert [d.summary for d in errors] == ["Unknown data source type", "Unknown component type"]
    assert "pip install hatchway-amazon-ami" in errors[0].detail
    assert "pip install hatchway-amazon-ebs" in errors[1].detail


def test_windows_server_features_and_sensitive_password() -> None:
    from hatchway import redact

    plan, loaded = hcl.plan(TEMPLATES / "windows-server", get_plugins(), env={})
    (build,) = plan.builds
    assert build.communicator_name == "winrm"
    assert build.provisioners[0].config.inline == [
        "$ErrorActionPreference = 'Stop'",
        "Install-WindowsFeature -Name Web-Server -IncludeManagementTools",
        "Install-WindowsFeature -Name Web-Mgmt-Tools -IncludeManagementTools"]
    assert redact.redact("pw vagrant-not-secret") == "pw <sensitive>"

"""End to end: ``hatchway build`` of a template whose builder talks WinRM to the test server."""
from __future__ import annotations

import json

from hatchway.cli import main


def test_build_with_winrm_keys_file_and_powershell_echo_standin(wsman, tmp_path, capsys):
    (tmp_path / "payload").mkdir()
    (tmp_path / "payload" / "app.cfg").write_text("setting=1\n")
    template = {
        "builders": [{
            "type": "null", "name": "win", "communicator": "winrm",
            "winrm_host": wsman.host, "winrm_port": wsman.port, "winrm_username": "vagrant",
            "winrm_password": "{{user `password`}}", "winrm_timeout": "30s", "winrm_no_proxy": True,
        }],
        "variables": {"password": "vagrant"},
        "sensitive-variables": ["password"],
        "provisioners": [
            {"type": "file", "source": str(tmp_path / "payload") + "/", "destination": "remote-payload"},
            # Packer's default command runs the wrapped inline script with -file; the server runs the
            # `echo` stand-in the script names (PowerShell does not run here)
            {"type": "powershell", "inline": ["# hatchway-standin: echo", "$text = 'from powershell'"],
             "remote_path": "script.ps1", "remote_env_var_path": "vars.ps1"},
            {"type": "file", "direction": "download", "source": "remote-payload/app.cfg",
             "destination": str(tmp_path / "back.cfg")},
        ],
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    status = main(["build", str(path)])
    captured = capsys.readouterr()
    assert status == 0, captured.out + captured.err
    assert "from powershell" in captured.out
    assert (tmp_path / "back.cfg").read_text() == "setting=1\n"
    assert "vagrant" not in captured.out.replace("vagrant@", "")


def test_validate_names_a_misspelt_winrm_key(tmp_path, capsys):
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"builders": [{"type": "null", "communicator": "winrm", "winrm_username": "u",
                                              "winrm_password": "secret-pw", "winrm_use_ssll": True}]}))
    assert main(["validate", str(path)]) != 0
    captured = capsys.readouterr()
    assert "winrm_use_ssll" in captured.out + captured.err and "winrm_use_ssl" in captured.out + captured.err

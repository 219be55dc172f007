"""Packer's keys and value rules on real builds (``null`` builder, ``local`` communicator).

Each test names where in Packer the expected behaviour comes from.
"""
from __future__ import annotations

import sys



def local_build(name="one", **extra):
    return {"type": "null", "name": name, "communicator": "local", **extra}


def build(env, provisioners, builder=None, *args):
    template = env.template({"builders": [builder or local_build()], "provisioners": provisioners})
    return env.hatchway("build", *args, str(template))


def test_a_single_string_inline_is_one_command(env):
    # packer-plugin-sdk template/config/decode.go: StringToSliceHookFunc(",") + WeaklyTypedInput
    result = build(env, [{"type": "shell", "inline": "echo one-line"}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: one-line" in result.stdout


def test_numbers_and_bools_as_strings_from_user_variables(env, tmp_path):
    # "valid_exit_codes": "{{user `codes`}}" renders to "0,3", then decodes to [0, 3] (decode.go)
    template = env.template({
        "variables": {"codes": "0,3", "clean": "true"},
        "builders": [local_build()],
        "provisioners": [{"type": "shell", "inline": ["exit 3"], "valid_exit_codes": "{{user `codes`}}",
                          "skip_clean": "{{user `clean`}}", "remote_folder": str(tmp_path), "remote_file": "k.sh"}],
    })
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "k.sh").exists()


def test_env_var_format_shapes_vars_sorted_by_key(env, tmp_path):
    # provisioner/shell/provisioner.go createFlattenedEnvVars: fmt.Sprintf(EnvVarFormat, key, value), keys sorted,
    # ' escaped as '"'"'
    result = build(env, [{"type": "shell", "inline": ["true"], "environment_vars": ["ZED=z", "ALPHA=it's"],
                          "env_var_format": "export %s='%s'; ",
                          "execute_command": "{{.Vars}} sh -c 'echo \"[$ALPHA|$ZED]\"'"}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: [it's|z]" in result.stdout


def test_vars_are_sorted_and_quoted_like_packer():
    from hatchway.builtin.scripts import flatten_env, shell_vars

    assert shell_vars({"ZED": "z", "ALPHA": "it's"}) == "ALPHA='it'\"'\"'s' ZED='z' "
    assert flatten_env({"B": "1", "A": "2"}, "export %s='%s'\n") == "export A='2'\nexport B='1'\n"


def test_use_env_var_file_sources_a_file_next_to_the_script_and_removes_it(env, tmp_path):
    # provisioner/shell/provisioner.go: use_env_var_file uploads varfile_<n>.sh to remote_folder (chmod 0600),
    # format "export %s='%s'\n", command "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"
    folder = tmp_path / "remote"
    folder.mkdir()
    result = build(env, [
        {"type": "shell", "inline": ["echo \"sees [$GREETING]\"", "ls -l $(dirname $0) | grep -c varfile_"],
         "environment_vars": ["GREETING=hello 'world' $HOME"], "use_env_var_file": True,
         "remote_folder": str(folder)},
    ])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: sees [hello 'world' $HOME]" in result.stdout
    assert "    one: 1" in result.stdout  # the file was there while the script ran ...
    assert list(folder.iterdir()) == []  # ... and is gone afterwards (as Packer's cleanupRemoteFile)


def test_use_env_var_file_keeps_the_file_with_skip_clean(env, tmp_path):
    result = build(env, [{"type": "shell", "inline": ["true"], "environment_vars": ["A=1"],
                          "use_env_var_file": True, "skip_clean": True, "remote_folder": str(tmp_path)}])
    assert result.returncode == 0, result.stdout + result.stderr
    (varfile,) = tmp_path.glob("varfile_*.sh")
    assert varfile.read_text() == "export A='1'\nexport PACKER_BUILDER_TYPE='null'\nexport PACKER_BUILD_NAME='one'\n"
    assert varfile.stat().st_mode & 0o777 == 0o600


def test_scripts_get_unix_line_endings_unless_binary(env, tmp_path):
    # provisioner/shell/provisioner.go: `if !p.config.Binary { r = &UnixReader{Reader: r} }`
    script = tmp_path / "crlf.sh"
    script.write_bytes(b"#!/bin/sh\r\necho crlf-ok\r\n")
    result = build(env, [
        {"type": "shell", "script": str(script), "remote_folder": str(tmp_path), "remote_file": "conv.sh",
         "skip_clean": True},
        {"type": "shell", "script": str(script), "remote_folder": str(tmp_path), "remote_file": "bin.sh",
         "skip_clean": True, "binary": True, "execute_command": "true {{.Path}}"},
    ])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: crlf-ok" in result.stdout
    assert (tmp_path / "conv.sh").read_bytes() == b"#!/bin/sh\necho crlf-ok\n"
    assert (tmp_path / "bin.sh").read_bytes() == b"#!/bin/sh\r\necho crlf-ok\r\n"


def test_execute_command_without_path_runs_with_a_warning(env):
    # Packer runs any execute_command (provisioner/shell/provisioner.go renders it without checks)
    result = build(env, [{"type": "shell", "inline": ["echo never"], "execute_command": "echo ran-anyway"}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: ran-anyway" in result.stdout
    assert "execute_command: does not contain {{.Path}}" in result.stdout + result.stderr


def test_shell_local_only_on_skips_other_systems(env, tmp_path):
    # packer-plugin-sdk shell-local/run.go: `ui.Say("Skipping shell-local due to runtime OS")`
    other = "windows" if sys.platform.startswith("linux") else "linux"
    mark = tmp_path / "ran"
    result = build(env, [{"type": "shell-local", "inline": [f"touch {mark}"], "only_on": [other]},
                         {"type": "shell-local", "inline": ["echo here"], "only_on": ["linux", "darwin"]}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Skipping shell-local due to runtime OS" in result.stdout and not mark.exists()
    assert "    one: here" in result.stdout


def test_shell_local_only_on_names_unknown_systems(env):
    template = env.template({"builders": [local_build()],
                             "provisioners": [{"type": "shell-local", "inline": ["true"], "only_on": ["linx"]}]})
    result = env.hatchway("validate", str(template))
    assert result.returncode == 1
    assert "provisioners[0].only_on[0]: 'linx' is not an operating system Packer knows" in result.stderr


def test_shell_local_tempfile_extension_env_var_format_and_command(env):
    # shell-local/run.go: the inline file is renamed to <name>.<tempfile_extension>; {{.Command}} is the script
    result = build(env, [{"type": "shell-local", "inline": ["true"], "tempfile_extension": ".ps1",
                          "env_var_format": "%s=%s;", "environment_vars": ["B=2"],
                          "execute_command": ["/bin/sh", "-c", "echo {{.Script}} {{.Command}} '{{.Vars}}'"]}])
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if "hatchway-shell-local-" in x)
    script, command, varstext = line.split()[1:4]
    assert script.endswith(".ps1") and command == script
    assert varstext == "B=2;PACKER_BUILDER_TYPE=null;PACKER_BUILD_NAME=one;"


def test_communicator_from_a_user_variable(env):
    # Packer renders "communicator" like every other builder key (packer-plugin-sdk communicator.Config)
    template = env.template({"variables": {"comm": "local"},
                             "builders": [{"type": "null", "name": "one", "communicator": "{{user `comm`}}"}],
                             "provisioners": [{"type": "shell", "inline": ["echo via-{{user `comm`}}"]}]})
    result = env.hatchway("build", str(template))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    one: via-local" in result.stdout


def test_ports_out_of_range_are_validation_errors_naming_the_key(env):
    template = env.template({
        "variables": {"port": "87558"},
        "builders": [{"type": "null", "name": "one", "communicator": "ssh", "ssh_host": "127.0.0.1",
                      "ssh_username": "someone", "ssh_password": "secret-pw", "ssh_port": "{{user `port`}}",
                      "ssh_bastion_host": "127.0.0.1", "ssh_bastion_port": -1}],
    })
    result = env.hatchway("validate", str(template))
    assert result.returncode == 1
    assert "builders[0].ssh_port: 87558 is not a TCP port: use 1-65535" in result.stderr
    assert "builders[0].ssh_bastion_port: -1 is not a TCP port: use 1-65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_from_a_user_variable_and_an_empty_port(env):
    template = env.template({
        "variables": {"port": "2222"},
        "builders": [{"type": "null", "name": "one", "communicator": "ssh", "ssh_host": "127.0.0.1",
                      "ssh_username": "someone", "ssh_password": "secret-pw", "ssh_port": "{{user `port`}}",
                      "ssh_proxy_port": ""}],
    })
    result = env.hatchway("validate", str(template))
    assert result.returncode == 0, result.stdout + result.stderr


# Every key of Packer's own config structs (the generated HCL2 specs, packer_* build metadata left out):
# hashicorp/packer provisioner/shell/provisioner.hcl2spec.go, provisioner/file/provisioner.hcl2spec.go,
# packer-plugin-sdk shell-local/config.hcl2spec.go.
PACKER_KEYS = {
    "shell": "binary env env_var_format environment_vars execute_command expect_disconnect inline inline_shebang "
             "pause_after remote_file remote_folder remote_path script scripts skip_clean start_retry_timeout "
             "use_env_var_file valid_exit_codes",
    "file": "content destination direction generated source sources",
    "shell-local": "command env env_var_format environment_vars execute_command inline inline_shebang only_on "
                   "script scripts tempfile_extension use_linux_pathing valid_exit_codes",
}


def test_every_packer_key_of_the_builtin_provisioners_is_accepted():
    from hatchway.builtin import FileProvisioner, ShellLocalProvisioner, ShellProvisioner
    from hatchway.config import keys_of

    for cls in (ShellProvisioner, FileProvisioner, ShellLocalProvisioner):
        assert set(PACKER_KEYS[cls.name].split()) - set(keys_of(cls.Config)) == set(), cls.name


def test_empty_valid_exit_codes_mean_zero(env):
    # packer-plugin-sdk shell/exit_code.go: `if len(validCodes) == 0 { validCodes = []int{0} }`;
    # "" decodes to an empty list (StringToSliceHookFunc)
    result = build(env, [{"type": "shell", "inline": ["true"], "valid_exit_codes": ""},
                         {"type": "shell-local", "inline": ["true"], "valid_exit_codes": []}])
    assert result.returncode == 0, result.stdout + result.stderr


def test_empty_shebang_folder_and_zero_retry_are_packers_defaults(env, tmp_path):
    # provisioner/shell/provisioner.go Prepare: "" inline_shebang -> "/bin/sh -e", "" remote_folder -> "/tmp",
    # 0 start_retry_timeout -> 5m
    result = build(env, [{"type": "shell", "inline": ["head -1 $0", "false", "echo not-reached"],
                          "inline_shebang": "", "remote_folder": "", "start_retry_timeout": "0s"}])
    assert result.returncode == 1
    assert "    one: #!/bin/sh -e" in result.stdout and "not-reached" not in result.stdout

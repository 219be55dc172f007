"""The CLI with HCL2: file/directory detection, diagnostics output, lazy parser import, hcl2_upgrade, console."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write

REPO = Path(__file__).resolve().parents[3]


def hatchway(*args: str, cwd: Path = None, stdin: str = "", env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatchway.cli", *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=120, env=env)


def test_help_and_json_validate_do_not_import_the_hcl_parser(tmp_path):
    template = write(tmp_path, "t.json", '{"builders": [{"type": "null", "communicator": "none"}]}')
    code = (
        "import sys\n"
        "from hatchway.cli import main\n"
        f"assert main(['validate', {str(template)!r}]) == 0\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('hatchway.template.hcl.')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_validate_prints_every_problem_like_hcl_and_exits_1(tmp_path):
    write(tmp_path, "a.pkr.hcl", '''
        source "null" "x" {
          communicator = "none"
        }
        build {
          sources = ["source.null.x"]
          provisioner "shell-local" {
            inline = [var.missing]
          }
        }
    ''')
    write(tmp_path, "b.pkr.hcl", 'variable "v" {\n  type = numbr\n}\n')
    result = hatchway("validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    err = result.stderr
    assert err.startswith("Error: Invalid type specification\n\n  on ")
    assert f"on {tmp_path}/b.pkr.hcl line 2, in variable \"v\":\n  2:   type = numbr\n" in err
    assert 'The keyword "numbr" is not a valid type specification.' in err
    assert f"on {tmp_path}/a.pkr.hcl line 7, in build:" in err
    assert 'This object does not have an attribute named "missing".' in err


def test_validate_syntax_only_and_valid_template(tmp_path):
    path = write(tmp_path, "ok.pkr.hcl", 'source "null" "x" {\n  communicator = "none"\n}\n'
                                          'build {\n  sources = ["source.null.x"]\n}\n')
    assert hatchway("validate", "-syntax-only", str(path)).stdout.strip() == \
        "Syntax-only check passed. Everything looks okay."
    result = hatchway("validate", str(path))
    assert result.returncode == 0, result.stderr
    bad = write(tmp_path, "bad.pkr.hcl", "a = [\n")
    result = hatchway("validate", "-syntax-only", str(bad))
    assert result.returncode == 1 and "Error: " in result.stderr


def test_var_flags_reach_hcl_templates_typed(tmp_path):
    path = write(tmp_path, "v.pkr.hcl", '''
        variable "names" {
          type = list(string)
        }
        source "null" "x" {
          communicator = "none"
        }
        build {
          sources = ["source.null.x"]
        }
    ''')
    write(tmp_path, "v.pkrvars.hcl", 'names = ["from-file"]\n')
    result = hatchway("inspect", "-var-file", str(tmp_path / "v.pkrvars.hcl"), str(path))
    assert result.returncode == 0, result.stderr
    assert 'var.names: ["from-file"]' in result.stdout
    result = hatchway("inspect", "-var", 'names=["a", "b"]', str(path))
    assert 'var.names: ["a", "b"]' in result.stdout
    result = hatchway("validate", "-var", "other=1", str(path))
    assert result.returncode == 1 and "Undefined -var variable" in result.stderr


def json_templates():
    """Every JSON template of the test suite and the examples (var files, which have no "builders", left out)."""
    corpus = REPO / "tests" / "templates" / "json"
    found = [p for p in sorted(corpus.glob("*.json")) if '"builders"' in p.read_text()] if corpus.is_dir() else []
    return found + [REPO / "examples" / "hello.json", REPO / "examples" / "docker.json",
                    REPO / "examples" / "plugin" / "example.json"]


@pytest.mark.parametrize("template", json_templates(), ids=lambda p: p.name)
def test_every_json_template_upgrades_to_a_valid_hcl2_template(template: Path, tmp_path: Path):
    out = template.parent / f".{template.name}.upgrade-test.pkr.hcl"  # next to it: path.root is the same
    try:
        result = hatchway("hcl2_upgrade", "-output-file", str(out), str(template))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"Successfully created {out}. Exit 0"
        var_file = template.with_name(template.stem + ".vars.json")  # the corpus's values for required variables
        validated = hatchway("validate", *(["-var-file", str(var_file)] if var_file.exists() else []), str(out))
        assert validated.returncode == 0, out.read_text() + validated.stderr
    finally:
        out.unlink(missing_ok=True)


def test_upgraded_hello_gives_the_same_output(tmp_path):
    source = tmp_path / "hello.json"
    source.write_text((REPO / "examples" / "hello.json").read_text())
    assert hatchway("hcl2_upgrade", str(source)).returncode == 0
    upgraded = tmp_path / "hello.json.pkr.hcl"
    text = upgraded.read_text()
    assert 'source "null" "hello" {' in text
    assert "${var.workdir}" in text and "${path.root}/output/" in text
    runs = {}
    for name, path in (("json", source), ("hcl", upgraded)):
        result = hatchway("build", "-var", f"workdir={tmp_path / name}", str(path), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        runs[name] = (tmp_path / "output" / "greeting.txt").read_text()
    # $PACKER_BUILD_NAME is the builder's name in JSON, the source's name in HCL2: the same here
    assert runs["json"] == runs["hcl"] == "Hello from Hatchway, build hello\n"


def test_upgrade_mapping_of_variables_functions_and_post_processors(tmp_path):
    from hatchway.template.hcl.upgrade import upgrade

    text = upgrade('''{
      "min_packer_version": "1.7.0",
      "variables": {"b": "x", "a": null, "home": "{{env `HOME`}}", "stamp": "v-{{timestamp}}", "pw": "s"},
      "sensitive-variables": ["pw"],
      "builders": [{"type": "null", "communicator": "none", "tags": {"k": "{{user `b`}}"}},
                   {"type": "null", "name": "my box", "communicator": "none"}],
      "provisioners": [{"type": "shell-local", "inline": ["echo {{build `ID`}} {{uuid}} {{ .Path }}"],
                        "only": ["null"], "pause_before": "1s"}],
      "post-processors": ["p-one", [{"type": "p-two", "keep_input_artifact": true}, {"type": "p-three"}]]
    }''')
    assert 'required_version = ">= 1.7.0"' in text
    assert text.index('variable "a"') < text.index('variable "b"') < text.index('variable "home"')
    assert 'default = "${env("HOME")}"' in text
    assert re.search(r'stamp +=  ?"v-\$\{local.timestamp\}"', text)
    assert re.search(r'timestamp += regex_replace\(timestamp\(\), "\[- TZ:\]", ""\)', text)
    assert 'sensitive = true' in text
    assert 'source "null" "autogenerated_1" {' in text and 'source "null" "my_box" {' in text
    assert 'sources = ["source.null.autogenerated_1", "source.null.my_box"]' in text
    assert '"echo ${build.ID} ${uuidv4()} {{ .Path }}"' in text
    assert 'only = ["null.autogenerated_1"]' in text  # JSON's build names become HCL2's TYPE.NAME
    assert 'post-processor "p-one" {' in text
    assert "post-processors {" in text and "keep_input_artifact = true" in text


def test_console_evaluates_lines_against_variables_and_locals(tmp_path):
    path = write(tmp_path, "c.pkr.hcl", '''
        variable "name" {
          default = "web"
        }
        variable "secret" {
          default   = "hunter22"
          sensitive = true
        }
        locals {
          names = [for n in ["a", "b"] : "${var.name}-${n}"]
        }
        source "null" "x" {
          communicator = "none"
        }
        build {
          sources = ["source.null.x"]
        }
    ''')
    result = hatchway("console", str(path), stdin="var.name\nlocal.names\n1 + 2 * 3\nvar.secret\nnope(1)\n")
    assert result.returncode == 1
    assert result.stdout == 'web\n[\n  "web-a",\n  "web-b",\n]\n7\n<sensitive>\n'
    assert "Call to unknown function" in result.stderr
    assert hatchway("console", stdin="upper(\"x\")\n").stdout == "X\n"


RUN_TEMPLATES = sorted((REPO / "tests" / "templates" / "json").glob("run-*.json"))


@pytest.mark.parametrize("template", RUN_TEMPLATES, ids=lambda p: p.name)
def test_upgraded_corpus_templates_build_the_same_files(template: Path, tmp_path: Path):
    """Each JSON template that builds here builds the same files, and prints the same, once upgraded."""
    upgraded = template.parent / f".{template.name}.same-test.pkr.hcl"
    try:
        assert hatchway("hcl2_upgrade", "-output-file", str(upgraded), str(template)).returncode == 0
        made, said = {}, {}
        for kind, path in (("json", template), ("hcl", upgraded)):
            work = tmp_path / kind
            result = hatchway("build", "-var", f"workdir={work}", str(path))
            assert result.returncode == 0, upgraded.read_text() + result.stdout + result.stderr
            made[kind] = {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}
            # what the machine printed, without the build name that starts each line (a run name in HCL2)
            said[kind] = [re.sub(r"^    \S+: ", "", line).replace(f"/{kind}", "/WORK")
                          for line in result.stdout.splitlines() if line.startswith("    ")]
        assert said["hcl"] == said["json"]
        assert made["hcl"].keys() == made["json"].keys()
        for name, data in made["json"].items():
            # the work directory's own path is in some files: normalize it
            assert made["hcl"][name].replace(b"/hcl", b"/json") == data, name
    finally:
        upgraded.unlink(missing_ok=True)

"""The ``hatchway`` command: argument parsing and exit codes, nothing else.

Flags are Packer's, in both spellings (``-var k=v`` and ``--var k=v``).
Exit codes: 0 success, 1 failure or invalid input, 130 interrupted by
SIGINT, 143 by SIGTERM. Heavy modules are imported only by the commands
that need them, so ``hatchway --help`` and ``hatchway version`` stay fast.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, NoReturn, Optional, Sequence

__all__ = ["main"]

EXIT_OK, EXIT_FAIL = 0, 1


class UsageError(Exception):
    """A command line argparse refused: printed as one ``Error:`` line, exit 1, like any input error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} -h`)")


def _count(text: str) -> int:
    """``-parallel-builds``: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0: no limit)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; give 0 (no limit) or more")
    return value


def _flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    parser.add_argument(f"-{name}", f"--{name}", **kwargs)


def _template_flags(parser: argparse.ArgumentParser) -> None:
    _flag(parser, "var", action="append", default=[], metavar="KEY=VALUE", help="set a template variable")
    _flag(parser, "var-file", action="append", default=[], dest="var_file", metavar="FILE",
          help="variable values: a JSON file, or for HCL2 a .pkrvars.hcl file")
    _flag(parser, "warn-on-undeclared-var", action="store_true", dest="warn_undeclared",
          help="HCL2: warn about values in var files for variables the template does not declare")
    _flag(parser, "only", default="", metavar="NAMES", help="run only these builds (comma-separated, globs)")
    _flag(parser, "except", default="", dest="except_", metavar="NAMES", help="skip these builds")
    _flag(parser, "machine-readable", action="store_true", dest="machine_readable",
          help="print timestamp,target,type,data records")
    parser.add_argument("template", help="the template: a .pkr.hcl or .pkr.json file or a directory (HCL2), "
                                         "or a .json file (legacy JSON)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hatchway",
        description="Run Packer-style templates: connect to machines, upload, download, run commands, clean up.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("build", help="run the builds of a template")
    _template_flags(p)
    _flag(p, "parallel-builds", type=_count, default=0, dest="parallel", metavar="N",
          help="run at most N builds at once (0: no limit)")
    _flag(p, "on-error", default="cleanup", dest="on_error", choices=["cleanup", "abort", "ask"],
          help="after a failure: clean up (default), abort (keep the machine), or ask")
    _flag(p, "timestamp-ui", action="store_true", dest="timestamp_ui", help="prefix each line with the time")
    _flag(p, "color", default="auto", choices=["auto", "true", "false"], help="colour output")
    _flag(p, "debug", action="store_true", help="one build at a time, debug log, pause between steps")
    _flag(p, "force", action="store_true", help="let builders overwrite existing artifacts")

    p = sub.add_parser("validate", help="check a template without running anything")
    _template_flags(p)
    _flag(p, "syntax-only", action="store_true", dest="syntax_only", help="only check the JSON structure")

    p = sub.add_parser("inspect", help="show what a template contains")
    _template_flags(p)

    p = sub.add_parser("plugins", help="list, install or uninstall plugins; start a new one",
                       epilog="hatchway plugins new NAME [--communicator|--builder|--provisioner] [--directory DIR] "
                              "writes a new plugin distribution, hatchway-NAME, that installs and passes its tests")
    p.add_argument("action", nargs="?", default="list", choices=["list", "install", "uninstall", "new"])
    _flag(p, "json", action="store_true", help="list as JSON")
    p.add_argument("names", nargs=argparse.REMAINDER,
                   help="distributions to install or uninstall, and pip options (-U, -e PATH...)")

    p = sub.add_parser("hcl2_upgrade", help="write the HCL2 equivalent of a JSON template")
    _flag(p, "output-file", default="", dest="output_file", metavar="FILE",
          help="where to write it (default: TEMPLATE.pkr.hcl next to the template)")
    _flag(p, "with-annotations", action="store_true", dest="with_annotations",
          help="accepted for Packer compatibility")
    p.add_argument("template", help="the JSON template")

    p = sub.add_parser("console", help="evaluate HCL2 expressions read from stdin against a template")
    _flag(p, "var", action="append", default=[], metavar="KEY=VALUE", help="set a template variable")
    _flag(p, "var-file", action="append", default=[], dest="var_file", metavar="FILE",
          help="a *.pkrvars.hcl or .json file of variable values")
    p.add_argument("template", nargs="?", default="", help="an HCL2 template file or directory (optional)")

    sub.add_parser("version", help="print the version")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (`hatchway plugins --json | head -1`): stop quietly, as `cat` would
        from .ui import _to_devnull

        _to_devnull(sys.stdout)
        return EXIT_FAIL


def _main(argv: Optional[Sequence[str]]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return EXIT_FAIL
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "version":
        from . import __version__

        print(f"Hatchway v{__version__}")
        return EXIT_OK
    from . import redact
    from .errors import HatchwayError
    from .logs import redact_tracebacks, setup_logging

    machine = getattr(args, "machine_readable", False)
    redact_tracebacks()
    redact.on_warning(lambda text: _print_warning(text, machine))
    setup_logging(getattr(args, "debug", False))
    try:
        return int(COMMANDS[args.command](args))
    except HatchwayError as exc:
        _print_error(str(exc), getattr(args, "machine_readable", False))
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130


def _print_warning(text: str, machine: bool) -> None:
    from .ui import UI

    if machine:
        UI(machine_readable=True).machine("", "ui", "error", f"Warning: {text}")
    else:
        sys.stderr.write(f"Warning: {text}\n")
        sys.stderr.flush()


def _print_error(text: str, machine: bool) -> None:
    from .redact import redact
    from .ui import UI

    if machine:
        UI(machine_readable=True).machine("", "error", text)
    else:
        sys.stderr.write(redact(f"Error: {text}") + "\n")


# --- shared steps ---------------------------------------------------------------
def _variables(args: argparse.Namespace) -> Dict[str, str]:
    from . import jsonfile
    from .errors import ConfigError

    values: Dict[str, str] = {}
    for path in args.var_file:
        try:
            data = jsonfile.parse(jsonfile.read_text(os.path.expanduser(path)))
        except FileNotFoundError:
            raise ConfigError(f"-var-file {path!r} does not exist") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"-var-file {path!r} is not valid JSON: line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}") from None
        except jsonfile.BadInput as exc:
            raise ConfigError(f"-var-file {path!r} {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"-var-file {path!r} must hold a JSON object of name: value")
        values.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
    for pair in args.var:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"-var {pair!r} is not KEY=VALUE")
        try:
            pair.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"-var {key!r}: the value is not UTF-8 text "
                              f"(set your terminal or script to UTF-8)") from None
        values[key] = value
    return values


def _names(text: str) -> List[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _plan(args: argparse.Namespace) -> Any:
    from . import template as tpl
    from .plugins import get_plugins
    from .template.hcl import is_hcl_path
    from .template.validate import prepare

    if is_hcl_path(args.template):
        from .template import hcl

        plugins = get_plugins()
        plan, loaded = hcl.plan(args.template, plugins, var_files=args.var_file, cli_vars=args.var,
                                only=_names(args.only), except_=_names(args.except_),
                                warn_undeclared=args.warn_undeclared)
        args.hcl_loaded = loaded
        return plan, plugins
    template = tpl.load(args.template, partial=True)  # structural problems are reported with all others
    plugins = get_plugins()
    plan = prepare(template, plugins, variables=_variables(args), only=_names(args.only),
                   except_=_names(args.except_))
    return plan, plugins


def _warn(ui: Any, plan: Any, plugins: Any) -> None:
    for problem in plan.warnings:
        ui.error(f"Warning: {problem}")
    for problem in plugins.problems():
        ui.error(f"Warning: {problem}")


# --- commands -------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> int:
    from .runner import Runner
    from .ui import UI

    ui = UI(machine_readable=args.machine_readable, timestamps=args.timestamp_ui,
            color=None if args.color == "auto" else args.color == "true")
    plan, plugins = _plan(args)
    _warn(ui, plan, plugins)
    runner = Runner(plan, ui, plugins, parallel=args.parallel, on_error=args.on_error, debug=args.debug,
                    force=args.force)
    interrupted: List[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        interrupted.append(signum)
        if len(interrupted) == 1:
            ui.interrupted("Interrupt received. Cleaning up... (interrupt again to stop at once)")
            runner.interrupt()
            return
        left = runner.left_behind()
        ui.interrupted("Stopped at once. Left behind, to clean up by hand:" if left else "Stopped at once.")
        for line in left:
            ui.error(f"  - {line}")
        ui.close()
        os._exit(128 + interrupted[0])

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        results = runner.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        ui.close()
    if interrupted:
        return 128 + interrupted[0]
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAIL


def cmd_validate(args: argparse.Namespace) -> int:
    from .ui import UI

    ui = UI(machine_readable=args.machine_readable)
    if args.syntax_only:
        from . import template as tpl
        from .template.hcl import is_hcl_path

        if is_hcl_path(args.template):
            from .template.hcl.frontend import check_syntax

            check_syntax(args.template)
        else:
            tpl.load(args.template)
        ui.say("Syntax-only check passed. Everything looks okay.")
        return EXIT_OK
    plan, plugins = _plan(args)
    _warn(ui, plan, plugins)
    ui.say("The configuration is valid.")
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from .redact import MASK
    from .ui import UI

    ui = UI(machine_readable=args.machine_readable)
    plan, _ = _plan(args)
    template = plan.template
    shown = args.template if getattr(args, "hcl_loaded", None) is not None else template.path  # an HCL2 directory
    lines = [f"Hatchway Inspect: {shown}"]
    if template.description:
        lines += ["", f"Description: {template.description}"]
    loaded = getattr(args, "hcl_loaded", None)
    if loaded is not None:
        from .template.hcl.frontend import inspect_lines

        lines += inspect_lines(loaded)
    else:
        required = [v for v in template.variables.values() if v.required]
        optional = [v for v in template.variables.values() if not v.required]
        lines += ["", "Required variables:" if required else "Required variables: <none>"]
        lines += [f"  {v.name}" for v in required]
        lines += ["", "Optional variables and their defaults:" if optional else "Optional variables: <none>"]
        lines += [f"  {v.name} = {MASK if v.sensitive else v.default}" for v in optional]
    lines += ["", "Builds:"]
    for build in plan.builds:
        lines.append(f"  {build.name} (type {build.type}, communicator {build.communicator_name})")
        for step in build.provisioners:
            lines.append(f"    provisioner {step.type} ({step.path})")
        for chain in build.post_processors:
            lines.append("    post-processors " + " -> ".join(s.type for s in chain))
    for line in lines:
        ui.message(line)
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace) -> int:
    from .errors import HatchwayError
    from .ui import UI

    if args.action == "new":
        return _new_plugin(args.names)
    if args.action in ("install", "uninstall"):
        if not args.names:
            raise HatchwayError(f"name the distributions to {args.action}, e.g. hatchway plugins {args.action} hatchway-ssh")
        pip = [sys.executable, "-m", "pip", args.action, *(["-y"] if args.action == "uninstall" else []), *args.names]
        return subprocess.call(pip)
    from .plugins import get_plugins

    plugins = get_plugins()
    table = plugins.plugin_table()
    ui = UI()
    if args.json:
        print(json.dumps({"plugins": table, "problems": plugins.problems()}, indent=2))
        return EXIT_OK
    for row in table:
        ui.message(f"{row['name']} ({row['distribution']} {row['version']})")
        for kind in ("communicator", "builder", "provisioner", "post-processor", "data-source", "template-function"):
            if row[kind]:
                ui.message(f"    {kind}s: {', '.join(sorted(row[kind]))}")
    for problem in plugins.problems():
        ui.error(f"Warning: {problem}")
    return EXIT_OK


def cmd_hcl2_upgrade(args: argparse.Namespace) -> int:
    from .errors import HatchwayError
    from .template.hcl.upgrade import UpgradeError, upgrade

    try:
        with open(args.template, encoding="utf-8") as handle:
            text = upgrade(handle.read())
    except OSError as exc:
        raise HatchwayError(f"cannot read {args.template}: {exc.strerror}") from None
    except UpgradeError as exc:
        raise HatchwayError(f"{args.template}: {exc}") from None
    target = args.output_file or f"{args.template}.pkr.hcl"
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"Successfully created {target}. Exit 0")
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    from . import redact
    from .errors import HatchwayError
    from .template.hcl import console

    if args.template:
        from .plugins import get_plugins
        from .template import hcl

        if not hcl.is_hcl_path(args.template):
            raise HatchwayError(f"{args.template} is a JSON template: console evaluates HCL2 expressions; "
                                f"run 'hatchway hcl2_upgrade {args.template}' first")
        ctx = hcl.load(args.template, get_plugins(), var_files=args.var_file, cli_vars=args.var).context
    else:
        from .template.hcl.frontend import bare_context

        ctx = bare_context()

    class _Redacted:
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def write(self, text: str) -> None:
            self.stream.write(redact.redact(text))

        def flush(self) -> None:
            self.stream.flush()

    return console.run(sys.stdin, ctx, _Redacted(sys.stdout), _Redacted(sys.stderr))


def _new_plugin(words: Sequence[str]) -> int:
    from .scaffold import KINDS, new_plugin

    parser = argparse.ArgumentParser(prog="hatchway plugins new",
                                     description="Write a new plugin distribution that installs and passes its tests.")
    parser.add_argument("name", help="the component's name, e.g. lxd (the distribution is hatchway-NAME)")
    kinds = parser.add_mutually_exclusive_group()
    for kind in KINDS:
        kinds.add_argument(f"--{kind}", dest="kind", action="store_const", const=kind, help=f"a {kind} plugin")
    parser.add_argument("--directory", default=".", help="where to write it (default: the current directory)")
    args = parser.parse_args(list(words))
    kind = args.kind or "communicator"
    root = new_plugin(args.name, kind, Path(args.directory))
    print(f"Wrote {root}: the {kind} {args.name!r}. Next:\n"
          f"    cd {root} && pip install -e '.[test]' && pytest\n"
          "The guide to the hooks and the plugin API: docs/plugins.md in Hatchway's repository.")
    return EXIT_OK


COMMANDS = {
    "hcl2_upgrade": cmd_hcl2_upgrade,
    "console": cmd_console,
    "build": cmd_build,
    "validate": cmd_validate,
    "inspect": cmd_inspect,
    "plugins": cmd_plugins,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

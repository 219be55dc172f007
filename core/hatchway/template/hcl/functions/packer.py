"""Packer's own functions that need the surroundings: templatefile, env, convert, and the
service functions (vault, consul_key, aws_secretsmanager[_raw]) that plugins provide."""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.filesystem import read_file
from hatchway.template.hcl.functions.registry import ArgError, Fail, Param, function

S = V.STRING

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

#: Which plugin provides each service function (named in the error when none is installed).
SERVICE_PLUGINS = {
    "vault": "a Vault template-functions plugin",
    "consul_key": "a Consul template-functions plugin",
    "aws_secretsmanager": "an AWS template-functions plugin (the amazon plugin)",
    "aws_secretsmanager_raw": "an AWS template-functions plugin (the amazon plugin)",
}


def _service(name: str, *args: Any, ctx: Any) -> Any:
    extra: Mapping[str, Callable[..., Any]] = getattr(ctx, "extra", None) or {}
    impl = extra.get(name)
    if impl is None:
        raise Fail(f"{name}() is provided by a plugin and no installed plugin provides it; install "
                   f"{SERVICE_PLUGINS[name]} (a Hatchway plugin whose register_template_functions "
                   f"hook registers {V._go_quote(name)})")
    try:
        result = impl(*args)
    except (Fail, ArgError):
        raise
    except Exception as e:  # noqa: BLE001 - a plugin's failure becomes the function's error
        raise Fail(str(e) or type(e).__name__) from None
    return result


@function("vault", [("path", S), ("key", S)], ret=S)
def vault(ctx: Any, path: str, key: str) -> Any:
    return _service("vault", path, key, ctx=ctx)


@function("consul_key", [("key", S)], ret=S)
def consul_key(ctx: Any, key: str) -> Any:
    return _service("consul_key", key, ctx=ctx)


@function("aws_secretsmanager", [("name", S), ("key", S)], ret=S)
def aws_secretsmanager(ctx: Any, name: str, key: str) -> Any:
    return _service("aws_secretsmanager", name, key, ctx=ctx)


@function("aws_secretsmanager_raw", [("name", S)], ret=S)
def aws_secretsmanager_raw(ctx: Any, name: str) -> Any:
    return _service("aws_secretsmanager_raw", name, ctx=ctx)


@function("env", [("key", S)], ret=S)
def env(ctx: Any, key: str) -> str:
    return os.environ.get(key, "")


@function("templatefile", [("path", S), ("vars", V.DYNAMIC)])
def templatefile(ctx: Any, path: str, variables: Any) -> Any:
    """Render the file at ``path`` (from path.root) with ``ctx.render_template``."""
    text = read_file(ctx.base_dir, path)
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail(f"contents of {path} are not valid UTF-8; use the filebase64 function to obtain "
                   "the Base64 encoded contents or the other file functions (e.g. filemd5, "
                   "filesha256) to obtain file hashing results instead") from None
    if not isinstance(variables, dict):
        raise ArgError(1, "invalid vars value: must be a map")
    for name in variables:
        if not _IDENT.match(name):
            raise ArgError(1, f"invalid template variable name {V._go_quote(name)}: must start with a "
                              "letter, followed by zero or more letters, digits, and underscores")
    render = getattr(ctx, "render_template", None)
    if render is None:
        raise Fail("templatefile is not available here")
    return render(source, variables, path)


def _convert_ret(args: list) -> V.Type:
    return args[1] if isinstance(args[1], V.Type) else V.DYNAMIC


@function("convert", [Param("value", V.DYNAMIC, allow_null=True), ("type", V.DYNAMIC)], ret=_convert_ret)
def convert_(ctx: Any, value: Any, want: Any) -> Any:
    """``convert(value, type)``: the evaluator passes the type expression as a values.Type."""
    if not isinstance(want, V.Type):
        raise ArgError(1, "a type expression is required")
    got = V.type_of(value)
    if not V.can_convert(got, want):
        raise ArgError(0, V.mismatch_message(got, want))
    try:
        return V.convert(value, want)
    except V.ConversionError as e:
        raise ArgError(0, f"cannot convert {V.friendly_name(got)} to "
                          f"{V.friendly_name(want, True)}: {e}") from None

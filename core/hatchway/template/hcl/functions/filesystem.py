"""Filesystem functions: go-cty-funcs' filesystem functions (Go path rules, doublestar v1 globs)
and Packer's filebase64. Relative paths of file/fileexists/fileset resolve from ``ctx.base_dir``
(path.root); filebase64 reads relative to the working directory, as Packer's does."""

from __future__ import annotations

import base64
import os
import re
import stat
from typing import Any, List

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import Fail, function

S, B = V.STRING, V.BOOL


def go_clean(path: str) -> str:
    """Go's filepath.Clean on a slash-separated path."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: List[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def go_base(path: str) -> str:
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def go_dir(path: str) -> str:
    i = path.rfind("/")
    return go_clean(path[:i + 1])


def _expand_home(path: str) -> str:
    if not path or path[0] != "~":
        return path
    if len(path) > 1 and path[1] not in "/\\":
        raise Fail("failed to expand ~: cannot expand user-specific home dir")
    home = os.environ.get("HOME") or os.path.expanduser("~")
    return home + path[1:]


def _resolve(base_dir: str, path: str) -> str:
    path = _expand_home(path)
    if not os.path.isabs(path):
        path = os.path.join(base_dir or ".", path)
    return go_clean(path)


@function("abspath", [("path", S)], ret=S)
def abspath(ctx: Any, path: str) -> str:
    if os.path.isabs(path):
        return go_clean(path)
    return go_clean(os.path.join(os.getcwd(), path))


@function("basename", [("path", S)], ret=S)
def basename(ctx: Any, path: str) -> str:
    return go_base(path)


@function("dirname", [("path", S)], ret=S)
def dirname(ctx: Any, path: str) -> str:
    return go_dir(path)


@function("pathexpand", [("path", S)], ret=S)
def pathexpand(ctx: Any, path: str) -> str:
    return _expand_home(path)


def read_file(base_dir: str, path: str) -> bytes:
    """go-cty-funcs readFileBytes: the bytes of a file, or Fail worded as it words it."""
    full = _resolve(base_dir, path)
    try:
        with open(full, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise Fail(f"no file exists at {full}") from None
    except OSError:
        raise Fail(f"failed to read {full}") from None


@function("file", [("path", S)], ret=S)
def file(ctx: Any, path: str) -> str:
    data = read_file(ctx.base_dir, path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail(f"contents of {path} are not valid UTF-8; use the filebase64 function to obtain "
                   "the Base64 encoded contents or the other file functions (e.g. filemd5, "
                   "filesha256) to obtain file hashing results instead") from None


@function("filebase64", [("path", S)], ret=S)
def filebase64(ctx: Any, path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        reason = "no such file or directory" if isinstance(e, FileNotFoundError) else (e.strerror or str(e)).lower()
        raise Fail(f"failed to read file {V._go_quote(path)}: open {path}: {reason}") from None
    return base64.b64encode(data).decode("ascii")


def _go_mode(mode: int) -> str:
    """Go's fs.FileMode.String() for the common kinds."""
    kind = "d" if stat.S_ISDIR(mode) else "L" if stat.S_ISLNK(mode) else "p" if stat.S_ISFIFO(mode) \
        else "S" if stat.S_ISSOCK(mode) else "D" if stat.S_ISBLK(mode) else "Dc" if stat.S_ISCHR(mode) else "-"
    perms = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return kind + perms


@function("fileexists", [("path", S)], ret=B)
def fileexists(ctx: Any, path: str) -> bool:
    full = _resolve(ctx.base_dir, path)
    try:
        st = os.stat(full)
    except FileNotFoundError:
        return False
    except OSError:
        raise Fail(f"failed to stat {full}") from None
    if stat.S_ISREG(st.st_mode):
        return True
    raise Fail(f"{full} is not a regular file, but {V._go_quote(_go_mode(st.st_mode))}")


# -- fileset: doublestar v1 glob semantics ----------------------------------------------------

_MAGIC = re.compile(r"[*?\[{\\]")


def glob_regex(pattern: str) -> str:
    """A regex for a doublestar v1 pattern on slash-separated paths."""
    out: List[str] = []
    comps = pattern.split("/")
    for ci, comp in enumerate(comps):
        last = ci == len(comps) - 1
        if comp == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        out.append(_component_regex(comp))
        if not last:
            out.append("/")
    return "".join(out)


def _component_regex(comp: str) -> str:
    out: List[str] = []
    i = 0
    n = len(comp)
    while i < n:
        ch = comp[i]
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(comp[i + 1]))
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = comp.find("]", i + 2)
            if end < 0:
                raise Fail("syntax error in pattern")
            body = comp[i + 1:end]
            neg = body[:1] in ("^", "!")
            if neg:
                body = body[1:]
            body = body.replace("\\", "\\\\")
            out.append("[" + ("^" if neg else "") + body + "]")
            i = end + 1
        elif ch == "{":
            depth = 0
            j = i
            while j < n:
                if comp[j] == "{":
                    depth += 1
                elif comp[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise Fail("syntax error in pattern")
            alts = _split_alternatives(comp[i + 1:j])
            out.append("(?:" + "|".join(_component_regex(a) for a in alts) + ")")
            i = j + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _split_alternatives(body: str) -> List[str]:
    alts, depth, cur = [], 0, []
    for ch in body:
        if ch == "," and depth == 0:
            alts.append("".join(cur))
            cur = []
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        cur.append(ch)
    alts.append("".join(cur))
    return alts


@function("fileset", [("path", S), ("pattern", S)], ret=V.Set(S))
def fileset(ctx: Any, path: str, pattern: str) -> Any:
    if not os.path.isabs(path):
        path = go_clean(os.path.join(ctx.base_dir or ".", path))
    full = go_clean(path + "/" + pattern)
    parts = full.split("/")
    static: List[str] = []
    for part in parts[:-1]:
        if _MAGIC.search(part):
            break
        static.append(part)
    root = "/".join(static) or ("/" if full.startswith("/") else ".")
    if full.startswith("/") and not static:
        root = "/"
    rx = re.compile(glob_regex(full) + r"\Z", re.DOTALL)
    matches: List[str] = []
    if not _MAGIC.search(full):
        candidates = [full]
    else:
        candidates = []
        rest = parts[len(static):]
        # without "**" a match is exactly len(rest) components below root: walk no deeper
        max_depth = None if any("**" in p for p in rest) else len(rest)
        base_depth = root.rstrip("/").count("/")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            depth = go_clean(dirpath).rstrip("/").count("/") - base_depth if root != "." else \
                (0 if dirpath == "." else go_clean(dirpath).count("/") + 1)
            names = dirnames + filenames
            if max_depth is not None and depth + 1 >= max_depth:
                dirnames[:] = []
            for name in sorted(names):
                candidates.append(go_clean(os.path.join(dirpath, name)))
    for cand in candidates:
        if not rx.match(cand):
            continue
        try:
            st = os.stat(cand)
        except OSError as e:
            if not os.path.lexists(cand):
                continue
            raise Fail(f"failed to stat ({cand}): {e.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            continue
        matches.append(os.path.relpath(cand, path).replace(os.sep, "/"))
    return V.SetValue(matches)

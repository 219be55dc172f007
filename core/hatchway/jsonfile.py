"""Reading JSON input (templates, ``-var-file``) safely, whatever the file is.

Only regular files are read (a directory, a FIFO or ``/dev/zero`` is
refused at once, never read), at most :data:`MAX_BYTES` of them, as UTF-8
text. Parsed values are bounded too: nesting at most :data:`MAX_DEPTH`
deep, integers of at most :data:`MAX_DIGITS` digits, and strings that are
text (no lone UTF-16 surrogate such as ``"\\ud800"``, which no output could
print). Each problem is a :class:`BadInput` with a message for people;
syntax errors stay :class:`json.JSONDecodeError` (line and column).
"""
from __future__ import annotations

import json
import os
import stat
from typing import Any, List, Tuple

__all__ = ["BadInput", "read_text", "parse", "MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS"]

#: The largest template or variable file read (far beyond any real one).
MAX_BYTES = 16 * 1024 * 1024
#: The deepest nesting of arrays and objects accepted.
MAX_DEPTH = 64
#: The most digits an integer may have (a port, a count or a size needs far fewer).
MAX_DIGITS = 64


class BadInput(ValueError):
    """JSON input that cannot be used; the message says why and what to do."""


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def read_text(path: "str | os.PathLike[str]") -> str:
    """The UTF-8 text of the regular file at ``path`` (at most :data:`MAX_BYTES`).

    Raises :class:`FileNotFoundError` when there is nothing at ``path`` and
    :class:`BadInput` for anything else that is wrong with it.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open file
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise BadInput("is a directory; give a JSON file") from None
    except OSError as exc:
        raise BadInput(f"cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BadInput("is a directory; give a JSON file")
        if not stat.S_ISREG(info.st_mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else
                    "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise BadInput(f"is {kind}, not a regular file; give a JSON file")
        if info.st_size > MAX_BYTES:
            raise BadInput(f"is {_size(info.st_size)}; a JSON file here is at most {_size(MAX_BYTES)}")
        os.set_blocking(fd, True)
        chunks: List[bytes] = []
        total = 0
        while total <= MAX_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_BYTES:
            raise BadInput(f"is larger than {_size(MAX_BYTES)}, the most a JSON file here may be")
    except OSError as exc:
        raise BadInput(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        what = "a binary file, not JSON text" if b"\0" in data[:8192] else "not UTF-8 text"
        raise BadInput(f"is {what} (byte {exc.start + 1}, line {line}); give a UTF-8 JSON file") from None


def _int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_DIGITS:
        raise BadInput(f"holds an integer of {count} digits; numbers here have at most {MAX_DIGITS}")
    return int(digits)


def parse(text: str) -> Any:
    """``json.loads(text)``, bounded: see the module's docstring."""
    try:
        value = json.loads(text, parse_int=_int)
    except RecursionError:
        raise BadInput(f"is nested too deeply: arrays and objects may be nested at most {MAX_DEPTH} deep") from None
    _check(value)
    return value


def _where(path: Tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = str(part).encode("utf-8", "backslashreplace").decode("utf-8")
            out += f".{name}" if out else name
    return out or "the top level"


def _check(value: Any) -> None:
    """Depth and strings, iteratively (no recursion whatever the input)."""
    stack: List[Tuple[Any, Tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise BadInput(f"is nested too deeply at {_where(path[:8])}...: arrays and objects may be nested "
                           f"at most {MAX_DEPTH} deep")
        if isinstance(item, str):
            _text(item, path)
        elif isinstance(item, dict):
            for key, sub in item.items():
                _text(key, path + (key,), key=True)
                stack.append((sub, path + (key,)))
        elif isinstance(item, list):
            stack.extend((sub, path + (i,)) for i, sub in enumerate(item))


def _text(value: str, path: Tuple[Any, ...], key: bool = False) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = f"\\u{ord(value[exc.start]):04x}"
        where = f"the key {_where(path)}" if key else _where(path)
        raise BadInput(f"holds a lone UTF-16 surrogate ({bad}) in {where}: that is not a character; "
                       f"write the character itself or a valid surrogate pair") from None

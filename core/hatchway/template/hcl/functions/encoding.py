"""Encoding functions: base64, URL, JSON, CSV, YAML (go-cty-yaml) and text encodings."""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import io
import json
import struct
import urllib.parse
import zlib
from decimal import Decimal
from typing import Any, Dict, List

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, Param, function
from hatchway.template.hcl.functions.text import go_json

S = V.STRING


def _b64decode(s: str) -> bytes:
    """Go's base64.StdEncoding.DecodeString: padding required, CR/LF ignored."""
    cleaned = s.replace("\r", "").replace("\n", "")
    if len(cleaned) % 4:
        raise ValueError("illegal base64 data")
    return base64.b64decode(cleaned, validate=True)


@function("base64encode", [("str", S)], ret=S)
def base64encode(ctx: Any, s: str) -> str:
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


@function("base64decode", [("str", S)], ret=S)
def base64decode(ctx: Any, s: str) -> str:
    try:
        raw = _b64decode(s)
    except (ValueError, binascii.Error):
        raise Fail(f"failed to decode base64 data '{s}'") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("the result of decoding the the provided string is not valid UTF-8") from None


@function("base64gzip", [("str", S)], ret=S)
def base64gzip(ctx: Any, s: str) -> str:
    """gzip as Packer's Go code writes it (header with no name, mtime 0, OS 255; a sync flush
    before close), then base64."""
    data = s.encode("utf-8")
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH) + b"\x01\x00\x00\xff\xff"
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return base64.b64encode(header + body + trailer).decode("ascii")


@function("urlencode", [("str", S)], ret=S)
def urlencode(ctx: Any, s: str) -> str:
    return urllib.parse.quote_plus(s, safe="-_.~")


# -- JSON --------------------------------------------------------------------------------------

@function("jsonencode", [Param("val", V.DYNAMIC, allow_null=True)], ret=S)
def jsonencode(ctx: Any, v: Any) -> str:
    return go_json(v)


def _json_number(text: str) -> Any:
    return V._normalize_number(Decimal(text))


@function("jsondecode", [("str", S)])
def jsondecode(ctx: Any, s: str) -> Any:
    try:
        dec = json.JSONDecoder(parse_float=_json_number, parse_int=_json_number,
                               parse_constant=_reject_constant)
        value, end = dec.raw_decode(s.lstrip(" \t\r\n"))
        rest = s.lstrip(" \t\r\n")[end:].strip(" \t\r\n")
    except json.JSONDecodeError as e:
        if e.pos >= len(e.doc):
            raise Fail("unexpected end of JSON input") from None
        raise Fail(f"invalid character {_go_char(e.doc[e.pos])} looking for beginning of value") from None
    if rest:
        raise Fail("extraneous data after JSON object")
    return value


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError("invalid constant", name, 0)


def _go_char(ch: str) -> str:
    return "'" + ch + "'" if ch.isprintable() else repr(ch)


# -- CSV ---------------------------------------------------------------------------------------

@function("csvdecode", [("str", S)])
def csvdecode(ctx: Any, s: str) -> Any:
    reader = csv.reader(io.StringIO(s), strict=True)
    try:
        rows = [r for r in reader if r != []]
    except csv.Error as e:
        raise Fail(f"CSV parse error on line {reader.line_num}: {e}") from None
    if not rows:
        raise Fail("missing header line")
    header = rows[0]
    for i, name in enumerate(header):
        if name in header[:i]:
            raise Fail(f"duplicate column name {V._go_quote(name)}")
    out: List[Dict[str, Any]] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise Fail(f"CSV parse error on line {line}: wrong number of fields")
        out.append(dict(zip(header, row)))
    return out


# -- YAML (go-cty-yaml) ------------------------------------------------------------------------

def _yaml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02X" % o)
        elif o in (0x85, 0xA0, 0x2028, 0x2029, 0xFEFF):
            out.append({0x85: "\\N", 0xA0: "\\_", 0x2028: "\\L", 0x2029: "\\P", 0xFEFF: "\\uFEFF"}[o])
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _yaml_scalar(v: Any, indent: int) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if V.is_number(v):
        return V.format_number(v)
    if isinstance(v, str):
        if "\n" in v and all(c.isprintable() or c == "\n" for c in v) and not v.startswith(" "):
            stripped = v.rstrip("\n")
            trailing = len(v) - len(stripped)
            chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
            pad = " " * (indent + 2)
            lines = v.split("\n")
            if trailing:
                lines = lines[:-1]
            body = "\n".join((pad + ln) if ln else "" for ln in lines)
            return f"|{chomp}\n{body}"
        return _yaml_string(v)
    raise TypeError(v)


def _yaml_emit(v: Any, indent: int, out: List[str]) -> None:
    """Append the block-style lines of collection ``v`` at ``indent``."""
    pad = " " * indent
    if isinstance(v, dict):
        for k in sorted(v, key=lambda k: k.encode("utf-8")):
            x = v[k]
            key = _yaml_string(k)
            if isinstance(x, dict) and x:
                out.append(f"{pad}{key}:")
                _yaml_emit(x, indent + 2, out)
            elif isinstance(x, (list, tuple)) and x:
                out.append(f"{pad}{key}:")
                _yaml_emit(x, indent, out)
            else:
                out.append(f"{pad}{key}: {_yaml_inline(x, indent)}")
        return
    for x in v:
        if isinstance(x, dict) and x:
            sub: List[str] = []
            _yaml_emit(x, indent + 2, sub)
            sub[0] = pad + "- " + sub[0][indent + 2:]
            out.extend(sub)
        elif isinstance(x, (list, tuple)) and x:
            sub = []
            _yaml_emit(x, indent + 2, sub)
            sub[0] = pad + "- " + sub[0][indent + 2:]
            out.extend(sub)
        else:
            out.append(f"{pad}- {_yaml_inline(x, indent)}")


def _yaml_inline(v: Any, indent: int) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, (list, tuple)):
        return "[]"
    return _yaml_scalar(v, indent)


@function("yamlencode", [Param("value", V.DYNAMIC, allow_null=True)], ret=S)
def yamlencode(ctx: Any, v: Any) -> str:
    if isinstance(v, (dict, list, tuple)) and v:
        lines: List[str] = []
        _yaml_emit(v, 0, lines)
        return "\n".join(lines) + "\n"
    return _yaml_inline(v, -2) + "\n"


_YAML_TAGS = {"str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "merge"}


def _yaml_check_events(src: str) -> None:
    """go-cty-yaml's refusals: self-referencing anchors and tags it does not support."""
    import yaml

    open_anchors: List[Any] = []
    for event in yaml.parse(src, Loader=yaml.SafeLoader):
        tag = getattr(event, "tag", None)
        if tag and not (isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent))
                        and getattr(event, "implicit", False) is True and tag in ("!",)):
            short = tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else None
            if short is None and tag != "!":
                raise Fail(f"unsupported tag {V._go_quote(tag)}")
            if short is not None and short not in _YAML_TAGS:
                raise Fail(f"unsupported tag {V._go_quote('!!' + short)}")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_anchors.append(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent) and event.anchor in open_anchors:
            raise Fail(f"cannot refer to anchor {V._go_quote(event.anchor)} from inside its own definition")


def _yaml_value(v: Any) -> Any:
    import datetime as _dt

    if isinstance(v, dict):
        return {_yaml_key(k): _yaml_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_yaml_value(x) for x in v]
    if isinstance(v, float):
        return V.normalize_number(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.timezone.utc)
        text = v.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(v, _dt.date):
        return v.isoformat() + "T00:00:00Z"
    return v


def _yaml_key(k: Any) -> str:
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if V.is_number(k):
        return V.format_number(k)
    return str(k)


@function("yamldecode", [("src", S)])
def yamldecode(ctx: Any, s: str) -> Any:
    import yaml

    try:
        _yaml_check_events(s)
        docs = list(yaml.load_all(s, Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        where = f"on line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise Fail(f"{where}{problem}") from None
    if not docs:
        return None
    if len(docs) > 1:
        raise Fail("unexpected extra content after value")
    return _yaml_value(docs[0])


# -- text encodings ----------------------------------------------------------------------------

_IANA_ALIASES = {
    "utf-16": "utf-16-bom-be", "csunicode": "utf-16-bom-be", "iso-10646-ucs-2": "utf-16-bom-be",
    "csutf16": "utf-16-bom-be", "utf-16be": "utf-16-be", "utf-16le": "utf-16-le",
    "csutf16be": "utf-16-be", "csutf16le": "utf-16-le",
    "us-ascii": "ascii", "ascii": "ascii", "csascii": "ascii",
    "shift_jis": "shift_jis", "ms_kanji": "shift_jis", "csshiftjis": "shift_jis",
    "windows-31j": "cp932", "euc-jp": "euc_jp", "iso-2022-jp": "iso2022_jp",
    "gbk": "gbk", "gb18030": "gb18030", "gb2312": "gbk", "big5": "big5", "euc-kr": "euc_kr",
    "koi8-r": "koi8_r", "koi8-u": "koi8_u", "macintosh": "mac_roman",
}

_IANA_NAMES = {"utf-16-bom-be": "UTF-16", "utf-16-be": "UTF-16BE", "utf-16-le": "UTF-16LE",
               "ascii": "US-ASCII", "utf-8": "UTF-8", "latin-1": "ISO-8859-1"}


def _codec(name: str, index: int) -> tuple:
    key = name.strip().lower()
    py = _IANA_ALIASES.get(key)
    if py is None:
        if key.startswith("windows-"):
            py = "cp" + key[len("windows-"):]
        elif key.startswith("iso-8859-") or key.startswith("iso_8859-") or key.startswith("utf-") \
                or key.startswith("ibm") or key.startswith("cp"):
            py = key
        elif key in ("latin1", "l1", "iso-ir-100", "csisolatin1"):
            py = "latin-1"
        else:
            py = None
    if py is None or py == "utf-16-bom-be":
        if py is None:
            raise ArgError(index, f"{V._go_quote(name)} is not a supported IANA encoding name or alias")
        return py, "UTF-16"
    try:
        info = codecs.lookup(py)
    except LookupError:
        raise ArgError(index, f"{V._go_quote(name)} is not a supported IANA encoding name or alias") from None
    canonical = _IANA_NAMES.get(info.name, name.upper() if not key.startswith("windows-") else "windows-" + key[8:])
    return info.name, canonical


@function("textencodebase64", [("string", S), ("encoding", S)], ret=S)
def textencodebase64(ctx: Any, s: str, encoding: str) -> str:
    codec, canonical = _codec(encoding, 1)
    try:
        if codec == "utf-16-bom-be":
            data = b"\xfe\xff" + s.encode("utf-16-be")
        else:
            data = s.encode(codec)
    except UnicodeEncodeError:
        raise ArgError(0, f"the given string contains characters that cannot be represented in {canonical}") from None
    return base64.b64encode(data).decode("ascii")


@function("textdecodebase64", [("source", S), ("encoding", S)], ret=S)
def textdecodebase64(ctx: Any, s: str, encoding: str) -> str:
    codec, canonical = _codec(encoding, 1)
    try:
        raw = _b64decode(s)
    except (ValueError, binascii.Error):
        offset = _corrupt_offset(s)
        raise ArgError(0, f"the given value is has an invalid base64 symbol at offset {offset}") from None
    try:
        if codec == "utf-16-bom-be":
            if raw[:2] == b"\xff\xfe":
                text = raw[2:].decode("utf-16-le")
            elif raw[:2] == b"\xfe\xff":
                text = raw[2:].decode("utf-16-be")
            else:
                text = raw.decode("utf-16-be")
        else:
            text = raw.decode(codec)
    except UnicodeDecodeError:
        raise ArgError(0, f"the given string contains symbols that are not defined for {canonical}") from None
    if "\ufffd" in text:
        raise ArgError(0, f"the given string contains symbols that are not defined for {canonical}")
    return text


def _corrupt_offset(s: str) -> int:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(s):
        if ch not in alphabet and ch not in "=\r\n":
            return i
    stripped = s.rstrip("=")
    return len(stripped) - (len(stripped) % 4) if len(s) % 4 else len(stripped)

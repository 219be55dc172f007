"""Encoding functions: base64, URL, JSON, CSV, YAML (go-cty-yaml) and text encodings."""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import json
import re
import struct
import urllib.parse
import zlib
from decimal import Decimal
from typing import Any, Dict, Iterator, List

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
    """cty's json.ImpliedType/Unmarshal over Go's encoding/json tokens; messages as Go's."""
    text = s.strip(" \t\r\n")
    if not text:
        raise Fail("EOF")
    try:
        dec = json.JSONDecoder(parse_float=_json_number, parse_int=_json_number,
                               parse_constant=_reject_constant)
        value, end = dec.raw_decode(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(e.doc):
            raise Fail("unexpected EOF") from None
        raise Fail(f"invalid character {_go_char(e.doc[e.pos])} looking for beginning of value") from None
    if text[end:].strip(" \t\r\n"):
        raise Fail("extraneous data after JSON object")
    return value


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError("invalid constant", name, 0)


def _go_char(ch: str) -> str:
    return "'" + ch + "'" if ch.isprintable() else repr(ch)


# -- CSV ---------------------------------------------------------------------------------------

class _CsvError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def go_csv_records(text: str) -> List[List[str]]:
    """Go's encoding/csv Reader (comma ",", no lazy quotes): records, or _CsvError."""
    text = text.replace("\r\n", "\n")
    records: List[List[str]] = []
    n = len(text)
    i = 0
    line = 1
    width = None
    while i < n:
        if text[i] == "\n":          # empty lines are skipped
            i += 1
            line += 1
            continue
        start_line = line
        fields: List[str] = []
        while True:
            if i < n and text[i] == '"':
                i += 1
                buf = []
                while True:
                    if i >= n:   # Go counts the lines it read: a final newline ends the last one
                        raise _CsvError(line - 1 if text.endswith("\n") else line,
                                        'extraneous or missing " in quoted-field')
                    ch = text[i]
                    if ch == '"':
                        if i + 1 < n and text[i + 1] == '"':
                            buf.append('"')
                            i += 2
                            continue
                        i += 1
                        if i < n and text[i] not in ",\n":
                            raise _CsvError(line, 'extraneous or missing " in quoted-field')
                        break
                    if ch == "\n":
                        line += 1
                    buf.append(ch)
                    i += 1
                fields.append("".join(buf))
            else:
                j = i
                while j < n and text[j] not in ",\n":
                    if text[j] == '"':
                        raise _CsvError(line, 'bare " in non-quoted-field')
                    j += 1
                fields.append(text[i:j])
                i = j
            if i < n and text[i] == ",":
                i += 1
                continue
            if i < n and text[i] == "\n":
                i += 1
                line += 1
            break
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise _CsvError(start_line, "wrong number of fields")
        records.append(fields)
    return records


@function("csvdecode", [("str", S)])
def csvdecode(ctx: Any, s: str) -> Any:
    """go-cty's csvdecode: the first record names the columns; every value is a string."""
    try:
        rows = go_csv_records(s)
    except _CsvError as e:
        raise Fail(f"CSV parse error on line {e.line}: {e}") from None
    if not rows:
        raise Fail("missing header line")
    header = rows[0]
    for i, name in enumerate(header):
        if name in header[:i]:
            raise Fail(f"duplicate column name {V._go_quote(name)}")
    return [dict(zip(header, row)) for row in rows[1:]]


# -- YAML (go-cty-yaml) ------------------------------------------------------------------------

def _yaml_events(v: Any) -> Iterator[Any]:
    """The emitter events go-cty-yaml's marshal produces for a value."""
    import yaml

    if v is None or isinstance(v, bool) or V.is_number(v):
        text = "null" if v is None else ("true" if v is True else "false" if v is False else V.format_number(v))
        yield yaml.ScalarEvent(None, None, (True, True), text, style=None)
    elif isinstance(v, str):
        yield yaml.ScalarEvent(None, None, (True, True), v, style="|" if "\n" in v else '"')
    elif isinstance(v, dict):
        yield yaml.MappingStartEvent(None, None, True, flow_style=False)
        for k in sorted(v, key=lambda k: k.encode("utf-8")):
            yield from _yaml_events(k)
            yield from _yaml_events(v[k])
        yield yaml.MappingEndEvent()
    else:
        yield yaml.SequenceStartEvent(None, None, True, flow_style=False)
        for x in v:
            yield from _yaml_events(x)
        yield yaml.SequenceEndEvent()


@function("yamlencode", [Param("value", V.DYNAMIC, allow_null=True)], ret=S)
def yamlencode(ctx: Any, v: Any) -> Any:
    """go-cty-yaml's encoding: block style, strings double-quoted (literal style when they hold a
    newline), map keys sorted; emitted by PyYAML's emitter, a port of the same libyaml emitter."""
    import yaml

    if not V.is_known(v):
        return V.Unknown(S)
    events = [yaml.StreamStartEvent(encoding=None), yaml.DocumentStartEvent(explicit=False),
              *_yaml_events(v), yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return yaml.emit(events, allow_unicode=True)


_TAG = "tag:yaml.org,2002:"
_RESOLVABLE = {"", _TAG + "str", _TAG + "bool", _TAG + "int", _TAG + "float", _TAG + "null",
               _TAG + "timestamp", _TAG + "binary"}
_RESOLVE_MAP: Dict[str, Any] = {}
for _words, _value in ((("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
                       (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
                       (("", "~", "null", "Null", "NULL"), None),
                       ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
                       (("-.inf", "-.Inf", "-.INF"), float("-inf"))):
    for _w in _words:
        _RESOLVE_MAP[_w] = _value
_INT_RE = re.compile(r"\A(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT_RE = re.compile(r"\A[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_YAML_TS = re.compile(r"\A(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
                      r"(Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?))?\Z")


class _YamlError(Exception):
    """A go-cty-yaml decoding error at an event (its position prefixes the message)."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.mark = mark

    def text(self) -> str:
        # go-cty-yaml wraps with the event's 0-based line, and not at all on line 0
        if self.mark is not None and self.mark.line != 0:
            return f"on line {self.mark.line}, column {self.mark.column + 1}: {self.args[0]}"
        return str(self.args[0])


def _yaml_timestamp(src: str) -> Any:
    """go-cty-yaml's parseTimestamp, formatted as RFC 3339; None when not a timestamp."""
    import datetime as _dt

    m = _YAML_TS.match(src)
    if not m:
        return None
    try:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if m.group(4) is not None:
            hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6))
            zone = m.group(8)
            if zone == "Z":
                tz = _dt.timezone.utc
            else:
                off = _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
                tz = _dt.timezone(-off if zone[0] == "-" else off)
        elif m.group(9) is not None:
            hh, mm, ss, tz = int(m.group(9)), int(m.group(10)), int(m.group(11)), _dt.timezone.utc
        else:
            hh = mm = ss = 0
            tz = _dt.timezone.utc
        t = _dt.datetime(year, month, day, hh, mm, ss, tzinfo=tz)
    except ValueError:
        return None
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    off = t.utcoffset() or _dt.timedelta(0)
    if not off:
        return text + "Z"
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return f"{text}{sign}{secs // 3600:02d}:{secs // 60 % 60:02d}"


def _yaml_number(src: str) -> Any:
    plain = src.replace("_", "")
    try:
        return V.number_from_string(plain)
    except V.ConversionError:
        pass
    text = plain.lower()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    try:
        if body.startswith("0x"):
            return sign * int(body[2:], 16)
        if body.startswith("0o"):
            return sign * int(body[2:], 8)
        if body.startswith("0b"):
            return sign * int(body[2:], 2)
        if body.startswith("0") and body.isdigit():
            return sign * int(body, 8)
    except ValueError:
        pass
    return None


def _yaml_scalar(tag: str, src: str, style: Any) -> Any:
    """go-cty-yaml's resolveScalar."""
    if tag not in _RESOLVABLE:
        raise _YamlError(f"unsupported tag {V._go_quote(tag)}")
    hint = src[0] if src else "N"
    hinted = hint in "+-0123456789yYnNtTfFoO~.N" if src else True
    if hinted and tag not in (_TAG + "str", _TAG + "binary"):
        if style in ("'", '"'):
            return src
        if src in _RESOLVE_MAP:
            return _RESOLVE_MAP[src]
        if tag == "" and src in (".nan", ".NaN", ".NAN"):
            raise _YamlError("floating point NaN is not supported")
        if hint == ".":
            try:
                return V.number_from_string(src)
            except V.ConversionError:
                pass
        elif hint in "+-0123456789":
            if tag in ("", _TAG + "timestamp"):
                ts = _yaml_timestamp(src)
                if ts is not None:
                    return ts
            if _INT_RE.match(src):
                tag = _TAG + "int"
            elif _FLOAT_RE.match(src):
                tag = _TAG + "float"
    if tag in (_TAG + "str", _TAG + "binary"):
        if tag == _TAG + "binary":
            try:
                _b64decode(src)
            except (ValueError, binascii.Error):
                raise _YamlError(f"cannot parse {V._go_quote(src)} as {tag}: not valid base64") from None
        return src
    if tag == _TAG + "bool":
        value = _RESOLVE_MAP.get(src, None)
        if not isinstance(value, bool):
            raise _YamlError(f"cannot parse {V._go_quote(src)} as {tag}")
        return value
    if tag in (_TAG + "float", _TAG + "int"):
        value = _yaml_number(src)
        if value is None:
            raise _YamlError(f"cannot parse {V._go_quote(src)} as {tag}")
        return value
    if tag == _TAG + "timestamp":
        ts = _yaml_timestamp(src)
        if ts is None:
            raise _YamlError(f"cannot parse {V._go_quote(src)} as {tag}")
        return ts
    if tag == _TAG + "null":
        return None
    return src


def _yaml_syntax_error(e: Any) -> str:
    """go-cty-yaml's parserError positioning (libyaml's marks; scanner errors one line down)."""
    import yaml

    problem = getattr(e, "problem", None) or "invalid YAML syntax"
    mark = getattr(e, "problem_mark", None)
    context = getattr(e, "context_mark", None)
    if mark is not None and mark.line != 0:
        if isinstance(e, yaml.scanner.ScannerError):
            return f"on line {mark.line + 1}, column 1: {problem}"
        return f"on line {mark.line}, column {mark.column + 1}: {problem}"
    if context is not None and context.line != 0:
        return f"on line {context.line}, column {context.column + 1}: {problem}"
    return problem


class _YamlDecoder:
    """go-cty-yaml's unmarshal over PyYAML's parser events (the same libyaml event model)."""

    def __init__(self, events: List[Any]) -> None:
        self.events = events
        self.pos = 0
        self.pending: Dict[str, int] = {}
        self.anchors: Dict[str, Any] = {}

    def next(self) -> Any:
        ev = self.events[self.pos]
        self.pos += 1
        return ev

    def value(self, ev: Any = None) -> Any:
        import copy

        import yaml

        ev = ev if ev is not None else self.next()
        if isinstance(ev, yaml.ScalarEvent):
            if ev.anchor:
                self.pending[ev.anchor] = self.pending.get(ev.anchor, 0) + 1
            try:
                v = _yaml_scalar(ev.tag if ev.tag not in (None,) else "", ev.value, ev.style)
            except _YamlError as e:
                raise _YamlError(str(e), ev.start_mark) from None
            if ev.anchor:
                self._complete(ev.anchor, v)
            return v
        if isinstance(ev, yaml.AliasEvent):
            if ev.anchor in self.pending:
                raise _YamlError(f"cannot refer to anchor {V._go_quote(ev.anchor)} from inside its own definition",
                                 ev.start_mark)
            if ev.anchor not in self.anchors:
                raise _YamlError(f"reference to undefined anchor {V._go_quote(ev.anchor)}", ev.start_mark)
            return copy.deepcopy(self.anchors[ev.anchor])
        if isinstance(ev, yaml.SequenceStartEvent):
            if ev.tag not in (None, "", _TAG + "seq"):
                raise _YamlError(f"can't interpret sequence as {ev.tag}", ev.start_mark)
            if ev.anchor:
                self.pending[ev.anchor] = self.pending.get(ev.anchor, 0) + 1
            items = []
            while True:
                nxt = self.next()
                if isinstance(nxt, yaml.SequenceEndEvent):
                    break
                items.append(self.value(nxt))
            if ev.anchor:
                self._complete(ev.anchor, items)
            return items
        if isinstance(ev, yaml.MappingStartEvent):
            return self.mapping(ev)
        if isinstance(ev, yaml.DocumentStartEvent):
            raise _YamlError("only a single document is allowed", ev.start_mark)
        if isinstance(ev, yaml.StreamEndEvent):
            raise _YamlError("expecting value but found end of stream", ev.start_mark)
        raise _YamlError(f"unexpected parser event {type(ev).__name__}", ev.start_mark)

    def mapping(self, ev: Any) -> Dict[str, Any]:
        import yaml

        if ev.tag not in (None, "", _TAG + "map"):
            raise _YamlError(f"can't interpret mapping as {ev.tag}", ev.start_mark)
        if ev.anchor:
            self.pending[ev.anchor] = self.pending.get(ev.anchor, 0) + 1
        out: Dict[str, Any] = {}
        while True:
            key_ev = self.next()
            if isinstance(key_ev, yaml.MappingEndEvent):
                break
            if isinstance(key_ev, yaml.ScalarEvent) and (
                    (not key_ev.tag and key_ev.value == "<<" and key_ev.style is None) or key_ev.tag == _TAG + "merge"):
                merged = self.value()
                sources = merged if isinstance(merged, list) else [merged]
                for src in sources:
                    if not isinstance(src, dict):
                        what = V.friendly_name(V.type_of(src))
                        where = " (from sequence)" if isinstance(merged, list) else ""
                        raise _YamlError(f"cannot merge {what}{where} into mapping", key_ev.start_mark)
                    out.update(src)
                continue
            if not isinstance(key_ev, yaml.ScalarEvent):
                raise _YamlError("only strings are allowed as mapping keys", key_ev.start_mark)
            try:
                key = _yaml_scalar(key_ev.tag or "", key_ev.value, key_ev.style)
            except _YamlError as e:
                raise _YamlError(str(e), key_ev.start_mark) from None
            if key is None:
                raise _YamlError("mapping key cannot be null", key_ev.start_mark)
            out[V.to_string(key)] = self.value()
        if ev.anchor:
            self._complete(ev.anchor, out)
        return out

    def _complete(self, anchor: str, value: Any) -> None:
        self.pending[anchor] -= 1
        if not self.pending[anchor]:
            del self.pending[anchor]
        self.anchors[anchor] = value


@function("yamldecode", [("src", S)])
def yamldecode(ctx: Any, s: str) -> Any:
    import yaml

    try:
        events = list(yaml.parse(s or "\n", Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise Fail(_yaml_syntax_error(e)) from None
    dec = _YamlDecoder(events)
    try:
        dec.next()  # stream start
        ev = dec.next()
        if not isinstance(ev, yaml.DocumentStartEvent):
            raise _YamlError("missing start of document", ev.start_mark)
        value = dec.value()
        ev = dec.next()
        if isinstance(ev, yaml.DocumentStartEvent):
            raise _YamlError("only a single document is allowed", ev.start_mark)
        if not isinstance(ev, yaml.DocumentEndEvent):
            raise _YamlError(f"unexpected extra content ({type(ev).__name__}) after value", ev.start_mark)
        ev = dec.next()
        if not isinstance(ev, yaml.StreamEndEvent):
            raise _YamlError("unexpected extra content after value", ev.start_mark)
    except _YamlError as e:
        raise Fail(e.text()) from None
    return _normalize(value)


def _normalize(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalize(x) for x in v]
    if isinstance(v, float):
        return V.normalize_number(v)
    return v


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

"""Go's ``fmt`` for template values: ``Sprint``, ``Sprintln``, ``Sprintf`` and the ``%v`` forms.

Values are Python stand-ins for Go's: ``str`` (string), ``bool``, ``int``,
``float`` (float64), ``None`` (nil), ``list`` ([]interface {}), ``dict``
(map[string]interface {}, printed with sorted keys as Go does). Bad verbs,
missing and extra arguments print as Go prints them (``%!d(string=x)``,
``%!s(MISSING)``, ``%!(EXTRA int=1)``); widths over 10^6 are ``%!(BADWIDTH)``.
"""
from __future__ import annotations

import decimal
import math
import unicodedata
from typing import Any, List, Optional, Sequence, Tuple

__all__ = ["sprint", "sprintln", "sprintf", "type_name", "format_value", "quote"]

_MAX_WIDTH = 10 ** 6


def type_name(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if callable(v):
        return "func"
    return type(v).__name__


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def sprint(args: Sequence[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: List[str] = []
    for i, a in enumerate(args):
        if i > 0 and not _is_str(a) and not _is_str(args[i - 1]):
            out.append(" ")
        out.append(format_value(a, "v"))
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    """``fmt.Sprintln``: spaces between all operands and a newline."""
    return " ".join(format_value(a, "v") for a in args) + "\n"


def _float_g_shortest(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64)."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    d = decimal.Decimal(repr(f))
    sign, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exp  # decimal point position relative to digits start
    e = point - 1
    s = "-" if sign else ""
    if e < -4 or e >= 6:  # strconv: shortest 'g' switches to %e at exponent 6
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{s}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    if point <= 0:
        return f"{s}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{s}{ds}{'0' * (point - len(ds))}"
    return f"{s}{ds[:point]}.{ds[point:]}"


def quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(c)])
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif (o < 0x80 and c.isprintable()) or (not ascii_only and o >= 0x80 and _printable(c)):
            out.append(c)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _printable(c: str) -> bool:
    return unicodedata.category(c)[0] not in "CZ" or c == " "


def format_value(v: Any, verb: str = "v", plus: bool = False, sharp: bool = False) -> str:
    """``%v`` (and ``%+v``/``%#v``) of one value."""
    if v is None:
        return "<nil>" if not sharp else "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_g_shortest(v)
    if isinstance(v, str):
        return quote(v) if sharp else v
    if isinstance(v, (list, tuple)):
        if sharp:
            return "[]interface {}{" + ", ".join(format_value(x, verb, plus, sharp) for x in v) + "}"
        return "[" + " ".join(format_value(x, verb, plus, sharp) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=str)
        if sharp:
            return "map[string]interface {}{" + ", ".join(
                f"{quote(str(k))}:{format_value(v[k], verb, plus, sharp)}" for k in keys) + "}"
        return "map[" + " ".join(f"{k}:{format_value(v[k], verb, plus, sharp)}" for k in keys) + "]"
    if callable(v):
        return "0x1"
    return str(v)


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "prec")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: Optional[int] = None
        self.prec: Optional[int] = None


def _pad(s: str, spec: _Spec, numeric: bool = False) -> str:
    if spec.width is None or len(s) >= spec.width:
        return s
    fill = spec.width - len(s)
    if spec.minus:
        return s + " " * fill
    if spec.zero:
        if numeric and s[:1] in "+- ":
            return s[0] + "0" * fill + s[1:]
        if numeric and s[:2].lower() in ("0x", "0b", "0o"):
            return s[:2] + "0" * fill + s[2:]
        return "0" * fill + s
    return " " * fill + s


def _fmt_int(n: int, verb: str, spec: _Spec) -> Optional[str]:
    if verb in "vd":
        digits = str(abs(n))
    elif verb == "b":
        digits = format(abs(n), "b")
    elif verb == "o" or verb == "O":
        digits = format(abs(n), "o")
    elif verb == "x":
        digits = format(abs(n), "x")
    elif verb == "X":
        digits = format(abs(n), "X")
    elif verb == "c":
        return _pad(_chr(n), spec)
    elif verb == "q":
        return _pad("'" + quote(_chr(n))[1:-1].replace("\\\"", '"').replace("'", "\\'") + "'", spec)
    elif verb == "U":
        s = f"U+{n:04X}"
        if spec.sharp and _printable(_chr(n)):
            s += f" '{_chr(n)}'"
        return _pad(s, spec)
    else:
        return None
    if spec.prec is not None:
        digits = digits.zfill(spec.prec) if not (spec.prec == 0 and n == 0) else ""
    prefix = ""
    if spec.sharp or verb == "O":
        prefix = {"b": "0b", "o": "0", "O": "0o", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and digits.startswith("0"):
            prefix = ""
    sign = "-" if n < 0 else ("+" if spec.plus else (" " if spec.space else ""))
    s = sign + prefix + digits
    if spec.prec is not None:
        keep_zero, spec.zero = spec.zero, False
        out = _pad(s, spec)
        spec.zero = keep_zero
        return out
    return _pad(s, spec, numeric=True)


def _chr(n: int) -> str:
    try:
        c = chr(n)
    except (ValueError, OverflowError):
        return "\ufffd"
    return "\ufffd" if 0xD800 <= n <= 0xDFFF else c


def _fmt_float(f: float, verb: str, spec: _Spec) -> Optional[str]:
    if verb not in "vbeEfFgGxX":
        return None
    if math.isinf(f) or math.isnan(f):
        s = "NaN" if math.isnan(f) else ("+Inf" if f > 0 else "-Inf")
        if s == "+Inf" and not spec.plus:
            s = "Inf" if not spec.space else " Inf"
        if s == "NaN" and spec.plus:
            s = "+NaN"
        keep, spec.zero = spec.zero, False
        out = _pad(s, spec)
        spec.zero = keep
        return out
    if verb in "vgG" and spec.prec is None:
        s = _float_g_shortest(f)
        if verb == "G":
            s = s.upper()
    elif verb in "xX":
        s = float.hex(f) if verb == "x" else float.hex(f).upper()
    else:
        prec = 6 if spec.prec is None else spec.prec
        py = {"v": "g", "b": "e"}.get(verb, verb)
        s = format(f, f"{'#' if spec.sharp else ''}.{prec}{py}")
    if s[0] not in "+-":
        if spec.plus:
            s = "+" + s
        elif spec.space:
            s = " " + s
    return _pad(s, spec, numeric=True)


def _fmt_str(s: str, verb: str, spec: _Spec) -> Optional[str]:
    if verb in "vs":
        if spec.prec is not None:
            s = s[:spec.prec]
        return _pad(s, spec)
    if verb == "q":
        if spec.prec is not None:
            s = s[:spec.prec]
        if spec.sharp and "`" not in s and all(c.isprintable() or c == "\t" for c in s):
            return _pad("`" + s + "`", spec)
        return _pad(quote(s, ascii_only=spec.plus), spec)
    if verb in "xX":
        data = s.encode("utf-8", "surrogatepass")
        if spec.prec is not None:
            data = data[:spec.prec]
        h = "%02x" if verb == "x" else "%02X"
        parts = [h % b for b in data]
        if spec.space:
            pre = ("0x" if verb == "x" else "0X") if spec.sharp else ""
            return _pad(" ".join(pre + p for p in parts), spec)
        return _pad((("0x" if verb == "x" else "0X") if spec.sharp and parts else "") + "".join(parts), spec)
    return None


def _format_arg(arg: Any, verb: str, spec: _Spec) -> str:
    if verb == "T":
        return _pad(type_name(arg), spec)
    if verb == "v" and (spec.sharp or spec.plus):
        return _pad(format_value(arg, "v", spec.plus, spec.sharp), spec)
    if arg is None:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    out: Optional[str] = None
    if isinstance(arg, bool):
        out = _pad("true" if arg else "false", spec) if verb in "vt" else None
    elif isinstance(arg, int):
        out = _fmt_int(arg, verb, spec)
    elif isinstance(arg, float):
        out = _fmt_float(arg, verb, spec)
    elif isinstance(arg, str):
        out = _fmt_str(arg, verb, spec)
    elif isinstance(arg, (list, tuple)):
        if verb in ("s", "q", "x", "X") and all(isinstance(x, str) for x in arg) and verb in "xX":
            out = _fmt_str("".join(arg), verb, spec)
        else:
            inner = _Spec()
            inner.__init__()
            for name in ("minus", "plus", "sharp", "space", "zero", "width", "prec"):
                setattr(inner, name, getattr(spec, name))
            return "[" + " ".join(_format_arg(x, verb, inner) for x in arg) + "]"
    elif isinstance(arg, dict):
        keys = sorted(arg, key=str)
        return "map[" + " ".join(f"{_format_arg(k, verb, spec)}:{_format_arg(arg[k], verb, spec)}"
                                 for k in keys) + "]"
    elif verb in "vp":
        out = _pad(format_value(arg), spec)
    if out is None:
        return f"%!{verb}({type_name(arg)}={format_value(arg)})"
    return out


def _parse_num(fmt: str, i: int) -> Tuple[Optional[int], int, bool]:
    """A decimal number at ``fmt[i:]``: (value or None, next index, too large?)."""
    start = i
    while i < len(fmt) and fmt[i].isdigit():
        i += 1
        if i - start > 7:
            while i < len(fmt) and fmt[i].isdigit():
                i += 1
            return None, i, True
    if i == start:
        return None, i, False
    n = int(fmt[start:i])
    return n, i, n > _MAX_WIDTH


def sprintf(fmt: str, args: Sequence[Any]) -> str:
    """``fmt.Sprintf`` with Go's verbs, flags, width, precision, ``*`` and ``[n]`` indexes."""
    out: List[str] = []
    argn = 0
    reordered = False
    i, n = 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and fmt[i] in "+-# 0":
            c = fmt[i]
            if c == "+":
                spec.plus = True
            elif c == "-":
                spec.minus, spec.zero = True, False
            elif c == "#":
                spec.sharp = True
            elif c == " ":
                spec.space = True
            elif c == "0":
                spec.zero = not spec.minus
            i += 1
        # argument index [n]
        def arg_index(i: int, argn: int) -> Tuple[int, int, bool]:
            nonlocal reordered
            if i < n and fmt[i] == "[":
                reordered = True
                end = fmt.find("]", i)
                if end > 0 and fmt[i + 1:end].isdigit():
                    return int(fmt[i + 1:end]) - 1, end + 1, True
                return argn, (end + 1 if end > 0 else n), False
            return argn, i, True

        argn, i, ok_index = arg_index(i, argn)
        if i < n and fmt[i] == "*":
            i += 1
            if argn < len(args) and isinstance(args[argn], int) and not isinstance(args[argn], bool):
                spec.width = args[argn]
                if abs(spec.width) > _MAX_WIDTH:
                    out.append("%!(BADWIDTH)")
                    spec.width = None
                elif spec.width < 0:
                    spec.minus, spec.zero, spec.width = True, False, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argn += 1
        else:
            spec.width, i, bad = _parse_num(fmt, i)
            if bad:
                out.append("%!(BADWIDTH)")
                spec.width = None
        if i < n and fmt[i] == ".":
            i += 1
            argn, i, _ = arg_index(i, argn)
            if i < n and fmt[i] == "*":
                i += 1
                if argn < len(args) and isinstance(args[argn], int) and not isinstance(args[argn], bool):
                    spec.prec = args[argn]
                    if spec.prec < 0 or spec.prec > _MAX_WIDTH:
                        spec.prec = None
                        out.append("%!(BADPREC)")
                else:
                    out.append("%!(BADPREC)")
                argn += 1
            else:
                spec.prec, i, bad = _parse_num(fmt, i)
                if bad:
                    out.append("%!(BADPREC)")
                    spec.prec = None
                elif spec.prec is None:
                    spec.prec = 0
        argn, i, ok2 = arg_index(i, argn)
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if not (ok_index and ok2):
            out.append(f"%!{verb}(BADINDEX)")
            continue
        if argn >= len(args) or argn < 0:
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_arg(args[argn], verb, spec))
        argn += 1
    if not reordered and argn < len(args):
        extra = ", ".join(f"{type_name(a)}={format_value(a)}" if a is not None else "<nil>" for a in args[argn:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)

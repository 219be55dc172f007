"""String functions: go-cty stdlib's string, format and regexp functions, Packer's
startswith/endswith/strcontains."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import Any, List, Optional

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, Param, function, to_int
from hatchway.template.hcl.functions.text import (
    PatternError, compile_re, go_expand, go_find_all, go_json, go_json_string, go_replace_all, graphemes,
)

S, N, B = V.STRING, V.NUMBER, V.BOOL


def _simple_upper(ch: str) -> str:
    """Go's unicode.ToUpper: one rune to one rune (no "ß" -> "SS")."""
    up = ch.upper()
    return up if len(up) == 1 else ch


def _simple_lower(ch: str) -> str:
    if ch == "\u0130":
        return "i"
    low = ch.lower()
    return low if len(low) == 1 else ch


@function("upper", [("str", S)], ret=S)
def upper(ctx: Any, s: str) -> str:
    return "".join(_simple_upper(c) for c in s)


@function("lower", [("str", S)], ret=S)
def lower(ctx: Any, s: str) -> str:
    return "".join(_simple_lower(c) for c in s)


@function("strrev", [("str", S)], ret=S)
def strrev(ctx: Any, s: str) -> str:
    return "".join(reversed(graphemes(s)))


@function("substr", [("str", S), ("offset", N), ("length", N)], ret=S)
def substr(ctx: Any, s: str, offset: Any, length: Any) -> str:
    off = to_int(offset)
    ln = to_int(length)
    clusters = graphemes(s)
    if off < 0:
        off = max(len(clusters) + off, 0)
        if ln == 0:   # go-cty quirk: a negative offset with length 0 gives the rest
            ln = -1
    elif ln == 0:
        return ""
    if off > len(clusters):
        return ""
    if ln < 0:
        return "".join(clusters[off:])
    return "".join(clusters[off:off + ln])


@function("join", [("separator", S)], var=("lists", V.List(S)), ret=S)
def join(ctx: Any, sep: str, *lists: Any) -> str:
    if not lists:
        raise Fail("at least one list is required")
    if not all(V.is_known(lst) for lst in lists):
        return V.Unknown(S)
    items: List[str] = []
    for ai, lst in enumerate(lists):
        for ei, x in enumerate(lst):
            if x is None:
                if len(lists) > 1:
                    raise ArgError(ai + 1, f"element {ei} of list {ai + 1} is null; cannot concatenate null values")
                raise ArgError(ai + 1, f"element {ei} is null; cannot concatenate null values")
            items.append(x)
    return sep.join(items)


@function("split", [("separator", S), ("str", S)], ret=V.List(S))
def split(ctx: Any, sep: str, s: str) -> List[str]:
    if sep == "":
        return [c for c in s]
    return s.split(sep)


_CHOMP = re.compile(r"(?:\r\n?|\n)*\Z")


@function("chomp", [("str", S)], ret=S)
def chomp(ctx: Any, s: str) -> str:
    return _CHOMP.sub("", s, count=1)


@function("indent", [("spaces", N), ("str", S)], ret=S)
def indent(ctx: Any, spaces: Any, s: str) -> str:
    pad = " " * max(to_int(spaces), 0)
    return s.replace("\n", "\n" + pad)


def _is_separator(ch: str) -> bool:
    """Go's strings.Title word separator rule."""
    if ord(ch) <= 0x7F:
        if ch.isalnum() or ch == "_":
            return False
        return True
    if ch.isalpha() or ch.isdigit():
        return False
    return ch.isspace()


def _simple_title(ch: str) -> str:
    """Go's unicode.ToTitle (simple mapping; "ǆ" -> "ǅ")."""
    t = ch.title()
    return t if len(t) == 1 else ch


@function("title", [("str", S)], ret=S)
def title(ctx: Any, s: str) -> str:
    out = []
    prev = " "
    for ch in s:
        out.append(_simple_title(ch) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _go_trim_set(s: str, cutset: str, left: bool, right: bool) -> str:
    if cutset == "":
        return s
    if left:
        s = s.lstrip(cutset)
    if right:
        s = s.rstrip(cutset)
    return s


@function("trim", [("str", S), ("cutset", S)], ret=S)
def trim(ctx: Any, s: str, cutset: str) -> str:
    return _go_trim_set(s, cutset, True, True)


@function("trimprefix", [("str", S), ("prefix", S)], ret=S)
def trimprefix(ctx: Any, s: str, prefix: str) -> str:
    return s[len(prefix):] if prefix and s.startswith(prefix) else s


@function("trimsuffix", [("str", S), ("suffix", S)], ret=S)
def trimsuffix(ctx: Any, s: str, suffix: str) -> str:
    return s[:-len(suffix)] if suffix and s.endswith(suffix) else s


_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
            "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@function("trimspace", [("str", S)], ret=S)
def trimspace(ctx: Any, s: str) -> str:
    return s.strip(_GO_SPACE)


@function("startswith", [("str", S), ("prefix", S)], ret=B)
def startswith(ctx: Any, s: str, prefix: str) -> bool:
    return s.startswith(prefix)


@function("endswith", [("str", S), ("suffix", S)], ret=B)
def endswith(ctx: Any, s: str, suffix: str) -> bool:
    return s.endswith(suffix)


@function("strcontains", [("str", S), ("substr", S)], ret=B)
def strcontains(ctx: Any, s: str, sub: str) -> bool:
    return sub in s


# -- regular expressions (RE2) -----------------------------------------------------------------

def _compile(pattern: str) -> Any:
    """For regex/regexall: a bad pattern is an error of the "pattern" argument."""
    try:
        return compile_re(pattern)
    except PatternError as e:
        raise ArgError(0, f"invalid regexp pattern: {e.code} in {e.expr}") from None


def _compile_replace(pattern: str) -> Any:
    """For regex_replace: Go's own error text."""
    try:
        return compile_re(pattern)
    except PatternError as e:
        raise Fail(str(e)) from None


def _result_type(pattern: str) -> V.Type:
    rx = _compile(pattern)
    names = {i: n for n, i in rx.groupindex.items()}
    unnamed = sum(1 for i in range(1, rx.groups + 1) if i not in names)
    if rx.groups == 0:
        return S
    if unnamed and names:
        raise ArgError(0, "invalid regexp pattern: cannot mix both named and unnamed capture groups")
    if unnamed:
        return V.Tuple([S] * unnamed)
    return V.Object({n: S for n in names.values()})


def _match_result(rx: Any, m: Any, ty: V.Type) -> Any:
    if ty == S:
        return m.group(0)
    if ty.kind == "tuple":
        return [m.group(i) for i in range(1, rx.groups + 1)]
    return {name: m.group(i) for name, i in sorted(rx.groupindex.items(), key=lambda x: x[1])}


def _regex_ret(args: list) -> V.Type:
    return _result_type(args[0]) if isinstance(args[0], str) else V.DYNAMIC


@function("regex", [("pattern", S), ("string", S)], ret=_regex_ret)
def regex(ctx: Any, pattern: str, s: str) -> Any:
    ty = _result_type(pattern)
    rx = _compile(pattern)
    m = rx.search(s)
    if m is None:
        raise Fail("pattern did not match any part of the given string")
    return _match_result(rx, m, ty)


def _regexall_ret(args: list) -> V.Type:
    return V.List(_result_type(args[0])) if isinstance(args[0], str) else V.List(V.DYNAMIC)


@function("regexall", [("pattern", S), ("string", S)], ret=_regexall_ret)
def regexall(ctx: Any, pattern: str, s: str) -> Any:
    ty = _result_type(pattern)
    rx = _compile(pattern)
    return [_match_result(rx, m, ty) for m in go_find_all(rx, s)]


def _regex_replace(s: str, rx: Any, repl: str) -> str:
    return go_replace_all(rx, s, lambda m: go_expand(repl, m, rx.groupindex))


@function("regex_replace", [("str", S), ("substr", S), ("replace", S)], ret=S)
def regex_replace(ctx: Any, s: str, pattern: str, repl: str) -> str:
    return _regex_replace(s, _compile_replace(pattern), repl)


@function("replace", [("str", S), ("substr", S), ("replace", S)], ret=S)
def replace(ctx: Any, s: str, sub: str, repl: str) -> str:
    """go-cty's ReplaceFunc, which Packer uses: a plain substring replacement. (Terraform's own
    ``replace`` treats ``/re/`` as a regular expression; Packer's does not: use regex_replace.)"""
    if sub == "":
        # Go's strings.Replace with an empty old string inserts at every rune boundary.
        return repl + repl.join(s) + repl if s else repl
    return s.replace(sub, repl)


# -- format / formatlist (go-cty's format FSM with Go fmt verbs) -------------------------------

class _Verb:
    def __init__(self, raw: str, offset: int, argnum: int, flags: str, width: Optional[int],
                 prec: Optional[int], mode: str) -> None:
        self.raw, self.offset, self.argnum, self.mode = raw, offset, argnum, mode
        self.zero, self.sharp, self.plus = "0" in flags, "#" in flags, "+" in flags
        self.minus, self.space = "-" in flags, " " in flags
        self.width, self.prec = width, prec


def _scan_verb(fmt: str, i: int) -> _Verb:
    """Scan one verb starting at the ``%`` at ``i`` as go-cty's format FSM does:
    ``%`` flags width precision argidx mode. Fail for an unexpected character or the end."""
    n = len(fmt)
    start = i
    i += 1
    flags = ""
    while i < n and fmt[i] in "0#+- ":
        flags += fmt[i]
        i += 1
    width = None
    if i < n and fmt[i] in "123456789":
        j = i
        while j < n and fmt[j].isdigit() and fmt[j].isascii():
            j += 1
        width = int(fmt[i:j])
        i = j
    prec = None
    if i < n and fmt[i] == ".":
        j = i + 1
        while j < n and fmt[j].isdigit() and fmt[j].isascii():
            j += 1
        prec = int(fmt[i + 1:j] or "0")
        i = j
    argnum = None
    if i < n and fmt[i] == "[":
        i += 1
        if i < n and fmt[i] in "123456789":
            j = i
            while j < n and fmt[j].isdigit() and fmt[j].isascii():
                j += 1
            argnum = int(fmt[i:j])
            i = j
            if i < n and fmt[i] != "]":
                _bad_char(fmt, i)
            i += 1
        elif i < n:
            _bad_char(fmt, i)
    if i >= n:
        raise Fail(f"invalid format string starting at offset {_byte_offset(fmt, n)}")
    mode = fmt[i]
    if not (mode.isascii() and mode.isalpha()):
        _bad_char(fmt, i)
    return _Verb(fmt[start:i + 1], _byte_offset(fmt, start), argnum or 0, flags, width, prec, mode)


def _bad_char(fmt: str, i: int) -> None:
    raise Fail(f"unrecognized format character {_go_rune(fmt[i])} at offset {_byte_offset(fmt, i)}")


def format_string(fmt: str, args: List[Any]) -> str:
    """go-cty's formatFSM. Raises Fail / ArgError worded as go-cty words them."""
    out: List[str] = []
    i = 0
    n = len(fmt)
    next_arg = 1
    highest = 0
    while i < n:
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        if i + 1 < n and fmt[i + 1] == "%":
            out.append("%")
            i += 2
            continue
        verb = _scan_verb(fmt, i)
        if not verb.argnum:
            verb.argnum = next_arg
        highest = max(highest, verb.argnum)
        out.append(_format_one(verb, args))
        next_arg = verb.argnum + 1
        i += len(verb.raw)
    if highest < len(args):
        if highest == 0:
            raise ArgError(highest + 1, "too many arguments; no verbs in format string")
        raise ArgError(highest + 1, f"too many arguments; only {highest} used by format string")
    return "".join(out)


def _byte_offset(s: str, i: int) -> int:
    return len(s[:i].encode("utf-8"))


def _go_rune(ch: str) -> str:
    """Go's %q of a rune."""
    if ch == "'":
        return "'\\''"
    if ch == "\\":
        return "'\\\\'"
    if ch.isprintable():
        return f"'{ch}'"
    return "'" + ch.encode("unicode_escape").decode("ascii") + "'"


def _format_one(verb: _Verb, args: List[Any]) -> str:
    idx = verb.argnum - 1
    if idx >= len(args):
        raise Fail(f"not enough arguments for {go_json_string(verb.raw)} at {verb.offset}: "
                   f"need index {verb.argnum} but have {len(args)} total")
    arg = args[idx]
    if verb.mode != "v" and arg is None:
        raise Fail(f"unsupported value for {go_json_string(verb.raw)} at {verb.offset}: null value cannot be formatted")
    mode = verb.mode
    if mode == "v":
        if not verb.sharp and isinstance(arg, str):
            return _pad(verb, arg)
        if not verb.sharp and V.is_number(arg):
            return _pad(verb, _go_float(arg, "g", None))
        return _pad(verb, go_json(arg))
    if mode == "t":
        try:
            b = V.convert(arg, B)
        except V.ConversionError as e:
            raise Fail(f"unsupported value for {go_json_string(verb.raw)} at {verb.offset}: {e}") from None
        return "true" if b else "false"
    if mode in "bdoxXeEfgG":
        try:
            num = V.convert(arg, N)
        except V.ConversionError as e:
            raise Fail(f"unsupported value for {go_json_string(verb.raw)} at {verb.offset}: {e}") from None
        if mode in "bdoxX":
            if isinstance(num, float) and num != int(num):
                raise Fail(f"unsupported value for {go_json_string(verb.raw)} at {verb.offset}: an integer is required")
            return _go_int(verb, int(num))
        return _go_float_verb(verb, num)
    if mode in "sq":
        try:
            s = V.convert(arg, S)
        except V.ConversionError as e:
            raise Fail(f"unsupported value for {go_json_string(verb.raw)} at {verb.offset}: {e}") from None
        if verb.prec is not None and verb.prec > 0:
            s = "".join(graphemes(s)[:verb.prec])
        if mode == "s":
            return _pad(verb, s)
        return _pad(verb, go_json_string(s))
    raise Fail(f"unsupported format verb {_go_rune(mode)} in {go_json_string(verb.raw)} at offset {verb.offset}")


def _pad(verb: _Verb, text: str) -> str:
    if verb.width is None:
        return text
    have = len(graphemes(text))
    if have >= verb.width:
        return text
    pads = ("0" if verb.zero else " ") * (verb.width - have)
    return text + pads if verb.minus else pads + text


def _go_int(verb: _Verb, n: int) -> str:
    """big.Int's fmt.Formatter: [left pad][sign][prefix][zero pad][digits][right pad]."""
    sign = "-" if n < 0 else ("+" if verb.plus else (" " if verb.space else ""))
    a = abs(n)
    mode = verb.mode
    digits = {"d": str(a), "b": format(a, "b"), "o": format(a, "o"), "x": format(a, "x"),
              "X": format(a, "X")}[mode]
    prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(mode, "") if verb.sharp else ""
    zeros = 0
    if verb.prec is not None:
        if len(digits) < verb.prec:
            zeros = verb.prec - len(digits)
        elif digits == "0" and verb.prec == 0:
            return ""
    length = len(sign) + len(prefix) + zeros + len(digits)
    left = right = 0
    if verb.width is not None and length < verb.width:
        d = verb.width - length
        if verb.minus:
            right = d
        elif verb.zero and verb.prec is None:
            zeros = d
        else:
            left = d
    return " " * left + sign + prefix + "0" * zeros + digits + " " * right


def _decimal(n: Any) -> Decimal:
    return Decimal(n) if isinstance(n, int) else Decimal(repr(n))


def _split_digits(d: Decimal) -> tuple:
    """(significant digits without trailing zeros, decimal point position) of |d|; 0 -> ("", 0)."""
    d = abs(d)
    if d == 0:
        return ("", 0)
    t = d.as_tuple()
    digits = "".join(str(x) for x in t.digits)
    dp = len(digits) + t.exponent
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return (stripped.rstrip("0"), dp)


def _round_sig(d: Decimal, sig: int) -> Decimal:
    if d == 0:
        return d
    return d.quantize(Decimal(1).scaleb(d.adjusted() - sig + 1), rounding="ROUND_HALF_EVEN")


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, e: str) -> str:
    """big.Float fmtE: d.ddddde±dd with ``prec`` fractional digits."""
    text = digits[0] if digits else "0"
    if prec > 0:
        text += "." + digits[1:1 + prec].ljust(prec, "0")
    exp = dp - 1 if digits else 0
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + f"{text}{e}{sign}{abs(exp):02d}"


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    """big.Float fmtF: ddd.ddd with ``prec`` fractional digits."""
    text = digits[:dp].ljust(dp, "0") if dp > 0 else "0"
    if prec > 0:
        frac = []
        for i in range(prec):
            k = dp + i
            frac.append(digits[k] if 0 <= k < len(digits) else "0")
        text += "." + "".join(frac)
    return ("-" if neg else "") + text


def _go_float(n: Any, mode: str, prec: Optional[int]) -> str:
    """big.Float.Text(mode, prec) for modes e, E, f, g, G (prec None: shortest)."""
    with localcontext() as context:
        context.prec = 5000
        return _go_float_text(n, mode, prec)


def _go_float_text(n: Any, mode: str, prec: Optional[int]) -> str:
    if isinstance(n, float) and n != n:
        return "NaN"
    if isinstance(n, float) and n in (float("inf"), float("-inf")):
        return "-Inf" if n < 0 else "+Inf"
    neg = n < 0
    d = _decimal(n)
    shortest = prec is None
    if shortest:
        digits, dp = _split_digits(d)
        nd = len(digits)
        prec = {"e": nd - 1, "E": nd - 1, "f": max(nd - dp, 0)}.get(mode, nd)
    else:
        assert prec is not None
        if mode in "eE":
            d = _round_sig(d, prec + 1)
        elif mode == "f":
            d = d.quantize(Decimal(1).scaleb(-prec), rounding="ROUND_HALF_EVEN")
        else:
            if prec == 0:
                prec = 1
            d = _round_sig(d, prec)
        digits, dp = _split_digits(d)
        nd = len(digits)
    if mode in "eE":
        return _fmt_e(neg, digits, dp, prec, mode)
    if mode == "f":
        return _fmt_f(neg, digits, dp, prec)
    eprec = prec
    if eprec > nd and nd >= dp:
        eprec = nd
    if shortest:
        eprec = 6
    exp = dp - 1
    if exp < -4 or exp >= eprec:
        if prec > nd:
            prec = nd
        return _fmt_e(neg, digits, dp, prec - 1, "e" if mode == "g" else "E")
    if prec > dp:
        prec = nd
    return _fmt_f(neg, digits, dp, max(prec - dp, 0))


def _go_float_verb(verb: _Verb, n: Any) -> str:
    """big.Float's fmt.Formatter for e, E, f, g, G."""
    prec = verb.prec
    if prec is None and verb.mode in "eEf":
        prec = 6
    text = _go_float(n, verb.mode, prec)
    if text.startswith("-"):
        sign, body = "-", text[1:]
    elif text.startswith("+"):   # +Inf
        sign, body = (" " if verb.space else "+"), text[1:]
    else:
        sign, body = ("+" if verb.plus else " " if verb.space else ""), text
    pad = max((verb.width or 0) - len(sign) - len(body), 0)
    if verb.zero and not verb.minus and body != "Inf":
        return sign + "0" * pad + body
    if verb.minus:
        return sign + body + " " * pad
    return " " * pad + sign + body


@function("format", [("format", S)],
          var=Param("args", V.DYNAMIC, allow_null=True, allow_unknown=True), ret=S)
def format_(ctx: Any, fmt: str, *args: Any) -> Any:
    if not all(V.is_known(a) for a in args):
        return V.Unknown(S)
    return format_string(fmt, list(args))


@function("formatlist", [("format", S)],
          var=Param("args", V.DYNAMIC, allow_null=True, allow_unknown=True), ret=V.List(S))
def formatlist(ctx: Any, fmt: str, *args: Any) -> Any:
    if not args:
        return [format_string(fmt, [])]
    iter_len = -1
    chooser = -1
    unknown = dynamic = False
    for i, arg in enumerate(args):
        length = None
        if isinstance(arg, V.Unknown):
            kind = arg.type.kind
            if kind in ("list", "set"):
                unknown = True        # its length is not known
                continue
            if kind == "dynamic":
                dynamic = True
                continue
            if kind == "tuple":
                length = len(arg.type.elems)
                unknown = True
        elif isinstance(arg, V.SetValue) and not V.is_known(arg):
            unknown = True            # a set with unknown elements has no known length
            continue
        elif isinstance(arg, (list, tuple)):
            length = len(arg)
        if length is not None:
            if iter_len == -1:
                iter_len, chooser = length, i
            elif length != iter_len:
                raise ArgError(i + 1, f"argument {i + 1} has length {length}, which is inconsistent "
                                      f"with argument {chooser + 1} of length {iter_len}")
    if dynamic:
        return V.UNKNOWN
    if unknown:
        return V.Unknown(V.List(S))
    if iter_len == 0:
        return []
    if iter_len == -1:
        iter_len = 1
    result: List[Any] = []
    for it in range(iter_len):
        fmt_args = [a[it] if isinstance(a, (list, tuple)) else a for a in args]
        if not all(V.is_known(a) for a in fmt_args):
            result.append(V.Unknown(S))
            continue
        try:
            result.append(format_string(fmt, fmt_args))
        except (Fail, ArgError) as e:
            raise Fail(f"error on format iteration {it}: {e}") from None
    return result

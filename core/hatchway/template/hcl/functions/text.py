"""Helpers shared by the string functions: grapheme clusters, Go quoting, Go JSON, RE2."""

from __future__ import annotations

import unicodedata
from typing import Any, Callable, List

from hatchway.template.hcl import values as V


def graphemes(s: str) -> List[str]:
    """``s`` split into (approximate extended) grapheme clusters, as go-textseg counts them."""
    out: List[str] = []
    i = 0
    n = len(s)
    while i < n:
        j = i + 1
        if s[i] == "\r" and j < n and s[j] == "\n":
            out.append("\r\n")
            i = j + 1
            continue
        while j < n:
            ch = s[j]
            cat = unicodedata.category(ch)
            if cat in ("Mn", "Me", "Mc") or ch in ("\u200d", "\ufe0f", "\ufe0e") or \
                    0x1F3FB <= ord(ch) <= 0x1F3FF:
                j += 1
                continue
            if s[j - 1] == "\u200d":
                j += 1
                continue
            if 0x1F1E6 <= ord(ch) <= 0x1F1FF and 0x1F1E6 <= ord(s[j - 1]) <= 0x1F1FF and (j - i) % 2 == 1:
                j += 1
                continue
            break
        out.append(s[i:j])
        i = j
    return out


def go_json(v: Any) -> str:
    """JSON as cty's json.Marshal (Go's encoding/json) writes it: compact, object keys sorted,
    numbers as go-cty prints them, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped."""
    if isinstance(v, V.Unknown):
        raise ValueError("value is not known")
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if V.is_number(v):
        return V.format_number(v)
    if isinstance(v, str):
        return go_json_string(v)
    if isinstance(v, dict):
        return "{" + ",".join(go_json_string(str(k)) + ":" + go_json(v[k])
                              for k in sorted(v, key=lambda k: str(k).encode("utf-8"))) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    raise TypeError(f"cannot encode {v!r}")


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "\b": "\\b", "\f": "\\f", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json_string(s: str) -> str:
    """A JSON string as Go's encoding/json escapes it."""
    out = ['"']
    for ch in s:
        esc = _JSON_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_quote(s: str) -> str:
    """Go's %q of a string."""
    return V._go_quote(s)


def go_expand(template: str, match: Any, names: dict) -> str:
    """Go's regexp Expand: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    out = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        name = None
        if nxt == "{":
            end = template.find("}", i + 2)
            if end > i + 2:
                cand = template[i + 2:end]
                if all(c.isalnum() or c == "_" for c in cand):
                    name = cand
                    i = end + 1
        else:
            j = i + 1
            while j < n and (template[j].isalnum() or template[j] == "_"):
                j += 1
            if j > i + 1:
                name = template[i + 1:j]
                i = j
        if name is None:
            out.append("$")
            i += 1
            continue
        group = None
        if name.isdigit():
            group = int(name)
        elif name in names:
            group = names[name]
        if group is not None and group <= match.re.groups:
            text = match.group(group)
            out.append(text or "")
    return "".join(out)


_RE2_CODES = {
    "missing )": "missing closing )", "unexpected )": "unexpected )", "missing ]": "missing closing ]",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid repetition size": "invalid repeat count",
    "trailing \\": "trailing backslash at end of expression",
    "invalid named capture group": "invalid named capture",
    "invalid escape sequence": "invalid escape sequence",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid UTF-8": "invalid UTF-8",
    "bad named capture group": "invalid named capture",
    "duplicate capture group name": "duplicate capture group name",
}


class PatternError(ValueError):
    """An RE2 pattern that does not compile; ``code`` and ``expr`` as Go's regexp/syntax.Error."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(f"error parsing regexp: {code}: `{expr}`")
        self.code = code
        self.expr = expr


def compile_re(pattern: str) -> Any:
    """Compile an RE2 pattern (Go's regexp syntax) with google-re2; PatternError as Go words it."""
    import re2  # heavy: imported on first use

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        raw = e.args[0] if e.args else str(e)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        code, _, expr = text.partition(": ")
        raise PatternError(_RE2_CODES.get(code, code), expr) from None


def go_find_all(rx: Any, s: str) -> List[Any]:
    """Go's regexp FindAll: non-overlapping matches, an empty match right after a previous match
    is skipped."""
    out: List[Any] = []
    pos = 0
    prev_end = -1
    n = len(s)
    while pos <= n:
        m = rx.search(s, pos)
        if m is None:
            break
        accept = True
        if m.end() == pos:
            if m.start() == prev_end:
                accept = False
            pos += 1
        else:
            pos = m.end()
        prev_end = m.end()
        if accept:
            out.append(m)
    return out


def go_replace_all(rx: Any, s: str, repl: Callable[[Any], str]) -> str:
    """Go's regexp ReplaceAllString: no replacement for an empty match right after a match."""
    out: List[str] = []
    pos = 0
    last_end = 0
    n = len(s)
    while pos <= n:
        m = rx.search(s, pos)
        if m is None:
            break
        out.append(s[last_end:m.start()])
        if m.end() > last_end or m.start() == 0:
            out.append(repl(m))
        last_end = m.end()
        if pos + 1 > m.end():
            pos += 1
        else:
            pos = m.end()
    out.append(s[last_end:])
    return "".join(out)

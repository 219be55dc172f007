"""Secret redaction: one place that knows every secret of this process.

Whatever reaches the terminal, the machine-readable stream or a log file
goes through :func:`redact`. Secrets are added as soon as they are known:
sensitive template variables when a template is loaded, config fields marked
``secret`` when a config is built.

A secret is masked in every form it can take on its way out, not only as
written: quoted for ``sh`` (``'a'"'"'b'``, ``'a'\\''b'``) and for PowerShell
(``'a''b'``, backtick escapes), backslash-escaped (C, JSON, Python ``repr``
of text and of bytes, ``\\xHH``, ``\\uHHHH``, octal), escaped twice (a
``repr`` of JSON, a log of an escaped command), XML escaped, URL-encoded
(``quote``, ``quote_plus``, any safe set, either hex case, twice), and
base64 (standard and URL-safe, of UTF-8 and of UTF-16LE as PowerShell's
``-EncodedCommand`` uses), also where it sits inside a larger base64 blob
(Basic auth, an encoded script). A quoting and then an encoding apply to the
whole secret, so mixes (a shell-quoted secret inside a ``repr``) are caught,
and matching stays linear in the text. Overlapping secrets are masked as the
union of their spans.

A secret shorter than :data:`MIN_LENGTH` characters cannot be protected
(masking it would mask those characters in all text): it is left alone and
reported once through the warning callback (:func:`on_warning`).
"""
from __future__ import annotations

import base64
import functools
import re
import threading
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Pattern, Tuple

__all__ = ["add_secret", "redact", "redact_bytes", "multiline", "clear", "on_warning", "MASK", "MIN_LENGTH"]

MASK = "<sensitive>"
#: Secrets shorter than this (ignoring surrounding white space) are not masked, but warned about.
MIN_LENGTH = 4
#: A run of base64 inside a larger blob is masked only from this length on (fewer would mask chance text).
_MIN_BASE64_CORE = 6

_lock = threading.Lock()
_secrets: Dict[str, "_Secret"] = {}
_short: List[str] = []
_pending: List[str] = []
_warn: Optional[Callable[[str], None]] = None

# -- the forms of one character ----------------------------------------------------------------------
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\a": "\\a", "\0": "\\0"}
_XML = {"&": ("&amp;",), "<": ("&lt;",), ">": ("&gt;",), '"': ("&quot;",), "'": ("&apos;", "&#39;", "&#x27;")}
#: PowerShell treats each of these as a single quote and doubles it inside a '...' literal.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def _plain(ch: str) -> bool:
    """Characters no encoder here changes: ASCII letters and digits."""
    return ch.isascii() and ch.isalnum()


def _hexes(value: int, width: int) -> List[str]:
    text = f"{value:0{width}x}"
    return sorted({text, text.upper()})


def _backslashed(ch: str) -> List[str]:
    """``ch`` under one level of backslash escaping (C, JSON, ``repr`` of text and bytes, ``printf %q``).

    A backslash itself is always escaped at this level: an escaper that left
    it raw would be undone by its reader. (Keeping each level consistent also
    keeps matching linear: a run of backslashes parses one way per level.)
    """
    if _plain(ch):
        return [ch]
    code = ord(ch)
    forms = {"\\" + ch}
    if ch != "\\":
        forms.add(ch)
    if ch in _NAMED:
        forms.add(_NAMED[ch])
    if code < 0x100:
        forms.update("\\x" + h for h in _hexes(code, 2))
        forms.add(f"\\{code:03o}")
    if code < 0x10000:
        forms.update("\\u" + h for h in _hexes(code, 4))
    else:
        forms.update("\\U" + h for h in _hexes(code, 8))
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.update(f"\\u{a}\\u{b}" for a in _hexes(high, 4) for b in _hexes(low, 4))
    if code >= 0x80:  # bytes' repr, byte by byte
        forms.add("".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
    return sorted(forms)


def _url_encoded(ch: str) -> List[str]:
    """``ch`` URL-encoded with any safe set (``quote``, ``quote_plus``, a client's own), either hex case."""
    if _plain(ch):
        return [ch]
    raw = ch.encode("utf-8", "surrogatepass")
    forms = {"".join(case(f"%{b:02x}") for b in raw) for case in (str.upper, str.lower)}
    if ch != "%":  # a % left as it is would be read as an escape
        forms.add(ch)
    if ch == " ":
        forms.add("+")
    return sorted(forms)


def _xml_escaped(ch: str) -> List[str]:
    """``ch`` as it is, XML-escaped (SOAP bodies), or a newline as a terminal or Windows writes it."""
    return [ch, *_XML.get(ch, ()), *(["\r\n"] if ch == "\n" else [])]


def _alternation(forms: Iterable[str]) -> str:
    parts = sorted(set(forms), key=lambda f: (-len(f), f))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


@functools.lru_cache(maxsize=4096)
def _escaped(escape: Callable[[str], List[str]], times: int, ch: str) -> str:
    """A regex of ``ch`` under ``escape`` applied ``times`` times (0: as it is)."""
    if times == 0 or _plain(ch):
        return re.escape(ch)
    return _alternation("".join(_escaped(escape, times - 1, c) for c in form) for form in escape(ch))


#: The encodings a whole secret may pass through, each applied consistently to every character:
#: (escape, how many times).
_LEVELS: List[Tuple[Callable[[str], List[str]], int]] = [
    (_xml_escaped, 1), (_backslashed, 1), (_backslashed, 2), (_url_encoded, 1), (_url_encoded, 2)]


def _sh_quoted(text: str) -> str:
    return text.replace("'", "'\"'\"'")  # close, a quoted quote, reopen: as shlex.quote and {{.Vars}} write it


#: How a secret is written inside a quoted string, each applied to the whole secret: as it is; inside
#: sh '...' (shlex.quote's '"'"' and the '\'' idiom); inside a PowerShell '...' literal (quotes doubled)
#: and "..." string (backtick escapes).
_QUOTINGS: List[Callable[[str], str]] = [
    lambda text: text,
    _sh_quoted,
    lambda text: text.replace("'", "'\\''"),
    lambda text: "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in text),
    lambda text: "".join("`" + ch if ch in "\"$`" else ch for ch in text),
    lambda text: "".join("`" + ch if ch in "\"$`'" else ch for ch in text),  # Packer's psEscape
]


def _secret_pattern(secret: str) -> str:
    """Every form of ``secret``: as each of the :data:`_QUOTINGS` writes it, then under each of the
    :data:`_LEVELS` of escaping or encoding. Each is applied to the whole secret (a writer quotes or
    escapes all of it the same way), which also keeps matching linear in the text."""
    forms: List[str] = []
    for quoting in _QUOTINGS:
        quoted = quoting(secret)
        for escape, times in _LEVELS:
            pattern = "".join(_escaped(escape, times, ch) for ch in quoted)
            if pattern not in forms:
                forms.append(pattern)
    return "|".join(forms)


# -- base64 -------------------------------------------------------------------------------------------
def _base64_cores(data: bytes) -> List[str]:
    """Runs of base64 text that ``data`` gives wherever it sits in a larger encoded blob.

    At each of the three byte alignments, the characters whose six bits all
    come from ``data`` (so do not depend on what surrounds it).
    """
    out = []
    for offset in range(3):
        padded = b"\0" * offset + data + b"\0\0\0"
        text = base64.b64encode(padded).decode("ascii")
        start, end = 8 * offset, 8 * (offset + len(data))
        first = -(-start // 6)
        last = (end - 6) // 6
        if last - first + 1 >= _MIN_BASE64_CORE:
            out.append(text[first:last + 1])
    return out


def _base64_forms(secret: str) -> List[str]:
    """The secret base64-encoded: whole and as it shows inside longer blobs, of UTF-8 and of UTF-16LE
    (PowerShell's ``-EncodedCommand``), of the secret as written and as sh or PowerShell quote it; and
    those UTF-8 forms once more inside a UTF-16LE blob (a script holding base64 arguments, itself encoded)."""
    texts = {quoting(secret) for quoting in _QUOTINGS}
    forms = set()
    for text in texts:
        for encoding in ("utf-8", "utf-16-le"):
            data = text.encode(encoding, "surrogatepass")
            whole = base64.b64encode(data).decode("ascii")
            cores = _base64_cores(data)
            forms.add(whole)
            forms.update(cores)
            if encoding == "utf-8":
                for inner in [whole.rstrip("=")] + cores:
                    forms.update(_base64_cores(inner.encode("utf-16-le")))
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}  # the URL-safe alphabet
    return sorted(forms, key=lambda f: (-len(f), f))


class _Secret:
    """One secret: a pattern of its forms, compiled when first needed, and a substring every match holds.

    Most secrets never show up at all: the pattern (large, slow to compile)
    is compiled only once a text holds the needle.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._pattern: Optional[Pattern[str]] = None
        runs = re.findall(r"[A-Za-z0-9]+", secret)
        needle = max(runs, key=len) if runs else ""
        self.needle = needle if len(needle) >= 2 else ""

    @property
    def pattern(self) -> Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(_secret_pattern(self.secret))
        return self._pattern

    def spans(self, text: str) -> Iterator[Tuple[int, int]]:
        if self.needle in text:
            yield from (m.span() for m in self.pattern.finditer(text))


#: The base64 forms of every secret, by their first :data:`_MIN_BASE64_CORE` characters, and a pattern
#: finding those beginnings (overlapping, in one pass however many secrets there are).
_base64_index: Dict[str, List[str]] = {}
_base64_starts: Optional[Pattern[str]] = None


def _index_base64(forms: Iterable[str]) -> None:
    """Add ``forms`` to the index (the caller holds the lock)."""
    global _base64_starts
    for form in forms:
        known = _base64_index.setdefault(form[:_MIN_BASE64_CORE], [])
        if form not in known:
            known.append(form)
    starts = _trie(sorted(_base64_index))
    _base64_starts = re.compile(f"(?=({starts}))") if _base64_index else None


def _trie(words: List[str]) -> str:
    """A regex matching any of ``words`` (all of one length), factored by common prefixes (fast in ``re``)."""
    if not words or not words[0]:
        return ""
    groups: Dict[str, List[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word[1:])
    parts = [re.escape(first) + _trie(rest) for first, rest in groups.items()]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _base64_spans(text: str) -> Iterator[Tuple[int, int]]:
    starts = _base64_starts
    if starts is None:
        return
    for match in starts.finditer(text):
        at = match.start()
        for form in _base64_index.get(match.group(1), ()):
            if text.startswith(form, at):
                yield at, at + len(form)


# -- the registry ---------------------------------------------------------------------------------------
def on_warning(callback: Optional[Callable[[str], None]]) -> None:
    """Say through ``callback`` that a secret cannot be protected (and what was said before it was set)."""
    global _warn
    with _lock:
        _warn = callback
        pending, _pending[:] = list(_pending), []
    if callback is not None:
        for text in pending:
            callback(text)


def add_secret(value: object, name: str = "") -> None:
    """Remember ``value`` (if a non-empty string) so it is masked from now on.

    ``name`` (the key or variable it came from) is used only in the warning
    about a secret too short to protect.
    """
    if not isinstance(value, str) or not value.strip():
        return
    if len(value.strip()) < MIN_LENGTH:
        _short_secret(value, name)
        return
    if value in _secrets:
        return
    compiled = _Secret(value)
    forms = _base64_forms(value)
    with _lock:
        if _secrets.setdefault(value, compiled) is compiled:
            _index_base64(forms)


def _short_secret(value: str, name: str) -> None:
    with _lock:
        if value in _short:
            return
        _short.append(value)
        what = f"the value of {name}" if name else "a secret value"
        text = (f"{what} is shorter than {MIN_LENGTH} characters, so it cannot be kept out of output and logs "
                f"(masking it would mask those characters everywhere): it is shown as is; use a longer secret")
        callback = _warn
        if callback is None:
            _pending.append(text)
    if callback is not None:
        callback(text)


def redact(text: str) -> str:
    """Return ``text`` with every form of every known secret replaced by :data:`MASK`.

    Overlapping matches (of one secret's forms or of several secrets) are
    masked as one span, so no part of any secret is left.
    """
    if not _secrets or not text:
        return text
    found = [span for secret in list(_secrets.values()) for span in secret.spans(text)]
    found += _base64_spans(text)
    masks = [(m.start(), m.end()) for m in re.finditer(re.escape(MASK), text)] if MASK in text else []
    spans = sorted(span for span in found if span[1] > span[0]  # masking twice changes nothing
                   and not any(start <= span[0] and span[1] <= end for start, end in masks))
    if not spans:
        return text
    out, pos = [], 0
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start <= end:
            end = max(end, next_end)
            continue
        out += [text[pos:start], MASK]
        pos, (start, end) = end, (next_start, next_end)
    out += [text[pos:start], MASK, text[end:]]
    return "".join(out)


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for raw output (undecodable bytes pass through as they are)."""
    if not _secrets or not data:
        return data
    return redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def multiline() -> int:
    """The most newlines any form of a secret holds (output is split into lines; see ``ui.LineBuffer``)."""
    return max((s.count("\n") for s in list(_secrets)), default=0)



def clear() -> None:
    """Forget every secret and warning (for tests)."""
    global _warn
    with _lock:
        _secrets.clear()
        _base64_index.clear()
        _index_base64(())
        _short.clear()
        _pending.clear()
        _warn = None

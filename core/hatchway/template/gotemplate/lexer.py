"""The lexer of Go's ``text/template`` (``text/template/parse/lex.go``), one pass, linear in the input.

Produces :class:`Item` tokens: text between actions, and inside ``{{ }}`` the
operands, keywords and punctuation of an action. ``{{-`` and ``-}}`` trim the
whitespace next to them; ``}}`` inside a quoted string does not end an action.
"""
from __future__ import annotations

from typing import List, NamedTuple

__all__ = ["Item", "lex", "TemplateSyntaxError", "KEYWORDS", "position"]

LEFT, RIGHT = "{{", "}}"
SPACE = " \t\r\n"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"}


class TemplateSyntaxError(Exception):
    """A template cannot be parsed; ``pos`` is the offset in the source."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class Item(NamedTuple):
    kind: str  # text, left, right, comment, space, identifier, field, variable, dot, bool, number, char,
    #            string, rawstring, charconst, pipe, declare, assign, lparen, rparen, keyword, eof
    val: str
    pos: int


def position(text: str, pos: int) -> str:
    """``line:column`` (1-based) of offset ``pos`` in ``text``."""
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def _alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


def lex(text: str) -> List[Item]:
    """Every item of ``text``; raise :class:`TemplateSyntaxError` at the first bad one."""
    items: List[Item] = []
    n = len(text)
    pos = 0
    while pos < n:
        start = text.find(LEFT, pos)
        if start < 0:
            items.append(Item("text", text[pos:], pos))
            break
        trim_left = text.startswith("-", start + 2) and start + 3 < n and text[start + 3] in SPACE
        chunk = text[pos:start]
        if trim_left:
            chunk = chunk.rstrip(SPACE)
        if chunk:
            items.append(Item("text", chunk, pos))
        pos = _lex_action(text, start, trim_left, items)
    items.append(Item("eof", "", n))
    return items


def _right_delim(text: str, pos: int) -> int:
    """Length of a right delimiter at ``pos`` (with its trim marker), or 0."""
    if text.startswith(RIGHT, pos):
        return 2
    if text.startswith(" -" + RIGHT, pos) or (pos < len(text) and text[pos] in SPACE and text.startswith("-" + RIGHT, pos + 1)):
        return 4
    return 0


def _after_right(text: str, pos: int, length: int) -> int:
    """Position after a right delimiter of ``length`` at ``pos``; ``-}}`` trims following space."""
    end = pos + length
    if length == 4:
        while end < len(text) and text[end] in SPACE:
            end += 1
    return end


def _lex_action(text: str, start: int, trim: bool, items: List[Item]) -> int:
    n = len(text)
    pos = start + 2 + (2 if trim else 0)
    items.append(Item("left", LEFT, start))
    # a comment: {{/* ... */}}
    if text.startswith("/*", pos):
        end = text.find("*/", pos + 2)
        if end < 0:
            raise TemplateSyntaxError("unclosed comment", start)
        after = end + 2
        length = _right_delim(text, after)
        if not length:
            raise TemplateSyntaxError("comment ends before closing delimiter", start)
        items.append(Item("comment", text[pos:after], pos))
        items.append(Item("right", text[after:after + length], after))
        return _after_right(text, after, length)
    depth = 0
    while True:
        length = _right_delim(text, pos)
        if length:
            if depth:
                raise TemplateSyntaxError("unclosed left paren", pos)
            items.append(Item("right", text[pos:pos + length], pos))
            return _after_right(text, pos, length)
        if pos >= n:
            raise TemplateSyntaxError("unclosed action", start)
        c = text[pos]
        if c in SPACE:
            end = pos
            while end < n and text[end] in SPACE:
                if _right_delim(text, end) == 4:
                    break
                end += 1
            items.append(Item("space", text[pos:end], pos))
            pos = end
        elif c == "=":
            items.append(Item("assign", "=", pos))
            pos += 1
        elif c == ":":
            if not text.startswith("=", pos + 1):
                raise TemplateSyntaxError("expected :=", pos)
            items.append(Item("declare", ":=", pos))
            pos += 2
        elif c == "|":
            items.append(Item("pipe", "|", pos))
            pos += 1
        elif c == '"':
            end = pos + 1
            while True:
                if end >= n or text[end] == "\n":
                    raise TemplateSyntaxError("unterminated quoted string", pos)
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == '"':
                    break
                end += 1
            items.append(Item("string", text[pos:end + 1], pos))
            pos = end + 1
        elif c == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise TemplateSyntaxError("unterminated raw quoted string", pos)
            items.append(Item("rawstring", text[pos:end + 1], pos))
            pos = end + 1
        elif c == "'":
            end = pos + 1
            while True:
                if end >= n or text[end] == "\n":
                    raise TemplateSyntaxError("unterminated character constant", pos)
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == "'":
                    break
                end += 1
            items.append(Item("charconst", text[pos:end + 1], pos))
            pos = end + 1
        elif c == "$" or (c == "." and not (pos + 1 < n and text[pos + 1].isdigit())):
            kind = "variable" if c == "$" else "field"
            end = pos + 1
            while end < n and _alnum(text[end]):
                end += 1
            if end == pos + 1 and c == ".":
                kind = "dot"
            _check_terminator(text, end)
            items.append(Item(kind, text[pos:end], pos))
            pos = end
        elif c in "+-." or c.isdigit():
            end = _scan_number(text, pos)
            items.append(Item("number", text[pos:end], pos))
            pos = end
        elif _alnum(c):
            end = pos
            while end < n and _alnum(text[end]):
                end += 1
            _check_terminator(text, end)
            word = text[pos:end]
            if word in KEYWORDS:
                items.append(Item("keyword", word, pos))
            elif word in ("true", "false"):
                items.append(Item("bool", word, pos))
            else:
                items.append(Item("identifier", word, pos))
            pos = end
        elif c == "(":
            depth += 1
            items.append(Item("lparen", c, pos))
            pos += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise TemplateSyntaxError("unexpected right paren", pos)
            items.append(Item("rparen", c, pos))
            pos += 1
        elif c.isascii() and c.isprintable():
            items.append(Item("char", c, pos))
            pos += 1
        else:
            raise TemplateSyntaxError(f"unrecognized character in action: U+{ord(c):04X}", pos)


def _check_terminator(text: str, pos: int) -> None:
    if pos >= len(text):
        return
    c = text[pos]
    if c in SPACE or c in ".,|:()" or text.startswith(RIGHT, pos):
        return
    raise TemplateSyntaxError(f"bad character U+{ord(c):04X} {c!r}", pos)


def _scan_number(text: str, pos: int) -> int:
    n = len(text)
    end = pos
    if end < n and text[end] in "+-":
        end += 1
    digits = "0123456789_"
    if text.startswith(("0x", "0X"), end):
        end += 2
        digits = "0123456789abcdefABCDEF_"
    elif text.startswith(("0o", "0O"), end):
        end += 2
        digits = "01234567_"
    elif text.startswith(("0b", "0B"), end):
        end += 2
        digits = "01_"
    while end < n and text[end] in digits:
        end += 1
    if end < n and text[end] == ".":
        end += 1
        while end < n and text[end] in digits:
            end += 1
    exponent = "pP" if len(digits) > 16 else "eE"
    if end < n and text[end] in exponent:
        end += 1
        if end < n and text[end] in "+-":
            end += 1
        while end < n and text[end] in "0123456789_":
            end += 1
    if end < n and text[end] == "i":
        end += 1
    if end < n and _alnum(text[end]):
        stop = end
        while stop < n and _alnum(text[stop]):
            stop += 1
        raise TemplateSyntaxError(f"bad number syntax: {text[pos:stop]!r}", pos)
    return end

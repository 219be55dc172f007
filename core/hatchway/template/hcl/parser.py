"""HCL native syntax -> :mod:`.ast`, following hashicorp/hcl ``hclsyntax/spec.md``.

A hand-written recursive-descent parser: scanning is done on demand from the
parser's position, so quoted templates, heredocs and interpolations nest
naturally, and every node gets an exact range. Syntax errors are
:class:`~.diagnostics.Diagnostic` objects with HCL's own wording; the body
parser recovers at the next line so that every error of a file is reported.

This module is the parser seam: :func:`parse` (and :func:`parse_expression`,
:func:`parse_template`) are all the rest of Hatchway uses.
"""
from __future__ import annotations

import bisect
import re
from typing import Any, Dict, List, Optional, Tuple

from .ast import (
    Attribute, Binary, Block, Body, Call, Conditional, Expr, ForExpr, GetAttr, Index, Literal, Node, ObjectCons,
    Paren, Pos, Range, Splat, SplatAnchor, Template, TemplateFor, TemplateIf, TemplateInterp, TemplateLit,
    TupleCons, Unary, Variable,
)
from .diagnostics import Diagnostic, register_source

__all__ = ["parse", "parse_expression", "parse_template", "ParseError"]


class ParseError(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.summary)
        self.diag = diag


_IDENT = re.compile(r"[^\W\d][\w-]*", re.UNICODE)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SPACE = re.compile(r"[ \t\r]+")
_HEREDOC = re.compile(r"<<(-?)([^\W\d][\w-]*)[ \t]*\r?\n")
_OPS = ["...", "=>", "==", "!=", "<=", ">=", "&&", "||", "${", "%{", "{", "}", "[", "]", "(", ")", ",", ".",
        "=", "?", ":", "<", ">", "+", "-", "*", "/", "%", "!", "~"]

# binary operators by precedence level, loosest first
_LEVELS = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]


class Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int) -> None:
        self.kind, self.text, self.start, self.end = kind, text, start, end

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r})"


class _Parser:
    def __init__(self, text: str, filename: str, pos: int = 0) -> None:
        self.src = text
        self.filename = filename
        self.pos = pos
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.nl_stack: List[bool] = [False]  # True: newlines are insignificant here
        self.diags: List[Diagnostic] = []
        self._tokens: Dict[Tuple[int, bool], Token] = {}

    # -- positions -----------------------------------------------------------
    def p(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.line_starts, offset)
        return Pos(line, offset - self.line_starts[line - 1] + 1, offset)

    def rng(self, start: int, end: int) -> Range:
        return Range(self.filename, self.p(start), self.p(max(end, start)))

    def error(self, summary: str, detail: str, start: int, end: Optional[int] = None) -> ParseError:
        if end is None:
            end = start + 1 if start < len(self.src) else start
        return ParseError(Diagnostic(summary, detail, self.rng(start, end)))

    # -- scanning --------------------------------------------------------------
    def _skip_space(self, pos: int, newlines: bool) -> int:
        src = self.src
        n = len(src)
        while pos < n:
            c = src[pos]
            if c in " \t\r":
                m = _SPACE.match(src, pos)
                pos = m.end()  # type: ignore[union-attr]
            elif c == "\n" and newlines:
                pos += 1
            elif c == "#" or src.startswith("//", pos):
                end = src.find("\n", pos)
                pos = n if end < 0 else end
            elif src.startswith("/*", pos):
                end = src.find("*/", pos + 2)
                if end < 0:
                    raise self.error("Unterminated comment", "There is no closing marker for this comment.",
                                     pos, pos + 2)
                pos = end + 2
            else:
                break
        return pos

    def scan(self, pos: int, newlines: Optional[bool] = None) -> Token:
        """The token at ``pos`` (after spaces and comments); the parser peeks a lot, so tokens are cached."""
        if newlines is None:
            newlines = self.nl_stack[-1]
        key = (pos, newlines)
        tok = self._tokens.get(key)
        if tok is None:
            tok = self._tokens[key] = self._scan(pos, newlines)
        return tok

    def _scan(self, pos: int, newlines: bool) -> Token:
        src = self.src
        pos = self._skip_space(pos, newlines)
        if pos >= len(src):
            return Token("EOF", "", pos, pos)
        c = src[pos]
        if c == "\n":
            return Token("NL", "\n", pos, pos + 1)
        if c == '"':
            return Token("OQUOTE", '"', pos, pos + 1)
        if c.isdigit():
            m = _NUMBER.match(src, pos)
            return Token("NUMBER", m.group(), pos, m.end())  # type: ignore[union-attr]
        if c == "<" and src.startswith("<<", pos):
            m = _HEREDOC.match(src, pos)
            if m:
                return Token("HEREDOC", m.group(), pos, m.end())
        m = _IDENT.match(src, pos)
        if m:
            return Token("IDENT", m.group(), pos, m.end())
        for op in _OPS:
            if src.startswith(op, pos):
                return Token(op, op, pos, pos + len(op))
        return Token("INVALID", c, pos, pos + 1)

    def peek(self) -> Token:
        return self.scan(self.pos)

    def take(self) -> Token:
        tok = self.scan(self.pos)
        self.pos = tok.end
        return tok

    def expect(self, kind: str, summary: str, detail: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            raise self.error(summary, detail, tok.start, tok.end)
        return self.take()

    # -- bodies ----------------------------------------------------------------
    def parse_body(self, start: int, end_kind: str) -> Body:
        body = Body(self.rng(start, start))
        self.nl_stack.append(False)
        try:
            while True:
                tok = self.peek()
                if tok.kind == "NL":
                    self.take()
                    continue
                if tok.kind == end_kind or tok.kind == "EOF":
                    break
                try:
                    self.parse_item(body)
                except ParseError as exc:
                    self.diags.append(exc.diag)
                    if not self.recover(end_kind):
                        break
        finally:
            self.nl_stack.pop()
        body.range = self.rng(start, self.pos)
        return body

    def recover(self, end_kind: str) -> bool:
        """Skip to the start of the next line at this nesting level; False at EOF."""
        depth = 0
        while True:
            try:
                tok = self.scan(self.pos, newlines=depth > 0)
            except ParseError:
                self.pos += 1
                continue
            if tok.kind == "EOF":
                return False
            if tok.kind == "OQUOTE":  # skip a string as a whole
                end = self.src.find('"', tok.end)
                nl = self.src.find("\n", tok.end)
                self.pos = (end + 1) if end >= 0 and (nl < 0 or end < nl) else (nl if nl >= 0 else len(self.src))
                continue
            if depth == 0 and tok.kind == "NL":
                self.pos = tok.end
                return True
            if depth == 0 and tok.kind == end_kind:
                return True
            if tok.kind in ("{", "[", "(", "${", "%{"):
                depth += 1
            elif tok.kind in ("}", "]", ")") and depth > 0:
                depth -= 1
            self.pos = tok.end

    def parse_item(self, body: Body) -> None:
        tok = self.peek()
        if tok.kind != "IDENT":
            raise self.error("Argument or block definition required",
                             "An argument or block definition is required here.", tok.start, tok.end)
        self.take()
        name, name_range = tok.text, self.rng(tok.start, tok.end)
        nxt = self.peek()
        if nxt.kind == "=":
            self.take()
            expr = self.parse_expr()
            attr = Attribute(name, expr, name_range.to(expr.range), name_range)
            self.end_of_item("Missing newline after argument", "An argument definition must end with a newline.")
            if name in body.attributes:
                prev = body.attributes[name]
                self.diags.append(Diagnostic(
                    "Attribute redefined",
                    f"The argument \"{name}\" was already set at {_short(prev.name_range)}. "
                    "Each argument may be set only once.", name_range))
                return
            body.attributes[name] = attr
            body.items.append(attr)
            return
        labels: List[str] = []
        label_ranges: List[Range] = []
        while True:
            nxt = self.peek()
            if nxt.kind == "OQUOTE":
                tmpl = self.parse_quoted()
                text = tmpl.literal()
                if text is None:
                    raise ParseError(Diagnostic("Invalid string literal",
                                                "Template sequences are not allowed in this string.", tmpl.range))
                labels.append(text)
                label_ranges.append(tmpl.range)
            elif nxt.kind == "IDENT":
                self.take()
                labels.append(nxt.text)
                label_ranges.append(self.rng(nxt.start, nxt.end))
            else:
                break
        nxt = self.peek()
        if nxt.kind != "{":
            if labels:
                raise self.error("Invalid block definition",
                                 "Either a quoted string block label or an opening brace (\"{\") is expected here.",
                                 nxt.start, nxt.end)
            raise self.error("Invalid argument or block definition"
                             if nxt.kind not in ("NL", "EOF") else "Argument or block definition required",
                             "An equals sign (\"=\") must follow an argument name, or a block type name must be "
                             "followed by block labels and an opening brace (\"{\").", nxt.start, nxt.end)
        open_tok = self.take()
        header = name_range.to(label_ranges[-1]) if label_ranges else name_range
        inner = self.parse_body(open_tok.end, "}")
        close = self.peek()
        if close.kind != "}":
            raise ParseError(Diagnostic(
                "Unclosed configuration block",
                "There is no closing brace for this block before the end of the file. This may be caused by "
                "incorrect brace nesting elsewhere in this file.", self.rng(open_tok.start, open_tok.end)))
        self.take()
        block = Block(name, labels, label_ranges, inner, header, name_range)
        body.blocks.append(block)
        body.items.append(block)
        self.end_of_item("Missing newline after block definition",
                         "A block definition must end with a newline.")

    def end_of_item(self, summary: str, detail: str) -> None:
        tok = self.scan(self.pos, newlines=False)
        if tok.kind in ("NL", "EOF", "}"):
            if tok.kind == "NL":
                self.pos = tok.end
            return
        raise self.error(summary, detail, tok.start, tok.end)

    # -- expressions -----------------------------------------------------------
    def parse_expr(self) -> Expr:
        cond = self.parse_binary(0)
        if self.peek().kind != "?":
            return cond
        self.take()
        true = self.parse_expr()
        self.expect(":", "Missing false expression in conditional",
                    "The conditional operator (...?...:...) requires a false expression, delimited by a colon.")
        false = self.parse_expr()
        return Conditional(cond, true, false, cond.range.to(false.range))

    def parse_binary(self, level: int) -> Expr:
        if level == len(_LEVELS):
            return self.parse_unary()
        left = self.parse_binary(level + 1)
        ops = _LEVELS[level]
        while True:
            tok = self.peek()
            if tok.kind not in ops:
                return left
            self.take()
            right = self.parse_binary(level + 1)
            left = Binary(tok.kind, left, right, left.range.to(right.range))

    def parse_unary(self) -> Expr:
        tok = self.peek()
        if tok.kind in ("!", "-"):
            self.take()
            operand = self.parse_unary()
            if tok.kind == "-" and isinstance(operand, Literal) and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return Literal(-operand.value, self.rng(tok.start, tok.end).to(operand.range))
            return Unary(tok.kind, operand, self.rng(tok.start, tok.end).to(operand.range))
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, expr: Expr) -> Expr:
        while True:
            tok = self.peek()
            if tok.kind == ".":
                nxt = self.scan(tok.end)
                if nxt.kind == "*":
                    self.pos = nxt.end
                    anchor = SplatAnchor(self.rng(tok.start, nxt.end))
                    each: Expr = anchor
                    while self.peek().kind == "." and self.scan(self.peek().end).kind == "IDENT":
                        each = self.parse_attr_step(each)
                    expr = Splat(expr, each, False, expr.range.to(self.rng(nxt.start, self.pos)))
                    continue
                if nxt.kind == "NUMBER" and nxt.text.isdigit():  # legacy index: a.0
                    self.pos = nxt.end
                    expr = Index(expr, Literal(int(nxt.text), self.rng(nxt.start, nxt.end)),
                                 expr.range.to(self.rng(nxt.start, nxt.end)), legacy=True)
                    continue
                expr = self.parse_attr_step(expr)
            elif tok.kind == "[":
                nxt = self.scan(tok.end, newlines=True)
                if nxt.kind == "*":
                    close = self.scan(nxt.end, newlines=True)
                    if close.kind != "]":
                        raise self.error("Missing close bracket on splat index",
                                         "The star for a full splat operator must be immediately followed by a "
                                         "closing bracket (\"]\").", close.start, close.end)
                    self.pos = close.end
                    each = SplatAnchor(self.rng(tok.start, close.end))
                    while True:
                        t = self.peek()
                        if t.kind == "." and self.scan(t.end).kind == "IDENT":
                            each = self.parse_attr_step(each)
                        elif t.kind == "[":
                            each = self.parse_index_step(each)
                        else:
                            break
                    expr = Splat(expr, each, True, expr.range.to(self.rng(tok.start, self.pos)))
                    continue
                expr = self.parse_index_step(expr)
            else:
                return expr

    def parse_attr_step(self, expr: Expr) -> Expr:
        self.take()  # the dot
        name = self.peek()
        if name.kind != "IDENT":
            raise self.error("Invalid attribute name", "An attribute name is required after a dot.",
                             name.start, name.end)
        self.take()
        name_range = self.rng(name.start, name.end)
        return GetAttr(expr, name.text, expr.range.to(name_range), name_range)

    def parse_index_step(self, expr: Expr) -> Expr:
        open_tok = self.take()
        self.nl_stack.append(True)
        try:
            key = self.parse_expr()
            close = self.peek()
            if close.kind != "]":
                raise self.error("Missing close bracket on index",
                                 "The index operator must end with a closing bracket (\"]\").",
                                 close.start, close.end)
            self.take()
        finally:
            self.nl_stack.pop()
        return Index(expr, key, expr.range.to(self.rng(open_tok.start, close.end)))

    def parse_primary(self) -> Expr:
        tok = self.peek()
        kind = tok.kind
        if kind == "NUMBER":
            self.take()
            text = tok.text
            value: Any = float(text) if any(c in text for c in ".eE") else int(text)
            if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
                value = int(value)
            return Literal(value, self.rng(tok.start, tok.end))
        if kind == "IDENT":
            self.take()
            r = self.rng(tok.start, tok.end)
            if tok.text == "true":
                return Literal(True, r)
            if tok.text == "false":
                return Literal(False, r)
            if tok.text == "null":
                return Literal(None, r)
            nxt = self.scan(tok.end)
            if nxt.kind == "(":
                return self.parse_call(tok)
            if nxt.kind == ":" and self.src.startswith("::", nxt.start):
                raise self.error("Invalid function name", "Provider-namespaced functions are not supported.",
                                 nxt.start, nxt.end + 1)
            return Variable(tok.text, r)
        if kind == "OQUOTE":
            return self.parse_quoted()
        if kind == "HEREDOC":
            return self.parse_heredoc()
        if kind == "(":
            self.take()
            self.nl_stack.append(True)
            try:
                inner = self.parse_expr()
                close = self.peek()
                if close.kind != ")":
                    raise self.error("Missing close parenthesis",
                                     "Expected a closing parenthesis to terminate the expression.",
                                     close.start, close.end)
                self.take()
            finally:
                self.nl_stack.pop()
            return Paren(inner, self.rng(tok.start, close.end))
        if kind == "[":
            return self.parse_tuple()
        if kind == "{":
            return self.parse_object()
        raise self.error("Invalid expression",
                         "Expected the start of an expression, but found an invalid expression token.",
                         tok.start, tok.end)

    def parse_call(self, name: Token) -> Expr:
        self.take()  # (
        args: List[Expr] = []
        expand = False
        self.nl_stack.append(True)
        try:
            while True:
                tok = self.peek()
                if tok.kind == ")":
                    break
                args.append(self.parse_expr())
                tok = self.peek()
                if tok.kind == "...":
                    self.take()
                    expand = True
                    tok = self.peek()
                    if tok.kind != ")":
                        raise self.error("Missing closing parenthesis",
                                         "An expanded function argument (with ...) must be immediately followed "
                                         "by closing parentheses.", tok.start, tok.end)
                    break
                if tok.kind == ",":
                    self.take()
                    continue
                if tok.kind != ")":
                    raise self.error("Missing argument separator",
                                     "A comma is required to separate each function argument from the next.",
                                     tok.start, tok.end)
            close = self.take()
        finally:
            self.nl_stack.pop()
        return Call(name.text, args, expand, self.rng(name.start, close.end), self.rng(name.start, name.end))

    def _is_for(self) -> bool:
        tok = self.peek()
        return tok.kind == "IDENT" and tok.text == "for" and self.scan(tok.end).kind == "IDENT"

    def parse_tuple(self) -> Expr:
        open_tok = self.take()
        self.nl_stack.append(True)
        try:
            if self._is_for():
                return self.parse_for(open_tok, False)
            items: List[Expr] = []
            while True:
                tok = self.peek()
                if tok.kind == "]":
                    break
                items.append(self.parse_expr())
                tok = self.peek()
                if tok.kind == ",":
                    self.take()
                    continue
                if tok.kind != "]":
                    raise self.error("Missing item separator",
                                     "Expected a comma to mark the beginning of the next item.", tok.start, tok.end)
            close = self.take()
        finally:
            self.nl_stack.pop()
        return TupleCons(items, self.rng(open_tok.start, close.end))

    def parse_object(self) -> Expr:
        open_tok = self.take()
        self.nl_stack.append(True)
        try:
            if self._is_for():
                return self.parse_for(open_tok, True)
        finally:
            self.nl_stack.pop()
        self.nl_stack.append(False)
        items: List[Tuple[Expr, Expr, bool]] = []
        try:
            while True:
                tok = self.peek()
                if tok.kind == "NL":
                    self.take()
                    continue
                if tok.kind == "}":
                    break
                if tok.kind == "EOF":
                    raise self.error("Missing close brace on object",
                                     "Expected a closing brace (\"}\") to end the object.", tok.start, tok.end)
                key = self.parse_expr()
                bare = isinstance(key, Variable)
                sep = self.peek()
                if sep.kind not in ("=", ":"):
                    raise self.error("Missing key/value separator",
                                     "Expected an equals sign (\"=\") to mark the beginning of the attribute "
                                     "value.", sep.start, sep.end)
                self.take()
                value = self.parse_expr()
                items.append((key, value, bare))
                tok = self.peek()
                if tok.kind in (",", "NL"):
                    self.take()
                    continue
                if tok.kind != "}":
                    raise self.error("Missing attribute separator",
                                     "Expected a newline or comma to mark the beginning of the next attribute.",
                                     tok.start, tok.end)
            close = self.take()
        finally:
            self.nl_stack.pop()
        return ObjectCons(items, self.rng(open_tok.start, close.end))

    def parse_for(self, open_tok: Token, is_object: bool) -> Expr:
        self.take()  # "for"
        first = self.expect("IDENT", "Invalid 'for' expression",
                            "For expression requires variable name after 'for'.")
        key_var: Optional[str] = None
        value_var = first.text
        if self.peek().kind == ",":
            self.take()
            second = self.expect("IDENT", "Invalid 'for' expression",
                                 "For expression requires value variable name after comma.")
            key_var, value_var = first.text, second.text
        tok = self.peek()
        if not (tok.kind == "IDENT" and tok.text == "in"):
            raise self.error("Invalid 'for' expression", "For expression requires the 'in' keyword after its "
                             "name declarations.", tok.start, tok.end)
        self.take()
        coll = self.parse_expr()
        self.expect(":", "Invalid 'for' expression",
                    "For expression requires a colon after the collection expression.")
        key: Optional[Expr] = None
        value = self.parse_expr()
        if is_object:
            self.expect("=>", "Invalid 'for' expression",
                        "Key expression in 'for' expression must be followed by an arrow (\"=>\").")
            key, value = value, self.parse_expr()
        group = False
        if is_object and self.peek().kind == "...":
            self.take()
            group = True
        cond: Optional[Expr] = None
        tok = self.peek()
        if tok.kind == "IDENT" and tok.text == "if":
            self.take()
            cond = self.parse_expr()
        close_kind = "}" if is_object else "]"
        tok = self.peek()
        if tok.kind != close_kind:
            raise self.error("Invalid 'for' expression",
                             "Extra characters after the end of the 'for' expression.", tok.start, tok.end)
        self.take()
        return ForExpr(key_var, value_var, coll, key, value, cond, group, is_object,
                       self.rng(open_tok.start, tok.end))

    # -- templates -------------------------------------------------------------
    def parse_quoted(self) -> Template:
        open_tok = self.take()
        parts, end = self.template_parts(open_tok.end, quoted=True)
        self.pos = end
        return Template(parts, self.rng(open_tok.start, end))

    def parse_heredoc(self) -> Template:
        tok = self.take()
        m = _HEREDOC.match(tok.text)
        assert m is not None
        flush, marker = m.group(1) == "-", m.group(2)
        src = self.src
        # find the closing marker line
        pos = tok.end
        body_start = pos
        while True:
            if pos >= len(src):
                raise self.error("Unterminated template string",
                                 f"No closing marker was found for the heredoc {marker}.", tok.start, tok.end)
            nl = src.find("\n", pos)
            line = src[pos: nl if nl >= 0 else len(src)]
            if line.strip() == marker:
                body_end = pos
                close_end = pos + len(line)
                break
            if nl < 0:
                raise self.error("Unterminated template string",
                                 f"No closing marker was found for the heredoc {marker}.", tok.start, tok.end)
            pos = nl + 1
        indent = 0
        if flush:
            widths = []
            for line in src[body_start:body_end].split("\n"):
                if line.strip():
                    widths.append(len(line) - len(line.lstrip(" \t")))
            indent = min(widths) if widths else 0
        parts, _ = self.template_parts(body_start, quoted=False, end=body_end, indent=indent)
        self.pos = close_end
        return Template(parts, self.rng(tok.start, close_end), heredoc=("<<-" if flush else "<<") + marker)

    def template_parts(self, pos: int, quoted: bool, end: Optional[int] = None, indent: int = 0,
                       ) -> Tuple[List[Node], int]:
        """Scan a template from ``pos``; return the nested parts and the offset after it."""
        src = self.src
        limit = len(src) if end is None else end
        flat: List[Any] = []  # TemplateLit / ("interp"|"if"|"else"|"endif"|"for"|"endfor", node, lstrip, rstrip, start, end)
        buf: List[str] = []
        buf_start = pos
        at_line_start = not quoted

        def flush_lit(upto: int) -> None:
            nonlocal buf
            if buf:
                flat.append(TemplateLit("".join(buf), self.rng(buf_start, upto)))
            buf = []

        while True:
            if at_line_start and indent:
                k = 0
                while k < indent and pos < limit and src[pos] in " \t":
                    pos += 1
                    k += 1
                if not buf:
                    buf_start = pos
            at_line_start = False
            if pos >= limit:
                if quoted:
                    raise self.error("Unterminated template string", "No closing marker was found for the string.",
                                     buf_start, pos)
                break
            c = src[pos]
            if quoted and c == '"':
                flush_lit(pos)
                pos += 1
                break
            if quoted and c == "\n":
                raise self.error("Unterminated template string", "No closing marker was found for the string.",
                                 pos, pos + 1)
            if c in "$%" and src.startswith(c + c + "{", pos):
                if not buf:
                    buf_start = pos
                buf.append(c + "{")
                pos += 3
                continue
            if c in "$%" and src.startswith(c + "{", pos):
                flush_lit(pos)
                start = pos
                pos += 2
                lstrip = src.startswith("~", pos)
                if lstrip:
                    pos += 1
                if c == "$":
                    self.pos = pos
                    self.nl_stack.append(True)
                    try:
                        expr = self.parse_expr()
                        tok = self.peek()
                    finally:
                        self.nl_stack.pop()
                    rstrip = tok.kind == "~"
                    if rstrip:
                        self.pos = tok.end
                        tok = self.scan(self.pos, newlines=True)
                    if tok.kind != "}":
                        raise self.error("Extra characters after interpolation expression",
                                         "Expected a closing brace to end the interpolation expression, but found "
                                         "extra characters.", tok.start, tok.end)
                    pos = tok.end
                    flat.append(("interp", expr, lstrip, rstrip, start, pos))
                else:
                    pos = self._directive(pos, start, lstrip, flat)
                buf_start = pos
                continue
            if quoted and c == "\\":
                if not buf:
                    buf_start = pos
                pos = self._escape(pos, buf)
                continue
            if not buf:
                buf_start = pos
            buf.append(c)
            pos += 1
            if c == "\n":
                at_line_start = True
        if not quoted:
            flush_lit(pos)
        return self._nest(flat), pos

    def _directive(self, pos: int, start: int, lstrip: bool, flat: List[Any]) -> int:
        self.pos = pos
        self.nl_stack.append(True)
        try:
            kw = self.peek()
            if kw.kind != "IDENT" or kw.text not in ("if", "else", "endif", "for", "endfor"):
                raise self.error("Invalid template directive",
                                 "A template directive keyword (\"if\", \"for\", etc) is expected at the beginning "
                                 "of a %{ sequence.", kw.start, kw.end)
            self.take()
            node: Any = None
            if kw.text == "if":
                node = self.parse_expr()
            elif kw.text == "for":
                first = self.expect("IDENT", "Invalid 'for' directive",
                                    "For directive requires variable name after 'for'.")
                names = [first.text]
                if self.peek().kind == ",":
                    self.take()
                    names.append(self.expect("IDENT", "Invalid 'for' directive",
                                             "For directive requires value variable name after comma.").text)
                tok = self.peek()
                if not (tok.kind == "IDENT" and tok.text == "in"):
                    raise self.error("Invalid 'for' directive",
                                     "For directive requires 'in' keyword after names.", tok.start, tok.end)
                self.take()
                node = (names, self.parse_expr())
            tok = self.peek()
            rstrip = tok.kind == "~"
            if rstrip:
                self.take()
                tok = self.peek()
            if tok.kind != "}":
                raise self.error("Extra characters in %s marker" % kw.text,
                                 "Expected a closing brace to end the sequence, but found extra characters.",
                                 tok.start, tok.end)
            self.take()
        finally:
            self.nl_stack.pop()
        flat.append((kw.text, node, lstrip, rstrip, start, self.pos))
        return self.pos

    def _escape(self, pos: int, buf: List[str]) -> int:
        src = self.src
        nxt = src[pos + 1: pos + 2]
        simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
        if nxt in simple:
            buf.append(simple[nxt])
            return pos + 2
        if nxt in ("u", "U"):
            width = 4 if nxt == "u" else 8
            digits = src[pos + 2: pos + 2 + width]
            if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                buf.append(chr(int(digits, 16)))
                return pos + 2 + width
            raise self.error("Invalid escape sequence",
                             f"The \\{nxt} escape sequence must be followed by {width} hexadecimal digits.",
                             pos, pos + 2)
        raise self.error("Invalid escape sequence",
                         f"The symbol \"{nxt}\" is not a valid escape sequence selector.", pos, pos + 2)

    def _nest(self, flat: List[Any]) -> List[Node]:
        # strip markers first
        for i, item in enumerate(flat):
            if isinstance(item, tuple):
                _, _, lstrip, rstrip, _, _ = item
                if lstrip and i > 0 and isinstance(flat[i - 1], TemplateLit):
                    flat[i - 1].text = flat[i - 1].text.rstrip(" \t\r\n")
                if rstrip and i + 1 < len(flat) and isinstance(flat[i + 1], TemplateLit):
                    flat[i + 1].text = flat[i + 1].text.lstrip(" \t\r\n")
        pos = 0

        def seq(stop: Tuple[str, ...]) -> Tuple[List[Node], Optional[tuple]]:
            nonlocal pos
            out: List[Node] = []
            while pos < len(flat):
                item = flat[pos]
                pos += 1
                if isinstance(item, TemplateLit):
                    if item.text:
                        out.append(item)
                    continue
                kind, node, _, _, start, end = item
                r = self.rng(start, end)
                if kind == "interp":
                    out.append(TemplateInterp(node, r))
                elif kind == "if":
                    then, closer = seq(("else", "endif"))
                    else_: List[Node] = []
                    if closer is not None and closer[0] == "else":
                        else_, closer = seq(("endif",))
                    if closer is None:
                        raise ParseError(Diagnostic("Unterminated template directive",
                                                    "Missing %{ endif } to close this %{ if }.", r))
                    out.append(TemplateIf(node, then, else_, self.rng(start, closer[5])))
                elif kind == "for":
                    body, closer = seq(("endfor",))
                    if closer is None:
                        raise ParseError(Diagnostic("Unterminated template directive",
                                                    "Missing %{ endfor } to close this %{ for }.", r))
                    names, coll = node
                    key_var, value_var = (names[0], names[1]) if len(names) == 2 else (None, names[0])
                    out.append(TemplateFor(key_var, value_var, coll, body, self.rng(start, closer[5])))
                elif kind in stop:
                    return out, item
                else:
                    raise ParseError(Diagnostic(f"Unexpected {kind} directive",
                                                f"The %{{ {kind} }} marker has no matching opening directive.", r))
            return out, None

        parts, _ = seq(())
        return parts


def _short(r: Range) -> str:
    return f"{r.filename}:{r.start.line},{r.start.column}-{r.end.column}"


def parse(text: str, filename: str) -> Tuple[Body, List[Diagnostic]]:
    """Parse a whole ``.pkr.hcl`` file. Returns the body (possibly partial) and the syntax errors."""
    register_source(filename, text)
    parser = _Parser(text, filename)
    if text.startswith("\ufeff"):
        parser.pos = 1
    try:
        body = parser.parse_body(parser.pos, "EOF")
        tok = parser.peek()
        if tok.kind != "EOF":  # a stray closing brace at the top level
            parser.diags.append(Diagnostic("Argument or block definition required",
                                           "An argument or block definition is required here.",
                                           parser.rng(tok.start, tok.end)))
    except ParseError as exc:
        parser.diags.append(exc.diag)
        body = Body(parser.rng(0, len(text)))
    except RecursionError:
        parser.diags.append(Diagnostic("Nesting too deep", "This file nests expressions or blocks too deeply to be "
                                       "read.", parser.rng(parser.pos, parser.pos + 1)))
        body = Body(parser.rng(0, len(text)))
    return body, parser.diags


def parse_expression(text: str, filename: str = "<expr>") -> Tuple[Optional[Expr], List[Diagnostic]]:
    """Parse one expression (``-var`` values, ``console`` lines)."""
    register_source(filename, text)
    parser = _Parser(text, filename)
    parser.nl_stack = [True]
    try:
        expr = parser.parse_expr()
        tok = parser.peek()
        if tok.kind != "EOF":
            raise parser.error("Extra characters after expression",
                               "An expression was successfully parsed, but extra characters were found after it.",
                               tok.start, tok.end)
        return expr, []
    except ParseError as exc:
        return None, [exc.diag]
    except RecursionError:
        return None, [Diagnostic("Nesting too deep", "This expression nests too deeply to be read.",
                                 parser.rng(0, len(text)))]


def parse_template(text: str, filename: str = "<template>") -> Tuple[Optional[Template], List[Diagnostic]]:
    """Parse a whole text as a template, as ``templatefile`` does."""
    register_source(filename, text)
    parser = _Parser(text, filename)
    try:
        parts, _ = parser.template_parts(0, quoted=False)
        return Template(parts, parser.rng(0, len(text)), heredoc="file"), []
    except ParseError as exc:
        return None, [exc.diag]

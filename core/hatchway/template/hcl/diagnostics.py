"""HCL-style diagnostics: summary, detail, the source line with the range marked.

The text layout follows hcl's own diagnostic text writer (what Packer prints)::

    Error: Unsupported argument

      on build.pkr.hcl line 12, in source "docker" "ubuntu":
      12:   imgae = "ubuntu:22.04"

    An argument named "imgae" is not expected here. Did you mean "image"?

Source text is registered per file name (:func:`register_source`) by the
parser, so a diagnostic raised anywhere later can still show its line.
"""
from __future__ import annotations

import difflib
import re
from typing import Dict, Iterable, List, Optional, Sequence

from ...errors import ConfigError, ConfigProblem
from .ast import Range

__all__ = ["Diagnostic", "DiagnosticsError", "register_source", "format_diagnostic", "did_you_mean",
           "nearest"]

_SOURCES: Dict[str, List[str]] = {}


def register_source(filename: str, text: str) -> None:
    _SOURCES[filename] = text.split("\n")


class Diagnostic:
    """One problem. ``subject`` is where it is; ``context`` the enclosing expression (optional)."""

    __slots__ = ("severity", "summary", "detail", "subject", "context", "path")

    def __init__(self, summary: str, detail: str = "", subject: Optional[Range] = None,
                 severity: str = "error", context: Optional[Range] = None, path: str = "") -> None:
        self.severity, self.summary, self.detail = severity, summary, detail
        self.subject, self.context, self.path = subject, context, path

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def key(self) -> tuple:
        s = self.subject
        return (self.severity, self.summary, self.detail, str(s) if s else "")

    def __repr__(self) -> str:
        where = f"{self.subject}: " if self.subject else ""
        return f"<Diagnostic {where}{self.summary}: {self.detail}>"

    def __str__(self) -> str:
        return format_diagnostic(self)


def _block_header(subject: Range) -> str:
    """`, in source "docker" "x"` for a position: the innermost top-level block header above it."""
    lines = _SOURCES.get(subject.filename)
    if not lines:
        return ""
    for i in range(min(subject.start.line, len(lines)) - 1, -1, -1):
        m = _HEADER.match(lines[i])
        if m:
            return f", in {m.group(1)}"
    return ""


_HEADER = re.compile(r'^([A-Za-z_][\w-]*(?:[ \t]+(?:"[^"]*"|[A-Za-z_][\w-]*))*)[ \t]*\{')


def format_diagnostic(diag: Diagnostic) -> str:
    head = "Error" if diag.is_error else "Warning"
    out = [f"{head}: {diag.summary}"]
    s = diag.subject
    if s is not None:
        out.append("")
        lines = _SOURCES.get(s.filename)
        if lines is None or s.start.line < 1 or s.start.line > len(lines):
            out.append(f"  on {s.filename} line {s.start.line}:")
            out.append("  (source code not available)")
        else:
            out.append(f"  on {s.filename} line {s.start.line}{_block_header(s)}:")
            text = lines[s.start.line - 1].replace("\t", " ")
            out.append(f"  {s.start.line}: {text}")
            width = len(str(s.start.line)) + 2
            start = s.start.column
            end = s.end.column if s.end.line == s.start.line else len(text) + 1
            end = max(end, start + 1)
            out.append("  " + " " * width + " " * (start - 1) + "^" * (end - start))
    if diag.detail:
        out.append("")
        out.append(diag.detail)
    return "\n".join(out)


class DiagnosticsError(ConfigError):
    """Every problem of a template, formatted as HCL does; the CLI prints it and exits 1."""

    def __init__(self, diagnostics: Iterable[Diagnostic], source: str = "") -> None:
        unique: List[Diagnostic] = []
        seen = set()
        for d in diagnostics:
            if d.key() not in seen:
                seen.add(d.key())
                unique.append(d)
        self.diagnostics = unique
        problems = [ConfigProblem(str(d.subject) if d.subject else d.path, d.summary, d.detail, d.severity)
                    for d in unique]
        super().__init__(problems, source)

    def render(self) -> str:
        """Errors first, then warnings; without the first "Error: ", which the CLI prints."""
        ordered = [d for d in self.diagnostics if d.is_error] + [d for d in self.diagnostics if not d.is_error]
        text = "\n\n".join(format_diagnostic(d) for d in ordered)
        if text.startswith("Error: "):
            text = text[len("Error: "):]
        return text

    def __str__(self) -> str:
        return self.render()


def nearest(word: str, choices: Iterable[str], n: int = 1) -> List[str]:
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean "x"?`` (with the leading space) or ``""``."""
    close = nearest(word, choices)
    return f' Did you mean "{close[0]}"?' if close else ""


def raise_if_errors(diags: Sequence[Diagnostic], source: str = "") -> None:
    if any(d.is_error for d in diags):
        raise DiagnosticsError(diags, source)

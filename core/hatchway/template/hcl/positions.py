"""Problems the plugins' config classes find, mapped back to HCL diagnostics at file:line:column.

Validation (:mod:`hatchway.template.validate`) names a problem by its key path
(``docker.app.image``, ``build.pkr.hcl:12.inline``); the loader recorded the
range of every such path, and the closest one is used.
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Sequence, Set, Tuple

from .ast import Range
from .diagnostics import Diagnostic, nearest

__all__ = ["problems_to_diagnostics"]

try:  # the one constant, where the JSON front end keeps it
    from ..functions import PACKER_VERSION  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before that constant existed
    #: The Packer version Hatchway declares itself compatible with (``packer.version``, ``required_version``).
    PACKER_VERSION = "1.16.0"


def _lookup(path: str, positions: Mapping[str, Tuple[Range, Range]]) -> Tuple[Optional[Tuple[Range, Range]], bool]:
    """The positions of ``path`` or its longest known prefix; the flag says whether it was exact."""
    if path in positions:
        return positions[path], True
    cut = path
    while cut:
        i = max(cut.rfind("."), cut.rfind("["))
        if i <= 0:
            break
        cut = cut[:i]
        if cut in positions:
            return positions[cut], False
    return None, False


def problems_to_diagnostics(problems: Sequence[Any], positions: Mapping[str, Tuple[Range, Range]],
                            sections: Set[str] = frozenset()  # type: ignore[assignment]
                            ) -> List[Diagnostic]:
    out = []
    for p in problems:
        found, exact = _lookup(p.path, positions)
        key = re.split(r"[.\[]", p.path)[-1].rstrip("]") if p.path else ""
        if p.path in sections:
            key, exact = "", False
        hint = p.hint
        m = re.match(r"did you mean '(.*)'\?$", hint or "")
        hint_text = f' Did you mean "{m.group(1)}"?' if m else (f" {hint[0].upper()}{hint[1:]}" if hint else "")
        if hint_text and not hint_text.endswith((".", "?", "!", ")")):
            hint_text += "."
        subject = None
        if p.message == "unknown key":
            if not hint_text and nearest(key, ["communicator"]):
                hint_text = ' Did you mean "communicator"?'
            summary = "Unsupported argument"
            detail = f'An argument named "{key}" is not expected here.{hint_text}'
            subject = found[0] if found else None
        elif p.message == "is required":
            summary = "Missing required argument"
            detail = f'The argument "{key}" is required, but no definition was found.{hint_text}'
            subject = found[0] if found else None
        elif "is installed" in p.message:
            summary = "Unknown component type"
            detail = p.message[0].upper() + p.message[1:] + ("" if p.message.endswith(".") else ".")
            detail += hint_text
            subject = found[0] if found else None
        else:
            typed = p.message.startswith(("expected ", "item ", "key ", "must be one of"))
            summary = ("Incorrect attribute value type" if typed else "Invalid value") if exact else \
                "Invalid configuration"
            detail = (f'Inappropriate value for attribute "{key}": ' if exact and key else "") + p.message
            detail = detail[0].upper() + detail[1:] if detail else detail
            if not detail.endswith((".", "?", "!")):
                detail += "."
            detail += hint_text
            subject = (found[1] if exact else found[0]) if found else None
        out.append(Diagnostic(summary, detail, subject, p.severity, path=p.path))
    return out

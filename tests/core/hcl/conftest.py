"""Shared helpers of the HCL2 front-end tests (LANG): evaluate snippets, load templates from text."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from hatchway.plugins import Plugins


@pytest.fixture
def plugins() -> Plugins:
    """The built-ins plus the local and none communicators (no entry points: the test controls them)."""
    import hatchway_local
    import hatchway_none

    return Plugins().load(entry_points=False, extra=[("local", hatchway_local), ("none", hatchway_none)])


def evaluate_text(text: str, variables: Optional[Dict[str, Any]] = None) -> Any:
    """Evaluate one HCL expression with every function available (``var`` etc. from ``variables``)."""
    from hatchway.template.hcl.evaluate import EvalContext, evaluate
    from hatchway.template.hcl.functions import FunctionContext
    from hatchway.template.hcl.parser import parse_expression

    expr, diags = parse_expression(text)
    assert not diags, diags
    return evaluate(expr, EvalContext(dict(variables or {}), fn_ctx=FunctionContext(base_dir=".")))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def error_text(exc: BaseException) -> str:
    return str(exc)


def summaries(exc: Any) -> List[str]:
    return [d.summary for d in exc.diagnostics if d.is_error]

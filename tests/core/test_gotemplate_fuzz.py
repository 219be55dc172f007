"""Property-based fuzzing of the template engine (issue 13 §5): any string gives a result or one
RenderError with a position, never another exception, a hang or a RecursionError."""
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hatchway.template.functions import RenderContext, RenderError, render

PIECES = ["{{", "}}", "{{-", "-}}", "{{/*", "*/}}", "(", ")", "|", "$x", ":=", "=", ".Path", ".", "`", '"', "'",
          " ", "\n", "if", "else", "end", "range", "with", "define", "template", "block", "break", "nil",
          "user `a`", "env `HOME`", "split", "replace", "printf \"%05.2f\"", "eq", "len", "index", "slice", "and",
          "or", "not", "1", "-1", "1e3", "0x1F", "99999999999999999999999", "'a'", "true", "build `Host`",
          "upper", "lower", "sed", "vault", "isotime", "strftime \"%Y\"", "clean_resource_name", "x", "é", "\x00"]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text(max_size=60)


def check(text, **kw):
    ctx = RenderContext(variables={"a": "A"}, env={"HOME": "/h"}, **kw)
    try:
        out = render(text, ctx)
    except RenderError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        return
    assert isinstance(out, str)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
@example("{{" + "(" * 5000 + "1" + ")" * 5000 + "}}")
@example("{{" * 50000)
@example('{{split "a" "" 0}}{{split "a" "," -1}}')
@example('{{replace "a" "b" "n" "abc"}}{{replace "a" "b" 99999999999999999999999 "abc"}}')
@example("{{" + "9" * 5000 + "}}")
@example("{{range 100000000}}x{{end}}")
@example("{{\ud800}}")
def test_any_text_renders_or_is_one_clear_error(text):
    check(text)
    check(text, data={"Path": "/p"})
    check(text, build_values={"Host": "h"})

import pytest

from hatchway.durations import Duration, format, parse


@pytest.mark.parametrize("text,seconds", [
    ("5s", 5), ("10m", 600), ("1h30m", 5400), ("-1s", -1), ("1.5h", 5400), ("300ms", 0.3),
    ("0", 0), ("2h45m30s", 9930), ("1m0.5s", 60.5), ("+3s", 3), ("100us", 0.0001),
])
def test_parse_go_durations(text, seconds):
    assert parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5", "5 s", "s", "1d", "5mm", "abc", "1h-5m", "--1s"])
def test_parse_rejects_what_go_rejects(bad):
    with pytest.raises(ValueError) as info:
        parse(bad)
    assert "duration" in str(info.value)


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (5, "5s"), (600, "10m0s"), (5400, "1h30m0s"), (-1, "-1s"), (0.25, "250ms")])
def test_format_like_go(seconds, text):
    assert format(seconds) == text


def test_duration_is_seconds_and_prints_as_go():
    d = Duration("1h30m")
    assert d == 5400.0 and str(d) == "1h30m0s" and d > 0
    assert Duration("-1s") < 0


def test_a_duration_longer_than_go_can_hold_is_refused():
    # Go's time.ParseDuration: "invalid duration" past int64 nanoseconds (about 292 years)
    import pytest

    from hatchway.durations import parse

    assert parse("2562047h") == 2562047 * 3600.0
    with pytest.raises(ValueError, match="too long"):
        parse("2562048h")

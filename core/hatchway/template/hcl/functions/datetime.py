"""Date and time functions: go-cty's formatdate/timeadd, Packer's timestamp, legacy_isotime,
legacy_strftime, rfc3339_parse and unix_timestamp_parse."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, function

S, N = V.STRING, V.NUMBER

_PROCESS_START = datetime.now(timezone.utc)

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _weekday(t: datetime) -> int:
    """Go's Weekday: Sunday is 0."""
    return (t.weekday() + 1) % 7


class _TimeError(ValueError):
    pass


def _getnum(value: str, fixed: bool) -> Tuple[int, str]:
    if not value or not value[0].isdigit():
        raise _TimeError
    if len(value) < 2 or not value[1].isdigit():
        if fixed:
            raise _TimeError
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def parse_rfc3339(ts: str) -> datetime:
    """go-cty's parseTimestamp: a strict RFC 3339 timestamp, or ValueError worded as go-cty."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", ts)
    if m:
        year, month, day, hour, minute, sec = (int(m.group(i)) for i in range(1, 7))
        if 1 <= month <= 12 and 1 <= day <= calendar.monthrange(max(year, 1), month)[1] and year >= 1 \
                and hour < 24 and minute < 60 and sec < 60:
            zone = m.group(8)
            if zone == "Z":
                tz = timezone.utc
            else:
                zh, zm = int(zone[1:3]), int(zone[4:6])
                if zh >= 24:
                    raise ValueError("not a valid RFC3339 timestamp: cannot use "
                                     f"{V._go_quote(zone)} as UTC offset")
                if zm >= 60:
                    raise ValueError("not a valid RFC3339 timestamp: cannot use "
                                     f"{V._go_quote(zone)} as UTC offset")
                off = timedelta(hours=zh, minutes=zm)
                tz = timezone(-off if zone[0] == "-" else off)
            frac = m.group(7)
            micro = int((frac[1:] + "000000")[:6]) if frac else 0
            return datetime(year, month, day, hour, minute, sec, micro, tzinfo=tz)
    raise ValueError(_rfc3339_error(ts))


def _rfc3339_error(ts: str) -> str:
    """The message go-cty gives for a string Go's time.Parse(RFC3339) refuses."""
    prefix = "not a valid RFC3339 timestamp"
    value = ts

    def end_or_cannot(what: str, rest: str) -> str:
        if rest == "":
            return f"{prefix}: end of string before {what}"
        return f"{prefix}: cannot use {V._go_quote(rest)} as {what}"

    def literal(lit: str, rest: str) -> Optional[str]:
        if rest.startswith(lit):
            return None
        if lit == "T":
            return f"{prefix}: missing required time introducer 'T'"
        if rest == "":
            return f"{prefix}: end of string where {V._go_quote(lit)} is expected"
        return f"{prefix}: found {V._go_quote(rest)} where {V._go_quote(lit)} is expected"

    # year
    if len(value) < 4 or not value[:4].isdigit():
        return end_or_cannot("year", value)
    year = int(value[:4])
    value = value[4:]
    fields = [("-", "month", 1, 12, True), ("-", "day of month", 0, 31, True),
              ("T", "hour", 0, 23, False), (":", "minute", 0, 59, True), (":", "second", 0, 59, True)]
    got: Dict[str, int] = {}
    for lit, what, lo, hi, fixed in fields:
        err = literal(lit, value)
        if err:
            return err
        value = value[len(lit):]
        try:
            num, rest = _getnum(value, fixed)
        except _TimeError:
            if what == "minute" and len(value) != 2:
                return f"{prefix}: minute must have exactly two digits"
            return end_or_cannot(what, value)
        if what == "hour" and len(value) - len(rest) == 1:
            return f"{prefix}: hour must have exactly two digits"
        if num < lo or num > hi:
            if what == "hour":
                if ":" in rest:
                    return f"{prefix}: hour must be between 0 and 23 inclusive"
                return end_or_cannot(what, rest)
            return end_or_cannot(what, rest)
        got[what] = num
        value = rest
    if value.startswith(","):
        return f'{prefix}: cannot use "," as timestamp segment'
    if value.startswith(".") and len(value) > 1 and value[1].isdigit():
        i = 1
        while i < len(value) and value[i].isdigit():
            i += 1
        value = value[i:]
    if value.startswith("Z"):
        value = value[1:]
    else:
        if len(value) < 6 or value[0] not in "+-" or value[3] != ":" or not (value[1:3] + value[4:6]).isdigit():
            return end_or_cannot("UTC offset", value)
        if int(value[1:3]) >= 24 or int(value[4:6]) >= 60:
            return end_or_cannot("UTC offset", value[:6])
        value = value[6:]
    if value:
        return f"{prefix}: cannot use {V._go_quote(value)} as timestamp segment"
    if got.get("day of month", 1) < 1 or got["day of month"] > calendar.monthrange(max(year, 1), got["month"])[1]:
        return f"{prefix}: day out of range"
    return prefix


def format_rfc3339(t: datetime) -> str:
    """Go's t.Format(time.RFC3339)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + _zone(t, "Z07:00")


def _zone(t: datetime, layout: str) -> str:
    off = t.utcoffset() or timedelta(0)
    secs = int(off.total_seconds())
    if secs == 0 and layout.startswith("Z"):
        return "Z"
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    hh, mm, ss = secs // 3600, (secs // 60) % 60, secs % 60
    kind = layout.lstrip("Z-")
    if kind == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if kind == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if kind == "07":
        return f"{sign}{hh:02d}"
    if kind == "07:00:00":
        return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"
    return f"{sign}{hh:02d}{mm:02d}{ss:02d}"


# -- formatdate --------------------------------------------------------------------------------

def _date_tokens(fmt: str) -> List[str]:
    """go-cty's splitDateFormat."""
    tokens: List[str] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "'":
            if i + 1 < n and fmt[i + 1] == "'":
                tokens.append("''")
                i += 2
                continue
            j = i + 1
            while j < n:
                if fmt[j] == "'":
                    if j + 1 < n and fmt[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            tokens.append(fmt[i:j + 1])
            i = j + 1
        elif ch.isascii() and ch.isalpha():
            j = i + 1
            while j < n and fmt[j] == ch:
                j += 1
            tokens.append(fmt[i:j])
            i = j
        else:
            j = i + 1
            while j < n and not (fmt[j] == "'" or (fmt[j].isascii() and fmt[j].isalpha())):
                j += 1
            tokens.append(fmt[i:j])
            i = j
    return tokens


def _q(tok: str) -> str:
    return V._go_quote(tok)


@function("formatdate", [("format", S), ("time", S)], ret=S)
def formatdate(ctx: Any, fmt: str, ts: str) -> str:
    try:
        t = parse_rfc3339(ts)
    except ValueError as e:
        raise ArgError(1, str(e)) from None
    out: List[str] = []
    for tok in _date_tokens(fmt):
        c = tok[0]
        n = len(tok)
        if c == "'":
            if tok[-1] != "'" or n == 1:
                raise ArgError(0, "unterminated literal '")
            if n == 2:
                out.append("'")
            else:
                out.append(tok[1:-1].replace("''", "'"))
        elif c.isascii() and c.isalpha():
            out.append(_date_verb(t, tok))
        else:
            out.append(tok)
    return "".join(out)


def _date_verb(t: datetime, tok: str) -> str:
    c, n = tok[0], len(tok)
    if c == "Y":
        if n == 2:
            return f"{t.year % 100:02d}"
        if n == 4:
            return f"{t.year:04d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: year must either be "YY" or "YYYY"')
    if c == "M":
        if n in (1, 2, 3, 4):
            return [str(t.month), f"{t.month:02d}", MONTHS[t.month - 1][:3], MONTHS[t.month - 1]][n - 1]
        raise ArgError(0, f'invalid date format verb {_q(tok)}: month must be "M", "MM", "MMM", or "MMMM"')
    if c == "D":
        if n in (1, 2):
            return str(t.day) if n == 1 else f"{t.day:02d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: day of month must either be "D" or "DD"')
    if c == "E":
        name = WEEKDAYS[_weekday(t)]
        if n == 3:
            return name[:3]
        if n == 4:
            return name
        raise ArgError(0, f'invalid date format verb {_q(tok)}: day of week must either be "EEE" or "EEEE"')
    if c == "h":
        if n in (1, 2):
            return str(t.hour) if n == 1 else f"{t.hour:02d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: 24-hour must either be "h" or "hh"')
    if c == "H":
        h = t.hour % 12 or 12
        if n in (1, 2):
            return str(h) if n == 1 else f"{h:02d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: 12-hour must either be "H" or "HH"')
    if c in "Aa":
        if n != 2:
            raise ArgError(0, f'invalid date format verb {_q(tok)}: must be "{c}{c}"')
        text = "AM" if t.hour < 12 else "PM"
        return text if c == "A" else text.lower()
    if c == "m":
        if n in (1, 2):
            return str(t.minute) if n == 1 else f"{t.minute:02d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: minute must either be "m" or "mm"')
    if c == "s":
        if n in (1, 2):
            return str(t.second) if n == 1 else f"{t.second:02d}"
        raise ArgError(0, f'invalid date format verb {_q(tok)}: second must either be "s" or "ss"')
    if c == "Z":
        if n == 1:
            return _zone(t, "Z07:00")
        if n == 3:
            z = _zone(t, "-0700")
            return "UTC" if z == "+0000" else z
        if n == 4:
            return _zone(t, "-0700")
        if n == 5:
            return _zone(t, "-07:00")
        raise ArgError(0, f"invalid date format verb {_q(tok)}: timezone must be Z, ZZZZ, or ZZZZZ")
    raise ArgError(0, f"invalid date format verb {_q(tok)}")


# -- timeadd -----------------------------------------------------------------------------------

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_duration(s: str) -> int:
    """Go's time.ParseDuration, in nanoseconds; ValueError worded as Go's."""
    orig = s
    quoted = V._go_quote(orig)
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while s:
        m = re.match(r"(\d*)(?:\.(\d*))?", s)
        assert m is not None
        whole, frac = m.group(1), m.group(2)
        if whole == "" and not frac:
            raise ValueError(f"time: invalid duration {quoted}")
        s = s[m.end():]
        u = re.match(r"[^0-9.]*", s)
        unit = u.group(0) if u else ""
        if unit == "":
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise ValueError(f"time: unknown unit {V._go_quote(unit)} in duration {quoted}")
        s = s[len(unit):]
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(int(frac) * scale // (10 ** len(frac)))
        total += value
        if total > 2 ** 63 - 1:
            raise ValueError(f"time: invalid duration {quoted}")
    return -total if neg else total


@function("timeadd", [("timestamp", S), ("duration", S)], ret=S)
def timeadd(ctx: Any, ts: str, duration: str) -> str:
    try:
        t = parse_rfc3339(ts)
        d = parse_duration(duration)
    except ValueError as e:
        raise Fail(str(e)) from None
    result = t + timedelta(microseconds=d // 1000)
    return format_rfc3339(result)


# -- Packer's ----------------------------------------------------------------------------------

@function("timestamp", [], ret=S)
def timestamp(ctx: Any) -> str:
    return format_rfc3339(datetime.now(timezone.utc).replace(microsecond=0))


def _start(ctx: Any) -> datetime:
    t = getattr(ctx, "start_time", None) or _PROCESS_START
    return t.astimezone(timezone.utc)


@function("legacy_isotime", [], var=("format", S), ret=S)
def legacy_isotime(ctx: Any, *fmt: str) -> str:
    if len(fmt) > 1:
        raise Fail(f"too many values, 1 needed: [{' '.join(V._go_quote(f) for f in fmt)}]")
    t = _start(ctx)
    if not fmt:
        return format_rfc3339(t)
    return go_time_format(t, fmt[0])


@function("legacy_strftime", [], var=("format", S), ret=S)
def legacy_strftime(ctx: Any, *fmt: str) -> str:
    if len(fmt) > 1:
        raise Fail(f"too many values, 1 needed: [{' '.join(V._go_quote(f) for f in fmt)}]")
    t = _start(ctx)
    if not fmt:
        return format_rfc3339(t)
    return strftime(t, fmt[0])


def _time_object(t: datetime) -> Dict[str, Any]:
    iso_year, iso_week, _ = t.isocalendar()
    return {
        "year": t.year, "year_day": t.timetuple().tm_yday, "day": t.day, "month": t.month,
        "month_name": MONTHS[t.month - 1], "weekday": _weekday(t), "weekday_name": WEEKDAYS[_weekday(t)],
        "hour": t.hour, "minute": t.minute, "second": t.second,
        "iso_year": iso_year, "iso_week": iso_week,
    }


_PARSED = V.Object({k: N for k in ("year", "year_day", "day", "month", "weekday", "hour", "minute",
                                   "second", "unix", "iso_year", "iso_week")}
                   | {"month_name": S, "weekday_name": S})


@function("rfc3339_parse", [("timestamp", S)], ret=_PARSED)
def rfc3339_parse(ctx: Any, ts: str) -> Dict[str, Any]:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", ts)
    t = None
    if m:
        try:
            t = parse_rfc3339(f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{int(m.group(4)):02d}:"
                              f"{m.group(5)}:{m.group(6)}{m.group(7) or ''}{m.group(8)}")
        except ValueError:
            t = None
    if t is None:
        raise ArgError(0, f"{V._go_quote(ts)} is not a valid RFC3339 timestamp")
    obj = _time_object(t)
    obj["unix"] = int(t.timestamp() // 1)
    return dict(sorted(obj.items()))


_UNIX_PARSED = V.Object({k: N for k in ("year", "year_day", "day", "month", "weekday", "hour",
                                        "minute", "second", "iso_year", "iso_week")}
                        | {"month_name": S, "weekday_name": S, "rfc3339": S})


@function("unix_timestamp_parse", [("unix_timestamp", N)], ret=_UNIX_PARSED)
def unix_timestamp_parse(ctx: Any, ts: Any) -> Dict[str, Any]:
    if isinstance(ts, float) and ts != int(ts):
        raise ArgError(0, "unix_timestamp must be a whole number of seconds representable as a "
                          "64-bit integer: value must be a whole number")
    if not -(2 ** 63) <= int(ts) < 2 ** 63:
        raise ArgError(0, "unix_timestamp must be a whole number of seconds representable as a "
                          "64-bit integer: value must be a whole number, between -9223372036854775808 "
                          "and 9223372036854775807")
    try:
        t = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=int(ts))
    except OverflowError:
        raise ArgError(0, "unix_timestamp is out of the range of dates this implementation supports") from None
    obj = _time_object(t)
    obj["rfc3339"] = format_rfc3339(t)
    return dict(sorted(obj.items()))


# -- Go's time.Format --------------------------------------------------------------------------

_GO_CHUNKS = [
    ("January", "month_long"), ("Jan", "month_short"), ("Monday", "wday_long"), ("Mon", "wday_short"),
    ("MST", "tzname"), ("2006", "year4"), ("-07:00:00", "z-hhmmss:"), ("-0700", "z-hhmm"),
    ("-07:00", "z-hh:mm"), ("-07", "z-hh"), ("Z07:00:00", "Zhhmmss:"), ("Z0700", "Zhhmm"),
    ("Z07:00", "Zhh:mm"), ("Z07", "Zhh"),
    ("002", "yday"), ("__2", "yday_pad"), ("_2", "day_pad"), ("01", "month2"), ("02", "day2"),
    ("03", "hour12_2"), ("04", "minute2"), ("05", "second2"), ("06", "year2"), ("15", "hour"),
    ("1", "month"), ("2", "day"), ("3", "hour12"), ("4", "minute"), ("5", "second"),
    ("PM", "PM"), ("pm", "pm"),
]


def go_time_format(t: datetime, layout: str) -> str:
    """Go's time.Time.Format(layout) (the reference-time layout language)."""
    out: List[str] = []
    i = 0
    n = len(layout)
    while i < n:
        matched = None
        frac = re.match(r"[.,](0+|9+)(?![0-9])", layout[i:])
        if frac:
            digits = frac.group(1)
            micro = f"{t.microsecond:06d}000"[:len(digits)]
            if digits[0] == "9":
                micro = micro.rstrip("0")
                out.append(("." + micro) if micro else "")
            else:
                out.append(layout[i] + micro)
            i += frac.end()
            continue
        for chunk, kind in _GO_CHUNKS:
            if layout.startswith(chunk, i):
                matched = (chunk, kind)
                break
        if matched is None:
            out.append(layout[i])
            i += 1
            continue
        chunk, kind = matched
        if kind == "wday_short" and layout.startswith("Monday", i):
            chunk, kind = "Monday", "wday_long"
        out.append(_go_chunk(t, kind))
        i += len(chunk)
    return "".join(out)


def _go_chunk(t: datetime, kind: str) -> str:
    h12 = t.hour % 12 or 12
    yday = t.timetuple().tm_yday
    table = {
        "month_long": MONTHS[t.month - 1], "month_short": MONTHS[t.month - 1][:3],
        "wday_long": WEEKDAYS[_weekday(t)], "wday_short": WEEKDAYS[_weekday(t)][:3],
        "tzname": "UTC" if not t.utcoffset() else _zone(t, "-0700"),
        "year4": f"{t.year:04d}", "year2": f"{t.year % 100:02d}",
        "yday": f"{yday:03d}", "yday_pad": f"{yday:>3d}", "day_pad": f"{t.day:>2d}",
        "month2": f"{t.month:02d}", "day2": f"{t.day:02d}", "hour12_2": f"{h12:02d}",
        "minute2": f"{t.minute:02d}", "second2": f"{t.second:02d}", "hour": f"{t.hour:02d}",
        "month": str(t.month), "day": str(t.day), "hour12": str(h12), "minute": str(t.minute),
        "second": str(t.second), "PM": "AM" if t.hour < 12 else "PM", "pm": "am" if t.hour < 12 else "pm",
    }
    if kind in table:
        return table[kind]
    if kind.startswith("Z"):
        return _zone(t, "Z" + {"Zhhmmss:": "07:00:00", "Zhhmm": "0700", "Zhh:mm": "07:00", "Zhh": "07"}[kind])
    return _zone(t, "-" + {"z-hhmmss:": "07:00:00", "z-hhmm": "0700", "z-hh:mm": "07:00", "z-hh": "07"}[kind])


# -- strftime (jehiah/go-strftime at the version Packer pins) ----------------------------------

_STRFTIME = {"B": "January", "b": "Jan", "m": "01", "A": "Monday", "a": "Mon", "d": "02", "H": "15",
             "I": "03", "M": "04", "S": "05", "Y": "2006", "y": "06", "p": "PM", "Z": "MST",
             "z": "-0700", "L": ".000"}


def strftime(t: datetime, fmt: str) -> str:
    """jehiah/go-strftime's Format: its directives map to Go layouts; ``%%`` is ``%``; any other
    directive is kept as written; a lone trailing ``%`` stays."""
    out: List[str] = []
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        if j + 1 < n:
            c = fmt[j + 1]
            if c == "%":
                out.append("%")
            elif c in _STRFTIME:
                out.append(go_time_format(t, _STRFTIME[c]))
            else:
                out.append("%" + c)
        else:
            out.append("%")
        i = j + 2
    return "".join(out)

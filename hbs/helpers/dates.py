"""Date helpers with moment.js-style format tokens, time zones (zoneinfo) and Babel locales.

Inputs: ISO 8601 strings (``"2024-12-05"``, ``"2024-12-05T10:30:00Z"``), other common date
strings (``"December 5, 2024"``, read by dateutil), and numbers as epoch milliseconds (what
JavaScript's ``Date.now()`` gives). A date-only string is a calendar date: it stays the same day
in every time zone, as ``moment.tz("2024-12-05", zone)`` does. Naive date-times are read in the
requested time zone (UTC by default).

Date-returning helpers give ISO strings so they chain into ``formatDate``: ``"2025-01-04"`` for
date-only input, ``"2025-01-04T10:30:00.000Z"`` (or with the input's offset) otherwise. A
missing date (null) gives ``""``; an unreadable one gives ``"Invalid date"``, as moment does.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import format_timedelta
from dateutil import parser as dateutil_parser
from dateutil.relativedelta import relativedelta

from hbs.jsvalues import to_js_string

from . import clock
from .jsnumbers import is_number, math_round, num, result
from .locales import locale_for
from .registry import helper

INVALID = "Invalid date"
DEFAULT_FORMAT = "MMMM D, YYYY"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILL_A, _FILL_B = datetime(2000, 1, 1), datetime(2001, 2, 2)


@dataclass(frozen=True)
class When:
    """A parsed template date: an aware datetime, and whether it was only a calendar date."""

    at: datetime
    date_only: bool = False

    def replace(self, at: datetime) -> When:
        return When(at, self.date_only)


def zone_for(name: Any) -> tzinfo:
    """The tzinfo for a template's time zone argument; null or "" means UTC."""
    return _zone(to_js_string(name))


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    if name in ("", "UTC", "utc", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}' (use an IANA name like 'America/New_York')") from None


def parse(value: Any, zone: tzinfo = UTC) -> When | None:
    """Read a template value as a date; None when it is not one (the caller prints "Invalid date")."""
    if isinstance(value, datetime):
        return When(value if value.tzinfo else value.replace(tzinfo=zone))
    if isinstance(value, date):
        return When(datetime(value.year, value.month, value.day, tzinfo=zone), date_only=True)
    if is_number(value):
        if not math.isfinite(value) or abs(value) > 8.64e15:  # JavaScript's Date range
            return None
        try:
            return When(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value))
        except OverflowError:
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return When(datetime(day.year, day.month, day.day, tzinfo=zone), date_only=True)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = dateutil_parser.parse(text, default=_FILL_A)
            # dateutil fills missing parts from today; a date with no year or day is not a date.
            if parsed.date() != dateutil_parser.parse(text, default=_FILL_B).date():
                return None
        except (ValueError, OverflowError):
            return None
        if ":" not in text and parsed.time() == datetime.min.time() and parsed.tzinfo is None:
            return When(parsed.replace(tzinfo=zone), date_only=True)
    return When(parsed if parsed.tzinfo else parsed.replace(tzinfo=zone))


def in_zone(when: When, zone: tzinfo) -> datetime:
    # A calendar date is the same day everywhere; an instant is shown as the zone's wall time.
    if when.date_only:
        return when.at.replace(tzinfo=zone)
    return when.at.astimezone(zone)


def iso(when: When) -> str:
    """``YYYY-MM-DD`` for calendar dates, JavaScript's ``toISOString`` shape otherwise."""
    if when.date_only:
        return when.at.strftime("%Y-%m-%d")
    at = when.at
    offset = at.utcoffset() or timedelta(0)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S") + f".{at.microsecond // 1000:03d}"
    if offset == timedelta(0):
        return stamp + "Z"
    return stamp + _offset(at, ":")


def _offset(at: datetime, separator: str) -> str:
    minutes = int((at.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{separator}{mins:02d}"


# --- formatting -------------------------------------------------------------------------------

_TOKENS = re.compile(
    r"\[([^\]]*)\]|(LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l|YYYYYY|YYYY|YY|Y|Qo|Q|MMMM|MMM|Mo|MM|M"
    r"|DDDD|DDDo|DDD|Do|DD|D|dddd|ddd|do|dd|d|E|e|GGGG|GG|gggg|gg|WW|Wo|W|ww|wo|w"
    r"|HH|H|hh|h|kk|k|mm|m|ss|s|S{1,9}|A|a|ZZ|Z|zz|z|X|x)"
)
_US_LONG_FORMATS = {
    "LT": "h:mm A",
    "LTS": "h:mm:ss A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}


def ordinal_suffix(number: int, locale: Locale) -> str:
    """``1st``/``2nd`` in English; other locales get ``1.``, the common European convention."""
    if locale.language != "en":
        return f"{number}."
    if 10 <= abs(number) % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(abs(number) % 10, 'th') }"


def _week_start(day: date, year: int, locale: Locale) -> date:
    first_day = locale.first_week_day
    jan1 = date(year, 1, 1)
    start = jan1 - timedelta(days=(jan1.weekday() - first_day) % 7)
    if (jan1 - start).days > 7 - locale.min_week_days:
        start += timedelta(days=7)
    return start


def week_of_year(day: date, locale: Locale) -> tuple[int, int]:
    """(week-year, week) under the locale's rules: US weeks for en-US, ISO weeks for de-DE."""
    start = day - timedelta(days=(day.weekday() - locale.first_week_day) % 7)
    year = day.year
    if start >= _week_start(day, year + 1, locale):
        year += 1
    elif start < _week_start(day, year, locale):
        year -= 1
    return year, (start - _week_start(day, year, locale)).days // 7 + 1


def _localized_long_format(token: str, at: datetime, locale: Locale) -> str:
    if str(locale) in ("en_US", "en"):
        return format_moment(at, _US_LONG_FORMATS[token], locale)
    date_width = {"L": "short", "l": "short", "LL": "long", "ll": "medium"}.get(token)
    time_short = babel_format_time(at, "short", tzinfo=at.tzinfo, locale=locale)
    if token in ("LT", "LTS"):
        width = "short" if token == "LT" else "medium"
        return babel_format_time(at, width, tzinfo=at.tzinfo, locale=locale)
    if date_width == "short":
        # moment's L has four-digit years (05.12.2024) where CLDR's short pattern has two.
        pattern = re.sub(r"y+", "yyyy", locale.date_formats["short"].pattern)
        return babel_format_date(at.date(), pattern, locale=locale)
    if date_width:
        return babel_format_date(at.date(), date_width, locale=locale)
    width = {"LLL": "long", "lll": "medium", "LLLL": "full", "llll": "full"}[token]
    return f"{babel_format_date(at.date(), width, locale=locale)} {time_short}"


def format_moment(at: datetime, pattern: str, locale: Locale) -> str:
    """Format an aware datetime with moment.js tokens; text in ``[brackets]`` is literal."""
    # Slavic languages need the genitive month next to a day number ("5 декабря").
    month_context = "format" if re.search(r"D", re.sub(r"\[[^\]]*\]", "", pattern)) else "stand-alone"
    weekday = at.weekday()  # Monday = 0, which is Babel's day index too

    simple: dict[str, Callable[[], str]] = {
        "YYYYYY": lambda: f"{'+' if at.year >= 0 else '-'}{abs(at.year):06d}",
        "YY": lambda: f"{at.year % 100:02d}",
        "Y": lambda: str(at.year),
        "GG": lambda: f"{at.isocalendar()[0] % 100:02d}",
        "gg": lambda: f"{week_of_year(at.date(), locale)[0] % 100:02d}",
        "Q": lambda: str((at.month - 1) // 3 + 1),
        "Qo": lambda: ordinal_suffix((at.month - 1) // 3 + 1, locale),
        "MMMM": lambda: locale.months[month_context]["wide"][at.month],
        "MMM": lambda: locale.months[month_context]["abbreviated"][at.month],
        "Mo": lambda: ordinal_suffix(at.month, locale),
        "MM": lambda: f"{at.month:02d}",
        "M": lambda: str(at.month),
        "DDDD": lambda: f"{at.timetuple().tm_yday:03d}",
        "DDDo": lambda: ordinal_suffix(at.timetuple().tm_yday, locale),
        "DDD": lambda: str(at.timetuple().tm_yday),
        "Do": lambda: ordinal_suffix(at.day, locale),
        "DD": lambda: f"{at.day:02d}",
        "D": lambda: str(at.day),
        "dddd": lambda: locale.days["format"]["wide"][weekday],
        "ddd": lambda: locale.days["format"]["abbreviated"][weekday],
        "dd": lambda: locale.days["format"]["short"][weekday],
        "d": lambda: str((weekday + 1) % 7),
        "do": lambda: ordinal_suffix((weekday + 1) % 7, locale),
        "e": lambda: str((weekday - locale.first_week_day) % 7),
        "E": lambda: str(weekday + 1),
        "WW": lambda: f"{at.isocalendar()[1]:02d}",
        "Wo": lambda: ordinal_suffix(at.isocalendar()[1], locale),
        "W": lambda: str(at.isocalendar()[1]),
        "ww": lambda: f"{week_of_year(at.date(), locale)[1]:02d}",
        "wo": lambda: ordinal_suffix(week_of_year(at.date(), locale)[1], locale),
        "w": lambda: str(week_of_year(at.date(), locale)[1]),
        "HH": lambda: f"{at.hour:02d}",
        "H": lambda: str(at.hour),
        "hh": lambda: f"{(at.hour % 12) or 12:02d}",
        "h": lambda: str((at.hour % 12) or 12),
        "kk": lambda: f"{at.hour or 24:02d}",
        "k": lambda: str(at.hour or 24),
        "mm": lambda: f"{at.minute:02d}",
        "m": lambda: str(at.minute),
        "ss": lambda: f"{at.second:02d}",
        "s": lambda: str(at.second),
        "A": lambda: "AM" if at.hour < 12 else "PM",
        "a": lambda: "am" if at.hour < 12 else "pm",
        "ZZ": lambda: _offset(at, ""),
        "Z": lambda: _offset(at, ":"),
        "zz": lambda: at.tzname() or "",
        "z": lambda: at.tzname() or "",
        "X": lambda: str(math.floor(at.timestamp())),
        "x": lambda: str(math.floor(at.timestamp() * 1000)),
    }

    def token_value(token: str) -> str:
        if token in _US_LONG_FORMATS:
            return _localized_long_format(token, at, locale)
        if token in ("YYYY", "gggg", "GGGG"):
            year = at.year
            if token == "GGGG":
                year = at.isocalendar()[0]
            elif token == "gggg":
                year = week_of_year(at.date(), locale)[0]
            return f"{year:04d}" if year >= 0 else f"-{-year:04d}"
        if token.startswith("S"):
            return f"{at.microsecond:06d}{'0' * 3}"[: len(token)]
        return simple[token]()

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        return token_value(match.group(2))

    return _TOKENS.sub(replace, pattern)


def _read(value: Any, timezone: Any = None) -> When | str:
    """The parsed date, or the string the helper should print instead ("" or "Invalid date")."""
    zone = zone_for(timezone)
    if value is None:
        return ""
    when = parse(value, zone)
    return INVALID if when is None else when


@helper("formatDate")
def format_date(date_value: Any, format: Any = None, timezone: Any = None, locale: Any = None) -> str:
    zone = zone_for(timezone)
    loc = locale_for(locale)
    when = _read(date_value, timezone)
    if isinstance(when, str):
        return when
    pattern = DEFAULT_FORMAT if format is None or format == "" else to_js_string(format)
    return format_moment(in_zone(when, zone), pattern, loc)


@helper("now")
def now(format: Any = None, timezone: Any = None, locale: Any = None) -> str:
    zone = zone_for(timezone)
    current = When(clock.now())
    if format is None or format == "":
        return iso(current)
    return format_moment(in_zone(current, zone), to_js_string(format), locale_for(locale))


@helper("year")
def year(date: Any = None, timezone: Any = None) -> int | str:
    when = When(clock.now()) if date is None else _read(date, timezone)
    if isinstance(when, str):
        return when
    return in_zone(when, zone_for(timezone)).year


# --- arithmetic -------------------------------------------------------------------------------

_UNITS = {
    "year": "years", "years": "years", "y": "years",
    "quarter": "quarters", "quarters": "quarters", "Q": "quarters",
    "month": "months", "months": "months", "M": "months",
    "week": "weeks", "weeks": "weeks", "w": "weeks",
    "isoWeek": "isoWeeks", "isoWeeks": "isoWeeks",
    "day": "days", "days": "days", "d": "days",
    "hour": "hours", "hours": "hours", "h": "hours",
    "minute": "minutes", "minutes": "minutes", "m": "minutes",
    "second": "seconds", "seconds": "seconds", "s": "seconds",
    "millisecond": "milliseconds", "milliseconds": "milliseconds", "ms": "milliseconds",
}  # fmt: skip


def unit_for(unit: Any) -> str:
    try:
        return _UNITS[unit]
    except (KeyError, TypeError):
        names = "years, quarters, months, weeks, days, hours, minutes, seconds, milliseconds"
        raise ValueError(f"unknown date unit {unit!r} (use one of {names})") from None


def shift(when: When, amount: float, unit: str) -> When:
    """moment's ``add``: calendar units move the wall clock (month ends clamp: Jan 31 + 1 month = Feb 29)."""
    if unit in ("years", "quarters", "months", "weeks", "isoWeeks", "days"):
        # moment rounds fractional days and months to whole ones.
        whole = int(math_round(amount))
        delta: relativedelta | timedelta = {
            "years": relativedelta(years=whole),
            "quarters": relativedelta(months=3 * whole),
            "months": relativedelta(months=whole),
            "weeks": relativedelta(weeks=whole),
            "isoWeeks": relativedelta(weeks=whole),
            "days": relativedelta(days=whole),
        }[unit]
        return when.replace(when.at + delta)
    seconds = {"hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 0.001}[unit] * amount
    # Time units move the instant, not the wall clock (moment: add(1, "hour") across DST).
    moved = (when.at.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(when.at.tzinfo)
    return When(moved, date_only=False)


def _add(date_value: Any, amount: Any, unit: str) -> str:
    when = _read(date_value)
    if isinstance(when, str):
        return when
    step = num(amount)
    if not math.isfinite(step):
        return INVALID
    try:
        return iso(shift(when, step, unit))
    except (OverflowError, ValueError):
        return INVALID


@helper("dateAdd")
def date_add(date_value: Any, amount: Any, unit: Any = "days") -> str:
    return _add(date_value, amount, unit_for(unit))


@helper("addDays")
def add_days(date_value: Any, days: Any) -> str:
    return _add(date_value, days, "days")


@helper("subtractDays")
def subtract_days(date_value: Any, days: Any) -> str:
    return _add(date_value, -num(days), "days")


@helper("addWeeks")
def add_weeks(date_value: Any, weeks: Any) -> str:
    return _add(date_value, weeks, "weeks")


@helper("addMonths")
def add_months(date_value: Any, months: Any) -> str:
    return _add(date_value, months, "months")


@helper("subtractMonths")
def subtract_months(date_value: Any, months: Any) -> str:
    return _add(date_value, -num(months), "months")


@helper("addYears")
def add_years(date_value: Any, years: Any) -> str:
    return _add(date_value, years, "years")


@helper("addHours")
def add_hours(date_value: Any, hours: Any) -> str:
    return _add(date_value, hours, "hours")


def _months_between(start: datetime, end: datetime) -> float:
    """moment's monthDiff: whole months plus the fraction of the month around the anchor."""
    whole = (end.year - start.year) * 12 + (end.month - start.month)
    anchor: datetime = start + relativedelta(months=whole)
    if end < anchor:
        previous: datetime = start + relativedelta(months=whole - 1)
        return whole - (anchor - end) / (anchor - previous)
    following: datetime = start + relativedelta(months=whole + 1)
    return whole + (end - anchor) / (following - anchor)


@helper("dateDiff")
def date_diff(start: Any, end: Any, unit: Any = "days") -> int | float:
    unit_name = unit_for(unit)
    first, second = _read(start), _read(end)
    if isinstance(first, str) or isinstance(second, str):
        return math.nan
    a, b = first.at, second.at
    if unit_name in ("years", "quarters", "months"):
        months = _months_between(a, b)
        amount = {"years": months / 12, "quarters": months / 3, "months": months}[unit_name]
    else:
        seconds = (b - a).total_seconds()
        per_unit = {
            "weeks": 604800, "isoWeeks": 604800, "days": 86400, "hours": 3600,
            "minutes": 60, "seconds": 1, "milliseconds": 0.001,
        }[unit_name]  # fmt: skip
        amount = seconds / per_unit
    # moment truncates towards zero unless asked for a float.
    return result(float(math.trunc(amount))) if math.isfinite(amount) else math.nan


_RELATIVE_EN = {
    "s": "a few seconds", "ss": "{} seconds", "m": "a minute", "mm": "{} minutes",
    "h": "an hour", "hh": "{} hours", "d": "a day", "dd": "{} days",
    "M": "a month", "MM": "{} months", "y": "a year", "yy": "{} years",
}  # fmt: skip


def _relative_english(seconds: float, months: float) -> str:
    """moment's default ``relativeTime`` thresholds, so output matches ``moment().fromNow()``."""
    secs = round(abs(seconds))
    minutes, hours, days = (
        round(abs(seconds) / 60),
        round(abs(seconds) / 3600),
        round(abs(seconds) / 86400),
    )
    month_count, years = round(abs(months)), round(abs(months) / 12)
    if secs < 45:
        key, n = "s", secs
    elif minutes < 2:
        key, n = "m", 1
    elif minutes < 45:
        key, n = "mm", minutes
    elif hours < 2:
        key, n = "h", 1
    elif hours < 22:
        key, n = "hh", hours
    elif days < 2:
        key, n = "d", 1
    elif days < 26:
        key, n = "dd", days
    elif month_count < 2:
        key, n = "M", 1
    elif month_count < 11:
        key, n = "MM", month_count
    elif years < 2:
        key, n = "y", 1
    else:
        key, n = "yy", years
    text = _RELATIVE_EN[key].format(n)
    return f"in {text}" if seconds > 0 else f"{text} ago"


@helper("fromNow", "relative")
def from_now(date_value: Any, locale: Any = None) -> str:
    loc = locale_for(locale)
    when = _read(date_value)
    if isinstance(when, str):
        return when
    current = clock.now()
    delta = when.at - current
    if loc.language == "en":
        return _relative_english(delta.total_seconds(), _months_between(current, when.at))
    return format_timedelta(delta, add_direction=True, locale=loc)


def _start_of(at: datetime, unit: str) -> datetime:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "years":
        return midnight.replace(month=1, day=1)
    if unit == "quarters":
        return midnight.replace(month=(at.month - 1) // 3 * 3 + 1, day=1)
    if unit == "months":
        return midnight.replace(day=1)
    if unit == "weeks":  # moment's default (en) week starts on Sunday
        return midnight - timedelta(days=(at.weekday() + 1) % 7)
    if unit == "isoWeeks":
        return midnight - timedelta(days=at.weekday())
    if unit == "days":
        return midnight
    if unit == "hours":
        return at.replace(minute=0, second=0, microsecond=0)
    if unit == "minutes":
        return at.replace(second=0, microsecond=0)
    if unit == "seconds":
        return at.replace(microsecond=0)
    return at


def _period(at: datetime, unit: str) -> relativedelta:
    return {
        "years": relativedelta(years=1), "quarters": relativedelta(months=3),
        "months": relativedelta(months=1), "weeks": relativedelta(weeks=1),
        "isoWeeks": relativedelta(weeks=1), "days": relativedelta(days=1),
        "hours": relativedelta(hours=1), "minutes": relativedelta(minutes=1),
        "seconds": relativedelta(seconds=1), "milliseconds": relativedelta(microseconds=1000),
    }[unit]  # fmt: skip


@helper("startOf")
def start_of(date_value: Any, unit: Any = "month", timezone: Any = None) -> str:
    unit_name = unit_for(unit)
    when = _read(date_value, timezone)
    if isinstance(when, str):
        return when
    local = in_zone(when, zone_for(timezone))
    return iso(when.replace(_start_of(local, unit_name)))


@helper("endOf")
def end_of(date_value: Any, unit: Any = "month", timezone: Any = None) -> str:
    unit_name = unit_for(unit)
    when = _read(date_value, timezone)
    if isinstance(when, str):
        return when
    local = in_zone(when, zone_for(timezone))
    start = _start_of(local, unit_name)
    last = start + _period(start, unit_name) - timedelta(milliseconds=1)
    return iso(when.replace(last))


def _instants(a: Any, b: Any) -> tuple[datetime, datetime] | None:
    first, second = _read(a), _read(b)
    if isinstance(first, str) or isinstance(second, str):
        return None
    return first.at, second.at


@helper("isBefore")
def is_before(a: Any, b: Any) -> bool:
    pair = _instants(a, b)
    return pair is not None and pair[0] < pair[1]


@helper("isAfter")
def is_after(a: Any, b: Any) -> bool:
    pair = _instants(a, b)
    return pair is not None and pair[0] > pair[1]


@helper("isSame")
def is_same(a: Any, b: Any, unit: Any = "day", timezone: Any = None) -> bool:
    unit_name = unit_for(unit)
    zone = zone_for(timezone)
    first, second = _read(a, timezone), _read(b, timezone)
    if isinstance(first, str) or isinstance(second, str):
        return False
    start_a = _start_of(in_zone(first, zone), unit_name)
    start_b = _start_of(in_zone(second, zone), unit_name)
    return start_a == start_b

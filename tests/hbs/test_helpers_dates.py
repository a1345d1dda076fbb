from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hbs.helpers import HELPERS, clock

INSTANT = "2024-12-05T14:07:09.123Z"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("MMMM D, YYYY", "December 5, 2024"),
        ("MMMM DD, YYYY", "December 05, 2024"),
        ("YYYY-MM-DD", "2024-12-05"),
        ("dddd", "Thursday"),
        ("ddd", "Thu"),
        ("dd", "Th"),
        ("MMM", "Dec"),
        ("Do", "5th"),
        ("HH:mm:ss", "14:07:09"),
        ("hh:mm A", "02:07 PM"),
        ("h:mm a", "2:07 pm"),
        ("k", "14"),
        ("Z", "+00:00"),
        ("ZZ", "+0000"),
        ("SSS", "123"),
        ("S", "1"),
        ("X", "1733407629"),
        ("x", "1733407629123"),
        ("YY Q Qo", "24 4 4th"),
        ("M Mo", "12 12th"),
        ("DDD DDDD DDDo", "340 340 340th"),
        ("d do e E", "4 4th 4 4"),
        ("W WW Wo GGGG", "49 49 49th 2024"),
        ("w ww gggg", "49 49 2024"),
        ("[Due] YYYY [at] HH:mm", "Due 2024 at 14:07"),
        ("L", "12/05/2024"),
        ("l", "12/5/2024"),
        ("LL", "December 5, 2024"),
        ("ll", "Dec 5, 2024"),
        ("LLL", "December 5, 2024 2:07 PM"),
        ("LLLL", "Thursday, December 5, 2024 2:07 PM"),
        ("LT", "2:07 PM"),
        ("LTS", "2:07:09 PM"),
        ("z", "UTC"),
    ],
)
def test_format_date_supports_moment_tokens(pattern: str, expected: str) -> None:
    assert HELPERS["formatDate"](INSTANT, pattern) == expected


def test_format_date_defaults_to_month_day_year() -> None:
    assert HELPERS["formatDate"]("2024-12-05") == "December 5, 2024"


def test_midnight_and_noon_in_twelve_hour_time() -> None:
    assert HELPERS["formatDate"]("2024-12-05T00:05:00Z", "h:mm A k") == "12:05 AM 24"
    assert HELPERS["formatDate"]("2024-12-05T12:00:00Z", "hh A") == "12 PM"


def test_us_weeks_start_on_sunday_and_roll_into_next_year() -> None:
    # Sunday 2024-12-29 begins the week containing January 1st: week 1 of 2025 in en-US.
    assert HELPERS["formatDate"]("2024-12-29", "w gggg") == "1 2025"
    assert HELPERS["formatDate"]("2024-12-29", "W GGGG") == "52 2024"
    assert HELPERS["formatDate"]("2024-12-30", "W GGGG") == "1 2025"


def test_format_date_reads_epoch_milliseconds() -> None:
    assert HELPERS["formatDate"](1733356800000, "YYYY-MM-DD HH:mm") == "2024-12-05 00:00"


def test_format_date_reads_offsets_and_python_dates() -> None:
    assert HELPERS["formatDate"]("2024-12-05T01:00:00+02:00", "YYYY-MM-DD HH:mm") == ("2024-12-04 23:00")
    assert HELPERS["formatDate"](date(2024, 12, 5), "LL") == "December 5, 2024"
    aware = datetime(2024, 12, 5, 9, tzinfo=UTC)
    assert HELPERS["formatDate"](aware, "HH:mm") == "09:00"


def test_format_date_reads_other_common_date_strings() -> None:
    assert HELPERS["formatDate"]("December 5, 2024", "YYYY-MM-DD") == "2024-12-05"
    assert HELPERS["formatDate"]("2024/12/05 10:30", "YYYY-MM-DD HH:mm") == "2024-12-05 10:30"


def test_format_date_converts_instants_to_the_time_zone() -> None:
    pattern = "YYYY-MM-DD HH:mm Z z"
    assert HELPERS["formatDate"](INSTANT, pattern, "America/New_York") == ("2024-12-05 09:07 -05:00 EST")
    assert HELPERS["formatDate"]("2024-07-01T12:00:00Z", "HH:mm z", timezone="Europe/Berlin") == ("14:00 CEST")


def test_a_date_only_value_is_the_same_day_in_every_time_zone() -> None:
    assert HELPERS["formatDate"]("2024-12-05", "YYYY-MM-DD Z", "Pacific/Auckland") == ("2024-12-05 +13:00")
    assert HELPERS["formatDate"]("2024-12-05", "D", "America/Los_Angeles") == "5"


def test_a_naive_date_time_is_read_in_the_requested_time_zone() -> None:
    assert HELPERS["formatDate"]("2024-12-05T09:00:00", "HH:mm Z", "Asia/Tokyo") == ("09:00 +09:00")


def test_format_date_localizes_names_and_long_formats() -> None:
    assert HELPERS["formatDate"]("2024-12-05", "dddd, D. MMMM YYYY", locale="de-DE") == ("Donnerstag, 5. Dezember 2024")
    assert HELPERS["formatDate"]("2024-12-05", "L", locale="de-DE") == "05.12.2024"
    assert HELPERS["formatDate"]("2024-12-05", "LL", locale="fr-FR") == "5 décembre 2024"
    assert HELPERS["formatDate"]("2024-12-05", "Do", locale="de-DE") == "5."
    assert HELPERS["formatDate"]("2024-12-05", "L", locale="en-GB") == "05/12/2024"


def test_format_date_uses_the_genitive_month_next_to_a_day_number() -> None:
    assert HELPERS["formatDate"]("2024-12-05", "D MMMM", locale="ru") == "5 декабря"
    assert HELPERS["formatDate"]("2024-12-05", "MMMM YYYY", locale="ru") == "декабрь 2024"


def test_format_date_of_a_missing_date_is_empty() -> None:
    assert HELPERS["formatDate"](None, "YYYY") == ""


@pytest.mark.parametrize("value", ["not a date", "2024-13-45", "", True, float("nan"), {}, "May", "May 2024"])
def test_format_date_of_an_unreadable_date_is_invalid_date(value: object) -> None:
    assert HELPERS["formatDate"](value, "YYYY") == "Invalid date"


def test_an_unknown_time_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        HELPERS["formatDate"]("2024-12-05", "YYYY", "Mars/Olympus")


def test_an_unknown_locale_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown locale"):
        HELPERS["formatDate"]("2024-12-05", "YYYY", None, "zz-ZZ")


def test_now_reads_the_frozen_clock(frozen_now: datetime) -> None:
    assert HELPERS["now"]() == "2024-12-15T10:30:00.000Z"
    assert HELPERS["now"]("YYYY-MM-DD HH:mm") == "2024-12-15 10:30"
    assert HELPERS["now"]("HH:mm", "Asia/Tokyo") == "19:30"


def test_now_follows_the_real_clock_when_not_frozen() -> None:
    before = datetime.now(UTC).year
    assert int(HELPERS["now"]("YYYY")) in (before, before + 1)


def test_year_of_now_and_of_a_date(frozen_now: datetime) -> None:
    assert HELPERS["year"]() == 2024
    assert HELPERS["year"]("2023-06-01") == 2023
    assert HELPERS["year"]("2024-12-31T23:30:00Z", "Asia/Tokyo") == 2025


def test_add_days_keeps_date_only_values_date_only() -> None:
    assert HELPERS["addDays"]("2024-12-05", 30) == "2025-01-04"
    assert HELPERS["addDays"]("2024-12-05", -5) == "2024-11-30"
    assert HELPERS["subtractDays"]("2024-12-05", 5) == "2024-11-30"


def test_add_days_keeps_the_offset_of_a_date_time() -> None:
    assert HELPERS["addDays"]("2024-12-05T10:00:00Z", 1) == "2024-12-06T10:00:00.000Z"
    assert HELPERS["addDays"]("2024-12-05T10:00:00+02:00", 1) == "2024-12-06T10:00:00.000+02:00"


def test_add_days_rounds_fractional_days_like_moment() -> None:
    assert HELPERS["addDays"]("2024-12-05", 1.6) == "2024-12-07"


def test_date_arithmetic_of_missing_or_bad_input() -> None:
    assert HELPERS["addDays"](None, 3) == ""
    assert HELPERS["addDays"]("nope", 3) == "Invalid date"
    assert HELPERS["addDays"]("2024-12-05", "x") == "Invalid date"
    assert HELPERS["addYears"]("2024-12-05", 1e6) == "Invalid date"


def test_month_arithmetic_clamps_to_the_end_of_shorter_months() -> None:
    assert HELPERS["addMonths"]("2024-01-31", 1) == "2024-02-29"
    assert HELPERS["subtractMonths"]("2024-03-31", 1) == "2024-02-29"
    assert HELPERS["addYears"]("2024-02-29", 1) == "2025-02-28"
    assert HELPERS["addWeeks"]("2024-12-05", 1) == "2024-12-12"


def test_date_add_accepts_units_and_rejects_unknown_ones() -> None:
    assert HELPERS["dateAdd"]("2024-12-05", 2, "weeks") == "2024-12-19"
    assert HELPERS["dateAdd"]("2024-12-05", 1, "Q") == "2025-03-05"
    assert HELPERS["dateAdd"]("2024-12-05T10:00:00Z", 90, "m") == "2024-12-05T11:30:00.000Z"
    with pytest.raises(ValueError, match="unknown date unit 'fortnights'"):
        HELPERS["dateAdd"]("2024-12-05", 1, "fortnights")


def test_adding_hours_counts_real_hours_across_a_dst_change() -> None:
    # 2024-03-31 01:30 in Berlin is CET (+01:00); two real hours later it is 04:30 CEST.
    assert HELPERS["addHours"]("2024-03-31T01:30:00+01:00", 2) == "2024-03-31T03:30:00.000+01:00"
    assert (
        HELPERS["formatDate"](HELPERS["addHours"]("2024-03-31T00:30:00Z", 2), "HH:mm z", "Europe/Berlin")
        == "04:30 CEST"
    )


def test_date_diff_in_days_is_end_minus_start_truncated() -> None:
    assert HELPERS["dateDiff"]("2024-12-05", "2025-01-04") == 30
    assert HELPERS["dateDiff"]("2025-01-04", "2024-12-05") == -30
    assert HELPERS["dateDiff"]("2024-12-05T00:00:00Z", "2024-12-06T23:59:00Z") == 1


def test_date_diff_in_months_and_years_counts_calendar_months() -> None:
    assert HELPERS["dateDiff"]("2024-01-31", "2024-02-29", "months") == 1
    assert HELPERS["dateDiff"]("2024-01-15", "2024-02-14", "months") == 0
    assert HELPERS["dateDiff"]("2020-06-15", "2024-12-05", "years") == 4
    assert HELPERS["dateDiff"]("2024-12-05", "2020-06-15", "years") == -4
    assert HELPERS["dateDiff"]("2024-01-01", "2024-12-31", "quarters") == 3


def test_date_diff_in_hours_weeks_and_seconds() -> None:
    assert HELPERS["dateDiff"]("2024-12-05T08:00:00Z", "2024-12-05T17:30:00Z", "hours") == 9
    assert HELPERS["dateDiff"]("2024-12-01", "2024-12-29", "weeks") == 4
    assert HELPERS["dateDiff"]("2024-12-05T00:00:00Z", "2024-12-05T00:01:00Z", "s") == 60


def test_date_diff_with_an_unreadable_date_is_nan() -> None:
    from hbs.jsvalues import to_js_string

    assert to_js_string(HELPERS["dateDiff"]("x", "2024-12-05")) == "NaN"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-12-15T10:29:50Z", "a few seconds ago"),
        ("2024-12-15T10:30:30Z", "in a few seconds"),
        ("2024-12-15T10:29:00Z", "a minute ago"),
        ("2024-12-15T10:10:00Z", "20 minutes ago"),
        ("2024-12-15T09:30:00Z", "an hour ago"),
        ("2024-12-15T12:30:00Z", "in 2 hours"),
        ("2024-12-14T10:30:00Z", "a day ago"),
        ("2024-12-12T10:30:00Z", "3 days ago"),
        ("2024-11-15T10:30:00Z", "a month ago"),
        ("2025-03-15T10:30:00Z", "in 3 months"),
        ("2023-12-01", "a year ago"),
        ("2021-12-15", "3 years ago"),
    ],
)
def test_from_now_uses_moments_english_thresholds(value: str, expected: str, frozen_now: datetime) -> None:
    assert HELPERS["fromNow"](value) == expected


def test_from_now_in_other_locales_uses_cldr(frozen_now: datetime) -> None:
    assert HELPERS["fromNow"]("2024-12-12T10:30:00Z", "de-DE") == "vor 3 Tagen"
    assert HELPERS["relative"]("2024-12-15T12:30:00Z", "fr") == "dans 2 heures"


def test_relative_is_from_now(frozen_now: datetime) -> None:
    assert HELPERS["relative"]("2025-01-14T10:30:00Z") == "in a month"


def test_from_now_depends_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2024, 12, 8, tzinfo=UTC))
    assert HELPERS["fromNow"]("2024-12-05") == "3 days ago"


def test_start_of_and_end_of_units() -> None:
    assert HELPERS["startOf"]("2024-12-05") == "2024-12-01"
    assert HELPERS["startOf"]("2024-12-05", "week") == "2024-12-01"
    assert HELPERS["startOf"]("2024-12-05", "isoWeek") == "2024-12-02"
    assert HELPERS["startOf"]("2024-11-05", "quarter") == "2024-10-01"
    assert HELPERS["startOf"]("2024-12-05T14:35:10Z", "hour") == "2024-12-05T14:00:00.000Z"
    assert HELPERS["endOf"]("2024-02-05") == "2024-02-29"
    assert HELPERS["endOf"]("2024-12-05", "year") == "2024-12-31"
    assert HELPERS["endOf"]("2024-12-05T14:00:00Z", "day") == "2024-12-05T23:59:59.999Z"


def test_start_of_day_in_a_time_zone() -> None:
    assert HELPERS["startOf"]("2024-12-05T03:00:00Z", "day", "America/New_York") == ("2024-12-04T00:00:00.000-05:00")


def test_is_before_and_is_after() -> None:
    assert HELPERS["isBefore"]("2024-12-05", "2025-01-01") is True
    assert HELPERS["isAfter"]("2024-12-05", "2025-01-01") is False
    assert HELPERS["isAfter"]("2024-12-05T00:00:01Z", "2024-12-05") is True
    assert HELPERS["isBefore"]("nope", "2025-01-01") is False
    assert HELPERS["isAfter"](None, "2025-01-01") is False


def test_is_same_compares_within_a_unit() -> None:
    assert HELPERS["isSame"]("2024-12-05T01:00:00Z", "2024-12-05T23:00:00Z") is True
    assert HELPERS["isSame"]("2024-12-05", "2024-12-20", "month") is True
    assert HELPERS["isSame"]("2024-12-05", "2025-12-05", "month") is False
    assert HELPERS["isSame"]("2024-12-05T01:00:00Z", "2024-12-05T23:00:00Z", "day", "America/New_York") is False

"""Reporting periods (kam/core/periods.py): the named forms a sales team writes
(2026, 2026H1, 2026Q4, 2026-11), two dates, the quarter of a day, and the local
midnights a period spans — the same "2026Q4" for the grading and the dashboard."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kam.core.errors import ValidationFailed
from kam.core.periods import Period, dates_period, months_back, named_period, quarter_of

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- named periods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "start", "end", "name"),
    [
        ("2026", D(2026, 1, 1), D(2026, 12, 31), "2026"),
        ("2026H1", D(2026, 1, 1), D(2026, 6, 30), "2026H1"),
        ("2026H2", D(2026, 7, 1), D(2026, 12, 31), "2026H2"),
        ("2026Q1", D(2026, 1, 1), D(2026, 3, 31), "2026Q1"),
        ("2026Q2", D(2026, 4, 1), D(2026, 6, 30), "2026Q2"),
        ("2026Q3", D(2026, 7, 1), D(2026, 9, 30), "2026Q3"),
        ("2026Q4", D(2026, 10, 1), D(2026, 12, 31), "2026Q4"),
        ("2026-01", D(2026, 1, 1), D(2026, 1, 31), "2026-01"),
        ("2026-02", D(2026, 2, 1), D(2026, 2, 28), "2026-02"),
        ("2028-02", D(2028, 2, 1), D(2028, 2, 29), "2028-02"),  # leap year
        ("2000-02", D(2000, 2, 1), D(2000, 2, 29), "2000-02"),  # divisible by 400: leap
        ("2100-02", D(2100, 2, 1), D(2100, 2, 28), "2100-02"),  # divisible by 100: not
        ("2026-04", D(2026, 4, 1), D(2026, 4, 30), "2026-04"),
        ("2026-12", D(2026, 12, 1), D(2026, 12, 31), "2026-12"),
        # lower case and surrounding blanks are accepted; the key is written canonically
        ("2026h1", D(2026, 1, 1), D(2026, 6, 30), "2026H1"),
        ("2026q3", D(2026, 7, 1), D(2026, 9, 30), "2026Q3"),
        (" 2026Q4 ", D(2026, 10, 1), D(2026, 12, 31), "2026Q4"),
        # the years at the ends of the accepted range
        ("1990", D(1990, 1, 1), D(1990, 12, 31), "1990"),
        ("2200Q4", D(2200, 10, 1), D(2200, 12, 31), "2200Q4"),
    ],
)
def test_named_period_spans_whole_days(key, start, end, name):
    # when
    period = named_period(key)
    # then
    assert period == Period(start=start, end=end, key=name)
    assert period.months is None


@pytest.mark.parametrize(
    "key",
    [
        "2026Q5",
        "2026Q0",
        "2026H3",
        "2026H0",
        "26Q1",
        "",
        "   ",
        None,
        "2026 Q1",
        "2026-Q1",
        "Q1 2026",
        "2026Q",
        "2026-1",
        "2026-001",
        "2026/01",
        "20261",
        "1989",
        "2201",
        "1989Q4",
        "2201-01",
        "0000",
        "this quarter",
        "２０２６Q1",  # full-width digits
    ],
)
def test_bad_named_period_names_the_field_and_the_forms(key):
    # when
    with pytest.raises(ValidationFailed) as info:
        named_period(key)
    # then
    assert info.value.field == "period"
    assert str(info.value.message) == (
        f"Unknown period “{(key or '').strip()}”. Write a year (2026), a half (2026H1), a "
        "quarter (2026Q3) or a month (2026-07)."
    )


@pytest.mark.parametrize(("key", "month"), [("2026-13", "13"), ("2026-00", "00")])
def test_a_month_that_does_not_exist_is_refused(key, month):
    # when
    with pytest.raises(ValidationFailed) as info:
        named_period(key)
    # then
    assert info.value.field == "period"
    assert str(info.value.message) == f"There is no month {month}; write 01 to 12."


def test_named_period_names_the_field_it_is_given():
    # when
    with pytest.raises(ValidationFailed) as info:
        named_period("2026Q5", field="grading_period")
    # then
    assert info.value.field == "grading_period"


def test_a_long_bad_value_is_cut_in_the_message():
    # when
    with pytest.raises(ValidationFailed) as info:
        named_period("x" * 100)
    # then: only the first 40 characters are echoed
    assert f"“{'x' * 40}”" in str(info.value.message)
    assert "x" * 41 not in str(info.value.message)


# --- the quarter of a day -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "key", "start", "end"),
    [
        (D(2026, 1, 1), "2026Q1", D(2026, 1, 1), D(2026, 3, 31)),
        (D(2026, 3, 31), "2026Q1", D(2026, 1, 1), D(2026, 3, 31)),
        (D(2026, 4, 1), "2026Q2", D(2026, 4, 1), D(2026, 6, 30)),
        (D(2026, 6, 30), "2026Q2", D(2026, 4, 1), D(2026, 6, 30)),
        (D(2026, 7, 1), "2026Q3", D(2026, 7, 1), D(2026, 9, 30)),
        (D(2026, 9, 30), "2026Q3", D(2026, 7, 1), D(2026, 9, 30)),
        (D(2026, 10, 1), "2026Q4", D(2026, 10, 1), D(2026, 12, 31)),
        (D(2026, 11, 16), "2026Q4", D(2026, 10, 1), D(2026, 12, 31)),
        (D(2026, 12, 31), "2026Q4", D(2026, 10, 1), D(2026, 12, 31)),
        (D(2028, 2, 29), "2028Q1", D(2028, 1, 1), D(2028, 3, 31)),
    ],
)
def test_quarter_of_a_day(day, key, start, end):
    assert quarter_of(day) == Period(start=start, end=end, key=key)


# --- two dates ------------------------------------------------------------------------------


def test_dates_period_includes_both_days_and_has_no_name():
    # when
    period = dates_period("2026-11-03", D(2026, 11, 20))
    # then
    assert period == Period(start=D(2026, 11, 3), end=D(2026, 11, 20), key="")
    assert period.contains(D(2026, 11, 3)) and period.contains(D(2026, 11, 20))
    assert not period.contains(D(2026, 11, 2)) and not period.contains(D(2026, 11, 21))


def test_dates_period_of_one_day():
    assert dates_period("2026-11-03", "2026-11-03") == Period(D(2026, 11, 3), D(2026, 11, 3))


def test_dates_period_takes_the_day_of_a_datetime():
    # given: an aware datetime (the day as written, not converted)
    start = dt.datetime(2026, 11, 3, 23, 30, tzinfo=SHANGHAI)
    # when
    period = dates_period(start, "2026-11-30")
    # then
    assert (period.start, period.end) == (D(2026, 11, 3), D(2026, 11, 30))


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (None, "2026-11-30", "start", "Give the start of the period too."),
        (None, None, "start", "Give the start of the period too."),
        ("2026-11-01", None, "end", "Give the end of the period too."),
        ("", "2026-11-30", "start", "This field is required."),
        ("2026-11-01", "", "end", "This field is required."),
        ("2026-02-30", "2026-03-01", "start", "Enter a date as YYYY-MM-DD."),
        ("2026-11-01", "30/11/2026", "end", "Enter a date as YYYY-MM-DD."),
        ("2026-11-30", "2026-11-29", "end", "The end of the period is before its start."),
        (D(2027, 1, 1), D(2026, 12, 31), "end", "The end of the period is before its start."),
    ],
)
def test_dates_period_errors_name_the_field(start, end, field, message):
    # when
    with pytest.raises(ValidationFailed) as info:
        dates_period(start, end)
    # then
    assert (info.value.field, str(info.value.message)) == (field, message)


# --- bounds: local midnights ----------------------------------------------------------------


def test_the_site_runs_on_china_time(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_bounds_are_local_midnights_from_the_first_day_to_the_day_after_the_last():
    # when
    lo, hi = named_period("2026Q4").bounds()
    # then: [2026-10-01 00:00, 2027-01-01 00:00) in Shanghai (UTC+8)
    assert lo == dt.datetime(2026, 10, 1, tzinfo=SHANGHAI)
    assert hi == dt.datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert lo.utcoffset() == hi.utcoffset() == dt.timedelta(hours=8)
    assert lo == dt.datetime(2026, 9, 30, 16, 0, tzinfo=dt.UTC)
    assert hi == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)


def test_bounds_of_two_dates_and_of_a_leap_february():
    assert dates_period("2026-11-03", "2026-11-03").bounds() == (
        dt.datetime(2026, 11, 3, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 4, tzinfo=SHANGHAI),
    )
    assert named_period("2028-02").bounds() == (
        dt.datetime(2028, 2, 1, tzinfo=SHANGHAI),
        dt.datetime(2028, 3, 1, tzinfo=SHANGHAI),
    )


def test_bounds_follow_the_current_time_zone_across_a_clock_change():
    # given: a zone with summer time (Berlin: UTC+1 in winter, UTC+2 from 29 March 2026)
    berlin = ZoneInfo("Europe/Berlin")
    # when
    with timezone.override(berlin):
        lo, hi = named_period("2026-03").bounds()
    # then: each bound is the local midnight, with that day's offset
    assert lo == dt.datetime(2026, 3, 1, tzinfo=berlin)
    assert hi == dt.datetime(2026, 4, 1, tzinfo=berlin)
    assert (lo.utcoffset(), hi.utcoffset()) == (dt.timedelta(hours=1), dt.timedelta(hours=2))


# --- months back ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 11, 15), 1, D(2026, 10, 15)),
        (D(2026, 1, 15), 1, D(2025, 12, 15)),
        (D(2026, 3, 31), 1, D(2026, 2, 28)),  # no 31 February: the month's last day
        (D(2028, 3, 31), 1, D(2028, 2, 29)),
        (D(2026, 5, 31), 3, D(2026, 2, 28)),
        (D(2026, 11, 30), 12, D(2025, 11, 30)),
        (D(2026, 11, 30), 0, D(2026, 11, 30)),
        (D(2026, 2, 28), 24, D(2024, 2, 28)),
    ],
)
def test_months_back(day, months, expected):
    assert months_back(day, months) == expected

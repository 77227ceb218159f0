"""Reporting periods: a span of whole local days, named as a sales team says it —
a year (`2026`), a half (`2026H1`), a quarter (`2026Q4`) or a month (`2026-11`) —
or given as two dates. Shared by the account grading, the pipeline dashboard and
(later) the partner statements, so "2026H1" means the same everywhere."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from kam.core import validation
from kam.core.errors import ValidationFailed

YEAR_MIN, YEAR_MAX = 1990, 2200
_NAMED = re.compile(r"^(\d{4})(?:(H)([12])|(Q)([1-4])|-(\d{2}))?$", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    months: int | None = None  # set when it is a trailing period
    key: str = ""  # "2026Q4" when it was asked for by name

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[local midnight of start, local midnight after end): index-friendly."""
        tz = timezone.get_current_timezone()
        lo = dt.datetime.combine(self.start, dt.time.min)
        hi = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min)
        return timezone.make_aware(lo, tz), timezone.make_aware(hi, tz)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, or the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_span(year: int, first: int, count: int) -> tuple[dt.date, dt.date]:
    last = first + count - 1
    return dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])


def named_period(key: str, *, field: str = "period") -> Period:
    """`2026`, `2026H1`, `2026Q3` or `2026-07` as a Period; anything else is a
    ValidationFailed naming `field` and the accepted forms."""
    text = (key or "").strip()
    found = _NAMED.match(text)
    year = int(found.group(1)) if found else 0
    if not found or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationFailed(
            _(
                "Unknown period “%(value)s”. Write a year (2026), a half (2026H1), a quarter "
                "(2026Q3) or a month (2026-07)."
            )
            % {"value": text[:40]},
            field=field,
        )
    if found.group(2):
        half = int(found.group(3))
        start, end = _month_span(year, 1 + 6 * (half - 1), 6)
        return Period(start=start, end=end, key=f"{year}H{half}")
    if found.group(4):
        quarter = int(found.group(5))
        start, end = _month_span(year, 1 + 3 * (quarter - 1), 3)
        return Period(start=start, end=end, key=f"{year}Q{quarter}")
    if found.group(6):
        month = int(found.group(6))
        if not 1 <= month <= 12:
            raise ValidationFailed(
                _("There is no month %(month)s; write 01 to 12.") % {"month": found.group(6)},
                field=field,
            )
        start, end = _month_span(year, month, 1)
        return Period(start=start, end=end, key=f"{year}-{month:02d}")
    start, end = _month_span(year, 1, 12)
    return Period(start=start, end=end, key=str(year))


def quarter_of(day: dt.date) -> Period:
    return named_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def dates_period(start, end) -> Period:
    """Two dates, both included; each must be given and end ≥ start."""
    if start is None:
        raise ValidationFailed(_("Give the start of the period too."), field="start")
    if end is None:
        raise ValidationFailed(_("Give the end of the period too."), field="end")
    first = validation.date(start, field="start", required=True)
    last = validation.date(end, field="end", required=True)
    if last < first:
        raise ValidationFailed(_("The end of the period is before its start."), field="end")
    return Period(start=first, end=last)

"""Demo time: every moment is "so many days before now", so a demo loaded on any day
looks current (deals entered their stage days or months ago, some overdue)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.utils import timezone


@dataclass(frozen=True)
class Timeline:
    now: dt.datetime

    @cached_property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def at(self, days_ago: int, minute: int = 10 * 60) -> dt.datetime:
        """A moment `days_ago` days before today at `minute` past local midnight.

        At least one day back, so a frozen historical clock is never ahead of now."""
        if days_ago < 1:
            raise ValueError("historical demo moments are at least one day ago")
        day = self.today - dt.timedelta(days=days_ago)
        local = dt.datetime.combine(day, dt.time(minute // 60 % 24, minute % 60))
        return timezone.make_aware(local)

    def date(self, days_from_today: int) -> dt.date:
        return self.today + dt.timedelta(days=days_from_today)

    def label(self, days_ago: int) -> str:
        """A date as a rep writes it in a note: 3月14日."""
        day = self.date(-days_ago)
        return f"{day.month}月{day.day}日"

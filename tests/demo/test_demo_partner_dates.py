"""The B公司 case told on a half-year's first or last day: 李四's worked example still
falls whole in the settled half-year (the demo is relative to the day it is loaded)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kam.core import clock
from kam.demo.cases import LISI, b_company
from kam.demo.cases.partner import settled_half
from kam.demo.timeline import Timeline
from kam.partners import selectors
from kam.partners.models import Partner
from kam.users.services import user_create

CST = ZoneInfo("Asia/Shanghai")
D = Decimal


@pytest.mark.parametrize(
    "today",
    [dt.date(2026, 7, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 6, 30)],
)
def test_the_example_falls_in_one_half_year_on_any_day(db, today):
    # given the B公司 case told on a half-year's first or last day
    now = dt.datetime.combine(today, dt.time(9, 0), tzinfo=CST)
    rep3 = user_create(username="rep3", role="rep", team="二部", password="x-pass-12345")
    with clock.freeze(now):
        b_company({"rep3": rep3}, Timeline(now=now))
        partner = Partner.objects.get(name=LISI)
        # then the settled half-year holds the whole worked example
        period = selectors.default_period(partner)
        report = selectors.partner_statement(partner, period)
    assert (period.start, period.end) == settled_half(Timeline(now=now))
    assert period.end < today
    assert (report.figures.volume_base, report.figures.volume_bonus, report.held) == (
        D("102000.00"),
        D("1020.00"),
        D("6020.00"),
    )

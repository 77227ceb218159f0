"""李四 in the demo (SPEC §7, §11): his statement for the settled half-year is the worked
example, held for the conflict of interest, and payable as the example once an admin
records the customer's disclosure. The numbers fall in one half-year whatever day the
demo is loaded."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.core import clock
from kam.demo.cases import LISI
from kam.demo.cases.partner import settled_half
from kam.demo.timeline import Timeline
from kam.partners import selectors, services
from kam.partners.models import Partner
from kam.users.models import User

CST = ZoneInfo("Asia/Shanghai")
D = Decimal


def figures(report) -> dict[str, Decimal]:
    f = report.figures
    return {
        "earned": f.earned,
        "pending": f.pending,
        "held": f.held,
        "base": f.volume_base,
        "bonus": f.volume_bonus,
        "payable": report.payable,
    }


@pytest.fixture
def lisi(demo, db) -> Partner:
    return Partner.objects.select_related("employer_account", "owner").get(name=LISI)


def test_lisi_statement_is_the_worked_example_held(lisi):
    # given the demo as loaded today
    period = selectors.default_period(lisi)
    # when his statement for the period the page opens on is read
    report = selectors.partner_statement(lisi, period)
    # then it is the settled half-year, with SPEC §7's figures all held
    start, end = settled_half(Timeline(now=clock.now()))
    assert (period.start, period.end) == (start, end)
    assert lisi.employer_account.name == "苏州博远精密机械有限公司"
    assert lisi.owner.username == "rep3" and lisi.agreement_date < start
    assert sorted((x.line.kind, x.line.commission, x.line.pending) for x in report.lines) == [
        ("direct", D("2000.00"), D("0.00")),
        ("direct", D("2500.00"), D("500.00")),
        ("indirect", D("0.00"), D("0.00")),
    ]
    assert figures(report) == {
        "earned": D("0.00"),
        "pending": D("0.00"),
        "held": D("6020.00"),
        "base": D("102000.00"),
        "bonus": D("1020.00"),
        "payable": D("0.00"),
    }
    assert [f.code for f in report.flags] == ["conflict_of_interest"] * 2


def test_lisi_released_by_the_admin_is_payable_as_the_example(lisi):
    # given the demo admin
    admin = User.objects.get(username="admin")
    period = selectors.default_period(lisi)
    # when both direct referrals are released with the customer's disclosure
    for referral in lisi.referrals.filter(conflict=True):
        services.referral_release(
            actor=admin,
            referral=referral,
            note="苏州博远总经理黄德明书面确认知悉并同意。",
            document=SimpleUploadedFile("同意函.pdf", b"%PDF-1.7\n", "application/pdf"),
        )
    # then the statement is SPEC §7's: 2,000 + 2,500 earned, 500 pending, bonus 1,020
    assert figures(selectors.partner_statement(lisi, period)) == {
        "earned": D("4500.00"),
        "pending": D("500.00"),
        "held": D("0.00"),
        "base": D("102000.00"),
        "bonus": D("1020.00"),
        "payable": D("5520.00"),
    }

"""A manager grades the book and reads the 皇冠 case (SPEC §6, §11) in Chinese.

From the navigation to the grading dashboard (the value pyramid and the Pareto
curve drawn, the top-20% headline), then to the 皇冠 account: the SWOT as SPEC §6
tells it, the incumbent from 常州 on the competition map, the grade with its
breakdown; then the season's deal, where the incumbent still leads the scoring
table and `competitor_stronger` is raised. Screenshots:
artifacts/screenshots/grading-zh.png, account-crown-zh.png, competition-crown-zh.png."""

from __future__ import annotations

import io
import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANAGER = ("manager", "kam-demo-manager")


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def expect_chart_drawn(page, testid: str, element: str) -> None:
    chart = page.get_by_test_id(testid)
    chart.scroll_into_view_if_needed()
    drawn = chart.locator(element).first
    expect(drawn).to_be_attached()
    box = drawn.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 30, (
        f"the {testid} has no real size: {box}"
    )


def test_grading_dashboard_and_the_crown_account(page, login_as, switch_language, screenshot):
    from kam.accounts.models import Account
    from kam.demo.cases import CROWN_ACCOUNT
    from kam.demo.loader import load_demo
    from kam.opportunities.models import Opportunity

    load_demo(out=io.StringIO())
    crown = Account.objects.get(name=CROWN_ACCOUNT)
    deal = Opportunity.objects.filter(account=crown, name__contains="服装辅料").get()

    # given the manager, signed in, the UI in Chinese
    login_as(*MANAGER)
    switch_language("zh-hans")

    # when they open the grading dashboard from the navigation
    with page.expect_navigation():
        page.get_by_test_id("nav-grading").click()
    expect(page.get_by_test_id("grading-page")).to_be_visible()
    # then the pyramid and the Pareto curve are drawn, with the top-20% headline
    expect_chart_drawn(page, "pyramid-chart", "canvas")
    expect_chart_drawn(page, "pareto-chart", "canvas")
    expect(page.get_by_test_id("pareto-headline")).to_contain_text("%")
    expect(page.get_by_test_id("grading-row").first).to_be_visible()
    screenshot("grading-zh")

    # when they open the 皇冠 account from the ranking
    with page.expect_navigation():
        page.get_by_test_id("grading-table").get_by_role("link", name=CROWN_ACCOUNT).click()
    # then the SWOT reads as SPEC §6 tells it
    quadrant = lambda key: page.locator(f'[data-testid="swot-quadrant"][data-quadrant="{key}"]')  # noqa: E731
    expect(quadrant("strength")).to_contain_text("价格有竞争力")
    expect(quadrant("strength")).to_contain_text("交货快")
    expect(quadrant("weakness")).to_contain_text("采购份额低")
    expect(quadrant("weakness")).to_contain_text("合作历史短")
    expect(quadrant("opportunity")).to_contain_text("成本压力")
    expect(quadrant("opportunity")).to_contain_text("付款条件")
    expect(quadrant("threat")).to_contain_text("联合开发团队")
    expect(quadrant("strength")).to_contain_text(zh("Strength"))
    # and the incumbent from 常州 holds 70% on the competition map, we attack
    incumbent = page.locator('[data-testid="map-row"].is-incumbent')
    expect(incumbent).to_contain_text("常州恒泰")
    expect(incumbent).to_contain_text("70%")
    expect(page.get_by_test_id("posture-badge")).to_contain_text(zh("Attack (challenger)"))
    expect_chart_drawn(page, "competition-chart", "svg")
    # and the grade card shows a total with its breakdown
    expect(page.get_by_test_id("grade-card")).to_be_visible()
    expect(page.get_by_test_id("grade-total")).to_have_text(re.compile(r"^\d{1,3}(\.\d)?$"))
    screenshot("account-crown-zh")

    # when they open the season's deal
    page.goto(f"/opportunities/{deal.pk}/")
    # then the incumbent leads the scoring table and the alert says so
    card = page.get_by_test_id("competition-card")
    expect(card).to_contain_text("常州恒泰")
    alert = page.locator(
        '[data-testid="alerts"] [data-testid="alert"][data-code="competitor_stronger"]'
    )
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("常州恒泰")
    card.scroll_into_view_if_needed()
    screenshot("competition-crown-zh")
    assert page.kam_errors == []

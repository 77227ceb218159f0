"""A gate refuses a rep and a manager forces it (SPEC §2.2, §5, §9).

A rep drags a development-stage card onto the next column of the pipeline board;
the key node is not met, so the card stays and lists what is missing (no Force
for a rep). The manager of the team signs in, tries the same, gets a Force button,
gives a reason and the card moves. The opportunity page's timeline then shows the
forced move with its reason and the unmet items, and the win probability has
dropped with a factor that says why (forced past the gate ×0.5).

Screenshots in artifacts/screenshots/: board-refused-{en,zh}, force-dialog-{en,zh},
opportunity-forced-{en,zh}."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REP = ("gate_rep", "gate-rep-pass-123")
MANAGER = ("gate_manager", "gate-manager-pass-123")
REASON = "客户总经理已口头确认立项,评估下周补录"


@pytest.fixture
def deal():
    """A deal at development with nothing recorded yet, owned by a rep of 华东,
    whose manager leads the same team. Built through the services."""
    from kam.accounts.services import account_create
    from kam.contacts.services import contact_create
    from kam.opportunities.services import opportunity_create
    from kam.users.services import user_create

    rep = user_create(
        username=REP[0], role="rep", team="华东", password=REP[1], display_name="李明"
    )
    user_create(
        username=MANAGER[0],
        role="manager",
        team="华东",
        password=MANAGER[1],
        display_name="张经理",
    )
    account = account_create(actor=rep, name="上海华鼎精密机械有限公司", industry="机床")
    contact_create(actor=rep, account=account, name="王立新", title="技术总监")
    soon = dt.date.today() + dt.timedelta(days=60)
    opportunity_create(
        actor=rep, account=account, name="二期产线自动化改造", amount="1250000", expected_close=soon
    )
    return opportunity_create(
        actor=rep,
        account=account,
        name="五轴数控加工中心采购项目",
        amount="3680000",
        expected_close=soon,
    )


def card_of(page, opp):
    return page.locator(f'[data-testid="board-card"][data-id="{opp.pk}"]')


def column(page, stage: str):
    return page.locator(f'[data-testid="board-column"][data-stage="{stage}"]')


def drag_to_next_column(page, opp):
    """Drag the deal's card from development onto the entry column and wait for the
    server's answer to land in the card."""
    card = card_of(page, opp)
    expect(card).to_have_attribute("data-stage", "development")
    with page.expect_response(re.compile(rf"/opportunities/{opp.pk}/board-advance/$")):
        card.drag_to(column(page, "entry"))
    expect(card_of(page, opp).get_by_test_id("card-refusal")).to_be_visible()


def sign_out(page):
    with page.expect_navigation():
        page.get_by_test_id("logout").click()


def unexpected(errors: list[str]) -> list[str]:
    """Page errors other than the refusals the flow provokes on purpose (409 for the
    unmet gate, 422 for a force without a reason)."""
    expected = re.compile(r"^HTTP (409|422) for .*/board-advance/$")
    return [e for e in errors if not expected.match(e)]


def test_rep_is_refused_on_the_board_and_the_manager_forces_with_a_reason(
    page, login_as, switch_language, screenshot, deal
):
    from kam.opportunities.assess import assess
    from kam.opportunities.models import ForcedMove, Opportunity

    before = assess(deal).probability

    # given a rep on the board, in English
    login_as(*REP)
    page.goto("/opportunities/board/")
    expect(column(page, "development").get_by_test_id("board-card")).to_have_count(2)

    # when they drag the development card onto the next column
    drag_to_next_column(page, deal)

    # then the card stays where it was and says what is missing; no Force for a rep
    card = card_of(page, deal)
    refusal = card.get_by_test_id("card-refusal")
    expect(refusal).to_contain_text("the key node of Development is not met yet")
    expect(refusal.get_by_test_id("card-unmet")).to_have_count(2)
    expect(refusal).to_contain_text("Evaluation recorded and passed")
    expect(refusal).to_contain_text("No evaluation yet")
    expect(refusal).to_contain_text("Priority grade assigned")
    expect(card.get_by_test_id("card-force")).to_have_count(0)
    expect(column(page, "development").locator(f'[data-id="{deal.pk}"]')).to_have_count(1)
    expect(column(page, "entry").get_by_test_id("column-count")).to_have_text("0")
    screenshot("board-refused-en")

    # and the same in Chinese
    switch_language("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    drag_to_next_column(page, deal)
    expect(card_of(page, deal).get_by_test_id("card-refusal")).to_contain_text("开发阶段")
    screenshot("board-refused-zh")
    assert Opportunity.objects.get(pk=deal.pk).stage == "development"
    sign_out(page)

    # given the team's manager on the board (the language choice stays Chinese)
    login_as(*MANAGER)
    page.goto("/opportunities/board/")
    drag_to_next_column(page, deal)

    # when they press Force on the refused card
    card_of(page, deal).get_by_test_id("card-force").click()
    dialog = page.get_by_test_id("force-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("五轴数控加工中心采购项目")
    expect(dialog).to_contain_text("销售进入阶段")
    expect(dialog.get_by_test_id("force-unmet").locator("li")).to_have_count(2)
    screenshot("force-dialog-zh", full_page=False)
    dialog.get_by_role("button", name=re.compile("取消|Cancel")).click()
    expect(dialog).to_be_hidden()

    # and in English, first without a reason, then with one
    switch_language("en")
    drag_to_next_column(page, deal)
    card_of(page, deal).get_by_test_id("card-force").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Force past the key node?")
    screenshot("force-dialog-en", full_page=False)
    with page.expect_response(re.compile(r"/board-advance/$")):
        dialog.get_by_test_id("force-submit").click()
    expect(dialog.get_by_test_id("force-error")).to_have_text("This field is required.")
    assert Opportunity.objects.get(pk=deal.pk).stage == "development"
    dialog.get_by_test_id("force-reason").fill(REASON)
    with page.expect_response(re.compile(r"/board-advance/$")):
        dialog.get_by_test_id("force-submit").click()

    # then the card moves to the next column and the move is recorded with the reason
    expect(dialog).to_be_hidden()
    moved = column(page, "entry").locator(f'[data-id="{deal.pk}"]')
    expect(moved).to_have_count(1)
    expect(moved).to_have_attribute("data-stage", "entry")
    expect(column(page, "entry").get_by_test_id("column-count")).to_have_text("1")
    expect(column(page, "development").get_by_test_id("column-count")).to_have_text("1")
    expect(page.get_by_test_id("board-live")).to_contain_text("forced into Sales entry")
    forced = ForcedMove.objects.get(opportunity_id=deal.pk)
    assert (forced.from_stage, forced.to_stage, forced.reason) == ("development", "entry", REASON)
    assert forced.unmet == ["evaluation_passed", "priority_assigned"]
    after = assess(Opportunity.objects.get(pk=deal.pk)).probability
    assert after < before
    expect(moved.get_by_test_id("card-probability")).to_have_text(f"{after}%")

    # when the manager opens the opportunity page
    with page.expect_navigation():
        moved.locator(".card-name").click()

    # then the timeline's newest entry is the forced move with its reason and unmet items
    newest = page.get_by_test_id("history-row").first
    expect(newest).to_have_attribute("data-action", "force_advanced")
    expect(newest).to_contain_text("Forced into the next stage")
    expect(newest).to_contain_text("Development → Sales entry")
    expect(newest).to_contain_text("Evaluation recorded and passed, Priority grade assigned")
    expect(newest).to_contain_text(REASON)
    expect(newest).to_contain_text("张经理")
    # and the win probability dropped, its factors saying why
    probability = page.get_by_test_id("win-probability")
    expect(probability.locator("strong").first).to_have_text(f"{after}%")
    factors = probability.get_by_test_id("probability-factor")
    expect(factors.filter(has_text="Forced past the Development gate")).to_contain_text("×0.5")
    expect(factors.filter(has_text="Base probability of the stage")).to_contain_text("20%")
    expect(page.locator('[data-testid="alert"][data-code="forced_gate"]')).to_be_visible()
    expect(page.get_by_test_id("stage")).to_have_text("Sales entry")
    screenshot("opportunity-forced-en")

    # and in Chinese the same page reads from the playbook in Chinese
    switch_language("zh-hans")
    expect(page.get_by_test_id("stage")).to_have_text("销售进入阶段")
    expect(page.get_by_test_id("history-row").first).to_contain_text(REASON)
    expect(page.get_by_test_id("history-row").first).to_contain_text("开发阶段 → 销售进入阶段")
    screenshot("opportunity-forced-zh")

    assert unexpected(page.kam_errors) == [], "the pages had errors:\n" + "\n".join(page.kam_errors)

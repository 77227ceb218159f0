"""A manager reads the 廖总 case (SPEC §11) in Chinese and in English.

The demo's lost-despite-the-lowest-price deal: the customer's VP 刘 promised the
order, the design department's head 王 ran the tender. The manager signs in,
switches the UI to Chinese, opens that deal from its account page and must see
both people in the opportunity's org chart; then switches back to English.
Screenshots: artifacts/screenshots/opportunity-liao-zh.png and -en.png."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANAGER = ("manager", "kam-demo-manager")


def liao_case():
    """The account and opportunity of the 廖总 case, found in the loaded demo.

    The customer is the account whose people include 刘 and 王; the demo has many
    synthetic accounts with those common surnames, so the one that mentions 廖
    (in its name, code, notes or a deal) wins, then the one whose 王 is in design."""
    from kam.accounts.models import Account

    candidates = list(
        Account.objects.filter(contacts__name__contains="刘")
        .filter(contacts__name__contains="王")
        .distinct()
        .prefetch_related("contacts", "opportunities")
    )

    def score(account) -> tuple[int, int]:
        texts = [account.name, account.code or "", account.notes]
        for opp in account.opportunities.all():
            texts += [opp.name, opp.code or "", opp.description]
        mentions_liao = any("廖" in t or "liao" in t.lower() for t in texts)
        design_wang = any(
            "王" in c.name and ("设计" in c.department or "design" in c.department.lower())
            for c in account.contacts.all()
        )
        return (int(mentions_liao), int(design_wang))

    ranked = sorted(candidates, key=score, reverse=True)
    assert ranked, "the demo has no account whose contacts include 刘 and 王 (the 廖总 case)"
    best = ranked[0]
    assert score(best) > (0, 0), (
        "cannot tell which account is the 廖总 case: none of "
        f"{[a.name for a in ranked[:5]]} mentions 廖 or has a 王 in design"
    )
    opportunities = list(best.opportunities.all())
    assert opportunities, f"the 廖总 account {best.name!r} has no opportunity"
    liao = [o for o in opportunities if "廖" in o.name or "廖" in o.description]
    return best, (liao or opportunities)[0]


def chinese(msgid: str) -> str:
    """The zh-Hans translation of a UI label, from the compiled catalogue."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    assert text != msgid, (
        f"{msgid!r} has no Chinese translation: is kam/locale/zh_Hans compiled? "
        "(make test compiles the .po files)"
    )
    return text


def test_manager_sees_liao_case_contacts_in_chinese_and_english(
    page, login_as, switch_language, screenshot
):
    # given the demo, and a manager signed in who switches the UI to Chinese
    from kam.demo.loader import load_demo

    load_demo(out=io.StringIO())
    account, opportunity = liao_case()
    login_as(*MANAGER)
    switch_language("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # when they open the deal from the customer's account page
    page.goto(f"/accounts/{account.pk}/")
    link = page.locator(
        f'a[href$="/opportunities/{opportunity.pk}/"], a[href$="/opportunities/{opportunity.pk}"]'
    ).first
    expect(link).to_be_visible()
    with page.expect_navigation():
        link.click()
    page.wait_for_load_state("load")

    # then the org chart shows 刘 and 王, and the page is in Chinese
    assert f"/opportunities/{opportunity.pk}/" in page.url
    chart = page.get_by_test_id("org-chart")
    expect(chart).to_be_visible()
    rows = chart.get_by_test_id("contact-row")
    expect(rows.filter(has_text="刘").first).to_be_visible()
    expect(rows.filter(has_text="王").first).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(
        page.get_by_role("link", name=chinese("Opportunities"), exact=True).first
    ).to_be_visible()
    expect(chart.get_by_role("columnheader", name=chinese("Department"))).to_be_visible()
    screenshot("opportunity-liao-zh")

    # when they switch back to English on the same page
    switch_language("en")
    if f"/opportunities/{opportunity.pk}/" not in page.url:
        page.goto(f"/opportunities/{opportunity.pk}/")

    # then the same people, English labels
    expect(page.locator("html")).to_have_attribute("lang", "en")
    chart = page.get_by_test_id("org-chart")
    expect(chart.get_by_test_id("contact-row").filter(has_text="刘").first).to_be_visible()
    expect(chart.get_by_test_id("contact-row").filter(has_text="王").first).to_be_visible()
    expect(page.get_by_role("link", name="Opportunities", exact=True).first).to_be_visible()
    expect(chart.get_by_role("columnheader", name="Department")).to_be_visible()
    screenshot("opportunity-liao-en")

    assert page.kam_errors == [], "the pages had errors:\n" + "\n".join(page.kam_errors)

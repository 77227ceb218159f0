"""The 廖总 deal's buying centre: alerts, map and an edit through the dialog (SPEC §4, §5, §9).

The demo's 廖总 deal is at bidding; its VP 刘建华 (our champion and coach) has left,
the new general manager 高振宇 decides and nobody knows where he stands, the design
head 王立新 runs the tender. In Chinese, the team's manager opens the alert list from
the navigation, filters it to "key person changed", follows the 廖总 row to the deal
and sees the alerts (key person changed naming 刘建华 and 高振宇, decision maker not
supportive, single-threaded) and the buying-centre map. Then the deal's owner, in a
browser of their own, opens 高振宇's edit dialog from the map's table, reads his DISC
tip, sets him to supporter and saves: he moves to "for us", the decision-maker alert
goes, the key-person alert stays.

One test, one demo load: the live server needs transaction=True, which empties the
database after every test, so a second test would load the demo again.

Screenshots in artifacts/screenshots/: alerts-team-zh, buying-centre-liao-zh,
buying-centre-map-zh, buying-centre-liao-en, stakeholder-dialog-zh,
buying-centre-map-after-edit-zh."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANAGER = ("manager", "kam-demo-manager")
OWNER = ("rep1", "kam-demo-rep1")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
THREE = ("key_person_changed", "decision_maker_not_supportive", "single_threaded")
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def liao_deal():
    """The 廖总 deal of the loaded demo and the people of the case."""
    from kam.demo.cases import LIAO_ACCOUNT
    from kam.opportunities.models import Opportunity

    deals = list(Opportunity.objects.filter(account__name=LIAO_ACCOUNT).select_related("owner"))
    assert len(deals) == 1, f"expected one deal of {LIAO_ACCOUNT}, found {deals}"
    return deals[0]


def in_chinese(msgid: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def chinese_beyond(text: str, *names: str) -> bool:
    """Whether `text` still has Chinese characters once the people's names are taken
    out (a name alone does not make an English sentence Chinese)."""
    for name in names:
        text = text.replace(name, "")
    return bool(CJK.search(text))


def alert(page, code: str):
    return page.locator(f'[data-testid="alerts"] [data-testid="alert"][data-code="{code}"]')


def map_data(page) -> dict:
    return json.loads(page.locator("#buying-centre-data").text_content())


def person(data: dict, name: str) -> dict:
    """The node of `name` in the map's org-chart tree."""
    stack = [data["tree"]]
    while stack:
        node = stack.pop()
        if not node.get("virtual") and node.get("name") == name:
            return node
        stack.extend(node.get("children", []))
    raise AssertionError(f"{name} is not on the map")


def expect_map_drawn(page) -> None:
    chart = page.get_by_test_id("buying-centre-map")
    expect(chart).to_have_attribute("data-drawn", "true")
    canvas = chart.locator("canvas").first
    expect(canvas).to_be_attached()
    chart.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, (
        f"the map's canvas has no real size: {box}"
    )


@pytest.fixture
def owner_page(browser, live_server, request):
    """A second, fresh browser context for the deal's owner (same settings as `page`)."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1366, "height": 900},
        locale="en-US",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"JavaScript error: {exc}"))
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status} for {r.url}")
            if r.url.startswith(live_server.url) and r.status >= 400
            else None
        ),
    )
    page.kam_errors = errors
    yield page
    report = getattr(request.node, "_report_call", None)
    if report is not None and report.failed:
        try:
            shot(page, f"FAILED-{request.node.name}-owner")
        except Exception as exc:
            print(f"(no failure screenshot of the owner's page: {exc})")
    context.close()


def shot(page, name: str, *, full_page: bool = True, locator=None) -> Path:
    """Like conftest's save_screenshot, for the owner's page or for one element."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    if locator is not None:
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()
    assert "/login/" not in page.url, f"signing in as {username!r} failed"


def test_liao_alerts_map_and_stance_edit(page, owner_page, login_as, switch_language, screenshot):
    from kam.demo.cases import LIAO_DESIGN_HEAD, LIAO_NEW_GM, LIAO_VP
    from kam.demo.loader import load_demo
    from kam.methodology import registry
    from kam.methodology.checks import ROLE_NAMES

    load_demo(out=io.StringIO())
    deal = liao_deal()
    assert deal.owner.username == OWNER[0], f"the 廖总 deal belongs to {deal.owner.username}"
    deal_url = f"/opportunities/{deal.pk}/"

    # given the team's manager, signed in, the UI in Chinese
    login_as(*MANAGER)
    switch_language("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # when they open the alert list from the navigation
    with page.expect_navigation():
        page.get_by_test_id("nav-alerts").click()
    expect(page.get_by_test_id("alerts-page")).to_be_visible()
    expect(page.get_by_test_id("alert-row").first).to_be_visible()
    screenshot("alerts-team-zh")

    # and narrow it to "key person changed"
    with page.expect_response(re.compile(r"/alerts/\?")):
        page.get_by_test_id("alert-filters").locator('select[name="code"]').select_option(
            "key_person_changed"
        )
    rows = page.locator('[data-testid="alert-row"]')
    expect(rows.first).to_have_attribute("data-code", "key_person_changed")
    row = page.locator(
        f'[data-testid="alert-row"][data-code="key_person_changed"][data-opportunity="{deal.pk}"]'
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text(deal.name)
    assert CJK.search(row.locator(".alert-title").inner_text())

    # and follow the row to the deal
    with page.expect_navigation():
        row.get_by_test_id("alert-deal").click()
    assert page.url.split("#")[0].endswith(deal_url), page.url

    # then the three alerts are there, in Chinese
    for code in THREE:
        item = alert(page, code)
        expect(item).to_have_count(1)
        expect(item).to_be_visible()
        title = item.locator(".alert-head strong").inner_text()
        message = item.locator("p").first.inner_text()
        action = item.locator(".alert-action").inner_text()
        names = (LIAO_VP, LIAO_NEW_GM, LIAO_DESIGN_HEAD, "钱卫东")
        for part, text in (("title", title), ("message", message), ("action", action)):
            assert chinese_beyond(text, *names), f"{code}'s {part} is not in Chinese: {text!r}"
    changed = alert(page, "key_person_changed")
    expect(changed).to_have_attribute("data-severity", "high")
    expect(changed).to_contain_text(LIAO_VP)
    expect(changed).to_contain_text(LIAO_NEW_GM)
    evidence = changed.get_by_test_id("alert-evidence")
    expect(evidence.filter(has_text=LIAO_VP)).to_have_count(1)
    expect(evidence.filter(has_text=LIAO_NEW_GM)).to_have_count(1)
    expect(alert(page, "decision_maker_not_supportive")).to_contain_text(LIAO_NEW_GM)

    # and the map is drawn: 高振宇 undecided, 刘建华 marked as left, 王立新 undecided
    card = page.get_by_test_id("stakeholders")
    expect_map_drawn(page)
    data = map_data(page)
    gm, vp, design = (person(data, n) for n in (LIAO_NEW_GM, LIAO_VP, LIAO_DESIGN_HEAD))
    assert (gm["in_centre"], gm["stance"], gm["left"]) == (True, "unknown", False), gm
    assert vp["left"] is True, vp
    assert design["stance"] == "unknown", design
    assert LIAO_DESIGN_HEAD in [p["name"] for p in data["undecided"]]
    undecided = card.get_by_test_id("map-undecided")
    expect(undecided.get_by_test_id("map-person").filter(has_text=LIAO_DESIGN_HEAD)).to_have_count(
        1
    )
    expect(undecided.get_by_test_id("map-person").filter(has_text=LIAO_NEW_GM)).to_have_count(1)
    # 刘建华 left: faded on the map, and in none of the lists (like the alerts)
    expect(card.get_by_test_id("map-person").filter(has_text=LIAO_VP)).to_have_count(0)
    expect(
        card.get_by_test_id("map-for-us").get_by_test_id("map-person").filter(has_text=LIAO_NEW_GM)
    ).to_have_count(0)

    # and the key persons box names the key roles of the customer's current stage
    key_roles = registry.current().buying_centre.key_roles_at(deal.buyer_stage)
    assert key_roles, f"no key roles at the customer's stage {deal.buyer_stage!r}"
    key_box = card.get_by_test_id("map-key-persons")
    expect(key_box).to_be_visible()
    for role in key_roles:
        expect(key_box.locator(f'[data-testid="map-key-role"][data-role="{role}"]')).to_have_count(
            1
        )
        expect(key_box).to_contain_text(in_chinese(ROLE_NAMES[role]))
    if "technical" in key_roles:
        expect(key_box).to_contain_text(LIAO_DESIGN_HEAD)

    # and the intelligence card shows the unverified critical items
    intel = page.get_by_test_id("intel-item")
    expect(intel.first).to_be_visible()
    expect(
        page.locator('[data-testid="intel-item"][data-critical="true"][data-verified="false"]')
    ).not_to_have_count(0)
    expect(alert(page, "intel_unverified").first).to_be_visible()

    screenshot("buying-centre-liao-zh")
    shot(page, "buying-centre-map-zh", locator=card)

    # and in English the same page, the same map
    switch_language("en")
    if deal_url not in page.url:
        page.goto(deal_url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(alert(page, "key_person_changed")).to_contain_text("Key people changed")
    expect_map_drawn(page)
    screenshot("buying-centre-liao-en")
    assert page.kam_errors == [], "the manager's pages had errors:\n" + "\n".join(page.kam_errors)

    # given the deal's owner, in a browser of their own, in Chinese
    rep = owner_page
    sign_in(rep, *OWNER)
    rep.goto(deal_url)
    with rep.expect_navigation():
        rep.get_by_test_id("lang-zh-hans").click()
    expect(rep.locator("html")).to_have_attribute("lang", "zh-hans")
    expect_map_drawn(rep)
    gm_id = gm["stakeholder_id"]

    # when they open 高振宇's edit dialog from the table
    table_row = rep.locator(f'[data-testid="stakeholder-row"][data-stakeholder-id="{gm_id}"]')
    expect(table_row).to_contain_text(LIAO_NEW_GM)
    table_row.get_by_test_id("stakeholder-edit").click()
    dialog = rep.locator(f'[data-testid="stakeholder-dialog"][data-stakeholder-id="{gm_id}"]')
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_contain_text(LIAO_NEW_GM)

    # then his DISC tip (D, from his contact) is there, in Chinese
    assert gm["disc"] == "D", gm  # the demo's new general manager is decisive
    disc = registry.current().buying_centre.disc[gm["disc"]]
    tip = dialog.get_by_test_id("disc-tip")
    expect(tip).to_be_visible()
    with translation.override("zh-hans"):
        from kam.core.i18n import show

        tip_name, tip_text = show(disc.name), show(disc.approach)
    expect(tip).to_contain_text(tip_name)
    expect(tip).to_contain_text(tip_text)
    assert CJK.search(tip_text)
    shot(rep, "stakeholder-dialog-zh", full_page=False)

    # when they set his stance to supporter and save
    form = dialog.get_by_test_id("stakeholder-edit-form")
    form.locator('select[name="stance"]').select_option("supporter")
    with rep.expect_navigation():
        form.get_by_test_id("stakeholder-update-save").click()

    # then he is for us, the decision-maker alert is gone, the key-person alert stays
    expect(dialog).to_be_hidden()
    card = rep.get_by_test_id("stakeholders")
    for_us = card.get_by_test_id("map-for-us").get_by_test_id("map-person")
    expect(for_us.filter(has_text=LIAO_NEW_GM)).to_have_attribute("data-stance", "supporter")
    expect(
        card.get_by_test_id("map-undecided")
        .get_by_test_id("map-person")
        .filter(has_text=LIAO_NEW_GM)
    ).to_have_count(0)
    assert person(map_data(rep), LIAO_NEW_GM)["stance"] == "supporter"
    expect(alert(rep, "decision_maker_not_supportive")).to_have_count(0)
    expect(alert(rep, "key_person_changed")).to_have_count(1)
    expect(alert(rep, "key_person_changed")).to_contain_text(LIAO_NEW_GM)
    expect_map_drawn(rep)
    shot(rep, "buying-centre-map-after-edit-zh", locator=card)

    from kam.stakeholders.models import Stakeholder

    assert Stakeholder.objects.get(pk=gm_id).stance == "supporter"
    assert rep.kam_errors == [], "the owner's pages had errors:\n" + "\n".join(rep.kam_errors)

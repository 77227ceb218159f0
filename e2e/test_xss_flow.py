"""Stored XSS in a real browser: user text reaches the charts (ECharts tooltips are
HTML) and the scripts, and must stay text.

A book is built through the services with a payload — an image whose error handler
calls alert() — in every name and note a chart or script shows: contacts on the
buying-centre map, a competitor on the radar and the account's map, needs and a
satisfaction note, two accounts on the Pareto chart, a segment on its radar, the
owner's display name on the manager's progress chart. Then, signed in as the owner
and as the manager, the test opens the opportunity page (hovers the payload contact
on the buying-centre map with the mouse), the account page (org chart and cards),
the board (advances the payload deal, whose card comes back as HTML), the grading
dashboard, the segment page and the pipeline dashboard (and its drill-down), and
shows the tooltip of every data item of every chart on each page. After each page:
no dialog opened (`page.on("dialog")` records any), no `img[src=x]` or inline
script with `alert(` was ever added to the DOM (a MutationObserver installed before
the page's own scripts records them), and no request was made for the payload's
image — while the payload was seen as text in the tooltips.

Screenshot: artifacts/screenshots/xss-buying-centre-tooltip.png (the tooltip shows
the payload as text)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "xss-e2e-pass-123"

# Recorded by a MutationObserver from before the page's scripts run: an injected
# image, or an inline script that calls alert (the JSON blocks are not scripts that run).
WATCH = """
window.__kamInjected = [];
new MutationObserver(function (mutations) {
  mutations.forEach(function (m) {
    m.addedNodes.forEach(function (node) {
      if (node.nodeType !== 1) return;
      var found = [];
      if (node.matches('img[src="x"], img[onerror]')) found.push(node);
      node.querySelectorAll('img[src="x"], img[onerror]').forEach(function (n) { found.push(n); });
      [node].concat(Array.from(node.querySelectorAll("script"))).forEach(function (s) {
        var runs = !s.type || /javascript|module/i.test(s.type);
        if (s.tagName === "SCRIPT" && runs && /alert\\(/.test(s.textContent || "")) found.push(s);
      });
      found.forEach(function (n) { window.__kamInjected.push(n.outerHTML.slice(0, 160)); });
    });
  });
}).observe(document, { childList: true, subtree: true });
"""

# Shows the tooltip of every data item of every chart on the page, through ECharts'
# own showTip action (the code path of a hover), and returns the tooltips' texts.
SWEEP = """
() => {
  var texts = [];
  var shown = 0;
  document.querySelectorAll("[_echarts_instance_]").forEach(function (el) {
    var chart = window.echarts.getInstanceByDom(el);
    if (!chart) return;
    (chart.getOption().series || []).forEach(function (s, si) {
      var n = (s.data || []).length;
      for (var di = 0; di < n; di++) {
        chart.dispatchAction({ type: "showTip", seriesIndex: si, dataIndex: di });
        shown += 1;
        el.querySelectorAll("div").forEach(function (d) {
          if (d.style.zIndex === "9999999" && d.innerText) texts.push(d.innerText);
        });
      }
    });
    chart.dispatchAction({ type: "hideTip" });
  });
  return { shown: shown, texts: texts };
}
"""


def payload(tag: str) -> str:
    return f"<img src=x onerror=alert('{tag}')>\"'><script>alert('{tag}')</script>"


def head(tag: str) -> str:
    return f"<img src=x onerror=alert('{tag}')>"


def build() -> dict:
    """The poisoned book, dated around today (the live server runs on the real clock)."""
    from kam.accounts import needs, revenue
    from kam.accounts.services import account_create
    from kam.competition import accounts as account_competition
    from kam.competition import competitors, scoring
    from kam.contacts.services import contact_create
    from kam.methodology import registry
    from kam.opportunities.services import opportunity_create, opportunity_update
    from kam.segments.services import segment_create
    from kam.stakeholders.services import stakeholder_add
    from kam.users.services import user_create

    today = timezone.localdate()
    team = "T<script>alert('team')</script>"
    owner = user_create(
        username="xrep", role="rep", team=team, password=PASSWORD, display_name=payload("user")
    )
    manager = user_create(username="xmgr", role="manager", team=team, password=PASSWORD)
    account = account_create(actor=owner, name=payload("acc"), industry=payload("ind"))
    other = account_create(actor=owner, name=payload("acc2"))
    boss = contact_create(
        actor=owner,
        account=account,
        name=payload("boss"),
        title=payload("title"),
        department=payload("dept"),
        layer="decision",
        disc="D",
    )
    engineer = contact_create(
        actor=owner,
        account=account,
        name=payload("ct"),
        title=payload("title2"),
        department=payload("dept2"),
        reports_to=boss,
        layer="management",
        disc="C",
    )
    contact_create(actor=owner, account=account, name=payload("bystander"), reports_to=boss)
    deal = opportunity_create(
        actor=owner,
        account=account,
        name=payload("opp"),
        amount="1250000",
        expected_close=today + dt.timedelta(days=90),
    )
    # the buyer moved on: the owner shows on the manager's progress-per-person chart
    deal = opportunity_update(actor=owner, opportunity=deal, buyer_stage="search")
    stakeholder_add(
        actor=owner,
        opportunity=deal,
        contact=engineer,
        roles=["user"],
        stance="supporter",
        is_coach=True,
        notes=payload("snote"),
    )
    stakeholder_add(
        actor=owner, opportunity=deal, contact=boss, roles=["decision_maker"], stance="unknown"
    )
    rival = competitors.competitor_create(actor=owner, name=payload("comp"))
    criteria = [c.key for c in scoring.model().criteria][:4]
    scoring.competition_set(
        actor=owner,
        opportunity=deal,
        scores={"us": dict.fromkeys(criteria, 3), rival.pk: dict.fromkeys(criteria, 4)},
    )
    account_competition.competition_map_set(
        actor=owner,
        account=account,
        entries=[
            {"us": True, "share": 20},
            {"competitor_id": rival.pk, "share": 50, "incumbent": True},
            {"competitor_name": payload("comp2"), "share": 10},
        ],
    )
    needs.needs_set(
        actor=owner,
        account=account,
        needs=[{"dimension": payload(f"need{i}"), "importance": 5, "our_fit": 2} for i in range(3)],
    )
    needs.satisfaction_record_add(
        actor=owner, account=account, score=2, contact=boss, note=payload("sat")
    )
    for acc, amount in ((account, "300000"), (other, "120000")):
        revenue.revenue_record_add(
            actor=owner, account=acc, date=today - dt.timedelta(days=20), amount=amount
        )
    keys = registry.current().segmentation.criterion_keys
    segment = segment_create(
        actor=manager,
        name=payload("seg"),
        definition={"industry": [head("ind")]},
        scores=dict.fromkeys(keys, 4),
    )
    return {"account": account, "deal": deal, "segment": segment}


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()
    assert "/login/" not in page.url, f"signing in as {username!r} failed"


def hover_person(page, name: str) -> str:
    """Move the mouse onto `name`'s card on the buying-centre map; return the tooltip's text."""
    chart = page.get_by_test_id("buying-centre-map")
    expect(chart).to_have_attribute("data-drawn", "true")
    chart.scroll_into_view_if_needed()
    point = page.evaluate(
        """(name) => {
          var el = document.getElementById("buying-centre-chart");
          var chart = window.echarts.getInstanceByDom(el);
          var node = chart.getOption().series[0].data.find(function (d) {
            return d.person && d.person.name === name;
          });
          return node ? chart.convertToPixel({ seriesIndex: 0 }, [node.x, node.y]) : null;
        }""",
        name,
    )
    assert point is not None, f"{name} is not on the map"
    box = page.locator("#buying-centre-chart").bounding_box()
    page.mouse.move(box["x"] + point[0], box["y"] + point[1])
    tip = page.locator("#buying-centre-chart div.map-tip")
    expect(tip).to_be_visible()
    return tip.inner_text()


def assert_clean(page, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(300)  # an image's error handler runs after its load fails
    injected = page.evaluate("window.__kamInjected")
    images = page.locator('img[src="x"]').count()
    fetched = [e for e in page.kam_errors if e.rstrip("/").endswith("/x")]
    assert (dialogs, injected, images, fetched) == ([], [], 0, []), where


def test_user_text_stays_text_in_charts_and_scripts(page, live_server, screenshot):
    # given the poisoned book, and a page that records dialogs and injected markup
    book = build()
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.context.add_init_script(WATCH)
    sign_in(page, "xrep")

    # when the owner hovers the payload contact on the opportunity's buying-centre map
    page.goto(f"/opportunities/{book['deal'].pk}/")
    tip = hover_person(page, payload("ct"))
    screenshot("xss-buying-centre-tooltip", full_page=False)
    # then nothing ran, and the tooltip shows the name and title as text
    assert_clean(page, dialogs, "buying-centre hover")
    assert payload("ct") in tip
    assert payload("title2") in tip
    # and every tooltip of the page's charts (map, competition radar) keeps the text
    swept = page.evaluate(SWEEP)
    assert_clean(page, dialogs, "opportunity page")
    assert swept["shown"] >= 4
    seen = "\n".join(swept["texts"])
    assert head("comp") in seen and head("boss") in seen

    # when the owner opens the account page (org chart, competition map, needs radar,
    # satisfaction line)
    page.goto(f"/accounts/{book['account'].pk}/")
    expect(page.get_by_test_id("account-name")).to_have_text(payload("acc"))
    swept = page.evaluate(SWEEP)
    # then
    assert_clean(page, dialogs, "account page")
    seen = "\n".join(swept["texts"])
    assert head("comp2") in seen and head("need0") in seen and head("sat") in seen

    # when the owner advances the payload deal on the board (the card comes back as HTML)
    page.goto("/opportunities/board/")
    card = page.locator(".board-card").filter(has_text=head("opp"))
    expect(card).to_have_count(1)
    with page.expect_response(lambda r: "/board-advance/" in r.url):
        card.get_by_test_id("card-advance").click()
    # then
    expect(page.locator(".board-card").filter(has_text=head("opp"))).to_have_count(1)
    assert_clean(page, dialogs, "board")

    # when the owner opens the grading dashboard (Pareto: account names on the axis)
    page.goto("/accounts/grading/")
    swept = page.evaluate(SWEEP)
    # then
    assert_clean(page, dialogs, "grading dashboard")
    seen = "\n".join(swept["texts"])
    assert head("acc") in seen and head("acc2") in seen

    # when the owner opens the segment (its score radar)
    page.goto(f"/segments/{book['segment'].pk}/")
    swept = page.evaluate(SWEEP)
    # then
    assert_clean(page, dialogs, "segment page")
    assert head("seg") in "\n".join(swept["texts"])

    # when the team's manager opens the pipeline dashboard (the owner's name on the
    # progress chart) and the deals behind a figure
    sign_in(page, "xmgr")
    page.goto("/pipeline/")
    swept = page.evaluate(SWEEP)
    assert_clean(page, dialogs, "pipeline charts")
    assert head("user") in "\n".join(swept["texts"])
    page.locator("a.drill").first.click()
    expect(page.locator("#pipeline-drill").get_by_text(head("opp"))).to_be_visible()
    # then
    assert_clean(page, dialogs, "pipeline dashboard")

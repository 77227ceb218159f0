"""The manager's dashboard page (/pipeline/, 路标管理) and the deals behind its numbers
(/pipeline/deals/): what each role sees on a small hand-made book, the filter form's
refusals (422, never a 500), the drill-down lists with their visibility and paging,
and a page cost that does not grow with the book."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kam.core import clock
from kam.opportunities import process
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.web.views import pipeline as pipeline_views

TODAY = dt.datetime(2026, 11, 15, 10)  # in 2026Q4
PAGE = reverse("pipeline-dashboard")
DEALS = reverse("pipeline-deals")


@pytest.fixture(autouse=True)
def _today(process_rules_only):
    """Time stands at TODAY; only the process alerts run, so each deal raises exactly
    the alerts it is built to raise."""
    with clock.freeze(TODAY):
        yield


def chart(response) -> dict:
    found = re.search(
        r'<script id="pipeline-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "no pipeline JSON block"
    return json.loads(found.group(1))


def drilled(response) -> list[int]:
    """The ids of the deals a drill-down list shows, in order."""
    return [
        int(i)
        for i in re.findall(
            r'data-testid="drill-row" data-opportunity="(\d+)"', response.content.decode()
        )
    ]


def drill_link(query: str, figure: str) -> str:
    """How a number links to its deals in the page's HTML."""
    return f'href="{DEALS}?{query}&amp;figure={figure.replace(":", "%3A")}"'


@pytest.fixture
def deals(people, books):
    """East (manager_east's team), on 2026-11-15:
    - Alpha Press line (rep_a): 1,250,000, development, 10% → 125,000 weighted;
    - Bravo Press line (rep_b): 1,250,000, development, 10%; the buyer moved from the
      need to the search stage this quarter (+1);
    - Alpha Stalled (rep_a): 500,000, 50 days in development (healthy: 45), expected to
      close 2026-12-20, 10% → 50,000;
    - Alpha Won (rep_a): 800,000, created 2026-08-01, won today (cycle: 106 days);
    - Bravo Lost (rep_b): 200,000, lost in development today.
    West: Charlie Press line (rep_c), 1,250,000, which East never sees."""
    a, b = books["rep_a"], books["rep_b"]
    stalled = opportunity_create(
        actor=people.rep_a,
        account=a.account,
        name="Alpha Stalled",
        amount="500000",
        expected_close=dt.date(2026, 12, 20),
        stage_entered_at=clock.now() - dt.timedelta(days=50),
    )
    opportunity_update(actor=people.rep_b, opportunity=b.opportunity, buyer_stage="search")
    with clock.freeze(dt.datetime(2026, 8, 1, 10)):
        won = opportunity_create(
            actor=people.rep_a,
            account=a.account,
            name="Alpha Won",
            amount="800000",
            expected_close=dt.date(2026, 11, 30),
            stage="negotiation",
        )
    process.milestone_record(actor=people.rep_a, opportunity=won, kind="contract_signed")
    process.opportunity_close(actor=people.rep_a, opportunity=won, outcome="won")
    lost = opportunity_create(
        actor=people.rep_b,
        account=b.account,
        name="Bravo Lost",
        amount="200000",
        expected_close=dt.date(2027, 1, 31),
    )
    process.opportunity_close(
        actor=people.rep_b, opportunity=lost, outcome="lost", reason="Lowest price elsewhere"
    )
    return {
        "alpha": a.opportunity.pk,
        "bravo": b.opportunity.pk,
        "charlie": books["rep_c"].opportunity.pk,
        "stalled": stalled.pk,
        "won": won.pk,
        "lost": lost.pk,
    }


# --- the page ---------------------------------------------------------------------------


def test_the_manager_sees_the_teams_book(client_for, people, deals):
    # when
    response = client_for(people.manager_east).get(PAGE)
    html = response.content.decode()
    data = chart(response)
    # then: the open deals of East now, the quarter's progress, wins and losses
    assert response.status_code == 200
    assert data["period"] == {"key": "2026Q4", "start": "2026-10-01", "end": "2026-12-31"}
    assert data["totals"] == {
        "count": 3,
        "amount": "3000000.00",
        "weighted": "300000.00",
        "drill": "open",
    }
    development = data["by_stage"][0]
    assert (development["stage"], development["count"], development["amount"]) == (
        "development",
        3,
        "3000000.00",
    )
    assert [(r["stage"], r["count"]) for r in data["by_buyer_stage"][:2]] == [
        ("need", 2),
        ("search", 1),
    ]
    assert [(m["month"], m["count"], m["won_amount"]) for m in data["forecast"]][:2] == [
        ("2026-11", 0, "800000.00"),
        ("2026-12", 1, "0.00"),
    ]
    assert data["progress"]["deals_advanced"] == 1
    assert data["progress"]["stages_advanced"] == 1
    assert (data["win_rate"]["won"], data["win_rate"]["closed"], data["win_rate"]["rate"]) == (
        1,
        2,
        0.5,
    )
    assert data["cycle"]["median_days"] == 106.0
    assert data["alerts"]["by_severity"] == {"high": 0, "medium": 1, "low": 0}
    assert data["drill_url"] == f"{DEALS}?period=2026Q4&figure="
    # the lists the tables show are not repeated in the JSON
    assert "stalled" not in data and "deals" not in data["progress"]
    # the stalled deal, its days against the healthy days and what it lacks
    row = html[html.index('data-testid="stalled-row"') :]
    row = row[: row.index("</tr>")]
    assert f'data-opportunity="{deals["stalled"]}"' in row
    assert "Alpha Stalled" in row and "Alpha Steel Works" in row and "Alice Rep" in row
    assert '<strong>50</strong> <span class="muted">/ 45</span>' in row
    assert f'href="{reverse("opportunity-detail", args=[deals["stalled"]])}"' in row
    assert "<li>Evaluation recorded and passed</li><li>Priority grade assigned</li>" in row
    # nobody of West
    assert "Charlie" not in html
    # the title, the nav and the export of the current view
    assert "<title>Pipeline dashboard · KAM</title>" in html
    assert 'data-testid="nav-pipeline" aria-current="page"' in html
    assert (
        f'href="{reverse("pipeline-export")}?period=2026Q4" data-testid="pipeline-export"' in html
    )


def test_every_key_figure_links_to_its_deals(client_for, people, deals):
    html = client_for(people.manager_east).get(PAGE).content.decode()
    for figure in (
        "open",
        "progress",
        "moved_back",
        "won",
        "lost",
        "abandoned",
        "alerts:high",
        "alerts:medium",
        "alerts:low",
        "stalled",
        "at_risk",
        "forced",
        "stage:standard-6:development",
        "buyer:need",
        "month:2026-12",
        "won_month:2026-11",
        "code:stalled",
        f"rep_progress:{people.rep_b.pk}",
        f"rep_won:{people.rep_a.pk}",
        f"rep_open:{people.rep_a.pk}",
        "advanced:standard-6:negotiation",
        "dropped:standard-6:development",
    ):
        assert drill_link("period=2026Q4", figure) in html, figure


@pytest.mark.parametrize(
    ("viewer", "count", "amount", "owner_filter", "team_filter"),
    [
        ("rep_a", 2, "1750000.00", False, False),
        ("rep_b", 1, "1250000.00", False, False),
        ("manager_west", 1, "1250000.00", True, False),
        ("admin", 4, "4250000.00", True, True),
    ],
)
def test_each_role_sees_its_own_book(
    client_for, people, deals, viewer, count, amount, owner_filter, team_filter
):
    # when
    response = client_for(getattr(people, viewer)).get(PAGE)
    html = response.content.decode()
    # then
    assert response.status_code == 200
    assert (chart(response)["totals"]["count"], chart(response)["totals"]["amount"]) == (
        count,
        amount,
    )
    assert ('name="owner"' in html) is owner_filter
    assert ('name="team"' in html) is team_filter


def test_a_rep_with_no_deal_sees_the_empty_states(client_for, people):
    # when
    response = client_for(people.rep_a).get(PAGE)
    html = response.content.decode()
    # then: a sentence in each panel, no chart to draw
    assert response.status_code == 200
    assert chart(response)["totals"]["count"] == 0
    for testid in (
        "funnels-empty",
        "forecast-empty",
        "reps-empty",
        "alerts-empty",
        "stalled-empty",
        "at-risk-empty",
        "forced-empty",
        "conversion-empty",
        "moves-empty",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert 'id="funnel-stage"' not in html
    assert 'id="forecast-chart"' not in html


def test_forced_moves_and_a_deals_at_risk(client_for, people, deals):
    # given: the manager forces Alpha Press line past development and makes it an A deal
    from kam.opportunities.models import Opportunity

    alpha = Opportunity.objects.get(pk=deals["alpha"])
    process.opportunity_advance(
        actor=people.manager_east, opportunity=alpha, force=True, reason="Customer asked us in"
    )
    process.priority_override(
        actor=people.manager_east, opportunity=alpha, grade="A", reason="Strategic account"
    )
    # when
    response = client_for(people.manager_east).get(PAGE)
    html = response.content.decode()
    # then: the forced move, who made it, why, and the items still unmet
    forced = html[html.index('data-testid="forced-row"') :]
    forced = forced[: forced.index("</tr>")]
    assert f'data-opportunity="{deals["alpha"]}"' in forced
    assert "Development → Sales entry" in forced
    assert "w_m_east" in forced
    assert "Customer asked us in" in forced
    # the priority is set since; the evaluation is still missing
    assert (
        '<ul class="missing" aria-label="Not met yet"><li>Evaluation recorded and passed</li></ul>'
        in forced
    )
    # and the A deal with its high alerts: 20% at entry × 0.5 (forced) × 0.7 (ahead) = 7%
    risky = html[html.index('data-testid="at-risk-row"') :]
    risky = risky[: risky.index("</tr>")]
    assert f'data-opportunity="{deals["alpha"]}"' in risky
    assert "<strong>7%</strong>" in risky
    assert "Forced past the Development gate" in risky and "Ahead of the customer" in risky
    data = chart(response)
    assert data["alerts"]["by_severity"] == {"high": 2, "medium": 1, "low": 0}
    assert data["alerts"]["by_code"] == {"forced_gate": 1, "ahead_of_buyer": 1, "stalled": 1}
    assert data["totals"]["weighted"] == "262500.00"  # 87,500 + 125,000 + 50,000
    assert (data["conversion"][0]["advanced"], data["conversion"][0]["forced"]) == (1, 1)


def test_the_page_in_chinese(client_for, people, deals):
    response = client_for(people.manager_east, language="zh-hans").get(PAGE)
    data = chart(response)
    assert response.status_code == 200
    assert data["by_stage"][0]["name"] == "开发阶段"
    assert data["by_buyer_stage"][0]["name"] == "找出问题,提出需求"
    assert data["lang"] == "zh-hans"


def test_anonymous_is_sent_to_sign_in(client_for, db):
    for url in (PAGE, f"{DEALS}?figure=open"):
        response = client_for().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


# --- filters ----------------------------------------------------------------------------


def test_a_named_period_and_an_owner(client_for, people, deals):
    # when
    response = client_for(people.manager_east).get(
        PAGE, {"period": "2026Q3", "owner": people.rep_b.pk}
    )
    data = chart(response)
    # then: rep_b's open deal; nothing won or lost in the third quarter
    assert response.status_code == 200
    assert data["period"]["key"] == "2026Q3"
    assert data["filters"]["owner"] == {"id": people.rep_b.pk, "name": "w_rep_b"}
    assert data["totals"]["count"] == 1
    assert data["win_rate"]["closed"] == 0
    query = f"period=2026Q3&amp;owner={people.rep_b.pk}"
    html = response.content.decode()
    assert f'href="{reverse("pipeline-export")}?{query}"' in html
    assert drill_link(query, "open") in html


def test_dates_win_over_the_named_period(client_for, people, deals):
    response = client_for(people.manager_east).get(
        PAGE, {"period": "2026Q4", "start": "2026-11-01", "end": "2026-11-30"}
    )
    data = chart(response)
    assert response.status_code == 200
    assert data["period"] == {"key": "", "start": "2026-11-01", "end": "2026-11-30"}
    assert data["drill_url"] == f"{DEALS}?start=2026-11-01&end=2026-11-30&figure="


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "2026Q9"}, "Unknown period “2026Q9”."),
        (
            {"start": "2026-12-01", "end": "2026-11-01"},
            "The end of the period is before its start.",
        ),
        ({"start": "2026-12-01"}, "Give the end of the period too."),
        ({"start": "not a date", "end": "2026-11-01"}, "Enter a valid date."),
        ({"playbook": "nope"}, "Unknown playbook “nope”."),
        ({"owner": "abc"}, "Enter a whole number."),
        ({"team": "999"}, "No team with id 999 among the teams whose deals you see."),
    ],
)
def test_a_bad_filter_says_so_and_shows_the_default_view(
    client_for, people, deals, params, message
):
    # when
    response = client_for(people.manager_east).get(PAGE, params)
    html = response.content.decode()
    # then: 422, the message on the form, and the default view (this quarter, all East)
    assert response.status_code == 422
    errors = html[html.index('data-testid="pipeline-filter-errors"') :]
    assert message in errors[: errors.index("</div>")]
    data = chart(response)
    assert data["period"]["key"] == "2026Q4"
    assert data["totals"]["count"] == 3


def test_a_manager_cannot_filter_on_another_teams_rep(client_for, people, deals):
    response = client_for(people.manager_east).get(PAGE, {"owner": people.rep_c.pk})
    assert response.status_code == 422
    assert (
        f"No one with id {people.rep_c.pk} among the people whose deals you see."
        in response.content.decode()
    )
    assert chart(response)["totals"]["count"] == 3


# --- drill-down -------------------------------------------------------------------------


def _drill(client, figure: str, htmx: bool = True, **params):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.get(DEALS, {"figure": figure, **params}, **headers)


@pytest.mark.parametrize(
    ("figure", "expected", "title"),
    [
        ("open", ["stalled", "alpha", "bravo"], "Open deals — 3 deals"),
        (
            "stage:standard-6:development",
            ["stalled", "alpha", "bravo"],
            "Our stage: Development — 3 deals",
        ),
        ("buyer:search", ["bravo"], "Buyer&#x27;s stage: Information search — 1 deal"),
        ("stalled", ["stalled"], "Stalled deals — 1 deal"),
        ("progress", ["bravo"], "Deals advanced in the buyer&#x27;s process in the period"),
        ("won", ["won"], "Deals won in the period — 1 deal"),
        ("lost", ["lost"], "Deals lost in the period — 1 deal"),
        ("month:2026-12", ["stalled"], "Expected to close in December 2026 — 1 deal"),
        ("won_month:2026-11", ["won"], "Won in November 2026 — 1 deal"),
        ("alerts:medium", ["stalled"], "Deals with a medium-severity alert — 1 deal"),
        ("alerts:high", [], "Deals with a high-severity alert — 0 deals"),
        ("dropped:standard-6:development", ["lost"], "Lost or abandoned at Development"),
    ],
)
def test_the_deals_behind_a_figure(client_for, people, deals, figure, expected, title):
    # when
    response = _drill(client_for(people.manager_east), figure)
    html = response.content.decode()
    # then: exactly those deals, named, in the dashboard's order, as a partial
    assert response.status_code == 200
    assert drilled(response) == [deals[k] for k in expected]
    assert title in html
    assert "<html" not in html
    for key in expected:
        assert f'href="{reverse("opportunity-detail", args=[deals[key]])}"' in html


def test_a_persons_figure_names_them(client_for, people, deals):
    response = _drill(client_for(people.manager_east), f"rep_open:{people.rep_a.pk}")
    assert drilled(response) == [deals["stalled"], deals["alpha"]]
    assert "Open deals of Alice Rep — 2 deals" in response.content.decode()


def test_a_drill_row_shows_the_deal(client_for, people, deals):
    html = _drill(client_for(people.manager_east), "stalled").content.decode()
    row = html[html.index('data-testid="drill-row"') :]
    row = row[: row.index("</tr>")]
    for text in (
        "Alpha Stalled",
        "Alpha Steel Works",
        "Alice Rep",
        "Development",
        "Problem and need",
        "CNY\u00a0500,000.00",
        "2026-12-20",
        "10%",
    ):
        assert text in row, text


def test_a_rep_drills_only_into_their_own_deals(client_for, people, deals):
    client = client_for(people.rep_a)
    # when: the rep asks for their own open deals, then for rep_b's
    own = _drill(client, "open")
    other = _drill(client, "open", owner=people.rep_b.pk)
    peek = _drill(client, f"rep_open:{people.rep_b.pk}")
    # then: their two deals; rep_b's refused as unknown; another's figure is empty
    assert drilled(own) == [deals["stalled"], deals["alpha"]]
    assert other.status_code == 422
    assert (
        f"No one with id {people.rep_b.pk} among the people whose deals you see."
        in other.content.decode()
    )
    assert drilled(other) == []
    assert peek.status_code == 200
    assert drilled(peek) == []
    assert f"Open deals of #{people.rep_b.pk} — 0 deals" in peek.content.decode()
    assert "w_rep_b" not in peek.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"figure": "bogus"}, "Unknown figure “bogus”."),
        ({"figure": ""}, "Unknown figure “”."),
        ({"figure": "month:2026-13"}, "Unknown figure “month:2026-13”."),
        ({"figure": "open", "period": "2026Q9"}, "Unknown period “2026Q9”."),
    ],
)
def test_a_bad_drill_says_so(client_for, people, deals, params, message):
    response = client_for(people.manager_east).get(DEALS, params, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="drill-errors"' in html
    assert message in html
    assert drilled(response) == []


def test_without_htmx_the_list_is_a_page(client_for, people, deals):
    response = _drill(client_for(people.manager_east), "stalled", htmx=False)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'data-testid="pipeline-deals-page"' in html
    assert drilled(response) == [deals["stalled"]]
    assert f'href="{PAGE}?period=2026Q4"' in html
    assert "HX-Request" in response["Vary"]


def test_the_drill_pages(client_for, people, deals, monkeypatch):
    # given two deals a page
    monkeypatch.setattr(pipeline_views, "DRILL_PAGE_SIZE", 2)
    client = client_for(people.manager_east)
    # when
    first = _drill(client, "open")
    second = _drill(client, "open", page=2)
    # then
    assert drilled(first) == [deals["stalled"], deals["alpha"]]
    assert drilled(second) == [deals["bravo"]]
    assert "Page 1 of 2" in first.content.decode()
    assert f'hx-get="{DEALS}?figure=open&amp;page=2"' in first.content.decode()
    assert "Open deals — 3 deals" in second.content.decode()


# --- cost ------------------------------------------------------------------------------


def test_the_page_and_a_drill_cost_the_same_for_a_small_and_a_larger_book(
    client_for, people, books, deals
):
    client = client_for(people.manager_east)
    client.get(PAGE)  # warm up: the session, the methodology

    def count(url=PAGE) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    small, small_drill = count(), count(f"{DEALS}?figure=open")
    # given ten more deals, some stalled, each moved by the buyer
    for i in range(10):
        opp = opportunity_create(
            actor=people.manager_east,
            owner=people.rep_b if i % 2 else people.rep_a,
            account=books["rep_a"].account,
            name=f"More {i}",
            amount=Decimal(1000 * (i + 1)),
            expected_close=dt.date(2027, 1 + i, 1),
            stage_entered_at=clock.now() - dt.timedelta(days=10 * i),
        )
        opportunity_update(actor=people.manager_east, opportunity=opp, buyer_stage="search")
    client.get(PAGE)  # the new deals are assessed and their assessments kept, once
    # then: the same number of queries
    assert count() == small
    assert count(f"{DEALS}?figure=open") == small_drill
    assert chart(client.get(PAGE))["totals"]["count"] == 13

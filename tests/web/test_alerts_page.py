"""The alert list page (/alerts/) and the alerts panel of the opportunity page:
who sees which alerts, the severity counts as filters, the filter form, the nav
link, and the evidence of an alert linked to its section of the deal's page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from kam.core import clock
from kam.methodology.facts import (
    DealFacts,
    ForcedMoveFacts,
    MilestoneFacts,
    StakeholderFacts,
)
from kam.opportunities import process
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.stakeholders.services import stakeholder_add
from kam.web.views.alerts import evidence_link

ROW = re.compile(
    r'data-testid="alert-row" data-code="(\w+)" data-severity="(\w+)" data-opportunity="(\d+)"'
)


@pytest.fixture(autouse=True)
def _process_rules_by_default(process_rules_only):
    """Each test sees exactly the alerts it built (a test may widen it with only_rules)."""


def _rows(response) -> list[tuple[str, str, int]]:
    assert response.status_code == 200
    return [(c, s, int(o)) for c, s, o in ROW.findall(response.content.decode())]


def _page(client, **params):
    return client.get(reverse("alert-list"), params)


@pytest.fixture
def alerting(people, books):
    """rep_a: one deal far behind the customer (high) and one stalled for 50 days
    (medium); rep_b: one deal a step behind (medium); rep_c (West): stalled 100
    days (high)."""
    a, b, c = books["rep_a"], books["rep_b"], books["rep_c"]
    opportunity_update(actor=people.rep_a, opportunity=a.opportunity, buyer_stage="evaluation")
    stalled_a = opportunity_create(
        actor=people.rep_a,
        account=a.account,
        name="Alpha Stalled",
        amount="500000",
        expected_close=clock.today() + dt.timedelta(days=40),
        stage_entered_at=clock.now() - dt.timedelta(days=50),
    )
    opportunity_update(actor=people.rep_b, opportunity=b.opportunity, buyer_stage="approval")
    stalled_c = opportunity_create(
        actor=people.rep_c,
        account=c.account,
        name="Charlie Stalled",
        amount="10",
        expected_close=clock.today() + dt.timedelta(days=40),
        stage_entered_at=clock.now() - dt.timedelta(days=100),
    )
    return {
        "a_behind": a.opportunity.pk,
        "a_stalled": stalled_a.pk,
        "b_behind": b.opportunity.pk,
        "c_stalled": stalled_c.pk,
    }


# --- who sees what ----------------------------------------------------------------------


def test_manager_sees_the_teams_alerts_most_severe_first(client_for, people, alerting):
    # when
    response = _page(client_for(people.manager_east))
    html = response.content.decode()
    # then: high first; within medium the earlier expected close first
    assert _rows(response) == [
        ("behind_buyer", "high", alerting["a_behind"]),
        ("stalled", "medium", alerting["a_stalled"]),
        ("behind_buyer", "medium", alerting["b_behind"]),
    ]
    assert 'data-testid="alerts-page"' in html
    assert re.search(r'data-testid="alert-count-high"[^>]*>\s*<span[^>]*>1</span>', html)
    assert re.search(r'data-testid="alert-count-medium"[^>]*>\s*<span[^>]*>2</span>', html)
    assert re.search(r'data-testid="alert-count-low"[^>]*>\s*<span[^>]*>0</span>', html)
    # each row: the deal linked at its alerts, account, owner, stage, amount, message, action
    detail = reverse("opportunity-detail", args=[alerting["a_stalled"]])
    assert f'href="{detail}#alerts"' in html
    assert "Alpha Steel Works" in html
    assert "Alice Rep" in html
    assert "CNY\u00a0500,000.00" in html
    assert "50 days in Development; a healthy deal moves on within 45 days." in html
    assert "What to do:" in html
    assert "Work on what keeps it here" in html


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("rep_a", {"a_behind", "a_stalled"}),
        ("rep_b", {"b_behind"}),
        ("rep_c", {"c_stalled"}),
        ("manager_west", {"c_stalled"}),
        ("admin", {"a_behind", "a_stalled", "b_behind", "c_stalled"}),
    ],
)
def test_each_role_sees_only_the_alerts_of_deals_it_may_see(
    client_for, people, alerting, viewer, expected
):
    rows = _rows(_page(client_for(getattr(people, viewer))))
    assert {opp for _, _, opp in rows} == {alerting[k] for k in expected}


def test_anonymous_is_sent_to_sign_in(client_for, db):
    response = _page(client_for())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_no_alerts_says_so(client_for, people, books):
    html = _page(client_for(people.rep_a)).content.decode()
    assert "No alerts: every open deal you can see is healthy." in html
    assert 'data-testid="alert-row"' not in html


# --- filters ----------------------------------------------------------------------------


def test_filter_by_severity_keeps_the_other_counts(client_for, people, alerting):
    # when
    response = _page(client_for(people.manager_east), severity="medium")
    html = response.content.decode()
    # then
    assert [(c, s) for c, s, _ in _rows(response)] == [
        ("stalled", "medium"),
        ("behind_buyer", "medium"),
    ]
    assert re.search(r'data-testid="alert-count-high"[^>]*>\s*<span[^>]*>1</span>', html)
    assert re.search(
        r'class="severity-count severity-medium is-active"[^>]*data-testid="alert-count-medium"',
        html,
    )
    # the active count clears its filter; another count switches to it
    assert re.search(r'href="\?"\s+data-testid="alert-count-medium"', html)
    assert 'href="?severity=high"' in html


def test_filter_by_code_and_owner(client_for, people, alerting):
    client = client_for(people.manager_east)
    by_code = _rows(_page(client, code="stalled"))
    by_owner = _rows(_page(client, owner=people.rep_b.pk))
    assert by_code == [("stalled", "medium", alerting["a_stalled"])]
    assert by_owner == [("behind_buyer", "medium", alerting["b_behind"])]


def test_unknown_filter_values_are_ignored_not_an_error(client_for, people, alerting):
    client = client_for(people.manager_east)
    rows = _rows(_page(client, severity="urgent", code="nope", owner="x"))
    assert len(rows) == 3


def test_owner_of_another_team_is_not_offered_and_shows_nothing(client_for, people, alerting):
    # given
    client = client_for(people.manager_east)
    # when
    html = _page(client).content.decode()
    rows = _rows(_page(client, owner=people.rep_c.pk))
    # then
    assert f'<option value="{people.rep_b.pk}">' in html
    assert f'<option value="{people.rep_c.pk}">' not in html
    assert rows == _rows(_page(client))  # not a choice: the filter is dropped


def test_a_rep_gets_no_owner_filter_and_the_codes_by_name(client_for, people, alerting):
    html = _page(client_for(people.rep_a)).content.decode()
    assert 'name="owner"' not in html
    assert '<option value="stalled">Stalled in a stage</option>' in html
    assert '<option value="behind_buyer">Behind the customer</option>' in html


def test_htmx_gets_only_the_results(client_for, people, alerting):
    response = client_for(people.manager_east).get(
        reverse("alert-list"), {"severity": "high"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert len(_rows(response)) == 1
    assert 'data-testid="alert-count-high"' in html
    assert "<html" not in html


# --- navigation, language, cost ---------------------------------------------------------


def test_nav_link_on_every_page_and_current_on_the_list(client_for, people, books):
    client = client_for(people.rep_a)
    home = client.get(reverse("home")).content.decode()
    page = _page(client).content.decode()
    assert f'href="{reverse("alert-list")}" data-testid="nav-alerts"' in home
    assert 'data-testid="nav-alerts" aria-current="page"' in page


def test_chinese_page_shows_chinese_rule_texts(client_for, people, alerting):
    html = _page(client_for(people.rep_b, language="zh-hans")).content.decode()
    assert "落后于客户" in html
    assert "开发阶段" in html


def test_page_costs_the_same_for_3_deals_as_for_30(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    account = books["rep_a"].account

    def add(n):
        for i in range(n):
            opp = opportunity_create(
                actor=people.rep_a,
                account=account,
                name=f"Bulk {i}",
                amount="1",
                expected_close=clock.today() + dt.timedelta(days=30 + i),
                stage_entered_at=clock.now() - dt.timedelta(days=60),
            )
            process.criterion_add(actor=people.rep_a, opportunity=opp, text="交期")

    def cost():
        with CaptureQueriesContext(connection) as seen:
            rows = _rows(_page(client))
        return len(seen.captured_queries), len(rows)

    add(3)
    few, few_rows = cost()
    # when
    add(27)
    many, many_rows = cost()
    # then
    assert (few_rows, many_rows) == (3, 30)
    assert many == few


# --- the opportunity page's alerts panel ------------------------------------------------


def test_alert_evidence_links_to_the_person_and_the_history(client_for, people, books, only_rules):
    # given: a blocker in the buying centre, and the deal forced past development
    only_rules(("forced_gate", "blocker_present"))
    book = books["rep_a"]
    blocker = stakeholder_add(
        actor=people.rep_a,
        opportunity=book.opportunity,
        contact=book.report,
        roles=["technical"],
        stance="blocker",
    )
    process.opportunity_advance(
        actor=people.manager_east, opportunity=book.opportunity, force=True, reason="试点"
    )
    # when
    html = (
        client_for(people.rep_a)
        .get(reverse("opportunity-detail", args=[book.opportunity.pk]))
        .content.decode()
    )
    # then
    assert 'data-code="blocker_present"' in html
    assert 'data-code="forced_gate" data-severity="high"' in html
    assert re.search(
        rf'<a href="#stakeholders" data-testid="alert-evidence" data-kind="stakeholder" '
        rf'data-id="{blocker.pk}">Alpha Engineer</a>',
        html,
    )
    assert re.search(
        r'<a href="#history" data-testid="alert-evidence" data-kind="event" data-id="\d+">'
        r"Forced move of \d{4}-\d\d-\d\d</a>",
        html,
    )
    assert "What to do:" in html


def test_evidence_labels_come_from_the_facts():
    translation.activate("en")  # a pure call: no request sets the language
    facts = DealFacts(
        id=1,
        playbook="standard-6",
        stage="development",
        buyer_stage="need",
        status="open",
        priority="",
        stage_entered_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        expected_close=dt.date(2026, 6, 30),
        stakeholders=(
            StakeholderFacts(id=5, contact_id=9, name="王主任", roles=frozenset({"technical"})),
        ),
        milestones=(MilestoneFacts(id=3, kind="bid_submitted", date=dt.date(2026, 2, 1)),),
        forced_moves=(
            ForcedMoveFacts(
                id=1,
                event_id=40,
                from_stage="development",
                unmet=(),
                at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
            ),
        ),
    )
    got = {
        (k, i): (e.label, e.href)
        for k, i in [
            ("stakeholder", 5),
            ("contact", 9),
            ("event", 40),
            ("event", 41),
            ("milestone", 3),
            ("criterion", 7),
            ("stakeholder", 99),
            ("quote", 2),
        ]
        for e in [evidence_link(k, i, facts)]
    }
    assert got == {
        ("stakeholder", 5): ("王主任", "#stakeholders"),
        ("contact", 9): ("王主任", "#stakeholders"),
        ("event", 40): ("Forced move of 2026-01-05", "#history"),
        ("event", 41): ("History entry", "#history"),
        ("milestone", 3): ("Bid submitted 2026-02-01", "#milestones"),
        ("criterion", 7): ("Purchase criterion", "#criteria"),
        ("stakeholder", 99): ("A person", "#stakeholders"),
        ("quote", 2): ("quote #2", ""),
    }


# --- pages of a long list ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "shown"),
    [("1", [0, 1]), ("2", [2, 3]), ("3", [2, 3]), ("99", [2, 3]), ("x", [0, 1]), ("", [0, 1])],
)
def test_pages_show_their_rows_and_a_page_past_the_end_the_last(
    client_for, people, alerting, monkeypatch, page, shown
):
    # given: two rows a page, four alerts for the admin
    from kam.web.views import alerts as view

    every = _rows(_page(client_for(people.admin)))
    assert len(every) == 4
    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    # when
    response = _page(client_for(people.admin), page=page)
    # then
    assert _rows(response) == [every[i] for i in shown]
    assert re.search(
        r'data-testid="alert-count-high"[^>]*>\s*<span[^>]*>2</span>', response.content.decode()
    )

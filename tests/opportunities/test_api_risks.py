"""GET /api/v1/risks: the alerts of every open deal the user may see — sorted by
severity, then expected close, then deal id; filtered by severity, code, owner,
team and playbook; paginated; counted; and as cheap for 30 deals as for 3."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import clock
from kam.methodology import risks
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.stakeholders.services import stakeholder_add, stakeholder_update
from tests.conftest import PROCESS_RULES

GOOD = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}


# Only the process rules run: each test sees exactly the alerts its deals are built for.
pytestmark = pytest.mark.usefixtures("process_rules_only")


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


def _days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


def _ago(days: int) -> dt.datetime:
    return clock.now() - dt.timedelta(days=days)


def _deal(rep, name: str, *, close: int, account=None, **fields):
    account = account or account_create(actor=rep, name=f"{name} Co.")
    return opportunity_create(
        actor=rep,
        account=account,
        name=name,
        amount="100000",
        expected_close=_days(close),
        **fields,
    )


@pytest.fixture
def deals(world):
    """Deals built to raise known alerts (development is healthy for 45 days,
    high beyond 90; one buyer stage behind is medium, two or more high)."""
    a, b, c = world.rep_a, world.rep_b, world.rep_c
    out = {
        # rep_a (East)
        "a_behind_far": _deal(a, "A behind far", close=200, buyer_stage="evaluation"),
        "a_stalled_long": _deal(a, "A stalled long", close=100, stage_entered_at=_ago(100)),
        "a_tie": _deal(a, "A tie", close=200, buyer_stage="selection"),
        "a_healthy": _deal(a, "A healthy", close=50),
        # rep_b (East)
        "b_behind": _deal(b, "B behind", close=30, buyer_stage="approval"),
        # rep_c (West), on the other playbook (lead confirmation: healthy for 30 days)
        "c_stalled": _deal(
            c, "C stalled", close=150, playbook="milestones-5", stage_entered_at=_ago(40)
        ),
    }
    lost = _deal(a, "A lost", close=10, buyer_stage="contract", stage_entered_at=_ago(200))
    process.opportunity_close(actor=a, opportunity=lost, outcome="lost", reason="价格")
    return out


def _rows(body) -> list[tuple[str, str, str]]:
    return [(i["opportunity_name"], i["code"], i["severity"]) for i in body["items"]]


ALL_ROWS = [
    ("A stalled long", "stalled", "high"),
    ("A behind far", "behind_buyer", "high"),
    ("A tie", "behind_buyer", "high"),
    ("B behind", "behind_buyer", "medium"),
    ("C stalled", "stalled", "medium"),
]


# --- the rows and their order ---------------------------------------------------------


def test_admin_sees_every_alert_sorted_by_severity_close_and_id(world, deals, api_as):
    # when
    body = _ok(api_as(world.admin).get("risks"))
    # then: high first; within a severity the earlier close, then the older deal
    assert _rows(body) == ALL_ROWS
    assert body["total"] == 5
    assert body["counts"] == {
        "by_severity": {"high": 3, "medium": 2, "low": 0},
        "by_code": {"behind_buyer": 3, "stalled": 2},
    }
    assert (body["limit"], body["offset"]) == (100, 0)


def test_a_row_carries_the_deal_and_the_alert_as_the_deal_endpoint_gives_it(world, deals, api_as):
    # given
    client = api_as(world.manager_east)
    deal = deals["b_behind"]
    # when
    row = next(i for i in _ok(client.get("risks"))["items"] if i["opportunity_id"] == deal.pk)
    # then
    assert row == {
        "opportunity_id": deal.pk,
        "opportunity_name": "B behind",
        "account_id": deal.account_id,
        "account_name": "B behind Co.",
        "owner": {"id": world.rep_b.pk, "name": "rep_b"},
        "stage": "development",
        "stage_name": "Development",
        "amount": "100000.00",
        "currency": "CNY",
        "expected_close": _days(30).isoformat(),
        "priority": None,
        "code": "behind_buyer",
        "severity": "medium",
        "title": "Behind the customer",
        "message": "The customer is already at “Project approval, buying team formed”, 1 "
        "step(s) beyond what our stage Development matches (Problem and need, "
        "Information search): we are late.",
        "action": "Catch up with the customer: Map the buying team and their roles; build "
        "relationships with the key persons.",
        "evidence": [],
    }
    single = _ok(client.get(f"opportunities/{deal.pk}/risks"))
    assert single == [{k: row[k] for k in single[0]}]


def test_forced_gate_evidence_names_the_event(world, api_as):
    # given: forced past development with nothing met
    deal = _deal(world.rep_a, "Forced", close=60)
    process.opportunity_advance(
        actor=world.manager_east, opportunity=deal, force=True, reason="客户高层已口头确认"
    )
    event = deal.forced_moves.get().event_id
    # when
    body = _ok(api_as(world.manager_east).get("risks", code="forced_gate"))
    # then
    assert [(i["code"], i["evidence"]) for i in body["items"]] == [
        ("forced_gate", [{"kind": "event", "id": event}])
    ]


def test_chinese_request_gets_chinese_texts(world, deals, api_as):
    body = _ok(api_as(world.rep_b, language="zh-hans").get("risks"))
    assert [(i["code"], i["title"], i["stage_name"]) for i in body["items"]] == [
        ("behind_buyer", "落后于客户", "开发阶段")
    ]


def test_no_deals_no_alerts(world, api_as):
    assert _ok(api_as(world.rep_a).get("risks")) == {
        "items": [],
        "counts": {"by_severity": {"high": 0, "medium": 0, "low": 0}, "by_code": {}},
        "total": 0,
        "limit": 100,
        "offset": 0,
    }


# --- visibility -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("rep_a", {"A stalled long", "A behind far", "A tie"}),
        ("rep_b", {"B behind"}),
        ("rep_c", {"C stalled"}),
        ("manager_east", {"A stalled long", "A behind far", "A tie", "B behind"}),
        ("manager_west", {"C stalled"}),
        ("admin", {"A stalled long", "A behind far", "A tie", "B behind", "C stalled"}),
    ],
)
def test_each_role_sees_the_alerts_of_the_deals_it_may_see(world, deals, api_as, viewer, expected):
    body = _ok(api_as(getattr(world, viewer)).get("risks"))
    assert {i["opportunity_name"] for i in body["items"]} == expected
    assert body["total"] == len(body["items"])
    assert sum(body["counts"]["by_severity"].values()) == body["total"]


def test_anonymous_is_401(deals, api_as):
    assert api_as(None).get("risks").status_code == 401


def test_filtering_by_another_teams_owner_reveals_nothing(world, deals, api_as):
    body = _ok(api_as(world.manager_east).get("risks", owner=world.rep_c.pk))
    assert (body["items"], body["total"]) == ([], 0)


# --- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "high"}, ALL_ROWS[:3]),
        ({"severity": "medium"}, ALL_ROWS[3:]),
        ({"severity": "low"}, []),
        ({"severity": "high,medium"}, ALL_ROWS),
        ({"severity": ["low", "medium"]}, ALL_ROWS[3:]),
        ({"code": "stalled"}, [ALL_ROWS[0], ALL_ROWS[4]]),
        ({"code": "behind_buyer,forced_gate"}, ALL_ROWS[1:4]),
        ({"code": ["stalled"], "severity": "medium"}, [ALL_ROWS[4]]),
        ({"playbook": "milestones-5"}, [ALL_ROWS[4]]),
        ({"playbook": "standard-6", "severity": "medium"}, [ALL_ROWS[3]]),
    ],
)
def test_filters(world, deals, api_as, params, expected):
    body = _ok(api_as(world.admin).get("risks", **params))
    assert _rows(body) == expected
    assert body["total"] == len(expected)


def test_owner_and_team_filters(world, deals, api_as):
    admin = api_as(world.admin)
    by_owner = _ok(admin.get("risks", owner=world.rep_b.pk))
    by_team = _ok(admin.get("risks", team=world.rep_a.team_id))
    west = _ok(admin.get("risks", team=world.rep_c.team_id))
    assert _rows(by_owner) == [ALL_ROWS[3]]
    assert _rows(by_team) == ALL_ROWS[:4]
    assert _rows(west) == [ALL_ROWS[4]]


def test_counts_are_facets_of_the_other_filters(world, deals, api_as):
    # when: one severity and one code chosen
    body = _ok(api_as(world.admin).get("risks", severity="high", code="stalled"))
    # then: each count ignores its own filter, so the bar can offer the others
    assert _rows(body) == [ALL_ROWS[0]]
    assert body["counts"] == {
        "by_severity": {"high": 1, "medium": 1, "low": 0},  # stalled alerts per severity
        "by_code": {"behind_buyer": 2, "stalled": 1},  # high alerts per code
    }


def test_pagination_slices_the_sorted_rows(world, deals, api_as):
    admin = api_as(world.admin)
    body = _ok(admin.get("risks", limit=2, offset=1))
    assert _rows(body) == ALL_ROWS[1:3]
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    assert _ok(admin.get("risks", offset=5))["items"] == []
    assert _ok(admin.get("risks", limit=500))["total"] == 5


@pytest.mark.parametrize(
    ("params", "field", "detail"),
    [
        (
            {"severity": "urgent"},
            "severity",
            "Unknown severity “urgent”. Use one of: high, medium, low.",
        ),
        ({"severity": "high,urgent"}, "severity", None),
        ({"code": "no_budget"}, "code", None),
        ({"code": ["stalled", "no_budget"]}, "code", None),
        ({"limit": 0}, "limit", "limit: Enter a value of at least 1."),
        ({"limit": 501}, "limit", "limit: Enter a value of at most 500."),
        ({"limit": "many"}, "limit", None),
        ({"offset": -1}, "offset", None),
        ({"owner": "me"}, "owner", None),
        ({"team": 0}, "team", None),
        ({"playbook": "nine-steps"}, "playbook", None),
    ],
)
def test_bad_parameters_are_422_naming_the_field(world, deals, api_as, params, field, detail):
    # when
    response = api_as(world.admin).get("risks", **params)
    # then
    assert response.status_code == 422
    assert response.json()["field"] == field
    if detail is not None:
        assert response.json()["detail"] == detail


def test_unknown_code_lists_every_registered_code(world, api_as):
    body = api_as(world.admin).get("risks", code="no_budget").json()
    assert body["detail"].startswith("Unknown alert code “no_budget”. Use one of: ")
    assert body["detail"].endswith(", ".join(risks.RULES) + ".")
    assert set(PROCESS_RULES) <= set(risks.RULES)


# --- cost -------------------------------------------------------------------------------


def _rich_deals(world, n: int) -> None:
    """n deals with evidence of the kinds the facts read: stakeholders (and a lost
    role in the history), purchase criteria, milestones, an evaluation or a forced
    move; half of them stalled."""
    rep = world.rep_a
    account = account_create(actor=rep, name=f"Bulk {n}")
    people = [contact_create(actor=rep, account=account, name=f"Person {i}") for i in range(3)]
    for i in range(n):
        deal = _deal(
            rep,
            f"Bulk {i}",
            close=30 + i,
            account=account,
            stage_entered_at=_ago(100) if i % 2 else None,
        )
        found = [
            stakeholder_add(
                actor=rep,
                opportunity=deal,
                contact=person,
                roles=["user"] if j else ["decision_maker"],
                stance="supporter",
                is_coach=j == 1,
            )
            for j, person in enumerate(people)
        ]
        if i % 2 == 0:  # the decision maker lost the role: a change in the history
            stakeholder_update(actor=rep, stakeholder=found[0], roles=["user"])
        process.criterion_add(actor=rep, opportunity=deal, text="交期", shaped_by_us=True)
        process.milestone_record(actor=rep, opportunity=deal, kind="proposal_submitted")
        if i % 3 == 0:
            process.opportunity_advance(
                actor=world.manager_east, opportunity=deal, force=True, reason="批量"
            )
        else:
            process.evaluation_record(actor=rep, opportunity=deal, scores=GOOD)


def _queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as seen:
        body = _ok(client.get("risks"))
    return len(seen.captured_queries), body["total"]


def test_query_count_does_not_grow_with_the_number_of_deals(world, api_as):
    # given (a first call stamps the token's last use, once a minute)
    client = api_as(world.manager_east)
    _ok(client.get("risks"))
    _rich_deals(world, 3)
    few, few_alerts = _queries(client)
    # when
    _rich_deals(world, 27)
    many, many_alerts = _queries(client)
    # then: ten times the deals and alerts, the same round trips
    assert many_alerts > 5 * few_alerts > 0
    assert many == few
    print(f"GET /risks: {few} queries for 3 deals, {many} for 30")


def test_openapi_describes_the_endpoint(db, client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/risks"]["get"]
    params = {p["name"] for p in operation["parameters"]}
    assert {"severity", "code", "owner", "team", "playbook", "limit", "offset"} <= params
    assert {"200", "422"} <= set(operation["responses"])


# --- a book larger than one chunk -----------------------------------------------------


def test_a_book_read_in_chunks_gives_the_same_rows_counts_and_order(
    world, deals, api_as, monkeypatch
):
    # given: the whole book at once, as the reference
    from kam.opportunities import alerts

    admin = api_as(world.admin)
    whole = _ok(admin.get("risks"))
    # when: two deals a round of fact queries (six open deals: three rounds)
    monkeypatch.setattr(alerts, "CHUNK", 2)
    chunked = _ok(admin.get("risks"))
    # then
    assert chunked == whole
    assert _rows(chunked) == ALL_ROWS


def test_queries_grow_by_one_round_per_chunk_not_per_deal(world, deals, api_as, monkeypatch):
    # given
    from kam.opportunities import alerts

    client = api_as(world.admin)
    _ok(client.get("risks"))  # the token's last use is stamped once
    one_round, _n = _queries(client)
    # when: six open deals, two a round
    monkeypatch.setattr(alerts, "CHUNK", 2)
    three_rounds, _n = _queries(client)
    # then: the eight fact queries twice more, and the five deals of the rows are read
    # two ids a query: two more
    assert three_rounds - one_round == 2 * 8 + 2


@pytest.mark.parametrize("keep", [1, 2, 3, 4, 5, 9])
def test_keep_returns_the_first_rows_and_counts_them_all(world, deals, keep):
    # given
    from kam.opportunities.alerts import alert_scan

    full = alert_scan(world.admin)
    # when
    kept = alert_scan(world.admin, keep=keep)
    # then
    assert [(r.opportunity.name, r.alert.code) for r in kept.rows] == [
        (name, code) for name, code, _s in ALL_ROWS[:keep]
    ]
    assert (kept.total, kept.by_severity, kept.by_code) == (
        full.total,
        full.by_severity,
        full.by_code,
    )


def test_deal_facts_are_read_in_rounds_of_chunk_deals(world, deals, monkeypatch):
    # given: the facts of the six open deals at once
    from kam.opportunities import facts
    from kam.opportunities.models import Opportunity

    opps = list(Opportunity.objects.filter(status="open").order_by("id"))
    whole = facts.deal_facts_many(opps)
    # when: at most four deals a round
    monkeypatch.setattr(facts, "CHUNK", 4)
    with CaptureQueriesContext(connection) as seen:
        chunked = facts.deal_facts_many(opps)
    # then: the same facts, in two rounds of eight queries
    assert chunked == whole and len(whole) == 6
    assert len(seen.captured_queries) == 2 * 8

"""GET /api/v1/accounts/grading (the value pyramid and the Pareto ratio) and
GET /api/v1/accounts/{id}/grade (the multi-indicator grade): exact values, tiers over
the whole book whoever looks, the role matrix, bad input → 422 naming the field, and
a fixed number of queries whatever the size of the book."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.core import clock
from kam.opportunities import process
from kam.opportunities.services import opportunity_create

TODAY = dt.datetime(2026, 3, 15, 10)


@pytest.fixture(autouse=True)
def _today():
    with clock.freeze(TODAY):
        yield


def paying(rep, name, amount, *, day=dt.date(2025, 12, 1), profit=None, deal=False, **fields):
    """An account with `amount` of revenue recorded on `day` (0: none). With `deal`, it
    also has an open deal (so that every role's selector sees it the same way)."""
    account = account_create(actor=rep, name=name, **fields)
    if amount:
        revenue_record_add(actor=rep, account=account, date=day, amount=amount, profit=profit)
    if deal:
        opportunity_create(
            actor=rep,
            account=account,
            name=f"{name} deal",
            amount=1,
            expected_close=dt.date(2026, 12, 31),
        )
    return account


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_the_path_is_not_taken_for_an_account_id(world, api_as):
    # when
    body = ok(api_as(world.rep_a).get("accounts/grading"))
    # then
    assert [t["key"] for t in body["tiers"]] == ["vip", "key", "general", "small"]
    assert body["period"] == {"start": "2025-03-16", "end": "2026-03-15", "months": 12}


def test_a_book_of_twenty(world, api_as):
    # given: twenty accounts of rep_a with 2000, 1900 … 100
    accounts = [paying(world.rep_a, f"A{i:02d}", 2000 - 100 * i) for i in range(20)]
    # when
    body = ok(api_as(world.rep_a).get("accounts/grading", page_size=5))
    # then
    assert [
        (t["key"], t["name"], t["count"], t["revenue"], t["share_of_revenue"])
        for t in body["tiers"]
    ] == [
        ("vip", "VIP", 1, "2000.00", 9.5),
        ("key", "Key account", 3, "5400.00", 25.7),
        ("general", "General account", 6, "8100.00", 38.6),
        ("small", "Small account", 10, "5500.00", 26.2),
    ]
    # top ⌈20 % × 20⌉ = 4 accounts: 2000 + 1900 + 1800 + 1700 = 7400 of 21000
    assert (body["pareto"]["top_share"], body["pareto"]["accounts"], body["pareto"]["ratio"]) == (
        20.0,
        4,
        35.2,
    )
    assert body["pareto"]["curve"][:2] == [[0.0, 0.0], [5.0, 9.52]]
    assert body["pareto"]["curve"][-1] == [100.0, 100.0]
    assert [(a["id"], a["rank"], a["tier"], a["revenue"]) for a in body["accounts"]] == [
        (accounts[0].pk, 1, "vip", "2000.00"),
        (accounts[1].pk, 2, "key", "1900.00"),
        (accounts[2].pk, 3, "key", "1800.00"),
        (accounts[3].pk, 4, "key", "1700.00"),
        (accounts[4].pk, 5, "general", "1600.00"),
    ]
    assert (body["count"], body["page"], body["page_size"]) == (20, 1, 5)
    assert body["scope"] == {"visible": 20, "book": 20}
    assert (body["revenue"], body["profit"], body["revenue_without_profit"]) == (
        "21000.00",
        "0.00",
        "21000.00",
    )
    last = ok(api_as(world.rep_a).get("accounts/grading", page_size=5, page=4))["accounts"]
    assert [a["name"] for a in last] == ["A15", "A16", "A17", "A18", "A19"]


def test_a_rep_sees_only_their_accounts_with_the_tiers_the_admin_sees(world, api_as):
    # given: rep_a's 300 and 100, rep_b's 200, rep_c's (West) 400 and nothing
    mine_hi = paying(world.rep_a, "A-hi", 300, deal=True)
    mine_lo = paying(world.rep_a, "A-lo", 100, deal=True)
    paying(world.rep_b, "B", 200, deal=True)
    paying(world.rep_c, "C", 400, deal=True)
    paying(world.rep_c, "C-zero", 0, deal=True)

    def view(user):
        body = ok(api_as(user).get("accounts/grading"))
        return body, {a["name"]: (a["rank"], a["tier"]) for a in body["accounts"]}

    # when
    admin, admin_places = view(world.admin)
    rep, rep_places = view(world.rep_a)
    manager, manager_places = view(world.manager_east)
    # then: the whole book of 5 ranks 400, 300, 200, 100, 0
    assert admin_places == {
        "C": (1, "vip"),
        "A-hi": (2, "general"),
        "B": (3, "general"),
        "A-lo": (4, "small"),
        "C-zero": (5, "small"),
    }
    assert rep_places == {"A-hi": (2, "general"), "A-lo": (4, "small")}
    assert manager_places == {"A-hi": (2, "general"), "B": (3, "general"), "A-lo": (4, "small")}
    assert (rep["scope"], manager["scope"], admin["scope"]) == (
        {"visible": 2, "book": 5},
        {"visible": 3, "book": 5},
        {"visible": 5, "book": 5},
    )
    # counts, revenue and Pareto cover what the user sees: rep_a's top ⌈20 % × 2⌉ = 1
    assert [t["count"] for t in rep["tiers"]] == [0, 0, 1, 1]
    assert (rep["revenue"], rep["pareto"]["accounts"], rep["pareto"]["ratio"]) == (
        "400.00",
        1,
        75.0,
    )
    assert [a["id"] for a in rep["accounts"]] == [mine_hi.pk, mine_lo.pk]


def test_all_zero_revenue(world, api_as):
    # given
    for i in range(3):
        paying(world.rep_a, f"Z{i}", 0)
    # when
    body = ok(api_as(world.rep_a).get("accounts/grading"))
    # then
    assert [(t["count"], t["revenue"], t["share_of_revenue"]) for t in body["tiers"]] == [
        (0, "0.00", None),
        (0, "0.00", None),
        (0, "0.00", None),
        (3, "0.00", None),
    ]
    assert (body["pareto"]["accounts"], body["pareto"]["ratio"]) == (1, None)
    assert {(a["rank"], a["tier"]) for a in body["accounts"]} == {(1, "small")}


def test_an_empty_book(world, api_as):
    body = ok(api_as(world.rep_a).get("accounts/grading"))
    assert (body["accounts"], body["count"], body["scope"]) == ([], 0, {"visible": 0, "book": 0})
    assert body["pareto"] == {
        "top_share": 20.0,
        "accounts": 0,
        "ratio": None,
        "curve": [[0.0, 0.0]],
    }


def test_the_period_chooses_the_revenue(world, api_as):
    # given: 100 in June 2024 and 50 in June 2025
    account = paying(world.rep_a, "Acme", 100, day=dt.date(2024, 6, 1))
    revenue_record_add(actor=world.rep_a, account=account, date=dt.date(2025, 6, 1), amount=50)
    client = api_as(world.rep_a)
    # then
    assert ok(client.get("accounts/grading"))["revenue"] == "50.00"
    assert ok(client.get("accounts/grading", months=24))["revenue"] == "150.00"
    body = ok(client.get("accounts/grading", start="2024-06-01", end="2024-06-01"))
    assert (body["revenue"], body["period"]) == (
        "100.00",
        {"start": "2024-06-01", "end": "2024-06-01", "months": None},
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2025-13-01", "end": "2025-12-31"}, "start"),
        ({"start": "2025-01-01", "end": "yesterday"}, "end"),
        ({"start": "2025-02-01", "end": "2025-01-31"}, "end"),
        ({"start": "2025-02-01"}, "end"),
        ({"end": "2025-02-01"}, "start"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"months": "twelve"}, "months"),
        ({"months": 12, "start": "2025-01-01", "end": "2025-02-01"}, "months"),
        ({"page": 0}, "page"),
        ({"page_size": 1000}, "page_size"),
    ],
)
def test_bad_input_is_422_naming_the_field(world, api_as, params, field):
    response = api_as(world.rep_a).get("accounts/grading", **params)
    assert response.status_code == 422
    assert response.json()["field"] == field


PERIODS = [{}, {"months": 6}, {"start": "2025-01-01", "end": "2025-12-31"}]


@pytest.mark.parametrize("params", PERIODS)
def test_bad_period_on_the_grade_too(world, api_as, params):
    account = paying(world.rep_a, "Acme", 0)
    assert api_as(world.rep_a).get(f"accounts/{account.pk}/grade", **params).status_code == 200
    bad = api_as(world.rep_a).get(f"accounts/{account.pk}/grade", months=200)
    assert (bad.status_code, bad.json()["field"]) == (422, "months")


def test_the_grading_list_costs_the_same_for_3_and_30_accounts(
    world, api_as, django_assert_num_queries
):
    # given: three accounts
    for i in range(3):
        paying(world.rep_a, f"S{i}", 100 + i)
    client = api_as(world.manager_east)
    client.get("accounts/grading")  # the token's first use is written down once
    # then: the token with its user, and the report's three queries
    with django_assert_num_queries(4):
        assert ok(client.get("accounts/grading"))["count"] == 3
    # given: thirty
    for i in range(27):
        paying(world.rep_b, f"T{i:02d}", 10 + i, deal=True)
    with django_assert_num_queries(4):
        assert ok(client.get("accounts/grading"))["count"] == 30


def test_the_grade_costs_the_same_for_3_and_30_accounts(world, api_as, django_assert_num_queries):
    target = paying(world.rep_a, "Target", 100)
    client = api_as(world.rep_a)
    client.get("accounts/grading")  # the token's first use is written down once
    for i in range(2):
        paying(world.rep_b, f"S{i}", 100 + i)
    # the token with its user, the account, and the grade's six queries
    with django_assert_num_queries(8):
        ok(client.get(f"accounts/{target.pk}/grade"))
    for i in range(27):
        paying(world.rep_b, f"T{i:02d}", 10 + i)
    with django_assert_num_queries(8):
        assert ok(client.get(f"accounts/{target.pk}/grade"))["book"] == 30


# --- the multi-indicator grade ---------------------------------------------------------


@pytest.mark.usefixtures("linear_grading")
def test_the_grade_with_its_breakdown(world, api_as):
    # given: Acme earned 1000 (a contract at 20 % margin) and a record of 500 with 50
    # profit; Other earned 2000 (no profit known). Acme's other facts are known.
    acme = account_create(
        actor=world.rep_a,
        name="Acme",
        industry="汽车零部件",
        size="large",
        nature="soe",
        collection_cycle_days=105,
        receivables="500000",
        value_positioning=4,
    )
    with clock.freeze(dt.datetime(2025, 9, 1, 12)):
        deal = opportunity_create(
            actor=world.rep_a,
            account=acme,
            name="Press",
            amount=1000,
            expected_close=dt.date(2025, 9, 1),
            stage="negotiation",
        )
        process.milestone_record(
            actor=world.rep_a, opportunity=deal, kind="contract_signed", margin="20"
        )
        process.opportunity_close(actor=world.rep_a, opportunity=deal, outcome="won")
    revenue_record_add(
        actor=world.rep_a, account=acme, date=dt.date(2024, 1, 5), amount=500, profit=50
    )
    paying(world.rep_c, "Other", 2000)
    # when
    body = ok(api_as(world.rep_a).get(f"accounts/{acme.pk}/grade"))
    # then: transaction: revenue 1500/2000 = 75, profit 250/250 = 100, average 750/2000 = 37.5
    # → (50·75 + 30·100 + 20·37.5)/100 = 75; financial (50 + 75)/2 = 62.5; characteristics
    # (40·90 + 35·80 + 25·80)/100 = 84; needs: value positioning 75 only (no needs) → 75.
    groups = {g["key"]: g for g in body["groups"]}
    assert [(g["key"], g["name"], g["weight"], g["score"]) for g in body["groups"]] == [
        ("transaction", "Transactions", 40.0, 75.0),
        ("financial", "Financial", 20.0, 62.5),
        ("characteristics", "Characteristics", 20.0, 84.0),
        ("needs", "Needs fit", 20.0, 75.0),
    ]
    assert [
        (i["key"], i["value"], i["score"], i["missing"], i["method"])
        for i in groups["transaction"]["indicators"]
    ] == [
        ("revenue_total", "1500.00", 75.0, False, "relative"),
        ("profit_total", "250.00", 100.0, False, "relative"),
        ("average_deal", "750.00", 37.5, False, "relative"),
    ]
    assert [
        (i["key"], i["missing"], i["effective_weight"]) for i in groups["needs"]["indicators"]
    ] == [("value_positioning", False, 20.0), ("purchase_criteria", True, 0.0)]
    # 0.4·75 + 0.2·62.5 + 0.2·84 + 0.2·75 = 74.3; the criteria match (10 %) is missing
    assert (body["total"], body["tier"], body["tier_name"], body["coverage"]) == (
        74.3,
        "key",
        "Key account",
        90.0,
    )
    # the pyramid over the last 12 months: Acme 1000 (the record is older), Other 2000
    assert (
        body["pyramid_tier"],
        body["rank"],
        body["book"],
        body["revenue_period"],
        body["profit_period"],
        body["revenue_without_profit_period"],
    ) == ("small", 2, 2, "1000.00", "200.00", "0.00")
    assert body["period"] == {"start": "2025-03-16", "end": "2026-03-15", "months": 12}


def test_a_grade_from_thin_data_says_so(world, api_as):
    # given: a new account: nothing but the (zero) revenue is known
    account = account_create(actor=world.rep_a, name="New")
    # when
    body = ok(api_as(world.rep_a, "zh-Hans").get(f"accounts/{account.pk}/grade"))
    # then
    assert (body["total"], body["tier"], body["tier_name"], body["coverage"]) == (
        0.0,
        "small",
        "小型客户",
        40.0,
    )
    assert [g["score"] for g in body["groups"]] == [0.0, None, None, None]
    assert body["groups"][0]["name"] == "交易类"


VIEWERS = {
    "rep_a": 200,  # the owner
    "rep_b": 404,  # another rep, same team
    "rep_c": 404,  # a rep of another team
    "manager_east": 200,  # the owner's manager
    "manager_west": 404,  # another team's manager
    "admin": 200,
}


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
def test_who_sees_a_grade(world, api_as, viewer, expected):
    # given
    account = paying(world.rep_a, "Acme", 100, deal=True)
    # when
    response = api_as(getattr(world, viewer)).get(f"accounts/{account.pk}/grade")
    # then
    assert response.status_code == expected
    if expected == 200:
        assert (response.json()["account_id"], response.json()["rank"]) == (account.pk, 1)


def test_anonymous_is_401(world, api_as):
    assert api_as(None).get("accounts/grading").status_code == 401

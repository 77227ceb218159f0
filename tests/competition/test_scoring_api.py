"""GET/PUT /api/v1/opportunities/{id}/competition (SPEC §6, §10): a deal's competitor
scoring table (竞争对手分析表) — each party's scores, weighted total and completeness,
us against the best rival per criterion, the rivals ahead of us; replaced as a whole,
refused as a whole, recorded once in the deal's history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from kam.competition.models import CompetitionScore
from kam.competition.scoring import competition_set, competition_table
from kam.core.models import Event
from kam.methodology import registry

# The shipped criteria in their order (their list is checked in
# tests/methodology/test_competition_model.py).
KEYS = [c.key for c in registry.current().competition.criteria]
US = {
    "purchase_share": 1,
    "cooperation_history": 2,
    "relationship": 4,
    "quality": 5,
    "service": 4,
    "price": 5,
}
INCUMBENT = {
    "purchase_share": 5,
    "cooperation_history": 5,
    "relationship": 5,
    "quality": 4,
    "service": 3,
    "price": 3,
}
CHEAP = {"price": 5, "quality": 2}
PRICE = "Score Price with a whole number from 1 to 5."
EMPTY_US = "Score us on at least one criterion, or leave it out of the table."


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def deal(rep) -> int:
    account = _ok(rep.post("accounts", {"name": "某服装品牌"}), 201)["id"]
    return _ok(
        rep.post(
            "opportunities",
            {"account_id": account, "name": "辅料年度供货", "amount": 800_000,
             "expected_close": "2027-06-30"},
        ),
        201,
    )["id"]  # fmt: skip


@pytest.fixture
def incumbent(rep) -> int:
    return _ok(rep.post("competitors", {"name": "常州精工"}), 201)["id"]


@pytest.fixture
def cheap(rep) -> int:
    return _ok(rep.post("competitors", {"name": "低价厂"}), 201)["id"]


def _path(deal: int) -> str:
    return f"opportunities/{deal}/competition"


def _put(client, deal: int, scores):
    return client.put(_path(deal), {"scores": scores})


def _state(deal: int) -> tuple:
    """What a refused request must leave as it was."""
    rows = list(
        CompetitionScore.objects.filter(opportunity_id=deal)
        .order_by(F("competitor_id").asc(nulls_first=True), "criterion")  # "us" (None) first
        .values_list("competitor_id", "criterion", "score")
    )
    return rows, Event.objects.filter(opportunity_id=deal).count()


# --- reading and writing -------------------------------------------------------------------


def test_a_deal_without_a_table(rep, deal):
    # when
    body = _ok(rep.get(_path(deal)))
    # then
    assert [c["key"] for c in body["criteria"]] == KEYS
    assert body["criteria"][3] == {
        "key": "relationship",
        "name": "Customer relationship",
        "weight": 12.0,
        "guide": "1 = knows nobody in the buying centre · 5 = trusted by the decision maker "
        "and the key users",
    }
    assert body["parties"] == []
    assert body["stronger"] == []
    assert body["gaps"][0] == {
        "criterion": "purchase_share",
        "name": "Purchase share",
        "us": None,
        "best_rival": None,
        "best_rival_id": None,
        "gap": None,
    }


def test_criteria_speak_chinese_when_asked(world, api_as, deal):
    body = _ok(api_as(world.rep_a, language="zh-hans").get(_path(deal)))
    assert [c["name"] for c in body["criteria"]][:4] == ["采购份额", "利润", "合作历史", "客户关系"]
    assert (
        body["criteria"][12]["guide"] == "1 = 报价最高,远超客户预算 · 5 = 同等条件下价格最有吸引力"
    )


def test_a_hand_computed_table(rep, deal, incumbent, cheap):
    # when
    body = _ok(_put(rep, deal, {"us": US, str(incumbent): INCUMBENT, str(cheap): CHEAP}))
    # then: weights share 8, history 8, relationship 12, quality 12, service 7, price 8 (55)
    # us: 8 + 16 + 48 + 60 + 28 + 40 = 200 of 275 → 72.7
    # 常州精工: 40 + 40 + 60 + 48 + 21 + 24 = 233 of 275 → 84.7, over the same six: +12.0
    # 低价厂: price 40 + quality 24 = 64 of 100 → 64.0; us over price and quality: 100.0
    assert body["parties"] == [
        {
            "party": "us",
            "competitor_id": None,
            "name": "Us",
            "scores": US,
            "total": 72.7,
            "complete": False,
            "compared": None,
        },
        {
            "party": str(cheap),
            "competitor_id": cheap,
            "name": "低价厂",
            "scores": CHEAP,
            "total": 64.0,
            "complete": False,
            "compared": {"criteria": ["quality", "price"], "us": 100.0, "rival": 64.0,
                         "gap": -36.0},
        },
        {
            "party": str(incumbent),
            "competitor_id": incumbent,
            "name": "常州精工",
            "scores": INCUMBENT,
            "total": 84.7,
            "complete": False,
            "compared": {
                "criteria": ["purchase_share", "cooperation_history", "relationship", "quality",
                             "service", "price"],
                "us": 72.7,
                "rival": 84.7,
                "gap": 12.0,
            },
        },
    ]  # fmt: skip
    assert [(g["criterion"], g["us"], g["best_rival"], g["best_rival_id"], g["gap"])
            for g in body["gaps"]] == [
        ("purchase_share", 1, 5, incumbent, -4),
        ("profit", None, None, None, None),
        ("cooperation_history", 2, 5, incumbent, -3),
        ("relationship", 4, 5, incumbent, -1),
        ("technical_barriers", None, None, None, None),
        ("satisfaction", None, None, None, None),
        ("brand", None, None, None, None),
        ("production_scale", None, None, None, None),
        ("technical_level", None, None, None, None),
        ("financial_strength", None, None, None, None),
        ("quality", 5, 4, incumbent, 1),
        ("service", 4, 3, incumbent, 1),
        ("price", 5, 5, cheap, 0),  # a tie goes to the first rival by name
    ]  # fmt: skip
    assert body["stronger"] == [incumbent]
    # and GET answers the same
    assert _ok(rep.get(_path(deal))) == body


def test_a_full_column_is_complete(rep, deal):
    body = _ok(_put(rep, deal, {"us": dict.fromkeys(KEYS, 4)}))
    assert body["parties"][0]["complete"] is True
    assert body["parties"][0]["total"] == 80.0


def test_put_replaces_the_whole_table(rep, deal, incumbent, cheap):
    # given
    _ok(_put(rep, deal, {"us": US, str(incumbent): INCUMBENT, str(cheap): CHEAP}))
    # when: the cheap rival is left out, the incumbent rescored on two criteria only
    body = _ok(_put(rep, deal, {"us": US, str(incumbent): {"price": 2, "quality": 3}}))
    # then
    assert [p["name"] for p in body["parties"]] == ["Us", "常州精工"]
    assert body["parties"][1]["scores"] == {"quality": 3, "price": 2}
    assert _state(deal)[0] == sorted(
        [(None, k, v) for k, v in US.items()]
        + [(incumbent, "price", 2), (incumbent, "quality", 3)],
        key=lambda r: (r[0] or 0, r[1]),
    )
    assert body["stronger"] == []


def test_an_empty_table_clears_it(rep, deal, incumbent):
    _ok(_put(rep, deal, {"us": US, str(incumbent): INCUMBENT}))
    body = _ok(_put(rep, deal, {}))
    assert (body["parties"], body["stronger"]) == ([], [])
    assert _state(deal)[0] == []


def test_a_table_of_rivals_only_compares_nothing(rep, deal, incumbent):
    body = _ok(_put(rep, deal, {str(incumbent): INCUMBENT}))
    assert body["parties"][0]["compared"] is None
    assert body["stronger"] == []
    assert body["gaps"][0]["best_rival"] == 5 and body["gaps"][0]["gap"] is None


# --- the history -----------------------------------------------------------------------------


def test_each_put_is_one_event_with_the_tables_by_party_name(world, rep, deal, incumbent, cheap):
    # given
    _ok(_put(rep, deal, {"us": {"price": 3}, str(incumbent): {"price": 4}}))
    # when
    _ok(_put(rep, deal, {"us": {"price": 5, "service": 4}, str(cheap): {"price": 5}}))
    # then
    events = list(
        Event.objects.filter(opportunity_id=deal, action="competition_scored").order_by("id")
    )
    assert [(e.entity, e.entity_id, e.actor) for e in events] == [
        ("opportunity", deal, world.rep_a)
    ] * 2
    assert (events[0].before, events[0].after) == (
        {},
        {"us": {"price": 3}, "常州精工": {"price": 4}},
    )
    assert (events[1].before, events[1].after) == (
        {"us": {"price": 3}, "常州精工": {"price": 4}},
        {"us": {"price": 5, "service": 4}, "低价厂": {"price": 5}},
    )
    history = _ok(rep.get(f"opportunities/{deal}/history"))
    assert [e["action"] for e in history].count("competition_scored") == 2


def test_the_same_table_again_records_nothing(rep, deal, incumbent):
    _ok(_put(rep, deal, {"us": US, str(incumbent): INCUMBENT}))
    before = _state(deal)
    _ok(_put(rep, deal, {str(incumbent): INCUMBENT, "us": US}))
    assert _state(deal) == before


def test_the_history_rows_read_well(world, rep, deal, incumbent, cheap):
    # given
    from kam.opportunities.models import Opportunity
    from kam.opportunities.selectors import opportunity_history
    from kam.web.presenters import history_rows

    _ok(_put(rep, deal, {"us": {"price": 3, "quality": 4}, str(incumbent): {"price": 4}}))
    _ok(_put(rep, deal, {"us": {"price": 5, "quality": 4}, str(cheap): {"price": 5}}))
    opp = Opportunity.objects.get(pk=deal)
    # when
    rows = [
        r for r in history_rows(opp, opportunity_history(opp)) if r.code == "competition_scored"
    ]
    # then: newest first
    assert [r.action for r in rows] == ["Competition table scored"] * 2
    assert [(c.label, c.before, c.after) for c in rows[0].changes] == [
        ("Us", "Price 3 (total 72.0)", "Price 5 (total 88.0)"),
        ("低价厂", "—", "1 scored, total 100.0"),
        ("常州精工", "1 scored, total 80.0", "taken out of the table"),
    ]
    assert [(c.label, c.before, c.after) for c in rows[1].changes] == [
        ("Us", "—", "2 scored, total 72.0"),
        ("常州精工", "—", "1 scored, total 80.0"),
    ]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "field", "detail"),
    [
        ({"us": {"price": 6}}, "scores.us.price", PRICE),
        ({"us": {"price": 0}}, "scores.us.price", PRICE),
        ({"us": {"price": 3.5}}, "scores.us.price", PRICE),
        ({"us": {"price": "3"}}, "scores.us.price", PRICE),
        ({"us": {"price": True}}, "scores.us.price", PRICE),
        ({"us": {"price": None}}, "scores.us.price", PRICE),
        ({"us": {"speed": 3}}, "scores.us.speed",
         "Unknown criterion “speed”; the table scores: " + ", ".join(KEYS) + "."),
        ({"us": {}}, "scores.us", EMPTY_US),
        ({"us": [3]}, "scores.us", "Send the scores of us as an object of criterion: 1–5."),
        ({"them": {"price": 3}}, "scores.them",
         "“them” is not a party: use “us” or a competitor's id."),
        ({"0": {"price": 3}}, "scores.0", "“0” is not a party: use “us” or a competitor's id."),
        ({"²": {"price": 3}}, "scores.²", "“²” is not a party: use “us” or a competitor's id."),
        ({"Us": {"price": 3}}, "scores.Us", "“Us” is not a party: use “us” or a competitor's id."),
        ({"424242": {"price": 3}}, "scores.424242",
         "No such competitor: 424242. Record the rival first."),
        ({"99999999999999999999": {"price": 3}}, "scores.99999999999999999999",
         "“99999999999999999999” is not a party: use “us” or a competitor's id."),
    ],
)  # fmt: skip
def test_bad_scores_are_422_naming_the_path_and_write_nothing(
    rep, deal, incumbent, scores, field, detail
):
    # given: a table already there
    _ok(_put(rep, deal, {"us": US, str(incumbent): INCUMBENT}))
    before = _state(deal)
    # when
    response = _put(rep, deal, {"us": US, **scores})
    # then
    assert response.status_code == 422
    body = response.json()
    assert (body["field"], body["detail"]) == (field, detail)
    assert _state(deal) == before


def test_a_rivals_criterion_is_named_by_its_id(rep, deal, incumbent):
    before = _state(deal)
    response = _put(rep, deal, {str(incumbent): {"price": 9}})
    assert (response.status_code, response.json()["field"]) == (422, f"scores.{incumbent}.price")
    assert _state(deal) == before


def test_every_problem_is_listed(rep, deal, incumbent):
    # when
    response = _put(
        rep, deal, {"us": {"price": 7, "brand": 3, "speed": 2}, str(incumbent): {}, "x": {}}
    )
    # then
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "scores.x",
        "scores.us.price",
        "scores.us.speed",
        f"scores.{incumbent}",
    ]
    assert response.json()["field"] == "scores.x"
    assert _state(deal) == ([], 1)  # only the deal's creation


def test_a_party_given_twice_is_refused(rep, deal, incumbent):
    response = _put(rep, deal, {str(incumbent): {"price": 3}, f"0{incumbent}": {"price": 4}})
    assert response.status_code == 422
    assert response.json()["field"] == f"scores.0{incumbent}"
    assert response.json()["detail"] == "This party is given twice."


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "scores"), ({"scores": [1]}, "scores"), ({"scores": "us"}, "scores")],
)
def test_a_body_without_a_scores_object_is_422(rep, deal, body, field):
    response = rep.put(_path(deal), body)
    assert (response.status_code, response.json()["field"]) == (422, field)


def test_the_service_refuses_a_non_object(world, deal):
    from kam.core.errors import ValidationFailed
    from kam.opportunities.models import Opportunity

    with pytest.raises(ValidationFailed) as caught:
        competition_set(actor=world.rep_a, opportunity=Opportunity.objects.get(pk=deal), scores=[])
    assert caught.value.field == "scores"


def test_the_service_takes_ids_and_competitors_as_keys(world, deal, incumbent, cheap):
    from kam.competition.models import Competitor
    from kam.opportunities.models import Opportunity

    # when
    opp = Opportunity.objects.get(pk=deal)
    table = competition_set(
        actor=world.rep_a,
        opportunity=opp,
        scores={
            "us": {"price": 3},
            incumbent: {"price": 4},
            Competitor.objects.get(pk=cheap): {"brand": 2},
        },
    )
    # then
    assert table.scores_payload() == {
        "us": {"price": 3},
        str(cheap): {"brand": 2},
        str(incumbent): {"price": 4},
    }
    assert competition_table(opp).stronger == (incumbent,)


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("rep_a", 200),
        ("manager_east", 200),
        ("admin", 200),
        ("rep_b", 404),
        ("manager_west", 404),
        ("rep_c", 404),
    ],
)
def test_who_may_read_and_score_the_table(world, api_as, rep, deal, incumbent, user, status):
    # given
    _ok(_put(rep, deal, {"us": US}))
    client = api_as(getattr(world, user))
    before = _state(deal)
    # when
    read = client.get(_path(deal))
    write = _put(client, deal, {"us": {"price": 1}, str(incumbent): INCUMBENT})
    # then
    assert (read.status_code, write.status_code) == (status, status)
    if status == 404:
        assert write.json() == {"detail": "No such opportunity, or it is not shared with you."}
        assert _state(deal) == before
    else:
        assert write.json()["stronger"] == [incumbent]
        assert Event.objects.filter(action="competition_scored").last().actor == getattr(
            world, user
        )


def test_an_unknown_deal_is_404(rep):
    assert rep.get(_path(424242)).status_code == 404
    assert _put(rep, 424242, {"us": {"price": 3}}).status_code == 404
    assert rep.get(_path(2**64)).status_code == 404


# --- cost ----------------------------------------------------------------------------------


def _cost(client, method: str, *args) -> int:
    with CaptureQueriesContext(connection) as seen:
        _ok(getattr(client, method)(*args))
    return len(seen.captured_queries)


def test_reads_and_writes_cost_the_same_whatever_the_number_of_rivals(rep, deal):
    # given: one rival, then six (a first call stamps the token's last use)
    rivals = [_ok(rep.post("competitors", {"name": f"Rival {i}"}), 201)["id"] for i in range(6)]
    _ok(rep.get(_path(deal)))
    one = {"us": US, str(rivals[0]): INCUMBENT}
    six = {"us": US, **{str(r): INCUMBENT for r in rivals}}
    _ok(_put(rep, deal, one))
    read_one = _cost(rep, "get", _path(deal))
    write_one = _cost(rep, "put", _path(deal), {"scores": {**one, "us": {"price": 1}}})
    _ok(_put(rep, deal, six))
    # when
    read_six = _cost(rep, "get", _path(deal))
    write_six = _cost(rep, "put", _path(deal), {"scores": {**six, "us": {"price": 1}}})
    # then: the token, the deal, the scores with their rivals
    assert read_one == read_six == 3
    assert write_one == write_six

"""/api/v1/accounts/{id}/competition, /competition-map, /swot, /position: an account's
competition map (竞争地图), SWOT and posture (SPEC §6), per role."""

from __future__ import annotations

import pytest

from kam.competition.competitors import competitor_create
from kam.competition.models import Competitor, MapEntry, Position, SwotItem
from kam.core.models import Event
from kam.opportunities.services import opportunity_create


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def account(rep) -> int:
    """rep_a's account, with a deal (see test_admin_sees_an_account_without_deals)."""
    found = _ok(rep.post("accounts", {"name": "知名服装品牌"}), 201)["id"]
    deal = {
        "account_id": found,
        "name": "服装辅料供货",
        "amount": 1,
        "expected_close": "2027-06-30",
    }
    _ok(rep.post("opportunities", deal), 201)
    return found


@pytest.fixture
def hengtai(world) -> int:
    return competitor_create(actor=world.rep_a, name="常州恒泰服装辅料").pk


CROWN_SWOT = {
    "strength": ["价格有竞争力", "交货快(常规款7天)"],
    "weakness": ["采购份额低(约8%)", "合作历史短"],
    "opportunity": ["客户面临成本压力", "客户对常州恒泰的付款条件多有抱怨"],
    "threat": ["常州恒泰与客户设计部的联合开发团队"],
}


def _crown_map(hengtai: int) -> dict:
    return {
        "entries": [
            {
                "competitor_id": hengtai,
                "share": 70,
                "relationship": 4,
                "satisfaction": 3,
                "incumbent": True,
                "since": 2009,
                "history": "供货十五年以上",
            },
            {"us": True, "share": "8", "relationship": 2, "satisfaction": 4, "since": 2025},
            {"competitor_name": "宁波华美", "share": 12.5},
        ]
    }


def _state(account: int) -> tuple:
    return (
        list(MapEntry.objects.filter(account_id=account).order_by("id").values()),
        list(SwotItem.objects.filter(account_id=account).order_by("id").values()),
        list(Position.objects.filter(account_id=account).values()),
        Competitor.objects.count(),
        Event.objects.count(),
    )


# --- reading ---------------------------------------------------------------------------


def test_an_empty_picture(rep, account):
    assert _ok(rep.get(f"accounts/{account}/competition")) == {
        "account_id": account,
        "map": [],
        "mapped_share": "0.00",
        "other_share": "100.00",
        "swot": {"strength": [], "weakness": [], "opportunity": [], "threat": []},
        "position": {
            "posture": "",
            "posture_name": "Not decided",
            "barriers": {"technical": False, "commercial": False, "process": False},
            "notes": "",
        },
        "suggested_posture": None,
    }


def test_the_crown_case(rep, account, hengtai):
    # given
    _ok(rep.put(f"accounts/{account}/competition-map", _crown_map(hengtai)))
    _ok(rep.put(f"accounts/{account}/swot", CROWN_SWOT))
    _ok(
        rep.put(
            f"accounts/{account}/position",
            {"posture": "attack", "barriers": {"commercial": True}, "notes": "以成本和交期切入"},
        )
    )
    # when
    body = _ok(rep.get(f"accounts/{account}/competition"))
    # then
    huamei = Competitor.objects.get(name="宁波华美").pk
    assert body["map"] == [
        {
            "party": hengtai,
            "competitor_id": hengtai,
            "name": "常州恒泰服装辅料",
            "share": "70.00",
            "relationship": 4,
            "relationship_name": "Close",
            "satisfaction": 3,
            "incumbent": True,
            "since": 2009,
            "history": "供货十五年以上",
        },
        {
            "party": huamei,
            "competitor_id": huamei,
            "name": "宁波华美",
            "share": "12.50",
            "relationship": None,
            "relationship_name": "",
            "satisfaction": None,
            "incumbent": False,
            "since": None,
            "history": "",
        },
        {
            "party": "us",
            "competitor_id": None,
            "name": "Us",
            "share": "8.00",
            "relationship": 2,
            "relationship_name": "Working",
            "satisfaction": 4,
            "incumbent": False,
            "since": 2025,
            "history": "",
        },
    ]
    assert (body["mapped_share"], body["other_share"]) == ("90.50", "9.50")
    assert {q: [i["text"] for i in items] for q, items in body["swot"].items()} == CROWN_SWOT
    assert all(isinstance(i["id"], int) for items in body["swot"].values() for i in items)
    assert body["position"] == {
        "posture": "attack",
        "posture_name": "Attack (challenger)",
        "barriers": {"technical": False, "commercial": True, "process": False},
        "notes": "以成本和交期切入",
    }
    assert body["suggested_posture"] == "attack"


@pytest.mark.parametrize(
    ("entries", "suggested"),
    [
        ([], None),
        ([{"us": True, "share": 60}, {"competitor_name": "A", "share": 30}], "defend"),
        ([{"us": True, "share": 10}, {"competitor_name": "A", "share": 30}], "attack"),
        ([{"us": True, "incumbent": True}, {"competitor_name": "A", "share": 30}], "defend"),
        ([{"us": True, "share": 60}, {"competitor_name": "A", "incumbent": True}], "attack"),
        ([{"us": True}, {"competitor_name": "A"}], None),
    ],
)
def test_suggested_posture_is_a_hint_only(rep, account, entries, suggested):
    # when
    body = _ok(rep.put(f"accounts/{account}/competition-map", {"entries": entries}))
    # then
    assert body["suggested_posture"] == suggested
    assert body["position"]["posture"] == ""
    assert not Position.objects.filter(account_id=account).exists()


def test_get_costs_the_same_for_2_and_10_suppliers(rep, account, django_assert_num_queries):
    # given
    _ok(rep.put(f"accounts/{account}/swot", CROWN_SWOT))
    _ok(rep.put(f"accounts/{account}/position", {"posture": "attack"}))
    two = {"entries": [{"us": True, "share": 10}, {"competitor_name": "R0", "share": 10}]}
    _ok(rep.put(f"accounts/{account}/competition-map", two))
    # the token, the account, the map, the SWOT, the position
    with django_assert_num_queries(5):
        assert len(_ok(rep.get(f"accounts/{account}/competition"))["map"]) == 2
    ten = {
        "entries": [{"us": True, "share": 10}]
        + [{"competitor_name": f"R{i}", "share": 10} for i in range(9)]
    }
    _ok(rep.put(f"accounts/{account}/competition-map", ten))
    # when / then
    with django_assert_num_queries(5):
        assert len(_ok(rep.get(f"accounts/{account}/competition"))["map"]) == 10


# --- writing ---------------------------------------------------------------------------


def test_put_map_replaces_it_and_records_an_event(rep, account, hengtai):
    _ok(rep.put(f"accounts/{account}/competition-map", _crown_map(hengtai)))
    body = _ok(
        rep.put(f"accounts/{account}/competition-map", {"entries": [{"us": True, "share": 100}]})
    )
    assert [(e["party"], e["share"]) for e in body["map"]] == [("us", "100.00")]
    assert body["other_share"] == "0.00"
    events = Event.objects.filter(entity="competition_map", account_id=account)
    assert [e.action for e in events] == ["set", "set"]


def test_shares_over_100_are_422_naming_entries_with_the_sum(rep, account, hengtai):
    # given
    _ok(rep.put(f"accounts/{account}/competition-map", _crown_map(hengtai)))
    before = _state(account)
    body = _crown_map(hengtai)
    body["entries"][1]["share"] = "20"
    body["entries"].append({"competitor_name": "新对手", "share": 1})
    # when
    response = rep.put(f"accounts/{account}/competition-map", body)
    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The shares add up to 103.50%; together they cannot be more than 100%. "
        "Lower one of them.",
        "field": "entries",
        "sum": "103.50",
    }
    assert _state(account) == before
    assert not Competitor.objects.filter(name="新对手").exists()


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([{"us": True}, {"us": True}], "entries.1.us"),
        ([{"competitor_name": "A"}, {"competitor_name": "a"}], "entries.1.competitor_name"),
        ([{"competitor_id": "HENGTAI"}, {"competitor_name": "常州恒泰服装辅料"}],
         "entries.1.competitor_id"),
        ([{}], "entries.0.competitor_name"),
        ([{"competitor_id": 424242}], "entries.0.competitor_id"),
        ([{"us": True, "share": "abc"}], "entries.0.share"),
        ([{"us": True, "share": 101}], "entries.0.share"),
        ([{"us": True, "share": 12.345}], "entries.0.share"),
        ([{"us": True, "relationship": 7}], "entries.0.relationship"),
        ([{"us": True, "relationship": "close"}], "entries.0.relationship"),
        ([{"us": True, "satisfaction": 0}], "entries.0.satisfaction"),
        ([{"us": True, "since": 1800}], "entries.0.since"),
        ([{"us": True, "history": "x" * 2001}], "entries.0.history"),
    ],
)  # fmt: skip
def test_bad_map_is_422_naming_the_field_and_writes_nothing(rep, account, hengtai, entries, field):
    entries = [
        {**e, "competitor_id": hengtai} if e.get("competitor_id") == "HENGTAI" else e
        for e in entries
    ]
    before = _state(account)
    response = rep.put(f"accounts/{account}/competition-map", {"entries": entries})
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert _state(account) == before


@pytest.mark.parametrize("body", [{}, {"entries": None}, {"entries": "us"}, []])
def test_map_body_must_hold_a_list_of_entries(rep, account, body):
    before = _state(account)
    response = rep.put(f"accounts/{account}/competition-map", body)
    assert response.status_code == 422
    assert _state(account) == before


def test_put_swot_replaces_it(rep, account):
    _ok(rep.put(f"accounts/{account}/swot", CROWN_SWOT))
    body = _ok(rep.put(f"accounts/{account}/swot", {"threat": ["新威胁"]}))
    assert {q: [i["text"] for i in items] for q, items in body["swot"].items()} == {
        "strength": [],
        "weakness": [],
        "opportunity": [],
        "threat": ["新威胁"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strength": [""]}, "strength.0"),
        ({"threat": ["x" * 501]}, "threat.0"),
        ({"strength": "价格"}, "strength"),
        ({"strengths": ["价格"]}, "strengths"),
    ],
)
def test_bad_swot_is_422_and_changes_nothing(rep, account, body, field):
    _ok(rep.put(f"accounts/{account}/swot", CROWN_SWOT))
    before = _state(account)
    response = rep.put(f"accounts/{account}/swot", body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state(account) == before


def test_swot_item_add_update_delete(rep, account):
    # when
    item = _ok(rep.post(f"accounts/{account}/swot", {"quadrant": "strength", "text": "价格"}), 201)
    patched = _ok(rep.patch(f"accounts/{account}/swot/{item['id']}", {"text": "价格有竞争力"}))
    moved = _ok(rep.patch(f"accounts/{account}/swot/{item['id']}", {"quadrant": "opportunity"}))
    # then
    assert item == {
        "id": item["id"],
        "account_id": account,
        "quadrant": "strength",
        "text": "价格",
        "position": 0,
    }
    assert (patched["text"], patched["quadrant"]) == ("价格有竞争力", "strength")
    assert (moved["text"], moved["quadrant"]) == ("价格有竞争力", "opportunity")
    assert rep.delete(f"accounts/{account}/swot/{item['id']}").status_code == 204
    assert not SwotItem.objects.exists()
    assert [e.action for e in Event.objects.filter(entity="swot_item", account_id=account)] == [
        "created",
        "updated",
        "updated",
        "deleted",
    ]


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", {"quadrant": "strengths", "text": "x"}, "quadrant"),
        ("post", {"quadrant": "strength", "text": " "}, "text"),
        ("post", {"quadrant": "strength"}, "text"),
        ("patch", {"text": None}, "text"),
        ("patch", {"quadrant": None}, "quadrant"),
        ("patch", {"quadrant": "nope"}, "quadrant"),
        ("patch", {"text": "x" * 501}, "text"),
    ],
)
def test_bad_swot_item_is_422_and_changes_nothing(rep, account, method, body, field):
    item = _ok(rep.post(f"accounts/{account}/swot", {"quadrant": "strength", "text": "价格"}), 201)
    before = _state(account)
    path = f"accounts/{account}/swot" + (f"/{item['id']}" if method == "patch" else "")
    response = getattr(rep, method)(path, body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state(account) == before


def test_an_item_belongs_to_its_account(rep, account):
    other = _ok(rep.post("accounts", {"name": "别家"}), 201)["id"]
    item = _ok(rep.post(f"accounts/{other}/swot", {"quadrant": "threat", "text": "x"}), 201)
    before = _state(other)
    assert rep.patch(f"accounts/{account}/swot/{item['id']}", {"text": "y"}).status_code == 404
    assert rep.delete(f"accounts/{account}/swot/{item['id']}").status_code == 404
    assert rep.delete(f"accounts/{account}/swot/99999999999999999999").status_code == 404
    assert _state(other) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"posture": "retreat"}, "posture"),
        ({"barriers": {"technical": "sometimes"}}, "barriers.technical"),
        ({"notes": "x" * 5001}, "notes"),
    ],
)
def test_bad_position_is_422_and_changes_nothing(rep, account, body, field):
    _ok(rep.put(f"accounts/{account}/position", {"posture": "defend"}))
    before = _state(account)
    response = rep.put(f"accounts/{account}/position", body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state(account) == before


def test_put_position_replaces_every_field(rep, account):
    _ok(
        rep.put(
            f"accounts/{account}/position",
            {"posture": "defend", "barriers": {"technical": True, "process": True}, "notes": "x"},
        )
    )
    body = _ok(rep.put(f"accounts/{account}/position", {"posture": None}))
    assert body["position"] == {
        "posture": "",
        "posture_name": "Not decided",
        "barriers": {"technical": False, "commercial": False, "process": False},
        "notes": "",
    }


# --- who may ---------------------------------------------------------------------------

ROLES = [
    ("rep_a", 200, 200),  # the owner
    ("manager_east", 200, 200),  # the owner's manager
    ("admin", 200, 200),
    ("rep_b", 404, 404),  # another rep of the team
    ("manager_west", 404, 404),  # another team's manager
    ("seller", 200, 403),  # rep_b selling on rep_a's account
]


def _client(world, api_as, account: int, user: str):
    if user == "seller":
        from kam.accounts.models import Account

        opportunity_create(
            actor=world.rep_b,
            account=Account.objects.get(pk=account),
            name="B sells here",
            amount="5",
            expected_close="2027-01-01",
        )
        return api_as(world.rep_b)
    return api_as(getattr(world, user))


@pytest.mark.parametrize(("user", "read", "write"), ROLES)
def test_who_may_read_and_change(world, api_as, rep, account, hengtai, user, read, write):
    # given
    _ok(rep.put(f"accounts/{account}/competition-map", _crown_map(hengtai)))
    _ok(rep.put(f"accounts/{account}/swot", CROWN_SWOT))
    item = SwotItem.objects.filter(account_id=account).first().pk
    client = _client(world, api_as, account, user)
    before = _state(account)
    # when
    got = client.get(f"accounts/{account}/competition")
    writes = [
        client.patch(f"accounts/{account}/swot/{item}", {"text": "y"}),
        client.delete(f"accounts/{account}/swot/{item}"),
        client.post(f"accounts/{account}/swot", {"quadrant": "threat", "text": "x"}),
        client.put(f"accounts/{account}/swot", {"strength": ["x"]}),
        client.put(f"accounts/{account}/competition-map", {"entries": [{"us": True}]}),
        client.put(f"accounts/{account}/position", {"posture": "defend"}),
    ]
    # then
    assert got.status_code == read
    if read == 200:
        assert [e["name"] for e in got.json()["map"]] == ["常州恒泰服装辅料", "宁波华美", "Us"]
    else:
        assert got.json() == {"detail": "No such account, or it is not shared with you."}
    codes = [r.status_code for r in writes]
    if write == 200:
        assert codes == [200, 204, 201, 200, 200, 200]
    else:
        assert codes == [write] * 6
        assert _state(account) == before


def test_anonymous_is_401(api_as, account):
    assert api_as(None).get(f"accounts/{account}/competition").status_code == 401


def test_admin_sees_an_account_without_deals(world, api_as, rep):
    bare = _ok(rep.post("accounts", {"name": "没有商机的客户"}), 201)["id"]
    assert api_as(world.admin).get(f"accounts/{bare}/competition").status_code == 200

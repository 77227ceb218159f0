"""/api/v1/opportunities/{id}/stakeholders: the buying centre of a deal (SPEC §4, §10)."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.core import clock
from kam.core.models import Event
from kam.stakeholders.models import Stakeholder


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def account(rep) -> int:
    return _ok(rep.post("accounts", {"name": "上海华鼎"}), 201)["id"]


@pytest.fixture
def deal(rep, account) -> int:
    close = (clock.today() + dt.timedelta(days=60)).isoformat()
    return _ok(rep.post("opportunities", {"account_id": account, "name": "原材料招标",
                                          "amount": 1_250_000, "expected_close": close}),
               201)["id"]


@pytest.fixture
def contact(rep, account) -> int:
    return _ok(rep.post("contacts", {"account_id": account, "name": "刘副总", "title": "副总裁",
                                     "department": "采购部", "layer": "decision"}), 201)["id"]


def _add(client, deal: int, contact: int, **fields):
    return client.post(f"opportunities/{deal}/stakeholders", {"contact_id": contact, **fields})


def _state(deal: int) -> tuple:
    rows = list(Stakeholder.objects.filter(opportunity_id=deal).order_by("id").values())
    return rows, Event.objects.filter(opportunity_id=deal).count()


def test_add_returns_the_stakeholder_with_the_contacts_facts(rep, deal, contact):
    # when
    body = _ok(_add(rep, deal, contact, roles=["purchaser", "decision_maker", "purchaser"],
                    stance="champion", is_coach=True, influence=5, relationship=4, disc="D",
                    notes="老朋友"), 201)
    # then
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "opportunity_id": deal, "contact_id": contact, "name": "刘副总", "title": "副总裁",
        "department": "采购部", "layer": "decision", "contact_status": "active", "version": 1,
        "roles": ["decision_maker", "purchaser"],  # canonical order, no repeats
        "stance": "champion", "is_coach": True, "influence": 5, "relationship": 4, "disc": "D",
        "notes": "老朋友",
    }
    assert _ok(rep.get(f"opportunities/{deal}/stakeholders")) == [body]
    created = [e for e in _ok(rep.get(f"opportunities/{deal}/history"))
               if e["entity"] == "stakeholder"]
    assert [(e["action"], e["actor"], e["after"]["roles"]) for e in created] == [
        ("created", "rep_a", ["decision_maker", "purchaser"])]


def test_add_with_only_the_contact_takes_the_defaults(rep, deal, contact):
    body = _ok(_add(rep, deal, contact), 201)
    assert (body["roles"], body["stance"], body["is_coach"], body["influence"],
            body["relationship"], body["disc"], body["notes"]) == (
        [], "unknown", False, None, None, "", "")


def test_nulls_on_add_mean_not_given(rep, deal, contact):
    body = _ok(_add(rep, deal, contact, roles=None, stance=None, is_coach=None, influence=None,
                    disc=None, notes=None), 201)
    assert (body["roles"], body["stance"], body["is_coach"]) == ([], "unknown", False)


def test_patch_changes_only_what_is_sent_and_records_it(rep, deal, contact):
    # given
    added = _ok(_add(rep, deal, contact, roles=["decision_maker"], stance="supporter",
                     influence=4), 201)
    # when
    body = _ok(rep.patch(f"opportunities/{deal}/stakeholders/{added['id']}",
                         {"stance": "neutral", "roles": ["influencer"], "influence": None}))
    # then
    assert (body["stance"], body["roles"], body["influence"], body["is_coach"]) == (
        "neutral", ["influencer"], None, False)
    updated = [e for e in _ok(rep.get(f"opportunities/{deal}/history"))
               if e["entity"] == "stakeholder" and e["action"] == "updated"]
    assert [(e["before"], e["after"]) for e in updated] == [(
        {"roles": ["decision_maker"], "stance": "supporter", "influence": 4},
        {"roles": ["influencer"], "stance": "neutral", "influence": None},
    )]


def test_patch_with_nothing_new_records_nothing(rep, deal, contact):
    added = _ok(_add(rep, deal, contact, stance="supporter"), 201)
    before = _state(deal)
    body = _ok(rep.patch(f"opportunities/{deal}/stakeholders/{added['id']}",
                         {"stance": "supporter", "unknown_field": 1}))
    assert body["stance"] == "supporter"
    assert _state(deal) == before


def test_remove_deletes_and_keeps_a_snapshot(rep, deal, contact):
    # given
    added = _ok(_add(rep, deal, contact, roles=["technical"], stance="blocker"), 201)
    # when
    response = rep.delete(f"opportunities/{deal}/stakeholders/{added['id']}")
    # then
    assert response.status_code == 204
    assert _ok(rep.get(f"opportunities/{deal}/stakeholders")) == []
    deleted = Event.objects.get(entity="stakeholder", entity_id=added["id"], action="deleted")
    assert (deleted.before["roles"], deleted.before["stance"], deleted.before["contact"]) == (
        ["technical"], "blocker", contact)


def test_the_gates_read_the_buying_centre(rep, manager_client, deal, contact, account):
    # given: the deal forced into entry, whose key node wants a coach and a decision maker
    _ok(manager_client.post(f"opportunities/{deal}/advance", {"force": True, "reason": "试点"}))
    # when
    coach = _ok(_add(rep, deal, contact, roles=["user"], stance="champion", is_coach=True), 201)
    # then
    gates = _ok(rep.get(f"opportunities/{deal}/gates"))
    assert [(c["key"], c["met"], c["evidence"]) for c in gates["criteria"]] == [
        ("coach", True, [coach["id"]]), ("decision_maker", False, []),
        ("candidate_confirmed", False, [])]
    # when the coach leaves the account
    _ok(rep.patch(f"contacts/{contact}", {"status": "left"}))
    # then the coach no longer counts
    assert _ok(rep.get(f"opportunities/{deal}/gates"))["criteria"][0]["met"] is False
    listed = _ok(rep.get(f"opportunities/{deal}/stakeholders"))
    assert [s["contact_status"] for s in listed] == ["left"]


@pytest.fixture
def manager_client(world, api_as):
    return api_as(world.manager_east)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"roles": "decision_maker"}, "roles"),
        ({"roles": ["boss"]}, "roles"),
        ({"roles": [1]}, "roles.0"),
        ({"stance": "friend"}, "stance"),
        ({"stance": 3}, "stance"),
        ({"is_coach": "maybe"}, "is_coach"),
        ({"influence": 0}, "influence"),
        ({"influence": 6}, "influence"),
        ({"influence": -1}, "influence"),
        ({"influence": 2.5}, "influence"),
        ({"influence": 10**30}, "influence"),
        ({"relationship": 5}, "relationship"),
        ({"relationship": "close"}, "relationship"),
        ({"disc": "X"}, "disc"),
        ({"disc": "DI"}, "disc"),
        ({"notes": "x" * 10_001}, "notes"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(rep, deal, contact, payload,
                                                              field):
    # given
    before = _state(deal)
    # when
    response = _add(rep, deal, contact, **payload)
    # then
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"roles": None}, "roles"),
        ({"stance": None}, "stance"),
        ({"is_coach": None}, "is_coach"),
        ({"stance": "friend"}, "stance"),
        ({"influence": 9}, "influence"),
    ],
)
def test_bad_patch_is_422_and_changes_nothing(rep, deal, contact, payload, field):
    added = _ok(_add(rep, deal, contact, roles=["user"], stance="supporter"), 201)
    before = _state(deal)
    response = rep.patch(f"opportunities/{deal}/stakeholders/{added['id']}", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert _state(deal) == before


@pytest.mark.parametrize("contact_id", [None, "abc", 0, 424242, 10**30, -(10**30)])
def test_unknown_contact_is_422(rep, deal, contact_id):
    before = _state(deal)
    response = rep.post(f"opportunities/{deal}/stakeholders", {"contact_id": contact_id})
    assert response.status_code == 422
    assert response.json()["field"] == "contact_id"
    assert _state(deal) == before


def test_contact_must_be_of_the_deals_account(rep, deal):
    # given: a contact rep_a can see, at another of their accounts
    other = _ok(rep.post("accounts", {"name": "别家公司"}), 201)["id"]
    stranger = _ok(rep.post("contacts", {"account_id": other, "name": "张三"}), 201)["id"]
    before = _state(deal)
    # when
    response = _add(rep, deal, stranger, roles=["user"])
    # then
    assert response.status_code == 422
    assert response.json() == {"detail": "张三 does not belong to this deal's account.",
                               "field": "contact_id"}
    assert _state(deal) == before


def test_contact_not_shared_with_the_user_is_422(world, api_as, rep, deal):
    # given: rep_c's contact
    other = api_as(world.rep_c)
    account = _ok(other.post("accounts", {"name": "西区客户"}), 201)["id"]
    hidden = _ok(other.post("contacts", {"account_id": account, "name": "李四"}), 201)["id"]
    # when
    response = _add(rep, deal, hidden)
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "contact_id"
    assert "李四" not in response.json()["detail"]


def test_a_contact_is_in_the_buying_centre_once(rep, deal, contact):
    _ok(_add(rep, deal, contact, roles=["user"]), 201)
    before = _state(deal)
    response = _add(rep, deal, contact, roles=["technical"])
    assert response.status_code == 422
    assert response.json()["field"] == "contact_id"
    assert _state(deal) == before


def test_a_stakeholder_belongs_to_its_deal(rep, account, deal, contact):
    # given: the same contact on another of rep_a's deals
    close = (clock.today() + dt.timedelta(days=90)).isoformat()
    other = _ok(rep.post("opportunities", {"account_id": account, "name": "二期",
                                           "amount": 1, "expected_close": close}), 201)["id"]
    foreign = _ok(_add(rep, other, contact, roles=["user"]), 201)
    # when / then
    path = f"opportunities/{deal}/stakeholders/{foreign['id']}"
    assert rep.patch(path, {"stance": "enemy"}).status_code == 404
    assert rep.delete(path).status_code == 404
    assert rep.delete(f"opportunities/{deal}/stakeholders/99999999999999999999").status_code == 404
    assert Stakeholder.objects.get(pk=foreign["id"]).stance == "unknown"


@pytest.mark.parametrize(("user", "status"), [
    ("rep_a", 201), ("manager_east", 201), ("admin", 201),
    ("rep_b", 404), ("manager_west", 404), ("rep_c", 404),
])
def test_who_may_map_the_buying_centre(world, api_as, deal, contact, user, status):
    # given
    client = api_as(getattr(world, user))
    before = _state(deal)
    # when
    response = _add(client, deal, contact, roles=["user"])
    # then
    assert response.status_code == status
    if status == 404:
        assert response.json() == {
            "detail": "No such opportunity, or it is not shared with you."}
        assert _state(deal) == before
        assert client.get(f"opportunities/{deal}/stakeholders").status_code == 404


@pytest.mark.parametrize("user", ["rep_b", "manager_west", "rep_c"])
def test_outsiders_cannot_change_or_remove(world, api_as, rep, deal, contact, user):
    added = _ok(_add(rep, deal, contact, roles=["user"]), 201)
    before = _state(deal)
    client = api_as(getattr(world, user))
    path = f"opportunities/{deal}/stakeholders/{added['id']}"
    assert client.patch(path, {"stance": "blocker"}).status_code == 404
    assert client.delete(path).status_code == 404
    assert _state(deal) == before


def test_errors_speak_chinese_when_asked(world, api_as, deal, contact):
    zh = api_as(world.rep_a, language="zh-hans")
    missing = zh.get("opportunities/424242/stakeholders")
    bad = _add(zh, deal, contact, roles="decision_maker")
    assert missing.json() == {"detail": "商机不存在,或未向您开放。"}
    assert bad.status_code == 422
    assert bad.json()["field"] == "roles"

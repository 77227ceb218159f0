"""/api/v1/opportunities/{id}/intel: intelligence items (情报) and their cross-check
(交叉验证, SPEC §4): an item is verified once two different people confirmed it."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.core import clock
from kam.core.models import Event
from kam.intel.models import IntelItem, IntelSource
from kam.methodology import registry


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
    return _ok(
        rep.post(
            "opportunities",
            {
                "account_id": account,
                "name": "原材料招标",
                "amount": 1_250_000,
                "expected_close": close,
            },
        ),
        201,
    )["id"]


def _person(client, account: int, name: str, **fields) -> int:
    return _ok(client.post("contacts", {"account_id": account, "name": name, **fields}), 201)["id"]


@pytest.fixture
def liu(rep, account) -> int:
    return _person(rep, account, "刘副总", title="副总裁")


@pytest.fixture
def wang(rep, account) -> int:
    return _person(rep, account, "王主任", title="设计部主任")


@pytest.fixture
def zhang(rep, account) -> int:
    return _person(rep, account, "张工")


def _add(client, deal: int, sources: list, text: str = "新总经理要亲自主持招标", **fields):
    return client.post(
        f"opportunities/{deal}/intel", {"text": text, "source_contact_ids": sources, **fields}
    )


def _confirm(client, deal: int, item: int, contact, **fields):
    return client.post(
        f"opportunities/{deal}/intel/{item}/sources", {"contact_id": contact, **fields}
    )


def _state(deal: int) -> tuple:
    """What a refused request must leave as it was."""
    items = list(IntelItem.objects.filter(opportunity_id=deal).order_by("id").values())
    sources = list(IntelSource.objects.filter(item__opportunity_id=deal).order_by("id").values())
    return items, sources, Event.objects.filter(opportunity_id=deal).count()


def _intel_events(deal: int) -> list[tuple]:
    return [
        (e.action, e.before, e.after)
        for e in Event.objects.filter(opportunity_id=deal, entity="intel").order_by("id")
    ]


# --- add, confirm, verify ----------------------------------------------------------------


def test_an_item_with_one_source_is_not_verified(rep, deal, liu):
    # when
    learned = clock.today() - dt.timedelta(days=3)
    body = _ok(_add(rep, deal, [liu], learned_on=learned.isoformat(), critical=True), 201)
    # then
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "opportunity_id": deal,
        "text": "新总经理要亲自主持招标",
        "learned_on": learned.isoformat(),
        "critical": True,
        "verified": False,
        "source_count": 1,
        "sources_to_verify": 2,
        "sources": [
            {
                "id": body["sources"][0]["id"],
                "contact_id": liu,
                "name": "刘副总",
                "title": "副总裁",
                "contact_status": "active",
                "confirmed_on": learned.isoformat(),
                "note": "",
            },
        ],
    }
    assert _ok(rep.get(f"opportunities/{deal}/intel")) == [body]
    item = IntelItem.objects.get(pk=body["id"])
    assert item.created_by.username == "rep_a"
    assert _intel_events(deal) == [
        (
            "created",
            {},
            {
                "text": "新总经理要亲自主持招标",
                "learned_on": learned.isoformat(),
                "critical": True,
                "sources": [liu],
                "verified": False,
            },
        ),
    ]


def test_defaults_today_and_not_critical(rep, deal, liu):
    body = _ok(_add(rep, deal, [liu]), 201)
    assert (body["learned_on"], body["critical"], body["sources"][0]["confirmed_on"]) == (
        clock.today().isoformat(),
        False,
        clock.today().isoformat(),
    )


def test_a_second_person_verifies_it(rep, deal, liu, wang):
    # given
    item = _ok(_add(rep, deal, [liu], critical=True), 201)["id"]
    # when
    day = clock.today() - dt.timedelta(days=1)
    body = _ok(
        _confirm(rep, deal, item, wang, confirmed_on=day.isoformat(), note="电话里说的"), 201
    )
    # then
    assert (body["verified"], body["source_count"]) == (True, 2)
    rows = [(s["contact_id"], s["name"], s["confirmed_on"], s["note"]) for s in body["sources"]]
    assert rows == [
        (wang, "王主任", day.isoformat(), "电话里说的"),  # confirmed_on order: yesterday first
        (liu, "刘副总", clock.today().isoformat(), ""),
    ]
    assert _intel_events(deal)[1:] == [
        (
            "verified",
            {"source_count": 1, "verified": False},
            {
                "contact": wang,
                "confirmed_on": day.isoformat(),
                "note": "电话里说的",
                "source_count": 2,
                "verified": True,
            },
        ),
    ]


def test_a_third_person_confirms_without_verifying_again(rep, deal, liu, wang, zhang):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    _ok(_confirm(rep, deal, item, wang), 201)
    body = _ok(_confirm(rep, deal, item, zhang), 201)
    assert (body["verified"], body["source_count"]) == (True, 3)
    assert [a for a, _b, _c in _intel_events(deal)] == ["created", "verified", "confirmed"]


def test_two_people_at_once_are_verified_from_the_start(rep, deal, liu, wang):
    body = _ok(_add(rep, deal, [liu, wang]), 201)
    assert (body["verified"], body["source_count"]) == (True, 2)
    assert _intel_events(deal)[0][2]["verified"] is True


def test_the_same_person_listed_twice_counts_once(rep, deal, liu):
    body = _ok(_add(rep, deal, [liu, liu]), 201)
    assert (body["verified"], body["source_count"], len(body["sources"])) == (False, 1, 1)


def test_the_same_person_cannot_confirm_twice(rep, deal, liu):
    # given
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    before = _state(deal)
    # when
    response = _confirm(rep, deal, item, liu)
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "contact_id"
    assert response.json()["detail"].startswith("刘副总 already confirmed this item")
    assert _state(deal) == before
    assert _ok(rep.get(f"opportunities/{deal}/intel"))[0]["verified"] is False


def test_an_external_person_at_the_account_may_be_a_source(rep, deal, account, liu):
    outsider = _person(rep, account, "廖总的老同学", is_external=True)
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    body = _ok(_confirm(rep, deal, item, outsider), 201)
    assert body["verified"] is True


def test_the_number_of_sources_to_verify_comes_from_the_model(rep, deal, liu, wang, monkeypatch):
    # given: an installation that wants three people
    methodology = registry.current()
    monkeypatch.setattr(
        methodology,
        "buying_centre",
        methodology.buying_centre.model_copy(update={"sources_to_verify": 3}),
    )
    # when
    body = _ok(_add(rep, deal, [liu, wang]), 201)
    # then
    assert (body["verified"], body["source_count"], body["sources_to_verify"]) == (False, 2, 3)


# --- change, take back, delete ----------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_records_it(rep, deal, liu):
    item = _ok(_add(rep, deal, [liu]), 201)
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    body = _ok(
        rep.patch(
            f"opportunities/{deal}/intel/{item['id']}", {"critical": True, "learned_on": yesterday}
        )
    )
    assert (body["text"], body["critical"], body["learned_on"]) == (
        "新总经理要亲自主持招标",
        True,
        yesterday,
    )
    assert _intel_events(deal)[1:] == [
        (
            "updated",
            {"critical": False, "learned_on": clock.today().isoformat()},
            {"critical": True, "learned_on": yesterday},
        ),
    ]


def test_patch_with_nothing_new_records_nothing(rep, deal, liu):
    item = _ok(_add(rep, deal, [liu]), 201)
    before = _state(deal)
    _ok(rep.patch(f"opportunities/{deal}/intel/{item['id']}", {"text": item["text"]}))
    assert _state(deal) == before


def test_removing_a_source_unverifies_and_is_recorded(rep, deal, liu, wang):
    # given
    item = _ok(_add(rep, deal, [liu, wang]), 201)
    wang_source = next(s for s in item["sources"] if s["contact_id"] == wang)
    # when
    body = _ok(rep.delete(f"opportunities/{deal}/intel/{item['id']}/sources/{wang_source['id']}"))
    # then
    assert (body["verified"], body["source_count"]) == (False, 1)
    assert [s["contact_id"] for s in body["sources"]] == [liu]
    action, before, after = _intel_events(deal)[-1]
    assert (action, before["contact"], before["verified"], after) == (
        "source_removed",
        wang,
        True,
        {"source_count": 1, "verified": False},
    )


def test_the_last_source_cannot_be_removed(rep, deal, liu):
    item = _ok(_add(rep, deal, [liu]), 201)
    before = _state(deal)
    response = rep.delete(
        f"opportunities/{deal}/intel/{item['id']}/sources/{item['sources'][0]['id']}"
    )
    assert response.status_code == 422
    assert response.json()["field"] == "source_id"
    assert _state(deal) == before


def test_delete_removes_the_item_and_its_sources_and_keeps_a_snapshot(rep, deal, liu, wang):
    item = _ok(_add(rep, deal, [liu, wang], critical=True), 201)
    response = rep.delete(f"opportunities/{deal}/intel/{item['id']}")
    assert response.status_code == 204
    assert _ok(rep.get(f"opportunities/{deal}/intel")) == []
    assert IntelSource.objects.count() == 0
    action, before, after = _intel_events(deal)[-1]
    assert (action, before["text"], before["critical"], before["sources"], after) == (
        "deleted",
        "新总经理要亲自主持招标",
        True,
        [liu, wang],
        {},
    )


def test_intel_shows_in_the_deal_history(rep, deal, liu, wang):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    _ok(_confirm(rep, deal, item, wang), 201)
    history = [
        (e["entity"], e["action"], e["actor"])
        for e in _ok(rep.get(f"opportunities/{deal}/history"))
        if e["entity"] == "intel"
    ]
    assert history == [("intel", "created", "rep_a"), ("intel", "verified", "rep_a")]


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": None}, "text"),
        ({"source_contact_ids": []}, "source_contact_ids"),
        ({"source_contact_ids": None}, "source_contact_ids"),
        ({"source_contact_ids": "1"}, "source_contact_ids"),
        ({"source_contact_ids": [424242]}, "source_contact_ids"),
        ({"source_contact_ids": [0]}, "source_contact_ids"),
        ({"source_contact_ids": [10**30]}, "source_contact_ids"),
        ({"learned_on": "tomorrow"}, "learned_on"),
        ({"learned_on": "FUTURE"}, "learned_on"),
        ({"critical": "maybe"}, "critical"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(rep, deal, liu, payload, field):
    # given
    if payload.get("learned_on") == "FUTURE":
        payload = {"learned_on": (clock.today() + dt.timedelta(days=1)).isoformat()}
    body = {"text": "设计部接手了招标", "source_contact_ids": [liu], **payload}
    before = _state(deal)
    # when
    response = rep.post(f"opportunities/{deal}/intel", body)
    # then
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert _state(deal) == before


def test_text_of_exactly_2000_characters_is_accepted(rep, deal, liu):
    assert len(_ok(_add(rep, deal, [liu], text="情" * 2000), 201)["text"]) == 2000


def test_future_date_message(rep, deal, liu):
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    response = _add(rep, deal, [liu], learned_on=tomorrow)
    assert response.json() == {
        "detail": "This date is in the future; enter the day it happened (today at the latest).",
        "field": "learned_on",
    }


def test_no_sources_message(rep, deal):
    response = _add(rep, deal, [])
    assert response.json() == {
        "detail": "Name at least one person who told us this.",
        "field": "source_contact_ids",
    }


def test_a_source_must_be_at_the_deals_account(rep, deal, liu):
    # given: a contact rep_a can see, at another of their accounts
    other = _ok(rep.post("accounts", {"name": "别家公司"}), 201)["id"]
    stranger = _person(rep, other, "张三")
    before = _state(deal)
    # when
    response = _add(rep, deal, [liu, stranger])
    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": "张三 does not belong to this deal's account; a source must be someone there.",
        "field": "source_contact_ids",
    }
    assert _state(deal) == before


def test_a_confirmation_must_come_from_the_deals_account(rep, deal, liu):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    other = _ok(rep.post("accounts", {"name": "别家公司"}), 201)["id"]
    stranger = _person(rep, other, "张三")
    before = _state(deal)
    response = _confirm(rep, deal, item, stranger)
    assert response.status_code == 422
    assert response.json()["field"] == "contact_id"
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"contact_id": None}, "contact_id"),
        ({"contact_id": 424242}, "contact_id"),
        ({"confirmed_on": "FUTURE"}, "confirmed_on"),
        ({"confirmed_on": "2020-13-01"}, "confirmed_on"),
        ({"note": "x" * 201}, "note"),
    ],
)
def test_bad_confirmation_is_422_and_writes_nothing(rep, deal, liu, wang, payload, field):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    if payload.get("confirmed_on") == "FUTURE":
        payload = {"confirmed_on": (clock.today() + dt.timedelta(days=1)).isoformat()}
    before = _state(deal)
    response = rep.post(
        f"opportunities/{deal}/intel/{item}/sources", {"contact_id": wang, **payload}
    )
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": None}, "text"),
        ({"text": ""}, "text"),
        ({"learned_on": None}, "learned_on"),
        ({"learned_on": "FUTURE"}, "learned_on"),
        ({"critical": None}, "critical"),
    ],
)
def test_bad_patch_is_422_and_changes_nothing(rep, deal, liu, payload, field):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    if payload.get("learned_on") == "FUTURE":
        payload = {"learned_on": (clock.today() + dt.timedelta(days=1)).isoformat()}
    before = _state(deal)
    response = rep.patch(f"opportunities/{deal}/intel/{item}", payload)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state(deal) == before


def test_a_contact_not_shared_with_the_user_is_422_and_not_named(world, api_as, rep, deal, liu):
    other = api_as(world.rep_c)
    account = _ok(other.post("accounts", {"name": "西区客户"}), 201)["id"]
    hidden = _person(other, account, "李四")
    response = _add(rep, deal, [hidden])
    assert response.status_code == 422
    assert response.json()["field"] == "source_contact_ids"
    assert "李四" not in response.json()["detail"]


def test_an_item_belongs_to_its_deal(rep, account, deal, liu, wang):
    # given: an item on another of rep_a's deals
    close = (clock.today() + dt.timedelta(days=90)).isoformat()
    other = _ok(
        rep.post(
            "opportunities",
            {"account_id": account, "name": "二期", "amount": 1, "expected_close": close},
        ),
        201,
    )["id"]
    foreign = _ok(_add(rep, other, [liu]), 201)
    before = _state(other)
    # when / then
    path = f"opportunities/{deal}/intel/{foreign['id']}"
    assert rep.patch(path, {"critical": True}).status_code == 404
    assert _confirm(rep, deal, foreign["id"], wang).status_code == 404
    assert rep.delete(f"{path}/sources/{foreign['sources'][0]['id']}").status_code == 404
    assert rep.delete(path).status_code == 404
    assert rep.delete(f"opportunities/{deal}/intel/99999999999999999999").status_code == 404
    assert _state(other) == before


def test_a_source_belongs_to_its_item(rep, deal, liu, wang):
    first = _ok(_add(rep, deal, [liu, wang]), 201)
    second = _ok(_add(rep, deal, [liu, wang], text="预算已批"), 201)
    before = _state(deal)
    response = rep.delete(
        f"opportunities/{deal}/intel/{first['id']}/sources/{second['sources'][0]['id']}"
    )
    assert response.status_code == 404
    assert _state(deal) == before


# --- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("rep_a", 201),
        ("manager_east", 201),
        ("admin", 201),
        ("rep_b", 404),
        ("manager_west", 404),
        ("rep_c", 404),
    ],
)
def test_who_may_record_intelligence(world, api_as, deal, liu, user, status):
    # given
    client = api_as(getattr(world, user))
    before = _state(deal)
    # when
    response = _add(client, deal, [liu])
    # then
    assert response.status_code == status
    if status == 404:
        assert response.json() == {"detail": "No such opportunity, or it is not shared with you."}
        assert _state(deal) == before
        assert client.get(f"opportunities/{deal}/intel").status_code == 404


@pytest.mark.parametrize("user", ["rep_b", "manager_west", "rep_c"])
def test_outsiders_cannot_confirm_change_or_delete(world, api_as, rep, deal, liu, wang, user):
    item = _ok(_add(rep, deal, [liu, wang]), 201)
    before = _state(deal)
    client = api_as(getattr(world, user))
    path = f"opportunities/{deal}/intel/{item['id']}"
    assert client.patch(path, {"critical": True}).status_code == 404
    assert _confirm(client, deal, item["id"], wang).status_code == 404
    assert client.delete(f"{path}/sources/{item['sources'][0]['id']}").status_code == 404
    assert client.delete(path).status_code == 404
    assert _state(deal) == before


def test_the_manager_confirms_the_reps_item(world, api_as, rep, deal, liu, wang):
    item = _ok(_add(rep, deal, [liu]), 201)["id"]
    manager = api_as(world.manager_east)
    assert _ok(_confirm(manager, deal, item, wang), 201)["verified"] is True
    assert Event.objects.filter(entity="intel", action="verified").get().actor == world.manager_east


def test_errors_speak_chinese_when_asked(world, api_as, deal, liu):
    zh = api_as(world.rep_a, language="zh-hans")
    assert zh.get("opportunities/424242/intel").json() == {"detail": "商机不存在,或未向您开放。"}
    bad = _add(zh, deal, [liu], text="")
    assert (bad.status_code, bad.json()["field"]) == (422, "text")


# --- cost --------------------------------------------------------------------------------


def test_list_costs_the_same_whatever_the_number_of_items_and_sources(
    rep, deal, account, liu, wang, django_assert_max_num_queries
):
    # given: one item with one source, then twelve, most with three sources
    _ok(_add(rep, deal, [liu]), 201)
    with django_assert_max_num_queries(4):  # the token, the deal, the items, their sources
        _ok(rep.get(f"opportunities/{deal}/intel"))
    people = [liu, wang, *(_person(rep, account, f"联系人{i}") for i in range(3))]
    for i in range(11):
        _ok(_add(rep, deal, people[i % 3 : i % 3 + 3], text=f"情报 {i}"), 201)
    # when / then
    with django_assert_max_num_queries(4):
        listed = _ok(rep.get(f"opportunities/{deal}/intel"))
    assert len(listed) == 12
    assert sum(item["source_count"] for item in listed) == 1 + 11 * 3

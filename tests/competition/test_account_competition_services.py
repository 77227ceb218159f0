"""The services of an account's competitive picture (SPEC §6): the competition map
(竞争地图), the SWOT and our position. Refusals name the field and write nothing;
every change is an event on the account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam.accounts.services import account_create
from kam.competition import accounts as svc
from kam.competition.competitors import competitor_create
from kam.competition.models import Competitor, MapEntry, Position, SwotItem
from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.models import Event


@pytest.fixture
def account(world):
    return account_create(actor=world.rep_a, name="知名服装品牌")


@pytest.fixture
def hengtai(world):
    return competitor_create(actor=world.rep_a, name="常州恒泰服装辅料")


def _map(account) -> list[tuple]:
    return [
        (e.competitor.name if e.competitor else "us", e.share, e.incumbent)
        for e in svc.account_competition(account).entries
    ]


def _state(account) -> tuple:
    return (
        list(MapEntry.objects.filter(account=account).order_by("id").values()),
        list(SwotItem.objects.filter(account=account).order_by("id").values()),
        list(Position.objects.filter(account=account).values()),
        list(Competitor.objects.order_by("id").values_list("name", flat=True)),
        Event.objects.count(),
    )


def _refused(call, field: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.field == field
    return str(caught.value.message)


# --- the map ---------------------------------------------------------------------------


def test_map_set_records_us_a_known_rival_and_a_new_one(world, account, hengtai):
    # when
    entries = svc.competition_map_set(
        actor=world.rep_a,
        account=account,
        entries=[
            {"us": True, "share": "8", "relationship": 2, "satisfaction": 4, "since": 2025},
            {
                "competitor_id": hengtai.pk,
                "share": 70,
                "relationship": 4,
                "satisfaction": 3,
                "incumbent": True,
                "since": 2009,
                "history": "供货十五年以上,与设计部联合开发",
            },
            {"competitor_name": "宁波华美", "share": "12.5"},
        ],
    )
    # then
    assert [(e.competitor_id is None, e.share) for e in entries] == [
        (False, Decimal("70.00")),
        (False, Decimal("12.50")),
        (True, Decimal("8.00")),
    ]
    assert _map(account) == [
        ("常州恒泰服装辅料", Decimal("70.00"), True),
        ("宁波华美", Decimal("12.50"), False),
        ("us", Decimal("8.00"), False),
    ]
    huamei = Competitor.objects.get(name="宁波华美")
    assert huamei.created_by == world.rep_a
    assert Event.objects.filter(entity="competitor", entity_id=huamei.pk).get().action == "created"


def test_map_set_replaces_the_whole_map(world, account, hengtai):
    # given
    svc.competition_map_set(
        actor=world.rep_a,
        account=account,
        entries=[{"us": True, "share": 8}, {"competitor_id": hengtai.pk, "share": 70}],
    )
    # when
    svc.competition_map_set(
        actor=world.rep_a, account=account, entries=[{"competitor_name": "宁波华美", "share": 20}]
    )
    # then
    assert _map(account) == [("宁波华美", Decimal("20.00"), False)]
    # and an empty list clears it
    svc.competition_map_set(actor=world.rep_a, account=account, entries=[])
    assert _map(account) == []


def test_a_known_name_is_the_recorded_rival_whatever_its_case(world, account):
    # given
    acme = competitor_create(actor=world.rep_a, name="Acme Buttons")
    # when
    svc.competition_map_set(
        actor=world.rep_a, account=account, entries=[{"competitor_name": "  acme BUTTONS "}]
    )
    # then
    assert MapEntry.objects.get(account=account).competitor == acme
    assert Competitor.objects.count() == 1


def test_map_event_has_the_map_before_and_after(world, account, hengtai):
    # given
    svc.competition_map_set(
        actor=world.rep_a, account=account, entries=[{"competitor_id": hengtai.pk, "share": 75}]
    )
    # when
    svc.competition_map_set(
        actor=world.manager_east,
        account=account,
        entries=[
            {"competitor_id": hengtai.pk, "share": 70, "incumbent": True},
            {"us": True, "share": "8.5", "relationship": 2},
        ],
    )
    # then
    first, second = Event.objects.filter(entity="competition_map").order_by("id")
    assert (first.action, first.entity_id, first.account_id, first.before) == (
        "set",
        account.pk,
        account.pk,
        {"entries": []},
    )
    rival = {
        "party": hengtai.pk,
        "name": "常州恒泰服装辅料",
        "relationship": None,
        "satisfaction": None,
        "since": None,
        "history": "",
    }
    assert (second.actor, second.account_id) == (world.manager_east, account.pk)
    assert second.before == {"entries": [{**rival, "share": "75.00", "incumbent": False}]}
    assert second.after == {
        "entries": [
            {**rival, "share": "70.00", "incumbent": True},
            {
                "party": "us",
                "name": "us",
                "share": "8.50",
                "relationship": 2,
                "satisfaction": None,
                "incumbent": False,
                "since": None,
                "history": "",
            },
        ]
    }


def test_setting_the_same_map_again_writes_no_event(world, account, hengtai):
    entries = [{"competitor_id": hengtai.pk, "share": 70}, {"us": True, "share": 8}]
    svc.competition_map_set(actor=world.rep_a, account=account, entries=entries)
    svc.competition_map_set(actor=world.rep_a, account=account, entries=list(reversed(entries)))
    assert Event.objects.filter(entity="competition_map").count() == 1


def test_shares_over_100_in_total_are_refused_with_the_sum_and_nothing_written(
    world, account, hengtai
):
    # given
    svc.competition_map_set(actor=world.rep_a, account=account, entries=[{"us": True, "share": 8}])
    before = _state(account)
    # when
    message = _refused(
        lambda: svc.competition_map_set(
            actor=world.rep_a,
            account=account,
            entries=[
                {"us": True, "share": "30.5"},
                {"competitor_id": hengtai.pk, "share": 70},
                {"competitor_name": "宁波华美", "share": "0.01"},
            ],
        ),
        "entries",
    )
    # then
    assert message == (
        "The shares add up to 100.51%; together they cannot be more than 100%. Lower one of them."
    )
    assert _state(account) == before


def test_shares_of_exactly_100_are_accepted(world, account, hengtai):
    svc.competition_map_set(
        actor=world.rep_a,
        account=account,
        entries=[{"us": True, "share": "29.99"}, {"competitor_id": hengtai.pk, "share": "70.01"}],
    )
    assert svc.account_competition(account).other_share == Decimal("0.00")


def test_a_rival_twice_is_refused(world, account, hengtai):
    before = _state(account)
    message = _refused(
        lambda: svc.competition_map_set(
            actor=world.rep_a,
            account=account,
            entries=[
                {"competitor_id": hengtai.pk, "share": 50},
                {"us": True},
                {"competitor_name": "常州恒泰服装辅料", "share": 10},
            ],
        ),
        "entries.2.competitor_id",
    )
    assert message == (
        "常州恒泰服装辅料 is on the map twice (rows 1 and 3); keep one row per supplier."
    )
    assert _state(account) == before


def test_a_new_name_twice_is_refused_and_not_recorded(world, account):
    before = _state(account)
    _refused(
        lambda: svc.competition_map_set(
            actor=world.rep_a,
            account=account,
            entries=[{"competitor_name": "Nova Zips"}, {"competitor_name": "nova zips"}],
        ),
        "entries.1.competitor_name",
    )
    assert _state(account) == before


def test_us_at_most_once(world, account):
    before = _state(account)
    message = _refused(
        lambda: svc.competition_map_set(
            actor=world.rep_a, account=account, entries=[{"us": True}, {"us": True, "share": 5}]
        ),
        "entries.1.us",
    )
    assert message == "We are on the map twice (rows 1 and 2); keep one row for us."
    assert _state(account) == before


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({}, "entries.0.competitor_name", None),
        ({"us": True, "competitor_name": "X"}, "entries.0.competitor_name", None),
        ({"competitor_name": "   "}, "entries.0.competitor_name", None),
        ({"competitor_name": "x" * 201}, "entries.0.competitor_name", None),
        ({"competitor_id": 424242}, "entries.0.competitor_id", "No such competitor."),
        ({"competitor_id": 10**30}, "entries.0.competitor_id", "No such competitor."),
        ({"us": "yes"}, "entries.0.us", None),
        ({"us": True, "share": -1}, "entries.0.share", "A share is from 0 to 100 (per cent)."),
        ({"us": True, "share": "100.01"}, "entries.0.share", None),
        ({"us": True, "share": "12.345"}, "entries.0.share", "Use at most two decimal places."),
        ({"us": True, "share": "lots"}, "entries.0.share", None),
        ({"us": True, "share": "NaN"}, "entries.0.share", None),
        ({"us": True, "relationship": 5}, "entries.0.relationship", None),
        ({"us": True, "relationship": -1}, "entries.0.relationship", None),
        ({"us": True, "satisfaction": 0}, "entries.0.satisfaction", None),
        ({"us": True, "satisfaction": 6}, "entries.0.satisfaction", None),
        ({"us": True, "since": 1899}, "entries.0.since", None),
        ({"us": True, "since": "NEXT"}, "entries.0.since", None),
        ({"us": True, "incumbent": "no"}, "entries.0.incumbent", None),
        ({"us": True, "history": "x" * 2001}, "entries.0.history", None),
        ({"us": True, "colour": "red"}, "entries.0.colour", None),
    ],
)
def test_a_bad_entry_names_its_field_and_writes_nothing(world, account, entry, field, message):
    # given
    if entry.get("since") == "NEXT":
        entry = {**entry, "since": clock.today().year + 1}
    before = _state(account)
    # when
    got = _refused(
        lambda: svc.competition_map_set(actor=world.rep_a, account=account, entries=[entry]),
        field,
    )
    # then
    if message is not None:
        assert got == message
    assert _state(account) == before


def test_this_year_is_a_valid_since(world, account):
    svc.competition_map_set(
        actor=world.rep_a, account=account, entries=[{"us": True, "since": clock.today().year}]
    )
    assert MapEntry.objects.get(account=account).since == clock.today().year


def test_a_map_is_a_list_of_at_most_30_suppliers(world, account):
    rows = [{"competitor_name": f"Rival {i}"} for i in range(31)]
    _refused(
        lambda: svc.competition_map_set(actor=world.rep_a, account=account, entries=rows), "entries"
    )
    _refused(
        lambda: svc.competition_map_set(actor=world.rep_a, account=account, entries="us"),
        "entries",
    )
    assert Competitor.objects.count() == 0


# --- suggested posture -----------------------------------------------------------------


def _suggest(world, account, entries) -> tuple | None:
    svc.competition_map_set(actor=world.rep_a, account=account, entries=entries)
    found = svc.account_competition(account).suggestion
    return None if found is None else (found.posture, found.reason, found.rival)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], None),
        ([{"us": True}, {"competitor_name": "A"}], None),
        ([{"us": True, "share": 8}, {"competitor_name": "A", "share": 70}],
         ("attack", "rival_largest", "A")),
        ([{"us": True, "share": 60}, {"competitor_name": "A", "share": 30}],
         ("defend", "we_largest", "")),
        ([{"us": True, "share": 40}, {"competitor_name": "A", "share": 40}],
         ("defend", "we_largest", "")),
        ([{"us": True, "share": 60}, {"competitor_name": "A", "share": 10, "incumbent": True}],
         ("attack", "rival_incumbent", "A")),
        ([{"us": True, "share": 5, "incumbent": True}, {"competitor_name": "A", "share": 90}],
         ("defend", "we_incumbent", "")),
        ([{"competitor_name": "A", "share": 30}], ("attack", "rival_largest", "A")),
        ([{"us": True, "share": 20}], ("defend", "we_largest", "")),
        ([{"us": True, "share": 0}, {"competitor_name": "A", "share": 0}], None),
    ],
)  # fmt: skip
def test_suggested_posture(world, account, entries, expected):
    assert _suggest(world, account, entries) == expected


# --- the SWOT --------------------------------------------------------------------------

CROWN = {
    "strength": ["价格有竞争力", "交货快(常规款7天)"],
    "weakness": ["采购份额低(约8%)", "合作历史短"],
    "opportunity": ["客户面临成本压力", "客户对在位供应商的付款条件不满"],
    "threat": ["在位供应商与客户设计部的联合开发团队"],
}


def _swot(account) -> dict:
    return {
        q: [i.text for i in items] for q, items in svc.account_competition(account).swot.items()
    }


def test_swot_set_replaces_the_whole_swot(world, account):
    # given
    svc.swot_item_add(actor=world.rep_a, account=account, quadrant="threat", text="旧的威胁")
    # when
    out = svc.swot_set(actor=world.rep_a, account=account, items=CROWN)
    # then
    assert _swot(account) == CROWN
    assert {q: [i.text for i in items] for q, items in out.items()} == CROWN
    svc.swot_set(actor=world.rep_a, account=account, items={"strength": ["价格"]})
    assert _swot(account) == {"strength": ["价格"], "weakness": [], "opportunity": [], "threat": []}


def test_swot_set_event_has_every_quadrant_before_and_after(world, account):
    svc.swot_item_add(actor=world.rep_a, account=account, quadrant="threat", text="旧的威胁")
    svc.swot_set(actor=world.rep_a, account=account, items=CROWN)
    event = Event.objects.get(entity="swot")
    assert (event.action, event.entity_id, event.account_id, event.actor) == (
        "set",
        account.pk,
        account.pk,
        world.rep_a,
    )
    assert event.before == {
        "strength": [],
        "weakness": [],
        "opportunity": [],
        "threat": ["旧的威胁"],
    }
    assert event.after == CROWN
    # the same SWOT again is no change
    svc.swot_set(actor=world.rep_a, account=account, items=CROWN)
    assert Event.objects.filter(entity="swot").count() == 1


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ({"strengths": ["x"]}, "strengths"),
        ({"strength": "价格"}, "strength"),
        ({"strength": ["价格", ""]}, "strength.1"),
        ({"threat": ["x" * 501]}, "threat.0"),
        ({"weakness": ["x"] * 31}, "weakness"),
        ({"opportunity": [None]}, "opportunity.0"),
    ],
)
def test_a_bad_swot_names_the_field_and_changes_nothing(world, account, items, field):
    svc.swot_set(actor=world.rep_a, account=account, items=CROWN)
    before = _state(account)
    _refused(lambda: svc.swot_set(actor=world.rep_a, account=account, items=items), field)
    assert _state(account) == before


def test_swot_items_are_added_at_the_end_updated_and_deleted(world, account):
    # given
    first = svc.swot_item_add(actor=world.rep_a, account=account, quadrant="strength", text="价格")
    second = svc.swot_item_add(
        actor=world.rep_a, account=account, quadrant="strength", text=" 交货快 "
    )
    # when
    svc.swot_item_update(actor=world.rep_a, item=first, text="价格有竞争力")
    svc.swot_item_update(actor=world.rep_a, item=second, quadrant="opportunity")
    first_id = first.pk
    svc.swot_item_delete(actor=world.rep_a, item=first)
    # then
    assert _swot(account) == {
        "strength": [],
        "weakness": [],
        "opportunity": ["交货快"],
        "threat": [],
    }
    events = [
        (e.entity_id, e.action, e.before, e.after, e.account_id)
        for e in Event.objects.filter(entity="swot_item").order_by("id")
    ]
    assert events == [
        (first_id, "created", {}, {"quadrant": "strength", "text": "价格"}, account.pk),
        (second.pk, "created", {}, {"quadrant": "strength", "text": "交货快"}, account.pk),
        (first_id, "updated", {"text": "价格"}, {"text": "价格有竞争力"}, account.pk),
        (second.pk, "updated", {"quadrant": "strength"}, {"quadrant": "opportunity"}, account.pk),
        (first_id, "deleted", {"quadrant": "strength", "text": "价格有竞争力"}, {}, account.pk),
    ]


def test_items_keep_their_order_within_a_quadrant(world, account):
    for text in ("一", "二", "三"):
        svc.swot_item_add(actor=world.rep_a, account=account, quadrant="weakness", text=text)
    assert _swot(account)["weakness"] == ["一", "二", "三"]


@pytest.mark.parametrize(
    ("quadrant", "text", "field"),
    [
        ("strengths", "x", "quadrant"),
        ("", "x", "quadrant"),
        ("threat", "", "text"),
        ("threat", "x" * 501, "text"),
    ],
)
def test_a_bad_item_names_the_field(world, account, quadrant, text, field):
    before = _state(account)
    _refused(
        lambda: svc.swot_item_add(actor=world.rep_a, account=account, quadrant=quadrant, text=text),
        field,
    )
    assert _state(account) == before


def test_a_full_quadrant_takes_no_more(world, account):
    svc.swot_set(actor=world.rep_a, account=account, items={"threat": [f"t{i}" for i in range(30)]})
    before = _state(account)
    _refused(
        lambda: svc.swot_item_add(actor=world.rep_a, account=account, quadrant="threat", text="x"),
        "quadrant",
    )
    assert _state(account) == before


# --- the position ----------------------------------------------------------------------


def test_position_set_creates_then_updates_with_events(world, account):
    # when
    svc.position_set(
        actor=world.rep_a,
        account=account,
        posture="attack",
        barrier_commercial=True,
        notes="以成本和交期切入",
    )
    position = svc.position_set(
        actor=world.rep_a,
        account=account,
        posture="attack",
        barrier_commercial=True,
        barrier_process=True,
        notes="以成本和交期切入",
    )
    # then
    assert (
        position.posture,
        position.barrier_technical,
        position.barrier_commercial,
        position.barrier_process,
    ) == ("attack", False, True, True)
    events = [
        (e.action, e.before, e.after, e.account_id)
        for e in Event.objects.filter(entity="competitive_position").order_by("id")
    ]
    assert events == [
        (
            "created",
            {},
            {
                "posture": "attack",
                "barrier_technical": False,
                "barrier_commercial": True,
                "barrier_process": False,
                "notes": "以成本和交期切入",
            },
            account.pk,
        ),
        ("updated", {"barrier_process": False}, {"barrier_process": True}, account.pk),
    ]
    assert Position.objects.filter(account=account).count() == 1


def test_position_set_with_nothing_changed_writes_no_event(world, account):
    svc.position_set(actor=world.rep_a, account=account, posture="defend")
    svc.position_set(actor=world.rep_a, account=account, posture="defend")
    assert Event.objects.filter(entity="competitive_position").count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"posture": "retreat"}, "posture"),
        ({"barrier_technical": "yes"}, "barriers.technical"),
        ({"barrier_process": 1}, "barriers.process"),
        ({"notes": "x" * 5001}, "notes"),
    ],
)
def test_a_bad_position_names_the_field(world, account, changes, field):
    before = _state(account)
    _refused(lambda: svc.position_set(actor=world.rep_a, account=account, **changes), field)
    assert _state(account) == before


# --- reading ---------------------------------------------------------------------------


def test_the_picture_costs_three_queries_whatever_its_size(
    world, account, django_assert_num_queries
):
    # given
    svc.swot_set(actor=world.rep_a, account=account, items=CROWN)
    svc.position_set(actor=world.rep_a, account=account, posture="attack")
    svc.competition_map_set(
        actor=world.rep_a,
        account=account,
        entries=[{"us": True, "share": 5}]
        + [{"competitor_name": f"R{i}", "share": 5} for i in range(12)],
    )
    # when / then
    with django_assert_num_queries(3):
        picture = svc.account_competition(account)
        names = [svc.entry_name(e) for e in picture.entries]
    assert len(names) == 13
    assert picture.other_share == Decimal("35.00")
    assert picture.posture == "attack"


def test_unknown_shares_sort_last(world, account):
    svc.competition_map_set(
        actor=world.rep_a,
        account=account,
        entries=[
            {"competitor_name": "A"},
            {"us": True, "share": 3},
            {"competitor_name": "B", "share": 9},
        ],
    )
    assert _map(account) == [
        ("B", Decimal("9.00"), False),
        ("us", Decimal("3.00"), False),
        ("A", None, False),
    ]


def test_clock_is_the_source_of_the_year(world, account):
    with clock.freeze(dt.datetime(2020, 6, 1, 12)):
        _refused(
            lambda: svc.competition_map_set(
                actor=world.rep_a, account=account, entries=[{"us": True, "since": 2021}]
            ),
            "entries.0.since",
        )

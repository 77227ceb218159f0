"""/api/v1/accounts/{id}/needs and /satisfaction: the needs radar and the
satisfaction records (需求分析, SPEC §6)."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.models import AccountNeed, SatisfactionRecord
from kam.accounts.needs import needs_set, satisfaction_record_add
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

RADAR = [
    {"dimension": "交期", "importance": 5, "our_fit": 5, "note": "现货"},
    {"dimension": "价格", "importance": 4, "our_fit": 4},
    {"dimension": "技术支持", "importance": 5, "our_fit": 2, "note": "缺应用工程师"},
    {"dimension": "付款条件", "importance": 4, "our_fit": 2},
    {"dimension": "品牌", "importance": 2, "our_fit": 1},
]

# Records belong to rep_a (team East): the same people read (200) and write (2xx).
ROLES = {
    "rep_a": 200,
    "rep_b": 404,
    "rep_c": 404,
    "manager_east": 200,
    "manager_west": 404,
    "admin": 200,
}


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def account(book):
    return book["rep_a"]["account"]


@pytest.fixture
def person(book):
    return book["rep_a"]["contact"]


def _needs_state(account) -> tuple:
    return (
        list(AccountNeed.objects.filter(account=account).order_by("id").values()),
        Event.objects.filter(account_id=account.pk).count(),
    )


def _satisfaction_state(account) -> tuple:
    return (
        list(SatisfactionRecord.objects.filter(account=account).order_by("id").values()),
        Event.objects.filter(account_id=account.pk).count(),
    )


def _seller_b(world, account) -> None:
    """rep_b sells on rep_a's account: sees it, may not change it."""
    opportunity_create(
        actor=world.rep_b,
        account=account,
        name="B on A",
        amount="5",
        expected_close=dt.date(2027, 1, 1),
    )


# --- needs: read and replace ------------------------------------------------------------


def test_put_replaces_the_radar_and_lists_the_shortfalls(world, api_as, account):
    # when
    body = _ok(api_as(world.rep_a).put(f"accounts/{account.pk}/needs", {"needs": RADAR}))
    # then
    assert [{k: v for k, v in n.items() if k != "id"} for n in body["needs"]] == [
        {
            "dimension": "交期",
            "importance": 5,
            "our_fit": 5,
            "note": "现货",
            "gap": 0,
            "shortfall": False,
        },
        {
            "dimension": "价格",
            "importance": 4,
            "our_fit": 4,
            "note": "",
            "gap": 0,
            "shortfall": False,
        },
        {
            "dimension": "技术支持",
            "importance": 5,
            "our_fit": 2,
            "note": "缺应用工程师",
            "gap": 3,
            "shortfall": True,
        },
        {
            "dimension": "付款条件",
            "importance": 4,
            "our_fit": 2,
            "note": "",
            "gap": 2,
            "shortfall": True,
        },
        {
            "dimension": "品牌",
            "importance": 2,
            "our_fit": 1,
            "note": "",
            "gap": 1,
            "shortfall": False,
        },
    ]
    assert body["shortfalls"] == ["技术支持", "付款条件"]
    assert _ok(api_as(world.rep_a).get(f"accounts/{account.pk}/needs")) == body
    assert list(
        AccountNeed.objects.filter(account=account).values_list("dimension", "position")
    ) == [("交期", 0), ("价格", 1), ("技术支持", 2), ("付款条件", 3), ("品牌", 4)]


def test_a_second_put_replaces_the_whole_list_in_one_event(world, api_as, account):
    # given
    client = api_as(world.rep_a)
    _ok(client.put(f"accounts/{account.pk}/needs", {"needs": RADAR[:2]}))
    # when
    new = [{"dimension": "价格", "importance": 5, "our_fit": 3, "note": "降本压力"}]
    body = _ok(client.put(f"accounts/{account.pk}/needs", {"needs": new}))
    # then
    assert [(n["dimension"], n["importance"], n["our_fit"]) for n in body["needs"]] == [
        ("价格", 5, 3)
    ]
    events = list(Event.objects.filter(account_id=account.pk, action="needs_set").order_by("id"))
    assert len(events) == 2
    assert (events[1].entity, events[1].entity_id, events[1].actor_id) == (
        "account",
        account.pk,
        world.rep_a.pk,
    )
    assert events[1].before == {
        "needs": [
            {"dimension": "交期", "importance": 5, "our_fit": 5, "note": "现货"},
            {"dimension": "价格", "importance": 4, "our_fit": 4, "note": ""},
        ]
    }
    assert events[1].after == {
        "needs": [{"dimension": "价格", "importance": 5, "our_fit": 3, "note": "降本压力"}]
    }


def test_the_same_list_again_writes_nothing(world, api_as, account):
    # given
    client = api_as(world.rep_a)
    _ok(client.put(f"accounts/{account.pk}/needs", {"needs": RADAR}))
    before = _needs_state(account)
    # when
    body = _ok(client.put(f"accounts/{account.pk}/needs", {"needs": RADAR}))
    # then
    assert len(body["needs"]) == 5
    assert _needs_state(account) == before


def test_an_empty_list_clears_the_radar(world, api_as, account):
    # given
    client = api_as(world.rep_a)
    _ok(client.put(f"accounts/{account.pk}/needs", {"needs": RADAR}))
    # when
    body = _ok(client.put(f"accounts/{account.pk}/needs", {"needs": []}))
    # then
    assert body == {"needs": [], "shortfalls": []}
    assert AccountNeed.objects.filter(account=account).count() == 0
    assert Event.objects.filter(account_id=account.pk, action="needs_set").last().after == {
        "needs": []
    }


@pytest.mark.parametrize(
    ("needs", "field", "detail"),
    [
        (
            [RADAR[0], {"dimension": " 交期 ", "importance": 3, "our_fit": 3}],
            "needs.1.dimension",
            "“交期” is already in the list (row 1); give each dimension once.",
        ),
        (
            [
                {"dimension": "Delivery", "importance": 3, "our_fit": 3},
                {"dimension": "DELIVERY", "importance": 3, "our_fit": 3},
            ],
            "needs.1.dimension",
            "“DELIVERY” is already in the list (row 1); give each dimension once.",
        ),
        (
            [{"dimension": "  ", "importance": 3, "our_fit": 3}],
            "needs.0.dimension",
            "This field is required.",
        ),
        (
            [{"dimension": "x" * 101, "importance": 3, "our_fit": 3}],
            "needs.0.dimension",
            "Use at most 100 characters (this has 101).",
        ),
        (
            [RADAR[0], {"dimension": "价格", "importance": 6, "our_fit": 3}],
            "needs.1.importance",
            "Enter a number from 1 to 5.",
        ),
        (
            [{"dimension": "价格", "importance": 3, "our_fit": 0}],
            "needs.0.our_fit",
            "Enter a number from 1 to 5.",
        ),
        (
            [{"dimension": "价格", "importance": 3, "our_fit": 3, "note": "n" * 501}],
            "needs.0.note",
            "Use at most 500 characters (this has 501).",
        ),
        (
            [{"dimension": f"d{i}", "importance": 3, "our_fit": 3} for i in range(21)],
            "needs",
            "Keep to at most 20 dimensions (this has 21).",
        ),
    ],
)
def test_bad_needs_are_refused_naming_the_field(world, api_as, account, needs, field, detail):
    # given
    needs_set(actor=world.rep_a, account=account, needs=RADAR[:3])
    before = _needs_state(account)
    # when
    response = api_as(world.rep_a).put(f"accounts/{account.pk}/needs", {"needs": needs})
    # then
    assert response.status_code == 422
    assert response.json() == {"detail": detail, "field": field}
    assert _needs_state(account) == before


def test_a_missing_score_is_named_by_the_schema(world, api_as, account):
    # when
    response = api_as(world.rep_a).put(
        f"accounts/{account.pk}/needs", {"needs": [{"dimension": "价格", "importance": 3}]}
    )
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "needs.0.our_fit"
    assert AccountNeed.objects.count() == 0


def test_twenty_dimensions_are_accepted(world, api_as, account):
    needs = [{"dimension": f"d{i}", "importance": 3, "our_fit": 3} for i in range(20)]
    body = _ok(api_as(world.rep_a).put(f"accounts/{account.pk}/needs", {"needs": needs}))
    assert len(body["needs"]) == 20


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_reading_the_needs_follows_the_accounts_visibility(
    world, api_as, account, viewer, expected
):
    # given
    needs_set(actor=world.rep_a, account=account, needs=RADAR)
    # when
    response = api_as(getattr(world, viewer)).get(f"accounts/{account.pk}/needs")
    # then
    assert response.status_code == expected
    if expected == 200:
        assert [n["dimension"] for n in response.json()["needs"]] == [n["dimension"] for n in RADAR]


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_replacing_the_needs_follows_edit_rights(world, api_as, account, viewer, expected):
    # given
    needs_set(actor=world.rep_a, account=account, needs=RADAR)
    before = _needs_state(account)
    # when
    response = api_as(getattr(world, viewer)).put(
        f"accounts/{account.pk}/needs", {"needs": RADAR[:1]}
    )
    # then
    assert response.status_code == expected
    if expected == 200:
        assert AccountNeed.objects.filter(account=account).count() == 1
        event = Event.objects.filter(account_id=account.pk, action="needs_set").last()
        assert event.actor_id == getattr(world, viewer).pk
    else:
        assert _needs_state(account) == before


def test_a_rep_who_sells_on_the_account_reads_but_cannot_replace_the_needs(world, api_as, account):
    # given
    needs_set(actor=world.rep_a, account=account, needs=RADAR)
    _seller_b(world, account)
    before = _needs_state(account)
    client = api_as(world.rep_b)
    # when
    read = client.get(f"accounts/{account.pk}/needs")
    write = client.put(f"accounts/{account.pk}/needs", {"needs": []})
    # then
    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["detail"] == (
        "You can see this account but not change it: ask its account manager for "
        "edit rights on its team."
    )
    assert _needs_state(account) == before


@pytest.mark.parametrize("size", [1, 12])
def test_reading_the_needs_costs_the_same_queries_however_many(
    world, api_as, account, size, django_assert_num_queries
):
    # given
    needs_set(
        actor=world.rep_a,
        account=account,
        needs=[{"dimension": f"d{i}", "importance": 3, "our_fit": 2} for i in range(size)],
    )
    client = api_as(world.rep_a)
    _ok(client.get(f"accounts/{account.pk}"))  # the token's first use is written down once
    # when / then: the token, the account, the needs
    with django_assert_num_queries(3):
        body = _ok(client.get(f"accounts/{account.pk}/needs"))
    assert len(body["needs"]) == size


# --- satisfaction -----------------------------------------------------------------------


def test_a_record_with_its_contact_and_recorder(world, api_as, account, person):
    # given
    day = clock.today() - dt.timedelta(days=10)
    # when
    body = _ok(
        api_as(world.rep_a).post(
            f"accounts/{account.pk}/satisfaction",
            {"date": day.isoformat(), "score": 2, "contact_id": person.pk, "note": "抱怨付款条件"},
        ),
        201,
    )
    # then
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "account_id": account.pk,
        "date": day.isoformat(),
        "score": 2,
        "contact_id": person.pk,
        "contact_name": "Buyer of rep_a",
        "note": "抱怨付款条件",
        "recorded_by_id": world.rep_a.pk,
        "recorded_by_name": str(world.rep_a),
    }
    event = Event.objects.get(account_id=account.pk, entity="satisfaction")
    assert (event.action, event.entity_id, event.before, event.after) == (
        "created",
        body["id"],
        {},
        {"date": day.isoformat(), "score": 2, "contact": person.pk, "note": "抱怨付款条件"},
    )


def test_a_record_without_date_or_contact_is_today_and_anonymous(world, api_as, account):
    body = _ok(api_as(world.rep_a).post(f"accounts/{account.pk}/satisfaction", {"score": 4}), 201)
    assert (body["date"], body["contact_id"], body["contact_name"], body["note"]) == (
        clock.today().isoformat(),
        None,
        "",
        "",
    )


def test_records_are_listed_oldest_first(world, api_as, account):
    # given
    today = clock.today()
    for days, score in ((3, 4), (30, 2), (10, 3)):
        satisfaction_record_add(
            actor=world.rep_a, account=account, score=score, date=today - dt.timedelta(days=days)
        )
    # when
    body = _ok(api_as(world.manager_east).get(f"accounts/{account.pk}/satisfaction"))
    # then
    assert [(r["date"], r["score"]) for r in body] == [
        ((today - dt.timedelta(days=30)).isoformat(), 2),
        ((today - dt.timedelta(days=10)).isoformat(), 3),
        ((today - dt.timedelta(days=3)).isoformat(), 4),
    ]


@pytest.mark.parametrize(
    ("payload", "field", "detail"),
    [
        ({"score": 0}, "score", "Enter a number from 1 to 5."),
        ({"score": 6}, "score", "Enter a number from 1 to 5."),
        (
            {"score": 3, "date": "2199-01-01"},
            "date",
            "This date is in the future; enter the day it happened (today at the latest).",
        ),
        ({"score": 3, "note": "n" * 501}, "note", "Use at most 500 characters (this has 501)."),
    ],
)
def test_bad_records_are_refused_naming_the_field(world, api_as, account, payload, field, detail):
    # given
    before = _satisfaction_state(account)
    # when
    response = api_as(world.rep_a).post(f"accounts/{account.pk}/satisfaction", payload)
    # then
    assert response.status_code == 422
    assert response.json() == {"detail": detail, "field": field}
    assert _satisfaction_state(account) == before


def test_a_missing_score_or_a_bad_date_is_named_by_the_schema(world, api_as, account):
    client = api_as(world.rep_a)
    missing = client.post(f"accounts/{account.pk}/satisfaction", {"note": "?"})
    bad_date = client.post(f"accounts/{account.pk}/satisfaction", {"score": 3, "date": "soon"})
    assert (missing.status_code, missing.json()["field"]) == (422, "score")
    assert (bad_date.status_code, bad_date.json()["field"]) == (422, "date")
    assert SatisfactionRecord.objects.count() == 0


def test_the_contact_must_work_at_the_account(world, api_as, account, book):
    # given: a contact of another of rep_a's accounts, and one rep_a cannot see
    from kam.accounts.services import account_create

    other = account_create(actor=world.rep_a, name="别家")
    elsewhere = contact_create(actor=world.rep_a, account=other, name="外人")
    hidden = book["rep_c"]["contact"]
    client = api_as(world.rep_a)
    before = _satisfaction_state(account)
    # when
    wrong = client.post(
        f"accounts/{account.pk}/satisfaction", {"score": 3, "contact_id": elsewhere.pk}
    )
    invisible = client.post(
        f"accounts/{account.pk}/satisfaction", {"score": 3, "contact_id": hidden.pk}
    )
    # then
    assert wrong.status_code == 422
    assert wrong.json() == {
        "detail": "外人 is not a contact of this account; choose someone who works there.",
        "field": "contact_id",
    }
    assert invisible.status_code == 422
    assert invisible.json() == {
        "detail": f"No such contact: {hidden.pk}, or it is not shared with you.",
        "field": "contact_id",
    }
    assert _satisfaction_state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_reading_satisfaction_follows_the_accounts_visibility(
    world, api_as, account, viewer, expected
):
    # given
    satisfaction_record_add(actor=world.rep_a, account=account, score=4)
    # when
    response = api_as(getattr(world, viewer)).get(f"accounts/{account.pk}/satisfaction")
    # then
    assert response.status_code == expected
    if expected == 200:
        assert [r["score"] for r in response.json()] == [4]


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_adding_a_record_follows_edit_rights(world, api_as, account, viewer, expected):
    # given
    before = _satisfaction_state(account)
    # when
    response = api_as(getattr(world, viewer)).post(
        f"accounts/{account.pk}/satisfaction", {"score": 5}
    )
    # then
    if expected == 200:
        assert response.status_code == 201
        assert response.json()["recorded_by_id"] == getattr(world, viewer).pk
    else:
        assert response.status_code == expected
        assert _satisfaction_state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_deleting_a_record_follows_edit_rights(world, api_as, account, viewer, expected):
    # given
    record = satisfaction_record_add(actor=world.rep_a, account=account, score=2, note="差")
    before = _satisfaction_state(account)
    # when
    response = api_as(getattr(world, viewer)).delete(
        f"accounts/{account.pk}/satisfaction/{record.pk}"
    )
    # then
    if expected == 200:
        assert response.status_code == 204
        assert not SatisfactionRecord.objects.filter(pk=record.pk).exists()
        event = Event.objects.filter(account_id=account.pk, entity="satisfaction").last()
        assert (event.action, event.entity_id, event.after) == ("deleted", record.pk, {})
        assert event.before == {
            "date": clock.today().isoformat(),
            "score": 2,
            "contact": None,
            "note": "差",
        }
    else:
        assert response.status_code == expected
        assert _satisfaction_state(account) == before


def test_a_rep_who_sells_on_the_account_cannot_add_or_delete_records(world, api_as, account):
    # given
    record = satisfaction_record_add(actor=world.rep_a, account=account, score=2)
    _seller_b(world, account)
    before = _satisfaction_state(account)
    client = api_as(world.rep_b)
    # when
    read = client.get(f"accounts/{account.pk}/satisfaction")
    add = client.post(f"accounts/{account.pk}/satisfaction", {"score": 5})
    delete = client.delete(f"accounts/{account.pk}/satisfaction/{record.pk}")
    # then
    assert read.status_code == 200
    assert (add.status_code, delete.status_code) == (403, 403)
    assert _satisfaction_state(account) == before


def test_a_record_of_another_account_is_not_found(world, api_as, account):
    # given
    from kam.accounts.services import account_create

    other = account_create(actor=world.rep_a, name="别家")
    record = satisfaction_record_add(actor=world.rep_a, account=other, score=2)
    # when
    response = api_as(world.rep_a).delete(f"accounts/{account.pk}/satisfaction/{record.pk}")
    missing = api_as(world.rep_a).delete(f"accounts/{account.pk}/satisfaction/0")
    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "No such satisfaction record at this account."}
    assert missing.status_code == 404
    assert SatisfactionRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("size", [1, 15])
def test_reading_satisfaction_costs_the_same_queries_however_many(
    world, api_as, account, person, size, django_assert_num_queries
):
    # given
    for i in range(size):
        satisfaction_record_add(
            actor=world.rep_a,
            account=account,
            score=1 + i % 5,
            date=clock.today() - dt.timedelta(days=i),
            contact=person if i % 2 else None,
        )
    client = api_as(world.rep_a)
    _ok(client.get(f"accounts/{account.pk}"))  # the token's first use is written down once
    # when / then: the token, the account, the records with contacts and recorders
    with django_assert_num_queries(3):
        body = _ok(client.get(f"accounts/{account.pk}/satisfaction"))
    assert len(body) == size

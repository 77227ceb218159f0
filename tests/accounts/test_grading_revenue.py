"""Revenue records (ERP history): the services revenue_record_add / revenue_record_delete
and GET/POST/DELETE /api/v1/accounts/{id}/revenue — validation, the duplicate import
key, the event on the account, who may write, and that they count in the pyramid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam.accounts.models import RevenueRecord
from kam.accounts.revenue import revenue_record_add, revenue_record_delete
from kam.accounts.services import account_create
from kam.core import clock
from kam.core.errors import Conflict, ValidationFailed
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

TODAY = dt.datetime(2026, 3, 15, 10)


@pytest.fixture(autouse=True)
def _today():
    with clock.freeze(TODAY):
        yield


@pytest.fixture
def acme(world):
    account = account_create(actor=world.rep_a, name="Acme")
    # an open deal, so that every role's selector sees the account the same way
    opportunity_create(
        actor=world.rep_a,
        account=account,
        name="Deal",
        amount=1,
        expected_close=dt.date(2026, 12, 31),
    )
    return account


def _rows():
    return list(RevenueRecord.objects.order_by("pk").values()), Event.objects.count()


# --- services ----------------------------------------------------------------------------


def test_add_writes_the_record_and_an_event_on_the_account(world, acme):
    # when
    record = revenue_record_add(
        actor=world.rep_a,
        account=acme,
        date="2025-12-31",
        amount="125000.50",
        profit="-500",
        source=" ERP ",
        note="年度结算",
        external_key="ERP-2025-001",
    )
    # then
    record.refresh_from_db()
    assert (
        record.account_id,
        record.date,
        record.amount,
        record.profit,
        record.source,
        record.note,
        record.external_key,
    ) == (
        acme.pk,
        dt.date(2025, 12, 31),
        Decimal("125000.50"),
        Decimal("-500.00"),
        "ERP",
        "年度结算",
        "ERP-2025-001",
    )
    event = Event.objects.get(entity="revenue_record", entity_id=record.pk)
    assert (event.action, event.account_id, event.actor_id) == ("created", acme.pk, world.rep_a.pk)
    assert event.after == {
        "date": "2025-12-31",
        "amount": "125000.50",
        "profit": "-500.00",
        "source": "ERP",
        "note": "年度结算",
        "external_key": "ERP-2025-001",
    }


def test_delete_keeps_what_it_said_in_the_event(world, acme):
    record = revenue_record_add(actor=world.rep_a, account=acme, date="2025-12-31", amount=10)
    # when
    revenue_record_delete(actor=world.manager_east, record=record)
    # then
    assert not RevenueRecord.objects.exists()
    event = Event.objects.get(entity="revenue_record", action="deleted")
    assert (event.account_id, event.before["amount"], event.actor_id) == (
        acme.pk,
        "10.00",
        world.manager_east.pk,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date": None}, "date"),
        ({"date": "2026-03-16"}, "date"),  # tomorrow
        ({"date": "31/12/2025"}, "date"),
        ({"amount": None}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"profit": "abc"}, "profit"),
        ({"profit": "101"}, "profit"),  # more than the revenue
        ({"profit": "1.001"}, "profit"),
        ({"profit": "NaN"}, "profit"),
        ({"source": "x" * 101}, "source"),
        ({"note": "x" * 501}, "note"),
        ({"external_key": "x" * 101}, "external_key"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(world, acme, fields, field):
    before = _rows()
    with pytest.raises(ValidationFailed) as info:
        revenue_record_add(
            actor=world.rep_a, account=acme, **{"date": "2025-12-31", "amount": "100", **fields}
        )
    assert info.value.field == field
    assert _rows() == before


def test_the_same_import_key_twice_is_a_conflict(world, acme):
    revenue_record_add(
        actor=world.rep_a, account=acme, date="2025-12-31", amount=1, external_key="ERP-1"
    )
    before = _rows()
    with pytest.raises(Conflict) as info:
        revenue_record_add(
            actor=world.rep_a, account=acme, date="2025-11-30", amount=2, external_key="ERP-1"
        )
    assert info.value.field == "external_key"
    assert _rows() == before
    # no key, no clash: blank keys are stored as none
    revenue_record_add(
        actor=world.rep_a, account=acme, date="2025-11-30", amount=2, external_key="  "
    )
    revenue_record_add(actor=world.rep_a, account=acme, date="2025-11-30", amount=2)
    assert RevenueRecord.objects.filter(external_key__isnull=True).count() == 2


# --- API -----------------------------------------------------------------------------------

BODY = {
    "date": "2025-12-31",
    "amount": "250000.00",
    "profit": "30000",
    "source": "ERP",
    "note": "Q4",
    "external_key": "K-1",
}

WRITERS = {
    "rep_a": 201,  # the owner
    "rep_b": 404,  # another rep of the team
    "rep_c": 404,  # a rep of another team
    "manager_east": 201,  # the owner's manager
    "manager_west": 404,  # another team's manager
    "admin": 201,
}


def test_post_and_list(world, acme, api_as):
    client = api_as(world.rep_a)
    # when
    response = client.post(f"accounts/{acme.pk}/revenue", BODY)
    # then
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k]
        for k in ("account_id", "date", "amount", "profit", "source", "note", "external_key")
    } == {
        "account_id": acme.pk,
        "date": "2025-12-31",
        "amount": "250000.00",
        "profit": "30000.00",
        "source": "ERP",
        "note": "Q4",
        "external_key": "K-1",
    }
    client.post(f"accounts/{acme.pk}/revenue", {"date": "2026-01-31", "amount": "5"})
    listed = client.get(f"accounts/{acme.pk}/revenue").json()
    assert ([(r["date"], r["amount"], r["profit"]) for r in listed["items"]], listed["count"]) == (
        [("2026-01-31", "5.00", None), ("2025-12-31", "250000.00", "30000.00")],
        2,
    )
    # and it counts in the pyramid
    grading = client.get("accounts/grading").json()
    assert (grading["revenue"], grading["profit"], grading["revenue_without_profit"]) == (
        "250005.00",
        "30000.00",
        "5.00",
    )


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({**BODY, "date": "2025-02-30"}, "date", 422),
        ({**BODY, "date": "2027-01-01"}, "date", 422),
        ({k: v for k, v in BODY.items() if k != "date"}, "date", 422),
        ({**BODY, "amount": "lots"}, "amount", 422),
        ({**BODY, "amount": "0"}, "amount", 422),
        ({**BODY, "profit": "999999"}, "profit", 422),
        ({**BODY, "source": "x" * 101}, "source", 422),
    ],
)
def test_post_bad_input(world, acme, api_as, body, field, status):
    client = api_as(world.rep_a)
    before = _rows()
    response = client.post(f"accounts/{acme.pk}/revenue", body)
    assert (response.status_code, response.json()["field"]) == (status, field)
    assert _rows() == before


def test_post_a_taken_key_is_409(world, acme, api_as):
    client = api_as(world.rep_a)
    assert client.post(f"accounts/{acme.pk}/revenue", BODY).status_code == 201
    before = _rows()
    response = client.post(f"accounts/{acme.pk}/revenue", {**BODY, "date": "2025-11-30"})
    assert (response.status_code, response.json()["field"]) == (409, "external_key")
    assert _rows() == before


@pytest.mark.parametrize(("writer", "expected"), WRITERS.items())
def test_who_may_add(world, acme, api_as, writer, expected):
    client = api_as(getattr(world, writer))
    before = _rows()
    response = client.post(f"accounts/{acme.pk}/revenue", BODY)
    assert response.status_code == expected
    if expected != 201:
        assert _rows() == before


@pytest.mark.parametrize(("writer", "expected"), WRITERS.items())
def test_who_may_delete(world, acme, api_as, writer, expected):
    record = revenue_record_add(actor=world.rep_a, account=acme, date="2025-12-31", amount=10)
    client = api_as(getattr(world, writer))
    before = _rows()
    response = client.delete(f"accounts/{acme.pk}/revenue/{record.pk}")
    assert response.status_code == (204 if expected == 201 else expected)
    if expected != 201:
        assert _rows() == before
    else:
        assert not RevenueRecord.objects.exists()


@pytest.mark.parametrize(("reader", "expected"), WRITERS.items())
def test_who_may_list(world, acme, api_as, reader, expected):
    revenue_record_add(actor=world.rep_a, account=acme, date="2025-12-31", amount=10)
    response = api_as(getattr(world, reader)).get(f"accounts/{acme.pk}/revenue")
    assert response.status_code == (200 if expected == 201 else expected)


def test_a_rep_selling_on_the_account_sees_but_cannot_add(world, acme, api_as):
    # given: rep_b owns a deal at rep_a's account: they see it, but it is not theirs
    opportunity_create(
        actor=world.rep_b,
        account=acme,
        name="B's deal",
        amount=1,
        expected_close=dt.date(2026, 12, 31),
    )
    client = api_as(world.rep_b)
    before = _rows()
    # then
    assert client.get(f"accounts/{acme.pk}/revenue").status_code == 200
    assert client.get(f"accounts/{acme.pk}/grade").status_code == 200
    assert client.post(f"accounts/{acme.pk}/revenue", BODY).status_code == 403
    assert _rows() == before


def test_a_record_of_another_account_is_404(world, acme, api_as):
    other = account_create(actor=world.rep_a, name="Other")
    record = revenue_record_add(actor=world.rep_a, account=other, date="2025-12-31", amount=10)
    response = api_as(world.rep_a).delete(f"accounts/{acme.pk}/revenue/{record.pk}")
    assert response.status_code == 404
    assert RevenueRecord.objects.filter(pk=record.pk).exists()

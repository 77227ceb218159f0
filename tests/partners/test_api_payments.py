"""/api/v1/opportunities/{id}/payments: money collected on a won deal (回款), the input
of direct commissions (SPEC §7) — only on won deals, never above the contract, never
before the win or in the future."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.partners import services
from kam.partners.models import Payment
from tests.partners.conftest import at, make_partner, pay, refer, won_deal


def _rows():
    return list(Payment.objects.order_by("pk").values()), Event.objects.count()


@pytest.fixture
def deal(world, frozen):
    """rep_a's deal of 40,000, won on 2026-02-10."""
    with clock.freeze(at(2025, 12, 1)):
        account = account_create(actor=world.rep_a, name="苏州博远精密机械")
    return won_deal(world.rep_a, account, "虎钳及夹具", "40000", at(2026, 2, 10))


def _pay(client, opp, amount="10000", **extra):
    return client.post(f"opportunities/{opp.pk}/payments", {"amount": amount, **extra})


def test_record_a_payment(world, api_as, deal):
    # when
    r = _pay(api_as(world.rep_a), deal, "10000.50", date="2026-03-01", reference="银行回单 0301")
    # then
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["opportunity_id"], body["date"], body["amount"], body["reference"]) == (
        deal.pk,
        "2026-03-01",
        "10000.50",
        "银行回单 0301",
    )
    assert body["recorded_by"] == "rep_a"
    event = Event.objects.get(entity="payment", entity_id=body["id"])
    assert (event.action, event.actor_id, event.opportunity_id, event.account_id) == (
        "created",
        world.rep_a.pk,
        deal.pk,
        deal.account_id,
    )
    assert event.after == {"date": "2026-03-01", "amount": "10000.50", "reference": "银行回单 0301"}


def test_the_date_defaults_to_today(world, api_as, deal):
    r = _pay(api_as(world.rep_a), deal)
    assert r.status_code == 201, r.content
    assert r.json()["date"] == "2026-08-10"


def test_the_list_shows_contract_collected_and_outstanding(world, api_as, deal):
    # given
    pay(world.rep_a, deal, "30000", dt.date(2026, 4, 1))
    pay(world.rep_a, deal, "2500.25", dt.date(2026, 3, 1))
    # when
    r = api_as(world.rep_a).get(f"opportunities/{deal.pk}/payments")
    # then: oldest first
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["contract_amount"], body["collected"], body["outstanding"]) == (
        "40000.00",
        "32500.25",
        "7499.75",
    )
    assert [(x["date"], x["amount"]) for x in body["items"]] == [
        ("2026-03-01", "2500.25"),
        ("2026-04-01", "30000.00"),
    ]


def test_a_deal_without_payments_lists_its_whole_amount_outstanding(world, api_as, deal):
    body = api_as(world.rep_a).get(f"opportunities/{deal.pk}/payments").json()
    assert (body["contract_amount"], body["collected"], body["outstanding"], body["items"]) == (
        "40000.00",
        "0.00",
        "40000.00",
        [],
    )


@pytest.mark.parametrize("outcome", ["open", "lost"])
def test_only_a_won_deal_takes_payments(world, api_as, deal, outcome):
    # given
    with clock.freeze(at(2026, 1, 1)):
        opp = opportunity_create(
            actor=world.rep_a,
            account=deal.account,
            name="not won",
            amount="5000",
            expected_close=dt.date(2026, 12, 31),
        )
        if outcome == "lost":
            process.opportunity_close(
                actor=world.rep_a, opportunity=opp, outcome="lost", reason="price"
            )
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = _pay(client, opp, "100", date="2026-08-01")
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"Payments are recorded on won deals; this deal is {outcome.capitalize()}."
    )
    assert _rows() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": 0.30000000000000004}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1e14"}, "amount"),
        ({}, "amount"),
        ({"amount": "10", "date": "2026-08-11"}, "date"),
        ({"amount": "10", "date": "2026-02-09"}, "date"),
        ({"amount": "10", "date": "2026-02-31"}, "date"),
        ({"amount": "10", "date": "soon"}, "date"),
        ({"amount": "10", "reference": "r" * 121}, "reference"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world, api_as, deal, payload, field):
    client = api_as(world.rep_a)
    before = _rows()
    r = client.post(f"opportunities/{deal.pk}/payments", payload)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert r.json()["detail"]
    assert _rows() == before


def test_the_messages_say_what_to_do(world, api_as, deal):
    client = api_as(world.rep_a)
    assert _pay(client, deal, "0").json()["detail"] == "Enter an amount above zero."
    assert _pay(client, deal, "1.005").json()["detail"] == "Use at most two decimal places."
    assert _pay(client, deal, "1", date="2026-02-09").json()["detail"] == (
        "The deal was won on 2026-02-10; money cannot be collected on it before that."
    )


def test_the_win_day_and_today_are_accepted(world, api_as, deal):
    client = api_as(world.rep_a)
    assert _pay(client, deal, "1", date="2026-02-10").status_code == 201
    assert _pay(client, deal, "1", date="2026-08-10").status_code == 201


def test_collections_never_exceed_the_contract(world, api_as, deal):
    # given: 30,000 of 40,000 collected
    pay(world.rep_a, deal, "30000", dt.date(2026, 3, 1))
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = _pay(client, deal, "10000.01")
    # then: the message names the amounts
    assert r.status_code == 422
    assert r.json()["field"] == "amount"
    assert r.json()["detail"] == (
        "Collections would reach 40,000.01, above the contract amount 40,000.00 (10,000.00 is "
        "still to collect). Check the amount, or correct the deal's amount."
    )
    assert _rows() == before
    # exactly the outstanding is fine, then nothing more
    assert _pay(client, deal, "10000").status_code == 201
    assert _pay(client, deal, "0.01").status_code == 422


def test_the_deal_amount_cannot_go_below_what_was_collected(world, api_as, deal):
    # given
    pay(world.rep_a, deal, "30000", dt.date(2026, 3, 1))
    client = api_as(world.rep_a)
    # when
    r = client.patch(f"opportunities/{deal.pk}", {"amount": "29999.99"})
    # then
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["detail"]) == (
        "amount",
        "30,000.00 was already collected on this deal; its amount cannot be lower.",
    )
    deal.refresh_from_db()
    assert deal.amount == 40000
    assert client.patch(f"opportunities/{deal.pk}", {"amount": "30000"}).status_code == 200


def test_the_currency_of_a_deal_with_payments_stays(world, api_as, deal):
    pay(world.rep_a, deal, "100", dt.date(2026, 3, 1))
    r = api_as(world.rep_a).patch(f"opportunities/{deal.pk}", {"currency": "USD"})
    assert r.status_code == 422
    assert r.json()["field"] == "currency"
    deal.refresh_from_db()
    assert deal.currency == "CNY"


# --- delete ------------------------------------------------------------------------------------


def test_delete_a_payment(world, api_as, deal):
    # given
    payment = pay(world.rep_a, deal, "5000", dt.date(2026, 3, 1))
    # when
    r = api_as(world.rep_a).delete(f"opportunities/{deal.pk}/payments/{payment.pk}")
    # then
    assert r.status_code == 204
    assert not Payment.objects.filter(pk=payment.pk).exists()
    event = Event.objects.get(entity="payment", entity_id=payment.pk, action="deleted")
    assert event.before == {"date": "2026-03-01", "amount": "5000.00", "reference": ""}
    assert (event.opportunity_id, event.actor_id) == (deal.pk, world.rep_a.pk)
    body = api_as(world.rep_a).get(f"opportunities/{deal.pk}/payments").json()
    assert (body["collected"], body["outstanding"]) == ("0.00", "40000.00")


def test_a_payment_of_another_deal_is_a_404(world, api_as, deal):
    other = won_deal(world.rep_a, deal.account, "other", "1000", at(2026, 2, 1))
    payment = pay(world.rep_a, other, "500", dt.date(2026, 3, 1))
    client = api_as(world.rep_a)
    before = _rows()
    r = client.delete(f"opportunities/{deal.pk}/payments/{payment.pk}")
    assert r.status_code == 404
    assert r.json()["detail"] == "No such payment on this opportunity."
    assert _rows() == before


def test_a_payment_paid_out_as_commission_stays(world, api_as, deal):
    # given: 张三 referred the deal directly; 2026H1 was paid out
    partner = make_partner(world.rep_a, "张三")
    refer(world.rep_a, partner, deal)
    paid = pay(world.rep_a, deal, "10000", dt.date(2026, 3, 1))
    later = pay(world.rep_a, deal, "5000", dt.date(2026, 7, 1))
    services.payout_record(actor=world.admin, partner=partner, period="2026H1")
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = client.delete(f"opportunities/{deal.pk}/payments/{paid.pk}")
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "Commission on this payment was paid out to 张三 for 2026H1; it cannot be removed."
    )
    assert _rows() == before
    # a payment of a period not paid out yet can still be corrected
    assert client.delete(f"opportunities/{deal.pk}/payments/{later.pk}").status_code == 204


def test_an_indirect_referral_does_not_pin_the_payments(world, api_as, deal):
    # given: the deal counts toward 张三's volume base, which was paid (nothing: no bonus)
    partner = make_partner(world.rep_a, "张三")
    direct = won_deal(world.rep_a, deal.account, "direct", "1000", at(2026, 2, 1))
    refer(world.rep_a, partner, direct)
    refer(world.rep_a, partner, deal, "indirect")
    pay(world.rep_a, direct, "1000", dt.date(2026, 3, 1))
    payment = pay(world.rep_a, deal, "5000", dt.date(2026, 3, 1))
    services.payout_record(actor=world.admin, partner=partner, period="2026H1")
    # when
    r = api_as(world.rep_a).delete(f"opportunities/{deal.pk}/payments/{payment.pk}")
    # then: the indirect base is the sale, not the money collected
    assert r.status_code == 204


# --- permissions ---------------------------------------------------------------------------------

VIEWERS = {
    "rep_a": (200, 201, 204),
    "rep_b": (404, 404, 404),
    "rep_c": (404, 404, 404),
    "manager_east": (200, 201, 204),
    "manager_west": (404, 404, 404),
    "admin": (200, 201, 204),
    None: (401, 401, 401),
}


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
def test_payments_follow_the_deal(world, api_as, deal, viewer, expected):
    # given
    payment = pay(world.rep_a, deal, "5000", dt.date(2026, 3, 1))
    client = api_as(None if viewer is None else getattr(world, viewer))
    before = _rows()
    # when
    read = client.get(f"opportunities/{deal.pk}/payments")
    write = _pay(client, deal, "100", date="2026-04-01")
    # then
    assert (read.status_code, write.status_code) == expected[:2]
    if write.status_code != 201:
        assert _rows() == before
    # when
    before = _rows()
    gone = client.delete(f"opportunities/{deal.pk}/payments/{payment.pk}")
    # then
    assert gone.status_code == expected[2]
    if gone.status_code != 204:
        assert _rows() == before
        assert Payment.objects.filter(pk=payment.pk).exists()

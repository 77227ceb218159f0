"""POST/GET /api/v1/partners/{id}/payouts: an administrator pays what is due for an
ended settlement period — exactly the payable amount less earlier payouts; held money
is never in it and nothing is paid twice (SPEC §7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_update
from kam.partners import services
from kam.partners.models import Payout
from tests.partners.conftest import at, make_partner, pay, refer, won_deal

PDF = b"%PDF-1.4\n% disclosure\n"


def _rows():
    return list(Payout.objects.order_by("pk").values()), Event.objects.count()


def _payout(client, partner, period="2026H1", **extra):
    return client.post(f"partners/{partner.pk}/payouts", {"period": period, **extra})


def _release(admin, referral):
    services.referral_release(
        actor=admin,
        referral=referral,
        note="客户书面同意",
        document=SimpleUploadedFile("ok.pdf", PDF, "application/pdf"),
    )


def _statement(client, partner, period="2026H1"):
    r = client.get(f"partners/{partner.pk}/statement?period={period}")
    assert r.status_code == 200, r.content
    return r.json()


def test_an_admin_pays_exactly_what_is_due(world, api_as, wangwu):
    # given: SPEC §7's example without a conflict, 2026H1 ended
    partner = wangwu["partner"]
    # when
    r = _payout(api_as(world.admin), partner, reference="转账 20260810-01")
    # then: 2,000 + 2,500 earned + 1,020 bonus; the 500 pending is not paid
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["partner_id"], body["period"], body["amount"]) == (partner.pk, "2026H1", "5520.00")
    assert (body["paid_on"], body["reference"], body["recorded_by"]) == (
        "2026-08-10",
        "转账 20260810-01",
        "admin",
    )
    payout = Payout.objects.get(pk=body["id"])
    assert payout.recorded_by_id == world.admin.pk
    snap = payout.statement
    assert {k: v for k, v in snap.items() if k != "lines"} == {
        "period": "2026H1",
        "programme": "standard",
        "earned": "4500.00",
        "pending": "500.00",
        "held": "0.00",
        "volume_base": "102000.00",
        "volume_bonus": "1020.00",
        "bonus_held": "0.00",
        "payable": "5520.00",
        "paid_before": "0.00",
    }
    refs = wangwu["referrals"]
    deals = wangwu["deals"]
    assert snap["lines"] == [
        {"opportunity_id": deals["d40"].pk, "referral_id": refs["d40"].pk, "kind": "direct",
         "collected": "40000.00", "commission": "2000.00", "pending": "0.00",
         "base": "40000.00", "held": False},
        {"opportunity_id": deals["d60"].pk, "referral_id": refs["d60"].pk, "kind": "direct",
         "collected": "50000.00", "commission": "2500.00", "pending": "500.00",
         "base": "50000.00", "held": False},
        {"opportunity_id": deals["d30"].pk, "referral_id": refs["d30"].pk, "kind": "indirect",
         "collected": "0.00", "commission": "0.00", "pending": "0.00",
         "base": "12000.00", "held": False},
    ]  # fmt: skip
    event = Event.objects.get(entity="payout", entity_id=payout.pk)
    assert (event.action, event.actor_id) == ("created", world.admin.pk)
    assert event.after == {
        "partner": partner.pk,
        "period": "2026H1",
        "amount": "5520.00",
        "paid_on": "2026-08-10",
        "reference": "转账 20260810-01",
    }


def test_the_statement_shows_what_was_paid(world, api_as, wangwu):
    # given
    partner = wangwu["partner"]
    client = api_as(world.admin)
    _payout(client, partner, paid_on="2026-08-01")
    # when
    body = _statement(client, partner)
    # then
    assert (body["payable"], body["paid"], body["due"]) == ("5520.00", "5520.00", "0.00")
    assert [(p["period"], p["amount"], p["paid_on"]) for p in body["payouts"]] == [
        ("2026H1", "5520.00", "2026-08-01")
    ]
    assert "overpaid" not in [f["code"] for f in body["flags"]]
    listed = client.get(f"partners/{partner.pk}/payouts").json()
    assert [(p["period"], p["amount"]) for p in listed] == [("2026H1", "5520.00")]


def test_nothing_is_paid_twice(world, api_as, wangwu):
    # given
    partner = wangwu["partner"]
    client = api_as(world.admin)
    assert _payout(client, partner).status_code == 201
    before = _rows()
    # when
    r = _payout(client, partner)
    # then
    assert r.status_code == 409
    assert r.json()["field"] == "period"
    assert r.json()["detail"] == "Nothing is due for 2026H1: 5,520.00 paid already, 0.00 held."
    assert _rows() == before


def test_a_stale_amount_is_refused(world, api_as, wangwu):
    # given: the screen showed 5,000
    partner = wangwu["partner"]
    client = api_as(world.admin)
    before = _rows()
    # when
    r = _payout(client, partner, amount="5000")
    # then
    assert r.status_code == 409
    assert r.json()["field"] == "amount"
    assert r.json()["detail"] == (
        "The amount due for 2026H1 is 5,520.00 now; reload the statement and pay that."
    )
    assert _rows() == before
    # the right amount, however written, is paid
    r = _payout(client, partner, amount="5520")
    assert (r.status_code, r.json()["amount"]) == (201, "5520.00")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "period"),
        ({"period": ""}, "period"),
        ({"period": "H1 2026"}, "period"),
        ({"period": "2026Q1"}, "period"),
        ({"period": "2026"}, "period"),
        ({"period": "2026-03"}, "period"),
        ({"period": "2026H1", "paid_on": "2026-08-11"}, "paid_on"),
        ({"period": "2026H1", "paid_on": "2026-06-30"}, "paid_on"),
        ({"period": "2026H1", "paid_on": "someday"}, "paid_on"),
        ({"period": "2026H1", "reference": "r" * 121}, "reference"),
        ({"period": "2026H1", "amount": "lots"}, "amount"),
        ({"period": "2026H1", "amount": "-5520"}, "amount"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world, api_as, wangwu, payload, field):
    client = api_as(world.admin)
    before = _rows()
    r = client.post(f"partners/{wangwu['partner'].pk}/payouts", payload)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert _rows() == before


def test_a_payout_is_dated_after_its_period(world, api_as, wangwu):
    client = api_as(world.admin)
    r = _payout(client, wangwu["partner"], paid_on="2026-06-30")
    assert r.json()["detail"] == (
        "A payout for 2026H1 is paid after the period ends; enter a day from 2026-07-01 on."
    )
    r = _payout(client, wangwu["partner"], paid_on="2026-07-01")
    assert (r.status_code, r.json()["paid_on"]) == (201, "2026-07-01")


def test_a_period_the_programme_does_not_settle_says_which_to_use(world, api_as, wangwu):
    r = _payout(api_as(world.admin), wangwu["partner"], "2026Q1")
    assert r.json()["detail"] == (
        "Standard referral programme settles by half-year; ask for 2026H1, 2026H2."
    )


def test_a_period_written_in_lower_case_is_understood(world, api_as, wangwu):
    r = _payout(api_as(world.admin), wangwu["partner"], "2026h1")
    assert (r.status_code, r.json()["period"]) == (201, "2026H1")


def test_a_period_that_has_not_ended_is_not_paid(world, api_as, wangwu):
    # given: money collected in 2026H2 already
    pay(world.rep_a, wangwu["deals"]["d60"], "10000", dt.date(2026, 7, 15))
    client = api_as(world.admin)
    before = _rows()
    # when
    r = _payout(client, wangwu["partner"], "2026H2")
    # then
    assert r.status_code == 409
    assert r.json()["field"] == "period"
    assert r.json()["detail"] == "2026H2 has not ended yet; pay it from 2027-01-01 on."
    assert _rows() == before


def test_the_last_day_of_the_period_is_still_open(world, api_as, wangwu):
    with clock.freeze(at(2026, 6, 30, 23)):
        assert _payout(api_as(world.admin), wangwu["partner"]).status_code == 409
    with clock.freeze(at(2026, 7, 1, 0)):
        assert _payout(api_as(world.admin), wangwu["partner"]).status_code == 201


def test_no_payout_without_a_written_agreement(world, api_as, wangwu):
    # given
    partner = wangwu["partner"]
    services.partner_update(actor=world.rep_a, partner=partner, agreement_date=None)
    client = api_as(world.admin)
    before = _rows()
    # when
    r = _payout(client, partner)
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "There is no written agreement on record for 王五; record the date it was signed before "
        "paying anything."
    )
    assert _rows() == before


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [("rep_a", 403), ("manager_east", 403), ("rep_b", 404), ("manager_west", 404), (None, 401)],
)
def test_only_an_admin_records_a_payout(world, api_as, wangwu, viewer, expected):
    client = api_as(None if viewer is None else getattr(world, viewer))
    before = _rows()
    r = _payout(client, wangwu["partner"])
    assert r.status_code == expected
    assert _rows() == before
    if expected == 403:
        assert r.json()["detail"] == "Only an administrator can record a payout."


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [("rep_a", 200), ("manager_east", 200), ("rep_b", 404), ("manager_west", 404)],
)
def test_who_sees_the_partner_sees_the_payouts(world, api_as, wangwu, viewer, expected):
    services.payout_record(actor=world.admin, partner=wangwu["partner"], period="2026H1")
    r = api_as(getattr(world, viewer)).get(f"partners/{wangwu['partner'].pk}/payouts")
    assert r.status_code == expected
    if expected == 200:
        assert [p["amount"] for p in r.json()] == ["5520.00"]


# --- held money and releases ------------------------------------------------------------------


def test_held_money_is_never_paid(world, api_as, lisi):
    # given: 李四's direct deals are at his employer; all his commission is held
    partner = lisi["partner"]
    client = api_as(world.admin)
    before = _rows()
    # when
    r = _payout(client, partner)
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == "Nothing is due for 2026H1: 0.00 paid already, 6,020.00 held."
    assert _rows() == before


def test_after_each_release_the_next_payout_pays_the_difference(world, api_as, lisi):
    partner = lisi["partner"]
    refs = lisi["referrals"]
    client = api_as(world.admin)
    # when the 40,000 deal is released: its 2,000; the clear base 52,000 earns no bonus
    _release(world.admin, refs["d40"])
    first = _payout(client, partner)
    # then
    assert (first.status_code, first.json()["amount"]) == (201, "2000.00")
    snap = Payout.objects.get(pk=first.json()["id"]).statement
    assert (snap["payable"], snap["held"], snap["bonus_held"]) == ("2000.00", "4020.00", "1020.00")
    assert [(x["commission"], x["held"]) for x in snap["lines"]] == [
        ("2000.00", False),
        ("2500.00", True),
        ("0.00", False),
    ]
    body = _statement(client, partner)
    assert (body["payable"], body["paid"], body["due"], body["held"]) == (
        "2000.00",
        "2000.00",
        "0.00",
        "4020.00",
    )
    # when the 60,000 deal is released: its 2,500 and the bonus, now reached by clear lines
    _release(world.admin, refs["d60"])
    second = _payout(client, partner, amount="3520.00")
    # then
    assert (second.status_code, second.json()["amount"]) == (201, "3520.00")
    assert Payout.objects.get(pk=second.json()["id"]).statement["paid_before"] == "2000.00"
    body = _statement(client, partner)
    assert (body["payable"], body["paid"], body["due"], body["held"]) == (
        "5520.00",
        "5520.00",
        "0.00",
        "0.00",
    )
    assert [(p["amount"]) for p in client.get(f"partners/{partner.pk}/payouts").json()] == [
        "3520.00",
        "2000.00",
    ]


def test_money_collected_after_a_payout_is_paid_in_its_own_period(world, api_as, wangwu):
    # given: 2026H1 paid; the last 10,000 of the 60,000 deal comes in on 2026-07-01
    partner = wangwu["partner"]
    client = api_as(world.admin)
    assert _payout(client, partner).json()["amount"] == "5520.00"
    pay(world.rep_a, wangwu["deals"]["d60"], "10000", dt.date(2026, 7, 1))
    # then: nothing more for 2026H1 (its pending is not earned there) ...
    assert _payout(client, partner).status_code == 409
    # ... and 500 for 2026H2 once it has ended
    with clock.freeze(at(2027, 1, 4)):
        r = _payout(client, partner, "2026H2")
    assert (r.status_code, r.json()["amount"]) == (201, "500.00")


# --- overpaid: when a paid period is worth less afterwards --------------------------------------


def _flags(body):
    return {f["code"]: f["message"] for f in body["flags"]}


def test_a_lower_rate_after_a_payout_shows_the_period_overpaid(
    world, api_as, wangwu, set_programme
):
    # given: 2026H1 paid at 5%
    partner = wangwu["partner"]
    client = api_as(world.admin)
    assert _payout(client, partner).json()["amount"] == "5520.00"
    # when the programme's direct rate is lowered to 3%
    set_programme(direct_rate="0.03")
    # then: 2,700 + 1,020 payable, 5,520 paid: nothing due, and the flag says so
    body = _statement(client, partner)
    assert (body["earned"], body["payable"], body["paid"], body["due"]) == (
        "2700.00",
        "3720.00",
        "5520.00",
        "0.00",
    )
    assert _flags(body)["overpaid"] == (
        "More was paid out for this period (5,520.00) than is payable now (3,720.00): its "
        "figures changed after the payout (a deal's amount, the partner's employer or the "
        "programme's rates). Settle the difference with the partner."
    )
    assert _payout(client, partner).status_code == 409


def test_an_employer_found_after_a_payout_shows_the_period_overpaid(world, api_as, wangwu):
    # given: 2026H1 paid; then it turns out 王五 works for the buyer of the direct deals
    partner = wangwu["partner"]
    client = api_as(world.admin)
    assert _payout(client, partner).json()["amount"] == "5520.00"
    # when
    r = client.patch(f"partners/{partner.pk}", {"employer_account_id": wangwu["buyer"].pk})
    # then: what was paid is now held; the statement shows it overpaid
    assert r.status_code == 200, r.content
    body = _statement(client, partner)
    assert (body["payable"], body["held"], body["paid"], body["due"]) == (
        "0.00",
        "6020.00",
        "5520.00",
        "0.00",
    )
    assert set(_flags(body)) == {"conflict_of_interest", "overpaid"}


def test_an_indirect_sale_lowered_after_a_payout_shows_the_period_overpaid(world, api_as, wangwu):
    # given: 2026H1 paid with the bonus (base 102,000)
    partner = wangwu["partner"]
    client = api_as(world.admin)
    assert _payout(client, partner).json()["amount"] == "5520.00"
    # when the indirect sale is corrected from 30,000 to 20,000: base 98,000, no bonus
    opportunity_update(actor=world.rep_a, opportunity=wangwu["deals"]["d30"], amount="20000")
    # then
    body = _statement(client, partner)
    assert (body["volume_base"], body["volume_bonus"], body["payable"], body["due"]) == (
        "98000.00",
        "0.00",
        "4500.00",
        "0.00",
    )
    assert "overpaid" in _flags(body)


def test_a_payment_deleted_after_a_payout_cannot_make_it_overpaid(world, api_as, wangwu):
    # given
    partner = wangwu["partner"]
    client = api_as(world.admin)
    _payout(client, partner)
    payment = wangwu["deals"]["d40"].payments.get()
    # when
    r = client.delete(f"opportunities/{wangwu['deals']['d40'].pk}/payments/{payment.pk}")
    # then
    assert r.status_code == 409
    assert "overpaid" not in _flags(_statement(client, partner))


# --- a yearly programme ---------------------------------------------------------------------


def test_a_yearly_programme_pays_by_year(world, api_as, frozen, set_programme):
    # given: a yearly programme; 5,000 collected in 2026 on a direct deal of 10,000
    set_programme(period="year")
    partner = make_partner(world.rep_a, "张三")
    deal = won_deal(world.rep_a, partner_customer(world), "deal", "10000", at(2026, 2, 1))
    refer(world.rep_a, partner, deal)
    pay(world.rep_a, deal, "5000", dt.date(2026, 3, 1))
    client = api_as(world.admin)
    # then: half-years are refused, 2026 has not ended
    assert _payout(client, partner, "2026H1").json()["field"] == "period"
    assert _payout(client, partner, "2026").status_code == 409
    with clock.freeze(at(2027, 1, 1)):
        r = _payout(client, partner, "2026")
    assert (r.status_code, r.json()["period"], Decimal(r.json()["amount"])) == (
        201,
        "2026",
        Decimal("250"),
    )


def partner_customer(world):
    from kam.accounts.services import account_create

    with clock.freeze(at(2025, 12, 1)):
        return account_create(actor=world.rep_a, name="客户")

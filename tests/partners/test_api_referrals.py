"""/api/v1/partners/{id}/referrals and /api/v1/opportunities/{id}/referrals: recording
who referred a deal (direct or indirect), the conflict-of-interest guard (SPEC §7),
and removing a referral recorded by mistake."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_create
from kam.partners import services
from kam.partners.models import Partner, Referral
from tests.partners.conftest import at, make_partner, refer, won_deal

PDF = b"%PDF-1.4\n% signed disclosure\n"


def _rows():
    return (
        list(Partner.objects.order_by("pk").values()),
        list(Referral.objects.order_by("pk").values()),
        Event.objects.count(),
    )


@pytest.fixture
def east(world, frozen):
    """rep_a's partner 张三 (no employer), rep_a's customers and won deals, and a
    partner of rep_b."""
    with clock.freeze(at(2025, 12, 1)):
        customer = account_create(actor=world.rep_a, name="苏州博远精密机械")
        other = account_create(actor=world.rep_a, name="无锡启航自动化")
    return {
        "partner": make_partner(world.rep_a, "张三"),
        "rival": make_partner(world.rep_b, "赵六"),
        "customer": customer,
        "other": other,
        "deal": won_deal(world.rep_a, customer, "虎钳及夹具", "40000", at(2026, 2, 10)),
        "deal2": won_deal(world.rep_a, customer, "数控转台配件", "60000", at(2026, 3, 15)),
        "elsewhere": won_deal(world.rep_a, other, "测量仪配件", "30000", at(2026, 4, 20)),
    }


def _add(client, partner, opp, kind="direct", **extra):
    return client.post(
        f"partners/{partner.pk}/referrals", {"opportunity_id": opp.pk, "kind": kind, **extra}
    )


# --- add -----------------------------------------------------------------------------------


def test_add_a_direct_referral(world, api_as, east):
    # when
    r = _add(api_as(world.rep_a), east["partner"], east["deal"])
    # then: referred today by default, no conflict (张三 has no employer)
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["partner_id"], body["partner_name"]) == (east["partner"].pk, "张三")
    assert (body["opportunity_id"], body["opportunity_name"], body["account_name"]) == (
        east["deal"].pk,
        "虎钳及夹具",
        "苏州博远精密机械",
    )
    assert (body["kind"], body["referred_on"], body["note"]) == ("direct", "2026-08-10", "")
    assert (body["conflict"], body["held"], body["released_at"], body["released_by"]) == (
        False,
        False,
        None,
        None,
    )
    assert (body["disclosure_note"], body["disclosure_file"]) == ("", None)
    event = Event.objects.get(entity="referral", entity_id=body["id"])
    assert (event.action, event.opportunity_id, event.account_id) == (
        "created",
        east["deal"].pk,
        east["customer"].pk,
    )
    assert event.after["kind"] == "direct"
    assert event.after["conflict"] is False


def test_add_an_indirect_referral_with_its_day_and_note(world, api_as, east):
    r = _add(
        api_as(world.rep_a),
        east["partner"],
        east["elsewhere"],
        "indirect",
        referred_on="2026-01-05",
        note="介绍了无锡启航",
    )
    assert r.status_code == 201, r.content
    assert (r.json()["kind"], r.json()["referred_on"], r.json()["note"]) == (
        "indirect",
        "2026-01-05",
        "介绍了无锡启航",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "friend"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"kind": None}, "kind"),
        ({"kind": "DIRECT"}, "kind"),
        ({}, "kind"),
        ({"kind": "direct", "referred_on": "2026-08-11"}, "referred_on"),
        ({"kind": "direct", "referred_on": "2026-02-30"}, "referred_on"),
        ({"kind": "direct", "note": "n" * 2001}, "note"),
        ({"kind": "direct", "opportunity_id": 0}, "opportunity_id"),
        ({"kind": "direct", "opportunity_id": 2**63}, "opportunity_id"),
        ({"kind": "direct", "opportunity_id": None}, "opportunity_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(world, api_as, east, payload, field):
    # given
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = client.post(
        f"partners/{east['partner'].pk}/referrals", {"opportunity_id": east["deal"].pk, **payload}
    )
    # then
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert _rows() == before


def test_a_deal_the_user_cannot_change_is_a_404_on_the_deal(world, api_as, east):
    # given: rep_c's deal (team West)
    with clock.freeze(at(2025, 12, 1)):
        west = account_create(actor=world.rep_c, name="West customer")
    hidden = won_deal(world.rep_c, west, "West deal", "1000", at(2026, 2, 1))
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = _add(client, east["partner"], hidden)
    missing = client.post(
        f"partners/{east['partner'].pk}/referrals", {"opportunity_id": 999_999, "kind": "direct"}
    )
    # then: the same answer as for a deal that does not exist
    assert r.status_code == 404
    assert r.json()["field"] == "opportunity_id"
    assert r.json() == missing.json()
    assert _rows() == before


def test_the_same_deal_twice_for_one_partner_is_a_409(world, api_as, east):
    client = api_as(world.rep_a)
    assert _add(client, east["partner"], east["elsewhere"], "indirect").status_code == 201
    before = _rows()
    # when: again, even with the other kind
    r = _add(client, east["partner"], east["elsewhere"], "direct")
    # then
    assert r.status_code == 409
    assert r.json()["field"] == "opportunity_id"
    assert r.json()["detail"] == "张三's referral of this deal is already recorded."
    assert _rows() == before


def test_a_deal_pays_one_direct_commission(world, api_as, east):
    # given: 张三 referred the deal directly; rep_a also manages 李四
    client = api_as(world.rep_a)
    other = make_partner(world.rep_a, "李四")
    assert _add(client, east["partner"], east["deal"]).status_code == 201
    before = _rows()
    # when another partner claims it directly
    r = _add(client, other, east["deal"])
    # then refused on the kind; indirect is accepted
    assert r.status_code == 409
    assert r.json()["field"] == "kind"
    assert "one direct commission" in r.json()["detail"]
    assert _rows() == before
    r = _add(client, other, east["deal"], "indirect")
    assert r.status_code == 201, r.content
    assert Referral.objects.filter(opportunity=east["deal"]).count() == 2


def test_a_deal_in_another_currency_is_refused(world, api_as, east):
    # given
    with clock.freeze(at(2026, 1, 1)):
        usd = opportunity_create(
            actor=world.rep_a,
            account=east["other"],
            name="Export order",
            amount="10000",
            expected_close=dt.date(2026, 9, 30),
            currency="USD",
        )
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = _add(client, east["partner"], usd)
    # then
    assert r.status_code == 422
    assert r.json()["field"] == "opportunity_id"
    assert r.json()["detail"] == "This deal is in USD; the partner's programme pays in CNY."
    assert _rows() == before


def test_a_programme_paying_in_another_currency_refuses_a_cny_deal(
    world, api_as, east, set_programme
):
    # given: a USD programme next to the standard one
    set_programme("usd", currency="USD", name={"en": "USD", "zh-Hans": "美元"})
    partner = make_partner(world.rep_a, "John", programme="usd")
    # when
    r = _add(api_as(world.rep_a), partner, east["deal"])
    # then
    assert r.status_code == 422
    assert r.json()["detail"] == "This deal is in CNY; the partner's programme pays in USD."


# --- the conflict of interest ------------------------------------------------------------


def test_a_deal_bought_by_the_partners_employer_is_a_conflict(world, api_as, east):
    # given: 李四 works for the customer
    lisi = make_partner(world.rep_a, "李四", employer=east["customer"])
    client = api_as(world.rep_a)
    # when
    at_employer = _add(client, lisi, east["deal"])
    elsewhere = _add(client, lisi, east["elsewhere"], "indirect")
    # then
    assert (at_employer.json()["conflict"], at_employer.json()["held"]) == (True, True)
    assert (elsewhere.json()["conflict"], elsewhere.json()["held"]) == (False, False)
    event = Event.objects.get(entity="referral", entity_id=at_employer.json()["id"])
    assert event.after["conflict"] is True


def test_setting_the_employer_later_flags_the_referrals_at_that_account(world, api_as, east):
    # given: 张三's referrals at the customer (two) and elsewhere (one), and money collected
    partner = east["partner"]
    r40 = refer(world.rep_a, partner, east["deal"])
    r60 = refer(world.rep_a, partner, east["deal2"])
    r30 = refer(world.rep_a, partner, east["elsewhere"], "indirect")
    with clock.freeze(at(2026, 3, 1, 16)):
        services.payment_record(actor=world.rep_a, opportunity=east["deal"], amount="40000")
    client = api_as(world.rep_a)
    before = client.get(f"partners/{partner.pk}/statement?period=2026H1").json()
    assert (before["earned"], before["held"]) == ("2000.00", "0.00")
    # when: it turns out he works for the customer
    r = client.patch(f"partners/{partner.pk}", {"employer_account_id": east["customer"].pk})
    # then
    assert r.status_code == 200, r.content
    flagged = {x.pk: (x.conflict, x.held) for x in Referral.objects.filter(partner=partner)}
    assert flagged == {r40.pk: (True, True), r60.pk: (True, True), r30.pk: (False, False)}
    events = Event.objects.filter(entity="referral", action="conflict_found").order_by("entity_id")
    assert [(e.entity_id, e.before, e.after, e.opportunity_id, e.actor_id) for e in events] == [
        (r40.pk, {"conflict": False}, {"conflict": True}, east["deal"].pk, world.rep_a.pk),
        (r60.pk, {"conflict": False}, {"conflict": True}, east["deal2"].pk, world.rep_a.pk),
    ]
    # and the statement holds them: 2,000 on the 40,000 collected + 3,000 pending on deal2
    after = client.get(f"partners/{partner.pk}/statement?period=2026H1").json()
    assert (after["earned"], after["pending"], after["held"], after["payable"]) == (
        "0.00",
        "0.00",
        "5000.00",
        "0.00",
    )
    assert [f["code"] for f in after["flags"]] == ["conflict_of_interest", "conflict_of_interest"]
    assert [f["referral_id"] for f in after["flags"]] == [r40.pk, r60.pk]


def test_a_conflict_is_not_cleared_by_changing_the_employer_again(world, api_as, east):
    # given
    partner = make_partner(world.rep_a, "李四", employer=east["customer"])
    referral = refer(world.rep_a, partner, east["deal"])
    client = api_as(world.rep_a)
    # when: the employer is changed, then removed
    client.patch(f"partners/{partner.pk}", {"employer_account_id": east["other"].pk})
    r = client.patch(f"partners/{partner.pk}", {"employer_account_id": None})
    # then: only an admin's release ends the hold
    assert r.status_code == 200
    referral.refresh_from_db()
    assert (referral.conflict, referral.held) == (True, True)


def test_setting_the_same_employer_again_writes_nothing(world, api_as, east):
    partner = make_partner(world.rep_a, "李四", employer=east["customer"])
    refer(world.rep_a, partner, east["deal"])
    client = api_as(world.rep_a)
    before = Event.objects.count()
    r = client.patch(f"partners/{partner.pk}", {"employer_account_id": east["customer"].pk})
    assert r.status_code == 200
    assert Event.objects.count() == before


# --- remove ----------------------------------------------------------------------------------


def test_remove_a_referral(world, api_as, east):
    # given
    referral = refer(world.rep_a, east["partner"], east["deal"])
    # when
    r = api_as(world.rep_a).delete(f"partners/{east['partner'].pk}/referrals/{referral.pk}")
    # then
    assert r.status_code == 204
    assert not Referral.objects.filter(pk=referral.pk).exists()
    event = Event.objects.get(entity="referral", entity_id=referral.pk, action="deleted")
    assert event.before["kind"] == "direct"
    assert event.before["opportunity"] == east["deal"].pk
    assert (event.opportunity_id, event.actor_id) == (east["deal"].pk, world.rep_a.pk)


def test_a_referral_of_another_partner_is_a_404(world, api_as, east):
    referral = refer(world.rep_a, east["partner"], east["deal"])
    other = make_partner(world.rep_a, "李四")
    client = api_as(world.rep_a)
    before = _rows()
    r = client.delete(f"partners/{other.pk}/referrals/{referral.pk}")
    assert r.status_code == 404
    assert _rows() == before


@pytest.mark.parametrize("viewer", ["rep_b", "rep_c", "manager_west"])
def test_others_cannot_remove_a_referral(world, api_as, east, viewer):
    referral = refer(world.rep_a, east["partner"], east["deal"])
    client = api_as(getattr(world, viewer))
    before = _rows()
    r = client.delete(f"partners/{east['partner'].pk}/referrals/{referral.pk}")
    assert r.status_code == 404
    assert _rows() == before


def test_a_referral_whose_money_was_paid_out_stays(world, api_as, east):
    # given: 张三's direct and indirect referrals, collected and paid for 2026H1
    partner = east["partner"]
    direct = refer(world.rep_a, partner, east["deal"])
    indirect = refer(world.rep_a, partner, east["elsewhere"], "indirect")
    with clock.freeze(at(2026, 2, 20, 16)):
        services.payment_record(actor=world.rep_a, opportunity=east["deal"], amount="10000")
    services.payout_record(actor=world.admin, partner=partner, period="2026H1")
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r_direct = client.delete(f"partners/{partner.pk}/referrals/{direct.pk}")
    r_indirect = client.delete(f"partners/{partner.pk}/referrals/{indirect.pk}")
    # then: the commission and the volume base it brought were paid
    assert r_direct.status_code == r_indirect.status_code == 409
    assert r_direct.json()["detail"] == (
        "Money was already paid out on this referral (2026H1); it cannot be removed."
    )
    assert _rows() == before


def test_a_referral_that_brought_nothing_to_a_payout_can_go(world, api_as, east):
    # given: a paid 2026H1, and a referral of an open deal shown on that statement
    partner = east["partner"]
    refer(world.rep_a, partner, east["deal"])
    with clock.freeze(at(2026, 2, 20, 16)):
        services.payment_record(actor=world.rep_a, opportunity=east["deal"], amount="10000")
    with clock.freeze(at(2026, 1, 1)):
        open_deal = opportunity_create(
            actor=world.rep_a,
            account=east["other"],
            name="still open",
            amount="5000",
            expected_close=dt.date(2026, 12, 31),
        )
    mistake = refer(world.rep_a, partner, open_deal, day=dt.date(2026, 3, 1))
    payout = services.payout_record(actor=world.admin, partner=partner, period="2026H1")
    assert mistake.pk in [x["referral_id"] for x in payout.statement["lines"]]
    # when
    r = api_as(world.rep_a).delete(f"partners/{partner.pk}/referrals/{mistake.pk}")
    # then
    assert r.status_code == 204, r.content


def test_a_released_referral_stays(world, api_as, east):
    # given
    partner = make_partner(world.rep_a, "李四", employer=east["customer"])
    referral = refer(world.rep_a, partner, east["deal"])
    services.referral_release(
        actor=world.admin,
        referral=referral,
        note="客户同意函",
        document=SimpleUploadedFile("ok.pdf", PDF, "application/pdf"),
    )
    client = api_as(world.admin)
    before = _rows()
    # when
    r = client.delete(f"partners/{partner.pk}/referrals/{referral.pk}")
    # then
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "This referral carries the customer's recorded disclosure; it cannot be removed."
    )
    assert _rows() == before


# --- the deal's side and deals the viewer cannot see -------------------------------------------


def test_the_deal_lists_who_referred_it(world, api_as, east):
    # given
    lisi = make_partner(world.rep_a, "李四", employer=east["customer"])
    refer(world.rep_a, east["partner"], east["deal"], "indirect", day=dt.date(2026, 1, 10))
    refer(world.rep_a, lisi, east["deal"], day=dt.date(2026, 1, 5))
    # when
    r = api_as(world.rep_a).get(f"opportunities/{east['deal'].pk}/referrals")
    # then: by the day referred
    assert r.status_code == 200, r.content
    assert [(x["partner_name"], x["kind"], x["held"], x["opportunity_name"]) for x in r.json()] == [
        ("李四", "direct", True, "虎钳及夹具"),
        ("张三", "indirect", False, "虎钳及夹具"),
    ]


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [("rep_a", 200), ("rep_b", 404), ("manager_east", 200), ("manager_west", 404), (None, 401)],
)
def test_the_deal_side_list_follows_the_deal(world, api_as, east, viewer, expected):
    refer(world.rep_a, east["partner"], east["deal"])
    user = None if viewer is None else getattr(world, viewer)
    r = api_as(user).get(f"opportunities/{east['deal'].pk}/referrals")
    assert r.status_code == expected


@pytest.fixture
def hidden_referral(world, east):
    """An admin records that rep_a's partner 张三 referred rep_c's deal (team West)."""
    with clock.freeze(at(2025, 12, 1)):
        west = account_create(actor=world.rep_c, name="西部客户")
    deal = won_deal(world.rep_c, west, "西部大单", "20000", at(2026, 2, 1))
    with clock.freeze(at(2026, 3, 1, 16)):
        services.payment_record(actor=world.rep_c, opportunity=deal, amount="20000")
    return refer(world.admin, east["partner"], deal)


def test_a_referral_of_a_deal_i_cannot_see_comes_without_its_name(
    world, api_as, east, hidden_referral
):
    # given
    pid = east["partner"].pk
    client = api_as(world.rep_a)
    # when
    referrals = client.get(f"partners/{pid}/referrals").json()
    statement = client.get(f"partners/{pid}/statement?period=2026H1").json()
    # then: the figures, not the deal's or customer's name
    assert [(x["opportunity_name"], x["account_name"]) for x in referrals] == [(None, None)]
    [line] = statement["lines"]
    assert (line["opportunity_name"], line["account_name"], line["commission"]) == (
        None,
        None,
        "1000.00",
    )
    text = client.get(f"partners/{pid}/statement?period=2026H1").content.decode()
    assert "西部" not in text
    # the admin and the deal's owner see it
    admin = api_as(world.admin).get(f"partners/{pid}/referrals").json()
    assert admin[0]["opportunity_name"] == "西部大单"
    deal_side = api_as(world.rep_c).get(f"opportunities/{hidden_referral.opportunity_id}/referrals")
    assert [(x["partner_name"], x["opportunity_name"]) for x in deal_side.json()] == [
        ("张三", "西部大单")
    ]


def test_a_referral_of_a_deal_i_cannot_change_cannot_be_removed_by_me(
    world, api_as, east, hidden_referral
):
    client = api_as(world.rep_a)
    before = _rows()
    r = client.delete(f"partners/{east['partner'].pk}/referrals/{hidden_referral.pk}")
    assert r.status_code == 404
    assert _rows() == before
    assert (
        api_as(world.admin)
        .delete(f"partners/{east['partner'].pk}/referrals/{hidden_referral.pk}")
        .status_code
        == 204
    )


def test_a_deal_with_referrals_or_payments_cannot_be_deleted(world, api_as, east):
    # given
    refer(world.rep_a, east["partner"], east["deal"])
    with clock.freeze(at(2026, 4, 1, 16)):
        services.payment_record(actor=world.rep_a, opportunity=east["deal2"], amount="100")
    client = api_as(world.rep_a)
    # when
    referred = client.delete(f"opportunities/{east['deal'].pk}")
    collected = client.delete(f"opportunities/{east['deal2'].pk}")
    # then: a 409 saying why, not a crash
    assert referred.status_code == collected.status_code == 409, referred.content
    assert referred.json()["detail"] == (
        "Partner referrals or payments collected are recorded on this deal; it stays."
    )
    assert Referral.objects.filter(opportunity=east["deal"]).count() == 1


def test_a_referred_deal_keeps_its_currency(world, api_as, east):
    # given: the partner's programme pays in CNY
    refer(world.rep_a, east["partner"], east["deal"])
    client = api_as(world.rep_a)
    # when
    r = client.patch(f"opportunities/{east['deal'].pk}", {"currency": "USD"})
    # then
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["detail"]) == (
        "currency",
        "This deal has partner referrals or payments in CNY; keep its currency.",
    )
    same = client.patch(f"opportunities/{east['deal'].pk}", {"currency": "cny"})
    unreferred = client.patch(f"opportunities/{east['elsewhere'].pk}", {"currency": "USD"})
    assert same.status_code == unreferred.status_code == 200

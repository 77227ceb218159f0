"""GET /api/v1/partners/{id}/statement?period=…: a partner's statement per settlement
period (SPEC §7, §10) — the worked example, periods by payment date, the default
period, the flags and their messages, and a fixed number of queries whatever the
number of referrals and payments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kam.accounts.services import account_create
from kam.core import clock
from kam.opportunities.services import opportunity_create
from kam.partners import services
from tests.partners.conftest import at, make_partner, pay, refer, won_deal


def _get(client, partner, query="?period=2026H1"):
    r = client.get(f"partners/{partner.pk}/statement{query}")
    assert r.status_code == 200, r.content
    return r.json()


def _lines(body):
    keys = ("kind", "collected", "collected_to_date", "commission", "pending", "base")
    return [tuple(x[k] for k in keys) for x in body["lines"]]


# --- the figures ------------------------------------------------------------------------------


def test_the_worked_example_of_spec_7(world, api_as, wangwu):
    # given: 王五, no employer, SPEC §7's numbers in 2026H1
    partner = wangwu["partner"]
    deals = wangwu["deals"]
    # when
    body = _get(api_as(world.rep_a), partner)
    # then
    assert (body["partner_id"], body["partner_name"], body["period"]) == (
        partner.pk,
        "王五",
        "2026H1",
    )
    assert (body["start"], body["end"], body["ended"]) == ("2026-01-01", "2026-06-30", True)
    assert (body["programme"], body["currency"]) == ("standard", "CNY")
    assert [
        (x["opportunity_id"], x["opportunity_name"], x["contract_amount"], x["won_on"])
        for x in body["lines"]
    ] == [
        (deals["d40"].pk, "王五 虎钳", "40000.00", "2026-02-10"),
        (deals["d60"].pk, "王五 转台", "60000.00", "2026-03-15"),
        (deals["d30"].pk, "王五 测量仪", "30000.00", "2026-04-20"),
    ]
    assert _lines(body) == [
        ("direct", "40000.00", "40000.00", "2000.00", "0.00", "40000.00"),
        ("direct", "50000.00", "50000.00", "2500.00", "500.00", "50000.00"),
        ("indirect", "0.00", "0.00", "0.00", "0.00", "12000.00"),
    ]
    assert [(x["held"], x["conflict"], x["released"], x["flags"]) for x in body["lines"]] == [
        (False, False, False, [])
    ] * 3
    assert (body["earned"], body["pending"], body["held"]) == ("4500.00", "500.00", "0.00")
    assert (body["volume_base"], body["volume_bonus"], body["bonus_held"]) == (
        "102000.00",
        "1020.00",
        "0.00",
    )
    assert (body["payable"], body["paid"], body["due"]) == ("5520.00", "0.00", "5520.00")
    assert (body["flags"], body["payouts"]) == ([], [])


def test_payments_count_in_the_period_of_their_date(world, api_as, wangwu):
    # given: the last 10,000 of the 60,000 deal comes in on 2026-07-01
    partner = wangwu["partner"]
    pay(world.rep_a, wangwu["deals"]["d60"], "10000", dt.date(2026, 7, 1))
    client = api_as(world.rep_a)
    # when
    h1 = _get(client, partner)
    h2 = _get(client, partner, "?period=2026H2")
    # then: 2026H1 is unchanged — by 2026-06-30 the 10,000 was not collected
    assert _lines(h1)[1] == ("direct", "50000.00", "50000.00", "2500.00", "500.00", "50000.00")
    assert (h1["earned"], h1["pending"], h1["payable"]) == ("4500.00", "500.00", "5520.00")
    # 2026H2 has the 500: only the deal that moved money in it shows
    assert [x["opportunity_id"] for x in h2["lines"]] == [wangwu["deals"]["d60"].pk]
    assert _lines(h2) == [("direct", "10000.00", "60000.00", "500.00", "0.00", "10000.00")]
    assert (h2["earned"], h2["pending"], h2["volume_base"], h2["volume_bonus"]) == (
        "500.00",
        "0.00",
        "10000.00",
        "0.00",
    )
    assert (h2["payable"], h2["ended"]) == ("500.00", False)


def test_an_indirect_sale_counts_in_the_period_it_was_won(world, api_as, wangwu):
    # given: another indirect sale, won on 2026-07-05
    partner = wangwu["partner"]
    late = won_deal(world.rep_a, wangwu["other"], "下半年的单", "50000", at(2026, 7, 5))
    refer(world.rep_a, partner, late, "indirect", day=dt.date(2026, 6, 1))
    client = api_as(world.rep_a)
    # when
    h1 = _get(client, partner)
    h2 = _get(client, partner, "?period=2026H2")
    # then: referred in H1, so H1 lists it, but its sale is H2's (with the 60,000 deal's
    # pending 500, still to collect)
    assert [x["base"] for x in h1["lines"]] == ["40000.00", "50000.00", "12000.00", "0.00"]
    assert (h1["volume_base"], h1["volume_bonus"]) == ("102000.00", "1020.00")
    assert [(x["opportunity_id"], x["base"], x["pending"]) for x in h2["lines"]] == [
        (wangwu["deals"]["d60"].pk, "0.00", "500.00"),
        (late.pk, "20000.00", "0.00"),
    ]
    assert (h2["volume_base"], h2["pending"]) == ("20000.00", "500.00")


def test_below_the_threshold_there_is_no_bonus(world, api_as, wangwu):
    # given: the indirect sale corrected to 20,000 — base 98,000
    from kam.opportunities.services import opportunity_update

    opportunity_update(actor=world.rep_a, opportunity=wangwu["deals"]["d30"], amount="20000")
    body = _get(api_as(world.rep_a), wangwu["partner"])
    assert (body["volume_base"], body["volume_bonus"], body["payable"]) == (
        "98000.00",
        "0.00",
        "4500.00",
    )


def test_a_fresh_referral_shows_before_its_deal_is_won(world, api_as, wangwu):
    # given: an open deal referred in 2026H2, and nothing else moving then
    with clock.freeze(at(2026, 7, 1)):
        opp = opportunity_create(
            actor=world.rep_a,
            account=wangwu["other"],
            name="还在谈",
            amount="80000",
            expected_close=dt.date(2026, 12, 31),
        )
    refer(world.rep_a, wangwu["partner"], opp, day=dt.date(2026, 7, 2))
    body = _get(api_as(world.rep_a), wangwu["partner"], "?period=2026H2")
    assert [(x["opportunity_name"], x["won_on"]) for x in body["lines"]] == [
        ("王五 转台", "2026-03-15"),  # its pending 500
        ("还在谈", None),
    ]
    assert _lines(body)[1] == ("direct", "0.00", "0.00", "0.00", "0.00", "0.00")


# --- which period -------------------------------------------------------------------------------


def test_the_default_period_is_the_latest_with_money(world, api_as, wangwu):
    # given: on 2026-08-10 the last money moved in 2026H1
    partner = wangwu["partner"]
    client = api_as(world.rep_a)
    assert _get(client, partner, "")["period"] == "2026H1"
    assert _get(client, partner, "?period=")["period"] == "2026H1"
    # when money comes in during 2026H2
    pay(world.rep_a, wangwu["deals"]["d60"], "10000", dt.date(2026, 7, 1))
    # then
    assert _get(client, partner, "")["period"] == "2026H2"


def test_the_default_period_follows_an_indirect_win(world, api_as, wangwu):
    late = won_deal(world.rep_a, wangwu["other"], "下半年的单", "50000", at(2026, 7, 5))
    refer(world.rep_a, wangwu["partner"], late, "indirect")
    assert _get(api_as(world.rep_a), wangwu["partner"], "")["period"] == "2026H2"


def test_a_partner_without_money_opens_on_the_current_period(world, api_as, frozen):
    partner = make_partner(world.rep_a, "新人")
    body = _get(api_as(world.rep_a), partner, "")
    assert (body["period"], body["lines"], body["payable"]) == ("2026H2", [], "0.00")


@pytest.mark.parametrize(
    "period", ["garbage", "2026H3", "2026Q1", "2026", "2026-03", "1900H1", "H1", "2026H1x"]
)
def test_a_bad_period_is_a_422(world, api_as, wangwu, period):
    r = api_as(world.rep_a).get(f"partners/{wangwu['partner'].pk}/statement?period={period}")
    assert r.status_code == 422
    assert r.json()["field"] == "period"
    assert r.json()["detail"]


def test_a_later_period_shows_only_what_is_still_to_collect(world, api_as, wangwu):
    body = _get(api_as(world.rep_a), wangwu["partner"], "?period=2027H1")
    assert [x["opportunity_id"] for x in body["lines"]] == [wangwu["deals"]["d60"].pk]
    assert _lines(body) == [("direct", "0.00", "50000.00", "0.00", "500.00", "0.00")]
    assert (body["earned"], body["pending"], body["volume_base"], body["payable"]) == (
        "0.00",
        "500.00",
        "0.00",
        "0.00",
    )


# --- the flags -------------------------------------------------------------------------------


def _flags(body):
    return [(f["code"], f["opportunity_id"], f["referral_id"]) for f in body["flags"]]


def test_the_flags_and_their_messages(world, api_as, frozen):
    # given: 李四 works for 苏州博远 and has no written agreement on record; one held deal
    with clock.freeze(at(2025, 12, 1)):
        employer = account_create(actor=world.rep_a, name="苏州博远精密机械")
    partner = make_partner(world.rep_a, "李四", employer=employer, agreement=None)
    deal = won_deal(world.rep_a, employer, "虎钳及夹具", "40000", at(2026, 7, 2))
    referral = refer(world.rep_a, partner, deal, day=dt.date(2026, 7, 1))
    pay(world.rep_a, deal, "10000", dt.date(2026, 7, 20))
    # when: the open period
    body = _get(api_as(world.rep_a), partner, "?period=2026H2")
    # then
    assert _flags(body) == [
        ("conflict_of_interest", deal.pk, referral.pk),
        ("no_agreement", None, None),
        ("period_open", None, None),
    ]
    messages = [f["message"] for f in body["flags"]]
    assert messages[0].startswith(
        "李四 is employed by 苏州博远精密机械, the customer buying this deal. Paying an employee "
        "of the buying customer for his employer's purchase is commercial bribery"
    )
    assert messages[1] == (
        "No written agreement is on record; the programme pays by written agreement only. "
        "Record the date it was signed before any payout."
    )
    assert messages[2] == (
        "The period has not ended: the figures can still change and it can be paid from "
        "Jan. 1, 2027 on."
    )
    assert body["lines"][0]["flags"] == ["conflict_of_interest"]
    assert (body["held"], body["earned"]) == ("2000.00", "0.00")
    # in Chinese: the same codes, each message translated
    zh = _get(api_as(world.rep_a, "zh-Hans"), partner, "?period=2026H2")
    assert _flags(zh) == _flags(body)
    assert all(x["message"] not in messages for x in zh["flags"])


def test_the_flags_in_chinese(world, api_as, lisi):
    # given: 李四's open period (a held pending amount) and his ended 2026H1
    partner = lisi["partner"]
    expected = {
        "2026H2": ["conflict_of_interest", "period_open"],
        "2026H1": ["conflict_of_interest", "conflict_of_interest"],
    }
    for period, codes in expected.items():
        # when
        en = _get(api_as(world.rep_a), partner, f"?period={period}")
        zh = _get(api_as(world.rep_a, "zh-Hans"), partner, f"?period={period}")
        # then: the codes are the contract and do not change with the language; the
        # messages are the catalogue's Chinese, not the English text
        assert [f["code"] for f in zh["flags"]] == [f["code"] for f in en["flags"]] == codes
        for mine, english in zip(zh["flags"], en["flags"], strict=True):
            assert mine["message"] and mine["message"] != english["message"]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in mine["message"].replace("李四", ""))


def test_a_released_line_stays_flagged_but_is_paid(world, api_as, lisi):
    # given
    services.referral_release(
        actor=world.admin,
        referral=lisi["referrals"]["d40"],
        note="客户书面同意",
        document=SimpleUploadedFile("ok.pdf", b"%PDF-1.4\n", "application/pdf"),
    )
    # when
    body = _get(api_as(world.rep_a), lisi["partner"])
    # then: one hold left; the released line keeps its conflict mark
    assert [(x["conflict"], x["released"], x["held"]) for x in body["lines"]] == [
        (True, True, False),
        (True, False, True),
        (False, False, False),
    ]
    assert _flags(body) == [
        ("conflict_of_interest", lisi["deals"]["d60"].pk, lisi["referrals"]["d60"].pk)
    ]
    assert (body["earned"], body["held"], body["payable"]) == ("2000.00", "4020.00", "2000.00")


# --- a fixed number of queries --------------------------------------------------------------------


def _book(world, n: int):
    """A partner of rep_a with `n` referrals (direct and indirect, some at his employer,
    one released), several payments on each direct deal, and a payout."""
    rep = world.rep_a
    with clock.freeze(at(2025, 12, 1)):
        employer = account_create(actor=rep, name=f"employer {n}")
        other = account_create(actor=rep, name=f"other {n}")
    partner = make_partner(rep, f"partner {n}", employer=employer)
    referrals = []
    for i in range(n):
        kind = "indirect" if i % 3 == 2 else "direct"
        account = employer if i % 2 == 0 else other
        deal = won_deal(rep, account, f"deal {n}.{i}", "90000", at(2026, 1, 10 + i))
        referrals.append(refer(rep, partner, deal, kind, day=dt.date(2026, 1, 5)))
        if kind == "direct":
            for month in (2, 3, 4):
                pay(rep, deal, "10000", dt.date(2026, month, 20))
    held = [r for r in referrals if r.conflict]
    services.referral_release(
        actor=world.admin,
        referral=held[0],
        note="ok",
        document=SimpleUploadedFile("ok.pdf", b"%PDF-1.4\n", "application/pdf"),
    )
    services.payout_record(actor=world.admin, partner=partner, period="2026H1")
    return partner


@pytest.mark.parametrize("query", ["?period=2026H1", ""])
def test_the_statement_costs_the_same_for_1_and_6_referrals(
    world, api_as, frozen, django_assert_num_queries, query
):
    # given
    one, six = _book(world, 1), _book(world, 6)
    client = api_as(world.rep_a)
    client.get("partners")  # the token's first use is recorded once; leave it out
    with CaptureQueriesContext(connection) as small:
        body = _get(client, one, query)
    assert len(body["lines"]) == 1
    # when / then
    with django_assert_num_queries(len(small.captured_queries)):
        body = _get(client, six, query)
    assert len(body["lines"]) == 6
    assert [f["code"] for f in body["flags"]].count("conflict_of_interest") == 2
    assert len(body["payouts"]) == 1
    # and it is small: the token, the partner, its referrals, their payments, the deals the
    # viewer sees, the payouts — and two reads to find the default period
    assert len(small.captured_queries) == (6 if query else 8)

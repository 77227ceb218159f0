"""The referral programme's arithmetic (SPEC §7): the worked example, the rules one by
one, and properties over generated referrals (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam.methodology.commission import (
    DIRECT,
    INDIRECT,
    ZERO,
    Payment,
    Programme,
    Referral,
    statement,
)

H1 = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
D = Decimal
RULES = Programme()


def direct(pk, amount, *payments, won=dt.date(2026, 2, 1), conflict=False, released=False):
    return Referral(
        opportunity_id=pk,
        kind=DIRECT,
        contract_amount=D(amount),
        won_on=won,
        payments=tuple(Payment(date, D(value)) for date, value in payments),
        conflict=conflict,
        released=released,
    )


def indirect(pk, amount, won=dt.date(2026, 3, 1), conflict=False):
    return Referral(pk, INDIRECT, D(amount), won, conflict=conflict)


def test_the_worked_example_of_spec_7():
    # given: 李四 — direct 40 000 (all collected) and 60 000 (50 000 collected), one
    # indirect sale of 30 000
    referrals = [
        direct(1, "40000", (dt.date(2026, 3, 10), "40000")),
        direct(2, "60000", (dt.date(2026, 4, 2), "30000"), (dt.date(2026, 5, 20), "20000")),
        indirect(3, "30000"),
    ]
    # when
    s = statement(RULES, referrals, *H1)
    # then: 2 000 + 2 500 earned, 500 pending; base 40 000 + 50 000 + 12 000 = 102 000
    assert [(x.commission, x.pending) for x in s.lines] == [
        (D("2000.00"), D("0.00")),
        (D("2500.00"), D("500.00")),
        (D("0.00"), D("0.00")),
    ]
    assert (s.earned, s.pending, s.volume_base) == (D("4500.00"), D("500.00"), D("102000.00"))
    assert (s.volume_bonus, s.bonus_held, s.held) == (D("1020.00"), ZERO, ZERO)
    assert s.payable == D("5520.00")


def test_below_the_threshold_there_is_no_bonus():
    # given: base 40 000 + 50 000 + 0.4 × 20 000 = 98 000
    referrals = [
        direct(1, "40000", (dt.date(2026, 3, 10), "40000")),
        direct(2, "60000", (dt.date(2026, 4, 2), "50000")),
        indirect(3, "20000"),
    ]
    # when
    s = statement(RULES, referrals, *H1)
    # then
    assert (s.volume_base, s.volume_bonus) == (D("98000.00"), ZERO)


def test_payments_count_in_the_period_of_their_date_and_pending_shrinks_as_money_comes():
    # given: a 60 000 contract collected 30 000 in June and 30 000 in July
    deal = direct(1, "60000", (dt.date(2026, 6, 30), "30000"), (dt.date(2026, 7, 1), "30000"))
    # when
    first = statement(RULES, [deal], *H1)
    second = statement(RULES, [deal], dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    # then
    assert (first.earned, first.pending) == (D("1500.00"), D("1500.00"))
    assert (second.earned, second.pending) == (D("1500.00"), D("0.00"))


def test_an_indirect_sale_counts_in_the_period_it_was_won_only():
    # given
    late = indirect(1, "30000", won=dt.date(2026, 7, 1))
    # when
    s = statement(RULES, [late], *H1)
    # then
    assert s.volume_base == ZERO


def test_a_deal_not_won_adds_nothing():
    # given
    open_deal = direct(1, "50000", (dt.date(2026, 3, 1), "10000"), won=None)
    # when
    s = statement(RULES, [open_deal], *H1)
    # then
    assert (s.earned, s.pending, s.volume_base) == (ZERO, ZERO, ZERO)


def test_a_conflict_of_interest_is_computed_but_held():
    # given: the buying account employs the partner
    deal = direct(1, "60000", (dt.date(2026, 4, 2), "50000"), conflict=True)
    # when
    s = statement(RULES, [deal], *H1)
    # then
    assert s.lines[0].commission == D("2500.00") and s.lines[0].held
    assert s.lines[0].flags == ("conflict_of_interest",) and s.flags == ("conflict_of_interest",)
    assert (s.earned, s.pending, s.held, s.payable) == (ZERO, ZERO, D("3000.00"), ZERO)


def test_a_released_conflict_is_paid_and_stays_flagged():
    # given
    deal = direct(1, "60000", (dt.date(2026, 4, 2), "50000"), conflict=True, released=True)
    # when
    s = statement(RULES, [deal], *H1)
    # then
    assert (s.earned, s.pending, s.held) == (D("2500.00"), D("500.00"), ZERO)
    assert s.flags == ("conflict_of_interest",)


def test_a_bonus_reached_only_thanks_to_a_held_deal_is_held_whole():
    # given: 90 000 clear + 20 000 held = 110 000 ≥ 100 000, but 90 000 alone is below
    referrals = [
        direct(1, "90000", (dt.date(2026, 2, 1), "90000")),
        direct(2, "20000", (dt.date(2026, 2, 1), "20000"), conflict=True),
    ]
    # when
    s = statement(RULES, referrals, *H1)
    # then
    assert (s.volume_base, s.volume_bonus, s.bonus_held) == (
        D("110000.00"),
        D("1100.00"),
        D("1100.00"),
    )
    assert s.held == D("1000.00") + D("1100.00")
    assert s.payable == D("4500.00")


def test_a_bonus_above_the_threshold_without_the_held_deal_holds_only_its_share():
    # given: 150 000 clear + 20 000 held
    referrals = [
        direct(1, "150000", (dt.date(2026, 2, 1), "150000")),
        direct(2, "20000", (dt.date(2026, 2, 1), "20000"), conflict=True),
    ]
    # when
    s = statement(RULES, referrals, *H1)
    # then: bonus 1 700, of which 200 is the held deal's share
    assert (s.volume_bonus, s.bonus_held) == (D("1700.00"), D("200.00"))


def test_each_figure_is_rounded_once_half_up_to_the_fen():
    # given: 5% of 0.10 = 0.005 → 0.01; 5% of 0.30 = 0.015 → 0.02
    referrals = [
        direct(1, "0.10", (dt.date(2026, 2, 1), "0.10")),
        direct(2, "0.30", (dt.date(2026, 2, 1), "0.30")),
    ]
    # when
    s = statement(RULES, referrals, *H1)
    # then: the lines are rounded, the total is their sum
    assert [x.commission for x in s.lines] == [D("0.01"), D("0.02")]
    assert s.earned == D("0.03")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"direct_rate": D("1.5")},
        {"indirect_weight": D("-0.1")},
        {"bonus_rate": 0.01},
        {"threshold": D("-1")},
    ],
)
def test_a_programme_out_of_range_is_refused(kwargs):
    with pytest.raises(ValueError):
        Programme(**kwargs)


def test_a_period_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        statement(RULES, [], dt.date(2026, 7, 1), dt.date(2026, 6, 30))


# --- properties ------------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("5000000"), places=2)
days = st.dates(min_value=dt.date(2025, 10, 1), max_value=dt.date(2026, 9, 30))
rates = st.decimals(min_value=D("0"), max_value=D("1"), places=3)
programmes = st.builds(
    Programme,
    direct_rate=rates,
    indirect_weight=rates,
    threshold=st.decimals(min_value=D("0"), max_value=D("1000000"), places=0),
    bonus_rate=rates,
)


@st.composite
def referrals(draw):
    out = []
    for pk in range(draw(st.integers(0, 6))):
        amount = draw(money)
        kind = draw(st.sampled_from((DIRECT, INDIRECT)))
        won = draw(st.one_of(st.none(), days))
        parts = draw(st.lists(st.tuples(days, money), max_size=4))
        conflict = draw(st.booleans())
        out.append(
            Referral(
                opportunity_id=pk,
                kind=kind,
                contract_amount=amount,
                won_on=won,
                payments=tuple(Payment(d, v) for d, v in parts) if kind == DIRECT else (),
                conflict=conflict,
                released=conflict and draw(st.booleans()),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(programmes, referrals())
def test_a_commission_never_exceeds_its_rate_on_the_money_collected(programme, items):
    s = statement(programme, items, *H1)
    for line in s.lines:
        # money is rounded to the fen half up (四舍五入), the bound the same way
        # (0.475 × 7.80 = 3.705 → 3.71: found by hypothesis on one run)
        cap = (programme.direct_rate * line.collected).quantize(D("0.01"), ROUND_HALF_UP)
        assert line.commission <= cap
        assert line.commission >= 0 and line.pending >= 0


@settings(max_examples=300, deadline=None)
@given(programmes, money, st.lists(money, max_size=5))
def test_earned_and_pending_make_the_rate_on_the_contract_when_collections_stay_within_it(
    programme, amount, parts
):
    # given: a direct deal whose payments, all in the period, do not exceed its contract
    paid, total = [], D("0")
    for value in parts:
        if total + value <= amount:
            paid.append(Payment(dt.date(2026, 3, 1), value))
            total += value
    deal = Referral(1, DIRECT, amount, dt.date(2026, 2, 1), tuple(paid))
    # when
    s = statement(programme, [deal], *H1)
    # then: each part rounded once, so within a fen of the rate on the contract
    assert abs(s.earned + s.pending - programme.direct_rate * amount) <= D("0.01")


@settings(max_examples=300, deadline=None)
@given(programmes, referrals())
def test_a_held_amount_is_never_payable(programme, items):
    s = statement(programme, items, *H1)
    clear = [x for x in s.lines if not x.held]
    assert s.earned == sum((x.commission for x in clear), D("0"))
    assert s.payable == s.earned + s.volume_bonus - s.bonus_held
    assert 0 <= s.bonus_held <= s.volume_bonus
    if not any(x.held for x in s.lines):
        assert s.held == 0 and s.bonus_held == 0
    # the statement without the held referrals pays exactly the same
    alone = statement(programme, [r for r in items if not r.held], *H1)
    assert alone.payable == s.payable

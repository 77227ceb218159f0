"""The manager's dashboard engine (kam/opportunities/pipeline.py) against small books
computed by hand: an empty book, a single deal, and a book of ten deals over two
playbooks and two teams, built through the services at frozen times.

Only the process alerts run (forced_gate, behind_buyer ×0.8, ahead_of_buyer ×0.7,
stalled), so every win probability below is the stage's base probability times the
factors of the alerts each deal is built to raise. Weighted amount = amount × win
probability / 100, rounded half-up to the fen per deal, then summed."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.db import YearMonth
from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.core.periods import Period
from kam.opportunities import models, process
from kam.opportunities.pipeline import (
    check_figure,
    deal_ids_behind,
    parse_filters,
    pipeline_report,
)
from kam.opportunities.services import (
    opportunity_create,
    opportunity_delete,
    opportunity_update,
)
from kam.users.models import Team

pytestmark = pytest.mark.usefixtures("process_rules_only")

CST = ZoneInfo("Asia/Shanghai")
D = dt.date
S6, M5 = "standard-6", "milestones-5"
S6_FUNNEL = ["development", "entry", "proposal", "bidding", "negotiation"]  # up to the win
M5_FUNNEL = [
    "lead_confirmation",
    "need_nurturing",
    "solution_evaluation",
    "negotiation",
    "contract_signing",
]
BUYER = [
    "need",
    "search",
    "approval",
    "criteria",
    "evaluation",
    "selection",
    "negotiation",
    "contract",
]
FACTORS = "project_grade funding technical_fit relationship credit product price solution service"
GOOD = dict.fromkeys(FACTORS.split(), 4)  # 80 points: passed, high likelihood
EMPTY = (0, "0.00", "0.00")


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0, s: int = 0) -> dt.datetime:
    """A moment in China time (the site's time zone)."""
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=CST)


# The book is looked at on Sunday 10 January 2027, 10:00: this quarter is 2027Q1, the
# period studied is mostly 2026Q4 = [2026-10-01 00:00, 2027-01-01 00:00) China time.
NOW = at(2027, 1, 10)


# --- building deals through the services -----------------------------------------------------


def new_deal(rep, name, amount, close, *, when, playbook=None, stage=None, buyer=None):
    with clock.freeze(when):
        account = account_create(actor=rep, name=f"{name} Co.")
        extra = {"buyer_stage": buyer} if buyer else {}
        return opportunity_create(
            actor=rep,
            account=account,
            name=name,
            amount=amount,
            expected_close=close,
            playbook=playbook,
            stage=stage,
            **extra,
        )


def buyer_moves(actor, opp, stage, *, when):
    with clock.freeze(when):
        opportunity_update(actor=actor, opportunity=opp, buyer_stage=stage)


def advance(actor, opp, *, when, force=False):
    with clock.freeze(when):
        reason = "客户高层已口头确认" if force else ""
        process.opportunity_advance(actor=actor, opportunity=opp, force=force, reason=reason)


def win(actor, opp, *, when):
    with clock.freeze(when):
        process.milestone_record(actor=actor, opportunity=opp, kind="contract_signed")
        process.opportunity_close(actor=actor, opportunity=opp, outcome="won")


def drop(actor, opp, outcome, *, when):
    with clock.freeze(when):
        process.opportunity_close(actor=actor, opportunity=opp, outcome=outcome, reason="价格")


def build_book(world) -> dict[str, int]:
    """Ten deals; rep_a (East) owns A1–A6, rep_c (West) owns C1–C4. Returns their ids.

    Days in a stage and cycle days are whole days between two moments."""
    a, c = world.rep_a, world.rep_c
    boss_east, boss_west = world.manager_east, world.manager_west
    book = {}

    # A1 Alpha — S6, open at entry since 2026-10-11 10:00; buyer at criteria; priority A.
    d = book["A1"] = new_deal(a, "Alpha", "100000.00", D(2027, 2, 15), when=at(2026, 9, 1))
    buyer_moves(a, d, "search", when=at(2026, 9, 20))  # before the period
    buyer_moves(a, d, "approval", when=at(2026, 10, 1, 0, 0, 0))  # the period's first instant
    with clock.freeze(at(2026, 10, 5)):
        process.evaluation_record(actor=a, opportunity=d, scores=GOOD)  # 80 → A (≤ 6 months)
    advance(a, d, when=at(2026, 10, 11))  # development → entry after 40 days
    buyer_moves(a, d, "criteria", when=at(2026, 11, 20))

    # A2 Bravo — S6, forced past development by the manager, then graded A by hand: the
    # evaluation is still missing. Expected in December 2026: overdue now.
    d = book["A2"] = new_deal(a, "Bravo", "250000.00", D(2026, 12, 20), when=at(2026, 11, 20))
    buyer_moves(a, d, "criteria", when=at(2026, 11, 25))  # +3
    advance(boss_east, d, when=at(2026, 12, 1), force=True)  # after 11 days in development
    buyer_moves(a, d, "approval", when=at(2026, 12, 5))  # −1
    with clock.freeze(at(2026, 12, 10)):
        process.priority_override(actor=boss_east, opportunity=d, grade="A", reason="战略客户")

    # A3 Charlie — M5, forced past lead confirmation, whose items were met later.
    d = book["A3"] = new_deal(
        a, "Charlie", "80000.50", D(2027, 3, 31), when=at(2026, 12, 15), playbook=M5
    )
    advance(boss_east, d, when=at(2026, 12, 20), force=True)  # after 5 days
    with clock.freeze(at(2026, 12, 22)):
        process.evaluation_record(actor=a, opportunity=d, scores=GOOD)  # 80 → A (4 months)
    buyer_moves(a, d, "search", when=at(2026, 12, 28))  # +1

    # A4 Foxtrot — S6, brought in at negotiation on 2026-07-01, won at the period's last second.
    d = book["A4"] = new_deal(
        a,
        "Foxtrot",
        "200000.00",
        D(2026, 12, 31),
        when=at(2026, 7, 1),
        stage="negotiation",
        buyer="negotiation",
    )
    win(a, d, when=at(2026, 12, 31, 23, 59, 59))

    # A5 Hotel — S6, abandoned at development in the period.
    d = book["A5"] = new_deal(a, "Hotel", "50000.00", D(2026, 12, 31), when=at(2026, 10, 2))
    buyer_moves(a, d, "search", when=at(2026, 10, 10))  # +1
    drop(a, d, "abandoned", when=at(2026, 12, 15))

    # A6 India — S6, won at the last second before the period.
    d = book["A6"] = new_deal(
        a,
        "India",
        "30000.00",
        D(2026, 9, 30),
        when=at(2026, 5, 1),
        stage="negotiation",
        buyer="negotiation",
    )
    win(a, d, when=at(2026, 9, 30, 23, 59, 59))

    # C1 Delta — M5, open at solution evaluation since 2026-06-01: stalled beyond 2 × 60 days.
    d = book["C1"] = new_deal(
        c,
        "Delta",
        "120000.00",
        D(2027, 1, 31),
        when=at(2026, 6, 1),
        playbook=M5,
        stage="solution_evaluation",
        buyer="criteria",
    )
    buyer_moves(c, d, "evaluation", when=at(2026, 9, 30, 23, 59, 59))  # just before
    buyer_moves(c, d, "criteria", when=at(2026, 10, 15))  # −1
    buyer_moves(c, d, "evaluation", when=at(2027, 1, 1, 0, 0, 0))  # the instant after the end

    # C2 Echo — M5, brought in at contract signing on 2026-08-10, won on 2026-11-05 15:00.
    d = book["C2"] = new_deal(
        c,
        "Echo",
        "60000.00",
        D(2026, 11, 30),
        when=at(2026, 8, 10),
        playbook=M5,
        stage="contract_signing",
        buyer="contract",
    )
    win(c, d, when=at(2026, 11, 5, 15))

    # C3 Golf — S6, forced past entry by the West manager, then lost at proposal; its buyer
    # went one stage on and back within the period (net 0).
    d = book["C3"] = new_deal(
        c,
        "Golf",
        "90000.00",
        D(2026, 12, 31),
        when=at(2026, 9, 10),
        stage="entry",
        buyer="approval",
    )
    advance(boss_west, d, when=at(2026, 10, 20), force=True)  # after 40 days in entry
    buyer_moves(c, d, "criteria", when=at(2026, 10, 22))
    buyer_moves(c, d, "approval", when=at(2026, 10, 25))
    drop(c, d, "lost", when=at(2026, 11, 10))

    # C4 Juliet — M5, won after the period (this month).
    d = book["C4"] = new_deal(
        c,
        "Juliet",
        "40000.00",
        D(2027, 1, 31),
        when=at(2026, 12, 1),
        playbook=M5,
        stage="contract_signing",
        buyer="contract",
    )
    win(c, d, when=at(2027, 1, 5))
    return {k: v.pk for k, v in book.items()}


@pytest.fixture
def ids(world):
    return build_book(world)


def report(user, **params):
    """The dashboard as `user` sees it at NOW."""
    with clock.freeze(NOW):
        return pipeline_report(user, parse_filters(user, **params))


def bucket(b) -> tuple[int, str, str]:
    """count, amount, weighted — amounts as text, so the two decimals are checked too"""
    return (b.count, str(b.amount), str(b.weighted))


def funnel(rows) -> list[tuple]:
    return [(r.playbook, r.key, *bucket(r.open)) for r in rows]


def months(r) -> list[tuple]:
    return [
        (m.month, *bucket(m.open), m.won_count, str(m.won_amount), m.overdue) for m in r.forecast
    ]


def moves(r) -> list[tuple]:
    return [
        (m.opportunity.pk, m.net, m.forward, m.back, m.changes, m.start_stage, m.end_stage)
        for m in r.progress
    ]


def progress(r) -> tuple[int, int, int, int]:
    """(deals advanced, stages advanced, deals moved back, stages back)"""
    return (
        len(r.advanced),
        sum(m.net for m in r.advanced),
        len(r.moved_back),
        sum(m.back for m in r.moved_back),
    )


def conversion(r) -> list[tuple]:
    return [
        (c.playbook, c.key, c.advanced, c.forced, c.dropped, c.rate, c.median_days)
        for c in r.conversion
    ]


def outcomes(r) -> tuple:
    """(won, lost, abandoned, closed), their amounts, (rate by count, rate by amount)"""
    o = r.outcomes
    counts = (o.won, o.lost, o.abandoned, o.closed)
    amounts = (str(o.won_amount), str(o.lost_amount), str(o.abandoned_amount))
    return counts, amounts, (o.rate, o.amount_rate)


def reps(r) -> list[tuple]:
    return [
        (
            x.user.username,
            *bucket(x.open),
            x.deals_advanced,
            x.stages_advanced,
            x.deals_moved_back,
            x.stages_back,
            x.seller_advances,
            x.won_count,
            str(x.won_amount),
        )
        for x in r.reps
    ]


def texts(labels) -> list[str] | None:
    if labels is None:
        return None
    with translation.override("en"):
        return [show(x) for x in labels]


def summary(r) -> dict:
    """The figures that tell whose deals a report counts."""
    return {
        "open": r.drill.get("open", []),
        "total": bucket(r.total),
        "outcomes": outcomes(r),
        "progress": [m.opportunity.pk for m in r.progress],
        "stalled": [x.opportunity.pk for x in r.stalled],
        "forced": [x.move.opportunity_id for x in r.forced],
        "at_risk": [x.opportunity.pk for x in r.at_risk],
        "alerts": r.alerts_by_severity,
        "reps": [x.user.username for x in r.reps],
    }


ZERO_CONVERSION = [(S6, k, 0, 0, 0, None, None) for k in S6_FUNNEL] + [
    (M5, k, 0, 0, 0, None, None) for k in M5_FUNNEL
]
NO_OUTCOMES = ((0, 0, 0, 0), ("0.00", "0.00", "0.00"), (None, None))
NO_ALERTS = {"high": 0, "medium": 0, "low": 0}


# --- an empty book ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "people"),
    [("rep_b", ["rep_b"]), ("manager_west", ["m_west", "rep_c"]), ("admin", None)],
)
def test_an_empty_book_counts_zero_everywhere(world, viewer, people):
    # given: nobody owns a deal
    user = getattr(world, viewer)
    # when: the default period, at NOW (2027-01-10): this quarter
    r = report(user)
    # then
    assert r.filters.period == Period(D(2027, 1, 1), D(2027, 3, 31), key="2027Q1")
    assert r.as_of == NOW
    assert bucket(r.total) == EMPTY
    assert funnel(r.by_buyer_stage) == [("", k, *EMPTY) for k in BUYER]
    assert r.forecast == []
    assert r.progress == [] and progress(r) == (0, 0, 0, 0)
    assert r.stalled == [] and r.forced == [] and r.at_risk == []
    assert r.alerts_by_severity == NO_ALERTS and r.alerts_by_code == {}
    assert conversion(r) == ZERO_CONVERSION
    assert outcomes(r) == NO_OUTCOMES
    assert (r.cycle.days.sorted(), r.cycle.median, r.cycle.mean) == ([], None, None)
    assert "open" not in r.drill and r.drill.count("open") == 0
    assert r.drill == {"stalled": [], "at_risk": []}
    # every selling person in view has a row of zeros (an admin sells nothing)
    everyone = ["m_east", "m_west", "rep_a", "rep_b", "rep_c"]
    assert reps(r) == [(name, *EMPTY, 0, 0, 0, 0, 0, 0, "0.00") for name in people or everyone]


@pytest.mark.parametrize("viewer", ["rep_b", "manager_west"])
def test_an_empty_book_still_lists_every_funnel_stage_with_zeros(world, viewer):
    # given: nobody owns a deal
    user = getattr(world, viewer)
    # when
    r = report(user)
    # then: each playbook's stages up to its winning one, with zeros (the chart keeps its axis)
    assert funnel(r.by_stage) == [(S6, k, *EMPTY) for k in S6_FUNNEL] + [
        (M5, k, *EMPTY) for k in M5_FUNNEL
    ]


def test_an_empty_book_filtered_by_playbook_lists_that_playbooks_stages(world):
    # when
    r = report(world.rep_b, playbook=M5)
    # then
    assert funnel(r.by_stage) == [(M5, k, *EMPTY) for k in M5_FUNNEL]
    assert conversion(r) == [(M5, k, 0, 0, 0, None, None) for k in M5_FUNNEL]


# --- a single deal ----------------------------------------------------------------------------

SOLO_NOW = at(2026, 11, 16)


@pytest.fixture
def solo(world):
    """One S6 deal of rep_a: brought in at proposal on 2026-10-20 with the customer one
    stage behind (approval); the customer reached its criteria on 2026-11-02."""
    deal = new_deal(
        world.rep_a,
        "Solo",
        "12345.67",
        D(2027, 1, 20),
        when=at(2026, 10, 20),
        stage="proposal",
        buyer="approval",
    )
    buyer_moves(world.rep_a, deal, "criteria", when=at(2026, 11, 2))
    return deal.pk


def test_a_single_deal_in_every_figure(world, solo):
    # when: on 2026-11-16, default period 2026Q4
    with clock.freeze(SOLO_NOW):
        r = pipeline_report(world.rep_a, parse_filters(world.rep_a))
    # then: proposal 40 %, aligned with the customer (criteria), 27 days in the stage of a
    # healthy 60: no alert. Weighted = 12345.67 × 40 / 100 = 4938.268 → 4938.27
    one = (1, "12345.67", "4938.27")
    assert r.filters.period == Period(D(2026, 10, 1), D(2026, 12, 31), key="2026Q4")
    assert r.probabilities[solo] == 40
    assert bucket(r.total) == one
    # only the playbook that has open deals, up to its winning stage (no implementation)
    assert funnel(r.by_stage) == [(S6, k, *(one if k == "proposal" else EMPTY)) for k in S6_FUNNEL]
    assert funnel(r.by_buyer_stage) == [
        ("", k, *(one if k == "criteria" else EMPTY)) for k in BUYER
    ]
    assert months(r) == [("2027-01", *one, 0, "0.00", False)]
    # approval (2) → criteria (3) on 2026-11-02: one stage forward
    assert moves(r) == [(solo, 1, 1, 0, 1, "approval", "criteria")]
    assert progress(r) == (1, 1, 0, 0)
    assert reps(r) == [("rep_a", *one, 1, 1, 0, 0, 0, 0, "0.00")]
    assert r.stalled == [] and r.forced == [] and r.at_risk == []
    assert r.alerts_by_severity == NO_ALERTS and r.alerts_by_code == {}
    assert conversion(r) == ZERO_CONVERSION
    assert outcomes(r) == NO_OUTCOMES
    assert (r.cycle.days.sorted(), r.cycle.median, r.cycle.mean) == ([], None, None)
    a = world.rep_a.pk
    assert r.drill == {
        "open": [solo],
        "stage:standard-6:proposal": [solo],
        "buyer:criteria": [solo],
        "month:2027-01": [solo],
        f"rep_open:{a}": [solo],
        "stalled": [],
        "at_risk": [],
        "progress": [solo],
        f"rep_progress:{a}": [solo],
    }


def test_a_single_deal_outside_the_period_keeps_its_now_figures_only(world, solo):
    # when: the period 2026Q3 (before the deal existed)
    with clock.freeze(SOLO_NOW):
        r = pipeline_report(world.rep_a, parse_filters(world.rep_a, period="2026Q3"))
    # then: the open book is the same; the forecast starts at the period's first month
    # but shows only months with data (no win since 2026-07)
    assert bucket(r.total) == (1, "12345.67", "4938.27")
    assert [m.month for m in r.forecast] == ["2027-01"]
    assert r.progress == [] and reps(r)[0][4:] == (0, 0, 0, 0, 0, 0, "0.00")


def test_weighted_amounts_round_half_up_per_deal_before_summing(world):
    # given: three deals at development (10 %): 0.05 × 10 % = 0.005 → 0.01 each (half-up;
    # half-even would give 0.00), 1.25 → 0.125 → 0.13, and 12345.65 → 1234.565 → 1234.57
    for name, amount in [("Tiny", "0.05"), ("Small", "1.25"), ("Odd", "12345.65")]:
        new_deal(world.rep_a, name, amount, D(2027, 6, 30), when=at(2027, 1, 2))
    # when
    r = report(world.rep_a)
    # then: Σ of the rounded products (0.01 + 0.13 + 1234.57), not the rounded Σ (1234.70)
    assert bucket(r.total) == (3, "12346.95", "1234.71")
    assert funnel(r.by_stage)[0] == (S6, "development", 3, "12346.95", "1234.71")


# --- the book of ten deals, period 2026Q4, seen by the admin ----------------------------------
#
# Open at NOW (ordered by expected close, then id):
#   A2 Bravo   S6 entry           250 000.00  forced_gate high ×0.5 → 20 × 0.5 = 10 % → 25 000.00
#   C1 Delta   M5 solution_eval.  120 000.00  stalled 223 d > 2 × 60 (high, no factor) → 50 %
#                                             → 60 000.00
#   A1 Alpha   S6 entry           100 000.00  customer at criteria, entry maps to approval:
#                                             behind 1 (medium ×0.8); stalled 91 d > 60 (medium)
#                                             → 20 × 0.8 = 16 % → 16 000.00
#   A3 Charlie M5 need_nurturing   80 000.50  aligned (search), forced gate since met → 25 %
#                                             → 20 000.125 → 20 000.13 (half-up)
#   total 4 deals, 550 000.50, weighted 121 000.13


def test_the_books_funnels_weigh_each_deal_by_its_own_probability(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then
    assert {ids[k]: r.probabilities[ids[k]] for k in ("A1", "A2", "A3", "C1")} == {
        ids["A1"]: 16,
        ids["A2"]: 10,
        ids["A3"]: 25,
        ids["C1"]: 50,
    }
    assert bucket(r.total) == (4, "550000.50", "121000.13")
    s6 = {"entry": (2, "350000.00", "41000.00")}  # A1 + A2
    m5 = {
        "need_nurturing": (1, "80000.50", "20000.13"),  # A3
        "solution_evaluation": (1, "120000.00", "60000.00"),  # C1
    }
    assert funnel(r.by_stage) == [(S6, k, *s6.get(k, EMPTY)) for k in S6_FUNNEL] + [
        (M5, k, *m5.get(k, EMPTY)) for k in M5_FUNNEL
    ]
    by_buyer = {
        "search": (1, "80000.50", "20000.13"),  # A3
        "approval": (1, "250000.00", "25000.00"),  # A2
        "criteria": (1, "100000.00", "16000.00"),  # A1
        "evaluation": (1, "120000.00", "60000.00"),  # C1 (since 2027-01-01)
    }
    assert funnel(r.by_buyer_stage) == [("", k, *by_buyer.get(k, EMPTY)) for k in BUYER]
    with translation.override("en"):
        assert [show(x.name) for x in r.by_stage[:2]] == ["Development", "Sales entry"]
        assert show(r.by_buyer_stage[0].name) == "Problem and need"


def test_the_books_forecast_by_month_beside_the_wins(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: from the first month with data (the period starts in 2026-10, which has none)
    # to the last expected close, every month; wins since 2026-10-01 00:00 China time:
    # C2 on 2026-11-05, A4 on 2026-12-31 23:59:59 (still December in China, 15:59 UTC),
    # C4 on 2027-01-05 (A6, won 2026-09-30, is before the first month shown).
    # 2026-12 is over with A2 still expected then: overdue; this month (2027-01) is not.
    z = "0.00"
    assert months(r) == [
        ("2026-11", 0, z, z, 1, "60000.00", False),
        ("2026-12", 1, "250000.00", "25000.00", 1, "200000.00", True),
        ("2027-01", 1, "120000.00", "60000.00", 1, "40000.00", False),
        ("2027-02", 1, "100000.00", "16000.00", 0, z, False),
        ("2027-03", 1, "80000.50", "20000.13", 0, z, False),
    ]


def test_the_books_progress_in_the_buyers_stages(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: buyer-stage changes in [2026-10-01 00:00, 2027-01-01 00:00) China time
    #   A2 need → criteria (+3), criteria → approval (−1): forward 3, back 1, net 2
    #   A1 search → approval at 00:00:00 on 1 October (in), approval → criteria: net 2
    #      (need → search on 20 September is before the period)
    #   A3 need → search: +1;  A5 (abandoned since) need → search: +1
    #   C3 approval → criteria → approval: forward 1, back 1, net 0
    #   C1 evaluation → criteria on 15 October: −1 (the change at 23:59:59 on 30 September
    #      and the one at 00:00:00 on 1 January are outside)
    # sorted by net, then forward, then name
    assert moves(r) == [
        (ids["A2"], 2, 3, 1, 2, "need", "approval"),
        (ids["A1"], 2, 2, 0, 2, "search", "criteria"),
        (ids["A3"], 1, 1, 0, 1, "need", "search"),
        (ids["A5"], 1, 1, 0, 1, "need", "search"),
        (ids["C3"], 0, 1, 1, 2, "approval", "approval"),
        (ids["C1"], -1, 0, 1, 1, "evaluation", "criteria"),
    ]
    # advanced: net > 0 (A2, A1, A3, A5: 2 + 2 + 1 + 1 = 6 stages); moved back: any step
    # back (A2, C3, C1: 1 + 1 + 1 = 3 stages)
    assert progress(r) == (4, 6, 3, 3)
    assert r.drill["progress"] == [ids["A2"], ids["A1"], ids["A3"], ids["A5"]]
    assert r.drill["moved_back"] == [ids["A2"], ids["C3"], ids["C1"]]


def test_the_books_rows_per_rep(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then
    #   rep_a: open A2 + A1 + A3 = 430 000.50, weighted 25 000 + 16 000 + 20 000.13;
    #          advanced A2, A1, A3, A5 (6 stages); moved back A2 (1); our advances in the
    #          period: A1 (11 Oct), A2 forced (1 Dec), A3 forced (20 Dec), A4's win
    #          (31 Dec 23:59:59) = 4; won A4 200 000
    #   rep_c: open C1; moved back C3 and C1 (2 stages); advances C3 forced (20 Oct), C2's
    #          win (5 Nov) = 2 (C4's win on 5 January is after); won C2 60 000
    #   then the other selling people with zeros, by name (the admin sells nothing)
    z = "0.00"
    assert reps(r) == [
        ("rep_a", 3, "430000.50", "61000.13", 4, 6, 1, 1, 4, 1, "200000.00"),
        ("rep_c", 1, "120000.00", "60000.00", 0, 0, 2, 2, 2, 1, "60000.00"),
        ("m_east", 0, z, z, 0, 0, 0, 0, 0, 0, z),
        ("m_west", 0, z, z, 0, 0, 0, 0, 0, 0, z),
        ("rep_b", 0, z, z, 0, 0, 0, 0, 0, 0, z),
    ]
    a, c = world.rep_a.pk, world.rep_c.pk
    assert r.drill[f"rep_open:{a}"] == [ids["A2"], ids["A1"], ids["A3"]]
    assert r.drill[f"rep_open:{c}"] == [ids["C1"]]
    assert r.drill[f"rep_progress:{a}"] == [ids["A2"], ids["A1"], ids["A3"], ids["A5"]]
    assert f"rep_progress:{c}" not in r.drill
    assert r.drill[f"rep_won:{a}"] == [ids["A4"]]
    assert r.drill[f"rep_won:{c}"] == [ids["C2"]]


def test_the_books_stalled_deals_with_their_missing_items(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: C1 in solution evaluation since 2026-06-01 10:00 → 223 days, 3.7 × its 60 (high);
    # A1 in entry since 2026-10-11 10:00 → 91 days, 1.5 × its 60 (medium); worst first
    rows = [
        (x.opportunity.pk, x.days, x.healthy_days, x.severity, texts(x.missing)) for x in r.stalled
    ]
    assert rows == [
        (
            ids["C1"],
            223,
            60,
            "high",
            [
                "At least 1 purchase criteria recorded, 1 shaped by us",
                "Proposal submitted or Bid submitted",
            ],
        ),
        (
            ids["A1"],
            91,
            60,
            "medium",
            [
                "A coach identified",
                "The decision maker identified",
                "Candidate-supplier status confirmed",
            ],
        ),
    ]
    assert r.drill["stalled"] == [ids["C1"], ids["A1"]]


def test_the_books_forced_moves_with_what_is_still_unmet(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: latest first; A3's items were met after (evaluation → grade): nothing left;
    # A2 was graded A by hand but never evaluated; C3 is lost: no list
    rows = [
        (
            x.move.opportunity_id,
            x.move.from_stage,
            x.move.to_stage,
            x.move.at,
            x.move.actor.username,
            x.move.unmet,
            texts(x.still_unmet),
        )
        for x in r.forced
    ]
    assert rows == [
        (
            ids["A3"],
            "lead_confirmation",
            "need_nurturing",
            at(2026, 12, 20),
            "m_east",
            ["evaluation_passed", "priority_assigned"],
            [],
        ),
        (
            ids["A2"],
            "development",
            "entry",
            at(2026, 12, 1),
            "m_east",
            ["evaluation_passed", "priority_assigned"],
            ["Evaluation recorded and passed"],
        ),
        (
            ids["C3"],
            "entry",
            "proposal",
            at(2026, 10, 20),
            "m_west",
            ["coach", "decision_maker", "candidate_confirmed"],
            None,
        ),
    ]
    assert r.drill["forced"] == [ids["A3"], ids["A2"], ids["C3"]]


def test_the_books_alerts_and_a_deals_at_risk(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: A2 forced_gate (high); C1 stalled (high); A1 behind_buyer and stalled (medium)
    assert r.alerts_by_severity == {"high": 2, "medium": 2, "low": 0}
    assert r.alerts_by_code == {"forced_gate": 1, "behind_buyer": 1, "stalled": 2}
    assert r.drill["alerts:high"] == [ids["A2"], ids["C1"]]
    assert r.drill["alerts:medium"] == [ids["A1"]]
    assert "alerts:low" not in r.drill
    assert r.drill["code:stalled"] == [ids["C1"], ids["A1"]]
    # A deals: A1 and A3 (graded by their evaluation), A2 (by hand); only A2 has a high
    # alert. C1 has one but no grade.
    grades = {k: models.Opportunity.objects.get(pk=ids[k]).priority for k in ids}
    assert {k: grades[k] for k in ("A1", "A2", "A3", "C1")} == {
        "A1": "A",
        "A2": "A",
        "A3": "A",
        "C1": "",
    }
    assert [(x.opportunity.pk, x.probability, [a.code for a in x.alerts]) for x in r.at_risk] == [
        (ids["A2"], 10, ["forced_gate"])
    ]
    assert r.drill["at_risk"] == [ids["A2"]]


def test_the_books_conversion_per_stage(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: stage exits in the period
    #   S6 development: A1 advanced after 40 days, A2 forced after 11; A5 abandoned there
    #                   → 2 ÷ 3 = 0.6667; median of (40, 11) = 25.5
    #   S6 entry:       C3 forced after 40 days (10 Sep → 20 Oct) → 1.0, 40
    #   S6 proposal:    C3 lost there → 0 ÷ 1 = 0.0, no median
    #   S6 negotiation: A4 won after 183 days (1 Jul 10:00 → 31 Dec 23:59:59); A6's win on
    #                   30 September is before the period → 1.0, 183
    #   M5 lead confirmation: A3 forced after 5 days → 1.0, 5
    #   M5 contract signing:  C2 won after 87 days (10 Aug 10:00 → 5 Nov 15:00); C4 after
    assert conversion(r) == [
        (S6, "development", 2, 1, 1, 0.6667, 25.5),
        (S6, "entry", 1, 1, 0, 1.0, 40.0),
        (S6, "proposal", 0, 0, 1, 0.0, None),
        (S6, "bidding", 0, 0, 0, None, None),
        (S6, "negotiation", 1, 0, 0, 1.0, 183.0),
        (M5, "lead_confirmation", 1, 1, 0, 1.0, 5.0),
        (M5, "need_nurturing", 0, 0, 0, None, None),
        (M5, "solution_evaluation", 0, 0, 0, None, None),
        (M5, "negotiation", 0, 0, 0, None, None),
        (M5, "contract_signing", 1, 0, 0, 1.0, 87.0),
    ]
    assert [(c.key, c.healthy_days) for c in r.conversion[:5]] == [
        ("development", 45),
        ("entry", 60),
        ("proposal", 60),
        ("bidding", 45),
        ("negotiation", 30),
    ]
    assert r.drill["advanced:standard-6:development"] == [ids["A1"], ids["A2"]]
    assert r.drill["dropped:standard-6:development"] == [ids["A5"]]
    assert r.drill["advanced:standard-6:entry"] == [ids["C3"]]
    assert r.drill["dropped:standard-6:proposal"] == [ids["C3"]]
    assert r.drill["advanced:milestones-5:contract_signing"] == [ids["C2"]]


def test_a_deal_deleted_since_its_advance_is_counted_neither_by_stage_nor_by_owner(world, ids):
    # given: A1 advanced past development in the period (after 40 days), then deleted
    # as entered by mistake; its events stay in the history
    before = report(world.admin, period="2026Q4")
    a1 = models.Opportunity.objects.get(pk=ids["A1"])
    opportunity_delete(actor=world.admin, opportunity=a1)
    # when
    r = report(world.admin, period="2026Q4")
    # then: S6 development keeps A2's forced advance after 11 days and A5's drop
    assert conversion(r)[0] == (S6, "development", 1, 1, 1, 0.5, 11.0)
    assert conversion(before)[1:] == conversion(r)[1:]
    # and rep_a (A1's owner) has one advance fewer, rep_c the same
    advances = {x.user.username: x.seller_advances for x in r.reps}
    was = {x.user.username: x.seller_advances for x in before.reps}
    assert advances == {**was, world.rep_a.username: was[world.rep_a.username] - 1}
    assert r.drill.count(f"rep_advances:{world.rep_a.pk}") == 3  # A2, A3, A4


def test_the_books_win_rate_and_cycle(world, ids):
    # when
    r = report(world.admin, period="2026Q4")
    # then: closed in the period: C2 won 60 000 (5 Nov), C3 lost 90 000, A5 abandoned
    # 50 000, A4 won 200 000 (31 Dec 23:59:59); A6 (30 Sep 23:59:59) and C4 (5 Jan) are
    # outside. By count 2 ÷ 4 = 0.5; by amount 260 000 ÷ 400 000 = 0.65.
    assert outcomes(r) == ((2, 1, 1, 4), ("260000.00", "90000.00", "50000.00"), (0.5, 0.65))
    # cycle from creation to the win: C2 87 days, A4 183 days → median (87 + 183) / 2
    assert (r.cycle.days.sorted(), r.cycle.median, r.cycle.mean) == ([87, 183], 135.0, 135.0)
    assert r.drill["won"] == [ids["C2"], ids["A4"]]
    assert r.drill["lost"] == [ids["C3"]]
    assert r.drill["abandoned"] == [ids["A5"]]


def test_the_stalled_and_at_risk_lists_hold_their_first_rows_the_drill_all(world, ids):
    # given: the whole lists
    full = report(world.admin, period="2026Q4")
    # when: the report lists one row of each
    with clock.freeze(NOW):
        short = pipeline_report(world.admin, parse_filters(world.admin, period="2026Q4"), listed=1)
    # then: the first row of each, the same; the drill figures (and the counts) keep all
    assert [x.opportunity.pk for x in full.stalled] == [ids["C1"], ids["A1"]]
    assert [x.opportunity.pk for x in short.stalled] == [ids["C1"]]
    assert short.stalled[0] == full.stalled[0]
    assert [x.opportunity.pk for x in short.at_risk] == [ids["A2"]]
    assert short.drill == full.drill
    assert short.drill["stalled"] == [ids["C1"], ids["A1"]]


# --- the period changes the flows, not the open book ------------------------------------------


NOW_FIGURES = ("open", "stage", "buyer", "month", "code", "alerts", "stalled", "at_risk")


def now_figures(r) -> tuple:
    return (
        bucket(r.total),
        funnel(r.by_stage),
        funnel(r.by_buyer_stage),
        [(x.opportunity.pk, x.days, x.severity) for x in r.stalled],
        r.alerts_by_severity,
        r.alerts_by_code,
        [x.opportunity.pk for x in r.at_risk],
        {pk: r.probabilities[pk] for pk in r.drill.get("open", [])},
        {k: v for k, v in r.drill.items() if k.split(":")[0] in NOW_FIGURES},
    )


@pytest.mark.parametrize(
    "params",
    [{}, {"period": "2026"}, {"period": "2026-10"}, {"start": "2026-09-30", "end": "2026-09-30"}],
)
def test_the_period_does_not_change_the_now_figures(world, ids, params):
    # given
    quarter = report(world.admin, period="2026Q4")
    # when
    other = report(world.admin, **params)
    # then
    assert now_figures(other) == now_figures(quarter)


def test_the_year_2026(world, ids):
    # when
    r = report(world.admin, period="2026")
    # then: progress over the whole year —
    #   A1 need → search → approval → criteria: +3;  A2 +3 −1;  A3 +1;  A5 +1
    #   C1 criteria → evaluation (30 Sep 23:59:59) → criteria (15 Oct): +1 −1, net 0, and
    #   its change at 00:00 on 1 January 2027 is after; C3 +1 −1, net 0
    assert moves(r) == [
        (ids["A1"], 3, 3, 0, 3, "need", "criteria"),
        (ids["A2"], 2, 3, 1, 2, "need", "approval"),
        (ids["A3"], 1, 1, 0, 1, "need", "search"),
        (ids["A5"], 1, 1, 0, 1, "need", "search"),
        (ids["C1"], 0, 1, 1, 2, "criteria", "criteria"),
        (ids["C3"], 0, 1, 1, 2, "approval", "approval"),
    ]
    assert progress(r) == (4, 7, 3, 3)
    # closed in 2026: A6 won 30 000 (30 Sep 23:59:59), C2 won, C3 lost, A5 abandoned, A4 won
    # → 3 ÷ 5 = 0.6; 290 000 ÷ 430 000 = 0.67442 → 0.6744
    assert outcomes(r) == ((3, 1, 1, 5), ("290000.00", "90000.00", "50000.00"), (0.6, 0.6744))
    # cycle: A6 152 days (1 May 10:00 → 30 Sep 23:59:59), C2 87, A4 183 → median 152,
    # mean 422 / 3 = 140.67 → 140.7
    assert (r.cycle.days.sorted(), r.cycle.median, r.cycle.mean) == ([87, 152, 183], 152.0, 140.7)
    # S6 negotiation: A6 after 152 days and A4 after 183 → median 167.5
    assert conversion(r)[4] == (S6, "negotiation", 2, 0, 0, 1.0, 167.5)
    # the forecast now starts at the period's first month with data: A6's win in 2026-09,
    # October filled in empty
    z = "0.00"
    assert months(r)[:2] == [
        ("2026-09", 0, z, z, 1, "30000.00", False),
        ("2026-10", 0, z, z, 0, z, False),
    ]
    assert [m.month for m in r.forecast[2:]] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
    ]


def test_the_default_period_is_this_quarter(world, ids):
    # when: no period on 2027-01-10
    r = report(world.admin)
    # then: 2027Q1 — C1's change at 00:00 on 1 January (criteria → evaluation), C4's win on
    # 5 January after 35 days in contract signing (created 2026-12-01 10:00)
    assert r.filters.period == Period(D(2027, 1, 1), D(2027, 3, 31), key="2027Q1")
    assert moves(r) == [(ids["C1"], 1, 1, 0, 1, "criteria", "evaluation")]
    assert progress(r) == (1, 1, 0, 0)
    assert outcomes(r) == ((1, 0, 0, 1), ("40000.00", "0.00", "0.00"), (1.0, 1.0))
    assert (r.cycle.days.sorted(), r.cycle.median, r.cycle.mean) == ([35], 35.0, 35.0)
    assert conversion(r)[-1] == (M5, "contract_signing", 1, 0, 0, 1.0, 35.0)
    assert r.forced == []
    # the forecast starts at the earliest expected close (2026-12, before the period)
    assert [(m.month, m.won_count) for m in r.forecast] == [
        ("2026-12", 1),
        ("2027-01", 1),
        ("2027-02", 0),
        ("2027-03", 0),
    ]


def test_a_period_starts_at_its_first_local_midnight(world, ids):
    # when: the single day 2026-10-01
    r = report(world.admin, start="2026-10-01", end="2026-10-01")
    # then: A1's change at 00:00:00 China time (16:00 UTC the day before) is in it
    assert r.filters.period == Period(D(2026, 10, 1), D(2026, 10, 1))
    assert moves(r) == [(ids["A1"], 1, 1, 0, 1, "search", "approval")]
    assert outcomes(r) == NO_OUTCOMES


def test_a_period_ends_at_the_local_midnight_after_its_last_day(world, ids):
    # when: the single day 2026-09-30
    r = report(world.admin, start="2026-09-30", end="2026-09-30")
    # then: C1's change and A6's win at 23:59:59 are in it; A1's at 00:00:00 on 1 October
    # is not
    assert moves(r) == [(ids["C1"], 1, 1, 0, 1, "criteria", "evaluation")]
    assert outcomes(r) == ((1, 0, 0, 1), ("30000.00", "0.00", "0.00"), (1.0, 1.0))
    assert r.cycle.days.sorted() == [152]
    assert conversion(r)[4] == (S6, "negotiation", 1, 0, 0, 1.0, 152.0)


# --- filters ----------------------------------------------------------------------------------

REP_A_VIEW = {
    "open": ["A2", "A1", "A3"],
    "total": (3, "430000.50", "61000.13"),
    # won A4 200 000, abandoned A5 50 000 → 0.5 and 200 000 ÷ 250 000 = 0.8
    "outcomes": ((1, 0, 1, 2), ("200000.00", "0.00", "50000.00"), (0.5, 0.8)),
    "progress": ["A2", "A1", "A3", "A5"],
    "stalled": ["A1"],
    "forced": ["A3", "A2"],
    "at_risk": ["A2"],
    "alerts": {"high": 1, "medium": 2, "low": 0},
}
REP_C_VIEW = {
    "open": ["C1"],
    "total": (1, "120000.00", "60000.00"),
    # won C2 60 000, lost C3 90 000 → 0.5 and 60 000 ÷ 150 000 = 0.4
    "outcomes": ((1, 1, 0, 2), ("60000.00", "90000.00", "0.00"), (0.5, 0.4)),
    "progress": ["C3", "C1"],
    "stalled": ["C1"],
    "forced": ["C3"],
    "at_risk": [],
    "alerts": {"high": 1, "medium": 0, "low": 0},
}
ALL_VIEW = {
    "open": ["A2", "C1", "A1", "A3"],
    "total": (4, "550000.50", "121000.13"),
    "outcomes": ((2, 1, 1, 4), ("260000.00", "90000.00", "50000.00"), (0.5, 0.65)),
    "progress": ["A2", "A1", "A3", "A5", "C3", "C1"],
    "stalled": ["C1", "A1"],
    "forced": ["A3", "A2", "C3"],
    "at_risk": ["A2"],
    "alerts": {"high": 2, "medium": 2, "low": 0},
}
NOTHING = {
    "open": [],
    "total": EMPTY,
    "outcomes": NO_OUTCOMES,
    "progress": [],
    "stalled": [],
    "forced": [],
    "at_risk": [],
    "alerts": NO_ALERTS,
}


def expected(ids, view: dict, people: list[str]) -> dict:
    named = ("open", "progress", "stalled", "forced", "at_risk")
    return {k: [ids[x] for x in v] if k in named else v for k, v in view.items()} | {"reps": people}


def test_filter_by_owner(world, ids):
    # when
    r = report(world.admin, period="2026Q4", owner=world.rep_c.pk)
    # then: rep_c's deals only, and only rep_c's row
    assert summary(r) == expected(ids, REP_C_VIEW, ["rep_c"])
    assert r.filters.owner == world.rep_c
    assert funnel(r.by_stage) == [
        (
            M5,
            k,
            *((1, "120000.00", "60000.00") if k == "solution_evaluation" else EMPTY),
        )
        for k in M5_FUNNEL
    ]


@pytest.mark.parametrize(
    ("team", "view", "people"),
    [("East", REP_A_VIEW, ["rep_a", "m_east", "rep_b"]), ("West", REP_C_VIEW, ["rep_c", "m_west"])],
)
def test_filter_by_team(world, ids, team, view, people):
    # given
    group = Team.objects.get(name=team)
    # when
    r = report(world.admin, period="2026Q4", team=group.pk)
    # then
    assert summary(r) == expected(ids, view, people)
    assert r.filters.team == group


def test_filter_by_playbook(world, ids):
    # when
    r = report(world.admin, period="2026Q4", playbook=M5)
    # then: open C1 + A3 = 200 000.50, weighted 60 000 + 20 000.13; closed in the period
    # only C2 (won); progress A3 +1, C1 −1; forced A3's; the funnel and the conversion
    # of that playbook only
    view = {
        "open": ["C1", "A3"],
        "total": (2, "200000.50", "80000.13"),
        "outcomes": ((1, 0, 0, 1), ("60000.00", "0.00", "0.00"), (1.0, 1.0)),
        "progress": ["A3", "C1"],
        "stalled": ["C1"],
        "forced": ["A3"],
        "at_risk": [],
        "alerts": {"high": 1, "medium": 0, "low": 0},
    }
    assert summary(r) == expected(ids, view, ["rep_a", "rep_c", "m_east", "m_west", "rep_b"])
    assert [row.playbook for row in r.by_stage] == [M5] * 5
    assert conversion(r) == [
        (M5, "lead_confirmation", 1, 1, 0, 1.0, 5.0),
        (M5, "need_nurturing", 0, 0, 0, None, None),
        (M5, "solution_evaluation", 0, 0, 0, None, None),
        (M5, "negotiation", 0, 0, 0, None, None),
        (M5, "contract_signing", 1, 0, 0, 1.0, 87.0),
    ]
    # the forecast: C1 in 2027-01 and A3 in 2027-03; C2 won in 2026-11 and C4 in 2027-01
    assert [m.month for m in r.forecast] == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
    assert [
        (m.month, m.open.count, m.won_count) for m in r.forecast if m.open.count or m.won_count
    ] == [
        ("2026-11", 0, 1),
        ("2027-01", 1, 1),
        ("2027-03", 1, 0),
    ]


def test_filters_combine(world, ids):
    # when: rep_a's milestones-5 deals
    r = report(world.manager_east, period="2026Q4", owner=world.rep_a.pk, playbook=M5)
    # then: A3 only
    view = {
        "open": ["A3"],
        "total": (1, "80000.50", "20000.13"),
        "outcomes": NO_OUTCOMES,
        "progress": ["A3"],
        "stalled": [],
        "forced": ["A3"],
        "at_risk": [],
        "alerts": NO_ALERTS,
    }
    assert summary(r) == expected(ids, view, ["rep_a"])


def test_filters_as_a_query_string(world):
    # given
    east = Team.objects.get(name="East")
    # when
    named = parse_filters(
        world.admin, period="2026q4", owner=world.rep_a.pk, team=east.pk, playbook=S6
    )
    dated = parse_filters(world.admin, start="2026-11-01", end=D(2026, 11, 30))
    # then
    assert named.query() == {
        "period": "2026Q4",
        "owner": str(world.rep_a.pk),
        "team": str(east.pk),
        "playbook": S6,
    }
    assert dated.query() == {"start": "2026-11-01", "end": "2026-11-30"}


def test_an_admin_may_pick_any_team_and_a_manager_their_own(world):
    east, west = Team.objects.get(name="East"), Team.objects.get(name="West")
    assert parse_filters(world.admin, team=west.pk).team == west
    assert parse_filters(world.admin, team=east.pk).team == east
    assert parse_filters(world.manager_east, team=east.pk).team == east
    assert parse_filters(world.manager_east, owner=world.rep_b.pk).owner == world.rep_b
    assert parse_filters(world.rep_a, owner=world.rep_a.pk).owner == world.rep_a


def _refused(user, **params) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as info:
        parse_filters(user, **params)
    return info.value.field, str(info.value.message)


def test_an_owner_outside_the_scope_is_refused_like_an_unknown_one(world):
    # when
    unknown = _refused(world.manager_east, owner=999_999)
    outside = _refused(world.manager_east, owner=world.rep_c.pk)
    # then: the same words, so the answer does not tell whether the person exists
    assert unknown == ("owner", "No one with id 999999 among the people whose deals you see.")
    assert outside == (
        "owner",
        f"No one with id {world.rep_c.pk} among the people whose deals you see.",
    )
    assert _refused(world.rep_a, owner=world.rep_b.pk)[0] == "owner"
    assert _refused(world.rep_a, owner=world.manager_east.pk)[0] == "owner"


def test_a_team_that_is_not_the_managers_is_refused_like_an_unknown_one(world):
    # given
    east, west = Team.objects.get(name="East"), Team.objects.get(name="West")
    message = "No team with id {} among the teams whose deals you see."
    # then
    assert _refused(world.manager_east, team=west.pk) == ("team", message.format(west.pk))
    assert _refused(world.manager_east, team=999_999) == ("team", message.format(999_999))
    assert _refused(world.rep_a, team=east.pk) == ("team", message.format(east.pk))
    assert _refused(world.admin, team=999_999) == ("team", message.format(999_999))


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"period": "2026Q4", "start": "2026-10-01"},
            "period",
            "Give either a period (such as 2026Q4) or start and end, not both.",
        ),
        (
            {"period": "2026Q4", "start": "2026-10-01", "end": "2026-12-31"},
            "period",
            "Give either a period (such as 2026Q4) or start and end, not both.",
        ),
        (
            {"period": "2026Q5"},
            "period",
            "Unknown period “2026Q5”. Write a year (2026), a half (2026H1), a quarter (2026Q3) "
            "or a month (2026-07).",
        ),
        ({"period": "2026-13"}, "period", "There is no month 13; write 01 to 12."),
        ({"start": "2026-10-01"}, "end", "Give the end of the period too."),
        ({"end": "2026-10-01"}, "start", "Give the start of the period too."),
        (
            {"start": "2026-10-02", "end": "2026-10-01"},
            "end",
            "The end of the period is before its start.",
        ),
        (
            {"playbook": "nope"},
            "playbook",
            "Unknown playbook “nope”. Use one of: milestones-5, standard-6.",
        ),
    ],
)
def test_bad_filters_name_the_field(world, params, field, message):
    assert _refused(world.admin, **params) == (field, message)


# --- visibility -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "view", "people"),
    [
        ("rep_a", REP_A_VIEW, ["rep_a"]),
        ("rep_b", NOTHING, ["rep_b"]),
        ("rep_c", REP_C_VIEW, ["rep_c"]),
        ("manager_east", REP_A_VIEW, ["rep_a", "m_east", "rep_b"]),
        ("manager_west", REP_C_VIEW, ["rep_c", "m_west"]),
        ("admin", ALL_VIEW, ["rep_a", "rep_c", "m_east", "m_west", "rep_b"]),
    ],
)
def test_each_role_sees_exactly_its_deals_figures(world, ids, viewer, view, people):
    # when
    r = report(getattr(world, viewer), period="2026Q4")
    # then
    assert summary(r) == expected(ids, view, people)
    # every id behind any figure is a deal the viewer may see
    owners = {"rep_a": "A", "manager_east": "A", "rep_c": "C", "manager_west": "C", "admin": "AC"}
    visible = {pk for name, pk in ids.items() if name[0] in owners.get(viewer, "")}
    assert {pk for found in r.drill.values() for pk in found} <= visible
    # … and no deal out of sight has a probability in the report
    assert {pk for pk in ids.values() if r.probabilities.get(pk) is not None} <= visible


# --- queries ----------------------------------------------------------------------------------


def grow(world, n: int) -> None:
    """n deals alternating between rep_a and rep_c, cycling through: forced past
    development with a buyer-stage change, won at negotiation, lost at development, open
    with a buyer-stage change — all in 2026Q4."""
    for i in range(n):
        rep = (world.rep_a, world.rep_c)[i % 2]
        boss = (world.manager_east, world.manager_west)[i % 2]
        kind = i % 4
        stage = "negotiation" if kind == 1 else None
        buyer = "negotiation" if kind == 1 else None
        d = new_deal(
            rep,
            f"Deal {i:02d}",
            1000 * (i + 1),
            D(2027, 1 + i % 6, 28),
            when=at(2026, 10, 5),
            stage=stage,
            buyer=buyer,
        )
        if kind == 0:
            buyer_moves(rep, d, "search", when=at(2026, 10, 10))
            advance(boss, d, when=at(2026, 10, 12), force=True)
        elif kind == 1:
            win(rep, d, when=at(2026, 11, 3))
        elif kind == 2:
            drop(rep, d, "lost", when=at(2026, 11, 4))
        else:
            buyer_moves(rep, d, "approval", when=at(2026, 12, 1))


# The report's queries, whatever the size of the book, once every open deal's kept
# assessment holds (kam/opportunities/stored.py):
#   2   the open deals counted over their kept assessments: by stage, buyer stage and
#       expected close; by owner and combination of alerts (and whether it holds)
#   1   the stalled deals, with how long they have been in their stage
#   1   the largest A deals at risk
#   1+8 the stalled and A-at-risk deals listed, with their facts
#   1   won per month
#   2   buyer-stage progress: the per-deal sums, the deals that moved
#   1   our stage advances: by stage and days in it, and by owner (one statement)
#   2   the deals closed in the period: by outcome, stage and owner; the won by days
#   1   the forced moves (with deal, account, owner, actor)
#   8   the facts of their open deals (deal_facts_many: evaluations, stakeholders,
#       purchase criteria, milestones, forced moves, the stakeholder-change events,
#       intel, competition scores), for what is still unmet
#   1   the win probabilities of the open deals among the progress and forced moves
#   1   the people
REPORT_QUERIES = 30
# The first time (nothing kept yet, or everything changed): the deals whose kept
# assessment does not hold (1) and their facts (8), and keeping their assessments after
# the report (a savepoint, one INSERT … ON CONFLICT per 500 rows, its release).
REPORT_QUERIES_COLD = REPORT_QUERIES + 1 + 8 + 3


@pytest.mark.parametrize("size", [2, 12])
def test_the_report_costs_the_same_queries_for_2_and_12_deals(
    world, size, django_assert_num_queries
):
    # given
    grow(world, size)
    filters = parse_filters(world.admin, period="2026Q4")
    # when / then
    with clock.freeze(NOW), django_assert_num_queries(REPORT_QUERIES_COLD):
        first = pipeline_report(world.admin, filters)
    with clock.freeze(NOW), django_assert_num_queries(REPORT_QUERIES):
        r = pipeline_report(world.admin, filters)
    assert r == first
    assert len(r.drill["open"]) == {2: 1, 12: 6}[size]
    assert r.drill["forced"] and r.drill["won"] and r.drill["progress"]


def test_postgresql_knows_how_few_groups_the_open_deals_make(book):
    """The dashboard groups the open deals by playbook, stage, buyer stage and month of
    expected close (opportunities migration 0010 makes statistics on exactly those,
    `YearMonth` included): the planner must expect about as many groups as there are,
    not the product of each column's count, or it sorts the book instead of hashing it."""
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"  # SQLite keeps no such statistics
        return
    # given: 4,000 open deals in 20 combinations, each column with 20 values of its own
    deal = book["rep_a"]["opportunity"]
    models.Opportunity.objects.bulk_create(
        models.Opportunity(
            account_id=deal.account_id,
            owner_id=deal.owner_id,
            name=f"Deal {i}",
            amount=1000,
            expected_close=dt.date(2027, 1, 1) + dt.timedelta(days=31 * (i % 20)),
            playbook=f"playbook-{i % 20}",
            stage=f"stage-{i % 20}",
            buyer_stage=f"buyer-{i % 20}",
        )
        for i in range(4000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE opportunities_opportunity")
    groups = (
        models.Opportunity.objects.filter(status="open", playbook__startswith="playbook-")
        .annotate(_month=YearMonth("expected_close"))
        .values("playbook", "stage", "buyer_stage", "_month")
        .annotate(n=Count("pk"))
    )
    # when
    plan = json.loads(groups.explain(format="json"))[0]["Plan"]
    # then: 20 groups found, and about 20 expected (without the statistics: 400)
    assert len(groups) == 20
    assert plan["Plan Rows"] <= 40, plan


def test_filters_cost_one_query_each_and_nothing_more_in_the_report(
    world, django_assert_num_queries
):
    # given
    grow(world, 4)
    east = Team.objects.get(name="East")
    # when / then: the owner and the team are read once each while checking the filters
    with django_assert_num_queries(2):
        filters = parse_filters(
            world.admin, period="2026Q4", owner=world.rep_a.pk, team=east.pk, playbook=S6
        )
    with clock.freeze(NOW), django_assert_num_queries(REPORT_QUERIES_COLD):
        pipeline_report(world.admin, filters)


# --- the deals behind a number ----------------------------------------------------------------


def test_the_deals_behind_each_figure(world, ids):
    # given
    filters = parse_filters(world.admin, period="2026Q4")
    a, c = world.rep_a.pk, world.rep_c.pk
    cases = {
        "open": ["A2", "C1", "A1", "A3"],
        "stage:standard-6:entry": ["A2", "A1"],
        "stage:milestones-5:need_nurturing": ["A3"],
        "stage:standard-6:bidding": [],
        "buyer:criteria": ["A1"],
        "buyer:need": [],
        "month:2026-12": ["A2"],
        "month:2027-03": ["A3"],
        "month:2026-11": [],
        "won_month:2026-11": ["C2"],
        "won_month:2026-12": ["A4"],
        "won_month:2027-01": ["C4"],
        # any month, shown or not: the win of 30 September 23:59:59 is September's
        "won_month:2026-09": ["A6"],
        "won_month:2026-10": [],
        "progress": ["A2", "A1", "A3", "A5"],
        "moved_back": ["A2", "C3", "C1"],
        "stalled": ["C1", "A1"],
        "forced": ["A3", "A2", "C3"],
        "at_risk": ["A2"],
        "alerts:high": ["A2", "C1"],
        "alerts:medium": ["A1"],
        "alerts:low": [],
        "code:forced_gate": ["A2"],
        "code:behind_buyer": ["A1"],
        "code:stalled": ["C1", "A1"],
        "code:no_coach": [],
        "won": ["C2", "A4"],
        "lost": ["C3"],
        "abandoned": ["A5"],
        "advanced:standard-6:development": ["A1", "A2"],
        "dropped:standard-6:development": ["A5"],
        "advanced:standard-6:negotiation": ["A4"],
        "advanced:milestones-5:lead_confirmation": ["A3"],
        "dropped:standard-6:proposal": ["C3"],
        f"rep_open:{a}": ["A2", "A1", "A3"],
        f"rep_progress:{a}": ["A2", "A1", "A3", "A5"],
        f"rep_won:{a}": ["A4"],
        f"rep_won:{c}": ["C2"],
        f"rep_advances:{a}": ["A1", "A2", "A3", "A4"],  # each deal once, by the advance's time
        f"rep_advances:{c}": ["C3", "C2"],  # forced past entry 20 Oct, C2 signed 5 Nov
        f"rep_progress:{c}": [],
        f"rep_open:{world.rep_b.pk}": [],
    }
    # when
    with clock.freeze(NOW):
        r = pipeline_report(world.admin, filters)
        found = {f: deal_ids_behind(world.admin, filters, f, r) for f in cases}
        alone = deal_ids_behind(world.admin, filters, "stalled")  # computes its own report
    # then
    assert found == {f: [ids[k] for k in names] for f, names in cases.items()}
    assert alone == [ids["C1"], ids["A1"]]


def test_the_deals_behind_a_figure_follow_the_filters_and_the_viewer(world, ids):
    # when
    with clock.freeze(NOW):
        rep = deal_ids_behind(world.rep_c, parse_filters(world.rep_c, period="2026Q4"), "won")
        won_dec = deal_ids_behind(
            world.rep_c, parse_filters(world.rep_c, period="2026Q4"), "won_month:2026-12"
        )
        pb = deal_ids_behind(
            world.admin, parse_filters(world.admin, period="2026Q4", playbook=M5), "open"
        )
    # then: rep_c does not see A4 (won in December) behind any number
    assert rep == [ids["C2"]]
    assert won_dec == []
    assert pb == [ids["C1"], ids["A3"]]


@pytest.mark.parametrize(
    "figure",
    [
        "",
        "   ",
        "everything",
        "month:2026-13",
        "month:2026-00",
        "won_month:2026-13",
        "month:26-01",
        "month:2026-1",
        "stage:standard-6",
        "stage::entry",
        "advanced:standard-6:",
        "buyer:",
        "code:a b",
        "alerts:critical",
        "alerts:",
        "rep_open:",
        "rep_open:x",
        "rep_won:-1",
        "open;drop table",
        "OPEN",
        "stalled:1",
    ],
)
def test_a_bad_figure_is_refused_naming_the_forms(world, figure):
    # when
    with pytest.raises(ValidationFailed) as info:
        check_figure(figure)
    # then
    assert info.value.field == "figure"
    message = str(info.value.message)
    assert message.startswith(f"Unknown figure “{figure.strip()}”. Use one of: open, progress,")
    assert message.endswith("rep_open:USER, rep_progress:USER, rep_advances:USER, rep_won:USER.")
    with pytest.raises(ValidationFailed):
        deal_ids_behind(world.admin, parse_filters(world.admin), figure)


@pytest.mark.parametrize(
    "figure",
    [
        "open",
        " open ",
        "month:2026-01",
        "month:2026-12",
        "won_month:1999-12",
        "stage:standard-6:entry",
        "dropped:milestones-5:contract_signing",
        "code:key_person_changed",
        "alerts:low",
        "rep_open:1",
    ],
)
def test_a_good_figure_is_accepted_without_its_blanks(figure):
    assert check_figure(figure) == figure.strip()


# --- more now-figures: alerts counted per alert, ties, long forecasts -------------------------


def test_alerts_are_counted_one_by_one_and_deals_once_behind_them(world):
    # given: three A deals of rep_a (graded by hand), open at NOW
    a, boss = world.rep_a, world.manager_east
    # X: forced past development (evaluation still missing) then past entry (coach,
    # decision maker, candidate status missing): two forced_gate alerts → 40 × 0.5 × 0.5
    # = 10 % of 100 000
    x = new_deal(a, "Xray", "100000.00", D(2027, 2, 1), when=at(2026, 12, 1))
    advance(boss, x, when=at(2026, 12, 2), force=True)
    advance(boss, x, when=at(2026, 12, 3), force=True)
    buyer_moves(a, x, "criteria", when=at(2026, 12, 4))
    # Y: brought in at entry, forced past it: one forced_gate → 20 % of 300 000
    y = new_deal(
        a,
        "Yankee",
        "300000.00",
        D(2027, 3, 1),
        when=at(2026, 12, 1),
        stage="entry",
        buyer="approval",
    )
    advance(boss, y, when=at(2026, 12, 2, 11), force=True)
    buyer_moves(a, y, "criteria", when=at(2026, 12, 4))
    # Z: at entry with the customer two stages on (evaluation): behind_buyer high ×0.8
    # → 16 % of 300 000
    z = new_deal(
        a,
        "Zulu",
        "300000.00",
        D(2027, 1, 20),
        when=at(2026, 12, 1),
        stage="entry",
        buyer="evaluation",
    )
    with clock.freeze(at(2026, 12, 5)):
        for deal in (x, y, z):
            process.priority_override(actor=boss, opportunity=deal, grade="A", reason="重点")
    # when
    r = report(world.admin, period="2026Q4")
    # then
    assert {k: r.probabilities[o.pk] for k, o in (("X", x), ("Y", y), ("Z", z))} == {
        "X": 10,
        "Y": 20,
        "Z": 16,
    }
    assert bucket(r.total) == (3, "700000.00", "118000.00")
    assert r.alerts_by_severity == {"high": 4, "medium": 0, "low": 0}
    assert r.alerts_by_code == {"forced_gate": 3, "behind_buyer": 1}
    assert r.drill["open"] == [z.pk, x.pk, y.pk]
    assert r.drill["alerts:high"] == [z.pk, x.pk, y.pk]
    assert r.drill["code:forced_gate"] == [x.pk, y.pk]
    # A deals at risk: the largest amount first, then the older deal
    assert [(o.opportunity.pk, o.probability, [al.code for al in o.alerts]) for o in r.at_risk] == [
        (y.pk, 20, ["forced_gate"]),
        (z.pk, 16, ["behind_buyer"]),
        (x.pk, 10, ["forced_gate", "forced_gate"]),
    ]
    # every forced move is listed; each deal once behind the number
    gates = [
        "A coach identified",
        "The decision maker identified",
        "Candidate-supplier status confirmed",
    ]
    assert [(f.move.opportunity_id, f.move.from_stage, texts(f.still_unmet)) for f in r.forced] == [
        (x.pk, "entry", gates),
        (y.pk, "entry", gates),
        (x.pk, "development", ["Evaluation recorded and passed"]),
    ]
    assert r.drill["forced"] == [x.pk, y.pk]
    # conversion: development X (1 day, forced), entry X (1 day) and Y (1 day, 11:00), forced
    assert conversion(r)[:2] == [
        (S6, "development", 1, 1, 0, 1.0, 1.0),
        (S6, "entry", 2, 2, 0, 1.0, 1.0),
    ]


def test_stalled_deals_tie_on_the_earlier_close_and_a_met_gate_misses_nothing(world):
    # given: two deals 50 days in development (healthy 45), one evaluated (gate met)
    a = world.rep_a
    met = new_deal(a, "Met", "1000.00", D(2027, 6, 30), when=at(2026, 11, 21))
    with clock.freeze(at(2026, 11, 22)):
        process.evaluation_record(actor=a, opportunity=met, scores=GOOD)
    bare = new_deal(a, "Bare", "1000.00", D(2027, 5, 31), when=at(2026, 11, 21))
    # when
    r = report(world.admin)
    # then: same 50 / 45, the earlier expected close first
    assert [(x.opportunity.pk, x.days, x.severity, texts(x.missing)) for x in r.stalled] == [
        (bare.pk, 50, "medium", ["Evaluation recorded and passed", "Priority grade assigned"]),
        (met.pk, 50, "medium", []),
    ]


@pytest.mark.parametrize(
    ("last_close", "shown"),
    [
        (D(2029, 12, 31), 36),  # 2027-01 … 2029-12: 36 months, all shown
        (D(2030, 1, 1), 2),  # 37 months: only the months with deals
    ],
)
def test_the_forecast_fills_empty_months_up_to_three_years(world, last_close, shown):
    # given
    new_deal(world.rep_a, "Soon", "1000.00", D(2027, 1, 31), when=at(2027, 1, 2))
    new_deal(world.rep_a, "Late", "1000.00", last_close, when=at(2027, 1, 2))
    # when
    r = report(world.rep_a)
    # then
    assert len(r.forecast) == shown
    assert (r.forecast[0].month, r.forecast[-1].month) == ("2027-01", f"{last_close:%Y-%m}")
    assert sum(m.open.count for m in r.forecast) == 2


def test_progress_is_credited_to_the_deals_current_owner(world):
    # given: rep_a's deal moves two buyer stages, then the manager gives it to rep_b
    deal = new_deal(world.rep_a, "Handed", "1000.00", D(2027, 6, 30), when=at(2026, 10, 5))
    buyer_moves(world.rep_a, deal, "approval", when=at(2026, 10, 6))
    with clock.freeze(at(2026, 10, 7)):
        opportunity_update(actor=world.manager_east, opportunity=deal, owner=world.rep_b)
    # when
    team = report(world.manager_east, period="2026Q4")
    former = report(world.rep_a, period="2026Q4")
    # then
    assert [(x.user.username, x.deals_advanced, x.stages_advanced) for x in team.reps] == [
        ("rep_b", 1, 2),
        ("m_east", 0, 0),
        ("rep_a", 0, 0),
    ]
    assert team.drill[f"rep_progress:{world.rep_b.pk}"] == [deal.pk]
    assert former.progress == [] and former.drill.get("open") is None


# --- durations counted by the database --------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=60))
def test_days_counted_by_duration_give_the_median_and_mean_of_the_list(durations):
    # The database counts the deals per whole day (a histogram); the median and mean
    # from those counts are those of the list of durations.
    import statistics

    from kam.opportunities.pipeline import Days

    days = Days()
    for d in durations:
        days.add(d)
    assert len(days) == len(durations)
    assert days.sorted() == sorted(durations)
    if durations:
        assert days.median == float(statistics.median(durations))
        assert days.mean == round(statistics.fmean(durations), 1)
    else:
        assert (days.median, days.mean) == (None, None)

"""Win probability (SPEC §2.2, §5; kam/opportunities/rules.py): the stage's base
probability times the factor of each alert, clamped to 1–99 while open; 100 won,
0 lost or abandoned; always with the factors that made it. Pure."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam.methodology import registry, risks
from kam.methodology.facts import DealFacts, ForcedMoveFacts
from kam.methodology.risks import Alert, RiskConfig
from kam.methodology.text import Msg
from kam.opportunities.rules import win_probability

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
STANDARD = M.playbooks["standard-6"]
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
CONFIG = RiskConfig(
    rules={
        c: M.risks.rules[c] for c in ("forced_gate", "behind_buyer", "ahead_of_buyer", "stalled")
    }
)



def half_up(x: float) -> int:
    """Whole percent, halves rounded up (12.5 → 13), as the probability shows."""
    return int(Decimal(repr(x)).quantize(Decimal(1), ROUND_HALF_UP))

def alert(code: str, factor: float | None) -> Alert:
    return Alert(
        code=code,
        severity="medium",
        title=Msg(code),
        message=Msg(code),
        action=Msg(code),
        probability_factor=factor,
    )


def clamp(value: int) -> int:
    return min(99, max(1, value))


@pytest.mark.parametrize(
    ("book", "stage", "value"),
    [
        ("standard-6", "development", 10),
        ("standard-6", "entry", 20),
        ("standard-6", "proposal", 40),
        ("standard-6", "bidding", 60),
        ("standard-6", "negotiation", 80),
        ("milestones-5", "lead_confirmation", 10),
        ("milestones-5", "need_nurturing", 25),
        ("milestones-5", "solution_evaluation", 50),
        ("milestones-5", "negotiation", 75),
        ("milestones-5", "contract_signing", 90),
    ],
)
def test_an_open_deal_without_alerts_has_its_stage_base(book, stage, value):
    # when
    found, factors = win_probability(playbook=M.playbooks[book], stage=stage, status="open")
    # then
    assert found == value
    assert [(f.key, f.effect, f.value) for f in factors] == [
        ("stage_base", f"{value}%", value / 100)
    ]


def test_an_open_deal_never_reaches_100():
    # given: implementation's base is 100% (the deal is normally won by then)
    found, factors = win_probability(playbook=STANDARD, stage="implementation", status="open")
    # then
    assert found == 99
    assert [(f.key, f.effect) for f in factors] == [("stage_base", "100%"), ("open_range", "99%")]


@pytest.mark.parametrize(("status", "value"), [("won", 100), ("lost", 0), ("abandoned", 0)])
def test_closed_deals_are_certain(status, value):
    # when: alerts are ignored once the outcome is known
    found, factors = win_probability(
        playbook=STANDARD, stage="bidding", status=status, alerts=[alert("forced_gate", 0.5)]
    )
    # then
    assert found == value
    assert [(f.key, f.effect, f.value) for f in factors] == [
        (f"status_{status}", f"{value}%", value / 100)
    ]


def test_each_alert_factor_is_listed_and_alerts_without_one_are_not():
    # given
    alerts = [alert("forced_gate", 0.5), alert("stalled", None), alert("behind_buyer", 0.8)]
    # when
    found, factors = win_probability(
        playbook=STANDARD, stage="proposal", status="open", alerts=alerts
    )
    # then: 40% × 0.5 × 0.8
    assert found == 16
    assert [(f.key, f.effect, f.value) for f in factors] == [
        ("stage_base", "40%", 0.4),
        ("forced_gate", "×0.5", 0.5),
        ("behind_buyer", "×0.8", 0.8),
    ]
    assert factors[1].label == Msg("forced_gate")


def test_a_tiny_product_is_clamped_to_1():
    # when: 10% halved five times is 0.3%
    found, factors = win_probability(
        playbook=STANDARD,
        stage="development",
        status="open",
        alerts=[alert("forced_gate", 0.5)] * 5,
    )
    # then
    assert found == 1
    assert (factors[-1].key, factors[-1].effect) == ("open_range", "1%")


# --- properties --------------------------------------------------------------------

PAIRS = [(b, s.key) for b in sorted(M.playbooks) for s in M.playbooks[b].stages]
factors = st.none() | st.floats(0.01, 1.0)


@settings(max_examples=150, deadline=None)
@given(pair=st.sampled_from(PAIRS), alert_factors=st.lists(factors, max_size=6))
def test_open_value_is_the_clamped_rounded_product(pair, alert_factors):
    # given
    book = M.playbooks[pair[0]]
    base = book.stage(pair[1]).base_probability
    alerts = [alert(f"code{i}", f) for i, f in enumerate(alert_factors)]
    # when
    found, listed = win_probability(playbook=book, stage=pair[1], status="open", alerts=alerts)
    # then
    product = base
    for f in alert_factors:
        if f is not None:
            product *= f
    raw = half_up(product * 100)
    assert 1 <= found <= 99
    assert found == clamp(raw)
    applied = [(f"code{i}", f) for i, f in enumerate(alert_factors) if f is not None]
    assert [(f.key, f.value) for f in listed[1 : 1 + len(applied)]] == applied
    assert [f.key for f in listed] == (
        ["stage_base"] + [k for k, _ in applied] + (["open_range"] if raw != found else [])
    )


@settings(max_examples=100, deadline=None)
@given(
    pair=st.sampled_from(PAIRS),
    status=st.sampled_from(["won", "lost", "abandoned"]),
    alert_factors=st.lists(factors, max_size=4),
)
def test_closed_value_is_100_or_0(pair, status, alert_factors):
    found, _ = win_probability(
        playbook=M.playbooks[pair[0]],
        stage=pair[1],
        status=status,
        alerts=[alert("x", f) for f in alert_factors],
    )
    assert found == (100 if status == "won" else 0)


GATED = {b: [s for s in M.playbooks[b].stages if s.gate and not s.wins] for b in M.playbooks}


@settings(max_examples=150, deadline=None)
@given(pair=st.sampled_from(PAIRS), data=st.data())
def test_each_forced_gate_still_unmet_halves_the_probability(pair, data):
    # given: a deal forced past k gates, none met since, aligned and fresh in its stage
    book_key, stage_key = pair
    book = M.playbooks[book_key]
    stage = book.stage(stage_key)
    passed = data.draw(
        st.lists(st.sampled_from(GATED[book_key]), max_size=4, unique_by=lambda s: s.key)
    )
    moves = tuple(
        ForcedMoveFacts(id=i, event_id=i, from_stage=s.key, unmet=(s.gate[0].key,), at=NOW)
        for i, s in enumerate(passed, start=1)
    )
    facts = DealFacts(
        id=1,
        playbook=book_key,
        stage=stage_key,
        buyer_stage=(stage.buyer_stages or ["need"])[0],
        status="open",
        priority="",
        stage_entered_at=NOW,
        expected_close=dt.date(2027, 1, 1),
        forced_moves=moves,
    )
    ctx = risks.RiskContext(playbook=book, checks=M.check_context, now=NOW)
    alerts = risks.evaluate(facts, ctx, CONFIG)
    # when
    found, listed = win_probability(playbook=book, stage=stage_key, status="open", alerts=alerts)
    # then
    k = len(moves)
    assert [a.code for a in alerts] == ["forced_gate"] * k
    assert found == clamp(half_up(stage.base_probability * 0.5**k * 100))
    assert [(f.key, f.effect) for f in listed if f.key == "forced_gate"] == [
        ("forced_gate", "×0.5")
    ] * k


def test_halves_round_up_like_the_evaluation_score():
    # given: 25 % × 0.5 = 12.5 %
    book = M.playbooks["milestones-5"]
    stage = next(s for s in book.stages if s.base_probability == 0.25)
    # when
    found, _ = win_probability(playbook=book, stage=stage.key, status="open",
                               alerts=[alert("forced_gate", 0.5)])
    # then
    assert found == 13

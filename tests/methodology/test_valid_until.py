"""`risks.valid_until`: until when a deal's alerts (codes and severities) stay what they
are while its facts do not change. A stored assessment is used up to then
(kam/opportunities/stored.py), so any moment before it must give the same alerts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kam.methodology import checks, registry, risks
from kam.methodology.facts import DealFacts, RoleChangeFacts, StakeholderFacts

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
STAGES = sorted({s.key for b in M.playbooks.values() for s in b.stages})
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def ctx(playbook: str, now: dt.datetime) -> risks.RiskContext:
    return risks.RiskContext(
        playbook=M.playbooks[playbook],
        checks=M.check_context,
        now=now,
        buyer_seller_work=M.buyer_seller_work,
        buying_centre=M.buying_centre,
        competition=M.competition,
    )


def alerts_at(facts: DealFacts, now: dt.datetime) -> list[tuple[str, str]]:
    return [(a.code, a.severity) for a in risks.evaluate(facts, ctx(facts.playbook, now), M.risks)]


# Days and moments around now: what the clock-reading rules compare with it.
offsets = st.integers(-400, 400)
seconds = st.integers(0, 86_399)


@st.composite
def timed_deals(draw) -> DealFacts:
    now = NOW + dt.timedelta(seconds=draw(st.integers(0, 400 * 86_400)))

    def moment() -> dt.datetime:
        return now + dt.timedelta(days=draw(st.integers(-400, 10)), seconds=draw(seconds))

    def day() -> dt.date:
        return now.date() + dt.timedelta(days=draw(st.integers(-60, 10)))

    people = tuple(
        StakeholderFacts(
            id=i,
            contact_id=i,
            name=f"p{i}",
            roles=draw(st.frozensets(st.sampled_from(checks.ROLES), max_size=2)),
            stance=draw(st.sampled_from(checks.STANCES)),
            active=draw(st.booleans()),
            joined_at=draw(st.none() | st.builds(day)),
            left_at=draw(st.none() | st.builds(day)),
        )
        for i in range(draw(st.integers(0, 4)))
    )
    changes = tuple(
        RoleChangeFacts(
            event_id=i,
            stakeholder_id=i,
            name=f"p{i}",
            at=now + dt.timedelta(days=draw(st.integers(-40, 0)), seconds=-draw(seconds)),
            lost_roles=draw(st.frozensets(st.sampled_from(checks.ROLES), min_size=1, max_size=2)),
            was_supportive=draw(st.booleans()),
            removed=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    facts = DealFacts(
        id=1,
        playbook=draw(st.sampled_from(sorted(M.playbooks))),
        stage=draw(st.sampled_from(STAGES)),
        buyer_stage=draw(st.sampled_from(M.buyer.keys)),
        status="open",
        priority="",
        stage_entered_at=moment(),
        expected_close=day(),
        stakeholders=people,
        role_changes=changes,
    )
    return facts, now


@settings(max_examples=300, deadline=None)
@given(case=timed_deals(), share=st.floats(0, 1, exclude_max=True))
def test_the_alerts_hold_at_any_moment_before_valid_until(case, share):
    # given
    facts, now = case
    until = risks.valid_until(facts, ctx(facts.playbook, now), M.risks)
    # then: it is later than now, and nothing changes before it
    assert until is None or until > now
    horizon = until if until is not None else now + dt.timedelta(days=800)
    before = alerts_at(facts, now)
    assert alerts_at(facts, now + (horizon - now) * share) == before
    assert alerts_at(facts, horizon - dt.timedelta(microseconds=1)) == before


def stalled_deal(days_ago: float) -> DealFacts:
    return DealFacts(
        id=1,
        playbook="standard-6",
        stage="entry",
        buyer_stage="approval",
        status="open",
        priority="",
        stage_entered_at=NOW - dt.timedelta(days=days_ago),
        expected_close=NOW.date(),
    )


def test_a_stalled_deal_holds_until_its_next_threshold_day():
    # given: entry is healthy for H days; the alert fires past H, turns high past 2H
    healthy = M.playbooks["standard-6"].stage("entry").healthy_dwell_days
    only_stalled = risks.RiskConfig(rules={"stalled": M.risks.rules["stalled"]})
    fresh = stalled_deal(1)
    late = stalled_deal(healthy + 1.5)
    # when
    fresh_until = risks.valid_until(fresh, ctx("standard-6", NOW), only_stalled)
    late_until = risks.valid_until(late, ctx("standard-6", NOW), only_stalled)
    high_until = risks.valid_until(stalled_deal(3 * healthy), ctx("standard-6", NOW), only_stalled)
    # then
    assert fresh_until == fresh.stage_entered_at + dt.timedelta(days=healthy + 1)
    assert late_until == late.stage_entered_at + dt.timedelta(days=2 * healthy + 1)
    assert high_until is None  # high already: time changes nothing more


def test_a_closed_deal_or_a_rule_switched_off_never_expires():
    closed = DealFacts(**{**stalled_deal(1).__dict__, "status": "won"})
    assert risks.valid_until(closed, ctx("standard-6", NOW), M.risks) is None
    off = M.risks.rules["stalled"].model_copy(update={"enabled": False})
    config = risks.RiskConfig(rules={"stalled": off})
    assert risks.valid_until(stalled_deal(1), ctx("standard-6", NOW), config) is None

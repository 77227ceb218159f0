"""The alert engine's process rules (SPEC §2.2, §5): forced_gate, behind_buyer,
ahead_of_buyer, stalled; thresholds and switches from models/risks.toml. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kam.methodology import checks, registry, risks
from kam.methodology.facts import (
    CriterionFacts,
    DealFacts,
    EvaluationFacts,
    ForcedMoveFacts,
    MilestoneFacts,
    StakeholderFacts,
)
from kam.methodology.risks import Evidence, RiskConfig, alignment
from kam.methodology.text import render

SHIPPED = Path(registry.__file__).parent / "playbooks"
RISKS_FILE = registry.MODELS_DIR / "risks.toml"
M = registry.build([SHIPPED])
BUYER = tuple(M.buyer.keys)
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PROCESS_RULES = ("forced_gate", "behind_buyer", "ahead_of_buyer", "stalled")
# Only the rules under test, so alerts from rules added later do not change these tests.
CONFIG = RiskConfig(rules={code: M.risks.rules[code] for code in PROCESS_RULES})


def en(value) -> str:
    return render(value, lambda s: s, "en")


def ctx(playbook: str = "standard-6", now: dt.datetime = NOW, m=M) -> risks.RiskContext:
    return risks.RiskContext(
        playbook=m.playbooks[playbook],
        checks=m.check_context,
        now=now,
        buyer_seller_work=m.buyer_seller_work,
    )


def deal(**changes) -> DealFacts:
    base = {
        "id": 1,
        "playbook": "standard-6",
        "stage": "entry",
        "buyer_stage": "approval",
        "status": "open",
        "priority": "",
        "stage_entered_at": NOW - dt.timedelta(days=3),
        "expected_close": dt.date(2027, 3, 31),
    }
    return DealFacts(**{**base, **changes})


def forced(from_stage: str, unmet: tuple[str, ...], event_id: int = 7, pk: int = 1):
    return ForcedMoveFacts(
        id=pk,
        event_id=event_id,
        from_stage=from_stage,
        unmet=unmet,
        at=dt.datetime(2026, 10, 1, 3, 0, tzinfo=dt.UTC),
        actor="m_east",
    )


def evaluate(facts: DealFacts, config: RiskConfig = CONFIG, **kwargs):
    return risks.evaluate(facts, ctx(facts.playbook, **kwargs), config)


def codes(alerts) -> list[str]:
    return [a.code for a in alerts]


def test_shipped_risk_config():
    rules = M.risks.rules
    assert {
        c: (r.enabled, r.severity, r.probability_factor)
        for c, r in rules.items()
        if c in PROCESS_RULES
    } == {
        "forced_gate": (True, "high", 0.5),
        "behind_buyer": (True, "medium", 0.8),
        "ahead_of_buyer": (True, "medium", 0.7),
        "stalled": (True, "medium", None),
    }
    assert rules["stalled"].params == {"dwell_factor": 1.0, "high_dwell_factor": 2.0}


# --- closed deals ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["won", "lost", "abandoned"])
def test_closed_deals_raise_nothing(status):
    # given: forced, stalled for a year and far ahead of the customer
    facts = deal(
        status=status,
        stage="negotiation",
        buyer_stage="need",
        stage_entered_at=NOW - dt.timedelta(days=365),
        forced_moves=(forced("entry", ("coach",)),),
    )
    # when / then
    assert risks.evaluate(facts, ctx(), M.risks) == []
    assert codes(evaluate(replace(facts, status="open"))) == [
        "forced_gate",
        "ahead_of_buyer",
        "stalled",
    ]


# --- stalled -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "severity"),
    [(0, None), (59, None), (60, None), (61, "medium"), (120, "medium"), (121, "high")],
)
def test_stalled_fires_beyond_the_healthy_dwell_and_is_high_beyond_twice_it(days, severity):
    # given: the entry stage allows 60 days
    assert M.playbooks["standard-6"].stage("entry").healthy_dwell_days == 60
    facts = deal(stage_entered_at=NOW - dt.timedelta(days=days))
    # when
    alerts = [a for a in evaluate(facts) if a.code == "stalled"]
    # then
    assert [a.severity for a in alerts] == ([severity] if severity else [])


def test_stalled_says_how_long_and_what_keeps_the_deal_there():
    # given
    facts = deal(stage_entered_at=NOW - dt.timedelta(days=61, hours=5))
    # when
    [alert] = evaluate(facts)
    # then
    assert alert.code == "stalled"
    assert en(alert.title) == "Stalled in Sales entry"
    assert en(alert.message) == ("61 days in Sales entry; a healthy deal moves on within 60 days.")
    assert en(alert.action) == (
        "Work on what keeps it here: A coach identified, The decision maker identified, "
        "Candidate-supplier status confirmed."
    )
    assert alert.probability_factor is None


def test_stalled_with_the_gate_met_says_advance():
    # given: development, its gate met, 46 days in (healthy: 45)
    facts = deal(
        stage="development",
        buyer_stage="need",
        priority="A",
        evaluation=EvaluationFacts(score=80, passed=True),
        stage_entered_at=NOW - dt.timedelta(days=46),
    )
    # when
    [alert] = evaluate(facts)
    # then
    assert en(alert.action) == "The key node is met: advance the deal to the next stage."


def _override(tmp_path: Path, old: str, new: str) -> Path:
    text = RISKS_FILE.read_text(encoding="utf-8")
    assert old in text
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "risks.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_stalled_thresholds_come_from_the_override_file(tmp_path):
    # given: an admin allows 1.5× the healthy dwell before the alert, 3× before high
    folder = _override(
        tmp_path,
        "params = { dwell_factor = 1.0, high_dwell_factor = 2.0 }",
        "params = { dwell_factor = 1.5, high_dwell_factor = 3.0 }",
    )
    m = registry.build([SHIPPED], model_override_dir=folder)

    def severities(days):
        facts = deal(stage_entered_at=NOW - dt.timedelta(days=days))
        return [a.severity for a in risks.evaluate(facts, ctx(m=m), m.risks) if a.code == "stalled"]

    # when / then
    assert severities(90) == []
    assert severities(91) == ["medium"]
    assert severities(180) == ["medium"]
    assert severities(181) == ["high"]


def test_a_rule_disabled_in_the_override_file_raises_nothing(tmp_path):
    # given
    folder = _override(tmp_path, "[rules.stalled]\n", "[rules.stalled]\nenabled = false\n")
    m = registry.build([SHIPPED], model_override_dir=folder)
    facts = deal(stage_entered_at=NOW - dt.timedelta(days=400), buyer_stage="need")
    # when
    found = risks.evaluate(facts, ctx(m=m), m.risks)
    # then
    assert m.risks.rules["stalled"].enabled is False
    assert "stalled" not in codes(found)
    assert "ahead_of_buyer" in codes(found)
    assert "stalled" in codes(risks.evaluate(facts, ctx(), M.risks))


# --- forced_gate -------------------------------------------------------------------


def test_forced_gate_names_what_is_still_unmet_and_lifts_once_met():
    # given: forced out of development with neither evaluation nor priority
    move = forced("development", ("evaluation_passed", "priority_assigned"))
    facts = deal(forced_moves=(move,))
    # when
    [alert] = evaluate(facts)
    # then
    assert (alert.code, alert.severity, alert.probability_factor) == ("forced_gate", "high", 0.5)
    assert alert.evidence == (Evidence("event", 7),)
    assert en(alert.title) == "Forced past the Development gate"
    assert en(alert.message) == (
        "m_east forced the deal out of Development on 2026-10-01; still unmet: "
        "Evaluation recorded and passed, Priority grade assigned."
    )
    assert en(alert.action) == (
        "Meet the missing items: Evaluation recorded and passed, Priority grade assigned."
    )

    # when: the evaluation passes, the priority is still missing
    half = deal(forced_moves=(move,), evaluation=EvaluationFacts(score=80, passed=True))
    [alert] = evaluate(half)
    # then
    assert en(alert.action) == "Meet the missing items: Priority grade assigned."

    # when: both are met
    met = deal(
        forced_moves=(move,), evaluation=EvaluationFacts(score=80, passed=True), priority="A"
    )
    # then
    assert evaluate(met) == []


def test_forced_gate_one_alert_per_forced_move_still_unmet():
    # given: two gates forced, the second one since met
    facts = deal(
        stage="proposal",
        buyer_stage="criteria",
        stakeholders=(StakeholderFacts(1, 1, "王工", frozenset(), is_coach=True),),
        forced_moves=(
            forced("development", ("priority_assigned",), 7, 1),
            forced("entry", ("coach",), 8, 2),
        ),
    )
    # when
    alerts = evaluate(facts)
    # then
    assert [(a.code, a.evidence) for a in alerts] == [("forced_gate", (Evidence("event", 7),))]


def test_forced_gate_ignores_a_stage_or_criterion_the_playbook_no_longer_has():
    facts = deal(forced_moves=(forced("gone", ("coach",)), forced("entry", ("gone",))))
    assert evaluate(facts) == []


# --- alignment ---------------------------------------------------------------------


def test_behind_the_buyer_by_one_stage_is_medium_with_the_buyer_stage_work():
    # given: still in development (need, search) while the customer has approved the project
    facts = deal(stage="development", buyer_stage="approval")
    # when
    [alert] = evaluate(facts)
    # then
    assert (alert.code, alert.severity, alert.probability_factor) == ("behind_buyer", "medium", 0.8)
    assert en(alert.title) == "Behind the customer"
    assert en(alert.message) == (
        "The customer is already at “Project approval, buying team formed”, 1 step(s) beyond "
        "what our stage Development matches (Problem and need, Information search): we are late."
    )
    assert en(alert.action) == (
        "Catch up with the customer: Map the buying team and their roles; build relationships "
        "with the key persons."
    )


def test_behind_the_buyer_by_two_stages_is_high():
    [alert] = evaluate(deal(stage="development", buyer_stage="criteria"))
    assert (alert.code, alert.severity) == ("behind_buyer", "high")


def test_ahead_of_the_buyer_is_the_state_owned_enterprise_trap():
    # given: negotiating while the customer has only a need
    facts = deal(stage="negotiation", buyer_stage="need")
    # when
    [alert] = evaluate(facts)
    # then
    assert (alert.code, alert.severity, alert.probability_factor) == ("ahead_of_buyer", "high", 0.7)
    assert en(alert.message) == (
        "We are at Commercial negotiation, but the customer is only at “Problem and need”, 6 "
        "step(s) before what our stage matches (Commercial negotiation, Contract signed)."
    )
    assert en(alert.action).startswith("Check that the project and budget are really approved")


def test_ahead_of_the_buyer_by_one_stage_is_medium():
    [alert] = evaluate(deal(stage="entry", buyer_stage="search"))
    assert (alert.code, alert.severity) == ("ahead_of_buyer", "medium")


def test_a_stage_without_buyer_stages_is_never_misaligned():
    found = alignment(M.playbooks["standard-6"], BUYER, "implementation", "need")
    assert (found.verdict, found.gap, found.expected) == ("unmapped", 0, ())
    assert evaluate(deal(stage="implementation", buyer_stage="need")) == []


PAIRS = [(book, stage.key) for book in sorted(M.playbooks) for stage in M.playbooks[book].stages]


@settings(max_examples=200, deadline=None)
@given(pair=st.sampled_from(PAIRS), buyer_stage=st.sampled_from([*BUYER, "nowhere"]))
def test_alignment_is_aligned_iff_the_buyer_is_within_the_mapped_range(pair, buyer_stage):
    # given
    book_key, stage = pair
    book = M.playbooks[book_key]
    mapped = [BUYER.index(b) for b in book.stage(stage).buyer_stages]
    # when
    found = alignment(book, BUYER, stage, buyer_stage)
    # then
    if not mapped or buyer_stage not in BUYER:
        assert (found.verdict, found.gap) == ("unmapped", 0)
        return
    at = BUYER.index(buyer_stage)
    if min(mapped) <= at <= max(mapped):
        assert (found.verdict, found.gap) == ("aligned", 0)
    elif at > max(mapped):
        assert (found.verdict, found.gap) == ("behind_buyer", at - max(mapped))
    else:
        assert (found.verdict, found.gap) == ("ahead_of_buyer", min(mapped) - at)
    alerts = codes(
        risks.evaluate(
            deal(playbook=book_key, stage=stage, buyer_stage=buyer_stage), ctx(book_key), CONFIG
        )
    )
    assert [c for c in alerts if c in ("behind_buyer", "ahead_of_buyer")] == (
        [] if found.verdict == "aligned" else [found.verdict]
    )


# --- ordering and configuration ----------------------------------------------------


def test_alerts_come_most_severe_first():
    # given: forced past entry without a coach (high), one stage ahead (medium), stalled
    # (medium)
    facts = deal(
        stage="proposal",
        buyer_stage="approval",
        stage_entered_at=NOW - dt.timedelta(days=61),
        forced_moves=(forced("entry", ("coach",)),),
    )
    # when
    alerts = evaluate(facts)
    # then
    assert [(a.code, a.severity) for a in alerts] == [
        ("forced_gate", "high"),
        ("ahead_of_buyer", "medium"),
        ("stalled", "medium"),
    ]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"red_flag": {}}, "rules.red_flag: unknown alert code"),
        (
            {"stalled": {"params": {"dwell_factor": 0}}},
            "rules.stalled.params.dwell_factor: Input should be greater than 0",
        ),
        (
            {"behind_buyer": {"params": {"gap": 2}}},
            "rules.behind_buyer.params.gap: Extra inputs are not permitted",
        ),
        ({"forced_gate": {"probability_factor": 1.5}}, "less than or equal to 1"),
        ({"forced_gate": {"severity": "critical"}}, "'high', 'medium' or 'low'"),
        ({"forced_gate": {"enabled": True, "colour": "red"}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_risk_config_is_refused(rules, expected):
    with pytest.raises(ValidationError) as err:
        RiskConfig.model_validate({"rules": rules})
    assert expected in str(err.value)


def test_a_broken_risks_override_is_refused_naming_the_file(tmp_path):
    folder = _override(tmp_path, "params = { high_gap = 2 }", "params = { high_gap = 0 }")
    with pytest.raises(registry.MethodologyError) as err:
        registry.build([SHIPPED], model_override_dir=folder)
    assert str(folder / "risks.toml") in str(err.value)
    assert "rules.behind_buyer.params.high_gap" in str(err.value)


# --- any facts ---------------------------------------------------------------------

STAGES = sorted({s.key for b in M.playbooks.values() for s in b.stages})
KEYS = sorted({c.key for b in M.playbooks.values() for s in b.stages for c in s.gate})
ids = st.integers(1, 30)
moments = st.datetimes(
    dt.datetime(2024, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC)
)
deals = st.builds(
    DealFacts,
    id=ids,
    playbook=st.sampled_from(sorted(M.playbooks)),
    stage=st.sampled_from([*STAGES, "nowhere"]),
    buyer_stage=st.sampled_from([*BUYER, "nowhere"]),
    status=st.sampled_from(["open", "open", "won", "lost", "abandoned"]),
    priority=st.sampled_from(["", "A", "D"]),
    stage_entered_at=moments,
    expected_close=st.dates(),
    evaluation=st.none()
    | st.builds(EvaluationFacts, score=st.floats(0, 100), passed=st.booleans()),
    stakeholders=st.lists(
        st.builds(
            StakeholderFacts,
            id=ids,
            contact_id=ids,
            name=st.text(max_size=5),
            roles=st.frozensets(st.sampled_from(checks.ROLES), max_size=2),
            stance=st.sampled_from(checks.STANCES),
            is_coach=st.booleans(),
            active=st.booleans(),
        ),
        max_size=4,
    ).map(tuple),
    criteria=st.lists(
        st.builds(CriterionFacts, id=ids, shaped_by_us=st.booleans()), max_size=4
    ).map(tuple),
    milestones=st.lists(
        st.builds(
            MilestoneFacts,
            id=ids,
            kind=st.sampled_from(M.milestones.keys),
            date=st.dates(dt.date(2024, 1, 1), dt.date(2027, 1, 1)),
        ),
        max_size=4,
    ).map(tuple),
    forced_moves=st.lists(
        st.builds(
            ForcedMoveFacts,
            id=ids,
            event_id=st.none() | ids,
            from_stage=st.sampled_from([*STAGES, "gone"]),
            unmet=st.lists(st.sampled_from(KEYS), max_size=3).map(tuple),
            at=moments,
            actor=st.text(max_size=5),
        ),
        max_size=3,
    ).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(facts=deals, now=moments)
def test_evaluate_never_raises_sorts_by_severity_and_renders(facts, now):
    # when
    alerts = risks.evaluate(facts, ctx(facts.playbook, now=now), M.risks)
    # then
    if not facts.is_open:
        assert alerts == []
    order = [risks.SEVERITY_ORDER[a.severity] for a in alerts]
    assert order == sorted(order)
    for alert in alerts:
        assert alert.code in M.risks.rules
        for language in ("en", "zh-Hans"):
            for text in (alert.title, alert.message, alert.action):
                assert render(text, lambda s: s, language)
    assert codes(alerts).count("stalled") <= 1
    assert codes(alerts).count("forced_gate") <= len(facts.forced_moves)

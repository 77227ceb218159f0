"""The buying-centre alerts (SPEC §5): each code firing and not firing on plain facts,
its thresholds from models/risks.toml, and its win-probability factor. Pure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kam.methodology import registry, risks
from kam.methodology.facts import DealFacts, IntelFacts, RoleChangeFacts, StakeholderFacts
from kam.methodology.risks import Evidence, RiskConfig
from kam.methodology.text import render
from kam.opportunities.rules import win_probability

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CENTRE_RULES = (
    "no_decision_maker",
    "decision_maker_not_supportive",
    "no_coach",
    "single_threaded",
    "blocker_present",
    "key_person_changed",
    "role_uncovered",
    "intel_unverified",
)


def en(value) -> str:
    return render(value, lambda s: s, "en")


def config(*only: str) -> RiskConfig:
    return RiskConfig(rules={code: M.risks.rules[code] for code in (only or CENTRE_RULES)})


def ctx(playbook: str = "standard-6", m=M) -> risks.RiskContext:
    return risks.RiskContext(
        playbook=m.playbooks[playbook],
        checks=m.check_context,
        now=NOW,
        buyer_seller_work=m.buyer_seller_work,
        buying_centre=m.buying_centre,
    )


def person(pk: int, roles=(), stance="unknown", **kw) -> StakeholderFacts:
    return StakeholderFacts(
        id=pk, contact_id=100 + pk, name=f"P{pk}", roles=frozenset(roles), stance=stance, **kw
    )


# A healthy buying centre at the proposal stage: two allies, a supportive decision
# maker, a coach, the technical evaluator (the key role at "criteria").
HEALTHY = (
    person(1, ["decision_maker"], "supporter"),
    person(2, ["technical", "user"], "champion", is_coach=True),
    person(3, ["purchaser"], "neutral"),
)


def deal(**changes) -> DealFacts:
    base = {
        "id": 1,
        "playbook": "standard-6",
        "stage": "proposal",
        "buyer_stage": "criteria",
        "status": "open",
        "priority": "A",
        "stage_entered_at": NOW - dt.timedelta(days=3),
        "expected_close": dt.date(2027, 3, 31),
        "stakeholders": HEALTHY,
    }
    return DealFacts(**{**base, **changes})


def alerts(facts: DealFacts, *only: str, playbook: str | None = None):
    return risks.evaluate(facts, ctx(playbook or facts.playbook), config(*only))


def codes(found) -> list[str]:
    return [a.code for a in found]


def test_shipped_config_of_the_buying_centre_rules():
    rules = M.risks.rules
    assert {
        c: (r.severity, r.probability_factor) for c, r in rules.items() if c in CENTRE_RULES
    } == {
        "no_decision_maker": ("high", 0.7),
        "decision_maker_not_supportive": ("high", 0.7),
        "no_coach": ("medium", 0.85),
        "single_threaded": ("medium", 0.8),
        "blocker_present": ("medium", 0.9),
        "key_person_changed": ("high", 0.8),
        "role_uncovered": ("low", None),
        "intel_unverified": ("medium", None),
    }
    # every alert code of SPEC §5 but competitor_stronger (the competition table) is known
    assert set(risks.RULES) >= {*CENTRE_RULES, "forced_gate", "behind_buyer", "ahead_of_buyer"}


def test_a_healthy_buying_centre_raises_nothing():
    assert alerts(deal()) == []


# --- stage thresholds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("development", False),
        ("entry", True),
        ("proposal", True),
        ("bidding", True),
        ("negotiation", True),
        ("implementation", True),
    ],
)
def test_stage_reaches_approval_means_past_development(stage, expected):
    assert risks.stage_reaches(ctx(), stage, "approval") is expected


@pytest.mark.parametrize(
    ("playbook", "stage", "expected"),
    [
        ("standard-6", "entry", False),
        ("standard-6", "proposal", True),
        ("milestones-5", "need_nurturing", False),
        ("milestones-5", "solution_evaluation", True),
        ("milestones-5", "contract_signing", True),
    ],
)
def test_stage_reaches_criteria_means_from_proposal_on(playbook, stage, expected):
    assert risks.stage_reaches(ctx(playbook), stage, "criteria") is expected


def test_stage_reaches_without_a_threshold_is_always_true():
    assert risks.stage_reaches(ctx(), "development", None) is True


# --- no_decision_maker -------------------------------------------------------------


def test_no_decision_maker_fires_past_development_only():
    nobody = (person(2, ["technical"], "champion", is_coach=True),)
    assert codes(alerts(deal(stage="development", stakeholders=nobody), "no_decision_maker")) == []
    found = alerts(deal(stage="entry", buyer_stage="approval", stakeholders=nobody))
    assert "no_decision_maker" in codes(found)
    alert = next(a for a in found if a.code == "no_decision_maker")
    assert alert.severity == "high" and alert.probability_factor == 0.7
    assert "final say" in en(alert.message)


def test_a_decision_maker_who_left_does_not_count():
    gone = person(1, ["decision_maker"], "champion", active=False, left_at=TODAY)
    found = alerts(deal(stakeholders=(gone, *HEALTHY[1:])), "no_decision_maker")
    assert codes(found) == ["no_decision_maker"]


# --- decision_maker_not_supportive --------------------------------------------------


@pytest.mark.parametrize("stance", ["neutral", "enemy", "blocker", "unknown"])
def test_decision_maker_not_supportive_fires_from_proposal_on(stance):
    dm = person(1, ["decision_maker"], stance)
    facts = deal(stakeholders=(dm, *HEALTHY[1:]))
    found = alerts(facts, "decision_maker_not_supportive")
    assert codes(found) == ["decision_maker_not_supportive"]
    assert found[0].evidence == (Evidence("stakeholder", 1),)
    assert en(found[0].message) == f"No decision maker is on our side: P1 ({stance})."
    # not yet at the entry stage
    early = deal(stage="entry", buyer_stage="approval", stakeholders=(dm, *HEALTHY[1:]))
    assert alerts(early, "decision_maker_not_supportive") == []


def test_one_supportive_decision_maker_among_several_is_enough():
    facts = deal(stakeholders=(*HEALTHY, person(4, ["decision_maker"], "enemy")))
    assert alerts(facts, "decision_maker_not_supportive") == []


def test_no_decision_maker_at_all_is_not_reported_twice():
    facts = deal(stakeholders=HEALTHY[1:])
    assert codes(alerts(facts, "no_decision_maker", "decision_maker_not_supportive")) == [
        "no_decision_maker"
    ]


# --- no_coach ------------------------------------------------------------------------


def test_no_coach_fires_past_entry():
    plain = (person(1, ["decision_maker"], "supporter"), person(2, ["technical"], "champion"))
    assert alerts(deal(stage="entry", buyer_stage="approval", stakeholders=plain), "no_coach") == []
    found = alerts(deal(stakeholders=plain), "no_coach")
    assert codes(found) == ["no_coach"] and found[0].probability_factor == 0.85
    assert en(found[0].message) == "Nobody inside the account tells us what happens."


def test_a_coach_who_left_is_named_and_does_not_count():
    gone = person(2, ["technical"], "champion", is_coach=True, active=False, left_at=TODAY)
    found = alerts(deal(stakeholders=(HEALTHY[0], gone)), "no_coach")
    assert codes(found) == ["no_coach"]
    assert en(found[0].message).startswith("Our coach P2 has left the account")
    assert found[0].evidence == (Evidence("stakeholder", 2),)


# --- single_threaded -----------------------------------------------------------------


def test_single_threaded_counts_active_supporters_holding_a_role():
    one = (
        person(1, ["decision_maker"], "champion"),
        person(2, [], "supporter"),  # supportive but no role in this decision
        person(3, ["technical"], "supporter", active=False, left_at=TODAY),  # left
        person(4, ["purchaser"], "neutral"),
    )
    found = alerts(deal(stakeholders=one), "single_threaded")
    assert codes(found) == ["single_threaded"]
    assert found[0].severity == "medium" and found[0].evidence == (Evidence("stakeholder", 1),)
    assert en(found[0].message).startswith("Only P1 supports us")
    # a second supporter with a role lifts it
    two = (*one, person(5, ["user"], "supporter"))
    assert alerts(deal(stakeholders=two), "single_threaded") == []


def test_single_threaded_with_nobody_is_high():
    found = alerts(
        deal(stakeholders=(person(1, ["decision_maker"], "neutral"),)), "single_threaded"
    )
    assert [(a.code, a.severity) for a in found] == [("single_threaded", "high")]


def test_single_threaded_threshold_comes_from_the_config():
    conf = M.risks.rules["single_threaded"].model_copy(update={"params": {"min_supporters": 3}})
    found = risks.evaluate(deal(), ctx(), RiskConfig(rules={"single_threaded": conf}))
    assert codes(found) == ["single_threaded"]


# --- blocker_present -----------------------------------------------------------------


def test_a_blocker_with_a_veto_role_is_high_and_weighs_more():
    facts = deal(
        stakeholders=(
            *HEALTHY,
            person(4, ["technical"], "blocker"),
            person(5, ["user"], "blocker"),
            person(6, ["finance"], "blocker", active=False, left_at=TODAY),
        )
    )
    found = alerts(facts, "blocker_present")
    assert [(a.severity, a.probability_factor, a.evidence) for a in found] == [
        ("high", 0.6, (Evidence("stakeholder", 4),)),
        ("medium", 0.9, (Evidence("stakeholder", 5),)),
    ]
    assert "can veto us" in en(found[0].message)
    assert "veto" not in en(found[1].message)


def test_an_enemy_is_not_a_blocker():
    assert (
        alerts(deal(stakeholders=(*HEALTHY, person(4, ["user"], "enemy"))), "blocker_present") == []
    )


# --- key_person_changed --------------------------------------------------------------


def test_a_supporter_who_left_within_the_window_is_a_change():
    gone = person(
        4, ["influencer"], "supporter", active=False, left_at=TODAY - dt.timedelta(days=30)
    )
    found = alerts(deal(stakeholders=(*HEALTHY, gone)), "key_person_changed")
    assert codes(found) == ["key_person_changed"]
    assert found[0].evidence == (Evidence("stakeholder", 4),)
    assert en(found[0].message) == (
        "In the last 30 days: P4 (influencer, supporter) left the account on 2026-10-03."
    )


def test_leaving_before_the_window_is_history_not_news():
    gone = person(
        4, ["decision_maker"], "champion", active=False, left_at=TODAY - dt.timedelta(days=31)
    )
    assert alerts(deal(stakeholders=(*HEALTHY, gone)), "key_person_changed") == []


def test_a_neutral_without_a_watched_role_leaving_is_no_change():
    gone = person(4, ["user"], "neutral", active=False, left_at=TODAY)
    assert alerts(deal(stakeholders=(*HEALTHY, gone)), "key_person_changed") == []


def change(pk, lost, *, days_ago=5, supportive=False, removed=False, stakeholder=3):
    return RoleChangeFacts(
        event_id=pk,
        stakeholder_id=stakeholder,
        name=f"P{stakeholder}",
        at=NOW - dt.timedelta(days=days_ago),
        lost_roles=frozenset(lost),
        was_supportive=supportive,
        removed=removed,
    )


def test_losing_a_watched_role_is_a_change():
    found = alerts(deal(role_changes=(change(70, ["purchaser"]),)), "key_person_changed")
    assert codes(found) == ["key_person_changed"]
    assert found[0].evidence == (Evidence("event", 70),)
    assert "P3 no longer acts as purchaser since 2026-10-28" in en(found[0].message)


def test_losing_an_unwatched_role_matters_only_for_a_supporter():
    neutral = change(71, ["user"])
    assert alerts(deal(role_changes=(neutral,)), "key_person_changed") == []
    ally = change(72, ["user"], supportive=True)
    assert codes(alerts(deal(role_changes=(ally,)), "key_person_changed")) == ["key_person_changed"]


def test_a_removal_is_a_change_and_old_events_are_not():
    removed = change(73, ["technical"], removed=True)
    found = alerts(deal(role_changes=(removed,)), "key_person_changed")
    assert "was taken out of the buying centre (technical evaluator)" in en(found[0].message)
    old = change(74, ["technical"], days_ago=31)
    assert alerts(deal(role_changes=(old,)), "key_person_changed") == []


def test_a_newcomer_taking_a_watched_role_is_a_change():
    new = person(5, ["decision_maker"], "unknown", joined_at=TODAY - dt.timedelta(days=10))
    found = alerts(deal(stakeholders=(*HEALTHY, new)), "key_person_changed")
    assert codes(found) == ["key_person_changed"]
    assert en(found[0].message) == (
        "In the last 30 days: P5, new at the account since 2026-10-23, now acts as decision maker."
    )


def test_mapping_someone_we_had_not_met_is_not_a_change():
    # long at the account (or no date known), now recorded as the technical evaluator
    veteran = person(5, ["technical"], "unknown", joined_at=TODAY - dt.timedelta(days=900))
    unknown_date = person(6, ["decision_maker"], "unknown")
    newcomer_without_role = person(7, ["user"], "unknown", joined_at=TODAY)
    facts = deal(stakeholders=(*HEALTHY, veteran, unknown_date, newcomer_without_role))
    assert alerts(facts, "key_person_changed") == []


def test_one_alert_lists_every_change_in_date_order():
    gone = person(
        4,
        ["decision_maker"],
        "champion",
        is_coach=True,
        active=False,
        left_at=TODAY - dt.timedelta(days=20),
    )
    new = person(5, ["decision_maker"], "unknown", joined_at=TODAY - dt.timedelta(days=28))
    # the leaver's own role loss is not reported twice
    facts = deal(
        stakeholders=(*HEALTHY, gone, new),
        role_changes=(change(75, ["decision_maker"], stakeholder=4, supportive=True),),
    )
    found = alerts(facts, "key_person_changed")
    assert len(found) == 1
    assert en(found[0].message) == (
        "In the last 30 days: P5, new at the account since 2026-10-05, now acts as decision "
        "maker; P4 (decision maker, champion) left the account on 2026-10-13."
    )
    assert found[0].evidence == (Evidence("stakeholder", 4), Evidence("stakeholder", 5))


def test_the_window_and_roles_come_from_the_config():
    conf = M.risks.rules["key_person_changed"].model_copy(
        update={"params": {"window_days": 7, "roles": ["finance"]}}
    )
    config7 = RiskConfig(rules={"key_person_changed": conf})
    lost = deal(role_changes=(change(76, ["purchaser"], days_ago=5),))
    assert risks.evaluate(lost, ctx(), config7) == []
    fin = deal(role_changes=(change(77, ["finance"], days_ago=5),))
    assert codes(risks.evaluate(fin, ctx(), config7)) == ["key_person_changed"]
    late = deal(role_changes=(change(78, ["finance"], days_ago=8),))
    assert risks.evaluate(late, ctx(), config7) == []


# --- role_uncovered ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("buyer_stage", "missing"),
    [
        ("need", ["user", "technical"]),
        ("approval", ["decision_maker", "gatekeeper"]),
        ("criteria", ["technical"]),
        ("evaluation", ["purchaser", "technical"]),
        ("negotiation", ["purchaser", "finance"]),
    ],
)
def test_role_uncovered_names_the_key_roles_of_the_buyer_stage_nobody_holds(buyer_stage, missing):
    facts = deal(buyer_stage=buyer_stage, stakeholders=(person(9, ["influencer"], "supporter"),))
    found = alerts(facts, "role_uncovered")
    assert codes(found) == ["role_uncovered"]
    names = {
        "user": "user",
        "technical": "technical evaluator",
        "decision_maker": "decision maker",
        "gatekeeper": "gatekeeper",
        "purchaser": "purchaser",
        "finance": "finance holder",
    }
    shown = en(found[0].title).removeprefix("Key role uncovered: ").split(", ")
    assert sorted(shown) == sorted(names[r] for r in missing)


def test_role_uncovered_is_quiet_when_held_and_ignores_people_who_left():
    assert alerts(deal(), "role_uncovered") == []
    gone = person(2, ["technical"], "champion", active=False, left_at=TODAY)
    assert codes(alerts(deal(stakeholders=(HEALTHY[0], gone)), "role_uncovered")) == [
        "role_uncovered"
    ]


# --- intel_unverified ----------------------------------------------------------------


def test_intel_unverified_fires_for_critical_items_with_a_single_source():
    facts = deal(
        intel=(
            IntelFacts(id=1, text="The budget is cut by 20%", critical=True, sources=1),
            IntelFacts(id=2, text="The GM prefers local suppliers", critical=True, sources=2),
            IntelFacts(id=3, text="Lunch on Friday", critical=False, sources=1),
        )
    )
    found = alerts(facts, "intel_unverified")
    assert [(a.code, a.evidence) for a in found] == [("intel_unverified", (Evidence("intel", 1),))]
    assert en(found[0].message) == (
        "“The budget is cut by 20%” rests on 1 source(s); 2 independent sources verify it."
    )


def test_a_long_intel_text_is_shortened_in_the_message():
    facts = deal(intel=(IntelFacts(id=1, text="x" * 200, critical=True, sources=1),))
    assert "x" * 59 + "…" in en(alerts(facts, "intel_unverified")[0].message)


# --- win probability -----------------------------------------------------------------


def test_buying_centre_factors_reach_the_win_probability():
    facts = deal(
        stakeholders=(
            person(1, ["decision_maker"], "neutral"),
            person(2, ["technical"], "blocker"),
            person(3, ["purchaser"], "supporter", is_coach=True),
        )
    )
    found = risks.evaluate(facts, ctx(), M.risks)
    assert sorted(codes(found)) == sorted(
        ["decision_maker_not_supportive", "blocker_present", "single_threaded"]
    )
    value, factors = win_probability(
        playbook=M.playbooks["standard-6"], stage="proposal", status="open", alerts=found
    )
    # 40% × 0.7 (decision maker not for us) × 0.6 (blocker with a veto) × 0.8 (one thread)
    assert value == 13
    assert {f.key: f.effect for f in factors} == {
        "stage_base": "40%",
        "decision_maker_not_supportive": "×0.7",
        "blocker_present": "×0.6",
        "single_threaded": "×0.8",
    }

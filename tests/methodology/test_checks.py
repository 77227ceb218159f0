"""The key-node check types (kam/methodology/checks.py): each decides met / unmet
from a deal's facts and says why; bad parameters are refused when the file loads.
Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kam.methodology import checks, registry
from kam.methodology.checks import CHECKS, evaluate_gate, parse_params, unmet_keys
from kam.methodology.facts import (
    CriterionFacts,
    DealFacts,
    EvaluationFacts,
    ForcedMoveFacts,
    MilestoneFacts,
    StakeholderFacts,
)
from kam.methodology.schema import Criterion, Stage, Text
from kam.methodology.text import Msg, render

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
CTX = M.check_context
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def en(value) -> str:
    return render(value, lambda s: s, "en")


def zh(value) -> str:
    return render(value, lambda s: s, "zh-Hans")


def deal(**changes) -> DealFacts:
    base = {
        "id": 1,
        "playbook": "standard-6",
        "stage": "development",
        "buyer_stage": "need",
        "status": "open",
        "priority": "",
        "stage_entered_at": NOW,
        "expected_close": dt.date(2027, 3, 31),
    }
    return DealFacts(**{**base, **changes})


def person(pk: int, name: str, roles=(), stance="unknown", coach=False, active=True):
    return StakeholderFacts(
        id=pk,
        contact_id=100 + pk,
        name=name,
        roles=frozenset(roles),
        stance=stance,
        is_coach=coach,
        active=active,
    )


def decide(check: str, params: dict, facts: DealFacts) -> checks.Verdict:
    kind = CHECKS[check]
    return kind.decide(facts, kind.params.model_validate(params), CTX)


def label(check: str, params: dict | None = None) -> Msg:
    kind = CHECKS[check]
    return kind.label(kind.params.model_validate(params or {}), CTX)


def test_every_check_type_is_registered():
    assert sorted(CHECKS) == [
        "buyer_stage_reached",
        "coach_identified",
        "evaluation_passed",
        "milestone",
        "priority_assigned",
        "purchase_criteria",
        "stakeholder_role",
    ]


# --- evaluation_passed -------------------------------------------------------------


def test_evaluation_passed_unmet_without_an_evaluation():
    # when
    verdict = decide("evaluation_passed", {}, deal())
    # then
    assert verdict.met is False
    assert verdict.why == Msg("No evaluation yet: score the deal with the evaluation model.")
    assert en(label("evaluation_passed")) == "Evaluation recorded and passed"


def test_evaluation_passed_unmet_when_knocked_out_whatever_the_score():
    # given
    facts = deal(
        evaluation=EvaluationFacts(
            score=88.0, passed=False, knocked_out=("funding", "technical_fit")
        )
    )
    # when
    verdict = decide("evaluation_passed", {}, facts)
    # then
    assert verdict.met is False
    assert verdict.why.template == "Knocked out: %(factors)s scored 1, whatever the total."
    assert en(verdict.why) == "Knocked out: Funding, Technical fit scored 1, whatever the total."
    assert zh(verdict.why) == "Knocked out: 资金状况、技术要求 scored 1, whatever the total."


def test_evaluation_passed_unmet_below_the_pass_mark():
    # when
    verdict = decide(
        "evaluation_passed", {}, deal(evaluation=EvaluationFacts(score=57.5, passed=False))
    )
    # then
    assert verdict.met is False
    assert verdict.why == Msg(
        "The evaluation scored %(score)s, below the pass mark.", {"score": "57.5"}
    )
    assert en(verdict.why) == "The evaluation scored 57.5, below the pass mark."


def test_evaluation_passed_met():
    # when
    verdict = decide(
        "evaluation_passed", {}, deal(evaluation=EvaluationFacts(score=80.0, passed=True))
    )
    # then
    assert verdict.met is True
    assert verdict.why == Msg("Passed with %(score)s points.", {"score": "80"})
    assert en(verdict.why) == "Passed with 80 points."


# --- priority_assigned -------------------------------------------------------------


def test_priority_assigned_unmet_without_a_grade():
    verdict = decide("priority_assigned", {}, deal(priority=""))
    assert verdict.met is False
    assert en(verdict.why) == "No priority yet: it is graded as soon as an evaluation exists."


@pytest.mark.parametrize("grade", ["A", "B", "C", "D"])
def test_priority_assigned_met_by_any_grade_by_default(grade):
    verdict = decide("priority_assigned", {}, deal(priority=grade))
    assert verdict.met is True
    assert verdict.why == Msg("Graded %(grade)s.", {"grade": grade})
    assert en(label("priority_assigned")) == "Priority grade assigned"


def test_priority_assigned_with_grades_refuses_other_grades():
    # given
    params = {"grades": ["A", "B"]}
    # when
    unmet = decide("priority_assigned", params, deal(priority="C"))
    met = decide("priority_assigned", params, deal(priority="B"))
    # then
    assert unmet.met is False
    assert unmet.why.template == "Graded %(grade)s; this gate needs %(grades)s."
    assert en(unmet.why) == "Graded C; this gate needs A, B."
    assert met.met is True
    assert en(label("priority_assigned", params)) == "Priority grade is A, B"


# --- stakeholder_role --------------------------------------------------------------


def test_stakeholder_role_unmet_when_nobody_holds_it():
    # given: the decision maker has left the account; a technical person remains
    facts = deal(
        stakeholders=(
            person(1, "刘副总", ["decision_maker"], "champion", active=False),
            person(2, "王主任", ["technical"]),
        )
    )
    # when
    verdict = decide("stakeholder_role", {"role": "decision_maker"}, facts)
    # then
    assert verdict.met is False
    assert verdict.why.template == "Nobody in the buying centre holds the role %(role)s yet."
    assert en(verdict.why) == "Nobody in the buying centre holds the role decision maker yet."
    assert verdict.evidence == ()


def test_stakeholder_role_met_by_an_active_holder():
    facts = deal(stakeholders=(person(1, "高总", ["decision_maker", "finance"], "neutral"),))
    verdict = decide("stakeholder_role", {"role": "decision_maker"}, facts)
    assert verdict.met is True
    assert verdict.why == Msg("%(names)s.", {"names": ["高总"]})
    assert verdict.evidence == (1,)
    assert en(label("stakeholder_role", {"role": "decision_maker"})) == (
        "The decision maker identified"
    )


def test_stakeholder_role_with_stances_names_the_holders_who_do_not_fit():
    # given
    params = {"role": "decision_maker", "stances": ["champion", "supporter"]}
    facts = deal(
        stakeholders=(
            person(1, "高总", ["decision_maker"], "neutral"),
            person(2, "赵总", ["decision_maker"], "enemy"),
        )
    )
    # when
    verdict = decide("stakeholder_role", params, facts)
    # then
    assert verdict.met is False
    assert verdict.why.template == "%(names)s hold the role %(role)s, but none is %(stances)s."
    assert en(verdict.why) == (
        "高总, 赵总 hold the role decision maker, but none is champion, supporter."
    )
    assert verdict.evidence == (1, 2)
    assert en(label("stakeholder_role", params)) == (
        "A decision maker identified who is champion, supporter"
    )


def test_stakeholder_role_with_stances_met_by_a_supporter():
    params = {"role": "decision_maker", "stances": ["champion", "supporter"]}
    facts = deal(
        stakeholders=(
            person(1, "高总", ["decision_maker"], "neutral"),
            person(2, "赵总", ["decision_maker"], "supporter"),
        )
    )
    verdict = decide("stakeholder_role", params, facts)
    assert verdict.met is True
    assert en(verdict.why) == "赵总."
    assert verdict.evidence == (2,)


def test_stakeholder_role_counts_against_min():
    facts = deal(stakeholders=(person(1, "周工", ["technical"]),))
    verdict = decide("stakeholder_role", {"role": "technical", "min": 2}, facts)
    assert verdict.met is False
    assert verdict.why.template == "%(count)s of the %(min)s people needed in the role %(role)s."
    assert en(verdict.why) == "1 of the 2 people needed in the role technical evaluator."
    assert verdict.evidence == (1,)


def test_stakeholder_role_with_stances_and_min_does_not_deny_the_one_who_fits():
    # given: one champion and one neutral decision maker; the gate wants two champions
    params = {"role": "decision_maker", "stances": ["champion"], "min": 2}
    facts = deal(
        stakeholders=(
            person(1, "高总", ["decision_maker"], "champion"),
            person(2, "赵总", ["decision_maker"], "neutral"),
        )
    )
    # when
    verdict = decide("stakeholder_role", params, facts)
    # then: unmet, and the reason does not claim that none of them is a champion
    assert verdict.met is False
    assert "none is" not in en(verdict.why)
    assert en(verdict.why) == "1 of the 2 people needed in the role decision maker."
    assert verdict.evidence == (1,)


# --- coach_identified --------------------------------------------------------------


def test_coach_identified_unmet_without_an_active_coach():
    facts = deal(stakeholders=(person(1, "刘副总", coach=True, active=False),))
    verdict = decide("coach_identified", {}, facts)
    assert verdict.met is False
    assert en(verdict.why) == "No coach yet: find the insider who tells us what happens."
    assert en(label("coach_identified")) == "A coach identified"


def test_coach_identified_met():
    facts = deal(
        stakeholders=(
            person(1, "王工", ["technical"], "champion", coach=True),
            person(2, "高总", ["decision_maker"]),
        )
    )
    verdict = decide("coach_identified", {}, facts)
    assert verdict.met is True
    assert verdict.why == Msg("%(names)s.", {"names": ["王工"]})
    assert verdict.evidence == (1,)


def test_coach_identified_counts_against_min():
    facts = deal(stakeholders=(person(1, "王工", coach=True),))
    verdict = decide("coach_identified", {"min": 2}, facts)
    assert verdict.met is False
    assert verdict.why == Msg("%(count)s of the %(min)s coaches needed.", {"count": 1, "min": 2})
    assert verdict.evidence == (1,)
    assert en(label("coach_identified", {"min": 2})) == "At least 2 coaches identified"


# --- purchase_criteria -------------------------------------------------------------


def test_purchase_criteria_unmet_lists_every_shortfall():
    # given: the proposal gate's parameters, two criteria and none shaped by us
    params = {"min": 3, "shaped_by_us_min": 1}
    facts = deal(criteria=(CriterionFacts(11), CriterionFacts(12, favourable=True)))
    # when
    verdict = decide("purchase_criteria", params, facts)
    # then
    assert verdict.met is False
    assert verdict.why.template == "Still short: %(what)s."
    assert en(verdict.why) == "Still short: 2 of 3 criteria recorded, 0 of 1 shaped by us."
    assert verdict.evidence == (11, 12)
    assert en(label("purchase_criteria", params)) == (
        "At least 3 purchase criteria recorded, 1 shaped by us"
    )


def test_purchase_criteria_met():
    params = {"min": 3, "shaped_by_us_min": 1}
    facts = deal(
        criteria=(CriterionFacts(11, shaped_by_us=True), CriterionFacts(12), CriterionFacts(13))
    )
    verdict = decide("purchase_criteria", params, facts)
    assert verdict.met is True
    assert verdict.why == Msg(
        "%(count)s criteria, %(shaped)s shaped by us.", {"count": 3, "shaped": 1}
    )


def test_purchase_criteria_favourable_min_ignores_unknown_and_unfavourable():
    # given
    params = {"min": 2, "favourable_min": 2}
    facts = deal(
        criteria=(
            CriterionFacts(1, favourable=True),
            CriterionFacts(2, favourable=None),
            CriterionFacts(3, favourable=False),
        )
    )
    # when
    verdict = decide("purchase_criteria", params, facts)
    # then
    assert verdict.met is False
    assert en(verdict.why) == "Still short: 1 of 2 favourable to us."
    assert en(label("purchase_criteria", params)) == (
        "At least 2 purchase criteria recorded, 2 favourable to us"
    )
    assert en(label("purchase_criteria")) == "At least 1 purchase criteria recorded"


def test_purchase_criteria_label_names_every_requirement():
    params = {"min": 3, "shaped_by_us_min": 1, "favourable_min": 2}
    assert "favourable" in en(label("purchase_criteria", params))


# --- milestone ---------------------------------------------------------------------


def test_milestone_unmet_when_not_recorded():
    verdict = decide("milestone", {"kind": "candidate_confirmed"}, deal())
    assert verdict.met is False
    assert verdict.why.template == "Not recorded yet: %(milestone)s."
    assert en(verdict.why) == "Not recorded yet: Candidate-supplier status confirmed."
    assert zh(verdict.why) == "Not recorded yet: 已确认候选供应商资格."
    assert en(label("milestone", {"kind": "candidate_confirmed"})) == (
        "Candidate-supplier status confirmed"
    )


def test_milestone_unmet_when_a_required_field_is_missing():
    # given
    params = {"kind": "bid_submitted", "require": ["price", "margin"]}
    facts = deal(
        milestones=(
            MilestoneFacts(7, "bid_submitted", dt.date(2026, 10, 9), price=Decimal("980000")),
        )
    )
    # when
    verdict = decide("milestone", params, facts)
    # then
    assert verdict.met is False
    assert verdict.why.template == "%(milestone)s: recorded, but without %(fields)s."
    assert en(verdict.why) == "Bid submitted: recorded, but without margin."
    assert verdict.evidence == (7,)
    assert en(label("milestone", params)) == "Bid submitted, with price, margin recorded"


def test_milestone_the_latest_record_of_a_kind_counts():
    # given: a complete bid, then a later revised bid without its margin
    params = {"kind": "bid_submitted", "require": ["price", "margin"]}
    first = MilestoneFacts(7, "bid_submitted", dt.date(2026, 10, 9), Decimal(1), Decimal(18))
    revised = MilestoneFacts(8, "bid_submitted", dt.date(2026, 10, 20), Decimal(2))
    # when
    stale = decide("milestone", params, deal(milestones=(first, revised)))
    fresh = decide("milestone", params, deal(milestones=(first,)))
    # then
    assert (stale.met, stale.evidence) == (False, (8,))
    assert (fresh.met, fresh.evidence) == (True, (7,))
    assert fresh.why == Msg("Recorded on %(date)s.", {"date": "2026-10-09"})


def test_milestone_any_of_several_kinds():
    # given
    params = {"kind": ["proposal_submitted", "bid_submitted"]}
    facts = deal(milestones=(MilestoneFacts(3, "bid_submitted", dt.date(2026, 9, 1)),))
    # when
    verdict = decide("milestone", params, facts)
    unmet = decide("milestone", params, deal())
    # then
    assert (verdict.met, verdict.evidence) == (True, (3,))
    assert en(verdict.why) == "Recorded on 2026-09-01."
    assert en(unmet.why) == "Not recorded yet: Proposal submitted or Bid submitted."
    assert en(label("milestone", params)) == "Proposal submitted or Bid submitted"


# --- buyer_stage_reached -----------------------------------------------------------


@pytest.mark.parametrize(
    ("buyer_stage", "met", "why"),
    [
        ("search", False, "The customer is still at: Information search."),
        ("approval", True, "The customer is at: Project approval, buying team formed."),
        ("contract", True, "The customer is at: Contract signed."),
        ("nowhere", False, "The customer is still at: nowhere."),
    ],
)
def test_buyer_stage_reached(buyer_stage, met, why):
    verdict = decide("buyer_stage_reached", {"stage": "approval"}, deal(buyer_stage=buyer_stage))
    assert verdict.met is met
    assert en(verdict.why) == why
    assert en(label("buyer_stage_reached", {"stage": "approval"})) == (
        "The customer has reached: Project approval, buying team formed"
    )
    assert zh(label("buyer_stage_reached", {"stage": "approval"})) == (
        "The customer has reached: 项目立项,组建采购小组"
    )


# --- parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "params", "expected"),
    [
        ("stakeholder_role", {"role": "boss"}, "unknown role 'boss'"),
        ("stakeholder_role", {"role": "user", "stances": ["friend"]}, "use stances from"),
        ("stakeholder_role", {"role": "user", "stances": []}, "use stances from"),
        ("stakeholder_role", {"role": "user", "min": 0}, "greater than or equal to 1"),
        ("stakeholder_role", {}, "Field required"),
        ("priority_assigned", {"grades": ["A", "E"]}, "unknown grade(s) ['E']"),
        ("priority_assigned", {"grades": []}, "at least 1 item"),
        ("coach_identified", {"min": 21}, "less than or equal to 20"),
        ("purchase_criteria", {"min": -1}, "greater than or equal to 0"),
        ("milestone", {"kind": []}, "name at least one milestone kind"),
        (
            "milestone",
            {"kind": "bid_submitted", "require": ["discount"]},
            "require may list only: price, margin",
        ),
        ("buyer_stage_reached", {}, "Field required"),
        ("evaluation_passed", {"min": 60}, "Extra inputs are not permitted"),
        ("purchase_criteria", {"min": 3, "shaped_min": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_refused(check, params, expected):
    with pytest.raises(ValidationError) as err:
        parse_params(check, params)
    assert expected in str(err.value)


def test_unknown_check_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError) as err:
        parse_params("evaluation_pased", {})
    assert str(err.value) == (
        "unknown check 'evaluation_pased'; use one of: buyer_stage_reached, coach_identified, "
        "evaluation_passed, milestone, priority_assigned, purchase_criteria, stakeholder_role"
    )


def test_a_criterion_with_bad_params_names_itself_and_the_param():
    with pytest.raises(ValidationError) as err:
        Criterion(key="dm", check="stakeholder_role", params={"role": "decision_maker", "x": 1})
    assert "criterion 'dm' (stakeholder_role): params.x: Extra inputs are not permitted" in str(
        err.value
    )


# --- a whole gate ------------------------------------------------------------------


def test_evaluate_gate_keeps_the_playbook_order_and_its_own_labels():
    # given: the entry gate with only the decision maker known
    stage = M.playbooks["standard-6"].stage("entry")
    facts = deal(stage="entry", stakeholders=(person(1, "高总", ["decision_maker"]),))
    # when
    results = evaluate_gate(stage, facts, CTX)
    # then
    assert [(r.key, r.met) for r in results] == [
        ("coach", False),
        ("decision_maker", True),
        ("candidate_confirmed", False),
    ]
    assert unmet_keys(results) == ["coach", "candidate_confirmed"]
    assert [en(r.label) for r in results] == [
        "A coach identified",
        "The decision maker identified",
        "Candidate-supplier status confirmed",
    ]


def test_a_criterion_label_in_the_file_overrides_the_check_wording():
    # given
    text = Text(en="Budget holder met", zh_hans="已见到预算负责人")
    stage = Stage(
        key="s",
        name=text,
        main_work=text,
        key_node=text,
        base_probability=0.1,
        healthy_dwell_days=10,
        gate=[
            Criterion(
                key="budget", check="stakeholder_role", params={"role": "finance"}, label=text
            )
        ],
    )
    # when
    [result] = evaluate_gate(stage, deal(), CTX)
    # then
    assert zh(result.label) == "已见到预算负责人"
    assert en(result.why) == "Nobody in the buying centre holds the role finance holder yet."


# --- properties over arbitrary facts ------------------------------------------------

BOOKS = M.playbooks
STAGES = sorted({s.key for b in BOOKS.values() for s in b.stages})
BUYER = M.buyer.keys
KINDS = M.milestones.keys
FACTORS = M.evaluation.keys
ALL_CRITERIA = sorted({c.key for b in BOOKS.values() for s in b.stages for c in s.gate})
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
ids = st.integers(1, 50)
dates = st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))
moments = st.datetimes(
    dt.datetime(2020, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
)
money = st.none() | st.decimals(0, 10**9, places=2)

stakeholder_facts = st.builds(
    StakeholderFacts,
    id=ids,
    contact_id=ids,
    name=words,
    roles=st.frozensets(st.sampled_from([*checks.ROLES, "boss"]), max_size=3),
    stance=st.sampled_from([*checks.STANCES, "friend"]),
    is_coach=st.booleans(),
    active=st.booleans(),
)
deal_facts = st.builds(
    DealFacts,
    id=ids,
    playbook=st.sampled_from(sorted(BOOKS)),
    stage=st.sampled_from([*STAGES, "nowhere"]),
    buyer_stage=st.sampled_from([*BUYER, "", "nowhere"]),
    status=st.sampled_from(["open", "won", "lost", "abandoned"]),
    priority=st.sampled_from(["", "A", "B", "C", "D", "Z"]),
    stage_entered_at=moments,
    expected_close=dates,
    evaluation=st.none()
    | st.builds(
        EvaluationFacts,
        score=st.floats(0, 100),
        passed=st.booleans(),
        knocked_out=st.lists(st.sampled_from([*FACTORS, "mystery"]), max_size=2).map(tuple),
    ),
    stakeholders=st.lists(stakeholder_facts, max_size=6).map(tuple),
    criteria=st.lists(
        st.builds(
            CriterionFacts, id=ids, shaped_by_us=st.booleans(), favourable=st.none() | st.booleans()
        ),
        max_size=6,
    ).map(tuple),
    milestones=st.lists(
        st.builds(
            MilestoneFacts,
            id=ids,
            kind=st.sampled_from([*KINDS, "x"]),
            date=dates,
            price=money,
            margin=money,
        ),
        max_size=6,
    ).map(tuple),
    forced_moves=st.lists(
        st.builds(
            ForcedMoveFacts,
            id=ids,
            event_id=st.none() | ids,
            from_stage=st.sampled_from([*STAGES, "gone"]),
            unmet=st.lists(st.sampled_from([*ALL_CRITERIA, "gone"]), max_size=3).map(tuple),
            at=moments,
            actor=words,
        ),
        max_size=3,
    ).map(tuple),
)


def _expected(criterion, facts: DealFacts) -> bool:
    """An independent reading of each check type's rule (SPEC §2.2)."""
    p = criterion.parsed
    active = [s for s in facts.stakeholders if s.active]
    if criterion.check == "evaluation_passed":
        ev = facts.evaluation
        return ev is not None and ev.passed and not ev.knocked_out
    if criterion.check == "priority_assigned":
        return facts.priority in p.grades
    if criterion.check == "coach_identified":
        return sum(s.is_coach for s in active) >= p.min
    if criterion.check == "stakeholder_role":
        fitting = [
            s for s in active if p.role in s.roles and (p.stances is None or s.stance in p.stances)
        ]
        return len(fitting) >= p.min
    if criterion.check == "purchase_criteria":
        return (
            len(facts.criteria) >= p.min
            and sum(c.shaped_by_us for c in facts.criteria) >= p.shaped_by_us_min
            and sum(c.favourable is True for c in facts.criteria) >= p.favourable_min
        )
    if criterion.check == "milestone":
        for kind in p.kinds:
            mine = [m for m in facts.milestones if m.kind == kind]
            if mine:
                latest = max(mine, key=lambda m: (m.date, m.id))
                if all(getattr(latest, f) is not None for f in p.require):
                    return True
        return False
    if criterion.check == "buyer_stage_reached":
        return facts.buyer_stage in BUYER and BUYER.index(facts.buyer_stage) >= BUYER.index(p.stage)
    raise AssertionError(criterion.check)


EXTRA = [
    Criterion(
        key="dm_champion",
        check="stakeholder_role",
        params={"role": "decision_maker", "stances": ["champion", "supporter"], "min": 2},
    ),
    Criterion(key="coaches", check="coach_identified", params={"min": 2}),
    Criterion(key="favourable", check="purchase_criteria", params={"min": 2, "favourable_min": 1}),
    Criterion(key="ab", check="priority_assigned", params={"grades": ["A", "B"]}),
    Criterion(
        key="priced",
        check="milestone",
        params={"kind": ["terms_agreed", "bid_submitted"], "require": ["price"]},
    ),
    Criterion(key="approved", check="buyer_stage_reached", params={"stage": "approval"}),
]


@settings(max_examples=150, deadline=None)
@given(facts=deal_facts)
def test_checks_never_raise_and_agree_with_the_rules(facts):
    # given: every gate of both playbooks and a few other parameterisations
    gates = [s.gate for b in BOOKS.values() for s in b.stages] + [EXTRA]
    for gate in gates:
        stage = Stage(
            key="s",
            name=Text(en="s", zh_hans="s"),
            main_work=Text(en="s", zh_hans="s"),
            key_node=Text(en="s", zh_hans="s"),
            base_probability=0.1,
            healthy_dwell_days=1,
            gate=gate,
        )
        # when
        results = evaluate_gate(stage, facts, CTX)
        # then
        assert [r.key for r in results] == [c.key for c in gate]
        for criterion, result in zip(gate, results, strict=True):
            assert result.met is _expected(criterion, facts), criterion.key
            for language in ("en", "zh-Hans"):
                assert render(result.why, lambda s: s, language)
                assert render(result.label, lambda s: s, language)
        assert unmet_keys(results) == [r.key for r in results if not r.met]

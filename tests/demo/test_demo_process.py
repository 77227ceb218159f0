"""The demo tells the process truthfully (SPEC §2–§5): every deal reached its stage
through the key nodes on evidence, except where a manager forced a gate with a
reason; and the book shows what a sales manager must be able to see — deals stalled,
behind or ahead of their customer, forced, won and lost, graded A to D."""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import replace

import pytest

from kam.core.models import Event
from kam.demo import cases
from kam.methodology import checks, registry
from kam.opportunities.assess import assess_many
from kam.opportunities.models import Evaluation, ForcedMove, Opportunity

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(demo, db):
    opportunities = list(Opportunity.objects.select_related("account", "owner"))
    return opportunities, assess_many(opportunities)


def _unmet_passed_gates(opp, facts, *, everyone_still_there: bool = False) -> dict[str, list]:
    """The criteria of the gates `opp` has passed that are unmet today, by stage,
    leaving out the stages a manager forced it out of."""
    if everyone_still_there:
        people = tuple(replace(s, active=True) for s in facts.stakeholders)
        facts = replace(facts, stakeholders=people)
    book = registry.playbook(opp.playbook)
    position = book.stage_keys.index(opp.stage)
    stage = book.stages[position]
    # left behind, and the one a deal stands at if it was won there or completed
    done = (opp.status == "won" and stage.wins) or opp.completed_at is not None
    passed = book.stages[: position + 1] if done else book.stages[:position]
    forced = {m.from_stage for m in facts.forced_moves}
    context = registry.current().check_context
    out = {}
    for stage in passed:
        if stage.key in forced:
            continue
        unmet = checks.unmet_keys(checks.evaluate_gate(stage, facts, context))
        if unmet:
            out[stage.key] = unmet
    return out


def test_every_gate_a_deal_passed_is_met_unless_a_manager_forced_it(book):
    # given the loaded demo
    opportunities, found = book

    # when each deal's passed gates are checked on today's evidence
    unmet = {o.name: _unmet_passed_gates(o, found[o.pk].facts) for o in opportunities}
    unmet = {name: stages for name, stages in unmet.items() if stages}

    # then they hold, but for the one deal whose coach has since left the customer —
    # 廖总's, exactly the change the buying-centre alerts are there to catch
    liao = Opportunity.objects.get(account__name=cases.LIAO_ACCOUNT)
    assert unmet == {liao.name: {"entry": ["coach"]}}
    assert not _unmet_passed_gates(liao, found[liao.pk].facts, everyone_still_there=True)
    assert liao.stakeholders.get(is_coach=True).contact.status == "left"


def test_managers_forced_a_few_gates_with_reasons_and_it_shows(book):
    # given / when
    opportunities, found = book
    moves = list(ForcedMove.objects.select_related("opportunity", "actor"))

    # then a handful of gates were forced, by managers, with a reason, still unmet
    assert 5 <= len(moves) <= 8
    assert len({m.opportunity_id for m in moves}) == len(moves)
    for move in moves:
        opp = move.opportunity
        assessment = found[opp.pk]
        assert move.actor.role == "manager"
        assert move.reason and move.unmet
        assert opp.status == "open"
        assert "forced_gate" in [a.code for a in assessment.alerts]
        # the win probability is halved for it
        factors = {f.key: f.value for f in assessment.factors}
        assert factors["forced_gate"] == 0.5
        base = registry.playbook(opp.playbook).stage(opp.stage).base_probability
        others = math.prod(v for k, v in factors.items() if k not in ("stage_base", "forced_gate"))
        assert assessment.probability == round(base * 0.5 * others * 100)
        assert assessment.probability <= round(base * 50)
    playbooks = Counter(m.opportunity.playbook for m in moves)
    assert set(playbooks) == {"standard-6", "milestones-5"}


def test_a_forced_deal_history_shows_the_forced_move_with_its_reason(book):
    # given a deal a manager forced past a gate
    move = ForcedMove.objects.select_related("opportunity").order_by("at").first()

    # when its history is read
    history = list(Event.objects.filter(opportunity_id=move.opportunity_id).order_by("at", "id"))

    # then the forced move is there, with who, when, why and what was unmet
    forced = [e for e in history if e.action == "force_advanced"]
    assert len(forced) == 1
    event = forced[0]
    assert (event.pk, event.note, event.at) == (move.event_id, move.reason, move.at)
    assert event.actor_id == move.actor_id
    assert event.after["unmet"] == move.unmet
    assert (event.before["stage"], event.after["stage"]) == (move.from_stage, move.to_stage)
    assert history[0].action == "created"
    assert any(e.action == "advanced" for e in history) or move.from_stage == (
        registry.playbook(move.opportunity.playbook).first_stage.key
    )


def test_the_book_shows_stalled_and_misaligned_deals(book):
    # given / when
    opportunities, found = book
    open_deals = [o for o in opportunities if o.status == "open"]
    alerts = Counter(a.code for o in open_deals for a in found[o.pk].alerts)

    # then the manager has something to steer
    assert alerts["stalled"] >= 5
    assert alerts["behind_buyer"] >= 3
    assert alerts["ahead_of_buyer"] >= 3
    assert alerts["forced_gate"] >= 5
    # the state-owned customer's trap: negotiating or bidding before the budget exists
    trapped = [
        o
        for o in open_deals
        if o.account.nature == "soe"
        and o.buyer_stage == "approval"
        and o.stage in ("bidding", "negotiation")
    ]
    assert trapped
    for opp in trapped:
        assert "ahead_of_buyer" in [a.code for a in found[opp.pk].alerts]
        assert "预算尚未批复" in opp.description


def test_deals_are_won_by_signing_and_lost_with_reasons(book):
    # given / when
    opportunities, _ = book
    status = Counter(o.status for o in opportunities)

    # then some deals ended, each the way the playbook says
    assert status == {"open": 129, "won": 17, "lost": 5, "abandoned": 5}
    won = [o for o in opportunities if o.status == "won"]
    for opp in won:
        signed = opp.milestones.get(kind="contract_signed")
        assert signed.price == opp.amount
        assert opp.closed_at is not None and signed.date == opp.closed_at.date()
        winning = registry.playbook(opp.playbook).winning_stage.key
        assert opp.stage == ("implementation" if opp.playbook == "standard-6" else winning)
    accepted = [o for o in won if o.milestones.filter(kind="acceptance").exists()]
    assert 3 <= len(accepted) < len(won)
    ended = [o for o in opportunities if o.status in ("lost", "abandoned")]
    reasons = {o.close_reason for o in ended}
    assert "撤标:采购标准对我方不利。" in reasons
    assert "价格高出第一名12%,未中标。" in reasons
    for opp in ended:
        event = Event.objects.get(opportunity_id=opp.pk, action="closed")
        assert (event.after["status"], event.note) == (opp.status, opp.close_reason)
        assert opp.closed_at == event.at


def test_deals_are_evaluated_and_graded_a_to_d(book):
    # given / when
    opportunities, _ = book
    evaluations = list(Evaluation.objects.all())

    # then most deals carry an evaluation, some failing, two knocked out by funding
    assert len(evaluations) >= 0.9 * len(opportunities)
    failed = [e for e in evaluations if not e.passed]
    assert 5 <= len(failed) <= 20
    assert sum(e.knocked_out == ["funding"] for e in evaluations) == 2
    assert len({e.score for e in evaluations}) >= 30
    grades = Counter(o.priority for o in opportunities if o.status == "open")
    assert {"A", "B", "C", "D"} <= set(grades)
    assert all(grades[g] >= 5 for g in "ABCD")
    # a manager set two by hand, with a reason, recorded in the history
    overridden = [o for o in opportunities if o.priority_overridden]
    assert sorted(o.priority for o in overridden) == ["A", "D"]
    for opp in overridden:
        assert opp.priority_reason
        event = Event.objects.filter(opportunity_id=opp.pk, action="priority_changed").last()
        assert event.note == opp.priority_reason
        assert event.actor.role == "manager"


def test_loading_leaves_no_worker_thread_behind(demo, db):
    # given / when: the demo's passwords were hashed on worker threads

    # then they are gone once the load is done
    assert not [t for t in threading.enumerate() if t.name.startswith("kam-demo-hash")]


def test_the_liao_deal_raises_the_three_red_flags_before_the_bid(book):
    # given: 廖总's deal as the demo tells it, from its history through the services
    opportunities, found = book
    liao = next(o for o in opportunities if o.account.name == cases.LIAO_ACCOUNT)
    assessment = found[liao.pk]

    # then: still before the bid, and the alerts SPEC §5 asks for are up
    assert liao.stage == "bidding" and assessment.facts.milestone("bid_submitted") is None
    codes = {a.code for a in assessment.alerts}
    assert {"key_person_changed", "decision_maker_not_supportive", "single_threaded"} <= codes
    changed = next(a for a in assessment.alerts if a.code == "key_person_changed")
    people = {s.id: s.name for s in assessment.facts.stakeholders}
    named = {people[e.id] for e in changed.evidence if e.kind == "stakeholder"}
    assert {cases.LIAO_VP, cases.LIAO_NEW_GM} <= named
    assert cases.LIAO_DESIGN_HEAD not in named  # met late, but long at the account
    # the friend's promise was never checked with anyone else; the move to design was
    unverified = [a for a in assessment.alerts if a.code == "intel_unverified"]
    assert len(unverified) == 2
    assert [(i.critical, i.sources) for i in assessment.facts.intel if i.sources >= 2] == [
        (True, 2)
    ]
    # and the probability says why it fell
    assert {f.key for f in assessment.factors} >= {
        "key_person_changed", "decision_maker_not_supportive", "single_threaded"
    }


def test_the_book_shows_every_buying_centre_alert_but_the_competition_one(book):
    opportunities, found = book
    codes = Counter(a.code for o in opportunities for a in found[o.pk].alerts)
    for code in ("no_decision_maker", "decision_maker_not_supportive", "no_coach",
                 "single_threaded", "blocker_present", "key_person_changed", "role_uncovered",
                 "intel_unverified"):
        assert codes[code] >= 1, code
    # most open deals are well covered: a diligent team, with some red flags
    open_deals = [o for o in opportunities if o.status == "open"]
    flagged = [o for o in open_deals if any(a.severity == "high" for a in found[o.pk].alerts)]
    assert len(flagged) < len(open_deals) / 2

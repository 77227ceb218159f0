"""The process engine through its services: a deal walks standard-6 on evidence,
refused moves change nothing, a forced move costs probability until met."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core.errors import Conflict, PermissionDenied, ValidationFailed
from kam.core.models import Event
from kam.opportunities import process
from kam.opportunities.assess import assess
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.stakeholders.services import stakeholder_add

GOOD = {"project_grade": 4, "funding": 4, "technical_fit": 4, "relationship": 4, "credit": 4,
        "product": 4, "price": 4, "solution": 4, "service": 4}


@pytest.fixture
def deal(world):
    account = account_create(actor=world.rep_a, name="华鼎精密")
    opp = opportunity_create(actor=world.rep_a, account=account, name="数控机床", amount=1_000_000,
                             expected_close=dt.date.today() + dt.timedelta(days=60))
    return opp


def _state(opp):
    opp = Opportunity.objects.get(pk=opp.pk)
    return (opp.stage, opp.status, opp.stage_entered_at, Event.objects.count())


def test_refused_advance_changes_nothing_and_names_the_unmet(world, deal):
    before = _state(deal)
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=world.rep_a, opportunity=deal)
    assert info.value.extra["unmet"] == ["evaluation_passed", "priority_assigned"]
    assert _state(deal) == before


def test_standard_6_end_to_end(world, deal):
    rep = world.rep_a
    process.evaluation_record(actor=rep, opportunity=deal, scores=GOOD)
    deal.refresh_from_db()
    assert deal.priority == "A"  # within 3 months, score 80
    process.opportunity_advance(actor=rep, opportunity=deal)
    assert deal.stage == "entry"
    contact = contact_create(actor=rep, account=deal.account, name="王立新")
    boss = contact_create(actor=rep, account=deal.account, name="高振宇")
    stakeholder_add(actor=rep, opportunity=deal, contact=contact, roles=["technical"],
                    stance="champion", is_coach=True)
    stakeholder_add(actor=rep, opportunity=deal, contact=boss, roles=["decision_maker"])
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=rep, opportunity=deal)
    assert info.value.extra["unmet"] == ["candidate_confirmed"]
    process.milestone_record(actor=rep, opportunity=deal, kind="candidate_confirmed")
    process.opportunity_advance(actor=rep, opportunity=deal)
    assert deal.stage == "proposal"
    for i in range(3):
        process.criterion_add(actor=rep, opportunity=deal, text=f"标准{i}", shaped_by_us=i == 0)
    process.milestone_record(actor=rep, opportunity=deal, kind="proposal_submitted")
    process.opportunity_advance(actor=rep, opportunity=deal)
    assert deal.stage == "bidding"
    process.milestone_record(actor=rep, opportunity=deal, kind="bid_submitted", price=980000)
    with pytest.raises(Conflict):
        process.opportunity_advance(actor=rep, opportunity=deal)
    process.milestone_record(actor=rep, opportunity=deal, kind="bid_submitted", price=980000,
                             margin="18.5")
    process.opportunity_advance(actor=rep, opportunity=deal)
    assert deal.stage == "negotiation"
    with pytest.raises(Conflict):
        process.opportunity_close(actor=rep, opportunity=deal, outcome="won")
    process.milestone_record(actor=rep, opportunity=deal, kind="contract_signed", price=960000)
    process.opportunity_close(actor=rep, opportunity=deal, outcome="won")
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == ("implementation", "won")
    assert assess(deal).probability == 100
    actions = list(Event.objects.filter(opportunity_id=deal.pk, entity="opportunity")
                   .values_list("action", flat=True))
    assert actions.count("advanced") == 5 and actions[-1] == "closed"


@pytest.mark.usefixtures("process_rules_only")
def test_force_is_for_managers_with_a_reason(world, deal):
    with pytest.raises(PermissionDenied):
        process.opportunity_advance(actor=world.rep_a, opportunity=deal, force=True, reason="x")
    with pytest.raises(ValidationFailed) as info:
        process.opportunity_advance(actor=world.manager_east, opportunity=deal, force=True)
    assert info.value.field == "reason"
    process.opportunity_advance(actor=world.manager_east, opportunity=deal, force=True,
                                reason="客户高层已口头确认")
    found = assess(deal)
    assert found.alignment.verdict == "ahead_of_buyer"  # the customer is still at "need"
    opportunity_update(actor=world.rep_a, opportunity=deal, buyer_stage="approval")
    found = assess(deal)
    assert deal.stage == "entry"
    assert [a.code for a in found.alerts] == ["forced_gate"]
    assert found.probability == 10  # 20% × 0.5
    # when the gate's items are met later, the penalty lifts
    process.evaluation_record(actor=world.rep_a, opportunity=deal, scores=GOOD)
    found = assess(Opportunity.objects.get(pk=deal.pk))
    assert found.probability == 20
    assert found.alerts == []


def test_lost_needs_a_reason_and_then_nothing_moves(world, deal):
    with pytest.raises(ValidationFailed):
        process.opportunity_close(actor=world.rep_a, opportunity=deal, outcome="lost")
    process.opportunity_close(actor=world.rep_a, opportunity=deal, outcome="abandoned",
                              reason="withdrew: criteria unfavourable")
    with pytest.raises(Conflict):
        process.opportunity_advance(actor=world.rep_a, opportunity=deal)
    assert assess(Opportunity.objects.get(pk=deal.pk)).probability == 0


def test_a_failed_evaluation_grades_as_lowest_likelihood(world, deal):
    # given: a high total but funding 1 (knock-out), closing within three months
    scores = {**GOOD, "funding": 1, "project_grade": 5, "relationship": 5}
    # when
    evaluation = process.evaluation_record(actor=world.rep_a, opportunity=deal, scores=scores)
    # then: the matrix's low-likelihood row, not the high one the raw total would give
    deal.refresh_from_db()
    assert float(evaluation.score) >= 75 and not evaluation.passed
    assert deal.priority == "C"


def test_won_keeps_the_reason_given(world, deal):
    # given: a deal at negotiation with its contract signed
    opp = opportunity_create(actor=world.rep_a, account=deal.account, name="签约", amount=1,
                             expected_close=deal.expected_close, stage="negotiation")
    process.milestone_record(actor=world.rep_a, opportunity=opp, kind="contract_signed")
    # when
    process.opportunity_close(actor=world.rep_a, opportunity=opp, outcome="won",
                              reason="三年框架协议")
    # then
    opp.refresh_from_db()
    closed = Event.objects.filter(opportunity_id=opp.pk, action="closed").get()
    assert (opp.status, opp.close_reason, closed.note) == ("won", "三年框架协议", "三年框架协议")


def test_a_closed_deal_says_closed_even_with_a_stale_stage(world, deal):
    process.opportunity_close(actor=world.rep_a, opportunity=deal, outcome="lost", reason="价格")
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=world.rep_a, opportunity=deal, from_stage="entry")
    assert "closed" in str(info.value.message)


def test_acceptance_completes_a_won_project_once(world, deal):
    # given: a won standard-6 deal now in implementation
    opp = opportunity_create(actor=world.rep_a, account=deal.account, name="交付", amount=1,
                             expected_close=deal.expected_close, stage="negotiation")
    process.milestone_record(actor=world.rep_a, opportunity=opp, kind="contract_signed")
    process.opportunity_advance(actor=world.rep_a, opportunity=opp)
    assert (opp.stage, opp.status) == ("implementation", "won")
    # when: advancing without acceptance is refused, with it the project completes
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=world.rep_a, opportunity=opp)
    assert info.value.extra["unmet"] == ["acceptance"]
    process.milestone_record(actor=world.rep_a, opportunity=opp, kind="acceptance")
    process.opportunity_advance(actor=world.rep_a, opportunity=opp)
    # then
    opp.refresh_from_db()
    assert opp.completed_at is not None and opp.status == "won"
    assert Event.objects.filter(opportunity_id=opp.pk, action="completed").count() == 1
    with pytest.raises(Conflict):
        process.opportunity_advance(actor=world.rep_a, opportunity=opp)

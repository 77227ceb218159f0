"""Reading what the rule modules need about deals, as plain `DealFacts`.

Five queries whatever the number of deals (evaluations, stakeholders, criteria,
milestones, forced moves), so one deal's page and a whole pipeline's alert scan
cost the same number of round trips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone

from kam.methodology.facts import (
    CriterionFacts,
    DealFacts,
    EvaluationFacts,
    ForcedMoveFacts,
    MilestoneFacts,
    StakeholderFacts,
)
from kam.opportunities.models import (
    Evaluation,
    ForcedMove,
    Milestone,
    Opportunity,
    PurchaseCriterion,
)


def deal_facts_many(opportunities: Iterable[Opportunity]) -> dict[int, DealFacts]:
    from kam.stakeholders.models import Stakeholder

    opps = list(opportunities)
    ids = [o.pk for o in opps]
    if not ids:
        return {}
    evaluations = {
        e.opportunity_id: EvaluationFacts(
            score=float(e.score), passed=e.passed, knocked_out=tuple(e.knocked_out)
        )
        for e in Evaluation.objects.filter(opportunity_id__in=ids)
    }
    people: dict[int, list[StakeholderFacts]] = defaultdict(list)
    for s in Stakeholder.objects.filter(opportunity_id__in=ids).select_related("contact"):
        people[s.opportunity_id].append(
            StakeholderFacts(
                id=s.pk,
                contact_id=s.contact_id,
                name=s.contact.name,
                roles=frozenset(s.roles),
                stance=s.stance,
                is_coach=s.is_coach,
                active=s.contact.status == "active",
            )
        )
    criteria: dict[int, list[CriterionFacts]] = defaultdict(list)
    for c in PurchaseCriterion.objects.filter(opportunity_id__in=ids):
        criteria[c.opportunity_id].append(
            CriterionFacts(id=c.pk, shaped_by_us=c.shaped_by_us, favourable=c.favourable)
        )
    milestones: dict[int, list[MilestoneFacts]] = defaultdict(list)
    for m in Milestone.objects.filter(opportunity_id__in=ids):
        milestones[m.opportunity_id].append(
            MilestoneFacts(id=m.pk, kind=m.kind, date=m.date, price=m.price, margin=m.margin)
        )
    forced: dict[int, list[ForcedMoveFacts]] = defaultdict(list)
    for f in ForcedMove.objects.filter(opportunity_id__in=ids).select_related("actor"):
        forced[f.opportunity_id].append(
            ForcedMoveFacts(
                id=f.pk,
                event_id=f.event_id,
                from_stage=f.from_stage,
                unmet=tuple(f.unmet),
                at=timezone.localtime(f.at),
                actor=str(f.actor) if f.actor else "",
            )
        )
    return {
        o.pk: DealFacts(
            id=o.pk,
            playbook=o.playbook,
            stage=o.stage,
            buyer_stage=o.buyer_stage,
            status=o.status,
            priority=o.priority,
            stage_entered_at=o.stage_entered_at,
            expected_close=o.expected_close,
            evaluation=evaluations.get(o.pk),
            stakeholders=tuple(people[o.pk]),
            criteria=tuple(criteria[o.pk]),
            milestones=tuple(milestones[o.pk]),
            forced_moves=tuple(forced[o.pk]),
        )
        for o in opps
    }

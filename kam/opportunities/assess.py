"""Where a deal stands by the methodology: its current gate, alignment with the
buyer, alerts and win probability — computed together from one set of facts,
for one deal or a page of them in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from kam.core import clock
from kam.methodology import checks, registry, risks
from kam.methodology.facts import DealFacts
from kam.opportunities import rules
from kam.opportunities.facts import deal_facts_many
from kam.opportunities.models import Opportunity


@dataclass(frozen=True)
class Assessment:
    facts: DealFacts
    alignment: risks.Alignment
    alerts: list[risks.Alert]
    probability: int
    factors: list[rules.Factor]

    @cached_property
    def gate(self) -> list[checks.CriterionResult]:
        """The current stage's key-node items, checked when first asked for: a deal's
        page shows them, a dashboard over the whole book needs them for its stalled
        deals only (a third of its time went into checking every deal's gate)."""
        m = registry.current()
        stage = m.playbooks[self.facts.playbook].stage(self.facts.stage)
        return checks.evaluate_gate(stage, self.facts, m.check_context)

    @property
    def unmet(self) -> list[str]:
        return checks.unmet_keys(self.gate)

    @property
    def gate_met(self) -> bool:
        return not self.unmet


def risk_context(playbook_key: str) -> risks.RiskContext:
    m = registry.current()
    return risks.RiskContext(
        playbook=m.playbooks[playbook_key],
        checks=m.check_context,
        now=clock.now(),
        buyer_seller_work=m.buyer_seller_work,
        buying_centre=m.buying_centre,
        competition=m.competition,
    )


def assess_facts(facts: DealFacts, ctx: risks.RiskContext | None = None) -> Assessment:
    """The deal's assessment; `ctx`: a risk context of its playbook to share (a scan of
    many deals makes one per playbook)."""
    m = registry.current()
    ctx = ctx if ctx is not None else risk_context(facts.playbook)
    alerts = risks.evaluate(facts, ctx, m.risks)
    found = risks.alignment(
        ctx.playbook, m.check_context.buyer_stages, facts.stage, facts.buyer_stage
    )
    probability, factors = rules.win_probability(
        playbook=ctx.playbook, stage=facts.stage, status=facts.status, alerts=alerts
    )
    return Assessment(
        facts=facts,
        alignment=found,
        alerts=alerts,
        probability=probability,
        factors=factors,
    )


def assess_many(opportunities: Iterable[Opportunity]) -> dict[int, Assessment]:
    return {pk: assess_facts(f) for pk, f in deal_facts_many(opportunities).items()}


def assess(opportunity: Opportunity) -> Assessment:
    return assess_many([opportunity])[opportunity.pk]


def attach(opportunities: Iterable[Opportunity]) -> list[Opportunity]:
    """Set `.assessment` on each deal of a page (five queries for the whole page)."""
    opps = list(opportunities)
    found = assess_many(opps)
    for opp in opps:
        opp.assessment = found[opp.pk]
    return opps


def assessment_of(opportunity: Opportunity) -> Assessment:
    """The assessment `attach` left on the deal, or a fresh one."""
    cached = opportunity.__dict__.get("assessment")
    return cached if cached is not None else assess(opportunity)


def alignment_of(opportunity: Opportunity) -> risks.Alignment:
    """Our stage against the customer's: it reads the deal's own fields only, so it
    needs no facts."""
    cached = opportunity.__dict__.get("assessment")
    if cached is not None:
        return cached.alignment
    return alignment_for(opportunity.playbook, opportunity.stage, opportunity.buyer_stage)


def alignment_for(playbook: str, stage: str, buyer_stage: str) -> risks.Alignment:
    m = registry.current()
    return risks.alignment(m.playbooks[playbook], m.check_context.buyer_stages, stage, buyer_stage)

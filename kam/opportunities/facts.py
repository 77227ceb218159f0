"""Reading what the rule modules need about deals, as plain `DealFacts`.

Eight queries for up to 2,000 deals (evaluations, stakeholders with their contacts,
criteria, milestones, forced moves, recent buying-centre changes, intelligence items
with their source counts, the competition tables), so one deal's page and a team's
pipeline cost the same number of round trips; a larger book takes eight more per
2,000 deals, so that no query carries more ids than the database accepts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone

from kam.core import clock
from kam.core.models import Event
from kam.methodology import registry
from kam.methodology.facts import (
    SUPPORTIVE,
    CompetitionFacts,
    CriterionFacts,
    DealFacts,
    EvaluationFacts,
    ForcedMoveFacts,
    IntelFacts,
    MilestoneFacts,
    RoleChangeFacts,
    StakeholderFacts,
)
from kam.opportunities.models import (
    Evaluation,
    ForcedMove,
    Milestone,
    Opportunity,
    PurchaseCriterion,
)

# Deals whose facts are read in one round of queries: well under the parameters one
# query may carry (SQLite 32,766 or more, PostgreSQL 65,535); more deals, more rounds.
CHUNK = 2000


def deal_facts_many(opportunities: Iterable[Opportunity]) -> dict[int, DealFacts]:
    """The facts of each deal (anything with the attributes of an Opportunity that the
    rules read: pk, playbook, stage, buyer_stage, status, priority, stage_entered_at,
    expected_close), by deal id."""
    opps = list(opportunities)
    out: dict[int, DealFacts] = {}
    for start in range(0, len(opps), CHUNK):
        out.update(_facts(opps[start : start + CHUNK]))
    return out


def _facts(opps: list[Opportunity]) -> dict[int, DealFacts]:
    from kam.intel.models import IntelItem
    from kam.stakeholders.models import Stakeholder

    ids = [o.pk for o in opps]
    if not ids:
        return {}
    # Tuples, not model instances: a whole book's scan reads hundreds of thousands of
    # rows here, and building a model per row cost more than the query.
    evaluations = {
        opp_id: EvaluationFacts(score=float(score), passed=passed, knocked_out=tuple(knocked))
        for opp_id, score, passed, knocked in Evaluation.objects.filter(
            opportunity_id__in=ids
        ).values_list("opportunity_id", "score", "passed", "knocked_out")
    }
    people: dict[int, list[StakeholderFacts]] = defaultdict(list)
    for row in (
        Stakeholder.objects.filter(opportunity_id__in=ids)
        .order_by("id")
        .values_list(
            "id",
            "opportunity_id",
            "contact_id",
            "contact__name",
            "roles",
            "stance",
            "is_coach",
            "contact__status",
            "contact__joined_at",
            "contact__left_at",
            "influence",
        )
    ):
        pk, opp_id, contact_id, name, roles, stance, coach, status, joined, left, influence = row
        people[opp_id].append(
            StakeholderFacts(
                id=pk,
                contact_id=contact_id,
                name=name,
                roles=frozenset(roles),
                stance=stance,
                is_coach=coach,
                active=status == "active",
                joined_at=joined,
                left_at=left,
                influence=influence,
            )
        )
    criteria: dict[int, list[CriterionFacts]] = defaultdict(list)
    for pk, opp_id, shaped, favourable in (
        PurchaseCriterion.objects.filter(opportunity_id__in=ids)
        .order_by("id")
        .values_list("id", "opportunity_id", "shaped_by_us", "favourable")
    ):
        criteria[opp_id].append(CriterionFacts(id=pk, shaped_by_us=shaped, favourable=favourable))
    milestones: dict[int, list[MilestoneFacts]] = defaultdict(list)
    for pk, opp_id, kind, date, price, margin in (
        Milestone.objects.filter(opportunity_id__in=ids)
        .order_by("date", "id")
        .values_list("id", "opportunity_id", "kind", "date", "price", "margin")
    ):
        milestones[opp_id].append(
            MilestoneFacts(id=pk, kind=kind, date=date, price=price, margin=margin)
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
    changes = _role_changes(ids, people)
    intel: dict[int, list[IntelFacts]] = defaultdict(list)
    for pk, opp_id, text, critical, sources in (
        IntelItem.objects.filter(opportunity_id__in=ids)
        .annotate(n_sources=Count("sources__contact", distinct=True))
        .values_list("id", "opportunity_id", "text", "critical", "n_sources")
    ):
        intel[opp_id].append(IntelFacts(id=pk, text=text, critical=critical, sources=sources))
    competition = _competition(ids)
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
            role_changes=tuple(changes[o.pk]),
            intel=tuple(intel[o.pk]),
            competition=competition.get(o.pk, ()),
        )
        for o in opps
    }


def _competition(ids: list[int]) -> dict[int, tuple[CompetitionFacts, ...]]:
    """Each deal's competitor scoring table, us first then the rivals by name (one
    query)."""
    from kam.competition.models import CompetitionScore

    rows = (
        CompetitionScore.objects.filter(opportunity_id__in=ids)
        .order_by("opportunity_id", "competitor__name", "competitor_id", "criterion")
        .values_list("opportunity_id", "competitor_id", "competitor__name", "criterion", "score")
    )
    tables: dict[int, dict[int | None, tuple[str, dict[str, int]]]] = defaultdict(dict)
    for opp_id, competitor_id, name, criterion, score in rows:
        party = tables[opp_id].setdefault(competitor_id, (name or "", {}))
        party[1][criterion] = score
    return {
        opp_id: tuple(
            CompetitionFacts(competitor_id=pk, name=name, scores=scores)
            for pk, (name, scores) in sorted(parties.items(), key=lambda p: p[0] is not None)
        )
        for opp_id, parties in tables.items()
    }


def change_window_days() -> int:
    """How far back key_person_changed looks (its window_days, 30 by default)."""
    conf = registry.current().risks.rules.get("key_person_changed")
    return getattr(conf.parsed("key_person_changed"), "window_days", 30) if conf else 30


def _role_changes(
    ids: list[int], people: dict[int, list[StakeholderFacts]]
) -> dict[int, list[RoleChangeFacts]]:
    """Roles given up and people taken out of buying centres, from the events of the
    change window (one query): what the current stakeholder rows no longer show."""
    since = clock.now() - dt.timedelta(days=change_window_days())
    current = {s.id: s for group in people.values() for s in group}
    out: dict[int, list[RoleChangeFacts]] = defaultdict(list)
    events = (
        Event.objects.filter(
            entity="stakeholder",
            opportunity_id__in=ids,
            action__in=("updated", "deleted"),
            at__gte=since,
        )
        .order_by("at", "id")
        .values_list("id", "opportunity_id", "entity_id", "action", "at", "before", "after")
    )
    for event_id, opp_id, entity_id, action, at, before, after in events:
        before, after = before or {}, after or {}
        if not isinstance(before.get("roles"), list):
            continue
        removed = action == "deleted"
        lost = set(before["roles"]) - (set() if removed else set(after.get("roles") or []))
        if not lost:
            continue
        person = current.get(entity_id)
        stance = before.get("stance", person.stance if person else "unknown")
        out[opp_id].append(
            RoleChangeFacts(
                event_id=event_id,
                stakeholder_id=entity_id,
                name=person.name if person else str(before.get("name") or f"#{entity_id}"),
                at=timezone.localtime(at),
                lost_roles=frozenset(lost),
                was_supportive=stance in SUPPORTIVE,
                removed=removed,
            )
        )
    return out

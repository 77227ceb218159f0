"""/api/v1/pipeline — the manager's dashboard (路标管理, SPEC §8, §10) — and
/api/v1/pipeline/deals, the deals behind any of its numbers.

What each figure means, and what it costs, is written in
`kam/opportunities/pipeline.py`; `pipeline_body` turns the report into the JSON that
this API answers and that the web dashboard draws its charts from, so both show the
same numbers. Every number that stands for deals carries a `drill` key: pass it as
`figure` to `/pipeline/deals` (with the same filters) to list those deals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Query, Router, Schema

from kam.core.api_support import ERRORS, PageQuery, paginate
from kam.core.i18n import buyer_stage_name, show, stage_name
from kam.methodology import registry
from kam.opportunities.api import MAX_ID
from kam.opportunities.models import Opportunity
from kam.opportunities.pipeline import (
    Bucket,
    Filters,
    Pipeline,
    check_figure,
    deal_ids_behind,
    parse_filters,
    pipeline_report,
)

router = Router(tags=["pipeline"])


# --- the body (shared with the web dashboard) ------------------------------------------------


def _bucket(b: Bucket) -> dict[str, Any]:
    return {"count": b.count, "amount": b.amount, "weighted": b.weighted}


def _person(user) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": str(user)}


def deal_ref(opp: Opportunity, report: Pipeline | None = None) -> dict[str, Any]:
    """A deal as the dashboard's lists show it; `win_probability` for open deals."""
    probability = report.probabilities.get(opp.pk) if report is not None else None
    return {
        "id": opp.pk,
        "name": opp.name,
        "account_id": opp.account_id,
        "account_name": opp.account.name,
        "owner": _person(opp.owner),
        "playbook": opp.playbook,
        "stage": opp.stage,
        "stage_name": stage_name(opp.playbook, opp.stage),
        "buyer_stage": opp.buyer_stage,
        "buyer_stage_name": buyer_stage_name(opp.buyer_stage),
        "status": opp.status,
        "amount": opp.amount,
        "currency": opp.currency,
        "expected_close": opp.expected_close,
        "priority": opp.priority or None,
        "win_probability": probability,
    }


def pipeline_body(report: Pipeline) -> dict[str, Any]:
    f = report.filters
    p = report
    return {
        "period": {"key": f.period.key, "start": f.period.start, "end": f.period.end},
        "filters": {
            "owner": _person(f.owner),
            "team": None if f.team is None else {"id": f.team.pk, "name": f.team.name},
            "playbook": f.playbook,
        },
        "as_of": p.as_of,
        "totals": _bucket(p.total) | {"drill": "open"},
        "by_stage": [
            {
                "playbook": r.playbook,
                "playbook_name": show(registry.playbook(r.playbook).name),
                "stage": r.key,
                "name": show(r.name),
                **_bucket(r.open),
                "drill": f"stage:{r.playbook}:{r.key}",
            }
            for r in p.by_stage
        ],
        "by_buyer_stage": [
            {"stage": r.key, "name": show(r.name), **_bucket(r.open), "drill": f"buyer:{r.key}"}
            for r in p.by_buyer_stage
        ],
        "forecast": [
            {
                "month": r.month,
                **_bucket(r.open),
                "won_count": r.won_count,
                "won_amount": r.won_amount,
                "overdue": r.overdue,
                "drill": f"month:{r.month}",
                "won_drill": f"won_month:{r.month}",
            }
            for r in p.forecast
        ],
        "progress": {
            "deals_advanced": len(p.advanced),
            "stages_advanced": sum(m.net for m in p.advanced),
            "deals_moved_back": len(p.moved_back),
            "stages_back": sum(m.back for m in p.moved_back),
            "drill": "progress",
            "moved_back_drill": "moved_back",
            "deals": [
                {
                    "opportunity": deal_ref(m.opportunity, p),
                    "net": m.net,
                    "forward": m.forward,
                    "back": m.back,
                    "changes": m.changes,
                    "from_stage": m.start_stage,
                    "from_name": buyer_stage_name(m.start_stage),
                    "to_stage": m.end_stage,
                    "to_name": buyer_stage_name(m.end_stage),
                }
                for m in p.progress
            ],
            "by_rep": [
                {
                    "owner": _person(r.user),
                    "deals_advanced": r.deals_advanced,
                    "stages_advanced": r.stages_advanced,
                    "deals_moved_back": r.deals_moved_back,
                    "stages_back": r.stages_back,
                    "seller_advances": r.seller_advances,
                    "won_count": r.won_count,
                    "won_amount": r.won_amount,
                    "open": _bucket(r.open),
                    "drill": f"rep_progress:{r.user.pk}",
                    "won_drill": f"rep_won:{r.user.pk}",
                    "advances_drill": f"rep_advances:{r.user.pk}",
                    "open_drill": f"rep_open:{r.user.pk}",
                }
                for r in p.reps
            ],
        },
        "stalled": [
            {
                "opportunity": deal_ref(r.opportunity, p),
                "days": r.days,
                "healthy_days": r.healthy_days,
                "severity": r.severity,
                "missing": [show(x) for x in r.missing],
            }
            for r in p.stalled
        ],
        "stalled_count": p.drill.count("stalled"),
        "forced_moves": [
            {
                "opportunity": deal_ref(r.move.opportunity, p),
                "from_stage": r.move.from_stage,
                "from_name": stage_name(r.move.opportunity.playbook, r.move.from_stage),
                "to_stage": r.move.to_stage,
                "to_name": stage_name(r.move.opportunity.playbook, r.move.to_stage),
                "at": r.move.at,
                "actor": _person(r.move.actor),
                "reason": r.move.reason,
                "unmet": list(r.move.unmet),
                "still_unmet": None if r.still_unmet is None else [show(x) for x in r.still_unmet],
            }
            for r in p.forced
        ],
        "alerts": {
            "total": sum(p.alerts_by_severity.values()),
            "by_severity": p.alerts_by_severity,
            "by_code": p.alerts_by_code,
            "drill": {s: f"alerts:{s}" for s in p.alerts_by_severity},
        },
        "a_at_risk": [
            {
                "opportunity": deal_ref(r.opportunity, p),
                "win_probability": r.probability,
                "alerts": [{"code": a.code, "title": show(a.title)} for a in r.alerts],
            }
            for r in p.at_risk
        ],
        "a_at_risk_count": p.drill.count("at_risk"),
        "conversion": [
            {
                "playbook": r.playbook,
                "stage": r.key,
                "name": show(r.name),
                "advanced": r.advanced,
                "forced": r.forced,
                "dropped": r.dropped,
                "rate": r.rate,
                "median_days": r.median_days,
                "healthy_days": r.healthy_days,
                "drill": f"advanced:{r.playbook}:{r.key}",
                "dropped_drill": f"dropped:{r.playbook}:{r.key}",
            }
            for r in p.conversion
        ],
        "win_rate": {
            "won": p.outcomes.won,
            "lost": p.outcomes.lost,
            "abandoned": p.outcomes.abandoned,
            "closed": p.outcomes.closed,
            "rate": p.outcomes.rate,
            "won_amount": p.outcomes.won_amount,
            "lost_amount": p.outcomes.lost_amount,
            "abandoned_amount": p.outcomes.abandoned_amount,
            "amount_rate": p.outcomes.amount_rate,
        },
        "cycle": {
            "won": len(p.cycle.days),
            "median_days": p.cycle.median,
            "mean_days": p.cycle.mean,
            "drill": "won",
        },
    }


# --- schemas ---------------------------------------------------------------------------------


class PipelineFilters(Schema):
    period: str | None = Field(
        None,
        max_length=20,
        description="A year (2026), half (2026H1), quarter (2026Q4) or month (2026-11). "
        "Default: the current quarter. Or give start and end instead.",
    )
    start: dt.date | None = Field(None, description="First day of the period (with end).")
    end: dt.date | None = Field(None, description="Last day of the period (with start).")
    owner: int | None = Field(None, ge=1, le=MAX_ID, description="The deal owner's user id.")
    team: int | None = Field(None, ge=1, le=MAX_ID, description="The deal owner's team id.")
    playbook: str = Field("", max_length=40)


class DrillQuery(PipelineFilters, PageQuery):
    figure: str = Field(
        ...,
        max_length=80,
        description="The `drill` key of a number of GET /pipeline (e.g. stage:standard-6:"
        "proposal, buyer:criteria, month:2027-01, stalled, alerts:high, rep_progress:3).",
    )


class Person(Schema):
    id: int
    name: str


class TeamRef(Schema):
    id: int
    name: str


class PipelinePeriodOut(Schema):
    key: str = Field(description="The period's name when it was asked for by name, else ''.")
    start: dt.date
    end: dt.date


class FiltersOut(Schema):
    owner: Person | None
    team: TeamRef | None
    playbook: str


class BucketOut(Schema):
    count: int
    amount: Decimal
    weighted: Decimal = Field(description="Σ amount × win probability, each rounded to 0.01.")


class TotalsOut(BucketOut):
    drill: str


class StageOut(BucketOut):
    playbook: str
    playbook_name: str
    stage: str
    name: str
    drill: str


class BuyerStageOut(BucketOut):
    stage: str
    name: str
    drill: str


class MonthOut(BucketOut):
    month: str = Field(description="YYYY-MM of the expected close (open) or the win (won).")
    won_count: int
    won_amount: Decimal
    overdue: bool = Field(description="Open deals still expected in a month already over.")
    drill: str
    won_drill: str


class DealRef(Schema):
    id: int
    name: str
    account_id: int
    account_name: str
    owner: Person
    playbook: str
    stage: str
    stage_name: str
    buyer_stage: str
    buyer_stage_name: str
    status: str
    amount: Decimal
    currency: str
    expected_close: dt.date
    priority: str | None
    win_probability: int | None = Field(description="Open deals only.")


class DealMoveOut(Schema):
    opportunity: DealRef
    net: int = Field(description="Buyer stages gained in the period: forward − back.")
    forward: int = Field(description="Buyer stages moved forward in the period.")
    back: int = Field(description="Buyer stages moved back in the period.")
    changes: int
    from_stage: str
    from_name: str
    to_stage: str
    to_name: str


class RepOut(Schema):
    owner: Person
    deals_advanced: int
    stages_advanced: int
    deals_moved_back: int
    stages_back: int
    seller_advances: int = Field(description="Our own stage advances in the period.")
    won_count: int
    won_amount: Decimal
    open: BucketOut
    drill: str
    won_drill: str
    advances_drill: str = Field(description="The deals behind seller_advances.")
    open_drill: str


class ProgressOut(Schema):
    deals_advanced: int
    stages_advanced: int
    deals_moved_back: int
    stages_back: int
    drill: str
    moved_back_drill: str
    deals: list[DealMoveOut]
    by_rep: list[RepOut]


class StalledOut(Schema):
    opportunity: DealRef
    days: int
    healthy_days: int
    severity: str
    missing: list[str] = Field(description="Key-node items of the stage not met yet.")


class ForcedOut(Schema):
    opportunity: DealRef
    from_stage: str
    from_name: str
    to_stage: str
    to_name: str
    at: dt.datetime
    actor: Person | None
    reason: str
    unmet: list[str] = Field(description="Criteria unmet when the gate was forced.")
    still_unmet: list[str] | None = Field(description="Still unmet today; null once closed.")


class AlertsOut(Schema):
    total: int
    by_severity: dict[str, int]
    by_code: dict[str, int]
    drill: dict[str, str]


class AlertRef(Schema):
    code: str
    title: str


class AtRiskOut(Schema):
    opportunity: DealRef
    win_probability: int
    alerts: list[AlertRef] = Field(description="The deal's high alerts.")


class ConversionOut(Schema):
    playbook: str
    stage: str
    name: str
    advanced: int
    forced: int
    dropped: int = Field(description="Lost or abandoned while in the stage.")
    rate: float | None = Field(description="advanced ÷ (advanced + dropped); null: no exit.")
    median_days: float | None
    healthy_days: int
    drill: str
    dropped_drill: str


class WinRateOut(Schema):
    won: int
    lost: int
    abandoned: int
    closed: int
    rate: float | None
    won_amount: Decimal
    lost_amount: Decimal
    abandoned_amount: Decimal
    amount_rate: float | None


class CycleOut(Schema):
    won: int
    median_days: float | None
    mean_days: float | None
    drill: str


class PipelineOut(Schema):
    period: PipelinePeriodOut
    filters: FiltersOut
    as_of: dt.datetime
    totals: TotalsOut
    by_stage: list[StageOut]
    by_buyer_stage: list[BuyerStageOut]
    forecast: list[MonthOut]
    progress: ProgressOut
    stalled: list[StalledOut] = Field(
        description="The most overdue stalled deals, at most 50; all of them: "
        "GET /pipeline/deals?figure=stalled."
    )
    stalled_count: int = Field(description="How many open deals are stalled.")
    forced_moves: list[ForcedOut]
    alerts: AlertsOut
    a_at_risk: list[AtRiskOut] = Field(
        description="The largest A deals with a high-severity alert, at most 50; all of "
        "them: GET /pipeline/deals?figure=at_risk."
    )
    a_at_risk_count: int = Field(description="How many A deals have a high-severity alert.")
    conversion: list[ConversionOut]
    win_rate: WinRateOut
    cycle: CycleOut


class DrillPage(Schema):
    figure: str
    items: list[DealRef]
    count: int
    page: int
    page_size: int


# --- endpoints ---------------------------------------------------------------------------


def filters_of(user, q: PipelineFilters) -> Filters:
    return parse_filters(
        user,
        period=q.period,
        start=q.start,
        end=q.end,
        owner=q.owner,
        team=q.team,
        playbook=q.playbook,
    )


@router.get("", response={200: PipelineOut, **ERRORS})
def pipeline(request, q: Query[PipelineFilters]):
    """The dashboard of the deals you may see (a rep: their own; a manager: their
    team's; an admin: all): funnels by our stage and the buyer's, forecast by month,
    progress in the period, stalled deals, forced moves, alerts, A deals at risk,
    conversion and median days per stage, win rate and cycle length."""
    return pipeline_body(pipeline_report(request.auth, filters_of(request.auth, q)))


def drill_page(user, filters: Filters, figure: str, *, page: int, page_size: int):
    """One page of the deals behind a figure, with their win probabilities."""
    figure = check_figure(figure)
    report = pipeline_report(user, filters)
    ids = deal_ids_behind(user, filters, figure, report)
    found = paginate(ids, page=page, page_size=page_size)
    report.probabilities.load(found["items"], again=True)  # a query whatever the page
    rows = Opportunity.objects.filter(pk__in=found["items"]).select_related("account", "owner")
    by_id = {o.pk: o for o in rows}
    found["items"] = [by_id[i] for i in found["items"] if i in by_id]
    return report, found


@router.get("/deals", response={200: DrillPage, **ERRORS})
def pipeline_deals(request, q: Query[DrillQuery]):
    """The deals behind one number of GET /pipeline: pass its `drill` key as `figure`
    with the same filters. Paged with page and page_size."""
    filters = filters_of(request.auth, q)
    report, found = drill_page(request.auth, filters, q.figure, page=q.page, page_size=q.page_size)
    found["items"] = [deal_ref(o, report) for o in found["items"]]
    return {"figure": q.figure.strip(), **found}

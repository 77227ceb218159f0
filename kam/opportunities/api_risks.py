"""/api/v1/risks — the alerts (红旗) of every open deal the user may see, for a
manager's view of the team's pipeline (SPEC §5 "in bulk for a pipeline", §8
"alerts by severity").

Rows are sorted by severity (high first), then the deal's expected close, then its
id, and paginated with `limit`/`offset`; `counts` tells how many alerts there are
per severity and per code (see `alerts.AlertScan` for which filters each count
ignores). Each row carries the alert exactly as `GET /opportunities/{id}/risks`
gives it (the same `RiskOut` and serialiser) plus the deal it belongs to.

Queries: the same number whatever the number of alerts, and per 2,000 open deals
(`alerts.CHUNK`) — eleven for a book of fewer when this was written: the token
lookup, one query for the visible open deals, the fixed set of fact queries of
`opportunities.facts.deal_facts_many` (eight: evaluations, stakeholders, purchase
criteria, milestones, forced moves, role-change events, intelligence items,
competition scores) and one for the page's deals with their accounts and owners.
`tests/opportunities/test_api_risks.py` asserts that 3 and 30 deals cost the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Query, Router, Schema

from kam.core.api_support import ERRORS
from kam.core.i18n import stage_name
from kam.opportunities.alerts import DealAlert, alert_scan
from kam.opportunities.api import MAX_ID
from kam.opportunities.api_process import RiskOut, risk_body

router = Router(tags=["deal health"])

MAX_LIMIT = 500


class OwnerRef(Schema):
    id: int
    name: str


class PipelineRiskOut(RiskOut):
    opportunity_id: int
    opportunity_name: str
    account_id: int
    account_name: str
    owner: OwnerRef
    stage: str
    stage_name: str
    amount: Decimal
    currency: str
    expected_close: dt.date
    priority: str | None = Field(description="A, B, C or D; null before the first evaluation.")


class RiskCounts(Schema):
    by_severity: dict[str, int] = Field(
        description="high, medium and low (always all three), counting the alerts that "
        "match every filter except `severity`."
    )
    by_code: dict[str, int] = Field(
        description="Each code that occurs, counting the alerts that match every filter "
        "except `code`."
    )


class RiskPage(Schema):
    items: list[PipelineRiskOut]
    counts: RiskCounts
    total: int = Field(description="Alerts matching every filter (all pages).")
    limit: int
    offset: int


class RiskFilters(Schema):
    severity: list[str] = Field(
        default_factory=list,
        description="high, medium or low; repeat the parameter or separate with commas.",
    )
    code: list[str] = Field(
        default_factory=list,
        description="Alert codes (stalled, behind_buyer, …); repeat or separate with commas.",
    )
    owner: int | None = Field(None, ge=1, le=MAX_ID, description="The deal owner's user id.")
    team: int | None = Field(None, ge=1, le=MAX_ID, description="The deal owner's team id.")
    playbook: str = Field("", max_length=40)
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_ID)


def _row(row: DealAlert) -> dict:
    opp = row.opportunity
    return {
        **risk_body(row.alert),
        "opportunity_id": opp.pk,
        "opportunity_name": opp.name,
        "account_id": opp.account_id,
        "account_name": opp.account.name,
        "owner": {"id": opp.owner_id, "name": str(opp.owner)},
        "stage": opp.stage,
        "stage_name": stage_name(opp.playbook, opp.stage),
        "amount": opp.amount,
        "currency": opp.currency,
        "expected_close": opp.expected_close,
        "priority": opp.priority or None,
    }


@router.get("", response={200: RiskPage, **ERRORS})
def list_risks(request, filters: Query[RiskFilters]):
    """Every alert of every open deal you may see (a rep: their own deals; a manager:
    their team's; an admin: all), most severe first. An unknown severity, code or
    playbook is a 422 naming the field and the values it accepts."""
    scan = alert_scan(
        request.auth,
        severity=filters.severity,
        code=filters.code,
        owner_id=filters.owner,
        team_id=filters.team,
        playbook=filters.playbook,
        keep=filters.offset + filters.limit,
    )
    return {
        "items": [_row(r) for r in scan.page(filters.offset, filters.limit)],
        "counts": {"by_severity": scan.by_severity, "by_code": scan.by_code},
        "total": scan.total,
        "limit": filters.limit,
        "offset": filters.offset,
    }

"""/api/v1/accounts/grading, /accounts/{id}/grade and /accounts/{id}/revenue (SPEC §6,
§10): the value pyramid with the Pareto ratio, one account's multi-indicator grade,
and the revenue records that feed both.

Mounted under /accounts before the accounts router (kam/config/api.py), so
`/accounts/grading` is never taken for an account id. The period is `start` and `end`
(YYYY-MM-DD) or `months` (1–120); neither means the trailing 12 months (the model's
`period_months`). Definitions: kam/accounts/grading.py and kam/methodology/grading.py.
Reads go through `account_get_for_user` (404 outside the user's scope), writes
through `account_get_for_edit` (403 when visible but not editable)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from kam.accounts import grading, revenue
from kam.accounts.selectors import account_get_for_edit, account_get_for_user
from kam.core.api_support import ERRORS, Money, PageQuery, SignedMoney, paginate
from kam.core.i18n import show

router = Router(tags=["account grading"])


class PeriodQuery(Schema):
    start: dt.date | None = Field(None, description="YYYY-MM-DD, with end.")
    end: dt.date | None = Field(None, description="YYYY-MM-DD, on or after start.")
    months: int | None = Field(
        None, ge=1, le=grading.MONTHS_MAX, description="Trailing months ending today (1–120)."
    )


class GradingQuery(PeriodQuery, PageQuery):
    pass


class PeriodOut(Schema):
    start: dt.date
    end: dt.date
    months: int | None = Field(None, description="Set when the period is the trailing months.")


class TierOut(Schema):
    key: str
    name: str
    count: int = Field(description="Visible accounts in the tier.")
    revenue: Decimal
    share_of_revenue: float | None = Field(
        description="Percent of the visible revenue; null when there is none."
    )


class ParetoOut(Schema):
    top_share: float = Field(description="Percent of accounts, the top ones.")
    accounts: int = Field(description="How many accounts that is: ⌈top_share × visible⌉.")
    ratio: float | None = Field(
        description="Their percent of the visible revenue; null when there is none."
    )
    curve: list[list[float]] = Field(
        description="[cumulative % of accounts, cumulative % of revenue], from [0, 0]."
    )


class GradingAccountOut(Schema):
    id: int
    name: str
    revenue: Decimal
    rank: int = Field(description="Rank by revenue in the whole book; ties share it.")
    tier: str
    tier_name: str


class ScopeOut(Schema):
    visible: int = Field(description="Accounts you may see: what is listed and counted.")
    book: int = Field(description="All accounts: what ranks and tiers are computed over.")


class GradingOut(Schema):
    period: PeriodOut
    tiers: list[TierOut]
    pareto: ParetoOut
    accounts: list[GradingAccountOut]
    count: int
    page: int
    page_size: int
    scope: ScopeOut
    revenue: Decimal = Field(description="Of the visible accounts in the period.")
    profit: Decimal = Field(description="Of the revenue that has a profit figure.")
    revenue_without_profit: Decimal


class IndicatorOut(Schema):
    key: str
    name: str
    method: str
    weight: float = Field(description="Percent of its group, as configured.")
    effective_weight: float = Field(description="Percent of the total it carried.")
    value: str | int | float | None
    score: float | None
    missing: bool


class GroupOut(Schema):
    key: str
    name: str
    weight: float = Field(description="Percent of the total, as configured.")
    effective_weight: float
    score: float | None
    indicators: list[IndicatorOut]


class GradeOut(Schema):
    account_id: int
    total: float
    tier: str
    tier_name: str
    coverage: float = Field(description="Percent of the configured weight that had data.")
    groups: list[GroupOut]
    pyramid_tier: str
    pyramid_tier_name: str
    rank: int
    book: int
    period: PeriodOut
    revenue_period: Decimal
    profit_period: Decimal
    revenue_without_profit_period: Decimal


class RevenueIn(Schema):
    date: dt.date = Field(description="YYYY-MM-DD, today or earlier.")
    amount: Money = Field(description="Above zero.")
    profit: SignedMoney | None = Field(None, description="May be negative; not above the amount.")
    source: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=500)
    external_key: str | None = Field(
        None, max_length=100, description="The source system's id; unique (409 when taken)."
    )


class RevenueOut(Schema):
    id: int
    account_id: int
    date: dt.date
    amount: Decimal
    profit: Decimal | None
    source: str
    note: str
    external_key: str | None
    created_at: dt.datetime


class RevenuePage(Schema):
    items: list[RevenueOut]
    count: int
    page: int
    page_size: int


def _period(q: PeriodQuery) -> grading.Period:
    return grading.period_from(start=q.start, end=q.end, months=q.months)


def _period_out(p: grading.Period) -> dict:
    return {"start": p.start, "end": p.end, "months": p.months}


def _tier_name(key: str) -> str:
    return show(grading.model().tier(key).name)


@router.get("/grading", response={200: GradingOut, **ERRORS})
def account_grading(request, q: Query[GradingQuery]):
    """The value pyramid (客户价值金字塔) and the Pareto ratio over a period: tiers
    and ranks over the whole book, lists and counts of the accounts you may see,
    highest revenue first."""
    report = grading.grading_report(request.auth, _period(q))
    names = {t.key: show(t.name) for t in grading.model().tiers}
    paged = paginate(report.rows, page=q.page, page_size=q.page_size)
    rows, count = paged["items"], paged["count"]
    return {
        "period": _period_out(report.period),
        "tiers": [
            {
                "key": t.key,
                "name": show(t.name),
                "count": t.count,
                "revenue": t.revenue,
                "share_of_revenue": t.share_of_revenue,
            }
            for t in report.tiers
        ],
        "pareto": {
            "top_share": report.pareto.top_share,
            "accounts": report.pareto.accounts,
            "ratio": report.pareto.ratio,
            "curve": [list(p) for p in report.pareto.curve],
        },
        "accounts": [
            {
                "id": r.id,
                "name": r.name,
                "revenue": r.revenue,
                "rank": r.rank,
                "tier": r.tier,
                "tier_name": names[r.tier],
            }
            for r in rows
        ],
        "count": count,
        "page": q.page,
        "page_size": q.page_size,
        "scope": {"visible": report.visible, "book": report.book},
        "revenue": report.revenue,
        "profit": report.profit,
        "revenue_without_profit": report.unprofited,
    }


def _value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@router.get("/{int:account_id}/grade", response={200: GradeOut, **ERRORS})
def account_grade(request, account_id: int, q: Query[PeriodQuery]):
    """The multi-indicator grade (多指标分类法) with its breakdown, and the account's
    place in the value pyramid over the period."""
    account = account_get_for_user(request.auth, account_id)
    found = grading.account_grade(account, _period(q))
    g = found.grade
    return {
        "account_id": account.pk,
        "total": g.total,
        "tier": g.tier,
        "tier_name": _tier_name(g.tier),
        "coverage": g.coverage,
        "groups": [
            {
                "key": group.key,
                "name": show(group.name),
                "weight": group.weight,
                "effective_weight": group.effective_weight,
                "score": group.score,
                "indicators": [
                    {
                        "key": i.key,
                        "name": show(i.name),
                        "method": i.method,
                        "weight": i.weight,
                        "effective_weight": i.effective_weight,
                        "value": _value(i.value),
                        "score": i.score,
                        "missing": i.missing,
                    }
                    for i in group.indicators
                ],
            }
            for group in g.groups
        ],
        "pyramid_tier": found.pyramid_tier,
        "pyramid_tier_name": _tier_name(found.pyramid_tier),
        "rank": found.rank,
        "book": found.book,
        "period": _period_out(found.period),
        "revenue_period": found.period_totals.revenue,
        "profit_period": found.period_totals.profit,
        "revenue_without_profit_period": found.period_totals.unprofited,
    }


@router.get("/{int:account_id}/revenue", response={200: RevenuePage, **ERRORS})
def list_revenue(request, account_id: int, q: Query[PageQuery]):
    """The account's revenue records, newest first."""
    account = account_get_for_user(request.auth, account_id)
    return paginate(revenue.revenue_records_for(account), page=q.page, page_size=q.page_size)


@router.post("/{int:account_id}/revenue", response={201: RevenueOut, **ERRORS})
def add_revenue(request, account_id: int, payload: RevenueIn):
    """Record revenue booked outside KAM's deals (e.g. ERP history)."""
    account = account_get_for_edit(request.auth, account_id)
    record = revenue.revenue_record_add(
        actor=request.auth,
        account=account,
        date=payload.date,
        amount=payload.amount,
        profit=payload.profit,
        source=payload.source or "",
        note=payload.note or "",
        external_key=payload.external_key,
    )
    return Status(201, record)


@router.delete("/{int:account_id}/revenue/{int:record_id}", response={204: None, **ERRORS})
def delete_revenue(request, account_id: int, record_id: int):
    account = account_get_for_edit(request.auth, account_id)
    record = revenue.revenue_record_get(account, record_id)
    revenue.revenue_record_delete(actor=request.auth, record=record)
    return Status(204, None)

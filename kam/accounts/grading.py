"""Reading what the value pyramid and the multi-indicator grade (SPEC §6) are computed
from, for the whole book at once, aggregated in the database (GROUP BY): a fixed
number of queries whatever the number of accounts. The arithmetic is the pure
kam/methodology/grading.py.

**Revenue** of an account over a period [start, end] (both days included) = Σ amount
of its won opportunities whose `closed_at`, in the installation's time zone, falls on
a day of the period + Σ RevenueRecord.amount dated in the period. All time: the same
without the dates (a won deal without `closed_at` counts only there).

**Profit** = Σ won amount × margin % of the deal's latest `contract_signed` milestone
that states a margin + Σ RevenueRecord.profit. A deal without such a margin, or a
record without a profit, adds no profit; `unprofited` says how much revenue that was.
For the grade, an account whose revenue carries no profit figure at all has its
cumulative profit *missing*; an account without revenue has 0 (zero is data).

**Period**: `start` and `end` (end ≥ start), or `months` (1–120): the trailing months
ending today (`kam.core.clock.today()`): months=12 on 2026-03-15 is 2025-03-16 …
2026-03-15. Neither: the model's `period_months` (12).

**Scope**: tiers and ranks are computed over the WHOLE book, so an account's tier does
not depend on who looks; the lists, counts, totals and the Pareto ratio cover only
the accounts the user may see (`accounts_for_user`). The `relative` indicators of the
grade divide by the whole book's maximum, for the same reason.

Queries: `grading_report` 3 (deals, records, accounts with a visibility flag);
`grades_for_user` 5 (all-time deals and records, accounts, needs, the graded
accounts' fields); `account_grade` 6 (7 when the model compares an account's own
field across the book).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.utils.translation import gettext as _

from kam.accounts.models import Account, AccountNeed, RevenueRecord
from kam.accounts.selectors import accounts_for_user
from kam.core import clock, validation
from kam.core.errors import ValidationFailed
from kam.core.periods import Period, dates_period, months_back
from kam.methodology import grading as rules
from kam.methodology import registry
from kam.opportunities.models import Milestone, Opportunity, Status

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONTHS_MAX = 120
MARGIN_MILESTONE = "contract_signed"
ACCOUNT_FIELDS = (
    "id",
    "name",
    "industry",
    "size",
    "nature",
    "collection_cycle_days",
    "receivables",
    "value_positioning",
)


def model() -> rules.GradingModel:
    return registry.current().grading


# --- the period -----------------------------------------------------------------------


def trailing_period(months: int | None = None, *, today: dt.date | None = None) -> Period:
    months = months or model().period_months
    end = today or clock.today()
    return Period(start=months_back(end, months) + dt.timedelta(days=1), end=end, months=months)


def period_from(*, start: Any = None, end: Any = None, months: Any = None) -> Period:
    """The period a request asks for; bad input is a ValidationFailed naming the field."""
    if months is not None and (start is not None or end is not None):
        raise ValidationFailed(_("Give either months or start and end, not both."), field="months")
    if months is not None:
        number = validation.whole_number(months, field="months", minimum=1, maximum=MONTHS_MAX)
        return trailing_period(number)
    if start is None and end is None:
        return trailing_period()
    return dates_period(start, end)


# --- revenue and profit per account ---------------------------------------------------------


@dataclass
class Totals:
    revenue: Decimal = ZERO
    profit: Decimal = ZERO  # of the revenue that has a profit figure
    unprofited: Decimal = ZERO  # revenue without a profit figure
    deals: int = 0  # won deals
    records: int = 0  # revenue records
    with_profit: int = 0  # deals and records with a profit figure

    @property
    def transactions(self) -> int:
        return self.deals + self.records

    def add(self, other: Totals) -> Totals:
        return Totals(
            revenue=self.revenue + other.revenue,
            profit=self.profit + other.profit,
            unprofited=self.unprofited + other.unprofited,
            deals=self.deals + other.deals,
            records=self.records + other.records,
            with_profit=self.with_profit + other.with_profit,
        )


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def revenue_totals(period: Period | None) -> dict[int, Totals]:
    """Per account id (only those with revenue): two GROUP BY queries."""
    deals = Opportunity.objects.filter(status=Status.WON)
    records = RevenueRecord.objects.all()
    if period is not None:
        lo, hi = period.bounds()
        deals = deals.filter(closed_at__gte=lo, closed_at__lt=hi)
        records = records.filter(date__gte=period.start, date__lte=period.end)
    out: dict[int, Totals] = {}
    for account, amount, weighted, unprofited, n, known in _won_by_account(deals):
        out[account] = Totals(
            revenue=_money(amount),
            # Σ amount × margin, divided here: SQLite divides two whole numbers as
            # whole numbers (1,001 at 15 % made 150, not 150.15)
            profit=_money(Decimal(weighted) / 100) if weighted is not None else ZERO,
            unprofited=_money(unprofited),
            deals=n,
            with_profit=known,
        )
    for row in (
        records.values("account_id")
        .annotate(
            sum_amount=Sum("amount"),
            sum_profit=Sum("profit"),
            sum_unprofited=Sum("amount", filter=Q(profit__isnull=True)),
            n=Count("id"),
            known=Count("id", filter=Q(profit__isnull=False)),
        )
        .order_by()
    ):
        mine = Totals(
            revenue=_money(row["sum_amount"]),
            profit=_money(row["sum_profit"]),
            unprofited=_money(row["sum_unprofited"]),
            records=row["n"],
            with_profit=row["known"],
        )
        out[row["account_id"]] = out.get(row["account_id"], Totals()).add(mine)
    return out


def _won_by_account(deals) -> list[tuple]:
    """Per account: Σ amount, Σ amount × margin %, Σ amount without a margin, how
    many deals, how many with a margin. Each deal's margin (its latest contract
    milestone stating one) is joined from one pass over those milestones: looked up
    per deal, SQLite repeated the lookup in each of the three sums that use it, even
    from a derived table. With the index the deals are read from, the book's 250,000
    won deals: ~0.62 -> ~0.22 s."""
    inner, params = (
        deals.order_by().values_list("id", "account_id", "amount").query.sql_with_params()
    )
    q = connection.ops.quote_name
    milestones = q(Milestone._meta.db_table)
    margins = (
        "SELECT opportunity_id, margin FROM ("  # noqa: S608
        "SELECT opportunity_id, margin, ROW_NUMBER() OVER ("
        f"PARTITION BY opportunity_id ORDER BY {q('date')} DESC, id DESC) AS latest "
        f"FROM {milestones} WHERE kind = %s AND margin IS NOT NULL) stated WHERE latest = 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT won.account_id, SUM(won.amount), SUM(won.amount * m.margin), "  # noqa: S608
            "SUM(CASE WHEN m.margin IS NULL THEN won.amount END), COUNT(*), COUNT(m.margin) "
            f"FROM ({inner}) won LEFT JOIN ({margins}) m ON m.opportunity_id = won.id "
            "GROUP BY won.account_id",
            (*params, MARGIN_MILESTONE),
        )
        return cursor.fetchall()


def _book(user) -> list[dict[str, Any]]:
    """Every account of the book (id and name), each flagged `visible` when the user
    may see it: one query. The fields the grade reads are read for the accounts
    graded (`grades_for_book`): for 100,000 accounts they took ~0.6 s."""
    visible = accounts_for_user(user).values("pk")
    return list(
        Account.objects.annotate(
            visible=Case(
                When(pk__in=visible, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by()
        .values("id", "name", "visible")
    )


# --- the value pyramid ----------------------------------------------------------------


@dataclass
class AccountRow:
    id: int
    name: str
    revenue: Decimal
    profit: Decimal
    unprofited: Decimal
    rank: int
    tier: str
    grade: rules.GradeResult | None = None


@dataclass
class TierRow:
    key: str
    name: Any  # Text
    count: int
    revenue: Decimal
    share_of_revenue: float | None  # percent of the visible revenue


@dataclass
class GradingReport:
    period: Period
    rows: list[AccountRow]  # visible accounts, highest revenue first
    tiers: list[TierRow]
    pareto: rules.Pareto
    visible: int
    book: int
    revenue: Decimal  # of the visible accounts
    profit: Decimal
    unprofited: Decimal
    book_rows: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _share(part: Decimal, total: Decimal) -> float | None:
    return rules.round1(part * 100 / total) if total else None


def grading_report(user, period: Period) -> GradingReport:
    """The pyramid over the whole book, reported for the visible accounts: 3 queries."""
    m = model()
    totals = revenue_totals(period)
    book = _book(user)
    revenues = {a["id"]: totals.get(a["id"], Totals()).revenue for a in book}
    places = rules.pyramid(m, revenues)
    rows = []
    for a in book:
        if not a["visible"]:
            continue
        t = totals.get(a["id"], Totals())
        place = places[a["id"]]
        rows.append(
            AccountRow(
                id=a["id"],
                name=a["name"],
                revenue=t.revenue,
                profit=t.profit,
                unprofited=t.unprofited,
                rank=place.rank,
                tier=place.tier,
            )
        )
    rows.sort(key=lambda r: (-r.revenue, r.name, r.id))
    revenue = sum((r.revenue for r in rows), ZERO)
    tiers = []
    for tier in m.tiers:
        mine = [r for r in rows if r.tier == tier.key]
        tier_revenue = sum((r.revenue for r in mine), ZERO)
        tiers.append(
            TierRow(
                key=tier.key,
                name=tier.name,
                count=len(mine),
                revenue=tier_revenue,
                share_of_revenue=_share(tier_revenue, revenue),
            )
        )
    return GradingReport(
        period=period,
        rows=rows,
        tiers=tiers,
        pareto=rules.pareto([r.revenue for r in rows], m.pareto_top_share),
        visible=len(rows),
        book=len(book),
        revenue=revenue,
        profit=sum((r.profit for r in rows), ZERO),
        unprofited=sum((r.unprofited for r in rows), ZERO),
        book_rows=book,
    )


# --- the multi-indicator grade ----------------------------------------------------------------


def needs_match(weighted_fit: Any, importance: Any) -> Decimal | None:
    """Σ importance × fit / (5 × Σ importance) × 100, or None without needs."""
    if not importance:
        return None
    return (Decimal(weighted_fit) * 100 / (5 * Decimal(importance))).quantize(Decimal("0.1"))


def _needs(account_id: int | None = None) -> dict[int, Decimal | None]:
    qs = AccountNeed.objects.all()
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    rows = (
        qs.values("account_id")
        .annotate(fit=Sum(F("importance") * F("our_fit")), weight=Sum("importance"))
        .order_by()
    )
    return {r["account_id"]: needs_match(r["fit"], r["weight"]) for r in rows}


# the grade's inputs an account's own row gives (the rest come from its totals and needs)
ACCOUNT_INPUTS = {
    "collection_cycle": "collection_cycle_days",
    "receivables": "receivables",
    "value_positioning": "value_positioning",
}
TOTALS_INPUTS = ("revenue_total", "profit_total", "average_deal")


def _totals_values(totals: Totals) -> dict:
    # revenue, but nothing says what it earned: missing (no revenue at all: 0)
    profit = None if totals.transactions and not totals.with_profit else totals.profit
    average = (totals.revenue / totals.transactions).quantize(CENT) if totals.transactions else ZERO
    return {"revenue_total": totals.revenue, "profit_total": profit, "average_deal": average}


def grade_values(account: dict[str, Any], totals: Totals, needs: Decimal | None) -> dict:
    """The inputs of the grade for one account (None = missing)."""
    return {
        **_totals_values(totals),
        **{key: account.get(column) for key, column in ACCOUNT_INPUTS.items()},
        "purchase_criteria": needs,
        "industry": account.get("industry") or None,
        "size": account.get("size") or None,
        "nature": account.get("nature") or None,
    }


def _maxima(
    m: rules.GradingModel,
    all_time: dict[int, Totals],
    needs: dict[int, Decimal | None],
    *,
    book_size: int,
) -> dict:
    """`rules.book_maxima` over every account's `grade_values`, without building them
    for the 100,000 accounts of a large book (~0.7 s): the inputs from totals over the
    accounts with revenue (and the zeros of one without, if any), an account's own
    inputs by one MAX query (only when the model grades one of them relatively), the
    needs from their match per account."""
    keys = set(m.relative_keys)
    rows: list[dict[str, Any]] = []
    if keys & set(TOTALS_INPUTS):
        rows.extend(_totals_values(t) for t in all_time.values())
        if len(all_time) < book_size:
            rows.append(_totals_values(Totals()))
    columns = {key: column for key, column in ACCOUNT_INPUTS.items() if key in keys}
    if columns:
        top = Account.objects.aggregate(**{column: Max(column) for column in columns.values()})
        rows.append({key: top[column] for key, column in columns.items()})
    rows.extend({"purchase_criteria": v} for v in needs.values())
    return rules.book_maxima(m, rows)


def grades_for_book(
    book: list[dict[str, Any]], *, visible_only: bool = True, only: Collection[int] | None = None
) -> dict:
    """The grade of each (visible) account of `book` (from `_book`), or of those of
    them whose ids are in `only`: 4 more queries — the all-time deals and records, the
    needs and the graded accounts' fields. The book's maxima are taken over every
    account of the book either way."""
    m = model()
    all_time = revenue_totals(None)
    needs = _needs()
    maxima = _maxima(m, all_time, needs, book_size=len(book))
    graded = {
        a["id"]
        for a in book
        if (a["visible"] or not visible_only) and (only is None or a["id"] in only)
    }
    fields = Account.objects.order_by().values(*ACCOUNT_FIELDS)
    if only is not None:  # a page's ids (a whole book's would be too many to list)
        fields = fields.filter(pk__in=graded)
    return {
        a["id"]: rules.grade(
            m, grade_values(a, all_time.get(a["id"], Totals()), needs.get(a["id"])), maxima
        )
        for a in fields
        if a["id"] in graded
    }


def grades_for_user(user) -> dict[int, rules.GradeResult]:
    """Every visible account's grade, by account id: 5 queries."""
    return grades_for_book(_book(user))


@dataclass
class AccountGrade:
    grade: rules.GradeResult
    period: Period
    period_totals: Totals
    rank: int
    pyramid_tier: str
    book: int


def account_grade(account: Account, period: Period) -> AccountGrade:
    """One account's grade and pyramid place (the account is already checked visible
    by the caller): 6 queries whatever the size of the book (7 when the model compares
    an account's own field across the book). The book's maxima and the account's
    rank come from the whole book's totals, not from its rows."""
    m = model()
    book_size = Account.objects.count()
    all_time = revenue_totals(None)
    # every account's needs only when the model compares them across the book
    needs = _needs() if "purchase_criteria" in m.relative_keys else _needs(account.pk)
    mine = {column: getattr(account, column) for column in ACCOUNT_FIELDS}
    result = rules.grade(
        m,
        grade_values(mine, all_time.get(account.pk, Totals()), needs.get(account.pk)),
        _maxima(m, all_time, needs, book_size=book_size),
    )
    in_period = revenue_totals(period)
    mine_in_period = in_period.get(account.pk, Totals())
    place = rules.place(
        m, mine_in_period.revenue, [t.revenue for t in in_period.values()], book_size=book_size
    )
    return AccountGrade(
        grade=result,
        period=period,
        period_totals=mine_in_period,
        rank=place.rank,
        pyramid_tier=place.tier,
        book=book_size,
    )

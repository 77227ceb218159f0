"""Account grading (SPEC §6, §9): the dashboard with the value pyramid, the Pareto
chart and every visible account's rank, tier and multi-indicator grade; and the
account page's grade card with the breakdown and the account's revenue records.

The dashboard reads the book once (kam/accounts/grading.py): 3 queries for the
pyramid and 3 more for every visible account's grade, whatever the book size. The
charts are drawn by static/kam/grading.js from the JSON block built here. The card's
POSTs load the account through `account_get_for_edit` and call one service of
kam/accounts/revenue.py; a refused form renders the account page again with its
errors (422), a saved one redirects back to the card (PRG)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from kam.accounts import grading, revenue
from kam.accounts.models import Account, Nature, RevenueRecord, Size
from kam.accounts.selectors import account_get_for_edit, accounts_editable_by
from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.methodology.grading import GradeResult
from kam.web import presenters
from kam.web.forms import DateInput, ServiceForm
from kam.web.views.account_cards import back_to_card, submit_card
from kam.web.views.common import domain_errors

TABLE_PAGE_SIZE = 100
# The Pareto chart's most bars: past this many accounts a bar is a run of accounts.
PARETO_BARS = 400
RECORDS_SHOWN = 10
MONTH_CHOICES = (3, 6, 12, 24, 36, 60)

# What to fill in when an indicator has no data (shown beside "no data").
MISSING_HINTS = {
    "profit_total": gettext_lazy(
        "Record the margin with the contract-signed milestone, or the profit of revenue records."
    ),
    "collection_cycle": gettext_lazy("Enter the collection cycle (days) on the account."),
    "receivables": gettext_lazy("Enter the receivables on the account."),
    "industry": gettext_lazy("Enter the industry on the account."),
    "size": gettext_lazy("Enter the size on the account."),
    "nature": gettext_lazy("Enter the ownership nature on the account."),
    "value_positioning": gettext_lazy("Enter the value positioning fit (1–5) on the account."),
    "purchase_criteria": gettext_lazy(
        "Record the customer's needs with their importance and our fit."
    ),
}
# Filled in on the account's edit form (the card links there).
ON_ACCOUNT_FORM = {
    "collection_cycle",
    "receivables",
    "industry",
    "size",
    "nature",
    "value_positioning",
}


def tier_names() -> dict[str, str]:
    return {t.key: show(t.name) for t in grading.model().tiers}


def _value_text(key: str, value: Any) -> str:
    """An indicator's input as a person reads it."""
    if value is None or value == "":
        return ""
    if key in ("revenue_total", "profit_total", "average_deal", "receivables"):
        return presenters.format_money(value)
    if key == "collection_cycle":
        return _("%(n)s days") % {"n": value}
    if key == "size":
        return str(dict(Size.choices).get(value, value))
    if key == "nature":
        return str(dict(Nature.choices).get(value, value))
    if key == "value_positioning":
        return f"{value} / 5"
    if key == "purchase_criteria":
        return f"{value}%"
    return str(value)


# --- the account page's card ------------------------------------------------------------


class RevenueRecordForm(ServiceForm):
    """Add a historical revenue record (ERP history); the service checks every field."""

    prefix = "revenue"

    date = forms.DateField(label=gettext_lazy("Date"), required=False, widget=DateInput())
    amount = forms.CharField(
        label=gettext_lazy("Revenue"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "250000.00"}),
    )
    profit = forms.CharField(
        label=gettext_lazy("Profit"),
        required=False,
        help_text=gettext_lazy("Leave empty when unknown."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    source = forms.CharField(
        label=gettext_lazy("Source"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. ERP 2025")}),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)

    def __init__(self, data=None, *, actor, account: Account):
        super().__init__(data, initial={"date": clock.today()})
        self.actor = actor
        self.account = account

    def save(self) -> RevenueRecord | None:
        data = self.cleaned_data
        return self.run(
            lambda: revenue.revenue_record_add(
                actor=self.actor,
                account=self.account,
                date=data.get("date"),
                amount=(data.get("amount") or "").strip(),
                profit=(data.get("profit") or "").strip() or None,
                source=data.get("source") or "",
                note=data.get("note") or "",
            )
        )


@dataclass
class IndicatorRow:
    key: str
    name: str
    weight: float
    effective_weight: float
    score: float | None
    missing: bool
    value: str
    hint: str
    on_account_form: bool


@dataclass
class GroupRow:
    key: str
    name: str
    weight: float
    effective_weight: float
    score: float | None
    indicators: list[IndicatorRow]


@dataclass
class GradeCard:
    total: float
    tier: str
    tier_name: str
    coverage: float
    groups: list[GroupRow]
    pyramid_tier: str
    pyramid_tier_name: str
    rank: int
    book: int
    period: grading.Period
    revenue: Decimal
    profit: Decimal
    unprofited: Decimal
    missing: int  # indicators without data
    records: list[RevenueRecord] = field(default_factory=list)
    record_count: int = 0
    can_edit: bool = False
    form: Any = None
    form_open: bool = False


def grade_rows(result: GradeResult) -> list[GroupRow]:
    return [
        GroupRow(
            key=g.key,
            name=show(g.name),
            weight=g.weight,
            effective_weight=g.effective_weight,
            score=g.score,
            indicators=[
                IndicatorRow(
                    key=i.key,
                    name=show(i.name),
                    weight=i.weight,
                    effective_weight=i.effective_weight,
                    score=i.score,
                    missing=i.missing,
                    value=_value_text(i.key, i.value),
                    hint=str(MISSING_HINTS.get(i.key, "")) if i.missing else "",
                    on_account_form=i.key in ON_ACCOUNT_FORM,
                )
                for i in g.indicators
            ],
        )
        for g in result.groups
    ]


def account_grade_context(request, account, forms: dict | None = None) -> dict:
    """The grade card: the multi-indicator grade with its breakdown, the pyramid place
    over the trailing period, the latest revenue records and (for editors) the form
    to add one. 6 queries for the grade and place, 3 for the records and the right."""
    forms = forms or {}
    found = grading.account_grade(account, grading.trailing_period())
    names = tier_names()
    can_edit = accounts_editable_by(request.user).filter(pk=account.pk).exists()
    records = revenue.revenue_records_for(account)
    bound = forms.get("revenue")
    g = found.grade
    card = GradeCard(
        total=g.total,
        tier=g.tier,
        tier_name=names[g.tier],
        coverage=g.coverage,
        groups=grade_rows(g),
        pyramid_tier=found.pyramid_tier,
        pyramid_tier_name=names[found.pyramid_tier],
        rank=found.rank,
        book=found.book,
        period=found.period,
        revenue=found.period_totals.revenue,
        profit=found.period_totals.profit,
        unprofited=found.period_totals.unprofited,
        missing=sum(1 for grp in g.groups for i in grp.indicators if i.missing),
        records=list(records[:RECORDS_SHOWN]),
        record_count=records.count(),
        can_edit=can_edit,
        form=(bound or RevenueRecordForm(actor=request.user, account=account))
        if can_edit
        else None,
        form_open=bound is not None,
    )
    return {"grade_card": card}


@login_required
@require_POST
@domain_errors
def revenue_add_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = RevenueRecordForm(request.POST, actor=request.user, account=account)
    return submit_card(
        request,
        account,
        form,
        key="revenue",
        anchor="grade",
        success=lambda record: (
            _("Revenue of %(amount)s on %(date)s recorded.")
            % {"amount": presenters.format_money(record.amount), "date": record.date.isoformat()}
        ),
    )


@login_required
@require_POST
@domain_errors
def revenue_delete_view(request, account_id: int, record_id: int):
    account = account_get_for_edit(request.user, account_id)
    record = revenue.revenue_record_get(account, record_id)
    revenue.revenue_record_delete(actor=request.user, record=record)
    messages.success(request, _("Revenue record deleted."))
    return back_to_card(account, "grade")


# --- the dashboard ------------------------------------------------------------------------


class PeriodForm(forms.Form):
    """The trailing months, or a period of one's own (start and end)."""

    months = forms.TypedChoiceField(
        label=gettext_lazy("Period"), required=False, coerce=int, empty_value=None
    )
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())

    def __init__(self, data=None):
        super().__init__(data)
        default = grading.model().period_months
        months = sorted({*MONTH_CHOICES, default})
        self.fields["months"].choices = [(m, _("Last %(n)s months") % {"n": m}) for m in months] + [
            ("", _("From – to"))
        ]
        self.fields["months"].initial = default

    def period(self) -> grading.Period:
        """The chosen period; with an error on the form, the default one."""
        if not self.is_bound:
            return grading.trailing_period()
        if not self.is_valid():
            return grading.trailing_period()
        data = self.cleaned_data
        start, end, months = data.get("start"), data.get("end"), data.get("months")
        try:
            if start or end:
                return grading.period_from(start=start, end=end)
            return grading.period_from(months=months)
        except ValidationFailed as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
            return grading.trailing_period()


@dataclass
class DashboardRow:
    id: int
    name: str
    revenue: Decimal
    rank: int
    tier: str
    tier_name: str
    grade: GradeResult | None
    grade_tier_name: str


def pareto_bars(report: grading.GradingReport) -> dict:
    """The Pareto chart's bars: one per visible account, highest revenue first; over
    PARETO_BARS accounts, each bar sums a run of accounts of equal length (the line is
    the cumulative share at each run's end). One bar per account made an admin's page
    of 100,000 accounts 9.5 MB, for a chart no one could read bar by bar."""
    rows, curve, top = report.rows, report.pareto.curve[1:], report.pareto.accounts
    run = math.ceil(len(rows) / PARETO_BARS) if len(rows) > PARETO_BARS else 1
    if run == 1:
        return {
            "names": [r.name for r in rows],
            "revenue": [float(r.revenue) for r in rows],
            "cumulative": [p[1] for p in curve],
            "top": top,
            "accounts_per_bar": 1,
        }
    starts = range(0, len(rows), run)
    return {
        "names": [_run_name(i + 1, min(i + run, len(rows))) for i in starts],
        "revenue": [float(sum((r.revenue for r in rows[i : i + run]), Decimal(0))) for i in starts],
        "cumulative": [curve[min(i + run, len(rows)) - 1][1] for i in starts],
        # the bars that hold the top accounts
        "top": math.ceil(top / run),
        "accounts_per_bar": run,
    }


def _run_name(first: int, last: int) -> str:
    if first == last:
        return _("Account ranked %(rank)s") % {"rank": first}
    return _("Accounts ranked %(first)s–%(last)s") % {"first": first, "last": last}


def chart_data(report: grading.GradingReport, names: dict[str, str]) -> dict:
    """What grading.js draws: the pyramid's tiers and the Pareto bars and line."""
    return {
        "pyramid": [
            {
                "key": t.key,
                "name": names[t.key],
                "count": t.count,
                "revenue": float(t.revenue),
                "revenue_text": presenters.format_money(t.revenue),
                "share": t.share_of_revenue,
            }
            for t in report.tiers
        ],
        "pareto": {
            **pareto_bars(report),
            "top_share": report.pareto.top_share,
            "ratio": report.pareto.ratio,
        },
        "text": {
            "accounts": _("accounts"),
            "revenue": _("Revenue"),
            "cumulative": _("Cumulative share of revenue"),
            "top": _("Top %(share)s%%") % {"share": f"{report.pareto.top_share:g}"},
        },
    }


def dashboard_period(request) -> tuple[PeriodForm, grading.Period]:
    """The dashboard's period from the query string (the last 12 months when it is
    missing or wrong): the dashboard and its Excel export both read it here."""
    form = PeriodForm(request.GET or None)
    return form, form.period()


def dashboard_rows(
    report: grading.GradingReport, rows: Sequence[grading.AccountRow] | None = None
) -> list[DashboardRow]:
    """The rank, pyramid tier and grade of `rows` (by default every visible account,
    highest revenue first). Only these are graded: a page of the dashboard grades its
    100 rows, not the 100,000 accounts of a large book (over a minute)."""
    rows = report.rows if rows is None else rows
    grades = grading.grades_for_book(report.book_rows, only={r.id for r in rows})
    names = tier_names()
    return [
        DashboardRow(
            id=r.id,
            name=r.name,
            revenue=r.revenue,
            rank=r.rank,
            tier=r.tier,
            tier_name=names[r.tier],
            grade=grades.get(r.id),
            grade_tier_name=names[grades[r.id].tier] if r.id in grades else "",
        )
        for r in rows
    ]


@login_required
@require_safe
def grading_dashboard_view(request):
    form, period = dashboard_period(request)
    report = grading.grading_report(request.user, period)
    names = tier_names()
    page = Paginator(report.rows, TABLE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = dashboard_rows(report, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "report": report,
        "period": period,
        "page": page,
        "query": query.urlencode(),
        "tiers": [(t, names[t.key]) for t in report.tiers],
        "chart": chart_data(report, names),
        "has_revenue": report.revenue > 0,
        "top_share": f"{report.pareto.top_share:g}",
        "nav": "grading",
    }
    return render(request, "web/grading/dashboard.html", context)

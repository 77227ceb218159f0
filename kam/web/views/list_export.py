"""Every list page as an Excel workbook (issue 8): `GET /<list>/export.xlsx` with the
list's own query string answers exactly the rows the list shows with those filters —
all of them, not one page — in the user's language and within their scope (a rep
their own, a manager their team's, an admin all).

Each view reads its filters with the list view's own function (`account_filters`,
`opportunity_filters`, `alert_filters`, `partner_filters`, `dashboard_period`) and
asks the list's own selector, so the file cannot disagree with the screen.

- **Accounts** and **opportunities** are written in the columns of
  `kam.transfer.columns` by `kam.transfer.workbook`: the file can be edited in Excel
  and imported back.
- **Alerts**, **partners**, **segments** and the **account grading** table have
  columns of their own, as their pages show them.

Amounts are number cells formatted as money, dates date cells, and every text goes
through `kam.core.spreadsheet.safe_cell`, so nothing in the file can run. The file is
named after the list and the day in the user's language (`客户-2026-11-23.xlsx`,
`accounts-2026-11-23.xlsx`), with the English name as the ASCII fallback."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from kam.accounts import grading
from kam.accounts.selectors import account_list
from kam.core import clock
from kam.core.i18n import language, show, stage_name
from kam.core.spreadsheet import DATE, MONEY, PERCENT, new_workbook, workbook_response
from kam.methodology import registry
from kam.opportunities.alerts import SEVERITY_NAMES, alert_name, alert_scan
from kam.opportunities.selectors import opportunity_list
from kam.partners import selectors as partner_selectors
from kam.segments import selectors as segment_selectors
from kam.transfer import workbook
from kam.transfer.columns import ACCOUNTS, OPPORTUNITIES
from kam.transfer.workbook import Sheet
from kam.web.partner_forms import programme_name
from kam.web.views.accounts import account_filters
from kam.web.views.alerts import alert_filters
from kam.web.views.grading import dashboard_period, dashboard_rows
from kam.web.views.opportunities import opportunity_filters
from kam.web.views.partners import partner_filters

# The file's name per list: (Chinese, English).
FILE_NAMES = {
    "accounts": (ACCOUNTS.zh, "accounts"),
    "opportunities": (OPPORTUNITIES.zh, "opportunities"),
    "alerts": ("红旗预警", "alerts"),
    "partners": ("合作伙伴", "partners"),
    "segments": ("市场细分", "segments"),
    "grading": ("客户分级", "account-grading"),
}


def export_filename(list_key: str, lang: str | None = None) -> tuple[str, str]:
    """(`<list>-<today>.xlsx` in the user's language, its ASCII name)."""
    zh, en = FILE_NAMES[list_key]
    day = clock.today().isoformat()
    plain = f"{en}-{day}.xlsx"
    return (f"{zh}-{day}.xlsx" if workbook.is_chinese(lang) else plain), plain


def _download(list_key: str, sheets: Iterable[Sheet]):
    wb = new_workbook(write_only=True)
    workbook.write_sheets(wb, sheets)
    name, plain = export_filename(list_key)
    return workbook_response(wb, name, fallback=plain)


# --- accounts and opportunities: the import's columns -----------------------------------


@login_required
@require_safe
def account_export_view(request):
    _form, filters = account_filters(request)
    return _download("accounts", [workbook.accounts_sheet(account_list(request.user, **filters))])


@login_required
@require_safe
def opportunity_export_view(request):
    _form, filters = opportunity_filters(request)
    deals = opportunity_list(request.user, **filters)
    return _download("opportunities", [workbook.opportunities_sheet(deals)])


# --- alerts -----------------------------------------------------------------------------


def alerts_sheet(scan_rows) -> Sheet:
    headers = [
        _("Severity"),
        _("Alert"),
        pgettext("an alert's headline", "Title"),
        pgettext("an alert's explanation", "Message"),
        _("What to do"),
        _("Opportunity"),
        _("Account"),
        _("Owner"),
        _("Stage"),
        _("Amount"),
        _("Currency"),
        _("Expected close"),
    ]
    rows = (
        [
            str(SEVERITY_NAMES.get(row.alert.severity, row.alert.severity)),
            alert_name(row.alert.code),
            show(row.alert.title),
            show(row.alert.message),
            show(row.alert.action),
            row.opportunity.name,
            row.opportunity.account.name,
            str(row.opportunity.owner),
            stage_name(row.opportunity.playbook, row.opportunity.stage),
            row.opportunity.amount,
            row.opportunity.currency,
            row.opportunity.expected_close,
        ]
        for row in scan_rows
    )
    return Sheet(_("Alerts"), headers, rows, {9: MONEY, 11: DATE})


@login_required
@require_safe
def alert_export_view(request):
    _form, filters = alert_filters(request)
    scan = alert_scan(request.user, **filters)
    return _download("alerts", [alerts_sheet(scan.rows)])


# --- partners ---------------------------------------------------------------------------


def partners_sheet(partners) -> Sheet:
    """Partners as from `partner_list` (owner and employer selected, referrals
    counted): the list's columns."""
    headers = [
        _("Name"),
        _("Employed by"),
        _("Position"),
        _("Managed by"),
        _("Written agreement"),
        _("Programme"),
        _("Referrals"),
        _("Held"),
    ]
    rows = (
        [
            p.name,
            p.employer_account.name if p.employer_account_id else None,
            p.position,
            str(p.owner),
            p.agreement_date,
            programme_name(p.programme),
            p.referral_count,
            p.held_count,
        ]
        for p in partners
    )
    return Sheet(_("Partners"), headers, rows, {4: DATE})


@login_required
@require_safe
def partner_export_view(request):
    _form, filters = partner_filters(request)
    partners = partner_selectors.partner_list(request.user, **filters)
    return _download("partners", [partners_sheet(partners)])


# --- segments ---------------------------------------------------------------------------


def segments_sheet(rows: list[segment_selectors.SegmentRow]) -> Sheet:
    """The segment list: name, description, definition in words, the attractiveness
    score and each heading's sub-score (0–100), whether every criterion is scored,
    and the number of the user's accounts in it."""
    lang = language()
    headings = registry.current().segmentation.headings
    headers = [
        _("Segment"),
        _("Description"),
        _("Definition"),
        _("Attractiveness"),
        *[h.name.get(lang) for h in headings],
        _("Every criterion scored"),
        _("Accounts"),
    ]
    out = (
        [
            row.segment.name,
            row.segment.description,
            segment_selectors.definition_summary(row.segment.definition),
            row.score.total,
            *[row.score.headings.get(h.key) for h in headings],
            workbook.yes_no(row.score.complete),
            row.account_count,
        ]
        for row in rows
    )
    return Sheet(_("Segments"), headers, out, {})


@login_required
@require_safe
def segment_export_view(request):
    return _download("segments", [segments_sheet(segment_selectors.segment_list(request.user))])


# --- account grading --------------------------------------------------------------------


def grading_sheet(report: grading.GradingReport) -> Sheet:
    """The dashboard's table: rank, account, revenue in the period, pyramid tier,
    grade, grade tier and data coverage (a fraction shown as a percentage)."""
    period = report.period
    revenue = _("Revenue %(start)s – %(end)s") % {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    headers = [
        _("Rank"),
        _("Account"),
        revenue,
        _("Pyramid tier"),
        _("Grade"),
        _("Grade tier"),
        _("Data coverage"),
    ]

    def coverage(row) -> Any:
        return None if row.grade is None else row.grade.coverage / 100

    rows = (
        [
            row.rank,
            row.name,
            row.revenue,
            row.tier_name,
            row.grade.total if row.grade else None,
            row.grade_tier_name,
            coverage(row),
        ]
        for row in dashboard_rows(report)
    )
    return Sheet(_("Account grading"), headers, rows, {2: MONEY, 6: PERCENT})


@login_required
@require_safe
def grading_export_view(request):
    _form, period = dashboard_period(request)
    report = grading.grading_report(request.user, period)
    return _download("grading", [grading_sheet(report)])

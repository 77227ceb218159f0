"""Export of the dashboard's current view to Excel (路标管理, SPEC §8, issue 6).

`GET /pipeline/export.xlsx?period=2026Q4&owner=3&team=1&playbook=standard-6` (or
`start=…&end=…` instead of `period`; an empty parameter counts as not given) takes the
dashboard's own filters and answers the workbook of `kam.opportunities.pipeline_export`
for the deals the user may see — a rep their own, a manager their team's, an admin
all — so the file holds exactly the numbers on the screen.

The file is named after the period in the user's language: `路标管理-2026Q4.xlsx` in
Chinese, `pipeline-2026Q4.xlsx` otherwise (`pipeline-2026-10-01_2026-12-31.xlsx` for
two dates); the ASCII name `pipeline-….xlsx` is always sent beside it for clients that
ignore `filename*`. Bad filters answer 422 with a plain-text message naming the field,
never a file. Queries: the report's (a fixed number, whatever the book size) plus the
session and the user."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from kam.core import validation
from kam.core.errors import ValidationFailed
from kam.core.spreadsheet import workbook_response
from kam.opportunities.api_pipeline import pipeline_body
from kam.opportunities.pipeline import Filters, parse_filters, pipeline_report
from kam.opportunities.pipeline_export import pipeline_workbook

MAX_ID = 2**63 - 1
MAX_TEXT = 40


def _text(query: QueryDict, name: str) -> str | None:
    return validation.text(query.get(name, ""), field=name, max_length=MAX_TEXT) or None


def _id(query: QueryDict, name: str) -> int | None:
    value = _text(query, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
        raise ValidationFailed(_("Enter a whole number."), field=name)
    return int(value)


def filters_from_query(user, query: QueryDict) -> Filters:
    """The dashboard's filters from a query string (period, start, end, owner, team,
    playbook), checked by `parse_filters`; bad input is a ValidationFailed naming the
    field."""
    return parse_filters(
        user,
        period=_text(query, "period"),
        start=_text(query, "start"),
        end=_text(query, "end"),
        owner=_id(query, "owner"),
        team=_id(query, "team"),
        playbook=_text(query, "playbook") or "",
    )


def export_filename(filters: Filters, language: str | None) -> tuple[str, str]:
    """(the file's name in the user's language, its ASCII name)."""
    period = filters.period
    span = period.key or f"{period.start.isoformat()}_{period.end.isoformat()}"
    plain = f"pipeline-{span}.xlsx"
    return (f"路标管理-{span}.xlsx" if (language or "").startswith("zh") else plain), plain


@login_required
@require_safe
def pipeline_export_view(request):
    try:
        filters = filters_from_query(request.user, request.GET)
    except ValidationFailed as exc:
        return HttpResponse(
            f"{exc.field}: {exc.message}\n",
            status=422,
            content_type="text/plain; charset=utf-8",
        )
    report = pipeline_report(request.user, filters, listed=None)  # the file lists them all
    name, plain = export_filename(filters, get_language())
    return workbook_response(pipeline_workbook(report, pipeline_body(report)), name, fallback=plain)

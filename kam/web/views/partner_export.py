"""A partner's statement for one settlement period as an Excel workbook (SPEC §7, issue 7).

`GET /partners/<id>/statement.xlsx?period=2026H1` (the partner page's period when
left out) answers the statement the page shows — the same `statement_body` the API
answers — for whoever may see the partner (`partner_get_for_user`: 404 otherwise):

- **Statement**: partner, period, programme, the figures (earned, pending, held,
  volume base and bonus, bonus held, payable, paid, due) and each flag with its
  message in the user's language;
- **Lines**: one row per referral on the statement — the deal's name, or a marker when
  the viewer may not see the deal (its figures stay), account, kind, contract,
  collected in the period and to date, commission, pending, base, held or released;
- **Payouts**: the period's payouts.

Amounts are number cells formatted as money and dates date cells; every text goes
through `kam.core.spreadsheet.safe_cell`, so a partner named `=HYPERLINK(…)` is written
as text and never runs. The file is named `<partner>-<period>.xlsx` (the partner's
name as written, Chinese included), with `partner-<id>-<period>.xlsx` as the ASCII
name beside it. A bad period answers 422 with a plain-text message, never a file."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from openpyxl import Workbook

from kam.core.errors import ValidationFailed
from kam.core.spreadsheet import (
    DATE,
    MONEY,
    add_sheet,
    new_workbook,
    workbook_response,
    write_table,
)
from kam.partners import api, selectors
from kam.partners.models import Kind
from kam.web.partner_forms import programme_name
from kam.web.views.common import domain_errors

# Characters a file name may not hold on Windows, macOS or Linux, and control characters.
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
NAME_MAX = 80


def flag_name(code: str) -> str:
    return {
        "conflict_of_interest": _("Held — conflict of interest"),
        "no_agreement": _("No written agreement"),
        "overpaid": _("Overpaid"),
        "period_open": _("Period not ended"),
    }.get(code, code)


def export_filename(partner, period_key: str) -> tuple[str, str]:
    """(`<partner>-<period>.xlsx` as the user reads it, its ASCII name)."""
    name = _UNSAFE_NAME.sub("_", partner.name).strip(" ._")[:NAME_MAX] or f"partner-{partner.pk}"
    return f"{name}-{period_key}.xlsx", f"partner-{partner.pk}-{period_key}.xlsx"


def _statement_rows(body: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [_("Partner"), body["partner_name"]],
        [_("Period"), body["period"]],
        [_("Period start"), body["start"]],
        [_("Period end"), body["end"]],
        [_("Programme"), programme_name(body["programme"])],
        [_("Currency"), body["currency"]],
        [_("Earned"), body["earned"]],
        [_("Pending"), body["pending"]],
        [_("Held"), body["held"]],
        [_("Volume base"), body["volume_base"]],
        [_("Volume bonus"), body["volume_bonus"]],
        [_("Bonus held"), body["bonus_held"]],
        [_("Payable"), body["payable"]],
        [_("Paid"), body["paid"]],
        [_("Due"), body["due"]],
    ]
    seen: set[tuple[str, str]] = set()
    for flag in body["flags"]:
        key = (flag["code"], flag["message"])
        if key not in seen:
            seen.add(key)
            rows.append([flag_name(flag["code"]), flag["message"]])
    return rows


def _conflict_state(line: dict[str, Any]) -> str:
    if line["held"]:
        return _("Held")
    if line["released"]:
        return _("Released")
    return ""


def _line_rows(body: dict[str, Any]) -> list[list[Any]]:
    kinds = dict(Kind.choices)
    hidden = _("(a deal not shared with you)")
    return [
        [
            line["opportunity_name"] if line["opportunity_name"] is not None else hidden,
            line["account_name"],
            str(kinds.get(line["kind"], line["kind"])),
            line["contract_amount"],
            line["won_on"],
            line["collected"],
            line["collected_to_date"],
            line["commission"],
            line["pending"],
            line["base"],
            _conflict_state(line),
        ]
        for line in body["lines"]
    ]


def statement_workbook(report: selectors.PartnerStatement) -> Workbook:
    body = api.statement_body(report)
    wb = new_workbook()
    write_table(
        add_sheet(wb, _("Statement")),
        [_("Item"), _("Value")],
        _statement_rows(body),
    )
    write_table(
        add_sheet(wb, _("Lines")),
        [
            _("Deal"),
            _("Account"),
            _("Kind"),
            _("Contract amount"),
            _("Won on"),
            _("Collected in the period"),
            _("Collected to date"),
            _("Commission"),
            _("Pending"),
            _("Volume base"),
            _("Conflict of interest"),
        ],
        _line_rows(body),
        number_formats={3: MONEY, 4: DATE, 5: MONEY, 6: MONEY, 7: MONEY, 8: MONEY, 9: MONEY},
    )
    write_table(
        add_sheet(wb, _("Payouts")),
        [_("Paid on"), _("Period"), _("Amount"), _("Reference"), _("Recorded by")],
        [
            [
                p.paid_on,
                p.period,
                p.amount,
                p.reference,
                str(p.recorded_by) if p.recorded_by_id else "",
            ]
            for p in body["payouts"]
        ],
        number_formats={0: DATE, 2: MONEY},
    )
    return wb


@login_required
@require_safe
@domain_errors
def partner_statement_export_view(request, partner_id: int):
    partner = selectors.partner_get_for_user(request.user, partner_id)
    try:
        period = api.period_for(partner, (request.GET.get("period") or "").strip()[:40] or None)
    except ValidationFailed as exc:
        return HttpResponse(
            f"{exc.field}: {exc.message}\n", status=422, content_type="text/plain; charset=utf-8"
        )
    report = selectors.partner_statement(partner, period, viewer=request.user)
    name, plain = export_filename(partner, period.key)
    return workbook_response(statement_workbook(report), name, fallback=plain)

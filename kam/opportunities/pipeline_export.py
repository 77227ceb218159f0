"""The manager's dashboard (路标管理, SPEC §8) as an Excel workbook: the current view —
same filters, same numbers — one sheet per panel.

Built from `pipeline_report` and `pipeline_body` (kam/opportunities/api_pipeline.py),
the JSON the API answers and the page draws, so the file cannot disagree with the
screen. Titles, headers and names are in the language active when it is built (the
request's). Amounts are number cells formatted as money, rates fractions formatted
as percentages, dates date cells; every cell goes through `kam.core.spreadsheet`, so a
deal named `=HYPERLINK(…)` is written as text and never runs.

Sheets: Summary (filters, as-of time, totals, progress, win rate, cycle, alerts by
severity), the two funnels, Forecast, Progress by rep, Progress by deal, Stalled,
Forced moves, A deals at risk, Conversion, Alerts by code. No query of its own: it
only reads the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from kam.core.i18n import show
from kam.core.spreadsheet import (
    DATE,
    DATETIME,
    MONEY,
    MONTH,
    PERCENT,
    Cell,
    add_sheet,
    new_workbook,
    write_table,
)
from kam.methodology import registry
from kam.opportunities.alerts import SEVERITY_NAMES, alert_name
from kam.opportunities.api_pipeline import pipeline_body
from kam.opportunities.pipeline import Pipeline

LIST_SEPARATOR = "; "


def _playbook_name(key: str) -> str:
    try:
        return show(registry.playbook(key).name)
    except KeyError:
        return key


def _name(person: dict[str, Any] | None) -> str | None:
    return None if person is None else person["name"]


def _percent(rate: float | None) -> Cell:
    return Cell(rate, PERCENT)


def _month(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def _joined(items: Sequence[str] | None) -> str:
    return LIST_SEPARATOR.join(items or ())


def _deal(ref: dict[str, Any]) -> list[Any]:
    return [ref["name"], ref["account_name"], _name(ref["owner"])]


def _deal_headers() -> list[str]:
    return [_("Deal"), _("Account"), _("Owner")]


def _summary(body: dict[str, Any]) -> list[list[Any]]:
    period, filters = body["period"], body["filters"]
    totals, progress = body["totals"], body["progress"]
    wins, cycle, alerts = body["win_rate"], body["cycle"], body["alerts"]
    everyone = _("All")
    rows: list[list[Any]] = [
        [_("Period"), period["key"] or f"{period['start']} – {period['end']}"],
        [_("Period start"), period["start"]],
        [_("Period end"), period["end"]],
        [_("Owner"), _name(filters["owner"]) or everyone],
        [_("Team"), filters["team"]["name"] if filters["team"] else everyone],
        [_("Playbook"), _playbook_name(filters["playbook"]) if filters["playbook"] else everyone],
        [_("As of"), body["as_of"]],
        [_("Open deals"), totals["count"]],
        [_("Open amount"), totals["amount"]],
        [_("Weighted amount"), totals["weighted"]],
        [_("Deals advanced in the buyer's process"), progress["deals_advanced"]],
        [_("Buyer stages advanced"), progress["stages_advanced"]],
        [_("Deals moved back"), progress["deals_moved_back"]],
        [_("Buyer stages moved back"), progress["stages_back"]],
        [_("Deals won"), wins["won"]],
        [_("Deals lost"), wins["lost"]],
        [_("Deals abandoned"), wins["abandoned"]],
        [_("Deals closed"), wins["closed"]],
        [_("Win rate (by count)"), _percent(wins["rate"])],
        [_("Amount won"), wins["won_amount"]],
        [_("Amount lost"), wins["lost_amount"]],
        [_("Amount abandoned"), wins["abandoned_amount"]],
        [_("Win rate (by amount)"), _percent(wins["amount_rate"])],
        [_("Median cycle (days)"), cycle["median_days"]],
        [_("Mean cycle (days)"), cycle["mean_days"]],
        [_("Alerts"), alerts["total"]],
    ]
    rows += [[str(SEVERITY_NAMES.get(k, k)), n] for k, n in alerts["by_severity"].items()]
    return rows


def pipeline_workbook(report: Pipeline, body: dict[str, Any] | None = None) -> Workbook:
    """The workbook of one dashboard view; `body` is `pipeline_body(report)` (made here
    when not given)."""
    body = pipeline_body(report) if body is None else body
    wb = new_workbook()

    def sheet(title: str, headers: list[str], rows, formats: dict[int, str] | None = None):
        write_table(add_sheet(wb, title), headers, rows, number_formats=formats)

    sheet(_("Summary"), [_("Figure"), _("Value")], _summary(body))
    sheet(
        _("Funnel – our stages"),
        [_("Playbook"), _("Stage"), _("Deals"), _("Amount"), _("Weighted amount")],
        (
            [r["playbook_name"], r["name"], r["count"], r["amount"], r["weighted"]]
            for r in body["by_stage"]
        ),
        {3: MONEY, 4: MONEY},
    )
    sheet(
        _("Funnel – buyer stages"),
        [_("Buyer stage"), _("Deals"), _("Amount"), _("Weighted amount")],
        ([r["name"], r["count"], r["amount"], r["weighted"]] for r in body["by_buyer_stage"]),
        {2: MONEY, 3: MONEY},
    )
    yes = _("Yes")
    sheet(
        _("Forecast"),
        [
            _("Month"),
            _("Open deals"),
            _("Amount"),
            _("Weighted amount"),
            _("Deals won"),
            _("Amount won"),
            _("Overdue"),
        ],
        (
            [
                _month(r["month"]),
                r["count"],
                r["amount"],
                r["weighted"],
                r["won_count"],
                r["won_amount"],
                yes if r["overdue"] else None,
            ]
            for r in body["forecast"]
        ),
        {0: MONTH, 2: MONEY, 3: MONEY, 5: MONEY},
    )
    sheet(
        _("Progress by rep"),
        [
            _("Rep"),
            _("Deals advanced"),
            _("Buyer stages advanced"),
            _("Deals moved back"),
            _("Buyer stages moved back"),
            _("Our stage advances"),
            _("Deals won"),
            _("Amount won"),
            _("Open deals"),
            _("Open amount"),
            _("Weighted amount"),
        ],
        (
            [
                _name(r["owner"]),
                r["deals_advanced"],
                r["stages_advanced"],
                r["deals_moved_back"],
                r["stages_back"],
                r["seller_advances"],
                r["won_count"],
                r["won_amount"],
                r["open"]["count"],
                r["open"]["amount"],
                r["open"]["weighted"],
            ]
            for r in body["progress"]["by_rep"]
        ),
        {7: MONEY, 9: MONEY, 10: MONEY},
    )
    sheet(
        _("Progress by deal"),
        [
            *_deal_headers(),
            _("From buyer stage"),
            _("To buyer stage"),
            _("Stages forward"),
            _("Stages back"),
            _("Net stages"),
        ],
        (
            [
                *_deal(m["opportunity"]),
                m["from_name"],
                m["to_name"],
                m["forward"],
                m["back"],
                m["net"],
            ]
            for m in body["progress"]["deals"]
        ),
    )
    sheet(
        _("Stalled"),
        [
            *_deal_headers(),
            _("Stage"),
            _("Days in stage"),
            _("Healthy days"),
            _("Severity"),
            _("Missing items"),
        ],
        (
            [
                *_deal(r["opportunity"]),
                r["opportunity"]["stage_name"],
                r["days"],
                r["healthy_days"],
                str(SEVERITY_NAMES.get(r["severity"], r["severity"])),
                _joined(r["missing"]),
            ]
            for r in body["stalled"]
        ),
    )
    closed = _("(deal closed)")
    sheet(
        _("Forced moves"),
        [
            *_deal_headers(),
            _("From stage"),
            _("To stage"),
            _("Moved at"),
            _("Moved by"),
            _("Reason"),
            _("Still unmet"),
        ],
        (
            [
                *_deal(r["opportunity"]),
                r["from_name"],
                r["to_name"],
                r["at"],
                _name(r["actor"]),
                r["reason"],
                closed if r["still_unmet"] is None else _joined(r["still_unmet"]),
            ]
            for r in body["forced_moves"]
        ),
        {5: DATETIME},
    )
    sheet(
        _("A deals at risk"),
        [
            *_deal_headers(),
            _("Amount"),
            _("Expected close"),
            _("Win probability"),
            _("High alerts"),
        ],
        (
            [
                *_deal(r["opportunity"]),
                r["opportunity"]["amount"],
                r["opportunity"]["expected_close"],
                r["win_probability"] / 100,
                _joined([a["title"] for a in r["alerts"]]),
            ]
            for r in body["a_at_risk"]
        ),
        {3: MONEY, 4: DATE, 5: PERCENT},
    )
    sheet(
        _("Conversion"),
        [
            _("Playbook"),
            _("Stage"),
            _("Advanced"),
            _("Forced"),
            _("Dropped"),
            _("Conversion"),
            _("Median days"),
            _("Healthy days"),
        ],
        (
            [
                _playbook_name(r["playbook"]),
                r["name"],
                r["advanced"],
                r["forced"],
                r["dropped"],
                r["rate"],
                r["median_days"],
                r["healthy_days"],
            ]
            for r in body["conversion"]
        ),
        {5: PERCENT},
    )
    sheet(
        _("Alerts by code"),
        [_("Alert"), _("Code"), _("Count")],
        ([alert_name(code), code, n] for code, n in body["alerts"]["by_code"].items()),
    )
    return wb

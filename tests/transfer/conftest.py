"""Builders for the import tests: spreadsheets written the way people save them (CSV in
UTF-8, with a BOM, in GB18030, with semicolons or tabs; .xlsx with one sheet per kind),
a fingerprint of the whole database to prove that a refused import wrote nothing, and
a clock pinned to a known day so stage dates "in the future" mean the same every run."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone, translation

from kam.core import clock
from kam.core.models import Event

# The day the import tests run on: 2026-06-15, 10:00 in Shanghai.
TODAY = dt.date(2026, 6, 15)
NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))

ACCOUNT_HEADERS = ["客户编码", "客户名称*", "客户经理", "行业", "企业性质", "年营业额"]
CONTACT_HEADERS = ["联系人编码", "客户*", "姓名*", "职务", "上级"]
DEAL_HEADERS = [
    "Code",
    "Account*",
    "Name*",
    "Owner",
    "Amount*",
    "Expected close*",
    "Stage",
    "Stage entry dates",
    "Buyer stage",
    "Status",
    "Closed on",
    "Close reason",
]
REVENUE_HEADERS = ["External key", "Account*", "Date*", "Revenue*", "Profit"]


def write_csv(
    path: Path,
    rows: Iterable[Sequence[Any]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    """Rows as a CSV file (`encoding="utf-8-sig"` writes Excel's BOM)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, Iterable[Sequence[Any]]]) -> Path:
    """A workbook with one sheet per entry, in order. A cell text starting with `=` is
    stored as a formula, as Excel does."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def account_row(code="A1", name="华东机械", owner="", industry="", nature="", revenue=""):
    return [code, name, owner, industry, nature, revenue]


def deal_row(
    code="D1",
    account="A1",
    name="Line 3 retrofit",
    owner="",
    amount="100000",
    close="2026-12-31",
    stage="",
    dates="",
    buyer="",
    status="",
    closed_on="",
    reason="",
):
    return [
        code,
        account,
        name,
        owner,
        amount,
        close,
        stage,
        dates,
        buyer,
        status,
        closed_on,
        reason,
    ]


def problems(report) -> list[tuple[str, int, str, str, bool]]:
    """Every problem as (sheet, row, column, message, warning)."""
    return [(p.sheet, p.row, p.column, p.message, p.warning) for p in report.problems]


def errors(report) -> list[tuple[str, int, str, str]]:
    return [(p.sheet, p.row, p.column, p.message) for p in report.errors]


def tallies(report) -> list[tuple[str, int, int, int, int, int]]:
    """(sheet, rows, created, updated, unchanged, invalid) per sheet read."""
    return [(t.sheet, t.rows, t.created, t.updated, t.unchanged, t.invalid) for t in report.tallies]


def in_chinese(message: str, **params: Any) -> str:
    """The message as a zh-Hans user reads it (its translation, once the lead has
    translated the import's messages; the English until then)."""
    with translation.override("zh-hans"):
        text = translation.gettext(message)
    return text % params if params else text


def fingerprint() -> dict[str, Any]:
    """The row count of every table, the number of events, and a hash of every
    account, contact, deal and revenue line: equal before and after means nothing was
    written."""
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    digest = hashlib.sha256()
    for label in (
        "accounts.Account",
        "contacts.Contact",
        "opportunities.Opportunity",
        "accounts.RevenueRecord",
    ):
        model = apps.get_model(label)
        for row in model._default_manager.order_by("pk").values():
            digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    return {"counts": counts, "events": Event.objects.count(), "hash": digest.hexdigest()}


@pytest.fixture
def today():
    """The clock pinned at NOW (2026-06-15 10:00) for the test."""
    with clock.freeze(NOW):
        yield TODAY


def state() -> dict[str, Any]:
    """Every account, contact, deal, revenue line and event, with primary keys replaced
    by their rank in their table (so two imports of the same rows into databases that
    numbered them differently — a rolled-back run, PostgreSQL's sequences, which skip —
    compare equal), and the keys inside events' before/after JSON renumbered the same
    way."""
    from kam.accounts.models import Account, RevenueRecord
    from kam.contacts.models import Contact
    from kam.opportunities.models import Opportunity

    models = {
        "account": Account,
        "contact": Contact,
        "opportunity": Opportunity,
        "revenue_record": RevenueRecord,
    }
    ranks = {
        entity: {
            pk: rank
            for rank, pk in enumerate(
                model._default_manager.order_by("pk").values_list("pk", flat=True)
            )
        }
        for entity, model in models.items()
    }

    def renumber(entity: str, pk):
        return None if pk is None else ranks[entity].get(pk, ("gone", pk))

    links = {
        "account": "account",
        "account_id": "account",
        "reports_to": "contact",
        "reports_to_id": "contact",
        "id": None,
    }

    def rows(entity: str) -> list[dict[str, Any]]:
        out = []
        for row in models[entity]._default_manager.order_by("pk").values():
            row["id"] = renumber(entity, row["id"])
            for key in ("account_id", "reports_to_id"):
                if key in row:
                    row[key] = renumber(links[key], row[key])
            out.append(row)
        return out

    def payload(data: dict) -> dict:
        return {
            k: renumber(links[k], v) if k in links and links[k] and isinstance(v, int) else v
            for k, v in data.items()
        }

    events = [
        {
            "entity": e.entity,
            "entity_id": renumber(e.entity, e.entity_id) if e.entity in models else e.entity_id,
            "action": e.action,
            "before": payload(e.before),
            "after": payload(e.after),
            "at": e.at,
            "actor": e.actor_id,
            "note": e.note,
            "opportunity_id": renumber("opportunity", e.opportunity_id),
            "account_id": renumber("account", e.account_id),
        }
        for e in Event.objects.order_by("pk")
    ]
    return {**{entity: rows(entity) for entity in models}, "events": events}

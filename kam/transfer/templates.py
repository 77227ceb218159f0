"""The import templates: an .xlsx with every kind of record, and one CSV per kind,
in Chinese or English.

- The workbook's first sheet, 说明 / Instructions, says how to fill it in and has, per
  kind, a table of its columns: the header, whether it is required, what to write (the
  accepted values of a choice in the template's language, the playbooks' stage names,
  the buyer stages) and an example. The importer passes over a sheet of that title, so
  the examples live there and are never imported by mistake.
- Then one sheet per kind in `columns.ORDER`, titled as the importer recognises it
  (客户 / Accounts …), holding only the header row: bold and frozen, each header
  carrying what to write as a comment, choice columns offering their values in a
  drop-down (not enforced: the importer also takes the other language and shorthand),
  and date, money and code columns formatted so Excel keeps what is typed (a code
  `00123` stays text, `2026/3/5` shows as 2026-03-05).
- A CSV template is the header line in UTF-8 with a BOM, so Excel opens the Chinese
  headers right.

Everything is written in the language asked for, whatever the request's, and read back
by `kam.transfer.importer` without an error and without a row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from kam.core.i18n import show
from kam.core.spreadsheet import (
    DATE,
    MONEY,
    add_sheet,
    display_width,
    new_workbook,
    safe_cell,
    write_table,
)
from kam.methodology import registry
from kam.transfer.columns import KINDS, ORDER, Column, Kind

# Titles the importer passes over (importer._is_instructions): keep them exactly.
INSTRUCTIONS_TITLE = {"zh-hans": "说明", "en": "Instructions"}
TEXT = "@"  # Excel's text format: a code such as 00123 keeps its zeros
FORMATS = {"money": MONEY, "date": DATE, "int": "0", "dates": TEXT}
DROPDOWN_ROWS = 5000  # how far down a choice column offers its values
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="DDE7F5")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def template_language(language: str | None) -> str:
    """ "zh-hans" for any Chinese (zh, zh-Hans, zh-CN), else "en"."""
    return "zh-hans" if (language or "").lower().startswith("zh") else "en"


def template_workbook(language: str) -> bytes:
    """The import template (.xlsx) in `language`: the instructions, then one empty
    sheet per kind with its header row."""
    lang = template_language(language)
    with translation.override(lang):
        wb = new_workbook()
        _instructions(add_sheet(wb, INSTRUCTIONS_TITLE[lang]), lang)
        for key in ORDER:
            _data_sheet(add_sheet(wb, KINDS[key].title(lang)), KINDS[key], lang)
        wb.active = 0
        buffer = io.BytesIO()
        wb.save(buffer)
    return buffer.getvalue()


def template_csv(kind: str, language: str) -> bytes:
    """The header line of `kind`'s columns in `language`, as a UTF-8 CSV with a BOM."""
    lang = template_language(language)
    found = KINDS[kind]
    out = io.StringIO()
    csv.writer(out).writerow([c.header(lang) for c in found.columns])
    return out.getvalue().encode("utf-8-sig")


def template_filename(language: str, kind: str | None = None) -> tuple[str, str]:
    """(the download's name in `language`, an ASCII name): KAM导入模板.xlsx,
    KAM导入模板-客户.csv; kam-import-template.xlsx, kam-import-template-accounts.csv."""
    lang = template_language(language)
    plain = "kam-import-template" + (f"-{kind}.csv" if kind else ".xlsx")
    if lang == "en":
        return plain, plain
    return "KAM导入模板" + (f"-{KINDS[kind].zh}.csv" if kind else ".xlsx"), plain


# --- the data sheets ---------------------------------------------------------------------


def _data_sheet(ws: Worksheet, kind: Kind, lang: str) -> None:
    headers = [c.header(lang) for c in kind.columns]
    write_table(ws, headers, [])
    ws.auto_filter.ref = None  # no rows yet: filter buttons would only be in the way
    for i, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i)
        cell.fill = HEAD_FILL
        note = _guidance(kind, column, lang)
        if note:
            cell.comment = _comment(note)
        width = max(display_width(headers[i - 1]) + 4, 14, 28 if column.kind == "dates" else 0)
        ws.column_dimensions[letter].width = width
        number_format = FORMATS.get(column.kind) or (TEXT if column.key == kind.key_column else "")
        if number_format:
            ws.column_dimensions[letter].number_format = number_format
        if column.kind == "choice" and column.choices is not None:
            _dropdown(ws, letter, [str(label) for label in column.choices.labels])


def _comment(text: str) -> Comment:
    comment = Comment(text, "KAM")
    lines = sum(1 + display_width(line) // 40 for line in text.splitlines() or [""])
    comment.width = 260
    comment.height = min(400, 30 + 15 * lines)
    return comment


def _dropdown(ws: Worksheet, letter: str, values: list[str]) -> None:
    """Offer `values` in a drop-down, without refusing anything else: the importer
    reads the other language and common shorthand too."""
    listed = ",".join(v.replace('"', "") for v in values)
    if any("," in v for v in values) or len(listed) > 250:  # Excel's limit for a list
        return
    validation = DataValidation(
        type="list", formula1=f'"{listed}"', allow_blank=True, showErrorMessage=False
    )
    validation.add(f"{letter}2:{letter}{DROPDOWN_ROWS}")
    ws.add_data_validation(validation)


# --- the instructions --------------------------------------------------------------------


def _instructions(ws: Worksheet, lang: str) -> None:
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 72
    ws.column_dimensions["D"].width = 34
    ws.cell(row=1, column=1, value=_("KAM import template")).font = TITLE_FONT
    row = 3
    for line in _rules(lang):
        ws.cell(row=row, column=1, value=safe_cell(line))
        row += 1
    for key in ORDER:
        kind = KINDS[key]
        row += 1
        ws.cell(
            row=row,
            column=1,
            value=_("Sheet “%(sheet)s”: %(what)s")
            % {"sheet": kind.title(lang), "what": _kind_summary(kind)},
        ).font = Font(bold=True, size=12)
        row += 1
        for col, text in enumerate(
            (_("Column"), _("Required"), _("What to write"), _("Example")), start=1
        ):
            cell = ws.cell(row=row, column=col, value=text)
            cell.font = BOLD
            cell.fill = HEAD_FILL
        examples = _examples(lang)[key]
        for column in kind.columns:
            row += 1
            values = (
                column.header(lang),
                _("yes") if column.required else "",
                _guidance(kind, column, lang),
                examples.get(column.key, ""),
            )
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=row, column=col, value=safe_cell(value))
                cell.alignment = WRAP if col in (3, 4) else TOP
            if column.required:
                ws.cell(row=row, column=1).font = BOLD
    ws.freeze_panes = "A2"


def _rules(lang: str) -> list[str]:
    sheets = ("、" if lang == "zh-hans" else ", ").join(KINDS[k].title(lang) for k in ORDER)
    return [
        _(
            "1. Fill in one sheet per kind of record (%(sheets)s); leave a sheet empty when "
            "you have nothing of that kind. Keep the sheets' names and the header row."
        )
        % {"sheets": sheets},
        _(
            "2. Columns marked * are required. Other columns may be left empty or deleted; "
            "their order does not matter."
        ),
        _(
            "3. Keys: give each account, contact and opportunity a code (and each revenue line "
            "its external key), e.g. the one in your ERP. Importing the file again then "
            "updates those records instead of adding them twice."
        ),
        _(
            "4. A contact or opportunity names its account by the account's code or exact "
            "name: on the accounts sheet of this file or already in KAM."
        ),
        _("5. Dates as YYYY-MM-DD, e.g. 2026-03-05 (2026/3/5 and 2026年3月5日 are read too)."),
        _(
            "6. Stage entry dates: for each opportunity, the day it entered each stage, from "
            "the first stage of its playbook to its current stage, separated by “;”. KAM "
            "rebuilds the deal's history from them, so stage durations and stalled-deal "
            "alerts work from the first day."
        ),
        _("7. Values only: a cell holding a formula is refused; paste such columns as values."),
        _(
            "8. This sheet is not imported. The examples are in the tables below, not on the "
            "data sheets, so they are never imported by mistake."
        ),
        _(
            "9. Upload the file on the Import page: KAM checks every row first and lists each "
            "problem with its row and column; nothing is written until you confirm."
        ),
        _(
            "A CSV file holds one kind: use the headers of the matching sheet and save it as "
            "CSV UTF-8."
        ),
    ]


def _kind_summary(kind: Kind) -> str:
    summaries = {
        "accounts": _("the customers (one row per account)"),
        "contacts": _("the people at each account and whom they report to"),
        "opportunities": _("the deals, with their stage and when each stage was entered"),
        "revenue": _("past revenue from won business, e.g. from the ERP"),
    }
    return summaries[kind.key]


def _join(values, lang: str | None = None) -> str:
    """A list as a reader of the language writes one: 小型、中型 / Small; Medium (names
    may hold commas, e.g. a buyer stage's)."""
    lang = lang or template_language(translation.get_language())
    return ("、" if lang == "zh-hans" else "; ").join(str(v) for v in values)


def _guidance(kind: Kind, column: Column, lang: str) -> str:
    """What to write in `column`, in the active language."""
    parts: list[str] = []
    if column.key == kind.key_column:
        parts.append(
            _(
                "The row's key (%(hint)s): a row whose key is already in KAM updates that "
                "record instead of adding a new one."
            )
            % {"hint": str(column.hint)}
        )
    elif column.key == "currency":
        parts.append(_("A currency code such as CNY, USD or EUR. Empty: CNY."))
    parts.append(_by_type(kind, column))
    return "\n".join(p for p in parts if p)


def _by_type(kind: Kind, column: Column) -> str:
    if column.kind == "choice" and column.choices is not None:
        text = _("One of: %(values)s.") % {"values": _join(column.choices.labels)}
        if kind.key == "opportunities" and column.key == "status":
            text += " " + _(
                "Empty: open. Won, lost and abandoned deals need the closed-on date; lost and "
                "abandoned ones also the reason."
            )
        return text
    if column.kind == "money":
        return _("A number, e.g. 1250000.00 (1,250,000.00 is read too).")
    if column.kind == "int":
        if column.hint:
            return _("A whole number (%(range)s).") % {"range": str(column.hint)}
        return _("A whole number.")
    if column.kind == "date":
        return _("A date: YYYY-MM-DD, e.g. 2026-03-05.")
    if column.kind == "bool":
        return _("是 or 否 (yes or no). Empty: no.")
    if column.kind == "dates":
        return _stage_dates_guidance()
    if column.kind == "ref":
        return _reference_guidance(column.key)
    return ""


def _reference_guidance(key: str) -> str:
    if key == "owner":
        return _("The login name of a KAM user. Empty: you, the one importing.")
    if key == "account":
        return _(
            "The account's code or exact name: on the accounts sheet of this file or already "
            "in KAM."
        )
    if key == "reports_to":
        return _(
            "The code or name of the contact's boss at the same account (anywhere on this "
            "sheet or already in KAM)."
        )
    if key == "playbook":
        books = _join(f"{k} = {show(registry.playbook(k).name)}" for k in registry.playbook_keys())
        return _("One of: %(books)s. Empty: %(default)s.") % {
            "books": books,
            "default": show(registry.playbook(registry.default_playbook_key()).name),
        }
    if key == "stage":
        lines = [_("The deal's current stage, by name. Empty: the playbook's first stage.")]
        for k in registry.playbook_keys():
            book = registry.playbook(k)
            lines.append(f"{show(book.name)}: " + _join(show(stage.name) for stage in book.stages))
        return "\n".join(lines)
    if key == "buyer_stage":
        return _("Where the customer is in their buying process, one of: %(names)s.") % {
            "names": _join(show(s.name) for s in registry.buyer_process().stages)
        }
    return ""


def _stage_dates_guidance() -> str:
    book = registry.playbook(registry.default_playbook_key())
    stages = book.stages[:3]
    return _(
        "The day the deal entered each stage, from the playbook's first stage to its current "
        "one, separated by “;”. E.g. a deal now at %(stage)s in %(book)s: %(n)d dates, for "
        "%(names)s. One date alone is the day it entered its current stage. KAM writes the "
        "deal's history from these dates."
    ) % {
        "stage": show(stages[-1].name),
        "book": show(book.name),
        "n": len(stages),
        "names": _join(show(s.name) for s in stages),
    }


# --- examples (on the instructions sheet only) --------------------------------------------


def _label(choices, index: int) -> str:
    return str(choices.labels[index])


def _examples(lang: str) -> dict[str, dict[str, str]]:
    """An example value per column, in the template's language; one story across the
    kinds (the contact and deal are at the example account)."""
    from kam.accounts.models import AccountType, Nature, Size
    from kam.contacts.models import ContactStatus, Layer
    from kam.opportunities.models import Status

    zh = lang == "zh-hans"
    book = registry.playbook(registry.default_playbook_key())
    stage = book.stages[min(2, len(book.stages) - 1)]
    position = book.stage_keys.index(stage.key)
    days = ["2026-01-05", "2026-02-10", "2026-04-01", "2026-05-06", "2026-06-02", "2026-07-01"]
    buyer = next(
        (s for s in registry.buyer_process().stages if s.key in stage.buyer_stages),
        registry.buyer_process().stages[0],
    )
    account_name = "华东精密机械有限公司" if zh else "East China Precision Machinery Co."
    return {
        "accounts": {
            "code": "C-1001",
            "name": account_name,
            "owner": "zhangwei",
            "industry": "机械制造" if zh else "Machinery",
            "region": "华东" if zh else "East China",
            "size": _label(Size, 2),
            "nature": _label(Nature, 1),
            "account_type": _label(AccountType, 1),
            "annual_revenue": "850000000.00",
            "collection_cycle_days": "90",
            "receivables": "1200000.00",
            "credit_limit": "3000000.00",
            "value_positioning": "4",
            "notes": "去年通过我方供应商审核" if zh else "Passed our supplier audit last year",
        },
        "contacts": {
            "code": "P-2001",
            "account": "C-1001",
            "name": "王建国" if zh else "Wang Jianguo",
            "title": "生产副总" if zh else "VP Production",
            "department": "生产部" if zh else "Production",
            "reports_to": "P-2000",
            "layer": _label(Layer, 0),
            "disc": "D",
            "status": _label(ContactStatus, 0),
            "is_external": "否" if zh else "no",
            "joined_at": "2024-03-01",
            "phone": "021-5555 0100",
            "email": "wang@example.com",
        },
        "opportunities": {
            "code": "O-3001",
            "account": "C-1001",
            "name": "冲压生产线改造" if zh else "Press line upgrade",
            "owner": "zhangwei",
            "amount": "1250000.00",
            "currency": "CNY",
            "expected_close": "2026-09-30",
            "playbook": book.key,
            "stage": show(stage.name),
            "stage_dates": "; ".join(days[: position + 1]),
            "buyer_stage": show(buyer.name),
            "status": _label(Status, 0),
            "description": "两条冲压线的自动化改造" if zh else "Automating two press lines",
        },
        "revenue": {
            "external_key": "ERP-2025-0001",
            "account": "C-1001",
            "date": "2025-12-31",
            "amount": "560000.00",
            "profit": "84000.00",
            "source": "ERP",
            "note": "2025年第四季度" if zh else "2025 Q4",
        },
    }


def example_rows(kind: str, language: str) -> Iterator[list[str]]:
    """The example row of `kind` in the data sheet's column order (for tests and docs)."""
    lang = template_language(language)
    with translation.override(lang):
        examples = _examples(lang)[kind]
        yield [examples.get(c.key, "") for c in KINDS[kind].columns]

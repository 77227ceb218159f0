"""Writing user data into Excel workbooks (openpyxl), safely — shared by every export.

- **Formula injection** (CSV/Excel injection, OWASP ASVS 1.2.10): any text a user
  typed (a deal's name, a reason …) that starts with `=`, `+`, `-`, `@`, a tab or a
  carriage return could run as a formula when the file is opened. `safe_cell` writes it
  as text with a leading single quote (`'=HYPERLINK(…)`), so it shows as typed and never
  runs. Numbers, Decimals, dates and booleans stay typed: −5 is a number, not text.
- **Types**: amounts are number cells (`MONEY`), rates fractions (`PERCENT`), dates
  date cells (`DATE`); an aware datetime is written in the local time zone (Excel has no
  time zones). Characters XML cannot hold are dropped and over-long text is cut to
  Excel's limit, so user data never makes the export fail.
- `write_table` writes one table per sheet (bold frozen header, filters, widths in which
  a CJK character counts double) and `workbook_response` sends the file with a name
  that survives Chinese (RFC 5987 `filename*` plus an ASCII `filename`).
- **Streaming**: a workbook made with `new_workbook(write_only=True)` writes each row
  to disk as it comes (openpyxl's write-only mode), so exporting the whole book takes
  the same memory for 100 deals or 100,000; `write_table` fills such a sheet too, in
  one call, sizing the columns on its first `SIZE_SAMPLE` rows."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MONEY = "#,##0.00"
PERCENT = "0.0%"
INTEGER = "0"
DATE = "yyyy-mm-dd"
MONTH = "yyyy-mm"
DATETIME = "yyyy-mm-dd hh:mm"

# Text starting with one of these may be read as a formula (or DDE) by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_TEXT = 32_767  # Excel's limit for one cell
MAX_TITLE = 31  # Excel's limit for a sheet's name
WIDTH_MIN, WIDTH_MAX = 8, 60
SIZE_SAMPLE = 500  # the rows a streamed sheet's column widths are measured on
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Cell:
    """A value with a number format of its own (a summary row mixing money and rates)."""

    value: Any
    number_format: str | None = None


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet can hold it without running anything: text that could
    be taken for a formula gets a leading `'`; numbers, dates and booleans keep their
    type; None stays empty."""
    if isinstance(value, Cell):
        value = value.value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return value if _finite(value) else None
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date | dt.timedelta):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text[:MAX_TEXT]


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _default_format(value: Any) -> str | None:
    if isinstance(value, Decimal):
        return MONEY
    if isinstance(value, dt.datetime):
        return DATETIME
    if isinstance(value, dt.date):
        return DATE
    return None


def display_width(text: str) -> int:
    """Columns a text takes: East Asian wide and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown(value: Any, number_format: str | None) -> str:
    """Roughly what the cell shows, to size its column."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "FALSE" if not value else "TRUE"
    if isinstance(value, int | float | Decimal):
        if number_format == PERCENT:
            return f"{float(value):.1%}"
        if number_format == MONEY:
            return f"{value:,.2f}"
        return str(value)
    if isinstance(value, dt.datetime):
        return "0000-00-00 00:00"
    if isinstance(value, dt.date):
        return "0000-00" if number_format == MONTH else "0000-00-00"
    return max(str(value).splitlines() or [""], key=display_width)


def _prepared(raw: Any, c: int, formats: Mapping[int, str]) -> tuple[Any, str | None]:
    """(the value as written, its number format or None) for the cell of column `c`."""
    value = safe_cell(raw)
    own = raw.number_format if isinstance(raw, Cell) else None
    number_format = own or formats.get(c) or _default_format(value)
    if value is None or isinstance(value, str | bool):
        number_format = None
    return value, number_format


def _widen(widths: list[int], c: int, value: Any, number_format: str | None) -> None:
    if c >= len(widths):
        widths.extend([0] * (c + 1 - len(widths)))
    widths[c] = max(widths[c], display_width(_shown(value, number_format)))


def _set_widths(ws: Worksheet | WriteOnlyWorksheet, widths: Sequence[int]) -> None:
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(WIDTH_MAX, max(WIDTH_MIN, width + 2))


def write_table(
    ws: Worksheet | WriteOnlyWorksheet,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    number_formats: Mapping[int, str] | None = None,
) -> int:
    """Write a table from the sheet's first row: the headers bold and frozen, every
    value through `safe_cell`, `number_formats` by column index (0-based; a `Cell`
    in a row sets its own), else Decimals as money and dates as dates; each column
    as wide as its longest value (within limits), with filter buttons on the header.
    Returns the number of rows written (the header not counted).

    On a write-only sheet (`new_workbook(write_only=True)`) the rows are streamed:
    `rows` may be a generator over millions, the widths are measured on the first
    `SIZE_SAMPLE` rows, and the sheet takes no other writes."""
    formats = dict(number_formats or {})
    if isinstance(ws, WriteOnlyWorksheet):
        return _stream_table(ws, headers, rows, formats)
    widths = [display_width(str(h)) for h in headers]
    bold = Font(bold=True)
    for col, header in enumerate(headers, start=1):
        ws.cell(row=1, column=col, value=safe_cell(header)).font = bold
    count = 0
    for r, row in enumerate(rows, start=2):
        count += 1
        for c, raw in enumerate(row):
            value, number_format = _prepared(raw, c, formats)
            cell = ws.cell(row=r, column=c + 1, value=value)
            if number_format:
                cell.number_format = number_format
            _widen(widths, c, value, number_format)
    _set_widths(ws, widths)
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    return count


def _stream_table(
    ws: WriteOnlyWorksheet,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    formats: Mapping[int, str],
) -> int:
    """`write_table` on a write-only sheet: widths and panes must be set before the
    first row goes out, so the first rows are read ahead to size the columns."""
    rows = iter(rows)
    widths = [display_width(str(h)) for h in headers]
    ahead = []
    for row in itertools.islice(rows, SIZE_SAMPLE):
        cells = [_prepared(raw, c, formats) for c, raw in enumerate(row)]
        for c, (value, number_format) in enumerate(cells):
            _widen(widths, c, value, number_format)
        ahead.append(cells)
    _set_widths(ws, widths)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=safe_cell(header))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    count = 0
    following = ([_prepared(raw, c, formats) for c, raw in enumerate(row)] for row in rows)
    for cells in itertools.chain(ahead, following):
        ws.append([_stream_cell(ws, value, number_format) for value, number_format in cells])
        count += 1
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    return count


def _stream_cell(ws: WriteOnlyWorksheet, value: Any, number_format: str | None) -> Any:
    if not number_format:
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def sheet_title(text: Any, taken: Iterable[str] = ()) -> str:
    """A name Excel accepts for a sheet: none of []:*?/\\, no quote at either end, at
    most 31 characters, and different from the names in `taken` (any case)."""
    title = _TITLE_FORBIDDEN.sub(" ", ILLEGAL_CHARACTERS_RE.sub("", str(text))).strip(" '")
    title = title[:MAX_TITLE].strip(" '") or "Sheet"
    used = {t.casefold() for t in taken}
    candidate, n = title, 1
    while candidate.casefold() in used:
        n += 1
        suffix = f" ({n})"
        candidate = title[: MAX_TITLE - len(suffix)].rstrip(" '") + suffix
    return candidate


def new_workbook(*, write_only: bool = False) -> Workbook:
    """An empty workbook: add its sheets with `add_sheet`. `write_only` streams each
    sheet to disk as it is written (constant memory): each of its sheets is filled by
    one `write_table` call, and the workbook can be saved once."""
    if write_only:
        return Workbook(write_only=True)
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def add_sheet(wb: Workbook, title: Any) -> Worksheet | WriteOnlyWorksheet:
    """A new sheet at the end, named `title` made acceptable to Excel."""
    return wb.create_sheet(sheet_title(title, wb.sheetnames))


def ascii_filename(filename: str, default: str = "export") -> str:
    """The file name reduced to plain ASCII letters, digits and `._-` (accents dropped,
    other characters left out), for clients that ignore `filename*`."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._-") or default
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)
    return f"{plain}.{ext}" if ext else plain


def workbook_response(wb: Workbook, filename: str, *, fallback: str | None = None) -> HttpResponse:
    """The workbook as a download named `filename` (any language: RFC 5987/6266
    `filename*=UTF-8''…`) with an ASCII `filename` beside it (`fallback`, or one made
    from `filename`). Not stored by caches: it holds the user's data."""
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    plain = ascii_filename(fallback or filename)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    patch_cache_control(response, private=True, no_store=True)
    return response

"""Opening an uploaded spreadsheet safely and reading its rows as a stream.

The checks come before any parsing (OWASP ASVS 5.2):
- the size, against `KAM_MAX_IMPORT_BYTES`;
- the extension (.xlsx or .csv) must agree with the content: an .xlsx is a zip
  archive (`PK\\x03\\x04`), a .csv is text without NUL bytes;
- an .xlsx is refused before anything is unpacked when its directory promises too
  many files or too many bytes once unpacked (`KAM_MAX_IMPORT_UNPACKED_BYTES`), or
  one part that unpacks to far more than it weighs: the signs of a zip bomb. Python's
  zipfile never inflates a part beyond the size its directory states, so the check of
  the directory bounds what reading can cost.

Rows are read lazily (kam.transfer.xlsx: expat over the worksheet XML; the csv module
over the text), so memory does not grow with the file. A cell holding a formula is
reported, not evaluated: the import takes values only."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kam.core.errors import ValidationFailed

ZIP_MAGIC = b"PK\x03\x04"
MAX_PARTS = 1000
# A part of a real workbook unpacks to at most ~30× its size; a zip bomb to 1000×.
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024  # small parts may compress well without harm
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class Formula(str):
    """A cell that holds a formula (its text), for the importer to report."""


@dataclass
class Sheet:
    title: str
    rows: Iterator[tuple[Any, ...]]
    # For messages: the row number of the header line (1-based).
    header_row: int = 1
    meta: dict = field(default_factory=dict)


def _extension(name: str) -> str:
    clean = PurePath((name or "").replace("\\", "/")).name
    return clean.rsplit(".", 1)[-1].lower() if "." in clean else ""


def check_spreadsheet(path: Path, *, name: str | None = None, field: str = "file") -> str:
    """Refuse what is not an .xlsx or .csv within the limits; return "xlsx" or "csv"."""
    shown = PurePath((name or path.name).replace("\\", "/")).name[:80]
    extension = _extension(name or path.name)
    if extension not in ("xlsx", "csv"):
        raise ValidationFailed(
            _(
                "“%(name)s” is not an .xlsx or .csv file. Save the sheet as Excel Workbook "
                "(.xlsx) or CSV (UTF-8), or download the template."
            )
            % {"name": shown},
            field=field,
        )
    size = path.stat().st_size
    limit = settings.KAM_MAX_IMPORT_BYTES
    if size > limit:
        raise ValidationFailed(
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": f"{limit / 1024 / 1024:g}"},
            field=field,
        )
    if size == 0:
        raise ValidationFailed(_("The file is empty."), field=field)
    with path.open("rb") as f:
        head = f.read(4096)
        # A NUL anywhere makes it binary, not only in the first block (PostgreSQL
        # refuses NUL in text: it would fail on write, not be reported).
        binary = b"\x00" in head
        while extension == "csv" and not binary and (block := f.read(1024 * 1024)):
            binary = b"\x00" in block
    if extension == "xlsx":
        if not head.startswith(ZIP_MAGIC):
            raise ValidationFailed(
                _(
                    "“%(name)s” is not an Excel workbook although its name ends in .xlsx (an "
                    "old .xls, or another file renamed?). Open it in Excel and save it as "
                    "Excel Workbook (.xlsx)."
                )
                % {"name": shown},
                field=field,
            )
        _check_zip(path, field=field)
    elif head.startswith(ZIP_MAGIC) or binary:
        raise ValidationFailed(
            _(
                "“%(name)s” is not a text CSV file (it holds binary data). Save the sheet as "
                "CSV (UTF-8), or import the .xlsx itself."
            )
            % {"name": shown},
            field=field,
        )
    return extension


def _check_zip(path: Path, *, field: str) -> None:
    """The archive's directory, read without inflating anything, must describe a
    workbook of reasonable size."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationFailed(
            _("The workbook is damaged (not a readable .xlsx); open it in Excel and save again."),
            field=field,
        ) from None
    too_big = _(
        "The workbook unpacks to more than %(mb)s MB or holds too many parts; it is refused "
        "unread. Split the data into smaller files."
    ) % {"mb": f"{settings.KAM_MAX_IMPORT_UNPACKED_BYTES / 1024 / 1024:g}"}
    if len(parts) > MAX_PARTS:
        raise ValidationFailed(too_big, field=field)
    total = 0
    for part in parts:
        total += part.file_size
        ratio_ok = part.file_size <= RATIO_FLOOR or part.file_size <= MAX_RATIO * max(
            part.compress_size, 1
        )
        if total > settings.KAM_MAX_IMPORT_UNPACKED_BYTES or not ratio_ok:
            raise ValidationFailed(too_big, field=field)
    names = {p.filename for p in parts}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise ValidationFailed(
            _("The file is a zip archive but not an Excel workbook; import an .xlsx or .csv."),
            field=field,
        )


def open_sheets(path: Path, *, name: str | None = None, field: str = "file") -> list[Sheet]:
    """The sheets of a checked file, each with lazy rows (tuples of cell values). Close
    what this opened by exhausting or dropping the iterators; the workbook's file is
    closed by `close_sheets`."""
    extension = check_spreadsheet(path, name=name, field=field)
    if extension == "csv":
        return [Sheet(title="", rows=_csv_rows(path, field=field))]
    return _xlsx_sheets(path, field=field)


def _csv_rows(path: Path, *, field: str) -> Iterator[tuple[Any, ...]]:
    data = path.read_bytes()
    text = None
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:  # pragma: no cover - gb18030 decodes nearly any byte string
        raise ValidationFailed(
            _("The CSV is neither UTF-8 nor GB18030 text; save it as CSV (UTF-8)."), field=field
        )
    del data
    # The delimiter is the one the header line uses most: a comma (Excel's "CSV
    # UTF-8"), a semicolon (Excel in some European locales) or a tab.
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield tuple(row)
    except csv.Error:  # a cell over csv.field_size_limit(): most often a quote left open
        raise ValidationFailed(
            _(
                "The CSV cannot be read: a cell runs on for more than %(n)s characters, most "
                'likely a quote (") opened and never closed. Fix it, or save the sheet as CSV '
                "(UTF-8) again."
            )
            % {"n": f"{csv.field_size_limit():,}"},
            field=field,
        ) from None


def _xlsx_sheets(path: Path, *, field: str) -> list[Sheet]:
    from kam.transfer.xlsx import Workbook

    try:
        book = Workbook(path)
    except Exception:  # a broken zip, a part missing, XML that does not parse
        raise ValidationFailed(
            _("The workbook is damaged (not a readable .xlsx); open it in Excel and save again."),
            field=field,
        ) from None
    return [
        Sheet(title=title, rows=_xlsx_rows(book, member, field=field), meta={"book": book})
        for title, member in book.sheets
    ]


def _xlsx_rows(book, member: str, *, field: str = "file") -> Iterator[tuple[Any, ...]]:
    # The sheet's XML is parsed as it is read: a damaged part fails here, not on opening.
    try:
        yield from book.stream(member)
    except Exception:  # zipfile's CRC error, the XML parser's, a cell that is not one
        raise ValidationFailed(
            _("The workbook is damaged (not a readable .xlsx); open it in Excel and save again."),
            field=field,
        ) from None


def close_sheets(sheets: list[Sheet]) -> None:
    for sheet in sheets:
        book = sheet.meta.get("book")
        if book is not None:
            book.close()
            break

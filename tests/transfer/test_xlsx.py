"""kam.transfer.xlsx reads a workbook's cells as openpyxl's read-only mode does (the
reader the import used before, fifteen times slower): strings shared and inline, rich
text, numbers whole and not, dates and times by their number format in either calendar,
booleans, errors, formulas (reported, not run), empty cells and rows."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook as OpenpyxlBook
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from kam.transfer.files import Formula
from kam.transfer.xlsx import DamagedWorkbook, Workbook

CELLS = [
    ["text", "中文", "  spaced  ", "", "x_x005F_y", "a = b"],
    [1, -2, 3.5, 1e20, 0.1 + 0.2, Decimal("1250000.50")],
    [dt.date(2026, 3, 5), dt.datetime(2026, 3, 5, 14, 30), dt.time(9, 15), True, False],
    ["=SUM(B2:C2)", "=B2*2", None, None, "after a gap"],
    [],
    [None, None, None, None, None, None, None, None, None, None, None, "L7"],
]


def openpyxl_rows(path) -> dict[str, list[tuple]]:
    """The workbook as openpyxl's read-only mode read it for the importer."""
    book = load_workbook(path, read_only=True, data_only=False)
    try:
        out = {}
        for ws in book.worksheets:
            rows = []
            for row in ws.iter_rows():
                values = [
                    Formula(str(c.value)) if getattr(c, "data_type", None) == "f" else c.value
                    for c in row
                ]
                while values and values[-1] is None:
                    values.pop()
                rows.append(tuple(values))
            while rows and rows[-1] == ():
                rows.pop()
            out[ws.title] = rows
        return out
    finally:
        book.close()


def our_rows(path) -> dict[str, list[tuple]]:
    book = Workbook(path)
    try:
        return {title: list(book.rows(member)) for title, member in book.sheets}
    finally:
        book.close()


def styled_book(path, *, epoch=None, write_only=False):
    book = OpenpyxlBook(write_only=write_only)
    if epoch is not None:
        book.epoch = epoch
    if not write_only:
        book.remove(book.active)
    for title in ("客户", "Sheet B"):
        sheet = book.create_sheet(title)
        for row in CELLS:
            sheet.append(row)
    if not write_only:
        rich = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold"), " end"])
        book["Sheet B"]["A9"] = rich
        book["Sheet B"]["B9"] = "#N/A"
        book["Sheet B"]["B9"].data_type = "e"
    book.save(path)
    return path


@pytest.mark.parametrize(
    "options",
    [{}, {"epoch": CALENDAR_MAC_1904}, {"write_only": True}],
    ids=["shared-strings", "1904-calendar", "inline-strings"],
)
def test_cells_read_as_openpyxl_reads_them(tmp_path, options):
    # given
    path = styled_book(tmp_path / "book.xlsx", **options)
    # when
    ours = our_rows(path)
    # then
    assert ours == openpyxl_rows(path)
    row = ours["客户"]
    assert row[2][:3] == (
        dt.datetime(2026, 3, 5),
        dt.datetime(2026, 3, 5, 14, 30),
        dt.time(9, 15),
    )
    assert row[3][:2] == ("=SUM(B2:C2)", "=B2*2")
    assert all(isinstance(v, Formula) for v in row[3][:2])
    assert row[4] == ()  # an empty row keeps its place


def with_sheet_xml(path, sheet_xml: str):
    """A copy of the workbook whose first sheet is this XML."""
    out = path.with_name("edited.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            dst.writestr(info, data)
    return out


SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>{}</sheetData></worksheet>"
)


def test_shared_formulas_rows_without_numbers_and_prefixed_names(tmp_path):
    # given: what Excel and other programs write, not openpyxl: a formula shared down a
    # column, rows and cells without their references, a namespace prefix
    base = styled_book(tmp_path / "book.xlsx")
    path = with_sheet_xml(
        base,
        SHEET.format(
            '<row r="2"><c r="A2"><f t="shared" ref="A2:A4" si="0">B2+1</f><v>3</v></c></row>'
            '<row r="3"><c r="A3"><f t="shared" si="0"/><v>4</v></c></row>'
            '<row><c><v>7</v></c><c t="b"><v>1</v></c></row>'
            '<row r="9"><c r="C9" t="str"><v>text result</v></c></row>'
        )
        .replace("<worksheet xmlns=", "<x:worksheet xmlns:x=")
        .replace("</worksheet>", "</x:worksheet>")
        .replace("<sheetData>", "<x:sheetData>")
        .replace("</sheetData>", "</x:sheetData>")
        .replace("<row", "<x:row")
        .replace("</row>", "</x:row>")
        .replace("<c", "<x:c")
        .replace("</c>", "</x:c>")
        .replace("<v>", "<x:v>")
        .replace("</v>", "</x:v>")
        .replace("<f ", "<x:f ")
        .replace("</f>", "</x:f>"),
    )
    # when
    rows = our_rows(path)["客户"]
    # then
    assert rows == [
        (),
        ("=B2+1",),
        ("=B3+1",),
        (7, True),
        (),
        (),
        (),
        (),
        (None, None, "text result"),
    ]
    assert rows == openpyxl_rows(path)["客户"]


def test_a_document_type_declaration_is_refused(tmp_path):
    # given: the billion laughs in a sheet
    base = styled_book(tmp_path / "book.xlsx")
    path = with_sheet_xml(
        base,
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        + SHEET.format('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol;</t></is></c></row>'),
    )
    book = Workbook(path)
    # when / then
    with pytest.raises(DamagedWorkbook):
        list(book.rows(book.sheets[0][1]))
    book.close()

"""kam.transfer.xlsx reads a workbook's cells as openpyxl's read-only mode does (the
reader the import used before, fifteen times slower): strings shared and inline, rich
text, numbers whole and not, dates and times by their number format in either calendar,
booleans, errors, formulas (reported, not run), empty cells and rows."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook as OpenpyxlBook
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from kam.transfer import xlsx
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


def our_rows(path, *, read="rows") -> dict[str, list[tuple]]:
    """Each sheet's rows read here (`rows`), or by a second process if large (`stream`)."""
    book = Workbook(path)
    try:
        return {title: list(getattr(book, read)(member)) for title, member in book.sheets}
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


# --- a large sheet read by a second process ----------------------------------------------


@pytest.fixture
def read_ahead(monkeypatch):
    """Every sheet read by a second process, and the reading here refused: what comes
    out came through the pipe."""
    monkeypatch.setattr(xlsx, "READ_AHEAD_BYTES", 1)

    def refused(self, member):
        raise AssertionError("read here, not by the second process")

    monkeypatch.setattr(Workbook, "rows", refused)


def test_a_large_sheet_is_read_by_a_second_process_with_the_same_values(tmp_path, read_ahead):
    # given: every kind of cell, shared strings and inline
    path = styled_book(tmp_path / "book.xlsx")
    inline = styled_book(tmp_path / "inline.xlsx", write_only=True)
    # when
    ours, ours_inline = our_rows(path, read="stream"), our_rows(inline, read="stream")
    # then: as openpyxl reads them, formulas still marked as such
    assert ours == openpyxl_rows(path)
    assert ours_inline == openpyxl_rows(inline)
    assert isinstance(ours["客户"][3][0], Formula)
    assert ours["客户"][2][0] == dt.datetime(2026, 3, 5)


def big_book(path, rows: int):
    book = OpenpyxlBook(write_only=True)
    sheet = book.create_sheet("data")
    for i in range(rows):
        sheet.append([f"row {i}", i, dt.date(2026, 1, 1) + dt.timedelta(days=i % 300)])
    book.save(path)
    return path


def test_rows_come_in_batches_and_the_reader_stops_when_the_import_does(tmp_path, monkeypatch):
    # given: a sheet of several batches
    monkeypatch.setattr(xlsx, "READ_AHEAD_BYTES", 1)
    path = big_book(tmp_path / "big.xlsx", 2 * xlsx.ROWS_PER_MESSAGE + 10)
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(xlsx.subprocess, "Popen", popen)
    book = Workbook(path)
    rows = book.stream(book.sheets[0][1])
    # when: the import stops after a few rows (an error, a cancelled request)
    first = [next(rows) for _ in range(3)]
    rows.close()
    book.close()
    # then: the rows were right and the reading process is gone
    assert first == [
        ("row 0", 0, dt.datetime(2026, 1, 1)),
        ("row 1", 1, dt.datetime(2026, 1, 2)),
        ("row 2", 2, dt.datetime(2026, 1, 3)),
    ]
    assert len(started) == 1
    assert started[0].poll() is not None


CHILD_SENDS = """
import pickle, sys
out = sys.stdout.buffer
{send}
out.flush()
"""


@pytest.mark.parametrize(
    "send",
    [
        # it dies after the first batch (killed, out of memory)
        "pickle.dump([('row 0', 0, __import__('datetime').datetime(2026, 1, 1))], out)",
        # it says it cannot read on
        "pickle.dump(False, out)",
        # it sends an object a cell never holds: refused, not built
        "import os; pickle.dump([(os.system, ('touch {marker}',))], out)",
        # nothing at all
        "",
    ],
    ids=["dies-after-a-batch", "cannot-read-on", "not-a-cell", "nothing"],
)
def test_what_the_second_process_did_not_send_is_read_here(tmp_path, monkeypatch, caplog, send):
    # given: a reading process that stops early or misbehaves
    monkeypatch.setattr(xlsx, "READ_AHEAD_BYTES", 1)
    marker = tmp_path / "ran"
    path = big_book(tmp_path / "big.xlsx", 1500)
    script = CHILD_SENDS.format(send=send.format(marker=marker))
    monkeypatch.setattr(xlsx, "_reader_command", lambda *_a: [sys.executable, "-c", script])
    book = Workbook(path)
    # when
    rows = list(book.stream(book.sheets[0][1]))
    book.close()
    # then: every row, once, in order; nothing the process sent was run
    assert rows == our_rows(path)["data"]
    assert not marker.exists()
    # and, unless it said the sheet cannot be read, the log says it stopped
    stopped = [r for r in caplog.records if "stopped after" in r.getMessage()]
    assert len(stopped) == (0 if send == "pickle.dump(False, out)" else 1)


def test_a_hostile_pickle_is_refused_by_the_receiver():
    # given: what a cell holds pickled, and a call hidden in a pickle
    import io
    import os
    import pickle

    fine = pickle.dumps([(Formula("=A1"), dt.date(2026, 1, 1), dt.time(9), 1.5, None)])
    hostile = pickle.dumps([(os.system, ("true",))])
    # when / then
    assert xlsx._Received(io.BytesIO(fine)).load()[0][0] == "=A1"
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        xlsx._Received(io.BytesIO(hostile)).load()


def test_no_python_to_start_means_the_sheet_is_read_here(tmp_path, monkeypatch, caplog):
    # given: the second process cannot start
    monkeypatch.setattr(xlsx, "READ_AHEAD_BYTES", 1)
    monkeypatch.setattr(
        xlsx, "_reader_command", lambda *_a: [str(tmp_path / "no-such-python"), "-c", ""]
    )
    path = styled_book(tmp_path / "book.xlsx")
    # when / then: read here, and the log says why
    assert our_rows(path, read="stream") == openpyxl_rows(path)
    assert "no second process" in caplog.text


def test_a_damaged_large_sheet_is_reported_as_damaged(tmp_path, monkeypatch):
    # given: a sheet whose XML breaks off, read by a second process
    from kam.core.errors import ValidationFailed
    from kam.transfer.files import close_sheets, open_sheets

    monkeypatch.setattr(xlsx, "READ_AHEAD_BYTES", 1)
    base = styled_book(tmp_path / "book.xlsx")
    path = with_sheet_xml(
        base, SHEET.format('<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r=')[:-20]
    )
    sheets = open_sheets(path)
    rows = sheets[0].rows
    # when / then: what a damaged file gets when read here
    with pytest.raises(ValidationFailed, match="damaged"):
        list(rows)
    close_sheets(sheets)

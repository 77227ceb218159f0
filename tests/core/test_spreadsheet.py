"""Writing user data into workbooks: text that could run as a formula is neutralised,
numbers and dates stay typed, the table is formatted, and the download is named in
any language."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from kam.core.spreadsheet import (
    DATE,
    MONEY,
    PERCENT,
    XLSX,
    Cell,
    add_sheet,
    ascii_filename,
    display_width,
    new_workbook,
    safe_cell,
    sheet_title,
    workbook_response,
    write_table,
)


def _reload(wb: Workbook):
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return load_workbook(buffer)


# --- safe_cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_could_run_as_a_formula_is_written_as_quoted_text(text):
    # when
    value = safe_cell(text)
    # then
    assert value == "'" + text


@pytest.mark.parametrize("text", ["Press line", "华鼎精密 数控机床", "1-2", "a=b", "", "'quoted"])
def test_harmless_text_is_kept_as_it_is(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize(
    "value",
    [
        -5,
        0,
        12,
        -1.5,
        Decimal("-1234.50"),
        Decimal("0.00"),
        dt.date(2026, 11, 30),
        dt.datetime(2026, 11, 30, 9, 15),
        True,
    ],
)
def test_numbers_dates_and_booleans_keep_their_type(value):
    # when
    kept = safe_cell(value)
    # then
    assert kept == value
    assert type(kept) is type(value)


def test_none_stays_empty_and_other_values_become_safe_text():
    assert safe_cell(None) is None
    assert safe_cell(Cell(Decimal("5.00"), MONEY)) == Decimal("5.00")
    assert safe_cell(Cell("=1+1")) == "'=1+1"
    assert safe_cell(float("nan")) is None
    assert safe_cell(Decimal("Infinity")) is None


def test_an_aware_datetime_is_written_in_local_time_without_zone():
    # given
    at = dt.datetime(2026, 11, 3, 1, 30, tzinfo=dt.UTC)
    # when
    with timezone.override("Asia/Shanghai"):
        value = safe_cell(at)
    # then
    assert value == dt.datetime(2026, 11, 3, 9, 30)
    assert value.tzinfo is None


def test_characters_xml_cannot_hold_are_dropped_and_long_text_is_cut():
    assert safe_cell("a\x00b\x1fc") == "abc"
    assert safe_cell("x" * 40_000) == "x" * 32_767


# --- write_table --------------------------------------------------------------------------


def test_write_table_types_formats_and_neutralises_every_cell():
    # given
    wb = new_workbook()
    ws = add_sheet(wb, "Deals")
    # when
    write_table(
        ws,
        ["Deal", "Amount", "Rate", "Close", "Count"],
        [
            ["=cmd()", Decimal("1250000.50"), 0.255, dt.date(2027, 6, 30), -3],
            ["Press line", Decimal("-10.00"), None, None, 0],
        ],
        number_formats={2: PERCENT},
    )
    # then
    sheet = _reload(wb)["Deals"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Deal", "Amount", "Rate", "Close", "Count"],
        ["'=cmd()", 1250000.5, 0.255, dt.datetime(2027, 6, 30), -3],
        ["Press line", -10, None, None, 0],
    ]
    assert [c.data_type for c in sheet[2]] == ["s", "n", "n", "d", "n"]
    assert [c.number_format for c in sheet[2]][1:4] == [MONEY, PERCENT, DATE]
    assert all(c.font.bold for c in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E3"


def test_a_cell_can_carry_its_own_format():
    # given
    wb = new_workbook()
    ws = add_sheet(wb, "Summary")
    # when
    write_table(ws, ["Figure", "Value"], [["Win rate", Cell(0.5, PERCENT)], ["Won", 3]])
    # then
    sheet = _reload(wb)["Summary"]
    assert (sheet["B2"].value, sheet["B2"].number_format) == (0.5, PERCENT)
    assert (sheet["B3"].value, sheet["B3"].number_format) == (3, "General")


def test_columns_are_as_wide_as_their_text_with_cjk_counting_double():
    # given
    wb = new_workbook()
    ws = add_sheet(wb, "Widths")
    # when
    write_table(
        ws,
        ["Name", "名称", "N", "Amount"],
        [
            ["abcdefghijklmn", "数控机床数控机床数控", 1, Decimal("1234567.00")],
            ["x" * 200, "", 2, None],
        ],
    )
    # then
    widths = [ws.column_dimensions[c].width for c in "ABCD"]
    assert widths == [60, 22, 8, 14]  # capped; 10 CJK = 20 + 2; minimum; "1,234,567.00" + 2
    assert display_width("路标A") == 5


def test_an_empty_table_still_has_its_header():
    # given
    wb = new_workbook()
    # when
    write_table(add_sheet(wb, "Empty"), ["Deal", "Days"], [])
    # then
    sheet = _reload(wb)["Empty"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Deal", "Days"]]


# --- sheet names and the download ---------------------------------------------------------


def test_sheet_titles_are_made_acceptable_to_excel():
    assert sheet_title("Funnel – our stages") == "Funnel – our stages"
    assert sheet_title("Q4 [east]: a/b\\c*?") == "Q4  east   a b c"
    assert sheet_title("'quoted'") == "quoted"
    assert sheet_title("x" * 40) == "x" * 31
    assert sheet_title("Summary", ["summary"]) == "Summary (2)"
    assert sheet_title("y" * 40, ["y" * 31]) == "y" * 27 + " (2)"
    assert sheet_title("[]") == "Sheet"


def test_add_sheet_keeps_names_unique():
    # given
    wb = new_workbook()
    # when
    add_sheet(wb, "Stalled")
    add_sheet(wb, "stalled")
    # then
    assert wb.sheetnames == ["Stalled", "stalled (2)"]


def test_workbook_response_names_the_file_in_chinese_with_an_ascii_fallback():
    # given
    wb = new_workbook()
    write_table(add_sheet(wb, "汇总"), ["指标"], [["=1+1"]])
    # when
    response = workbook_response(wb, "路标管理-2026Q4.xlsx", fallback="pipeline-2026Q4.xlsx")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        'attachment; filename="pipeline-2026Q4.xlsx"; '
        "filename*=UTF-8''%E8%B7%AF%E6%A0%87%E7%AE%A1%E7%90%86-2026Q4.xlsx"
    )
    assert "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(response.content))["汇总"]
    assert sheet["A2"].value == "'=1+1"


def test_the_ascii_fallback_is_made_from_the_name_when_not_given():
    # when
    response = workbook_response(_one_sheet(), 'Café "Q4"; report.xlsx')
    # then
    assert response["Content-Disposition"] == (
        'attachment; filename="Cafe_Q4_report.xlsx"; '
        "filename*=UTF-8''Caf%C3%A9%20%22Q4%22%3B%20report.xlsx"
    )
    assert ascii_filename("路标管理-2026Q4.xlsx") == "2026Q4.xlsx"
    assert ascii_filename("路标管理.xlsx") == "export.xlsx"


def _one_sheet() -> Workbook:
    wb = new_workbook()
    write_table(add_sheet(wb, "A"), ["x"], [[1]])
    return wb

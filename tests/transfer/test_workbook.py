"""The whole book as one workbook (`kam export FILE.xlsx`, kam/transfer/workbook.py):
one sheet per kind in the import's columns, values the import reads back, typed
cells, nothing a spreadsheet could run, each deal's stage entry days, a fixed number
of queries, the user's scope — and the command itself."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.spreadsheet import (
    DATE,
    MONEY,
    PERCENT,
    SIZE_SAMPLE,
    Cell,
    add_sheet,
    new_workbook,
    write_table,
)
from kam.opportunities import process
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_bring_in, opportunity_create
from kam.transfer.columns import KINDS, ORDER, read_cell
from kam.transfer.workbook import stage_dates_many, write_workbook
from tests.test_cli import run

FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tcmd"]


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour)


def _load(path):
    return load_workbook(path)


def _rows(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _by_header(ws) -> list[dict]:
    rows = list(ws.iter_rows())
    headers = [c.value for c in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def full_book(world):
    """rep_a's account with every field, two contacts (one reporting to the other), a
    deal and a revenue record; rep_c's account and deal in the other team."""
    with clock.freeze(at("2026-03-02")):
        account = account_create(
            actor=world.rep_a,
            name="华鼎精密",
            code="ERP-1001",
            industry="精密制造",
            region="上海",
            size="large",
            nature="soe",
            account_type="strategic",
            annual_revenue="6800000000.50",
            collection_cycle_days=90,
            receivables="4200000",
            credit_limit="10000000",
            value_positioning=4,
            notes="十余年客户",
        )
        boss = contact_create(
            actor=world.rep_a, account=account, name="高振宇", code="C-1", layer="decision"
        )
        contact_create(
            actor=world.rep_a,
            account=account,
            name="吴志明",
            title="技术副总裁",
            department="公司领导",
            reports_to=boss,
            layer="management",
            disc="C",
            is_external=True,
            joined_at=dt.date(2021, 2, 22),
            phone="+86 21 5555 0101",
            email="wu@example.com",
        )
        deal = opportunity_create(
            actor=world.rep_a,
            account=account,
            name="数控机床",
            code="OPP-7",
            amount="1250000.50",
            expected_close=dt.date(2026, 9, 30),
            description="二期",
        )
        revenue_record_add(
            actor=world.rep_a,
            account=account,
            date=dt.date(2026, 1, 15),
            amount="780000",
            profit="123000.25",
            source="ERP",
            note="棒材",
            external_key="ERP-R-8",
        )
        other = account_create(actor=world.rep_c, name="西部客户")
        opportunity_create(
            actor=world.rep_c,
            account=other,
            name="西部机会",
            amount="10",
            expected_close=dt.date(2026, 12, 31),
        )
    return {"account": account, "deal": deal}


def test_the_whole_book_is_one_sheet_per_kind_with_the_imports_headers(full_book, tmp_path):
    # given
    path = tmp_path / "book.xlsx"
    # when
    with clock.freeze(at("2026-03-05")):
        summary = write_workbook(path)
    # then
    assert summary == (
        f"Wrote 2 accounts, 2 contacts, 2 opportunities, 1 revenue records to {path}."
    )
    wb = _load(path)
    assert wb.sheetnames == ["Accounts", "Contacts", "Opportunities", "Revenue"]
    extras = {"accounts": ["Open opportunities"], "opportunities": ["Priority"]}
    for key in ORDER:
        headers = [c.value for c in next(wb[KINDS[key].en].iter_rows())]
        assert headers == [c.header("en") for c in KINDS[key].columns] + extras.get(key, [])
    assert _rows(wb["Accounts"])[1] == [
        "ERP-1001", "华鼎精密", "rep_a", "精密制造", "上海", "Large", "State-owned", "Strategic",
        6800000000.5, 90, 4200000, 10000000, 4, "十余年客户", 1,
    ]  # fmt: skip
    assert _rows(wb["Contacts"])[1:] == [
        [None, "ERP-1001", "吴志明", "技术副总裁", "公司领导", "C-1", "Management layer",
         "C – analytical", "Active", "yes", dt.datetime(2021, 2, 22), None, "'+86 21 5555 0101",
         "wu@example.com", None],
        ["C-1", "ERP-1001", "高振宇", None, None, None, "Decision layer", None, "Active",
         "no", None, None, None, None, None],
    ]  # fmt: skip
    assert _rows(wb["Opportunities"])[1] == [
        "OPP-7", "ERP-1001", "数控机床", "rep_a", 1250000.5, "CNY", dt.datetime(2026, 9, 30),
        "standard-6", "Development", "2026-03-02", "Problem and need", "Open", None, None, "二期",
        None,
    ]  # fmt: skip
    assert _rows(wb["Revenue"])[1:] == [
        ["ERP-R-8", "ERP-1001", dt.datetime(2026, 1, 15), 780000, 123000.25, "ERP", "棒材"],
    ]


def test_every_exported_value_reads_back_as_stored_in_either_language(
    full_book, tmp_path, settings
):
    # given the values as stored, by column key, for rep_a's records
    stored = {
        "accounts": {
            "code": "ERP-1001", "name": "华鼎精密", "owner": "rep_a", "size": "large",
            "nature": "soe", "account_type": "strategic",
            "annual_revenue": Decimal("6800000000.50"), "collection_cycle_days": 90,
            "receivables": Decimal("4200000.00"), "value_positioning": 4,
        },
        "opportunities": {
            "code": "OPP-7", "account": "ERP-1001", "amount": Decimal("1250000.50"),
            "expected_close": dt.date(2026, 9, 30), "playbook": "standard-6",
            "stage_dates": [dt.date(2026, 3, 2)], "status": "open",
        },
        "revenue": {"date": dt.date(2026, 1, 15), "profit": Decimal("123000.25")},
    }  # fmt: skip
    for language in ("zh-hans", "en"):
        settings.LANGUAGE_CODE = language
        path = tmp_path / f"book-{language}.xlsx"
        # when
        write_workbook(path)
        # then
        wb = _load(path)
        for key, expected in stored.items():
            kind = KINDS[key]
            ws = wb[kind.title(language)]
            first = _by_header(ws)[0]
            for column_key, value in expected.items():
                column = kind.column(column_key)
                cell = first[column.header(language)]
                assert read_cell(column, cell.value) == value, (language, key, column_key)
        contacts = _by_header(wb[KINDS["contacts"].title(language)])
        wu = contacts[0]
        for column_key, value in {"layer": "management", "disc": "C", "is_external": True}.items():
            column = KINDS["contacts"].column(column_key)
            assert read_cell(column, wu[column.header(language)].value) == value, column_key


def test_in_chinese_the_sheets_headers_and_names_are_chinese(full_book, tmp_path, settings):
    # given
    settings.LANGUAGE_CODE = "zh-hans"
    path = tmp_path / "book.xlsx"
    # when
    write_workbook(path)
    # then
    wb = _load(path)
    assert wb.sheetnames == ["客户", "联系人", "销售机会", "历史收入"]
    accounts = _rows(wb["客户"])
    assert accounts[0][:3] == ["客户编码", "客户名称*", "客户经理"]
    assert accounts[1][5:8] == ["大型", "国有企业", "战略型"]
    deals = _by_header(wb["销售机会"])
    assert deals[0]["销售阶段"].value == "开发阶段"
    assert deals[0]["客户采购阶段"].value == "找出问题,提出需求"
    assert deals[0]["状态"].value == "进行中"
    assert _by_header(wb["联系人"])[0]["外部人员"].value == "是"


def test_money_and_dates_are_typed_cells(full_book, tmp_path):
    # given
    path = tmp_path / "book.xlsx"
    # when
    write_workbook(path)
    # then
    deal = _by_header(_load(path)["Opportunities"])[0]
    assert (deal["Amount*"].data_type, deal["Amount*"].number_format) == ("n", MONEY)
    close = deal["Expected close*"]
    assert (close.data_type, close.number_format, close.value) == (
        "d",
        DATE,
        dt.datetime(2026, 9, 30),
    )
    revenue = _by_header(_load(path)["Revenue"])[0]
    assert revenue["Revenue*"].data_type == "n"
    assert revenue["Date*"].is_date


def test_text_a_spreadsheet_could_run_is_written_as_quoted_text(world, tmp_path):
    # given deals and an account named like formulas
    account = account_create(actor=world.rep_a, name="=cmd|' /C calc'!A0")
    for name in FORMULAS:
        deal = opportunity_create(
            actor=world.rep_a,
            account=account,
            name=name,
            amount="1",
            expected_close=dt.date(2027, 1, 1),
        )
    # the services trim a leading tab; data from elsewhere (a restore) may hold one
    Opportunity.objects.filter(pk=deal.pk).update(name="\tcmd")
    path = tmp_path / "book.xlsx"
    # when
    write_workbook(path)
    # then
    wb = _load(path)
    deals = _by_header(wb["Opportunities"])
    names = sorted(row["Name*"].value for row in deals)
    assert names == sorted("'" + n for n in FORMULAS)
    for row in deals:
        cell = row["Name*"]
        assert cell.data_type == "s"
        assert not cell.value.startswith(("=", "+", "-", "@", "\t"))
        assert row["Account*"].value == "'=cmd|' /C calc'!A0"
    assert _by_header(wb["Accounts"])[0]["Name*"].data_type == "s"


def test_stage_dates_are_the_days_each_stage_was_entered(world, tmp_path):
    # given a deal created on 5 Jan, forced on by the manager on 10 Feb and 3 Mar
    account = account_create(actor=world.rep_a, name="Steel")
    with clock.freeze(at("2026-01-05")):
        deal = opportunity_create(
            actor=world.rep_a,
            account=account,
            name="Press",
            amount="100",
            expected_close=dt.date(2026, 12, 31),
        )
    for day in ("2026-02-10", "2026-03-03"):
        with clock.freeze(at(day)):
            process.opportunity_advance(
                actor=world.manager_east, opportunity=deal, force=True, reason="customer asked"
            )
    # and a deal brought in with the days of its three stages
    with clock.freeze(at("2026-03-04")):
        brought = opportunity_bring_in(
            actor=world.rep_a,
            account=account,
            name="Brought in",
            amount="100",
            expected_close=dt.date(2026, 12, 31),
            stage="proposal",
            stage_dates=[dt.date(2025, 11, 2), dt.date(2025, 12, 1), dt.date(2025, 12, 20)],
        )
    path = tmp_path / "book.xlsx"
    # when
    write_workbook(path)
    # then
    rows = {r["Name*"].value: r for r in _by_header(_load(path)["Opportunities"])}
    assert rows["Press"]["Stage"].value == "Proposal"
    assert rows["Press"]["Stage entry dates"].value == "2026-01-05; 2026-02-10; 2026-03-03"
    assert rows["Brought in"]["Stage entry dates"].value == "2025-11-02; 2025-12-01; 2025-12-20"
    assert stage_dates_many()[deal.pk] == [
        ("development", dt.date(2026, 1, 5)),
        ("entry", dt.date(2026, 2, 10)),
        ("proposal", dt.date(2026, 3, 3)),
    ]
    assert len(stage_dates_many()[brought.pk]) == 3


def test_a_deal_whose_history_starts_past_the_first_stage_gives_one_date(world, tmp_path):
    # given a deal brought in at the proposal stage, entered late on 20 Dec (Shanghai),
    # then moved on to bidding on 9 Mar
    account = account_create(actor=world.rep_a, name="Steel")
    with clock.freeze(at("2026-03-04")):
        deal = opportunity_create(
            actor=world.rep_a,
            account=account,
            name="Under way",
            amount="100",
            expected_close=dt.date(2026, 12, 31),
            stage="proposal",
            stage_entered_at=timezone.make_aware(at("2025-12-20", hour=23)),
        )
    with clock.freeze(at("2026-03-04")):
        before = write_workbook(tmp_path / "before.xlsx")
    with clock.freeze(at("2026-03-09")):
        process.opportunity_advance(
            actor=world.manager_east, opportunity=deal, force=True, reason="customer asked"
        )
    # when
    write_workbook(tmp_path / "after.xlsx")
    # then: the import takes one date (the current stage's) or one per stage from the first
    assert before.startswith("Wrote 1 accounts")
    first = _by_header(_load(tmp_path / "before.xlsx")["Opportunities"])[0]
    assert first["Stage entry dates"].value == "2025-12-20"
    moved = _by_header(_load(tmp_path / "after.xlsx")["Opportunities"])[0]
    assert (moved["Stage"].value, moved["Stage entry dates"].value) == ("Bidding", "2026-03-09")
    column = KINDS["opportunities"].column("stage_dates")
    assert read_cell(column, moved["Stage entry dates"].value) == [dt.date(2026, 3, 9)]


def _book_of(rep, deals: int) -> None:
    account = account_create(actor=rep, name=f"Account {deals}")
    boss = contact_create(actor=rep, account=account, name="Boss")
    for i in range(deals):
        contact_create(actor=rep, account=account, name=f"Person {i}", reports_to=boss)
        opportunity_create(
            actor=rep,
            account=account,
            name=f"Deal {i}",
            amount="100",
            expected_close=dt.date(2027, 1, 1),
        )
        revenue_record_add(actor=rep, account=account, date=dt.date(2026, 1, 1), amount="5")


@pytest.mark.parametrize("user", [None, "rep_a", "manager_east"])
def test_the_export_costs_a_fixed_number_of_queries(
    world, tmp_path, user, django_assert_num_queries, django_assert_max_num_queries
):
    # given
    actor = getattr(world, user) if user else None
    _book_of(world.rep_a, 3)
    # when / then: one query per sheet, two for the deals (the deals, their stage events)
    with django_assert_num_queries(5):
        write_workbook(tmp_path / "3.xlsx", user=actor)
    # given ten times the book
    _book_of(world.rep_a, 30)
    # when / then
    with django_assert_max_num_queries(5):
        summary = write_workbook(tmp_path / "33.xlsx", user=actor)
    assert "33 opportunities" in summary


def test_the_export_for_a_user_holds_what_they_see(world, tmp_path):
    # given one account, contact, deal and revenue record per rep
    for rep in (world.rep_a, world.rep_b, world.rep_c):
        account = account_create(actor=rep, name=f"Account of {rep.username}")
        contact_create(actor=rep, account=account, name=f"Buyer of {rep.username}")
        opportunity_create(
            actor=rep,
            account=account,
            name=f"Deal of {rep.username}",
            amount="1",
            expected_close=dt.date(2027, 1, 1),
        )
        revenue_record_add(actor=rep, account=account, date=dt.date(2026, 1, 1), amount="5")
    expected = {
        "rep_a": ["rep_a"],
        "manager_east": ["rep_a", "rep_b"],
        "manager_west": ["rep_c"],
        "admin": ["rep_a", "rep_b", "rep_c"],
    }
    for who, owners in expected.items():
        path = tmp_path / f"{who}.xlsx"
        # when
        summary = write_workbook(path, user=getattr(world, who))
        # then
        n = len(owners)
        assert summary == (
            f"Wrote {n} accounts, {n} contacts, {n} opportunities, {n} revenue records to {path}."
        )
        wb = _load(path)
        assert [r["Name*"].value for r in _by_header(wb["Opportunities"])] == [
            f"Deal of {o}" for o in owners
        ]
        assert [r["Name*"].value for r in _by_header(wb["Contacts"])] == [
            f"Buyer of {o}" for o in owners
        ]
        assert [r["Account*"].value for r in _by_header(wb["Revenue"])] == [
            f"Account of {o}" for o in owners
        ]


def test_no_folder_to_write_into_is_a_clear_error_and_no_file(world, tmp_path):
    # when
    with pytest.raises(ValidationFailed) as raised:
        write_workbook(tmp_path / "missing" / "book.xlsx")
    # then
    assert raised.value.field == "file"
    assert "There is no folder" in str(raised.value.message)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_book_still_has_the_four_sheets_with_headers(db, tmp_path):
    # when
    summary = write_workbook(tmp_path / "empty.xlsx")
    # then
    assert summary.startswith("Wrote 0 accounts, 0 contacts, 0 opportunities, 0 revenue records")
    wb = _load(tmp_path / "empty.xlsx")
    assert [len(_rows(ws)) for ws in wb] == [1, 1, 1, 1]
    assert [f.name for f in tmp_path.iterdir()] == ["empty.xlsx"]


# --- the streamed table (kam/core/spreadsheet.py, write-only) -------------------------------


def _saved(wb):
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return load_workbook(buffer)


def test_a_streamed_table_is_the_same_as_a_written_one():
    # given more rows than the widths are measured on
    headers = ["Deal", "Amount", "Rate", "Close", "Count", "Note"]
    rows = [
        ["=cmd()", Decimal("1250000.50"), Cell(0.255, PERCENT), dt.date(2027, 6, 30), -3, "华鼎"],
        ["Press line", Decimal("-10.00"), None, None, 0, ""],
    ] + [[f"Deal {i}", Decimal(i), None, dt.date(2027, 1, 1), i, None] for i in range(SIZE_SAMPLE)]
    sheets = []
    for write_only in (False, True):
        wb = new_workbook(write_only=write_only)
        # when
        written = write_table(add_sheet(wb, "Deals"), headers, iter(rows))
        sheets.append(_saved(wb)["Deals"])
        assert written == len(rows)
    # then
    plain, streamed = sheets
    assert _rows(streamed) == _rows(plain)
    assert _rows(streamed)[1][:5] == ["'=cmd()", 1250000.5, 0.255, dt.datetime(2027, 6, 30), -3]
    for a, b in zip(plain.iter_rows(), streamed.iter_rows(), strict=True):
        assert [c.number_format for c in a] == [c.number_format for c in b]
        assert [c.font.bold for c in a] == [c.font.bold for c in b]
    assert streamed.freeze_panes == plain.freeze_panes == "A2"
    assert streamed.auto_filter.ref == plain.auto_filter.ref == f"A1:F{len(rows) + 1}"
    widths = [(k, d.width) for k, d in sorted(plain.column_dimensions.items())]
    assert [(k, d.width) for k, d in sorted(streamed.column_dimensions.items())] == widths


# --- the command ------------------------------------------------------------------------


def test_kam_export_writes_the_demo_book(tmp_path):
    # given
    assert run(tmp_path, "demo").returncode == 0
    # when
    result = run(tmp_path, "export", str(tmp_path / "book.xlsx"))
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote 44 accounts, ")
    assert result.stdout.rstrip().endswith(f"revenue records to {tmp_path / 'book.xlsx'}.")
    wb = load_workbook(tmp_path / "book.xlsx")
    assert wb.sheetnames == ["Accounts", "Contacts", "Opportunities", "Revenue"]
    assert [ws.max_row - 1 for ws in wb] == [int(n) for n in re.findall(r"\d+", result.stdout)[:4]]
    assert wb["Opportunities"]["A1"].value == "Code"


def test_kam_export_to_another_kind_of_file_says_which_and_exits_2(tmp_path):
    # when
    result = run(tmp_path, "export", str(tmp_path / "x.txt"))
    # then
    assert result.returncode == 2
    assert "Export to a .xlsx" in result.stderr
    assert "'x.txt'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.txt").exists()

"""The import's fast path: new records are checked by the services' own build step
and written in batches (`bulk_create`, then their events). It must leave exactly what
the one-row-at-a-time path leaves — the same records and the same events, to the
microsecond of their dates — report a bad row at its place in a file of many batches,
write nothing then (or the other rows, with valid_only), and cost queries per batch,
not per row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import drafts
from kam.core.models import Event
from kam.opportunities.services import opportunity_create
from kam.transfer import handlers, importer
from kam.transfer.files import Sheet
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    CONTACT_HEADERS,
    DEAL_HEADERS,
    REVENUE_HEADERS,
    account_row,
    deal_row,
    fingerprint,
    problems,
    state,
    tallies,
)

DEAL_HEADERS_PLUS = [*DEAL_HEADERS, "Playbook", "Currency", "Description"]


def rich_sheets() -> list[Sheet]:
    """A workbook of every kind that takes each road through the importer: new rows
    with and without codes, rows that update records already in KAM, rows that match a
    record made earlier in the same file, bosses later in the sheet, deals with one
    date or one per stage, closed won and lost, another playbook, revenue keyed and
    not, one revenue line twice, and warnings."""
    accounts = [
        ACCOUNT_HEADERS,
        account_row("A1", "华东机械", owner="rep_a", nature="民营", revenue="5,000,000"),
        account_row("", "无编码客户", owner="rep_b", industry="化工"),
        account_row("A3", "西部重工", owner="", nature="国有"),
        account_row("OLD1", "老客户改名", owner="rep_a", industry="电力"),  # updates OLD1
        account_row("", "无编码客户", owner="rep_b", industry="化工"),  # the same name: error
        account_row("A4", "北方钢铁", owner="rep_b", revenue="12000000.50"),
        account_row("", "西部重工", owner="", industry="军工"),  # A3 of row 4, its code cleared
        account_row("A5", "南方电网", owner="rep_a"),
    ]
    contacts = [
        CONTACT_HEADERS,
        ["C1", "A1", "王工", "采购经理", "C3"],
        ["", "华东机械", "赵工", "技术员", "李总"],
        ["C3", "A1", "李总", "副总经理", ""],
        ["", "无编码客户", "孙经理", "经理", ""],
        ["OLDC", "OLD1", "老联系人", "总工", ""],  # updates a contact in KAM
        ["C6", "A4", "钱总", "总经理", ""],
        ["", "A4", "钱总", "总经理助理", ""],  # matches C6 from the row before
    ]
    deals = [
        DEAL_HEADERS_PLUS,
        [*deal_row("D1", "A1", "三号线改造", "rep_a", "100000", "2026-12-31", "proposal",
                   "2026-01-05; 2026-02-10; 2026-03-01", "criteria"), "", "", "说明"],
        [*deal_row("", "无编码客户", "备件", "rep_b", "5000", "2026-09-30"), "", "usd", ""],
        [*deal_row("D3", "西部重工", "赢单", "", "880000", "2026-05-01", "negotiation",
                   "2026-01-02", "", "赢单", "2026-05-20"), "", "", ""],
        [*deal_row("D4", "A4", "丢单", "rep_b", "1000", "2026-05-01", "entry",
                   "2025-11-02; 2026-01-03", "", "lost", "2026-04-01", "价格"), "", "", ""],
        [*deal_row("D5", "A5", "五阶段", "rep_a", "300", "2026-12-01", "solution_evaluation",
                   "2026-02-01; 2026-03-01; 2026-04-01"), "milestones-5", "", ""],
        [*deal_row("OLDD", "OLD1", "老机会", "", "70000", "2026-10-01", "bidding"), "", "", ""],
        [*deal_row("", "西部重工", "赢单", "", "990000", "2026-05-01"), "", "", ""],  # D3
        [*deal_row("D8", "A1", "废单", "", "-5", "2026-05-01"), "", "", ""],  # error
        [*deal_row("D9", "A1", "已放弃", "", "10", "2026-05-01", "", "", "", "abandoned",
                   "2026-03-03", "客户取消"), "", "", ""],
    ]  # fmt: skip
    revenue = [
        REVENUE_HEADERS,
        ["R1", "A1", "2025-03-31", "80000", "12000"],
        ["", "无编码客户", "2025-06-30", "3000", ""],
        ["", "无编码客户", "2025-06-30", "3000", ""],  # the same line again: unchanged
        ["R4", "A4", "2025-07-31", "5000.5", "-100"],
        ["", "A1", "2025-03-31", "80000", ""],  # matches R1 by account, date and amount
    ]
    return [
        Sheet("客户", accounts),
        Sheet("联系人", contacts),
        Sheet("销售机会", deals),
        Sheet("历史收入", revenue),
    ]


@pytest.fixture
def in_kam(world, today):
    """An account, a contact and a deal already in KAM, with codes the file uses."""
    old = account_create(actor=world.rep_a, name="老客户", code="OLD1")
    contact_create(actor=world.rep_a, account=old, name="老联系人", code="OLDC")
    opportunity_create(
        actor=world.rep_a,
        account=old,
        name="老机会",
        code="OLDD",
        amount="50000",
        expected_close=dt.date(2026, 10, 1),
    )
    return old


def written_and_undone(run) -> tuple[importer.Report, dict]:
    """Run an import, take the database's state, then roll the import back."""
    with transaction.atomic():
        report = run()
        taken = state()
        transaction.set_rollback(True)
    return report, taken


def outcome(report) -> tuple:
    return (
        report.written,
        problems(report),
        tallies(report),
        [t.preview for t in report.tallies],
    )


@pytest.mark.parametrize("chunk", [1000, 3, 1], ids=["one-chunk", "chunks-of-3", "row-by-row"])
def test_batches_leave_exactly_what_one_row_at_a_time_leaves(world, in_kam, monkeypatch, chunk):
    # given: the workbook imported one row at a time
    with monkeypatch.context() as m:
        m.setattr(handlers, "FAST", False)
        slow, by_rows = written_and_undone(
            lambda: importer.write_sheets(rich_sheets(), actor=world.admin, valid_only=True)
        )
    assert slow.written is True and len(by_rows["events"]) > 30
    # when: in batches, the chunks cutting the sheets in different places
    monkeypatch.setattr(handlers, "CHUNK_ROWS", chunk)
    fast, by_batches = written_and_undone(
        lambda: importer.write_sheets(rich_sheets(), actor=world.admin, valid_only=True)
    )
    # then: the same records, the same events (dates, notes, before/after), the same report
    assert by_batches == by_rows
    assert outcome(fast) == outcome(slow)


def test_the_rich_workbook_takes_every_road(world, in_kam):
    # when
    report = importer.write_sheets(rich_sheets(), actor=world.admin, valid_only=True)
    # then: new rows, rows updating KAM's records and earlier rows of the file, errors
    assert tallies(report) == [
        ("客户", 8, 5, 2, 0, 1),
        ("联系人", 7, 5, 2, 0, 0),
        ("销售机会", 9, 6, 2, 0, 1),
        ("历史收入", 5, 3, 0, 2, 0),
    ]
    assert [(p.sheet, p.row, p.column) for p in report.errors] == [
        ("客户", 6, "客户名称*"),
        ("销售机会", 9, "Amount*"),
    ]


def accounts_sheet(n: int, *, bad: int | None = None) -> Sheet:
    """n new accounts A00001…; the row numbered `bad` (as Excel numbers it) has a size
    KAM does not know."""
    rows = [("Code", "Name*", "Account manager", "Size")]
    for i in range(1, n + 1):
        rows.append((f"A{i:05d}", f"客户 {i}", "rep_a", "huge" if i + 1 == bad else "large"))
    return Sheet("Accounts", rows)


def deals_sheet(n: int, accounts: int) -> Sheet:
    """n new deals over the first `accounts` accounts, each with four stage dates."""
    rows = [
        ("Code", "Account*", "Name*", "Amount*", "Expected close*", "Stage", "Stage entry dates")
    ]
    for i in range(1, n + 1):
        rows.append(
            (
                f"D{i:05d}",
                f"A{(i % accounts) + 1:05d}",
                f"Deal {i}",
                1000 + i,
                dt.date(2026, 12, 31),
                "bidding",
                "2025-01-06; 2025-02-03; 2025-03-03; 2025-04-07",
            )
        )
    return Sheet("Opportunities", rows)


def test_a_bad_row_in_the_middle_of_many_batches_is_reported_at_its_row_and_nothing_is_written(
    world, today
):
    # given: 2,500 accounts (three chunks of 1,000), row 1,502 with a size KAM does not know
    before = fingerprint()
    # when
    report = importer.write_sheets([accounts_sheet(2500, bad=1502)], actor=world.rep_a)
    # then
    assert report.written is False
    assert [(p.sheet, p.row, p.column) for p in report.errors] == [("Accounts", 1502, "Size")]
    assert tallies(report) == [("Accounts", 2500, 2499, 0, 0, 1)]
    assert fingerprint() == before


def test_with_valid_only_the_other_rows_of_every_batch_are_written(world, today):
    # when
    report = importer.write_sheets(
        lambda: [accounts_sheet(2500, bad=1502)], actor=world.rep_a, valid_only=True
    )
    # then
    assert report.written is True
    assert tallies(report) == [("Accounts", 2500, 2499, 0, 0, 1)]
    assert Account.objects.count() == 2499
    assert not Account.objects.filter(code="A01501").exists()
    assert Event.objects.filter(entity="account", action="created").count() == 2499
    assert Account.objects.get(code="A02500").name == "客户 2500"


def queries_to_import(world, deals: int) -> int:
    sheets = [accounts_sheet(100), deals_sheet(deals, accounts=100)]
    with transaction.atomic():
        with CaptureQueriesContext(connection) as seen:
            report = importer.write_sheets(sheets, actor=world.admin)
        assert (report.written, report.problems) == (True, [])
        # each deal with its past: created at its first stage, advanced three times
        assert Event.objects.filter(entity="opportunity", action="advanced").count() == 3 * deals
        transaction.set_rollback(True)
    return len(seen)


def test_queries_grow_with_the_batches_not_with_the_rows(world, today):
    # when: 300 deals (one batch), then 3,000 (three)
    few = queries_to_import(world, 300)
    many = queries_to_import(world, 3000)
    # then: a few queries a batch (its lookups, its INSERTs), none a row
    assert few < 30
    assert many - few < 30  # 15 and 35 on SQLite, as the file was written


def test_a_batch_the_database_refuses_fails_the_import_with_a_message_not_a_crash(
    world, today, monkeypatch
):
    # given: someone saves account A00003 after the batch looked its code up
    original = handlers.Accounts.prefetch

    def prefetch_then_someone_else_writes(self, rows):
        original(self, rows)
        Account.objects.create(name="抢先", code="A00003", owner=world.rep_b)

    monkeypatch.setattr(handlers.Accounts, "prefetch", prefetch_then_someone_else_writes)
    # when
    report = importer.write_sheets([accounts_sheet(5)], actor=world.rep_a)
    # then
    assert report.written is False
    assert [(p.sheet, p.row, p.column) for p in report.errors] == [("Accounts", 2, "")]
    assert "Rows 2 to 6 could not be written" in report.errors[0].message
    assert tallies(report) == [("Accounts", 5, 0, 0, 0, 5)]


def test_bosses_are_linked_in_batches_as_one_at_a_time(world, today, monkeypatch):
    # given: a chain of five (the boss always on the next row), a circle of two, a boss
    # at another account, one nowhere
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    account_create(actor=world.rep_a, name="西部重工", code="A2")
    chain = [[f"K{i}", "A1", f"员工{i}", "", f"K{i + 1}" if i < 5 else ""] for i in range(1, 6)]
    wrong = [
        ["X1", "A1", "甲", "", "X2"],
        ["X2", "A1", "乙", "", "X1"],
        ["Y1", "A2", "丙", "", "K1"],
        ["Y2", "A2", "丁", "", "无此人"],
    ]

    def run(rows):
        return written_and_undone(
            lambda: importer.write_sheets(
                [Sheet("联系人", [CONTACT_HEADERS, *rows])], actor=world.rep_a
            )
        )

    with monkeypatch.context() as m:
        m.setattr(handlers, "FAST", False)
        slow_chain, by_rows = run(chain)
        slow_wrong, _state = run(chain + wrong)
    # when
    monkeypatch.setattr(handlers, "CHUNK_ROWS", 4)
    fast_chain, by_batches = run(chain)
    fast_wrong, _state = run(chain + wrong)
    # then
    assert fast_chain.written is True
    assert by_batches == by_rows
    assert outcome(fast_chain) == outcome(slow_chain)
    assert outcome(fast_wrong) == outcome(slow_wrong)
    assert [(p.row, p.column) for p in fast_wrong.errors] == [
        (8, "上级"),
        (9, "上级"),
        (10, "上级"),
    ]


def test_the_events_are_written_behind_and_a_failure_there_undoes_the_whole_import(
    world, in_kam, monkeypatch
):
    # given: the events' INSERTs (run on the second thread) sent to a table that is not
    # there, the records' (run here) as they are
    real = drafts._statements

    def broken(records, model, connection, *, returning):
        for batch, sql, params in real(records, model, connection, returning=returning):
            yield batch, sql if returning else sql.replace('"core_event"', '"no_such"'), params

    monkeypatch.setattr(drafts, "_statements", broken)
    before = fingerprint()
    # when / then: the import fails whole
    with pytest.raises(drafts.WriteBehindFailed):
        importer.write_sheets(rich_sheets(), actor=world.admin, valid_only=True)
    assert fingerprint() == before


def test_a_batch_the_database_refuses_is_reported_and_nothing_is_written(world, monkeypatch):
    # given: someone takes an account's code between the lookups and the write
    real = drafts.insert_many

    def refusing(records, *, model=None):
        if model is None and records and isinstance(records[0], Account):
            raise IntegrityError("UNIQUE constraint failed: accounts_account.code")
        return real(records, model=model)

    monkeypatch.setattr(drafts, "insert_many", refusing)
    before = fingerprint()
    sheets = [Sheet("客户", [["客户编码", "客户名称*"], ["A1", "华东机械"], ["A2", "西部重工"]])]
    # when
    report = importer.write_sheets(sheets, actor=world.admin)
    # then: the rows fail with words saying why, and nothing is written
    assert report.written is False
    assert [(p.sheet, p.row) for p in report.errors] == [("客户", 2)]
    assert "could not be written" in report.errors[0].message
    assert fingerprint() == before

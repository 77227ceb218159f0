"""`importer.write_sheets` / `check_sheets`: sheets built in memory (a data generator's)
import exactly as a file holding the same rows — the same records, the same events,
the same report."""

from __future__ import annotations

import pytest
from django.db import transaction
from openpyxl import load_workbook

from kam.transfer import importer
from kam.transfer.files import Sheet
from tests.transfer.conftest import errors, problems, state, tallies
from tests.transfer.test_import_history import workbook


def in_memory(path) -> list[Sheet]:
    """The workbook's sheets as lists of tuples, as a generator would build them."""
    book = load_workbook(path, read_only=True)
    try:
        return [Sheet(ws.title, [tuple(c.value for c in r) for r in ws.iter_rows()]) for ws in book]
    finally:
        book.close()


def written_and_undone(run) -> tuple[importer.Report, dict]:
    """Run an import, take the database's state, then roll the import back."""
    with transaction.atomic():
        report = run()
        taken = state()
        transaction.set_rollback(True)
    return report, taken


def test_sheets_in_memory_import_exactly_as_the_file(tmp_path, world, today):
    # given
    path = workbook(tmp_path)
    # when
    from_file, by_file = written_and_undone(lambda: importer.write(path, actor=world.admin))
    from_memory, by_memory = written_and_undone(
        lambda: importer.write_sheets(in_memory(path), actor=world.admin, name=path.name)
    )
    # then
    assert errors(from_file) == [] and from_file.written is True
    assert by_memory == by_file
    assert len(by_file["events"]) > 10
    assert problems(from_memory) == problems(from_file)
    assert tallies(from_memory) == tallies(from_file)
    assert [t.preview for t in from_memory.tallies] == [t.preview for t in from_file.tallies]


def test_check_sheets_finds_the_files_problems_and_writes_nothing(tmp_path, world, today):
    # given: a deal refers to an account that is nowhere
    path = workbook(tmp_path)
    sheets = in_memory(path)
    deals = next(s for s in sheets if s.title == "销售机会")
    deals.rows.append(("D9", "无此客户", "x", "rep_a", "1", "2026-12-31", *[None] * 6))
    before = state()
    # when
    report = importer.check_sheets(sheets, actor=world.admin)
    # then
    assert report.written is False
    assert [(p.sheet, p.row, p.column) for p in report.errors] == [("销售机会", 4, "Account*")]
    assert state() == before


def test_valid_only_takes_a_factory_or_lists_and_refuses_one_shot_rows(tmp_path, world, today):
    # given
    path = workbook(tmp_path)
    one_shot = [Sheet(s.title, iter(s.rows)) for s in in_memory(path)]
    # when / then
    with pytest.raises(ValueError):
        importer.write_sheets(one_shot, actor=world.admin, valid_only=True)
    report = importer.write_sheets(lambda: in_memory(path), actor=world.admin, valid_only=True)
    assert report.written is True and report.valid_only is True
    assert tallies(report)[0][:3] == ("客户", 2, 2)

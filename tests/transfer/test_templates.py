"""The import templates (kam/transfer/templates.py): the workbook's instructions sheet
and its empty data sheets, and the CSV header lines, in Chinese and English. Read back
by the importer they give no error and no row; filled in, they import."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.utils import translation
from openpyxl import load_workbook

from kam.accounts.models import Account, RevenueRecord
from kam.contacts.models import Contact
from kam.methodology import registry
from kam.opportunities.models import Opportunity
from kam.transfer import importer
from kam.transfer.columns import KINDS, ORDER
from kam.transfer.files import check_spreadsheet
from kam.transfer.templates import example_rows, template_csv, template_workbook
from kam.users.services import user_create
from tests.transfer.conftest import fingerprint

LANGUAGES = ("zh-hans", "en")


def _save(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_workbook_has_the_instructions_then_one_empty_sheet_per_kind(language):
    # when
    book = load_workbook(io.BytesIO(template_workbook(language)))

    # then the sheets are titled as the importer recognises them, in columns.ORDER
    instructions = "说明" if language == "zh-hans" else "Instructions"
    assert book.sheetnames == [instructions, *(KINDS[k].title(language) for k in ORDER)]
    for key in ORDER:
        sheet = book[KINDS[key].title(language)]
        header = [c.value for c in sheet[1]]
        # the header row only, required columns marked with *
        assert header == [c.header(language) for c in KINDS[key].columns]
        assert sheet.max_row == 1
        assert sheet.freeze_panes == "A2"
        assert all(c.font.bold for c in sheet[1])


def test_the_header_cells_carry_what_to_write_as_a_comment():
    # when
    book = load_workbook(io.BytesIO(template_workbook("zh-hans")))
    sheet = book["销售机会"]
    comments = {c.value: (c.comment.text if c.comment else None) for c in sheet[1]}

    # then the stage column lists the playbooks' stages by their Chinese names
    stages = registry.playbook("standard-6").stages
    assert all(s.name.zh_hans in comments["销售阶段"] for s in stages)
    # the choice column its values in Chinese
    assert "进行中、赢单、丢单、已放弃" in comments["状态"]
    # the key column says what the key does (the column's hint is in it)
    with translation.override("zh-hans"):
        assert str(KINDS["opportunities"].column("code").hint) in comments["机会编码"]
    # a name needs no explanation
    assert comments["机会名称*"] is None


def test_the_instructions_list_every_column_with_the_accepted_values_and_an_example():
    # when
    book = load_workbook(io.BytesIO(template_workbook("en")))
    rows = [list(row) for row in book["Instructions"].iter_rows(values_only=True)]
    by_header = {row[0]: row for row in rows if row and row[0]}

    # then each kind's columns are in a table: header, required, what to write, example
    for key in ORDER:
        for column in KINDS[key].columns:
            assert column.header("en") in by_header
    assert by_header["Name*"][1] == "yes"
    size = by_header["Size"]
    assert size[2] == "One of: Small; Medium; Large; Very large."
    assert size[3] == "Large"
    buyer = by_header["Buyer stage"]
    assert all(s.name.en in buyer[2] for s in registry.buyer_process().stages)
    assert by_header["Stage entry dates"][3] == "2026-01-05; 2026-02-10; 2026-04-01"
    # and the rules above the tables name the keys, the date format and the stage dates
    text = "\n".join(str(r[0]) for r in rows if r and r[0])
    assert "updates those records instead of adding them twice" in text
    assert "YYYY-MM-DD" in text
    assert "Stage entry dates:" in text


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_workbook_template_reads_back_with_no_error_and_no_row(world, tmp_path, language):
    # given
    path = _save(tmp_path, "template.xlsx", template_workbook(language))
    before = fingerprint()

    # when
    assert check_spreadsheet(path) == "xlsx"
    report = importer.write(path, actor=world.admin)

    # then the instructions sheet is passed over and the four kinds read, empty
    assert report.problems == []
    assert report.error_count == 0
    assert [(t.kind.key, t.rows) for t in report.tallies] == [(k, 0) for k in ORDER]
    assert report.valid_rows == 0
    assert fingerprint() == before


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ORDER)
def test_each_csv_template_reads_back_as_its_kind_with_no_row(world, tmp_path, kind, language):
    # given
    data = template_csv(kind, language)
    path = _save(tmp_path, f"{kind}.csv", data)

    # then it is UTF-8 with Excel's BOM, the header line only
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines == [[c.header(language) for c in KINDS[kind].columns]]

    # when read without being told its kind
    report = importer.check(path, actor=world.admin)

    # then its headers tell the kind, and there is nothing to import
    assert report.problems == []
    assert [(t.kind.key, t.rows) for t in report.tallies] == [(kind, 0)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_workbook_filled_with_the_instructions_examples_imports(world, tmp_path, language):
    # given the template with the instructions' example in every data sheet, the example
    # owner as a user and the example contact's boss one row above
    user_create(username="zhangwei", role="rep", team="East", password="x-pass-123")
    book = load_workbook(io.BytesIO(template_workbook(language)))
    for key in ORDER:
        sheet = book[KINDS[key].title(language)]
        if key == "contacts":
            # (a status: a blank one is refused as required — reported to the lead)
            boss = {"code": "P-2000", "account": "C-1001", "name": "Boss", "status": "active"}
            sheet.append([boss.get(c.key) for c in KINDS[key].columns])
        for row in example_rows(key, language):
            sheet.append([v or None for v in row])
    path = tmp_path / "filled.xlsx"
    book.save(path)

    # when
    with translation.override(language):
        report = importer.write(path, actor=world.admin)

    # then every example is accepted and written
    assert [(p.sheet, p.row, p.column, p.message) for p in report.problems] == []
    assert report.written is True
    assert [(t.kind.key, t.created) for t in report.tallies] == [
        ("accounts", 1),
        ("contacts", 2),
        ("opportunities", 1),
        ("revenue", 1),
    ]
    account = Account.objects.get(code="C-1001")
    assert account.owner.username == "zhangwei"
    assert account.size == "large"
    assert Contact.objects.get(code="P-2001").reports_to.code == "P-2000"
    deal = Opportunity.objects.get(code="O-3001")
    assert (deal.playbook, deal.stage) == ("standard-6", "proposal")
    assert deal.owner.username == "zhangwei"
    assert deal.stage_entered_at.date().isoformat() == "2026-04-01"
    assert RevenueRecord.objects.get(external_key="ERP-2025-0001").account == account

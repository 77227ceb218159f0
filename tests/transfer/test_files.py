"""Uploaded spreadsheets are checked before anything is parsed (OWASP ASVS 5.2): the
size, the extension against the magic bytes, an .xlsx's zip directory against the
unpacked-size and part-count limits (a zip bomb is refused unread, in bounded memory);
and the encodings and delimiters people save CSVs in are read. Each refusal names the
file's problem, and nothing is written."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.utils import translation

from kam.core.errors import ValidationFailed
from kam.transfer import files, importer
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    account_row,
    errors,
    fingerprint,
    in_chinese,
    tallies,
    write_csv,
    write_xlsx,
)

NOT_SPREADSHEET = (
    "“{}” is not an .xlsx or .csv file. Save the sheet as Excel Workbook (.xlsx) or CSV "
    "(UTF-8), or download the template."
)
NOT_WORKBOOK = (
    "“{}” is not an Excel workbook although its name ends in .xlsx (an old .xls, or another "
    "file renamed?). Open it in Excel and save it as Excel Workbook (.xlsx)."
)
BINARY_CSV = (
    "“{}” is not a text CSV file (it holds binary data). Save the sheet as CSV (UTF-8), or "
    "import the .xlsx itself."
)
TOO_BIG_UNPACKED = (
    "The workbook unpacks to more than 300 MB or holds too many parts; it is refused unread. "
    "Split the data into smaller files."
)
DAMAGED = "The workbook is damaged (not a readable .xlsx); open it in Excel and save again."
ZIP_NOT_WORKBOOK = "The file is a zip archive but not an Excel workbook; import an .xlsx or .csv."
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)


def refusal(path: Path, name: str | None = None) -> tuple[str, str | None]:
    with pytest.raises(ValidationFailed) as raised:
        files.check_spreadsheet(path, name=name)
    return str(raised.value.message), raised.value.field


def import_refusal(path: Path, actor) -> str:
    """The message `importer.write` refuses the file with; nothing written."""
    before = fingerprint()
    with pytest.raises(ValidationFailed) as raised:
        importer.write(path, actor=actor)
    assert fingerprint() == before
    return str(raised.value.message)


def zip_with(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def zeros_part(path: Path, megabytes: int) -> Path:
    """A workbook-looking zip whose one sheet unpacks to `megabytes` MB of zeros,
    written a megabyte at a time (the test never holds it in memory)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        chunk = bytes(1024 * 1024)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(megabytes):
                part.write(chunk)
    return path


# --- names, sizes and magic bytes -------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "book.xls", "accounts", "data.csv.exe"])
def test_a_file_that_is_neither_xlsx_nor_csv_is_refused_by_its_name(tmp_path, name):
    # given
    path = tmp_path / "upload"
    path.write_bytes(b"Name\nx\n")
    # when
    message, field = refusal(path, name=name)
    # then
    assert message == NOT_SPREADSHEET.format(name)
    assert field == "file"


def test_a_refusal_is_in_the_users_language(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(b"x")
    with translation.override("zh-hans"):
        message, _ = refusal(path, name="客户.xls")
    assert message == in_chinese(
        "“%(name)s” is not an .xlsx or .csv file. Save the sheet as Excel Workbook (.xlsx) or "
        "CSV (UTF-8), or download the template.",
        name="客户.xls",
    )


def test_the_name_shown_is_the_file_name_without_its_folders(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(b"x")
    assert refusal(path, name="C:\\Users\\li\\..\\evil.bat")[0] == NOT_SPREADSHEET.format(
        "evil.bat"
    )


@pytest.mark.parametrize("content", [EXE, PNG], ids=["exe", "png"])
def test_another_file_renamed_xlsx_is_refused_by_its_magic_bytes(tmp_path, world, content):
    # given
    path = tmp_path / "setup.xlsx"
    path.write_bytes(content)
    # when / then
    assert refusal(path) == (NOT_WORKBOOK.format("setup.xlsx"), "file")
    assert import_refusal(path, world.admin) == NOT_WORKBOOK.format("setup.xlsx")


@pytest.mark.parametrize(
    "content", [EXE, PNG, b"PK\x03\x04" + bytes(40)], ids=["exe", "png", "zip"]
)
def test_a_csv_holding_binary_data_is_refused(tmp_path, world, content):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    assert refusal(path) == (BINARY_CSV.format("data.csv"), "file")
    assert import_refusal(path, world.admin) == BINARY_CSV.format("data.csv")


def test_a_nul_byte_beyond_the_first_block_of_a_csv_is_refused_too(tmp_path, world):
    # given: a text header, and a NUL 100 kB in (PostgreSQL would refuse it on write)
    path = tmp_path / "data.csv"
    path.write_bytes(b"Name*\n" + b"a" * 100_000 + b"\x00\n")
    # when / then
    assert refusal(path) == (BINARY_CSV.format("data.csv"), "file")
    assert import_refusal(path, world.admin) == BINARY_CSV.format("data.csv")


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx"])
def test_an_empty_file_is_refused(tmp_path, world, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert refusal(path) == ("The file is empty.", "file")
    assert import_refusal(path, world.admin) == "The file is empty."


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, world, settings):
    # given: a limit of 1 MB and a valid CSV one byte over it
    settings.KAM_MAX_IMPORT_BYTES = 1024 * 1024
    path = tmp_path / "accounts.csv"
    head = "客户名称*,备注\r\n华东机械,".encode()
    path.write_bytes(head + b"x" * (1024 * 1024 + 1 - len(head)))
    # when / then
    expected = "The file is larger than 1 MB; split it into smaller files."
    assert refusal(path) == (expected, "file")
    assert import_refusal(path, world.admin) == expected
    # and at the limit exactly it is let through to be read
    path.write_bytes(path.read_bytes()[:-1])
    assert files.check_spreadsheet(path) == "csv"


def test_a_10_mb_csv_under_the_default_limit_is_read_in_full_and_refused_for_its_one_bad_row(
    tmp_path, world
):
    """10 MB of accounts (1,000 rows with long notes): the default 30 MB limit lets it
    in, every row is checked, and the bad amount on the very last row keeps all of them
    out."""
    # given
    notes = "客户的历史沟通记录," * 357  # 3,570 characters, 10 kB in UTF-8
    rows = [["客户编码", "客户名称*", "年营业额", "备注"]]
    rows += [[f"A{i:04}", f"客户{i:04}", "1,000,000", notes] for i in range(1, 1000)]
    rows.append(["A1000", "客户1000", "一百万", notes])
    path = write_csv(tmp_path / "accounts.csv", rows)
    assert 9.5e6 < path.stat().st_size < 10.5e6
    before = fingerprint()
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert errors(report) == [
        (
            "Accounts",
            1001,
            "年营业额",
            "“一百万” is not an amount; write a number such as 1250000.00.",
        )
    ]
    assert tallies(report) == [("Accounts", 1000, 999, 0, 0, 1)]
    assert report.written is False
    assert fingerprint() == before


# --- .xlsx: the zip around the workbook -------------------------------------------------


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking(tmp_path, world, monkeypatch):
    # given: an .xlsx whose sheet unpacks to 400 MB of zeros (a 1.8 MB file)
    path = zeros_part(tmp_path / "bomb.xlsx", 400)
    assert path.stat().st_size < 3 * 1024 * 1024

    def no_unpacking(*args, **kwargs):
        raise AssertionError("a part was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_unpacking)
    # when
    tracemalloc.start()
    try:
        message, field = refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # then
    assert (message, field) == (TOO_BIG_UNPACKED, "file")
    assert peak < 2 * 1024 * 1024
    assert import_refusal(path, world.admin) == TOO_BIG_UNPACKED


def test_a_part_that_unpacks_to_far_more_than_it_weighs_is_refused_under_the_total_limit(
    tmp_path,
):
    # given: 40 MB of zeros (under the 300 MB total, but ~200 kB packed: a bomb's ratio)
    path = zeros_part(tmp_path / "bomb.xlsx", 40)
    # when / then
    assert refusal(path) == (TOO_BIG_UNPACKED, "file")


def test_the_unpacked_limit_is_the_setting(tmp_path, settings):
    # given: an honest workbook of over 64 kB unpacked, and a limit of 64 kB
    path = write_xlsx(
        tmp_path / "accounts.xlsx",
        {"Accounts": [ACCOUNT_HEADERS, *(account_row(f"A{i}", f"客户{i}") for i in range(1000))]},
    )
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(p.file_size for p in archive.infolist())
    assert 64 * 1024 < unpacked < 300 * 1024 * 1024
    settings.KAM_MAX_IMPORT_UNPACKED_BYTES = 64 * 1024
    # when / then
    assert refusal(path)[0] == (
        "The workbook unpacks to more than 0.0625 MB or holds too many parts; it is "
        "refused unread. Split the data into smaller files."
    )
    settings.KAM_MAX_IMPORT_UNPACKED_BYTES = unpacked
    assert files.check_spreadsheet(path) == "xlsx"


def test_a_zip_of_too_many_parts_is_refused(tmp_path):
    parts = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
    parts |= {f"xl/media/{i}.bin": b"x" for i in range(files.MAX_PARTS)}
    path = zip_with(tmp_path / "many.xlsx", parts)
    assert refusal(path) == (TOO_BIG_UNPACKED, "file")


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path, world):
    path = zip_with(tmp_path / "photos.xlsx", {"holiday/beach.jpg": PNG, "notes.txt": b"hi"})
    assert refusal(path) == (ZIP_NOT_WORKBOOK, "file")
    assert import_refusal(path, world.admin) == ZIP_NOT_WORKBOOK


def test_a_damaged_zip_is_refused(tmp_path, world):
    # given: a real workbook cut in half (its zip directory is gone)
    good = write_xlsx(tmp_path / "good.xlsx", {"Accounts": [ACCOUNT_HEADERS, account_row()]})
    data = good.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    # when / then
    assert refusal(path) == (DAMAGED, "file")
    assert import_refusal(path, world.admin) == DAMAGED


def test_a_workbook_whose_sheet_xml_is_broken_is_refused_as_damaged(tmp_path, world):
    """The directory is fine and the workbook opens; the sheet fails only as it is read."""
    # given
    good = write_xlsx(tmp_path / "good.xlsx", {"Accounts": [ACCOUNT_HEADERS, account_row()]})
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for part in src.infolist():
            data = src.read(part.filename)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(part, data)
    # when / then
    assert files.check_spreadsheet(path) == "xlsx"
    assert import_refusal(path, world.admin) == DAMAGED


def test_a_workbook_with_a_corrupted_part_fails_its_checksum_and_is_refused(tmp_path, world):
    # given: the sheet stored uncompressed and one byte of it changed
    good = write_xlsx(tmp_path / "good.xlsx", {"Accounts": [ACCOUNT_HEADERS, account_row()]})
    path = tmp_path / "flipped.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for part in src.infolist():
            dst.writestr(part.filename, src.read(part.filename), zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[data.find(b"<sheetData>") + 3] ^= 0x20
    path.write_bytes(bytes(data))
    # when / then
    assert import_refusal(path, world.admin) == DAMAGED


# --- CSV: encodings and delimiters ------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_chinese_csv_in_each_encoding_people_save_imports(tmp_path, world, encoding):
    # given
    path = write_csv(
        tmp_path / "客户.csv",
        [ACCOUNT_HEADERS, ["A1", "华东精密机械有限公司", "", "装备制造", "国企", "¥1,250,000"]],
        encoding=encoding,
    )
    if encoding == "gb18030":
        path.read_bytes().decode("gb18030")  # it is GB18030 …
        with pytest.raises(UnicodeDecodeError):  # … and not UTF-8
            path.read_bytes().decode("utf-8")
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert report.problems == []
    assert tallies(report) == [("Accounts", 1, 1, 0, 0, 0)]
    from kam.accounts.models import Account

    account = Account.objects.get(code="A1")
    assert (account.name, account.industry, account.nature, str(account.annual_revenue)) == (
        "华东精密机械有限公司",
        "装备制造",
        "soe",
        "1250000.00",
    )


def test_a_utf8_bom_does_not_stick_to_the_first_header(tmp_path, world):
    # given: the first column is a required one, its header right after the BOM
    path = write_csv(
        tmp_path / "accounts.csv", [["Name*", "Code"], ["Acme", "A1"]], encoding="utf-8-sig"
    )
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert report.problems == []
    assert report.written is True


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_the_delimiter_is_the_one_the_header_line_uses(tmp_path, world, delimiter):
    # given: a value holding the other delimiters
    path = write_csv(
        tmp_path / "accounts.csv",
        [["Code", "Name*", "Notes"], ["A1", "Acme", "a, b; c\td"]],
        delimiter=delimiter,
    )
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert report.problems == []
    from kam.accounts.models import Account

    assert Account.objects.get(code="A1").notes == "a, b; c\td"


def test_a_csv_in_neither_utf8_nor_gb18030_is_refused(tmp_path, world):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"Name*\r\n\xff\xfe\xfd\r\n")
    assert files.check_spreadsheet(path) == "csv"
    assert import_refusal(path, world.admin) == (
        "The CSV is neither UTF-8 nor GB18030 text; save it as CSV (UTF-8)."
    )


def test_a_quote_left_open_is_refused_with_a_message_not_a_crash(tmp_path, world):
    # given: an opening quote on row 2 swallows the 200 kB that follow into one cell
    path = tmp_path / "accounts.csv"
    path.write_bytes(b'Code,Name*\r\nA1,"Acme\r\n' + b"A2,Beta\r\n" * 25_000)
    # when / then
    assert import_refusal(path, world.admin) == (
        "The CSV cannot be read: a cell runs on for more than 131,072 characters, most likely "
        'a quote (") opened and never closed. Fix it, or save the sheet as CSV (UTF-8) again.'
    )


# --- .xlsx: formulas --------------------------------------------------------------------


def test_a_formula_is_reported_on_its_row_and_column_and_nothing_is_written(tmp_path, world):
    # given
    path = write_xlsx(
        tmp_path / "accounts.xlsx",
        {
            "客户": [
                ACCOUNT_HEADERS,
                account_row("A1", "华东机械", revenue=1000),
                account_row("A2", "华南机械", revenue="=F2*2"),
            ]
        },
    )
    before = fingerprint()
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert errors(report) == [
        (
            "客户",
            3,
            "年营业额",
            "The cell holds a formula (=F2*2); the import takes values only. Copy the column "
            "and paste it as values.",
        )
    ]
    assert tallies(report) == [("客户", 2, 1, 0, 0, 1)]
    assert report.written is False
    assert fingerprint() == before
